/* The basic hostcalls: console, exit, identity, arguments, time. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "basic.h"

#define WRITE_MAX (1 << 20)

static long hc_write(struct iv_call *c)
{
	uint64_t addr = c->a[0], len = c->a[1];
	char buf[4096];
	if (len > WRITE_MAX)
		return -EINVAL;
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done < sizeof(buf) ? (size_t)(len - done) : sizeof(buf);
		int r = iv_cvm_read(c->cvm, addr + done, buf, n);
		if (r)
			return done ? (long)done : r;
		iv_cvm_console(c->cvm, buf, n);
		done += n;
	}
	return (long)len;
}

static long hc_exit(struct iv_call *c)
{
	struct iv_cvm *cvm = c->cvm;
	pthread_mutex_lock(&cvm->lock);
	if (!cvm->exit_by_hostcall) {
		iv_mark(cvm, IV_T_EXIT);
		cvm->exit_by_hostcall = 1;
		cvm->exit_code = (long)c->a[0];
	}
	pthread_mutex_unlock(&cvm->lock);
	iv_cvm_kill(cvm);
	return 0;
}

/* 1 in a cVM started from scratch (a template or a plain cVM), 0 in a fork. */
static long hc_inspect(struct iv_call *c)
{
	return c->cvm->cfg->resume ? 0 : 1;
}

/* Copies the args string with its NUL (truncated to size); returns its length. */
static long hc_get_arg(struct iv_call *c)
{
	const char *args = c->cvm->args ? c->cvm->args : "";
	uint64_t size = c->a[1];
	size_t len = strlen(args);
	if (size == 0)
		return (long)len;
	size_t n = len + 1 <= size ? len + 1 : (size_t)size;
	char tmp[4096];
	if (n > sizeof(tmp))
		n = sizeof(tmp);
	memcpy(tmp, args, n);
	tmp[n - 1] = 0;
	int r = iv_cvm_write(c->cvm, c->a[0], tmp, n);
	return r ? r : (long)len;
}

/* Answered by the main thread when the time comes: the server goes on
 * serving meanwhile.  The sleep is never cut short, so rem is not written. */
static long hc_nanosleep(struct iv_call *c)
{
	struct timespec req;
	int r = iv_cvm_read(c->cvm, c->a[0], &req, sizeof(req));
	if (r)
		return r;
	if (req.tv_sec < 0 || req.tv_nsec < 0 || req.tv_nsec >= 1000000000L)
		return -EINVAL;
	if (req.tv_sec > 100L * 365 * 86400)
		req.tv_sec = 100L * 365 * 86400;
	uint64_t deadline =
		iv_now_ns() + (uint64_t)req.tv_sec * 1000000000ULL + (uint64_t)req.tv_nsec;
	if (iv_run_add_timer(c->cvm, c->tid, deadline, c->cvm->leader->cell.listener, c->id))
		return -EAGAIN;
	return IV_HC_DEFER;
}

static long hc_gettimeofday(struct iv_call *c)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	if (c->a[1]) {
		struct timezone tz = {0, 0};
		int r = iv_cvm_write(c->cvm, c->a[1], &tz, sizeof(tz));
		if (r)
			return r;
	}
	return iv_cvm_write(c->cvm, c->a[0], &tv, sizeof(tv));
}

static int start(struct iv_run *run, struct iv_err *err)
{
	(void)run, (void)err;
	iv_hostcall_register(HC_WRITE, "write", hc_write);
	iv_hostcall_register(HC_EXIT, "exit", hc_exit);
	iv_hostcall_register(HC_INSPECT, "inspect", hc_inspect);
	iv_hostcall_register(HC_GET_ARG, "get_arg", hc_get_arg);
	iv_hostcall_register(HC_NANOSLEEP, "nanosleep", hc_nanosleep);
	iv_hostcall_register(HC_GETTIMEOFDAY, "gettimeofday", hc_gettimeofday);
	return 0;
}

struct iv_feature iv_feature_basic = {
	.name = "basic hostcalls",
	.start = start,
};
