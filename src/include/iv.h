/*
 * iv.h - the core of the Intravisor monitor: cVMs, the run, the hostcall
 * server and table, the one checked way to cVM memory, and the hooks that
 * features (hostcall modules, cap files, TFORK, images) register into.
 *
 * Layers, each calling only the ones below it (scripts/layers.sh checks):
 *   front      src/front/     main(), the CLI, the YAML config
 *   features   src/features/  each a folder that registers a struct iv_feature
 *   core       src/core/      this header
 *   mechanisms src/cell/, src/loader/   iv_cell.h
 *   base       src/base/      iv_base.h
 * The core never names a feature: it reaches them only through what they
 * registered (hostcall handlers and the hooks of struct iv_feature).
 */
#ifndef IV_H
#define IV_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "iv_base.h"
#include "iv_cell.h"
#include "iv_hostcalls.h"

/* ---- configuration (front/config.c; the core runs what it describes) ---- */

struct iv_capfile_cfg {
	char *name;
	uint64_t size;
	char *data; /* NULL when absent */
	size_t data_len;
	int line;
};

/* A port of a networked cVM that the monitor forwards from the host: TCP
 * connections to host_addr:host_port are relayed to the cVM's port. */
struct iv_port_cfg {
	uint32_t host_addr; /* IPv4, host byte order */
	uint16_t host_port, port;
	int line;
};

/* net: (README "Networking"): a network namespace of its own, loopback up,
 * and with an address a veth pair to the host and links to its peers. */
struct iv_net_cfg {
	int on;
	uint32_t addr;		     /* its IPv4 address (host byte order), 0: loopback only */
	int prefix;		     /* its subnet's prefix length */
	uint32_t gateway;	     /* the host end's address in that subnet */
	uint32_t forks_lo, forks_hi; /* a template: its forks' addresses, [lo, hi] (0: none) */
	struct iv_port_cfg *ports;
	size_t nports;
	char **peers; /* the cVMs it may exchange packets with, by name */
	int *peer;    /* ... by index (resolved after parsing) */
	size_t npeers;
	int line;
};

struct iv_cvm_cfg {
	char *name;
	char *runtime;	   /* path, resolved against the config file's directory */
	char *args;	   /* as given, NULL when absent (a list: its items joined by spaces) */
	char **argv;	   /* the program's argv, NULL-terminated (default: its name alone) */
	char **envp;	   /* its environment, NULL-terminated (default: IV_DEFAULT_ENV) */
	char *disk;	   /* directory, resolved like runtime; NULL: empty root */
	int disk_ro;	   /* the disk is the cell's read-only */
	char *cwd;	   /* working directory inside the disk (NULL: its root) */
	char *stdin_path;  /* stdin: a regular file inside the disk (NULL: none, or...) */
	int stdin_monitor; /* ... the monitor's own stdin (at most one cVM's) */
	uid_t uid;	   /* its ids: given, or derived from its name (a fork: its template's) */
	gid_t gid;
	int uid_given, gid_given;
	int stdin_line, cwd_line; /* where those keys are (checked when the file is loaded) */
	uint64_t base, size, begin, end;
	char *callback_out; /* who serves its hostcalls: NULL or "monitor", or an outer cVM */
	char *callback_in;  /* an outer: its inner, as given (optional, checked) */
	int outer;	    /* nested (README "Nested cVMs"): its outer's index, or -1 */
	int is_outer;	    /* ... and whether it is some cVM's outer */
	int callback_line;  /* where callback_out is */
	int callback_in_line;
	long wait;	 /* -1: wait for exit (a template: for its save); N >= 0: sleep N s */
	int template_;	 /* becomes a template at host_save() */
	int fork;	 /* honour host_save() (default 1) */
	int resume;	 /* start as a fork of the template with the same runtime */
	int fork_mode;	 /* a template: IV_FORK_MAP, IV_FORK_CLONE, 0 (the default) */
	int reuse;	 /* a fork: the runs it serves, reset in place between them (0: 1) */
	char **run_args; /* each run's args (nrun_args == reuse), or NULL: args for all */
	int nrun_args;
	int notify_exit;     /* a template with a reused fork: exit_group reaches the monitor */
	char *snapshot_path; /* template: write its image here; resume: restore from it */
	int tmpl;	     /* resume: index of that template in the cVM list */
	int has_isolation;
	int program;	     /* no isolation range: started by exec (README "Programs") */
	int runtime_in_disk; /* program: runtime is a path inside its disk */
	uint64_t memory;     /* program: bytes all its processes may use */
	struct iv_net_cfg net;
	char **caps;	/* the keys it may use (cap files, streams, calls), NULL-terminated; */
	int caps_given; /* without caps: every key (README "Sharing between cVMs") */
	uint32_t call_timeout_ms; /* how long its cap calls wait for the callee (0: default) */
	int line;
};

/* How a template's forks are made (fork_mode, README "Forks"): each maps
 * the template's memory from an in-memory image, or is a clone() of it. */
#define IV_FORK_MAP   1
#define IV_FORK_CLONE 2
/* At most this many runs of a reused fork (reuse: N). */
#define IV_MAX_REUSE 100000

/* A program's memory unless given (README "Programs"). */
#define IV_PROGRAM_MEMORY (1ULL << 30)

/* The environment of a program whose config has no env (README). */
#define IV_DEFAULT_ENV                                                                             \
	{                                                                                          \
		"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/", "TERM=dumb", "LANG=C.UTF-8"         \
	}
/* At most this many words of args, and variables of env. */
#define IV_MAX_ARGV 1024
/* A cVM's uid, unless given, is derived from its name into this range;
 * given ids are at least IV_ID_MIN (README "Identity"). */
#define IV_UID_FIRST 200000
#define IV_UID_COUNT 1000000
#define IV_ID_MIN    1000

struct iv_config {
	char *path;
	struct iv_capfile_cfg *capfiles;
	size_t ncapfiles;
	struct iv_cvm_cfg *cvms;
	size_t ncvms;
};

/* Parses YAML text; path is used to name errors and resolve relative paths. */
int iv_config_parse(const char *path, const char *text, size_t len, struct iv_config *cfg,
		    struct iv_err *err);
/* Reads and parses a file, then checks that runtimes and disks exist, and
 * what each cVM opens at its start (its stdin, its working directory). */
int iv_config_load(const char *path, struct iv_config *cfg, struct iv_err *err);
/* Reads and parses a file only (names and ids; paths are left as written). */
int iv_config_read(const char *path, struct iv_config *cfg, struct iv_err *err);
void iv_config_free(struct iv_config *cfg);

/* ---- features (core/feature.c) ---- */

struct iv_cvm;
struct iv_run;

#define IV_NOT_MINE	2 /* a deploy or plan hook's answer: another's cVM */
#define IV_MAX_FEATURES 16

/*
 * A feature: hooks the core calls, each optional.  Features register in
 * main() (iv_feature_register), in the order they depend on each other.
 */
struct iv_feature {
	const char *name;
	size_t cvm_size; /* per-cVM state it keeps (iv_state), zeroed */
	/* the run starts (hostcall handlers, run-wide objects) */
	int (*start)(struct iv_run *run, struct iv_err *err);
	/* checks one cVM's config before anything runs */
	int (*check)(const struct iv_cvm_cfg *cfg, struct iv_err *err);
	/* deploys cvm itself (forks), on the main thread: 0 it runs, 1 not
	 * yet (asked again each round), -1 failed (cvm->fail), or IV_NOT_MINE */
	int (*deploy)(struct iv_cvm *cvm);
	/* plans cvm's cell instead of its ELF (restores): 0 with the plan, a
	 * file for the stub's map ops in *map_fd and descriptors it maps in
	 * extra[], -1 failed, or IV_NOT_MINE */
	int (*plan)(struct iv_cvm *cvm, struct iv_plan *p, int *map_fd, int *extra, int *nextra,
		    struct iv_err *err);
	/* after the ELF loader planned cvm: the feature may change the plan
	 * and add descriptors the stub maps (extra[], *nextra at most
	 * IV_MAX_EXTRA); 0 or -1 failed */
	int (*layout)(struct iv_cvm *cvm, struct iv_plan *p, int *extra, int *nextra,
		      struct iv_err *err);
	/* the core is about to spawn cvm's cell from spec: the feature may add
	 * to it what it gives the cell (a networked cVM's namespace, a
	 * program's /cap); 0 or -1 failed */
	int (*cell)(struct iv_cvm *cvm, struct iv_cell_spec *spec, struct iv_err *err);
	/* each round of the main loop, on the main thread */
	void (*step)(struct iv_run *run);
	/* cvm has ended and been reported (its state is freed after) */
	void (*ended)(struct iv_cvm *cvm);
	/* the run is over */
	void (*stop)(struct iv_run *run);
	void (*free)(struct iv_cvm *cvm); /* releases what its state holds */
	int id;				  /* set by iv_feature_register */
};

void iv_feature_register(struct iv_feature *f);
/* f's state for cvm (cvm_size bytes, zeroed when the run starts). */
void *iv_state(struct iv_cvm *cvm, const struct iv_feature *f);

/* Hooks, called by the core over every registered feature. */
int iv_features_start(struct iv_run *run, struct iv_err *err);
int iv_features_check(const struct iv_cvm_cfg *cfg, struct iv_err *err);
int iv_features_deploy(struct iv_cvm *cvm);
int iv_features_plan(struct iv_cvm *cvm, struct iv_plan *p, int *map_fd, int *extra, int *nextra,
		     struct iv_err *err);
int iv_features_layout(struct iv_cvm *cvm, struct iv_plan *p, int *extra, int *nextra,
		       struct iv_err *err);
int iv_features_cell(struct iv_cvm *cvm, struct iv_cell_spec *spec, struct iv_err *err);
void iv_features_step(struct iv_run *run);
void iv_features_ended(struct iv_cvm *cvm);
void iv_features_stop(struct iv_run *run);
int iv_features_alloc(struct iv_cvm *cvm);
void iv_features_free(struct iv_cvm *cvm);

/* ---- cVMs (core/cvm.c) ---- */

enum iv_cvm_state { IV_CVM_LOADING, IV_CVM_RUNNING, IV_CVM_DONE };

/* Phases, as the seed's profiler named them (metrics.c prints them). */
enum iv_phase {
	IV_T_DEPLOY,   /* deploy started (a fork: requested) */
	IV_T_LOADED,   /* image planned */
	IV_T_CELL,     /* cell handed over its listener (a fork: made) */
	IV_T_RUNNING,  /* cVM released */
	IV_T_FIRST_HC, /* first hostcall */
	IV_T_SAVE,     /* host_save reached */
	IV_T_SAVED,    /* template frozen */
	IV_T_RESTORED, /* restored cVM announced */
	IV_T_EXIT,     /* exit hostcall */
	IV_T_DONE,     /* reaped */
	IV_T_COUNT,
};

/* Records when cvm reached phase p (CLOCK_MONOTONIC ns). */
void iv_mark(struct iv_cvm *cvm, enum iv_phase p);

/* An answer to send when its time comes (deferred nanosleep). */
#define IV_MAX_TIMERS 256
struct iv_timer {
	uint64_t deadline_ns, id;
	int listener;
	pid_t tid;
};

/* One output stream of a cVM (its stdout or its stderr): the line it is
 * building.  Its lines go, labelled, to the monitor's stream of the same
 * kind; each stream has a line of its own, so that a line one stream left
 * unfinished never takes in the other's text. */
enum { IV_OUT = 0, IV_ERR = 1 };
struct iv_outbuf {
	struct iv_cvm *cvm; /* (what the run loop's epoll finds it by) */
	char buf[1024];
	size_t len;
};

/* Where a cVM's image and stack lie (a program's: where its cap files go). */
struct iv_layout {
	uint64_t image_lo, image_hi, stack_lo, stack_hi;
};

struct iv_cvm {
	int id;
	struct iv_cvm_cfg *cfg;
	struct iv_run *run;
	const char *args; /* what HC_GET_ARG answers: cfg->args, or a reused fork's run's */
	/* Whose listener and server thread serve this cVM: itself, or for a
	 * fork its template (forks inherit the template's seccomp filter). */
	struct iv_cvm *leader;
	enum iv_cvm_state state;
	struct iv_cell cell;
	pthread_t server;
	int server_running;
	volatile int stopping;

	union {
		struct iv_layout lay;
		struct {
			uint64_t image_lo, image_hi; /* where the ELF image lies */
			uint64_t stack_lo, stack_hi;
		};
	};
	uint64_t pidns; /* the inode of its cell's pid namespace (its child processes' too) */
	/* A restored cell's brk is not its template's: brk is notified and
	 * answered with this (the template's), which a libc takes as a brk
	 * that cannot grow, and falls back to mmap (0: brk runs natively). */
	uint64_t brk_answer;

	pthread_mutex_t lock;	 /* guards the fields below */
	struct iv_outbuf out[2]; /* [IV_OUT] its stdout, [IV_ERR] its stderr */
	int denials;
	uint64_t denied[8]; /* system calls below 512 already reported as denied */
	struct iv_timer timers[IV_MAX_TIMERS]; /* deferred answers, one per thread */
	int ntimers;

	/* how it ended */
	int exit_by_hostcall;
	long exit_code;
	int status; /* wait status, valid when state == IV_CVM_DONE */
	int fault_sig;
	uint64_t fault_addr;
	int fault_known, fault_has_addr; /* ended by signal fault_sig (at fault_addr) */
	char fail[512];			 /* deployment failure, if any */
	int parked;   /* the run does not wait for it (a zygote); ended at the end */
	int released; /* parked, and ended by the run */

	/* Which cVM of the family this leader's server is serving now, and
	 * whether this cVM has ended: the main thread reaps a cVM only while
	 * its server is not serving it, so that no call is served for a pid
	 * that may be reused, and without waiting on the server. */
	struct iv_cvm *serving;
	int ended;
	int paused;	 /* its calls are refused (but the monitor's own): it is being reset */
	int server_done; /* the server thread has returned */

	uint64_t t[IV_T_COUNT];		/* phases (iv_mark) */
	void *feature[IV_MAX_FEATURES]; /* each feature's own state (iv_state) */
};

/* Checks a cVM's config (its runtime's ELF and layout, and what features
 * check) without deploying it; the run checks every one before it starts any. */
int iv_cvm_check(const struct iv_cvm_cfg *cfg, struct iv_err *err);
/* Where a position-independent image of cfg is placed: its base when that
 * lies above begin inside its range (an outer keeps its image clear of its
 * inners' ranges so), else begin. */
uint64_t iv_cvm_image_at(const struct iv_cvm_cfg *cfg);
/* The bytes of cfg's stack, which ends at its range's end. */
uint64_t iv_cvm_stack_size(const struct iv_cvm_cfg *cfg);
/* Deploys one cVM: loads its ELF (or a feature plans it), spawns its cell
 * and starts serving it. */
int iv_cvm_deploy(struct iv_cvm *cvm, struct iv_err *err);
/* The cell cvm's deploy makes, as its config alone says (features may add
 * to it at the deploy). */
void iv_cvm_cell_spec(const struct iv_cvm *cvm, struct iv_cell_spec *spec);
/* Whether a cVM of cfg can be given a cell made ahead (core/pool.c). */
int iv_cvm_parkable(const struct iv_cvm_cfg *cfg);
/* The plan of a parkable cVM that is not a restore, as its deploy would
 * make it, from its config alone: its runtime's fd in *elf_fd, its layout
 * in *lay (any thread may call it). */
int iv_cvm_preplan(const struct iv_cvm *cvm, struct iv_plan *plan, int *elf_fd,
		   struct iv_layout *lay, struct iv_err *err);
/* Writes what the cVM wrote to stream (IV_OUT, IV_ERR) to the monitor's
 * stdout or stderr, labelled with its name, line by line. */
void iv_cvm_output(struct iv_cvm *cvm, int stream, const char *buf, size_t len);
/* The same for its stdout (the console hostcall writes there). */
void iv_cvm_console(struct iv_cvm *cvm, const char *buf, size_t len);
/* Ends both streams' unfinished lines. */
void iv_cvm_console_flush(struct iv_cvm *cvm);
/* Kills the cell (if alive). */
void iv_cvm_kill(struct iv_cvm *cvm);
/* Notes the pid namespace of cvm's first process pid (its children are
 * there too: that is how their calls are known). */
void iv_cvm_note_pidns(struct iv_cvm *cvm, pid_t pid);
/* The inode of pid's pid namespace, 0 if it has gone. */
uint64_t iv_pidns_of(pid_t pid);
/* Called by the lifecycle loop once the cell has exited and been reaped. */
void iv_cvm_report(struct iv_cvm *cvm);
/* True when the cVM ended well (exit code 0, no signal, no failure). */
int iv_cvm_ok(const struct iv_cvm *cvm);
/* Its status as a process's: 0, its exit status, or 128 + a signal's number. */
int iv_cvm_status(const struct iv_cvm *cvm);

/* Metrics (core/metrics.c): the seed's phases for every cVM, printed at
 * exit, and as JSON for --metrics; t0 is when the monitor started. */
void iv_metrics_print(const struct iv_run *run, uint64_t t0);
int iv_metrics_write(const struct iv_run *run, uint64_t t0, const char *path, struct iv_err *err);

/* ---- the run (core/run.c): every cVM of the config, deployed in order ---- */

struct iv_run {
	struct iv_config *cfg;
	struct iv_cvm *cvms;
	size_t ncvms;
	int sigfd;
	int epfd;
	int wakefd;	      /* eventfd: a server thread has work for the main thread */
	int stopping_servers; /* a leader's reap waits for its server to return */
	int pool_size;	      /* cells made ahead of their cVMs (--pool; set before iv_run) */
	struct iv_pool *pool; /* core/pool.c, while iv_run runs */
};

/* ---- cells made ahead of need (core/pool.c) ---- */

/* Starts a thread that keeps cells parked for the next size parkable cVMs
 * of the run (none with size 0). */
int iv_pool_start(struct iv_run *run, int size, struct iv_err *err);
/* A cell made ahead for a cVM: parked; preloaded, its plan has run (at
 * lay) and it waits for the go. */
struct iv_parked {
	struct iv_cell cell;
	int preloaded;
	struct iv_layout lay;
	uint64_t pidns;
};
/* The cell parked for cvm, if there is one (1, into *out; a cell being
 * made for it is awaited); from then on none is made for it. */
int iv_pool_take(struct iv_cvm *cvm, struct iv_parked *out);
/* Ends the thread, kills and reaps the cells no cVM took; says how the
 * pool did. */
void iv_pool_stop(struct iv_run *run);

/* Wakes the main thread (from any thread). */
void iv_run_wake(struct iv_run *run);
/* Answers notification id (of thread tid of cvm) at deadline, replacing an
 * older one of the same thread; 0, or -EAGAIN when too many of cvm's wait. */
int iv_run_add_timer(struct iv_cvm *cvm, pid_t tid, uint64_t deadline_ns, int listener,
		     uint64_t id);

int iv_run_init(struct iv_run *run, struct iv_config *cfg, struct iv_err *err);
/* Deploys and serves until every cVM has ended or a signal asks to stop;
 * returns the monitor's exit status. */
int iv_run(struct iv_run *run);
void iv_run_free(struct iv_run *run);

/* ---- hostcalls (core/table.c, core/server.c, core/mem.c) ---- */

#define IV_HC_MAX 1024

struct iv_call {
	struct iv_cvm *cvm;
	pid_t tid;
	int child;   /* made by a child process of the cVM (a program's), not the cVM's first */
	uint64_t id; /* notification id */
	int nr;	     /* the seed's number (syscall - IV_HC_BASE) */
	uint64_t a[6];
};

/* A handler returns the value for rax: >= 0 on success, -errno on failure,
 * or one of these: */
#define IV_HC_DEFER    (-0x7fffffffffffffffL)	  /* answered later (iv_answer) */
#define IV_HC_CONTINUE (-0x7fffffffffffffffL + 1) /* let the system call run */
typedef long (*iv_hostcall_fn)(struct iv_call *c);

/* Answers a notification the server left pending; -errno for val < 0. */
void iv_answer(int listener, uint64_t id, long val);

void iv_hostcall_register(int nr, const char *name, iv_hostcall_fn fn);
/* The handler registered for nr, or NULL (a feature may wrap another's). */
iv_hostcall_fn iv_hostcall_handler(int nr);
/* Where a cVM's exit_group is served when its filter notifies it
 * (IV_POLICY_NOTIFY_EXIT): a handler registered for this number holds it
 * (IV_HC_DEFER) or lets it run (IV_HC_CONTINUE, also with none). */
#define IV_HC_EXIT_GROUP (IV_HC_MAX - 1)
const char *iv_hostcall_name(int nr);
/* A cVM whose hostcalls another serves (cfg->outer >= 0): every hostcall
 * (0 <= nr < IV_HC_MAX) is offered to fn first, which serves it or answers
 * IV_HC_UNROUTED to leave it to the table.  One router (nested cVMs). */
#define IV_HC_UNROUTED (-0x7fffffffffffffffL + 2)
void iv_hostcall_route(iv_hostcall_fn fn);
/* Serves one notification; returns the value to answer with. */
long iv_hostcall_dispatch(struct iv_call *c);

/* The per-cell server thread. */
int iv_server_start(struct iv_cvm *cvm, struct iv_err *err);
/* Asks the server to stop: 1 once it has (joined), 0 while it is still
 * finishing a call (ask again later; never waits). */
int iv_server_stop(struct iv_cvm *cvm);

/*
 * The one checked way to touch cVM memory: [addr, addr+len) must lie inside
 * the cVM's [begin, end) without overflow, and the copy must be complete.
 * Return 0 or -EFAULT.
 */
int iv_cvm_read(struct iv_cvm *cvm, uint64_t addr, void *dst, size_t len);
/* A program's hostcall may come from one of its child processes, whose
 * memory is its own: the server names the calling process of cvm for the
 * calls this thread makes next (0: the cVM's first process). */
void iv_cvm_caller(struct iv_cvm *cvm, pid_t pid);
int iv_cvm_write(struct iv_cvm *cvm, uint64_t addr, const void *src, size_t len);
/* Copies a NUL-terminated string of at most max-1 bytes; -EFAULT or -ENAMETOOLONG. */
int iv_cvm_read_str(struct iv_cvm *cvm, uint64_t addr, char *dst, size_t max);
/* Installs a monitor fd into the calling cell (SECCOMP_IOCTL_NOTIF_ADDFD);
 * returns the fd number in the cell or -errno. */
int iv_call_install_fd(struct iv_call *c, int fd);

#endif
