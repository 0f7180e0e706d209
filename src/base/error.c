/* The one error convention, and the monitor's log. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "iv_base.h"

int iv_verbose;

int iv_fail(struct iv_err *err, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -1;
}

static void vlog_line(const char *fmt, va_list ap)
{
	char line[1024];
	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "MON: %s\n", line);
}

void iv_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog_line(fmt, ap);
	va_end(ap);
}

void iv_vlog(const char *fmt, ...)
{
	if (!iv_verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	vlog_line(fmt, ap);
	va_end(ap);
}

uint64_t iv_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
