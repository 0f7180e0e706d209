/*
 * The run: deploy the config's cVMs in order (honouring wait), serve them
 * until each has ended, and end every cell on SIGINT/SIGTERM.  The main
 * thread owns the cells: it is their ptracer and their reaper, and it
 * relays their console pipes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
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
		c->pidfd = c->listener = c->console = c->ctl = -1;
		pthread_mutex_init(&c->lock, NULL);
	}
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
	iv_hostcalls_init();
	if (iv_cell_global_init(err) || iv_policy_init(err) || iv_cap_init(cfg, err))
		return -1;
	for (size_t i = 0; i < cfg->ncvms; i++)
		if (iv_cell_prepare_root(cfg->cvms[i].disk, err) < 0)
			return -1;
	return 0;
}

static struct iv_cvm *by_pid(struct iv_run *run, pid_t pid)
{
	for (size_t i = 0; i < run->ncvms; i++)
		if (run->cvms[i].pid == pid && run->cvms[i].state != IV_CVM_DONE)
			return &run->cvms[i];
	return NULL;
}

/* Relays what the cell wrote to its console; at EOF the pipe is closed, so
 * that epoll does not report the hung-up pipe again and again. */
static void drain_console(struct iv_cvm *cvm, int epfd)
{
	char buf[4096];
	ssize_t n;
	while (cvm->console >= 0 && (n = read(cvm->console, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			break;
		}
		iv_cvm_console(cvm, buf, (size_t)n);
	}
	if (cvm->console >= 0) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, cvm->console, NULL);
		close(cvm->console);
		cvm->console = -1;
	}
}

static void finish(struct iv_run *run, struct iv_cvm *cvm, int epfd)
{
	iv_server_stop(cvm);
	int st = 0;
	if (cvm->pid > 0)
		waitpid(cvm->pid, &st, __WALL);
	cvm->status = st;
	cvm->t_done_ns = iv_now_ns();
	/* every writer is gone: read to the end */
	if (cvm->console >= 0)
		fcntl(cvm->console, F_SETFL, 0);
	drain_console(cvm, epfd);
	iv_cvm_console_flush(cvm);
	if (cvm->listener >= 0)
		close(cvm->listener);
	if (cvm->pidfd >= 0)
		close(cvm->pidfd);
	cvm->listener = cvm->pidfd = -1;
	cvm->state = IV_CVM_DONE;
	iv_cvm_report(cvm);
	(void)run;
}

/* True when the cell has a handler for sig (SigCgt in its status). */
static int catches(pid_t pid, int sig)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "re");
	unsigned long long mask = 0;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "SigCgt: %llx", &mask) == 1)
			break;
	if (f)
		fclose(f);
	return (mask >> (sig - 1)) & 1;
}

/*
 * A ptrace stop of a cell.  A fault the cVM does not handle itself ends it:
 * the cell is pid 1 of its namespace, where the kernel would otherwise
 * drop the signal and re-run the faulting instruction forever.
 */
static void on_stop(struct iv_cvm *cvm, int st)
{
	int sig = WSTOPSIG(st);
	if (st >> 16) /* an event stop (group stop under SEIZE): nothing to pass on */
		sig = 0;
	if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGSYS ||
	    sig == SIGTRAP) {
		siginfo_t si;
		if (!catches(cvm->pid, sig)) {
			if (ptrace(PTRACE_GETSIGINFO, cvm->pid, 0, &si) == 0) {
				cvm->fault_sig = sig;
				cvm->fault_addr = (uint64_t)(uintptr_t)si.si_addr;
				cvm->fault_known = 1;
			}
			iv_cvm_kill(cvm);
			sig = 0;
		}
	}
	ptrace(PTRACE_CONT, cvm->pid, 0, sig);
}

static void reap(struct iv_run *run, int epfd)
{
	for (;;) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WSTOPPED | WNOHANG | WNOWAIT | __WALL) || si.si_pid == 0)
			return;
		struct iv_cvm *cvm = by_pid(run, si.si_pid);
		if (!cvm) {
			waitpid(si.si_pid, NULL, __WALL | WNOHANG);
			continue;
		}
		if (si.si_code == CLD_TRAPPED || si.si_code == CLD_STOPPED) {
			int st;
			if (waitpid(cvm->pid, &st, __WALL | WNOHANG) == cvm->pid && WIFSTOPPED(st))
				on_stop(cvm, st);
			continue;
		}
		/* Exited: stop its server before the pid can be reused. */
		finish(run, cvm, epfd);
	}
}

static void kill_all(struct iv_run *run)
{
	for (size_t i = 0; i < run->ncvms; i++)
		if (run->cvms[i].state == IV_CVM_RUNNING)
			iv_cvm_kill(&run->cvms[i]);
}

static size_t alive(struct iv_run *run)
{
	size_t n = 0;
	for (size_t i = 0; i < run->ncvms; i++)
		n += run->cvms[i].state == IV_CVM_RUNNING;
	return n;
}

int iv_run(struct iv_run *run)
{
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	epoll_ctl(epfd, EPOLL_CTL_ADD, run->sigfd, &ev);
	size_t next = 0;
	struct iv_cvm *waiting = NULL;
	uint64_t not_before = 0;
	int stop = 0, failed = 0, signalled = 0;

	for (;;) {
		while (!stop && next < run->ncvms && !waiting && iv_now_ns() >= not_before) {
			struct iv_cvm *cvm = &run->cvms[next++];
			struct iv_err err;
			if (iv_cvm_deploy(cvm, &err)) {
				if (cvm->pid > 0) {
					/* the cell exists: reap it like any other */
					cvm->state = IV_CVM_RUNNING;
					finish(run, cvm, epfd);
				} else {
					cvm->state = IV_CVM_DONE;
					iv_cvm_report(cvm);
				}
				failed = 1;
				continue;
			}
			fcntl(cvm->console, F_SETFL, O_NONBLOCK);
			struct epoll_event cev = {.events = EPOLLIN, .data.ptr = cvm};
			epoll_ctl(epfd, EPOLL_CTL_ADD, cvm->console, &cev);
			if (cvm->cfg->wait < 0)
				waiting = cvm;
			else if (cvm->cfg->wait > 0)
				not_before = iv_now_ns() + (uint64_t)cvm->cfg->wait * 1000000000ULL;
		}
		if (waiting && waiting->state == IV_CVM_DONE)
			waiting = NULL;
		if (alive(run) == 0 && (stop || next == run->ncvms))
			break;
		if (waiting == NULL && next < run->ncvms && !stop && iv_now_ns() >= not_before)
			continue;

		int timeout = -1;
		if (!stop && !waiting && next < run->ncvms)
			timeout = (int)((not_before - iv_now_ns()) / 1000000) + 1;
		struct epoll_event evs[16];
		int n = epoll_wait(epfd, evs, 16, timeout);
		for (int i = 0; i < n; i++) {
			struct iv_cvm *cvm = evs[i].data.ptr;
			if (cvm) {
				drain_console(cvm, epfd);
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
			reap(run, epfd);
		}
	}
	close(epfd);
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
	iv_cap_fini();
	if (run->sigfd >= 0)
		close(run->sigfd);
	free(run->cvms);
	memset(run, 0, sizeof(*run));
}
