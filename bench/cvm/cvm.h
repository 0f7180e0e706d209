/* Helpers for the benchmark's freestanding cVMs. */
#ifndef BENCH_CVM_H
#define BENCH_CVM_H

#include "../bench.h"
#include "intravisor.h"

#define SYS_getppid	      110
#define SYS_sched_getaffinity 204
#define SYS_clock_gettime     228
#define CLOCK_MONOTONIC	      1

/* A raw clock_gettime: natively allowed in a cell, and a cVM has no vDSO. */
static inline __attribute__((always_inline)) uint64_t bench_now(void)
{
	struct iv_timespec ts;
	iv_syscall6(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts, 0, 0, 0, 0);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Maps cap file "bench"; NULL (after saying why on the console) when it cannot. */
static inline volatile struct bench_shm *bench_shm_map(const char *who)
{
	void *loc = 0;
	long size = 0;
	long r = host_cap_file_prb(BENCH_CAP, &loc, &size);
	if (r < 0 || size < (long)sizeof(struct bench_shm)) {
		char num[24];
		iv_puts(who);
		iv_puts(": cannot probe cap file '" BENCH_CAP "': ");
		iv_puts(iv_itoa(r < 0 ? r : size, num));
		iv_puts("\n");
		return 0;
	}
	return (volatile struct bench_shm *)loc;
}

/* Publishes everything written so far: the host reads magic last. */
static inline void bench_done(volatile struct bench_shm *s)
{
	__asm__ volatile("" ::: "memory");
	s->magic = BENCH_MAGIC;
}

#endif
