/*
 * An unmodified-libc (static musl) template for TFORK and snapshot images.
 * Before it saves it fills what musl keeps outside the cVM's [begin, end),
 * above the stub: small mallocs on the brk heap, a large malloc musl gets
 * from mmap, thread-local variables in the TLS musl mmaps (it is larger
 * than musl's built-in area), and a thread (its stack mmap'd) that counts.
 * It saves with the hosted SDK's host_save (libintravisor), which in a
 * restored copy recreates the thread.  A fork or a restored copy then checks each of
 * them, that the thread counts on, that malloc and a new thread work, and
 * exits with the number of checks that failed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "intravisor.h"

#define STUB_BASE 0x600000000000UL
#define BIG	  (1UL << 20) /* above musl's mmap threshold */
#define NSMALL	  4096

static __thread char tls_big[16384];
static __thread long tls_val = 1;
static volatile long ticks;
static char *small;
static unsigned char *big;
static char *smalls[NSMALL];

static long hc(long nr, long a, long b)
{
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(IV_HC_BASE + nr), "D"(a), "S"(b), "d"(0)
			 : "rcx", "r11", "memory");
	return ret;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	nanosleep(&ts, 0);
}

static void *counter(void *arg)
{
	for (;;) {
		__atomic_add_fetch(&ticks, 1, __ATOMIC_RELAXED);
		sleep_ms(1);
	}
	return arg;
}

static void *once(void *arg)
{
	tls_val = 99; /* its own copy */
	return arg;
}

static const char *where(const void *p)
{
	return (uintptr_t)p >= STUB_BASE ? "above the stub" : "in the cVM's range";
}

static int fails;

static void check(const char *what, int ok)
{
	printf("libc: %s: %s\n", what, ok ? "ok" : "FAILED");
	fails += !ok;
}

int main(void)
{
	small = malloc(64);
	big = malloc(BIG);
	if (!small || !big)
		return 100;
	strcpy(small, "a small chunk");
	for (size_t i = 0; i < BIG; i++)
		big[i] = (unsigned char)(i * 7);
	tls_val = 4242;
	memset(tls_big, 0x5a, sizeof(tls_big));
	pthread_t th;
	if (pthread_create(&th, 0, counter, 0))
		return 101;
	while (ticks < 3)
		sleep_ms(1);
	printf("libc: template: small chunk %s, big chunk %s, TLS %s\n", where(small), where(big),
	       where(tls_big));
	fflush(stdout);

	if (host_save() < 0)
		return 102;
	char arg[128] = "";
	hc(HC_GET_ARG, (long)arg, sizeof(arg));
	printf("libc: resumed with args: %s\n", arg);
	check("host_inspect is 0", hc(HC_INSPECT, 0, 0) == 0);
	check("small chunk kept", !strcmp(small, "a small chunk"));
	int same = 1;
	for (size_t i = 0; i < BIG; i++)
		same &= big[i] == (unsigned char)(i * 7);
	check("big chunk kept", same);
	same = tls_val == 4242;
	for (size_t i = 0; i < sizeof(tls_big); i++)
		same &= tls_big[i] == 0x5a;
	check("thread-local variables kept", same);
	errno = 0;
	check("errno works", fopen("/nonexistent", "r") == NULL && errno != 0);
	long t0 = ticks;
	for (int k = 0; k < 1000 && ticks < t0 + 3; k++)
		sleep_ms(1);
	check("the thread counts on", ticks >= t0 + 3);
	/* enough small chunks that musl needs more of its brk-grown metadata */
	int ok = 1;
	for (int i = 0; i < NSMALL; i++) {
		smalls[i] = malloc(48);
		ok &= smalls[i] != NULL;
		if (smalls[i])
			memset(smalls[i], i, 48);
	}
	for (int i = 0; i < NSMALL; i++)
		ok &= smalls[i] && (unsigned char)smalls[i][47] == (unsigned char)i;
	char *more = malloc(2 * BIG);
	ok &= more != NULL;
	if (more)
		memset(more, 1, 2 * BIG);
	free(small);
	free(big);
	free(more);
	for (int i = 0; i < NSMALL; i++)
		free(smalls[i]);
	check("malloc and free work", ok);
	pthread_t t2;
	check("a new thread",
	      pthread_create(&t2, 0, once, 0) == 0 && pthread_join(t2, 0) == 0 && tls_val == 4242);
	fflush(stdout);
	return fails;
}
