/*
 * TFORK: templates and copy-on-write forks of running cVMs.
 *
 * A template runs until host_save(), one raw hostcall.  The server leaves
 * that call pending and the main thread freezes the template: it stops
 * every thread with ptrace and captures what libc relies on (registers,
 * FPU/vector state, signal mask, thread ids, clear-child-tid address,
 * robust-futex list, alternate signal stack, rseq area) and takes a
 * reference to every file the template has open, then lets the saver back
 * into host_save, where it waits as a zygote.
 * * A fork is made by the monitor alone (inject.c runs the system calls in
 * the stopped template): clone() with new user, pid and uts namespaces (a
 * program's: ipc too).  By default (forks by mapping) the template's
 * memory was first made an in-memory image that the template maps in
 * place of its own, so that the kernel copies no page table of it and the
 * fork faults its pages in from the image; with fork_mode: clone the
 * kernel copies the template's page tables copy-on-write.  The fork is
 * pid 1 of a pid namespace of its own,
 * where it sees no sibling, and counts its processes in a user namespace
 * of its own.  In the fork the monitor recreates the other threads with
 * clone3's set_tid at their template ids, gives each back its state, drops
 * every capability the new user namespace gave, installs the fork's own
 * console and fresh file descriptions (reopened as the template's uid * could), and lets it go: the saver's host_save call restarts and returns
 * 0 there.  A reused fork (reuse: N) is given its template's state back in
 * place after each run but its last (see "reused forks" below).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capfile/capfile.h"
#include "tfork.h"

#define XSTATE_MAX	       (64 * 1024)
#define GET_TID_ADDR	       40	  /* PR_GET_TID_ADDRESS */
#define SS_AUTODISARM_	       (1U << 31) /* SS_AUTODISARM */
#define FORK_NPROC	       64
#define RSEQ_UNREG	       1
#define ERESTART_RESTARTBLOCK_ 516 /* the kernel's, not in the uapi headers */
#define CAP_V3		       0x20080522
#define PTRACE_RSEQ	       0x420f /* PTRACE_GET_RSEQ_CONFIGURATION */
#define THREAD_FLAGS                                                                               \
	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |        \
	 CLONE_CHILD_CLEARTID)
/* Run by the monitor alone, in a reused fork it resets (reset_files). */
#define HC_FORK_FILES 119
#define FF_FILES      1 /* its arg: the template's files again */
#define FF_IMAGE      2 /* ... the image, at the lowest free number */
#define FORK_FLAGS    (CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWUTS | SIGCHLD)

struct rseq_conf {
	uint64_t ptr;
	uint32_t size, sig, flags, pad;
};

/* The kernel's struct sigaction for rt_sigaction. */
struct k_sigaction {
	uint64_t handler, flags, restorer, mask;
};

/* The kernel's stack_t. */
struct k_stack {
	uint64_t sp;
	int32_t flags, pad;
	uint64_t size;
};

/*
 * A page the monitor maps in a template when it freezes it and keeps there,
 * so that every fork has it too until its set-up ends: the arguments of the
 * system calls the monitor runs in them.  The template never runs again
 * after the freeze, so nothing of the cVM's can change it.
 */
struct scratch {
	char hostname[72];
	struct k_sigaction sigchld, ign; /* the template's SIGCHLD action; SIG_IGN */
	struct clone_args clone;
	int32_t set_tid, pad;
	struct k_stack ss;
	uint32_t cap_hdr[2], cap_data[6]; /* capset: version 3, every set empty */
	struct rlimit nproc;
	uint64_t ctid;
	char mnt[128]; /* a program fork's mounts: see private_mounts */
	char cwd[256]; /* a reused fork's reset: its template's working directory */
};
#define AT(base, field) ((long)(base) + (long)offsetof(struct scratch, field))

/* TFORK: where a template is in its life. */
enum tpl_state {
	TPL_NONE,	/* not a template, or not saved yet */
	TPL_FREEZE_REQ, /* host_save arrived: the main thread is to freeze it */
	TPL_FROZEN,	/* threads captured; the saver is to come back */
	TPL_READY,	/* a zygote: its saver waits in host_save (save_id pending) */
	TPL_FORKING,	/* the main thread is making a fork of it */
	TPL_FAILED,	/* it could not be frozen: it is being killed */
};

/* What a template's fd numbers that are not files become in its forks. */
enum fd_role { FDR_NULL = 1, FDR_CONSOLE = 2, FDR_ERRCONS = 3 };
struct fd_special {
	int fd, role;
};

struct reset_state;

/* A part of a template's memory as its forks map it: [start, end) from
 * its image at off, or anonymous (off NO_FILE). */
#define NO_FILE (~0ULL)
struct img_seg {
	uint64_t start, end, off;
	uint32_t prot;
};

/* A cVM as a template (state, under cvm->lock, and what it was frozen in),
 * and as a fork. */
struct tpl {
	enum tpl_state tstate;
	pid_t save_tid;	  /* the thread in host_save */
	uint64_t save_id; /* its pending notification */
	struct iv_thread_state *threads;
	int nthreads, saver, main; /* captured threads; which saved; which is the leader */
	struct iv_saved_fd *fds;   /* files, reopened in every fork */
	int nfds;
	struct fd_special *special; /* console pipes and /dev/null, fresh in every fork */
	int nspecial;
	struct k_sigaction sigchld; /* its SIGCHLD action (it ignores SIGCHLD while a zygote) */
	uint64_t scratch;	    /* the monitor's page in the frozen template */
	int nforks;
	/* How its forks are made (IV_FORK_MAP, IV_FORK_CLONE), and for
	 * IV_FORK_MAP its in-memory image: a sealed memfd holding its mappings
	 * one after another, page for page (zero pages are holes), and the
	 * segments (data from the memfd, long zero runs anonymous) the template
	 * maps MAP_PRIVATE in place of its own memory once it is ready
	 * (remapped). */
	int mode;
	int memfd, has_memfd;
	struct img_seg *segs;
	size_t nsegs;
	uint64_t img_size, img_data; /* bytes it holds in all; bytes of data */
	int remapped;
	int memfd_ro; /* a read-only description of the image, for resets (has_memfd) */

	/* A template with reused forks: what a reset gives back besides what a
	 * fork gets (captured at freeze; its mappings once it maps its image). */
	struct reset_state *rs;

	/* A fork reused for several runs (reuse: N) */
	int run;	     /* its run going on (0: the first) */
	int reset_req;	     /* its run has ended (its exit is held): to be reset */
	long run_code;	     /* how that run ended: its exit status */
	uint64_t run_t0;     /* when that run began */
	int out[2], has_out; /* the write ends of its console pipes, given again each run */
	int reset_fds[1];    /* in the fork during a reset: the image */
	pid_t *tids;	     /* its threads (by template thread), to tell a run's own apart */
};

static struct tpl *of(struct iv_cvm *cvm)
{
	return iv_state(cvm, &iv_feature_tfork);
}

/* How forks are made unless the template says (IV_FORK_MODE in the
 * environment, else by mapping: README "Forks"). */
static int default_mode = IV_FORK_MAP;

static int mode_of(const struct iv_cvm *t)
{
	if (t->cfg->fork_mode)
		return t->cfg->fork_mode;
	/* a reused fork is reset to the image: its template's are by mapping */
	return t->cfg->notify_exit ? IV_FORK_MAP : default_mode;
}

#define MAX_FREEZE_HOOKS 4
static int (*freeze_hooks[MAX_FREEZE_HOOKS])(struct iv_cvm *t, struct iv_err *err);
static int nfreeze_hooks;

void iv_tfork_on_freeze(int (*fn)(struct iv_cvm *t, struct iv_err *err))
{
	if (nfreeze_hooks < MAX_FREEZE_HOOKS)
		freeze_hooks[nfreeze_hooks++] = fn;
}

#define MAX_FORK_HOOKS 4
static int (*fork_hooks[MAX_FORK_HOOKS])(struct iv_cvm *t, struct iv_cvm *f, struct iv_err *err);
static int nfork_hooks;

void iv_tfork_on_fork(int (*fn)(struct iv_cvm *t, struct iv_cvm *f, struct iv_err *err))
{
	if (nfork_hooks < MAX_FORK_HOOKS)
		fork_hooks[nfork_hooks++] = fn;
}

void iv_tfork_frozen(struct iv_cvm *t, struct iv_frozen *out)
{
	struct tpl *tp = of(t);
	*out = (struct iv_frozen){tp->threads, tp->nthreads, tp->saver, tp->fds, tp->nfds};
}

int iv_tfork_image(struct iv_cvm *t, uint64_t *size, uint64_t *resident)
{
	struct tpl *tp = of(t);
	struct stat st;
	if (!__atomic_load_n(&tp->remapped, __ATOMIC_ACQUIRE) || fstat(tp->memfd, &st))
		return 0;
	*size = tp->img_size;
	*resident = (uint64_t)st.st_blocks * 512;
	return 1;
}

static struct iv_cvm *template_of(struct iv_cvm *fork)
{
	return &fork->run->cvms[fork->cfg->tmpl];
}

/* ---- hostcalls (served by the template's server thread) ---- */

static long hc_save(struct iv_call *c)
{
	struct iv_cvm *t = c->cvm;
	if (!t->cfg->template_ || !t->cfg->fork)
		return 0; /* a plain cVM, a fork, or fork: 0: no checkpoint */
	if (c->child) {
		iv_log("cVM '%s': host_save from a child process refused: a template is its "
		       "first process",
		       t->cfg->name);
		return -EPERM;
	}
	long r = IV_HC_DEFER;
	pthread_mutex_lock(&t->lock);
	if (of(t)->tstate == TPL_NONE) {
		iv_mark(t, IV_T_SAVE);
		of(t)->save_tid = c->tid;
		of(t)->save_id = c->id;
		of(t)->tstate = TPL_FREEZE_REQ;
	} else if (c->tid != of(t)->save_tid) {
		r = -EBUSY; /* one saving thread per template */
	} else if (of(t)->tstate == TPL_FROZEN || of(t)->tstate == TPL_FORKING) {
		/* the saver, back after the monitor stopped it to freeze or fork */
		of(t)->save_id = c->id;
		of(t)->tstate = TPL_READY;
		__atomic_store_n(&t->parked, 1, __ATOMIC_RELEASE); /* a zygote: not waited for */
	} else {
		r = -EBUSY;
	}
	pthread_mutex_unlock(&t->lock);
	if (r == IV_HC_DEFER)
		iv_run_wake(t->run);
	return r;
}

/* ---- the main thread's side: freezing a template ---- */

/* Stops tid (seizing it first unless it is the traced leader); 0 or -errno.
 * Bounded: a thread that does not stop (a zombie, say) is an error. */
static int stop_thread(pid_t tid, int seize)
{
	if (seize && ptrace(PTRACE_SEIZE, tid, 0, PTRACE_O_EXITKILL))
		return -errno;
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0))
		return -errno;
	for (int tries = 0; tries < 64; tries++) {
		int st, rc = iv_wait_stop(tid, &st);
		if (rc)
			return rc;
		if ((st >> 16) == PTRACE_EVENT_STOP)
			return 0;
		/* a signal on its way: let it be delivered, the interrupt stays */
		ptrace(PTRACE_CONT, tid, 0, WSTOPSIG(st));
	}
	return -EAGAIN;
}

/* The last field of a /proc/PID/status line (NSpid: the id in its own
 * namespace), or 0. */
static long status_field(pid_t pid, const char *key)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "re");
	long v = 0;
	size_t klen = strlen(key);
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen))
			continue;
		char *last = strrchr(line, '\t');
		v = last ? strtol(last + 1, NULL, 10) : 0;
		break;
	}
	if (f)
		fclose(f);
	return v;
}

/* Registers, FPU state, mask, ids, robust list and rseq: what the monitor
 * reads without running anything in the thread. */
static int capture_thread(struct iv_thread_state *st)
{
	if (ptrace(PTRACE_GETREGS, st->tid, 0, &st->regs))
		return -1;
	st->xstate = malloc(XSTATE_MAX);
	struct iovec iov = {st->xstate, XSTATE_MAX};
	if (!st->xstate || ptrace(PTRACE_GETREGSET, st->tid, NT_X86_XSTATE, &iov)) {
		/* no XSAVE: the legacy FXSAVE image */
		iov.iov_len = 512;
		if (!st->xstate || ptrace(PTRACE_GETFPREGS, st->tid, 0, st->xstate))
			return -1;
	}
	st->xsize = iov.iov_len;
	if (ptrace(PTRACE_GETSIGMASK, st->tid, sizeof(st->sigmask), &st->sigmask))
		st->sigmask = 0;
	st->ns_tid = (pid_t)status_field(st->tid, "NSpid:");
	size_t len = 0;
	if (syscall(SYS_get_robust_list, st->tid, &st->robust, &len) == 0)
		st->robust_len = len;
	struct rseq_conf rc = {0};
	if (ptrace(PTRACE_RSEQ, st->tid, sizeof(rc), &rc) == sizeof(rc) && rc.ptr) {
		st->rseq = rc.ptr;
		st->rseq_len = rc.size;
		st->rseq_sig = rc.sig;
	}
	return st->ns_tid > 0 ? 0 : -1;
}

static int capture_reset(struct iv_cvm *t, pid_t saver, long at);
static int capture_reset_maps(struct iv_cvm *t);
static void free_reset(struct reset_state *rs);

/* What only the thread itself can tell (clear-child-tid address, signal
 * stack), asked in each stopped thread; then the template ignores SIGCHLD
 * so that the kernel reaps its forks, its own action kept for them.  The
 * scratch page stays, filled with what every fork's set-up needs. */
static int capture_by_injection(struct iv_cvm *t)
{
	pid_t saver = of(t)->threads[of(t)->saver].tid;
	long at = iv_inject_call(saver, t->cell.gadget, SYS_mmap, 0, sizeof(struct scratch),
				 PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if (at < 0)
		return (int)at;
	of(t)->scratch = (uint64_t)at;
	int rc = 0;
	for (int i = 0; rc == 0 && i < of(t)->nthreads; i++) {
		struct iv_thread_state *st = &of(t)->threads[i];
		struct k_stack ss;
		long r1 = iv_inject_call(st->tid, t->cell.gadget, SYS_prctl, GET_TID_ADDR,
					 AT(at, ctid), 0, 0, 0);
		long r2 = iv_inject_call(st->tid, t->cell.gadget, SYS_sigaltstack, 0, AT(at, ss), 0,
					 0, 0);
		if (r1 || r2 || iv_peek(saver, AT(at, ctid), &st->ctid, 8) ||
		    iv_peek(saver, AT(at, ss), &ss, sizeof(ss)))
			rc = r1 ? (int)r1 : r2 ? (int)r2 : -EFAULT;
		st->ss_sp = ss.sp, st->ss_size = ss.size, st->ss_flags = ss.flags;
	}
	/* a template with reused forks: what their resets need (in the
	 * scratch page before it is filled) */
	if (rc == 0 && t->cfg->notify_exit && of(t)->mode == IV_FORK_MAP)
		rc = capture_reset(t, saver, at);
	struct scratch sc = {.ign = {(uint64_t)SIG_IGN, 0, 0, 0},
			     .cap_hdr = {CAP_V3, 0},
			     .nproc = {FORK_NPROC, FORK_NPROC}};
	if (rc == 0)
		rc = iv_poke(saver, (uint64_t)at, &sc, sizeof(sc));
	if (rc == 0)
		rc = (int)iv_inject_call(saver, t->cell.gadget, SYS_rt_sigaction, SIGCHLD,
					 AT(at, ign), AT(at, sigchld), 8, 0);
	if (rc == 0)
		rc = iv_peek(saver, AT(at, sigchld), &of(t)->sigchld, sizeof(of(t)->sigchld));
	return rc;
}

static int same_file(int a, int b)
{
	struct stat sa, sb;
	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* Takes a reference to every descriptor the template has open.  Regular
 * files and directories are reopened in each fork at their offset; the
 * console and /dev/null are made fresh for each fork; any other kind
 * (pipes, sockets, event or timer fds) cannot be carried over: the save
 * fails with the reason. */
static int capture_fds(struct iv_cvm *t, char *why, size_t whylen)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", t->cell.pid);
	DIR *d = opendir(path);
	if (!d) {
		snprintf(why, whylen, "cannot list its files: %s", strerror(errno));
		return -1;
	}
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC), rc = 0;
	for (struct dirent *e; rc == 0 && (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name);
		int held = (int)syscall(SYS_pidfd_getfd, t->cell.pidfd, fd, 0);
		struct stat st;
		if (held < 0 || fstat(held, &st)) {
			snprintf(why, whylen, "cannot take its descriptor %d: %s", fd,
				 strerror(errno));
			rc = -1;
			break;
		}
		int role = 0;
		if (S_ISFIFO(st.st_mode) && t->cell.console >= 0 &&
		    same_file(held, t->cell.console))
			role = FDR_CONSOLE;
		else if (S_ISFIFO(st.st_mode) && t->cell.errcons >= 0 &&
			 same_file(held, t->cell.errcons))
			role = FDR_ERRCONS;
		else if (S_ISCHR(st.st_mode) && null >= 0 && same_file(held, null))
			role = FDR_NULL;
		if (role) {
			struct fd_special *ns = realloc(
				of(t)->special, (size_t)(of(t)->nspecial + 1) * sizeof(*ns));
			if (ns) {
				of(t)->special = ns;
				of(t)->special[of(t)->nspecial++] = (struct fd_special){fd, role};
			}
			close(held);
			continue;
		}
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
			snprintf(why, whylen,
				 "descriptor %d is %s, which forks cannot get a copy of", fd,
				 iv_file_kind(st.st_mode));
			close(held);
			rc = -1;
			break;
		}
		struct iv_saved_fd *nf =
			realloc(of(t)->fds, (size_t)(of(t)->nfds + 1) * sizeof(*nf));
		if (!nf) {
			close(held);
			snprintf(why, whylen, "out of memory");
			rc = -1;
			break;
		}
		of(t)->fds = nf;
		int flags = fcntl(held, F_GETFL);
		off_t pos = lseek(held, 0, SEEK_CUR);
		of(t)->fds[of(t)->nfds++] =
			(struct iv_saved_fd){fd, flags, pos < 0 ? 0 : pos, held};
	}
	closedir(d);
	if (null >= 0)
		close(null);
	return rc;
}

/* Memory shared with anyone but through a granted cap file would be shared
 * by every fork: such a template is refused. */
static int check_shared_maps(struct iv_cvm *t, char *why, size_t whylen)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/maps", t->cell.pid);
	FILE *f = fopen(path, "re");
	int rc = f ? 0 : -1;
	while (f && rc == 0 && fgets(line, sizeof(line), f)) {
		unsigned long long start, end;
		char perms[8];
		if (sscanf(line, "%llx-%llx %7s", &start, &end, perms) != 3 || perms[3] != 's')
			continue;
		if (!iv_cap_granted_at(t, start)) {
			snprintf(why, whylen,
				 "it has shared memory at 0x%llx that is not a cap file: forks "
				 "would share it",
				 start);
			rc = -1;
		}
	}
	if (f)
		fclose(f);
	return rc;
}

/* The template fails with msg and is killed; it is not frozen again. */
static void template_failed(struct iv_cvm *t, const char *msg)
{
	pthread_mutex_lock(&t->lock);
	of(t)->tstate = TPL_FAILED;
	pthread_mutex_unlock(&t->lock);
	snprintf(t->fail, sizeof(t->fail), "%s", msg);
	iv_cvm_kill(t);
}

static void freeze_failed(struct iv_cvm *t, const char *what, const char *why)
{
	char msg[sizeof(t->fail)];
	snprintf(msg, sizeof(msg), "cannot freeze template '%s': %.300s%.100s", t->cfg->name, what,
		 why);
	template_failed(t, msg);
}

/* Freezes a template that called host_save: every thread stopped and
 * captured; then the saver goes back to host_save to wait for forks. */
/* How many child processes tid has (a thread's own, from /proc). */
static int children_of(pid_t pid, pid_t tid)
{
	char path[96], buf[64];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC), n = 0;
	ssize_t r;
	while (fd >= 0 && (r = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < r; i++)
			n += buf[i] == ' ';
	if (fd >= 0)
		close(fd);
	return n;
}

/* A program's syscall instruction: the one its saver is stopped after
 * (the kernel's own report of where it entered), checked. */
static int find_gadget(struct iv_cvm *t)
{
	struct iv_thread_state *st = &of(t)->threads[of(t)->saver];
	uint8_t insn[2];
	uint64_t at = st->regs.rip - 2;
	if (iv_peek(st->tid, at, insn, 2) || insn[0] != 0x0f || insn[1] != 0x05)
		return -1;
	t->cell.gadget = at;
	return 0;
}

/* ---- forks by mapping: the template's memory as an in-memory image ---- */

/* Which mappings the image holds: every private one with anonymous pages
 * and readable (the cVM's memory, the stub's data and bss, a library's
 * written data).  Left as they are, and so shared with the forks as a
 * clone() shares them: shared ones (cap files), those without anonymous
 * pages (their file's pages, or zero: clone() copies no page table of
 * them), [stack] (a mapping that grows down; small) and unreadable ones. */
static int imaged(const struct iv_mem_map *m)
{
	return !(m->kind & (IV_MEM_SHARED | IV_MEM_CLEAN | IV_MEM_STACK)) && (m->prot & PROT_READ);
}

/*
 * Zero pages are holes in the image, but a hole is given a page (of
 * zeros, in the image) the first time a fork touches it: so a run of zero
 * pages of at least ZERO_RUN is mapped anonymous instead, and shorter
 * ones between pages of data stay holes (fewer mappings).
 */
#define ZERO_RUN (64UL << 10)

/* How the image is built: where the mapping being read goes in the memfd,
 * and its runs of data so far. */
struct img_writer {
	int fd;
	uint64_t base, start; /* the mapping's offset in the memfd, its address */
	uint64_t data;	      /* bytes written */
	struct img_seg *segs; /* the segments made so far */
	size_t nsegs, cap;
	uint64_t run_lo, run_hi; /* the pending data segment: [run_lo, run_hi) */
	uint64_t cursor;	 /* where the segments made so far end */
	uint32_t prot;
};

static int add_seg(struct img_writer *w, uint64_t start, uint64_t end, int file)
{
	if (start >= end)
		return 0;
	if (w->nsegs == w->cap) {
		size_t c = w->cap ? w->cap * 2 : 32;
		struct img_seg *n = realloc(w->segs, c * sizeof(*n));
		if (!n)
			return -1;
		w->segs = n;
		w->cap = c;
	}
	w->segs[w->nsegs++] = (struct img_seg){
		start, end, file ? w->base + (start - w->start) : NO_FILE, w->prot};
	return 0;
}

/* Ends the pending data segment at end (a zero run of ZERO_RUN or more, or
 * the mapping's end, follows it), with the zero run before it anonymous. */
static int flush_run(struct img_writer *w)
{
	if (w->run_hi == 0)
		return 0;
	uint64_t lo = w->run_lo - w->cursor < ZERO_RUN ? w->cursor : w->run_lo;
	if (add_seg(w, w->cursor, lo, 0) || add_seg(w, lo, w->run_hi, 1))
		return -1;
	w->cursor = w->run_hi;
	w->run_hi = 0;
	return 0;
}

static int put_run(void *ctx, uint64_t addr, const void *data, size_t len, struct iv_err *err)
{
	struct img_writer *w = ctx;
	const uint8_t *p = data;
	for (size_t done = 0; done < len;) {
		ssize_t n = pwrite(w->fd, p + done, len - done,
				   (off_t)(w->base + (addr - w->start) + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return iv_fail(err, "cannot write the image: %s",
				       n < 0 ? strerror(errno) : "short write");
		done += (size_t)n;
	}
	w->data += len;
	/* a short zero run joins the data around it */
	if (w->run_hi && addr - w->run_hi < ZERO_RUN) {
		w->run_hi = addr + len;
		return 0;
	}
	if (flush_run(w))
		return iv_fail(err, "out of memory");
	w->run_lo = addr;
	w->run_hi = addr + len;
	return 0;
}

/* The segments of mapping m: its data from the memfd, long zero runs
 * anonymous; a mapping that is all zero is one anonymous segment. */
static int image_mapping(struct iv_cvm *t, const struct iv_mem_map *m, uint8_t *buf,
			 struct img_writer *w, struct iv_err *err)
{
	w->start = m->start;
	w->prot = m->prot;
	w->run_hi = 0;
	w->cursor = m->start;
	if (iv_mem_scan(t->cell.pid, m->start, m->end, buf, put_run, w, err))
		return -1;
	/* a short zero tail joins the last data segment */
	if (w->run_hi && m->end - w->run_hi < ZERO_RUN)
		w->run_hi = m->end;
	if (flush_run(w) || add_seg(w, w->cursor, m->end, 0))
		return iv_fail(err, "out of memory");
	w->base += m->end - m->start;
	return 0;
}

/* The frozen template's memory into a sealed memfd, mapping after mapping,
 * and the segments its forks map: the image.  Made once, while every
 * thread is stopped. */
static int capture_image(struct iv_cvm *t, struct iv_err *err)
{
	struct tpl *tp = of(t);
	struct iv_mem_map *m = NULL;
	size_t n = 0;
	if (iv_mem_maps(t->cell.pid, IV_MEMF_STUB | IV_MEMF_STACK | IV_MEMF_ANON, &m, &n, err))
		return -1;
	uint64_t size = 0;
	for (size_t i = 0; i < n; i++)
		if (imaged(&m[i]))
			size += m[i].end - m[i].start;
	uint8_t *buf = malloc(IV_MEM_CHUNK);
	char name[96];
	snprintf(name, sizeof(name), "iv-image:%s", t->cfg->name);
	tp->memfd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	tp->has_memfd = tp->memfd >= 0;
	tp->memfd_ro = -1;
	int rc = -1;
	if (!buf)
		iv_fail(err, "out of memory");
	else if (tp->memfd < 0 || ftruncate(tp->memfd, (off_t)size))
		iv_fail(err, "cannot make a memfd of %llu MiB: %s",
			(unsigned long long)(size >> 20), strerror(errno));
	else
		rc = 0;
	struct img_writer w = {.fd = tp->memfd};
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (imaged(&m[i]))
			rc = image_mapping(t, &m[i], buf, &w, err);
	/* nothing can change it now, nor map it shared and writable */
	if (rc == 0 &&
	    fcntl(tp->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL))
		rc = iv_fail(err, "cannot seal the image: %s", strerror(errno));
	free(buf);
	free(m);
	tp->segs = w.segs;
	tp->nsegs = w.nsegs;
	tp->img_size = size;
	tp->img_data = w.data;
	return rc;
}

static void drop_image(struct tpl *tp)
{
	if (tp->has_memfd) {
		close(tp->memfd);
		if (tp->memfd_ro >= 0)
			close(tp->memfd_ro);
	}
	tp->has_memfd = 0;
	free(tp->segs);
	tp->segs = NULL;
	tp->nsegs = 0;
}

/*
 * The ready template's memory becomes its image: each imaged mapping is
 * replaced, in place and with its protection, by a MAP_PRIVATE mapping of
 * the memfd (a read-only description of it, given through the pending
 * host_save and closed after).  Its contents are the same; what changes is
 * that no page of it is anonymous any more, so that clone() copies no page
 * table of it: a fork costs what the template's mappings cost, not what
 * its memory does, and faults in the pages it touches from the image.
 */
static int remap(struct iv_cvm *t, struct iv_err *err)
{
	struct tpl *tp = of(t);
	pid_t saver = tp->save_tid;
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", tp->memfd);
	int ro = open(path, O_RDONLY | O_CLOEXEC);
	struct seccomp_notif_addfd a = {.id = tp->save_id, .srcfd = (uint32_t)ro};
	int at = ro < 0 ? -1 : ioctl(t->cell.listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a);
	int e = errno;
	if (ro >= 0)
		close(ro);
	if (at < 0)
		return iv_fail(err, "cannot give it its image: %s", strerror(e));
	int rc = stop_thread(saver, 0);
	for (size_t i = 0; rc == 0 && i < tp->nsegs; i++) {
		const struct img_seg *m = &tp->segs[i];
		int file = m->off != NO_FILE;
		long args[6] = {
			(long)m->start, (long)(m->end - m->start),
			(long)m->prot,	MAP_PRIVATE | MAP_FIXED | (file ? 0 : MAP_ANONYMOUS),
			file ? at : -1, file ? (long)m->off : 0};
		long ret = -1;
		rc = iv_inject(saver, t->cell.gadget, SYS_mmap, args, &ret, NULL);
		if (rc == 0 && ret != (long)m->start)
			rc = ret < 0 ? (int)ret : -EFAULT;
	}
	long closed = iv_inject_call(saver, t->cell.gadget, SYS_close, at, 0, 0, 0, 0);
	if (rc == 0 && closed)
		rc = closed < 0 ? (int)closed : -EBADF;
	/* its host_save call was interrupted by the stop: it makes it again */
	ptrace(PTRACE_CONT, saver, 0, 0);
	if (rc)
		return iv_fail(err, "cannot map its image: %s", strerror(-rc));
	__atomic_store_n(&tp->remapped, 1, __ATOMIC_RELEASE);
	return 0;
}

/* A ready template whose forks map its image and that still maps its own
 * memory is remapped (the main thread, before its first fork). */
static void remap_if_ready(struct iv_cvm *t)
{
	pthread_mutex_lock(&t->lock);
	int go = of(t)->tstate == TPL_READY && of(t)->mode == IV_FORK_MAP && !of(t)->remapped &&
		 !t->released;
	if (go)
		of(t)->tstate = TPL_FORKING; /* the saver comes back to host_save after */
	pthread_mutex_unlock(&t->lock);
	if (!go)
		return;
	struct iv_err err;
	if (remap(t, &err)) {
		char msg[sizeof(t->fail)];
		snprintf(msg, sizeof(msg), "template '%s': %.400s", t->cfg->name, err.msg);
		return template_failed(t, msg);
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", of(t)->memfd);
	of(t)->memfd_ro = open(path, O_RDONLY | O_CLOEXEC);
	if (of(t)->rs && (of(t)->memfd_ro < 0 || capture_reset_maps(t)))
		iv_log("template '%s': its forks cannot be reset: its mappings are unknown",
		       t->cfg->name);
	iv_mark(t, IV_T_SAVED); /* its image made too */
	iv_vlog("template '%s' maps its image: %zu segment(s), %llu KiB of pages in %llu KiB",
		t->cfg->name, of(t)->nsegs, (unsigned long long)(of(t)->img_data >> 10),
		(unsigned long long)(of(t)->img_size >> 10));
}

/* Whether the config has forks of t (not restores of its image). */
static int has_forks(struct iv_cvm *t)
{
	for (size_t i = 0; i < t->run->ncvms; i++) {
		const struct iv_cvm_cfg *c = t->run->cvms[i].cfg;
		if (c->resume && !c->snapshot_path && c->tmpl == t->id)
			return 1;
	}
	return 0;
}

static void freeze(struct iv_cvm *t)
{
	char path[64], why[256] = "";
	/* A leader that has exited (a zombie whose threads live on) can never be
	 * stopped: refuse it instead of waiting for it. */
	snprintf(path, sizeof(path), "/proc/%d/stat", t->cell.pid);
	FILE *sf = fopen(path, "re");
	char state = 0;
	if (!sf || fscanf(sf, "%*d (%*[^)]) %c", &state) != 1)
		state = 'Z';
	if (sf)
		fclose(sf);
	if (state == 'Z' || state == 'X')
		return freeze_failed(t, "its main thread has exited", "");
	snprintf(path, sizeof(path), "/proc/%d/task", t->cell.pid);
	DIR *d = opendir(path);
	struct dirent *e;
	int ok = d != NULL, err = 0;
	of(t)->main = -1;
	while (ok && (e = readdir(d))) {
		pid_t tid = atoi(e->d_name);
		if (tid <= 0)
			continue;
		struct iv_thread_state *nt =
			realloc(of(t)->threads, (size_t)(of(t)->nthreads + 1) * sizeof(*nt));
		if (!nt) {
			ok = 0;
			break;
		}
		of(t)->threads = nt;
		struct iv_thread_state *st = &of(t)->threads[of(t)->nthreads];
		memset(st, 0, sizeof(*st));
		st->tid = tid;
		if ((err = stop_thread(tid, tid != t->cell.pid)) || capture_thread(st)) {
			free(st->xstate);
			ok = 0;
			break;
		}
		if (tid == of(t)->save_tid)
			of(t)->saver = of(t)->nthreads;
		if (tid == t->cell.pid)
			of(t)->main = of(t)->nthreads;
		of(t)->nthreads++;
	}
	if (d)
		closedir(d);
	if (!ok || of(t)->nthreads == 0 || of(t)->main < 0)
		return freeze_failed(t, "cannot stop its threads: ",
				     strerror(err     ? -err
					      : errno ? errno
						      : ESRCH));
	/* A template is one process: its forks are clones of it alone. */
	int kids = 0;
	for (int i = 0; i < of(t)->nthreads; i++)
		kids += children_of(t->cell.pid, of(t)->threads[i].tid);
	if (kids) {
		snprintf(why, sizeof(why),
			 "it has %d child process%s: a template must be one process", kids,
			 kids > 1 ? "es" : "");
		return freeze_failed(t, why, "");
	}
	if (t->cfg->program && find_gadget(t))
		return freeze_failed(t, "its saving thread is not in a system call", "");
	if (capture_fds(t, why, sizeof(why)) || check_shared_maps(t, why, sizeof(why)))
		return freeze_failed(t, why, "");
	struct iv_err ierr;
	for (int i = 0; i < nfreeze_hooks; i++)
		if (freeze_hooks[i](t, &ierr))
			return template_failed(t, ierr.msg);
	/* (before the scratch page, which is not the cVM's; a template saved
	 * for its image alone needs none) */
	of(t)->mode = has_forks(t) ? mode_of(t) : IV_FORK_CLONE;
	if (of(t)->mode == IV_FORK_MAP && capture_image(t, &ierr)) {
		iv_log("template '%s': its forks are clones: no image of its memory: %s",
		       t->cfg->name, ierr.msg);
		drop_image(of(t));
		of(t)->mode = IV_FORK_CLONE;
	}
	/* (after the freeze hooks, which may write its image: the scratch page
	 * is not the cVM's) */
	if ((err = capture_by_injection(t)))
		return freeze_failed(t, "cannot read its threads' state: ", strerror(-err));
	iv_mark(t, IV_T_SAVED);
	pthread_mutex_lock(&t->lock);
	of(t)->tstate = TPL_FROZEN;
	pthread_mutex_unlock(&t->lock);
	iv_vlog("template '%s' frozen at host_save: %d thread(s), %d open file(s); forks by %s",
		t->cfg->name, of(t)->nthreads, of(t)->nfds,
		of(t)->mode == IV_FORK_MAP ? "mapping its image" : "clone()");
	/* its host_save call was interrupted by the stop: it makes it again */
	ptrace(PTRACE_CONT, of(t)->save_tid, 0, 0);
}

/* ---- making a fork ---- */

static int devnull_fd(void)
{
	static int fd = -1;
	if (fd < 0)
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	return fd;
}

/* A fresh description of a template's file, at its offset, opened with the
 * template's own credentials: the monitor gives a fork no access the
 * template could not have had by itself (an O_PATH descriptor does not
 * become readable). */
static int reopen_as(const struct iv_cvm *t, const struct iv_saved_fd *s)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", s->held);
	int keep = O_ACCMODE | O_APPEND | O_NONBLOCK | O_DSYNC | O_SYNC | O_DIRECTORY;
	/* fsuid and fsgid are per thread: only this open runs as the cell */
	setfsgid(t->cell.gid);
	setfsuid(t->cell.uid);
	int fd = open(path, (s->flags & keep) | O_CLOEXEC);
	int e = errno;
	setfsuid(0);
	setfsgid(0);
	if (fd >= 0 && lseek(fd, s->pos, SEEK_SET) != s->pos) {
		close(fd);
		fd = -1;
		e = ESPIPE;
	}
	errno = e;
	return fd;
}

/* A pending call through which descriptors are given to its caller: the
 * template's host_save, or a reused fork's HC_FORK_FILES. */
struct giver {
	int listener;
	uint64_t id;
};

/* Installs fd in the caller of g as number at (at < 0: the lowest free);
 * the number, or -errno. */
static int give(const struct giver *g, int fd, int at)
{
	struct seccomp_notif_addfd a = {.id = g->id,
					.flags = at < 0 ? 0 : SECCOMP_ADDFD_FLAG_SETFD,
					.srcfd = (uint32_t)fd,
					.newfd = at < 0 ? 0 : (uint32_t)at,
					.newfd_flags = at < 0 ? O_CLOEXEC : 0};
	int r = ioctl(g->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a);
	return r < 0 ? -errno : r;
}

/* The fork's descriptor table, laid out through g (in the template just
 * before the clone copies it, or in a reused fork between runs): its own
 * stdout and stderr pipes (write ends out[]) where the template had its
 * own, /dev/null, fresh file descriptions. */
static int stage_fds(struct iv_cvm *t, struct iv_cvm *f, const int out[2], const struct giver *g)
{
	int rc = 0;
	for (int i = 0; rc == 0 && i < of(t)->nspecial; i++) {
		int role = of(t)->special[i].role;
		int src = role == FDR_CONSOLE	? out[IV_OUT]
			  : role == FDR_ERRCONS ? out[IV_ERR]
						: devnull_fd();
		rc = give(g, src, of(t)->special[i].fd);
		rc = rc < 0 ? rc : 0;
	}
	for (int i = 0; rc == 0 && i < of(t)->nfds; i++) {
		/* (an O_PATH description cannot be handed over by the kernel) */
		int fd = of(t)->fds[i].flags & O_PATH ? -1 : reopen_as(t, &of(t)->fds[i]);
		int e = fd < 0 ? (of(t)->fds[i].flags & O_PATH ? EBADF : errno) : 0;
		if (fd >= 0) {
			int r = give(g, fd, of(t)->fds[i].fd);
			e = r < 0 ? -r : 0;
			close(fd);
		}
		if (e)
			iv_log("fork '%s': file %d of template '%s' is not carried over: %s",
			       f->cfg->name, of(t)->fds[i].fd, t->cfg->name, strerror(e));
	}
	return rc;
}

static int write_proc(pid_t pid, const char *file, const char *text)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? write(fd, text, strlen(text)) : -1;
	int e = errno;
	if (fd >= 0)
		close(fd);
	errno = e;
	return n == (ssize_t)strlen(text) ? 0 : -errno;
}

/* Clones the stopped template saver into a new process in namespaces of its
 * own; the child, traced from birth, is stopped.  The template gives up
 * every descriptor it held for the child, and goes back to host_save. */
static pid_t clone_template(struct iv_cvm *t, int *err)
{
	pid_t saver = of(t)->save_tid, child = 0;
	long ret = -1;
	int rc = stop_thread(saver, 0);
	if (rc == 0)
		rc = ptrace(PTRACE_SETOPTIONS, saver, 0,
			    PTRACE_O_EXITKILL | PTRACE_O_TRACEFORK | PTRACE_O_TRACECLONE)
			     ? -errno
			     : 0;
	if (rc == 0) {
		/* A program's fork gets an IPC namespace of its own: its filter
		 * allows System V and POSIX IPC.  Others' refuses every IPC call,
		 * so that one would be of no use, and costs a mount (mqueue).  A
		 * networked template's forks get a network namespace each. */
		long flags = FORK_FLAGS | (t->cfg->program ? CLONE_NEWIPC : 0) |
			     (t->cfg->net.on ? CLONE_NEWNET : 0);
		long a[6] = {flags, 0, 0, 0, 0, 0};
		rc = iv_inject(saver, t->cell.gadget, SYS_clone, a, &ret, &child);
	}
	ptrace(PTRACE_SETOPTIONS, saver, 0, PTRACE_O_EXITKILL);
	long closed = iv_inject_call(saver, t->cell.gadget, SYS_close_range, 0, ~0U, 0, 0, 0);
	if (rc == 0 && ret < 0)
		rc = (int)ret;
	if (rc == 0 && child <= 0)
		rc = -ECHILD;
	if (closed < 0 && child > 0) {
		/* the template would keep the fork's console open */
		kill(child, SIGKILL);
		rc = (int)closed;
	}
	/* its host_save call was interrupted by the stop: it makes it again */
	ptrace(PTRACE_CONT, saver, 0, 0);
	*err = rc;
	return rc ? -1 : child;
}

/* A thread's registers, FPU state and signal mask as captured.  A call the
 * template was in restarts as the kernel restarts it, but one it would
 * resume through restart_syscall (a timed sleep or wait) starts again
 * whole: that state stayed with the template's thread. */
static int set_thread_regs(pid_t tid, const struct iv_thread_state *st)
{
	struct user_regs_struct regs = st->regs;
	if ((long)regs.rax == -ERESTART_RESTARTBLOCK_ && (long)regs.orig_rax >= 0) {
		regs.rax = regs.orig_rax;
		regs.orig_rax = (uint64_t)-1;
		regs.rip -= 2;
	}
	struct iovec xs = {st->xstate, st->xsize};
	uint64_t mask = st->sigmask;
	if (ptrace(PTRACE_SETREGS, tid, 0, &regs) ||
	    ptrace(PTRACE_SETREGSET, tid, NT_X86_XSTATE, &xs) ||
	    ptrace(PTRACE_SETSIGMASK, tid, sizeof(mask), &mask))
		return -errno;
	return 0;
}

/* Gives a stopped thread of the fork its template state, as the kernel and
 * libc left them; the registers come last, as injection uses them. */
static int restore_thread(pid_t tid, uint64_t gadget, uint64_t scratch,
			  const struct iv_thread_state *st)
{
	int rc = 0;
	if (st->robust)
		rc = (int)iv_inject_call(tid, gadget, SYS_set_robust_list, (long)st->robust,
					 (long)st->robust_len, 0, 0, 0);
	if (rc == 0 && !(st->ss_flags & SS_DISABLE)) {
		struct k_stack ss = {st->ss_sp, (int32_t)(st->ss_flags & SS_AUTODISARM_), 0,
				     st->ss_size};
		rc = iv_poke(tid, AT(scratch, ss), &ss, sizeof(ss));
		if (rc == 0)
			rc = (int)iv_inject_call(tid, gadget, SYS_sigaltstack, AT(scratch, ss), 0,
						 0, 0, 0);
	}
	if (rc == 0 && st->rseq_len)
		rc = (int)iv_inject_call(tid, gadget, SYS_rseq, (long)st->rseq, st->rseq_len, 0,
					 st->rseq_sig, 0);
	/* no capability of the fork's user namespace survives into the cVM */
	if (rc == 0)
		rc = (int)iv_inject_call(tid, gadget, SYS_capset, AT(scratch, cap_hdr),
					 AT(scratch, cap_data), 0, 0, 0);
	return rc ? rc : set_thread_regs(tid, st);
}

/* Builds the fork in its stopped first task: identity, threads at their
 * template ids, each thread's state, no capabilities. */
/*
 * A program's fork gets what its template's cell got of its own: a mount
 * namespace (a copy of the template's), its own /proc (of its own pid
 * namespace: through the template's, which holds every fork's, a fork
 * would see its siblings and their children) and a fresh /tmp and
 * /dev/shm (the template's would be a channel between its forks).  Run in
 * the fork while it still has its capabilities in its user namespace; a
 * directory the root lacks is skipped.
 */
static int private_mounts(struct iv_cvm *t, pid_t p, uint64_t at)
{
	char m[sizeof(((struct scratch *)0)->mnt)] = {0}, *w = m;
	const char *want[] = {"proc", "/proc", "subset=pid", "tmpfs", "/tmp", "/dev/shm", NULL};
	long off[7];
	for (int i = 0; want[i]; i++) {
		off[i] = AT(at, mnt) + (w - m);
		w = stpcpy(w, want[i]) + 1;
	}
	off[6] = AT(at, mnt) + (w - m);
	snprintf(w, sizeof(m) - (size_t)(w - m), "size=%llu,mode=1777",
		 (unsigned long long)t->cfg->memory);
	int rc = iv_poke(p, (uint64_t)AT(at, mnt), m, sizeof(m));
	if (rc == 0)
		rc = (int)iv_inject_call(p, t->cell.gadget, SYS_unshare, CLONE_NEWNS, 0, 0, 0, 0);
	struct {
		int type, dir, opts;
		unsigned long flags;
	} mounts[] = {{0, 1, 2, MS_NOSUID | MS_NODEV | MS_NOEXEC},
		      {3, 4, 6, MS_NOSUID | MS_NODEV},
		      {3, 5, 6, MS_NOSUID | MS_NODEV}};
	for (int i = 0; rc == 0 && i < 3; i++) {
		long r = iv_inject_call(p, t->cell.gadget, SYS_mount, off[mounts[i].type],
					off[mounts[i].dir], off[mounts[i].type],
					(long)mounts[i].flags, off[mounts[i].opts]);
		if (r < 0 && r != -ENOENT && r != -ENOTDIR)
			rc = (int)r;
	}
	return rc;
}

static int build_fork(struct iv_cvm *t, struct iv_cvm *f, pid_t **tids_out)
{
	pid_t p = f->cell.pid;
	char map[64];
	snprintf(map, sizeof(map), "%u %u 1\n", t->cell.uid, t->cell.uid);
	int rc = write_proc(p, "uid_map", map);
	snprintf(map, sizeof(map), "%u %u 1\n", t->cell.gid, t->cell.gid);
	if (rc == 0)
		rc = write_proc(p, "setgroups", "deny");
	if (rc == 0)
		rc = write_proc(p, "gid_map", map);
	uint64_t at = of(t)->scratch;
	const char *name = f->cfg->name;
	char host[sizeof(((struct scratch *)0)->hostname)] = "";
	snprintf(host, sizeof(host), "%s", name);
	if (rc == 0)
		rc = iv_poke(p, (uint64_t)AT(at, hostname), host, sizeof(host));
	if (rc == 0)
		rc = (int)iv_inject_call(p, t->cell.gadget, SYS_sethostname, AT(at, hostname),
					 (long)strlen(host), 0, 0, 0);
	if (rc == 0 && memcmp(&of(t)->sigchld, &(struct k_sigaction){(uint64_t)SIG_IGN, 0, 0, 0},
			      sizeof(of(t)->sigchld)))
		rc = (int)iv_inject_call(p, t->cell.gadget, SYS_rt_sigaction, SIGCHLD,
					 AT(at, sigchld), 0, 8, 0);
	/* its own process budget (counted in its own user namespace) */
	if (rc == 0)
		rc = (int)iv_inject_call(p, t->cell.gadget, SYS_prlimit64, 0, RLIMIT_NPROC,
					 AT(at, nproc), 0, 0);
	if (rc == 0 && t->cfg->program)
		rc = private_mounts(t, p, at);

	/* The other threads, at their template ids; they start stopped. */
	pid_t *tids = calloc((size_t)of(t)->nthreads, sizeof(*tids));
	if (!tids)
		rc = -ENOMEM;
	for (int i = 0; rc == 0 && i < of(t)->nthreads; i++) {
		const struct iv_thread_state *st = &of(t)->threads[i];
		if (i == of(t)->main)
			continue;
		struct clone_args ca = {.flags = THREAD_FLAGS,
					.child_tid = st->ctid,
					.set_tid = (uint64_t)AT(at, set_tid),
					.set_tid_size = 1};
		int32_t want = st->ns_tid;
		if (iv_poke(p, (uint64_t)AT(at, clone), &ca, sizeof(ca)) ||
		    iv_poke(p, (uint64_t)AT(at, set_tid), &want, sizeof(want))) {
			rc = -EFAULT;
			break;
		}
		long a[6] = {AT(at, clone), sizeof(ca), 0, 0, 0, 0}, ret = -1;
		rc = iv_inject(p, t->cell.gadget, SYS_clone3, a, &ret, &tids[i]);
		if (rc == 0 && ret != want)
			rc = ret < 0 ? (int)ret : -EEXIST;
		int st_;
		if (rc == 0 && (tids[i] <= 0 || iv_wait_stop(tids[i], &st_)))
			rc = -ECHILD;
		if (rc == 0)
			rc = restore_thread(tids[i], t->cell.gadget, at, st);
	}

	/* The first task becomes the template's main thread. */
	const struct iv_thread_state *m = &of(t)->threads[of(t)->main],
				     *s = &of(t)->threads[of(t)->saver];
	struct iv_thread_state mm = *m;
	if (rc == 0 && m->ctid &&
	    iv_inject_call(p, t->cell.gadget, SYS_set_tid_address, (long)m->ctid, 0, 0, 0, 0) < 0)
		rc = -EINVAL;
	if (of(t)->main == of(t)->saver)
		mm.rseq_len = 0; /* the clone kept the saver's */
	else if (rc == 0 && s->rseq_len)
		rc = (int)iv_inject_call(p, t->cell.gadget, SYS_rseq, (long)s->rseq, s->rseq_len,
					 RSEQ_UNREG, s->rseq_sig, 0);
	if (rc == 0)
		rc = restore_thread(p, t->cell.gadget, at, &mm);
	/* (a reused fork keeps it: its resets use it; they rewrite it whole) */
	if (rc == 0 && f->cfg->reuse <= 1)
		rc = (int)iv_inject_call(p, t->cell.gadget, SYS_munmap, (long)at,
					 sizeof(struct scratch), 0, 0, 0);
	*tids_out = tids;
	return rc;
}

static void fork_failed(struct iv_cvm *t, struct iv_cvm *f, const char *what, int e)
{
	snprintf(f->fail, sizeof(f->fail), "fork '%s' of template '%s': %s: %s", f->cfg->name,
		 t->cfg->name, what, strerror(e));
}

/* Makes fork f of the ready template t, start to finish, on the main thread
 * (the tracer).  0 when it runs, -1 when it failed (f->fail says why). */
static int make_fork(struct iv_cvm *t, struct iv_cvm *f)
{
	int p[2], e[2], rc;
	if (pipe2(p, O_CLOEXEC)) {
		fork_failed(t, f, "cannot make its console", errno);
		return -1;
	}
	if (pipe2(e, O_CLOEXEC)) {
		fork_failed(t, f, "cannot make its console", errno);
		close(p[0]);
		close(p[1]);
		return -1;
	}
	pthread_mutex_lock(&t->lock);
	of(t)->tstate = TPL_FORKING;
	pthread_mutex_unlock(&t->lock);
	struct giver g = {t->cell.listener, of(t)->save_id};
	rc = stage_fds(t, f, (int[2]){p[1], e[1]}, &g);
	if (f->cfg->reuse > 1 && rc == 0) {
		/* given again at each reset: the monitor keeps them */
		of(f)->out[IV_OUT] = p[1], of(f)->out[IV_ERR] = e[1];
		of(f)->has_out = 1;
	} else {
		close(p[1]);
		close(e[1]);
	}
	pid_t child = rc ? -1 : clone_template(t, &rc);
	if (child < 0) {
		close(p[0]);
		close(e[0]);
		fork_failed(t, f, "cannot clone the template", -rc);
		return -1;
	}
	int st;
	/* Same layout, same grants (the cap files themselves are shared). */
	iv_cap_inherit(f, t);
	f->image_lo = t->image_lo, f->image_hi = t->image_hi;
	f->stack_lo = t->stack_lo, f->stack_hi = t->stack_hi;
	f->cell.gadget = t->cell.gadget;
	f->cell.uid = t->cell.uid; /* a fork runs as its template */
	f->cell.gid = t->cell.gid;
	f->leader = t;
	f->cell.pid = child;
	f->cell.pidfd = (int)syscall(SYS_pidfd_open, child, 0);
	pid_t *tids = NULL;
	rc = f->cell.pidfd < 0 ? -errno : iv_wait_stop(child, &st);
	if (rc == 0)
		iv_cvm_note_pidns(f, child); /* (its child processes' calls are known by it) */
	if (rc == 0)
		rc = build_fork(t, f, &tids);
	if (rc == 0 && ptrace(PTRACE_SETOPTIONS, child, 0, PTRACE_O_EXITKILL))
		rc = -errno;
	struct iv_err herr;
	int hooked = 0;
	for (int i = 0; rc == 0 && i < nfork_hooks; i++)
		if (fork_hooks[i](t, f, &herr)) {
			snprintf(f->fail, sizeof(f->fail), "fork '%s' of template '%s': %.300s",
				 f->cfg->name, t->cfg->name, herr.msg);
			rc = -1;
			hooked = 1;
		}
	/* Threads go first, untraced like any cVM thread; the saver's host_save
	 * restarts in the first task and returns 0. */
	for (int i = 0; rc == 0 && i < of(t)->nthreads; i++)
		if (i != of(t)->main && tids[i] > 0)
			ptrace(PTRACE_DETACH, tids[i], 0, 0);
	if (rc == 0 && tids && f->cfg->reuse > 1) {
		tids[of(t)->main] = child; /* its resets find its threads by these */
		of(f)->tids = tids;
	} else {
		free(tids);
	}
	f->cell.console = p[0];
	f->cell.errcons = e[0];
	f->state = IV_CVM_RUNNING; /* reaped and reported like any other from here */
	if (rc) {
		if (!hooked)
			fork_failed(t, f, "cannot set it up", -rc);
		kill(child, SIGKILL);
		return -1;
	}
	iv_mark(f, IV_T_CELL);
	iv_mark(f, IV_T_RUNNING);
	of(f)->run_t0 = f->t[IV_T_RUNNING];
	if (f->cfg->run_args)
		f->args = f->cfg->run_args[0];
	of(t)->nforks++;
	iv_vlog("fork '%s' of template '%s': cell %d, %d thread(s) recreated", f->cfg->name,
		t->cfg->name, f->cell.pid, of(t)->nthreads - 1);
	ptrace(PTRACE_CONT, child, 0, 0);
	return 0;
}

/* ---- reused forks: reset in place between runs ---- */

/*
 * A fork with reuse: N serves N runs.  A run ends when the fork calls
 * host_exit or exit_group (its template's filter notifies exit_group):
 * the call is held, and the main thread returns the fork to its
 * template's state in place, then lets the saver's host_save return 0
 * again, with the next run's args.  Everything a run may have changed is
 * given back or removed: memory (its private pages dropped: the image's
 * pages come back, zero pages stay zero; mappings it made, unmapped ones
 * it unmapped or changed, mapped again), the brk, every thread (those it
 * made end; the template's get their registers, FPU state, mask, robust
 * list, signal stack, rseq area and clear-child-tid address back), signal
 * actions and pending signals, files (all closed; the template's given
 * again as to a fork), the working directory, umask, rlimits, threads'
 * names, cap file grants and handles; for a program its child processes
 * (killed), timers, and its /tmp and /dev/shm (emptied).  What cannot be
 * given back ends the fork instead: a template thread that has ended, a
 * seccomp filter it added, a mapping of the template's that is neither
 * image nor anonymous which it unmapped or changed.
 */

/* A mapping as /proc/PID/maps shows it. */
struct vma {
	uint64_t start, end, off, ino;
	uint32_t prot;
	int shared, special, stack;
};

/* What a template with reused forks is reset to besides a fork's state. */
struct reset_state {
	struct k_sigaction acts[65]; /* its actions of caught signals */
	uint64_t sigcgt, sigign;     /* signals it catches, ignores (bit sig - 1) */
	uint64_t brk;
	unsigned umask;
	struct rlimit rlim[RLIM_NLIMITS];
	char cwd[256]; /* its working directory, as it sees it ("": unknown) */
	int nfilters;
	uint64_t image_ino; /* the inode of its image */
	struct vma *vmas;   /* its mappings once it maps its image */
	size_t nvmas;
	struct scratch sc;  /* its scratch page's contents */
	char (*comm)[32];   /* its threads' names */
	uint64_t *stack_at; /* its [stack]'s pages that are not all zero */
	uint8_t *stack_pages;
	size_t nstack;
	int ok; /* captured: its forks can be reset */
};

static int is_special_name(const char *name)
{
	static const char *const names[] = {"[vdso]", "[vvar]", "[vvar_vclock]", "[vsyscall]",
					    "[uprobes]"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(name, names[i]))
			return 1;
	return 0;
}

static int read_vmas(pid_t pid, struct vma **out, size_t *nout)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	struct vma *v = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, b, off, ino;
		char perms[8], name[256] = "";
		if (sscanf(line, "%llx-%llx %7s %llx %*s %llu %255s", &a, &b, perms, &off, &ino,
			   name) < 5)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			struct vma *nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				rc = -1;
				break;
			}
			v = nv;
		}
		v[n++] = (struct vma){a,
				      b,
				      off,
				      ino,
				      (perms[0] == 'r' ? 1U : 0) | (perms[1] == 'w' ? 2U : 0) |
					      (perms[2] == 'x' ? 4U : 0),
				      perms[3] == 's',
				      is_special_name(name),
				      !strcmp(name, "[stack]")};
	}
	fclose(f);
	if (rc) {
		free(v);
		return -1;
	}
	*out = v;
	*nout = n;
	return 0;
}

/* What a reset reads of a /proc status file, in one pass. */
struct pstat {
	uint64_t sigcgt, sigign, shdpnd, sigpnd;
	unsigned umask;
	int filters;
};

static int read_pstat(const char *path, struct pstat *ps)
{
	char line[256];
	FILE *f = fopen(path, "re");
	memset(ps, 0, sizeof(*ps));
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *v = strchr(line, ':');
		if (!v)
			continue;
		*v++ = 0;
		if (!strcmp(line, "SigCgt"))
			ps->sigcgt = strtoull(v, NULL, 16);
		else if (!strcmp(line, "SigIgn"))
			ps->sigign = strtoull(v, NULL, 16);
		else if (!strcmp(line, "ShdPnd"))
			ps->shdpnd = strtoull(v, NULL, 16);
		else if (!strcmp(line, "SigPnd"))
			ps->sigpnd = strtoull(v, NULL, 16);
		else if (!strcmp(line, "Umask"))
			ps->umask = (unsigned)strtoul(v, NULL, 8);
		else if (!strcmp(line, "Seccomp_filters"))
			ps->filters = (int)strtol(v, NULL, 10);
	}
	fclose(f);
	return 0;
}

/* A thread's name (comm), without its newline, in name[32]. */
static int read_comm(pid_t pid, pid_t tid, char name[32])
{
	char path[96];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t k = fd >= 0 ? read(fd, name, 31) : -1;
	if (fd >= 0)
		close(fd);
	if (k <= 0)
		return -1;
	name[k] = 0;
	name[strcspn(name, "\n")] = 0;
	return 0;
}

/* pid's rlimits, from /proc/PID/limits (one line per limit, in order). */
static int read_limits(pid_t pid, struct rlimit out[RLIM_NLIMITS])
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/limits", pid);
	FILE *f = fopen(path, "re");
	int r = -1;
	while (f && fgets(line, sizeof(line), f)) {
		char soft[32], hard[32];
		if (r < 0 || strlen(line) < 26 || sscanf(line + 26, "%31s %31s", soft, hard) != 2) {
			r++; /* the header */
			continue;
		}
		if (r >= RLIM_NLIMITS)
			break;
		out[r].rlim_cur =
			strcmp(soft, "unlimited") ? strtoull(soft, NULL, 10) : RLIM_INFINITY;
		out[r].rlim_max =
			strcmp(hard, "unlimited") ? strtoull(hard, NULL, 10) : RLIM_INFINITY;
		r++;
	}
	if (f)
		fclose(f);
	return r == RLIM_NLIMITS ? 0 : -1;
}

/* What a reset needs of the frozen template t that a fork inherits (its
 * signal actions, brk, umask, rlimits, working directory): in t's stopped
 * saver, its scratch page at `at` mapped; before t ignores SIGCHLD. */
static int capture_reset(struct iv_cvm *t, pid_t saver, long at)
{
	struct reset_state *rs = calloc(1, sizeof(*rs));
	if (!rs)
		return -ENOMEM;
	of(t)->rs = rs;
	char path[64];
	struct pstat ps;
	snprintf(path, sizeof(path), "/proc/%d/status", t->cell.pid);
	int rc = read_pstat(path, &ps) ? -EIO : 0;
	rs->sigcgt = ps.sigcgt, rs->sigign = ps.sigign;
	rs->umask = ps.umask, rs->nfilters = ps.filters;
	rs->comm = calloc((size_t)of(t)->nthreads, sizeof(*rs->comm));
	for (int i = 0; rc == 0 && i < of(t)->nthreads; i++)
		if (!rs->comm || read_comm(t->cell.pid, of(t)->threads[i].tid, rs->comm[i]))
			rc = -EIO;
	for (int sig = 1; rc == 0 && sig <= 64; sig++)
		if (rs->sigcgt >> (sig - 1) & 1) {
			rc = (int)iv_inject_call(saver, t->cell.gadget, SYS_rt_sigaction, sig, 0,
						 AT(at, sigchld), 8, 0);
			if (rc == 0)
				rc = iv_peek(saver, AT(at, sigchld), &rs->acts[sig],
					     sizeof(rs->acts[sig]));
		}
	long brk = rc ? -1 : iv_inject_call(saver, t->cell.gadget, SYS_brk, 0, 0, 0, 0, 0);
	if (rc == 0 && brk < 0)
		rc = (int)brk;
	rs->brk = (uint64_t)brk;
	if (rc == 0 && read_limits(t->cell.pid, rs->rlim))
		rc = -EIO;
	snprintf(path, sizeof(path), "/proc/%d/cwd", t->cell.pid);
	ssize_t k = readlink(path, rs->cwd, sizeof(rs->cwd) - 1);
	rs->cwd[k > 0 && rs->cwd[0] == '/' ? k : 0] = 0;
	return rc;
}

/* The template's [stack] (a mapping that grows down, not in the image):
 * its pages that are not all zero, given back to a reset fork by copy. */
static int capture_stack(struct iv_cvm *t, const struct vma *m)
{
	struct reset_state *rs = of(t)->rs;
	uint8_t page[IV_PAGE];
	static const uint8_t zero[IV_PAGE];
	for (uint64_t a = m->start; a < m->end; a += IV_PAGE) {
		if (iv_peek(t->cell.pid, a, page, IV_PAGE))
			return -1;
		if (!memcmp(page, zero, IV_PAGE))
			continue;
		uint64_t *na = realloc(rs->stack_at, (rs->nstack + 1) * sizeof(*na));
		uint8_t *np = na ? realloc(rs->stack_pages, (rs->nstack + 1) * IV_PAGE) : NULL;
		if (na)
			rs->stack_at = na;
		if (!np)
			return -1;
		rs->stack_pages = np;
		rs->stack_at[rs->nstack] = a;
		memcpy(rs->stack_pages + rs->nstack++ * IV_PAGE, page, IV_PAGE);
	}
	return 0;
}

/* Once the template maps its image: its mappings, what a reset fork has. */
static int capture_reset_maps(struct iv_cvm *t)
{
	struct reset_state *rs = of(t)->rs;
	struct stat st;
	if (!rs || fstat(of(t)->memfd, &st) ||
	    iv_peek(t->cell.pid, of(t)->scratch, &rs->sc, sizeof(rs->sc)) ||
	    read_vmas(t->cell.pid, &rs->vmas, &rs->nvmas))
		return -1;
	rs->image_ino = st.st_ino;
	for (size_t k = 0; k < rs->nvmas; k++)
		if (rs->vmas[k].stack && capture_stack(t, &rs->vmas[k]))
			return -1;
	rs->ok = 1;
	return 0;
}

static void free_reset(struct reset_state *rs)
{
	if (!rs)
		return;
	free(rs->comm);
	free(rs->stack_at);
	free(rs->stack_pages);
	free(rs->vmas);
	free(rs);
}

/* A thread of the fork: its id here, which template thread it is. */
struct thr {
	pid_t tid, unused;
	int tpl; /* the template thread it is, or -1: a run's own */
	int seized;
};

/* The fork's threads now, each the template thread it was made as (its
 * tid then), or a run's own. */
static int list_threads(struct iv_cvm *t, struct iv_cvm *f, struct thr **out, int *nout)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", f->cell.pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	struct thr *v = NULL;
	int n = 0;
	for (struct dirent *e; (e = readdir(d));) {
		pid_t tid = atoi(e->d_name);
		if (tid <= 0)
			continue;
		struct thr *nv = realloc(v, (size_t)(n + 1) * sizeof(*v));
		if (!nv) {
			closedir(d);
			free(v);
			return -1;
		}
		v = nv;
		v[n] = (struct thr){tid, 0, -1, 0};
		for (int k = 0; k < of(t)->nthreads; k++)
			if (of(f)->tids[k] == tid)
				v[n].tpl = k;
		n++;
	}
	closedir(d);
	*out = v;
	*nout = n;
	return 0;
}

/* Every thread of the fork stopped; which template thread each is. */
static int stop_all(struct iv_cvm *t, struct iv_cvm *f, struct thr *th, int n, char *why, size_t wn)
{
	for (int i = 0; i < n; i++) {
		int main = th[i].tid == f->cell.pid;
		int rc = stop_thread(th[i].tid, !main);
		th[i].seized = !main && (rc == 0 || rc != -EPERM);
		if (rc) {
			snprintf(why, wn, "cannot stop its thread %d: %s", th[i].tid,
				 strerror(-rc));
			return -1;
		}
	}
	for (int k = 0; k < of(t)->nthreads; k++) {
		int found = 0;
		for (int i = 0; i < n; i++)
			found |= th[i].tpl == k;
		if (!found) {
			snprintf(why, wn, "thread %d of the template has ended",
				 of(t)->threads[k].ns_tid);
			return -1;
		}
	}
	return 0;
}

/* Ends the threads a run made: each runs exit(0). */
static void end_extra_threads(struct iv_cvm *t, struct thr *th, int n)
{
	for (int i = 0; i < n; i++) {
		if (th[i].tpl >= 0)
			continue;
		long a[6] = {0, 0, 0, 0, 0, 0}, ret;
		iv_inject(th[i].tid, t->cell.gadget, SYS_exit, a, &ret, NULL);
		waitpid(th[i].tid, NULL, __WALL | WNOHANG);
		th[i].seized = 0;
	}
}

/* A program's child processes, killed and reaped (by the fork, their
 * parent, in its stopped first task). */
static int end_children(struct iv_cvm *t, struct iv_cvm *f, struct thr *th, int n)
{
	for (int round = 0; round < 64; round++) {
		int kids = 0;
		for (int i = 0; i < n; i++) {
			char path[96], buf[512];
			snprintf(path, sizeof(path), "/proc/%d/task/%d/children", f->cell.pid,
				 th[i].tid);
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			ssize_t r = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
			if (fd >= 0)
				close(fd);
			buf[r > 0 ? r : 0] = 0;
			for (char *p = buf, *e; *p; p = e) {
				long pid = strtol(p, &e, 10);
				if (e == p)
					break;
				kill((pid_t)pid, SIGKILL);
				kids++;
			}
		}
		/* and its zombies: wait4(-1, NULL, __WALL) until none is left */
		long r = iv_inject_call(f->cell.pid, t->cell.gadget, SYS_wait4, -1, 0,
					kids ? __WALL : (__WALL | WNOHANG), 0, 0);
		if (!kids && r <= 0)
			return 0;
	}
	return -1;
}

/* The mapping t of the template, as it is in the fork (v): whether the
 * fork's mappings over t's range are t's, unchanged. */
static int intact(const struct vma *t, const struct vma *v, size_t n)
{
	uint64_t at = t->start;
	for (size_t i = 0; i < n && at < t->end; i++) {
		if (v[i].end <= at)
			continue;
		if (v[i].start > at || v[i].end > t->end || v[i].prot != t->prot ||
		    v[i].shared != t->shared || v[i].ino != t->ino || v[i].special != t->special ||
		    (t->ino && v[i].off != t->off + (at - t->start)))
			return 0;
		at = v[i].end;
	}
	return at >= t->end;
}

/* Unmaps what the fork has mapped where the template has nothing. */
static int unmap_extra(struct iv_cvm *t, pid_t p, const struct reset_state *rs, const struct vma *v,
		       size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t lo = v[i].start, hi = v[i].end;
		if (v[i].special)
			continue;
		for (size_t k = 0; k < rs->nvmas && lo < hi; k++) {
			const struct vma *m = &rs->vmas[k];
			if (m->end <= lo)
				continue;
			if (m->start >= hi)
				break;
			if (m->start > lo) {
				long r = iv_inject_call(p, t->cell.gadget, SYS_munmap, (long)lo,
							(long)(m->start - lo), 0, 0, 0);
				if (r)
					return (int)r;
			}
			lo = m->end;
		}
		if (lo < hi) {
			long r = iv_inject_call(p, t->cell.gadget, SYS_munmap, (long)lo,
						(long)(hi - lo), 0, 0, 0);
			if (r)
				return (int)r;
		}
	}
	return 0;
}

/* The fork's memory back to the template's: brk, mappings, pages. */
static int reset_memory(struct iv_cvm *t, struct iv_cvm *f, char *why, size_t wn)
{
	struct reset_state *rs = of(t)->rs;
	pid_t p = f->cell.pid;
	uint64_t g = t->cell.gadget;
	long r = iv_inject_call(p, g, SYS_brk, (long)rs->brk, 0, 0, 0, 0);
	struct vma *v = NULL;
	size_t n = 0;
	if (r != (long)rs->brk || read_vmas(p, &v, &n)) {
		snprintf(why, wn, "cannot give its brk back");
		free(v);
		return -1;
	}
	int rc = unmap_extra(t, p, rs, v, n);
	const struct vma *stack = NULL;
	for (size_t k = 0; rc == 0 && k < rs->nvmas; k++) {
		const struct vma *m = &rs->vmas[k];
		if (m->stack) {
			stack = m;
			continue;
		}
		if (intact(m, v, n))
			continue;
		/* the image's pages, or anonymous ones, mapped again */
		int image = m->ino == rs->image_ino, anon = m->ino == 0 && !m->special;
		if ((!image && !anon) || m->shared) {
			snprintf(why, wn, "its mapping at 0x%llx was changed",
				 (unsigned long long)m->start);
			free(v);
			return -1;
		}
		if (image && of(f)->reset_fds[0] < 0 &&
		    iv_inject_call(p, g, IV_HC_BASE + HC_FORK_FILES, FF_IMAGE, 0, 0, 0, 0)) {
			snprintf(why, wn, "cannot give it its image");
			free(v);
			return -1;
		}
		long a[6] = {(long)m->start,
			     (long)(m->end - m->start),
			     (long)m->prot,
			     MAP_PRIVATE | MAP_FIXED | (image ? 0 : MAP_ANONYMOUS),
			     image ? of(f)->reset_fds[0] : -1,
			     image ? (long)m->off : 0};
		long ret = -1;
		rc = iv_inject(p, g, SYS_mmap, a, &ret, NULL);
		if (rc == 0 && ret != (long)m->start)
			rc = ret < 0 ? (int)ret : -EFAULT;
	}
	if (of(f)->reset_fds[0] >= 0)
		iv_inject_call(p, g, SYS_close, of(f)->reset_fds[0], 0, 0, 0, 0);
	of(f)->reset_fds[0] = -1;
	/* every private page dropped: the image's come back, the rest zero
	 * ([stack]'s are given back below); one call per run of mappings
	 * without the kernel's own (which madvise refuses) */
	for (size_t k = 0; rc == 0 && k < rs->nvmas;) {
		if (rs->vmas[k].special) {
			k++;
			continue;
		}
		size_t e = k;
		while (e + 1 < rs->nvmas && !rs->vmas[e + 1].special)
			e++;
		r = iv_inject_call(p, g, SYS_madvise, (long)rs->vmas[k].start,
				   (long)(rs->vmas[e].end - rs->vmas[k].start), MADV_DONTNEED, 0,
				   0);
		if (r && r != -ENOMEM) /* (ENOMEM: a hole in the range) */
			rc = (int)r;
		k = e + 1;
	}
	/* [stack] grows down: given back by copy, what it grew unmapped */
	for (size_t i = 0; rc == 0 && stack && i < n; i++)
		if (v[i].stack && v[i].end == stack->end && v[i].start < stack->start)
			rc = (int)iv_inject_call(p, g, SYS_munmap, (long)v[i].start,
						 (long)(stack->start - v[i].start), 0, 0, 0);
	for (size_t i = 0; rc == 0 && i < rs->nstack; i++)
		rc = iv_poke(p, rs->stack_at[i], rs->stack_pages + i * IV_PAGE, IV_PAGE);
	free(v);
	if (rc)
		snprintf(why, wn, "cannot give its memory back: %s", strerror(-rc));
	return rc ? -1 : 0;
}

/* Whether the fork holds exactly what it was given, when that is only its
 * console pipes and /dev/null (a template's files have offsets a run
 * moves: they are always given again). */
static int files_as_given(struct iv_cvm *t, struct iv_cvm *f)
{
	if (of(t)->nfds)
		return 0;
	char path[64], link[64], want[64] = "";
	snprintf(path, sizeof(path), "/proc/%d/fd", f->cell.pid);
	DIR *d = opendir(path);
	int n = 0, same = d != NULL;
	for (struct dirent *e; same && (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name), k = 0;
		while (k < of(t)->nspecial && of(t)->special[k].fd != fd)
			k++;
		if (k == of(t)->nspecial) {
			same = 0;
			break;
		}
		int role = of(t)->special[k].role;
		struct stat st;
		if (role == FDR_NULL)
			snprintf(want, sizeof(want), "/dev/null");
		else if (fstat(of(f)->out[role == FDR_CONSOLE ? IV_OUT : IV_ERR], &st) == 0)
			snprintf(want, sizeof(want), "pipe:[%llu]", (unsigned long long)st.st_ino);
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", f->cell.pid, fd);
		ssize_t len = readlink(path, link, sizeof(link) - 1);
		link[len > 0 ? len : 0] = 0;
		same = !strcmp(link, want);
		n++;
	}
	if (d)
		closedir(d);
	return same && n == of(t)->nspecial;
}

/* Its files: all closed, then the template's given again as to a fork
 * (through HC_FORK_FILES, which the monitor runs in it), with the image
 * for the rest of the reset. */
static int reset_files(struct iv_cvm *t, struct iv_cvm *f, char *why, size_t wn)
{
	pid_t p = f->cell.pid;
	if (files_as_given(t, f))
		return 0;
	long r = iv_inject_call(p, t->cell.gadget, SYS_close_range, 0, ~0U, 0, 0, 0);
	if (r == 0)
		r = iv_inject_call(p, t->cell.gadget, IV_HC_BASE + HC_FORK_FILES, FF_FILES, 0, 0, 0,
				   0);
	if (r) {
		snprintf(why, wn, "cannot give its files back: %s", strerror((int)-r));
		return -1;
	}
	return 0;
}

/* Signal actions as the template's, pending signals dropped (SIG_IGN
 * drops them), through the scratch page. */
static int reset_signals(struct iv_cvm *t, struct iv_cvm *f, const struct thr *th, int n,
			 const struct pstat *ps)
{
	struct reset_state *rs = of(t)->rs;
	pid_t p = f->cell.pid;
	uint64_t at = of(t)->scratch;
	char path[96];
	uint64_t now = ps->sigcgt | ps->sigign, pend = ps->shdpnd;
	for (int i = 0; i < n; i++) {
		struct pstat ts;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", p, th[i].tid);
		if (th[i].tid == p)
			pend |= ps->sigpnd;
		else if (read_pstat(path, &ts) == 0)
			pend |= ts.sigpnd;
	}
	uint64_t todo = now | pend | rs->sigcgt | rs->sigign;
	int rc = 0;
	for (int sig = 1; rc == 0 && sig <= 64; sig++) {
		uint64_t bit = 1ULL << (sig - 1);
		if (!(todo & bit) || sig == SIGKILL || sig == SIGSTOP)
			continue;
		struct k_sigaction act = {(uint64_t)SIG_DFL, 0, 0, 0};
		if (rs->sigcgt & bit)
			act = rs->acts[sig];
		else if (rs->sigign & bit)
			act.handler = (uint64_t)SIG_IGN;
		if (sig == SIGCHLD)
			act = of(t)->sigchld;
		if ((pend & bit) && rc == 0)
			rc = (int)iv_inject_call(p, t->cell.gadget, SYS_rt_sigaction, sig,
						 AT(at, ign), 0, 8, 0);
		if (rc == 0 && (act.handler != (uint64_t)SIG_DFL || (now & bit) || (pend & bit))) {
			rc = iv_poke(p, (uint64_t)AT(at, sigchld), &act, sizeof(act));
			if (rc == 0)
				rc = (int)iv_inject_call(p, t->cell.gadget, SYS_rt_sigaction, sig,
							 AT(at, sigchld), 0, 8, 0);
		}
	}
	return rc;
}

/* rseq as the template thread had it: unregistered first if another. */
static int reset_rseq(pid_t tid, uint64_t gadget, const struct iv_thread_state *st)
{
	struct rseq_conf rc = {0};
	if (ptrace(PTRACE_RSEQ, tid, sizeof(rc), &rc) != sizeof(rc))
		rc.ptr = 0;
	if (rc.ptr == st->rseq &&
	    (!st->rseq_len || (rc.size == st->rseq_len && rc.sig == st->rseq_sig)))
		return 0;
	if (rc.ptr) {
		long r = iv_inject_call(tid, gadget, SYS_rseq, (long)rc.ptr, rc.size, RSEQ_UNREG,
					rc.sig, 0);
		if (r)
			return (int)r;
	}
	return st->rseq_len ? (int)iv_inject_call(tid, gadget, SYS_rseq, (long)st->rseq,
						  st->rseq_len, 0, st->rseq_sig, 0)
			    : 0;
}

/* A template thread of the fork back to its state at the save. */
static int reset_thread(struct iv_cvm *t, pid_t tid, const struct iv_thread_state *st)
{
	uint64_t g = t->cell.gadget, at = of(t)->scratch;
	uint64_t head = 0;
	size_t len = 0;
	long rc = 0;
	if (syscall(SYS_get_robust_list, tid, &head, &len) || head != st->robust ||
	    (st->robust && len != st->robust_len))
		rc = iv_inject_call(tid, g, SYS_set_robust_list, (long)st->robust,
				    st->robust ? (long)st->robust_len : 24, 0, 0, 0);
	struct k_stack ss = {st->ss_sp,
			     st->ss_flags & SS_DISABLE ? SS_DISABLE
						       : (int32_t)(st->ss_flags & SS_AUTODISARM_),
			     0, st->ss_size};
	if (rc == 0)
		rc = iv_poke(tid, AT(at, ss), &ss, sizeof(ss));
	if (rc == 0)
		rc = iv_inject_call(tid, g, SYS_sigaltstack, AT(at, ss), 0, 0, 0, 0);
	if (rc == 0)
		rc = reset_rseq(tid, g, st);
	if (rc == 0 && iv_inject_call(tid, g, SYS_set_tid_address, (long)st->ctid, 0, 0, 0, 0) < 0)
		rc = -EFAULT;
	if (rc == 0)
		rc = set_thread_regs(tid, st);
	return (int)rc;
}

/* A program's POSIX timers (/proc/PID/timers: "ID: n" each), deleted. */
static long delete_timers(struct iv_cvm *t, pid_t p)
{
	char path[64], line[128];
	snprintf(path, sizeof(path), "/proc/%d/timers", p);
	FILE *f = fopen(path, "re");
	long rc = 0, id;
	while (f && rc == 0 && fgets(line, sizeof(line), f))
		if (sscanf(line, "ID: %ld", &id) == 1)
			rc = iv_inject_call(p, t->cell.gadget, SYS_timer_delete, id, 0, 0, 0, 0);
	if (f)
		fclose(f);
	return rc;
}

/* Removes everything below the directory dir (an fd; taken), never
 * following a link nor leaving its file system: what a run left in a
 * program fork's /tmp or /dev/shm (its own tmpfs). */
static int empty_dir(int dir, int depth)
{
	DIR *d = fdopendir(dir);
	if (!d) {
		close(dir);
		return -1;
	}
	struct stat top;
	int rc = fstat(dir, &top) ? -1 : 0;
	for (struct dirent *e; rc == 0 && (e = readdir(d));) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dir, e->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		if (S_ISDIR(st.st_mode) && st.st_dev == top.st_dev && depth < 64) {
			int sub = openat(dir, e->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				rc = empty_dir(sub, depth + 1);
			if (rc == 0 && unlinkat(dir, e->d_name, AT_REMOVEDIR))
				rc = -1;
		} else if (unlinkat(dir, e->d_name, 0)) {
			rc = -1;
		}
	}
	closedir(d);
	return rc;
}

/* The System V IPC objects of a program fork's IPC namespace (its own,
 * empty when it was made), removed from inside it: the main thread joins
 * it (setns affects this thread alone) and comes back.  POSIX message
 * queues are not listed there: a run's are left (README "Reused forks"). */
static int empty_ipc(pid_t p)
{
	static int own = -1;
	static const char *const kinds[] = {"shm", "sem", "msg"};
	char path[64], line[512];
	if (own < 0)
		own = open("/proc/self/ns/ipc", O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/ns/ipc", p);
	int ns = open(path, O_RDONLY | O_CLOEXEC), rc = -1;
	if (own < 0 || ns < 0 || setns(ns, CLONE_NEWIPC)) {
		if (ns >= 0)
			close(ns);
		return -EIO;
	}
	close(ns);
	rc = 0;
	for (int k = 0; k < 3; k++) {
		snprintf(path, sizeof(path), "/proc/sysvipc/%s", kinds[k]);
		FILE *f = fopen(path, "re");
		for (int first = 1; f && fgets(line, sizeof(line), f); first = 0) {
			long key, id;
			if (first || sscanf(line, "%ld %ld", &key, &id) != 2)
				continue;
			int r = k == 0	 ? shmctl((int)id, IPC_RMID, NULL)
				: k == 1 ? semctl((int)id, 0, IPC_RMID)
					 : msgctl((int)id, IPC_RMID, NULL);
			if (r && errno != EINVAL && errno != EIDRM)
				rc = -EIO;
		}
		if (f)
			fclose(f);
	}
	if (setns(own, CLONE_NEWIPC))
		iv_log("cannot come back to the monitor's IPC namespace: %s", strerror(errno));
	return rc;
}

/* A program fork's /tmp and /dev/shm emptied, through its root as its
 * mount namespace has them (its own tmpfs on each). */
static int empty_tmp(pid_t p)
{
	static const char *const dirs[] = {"tmp", "dev/shm"};
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/root", p);
	int root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC), rc = 0;
	for (size_t i = 0; root >= 0 && rc == 0 && i < 2; i++) {
		struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
				       .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH};
		int fd = (int)syscall(SYS_openat2, root, dirs[i], &how, sizeof(how));
		if (fd >= 0)
			rc = empty_dir(fd, 0);
	}
	if (root >= 0)
		close(root);
	return root < 0 ? -1 : rc;
}

/* The rest of what a process has: its working directory, umask, rlimits,
 * threads' names; a program's timers, /tmp and /dev/shm. */
static int reset_process(struct iv_cvm *t, struct iv_cvm *f, const struct thr *th, int n,
			 const struct pstat *ps)
{
	struct reset_state *rs = of(t)->rs;
	pid_t p = f->cell.pid;
	uint64_t g = t->cell.gadget;
	long rc = 0; /* its working directory, by the template's path (a program's fork has
		      * a mount namespace of its own) */
	char cwd[sizeof(rs->cwd)], path[64];
	snprintf(path, sizeof(path), "/proc/%d/cwd", p);
	ssize_t k = readlink(path, cwd, sizeof(cwd) - 1);
	cwd[k > 0 ? k : 0] = 0;
	if (!rs->cwd[0])
		rc = -ENOENT;
	else if (strcmp(cwd, rs->cwd)) {
		rc = iv_poke(p, (uint64_t)AT(of(t)->scratch, cwd), rs->cwd, sizeof(rs->cwd));
		if (rc == 0)
			rc = iv_inject_call(p, g, SYS_chdir, AT(of(t)->scratch, cwd), 0, 0, 0, 0);
	}
	if (rc == 0 && ps->umask != rs->umask &&
	    iv_inject_call(p, g, SYS_umask, rs->umask, 0, 0, 0, 0) < 0)
		rc = -EFAULT;
	/* (in the fork: the monitor may lack CAP_SYS_RESOURCE; a hard limit
	 * the run lowered cannot be raised again, and the reset fails) */
	struct rlimit now[RLIM_NLIMITS];
	if (rc == 0 && read_limits(p, now))
		rc = -EIO;
	for (int r = 0; rc == 0 && r < RLIM_NLIMITS; r++) {
		struct rlimit want = rs->rlim[r];
		if (r == RLIMIT_NPROC)
			want = (struct rlimit){FORK_NPROC, FORK_NPROC};
		if (!memcmp(&want, &now[r], sizeof(want)))
			continue;
		rc = iv_poke(p, (uint64_t)AT(of(t)->scratch, nproc), &want, sizeof(want));
		if (rc == 0)
			rc = iv_inject_call(p, g, SYS_prlimit64, 0, r, AT(of(t)->scratch, nproc), 0,
					    0);
	}
	/* threads' names (prctl in each: only a thread's own may be written) */
	for (int i = 0; rc == 0 && i < n; i++) {
		char now[32] = "", *want = th[i].tpl >= 0 ? rs->comm[th[i].tpl] : NULL;
		if (!want || read_comm(p, th[i].tid, now) || !strcmp(want, now))
			continue;
		rc = iv_poke(th[i].tid, (uint64_t)AT(of(t)->scratch, hostname), want, 32);
		if (rc == 0)
			rc = iv_inject_call(th[i].tid, g, SYS_prctl, PR_SET_NAME,
					    AT(of(t)->scratch, hostname), 0, 0, 0);
	}
	if (rc == 0 && t->cfg->program) {
		struct itimerval zero = {{0, 0}, {0, 0}};
		for (int w = ITIMER_REAL; rc == 0 && w <= ITIMER_PROF; w++) {
			rc = iv_poke(p, (uint64_t)AT(of(t)->scratch, mnt), &zero, sizeof(zero));
			if (rc == 0)
				rc = iv_inject_call(p, g, SYS_setitimer, w, AT(of(t)->scratch, mnt),
						    0, 0, 0);
		}
		rc = rc ? rc : delete_timers(t, p);
		if (rc == 0)
			rc = empty_tmp(p);
		if (rc == 0)
			rc = empty_ipc(p);
	}
	return (int)rc;
}

/* What the fork's previous run wrote to its console, as its own lines. */
static void drain_console(struct iv_cvm *f)
{
	int fds[2] = {f->cell.console, f->cell.errcons};
	char buf[4096];
	for (int s = IV_OUT; s <= IV_ERR; s++) {
		ssize_t n;
		while (fds[s] >= 0 && (n = read(fds[s], buf, sizeof(buf))) > 0)
			iv_cvm_output(f, s, buf, (size_t)n);
	}
	iv_cvm_console_flush(f);
}

/* No call of f is being served, and none will be until it is resumed
 * (those that arrive are refused): its memory is the monitor's to reset. */
static int pause_calls(struct iv_cvm *t, struct iv_cvm *f)
{
	__atomic_store_n(&f->paused, 1, __ATOMIC_SEQ_CST);
	uint64_t deadline = iv_now_ns() + 1000ULL * 1000 * 1000;
	while (__atomic_load_n(&t->serving, __ATOMIC_SEQ_CST) == f)
		if (iv_now_ns() > deadline)
			return -1;
		else
			sched_yield();
	return 0;
}

/* Resets reused fork f of template t for its next run, on the main thread;
 * if it cannot be, the fork ends, saying why. */
static void reset_fork(struct iv_cvm *t, struct iv_cvm *f)
{
	struct tpl *fp = of(f);
	char why[300] = "";
	int total = f->cfg->reuse, rc = -1, n = 0;
	struct thr *th = NULL;
	drain_console(f);
	iv_log("cVM '%s' run %d of %d exited with status %ld after %.3f ms", f->cfg->name,
	       fp->run + 1, total, fp->run_code, (double)(iv_now_ns() - fp->run_t0) / 1e6);
	if (fp->run_code && !f->fail[0])
		snprintf(f->fail, sizeof(f->fail), "run %d of %d exited with status %ld",
			 fp->run + 1, total, fp->run_code);
	char path[64];
	struct pstat ps;
	snprintf(path, sizeof(path), "/proc/%d/status", f->cell.pid);
	fp->reset_fds[0] = -1;
	if (!of(t)->rs || !of(t)->rs->ok)
		snprintf(why, sizeof(why), "its template's state was not captured");
	else if (pause_calls(t, f))
		snprintf(why, sizeof(why), "a call of it is still being served");
	else if (!fp->tids || list_threads(t, f, &th, &n))
		snprintf(why, sizeof(why), "cannot list its threads");
	else if (stop_all(t, f, th, n, why, sizeof(why)) == 0) {
		end_extra_threads(t, th, n);
		if (read_pstat(path, &ps) || ps.filters != of(t)->rs->nfilters)
			snprintf(why, sizeof(why), "it installed a seccomp filter");
		else if (t->cfg->program && end_children(t, f, th, n))
			snprintf(why, sizeof(why), "cannot end its child processes");
		else if (reset_files(t, f, why, sizeof(why)) == 0 &&
			 reset_memory(t, f, why, sizeof(why)) == 0) {
			/* (its scratch page, zero now, holds the calls' arguments) */
			rc = iv_poke(f->cell.pid, of(t)->scratch, &of(t)->rs->sc,
				     sizeof(of(t)->rs->sc));
			if (rc == 0)
				rc = reset_signals(t, f, th, n, &ps);
			if (rc == 0)
				rc = reset_process(t, f, th, n, &ps);
			for (int i = 0; rc == 0 && i < n; i++)
				if (th[i].tpl >= 0)
					rc = reset_thread(t, th[i].tid, &of(t)->threads[th[i].tpl]);
			/* the scratch page as the template has it, whatever the run wrote */
			if (rc == 0)
				rc = iv_poke(f->cell.pid, of(t)->scratch, &of(t)->rs->sc,
					     sizeof(of(t)->rs->sc));
			if (rc)
				snprintf(why, sizeof(why), "cannot give its state back: %s",
					 strerror(-rc));
		}
	}
	if (rc == 0) {
		iv_cap_reset(f, t);
		pthread_mutex_lock(&f->lock);
		f->ntimers = 0;
		fp->reset_req = 0;
		fp->run++;
		pthread_mutex_unlock(&f->lock);
		if (f->cfg->run_args)
			f->args = f->cfg->run_args[fp->run];
		fp->run_t0 = iv_now_ns();
		__atomic_store_n(&f->paused, 0, __ATOMIC_SEQ_CST);
	}
	for (int i = 0; i < n; i++)
		if (th[i].seized)
			ptrace(PTRACE_DETACH, th[i].tid, 0, 0);
	free(th);
	if (rc) {
		pthread_mutex_lock(&f->lock);
		fp->reset_req = 0; /* (it ends) */
		pthread_mutex_unlock(&f->lock);
		snprintf(f->fail, sizeof(f->fail), "cannot be reset for run %d of %d: %.200s",
			 fp->run + 2, total, why);
		iv_cvm_kill(f);
		return;
	}
	iv_vlog("fork '%s' reset for run %d of %d", f->cfg->name, fp->run + 1, total);
	/* the saver's host_save restarts and returns 0 */
	ptrace(PTRACE_CONT, f->cell.pid, 0, 0);
}

/* The end of a reused fork's run but its last (host_exit or exit_group of
 * its first process): held, for the main thread to reset the fork. */
static int run_ended(struct iv_call *c, long code)
{
	struct iv_cvm *f = c->cvm;
	if (!f->cfg->resume || f->cfg->snapshot_path || f->cfg->reuse <= 1 || c->child)
		return 0;
	int held = 0;
	pthread_mutex_lock(&f->lock);
	if (of(f)->run + 1 < f->cfg->reuse) {
		if (!of(f)->reset_req) {
			of(f)->reset_req = 1;
			of(f)->run_code = code;
		}
		held = 1;
	}
	pthread_mutex_unlock(&f->lock);
	if (held)
		iv_run_wake(f->run);
	return held;
}

static iv_hostcall_fn basic_exit; /* the exit hostcall's own handler */

static long hc_exit_run(struct iv_call *c)
{
	if (run_ended(c, (long)c->a[0]))
		return IV_HC_DEFER;
	return basic_exit ? basic_exit(c) : -ENOSYS;
}

/* exit_group, notified in the family of a template with reused forks. */
static long hc_exit_group(struct iv_call *c)
{
	if (c->nr + IV_HC_BASE == SYS_exit_group && run_ended(c, (long)(c->a[0] & 255)))
		return IV_HC_DEFER;
	return IV_HC_CONTINUE;
}

/* HC_FORK_FILES: run by the monitor alone in a reused fork it resets (its
 * descriptors all closed): the template's files again, and for the rest of
 * the reset the image. */
static long hc_fork_files(struct iv_call *c)
{
	struct iv_cvm *f = c->cvm;
	if (!iv_inject_expected(c->tid, IV_HC_BASE + HC_FORK_FILES) || !f->cfg->resume ||
	    f->cfg->snapshot_path || f->cfg->reuse <= 1)
		return -ENOSYS; /* (to a cVM, no such hostcall) */
	struct iv_cvm *t = template_of(f);
	struct giver g = {t->cell.listener, c->id};
	int rc = c->a[0] & FF_FILES ? stage_fds(t, f, of(f)->out, &g) : 0;
	if (rc == 0 && (c->a[0] & FF_IMAGE)) {
		of(f)->reset_fds[0] = give(&g, of(t)->memfd_ro, -1);
		rc = of(f)->reset_fds[0] < 0 ? of(f)->reset_fds[0] : 0;
	}
	return rc;
}

/* Deploys a fork (resume: 1 without an image) of its template. */
static int deploy(struct iv_cvm *f)
{
	if (!f->cfg->resume || f->cfg->snapshot_path)
		return IV_NOT_MINE;
	struct iv_cvm *t = template_of(f);
	if (f->fail[0])
		return -1;
	remap_if_ready(t); /* (the template's work, before the fork is asked for) */
	if (!f->t[IV_T_DEPLOY])
		iv_mark(f, IV_T_DEPLOY);
	if (!t->cfg->fork) {
		snprintf(f->fail, sizeof(f->fail),
			 "template '%s' has fork: 0, so host_save makes no checkpoint",
			 t->cfg->name);
		return -1;
	}
	if (t->state == IV_CVM_DONE) {
		snprintf(f->fail, sizeof(f->fail), "template '%s' %s before it saved", t->cfg->name,
			 t->fail[0] ? "failed" : "ended");
		return -1;
	}
	pthread_mutex_lock(&t->lock);
	int ready = of(t)->tstate == TPL_READY;
	pthread_mutex_unlock(&t->lock);
	if (!ready)
		return 1;
	if (f->cfg->reuse > 1 && (!of(t)->rs || !of(t)->rs->ok)) {
		snprintf(f->fail, sizeof(f->fail),
			 "a reused fork is reset to its template's image, which template '%s' "
			 "has not made (its forks are clones)",
			 t->cfg->name);
		return -1;
	}
	iv_mark(f, IV_T_LOADED);
	return make_fork(t, f);
}

/* Freezes the templates that saved. */
static void step(struct iv_run *run)
{
	for (size_t i = 0; i < run->ncvms; i++) {
		struct iv_cvm *t = &run->cvms[i];
		if (t->state != IV_CVM_DONE && of(t)->tstate == TPL_FREEZE_REQ)
			freeze(t);
		else if (t->state != IV_CVM_DONE)
			remap_if_ready(t);
		/* (a fork whose run ended: its exit is held until it is reset) */
		pthread_mutex_lock(&t->lock);
		int reset = of(t)->reset_req && t->state == IV_CVM_RUNNING && !t->ended;
		pthread_mutex_unlock(&t->lock);
		if (reset)
			reset_fork(template_of(t), t);
	}
}

static void ended(struct iv_cvm *cvm)
{
	int left = cvm->cfg->reuse - of(cvm)->run - 1;
	if (cvm->cfg->reuse > 1 && left > 0 && cvm->t[IV_T_RUNNING])
		iv_log("cVM '%s': %d of its %d runs not made", cvm->cfg->name, left,
		       cvm->cfg->reuse);
	if (cvm->released && !cvm->fault_known)
		iv_log("template '%s' released after %d fork(s)", cvm->cfg->name, of(cvm)->nforks);
}

static void free_state(struct iv_cvm *cvm)
{
	struct tpl *tp = of(cvm);
	for (int i = 0; i < tp->nthreads; i++)
		free(tp->threads[i].xstate);
	for (int i = 0; i < tp->nfds; i++)
		if (tp->fds[i].held >= 0)
			close(tp->fds[i].held);
	free(tp->threads);
	free(tp->fds);
	free(tp->special);
	drop_image(tp);
	free_reset(tp->rs);
	free(tp->tids);
	if (tp->has_out) {
		close(tp->out[IV_OUT]);
		close(tp->out[IV_ERR]);
	}
}

static int start(struct iv_run *run, struct iv_err *err)
{
	(void)run;
	const char *mode = getenv("IV_FORK_MODE");
	default_mode = IV_FORK_MAP;
	if (mode && !strcmp(mode, "clone"))
		default_mode = IV_FORK_CLONE;
	else if (mode && *mode && strcmp(mode, "map"))
		return iv_fail(err, "IV_FORK_MODE: expected 'map' or 'clone', got '%s'", mode);
	iv_hostcall_register(HC_SAVE, "save", hc_save);
	/* a reused fork's run ends with host_exit or exit_group: held there */
	if (iv_hostcall_handler(HC_EXIT) != hc_exit_run)
		basic_exit = iv_hostcall_handler(HC_EXIT);
	iv_hostcall_register(HC_EXIT, iv_hostcall_name(HC_EXIT), hc_exit_run);
	iv_hostcall_register(IV_HC_EXIT_GROUP, "exit_group", hc_exit_group);
	iv_hostcall_register(HC_FORK_FILES, "fork_files", hc_fork_files);
	return 0;
}

struct iv_feature iv_feature_tfork = {
	.name = "TFORK",
	.cvm_size = sizeof(struct tpl),
	.start = start,
	.deploy = deploy,
	.step = step,
	.ended = ended,
	.free = free_state,
};
