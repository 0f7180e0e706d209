/*
 * iv.h - the whole internal API of the Intravisor monitor.
 *
 * The monitor deploys cVMs into cells: confined processes whose address
 * space holds only the cell stub, the cVM image and stacks in [begin, end),
 * and the capability regions granted to them.  Hostcalls arrive by seccomp
 * user notification and are served from a table that modules register into.
 *
 * Error convention: every fallible function takes a struct iv_err * and
 * returns -1 after filling it with one line that names what was wrong and
 * where; 0 (or a non-negative value) means success.
 */
#ifndef IV_H
#define IV_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "iv_hostcalls.h"
#include "plan.h"

#define IV_PAGE		 4096UL
#define IV_ALIGN_DOWN(x) ((x) & ~(IV_PAGE - 1))
#define IV_ALIGN_UP(x)	 (((x) + IV_PAGE - 1) & ~(IV_PAGE - 1))

/* ---- errors (monitor/error.c) ---- */

struct iv_err {
	char msg[512];
};

/* Formats the message into err and returns -1.  err may be NULL. */
int iv_fail(struct iv_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Verbosity of the monitor's own log (-v); messages go to stderr. */
extern int iv_verbose;
void iv_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void iv_vlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- configuration (monitor/config.c) ---- */

struct iv_capfile_cfg {
	char *name;
	uint64_t size;
	char *data; /* NULL when absent */
	size_t data_len;
	int line;
};

struct iv_cvm_cfg {
	char *name;
	char *runtime; /* path, resolved against the config file's directory */
	char *args;    /* NULL when absent */
	char *disk;    /* directory, resolved like runtime; NULL: empty root */
	uint64_t base, size, begin, end;
	char *callback_out;
	long wait;	     /* -1: wait for exit (a template: for its save); N >= 0: sleep N s */
	int template_;	     /* becomes a template at host_save() */
	int fork;	     /* honour host_save() (default 1) */
	int resume;	     /* start as a fork of the template with the same runtime */
	char *snapshot_path; /* template: write its image here; resume: restore from it */
	int tmpl;	     /* resume: index of that template in the cVM list */
	int has_isolation;
	int line;
};

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
/* Reads and parses a file, then checks that runtimes and disks exist. */
int iv_config_load(const char *path, struct iv_config *cfg, struct iv_err *err);
void iv_config_free(struct iv_config *cfg);

/* ---- ELF loading (loader/elf.c, loader/stack.c) ---- */

#define IV_ELF_MAX_SEGMENTS 16

enum iv_entry_kind {
	IV_ENTRY_PROCESS = 1,  /* static executable: rsp -> argc, as the kernel starts it */
	IV_ENTRY_FUNCTION = 2, /* shared object with -e sym: called as sym(argc, argv, envp) */
};

struct iv_segment {
	uint64_t vaddr; /* after relocation */
	uint64_t memsz, filesz, offset;
	int prot; /* PROT_* */
};

struct iv_reloc {
	uint64_t addr, value;
};

struct iv_elf {
	enum iv_entry_kind kind;
	uint64_t bias;	 /* added to every vaddr */
	uint64_t lo, hi; /* page-aligned range the image occupies */
	uint64_t entry;
	uint64_t phdr; /* address of the program headers in memory (AT_PHDR), 0 if unmapped */
	uint16_t phnum, phentsize;
	struct iv_segment seg[IV_ELF_MAX_SEGMENTS];
	size_t nseg;
	struct iv_reloc *relocs; /* malloc'd; 8-byte stores the stub performs */
	size_t nrelocs;
};

/*
 * Validates an ELF image held in buf and lays it out inside [begin, end):
 * a static executable must already lie there, a position-independent one
 * is placed at begin.  Nothing in buf is trusted: every offset and size is
 * checked.  On success out->relocs must be released with iv_elf_free().
 */
int iv_elf_parse(const uint8_t *buf, size_t len, uint64_t begin, uint64_t end, struct iv_elf *out,
		 struct iv_err *err);
void iv_elf_free(struct iv_elf *elf);

/* ---- the plan a cell stub executes (cell/plan.c) ---- */

struct iv_plan {
	struct iv_plan_hdr hdr;
	struct iv_plan_op *ops;
	size_t nops, opcap;
	uint8_t *data; /* what OP_COPY ops copy from */
	size_t dlen, dcap;
	void *filter; /* struct sock_filter[] */
	size_t filter_len;
};

/* Appends an op; -1 only on allocation failure. */
int iv_plan_op(struct iv_plan *p, uint32_t kind, uint64_t addr, uint64_t len, uint64_t arg,
	       uint32_t prot);
/* Copies data into the plan and adds an op that stores it at addr. */
int iv_plan_copy(struct iv_plan *p, uint64_t addr, const void *data, size_t len);
/* Lays the plan out in a sealed memfd the stub reads; returns the fd or -1. */
int iv_plan_finish(struct iv_plan *p, struct iv_err *err);
void iv_plan_free(struct iv_plan *p);

/* Builds the initial stack (argc, argv, envp, auxv, strings) below top and
 * records it in the plan; returns the stack pointer to start with in *sp. */
int iv_stack_build(struct iv_plan *p, const struct iv_elf *elf, uint64_t top, const char *name,
		   const char *args, uint64_t *sp, struct iv_err *err);

/* ---- cVMs (monitor/cvm.c) ---- */

enum iv_cvm_state { IV_CVM_LOADING, IV_CVM_RUNNING, IV_CVM_DONE };

#define IV_MAX_HANDLES 16
#define IV_MAX_GRANTS  32

struct iv_cap;
struct iv_run;

/* TFORK: where a template is in its life (snapshot/tfork.c). */
enum iv_tpl_state {
	IV_TPL_NONE,	   /* not a template, or not saved yet */
	IV_TPL_FREEZE_REQ, /* host_save arrived: the main thread is to freeze it */
	IV_TPL_FROZEN,	   /* threads captured; the saver is to come back */
	IV_TPL_READY,	   /* a zygote: its saver waits in host_save (save_id pending) */
	IV_TPL_FORKING,	   /* the main thread is making a fork of it */
	IV_TPL_FAILED,	   /* it could not be frozen: it is being killed */
};

/* A template thread as captured at host_save: everything a fork needs to
 * bring it back as libc left it. */
struct iv_thread_state {
	pid_t tid;    /* in the monitor's pid namespace */
	pid_t ns_tid; /* in the template's (the fork gets the same) */
	struct user_regs_struct regs;
	uint64_t sigmask;
	uint8_t *xstate; /* XSAVE image from PTRACE_GETREGSET(NT_X86_XSTATE) */
	size_t xsize;
	uint64_t ctid;			/* clear-child-tid address (join) */
	uint64_t robust, robust_len;	/* robust-futex list */
	uint64_t ss_sp, ss_size;	/* alternate signal stack */
	int32_t ss_flags;
	uint32_t rseq_len, rseq_sig;	/* rseq_len 0: none registered */
	uint64_t rseq;
};

/* A descriptor the template had open at host_save. */
struct iv_saved_fd {
	int fd, flags;
	int64_t pos;
	int held; /* the monitor's reference to the file (-1 when restored from an image) */
};

/* What a template's fd numbers that are not files become in its forks. */
enum iv_fd_role { IV_FDR_NULL = 1, IV_FDR_CONSOLE = 2 };
struct iv_fd_special {
	int fd, role;
};

/* An answer to send when its time comes (deferred nanosleep). */
#define IV_MAX_TIMERS 256
struct iv_timer {
	uint64_t deadline_ns, id;
	int listener;
	pid_t tid;
};

struct iv_handle {
	struct iv_cap *cap;
	uint64_t offset;
};

struct iv_cvm {
	int id;
	struct iv_cvm_cfg *cfg;
	struct iv_run *run;
	/* Whose listener and server thread serve this cVM: itself, or for a
	 * fork its template (forks inherit the template's seccomp filter). */
	struct iv_cvm *leader;
	enum iv_cvm_state state;
	pid_t pid; /* the cell, in the monitor's pid namespace */
	int pidfd;
	int listener; /* seccomp user-notification fd */
	int console;  /* read end of the cell's stdout/stderr pipe */
	int ctl;      /* control socket to the stub until it starts */
	pthread_t server;
	int server_running;
	volatile int stopping;

	uint64_t image_lo, image_hi; /* where the ELF image lies */
	uint64_t stack_lo, stack_hi;
	uint64_t cap_next; /* the next cap mapping goes just below this */

	pthread_mutex_t lock; /* guards the fields below */
	struct iv_handle handles[IV_MAX_HANDLES];
	char linebuf[1024];
	size_t linelen;
	int denials;
	struct iv_timer timers[IV_MAX_TIMERS]; /* deferred answers, one per thread */
	int ntimers;
	/* cap files this cVM has been granted, with where they are mapped */
	struct {
		struct iv_cap *cap;
		uint64_t addr;
	} grants[IV_MAX_GRANTS];
	int ngrants;
	uint64_t adv_bytes; /* held by the monitor for cap files it advertised */

	/* how it ended */
	int exit_by_hostcall;
	long exit_code;
	int status; /* wait status, valid when state == IV_CVM_DONE */
	int fault_sig;
	uint64_t fault_addr;
	int fault_known;
	char fail[512]; /* deployment failure, if any */

	/* TFORK, as a template */
	enum iv_tpl_state tstate;
	uint64_t gadget;  /* a syscall instruction in the cell stub (inject.c) */
	pid_t save_tid;	  /* the thread in host_save */
	uint64_t save_id; /* its pending notification */
	struct iv_thread_state *threads;
	int nthreads, saver, main; /* captured threads; which saved; which is the leader */
	struct iv_saved_fd *fds;   /* files, reopened in every fork */
	char **fd_paths; /* restored from an image: where each one was, in the root */
	int nfds;
	struct iv_fd_special *special; /* console and /dev/null, fresh in every fork */
	int nspecial;
	uint8_t sigchld[32]; /* its SIGCHLD action (it ignores SIGCHLD while a zygote) */
	uint64_t scratch;    /* the monitor's page in the frozen template (tfork.c) */
	uid_t uid;	     /* the cell's credentials */
	gid_t gid;
	int nforks;
	/* TFORK, as a restored cVM */
	int announced;
	int released; /* a template the run ended once its forks were done */

	/* Which cVM of the family this leader's server is serving now, and
	 * whether this cVM has ended: the main thread reaps a cVM only while
	 * its server is not serving it, so that no call is served for a pid
	 * that may be reused, and without waiting on the server. */
	struct iv_cvm *serving;
	int ended;
	int server_done; /* the server thread has returned */

	/* phases (CLOCK_MONOTONIC ns): deploy started (for a fork: requested),
	 * image planned, cell handed over its listener, cVM released (a fork:
	 * taken over), first hostcall, host_save reached, template frozen,
	 * exit hostcall, reaped */
	uint64_t t_deploy_ns, t_loaded_ns, t_cell_ns, t_running_ns, t_first_hc_ns, t_save_ns,
		t_saved_ns, t_restored_ns, t_exit_ns, t_done_ns;
};

/* Checks a cVM's runtime (ELF and layout) without deploying it; the run
 * checks every one before it starts any. */
int iv_cvm_check(const struct iv_cvm_cfg *cfg, struct iv_err *err);
/* Deploys one cVM: loads its ELF, spawns its cell and starts serving it. */
int iv_cvm_deploy(struct iv_cvm *cvm, struct iv_err *err);
/* Writes cVM console output, labelled with its name, line by line. */
void iv_cvm_console(struct iv_cvm *cvm, const char *buf, size_t len);
void iv_cvm_console_flush(struct iv_cvm *cvm);
/* Kills the cell (if alive). */
void iv_cvm_kill(struct iv_cvm *cvm);
/* Called by the lifecycle loop once the cell has exited and been reaped. */
void iv_cvm_report(struct iv_cvm *cvm);
/* True when the cVM ended well (exit code 0, no signal, no failure). */
int iv_cvm_ok(const struct iv_cvm *cvm);

/* Metrics (monitor/metrics.c): the seed's phases for every cVM, printed at
 * exit, and as JSON for --metrics; t0 is when the monitor started. */
void iv_metrics_print(const struct iv_run *run, uint64_t t0);
int iv_metrics_write(const struct iv_run *run, uint64_t t0, const char *path, struct iv_err *err);

/* The run: every cVM of the config, deployed in order (monitor/run.c). */
struct iv_run {
	struct iv_config *cfg;
	struct iv_cvm *cvms;
	size_t ncvms;
	int sigfd;
	int epfd;
	int wakefd;	      /* eventfd: a server thread has work for the main thread */
	int stopping_servers; /* a leader's reap waits for its server to return */
};

/* Adds a cVM's console pipe to the main loop. */
void iv_run_watch_console(struct iv_run *run, struct iv_cvm *cvm);
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

uint64_t iv_now_ns(void);

/* ---- cells (cell/cell.c, cell/policy.c) ---- */

/* Builds the cells' seccomp filter (classic BPF), once per process. */
int iv_policy_init(struct iv_err *err);
/* Copies the filter into the plan (building it first if need be). */
int iv_policy_build(struct iv_plan *p, struct iv_err *err);

/* Spawns the cell for cvm from a complete plan and the runtime's fd (taken); on
 * success cvm->pid, pidfd, listener and console are set and the stub is
 * waiting for iv_cell_go(). */
int iv_cell_spawn(struct iv_cvm *cvm, struct iv_plan *plan, int elf_fd, const int *extra,
		  int nextra, struct iv_err *err);
/* Lets the stub jump into the cVM. */
int iv_cell_go(struct iv_cvm *cvm, struct iv_err *err);
/* Creates what every cell shares (the stub, the empty root, the null
 * network, mount namespaces per root); once per process, undone by fini. */
int iv_cell_global_init(struct iv_err *err);
/* The prepared mount namespace rooted at dir (NULL: the empty root), made on
 * first use: an fd, or -1.  The run prepares every configured root up front
 * because making one waits for an RCU grace period. */
int iv_cell_prepare_root(const char *dir, struct iv_err *err);
void iv_cell_global_fini(void);

/* ---- hostcalls (hostcall/table.c, hostcall/server.c, hostcall/mem.c) ---- */

#define IV_HC_MAX 1024

struct iv_call {
	struct iv_cvm *cvm;
	pid_t tid;
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
const char *iv_hostcall_name(int nr);
/* Serves one notification; returns the value to answer with. */
long iv_hostcall_dispatch(struct iv_call *c);
/* Registers every module's hostcalls (basic, cap files, TFORK). */
void iv_hostcalls_init(void);
void iv_hc_basic_init(void);
void iv_hc_capfile_init(void);
void iv_hc_tfork_init(void);

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
int iv_cvm_write(struct iv_cvm *cvm, uint64_t addr, const void *src, size_t len);
/* Copies a NUL-terminated string of at most max-1 bytes; -EFAULT or -ENAMETOOLONG. */
int iv_cvm_read_str(struct iv_cvm *cvm, uint64_t addr, char *dst, size_t max);
/* Installs a monitor fd into the calling cell (SECCOMP_IOCTL_NOTIF_ADDFD);
 * returns the fd number in the cell or -errno. */
int iv_call_install_fd(struct iv_call *c, int fd);

/* ---- TFORK (snapshot/tfork.c, snapshot/inject.c) ---- */

/* Main thread: moves every template along (freezes those that saved). */
void iv_tfork_step(struct iv_run *run);
/* Main thread: makes fork cvm of its template, or says why it cannot yet:
 * 0 started, 1 wait (the template has not saved), -1 failed (cvm->fail). */
int iv_tfork_request(struct iv_cvm *cvm);
void iv_tfork_free(struct iv_cvm *cvm);
/* The signal frame that resumes a thread with registers r and st's FPU
 * state, below r's stack red zone: a malloc'd buffer of *len bytes to be
 * stored at *at; rt_sigreturn wants rsp = *at + 8. */
uint8_t *iv_frame_build(const struct user_regs_struct *r, const struct iv_thread_state *st,
			uint64_t *at, size_t *len);

/* Runs system call nr with args a in thread tid, which is in a ptrace stop
 * of the calling thread, through the cell stub's syscall instruction at
 * gadget; its registers are restored after.  0 with the call's result in
 * *ret (and a new task's id in *child, for clone), or -errno.  Bounded. */
int iv_inject(pid_t tid, uint64_t gadget, long nr, const long a[6], long *ret, pid_t *child);
/* The same, returning the call's result, or -errno when it could not run. */
long iv_inject_call(pid_t tid, uint64_t gadget, long nr, long a0, long a1, long a2, long a3,
		    long a4);
/* True for the system call the monitor is injecting into tid right now:
 * its server lets that one through. */
int iv_inject_expected(pid_t tid, long nr);
/* Takes a stop of tid, a tracee, if there is one: 1 with its wait status
 * (as waitpid puts it), 0 when there is none, -ESRCH when it has ended (its
 * exit is left for the reaper), -errno. */
int iv_take_stop(pid_t tid, int *status);
/* Waits (bounded, without blocking) for tid to stop: 0 with its wait
 * status, -ESRCH when it ended instead, -ETIMEDOUT. */
int iv_wait_stop(pid_t tid, int *status);

/* ---- snapshot images (snapshot/image.c, docs/IMAGE.md) ---- */

/* Checks a template's snapshot_path before it runs: a directory (or, if
 * missing, its parent) reached without symbolic links, that only the
 * monitor's user may write.  iv_image_write checks it again. */
int iv_image_check_dir(const struct iv_cvm_cfg *cfg, struct iv_err *err);
/* Writes the frozen template's image into its snapshot_path. */
int iv_image_write(struct iv_cvm *t, struct iv_err *err);
/* Reads and checks cvm's image and plans a fresh cell from it: memory
 * mapped lazily from the pages file (returned in *pages_fd), cap files to
 * map shared (fds in extra[], *nextra), the saving thread resumed. */
int iv_image_plan(struct iv_cvm *cvm, struct iv_plan *p, int *pages_fd, int *extra, int *nextra,
		  struct iv_err *err);
/* HC_FORKED in a restored cVM: its files reopened; returns threads to recreate. */
long iv_image_announced(struct iv_call *c);

/* ---- capabilities (cap/capfile.c) ---- */

struct iv_cap {
	char name[64];
	int memfd;
	uint64_t size;
	int owner; /* cVM id that advertised it, -1 for the config's */
};

int iv_cap_init(struct iv_config *cfg, struct iv_err *err);
struct iv_cap *iv_cap_find(const char *name);
/* A new open file description of the cap's object (O_RDWR), or -1. */
int iv_cap_open(struct iv_cap *c);
/* Creates a named shared object; data (may be NULL) fills its start. */
struct iv_cap *iv_cap_create(const char *name, uint64_t size, const void *data, size_t len,
			     int owner, struct iv_err *err);
void iv_cap_fini(void);

#endif
