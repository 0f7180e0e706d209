/*
 * bench.h - what the benchmark's cVMs leave in cap file "bench" for
 * bench/hostcall to read back from the cap's memfd.  Shared by the host
 * program and the freestanding cVMs, so fixed-size types only.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdint.h>

#define BENCH_CAP	  "bench"
#define BENCH_CAP_SIZE	  4096
#define BENCH_MAGIC	  0x314843424e455649ULL /* "IVENBCH1": the cVM finished writing */
#define BENCH_MAX_BATCHES 240

/* What went wrong inside a cVM (bench_shm.error). */
enum bench_cvm_error {
	BENCH_OK = 0,
	BENCH_ERR_ARGS = 1,	/* argv is not "NAME BATCHES CALLS" within limits */
	BENCH_ERR_AFFINITY = 2, /* sched_getaffinity failed */
	BENCH_ERR_INSPECT = 3,	/* host_inspect() returned something other than 1 */
};

struct bench_shm {
	uint64_t magic;	   /* BENCH_MAGIC once everything below is written */
	uint64_t error;	   /* enum bench_cvm_error */
	uint64_t t_first;  /* CLOCK_MONOTONIC ns, the cVM's first action */
	uint64_t t_probed; /* right after host_cap_file_prb(BENCH_CAP) returned */
	uint64_t t_exit;   /* right before host_exit() */
	uint64_t affinity; /* first word of the cell's CPU mask */
	uint64_t nbatches, ncalls, bad;
	uint64_t hc_ns[BENCH_MAX_BATCHES];     /* ns per batch of ncalls host_inspect() */
	uint64_t native_ns[BENCH_MAX_BATCHES]; /* ns per batch of ncalls getppid in the cell */
};

_Static_assert(sizeof(struct bench_shm) <= BENCH_CAP_SIZE, "bench_shm must fit the cap file");

/* The start-up cVM (args "NAME SLOT") fills slot SLOT of the cap instead, so
 * that many of them deployed one after the other by one monitor run can
 * share the cap file. */
struct bench_start_slot {
	uint64_t magic;	   /* BENCH_MAGIC once the rest is written */
	uint64_t t_first;  /* CLOCK_MONOTONIC ns, the cVM's first action */
	uint64_t t_probed; /* right after host_cap_file_prb(BENCH_CAP) returned */
	uint64_t t_exit;   /* right before host_exit() */
};

#define BENCH_MAX_SLOTS (BENCH_CAP_SIZE / sizeof(struct bench_start_slot))

#endif
