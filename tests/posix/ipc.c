/*
 * Cap streams, cap calls and MAKE_CALL from a libc program, for
 * tests/cases/ipc.sh.  Every line it prints starts with its mode.  Modes:
 *
 *   irecv KEY M         advertise stream KEY (1 MiB), take M messages
 *                       (tests/ipc_msg.h), check each, print the checksum;
 *                       then wait once more and print how that ended
 *   isend KEY M SEED [MAX]
 *                       probe KEY (until it exists), write M messages of
 *                       random sizes (16 B .. MAX, 1 MiB), print the checksum
 *   isend-crash KEY K   write K messages, then die in the middle of the
 *                       next one's copy (its source runs into a hole)
 *   irecv-crash KEY K   take K messages, then die (abort)
 *   isend-all KEY       write until the receiver is gone; print how it ended
 *   callee KEY [hang|crash]
 *                       advertise call KEY (64 KiB) and serve it on a
 *                       thread: a call returns the FNV checksum of its
 *                       argument; "quit" ends the cVM; with hang, the first
 *                       call sleeps 2 s before it returns; with crash, the
 *                       argument "crash" aborts the cVM
 *   caller KEY M SEED   probe KEY (until it exists), make M calls with
 *                       random arguments, check each value, then "quit"
 *   caller-once KEY ARG [quit]
 *                       make one call with ARG, print its outcome; with
 *                       quit, then call "quit" until the callee takes it
 *   makecall            host_make_call: the value of a function run on
 *                       another thread
 *   tpl                 save as a template; each fork runs the mode its
 *                       args name (host_get_arg)
 *   calls-many KEY N    N threads each make 200 calls of KEY at once
 *   recv-flag KEY FLAG NAMES
 *                       advertise stream KEY for NAMES ("-": any), write
 *                       "ready" into /cap/FLAG, take one message
 *   probe KEY stream|call FLAG
 *                       wait until /cap/FLAG says "ready" (at most 10 s),
 *                       then probe KEY once and print the outcome
 *   adv-save KEY        advertise stream KEY, then save as a template
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../ipc_msg.h"
#include "intravisor.h"

#define AREA	 (1L << 20)
#define CALL_BUF (64L << 10)

__attribute__((aligned(4096))) static unsigned char area[AREA];
static unsigned char msg[AREA];

static void sleep_ms(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000};
	nanosleep(&t, NULL);
}

/* Probes KEY until it exists (the other cVM may not have advertised it
 * yet), at most 10 s. */
static long probe(const char *key, int call)
{
	long id = -ENOENT;
	for (int i = 0; i < 10000 && id == -ENOENT; i++) {
		id = call ? host_cc_prb(key) : host_cs_prb(key);
		if (id == -ENOENT)
			sleep_ms(1);
	}
	return id;
}

static int irecv(const char *key, long m, long crash_after)
{
	const char *mode = crash_after >= 0 ? "irecv-crash" : "irecv";
	long id = host_cs_adv(area, AREA, key, NULL);
	if (id < 0) {
		printf("%s %s: advertise: %s\n", mode, key, strerror((int)-id));
		return 1;
	}
	unsigned long sum = MSG_FNV_INIT, bytes = 0;
	for (long i = 0; i < m; i++) {
		if (i == crash_after)
			abort();
		long r = host_cs_register(id, area, AREA);
		if (r == 0)
			r = host_cap_wait(id);
		if (r < 0) {
			printf("%s %s: message %ld: %s\n", mode, key, i, strerror((int)-r));
			return 1;
		}
		unsigned long bad = msg_check(area, (unsigned long)r, (unsigned long)i);
		if (bad) {
			printf("%s %s: message %ld (%ld bytes) is wrong at byte %lu\n", mode, key,
			       i, r, bad - 1);
			return 1;
		}
		sum = msg_fnv(sum, area, (unsigned long)r);
		bytes += (unsigned long)r;
	}
	printf("%s %s: %ld messages, %lu bytes, each intact, checksum %016lx\n", mode, key, m,
	       bytes, sum);
	long r = host_cs_register(id, area, AREA);
	if (r == 0)
		r = host_cap_wait(id);
	printf("%s %s: then: %s\n", mode, key, r < 0 ? strerror((int)-r) : "a message");
	return 0;
}

static int isend(const char *key, long m, unsigned long seed, long crash_at, unsigned long max)
{
	const char *mode = crash_at >= 0 ? "isend-crash" : "isend";
	long id = probe(key, 0);
	if (id < 0) {
		printf("%s %s: probe: %s\n", mode, key, strerror((int)-id));
		return 1;
	}
	unsigned long sum = MSG_FNV_INIT, bytes = 0, rng = seed;
	for (long i = 0; i < m; i++) {
		unsigned long len = MSG_MIN + msg_rand(&rng) % (max - MSG_MIN + 1);
		if (i % 4 == 0)
			len = MSG_MIN + msg_rand(&rng) % 512; /* small ones too */
		msg_fill(msg, len, (unsigned long)i, msg_rand(&rng));
		if (i == crash_at) {
			/* two pages whose second is gone: the copy faults half-way */
			unsigned char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
						MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			munmap(p + 4096, 4096);
			host_cs_write(id, p, 8192);
			printf("%s %s: still alive?\n", mode, key);
			return 1;
		}
		long r = host_cs_write(id, msg, (long)len);
		if (r != (long)len) {
			printf("%s %s: message %ld: %s\n", mode, key, i,
			       r < 0 ? strerror((int)-r) : "short");
			return 1;
		}
		sum = msg_fnv(sum, msg, len);
		bytes += len;
	}
	printf("%s %s: %ld messages, %lu bytes, checksum %016lx\n", mode, key, m, bytes, sum);
	return 0;
}

static int isend_all(const char *key)
{
	long id = probe(key, 0), r = 0, n = 0;
	for (; id >= 0; n++) {
		msg_fill(msg, 64, (unsigned long)n, (unsigned long)n);
		if ((r = host_cs_write(id, msg, 64)) != 64)
			break;
	}
	printf("isend-all %s: %ld written, then: %s\n", key, n, strerror((int)-(id < 0 ? id : r)));
	return 0;
}

/* ---- calls ---- */

static const char *callee_mode = "";
static int hung;

static long entry(long id, void *dev)
{
	(void)dev;
	void *where;
	long size;
	if (host_fetch_cap_call(id, &where, &size))
		return -1;
	if (size == 4 && !memcmp(where, "quit", 4)) {
		host_fin_cap_call(id, 0);
		printf("callee: quit\n");
		exit(0);
	}
	if (!strcmp(callee_mode, "crash") && size == 5 && !memcmp(where, "crash", 5))
		abort();
	if (!strcmp(callee_mode, "hang") && !hung++)
		sleep_ms(2000);
	return (long)(msg_fnv(MSG_FNV_INIT, where, (unsigned long)size) >> 1);
}

static void *serve(void *arg)
{
	long r = host_cc_serve((long)arg, entry, NULL);
	printf("callee: serve ended: %s\n", strerror((int)-r));
	exit(1);
}

static int callee(const char *key, const char *mode)
{
	callee_mode = mode;
	long id = host_cc_adv(key, CALL_BUF, NULL);
	if (id < 0) {
		printf("callee %s: advertise: %s\n", key, strerror((int)-id));
		return 1;
	}
	pthread_t t;
	pthread_create(&t, NULL, serve, (void *)id);
	pthread_join(t, NULL);
	return 0;
}

static long call_once(long id, const void *buf, long len, long *v)
{
	return host_make_cap_call(id, buf, len, v);
}

static int caller(const char *key, long m, unsigned long seed)
{
	long id = probe(key, 1), v = 0;
	if (id < 0) {
		printf("caller %s: probe: %s\n", key, strerror((int)-id));
		return 1;
	}
	unsigned long rng = seed;
	long bufsize;
	unsigned char *shared = host_cc_buffer(id, &bufsize);
	for (long i = 0; i < m; i++) {
		unsigned long len = msg_rand(&rng) % (CALL_BUF + 1);
		msg_fill(msg, len < MSG_MIN ? MSG_MIN : len, (unsigned long)i, msg_rand(&rng));
		const void *arg = msg;
		if (i % 3 == 0) { /* built in place: no copy */
			memcpy(shared, msg, len);
			arg = shared;
		}
		long r = call_once(id, arg, (long)len, &v);
		long want = (long)(msg_fnv(MSG_FNV_INIT, msg, len) >> 1);
		if (r || v != want) {
			printf("caller %s: call %ld (%lu bytes): %s, value %ld, expected %ld\n",
			       key, i, len, r ? strerror((int)-r) : "answered", v, want);
			return 1;
		}
	}
	printf("caller %s: %ld calls, each answered right\n", key, m);
	long r = call_once(id, "quit", 4, &v);
	printf("caller %s: quit: %s\n", key, r ? strerror((int)-r) : "done");
	return 0;
}

static int caller_once(const char *key, const char *arg, int quit)
{
	long id = probe(key, 1), v = -1;
	if (id < 0) {
		printf("caller-once %s: probe: %s\n", key, strerror((int)-id));
		return 0;
	}
	long r = call_once(id, arg, (long)strlen(arg), &v);
	printf("caller-once %s: %s: %s (value %ld), the caller lives on\n", key, arg,
	       r ? strerror((int)-r) : "answered", r ? -1 : v);
	if (!quit)
		return 0;
	/* the callee is busy with the call we gave up on: ours wait their turn */
	for (int i = 0; i < 50 && (r = call_once(id, "quit", 4, &v)) == -ETIMEDOUT; i++)
		;
	printf("caller-once %s: then quit: %s\n", key, r ? strerror((int)-r) : "answered");
	return 0;
}

struct many {
	long id, ok;
};

static void *many_thread(void *arg)
{
	struct many *w = arg;
	char buf[64];
	for (int i = 0; i < 200; i++) {
		long v, n = snprintf(buf, sizeof(buf), "call %d of %p", i, (void *)w);
		long want =
			(long)(msg_fnv(MSG_FNV_INIT, (unsigned char *)buf, (unsigned long)n) >> 1);
		if (call_once(w->id, buf, n, &v) == 0 && v == want)
			w->ok++;
	}
	return NULL;
}

static int calls_many(const char *key, long n)
{
	long id = probe(key, 1), ok = 0, v;
	struct many w[8] = {0};
	pthread_t t[8];
	if (n > 8)
		n = 8;
	for (long i = 0; i < n; i++) {
		w[i].id = id;
		pthread_create(&t[i], NULL, many_thread, &w[i]);
	}
	for (long i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		ok += w[i].ok;
	}
	printf("calls-many %s: %ld of %ld calls answered right\n", key, ok, n * 200);
	call_once(id, "quit", 4, &v);
	return 0;
}

/* ---- who may probe ---- */

static int flag_set(const char *flag)
{
	char path[128];
	snprintf(path, sizeof(path), "/cap/%s", flag);
	FILE *f = fopen(path, "r+");
	if (!f || fputs("ready", f) < 0 || fclose(f))
		return -1;
	return 0;
}

static int flag_wait(const char *flag)
{
	char path[128], buf[8] = {0};
	snprintf(path, sizeof(path), "/cap/%s", flag);
	for (int i = 0; i < 10000; i++) {
		FILE *f = fopen(path, "r");
		if (f && fread(buf, 1, 5, f) == 5 && !memcmp(buf, "ready", 5)) {
			fclose(f);
			return 0;
		}
		if (f)
			fclose(f);
		sleep_ms(1);
	}
	return -1;
}

static int recv_flag(const char *key, const char *flag, const char *names)
{
	long id = host_cs_adv(area, AREA, key, strcmp(names, "-") ? names : NULL);
	if (id < 0 || flag_set(flag)) {
		printf("recv-flag %s: cannot advertise or set the flag\n", key);
		return 1;
	}
	long r = host_cs_register(id, area, AREA);
	if (r == 0)
		r = host_cap_wait(id);
	printf("recv-flag %s: %s\n", key,
	       r < 0				      ? strerror((int)-r)
	       : msg_check(area, (unsigned long)r, 0) ? "wrong"
						      : "a message");
	return 0;
}

static int probe_once(const char *key, const char *kind, const char *flag)
{
	if (flag_wait(flag)) {
		printf("probe %s: the flag was never set\n", key);
		return 1;
	}
	long id = strcmp(kind, "call") ? host_cs_prb(key) : host_cc_prb(key);
	printf("probe %s %s: %s\n", kind, key, id < 0 ? strerror((int)-id) : "granted");
	return 0;
}

static int adv_save(const char *key)
{
	long id = host_cs_adv(area, AREA, key, NULL);
	printf("adv-save %s: advertised: %ld\n", key, id);
	long r = host_save();
	printf("adv-save %s: saved: %ld\n", key, r);
	return 0;
}

/* ---- MAKE_CALL ---- */

static long main_tid;

static long plus_one(long x)
{
	return syscall(SYS_gettid) != main_tid ? x + 1 : -1;
}

static int makecall(void)
{
	main_tid = syscall(SYS_gettid);
	long v = host_make_call(plus_one, 41);
	printf("makecall: %ld%s\n", v, v == 42 ? " from another thread" : "");
	return v != 42;
}

static int run(int argc, char **argv);

/* A template: each fork runs the mode of its own args. */
static int tpl(void)
{
	printf("tpl: saving\n");
	fflush(stdout);
	if (host_save() < 0)
		return 1;
	static char args[256];
	char *v[8] = {"ipc"};
	int n = 1;
	host_get_arg(args, sizeof(args));
	for (char *s = strtok(args, " "); s && n < 8; s = strtok(NULL, " "))
		v[n++] = s;
	return run(n, v);
}

static int run(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";
	const char *key = argc > 2 ? argv[2] : "";
	long n = argc > 3 ? atol(argv[3]) : 0;
	unsigned long seed = argc > 4 ? strtoul(argv[4], NULL, 0) : 1;
	if (!strcmp(m, "irecv"))
		return irecv(key, n, -1);
	if (!strcmp(m, "irecv-crash"))
		return irecv(key, n + 1, n);
	if (!strcmp(m, "isend"))
		return isend(key, n, seed, -1,
			     argc > 5 && atol(argv[5]) >= MSG_MIN ? (unsigned long)atol(argv[5])
								  : AREA);
	if (!strcmp(m, "isend-crash"))
		return isend(key, n + 1, 7, n, AREA);
	if (!strcmp(m, "isend-all"))
		return isend_all(key);
	if (!strcmp(m, "callee"))
		return callee(key, argc > 3 ? argv[3] : "");
	if (!strcmp(m, "caller"))
		return caller(key, n, seed);
	if (!strcmp(m, "caller-once"))
		return caller_once(key, argc > 3 ? argv[3] : "",
				   argc > 4 && !strcmp(argv[4], "quit"));
	if (!strcmp(m, "calls-many"))
		return calls_many(key, n);
	if (!strcmp(m, "makecall"))
		return makecall();
	if (!strcmp(m, "recv-flag") && argc > 4)
		return recv_flag(key, argv[3], argv[4]);
	if (!strcmp(m, "probe") && argc > 4)
		return probe_once(key, argv[3], argv[4]);
	if (!strcmp(m, "adv-save"))
		return adv_save(key);
	if (!strcmp(m, "tpl"))
		return tpl();
	fprintf(stderr, "ipc: unknown mode '%s'\n", m);
	return 2;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	return run(argc, argv);
}
