/*
 * check.h - the unit tests' tiny harness.  Each check is a function
 * returning 1 when the behaviour holds; RUN(fn) runs it under its own name
 * and prints "ok NAME" or "FAIL NAME: expected ..., got ...".  The EXPECT
 * macros record what went wrong and make the check return 0.  main() ends
 * with check_summary(), which prints "N passed, N failed" and gives the
 * exit status.
 */
#ifndef CHECK_H
#define CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;
static char check_msg[1024];

/* The primitive: one named check, its outcome and (on failure) why. */
#define CHECK(name, cond, ...)                                                                     \
	do {                                                                                       \
		if (cond) {                                                                        \
			check_passed++;                                                            \
			printf("ok %s\n", (name));                                                 \
		} else {                                                                           \
			check_failed++;                                                            \
			printf("FAIL %s: ", (name));                                               \
			printf(__VA_ARGS__);                                                       \
			printf("\n");                                                              \
		}                                                                                  \
		fflush(stdout);                                                                    \
	} while (0)

#define RUN(fn)                                                                                    \
	do {                                                                                       \
		check_msg[0] = 0;                                                                  \
		int ok_ = fn();                                                                    \
		CHECK(#fn, ok_, "%s", check_msg[0] ? check_msg : "(no reason given)");             \
	} while (0)

/* Inside a check function: fail it with a message. */
#define EXPECT(cond, ...)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			snprintf(check_msg, sizeof(check_msg), __VA_ARGS__);                       \
			return 0;                                                                  \
		}                                                                                  \
	} while (0)

#define EXPECT_EQ(got, want)                                                                       \
	do {                                                                                       \
		uint64_t g_ = (uint64_t)(got), w_ = (uint64_t)(want);                              \
		EXPECT(g_ == w_, "expected %s == 0x%" PRIx64 ", got 0x%" PRIx64, #got, w_, g_);    \
	} while (0)

#define EXPECT_STR(got, want)                                                                      \
	do {                                                                                       \
		const char *g_ = (got), *w_ = (want);                                              \
		EXPECT(g_ && !strcmp(g_, w_), "expected %s == \"%s\", got \"%s\"", #got, w_,       \
		       g_ ? g_ : "(null)");                                                        \
	} while (0)

/* haystack contains needle */
#define EXPECT_HAS(hay, needle)                                                                    \
	do {                                                                                       \
		const char *h_ = (hay), *n_ = (needle);                                            \
		EXPECT(strstr(h_, n_), "expected \"%s\" in %s, got \"%s\"", n_, #hay, h_);         \
	} while (0)

static inline int check_summary(void)
{
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed ? 1 : 0;
}

#endif
