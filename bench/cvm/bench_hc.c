/*
 * The hostcall cVM: args "NAME BATCHES CALLS".  After one warm-up batch it
 * times BATCHES batches of CALLS host_inspect() (hostcall 114, a full
 * seccomp-notify round trip to the monitor), each followed by a batch of
 * CALLS getppid (allowed by the cell's filter, so served by the kernel),
 * and leaves the per-batch times in cap file "bench".
 */
#include "cvm.h"

static int parse(const char *s, long *out)
{
	long v = 0;
	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 100000000)
			return -1;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return 0;
}

static long inspect_batch(long n)
{
	long bad = 0;
	for (long i = 0; i < n; i++)
		bad += host_inspect() != 1;
	return bad;
}

static void getppid_batch(long n)
{
	for (long i = 0; i < n; i++)
		iv_syscall6(SYS_getppid, 0, 0, 0, 0, 0, 0);
}

long cvm_main(long argc, char **argv)
{
	uint64_t t_first = bench_now();
	volatile struct bench_shm *s = bench_shm_map("bench_hc");
	if (!s)
		return 2;
	s->t_first = t_first;
	s->t_probed = bench_now();

	long nb = 0, nc = 0;
	if (argc != 3 || parse(argv[1], &nb) || parse(argv[2], &nc) || nb < 1 ||
	    nb > BENCH_MAX_BATCHES || nc < 1) {
		s->error = BENCH_ERR_ARGS;
		bench_done(s);
		return 3;
	}
	unsigned long mask[16];
	for (int i = 0; i < 16; i++)
		mask[i] = 0;
	long r = iv_syscall6(SYS_sched_getaffinity, 0, (long)sizeof(mask), (long)mask, 0, 0, 0);
	if (r <= 0) {
		s->error = BENCH_ERR_AFFINITY;
		bench_done(s);
		return 4;
	}
	s->affinity = mask[0];

	long bad = inspect_batch(nc); /* warm-up */
	getppid_batch(nc);
	for (long b = 0; b < nb; b++) {
		uint64_t t0 = bench_now();
		bad += inspect_batch(nc);
		uint64_t t1 = bench_now();
		getppid_batch(nc);
		uint64_t t2 = bench_now();
		s->hc_ns[b] = t1 - t0;
		s->native_ns[b] = t2 - t1;
	}
	s->nbatches = (uint64_t)nb;
	s->ncalls = (uint64_t)nc;
	s->bad = (uint64_t)bad;
	s->error = bad ? BENCH_ERR_INSPECT : BENCH_OK;
	s->t_exit = bench_now();
	bench_done(s);
	return bad ? 5 : 0;
}
