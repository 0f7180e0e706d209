/*
 * iv_cell.h - the mechanisms under the monitor's core: ELF loading, the plan
 * a cell stub executes, the seccomp policy, spawning cells, and running
 * system calls inside a stopped cell.  Nothing here knows what a cVM is.
 */
#ifndef IV_CELL_H
#define IV_CELL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "iv_base.h"
#include "plan.h"

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
/* The value of the defined function symbol name in the ELF held in buf
 * (its dynamic symbols, then its symbol table; before any bias): 0, or -1
 * when it has none.  Nothing in buf is trusted. */
int iv_elf_symbol(const uint8_t *buf, size_t len, const char *name, uint64_t *value);

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
/* Adds an op that installs act (len bytes of the kernel's struct
 * k_sigaction) as signal sig's action; -1 on allocation failure. */
int iv_plan_sigaction(struct iv_plan *p, int sig, const void *act, size_t len);
/* Makes the plan a program's: once its filter is on, the stub executes
 * path inside the cell's root ("": the runtime's fd) with argv and envp.
 * -1 on allocation failure or too many strings. */
int iv_plan_exec(struct iv_plan *p, const char *path, char *const *argv, char *const *envp);
/* Lays the plan out in a sealed memfd the stub reads (again and again if
 * need be); returns the fd or -1. */
int iv_plan_finish(struct iv_plan *p, struct iv_err *err);
void iv_plan_free(struct iv_plan *p);

/* Builds the initial stack (argc, argv, envp, auxv, strings) below top and
 * records it in the plan; returns the stack pointer to start with in *sp.
 * argv (at least its first word) and envp are NULL-terminated. */
int iv_stack_build(struct iv_plan *p, const struct iv_elf *elf, uint64_t top, char *const *argv,
		   char *const *envp, uint64_t *sp, struct iv_err *err);
/* The bytes below top iv_stack_build takes for argv and envp. */
size_t iv_stack_need(char *const *argv, char *const *envp);

/* ---- cells (cell/cell.c, cell/policy.c) ---- */

/* The cells' seccomp filters (classic BPF): baremetal cVMs', programs',
 * networked programs' (which may also make sockets), each with exit_group
 * notified or not.  Builds the first two, once per process (the others on
 * first use). */
int iv_policy_init(struct iv_err *err);
/* Copies a filter into the plan (building it first if need be), of the
 * kind IV_POLICY_* bits say (0: a cVM with a range). */
#define IV_POLICY_PROGRAM     1 /* a program's (README "Programs") */
#define IV_POLICY_NOTIFY_EXIT 2 /* exit_group reaches the monitor (reused forks) */
#define IV_POLICY_NET	      4 /* a networked program's: it may also make sockets */
#define IV_POLICY_NOTIFY_BRK                                                                       \
	8 /* brk reaches the monitor (a restored cell: not the template's brk) */
int iv_policy_build(struct iv_plan *p, int kind, struct iv_err *err);

/* A cell: a confined process that runs its stub, then its cVM. */
struct iv_cell {
	pid_t pid; /* in the monitor's pid namespace */
	int pidfd;
	int listener;	 /* seccomp user-notification fd */
	int console;	 /* read end of the cell's stdout pipe */
	int errcons;	 /* read end of the cell's stderr pipe */
	int ctl;	 /* control socket to the stub until it starts */
	uint64_t gadget; /* a syscall instruction in the stub (inject.c) */
	uid_t uid;	 /* its credentials */
	gid_t gid;
	int program;	  /* its stub executes a program after the go */
	int parked;	  /* made ahead: waits in IV_SYS_PARK for its plan */
	int policy;	  /* ... under the filter of this kind (IV_POLICY_*) */
	uint64_t park_id; /* that wait's notification */
	char cgroup[192]; /* its memory cgroup's directory, "" if none (cgroup.c) */
};

/* What a new cell is to be. */
struct iv_cell_spec {
	const char *name;    /* its hostname, and for messages */
	const char *disk;    /* its root directory (NULL: an empty read-only one) */
	int disk_ro;	     /* the disk mounted read-only */
	uint64_t mem;	     /* memory it may map (RLIMIT_AS, beyond the stub's own) */
	unsigned long nproc; /* RLIMIT_NPROC */
	uid_t uid;	     /* its credentials */
	gid_t gid;
	int stdin_fd;		/* its stdin: this fd (not taken), */
	const char *stdin_path; /* or this regular file inside its root, opened as the cell, */
				/* or (both absent: -1, NULL) /dev/null */
	const char *cwd;	/* its working directory inside its root (NULL: the root) */
	int program;		/* a program: its own /tmp and /dev/shm (tmpfs of mem bytes) */
	int netns;		/* the network namespace it joins (-1: the shared empty one) */
	uint64_t cgroup_limit;	/* born in a memory cgroup of this many bytes (0: none) */
	int cap_dir;		/* a program: this directory (an fd; -1: none) bound at /cap */
};

/* Spawns a cell from a complete plan and the runtime's fd (taken); on
 * success the cell is filled in and the stub waits for iv_cell_go(). */
int iv_cell_spawn(struct iv_cell *cell, const struct iv_cell_spec *spec, struct iv_plan *plan,
		  int elf_fd, const int *extra, int nextra, struct iv_err *err);
/* In a new program cell's child, as root, inside its root: binds dir (a
 * directory of a detached tmpfs) at /cap if the root has that directory,
 * and forbids truncating what lies beneath it (Landlock, where the kernel
 * has it): 0, or -1 with errno. */
int iv_cell_cap_mount(int dir);
/* Lets the stub jump into the cVM (a parked cell: run the plan it was
 * handed, then jump); seizes it first (the caller is its reaper). */
int iv_cell_go(struct iv_cell *cell, const char *name, struct iv_err *err);
/* A cell made ahead of its cVM (any thread may make one): spawned as spec
 * says with the filter of kind policy on and its listener taken, then
 * parked in IV_SYS_PARK (its fds must be -1 before).  Nothing of a cVM is
 * in it yet. */
int iv_cell_park(struct iv_cell *cell, const struct iv_cell_spec *spec, int policy,
		 struct iv_err *err);
/* Hands a parked cell its cVM's plan, ELF (taken on success) and extra
 * descriptors; iv_cell_go then lets it run them.  -1 when the cell cannot
 * take them (it died). */
int iv_cell_hand(struct iv_cell *cell, const char *name, struct iv_plan *plan, int elf_fd,
		 const int *extra, int nextra, struct iv_err *err);
/* The same (elf_fd taken in any case), and the cell runs the plan at once
 * and parks again: made ahead with its cVM laid out, it waits only for
 * iv_cell_go. */
int iv_cell_preload(struct iv_cell *cell, const char *name, struct iv_plan *plan, int elf_fd,
		    const int *extra, int nextra, struct iv_err *err);
/* Whether a parked cell still waits (not killed meanwhile: then its
 * zombie may have been reaped by anyone waiting for the monitor's
 * children, and it must not be taken for a cVM's). */
int iv_cell_parked_alive(struct iv_cell *cell);
/* Kills and reaps a cell that will not be used (one that ran only the
 * stub) and closes its descriptors. */
void iv_cell_discard(struct iv_cell *cell);
/* Creates what every cell shares (the stub, the empty root, the null
 * network, mount namespaces per root); once per process, undone by fini. */
int iv_cell_global_init(struct iv_err *err);
/* The prepared mount namespace rooted at dir (NULL: the empty root),
 * read-only with ro, made on first use: an fd, or -1.  The run prepares
 * every configured root up front because making one waits for an RCU
 * grace period. */
int iv_cell_prepare_root(const char *dir, int ro, struct iv_err *err);
void iv_cell_global_fini(void);

/* ---- network namespaces and links of networked cells (cell/net.c) ---- */

/* IPv4 addresses are in host byte order.  Each call runs on the calling
 * thread, which enters a namespace only while it opens a socket there. */
/* Notes the monitor's own network namespace; once, before the others. */
int iv_net_init(struct iv_err *err);
/* A new network namespace with its loopback up: an fd, or -1. */
int iv_net_ns_new(struct iv_err *err);
/* Brings up the loopback of namespace ns (one a fork's clone made). */
int iv_net_lo_up(int ns, struct iv_err *err);
/* A veth pair: host_if in the monitor's namespace, holding gateway with
 * addr as its peer (the host's route to addr), and eth0 in ns holding
 * addr/prefix; both up, without IPv6 addresses, never forwarding. */
int iv_net_veth(int ns, const char *host_if, uint32_t gateway, uint32_t addr, int prefix,
		struct iv_err *err);
/* A veth pair between two namespaces, if_a in ns_a holding addr_a with
 * peer addr_b, and the reverse: the only route between them. */
int iv_net_link(int ns_a, const char *if_a, uint32_t addr_a, int ns_b, const char *if_b,
		uint32_t addr_b, struct iv_err *err);
/* Removes the veth pair whose host end is host_if (gone already: nothing). */
void iv_net_del(const char *host_if);
/* A socket made in namespace ns: an fd, or -1 (errno). */
int iv_net_socket_in(int ns, int domain, int type);
/* Whether the host has an IPv4 address in net/prefix: 1 with it in *found
 * (and its interface's name in ifname, IFNAMSIZ bytes, if not NULL), 0, or -1. */
int iv_net_host_addr_in(uint32_t net, int prefix, uint32_t *found, char *ifname,
			struct iv_err *err);

/* ---- memory cgroups of programs (cell/cgroup.c) ---- */

/* Runs fn(arg), which makes a process (its pid, or -errno), so that the
 * process is born in a memory cgroup of its own, limited to limit bytes,
 * named for the cVM name under the monitor's (its directory in out): fn
 * runs on a thread made ahead in that cgroup, or, where there is none (not
 * cgroup v1), here, and the process is then moved (which waits for an RCU
 * grace period).  With limit 0, or no memory cgroup (said once), just
 * fn(arg), out "". */
pid_t iv_cgroup_clone(const char *name, uint64_t limit, pid_t (*fn)(void *), void *arg, char *out,
		      size_t outlen);
/* Makes the threads that wait in fresh cgroups ready ahead of the first
 * program (their moves are paid in the background). */
void iv_cgroup_prepare(void);
/* Ends the threads waiting in cgroups and removes their cgroups (at exit,
 * by itself: the threads serve every run of a monitor process). */
void iv_cgroup_fini(void);
/* Removes cg once its processes have ended; cg becomes "". */
void iv_cgroup_remove(char *cg);

/* ---- files a cell is given at its start (cell/files.c) ---- */

/* Opens path inside the directory root (an fd, or AT_FDCWD for the
 * current directory) as a cell's root: never out of it, never through
 * /proc's magic links or across a mount point, no link as the last
 * component; flags gain O_NOFOLLOW and O_CLOEXEC.  An fd, or -1 (errno). */
int iv_open_inside(int root, const char *path, int flags);
/* "a regular file", "a FIFO", ...: what kind of file mode m says. */
const char *iv_file_kind(mode_t m);
/* Whether a cell with uid and gid whose root is disk could open path
 * there: a regular file to read, or (dir) a directory to enter.  Checked
 * in a short-lived child that takes those ids; nothing is opened but as
 * O_PATH (no FIFO waited on, no device opened).  0, or -1 with why. */
int iv_check_inside(const char *disk, const char *path, int dir, uid_t uid, gid_t gid,
		    struct iv_err *err);
/* A fresh read-only description of the monitor's stdin (so that a cell
 * cannot write to a terminal through it, nor change its flags for the
 * monitor): an fd, or -1 (errno). */
int iv_open_monitor_stdin(void);

/* ---- system calls run inside a stopped cell (cell/inject.c) ---- */

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

/* Copies to or from a cell's memory at an address the monitor chose
 * (honouring the cell's page protections); 0 or -EFAULT. */
int iv_peek(pid_t pid, uint64_t addr, void *buf, size_t len);
int iv_poke(pid_t pid, uint64_t addr, const void *buf, size_t len);

/* ---- a cell's memory, captured (cell/memimg.c): images and forks by mapping ---- */

/* One mapping of a cell, as /proc shows it. */
struct iv_mem_map {
	uint64_t start, end;
	uint32_t prot; /* PROT_READ, PROT_WRITE, PROT_EXEC bits */
	uint32_t kind; /* IV_MEM_* */
};
#define IV_MEM_SHARED 1	 /* shared (a cap file, or memory forks may not have) */
#define IV_MEM_HEAP   2	 /* the brk heap */
#define IV_MEM_STACK  4	 /* [stack]: the stub's start-up stack, or a program's main one */
#define IV_MEM_STUB   8	 /* the stub's image (IV_STUB_BASE up to the brk start) */
#define IV_MEM_CLEAN  16 /* no anonymous page: its pages are its file's, or zero */
#define IV_MEM_GUARD  32 /* added: the reservation above the brk heap */

/* What iv_mem_maps reads besides the cVM's own mappings, which are every
 * mapping but the kernel's ([vdso], [vvar], [vsyscall], [uprobes]). */
#define IV_MEMF_STUB	 1 /* the stub's image */
#define IV_MEMF_STACK	 2 /* [stack] */
#define IV_MEMF_GUARD	 4 /* add an inaccessible reservation above the brk heap */
#define IV_MEMF_ANON	 8 /* mark mappings without anonymous pages IV_MEM_CLEAN (smaps) */
#define IV_MEM_BRK_GUARD (1ULL << 20)
#define IV_MEM_CHUNK	 (1UL << 20) /* the buffer iv_mem_scan reads through */

/* Where the kernel started pid's brk heap; 0 or -1. */
int iv_mem_start_brk(pid_t pid, uint64_t *out);
/* pid's mappings in address order (*out malloc'd), as flags ask. */
int iv_mem_maps(pid_t pid, unsigned flags, struct iv_mem_map **out, size_t *n, struct iv_err *err);
/* Called for each run of pages that are not all zero, in address order. */
typedef int (*iv_mem_run_fn)(void *ctx, uint64_t addr, const void *data, size_t len,
			     struct iv_err *err);
/* Reads [start, end) of pid through buf (IV_MEM_CHUNK bytes) and calls fn
 * for its runs of pages that are not all zero (a run never spans chunks). */
int iv_mem_scan(pid_t pid, uint64_t start, uint64_t end, uint8_t *buf, iv_mem_run_fn fn, void *ctx,
		struct iv_err *err);

/* ---- whether a program can start in its root (loader/program.c) ---- */

struct iv_program {
	int dynamic;	  /* has PT_INTERP */
	int pie;	  /* ET_DYN */
	int script;	  /* starts with #! (then interp is the script's interpreter) */
	char interp[256]; /* PT_INTERP (or #! interpreter), as written */
	uint64_t lo, hi;  /* page-aligned span of its PT_LOAD segments (before any bias) */
};
/* Checks that the program at path can be started inside root (an O_PATH
 * directory fd; path is then resolved inside it, as the kernel would with
 * that root) or, when path_fd >= 0, the already-opened runtime file path_fd
 * (a host file named by `name` in messages) whose interpreter and libraries
 * are still looked up inside root (root may be -1: no disk, then a dynamic
 * program is an error "needs a disk holding its interpreter").
 * One line in err on failure, naming the file and what is wrong.  For a
 * script, dynamic, pie, lo and hi describe its (ELF) interpreter. */
int iv_program_check(int root, const char *path, int path_fd, const char *name,
		     struct iv_program *out, struct iv_err *err);

#endif
