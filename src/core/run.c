/*
 * The run: deploy the config's cVMs in order (honouring wait), serve them
 * until each has ended, and end every cell on SIGINT/SIGTERM.  The main
 * thread owns the cells: it is their ptracer and their reaper, and it
 * relays their console pipes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iv.h"

static void on_usr1(int sig)
{
	(void)sig;
}

int iv_run_init(struct iv_run *run, struct iv_config *cfg, struct iv_err *err)
{
	memset(run, 0, sizeof(*run));
	run->cfg = cfg;
	run->ncvms = cfg->ncvms;
	run->cvms = calloc(cfg->ncvms, sizeof(*run->cvms));
	if (!run->cvms)
		return iv_fail(err, "out of memory");
	for (size_t i = 0; i < cfg->ncvms; i++) {
		struct iv_cvm *c = &run->cvms[i];
		c->id = (int)i;
		c->cfg = &cfg->cvms[i];
		c->run = run;
		c->args = c->cfg->args;
		c->leader = c;
		c->cell.pidfd = c->cell.listener = c->cell.console = c->cell.errcons = c->cell.ctl =
			-1;
		c->out[IV_OUT].cvm = c->out[IV_ERR].cvm = c;
		pthread_mutex_init(&c->lock, NULL);
	}
	run->epfd = -1;
	run->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (run->wakefd < 0)
		return iv_fail(err, "eventfd: %s", strerror(errno));
	/* Before any thread exists, so that every thread inherits the mask. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sigdelset(&set, SIGUSR1);
	run->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	struct sigaction sa = {.sa_handler = on_usr1};
	sigaction(SIGUSR1, &sa, NULL); /* no SA_RESTART: it interrupts a server's ioctl */
	signal(SIGPIPE, SIG_IGN);
	if (run->sigfd < 0)
		return iv_fail(err, "signalfd: %s", strerror(errno));
	for (size_t i = 0; i < cfg->ncvms; i++)
		if (iv_features_alloc(&run->cvms[i]))
			return iv_fail(err, "out of memory");
	if (iv_cell_global_init(err) || iv_policy_init(err) || iv_features_start(run, err))
		return -1;
	/* programs are born in memory cgroups: their spawners start now */
	for (size_t i = 0; i < cfg->ncvms; i++)
		if (cfg->cvms[i].program) {
			iv_cgroup_prepare();
			break;
		}
	for (size_t i = 0; i < cfg->ncvms; i++)
		if (iv_cell_prepare_root(cfg->cvms[i].disk, cfg->cvms[i].disk_ro, err) < 0)
			return -1;
	return 0;
}

void iv_run_wake(struct iv_run *run)
{
	uint64_t one = 1;
	if (write(run->wakefd, &one, sizeof(one)) < 0)
		iv_log("cannot wake the main thread: %s", strerror(errno));
}

/* Deferred answers are kept per cVM, one per thread (a thread waits in one
 * call at a time, so a newer call of the same thread replaces the older),
 * bounded per cVM, so that no cVM can fill a table that others need. */
int iv_run_add_timer(struct iv_cvm *cvm, pid_t tid, uint64_t deadline_ns, int listener, uint64_t id)
{
	int rc = 0;
	pthread_mutex_lock(&cvm->lock);
	int i = 0;
	while (i < cvm->ntimers && cvm->timers[i].tid != tid)
		i++;
	if (i == cvm->ntimers && i == IV_MAX_TIMERS) {
		/* drop the answers nobody waits for any more */
		for (int k = 0; k < cvm->ntimers;) {
			uint64_t tid_id = cvm->timers[k].id;
			if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &tid_id))
				cvm->timers[k] = cvm->timers[--cvm->ntimers];
			else
				k++;
		}
		i = cvm->ntimers;
	}
	if (i == IV_MAX_TIMERS) {
		rc = -EAGAIN;
	} else {
		if (i == cvm->ntimers)
			cvm->ntimers++;
		cvm->timers[i] = (struct iv_timer){deadline_ns, id, listener, tid};
	}
	pthread_mutex_unlock(&cvm->lock);
	if (rc == 0)
		iv_run_wake(cvm->run);
	return rc;
}

/* Answers the timers that are due; returns ns until the next one (or -1). */
static int64_t fire_timers(struct iv_run *run)
{
	int64_t next = -1;
	uint64_t now = iv_now_ns();
	for (size_t k = 0; k < run->ncvms; k++) {
		struct iv_cvm *c = &run->cvms[k];
		pthread_mutex_lock(&c->lock);
		for (int i = 0; i < c->ntimers;) {
			struct iv_timer *t = &c->timers[i];
			if (t->deadline_ns <= now) {
				iv_answer(t->listener, t->id, 0);
				*t = c->timers[--c->ntimers];
				continue;
			}
			if (next < 0 || (int64_t)(t->deadline_ns - now) < next)
				next = (int64_t)(t->deadline_ns - now);
			i++;
		}
		pthread_mutex_unlock(&c->lock);
	}
	return next;
}

/* The read end of a cVM's stdout or stderr pipe. */
static int *pipe_of(struct iv_cvm *cvm, int stream)
{
	return stream == IV_ERR ? &cvm->cell.errcons : &cvm->cell.console;
}

/* Each pipe is found by its stream's buffer, which knows its cVM. */
static void watch_console(struct iv_run *run, struct iv_cvm *cvm)
{
	for (int s = IV_OUT; s <= IV_ERR; s++) {
		int fd = *pipe_of(cvm, s);
		if (fd < 0)
			continue;
		fcntl(fd, F_SETFL, O_NONBLOCK);
		struct epoll_event cev = {.events = EPOLLIN, .data.ptr = &cvm->out[s]};
		epoll_ctl(run->epfd, EPOLL_CTL_ADD, fd, &cev);
	}
}

static struct iv_cvm *by_pid(struct iv_run *run, pid_t pid)
{
	for (size_t i = 0; i < run->ncvms; i++)
		if (run->cvms[i].cell.pid == pid && run->cvms[i].state != IV_CVM_DONE)
			return &run->cvms[i];
	return NULL;
}

/* Relays what the cell wrote to one of its output pipes, at most a bounded
 * amount per wake-up so that a flooding cVM cannot keep the loop from
 * everything else (epoll reports the rest next round); at EOF (or with
 * all, at the end) the pipe is closed, so that epoll does not report it
 * again and again. */
#define CONSOLE_CHUNK	     (64 * 1024)
#define SERVER_STOP_RETRY_NS (5 * 1000 * 1000)
static void drain_stream(struct iv_cvm *cvm, int stream, int epfd, int all)
{
	int *fd = pipe_of(cvm, stream);
	char buf[4096];
	ssize_t n;
	size_t done = 0;
	while (*fd >= 0 && (all || done < CONSOLE_CHUNK) &&
	       (n = read(*fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			break;
		}
		iv_cvm_output(cvm, stream, buf, (size_t)n);
		done += (size_t)n;
	}
	if (!all && done >= CONSOLE_CHUNK)
		return;
	if (*fd >= 0) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, *fd, NULL);
		close(*fd);
		*fd = -1;
	}
}

/*
 * A cell has exited (its zombie is waiting).  It is reaped once no server
 * is serving a call for it (only the reap frees its pid for reuse) and,
 * for a leader, once its server has returned; until then the main thread
 * goes on with everything else and tries again when woken.  1 when done.
 */
static int finish(struct iv_run *run, struct iv_cvm *cvm)
{
	int st = 0;
	__atomic_store_n(&cvm->ended, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&cvm->leader->serving, __ATOMIC_SEQ_CST) == cvm)
		return 0;
	if (cvm->leader == cvm && !iv_server_stop(cvm)) {
		run->stopping_servers = 1;
		return 0;
	}
	if (cvm->cell.pid > 0 && waitpid(cvm->cell.pid, &st, __WALL | WNOHANG) != cvm->cell.pid)
		return 0;
	cvm->status = st;
	iv_mark(cvm, IV_T_DONE);
	iv_cgroup_remove(cvm->cell.cgroup); /* (its processes ended with it) */
	/* every writer should be gone: read what is left (never waiting) */
	drain_stream(cvm, IV_OUT, run->epfd, 1);
	drain_stream(cvm, IV_ERR, run->epfd, 1);
	iv_cvm_console_flush(cvm);
	if (cvm->leader == cvm && cvm->cell.listener >= 0)
		close(cvm->cell.listener);
	if (cvm->cell.pidfd >= 0)
		close(cvm->cell.pidfd);
	cvm->cell.listener = cvm->cell.pidfd = -1;
	pthread_mutex_lock(&cvm->lock);
	cvm->ntimers = 0;
	pthread_mutex_unlock(&cvm->lock);
	cvm->state = IV_CVM_DONE;
	iv_cvm_report(cvm);
	iv_features_ended(cvm);
	iv_run_wake(run); /* forks waiting for this template learn of its end */
	return 1;
}

/* True when the cell has a handler for sig (SigCgt in its status). */
/* Whether the cell handles sig or ignores it (SigCgt, SigIgn in its status). */
static int handles(pid_t pid, int sig)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "re");
	unsigned long long caught = 0, ignored = 0, m;
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "SigCgt: %llx", &m) == 1)
			caught = m;
		else if (sscanf(line, "SigIgn: %llx", &m) == 1)
			ignored = m;
	}
	if (f)
		fclose(f);
	return ((caught | ignored) >> (sig - 1)) & 1;
}

/* Signals whose default action ends the process. */
static int fatal_by_default(int sig)
{
	return sig != SIGCHLD && sig != SIGCONT && sig != SIGURG && sig != SIGWINCH &&
	       sig != SIGSTOP && sig != SIGTSTP && sig != SIGTTIN && sig != SIGTTOU;
}

/*
 * A ptrace stop of a cell.  A signal that would end a process, and that the
 * cVM neither handles nor ignores, ends it: the cell is pid 1 of its
 * namespace, where the kernel drops such a signal sent from inside (so
 * abort() would not end it) and re-runs a faulting instruction forever.
 */
static void on_stop(struct iv_cvm *cvm, int st)
{
	int sig = WSTOPSIG(st);
	if (st >> 16) /* an event stop (group stop under SEIZE): nothing to pass on */
		sig = 0;
	if (sig && fatal_by_default(sig) && !handles(cvm->cell.pid, sig)) {
		siginfo_t si;
		int fault = sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE ||
			    sig == SIGSYS || sig == SIGTRAP;
		cvm->fault_sig = sig;
		cvm->fault_known = 1;
		if (fault && ptrace(PTRACE_GETSIGINFO, cvm->cell.pid, 0, &si) == 0) {
			cvm->fault_addr = (uint64_t)(uintptr_t)si.si_addr;
			cvm->fault_has_addr = 1;
		}
		iv_cvm_kill(cvm);
		sig = 0;
	}
	ptrace(PTRACE_CONT, cvm->cell.pid, 0, sig);
}

/* Handles every stop and exit of the run's cells, then of everything else
 * the main thread traces or parents (template threads, helpers). */
static void reap(struct iv_run *run)
{
	run->stopping_servers = 0;
	for (size_t i = 0; i < run->ncvms; i++) {
		struct iv_cvm *cvm = &run->cvms[i];
		while (cvm->cell.pid > 0 && cvm->state != IV_CVM_DONE) {
			int st, r = iv_take_stop(cvm->cell.pid, &st);
			if (r > 0) {
				on_stop(cvm, st);
				continue;
			}
			if (r == -ESRCH)
				finish(run, cvm);
			break;
		}
	}
	for (;;) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WSTOPPED | WNOHANG | WNOWAIT | __WALL) ||
		    si.si_pid == 0 || by_pid(run, si.si_pid))
			return; /* (a cell whose reap waits for its server: next round) */
		waitpid(si.si_pid, NULL, __WALL | WNOHANG);
	}
}

static void kill_all(struct iv_run *run)
{
	for (size_t i = 0; i < run->ncvms; i++)
		if (run->cvms[i].cell.pid > 0 && run->cvms[i].state != IV_CVM_DONE)
			iv_cvm_kill(&run->cvms[i]);
}

/* cVMs alive that the run waits for (zygotes are not waited for). */
static size_t alive(struct iv_run *run, size_t *zygotes)
{
	size_t n = 0;
	*zygotes = 0;
	for (size_t i = 0; i < run->ncvms; i++) {
		struct iv_cvm *c = &run->cvms[i];
		if (c->state == IV_CVM_DONE || c->cell.pid <= 0)
			continue;
		if (__atomic_load_n(&c->parked, __ATOMIC_ACQUIRE))
			(*zygotes)++;
		else
			n++;
	}
	return n;
}

/* Starts cvm; returns 1 while it is still on its way (a fork waiting for its
 * template), 0 once it runs or has failed. */
static int deploy(struct iv_run *run, struct iv_cvm *cvm, int *failed)
{
	struct iv_err err;
	/* a feature may deploy it itself (a fork of a template) */
	int r = iv_features_deploy(cvm);
	if (r == 1)
		return 1;
	if (r == IV_NOT_MINE && iv_cvm_deploy(cvm, &err) == 0)
		r = 0;
	watch_console(run, cvm);
	if (r == 0)
		return 0;
	*failed = 1;
	if (cvm->cell.pid > 0) {
		/* the cell exists (killed): reaped and reported like any other */
		cvm->state = IV_CVM_RUNNING;
	} else {
		cvm->state = IV_CVM_DONE;
		iv_cvm_report(cvm);
		iv_features_ended(cvm);
	}
	return 0;
}

/* Whether cvm's wait is over: it ended, or (a template) it became a zygote. */
static int wait_over(struct iv_cvm *cvm)
{
	return cvm->state == IV_CVM_DONE || __atomic_load_n(&cvm->parked, __ATOMIC_ACQUIRE);
}

int iv_run(struct iv_run *run)
{
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	run->epfd = epfd;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	epoll_ctl(epfd, EPOLL_CTL_ADD, run->sigfd, &ev);
	struct epoll_event wev = {.events = EPOLLIN, .data.ptr = &run->wakefd};
	epoll_ctl(epfd, EPOLL_CTL_ADD, run->wakefd, &wev);
	size_t next = 0;
	struct iv_cvm *waiting = NULL, *deploying = NULL;
	uint64_t not_before = 0;
	int stop = 0, failed = 0, signalled = 0, released = 0;
	struct iv_err perr;
	if (iv_pool_start(run, run->pool_size, &perr))
		iv_log("%s: every cell is made at its deploy", perr.msg);

	for (;;) {
		iv_features_step(run);
		if (deploying && !stop && !deploy(run, deploying, &failed)) {
			if (deploying->state == IV_CVM_RUNNING && deploying->cfg->wait < 0)
				waiting = deploying;
			else if (deploying->state == IV_CVM_RUNNING && deploying->cfg->wait > 0)
				not_before = iv_now_ns() +
					     (uint64_t)deploying->cfg->wait * 1000000000ULL;
			deploying = NULL;
		}
		if (waiting && wait_over(waiting))
			waiting = NULL;
		while (!stop && !deploying && next < run->ncvms && !waiting &&
		       iv_now_ns() >= not_before) {
			struct iv_cvm *cvm = &run->cvms[next++];
			if (deploy(run, cvm, &failed)) {
				deploying = cvm;
				break;
			}
			if (cvm->state != IV_CVM_RUNNING)
				continue;
			if (cvm->cfg->wait < 0)
				waiting = cvm;
			else if (cvm->cfg->wait > 0)
				not_before = iv_now_ns() + (uint64_t)cvm->cfg->wait * 1000000000ULL;
		}
		if (waiting && wait_over(waiting))
			waiting = NULL;
		size_t zygotes;
		size_t n = alive(run, &zygotes);
		if (n == 0 && (stop || (next == run->ncvms && !deploying))) {
			if (zygotes == 0)
				break;
			if (!released) {
				/* Every fork has ended: the templates are no longer needed. */
				released = 1;
				for (size_t i = 0; i < run->ncvms; i++)
					if (run->cvms[i].parked)
						run->cvms[i].released = 1;
				kill_all(run);
			}
		}
		if (!deploying && !waiting && next < run->ncvms && !stop &&
		    iv_now_ns() >= not_before)
			continue;

		int64_t tns = fire_timers(run);
		if (!stop && !waiting && !deploying && next < run->ncvms) {
			int64_t d = (int64_t)(not_before - iv_now_ns());
			if (tns < 0 || d < tns)
				tns = d < 0 ? 0 : d;
		}
		/* a server still finishing a call: ask it again soon */
		if (run->stopping_servers && (tns < 0 || tns > SERVER_STOP_RETRY_NS))
			tns = SERVER_STOP_RETRY_NS;
		struct timespec ts = {tns / 1000000000, tns % 1000000000},
				*tsp = tns >= 0 ? &ts : NULL;
		struct epoll_event evs[16];
		int ne = epoll_pwait2(epfd, evs, 16, tsp, NULL);
		int again = run->stopping_servers;
		for (int i = 0; i < ne; i++) {
			if (evs[i].data.ptr == &run->wakefd) {
				uint64_t v;
				if (read(run->wakefd, &v, sizeof(v)) < 0)
					continue;
				again = 1; /* maybe a reap that waited for a server */
				continue;
			}
			struct iv_outbuf *o = evs[i].data.ptr;
			if (o) {
				drain_stream(o->cvm, (int)(o - o->cvm->out), epfd, 0);
				continue;
			}
			struct signalfd_siginfo si;
			while (read(run->sigfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGCHLD)
					continue;
				if (!stop)
					iv_log("signal %d: ending every cVM", si.ssi_signo);
				stop = 1;
				signalled = (int)si.ssi_signo;
				kill_all(run);
			}
			again = 1;
		}
		if (again)
			reap(run);
		fire_timers(run);
	}
	iv_pool_stop(run);
	close(epfd);
	run->epfd = -1;
	for (size_t i = 0; i < run->ncvms; i++)
		if (!iv_cvm_ok(&run->cvms[i]) && run->cvms[i].state == IV_CVM_DONE)
			failed = 1;
	if (signalled)
		return 128 + signalled;
	if (next < run->ncvms)
		failed = 1;
	return failed ? 1 : 0;
}

void iv_run_free(struct iv_run *run)
{
	for (size_t i = 0; run->cvms && i < run->ncvms; i++)
		iv_features_free(&run->cvms[i]);
	iv_features_stop(run);
	if (run->sigfd >= 0)
		close(run->sigfd);
	if (run->wakefd >= 0)
		close(run->wakefd);
	free(run->cvms);
	memset(run, 0, sizeof(*run));
}
