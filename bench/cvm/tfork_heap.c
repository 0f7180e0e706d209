/*
 * The TFORK benchmark's cVM (args: see tfork.h).  It maps cap file
 * "bench_tfork" first, so that a template's forks inherit the mapping,
 * fills up to 64 MiB of heap when it starts from scratch, calls
 * host_save() and reads CLOCK_MONOTONIC as the very first thing after it
 * returns: in a template that is in each fork (the template itself stays a
 * zygote inside host_save); in a plain cVM host_save() returns at once, so
 * the same binary, deployed without template: 1, is the cold start.
 */
#include "cvm.h"
#include "tfork.h"

#define HEAP_MAX ((long)TFORK_HEAP_MAX_MIB << 20)

static unsigned char heap[HEAP_MAX] __attribute__((aligned(4096)));
static long heap_len; /* set where the heap is filled, seen by every fork */

struct args {
	char mode; /* 'T': tpl, 't': time, 'r': ro */
	int tpl;
	unsigned long slot, mib, ms; /* ms: for time, the percentage of pages to write */
	unsigned long rest;	     /* time: ms of rest before its exit (optional) */
};

/* "MODE SLOT MIB MS [REST]" split by single spaces; 0 or -1. */
static int parse_num(const char **p, unsigned long max, unsigned long *out)
{
	const char *s = *p;
	unsigned long v = 0;
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return -1;
	}
	if (*s == ' ')
		s++;
	else if (*s)
		return -1;
	*p = s;
	*out = v;
	return 0;
}

static int parse(const char *s, struct args *a)
{
	a->tpl = 0;
	if (s[0] == 't' && s[1] == 'p' && s[2] == 'l' && s[3] == ' ')
		a->mode = 'T', a->tpl = 1, s += 4;
	else if (s[0] == 't' && s[1] == 'i' && s[2] == 'm' && s[3] == 'e' && s[4] == ' ')
		a->mode = 't', s += 5;
	else if (s[0] == 'r' && s[1] == 'o' && s[2] == ' ')
		a->mode = 'r', s += 3;
	else
		return -1;
	a->rest = 0;
	if (parse_num(&s, TFORK_SLOTS - 1, &a->slot) ||
	    parse_num(&s, TFORK_HEAP_MAX_MIB, &a->mib) || parse_num(&s, 60000, &a->ms) ||
	    (*s && parse_num(&s, 1000, &a->rest)) || *s)
		return -1;
	return a->mode == 't' && a->ms > 100 ? -1 : 0;
}

/* argv (words) back into one string, as host_get_arg gives it. */
static void join(long argc, char **argv, char *buf, long size)
{
	long n = 0;
	for (long i = 0; i < argc; i++) {
		for (const char *p = argv[i]; *p && n < size - 2; p++)
			buf[n++] = *p;
		if (i + 1 < argc && n < size - 2)
			buf[n++] = ' ';
	}
	buf[n] = 0;
}

static void publish(volatile struct tfork_slot *s, uint64_t error)
{
	s->error = error;
	__asm__ volatile("" ::: "memory");
	s->magic = TFORK_MAGIC;
}

long cvm_main(long argc, char **argv)
{
	uint64_t t_first = bench_now();
	void *loc = 0;
	long size = 0;
	long r = host_cap_file_prb(TFORK_CAP, &loc, &size);
	if (r < 0 || size < (long)TFORK_CAP_SIZE) {
		char num[24];
		iv_puts("tfork_heap: cannot probe cap file '" TFORK_CAP "': ");
		iv_puts(iv_itoa(r < 0 ? r : size, num));
		iv_puts("\n");
		return 2;
	}
	volatile struct tfork_slot *slots = (volatile struct tfork_slot *)loc;

	char buf[128];
	struct args a;
	join(argc, argv, buf, sizeof(buf));
	if (parse(buf, &a)) {
		iv_puts("tfork_heap: bad args\n");
		publish(&slots[0], TFORK_ERR_ARGS);
		return 3;
	}
	volatile struct tfork_slot *s = &slots[a.slot];
	if (host_inspect() == 1) {
		long len = (long)a.mib << 20;
		uint64_t *w = (uint64_t *)heap;
		for (long i = 0; i < len / 8; i++)
			w[i] = (uint64_t)i * TFORK_WORD_MUL;
		heap_len = len;
	}
	s->t_first = t_first;
	s->t_filled = bench_now();
	if (a.tpl)
		publish(s, TFORK_OK); /* the template itself goes no further */

	r = host_save();
	uint64_t t_after = bench_now();

	/* A fork: a cVM of its own with its own args, in the template's memory. */
	host_get_arg(buf, sizeof(buf));
	if (r < 0 || parse(buf, &a) || a.tpl) {
		publish(&slots[0], r < 0 ? TFORK_ERR_SAVE : TFORK_ERR_ARGS);
		return 4;
	}
	s = &slots[a.slot];
	s->t_after = t_after;
	s->heap_len = (uint64_t)heap_len;
	if (a.mode == 't') {
		/* pct percent of the pages, one word each, every (100 / pct)th page */
		long pages = heap_len >> 12;
		for (long k = 0; a.ms && k < pages * (long)a.ms / 100; k++)
			((volatile uint64_t *)heap)[(k * 100 / (long)a.ms) << 9] = (uint64_t)k;
		s->t_end = bench_now();
		publish(s, heap_len ? TFORK_OK : TFORK_ERR_NOHEAP);
		if (a.rest) { /* room for the monitor to make the next cVM's cell ahead */
			struct iv_timespec ts = {0, (long)a.rest * 1000000};
			host_nanosleep(&ts, 0);
		}
		host_exit();
	}

	/* ro: read every word, say so, stay alive to be measured. */
	const uint64_t *w = (const uint64_t *)heap;
	uint64_t sum = 0;
	for (long i = 0; i < heap_len / 8; i++)
		sum += w[i];
	s->sum = sum;
	s->t_end = bench_now();
	publish(s, heap_len ? TFORK_OK : TFORK_ERR_NOHEAP);
	struct iv_timespec ts = {(long)(a.ms / 1000), (long)(a.ms % 1000) * 1000000L};
	host_nanosleep(&ts, 0);
	host_exit();
}
