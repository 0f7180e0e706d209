/*
 * A template with an expensive initialisation: it fills N MiB of heap (its
 * args, default 1; at most 64), then calls host_save.  Forks come back with
 * the whole heap already there, shared copy-on-write with the template: a
 * fork with args "read" sums it, one with "write" rewrites it (and pays for
 * its own copies).
 */
#include "intravisor.h"

#define HEAP_MAX (64L << 20)

static unsigned char heap[HEAP_MAX] __attribute__((aligned(4096)));
static long heap_len; /* set by the template, seen by every fork */

static long num(const char *s)
{
	long v = 0;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (*s++ - '0');
	return v;
}

static void say(const char *what, long n)
{
	char buf[24];
	iv_puts(what);
	iv_puts(iv_itoa(n, buf));
	iv_puts("\n");
}

long heap_main(void)
{
	char arg[64];
	host_get_arg(arg, sizeof(arg));
	long mib = arg[0] >= '0' && arg[0] <= '9' ? num(arg) : 1;
	long len = mib << 20 < HEAP_MAX ? mib << 20 : HEAP_MAX;
	if (host_inspect()) {
		for (long i = 0; i < len; i += 8)
			*(long *)(heap + i) = (i >> 3) * 2654435761L;
		heap_len = len;
		say("heap: template initialised MiB: ", len >> 20);
	}
	host_save();

	host_get_arg(arg, sizeof(arg));
	long sum = 0;
	if (!strcmp(arg, "write")) {
		for (long i = 0; i < heap_len; i += 4096)
			heap[i]++;
		say("heap: fork rewrote every page, MiB: ", heap_len >> 20);
	} else {
		for (long i = 0; i < heap_len; i += 4096)
			sum += *(long *)(heap + i + 8) & 0xff;
		say("heap: fork read, checksum ", sum);
	}
	host_exit();
}
