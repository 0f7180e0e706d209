/*
 * iv_base.h - what every layer of the monitor uses: errors, the log, time.
 *
 * Error convention: every fallible function takes a struct iv_err * and
 * returns -1 after filling it with one line that names what was wrong and
 * where; 0 (or a non-negative value) means success.
 */
#ifndef IV_BASE_H
#define IV_BASE_H

#include <stdint.h>

#define IV_PAGE		 4096UL
#define IV_ALIGN_DOWN(x) ((x) & ~(IV_PAGE - 1))
#define IV_ALIGN_UP(x)	 (((x) + IV_PAGE - 1) & ~(IV_PAGE - 1))

struct iv_err {
	char msg[512];
};

/* Formats the message into err and returns -1.  err may be NULL. */
int iv_fail(struct iv_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Verbosity of the monitor's own log (-v); messages go to stderr. */
extern int iv_verbose;
void iv_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void iv_vlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* CLOCK_MONOTONIC in ns. */
uint64_t iv_now_ns(void);

#endif
