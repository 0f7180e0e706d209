/*
 * TFORK: templates and copy-on-write forks of running cVMs.
 *
 * A template runs until host_save().  The server leaves that call pending
 * and the main thread freezes the template: it stops every thread with
 * ptrace, captures its registers (general, FPU/vector via XSAVE, FS base,
 * signal mask) and the files it has open, and lets the saving thread come
 * back to host_save, where it waits as a zygote.  To make a fork, the main
 * thread answers that call with IV_SAVE_FORK; the SDK then makes the one
 * clone(SIGCHLD) the monitor lets through, so the kernel copies the
 * template's page tables (memory is shared copy-on-write, nothing is
 * re-initialised).  The child inherits the template's seccomp filter and so
 * announces itself on the template's listener; the main thread gives it
 * its own console and its own file descriptions, and tells it how many of
 * the template's other threads to recreate: each comes back from a signal
 * frame the monitor writes on that thread's own stack.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iv.h"

#define XSTATE_MAX	     (64 * 1024)
#define FP_XSTATE_MAGIC1     0x46505853U
#define FP_XSTATE_MAGIC2     0x46505845U
#define UC_FP_XSTATE	     0x1
#define UC_SIGCONTEXT_SS     0x2
#define UC_STRICT_RESTORE_SS 0x4
#define RED_ZONE	     128

/* The kernel's x86-64 signal frame (arch/x86/include/asm/sigframe.h). */
struct k_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip,
		eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2, fpstate, reserved1[8];
};

struct k_ucontext {
	uint64_t uc_flags, uc_link;
	struct {
		uint64_t ss_sp;
		int32_t ss_flags, pad;
		uint64_t ss_size;
	} uc_stack;
	struct k_sigcontext uc_mcontext;
	uint64_t uc_sigmask;
};

struct k_rt_sigframe {
	uint64_t pretcode;
	struct k_ucontext uc;
	uint8_t info[128];
};

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
	long r = IV_HC_DEFER;
	pthread_mutex_lock(&t->lock);
	if (t->tstate == IV_TPL_NONE) {
		t->t_save_ns = iv_now_ns();
		t->save_tid = c->tid;
		t->save_id = c->id;
		t->tstate = IV_TPL_FREEZE_REQ;
	} else if (c->tid != t->save_tid) {
		r = -EBUSY; /* one saving thread per template */
	} else if (t->tstate == IV_TPL_FROZEN) {
		/* the saver, back after the freeze interrupted its call */
		t->save_id = c->id;
		t->tstate = IV_TPL_READY;
	} else if (t->tstate == IV_TPL_FORKING) {
		/* the saver, back from the clone it was told to make */
		t->save_id = c->id;
		t->forked_back = 1;
		long pid = (long)c->a[0];
		if (pid <= 0 && t->fork_child && !t->fork_child->announced) {
			/* the clone failed (a process limit, memory): that fork fails */
			snprintf(t->fork_child->fail, sizeof(t->fork_child->fail),
				 "template '%s' could not fork: %s", t->cfg->name,
				 strerror(pid < 0 ? (int)-pid : EAGAIN));
			t->fork_child = NULL;
			t->clone_allowed = 0;
			t->tstate = IV_TPL_READY;
		}
	} else {
		r = -EBUSY;
	}
	pthread_mutex_unlock(&t->lock);
	if (r == IV_HC_DEFER)
		iv_run_wake(t->run);
	return r;
}

long iv_tfork_gate(struct iv_call *c, int sysno)
{
	struct iv_cvm *t = c->cvm;
	long r = 0;
	/* Signals to threads.  A plain, template or restored cVM is alone in its
	 * pid namespace (a template's forks exist only while it is frozen); a
	 * fork shares its template's, so it may signal itself only. */
	if (sysno == SYS_tgkill || sysno == SYS_tkill) {
		int fork = t->cfg->resume && !t->cfg->snapshot_path;
		return !fork || (pid_t)c->a[0] == t->ns_pid ? IV_HC_CONTINUE : 0;
	}
	pthread_mutex_lock(&t->lock);
	if (sysno == SYS_clone && t->tstate == IV_TPL_FORKING && t->clone_allowed &&
	    c->tid == t->save_tid && c->a[0] == SIGCHLD && c->a[1] == 0) {
		t->clone_allowed = 0;
		r = IV_HC_CONTINUE;
	}
	pthread_mutex_unlock(&t->lock);
	return r;
}

struct iv_cvm *iv_tfork_adopt(struct iv_cvm *leader, pid_t tid, int nr)
{
	struct iv_cvm *f = NULL;
	pthread_mutex_lock(&leader->lock);
	int due = nr == HC_FORKED && leader->tstate == IV_TPL_FORKING && !leader->clone_allowed &&
		  leader->fork_child && leader->fork_child->pid == 0;
	pthread_mutex_unlock(&leader->lock);
	/* Only the template's new child may take the fork's place, not a thread
	 * of another fork calling at the same moment: pidfd_open refuses
	 * anything but a process, and every other process of the family is
	 * known (only the template has children, and only when told). */
	int pidfd = due ? (int)syscall(SYS_pidfd_open, tid, 0) : -1;
	if (pidfd < 0)
		return NULL;
	pthread_mutex_lock(&leader->lock);
	if (leader->tstate == IV_TPL_FORKING && leader->fork_child &&
	    leader->fork_child->pid == 0) {
		f = leader->fork_child;
		f->pid = tid;
		f->pidfd = pidfd;
	}
	pthread_mutex_unlock(&leader->lock);
	if (!f)
		close(pidfd);
	return f;
}

/* The child of a fork announces itself; the main thread answers. */
static long hc_forked(struct iv_call *c)
{
	struct iv_cvm *f = c->cvm;
	if (!f->cfg->resume || f->announced)
		return -EPERM;
	if (f->leader == f) /* restored from an image: nothing to take over */
		return iv_image_announced(c);
	f->announce_id = c->id;
	f->announced = 1;
	iv_run_wake(f->run);
	return IV_HC_DEFER;
}

/* Writes into a cell's memory at an address the monitor chose. */
static int poke(pid_t pid, uint64_t addr, const void *buf, size_t len)
{
	struct iovec l = {(void *)buf, len}, r = {(void *)(uintptr_t)addr, len};
	return process_vm_writev(pid, &l, 1, &r, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

uint8_t *iv_frame_build(const struct user_regs_struct *rp, const struct iv_thread_state *st,
			uint64_t *at, size_t *len_out)
{
	const struct user_regs_struct r = *rp;
	uint32_t xstate_size = 0, magic1 = 0;
	if (st->xsize >= 512 + 64) {
		memcpy(&magic1, st->xstate + 464, 4);
		memcpy(&xstate_size, st->xstate + 464 + 16, 4);
	}
	int xsave = magic1 == FP_XSTATE_MAGIC1 && xstate_size <= st->xsize;
	if (!xsave && st->xsize < 512)
		return NULL;
	size_t fp_len = xsave ? xstate_size + 4 : 512;
	uint64_t top = r.rsp - RED_ZONE;
	uint64_t fp = (top - fp_len) & ~63ULL;
	uint64_t frame = (fp - sizeof(struct k_rt_sigframe)) & ~15ULL;
	size_t len = (size_t)(fp + fp_len - frame);
	uint8_t *buf = calloc(1, len);
	if (!buf)
		return NULL;
	struct k_rt_sigframe *k = (struct k_rt_sigframe *)buf;
	k->uc.uc_flags = UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS | (xsave ? UC_FP_XSTATE : 0);
	k->uc.uc_stack.ss_flags = SS_DISABLE;
	struct k_sigcontext *m = &k->uc.uc_mcontext;
	m->r8 = r.r8, m->r9 = r.r9, m->r10 = r.r10, m->r11 = r.r11;
	m->r12 = r.r12, m->r13 = r.r13, m->r14 = r.r14, m->r15 = r.r15;
	m->rdi = r.rdi, m->rsi = r.rsi, m->rbp = r.rbp, m->rbx = r.rbx;
	m->rdx = r.rdx, m->rax = r.rax, m->rcx = r.rcx, m->rsp = r.rsp;
	m->rip = r.rip, m->eflags = r.eflags;
	m->cs = (uint16_t)r.cs, m->ss = (uint16_t)r.ss;
	m->fpstate = fp;
	k->uc.uc_sigmask = st->sigmask;
	memcpy(buf + (fp - frame), st->xstate, xsave ? xstate_size : 512);
	if (xsave) {
		uint32_t magic2 = FP_XSTATE_MAGIC2;
		memcpy(buf + (fp - frame) + xstate_size, &magic2, 4);
	} else {
		memset(buf + (fp - frame) + 464, 0, 48); /* no software-reserved magic */
	}
	*at = frame;
	*len_out = len;
	return buf;
}

/* THREAD_FRAME(i, bases): a signal frame for the template's i-th other
 * thread on that thread's stack in this fork; returns the stack pointer
 * its rt_sigreturn needs. */
static long hc_thread_frame(struct iv_call *c)
{
	struct iv_cvm *f = c->cvm;
	if (!f->cfg->resume)
		return -EPERM;
	struct iv_cvm *t = f->leader == f ? f : template_of(f); /* restored: its own */
	uint64_t i = c->a[0];
	if (i >= (uint64_t)t->nthreads - 1)
		return -EINVAL;
	const struct iv_thread_state *st = &t->threads[i < (uint64_t)t->saver ? i : i + 1];
	struct user_regs_struct r = st->regs;

	/* A thread stopped inside a system call gets it again, as the kernel's
	 * own restart would (ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND,
	 * ERESTART_RESTARTBLOCK). */
	long ax = (long)r.rax;
	if (ax == -512 || ax == -513 || ax == -514 || ax == -516) {
		r.rax = r.orig_rax;
		r.rip -= 2;
	}

	uint64_t frame;
	size_t len;
	uint8_t *buf = iv_frame_build(&r, st, &frame, &len);
	if (!buf)
		return -ENOMEM;
	int rc = poke(f->pid, frame, buf, len);
	free(buf);
	if (rc)
		return rc;
	uint64_t bases[2] = {r.fs_base, r.gs_base};
	if ((rc = iv_cvm_write(f, c->a[1], bases, sizeof(bases))))
		return rc;
	return (long)(frame + 8);
}

void iv_hc_tfork_init(void)
{
	iv_hostcall_register(HC_SAVE, "save", hc_save);
	iv_hostcall_register(HC_FORKED, "forked", hc_forked);
	iv_hostcall_register(HC_THREAD_FRAME, "thread_frame", hc_thread_frame);
}

/* ---- the main thread's side ---- */

/* Stops tid (seizing it first unless it is the traced leader) and waits
 * for the stop; 0 or -1. */
static int stop_thread(pid_t tid, int seize)
{
	if (seize && ptrace(PTRACE_SEIZE, tid, 0, 0))
		return -1;
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0))
		return -1;
	for (int tries = 0; tries < 64; tries++) {
		int st;
		if (waitpid(tid, &st, __WALL) != tid || !WIFSTOPPED(st))
			return -1;
		if ((st >> 16) == PTRACE_EVENT_STOP)
			return 0;
		/* a signal on its way: let it be delivered, the interrupt stays */
		ptrace(PTRACE_CONT, tid, 0, WSTOPSIG(st));
	}
	return -1;
}

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
	return 0;
}

/* The files a template has open (regular files and directories), with
 * their flags and offsets, for every fork to reopen. */
static void capture_fds(struct iv_cvm *t)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", t->pid);
	DIR *d = opendir(path);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		int fd = atoi(e->d_name);
		if (e->d_name[0] == '.' || fd <= IV_FD_CONSOLE_ERR)
			continue;
		char link[256], info[64], line[128];
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", t->pid, fd);
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0 || link[0] != '/')
			continue; /* pipes, sockets, anonymous inodes stay shared */
		snprintf(info, sizeof(info), "/proc/%d/fdinfo/%d", t->pid, fd);
		FILE *f = fopen(info, "re");
		long long pos = 0;
		int flags = 0;
		while (f && fgets(line, sizeof(line), f)) {
			sscanf(line, "pos: %lld", &pos);
			sscanf(line, "flags: %o", (unsigned *)&flags);
		}
		if (f)
			fclose(f);
		struct iv_saved_fd *nf = realloc(t->fds, (size_t)(t->nfds + 1) * sizeof(*nf));
		if (!nf)
			break;
		t->fds = nf;
		t->fds[t->nfds++] = (struct iv_saved_fd){fd, flags, pos};
	}
	if (d)
		closedir(d);
}

/* Freezes a template that called host_save: every thread stopped and
 * captured; then the saver goes back to host_save to wait for forks. */
static void freeze(struct iv_cvm *t)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", t->pid);
	DIR *d = opendir(path);
	struct dirent *e;
	int ok = d != NULL;
	while (ok && (e = readdir(d))) {
		pid_t tid = atoi(e->d_name);
		if (tid <= 0)
			continue;
		struct iv_thread_state *nt =
			realloc(t->threads, (size_t)(t->nthreads + 1) * sizeof(*nt));
		if (!nt) {
			ok = 0;
			break;
		}
		t->threads = nt;
		struct iv_thread_state *st = &t->threads[t->nthreads];
		memset(st, 0, sizeof(*st));
		st->tid = tid;
		if (stop_thread(tid, tid != t->pid) || capture_thread(st)) {
			free(st->xstate);
			ok = 0;
			break;
		}
		if (tid == t->save_tid)
			t->saver = t->nthreads;
		t->nthreads++;
	}
	if (d)
		closedir(d);
	if (!ok || t->nthreads == 0) {
		snprintf(t->fail, sizeof(t->fail), "cannot freeze template '%s': %s", t->cfg->name,
			 strerror(errno));
		iv_cvm_kill(t);
		return;
	}
	capture_fds(t);
	struct iv_err err;
	if (t->cfg->snapshot_path && iv_image_write(t, &err)) {
		snprintf(t->fail, sizeof(t->fail), "%s", err.msg);
		iv_cvm_kill(t);
		return;
	}
	t->t_saved_ns = iv_now_ns();
	pthread_mutex_lock(&t->lock);
	t->tstate = IV_TPL_FROZEN;
	pthread_mutex_unlock(&t->lock);
	iv_vlog("template '%s' frozen at host_save: %d thread(s), %d open file(s)", t->cfg->name,
		t->nthreads, t->nfds);
	/* its host_save call was interrupted by the stop: it makes it again */
	ptrace(PTRACE_CONT, t->save_tid, 0, 0);
}

/* pid's number in its own pid namespace (the last of NSpid), or 0. */
static pid_t ns_pid_of(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "re");
	pid_t ns = 0;
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "NSpid:", 6))
			continue;
		char *last = strrchr(line, '\t');
		ns = last ? atoi(last + 1) : 0;
		break;
	}
	if (f)
		fclose(f);
	return ns;
}

/* Installs fd in the fork as number at (dup2 semantics), during its announce. */
static int give_fd(struct iv_cvm *f, int fd, int at)
{
	struct seccomp_notif_addfd a = {.id = f->announce_id,
					.flags = SECCOMP_ADDFD_FLAG_SETFD,
					.srcfd = (uint32_t)fd,
					.newfd = (uint32_t)at};
	return ioctl(f->leader->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a) < 0 ? -errno : 0;
}

/* The child of a fork has announced itself: make it a cVM of its own. */
static void complete(struct iv_cvm *t, struct iv_cvm *f)
{
	struct iv_err err;
	int p[2] = {-1, -1};
	if (f->pidfd < 0 || ptrace(PTRACE_SEIZE, f->pid, 0, PTRACE_O_EXITKILL) ||
	    pipe2(p, O_CLOEXEC) || give_fd(f, p[1], IV_FD_CONSOLE_OUT) ||
	    give_fd(f, p[1], IV_FD_CONSOLE_ERR)) {
		iv_fail(&err, "fork '%s' of template '%s': cannot take it over: %s", f->cfg->name,
			t->cfg->name, strerror(errno));
		snprintf(f->fail, sizeof(f->fail), "%s", err.msg);
		if (p[0] >= 0)
			close(p[0]);
		if (p[1] >= 0)
			close(p[1]);
		if (f->pidfd >= 0)
			syscall(SYS_pidfd_send_signal, f->pidfd, SIGKILL, NULL, 0);
		else
			kill(f->pid, SIGKILL);
		f->state = IV_CVM_RUNNING; /* reaped and reported like any other */
		return;
	}
	close(p[1]);
	f->console = p[0];
	f->ns_pid = ns_pid_of(f->pid);
	iv_run_watch_console(f->run, f);

	/* Its own open file descriptions, at the template's offsets. */
	for (int i = 0; i < t->nfds; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", t->pid, t->fds[i].fd);
		int keep = O_ACCMODE | O_APPEND | O_NONBLOCK | O_DSYNC | O_SYNC | O_NOATIME |
			   O_DIRECTORY;
		int fd = open(path, (t->fds[i].flags & keep) | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (lseek(fd, t->fds[i].pos, SEEK_SET) == t->fds[i].pos || t->fds[i].pos == 0)
			give_fd(f, fd, t->fds[i].fd);
		close(fd);
	}

	/* Same layout, same grants (the cap files themselves are shared). */
	memcpy(f->grants, t->grants, sizeof(f->grants));
	f->ngrants = t->ngrants;
	f->cap_next = t->cap_next;
	f->image_lo = t->image_lo, f->image_hi = t->image_hi;
	f->stack_lo = t->stack_lo, f->stack_hi = t->stack_hi;

	f->state = IV_CVM_RUNNING;
	f->t_cell_ns = f->t_running_ns = iv_now_ns();
	t->nforks++;
	iv_vlog("fork '%s' of template '%s': cell %d, %d thread(s) to recreate", f->cfg->name,
		t->cfg->name, f->pid, t->nthreads - 1);
	iv_answer(t->listener, f->announce_id, t->nthreads - 1);
}

int iv_tfork_request(struct iv_cvm *f)
{
	struct iv_cvm *t = template_of(f);
	if (f->state == IV_CVM_RUNNING)
		return 0;
	if (f->fail[0])
		return -1;
	if (!f->t_deploy_ns)
		f->t_deploy_ns = iv_now_ns();
	if (f->leader == t && t->state != IV_CVM_DONE)
		return 1; /* on its way */
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
	if (t->tstate != IV_TPL_READY)
		return 1;
	f->leader = t;
	f->t_loaded_ns = iv_now_ns();
	pthread_mutex_lock(&t->lock);
	t->fork_child = f;
	t->clone_allowed = 1;
	t->forked_back = 0;
	t->tstate = IV_TPL_FORKING;
	pthread_mutex_unlock(&t->lock);
	iv_answer(t->listener, t->save_id, IV_SAVE_FORK);
	return 1;
}

void iv_tfork_step(struct iv_run *run)
{
	for (size_t i = 0; i < run->ncvms; i++) {
		struct iv_cvm *t = &run->cvms[i];
		if (t->state == IV_CVM_DONE)
			continue;
		if (t->tstate == IV_TPL_FREEZE_REQ)
			freeze(t);
		if (t->tstate != IV_TPL_FORKING)
			continue;
		struct iv_cvm *f = t->fork_child;
		if (f && f->announced && f->state != IV_CVM_RUNNING && f->state != IV_CVM_DONE)
			complete(t, f);
		pthread_mutex_lock(&t->lock);
		if (t->forked_back && f &&
		    (f->state == IV_CVM_RUNNING || f->state == IV_CVM_DONE)) {
			t->fork_child = NULL;
			t->tstate = IV_TPL_READY;
		}
		pthread_mutex_unlock(&t->lock);
	}
}

void iv_tfork_free(struct iv_cvm *cvm)
{
	for (int i = 0; i < cvm->nthreads; i++)
		free(cvm->threads[i].xstate);
	for (int i = 0; cvm->fd_paths && i < cvm->nfds; i++)
		free(cvm->fd_paths[i]);
	free(cvm->fd_paths);
	free(cvm->threads);
	free(cvm->fds);
	cvm->fd_paths = NULL;
	cvm->threads = NULL;
	cvm->fds = NULL;
	cvm->nthreads = cvm->nfds = 0;
}
