/*
 * The per-cell server: one monitor thread that receives the cell's seccomp
 * notifications, serves them from the hostcall table and answers.  One
 * blocking ioctl in, one out: nothing else on the hostcall path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "iv.h"

static void *serve(void *arg)
{
	struct iv_cvm *cvm = arg;
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;

	while (!cvm->stopping) {
		memset(&req, 0, sizeof(req));
		if (ioctl(cvm->listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
			if (errno == EINTR)
				continue; /* a stop request */
			if (errno == ENOENT) {
				/* The caller died meanwhile.  Once no task uses the filter
				 * the listener hangs up and RECV would fail at once, again
				 * and again: the server's work is done. */
				struct pollfd pfd = {cvm->listener, POLLIN, 0};
				if (poll(&pfd, 1, -1) == 1 && (pfd.revents & POLLHUP))
					break;
				continue;
			}
			iv_log("cVM '%s': hostcall server: %s", cvm->cfg->name, strerror(errno));
			break;
		}
		struct iv_call c = {
			.cvm = cvm,
			.tid = (pid_t)req.pid,
			.id = req.id,
			.nr = req.data.nr - IV_HC_BASE,
		};
		memcpy(c.a, req.data.args, sizeof(c.a));
		if (!cvm->t_first_hc_ns)
			cvm->t_first_hc_ns = iv_now_ns();
		long r = req.data.arch == AUDIT_ARCH_X86_64 ? iv_hostcall_dispatch(&c) : -ENOSYS;
		resp.id = req.id;
		resp.val = r < 0 ? 0 : r;
		resp.error = r < 0 ? (int)r : 0;
		resp.flags = 0;
		ioctl(cvm->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
	}
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
		return iv_fail(err, "cVM '%s': cannot start its hostcall server: %s", cvm->cfg->name,
			       strerror(rc));
	cvm->server_running = 1;
	return 0;
}

void iv_server_stop(struct iv_cvm *cvm)
{
	if (!cvm->server_running)
		return;
	cvm->stopping = 1;
	for (;;) {
		pthread_kill(cvm->server, SIGUSR1);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 5 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (pthread_timedjoin_np(cvm->server, NULL, &ts) == 0)
			break;
	}
	cvm->server_running = 0;
}
