/*
 * The seed's two_layers example, outer layer: it prints its own line, then
 * serves its inner cVM's hostcalls (README "Nested cVMs").  The inner's
 * write (1) becomes the outer's own write of the same bytes, which it
 * reads where the inner wrote them: the inner lies inside the outer.
 */
#include "intravisor.h"

#define EFAULT 14
#define ENOSYS 38

static struct iv_inner inner;
static volatile int ready; /* the outer's own line is out */

long syscall_handler(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	struct iv_timespec ms = {0, 1000000};
	(void)a2, (void)a3, (void)a4, (void)a5;
	while (!ready)
		host_nanosleep(&ms, 0);
	switch (nr) {
	case HC_WRITE:
		if (!iv_inner_has(&inner, (unsigned long)a0, (unsigned long)a1))
			return -EFAULT; /* not the inner's memory: never ours */
		return host_write((const char *)a0, a1);
	case HC_EXIT:
		return 0; /* nothing to flush */
	default:
		return -ENOSYS;
	}
}

int outer_main(void)
{
	if (host_get_my_inner(0, &inner))
		return 1;
	iv_puts("hello outer layer\n");
	ready = 1;
	return 0; /* (the monitor ends it once its inner has ended) */
}
