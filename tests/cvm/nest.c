/*
 * Nested cVMs for tests/cases/nested.sh: one runtime for both layers.  The
 * outer's args are "MODE [N]"; its syscall_handler serves its inner, which
 * learns MODE by get_arg (116), answered by the outer with "inner MODE N".
 *
 *   files N   the outer keeps 4 files in arrays of its own and serves open
 *             (802), read (803), write (804), lseek (805), close (806); the
 *             inner writes N messages of random sizes (1 B .. 64 KiB) into
 *             them, reads each back, checks it and prints the checksum of
 *             what it wrote; the outer prints the checksum of what it
 *             stored when the inner exits: they agree
 *   probe     700-702 from both sides, printed
 *   poke A    the inner reads address A (decimal), outside its range
 *   badptr    the inner passes the handler pointers that are not its own
 *   crash     the handler crashes on hostcall 42; the inner ends with
 *             status 0 when that call failed with EIO
 *   hang      the handler never answers hostcall 42; the inner ends with
 *             status 0 when it failed with ETIMEDOUT
 *   forge     the handler answers hostcall 42 with the monitor's own codes
 *             (IV_HC_DEFER and the next two); the inner ends with status 0
 *             when each call failed with EINVAL
 *   slow      the handler answers hostcall 42 after a second; the inner
 *             prints what it got, retrying the print while the outer is
 *             still busy
 */
#include "intravisor.h"

#define EINVAL	  22
#define EFAULT	  14
#define ENOSYS	  38
#define EBADF	  9
#define NFILES	  4
#define FILE_MAX  (128L << 10)
#define MSG_MAX	  (64L << 10)
#define ETIMEDOUT 110
#define EIO	  5

long cvm_main(void);
long syscall_handler(long nr, long a0, long a1, long a2, long a3, long a4, long a5);

/* ---- shared helpers ---- */

static char args[128];

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

static int starts(const char *s, const char *p)
{
	while (*p)
		if (*s++ != *p++)
			return 0;
	return 1;
}

static long number(const char *s)
{
	long v = 0;
	while (*s == ' ')
		s++;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (*s++ - '0');
	return v;
}

static const char *after(const char *s)
{
	while (*s && *s != ' ')
		s++;
	return s;
}

static unsigned long fnv(unsigned long h, const unsigned char *p, long n)
{
	for (long i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3UL;
	return h;
}

static void sleep_ms(long ms)
{
	struct iv_timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	host_nanosleep(&ts, 0);
}

/* ---- the outer ---- */

static struct iv_inner inner;
static struct file {
	char name[32];
	unsigned char data[FILE_MAX];
	long size;
} files[NFILES];
static struct {
	int file; /* -1: free */
	long pos;
} handles[8];
static volatile int ready;			    /* args and inner are known */
static volatile long *volatile nowhere = 0;	    /* what the crashing handler reads */
static unsigned long stored = 0xcbf29ce484222325UL; /* FNV of every byte written */
static long nstored;

static int inner_str(long p, char *out, long max)
{
	for (long i = 0; i < max; i++) {
		if (!iv_inner_has(&inner, (unsigned long)p + (unsigned long)i, 1))
			return -EFAULT;
		out[i] = ((const char *)p)[i];
		if (!out[i])
			return 0;
	}
	return -EINVAL;
}

static long f_open(long path)
{
	char name[32];
	if (inner_str(path, name, sizeof(name)))
		return -EFAULT;
	int f = -1;
	for (int i = 0; i < NFILES && f < 0; i++)
		if (!strcmp(files[i].name, name))
			f = i;
	for (int i = 0; i < NFILES && f < 0; i++)
		if (!files[i].name[0]) {
			memcpy(files[i].name, name, strlen(name) + 1);
			f = i;
		}
	if (f < 0)
		return -EINVAL;
	for (int h = 0; h < 8; h++)
		if (handles[h].file < 0) {
			handles[h].file = f;
			handles[h].pos = 0;
			return h;
		}
	return -EINVAL;
}

static long f_rw(long h, long buf, long n, int write)
{
	if (h < 0 || h >= 8 || handles[h].file < 0)
		return -EBADF;
	if (n < 0 || !iv_inner_has(&inner, (unsigned long)buf, (unsigned long)n))
		return -EFAULT;
	long pos = handles[h].pos;
	struct file *f = &files[handles[h].file];
	if (write) {
		if (n > FILE_MAX - pos)
			n = FILE_MAX - pos;
		memcpy(f->data + pos, (const void *)buf, (iv_size_t)n);
		stored = fnv(stored, f->data + pos, n);
		nstored += n;
		if (pos + n > f->size)
			f->size = pos + n;
	} else {
		if (n > f->size - pos)
			n = f->size - pos;
		memcpy((void *)buf, f->data + pos, (iv_size_t)n);
	}
	handles[h].pos = pos + n;
	return n;
}

static long answer_arg(long buf, long size)
{
	static const char pre[] = "inner ";
	long n = (long)(sizeof(pre) - 1 + strlen(args) + 1);
	if (size < n || !iv_inner_has(&inner, (unsigned long)buf, (unsigned long)n))
		return -EFAULT;
	memcpy((char *)buf, pre, sizeof(pre) - 1);
	memcpy((char *)buf + sizeof(pre) - 1, args, strlen(args) + 1);
	return n - 1;
}

long syscall_handler(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	(void)a3, (void)a4, (void)a5;
	while (!ready)
		sleep_ms(1);
	switch (nr) {
	case HC_WRITE:
		if (!iv_inner_has(&inner, (unsigned long)a0, (unsigned long)a1))
			return -EFAULT; /* not the inner's: the SDK check refuses it */
		return host_write((const char *)a0, a1);
	case HC_GET_ARG:
		return answer_arg(a0, a1);
	case HC_EXIT:
		if (starts(args, "files")) {
			iv_puts("outer: stored ");
			num(nstored);
			iv_puts(" bytes, checksum ");
			hex(stored);
			iv_puts("\n");
		}
		return 0;
	case HC_OPEN:
		return f_open(a0);
	case HC_READ:
		return f_rw(a0, a1, a2, 0);
	case HC_WRITE_FILE:
		return f_rw(a0, a1, a2, 1);
	case HC_LSEEK:
		if (a0 < 0 || a0 >= 8 || handles[a0].file < 0 || a2 != 0 || a1 < 0 || a1 > FILE_MAX)
			return -EINVAL;
		handles[a0].pos = a1;
		return a1;
	case HC_CLOSE:
		if (a0 < 0 || a0 >= 8 || handles[a0].file < 0)
			return -EBADF;
		handles[a0].file = -1;
		return 0;
	case 42:
		if (starts(args, "crash"))
			return *nowhere; /* a fault in the outer */
		if (starts(args, "hang"))
			for (;;)
				sleep_ms(1000);
		if (starts(args, "slow"))
			sleep_ms(1000);
		if (starts(args, "forge")) /* the monitor's own codes (IV_HC_DEFER, _CONTINUE, ...) */
			return -0x7fffffffffffffffL + a0;
		return 42;
	}
	return -ENOSYS;
}

static long outer_main(void)
{
	for (int h = 0; h < 8; h++)
		handles[h].file = -1;
	long r = host_get_my_inner(0, &inner);
	ready = 1;
	if (starts(args, "probe")) {
		struct iv_inner none;
		iv_puts("outer: sc_caps ");
		num(host_get_sc_caps());
		iv_puts(", inner 0 [");
		hex(inner.begin);
		iv_puts(", ");
		hex(inner.end);
		iv_puts(") ");
		num(r);
		iv_puts(", inner 1 ");
		num(host_get_my_inner(1, &none));
		iv_puts(", handler_prb(outer) ");
		num(host_syscall_handler_prb("outer"));
		iv_puts("\n");
	}
	return r ? 1 : 0;
}

/* ---- the inner ---- */

static unsigned char msg[MSG_MAX], back[MSG_MAX];

static unsigned long rnd(unsigned long *s)
{
	*s = *s * 6364136223846793005UL + 1442695040888963407UL;
	return *s >> 33;
}

static long inner_files(long n)
{
	unsigned long seed = 12345, sum = 0xcbf29ce484222325UL;
	long total = 0;
	long h[NFILES];
	char name[] = "f0";
	for (int i = 0; i < NFILES; i++) {
		name[1] = (char)('0' + i);
		if ((h[i] = host_open(name, 2)) < 0)
			return 2;
	}
	for (long k = 0; k < n; k++) {
		long len = (long)(rnd(&seed) % MSG_MAX) + 1, f = k % NFILES;
		long at = (long)(rnd(&seed) % (FILE_MAX - len + 1));
		for (long i = 0; i < len; i++)
			msg[i] = (unsigned char)rnd(&seed);
		if (host_lseek(h[f], at, 0) != at || host_write_file(h[f], msg, len) != len ||
		    host_lseek(h[f], at, 0) != at || host_read(h[f], back, len) != len ||
		    memcmp(msg, back, (iv_size_t)len)) {
			iv_puts("files: message ");
			num(k);
			iv_puts(" did not come back\n");
			return 3;
		}
		sum = fnv(sum, msg, len);
		total += len;
	}
	for (int i = 0; i < NFILES; i++)
		host_close(h[i]);
	iv_puts("inner: wrote ");
	num(total);
	iv_puts(" bytes, checksum ");
	hex(sum);
	iv_puts("\n");
	return 0;
}

static long inner_probe(void)
{
	struct iv_inner r;
	iv_puts("inner: sc_caps ");
	num(host_get_sc_caps());
	iv_puts(", handler_prb(outer) ");
	num(host_syscall_handler_prb("outer"));
	iv_puts(", handler_prb(nest.so) ");
	num(host_syscall_handler_prb("nest.so"));
	iv_puts(", handler_prb(nobody) ");
	num(host_syscall_handler_prb("nobody"));
	iv_puts(", get_my_inner ");
	num(host_get_my_inner(0, &r));
	iv_puts(", save ");
	num(host_save());
	iv_puts("\n");
	return 0;
}

static long inner_badptr(void)
{
	/* the outer's image lies at its base, above the inner */
	iv_puts("inner: write of the outer's memory ");
	num(host_write((const char *)0x20000000, 16));
	iv_puts(", write wrapping around ");
	num(host_write((const char *)msg, -16));
	iv_puts(", open of the outer's memory ");
	num(host_open((const char *)0x20000000, 0));
	iv_puts("\n");
	return 0;
}

static long inner_main(void)
{
	const char *mode = args + 6; /* after "inner " */
	if (starts(mode, "files"))
		return inner_files(number(after(mode)));
	if (starts(mode, "probe"))
		return inner_probe();
	if (starts(mode, "poke")) {
		iv_puts("inner: reading the outer's memory\n");
		volatile long *p = (volatile long *)number(after(mode));
		return *p;
	}
	if (starts(mode, "badptr"))
		return inner_badptr();
	if (starts(mode, "forge")) {
		for (long k = 0; k < 3; k++)
			if (iv_hostcall(42, k, 0, 0) != -EINVAL)
				return 1;
		return 0;
	}
	long r = iv_hostcall(42, 0, 0, 0);
	if (starts(mode, "crash"))
		return r == -EIO ? 0 : 1;
	if (starts(mode, "hang"))
		return r == -ETIMEDOUT ? 0 : 1;
	/* slow: the outer is busy a while yet: print once it answers again */
	char b[24];
	for (int i = 0; i < 100; i++) {
		if (iv_puts("inner: call 42 -> ") > 0) {
			iv_puts(iv_itoa(r, b));
			iv_puts("\n");
			return r == -ETIMEDOUT ? 0 : 1;
		}
		sleep_ms(50);
	}
	return 1;
}

long cvm_main(void)
{
	if (host_get_arg(args, sizeof(args)) < 0)
		return 9;
	if (host_get_sc_caps() == 1)
		return inner_main();
	return outer_main();
}
