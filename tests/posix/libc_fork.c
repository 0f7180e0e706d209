/*
 * A libc program as a TFORK template, built against musl and against glibc.
 * Before it saves (one raw hostcall, no SDK), it starts a thread that waits
 * on a condition variable and one that sleeps then exits, and records its
 * pid and their thread ids.  Each fork, by its args:
 *   ids     prints whether getpid() and the threads' gettid() are the
 *           template's
 *   join    wakes the waiting thread and joins both (pthread_join returns
 *           only if the kernel clears the thread id where libc waits)
 *   raise   raise(SIGUSR1) to a handler, pthread_kill to a thread
 *   abort   abort(): the cVM must end by SIGABRT
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../../sdk/include/iv_hostcalls.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int go;
static volatile pid_t waiter_tid, sleeper_tid;
static volatile int usr1, usr2;

static long raw(long nr)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr) : "rcx", "r11", "memory");
	return ret;
}

static void *waiter(void *arg)
{
	waiter_tid = (pid_t)syscall(SYS_gettid);
	pthread_mutex_lock(&mu);
	while (!go)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return arg;
}

static void *sleeper(void *arg)
{
	sleeper_tid = (pid_t)syscall(SYS_gettid);
	struct timespec ts = {0, 200 * 1000 * 1000};
	nanosleep(&ts, NULL);
	return arg;
}

static void on_usr1(int sig)
{
	(void)sig;
	usr1 = 1;
}

static void on_usr2(int sig)
{
	(void)sig;
	usr2 = 1;
}

int main(int argc, char **argv)
{
	(void)argc, (void)argv;
	setvbuf(stdout, NULL, _IONBF, 0);
	signal(SIGUSR1, on_usr1);
	signal(SIGUSR2, on_usr2);
	pthread_t w, s;
	pthread_create(&w, NULL, waiter, NULL);
	pthread_create(&s, NULL, sleeper, NULL);
	while (!waiter_tid || !sleeper_tid)
		sched_yield();
	pid_t pid = getpid();
	pid_t tw = waiter_tid, ts = sleeper_tid;

	long r = raw(IV_HC_BASE + HC_SAVE);
	if (r != 0) {
		printf("libc: save -> %ld\n", r);
		return 2;
	}
	if (raw(IV_HC_BASE + HC_INSPECT) == 1) {
		printf("libc: not a template?\n");
		return 2;
	}
	char arg[64] = "";
	__asm__ volatile("syscall"
			 :
			 : "a"(IV_HC_BASE + HC_GET_ARG), "D"(arg), "S"(sizeof(arg))
			 : "rcx", "r11", "memory");
	if (!strcmp(arg, "ids")) {
		printf("libc: pid same: %s\n", getpid() == pid ? "yes" : "no");
		printf("libc: thread ids same: %s\n",
		       waiter_tid == tw && sleeper_tid == ts ? "yes" : "no");
	} else if (!strcmp(arg, "join")) {
		pthread_mutex_lock(&mu);
		go = 1;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
		int a = pthread_join(w, NULL), b = pthread_join(s, NULL);
		printf("libc: joined both: %d %d\n", a, b);
	} else if (!strcmp(arg, "raise")) {
		int a = raise(SIGUSR1);
		int b = pthread_kill(w, SIGUSR2);
		/* the handler runs in that thread, when it is next scheduled */
		struct timespec ms = {0, 1000 * 1000};
		for (int i = 0; i < 2000 && !usr2; i++)
			nanosleep(&ms, NULL);
		printf("libc: raise %d handled %d; pthread_kill %d handled %d\n", a, usr1, b, usr2);
	} else if (!strcmp(arg, "abort")) {
		abort();
	}
	return 0;
}
