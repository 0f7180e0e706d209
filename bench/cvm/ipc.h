/*
 * ipc.h - what bench/ipc's cVMs (bench/cvm/bench_ipc.c) leave in cap file
 * "bench" for bench/ipc to read back: the time of each timed round.
 * Shared by the host program and the freestanding cVMs.
 */
#ifndef BENCH_IPC_H
#define BENCH_IPC_H

#include <stdint.h>

#define IPC_CAP	       "bench"
#define IPC_CAP_SIZE   4096
#define IPC_MAGIC      0x3143504956495649ULL /* "IVIVIPC1": the cVM finished writing */
#define IPC_MAX_ROUNDS 64
#define IPC_STREAM     "ipc-stream"
#define IPC_CALL       "ipc-call"
#define IPC_AREA       (4UL << 20) /* the receiver's area, the callee's buffer */
#define IPC_HC_RESULT  999	   /* a nested inner hands its rounds to its outer */

struct ipc_shm {
	uint64_t magic;		     /* IPC_MAGIC once the rest is written */
	int64_t error;		     /* 0, or the first failure (-errno) */
	uint64_t rounds;	     /* how many ns[] hold */
	uint64_t ns[IPC_MAX_ROUNDS]; /* one timed round of N messages or calls */
};

_Static_assert(sizeof(struct ipc_shm) <= IPC_CAP_SIZE, "ipc_shm must fit the cap file");

#endif
