/*
 * The seed's cap_stream app, as a libc program with the SDK's streams
 * (README "Sharing between cVMs"): the receiver advertises its 4 MiB
 * buffer `ptr` as stream key1 and registers it; the sender probes key1 and
 * writes from its own buffer `dnull`; each write lands in `ptr` with one
 * copy.  Its first argument is the seed's test:
 *
 *   1        one thread: register, advertise, write, wait, check
 *   2 [N]    a receiver thread and a sender thread in this cVM, N messages
 *   3 [N]    the receiver alone (another cVM sends): N messages, or until
 *            every writer has ended
 *   4 [N]    the sender alone: N messages
 *
 * N (default 20) bounds what the seed ran forever.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "intravisor.h"

#define MAX_SIZE (4 * 1024 * 1024)

static long size = MAX_SIZE;
static long count = 20;

__attribute__((aligned(4096))) static char ptr[MAX_SIZE];
__attribute__((aligned(4096))) static char dnull[MAX_SIZE];

static void die(const char *what, long r)
{
	printf("Error: %s: %s\n", what, strerror((int)-r));
	fflush(stdout);
	exit(1);
}

/* The sender may start first: it probes until the receiver has advertised
 * (at most 10 s). */
static long probe_key1(void)
{
	struct timespec ms = {0, 1000000};
	long id = -ENOENT;
	for (int i = 0; i < 10000 && (id = host_cs_prb("key1")) == -ENOENT; i++)
		nanosleep(&ms, NULL);
	return id;
}

static void *s_send(void *arg)
{
	(void)arg;
	printf("Testing CF_STREAMs SEND thread, ptr = %p, dnull = %p\n", (void *)ptr,
	       (void *)dnull);
	long id = probe_key1();
	if (id < 0)
		die("probe key1", id);
	printf("id_out = %ld\n", id);
	for (long i = 0; i < count; i++) {
		int ts = snprintf(dnull, (size_t)size, "send %ld", i);
		long r = host_cs_write(id, dnull, (ts / 16 + 1) * 16);
		if (r < 0)
			die("write", r);
	}
	return NULL;
}

static void *s_recv(void *arg)
{
	(void)arg;
	printf("Testing CF_STREAMs RECV thread, ptr = %p, dnull = %p\n", (void *)ptr,
	       (void *)dnull);
	long id = host_cs_adv(ptr, size, "key1", NULL);
	if (id < 0)
		die("advertise key1", id);
	printf("id_in = %ld\n", id);
	fflush(stdout);
	long r = host_cs_register(id, ptr, size);
	for (long i = 0; r == 0 && i < count; i++) {
		r = host_cap_wait(id);
		if (r == -EPIPE) {
			printf("every writer has ended\n");
			return NULL;
		}
		if (r < 0)
			die("wait", r);
		printf("%ld:\trecv = '%s'\n", i, ptr);
		fflush(stdout);
		memset(ptr, 0, (size_t)r);
		r = host_cs_register(id, ptr, size);
	}
	if (r < 0)
		die("register", r);
	return NULL;
}

static int single(void)
{
	printf("Testing CF_STREAMs, single thread\n");
	long id = host_cs_adv(ptr, size, "key1", NULL);
	if (id < 0)
		die("advertise key1", id);
	long r = host_cs_register(id, ptr, size);
	if (r < 0)
		die("register", r);
	printf("RECV:\tclear ('%s') and publish ptr(%p) with key '%s' via /cap/ch1 \n", ptr,
	       (void *)ptr, "key1");

	long out = host_cs_prb("key1");
	if (out < 0)
		die("probe key1", out);
#define MSG "text for ptr"
	int ssize = snprintf(dnull, (size_t)size, MSG);
	printf("SEND:\tsending ptr (%p) with '%s' via /cap/ch2 (%ld)\n", (void *)dnull, dnull, out);
	r = host_cs_write(out, dnull, (ssize / 16 + 1) * 16);
	if (r < 0)
		die("write", r);

	r = host_cap_wait(id);
	if (r < 0)
		die("wait", r);
	printf("RECV:\tCheck ptr (%p) after wait: '%s'\n", (void *)ptr, ptr);
	return strcmp(ptr, MSG) != 0;
}

int main(int argc, char *argv[])
{
	int test = argc > 1 ? argv[1][0] - '0' : 0;
	if (argc > 2)
		count = atol(argv[2]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	pthread_t recv, send;
	switch (test) {
	case 1:
		return single();
	case 2:
		if (pthread_create(&recv, NULL, s_recv, NULL) ||
		    pthread_create(&send, NULL, s_send, NULL)) {
			perror("pthread_create");
			return 1;
		}
		pthread_join(send, NULL);
		pthread_join(recv, NULL);
		return 0;
	case 3:
		s_recv(NULL);
		return 0;
	case 4:
		s_send(NULL);
		return 0;
	default:
		printf("1 -- CF_Stream, single\n2 -- CF_Stream, 2 thread\n"
		       "3 -- CF_Stream, 1 recv thread\n4 -- CF_Stream, 1 send thread\n");
		return 0;
	}
}
