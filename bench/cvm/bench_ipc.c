/*
 * bench/ipc's cVMs: args "ROLE SIZE N ROUNDS".  ROLE is
 *
 *   recv    advertises stream IPC_STREAM (IPC_AREA bytes) and takes
 *           messages, registering its whole area each time, until every
 *           writer has ended
 *   send    probes IPC_STREAM; per round, writes N messages of SIZE bytes
 *           (after N/8 + 1 untimed ones) and notes the round's time
 *   callee  advertises call IPC_CALL (IPC_AREA bytes) and serves it on a
 *           thread; a call returns its size; a call of 1 byte ends it
 *   caller  probes IPC_CALL; per round, makes N calls with SIZE bytes
 *           (after N/8 + 1 untimed ones) and notes the round's time
 *   hc      per round, makes N hostcalls (inspect, 114: the monitor
 *           answers) after N/8 + 1 untimed ones and notes the round's time
 *   idle    ends at once (hc's partner, so that every run has two cVMs)
 *   nouter  an outer cVM (README "Nested cVMs"): its syscall_handler
 *           answers its inner's inspect with 1 and takes the inner's
 *           rounds (hostcall IPC_HC_RESULT) into cap file "bench"
 *   ninner  hc, as the inner of nouter: its hostcalls go to nouter's
 *           handler; it hands its rounds to it (it has no cap file)
 *
 * The timing roles leave their rounds in cap file "bench" (ipc.h).
 */
#include "cvm.h"
#include "ipc.h"

static char buf[IPC_AREA] __attribute__((aligned(4096)));
static char stack[64 << 10] __attribute__((aligned(16)));

static int parse(const char *s, long *out)
{
	long v = 0;
	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 1000000000)
			return -1;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return 0;
}

static void done(volatile struct ipc_shm *s, long err)
{
	if (!s)
		return;
	s->error = err;
	__asm__ volatile("" ::: "memory");
	s->magic = IPC_MAGIC;
}

static volatile struct ipc_shm *shm(void)
{
	void *loc = 0;
	long size = 0;
	if (host_cap_file_prb(IPC_CAP, &loc, &size) < 0 || size < (long)sizeof(struct ipc_shm))
		return 0;
	return (volatile struct ipc_shm *)loc;
}

/* The other side may not have advertised yet. */
static long probe(int call)
{
	struct iv_timespec ms = {0, 1000000};
	long id = -2;
	for (int i = 0; i < 10000 && id == -2; i++) {
		id = call ? host_cc_prb(IPC_CALL) : host_cs_prb(IPC_STREAM);
		if (id == -2)
			host_nanosleep(&ms, 0);
	}
	return id;
}

static long recv(void)
{
	long id = host_cs_adv(buf, IPC_AREA, IPC_STREAM, 0);
	if (id < 0)
		return 1;
	for (;;) {
		long r = host_cs_register(id, buf, IPC_AREA);
		if (r == 0)
			r = host_cap_wait(id);
		if (r < 0)
			return r == -32 ? 0 : 1; /* EPIPE: the writer has ended */
	}
}

static long one(long id, int call, long size)
{
	long v;
	if (call)
		return host_make_cap_call(id, buf, size, &v) ? -1 : v;
	return host_cs_write(id, buf, size);
}

static long timed(int call, long size, long n, long rounds)
{
	volatile struct ipc_shm *s = shm();
	long id = probe(call);
	if (!s || id < 0) {
		done(s, id < 0 ? id : -1);
		return 1;
	}
	for (long r = 0; r < rounds; r++) {
		for (long i = 0; i < n / 8 + 1; i++)
			if (one(id, call, size) != size) {
				done(s, -5);
				return 1;
			}
		uint64_t t0 = bench_now();
		for (long i = 0; i < n; i++)
			if (one(id, call, size) != size) {
				done(s, -5);
				return 1;
			}
		s->ns[r] = bench_now() - t0;
	}
	s->rounds = (uint64_t)rounds;
	if (call)
		host_make_cap_call(id, buf, 1, 0); /* the callee ends */
	done(s, 0);
	return 0;
}

static long entry(long id, void *dev)
{
	(void)dev;
	void *where;
	long size;
	host_fetch_cap_call(id, &where, &size);
	if (size == 1) {
		host_fin_cap_call(id, 1);
		host_exit();
	}
	return size;
}

static void serve(long id)
{
	host_cc_serve(id, entry, 0);
	host_exit_code(1);
}

static long callee(void)
{
	long id = host_cc_adv(IPC_CALL, IPC_AREA, 0);
	if (id < 0 || iv_thread_spawn(serve, id, stack, sizeof(stack)) < 0)
		return 1;
	struct iv_timespec s = {1, 0};
	for (;;)
		host_nanosleep(&s, 0);
}

/* ---- hostcalls: the monitor's and a nested one ---- */

static long hc_rounds(long n, long rounds, uint64_t *ns)
{
	for (long r = 0; r < rounds; r++) {
		for (long i = 0; i < n / 8 + 1; i++)
			if (host_inspect() != 1)
				return -5;
		uint64_t t0 = bench_now();
		for (long i = 0; i < n; i++)
			host_inspect();
		ns[r] = bench_now() - t0;
	}
	return 0;
}

static uint64_t rounds_ns[IPC_MAX_ROUNDS];

static long hc(long n, long rounds)
{
	volatile struct ipc_shm *s = shm();
	if (!s)
		return 1;
	long r = hc_rounds(n, rounds, rounds_ns);
	for (long i = 0; i < rounds; i++)
		s->ns[i] = rounds_ns[i];
	s->rounds = (uint64_t)rounds;
	done(s, r);
	return r ? 1 : 0;
}

static volatile struct ipc_shm *outer_shm;
static struct iv_inner inner;
static volatile int outer_ready;

long syscall_handler(long nr, long a0, long a1, long a2, long a3, long a4, long a5);
long syscall_handler(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	(void)a2, (void)a3, (void)a4, (void)a5;
	if (nr == HC_INSPECT)
		return 1;
	if (nr == IPC_HC_RESULT) { /* (error, rounds, its uint64_t ns[rounds]) */
		struct iv_timespec ms = {0, 1000000};
		while (!outer_ready)
			host_nanosleep(&ms, 0);
		volatile struct ipc_shm *s = outer_shm;
		if (!s || a1 < 0 || a1 > IPC_MAX_ROUNDS ||
		    !iv_inner_has(&inner, (unsigned long)a2, (unsigned long)a1 * 8))
			return -22;
		const uint64_t *ns = (const uint64_t *)a2; /* in the inner: ours to read */
		for (long i = 0; i < a1; i++)
			s->ns[i] = ns[i];
		s->rounds = (uint64_t)a1;
		done(s, a0);
		return 0;
	}
	return nr == HC_EXIT ? 0 : -38;
}

static long nouter(void)
{
	outer_shm = shm();
	if (host_get_my_inner(0, &inner))
		outer_shm = 0;
	outer_ready = 1;
	return outer_shm ? 0 : 1; /* (its exit waits for its inner's) */
}

static long ninner(long n, long rounds)
{
	long r = hc_rounds(n, rounds, rounds_ns);
	return iv_hostcall(IPC_HC_RESULT, r, rounds, (long)rounds_ns) ? 1 : 0;
}

long cvm_main(long argc, char **argv)
{
	long size = 0, n = 0, rounds = 0;
	if (argc != 4 || parse(argv[1], &size) || parse(argv[2], &n) || parse(argv[3], &rounds) ||
	    size < 1 || size > (long)IPC_AREA || n < 1 || rounds < 1 || rounds > IPC_MAX_ROUNDS)
		return 2;
	if (!strcmp(argv[0], "recv"))
		return recv();
	if (!strcmp(argv[0], "callee"))
		return callee();
	if (!strcmp(argv[0], "send"))
		return timed(0, size, n, rounds);
	if (!strcmp(argv[0], "caller"))
		return timed(1, size, n, rounds);
	if (!strcmp(argv[0], "hc"))
		return hc(n, rounds);
	if (!strcmp(argv[0], "idle"))
		return 0;
	if (!strcmp(argv[0], "nouter"))
		return nouter();
	if (!strcmp(argv[0], "ninner"))
		return ninner(n, rounds);
	return 2;
}
