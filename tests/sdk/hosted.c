/*
 * A hosted (glibc or musl) program that uses the installed SDK: it
 * includes <intravisor.h> among libc headers (no clash, even with -Wall
 * -Wextra -pedantic), links libintravisor and calls host_save().  As a
 * template it starts a thread that counts and saves; each fork (or copy
 * restored from an image) prints host_inspect() and its args, checks the
 * thread counts on and, given the arg "cap", reads cap file 'greeting'.
 * Outside a cVM it says so and exits 3.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <intravisor.h>

static volatile long ticks;

static void *counter(void *arg)
{
	struct timespec ms = {0, 1000000};
	for (;;) {
		__atomic_add_fetch(&ticks, 1, __ATOMIC_RELAXED);
		nanosleep(&ms, NULL);
	}
	return arg;
}

static int counts_on(void)
{
	struct iv_timespec ms = {0, 1000000};
	long t0 = ticks;
	for (int i = 0; i < 2000 && ticks < t0 + 3; i++)
		host_nanosleep(&ms, NULL);
	return ticks >= t0 + 3;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	long in = host_inspect();
	if (in < 0) {
		printf("sdk: not in a cVM: host_inspect() = %ld (%s)\n", in, strerror((int)-in));
		return 3;
	}
	pthread_t th;
	if (pthread_create(&th, NULL, counter, NULL))
		return 4;
	while (ticks < 3)
		sched_yield();
	printf("sdk: template: inspect=%ld\n", in);
	long r = host_save();
	if (r != 0) {
		printf("sdk: host_save() = %ld\n", r);
		return 5;
	}
	char arg[64];
	host_get_arg(arg, sizeof(arg));
	printf("sdk: fork: inspect=%ld arg=%s\n", host_inspect(), arg);
	printf("sdk: the template's thread counts on: %s\n", counts_on() ? "yes" : "no");
	struct iv_timeval tv;
	printf("sdk: host_gettimeofday: %s\n",
	       host_gettimeofday(&tv, NULL) == 0 && tv.tv_sec > 0 ? "ok" : "failed");
	if (!strcmp(arg, "cap")) {
		void *where = NULL;
		long size = 0;
		char text[64] = "";
		if (host_cap_file_prb("greeting", &where, &size) == 0 &&
		    size < (long)sizeof(text) && (uintptr_t)where % 4096 == 0) {
			copy_from_cap(text, &where, (size_t)size);
			printf("sdk: cap file 'greeting' says: %s\n", text);
		}
	}
	const char msg[] = "sdk: host_write works\n";
	host_write(msg, (long)strlen(msg));
	return 0;
}
