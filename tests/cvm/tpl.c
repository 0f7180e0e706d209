/*
 * A template for the TFORK tests.  Before host_save it prepares what its
 * args ask ("mt": two threads that keep counting, holding a lock, calling
 * hostcalls and checking their stack and FPU state; "file": a file of its
 * disk read up to offset 3; "crash": it faults instead of saving; "heap N":
 * N MiB of heap filled).  After host_save each fork prints its own args and
 * does what they say: "write V" stores V in a global, "show" prints it,
 * "mt" checks the threads, "file" reads 3 bytes, "heapwrite" writes every
 * page of the heap.
 */
#include "intravisor.h"

#define SYS_openat	      257
#define SYS_read	      0
#define SYS_clone	      56
#define SYS_write	      1
#define SYS_mmap	      9
#define SYS_munmap	      11
#define SYS_rt_sigaction      13
#define SYS_dup2	      33
#define SYS_getpid	      39
#define SYS_exit	      60
#define SYS_kill	      62
#define SYS_fcntl	      72
#define SYS_gettid	      186
#define SYS_tkill	      200
#define SYS_sched_getaffinity 204
#define SYS_tgkill	      234
#define SYS_get_robust_list   274
#define SYS_pipe2	      293
#define SYS_process_vm_readv  310
#define SYS_pidfd_open	      434

static long global = 42;
static volatile int lock, stop;
static volatile long count[2], done[2], bad[2], seen_inspect[2];
static char stacks[2][65536] __attribute__((aligned(16)));
static long file_fd = -1, ro_fd = -1, path_fd = -1;
static volatile long tids[2], pid_before;
static char *cap;
static unsigned char heap[64 << 20];

static void say(const char *a, const char *b)
{
	iv_puts(a);
	iv_puts(b);
	iv_puts("\n");
}

static void sayn(const char *a, long n)
{
	char num[24];
	say(a, iv_itoa(n, num));
}

static int starts(const char *s, const char *p)
{
	while (*p)
		if (*s++ != *p++)
			return 0;
	return 1;
}

static void thread_main(long i)
{
	volatile char mine[256];
	tids[i] = iv_syscall6(SYS_gettid, 0, 0, 0, 0, 0, 0);
	for (int k = 0; k < 256; k++)
		mine[k] = (char)(k ^ i);
	double acc = 0;
	for (long n = 1; !stop; n++) {
		while (__atomic_exchange_n(&lock, 1, __ATOMIC_ACQUIRE))
			;
		count[i]++;
		__atomic_store_n(&lock, 0, __ATOMIC_RELEASE);
		acc += 0.5;
		if (acc != (double)n * 0.5)
			bad[i] = 1;
		for (int k = 0; k < 256; k += 37)
			if (mine[k] != (char)(k ^ i))
				bad[i] = 2;
		seen_inspect[i] = host_inspect();
		if (iv_syscall6(SYS_gettid, 0, 0, 0, 0, 0, 0) != tids[i])
			bad[i] = 3; /* a thread id that changed under libc's feet */
		struct iv_timespec ts = {0, 200000};
		host_nanosleep(&ts, 0);
	}
	done[i] = 1;
}

static long num(const char *s)
{
	long v = 0;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (*s++ - '0');
	return v;
}

static void sleep_ms(long ms)
{
	struct iv_timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	host_nanosleep(&ts, 0);
}

/* A stack of its own for each thread of a bomb. */
static char *new_stack(void)
{
	long m = iv_syscall6(SYS_mmap, 0, 16384, 3, 0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */, -1, 0);
	return m < 0 ? 0 : (char *)m;
}

static void thread_idle(long unused)
{
	(void)unused;
	for (;;)
		sleep_ms(100000);
}

static volatile long main_ticks, native_sleep_ret = 1;

static void saver_thread(long unused)
{
	(void)unused;
	host_save();
	if (host_inspect()) {
		say("tpl: saver thread returned", "");
		host_exit();
	}
	/* a fork: the template's main thread (pid 1) runs on beside it */
	long t0 = main_ticks;
	sleep_ms(20);
	say("tpl: saved from a thread; main thread running: ", main_ticks > t0 ? "yes" : "NO");
	sayn("tpl: main thread is pid ", iv_syscall6(SYS_getpid, 0, 0, 0, 0, 0, 0));
	host_exit();
}

/* One native sleep of 300 ms, made before the save and still going at it. */
static void native_sleeper(long unused)
{
	(void)unused;
	struct iv_timespec ts = {0, 300 * 1000 * 1000};
	native_sleep_ret = iv_syscall6(35 /* nanosleep */, (long)&ts, 0, 0, 0, 0, 0);
	for (;;)
		sleep_ms(1000);
}

/* Whether this fork can reach any process but itself: signals (direct and
 * through file ownership) and reads of another's state, over every pid. */
static long reach_others(void)
{
	long hit = 0, me = iv_syscall6(SYS_getpid, 0, 0, 0, 0, 0, 0);
	int p[2];
	long have_pipe = iv_syscall6(SYS_pipe2, (long)p, 0, 0, 0, 0, 0) == 0;
	for (long q = 1; q < 400; q++) {
		if (q == me)
			continue;
		unsigned long mask[16], head[2];
		hit += iv_syscall6(SYS_tgkill, q, q, 0, 0, 0, 0) == 0;
		hit += iv_syscall6(SYS_tkill, q, 0, 0, 0, 0, 0) == 0;
		hit += iv_syscall6(SYS_kill, q, 0, 0, 0, 0, 0) == 0;
		hit += iv_syscall6(SYS_sched_getaffinity, q, sizeof(mask), (long)mask, 0, 0, 0) > 0;
		hit += iv_syscall6(SYS_get_robust_list, q, (long)&head[0], (long)&head[1], 0, 0,
				   0) == 0;
		hit += iv_syscall6(SYS_pidfd_open, q, 0, 0, 0, 0, 0) >= 0;
		if (have_pipe) /* F_SETOWN, then F_SETSIG SIGKILL with O_ASYNC */
			hit += iv_syscall6(SYS_fcntl, p[0], 8, q, 0, 0, 0) == 0;
	}
	if (have_pipe && iv_syscall6(SYS_fcntl, p[0], 8, me, 0, 0, 0) != 0)
		say("tpl: F_SETOWN on itself refused", "");
	return hit;
}

long cvm_main(void)
{
	char arg[128];
	host_get_arg(arg, sizeof(arg));
	pid_before = iv_syscall6(SYS_getpid, 0, 0, 0, 0, 0, 0);
	if (starts(arg, "threadsave")) {
		/* another thread saves; the main thread keeps counting */
		iv_thread_spawn(saver_thread, 0, stacks[0], sizeof(stacks[0]));
		for (;;) {
			main_ticks++;
			sleep_ms(1);
		}
	} else if (starts(arg, "nativesleep")) {
		iv_thread_spawn(native_sleeper, 0, stacks[1], sizeof(stacks[1]));
		sleep_ms(20); /* it is asleep in the kernel when the template saves */
	} else if (starts(arg, "leaderexit")) {
		/* the main thread ends; another thread makes the save */
		iv_thread_spawn(saver_thread, 0, stacks[0], sizeof(stacks[0]));
		for (;;)
			iv_syscall6(SYS_exit, 0, 0, 0, 0, 0, 0);
	} else if (starts(arg, "shared")) {
		long m = iv_syscall6(SYS_mmap, 0, 4096, 3, 0x21 /* MAP_SHARED|MAP_ANONYMOUS */, -1,
				     0);
		sayn("tpl: shared page mapped: ", m > 0);
	} else if (starts(arg, "dupconsole")) {
		iv_syscall6(SYS_dup2, 1, 5, 0, 0, 0, 0);
	} else if (starts(arg, "nogadget")) {
		/* the cell stub's code, which the monitor runs system calls through */
		sayn("tpl: stub unmapped: ",
		     iv_syscall6(SYS_munmap, 0x600000000000L, 0x10000, 0, 0, 0, 0));
	} else if (starts(arg, "fds")) {
		path_fd = iv_syscall6(SYS_openat, -100, (long)"/secret", 010000000 /* O_PATH */, 0,
				      0, 0);
		ro_fd = iv_syscall6(SYS_openat, -100, (long)"/data.txt", 0, 0, 0, 0);
		sayn("tpl: opened: ", path_fd >= 0 && ro_fd >= 0);
	}
	if (starts(arg, "mt")) {
		iv_thread_spawn(thread_main, 0, stacks[0], sizeof(stacks[0]));
		iv_thread_spawn(thread_main, 1, stacks[1], sizeof(stacks[1]));
		while (count[0] < 3 || count[1] < 3)
			sleep_ms(1);
	} else if (starts(arg, "file")) {
		char b[3];
		file_fd = iv_syscall6(SYS_openat, -100, (long)"/data.txt", 0, 0, 0, 0);
		if (file_fd < 0 || iv_syscall6(SYS_read, file_fd, (long)b, 3, 0, 0, 0) != 3) {
			sayn("tpl: cannot read /data.txt: ", file_fd);
			return 1;
		}
	} else if (starts(arg, "cap")) {
		long size;
		if (host_cap_file_prb("test1", (void **)&cap, &size) < 0)
			return 1;
	} else if (starts(arg, "crash")) {
		*(volatile int *)(uintptr_t)(file_fd + 0x11) = 1; /* 0x10 */
	} else if (starts(arg, "heap ")) {
		long n = num(arg + 5) << 20;
		for (long k = 0; k < n && k < (long)sizeof(heap); k += 4096)
			heap[k] = (unsigned char)(k >> 12);
	}
	if (host_inspect())
		say("tpl: template ready: ", arg);
	host_save();

	host_get_arg(arg, sizeof(arg));
	say("tpl: fork args: ", arg);
	if (starts(arg, "write ")) {
		sayn("tpl: global before: ", global);
		global = num(arg + 6);
		sayn("tpl: global now: ", global);
	} else if (starts(arg, "show")) {
		sayn("tpl: global: ", global);
	} else if (starts(arg, "mt")) {
		long c0 = count[0], c1 = count[1];
		sleep_ms(30);
		say("tpl: threads ", count[0] > c0 && count[1] > c1 ? "running" : "STOPPED");
		say("tpl: thread state ", bad[0] || bad[1] ? "CORRUPT" : "intact");
		say("tpl: threads see inspect ",
		    seen_inspect[0] == 0 && seen_inspect[1] == 0 ? "0" : "1");
		stop = 1;
		for (int k = 0; k < 1000 && !(done[0] && done[1]); k++)
			sleep_ms(1);
		say("tpl: threads ", done[0] && done[1] ? "done" : "STUCK");
	} else if (starts(arg, "file")) {
		char b[4] = {0};
		long r = iv_syscall6(SYS_read, file_fd, (long)b, 3, 0, 0, 0);
		sayn("tpl: read bytes: ", r);
		say("tpl: read: ", b);
	} else if (starts(arg, "cap")) {
		char b[13] = {0};
		memcpy(b, cap, 11);
		say("tpl: cap says: ", b);
	} else if (starts(arg, "sleep ")) {
		sleep_ms(num(arg + 6));
		say("tpl: woke", "");
	} else if (starts(arg, "killsiblings")) {
		/* every pid a fork can name (its own pid namespace holds only itself) */
		long hit = 0, me = iv_syscall6(39, 0, 0, 0, 0, 0, 0); /* getpid */
		for (long p = 1; p < 64; p++)
			if (p != me)
				hit += iv_syscall6(234, p, p, 9, 0, 0, 0) ==
				       0; /* tgkill(p, p, SIGKILL) */
		for (long p = 1; p < 64; p++)
			if (p != me)
				hit += iv_syscall6(200, p, 9, 0, 0, 0, 0) ==
				       0; /* tkill(p, SIGKILL) */
		sayn("tpl: signal to itself (0): ", iv_syscall6(234, me, me, 0, 0, 0, 0));
		sayn("tpl: signals delivered to others: ", hit);
	} else if (starts(arg, "nativesleep")) {
		for (int k = 0; k < 2000 && native_sleep_ret == 1; k++)
			sleep_ms(1);
		sayn("tpl: the template thread's native sleep returned ", native_sleep_ret);
	} else if (starts(arg, "reach")) {
		sayn("tpl: reached others: ", reach_others());
	} else if (starts(arg, "ids")) {
		say("tpl: same pid as the template: ",
		    iv_syscall6(SYS_getpid, 0, 0, 0, 0, 0, 0) == pid_before ? "yes" : "no");
	} else if (starts(arg, "console5")) {
		long r = iv_syscall6(SYS_write, 5, (long)"via fd 5\n", 9, 0, 0, 0);
		sleep_ms(50); /* the pipe is relayed apart from hostcall output */
		sayn("tpl: write to fd 5: ", r);
	} else if (starts(arg, "fds")) {
		char b[4] = {0};
		sayn("tpl: read O_PATH fd: ", iv_syscall6(SYS_read, path_fd, (long)b, 3, 0, 0, 0));
		sayn("tpl: write read-only fd: ",
		     iv_syscall6(SYS_write, ro_fd, (long)"x", 1, 0, 0, 0));
		sayn("tpl: read read-only fd: ", iv_syscall6(SYS_read, ro_fd, (long)b, 3, 0, 0, 0));
	} else if (starts(arg, "threadbomb")) {
		long n = 0;
		char *stk;
		while (n < 10000 && (stk = new_stack()) &&
		       iv_thread_spawn(thread_idle, 0, stk, 16384) > 0)
			n++;
		sayn("tpl: threads until refused: ", n);
	} else if (starts(arg, "spawn")) {
		long n = 0;
		char *stk;
		for (int k = 0; k < 8; k++)
			n += (stk = new_stack()) && iv_thread_spawn(thread_idle, 0, stk, 16384) > 0;
		sayn("tpl: spawned: ", n);
	} else if (starts(arg, "forkself")) {
		/* the monitor lets a clone through only when it asked for it */
		sayn("tpl: clone(SIGCHLD) in a fork: ", iv_syscall6(SYS_clone, 17, 0, 0, 0, 0, 0));
		sayn("tpl: host_save in a fork: ", host_save());
	} else if (starts(arg, "heapwrite")) {
		/* every page of the heap, the template's data and its zeros */
		for (long k = 0; k < (long)sizeof(heap); k += 4096)
			heap[k] = 0xff;
		long sum = 0;
		for (long k = 0; k < (long)sizeof(heap); k += 4096)
			sum += heap[k];
		say("tpl: heap rewritten", sum == 0xff * (long)(sizeof(heap) / 4096) ? "" : " WRONG");
	} else if (starts(arg, "heap")) {
		long sum = 0;
		for (long k = 0; k < (long)sizeof(heap); k += 4096)
			sum += heap[k];
		sayn("tpl: heap sum: ", sum);
	}
	host_exit();
}
