/*
 * The per-cell server: one monitor thread that receives the seccomp
 * notifications of a cell (and of its forks, which inherit its filter),
 * serves them from the hostcall table and answers.  One blocking ioctl in,
 * one out: nothing else on the hostcall path.  Calls that must wait
 * (host_save, nanosleep) are left pending and answered later by the main
 * thread, so that a server never blocks; and the main thread never waits
 * for a server (see serving in iv.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "iv.h"

void iv_answer(int listener, uint64_t id, long val)
{
	struct seccomp_notif_resp resp = {.id = id};
	if (val == IV_HC_CONTINUE)
		resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	else if (val < 0)
		resp.error = (int)val;
	else
		resp.val = val;
	ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

/* The thread group a tid belongs to, from /proc (threads of a cVM are not
 * traced, so the monitor learns their tids only when they call). */
static pid_t tgid_of(pid_t tid)
{
	char path[64], line[128];
	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	FILE *f = fopen(path, "re");
	pid_t tgid = 0;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	if (f)
		fclose(f);
	return tgid;
}

/* Which cVM of this leader's family made the call: by its process (*proc),
 * which is a child process of the cVM (*child) when the cVM is a program
 * that made it: found in the cVM's pid namespace (a fork's children are in
 * the fork's own, so no fork is taken for another's or its template). */
static struct iv_cvm *caller(struct iv_cvm *leader, pid_t tid, pid_t *proc, int *child)
{
	struct iv_run *run = leader->run;
	*child = 0;
	*proc = tid;
	for (size_t i = 0; i < run->ncvms; i++) {
		struct iv_cvm *c = &run->cvms[i];
		if (c->leader == leader && c->cell.pid == tid && c->state != IV_CVM_DONE)
			return c;
	}
	pid_t tgid = tgid_of(tid);
	*proc = tgid;
	for (size_t i = 0; tgid && i < run->ncvms; i++) {
		struct iv_cvm *c = &run->cvms[i];
		if (c->leader == leader && c->cell.pid == tgid && c->state != IV_CVM_DONE)
			return c;
	}
	uint64_t ns = tgid ? iv_pidns_of(tid) : 0;
	for (size_t i = 0; ns && i < run->ncvms; i++) {
		struct iv_cvm *c = &run->cvms[i];
		if (c->leader == leader && c->pidns == ns && c->state != IV_CVM_DONE) {
			*child = 1;
			return c;
		}
	}
	return NULL;
}

static void *serve(void *arg)
{
	struct iv_cvm *leader = arg;
	struct seccomp_notif req;

	while (!leader->stopping) {
		memset(&req, 0, sizeof(req));
		if (ioctl(leader->cell.listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
			if (errno == EINTR)
				continue; /* a stop request */
			if (errno == ENOENT) {
				/* The caller died meanwhile.  Once no task uses the filter
				 * the listener hangs up and RECV would fail at once, again
				 * and again: the server's work is done. */
				struct pollfd pfd = {leader->cell.listener, POLLIN, 0};
				if (poll(&pfd, 1, -1) == 1 && (pfd.revents & POLLHUP))
					break;
				continue;
			}
			iv_log("cVM '%s': hostcall server: %s", leader->cfg->name, strerror(errno));
			break;
		}
		if (iv_inject_expected((pid_t)req.pid, req.data.nr) && req.data.nr < IV_HC_BASE) {
			/* a system call the monitor runs in a stopped thread (a
			 * hostcall it runs there is served as any other) */
			iv_answer(leader->cell.listener, req.id, IV_HC_CONTINUE);
			continue;
		}
		long r = -EPERM;
		int nr = req.data.nr - IV_HC_BASE;
		pid_t proc;
		int child;
		struct iv_cvm *who = caller(leader, (pid_t)req.pid, &proc, &child);
		/* Published before the check, so that the main thread either sees
		 * it and waits to reap, or has marked the cVM ended before. */
		__atomic_store_n(&leader->serving, who, __ATOMIC_SEQ_CST);
		if (who && !__atomic_load_n(&who->ended, __ATOMIC_SEQ_CST) &&
		    (!__atomic_load_n(&who->paused, __ATOMIC_SEQ_CST) ||
		     iv_inject_expected((pid_t)req.pid, req.data.nr)) &&
		    req.data.arch == AUDIT_ARCH_X86_64) {
			struct iv_call c = {.cvm = who,
					     .tid = (pid_t)req.pid,
					     .child = child,
					     .id = req.id,
					     .nr = nr};
			memcpy(c.a, req.data.args, sizeof(c.a));
			if (!who->t[IV_T_FIRST_HC])
				iv_mark(who, IV_T_FIRST_HC);
			iv_cvm_caller(who, child ? proc : 0);
			r = iv_hostcall_dispatch(&c);
			iv_cvm_caller(who, 0);
		}
		__atomic_store_n(&leader->serving, NULL, __ATOMIC_SEQ_CST);
		if (who && __atomic_load_n(&who->ended, __ATOMIC_SEQ_CST))
			iv_run_wake(leader->run); /* its reap waited for this call */
		if (r != IV_HC_DEFER)
			iv_answer(leader->cell.listener, req.id, r);
	}
	__atomic_store_n(&leader->server_done, 1, __ATOMIC_SEQ_CST);
	iv_run_wake(leader->run);
	return NULL;
}

int iv_server_start(struct iv_cvm *cvm, struct iv_err *err)
{
	/* Stop requests arrive as SIGUSR1, which the lifecycle loop keeps blocked. */
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &set, &old);
	int rc = pthread_create(&cvm->server, NULL, serve, cvm);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return iv_fail(err, "cVM '%s': cannot start its hostcall server: %s",
			       cvm->cfg->name, strerror(rc));
	cvm->server_running = 1;
	return 0;
}

int iv_server_stop(struct iv_cvm *cvm)
{
	if (!cvm->server_running)
		return 1;
	cvm->stopping = 1;
	if (!__atomic_load_n(&cvm->server_done, __ATOMIC_SEQ_CST)) {
		/* interrupts its RECV; sent again each round until it has returned */
		pthread_kill(cvm->server, SIGUSR1);
		return 0;
	}
	pthread_join(cvm->server, NULL);
	cvm->server_running = 0;
	return 1;
}
