/*
 * Cap streams, cap calls and MAKE_CALL from a freestanding cVM (libivrt),
 * for tests/cases/ipc.sh; its peers may be libc programs
 * (tests/posix/ipc.c): the messages and values are the same
 * (tests/ipc_msg.h).  Args:
 *
 *   bsend KEY M SEED    probe stream KEY (until it exists), write M
 *                       messages of 16 B .. 256 KiB, print the checksum
 *   brecv KEY M         advertise stream KEY (256 KiB), take and check M
 *                       messages, print the checksum
 *   bcallee KEY         advertise call KEY (64 KiB), serve it on a thread;
 *                       a call returns the FNV checksum of its argument
 *                       (shifted right once), "quit" ends the cVM
 *   bcaller KEY M SEED  probe call KEY, make M calls, check each value,
 *                       then "quit"
 *   bmakecall           host_make_call of a function returning 41 + 1
 */
#include "../ipc_msg.h"
#include "intravisor.h"

#define NR_gettid 186
#define ENOENT	  2
#define AREA	  (256L << 10)
#define CALL_BUF  (64L << 10)

long cvm_main(void);

static char args[256];
static unsigned char area[AREA] __attribute__((aligned(4096)));
static unsigned char msg[AREA];
static char stack[64 << 10] __attribute__((aligned(16)));

static void out(const char *a, const char *b, const char *c)
{
	iv_puts(a);
	iv_puts(b);
	iv_puts(c);
}

static void num(long n)
{
	char b[24];
	iv_puts(iv_itoa(n, b));
}

static void hex(unsigned long n)
{
	char b[24];
	iv_puts(iv_xtoa(n, b));
}

static char *word(char **p)
{
	char *s = *p;
	while (*s == ' ')
		s++;
	char *w = s;
	while (*s && *s != ' ')
		s++;
	if (*s)
		*s++ = 0;
	*p = s;
	return w;
}

static long atol_(const char *s)
{
	long n = 0;
	while (*s >= '0' && *s <= '9')
		n = n * 10 + (*s++ - '0');
	return n;
}

static long probe(const char *key, int call)
{
	struct iv_timespec ms = {0, 1000000};
	long id = -ENOENT;
	for (int i = 0; i < 10000 && id == -ENOENT; i++) {
		id = call ? host_cc_prb(key) : host_cs_prb(key);
		if (id == -ENOENT)
			host_nanosleep(&ms, 0);
	}
	return id;
}

static long fail(const char *mode, const char *key, const char *what, long r)
{
	out(mode, " ", key);
	out(": ", what, " ");
	num(r);
	iv_puts("\n");
	return 1;
}

static long bsend(const char *key, long m, unsigned long seed)
{
	long id = probe(key, 0);
	if (id < 0)
		return fail("bsend", key, "probe", id);
	unsigned long sum = MSG_FNV_INIT, rng = seed, bytes = 0;
	for (long i = 0; i < m; i++) {
		unsigned long len = MSG_MIN + msg_rand(&rng) % (AREA - MSG_MIN + 1);
		msg_fill(msg, len, (unsigned long)i, msg_rand(&rng));
		long r = host_cs_write(id, msg, (long)len);
		if (r != (long)len)
			return fail("bsend", key, "write", r);
		sum = msg_fnv(sum, msg, len);
		bytes += len;
	}
	out("bsend ", key, ": ");
	num(m);
	iv_puts(" messages, ");
	num((long)bytes);
	iv_puts(" bytes, checksum ");
	hex(sum);
	iv_puts("\n");
	return 0;
}

static long brecv(const char *key, long m)
{
	long id = host_cs_adv(area, AREA, key, 0);
	if (id < 0)
		return fail("brecv", key, "advertise", id);
	unsigned long sum = MSG_FNV_INIT, bytes = 0;
	for (long i = 0; i < m; i++) {
		long r = host_cs_register(id, area, AREA);
		if (r == 0)
			r = host_cap_wait(id);
		if (r < 0)
			return fail("brecv", key, "wait", r);
		if (msg_check(area, (unsigned long)r, (unsigned long)i))
			return fail("brecv", key, "a wrong message, number", i);
		sum = msg_fnv(sum, area, (unsigned long)r);
		bytes += (unsigned long)r;
	}
	out("brecv ", key, ": ");
	num(m);
	iv_puts(" messages, ");
	num((long)bytes);
	iv_puts(" bytes, each intact, checksum ");
	hex(sum);
	iv_puts("\n");
	return 0;
}

static long entry(long id, void *dev)
{
	(void)dev;
	void *where;
	long size;
	if (host_fetch_cap_call(id, &where, &size))
		return -1;
	if (size == 4 && !memcmp(where, "quit", 4)) {
		host_fin_cap_call(id, 0);
		iv_puts("bcallee: quit\n");
		host_exit();
	}
	return (long)(msg_fnv(MSG_FNV_INIT, where, (unsigned long)size) >> 1);
}

static void serve(long id)
{
	long r = host_cc_serve(id, entry, 0);
	fail("bcallee", "", "serve ended", r);
	host_exit_code(1);
}

static long bcallee(const char *key)
{
	long id = host_cc_adv(key, CALL_BUF, 0);
	if (id < 0)
		return fail("bcallee", key, "advertise", id);
	long t = iv_thread_spawn(serve, id, stack, sizeof(stack));
	if (t < 0)
		return fail("bcallee", key, "thread", t);
	struct iv_timespec s = {1, 0};
	for (;;) /* the serving thread ends the cVM */
		host_nanosleep(&s, 0);
}

static long bcaller(const char *key, long m, unsigned long seed)
{
	long id = probe(key, 1), v = 0;
	if (id < 0)
		return fail("bcaller", key, "probe", id);
	unsigned long rng = seed;
	for (long i = 0; i < m; i++) {
		unsigned long len = msg_rand(&rng) % (CALL_BUF + 1);
		msg_fill(msg, len < MSG_MIN ? MSG_MIN : len, (unsigned long)i, msg_rand(&rng));
		long r = host_make_cap_call(id, msg, (long)len, &v);
		if (r || v != (long)(msg_fnv(MSG_FNV_INIT, msg, len) >> 1))
			return fail("bcaller", key, "wrong call, number", i);
	}
	out("bcaller ", key, ": ");
	num(m);
	iv_puts(" calls, each answered right\n");
	host_make_cap_call(id, "quit", 4, &v);
	return 0;
}

static long tid(void)
{
	return iv_syscall6(NR_gettid, 0, 0, 0, 0, 0, 0);
}

static long caller_tid;

static long plus_one(long x)
{
	return tid() != caller_tid ? x + 1 : -1;
}

long cvm_main(void)
{
	host_get_arg(args, sizeof(args));
	char *p = args, *mode = word(&p), *key = word(&p), *a = word(&p), *b = word(&p);
	if (!strcmp(mode, "bsend"))
		return bsend(key, atol_(a), (unsigned long)atol_(b));
	if (!strcmp(mode, "brecv"))
		return brecv(key, atol_(a));
	if (!strcmp(mode, "bcallee"))
		return bcallee(key);
	if (!strcmp(mode, "bcaller"))
		return bcaller(key, atol_(a), (unsigned long)atol_(b));
	if (!strcmp(mode, "bmakecall")) {
		caller_tid = tid();
		long v = host_make_call(plus_one, 41);
		iv_puts("bmakecall: ");
		num(v);
		iv_puts(v == 42 ? " from another thread\n" : "\n");
		return v != 42;
	}
	return 2;
}
