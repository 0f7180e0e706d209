/*
 * A hostcall fuzzer: makes random hostcalls with random arguments for a
 * bounded time and checks the few answers that are certain.  Args:
 *
 *   SEED MS [FLAGS]
 *   watch MS    the checker that runs beside fuzzers: for MS ms, sleeps of
 *               10 ms by host_nanosleep (each must return 0, not early),
 *               inspect and get_arg; prints "hc_fuzz watch: N rounds, all
 *               served" or the first failure, and exits 0 or 1 (also as
 *               a fork of a 't' template)
 *   sleepleak N N valid nanosleeps of 100 years, each cut short by a signal
 *               from a second thread; prints how many were refused
 *
 * FLAGS (letters, any order):
 *   t  template: fuzz MS/4 ms without HC_SAVE, then host_save(); each fork
 *      re-reads its own args (SEED MS FLAGS) and fuzzes as a plain cVM;
 *      with m, the second thread is still calling when the template
 *      freezes and goes on in every fork
 *   m  a second thread fuzzes at the same time (its own arena and seed)
 *   s  a helper thread sends SIGUSR1 to the fuzzing threads every 0-2 ms,
 *      interrupting pending hostcalls (handler without SA_RESTART)
 *   S  as s, and valid nanosleeps may be huge (the signal cuts them short)
 *   x  end (HC_EXIT) while the other threads are still calling
 *   n  no HC_CF_ADV (for a template whose image is restored in a later run:
 *      an image needs every cap file it was granted, advertised ones too)
 *
 * Numbers come mostly from the registered ones, else from 0..1023, else
 * just outside (the syscalls just below IV_HC_BASE, 1024..1039).  HC_EXIT
 * is called once, at the very end, with status 0.  Arguments mix 0, -1,
 * small ints, huge lengths, kernel addresses, pointers into the thread's
 * arena (page-aligned, unaligned, a string without a terminator that ends
 * at a PROT_NONE page), just outside and inside [begin, end), the code.
 *
 * What must hold, printed as "hc_fuzz: ANOMALY ..." otherwise: results
 * are >= 0 or -errno; unregistered numbers answer ENOSYS, numbers outside
 * the table EPERM; inspect is 1 (0 in a fork); a valid nanosleep returns 0
 * (or EINTR when signalled) and not early.
 *
 * Self-protection (not the monitor's job): the arena's last page is
 * PROT_NONE, so whatever the monitor writes through an arena pointer stays
 * in the arena; a nanosleep's timespec is either a slot this cVM filled
 * with a bounded or invalid time, or an invalid pointer, so the fuzzer
 * never sleeps for long; console writes from valid memory are short; a
 * fork does not ask for the frame of a thread it has already recreated.
 *
 * Ends with "hc_fuzz: N calls, M distinct numbers, done" and status 0.
 */
#include "intravisor.h"

#define NR_close	 3
#define NR_mprotect	 10
#define NR_rt_sigaction	 13
#define NR_nanosleep	 35
#define NR_getpid	 39
#define NR_gettid	 186
#define NR_clock_gettime 228
#define NR_tgkill	 234
#define SIGUSR1		 10
#define SA_RESTORER	 0x04000000
#define CLOCK_MONOTONIC	 1

#define EINTR  4
#define EPERM  1
#define ENOSYS 38

#define PAGE	     4096
#define ARENA_PAGES  4 /* usable; one PROT_NONE page follows */
#define ARENA_BYTES  (ARENA_PAGES * PAGE)
#define TAIL	     64	 /* unterminated bytes before the guard page */
#define STR_SLOT     0	 /* where a chosen string is put */
#define TS_SLOT	     512 /* where a nanosleep's timespec is put */
#define MAX_THREADS  2
#define MAX_REPORTS  10
#define OUTSIDE_BASE 1024

struct fuzzer {
	unsigned long rng;
	unsigned char *arena;
	long calls, sleeps, interrupted, done;
	long tid;
};

static unsigned char arenas[MAX_THREADS][ARENA_PAGES + 1][PAGE] __attribute__((aligned(PAGE)));
static char stacks[2][65536] __attribute__((aligned(16)));
static struct fuzzer fz[MAX_THREADS];
static unsigned char seen[OUTSIDE_BASE + 32]; /* numbers called, by index */
static volatile long stop, helper_done, signals, anomalies;
static volatile long deadline_ns;
static long inherited, expect_inspect, allow_save, allow_adv = 1, huge_sleeps, signalled;
/* 0 from the template's save until its fork (or restore) has asked inspect
 * again: an inherited thread may call it first, with the template's answer
 * still in expect_inspect */
static volatile long inspect_known = 1;
static unsigned long begin, end;

extern const char __ehdr_start[];
long cvm_main(long argc, char **argv);

/* ---- small helpers ---- */

static long now_ns(void)
{
	struct iv_timespec ts;
	iv_syscall6(NR_clock_gettime, CLOCK_MONOTONIC, (long)&ts, 0, 0, 0, 0);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static unsigned long next(struct fuzzer *f)
{
	unsigned long x = f->rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return f->rng = x;
}

static unsigned long below(struct fuzzer *f, unsigned long n)
{
	return next(f) % n;
}

static long num(const char *s)
{
	long v = 0;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (*s++ - '0');
	return v;
}

static const char *word(const char *s, int n)
{
	while (n--) {
		while (*s && *s != ' ')
			s++;
		while (*s == ' ')
			s++;
	}
	return s;
}

static int has(const char *s, char c)
{
	for (; *s && *s != ' '; s++)
		if (*s == c)
			return 1;
	return 0;
}

/* Console output that a signal cannot cut short. */
static void out(const char *s)
{
	long n = (long)strlen(s), r;
	while (n > 0 && ((r = host_write(s, n)) > 0 || r == -EINTR))
		if (r > 0)
			s += r, n -= r;
}

/* One console line (or more) from fmt with %d (long), %x (unsigned long)
 * and %s, written in one call so that other threads' output cannot land
 * inside it. */
static void say(const char *fmt, ...)
{
	char buf[320], num[24];
	unsigned long n = 0;
	__builtin_va_list ap;
	__builtin_va_start(ap, fmt);
	for (; *fmt && n < sizeof(buf) - 1; fmt++) {
		const char *s = num;
		if (*fmt != '%') {
			buf[n++] = *fmt;
			continue;
		}
		fmt++;
		if (*fmt == 'd')
			iv_itoa(__builtin_va_arg(ap, long), num);
		else if (*fmt == 'x')
			iv_xtoa(__builtin_va_arg(ap, unsigned long), num);
		else
			s = __builtin_va_arg(ap, const char *);
		while (*s && n < sizeof(buf) - 1)
			buf[n++] = *s++;
	}
	__builtin_va_end(ap);
	buf[n] = 0;
	out(buf);
}

static void anomaly(long nr, const unsigned long *a, long r, const char *why)
{
	long n = __atomic_fetch_add(&anomalies, 1, __ATOMIC_RELAXED);
	if (n < MAX_REPORTS)
		say("\nhc_fuzz: ANOMALY nr %d (%x %x %x) -> %d: %s\n", nr, a[0], a[1], a[2], r,
		    why);
}

/* ---- numbers ---- */

static const short registered[] = {1,	114, 115, 116, 117, 118, 200, 403, 405, 406, 407, 408,
				   409, 410, 411, 412, 413, 700, 701, 702, 800, 801, 802, 803,
				   804, 805, 806, 807, 808, 809, 810, 811, 812, 813, 814};
/* What the monitor serves (src/hostcall/table.c and its modules). */
static const short served[] = {1,   13,	 114, 115, 116, 117, 118, 200, 405, 406, 409,
			       410, 700, 701, 702, 800, 802, 803, 804, 805, 806};

static int is_served(long nr)
{
	for (unsigned i = 0; i < sizeof(served) / sizeof(served[0]); i++)
		if (served[i] == nr)
			return 1;
	return 0;
}

static long pick_nr(struct fuzzer *f)
{
	long nr, k = (long)below(f, 100);
	do {
		if (k < 60)
			nr = registered[below(f, sizeof(registered) / sizeof(registered[0]))];
		else if (k < 90)
			nr = (long)below(f, OUTSIDE_BASE);
		else if (k < 95)
			nr = OUTSIDE_BASE + (long)below(f, 16);
		else
			nr = -1 - (long)below(f, 8); /* syscalls 0x1ff8..0x1fff */
	} while (nr == HC_EXIT || (nr == HC_SAVE && !allow_save) ||
		 (nr == HC_CF_ADV && !allow_adv));
	return nr;
}

static void mark_seen(long nr)
{
	long i = nr >= 0 ? nr : OUTSIDE_BASE + 16 - nr; /* -1..-8 -> 1041..1048 */
	if (i >= 0 && i < (long)sizeof(seen))
		seen[i] = 1;
}

/* ---- arguments ---- */

static const char *const strings[] = {
	"/cap/test1",
	"test1",
	"/cap/",
	"",
	"/cap/fz-adv",
	"fz-adv",
	"/cap/../test1",
	"/cap/test1/",
	"/cap/test1\n",
	"/etc/passwd",
	"/cap/no-such-cap",
	"a",
};

static const unsigned long kernel_addrs[] = {
	0xffff800000000000UL, 0xffffffff81000000UL, 0xffffffffff600000UL,
	0x8000000000000000UL, 0x00007ffffffff000UL, 0x0000600000000000UL /* the stub */,
};

static const unsigned long huge_lens[] = {
	1UL << 20,	   (1UL << 20) + 1,	 1UL << 31,
	1UL << 32,	   (1UL << 32) + 1,	 1UL << 63,
	-4096UL,	   0x7fffffffffffffffUL, 0xfffffffffffff000UL,
	ARENA_BYTES + 1UL,
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static unsigned long arg(struct fuzzer *f)
{
	unsigned char *ar = f->arena;
	switch (below(f, 17)) {
	case 0:
		return 0;
	case 1:
		return -1UL;
	case 2:
		return below(f, 64);
	case 3:
		return next(f);
	case 4: /* anywhere in the arena */
		return (unsigned long)ar + below(f, ARENA_BYTES);
	case 5: /* a page of the arena */
		return (unsigned long)ar + below(f, ARENA_PAGES) * PAGE;
	case 6: /* just before begin */
		return begin - 1 - below(f, 64);
	case 7: /* the ELF header: read-only */
		return begin + below(f, 64);
	case 8: /* just below end: the strings at the top of the stack */
		return end - 1 - below(f, 64);
	case 9: /* end and just after it */
		return end + below(f, 64);
	case 10:
		return kernel_addrs[below(f, N(kernel_addrs))] + below(f, 2) * below(f, 4096);
	case 11: /* unaligned, in the arena */
		return (unsigned long)ar + (below(f, ARENA_BYTES / 8) * 8 | (1 + below(f, 7)));
	case 12:
		return huge_lens[below(f, N(huge_lens))];
	case 13: /* a string with no terminator before the PROT_NONE page */
		return (unsigned long)ar + ARENA_BYTES - 1 - below(f, TAIL);
	case 14: { /* a chosen string */
		const char *s = strings[below(f, N(strings))];
		unsigned long n = strlen(s) + 1;
		memcpy(ar + STR_SLOT, s, n);
		return (unsigned long)ar + STR_SLOT;
	}
	case 15: /* code: read-only, executable */
		return (unsigned long)cvm_main + below(f, 64);
	default: /* a small handle or a page-sized length */
		return below(f, 2) ? below(f, 20) : PAGE * (1 + below(f, 4));
	}
}

static int in_arena(struct fuzzer *f, unsigned long p)
{
	return p >= (unsigned long)f->arena && p < (unsigned long)f->arena + ARENA_BYTES;
}

/* A nanosleep's timespec: a slot holding a bounded or invalid time, or an
 * invalid pointer.  Returns the ns it asks for, or -1 if it is invalid. */
static long sleep_arg(struct fuzzer *f, unsigned long *a0)
{
	static const unsigned long bad[] = {0, -1UL, 0xffffffff81000000UL, 16};
	unsigned char *ts = f->arena + TS_SLOT + (below(f, 4) ? 0 : 4); /* sometimes unaligned */
	unsigned long k = below(f, 16);
	if (k < 2) {
		*a0 = k == 0 ? bad[below(f, N(bad))] : begin - 8 - below(f, 16);
		return -1;
	}
	*a0 = (unsigned long)ts;
	static const long inval[][2] = {
		{-1, 0},
		{0, -1},
		{0, 1000000000L},
		{-0x7fffffffffffffffL - 1, 0},
		{0, 0x7fffffffffffffffL},
		{0x7fffffffffffffffL, -1},
		{1, 1000000000L},
	};
	if (k < 6) {
		const long *v = inval[below(f, N(inval))];
		memcpy(ts, v, 16);
		return -1;
	}
	long ns = k < 15 ? (long)below(f, 1000000) : (long)below(f, 200000000);
	if (huge_sleeps && below(f, 4) == 0) {
		long v[2] = {0x7fffffffffffffffL, 0};
		memcpy(ts, v, 16);
		return 0x7fffffffffffffffL;
	}
	long v[2] = {ns / 1000000000L, ns % 1000000000L};
	memcpy(ts, v, 16);
	return ns;
}

/* ---- one call ---- */

static void refresh(struct fuzzer *f)
{
	memset(f->arena + ARENA_BYTES - TAIL, 'A', TAIL);
}

static void one_call(struct fuzzer *f)
{
	long nr = pick_nr(f);
	unsigned long a[6];
	for (int i = 0; i < 6; i++)
		a[i] = arg(f);
	long want_ns = -1;
	if (nr == HC_NANOSLEEP)
		want_ns = sleep_arg(f, &a[0]);
	/* Console writes from valid memory stay short (the output is read). */
	if (nr == HC_WRITE && (in_arena(f, a[0]) || (a[0] >= begin && a[0] < end)) && a[1] > 64 &&
	    a[1] <= (1UL << 20) && below(f, 64))
		a[1] &= 15;
	/* In a fork of a template with a second thread, THREAD_FRAME(0) still
	 * writes that thread's signal frame, onto the stack it is running on. */
	if (nr == HC_THREAD_FRAME && a[0] == 0 && inherited)
		a[0] = 1;
	refresh(f);
	mark_seen(nr);

	long t0 = want_ns >= 0 ? now_ns() : 0;
	long r = iv_syscall6(IV_HC_BASE + nr, (long)a[0], (long)a[1], (long)a[2], (long)a[3],
			     (long)a[4], (long)a[5]);
	f->calls++;

	if (r < -4095)
		anomaly(nr, a, r, "not a result nor an errno");
	if (nr < 0 || nr >= OUTSIDE_BASE) {
		if (r != -EPERM && r != -EINTR)
			anomaly(nr, a, r, "outside the table: expected EPERM");
	} else if (!is_served(nr)) {
		if (r != -ENOSYS && r != -EINTR)
			anomaly(nr, a, r, "not served: expected ENOSYS");
	} else if (nr == HC_INSPECT) {
		if (r != expect_inspect && r != -EINTR && inspect_known)
			anomaly(nr, a, r, "inspect changed");
	} else if (nr == HC_NANOSLEEP && want_ns >= 0) {
		f->sleeps++;
		if (r == -EINTR && signalled)
			f->interrupted++;
		else if (r != 0)
			anomaly(nr, a, r, "a valid nanosleep failed");
		else if (now_ns() - t0 < want_ns)
			anomaly(nr, a, now_ns() - t0, "nanosleep woke early (ns slept)");
	}
	/* Descriptors the monitor installed (probe, advertise): drop them now
	 * and then, so that RLIMIT_NOFILE does not end the interesting part. */
	if (f == &fz[0] && (f->calls & 255) == 0)
		for (long fd = 3; fd < 64; fd++)
			iv_syscall6(NR_close, fd, 0, 0, 0, 0, 0);
}

static void fuzz_until(struct fuzzer *f, long until_ns)
{
	while (!stop) {
		for (int i = 0; i < 32; i++)
			one_call(f);
		if (now_ns() >= until_ns)
			break;
	}
}

/* ---- threads ---- */

/* The second fuzzing thread.  In a 't' template it is still calling when
 * the template freezes, and goes on in each fork (with a new tid) until the
 * fork's deadline. */
static void fuzz_thread(long i)
{
	do {
		fz[i].tid = iv_syscall6(NR_gettid, 0, 0, 0, 0, 0, 0);
		fuzz_until(&fz[i], 0);
	} while (!stop && now_ns() < deadline_ns);
	__atomic_store_n(&fz[i].done, 1, __ATOMIC_RELEASE);
}

static void on_signal(int sig)
{
	(void)sig;
	__atomic_fetch_add(&signals, 1, __ATOMIC_RELAXED);
}

__asm__(".text\n"
	"hc_fuzz_restorer:\n\t"
	"mov $15, %eax\n\t" /* rt_sigreturn */
	"syscall\n\t"
	"hlt\n");
void hc_fuzz_restorer(void);

struct k_sigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	unsigned long mask;
};

static void signaller(long nthreads)
{
	struct fuzzer h = {.rng = fz[0].rng ^ 0x5bd1e995UL};
	long pid = iv_syscall6(NR_getpid, 0, 0, 0, 0, 0, 0);
	while (!stop) {
		struct iv_timespec ts = {0, (long)below(&h, 2000000)};
		iv_syscall6(NR_nanosleep, (long)&ts, 0, 0, 0, 0, 0); /* native: no monitor timer */
		long i = (long)below(&h, (unsigned long)nthreads);
		if (fz[i].tid && !__atomic_load_n(&fz[i].done, __ATOMIC_ACQUIRE))
			iv_syscall6(NR_tgkill, pid, fz[i].tid, SIGUSR1, 0, 0, 0);
	}
	__atomic_store_n(&helper_done, 1, __ATOMIC_RELEASE);
}

static void wait_for(volatile long *flag)
{
	while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE)) {
		struct iv_timespec ts = {0, 1000000};
		iv_syscall6(NR_nanosleep, (long)&ts, 0, 0, 0, 0, 0);
	}
}

/* ---- main ---- */

static void setup_fuzzer(int i, long seed)
{
	fz[i].rng = (unsigned long)seed * 0x9e3779b97f4a7c15UL + (unsigned long)i + 1;
	fz[i].arena = arenas[i][0];
	if (iv_syscall6(NR_mprotect, (long)arenas[i][ARENA_PAGES], PAGE, 0, 0, 0, 0)) {
		out("hc_fuzz: cannot protect the guard page\n");
		host_exit_code(2);
	}
}

static void run(const char *args, long t_start)
{
	long seed = num(args), ms = num(word(args, 1));
	const char *flags = word(args, 2);
	inherited = fz[1].tid && !fz[1].done; /* a 't' template's second thread */
	int nthreads = has(flags, 'm') || inherited ? 2 : 1;
	signalled = has(flags, 's') || has(flags, 'S');
	huge_sleeps = has(flags, 'S');
	for (int i = 0; i < nthreads; i++)
		setup_fuzzer(i, seed);
	fz[0].tid = iv_syscall6(NR_gettid, 0, 0, 0, 0, 0, 0);
	deadline_ns = t_start + ms * 1000000L;
	if (signalled) {
		struct k_sigaction sa = {on_signal, SA_RESTORER, hc_fuzz_restorer, 0};
		iv_syscall6(NR_rt_sigaction, SIGUSR1, (long)&sa, 0, 8, 0, 0);
		if (iv_thread_spawn(signaller, nthreads, stacks[0], sizeof(stacks[0])) < 0)
			out("hc_fuzz: cannot start the signal thread\n");
	}
	if (nthreads > 1 && !inherited &&
	    iv_thread_spawn(fuzz_thread, 1, stacks[1], sizeof(stacks[1])) < 0) {
		out("hc_fuzz: cannot start the second thread\n");
		fz[1].done = 1;
	}
	fuzz_until(&fz[0], deadline_ns);
	fz[0].done = 1;
	if (has(flags, 'x'))
		return; /* the others are still calling */
	if (nthreads > 1)
		wait_for(&fz[1].done);
	stop = 1;
	if (signalled)
		wait_for(&helper_done);
}

static void summary(void)
{
	long calls = 0, sleeps = 0, intr = 0, distinct = 0;
	for (int i = 0; i < MAX_THREADS; i++)
		calls += fz[i].calls, sleeps += fz[i].sleeps, intr += fz[i].interrupted;
	for (unsigned i = 0; i < sizeof(seen); i++)
		distinct += seen[i];
	say("\nhc_fuzz: %d valid sleeps (%d interrupted), %d signals, %d anomalies\n"
	    "hc_fuzz: %d calls, %d distinct numbers, done\n",
	    sleeps, intr, signals, anomalies, calls, distinct);
}

/* One round of the checker: what is wrong, or 0; *r gets the result. */
static const char *watch_round(long arg_len, long inspect, long *r)
{
	char buf[16];
	struct iv_timespec ts = {0, 10000000};
	long t0 = now_ns();
	if ((*r = host_nanosleep(&ts, 0)) != 0)
		return "nanosleep failed";
	if ((*r = now_ns() - t0) < 10000000)
		return "nanosleep woke early";
	if ((*r = host_inspect()) != inspect)
		return "inspect changed";
	if ((*r = host_get_arg(buf, sizeof(buf))) != arg_len)
		return "get_arg changed";
	return 0;
}

static long watch(long ms, long arg_len)
{
	long t_end = now_ns() + ms * 1000000L, rounds = 0, r, inspect = host_inspect();
	while (now_ns() < t_end) {
		const char *bad = watch_round(arg_len, inspect, &r);
		if (bad) {
			say("hc_fuzz watch: round %d: %s (%d)\n", rounds, bad, r);
			return 1;
		}
		rounds++;
	}
	say("hc_fuzz watch: %d rounds, all served\n", rounds);
	return 0;
}

/* Sleeps that a signal cuts short: each leaves the monitor holding a
 * timer for a call that no longer exists, until the timer is due. */
static long sleepleak(long n)
{
	long refused = 0, interrupted = 0;
	setup_fuzzer(0, 1);
	fz[0].tid = iv_syscall6(NR_gettid, 0, 0, 0, 0, 0, 0);
	signalled = 1;
	struct k_sigaction sa = {on_signal, SA_RESTORER, hc_fuzz_restorer, 0};
	iv_syscall6(NR_rt_sigaction, SIGUSR1, (long)&sa, 0, 8, 0, 0);
	if (iv_thread_spawn(signaller, 1, stacks[0], sizeof(stacks[0])) < 0)
		return 2;
	for (long i = 0; i < n; i++) {
		struct iv_timespec ts = {100L * 365 * 86400, 0};
		long r = host_nanosleep(&ts, 0);
		refused += r == -11; /* EAGAIN */
		interrupted += r == -EINTR;
	}
	fz[0].done = 1;
	stop = 1;
	wait_for(&helper_done);
	say("hc_fuzz sleepleak: %d interrupted, %d refused\n", interrupted, refused);
	return 0;
}

long cvm_main(long argc, char **argv)
{
	static char args[256];
	(void)argc;
	long t_start = now_ns();
	begin = (unsigned long)__ehdr_start;
	/* The strings of argv are at the very top of the stack, at end. */
	end = ((unsigned long)argv[0] + PAGE) & ~(PAGE - 1UL);
	long len = host_get_arg(args, sizeof(args));
	if (!memcmp(args, "watch ", 6))
		host_exit_code(watch(num(args + 6), len));
	if (!memcmp(args, "sleepleak ", 10))
		host_exit_code(sleepleak(num(args + 10)));
	expect_inspect = host_inspect();
	if (has(word(args, 2), 't')) {
		long ms = num(word(args, 1));
		for (int i = 0; i < MAX_THREADS; i++)
			setup_fuzzer(i, num(args));
		allow_save = 0;
		allow_adv = !has(word(args, 2), 'n');
		deadline_ns = t_start + ms * 1000000L;
		if (has(word(args, 2), 'm'))
			inherited =
				iv_thread_spawn(fuzz_thread, 1, stacks[1], sizeof(stacks[1])) > 0;
		fuzz_until(&fz[0], t_start + ms * 250000L);
		say("\nhc_fuzz: template made %d calls before host_save\n", fz[0].calls);
		inspect_known = 0;
		host_save();
		/* A fork (or a template with fork: 0): its own args and clock. */
		t_start = now_ns();
		expect_inspect = host_inspect();
		inspect_known = 1;
		len = host_get_arg(args, sizeof(args));
		if (!memcmp(args, "watch ", 6)) {
			/* A checker only checks: end the template's second thread,
			 * and its console line, first. */
			stop = 1;
			if (fz[1].tid) {
				wait_for(&fz[1].done);
				out("\n");
			}
			host_exit_code(watch(num(args + 6), len));
		}
		fz[0].calls = fz[0].sleeps = 0;
	}
	allow_save = 1;
	allow_adv = !has(word(args, 2), 'n');
	run(args, t_start);
	summary();
	/* HC_EXIT last, with status 0 and whatever else in its other registers. */
	iv_syscall6(IV_HC_BASE + HC_EXIT, 0, (long)next(&fz[0]), (long)next(&fz[0]), -1, 0, 0);
	host_exit_code(0);
}
