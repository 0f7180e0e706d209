/*
 * Probes for forks reset in place (reuse: N).  A libc template (musl,
 * static) that, before it saves with one raw hostcall, starts a worker
 * thread, fills a heap block and notes its brk, umask, rounding mode,
 * name and limits.  Each run of a fork (args "probe K"), first says what
 * it finds of what an earlier run could have left, then leaves all of it:
 *   memory      a global, the template's heap block, a mapping at a fixed
 *               address, the brk grown
 *   registers   the FPU rounding mode (MXCSR and x87 control word)
 *   threads     a thread of its own that keeps counting, the worker's
 *               state, the main thread's name
 *   signals     a handler for SIGUSR2, SIGUSR1 blocked and pending
 *   files       a descriptor left open, umask, rlimit, working directory
 *   a program   a file in /tmp and in /dev/shm, a child process, an alarm,
 *               a System V shared memory segment
 * and ends with exit(0).  "selftest" leaves everything and probes in the
 * same run: every probe must then find what it looks for.  "fail K" exits
 * with K, "segv" faults, "unmapstub" unmaps the cell stub and exits,
 * "filter" installs a seccomp filter of its own and exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <fenv.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../sdk/include/iv_hostcalls.h"

#define FIXED	((void *)0x7e0000000000UL)
#define LEFT_FD 20

static long global = 1; /* the template's: 1 */
static char *block;	/* 4 KiB of 'T' */
static void *tpl_brk;
static mode_t tpl_umask;
static struct rlimit tpl_nofile;
static volatile long counter, worker_seen;
static volatile int worker_go;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int program; /* it has a /tmp: a program */

static long raw(long nr, long a, long b)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return ret;
}

/* The template's worker: waits to be told to count. */
static void *worker(void *arg)
{
	pthread_mutex_lock(&mu);
	while (!worker_go)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	for (;;) {
		worker_seen++;
		struct timespec ms = {0, 1000 * 1000};
		nanosleep(&ms, NULL);
	}
	return arg;
}

/* A run's own thread: counts for ever. */
static void *counting(void *arg)
{
	for (;;) {
		counter++;
		struct timespec ms = {0, 1000 * 1000};
		nanosleep(&ms, NULL);
	}
	return arg;
}

static void on_usr2(int sig)
{
	(void)sig;
}

static int found;

static void left(const char *what)
{
	printf("reuse: LEFTOVER %s\n", what);
	found++;
}

/* What an earlier run may have left. */
static void probe(void)
{
	if (global != 1)
		left("memory: a global");
	for (int i = 0; i < 4096; i++)
		if (block[i] != 'T') {
			left("memory: the heap block");
			break;
		}
	if (msync(FIXED, 4096, MS_ASYNC) == 0)
		left("memory: a mapping");
	if ((void *)syscall(SYS_brk, 0) != tpl_brk)
		left("memory: the brk");
	if (fegetround() != FE_TONEAREST)
		left("registers: the rounding mode");
	long c0 = counter, w0 = worker_seen;
	struct timespec ms = {0, 20 * 1000 * 1000};
	nanosleep(&ms, NULL);
	if (counter != c0 || c0)
		left("threads: a thread of a run");
	if (worker_seen != w0 || w0)
		left("threads: the worker's state");
	char name[32] = "";
	prctl(PR_GET_NAME, name);
	if (!strcmp(name, "dirty"))
		left("threads: the main thread's name");
	struct sigaction sa;
	sigaction(SIGUSR2, NULL, &sa);
	if (sa.sa_handler != SIG_DFL)
		left("signals: a handler");
	sigset_t set;
	sigpending(&set);
	if (sigismember(&set, SIGUSR1))
		left("signals: a pending signal");
	sigprocmask(SIG_SETMASK, NULL, &set);
	if (sigismember(&set, SIGUSR1))
		left("signals: the mask");
	if (fcntl(LEFT_FD, F_GETFD) >= 0)
		left("files: a descriptor");
	mode_t m = umask(0);
	umask(m);
	if (m != tpl_umask)
		left("files: umask");
	struct rlimit r;
	getrlimit(RLIMIT_NOFILE, &r);
	if (r.rlim_cur != tpl_nofile.rlim_cur)
		left("files: an rlimit");
	char cwd[64] = "";
	if (getcwd(cwd, sizeof(cwd)) && strcmp(cwd, "/"))
		left("files: the working directory");
	if (!program)
		return;
	if (access("/tmp/leftover", F_OK) == 0)
		left("program: a file in /tmp");
	if (access("/dev/shm/leftover", F_OK) == 0)
		left("program: a file in /dev/shm");
	if (waitpid(-1, NULL, WNOHANG) != -1 || errno != ECHILD)
		left("program: a child process");
	if (alarm(0))
		left("program: an alarm");
	if (shmget(0x1e5e, 0, 0) >= 0)
		left("program: a System V shared memory segment");
}

/* Everything a run can leave. */
static void leave(void)
{
	global = 99;
	memset(block, 'R', 4096);
	char *p = mmap(FIXED, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED)
		p[0] = 1;
	/* (musl's sbrk grows nothing: the raw call) */
	char *end = (char *)tpl_brk + (1 << 20);
	if ((char *)syscall(SYS_brk, end) == end)
		memset(tpl_brk, 'B', 4096);
	fesetround(FE_UPWARD);
	pthread_t t;
	pthread_create(&t, NULL, counting, NULL);
	pthread_mutex_lock(&mu);
	worker_go = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	prctl(PR_SET_NAME, "dirty");
	signal(SIGUSR2, on_usr2);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	raise(SIGUSR1);
	int fd = open("/", O_RDONLY | O_DIRECTORY);
	if (fd >= 0 && fd != LEFT_FD)
		dup2(fd, LEFT_FD);
	umask(077);
	struct rlimit r = {20, tpl_nofile.rlim_max};
	setrlimit(RLIMIT_NOFILE, &r);
	if (program) {
		close(open("/tmp/leftover", O_CREAT | O_WRONLY, 0600));
		close(open("/dev/shm/leftover", O_CREAT | O_WRONLY, 0600));
		if (fork() == 0)
			for (;;)
				pause();
		alarm(100);
		shmget(0x1e5e, 4096, IPC_CREAT | 0600);
		if (chdir("/tmp"))
			left("(cannot chdir)");
	}
	struct timespec ms = {0, 5 * 1000 * 1000}; /* the threads count */
	nanosleep(&ms, NULL);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	program = access("/tmp", W_OK) == 0;
	block = malloc(4096);
	memset(block, 'T', 4096);
	tpl_brk = (void *)syscall(SYS_brk, 0);
	tpl_umask = umask(022);
	umask(tpl_umask);
	getrlimit(RLIMIT_NOFILE, &tpl_nofile);
	pthread_t w;
	pthread_create(&w, NULL, worker, NULL);
	if (raw(IV_HC_BASE + HC_SAVE, 0, 0) != 0)
		return 2;
	char arg[64] = "";
	raw(IV_HC_BASE + HC_GET_ARG, (long)arg, sizeof(arg));
	if (!strcmp(arg, "selftest")) {
		leave();
		probe();
		printf("reuse: selftest found %d\n", found);
		return 0;
	}
	if (!strncmp(arg, "fail ", 5))
		exit(atoi(arg + 5));
	if (!strcmp(arg, "segv"))
		raise(SIGSEGV);
	if (!strcmp(arg, "filter")) {
		/* a seccomp filter of its own (allow everything): not undone */
		struct {
			unsigned short code;
			unsigned char jt, jf;
			unsigned k;
		} allow = {0x06 /* BPF_RET|BPF_K */, 0, 0, 0x7fff0000U /* SECCOMP_RET_ALLOW */};
		struct {
			unsigned short len;
			void *filter;
		} prog = {1, &allow};
		printf("reuse: filter: %ld\n",
		       syscall(SYS_seccomp, 1 /* SET_MODE_FILTER */, 0, &prog));
		exit(0);
	}
	if (!strcmp(arg, "unmapstub")) {
		/* the cell stub (where the monitor runs its calls): gone */
		printf("reuse: stub unmapped: %d\n", munmap((void *)0x600000000000UL, 1 << 20));
		exit(0);
	}
	int k = strncmp(arg, "probe ", 6) ? 99 : atoi(arg + 6);
	probe();
	printf("reuse: run %d %s\n", k, found ? "found leftovers" : "clean");
	leave();
	exit(0);
}
