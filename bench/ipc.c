/*
 * bench/ipc - cap streams and cap calls between cVMs against their peers
 * between two plain processes, measured in the same run, for messages of
 * 64 B, 4 KiB, 64 KiB and 4 MiB:
 *
 *   (a) stream throughput: a cVM writing N messages into another cVM's
 *       stream (each lands in the receiver's registered buffer), against
 *       a pipe, a Unix stream socket (socketpair) and the limit: memcpy
 *       into memory two processes share, each message handed over by a
 *       flag the receiver spins on and acknowledges (no system call at
 *       all).  Every peer, like the stream, has one message in flight.
 *   (b) call round trip: a cVM calling another's function with a buffer
 *       of SIZE bytes (the callee returns at once), against a futex
 *       ping-pong between two processes (no data: the limit) and a pipe
 *       round trip (SIZE bytes there, 8 back).
 *   (e) hostcall round trip: a nested hostcall (an inner cVM's inspect,
 *       answered by its outer cVM's syscall_handler, README "Nested
 *       cVMs") against a monitor hostcall (a cVM's inspect, answered by
 *       the monitor), N calls per round after N/8 + 1 untimed ones.
 *
 * Each is measured with each side on a CPU of its own, and with both on
 * one CPU (the placement the call target names: the same-core
 * futex ping-pong).  The monitor runs in this process
 * (build/libintravisor.a).  Medians over rounds, the kinds interleaved
 * round by round so that drift hits all alike: a cap stream or call round
 * is one monitor run of two freestanding cVMs (bench/cvm/bench_ipc.c), N
 * messages or calls timed after N/8 + 1 untimed ones; a peer round is a
 * fresh pair of processes doing the same.  `make bench-ipc` builds what
 * it needs next to it.  Exit status: 0 when everything ran (whether or
 * not a target is met), 1 on any error, 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "cvm/ipc.h"
#include "iv.h"

static const char usage[] =
	"usage: ipc [-r ROUNDS] [-p two|one|both] [-s SECTIONS] [-v]\n"
	"  -r ROUNDS   timed rounds of each measurement (default 7; at most 64)\n"
	"  -p WHERE    two: each side on a CPU of its own; one: both sides on one CPU;\n"
	"              both (default): each measurement both ways\n"
	"  -s SECTIONS what to measure, any of s (streams), c (calls), h (hostcalls:\n"
	"              nested against the monitor's); default sch\n"
	"  -v          show the monitor's own output (MON: lines) as it runs\n";

const struct bench_prog bench_prog = {
	.name = "ipc",
	.usage = usage,
	.make_target = "bench-ipc",
	.timeout_s = 60,
};

static const long sizes[] = {64, 4096, 65536, 4L << 20};
#define NSIZES 4

static int rounds = 7;
static const char *sections = "sch";
static cpu_set_t all_cpus;

/* Messages per round: about 128 MiB, at least 32 and at most 20000. */
static long count_stream(long size)
{
	long n = (128L << 20) / size;
	return n < 32 ? 32 : n > 20000 ? 20000 : n;
}

/* Calls per round: about 32 MiB of arguments, 16 to 5000. */
static long count_call(long size)
{
	long n = (32L << 20) / size;
	return n < 16 ? 16 : n > 5000 ? 5000 : n;
}

/* The CPUs: cpu_a takes the server side (receiver, callee), cpu_b the
 * other; on one CPU both are cpu_b. */
static int cpu_a = -1, cpu_b = -1, one_cpu;

static void pin(pid_t pid, int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(pid, sizeof(set), &set))
		die("sched_setaffinity(CPU %d): %s", cpu, strerror(errno));
}

/* ---- the cVMs ---- */

/* The server's cell is spawned on cpu_a (this thread's CPU while the
 * monitor runs: a cell keeps the CPU of the thread that spawned it, and so
 * do the threads it makes); a helper moves the client's cell, one thread,
 * to cpu_b as soon as it exists (it is still in its stub then, waiting for
 * the monitor's go, or probing for the server's key). */
struct mover {
	struct iv_run *run;
	pthread_t thread;
	volatile int stop;
};

static void *mover_main(void *arg)
{
	struct mover *m = arg;
	pid_t pid = 0;
	while (!m->stop && !(pid = __atomic_load_n(&m->run->cvms[1].cell.pid, __ATOMIC_ACQUIRE)))
		sleep_ns(20000);
	if (pid > 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu_b, &set);
		sched_setaffinity(pid, sizeof(set), &set);
	}
	return NULL;
}

static void mover_start(struct iv_run *run, void *ctx)
{
	struct mover *m = ctx;
	m->run = run;
	m->stop = 0;
	if (pthread_create(&m->thread, NULL, mover_main, m))
		die("pthread_create: %s", strerror(errno));
}

static void mover_end(struct iv_run *run, void *ctx)
{
	(void)run;
	struct mover *m = ctx;
	m->stop = 1;
	pthread_join(m->thread, NULL);
}

/* ---- the cVMs ---- */

static int check_shm(const struct iv_run *run, const void *cap, const void *ctx, char *why,
		     size_t len)
{
	(void)run;
	(void)ctx;
	const struct ipc_shm *s = cap;
	if (s->magic != IPC_MAGIC || s->error || s->rounds != 1) {
		snprintf(why, len, "the timing cVM left magic %llx, error %lld, %llu rounds",
			 (unsigned long long)s->magic, (long long)s->error,
			 (unsigned long long)s->rounds);
		return -1;
	}
	return 0;
}

/* One monitor run of the config g holds, whose second cVM is the one that
 * the mover puts on cpu_b; returns ns per message, call or hostcall of the
 * one timed round the cVMs left in the cap file. */
static double run_pair(struct gen *g, const char *label, long n)
{
	struct iv_config cfg;
	struct iv_err err;
	if (gen_end(g, label, &cfg, &err))
		die("%s", err.msg);
	static struct ipc_shm shm;
	struct cvm_times t[2];
	struct mover m;
	struct bench_hooks hooks = {mover_start, mover_end, &m};
	struct bench_run r = {
		.cap_name = IPC_CAP,
		.cap = &shm,
		.cap_size = sizeof(shm),
		.t = t,
		.max_cvms = 2,
		.check = check_shm,
		.hooks = one_cpu ? NULL : &hooks,
	};
	pin(0, one_cpu ? cpu_b : cpu_a);
	bench_run_monitor(&cfg, &r, NULL, 0);
	pin(0, cpu_b);
	iv_config_free(&cfg);
	return (double)shm.ns[0] / (double)n;
}

/* One monitor run: the server role in range 0, the timing role in range 1;
 * returns ns per message or call of its one timed round. */
static double cvm_pair(const char *server, const char *client, long size, long n)
{
	char so[PATH_MAX + 64], a[128], b[128];
	bench_cvm_path(so, sizeof(so), "bench_ipc.so");
	snprintf(a, sizeof(a), "%s %ld %ld 1", server, size, n);
	snprintf(b, sizeof(b), "%s %ld %ld 1", client, size, n);
	struct gen g;
	gen_begin(&g, IPC_CAP, IPC_CAP_SIZE, so);
	gen_cvm(&g, server, a, 0, 0, 0, NULL);
	gen_cvm(&g, client, b, 0, 1, 0, NULL);
	return run_pair(&g, client, n);
}

/* One monitor run timing N hostcalls: a monitor hostcall (an idle cVM and
 * the timing one) or a nested one (the timing cVM inside an outer cVM
 * whose image sits above it); ns per hostcall. */
static double hc_pair(int nested, long n)
{
	char so[PATH_MAX + 64], a[128];
	bench_cvm_path(so, sizeof(so), "bench_ipc.so");
	struct gen g;
	gen_begin(&g, IPC_CAP, IPC_CAP_SIZE, so);
	if (!nested) {
		snprintf(a, sizeof(a), "hc 1 %ld 1", n);
		gen_cvm(&g, "idle", "idle 1 1 1", 0, 0, 0, NULL);
		gen_cvm(&g, "hc", a, 0, 1, 0, NULL);
		return run_pair(&g, "hc", n);
	}
	fprintf(g.f,
		"- name: nouter\n  runtime: \"%s\"\n  args: \"nouter 1 %ld 1\"\n  isolation:\n"
		"  - {base: 0x%lx, size: 0x%lx, begin: 0x%lx, end: 0x%lx}\n",
		so, n, CVM_BASE + CVM_SIZE, 2 * CVM_SIZE, CVM_BASE, CVM_BASE + 2 * CVM_SIZE);
	fprintf(g.f,
		"- name: ninner\n  runtime: \"%s\"\n  args: \"ninner 1 %ld 1\"\n"
		"  callback_out: nouter\n  isolation:\n"
		"  - {base: 0x%lx, size: 0x%lx, begin: 0x%lx, end: 0x%lx}\n",
		so, n, CVM_BASE, CVM_SIZE, CVM_BASE, CVM_BASE + CVM_SIZE);
	g.n += 2;
	return run_pair(&g, "ninner", n);
}

/* ---- peers: two processes ---- */

static void *shared(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap %zu bytes: %s", len, strerror(errno));
	return p;
}

static void write_all(int fd, const char *p, long n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, (size_t)n);
		if (w <= 0)
			die("write: %s", strerror(errno));
		p += w;
		n -= w;
	}
}

static void read_all(int fd, char *p, long n)
{
	while (n > 0) {
		ssize_t r = read(fd, p, (size_t)n);
		if (r <= 0)
			die("read: %s", r ? strerror(errno) : "end of file");
		p += r;
		n -= r;
	}
}

/* The peer's server side, on cpu_a (this process stays on cpu_b). */
static pid_t child(void)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0)
		pin(0, one_cpu ? cpu_b : cpu_a);
	return pid;
}

static void reap(pid_t pid)
{
	int st = wait_child(pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		die("a peer process failed (status 0x%x)", st);
}

static char *src, *dst; /* IPC_AREA each: what is sent, where it is taken */

/* A pipe (sock 0) or a Unix stream socket (sock 1): warm-up messages, an
 * acknowledgement, n timed messages, an acknowledgement. */
static double stream_fd(int sock, long size, long n)
{
	int d[2], ack[2];
	if ((sock ? socketpair(AF_UNIX, SOCK_STREAM, 0, d) : pipe(d)) || pipe(ack))
		die("pipe: %s", strerror(errno));
	long warm = n / 8 + 1;
	pid_t pid = child();
	if (pid == 0) {
		close(d[1]);
		close(ack[0]);
		for (long i = 0; i < warm + n; i++) {
			read_all(d[0], dst, size);
			if (i == warm - 1 || i == warm + n - 1)
				write_all(ack[1], "a", 1);
		}
		_exit(0);
	}
	close(d[0]);
	close(ack[1]);
	char a;
	for (long i = 0; i < warm; i++)
		write_all(d[1], src, size);
	read_all(ack[0], &a, 1);
	uint64_t t0 = now_ns();
	for (long i = 0; i < n; i++)
		write_all(d[1], src, size);
	read_all(ack[0], &a, 1);
	uint64_t t1 = now_ns();
	close(d[1]);
	close(ack[0]);
	reap(pid);
	return (double)(t1 - t0) / (double)n;
}

struct flags {
	volatile uint64_t seq __attribute__((aligned(64)));
	volatile uint64_t ack __attribute__((aligned(64)));
};

/* Spins until *w == v, yielding now and then (on one CPU the other side
 * runs only when this one yields). */
static void spin_until(volatile uint64_t *w, uint64_t v)
{
	for (unsigned i = 1; __atomic_load_n(w, __ATOMIC_ACQUIRE) != v; i++) {
		__builtin_ia32_pause();
		if (i % 256 == 0)
			sched_yield();
	}
}

/* The limit: memcpy into shared memory, handed over by a flag. */
static double stream_memcpy(long size, long n)
{
	struct flags *f = shared(sizeof(*f));
	char *buf = shared((size_t)IPC_AREA);
	long warm = n / 8 + 1;
	pid_t pid = child();
	if (pid == 0) {
		for (uint64_t k = 1; k <= (uint64_t)(warm + n); k++) {
			spin_until(&f->seq, k);
			__atomic_store_n(&f->ack, k, __ATOMIC_RELEASE);
		}
		_exit(0);
	}
	uint64_t t0 = 0;
	for (uint64_t k = 1; k <= (uint64_t)(warm + n); k++) {
		if (k == (uint64_t)warm + 1)
			t0 = now_ns();
		memcpy(buf, src, (size_t)size);
		__atomic_store_n(&f->seq, k, __ATOMIC_RELEASE);
		spin_until(&f->ack, k);
	}
	uint64_t t1 = now_ns();
	reap(pid);
	munmap(f, sizeof(*f));
	munmap(buf, (size_t)IPC_AREA);
	return (double)(t1 - t0) / (double)n;
}

static long futex(volatile uint32_t *w, int op, uint32_t v)
{
	return syscall(SYS_futex, w, op, v, NULL, NULL, 0);
}

/* A futex ping-pong between two processes: ns per round trip. */
static double call_futex(long n)
{
	volatile uint32_t *w = shared(4096);
	long warm = n / 8 + 1;
	pid_t pid = child();
	if (pid == 0) {
		for (long i = 0; i < warm + n; i++) {
			while (__atomic_load_n(w, __ATOMIC_ACQUIRE) == 0)
				futex(w, FUTEX_WAIT, 0);
			__atomic_store_n(w, 0, __ATOMIC_RELEASE);
			futex(w, FUTEX_WAKE, 1);
		}
		_exit(0);
	}
	uint64_t t0 = 0;
	for (long i = 0; i < warm + n; i++) {
		if (i == warm)
			t0 = now_ns();
		__atomic_store_n(w, 1, __ATOMIC_RELEASE);
		futex(w, FUTEX_WAKE, 1);
		while (__atomic_load_n(w, __ATOMIC_ACQUIRE) == 1)
			futex(w, FUTEX_WAIT, 1);
	}
	uint64_t t1 = now_ns();
	reap(pid);
	munmap((void *)w, 4096);
	return (double)(t1 - t0) / (double)n;
}

/* A pipe round trip: size bytes there, 8 back. */
static double call_pipe(long size, long n)
{
	int there[2], back[2];
	if (pipe(there) || pipe(back))
		die("pipe: %s", strerror(errno));
	long warm = n / 8 + 1;
	char v[8] = {0};
	pid_t pid = child();
	if (pid == 0) {
		close(there[1]);
		close(back[0]);
		for (long i = 0; i < warm + n; i++) {
			read_all(there[0], dst, size);
			write_all(back[1], v, 8);
		}
		_exit(0);
	}
	close(there[0]);
	close(back[1]);
	uint64_t t0 = 0;
	for (long i = 0; i < warm + n; i++) {
		if (i == warm)
			t0 = now_ns();
		write_all(there[1], src, size);
		read_all(back[0], v, 8);
	}
	uint64_t t1 = now_ns();
	close(there[1]);
	close(back[0]);
	reap(pid);
	return (double)(t1 - t0) / (double)n;
}

/* ---- the report ---- */

enum { S_CAP, S_PIPE, S_UNIX, S_MEMCPY, S_N };
enum { C_CAP, C_FUTEX, C_PIPE, C_N };
static const char *const s_name[S_N] = {"cap stream", "pipe", "unix socket", "memcpy limit"};
static const char *const c_name[C_N] = {"cap call", "futex ping-pong", "pipe round trip"};

enum { H_MONITOR, H_NESTED, H_N };
static const char *const h_name[H_N] = {"monitor hostcall round trip",
					"nested hostcall round trip"};
#define HC_CALLS 20000 /* hostcalls per round */

/* medians, [placement][size][kind]: ns per message or call; [placement][kind] */
static double s_med[2][NSIZES][S_N], c_med[2][NSIZES][C_N], h_med[2][H_N];
static struct series s_ser[S_N], c_ser[C_N], h_ser[H_N];

static const char *size_str(long size)
{
	static char b[4][32];
	static int k;
	char *o = b[k++ % 4];
	if (size >= 1 << 20)
		snprintf(o, 32, "%ld MiB", size >> 20);
	else if (size >= 1 << 10)
		snprintf(o, 32, "%ld KiB", size >> 10);
	else
		snprintf(o, 32, "%ld B", size);
	return o;
}

static double mbps(long size, double ns)
{
	return ns > 0 ? (double)size / ns * 1000.0 : 0;
}

static void measure(int one)
{
	one_cpu = one;
	pin(0, cpu_b);
	char where[96];
	if (one)
		snprintf(where, sizeof(where), "both sides on CPU %d", cpu_b);
	else
		snprintf(where, sizeof(where), "each side on a CPU of its own (%d, %d)", cpu_a,
			 cpu_b);
	if (!strchr(sections, 's'))
		goto calls;
	printf("\n(%c) stream throughput, %s: MB/s, median of %d rounds [spread of the cap "
	       "stream]\n",
	       one ? 'c' : 'a', where, rounds);
	printf("  %-8s %12s %12s %12s %12s   %s\n", "size", s_name[0], s_name[1], s_name[2],
	       s_name[3], "stream/memcpy  stream/unix");
	for (int k = 0; k < NSIZES; k++) {
		long size = sizes[k], n = count_stream(size);
		for (int i = 0; i < S_N; i++)
			s_ser[i] = (struct series){.name = s_name[i]};
		for (int r = 0; r < rounds; r++) {
			series_add(&s_ser[S_CAP], cvm_pair("recv", "send", size, n));
			series_add(&s_ser[S_PIPE], stream_fd(0, size, n));
			series_add(&s_ser[S_UNIX], stream_fd(1, size, n));
			series_add(&s_ser[S_MEMCPY], stream_memcpy(size, n));
		}
		for (int i = 0; i < S_N; i++)
			s_med[one][k][i] = series_median(&s_ser[i]);
		double *m = s_med[one][k];
		printf("  %-8s %12.0f %12.0f %12.0f %12.0f   %8.2fx %12.2fx   %s\n", size_str(size),
		       mbps(size, m[S_CAP]), mbps(size, m[S_PIPE]), mbps(size, m[S_UNIX]),
		       mbps(size, m[S_MEMCPY]), m[S_MEMCPY] / m[S_CAP], m[S_UNIX] / m[S_CAP],
		       series_spread(&s_ser[S_CAP], 0));
	}
calls:
	if (!strchr(sections, 'c'))
		goto hostcalls;
	printf("\n(%c) call round trip, %s: us, median of %d rounds [spread of the cap call]\n",
	       one ? 'd' : 'b', where, rounds);
	printf("  %-8s %12s %16s %16s   %s\n", "size", c_name[0], c_name[1], c_name[2],
	       "call/futex  call/pipe");
	for (int k = 0; k < NSIZES; k++) {
		long size = sizes[k], n = count_call(size);
		for (int i = 0; i < C_N; i++)
			c_ser[i] = (struct series){.name = c_name[i]};
		for (int r = 0; r < rounds; r++) {
			series_add(&c_ser[C_CAP], cvm_pair("callee", "caller", size, n));
			series_add(&c_ser[C_FUTEX], call_futex(n));
			series_add(&c_ser[C_PIPE], call_pipe(size, n));
		}
		for (int i = 0; i < C_N; i++)
			c_med[one][k][i] = series_median(&c_ser[i]);
		double *m = c_med[one][k];
		printf("  %-8s %12.2f %16.2f %16.2f   %9.2fx %9.2fx   %s\n", size_str(size),
		       m[C_CAP] / 1000, m[C_FUTEX] / 1000, m[C_PIPE] / 1000, m[C_CAP] / m[C_FUTEX],
		       m[C_CAP] / m[C_PIPE], series_spread(&c_ser[C_CAP], 0));
	}
hostcalls:
	if (!strchr(sections, 'h'))
		return;
	printf("\n(%c) hostcall round trip, %s (the calling cVM on CPU %d): us, median of %d "
	       "rounds of %d calls [spread]\n",
	       one ? 'f' : 'e', where, cpu_b, rounds, HC_CALLS);
	for (int i = 0; i < H_N; i++)
		h_ser[i] = (struct series){.name = h_name[i]};
	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < H_N; i++)
			series_add(&h_ser[i], hc_pair(i == H_NESTED, HC_CALLS));
	for (int i = 0; i < H_N; i++)
		h_med[one][i] = series_median(&h_ser[i]);
	printf("  %-28s %8.3f   %s\n", h_name[H_MONITOR], h_med[one][H_MONITOR] / 1000,
	       series_spread(&h_ser[H_MONITOR], 0));
	printf("  %-28s %8.3f   nested/monitor %.2fx   %s\n", h_name[H_NESTED],
	       h_med[one][H_NESTED] / 1000, h_med[one][H_NESTED] / h_med[one][H_MONITOR],
	       series_spread(&h_ser[H_NESTED], 0));
}

static void targets(int have_two, int have_one)
{
	printf("\ntargets (issue 11):\n");
	for (int one = 0; one < 2 && strchr(sections, 's'); one++) {
		if (!(one ? have_one : have_two))
			continue;
		const char *where = one ? "one CPU" : "two CPUs";
		for (int k = 2; k < NSIZES; k++) {
			double *m = s_med[one][k];
			double lim = m[S_MEMCPY] / m[S_CAP], unx = m[S_UNIX] / m[S_CAP];
			printf("  stream %-7s >= 0.8x memcpy limit (%s): %.2fx  %s\n",
			       size_str(sizes[k]), where, lim, verdict(lim >= 0.8));
			printf("  stream %-7s >= 3x unix socket    (%s): %.2fx  %s\n",
			       size_str(sizes[k]), where, unx, verdict(unx >= 3.0));
		}
	}
	double ref = have_one ? c_med[1][0][C_FUTEX] : c_med[0][0][C_FUTEX];
	const char *ref_where = have_one ? "same-core" : "two-CPU (no one-CPU run)";
	for (int one = 0; one < 2 && strchr(sections, 'c'); one++) {
		if (!(one ? have_one : have_two))
			continue;
		double r = c_med[one][0][C_CAP] / ref;
		printf("  64 B cap call (%s) <= 1.5x %s futex ping-pong (%.2f us): %.2f us, %.2fx  "
		       "%s\n",
		       one ? "one CPU" : "two CPUs", ref_where, ref / 1000,
		       c_med[one][0][C_CAP] / 1000, r, verdict(r <= 1.5));
	}
	for (int one = 0; one < 2 && strchr(sections, 'h'); one++) {
		if (!(one ? have_one : have_two))
			continue;
		double r = h_med[one][H_NESTED] / h_med[one][H_MONITOR];
		printf("  nested hostcall (%s) <= 2x monitor hostcall (%.2f us): %.2f us, %.2fx  "
		       "%s\n",
		       one ? "one CPU" : "two CPUs", h_med[one][H_MONITOR] / 1000,
		       h_med[one][H_NESTED] / 1000, r, verdict(r <= 2.0));
	}
}

int main(int argc, char **argv)
{
	int verbose = 0, c, two_run = 1, one_run = 1;
	while ((c = bench_getopt(argc, argv, "r:p:s:", &verbose)) != -1) {
		if (c == 's' && optarg[0] && optarg[strspn(optarg, "sch")] == 0)
			sections = optarg;
		else if (c == 'r')
			rounds = parse_int(optarg, 1, IPC_MAX_ROUNDS, "-r ROUNDS");
		else if (c == 'p' && !strcmp(optarg, "two"))
			one_run = 0;
		else if (c == 'p' && !strcmp(optarg, "one"))
			two_run = 0;
		else if (c != 'p' || strcmp(optarg, "both")) {
			fputs(usage, stderr);
			return 2;
		}
	}
	bench_init(verbose, 1);
	bench_find_here();
	if (sched_getaffinity(0, sizeof(all_cpus), &all_cpus))
		die("sched_getaffinity: %s", strerror(errno));
	for (int i = 0; i < CPU_SETSIZE && cpu_b < 0; i++)
		if (CPU_ISSET(i, &all_cpus)) {
			if (cpu_a < 0)
				cpu_a = i;
			else
				cpu_b = i;
		}
	if (cpu_b < 0) { /* one CPU */
		cpu_b = cpu_a;
		cpu_a = -1;
	}
	if (cpu_a < 0 && two_run) {
		printf("bench/ipc: one CPU only: no two-CPU measurements\n");
		two_run = 0;
	}
	src = malloc(IPC_AREA);
	dst = malloc(IPC_AREA);
	if (!src || !dst)
		die("out of memory");
	memset(src, 0x5a, IPC_AREA);
	memset(dst, 0, IPC_AREA);
	struct utsname u;
	uname(&u);
	printf("bench/ipc: %d CPU(s) allowed, %ld online; Linux %s; messages of 64 B to 4 MiB\n",
	       CPU_COUNT(&all_cpus), sysconf(_SC_NPROCESSORS_ONLN), u.release);
	printf("  a cap stream or call round is one monitor run of two freestanding cVMs; peers "
	       "are "
	       "two processes\n");
	if (two_run)
		measure(0);
	if (one_run)
		measure(1);
	targets(two_run, one_run);
	return 0;
}
