/*
 * The start-up cVM (args "NAME SLOT [US]"): reads CLOCK_MONOTONIC as its
 * very first action, then probes cap file "bench", leaves its timestamps in
 * slot SLOT there and exits (after US microseconds, if given).
 */
#include "cvm.h"

long cvm_main(long argc, char **argv)
{
	uint64_t t_first = bench_now();
	volatile struct bench_shm *s = bench_shm_map("bench_start");
	if (!s)
		return 2;
	uint64_t t_probed = bench_now();
	unsigned long slot = 0;
	const char *p = argc >= 2 ? argv[1] : "";
	if (!*p)
		return 3;
	for (; *p; p++) {
		if (*p < '0' || *p > '9' || slot >= BENCH_MAX_SLOTS)
			return 3;
		slot = slot * 10 + (unsigned long)(*p - '0');
	}
	if (slot >= BENCH_MAX_SLOTS)
		return 3;
	volatile struct bench_start_slot *b = (volatile struct bench_start_slot *)s + slot;
	b->t_first = t_first;
	b->t_probed = t_probed;
	b->t_exit = bench_now();
	__asm__ volatile("" ::: "memory");
	b->magic = BENCH_MAGIC;
	/* "NAME SLOT US": then US microseconds of rest (room for the monitor
	 * to make the next cVM's cell ahead: bench/hostcall.c's pool runs) */
	unsigned long us = 0;
	for (p = argc == 3 ? argv[2] : ""; *p >= '0' && *p <= '9' && us < 10000000; p++)
		us = us * 10 + (unsigned long)(*p - '0');
	if (us) {
		struct iv_timespec ts = {(long)(us / 1000000), (long)(us % 1000000) * 1000};
		host_nanosleep(&ts, 0);
	}
	host_exit();
}
