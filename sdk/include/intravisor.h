/*
 * The cVM side of Intravisor: hostcalls as the seed names them.  One header
 * for two kinds of programs:
 *
 *  - freestanding cVMs (built with -ffreestanding, so __STDC_HOSTED__ is 0,
 *    or with IV_FREESTANDING defined) link no libc: they link libivrt.a,
 *    which also gives them memcpy and friends, declared here;
 *  - hosted programs (glibc, musl) include it beside any libc header and
 *    link libintravisor (pkg-config intravisor), which holds host_save;
 *    the libc-like declarations below are then left to libc.
 *
 * Every other call is inline: a raw hostcall.  Every call returns a
 * negative errno on failure; outside a cVM that is -ENOSYS (-38).
 */
#ifndef INTRAVISOR_H
#define INTRAVISOR_H

#include "iv_hostcalls.h"

#if defined(IV_FREESTANDING) || !__STDC_HOSTED__
#define IV_SDK_FREESTANDING 1
typedef unsigned long uintptr_t;
#else
#define IV_SDK_FREESTANDING 0
#include <string.h> /* copy_from_cap */
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef unsigned long iv_size_t;

/* The kernel's struct timespec and struct timeval on x86-64. */
struct iv_timespec {
	long tv_sec, tv_nsec;
};

struct iv_timeval {
	long tv_sec, tv_usec;
};

static __inline__ long iv_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;
	__asm__ __volatile__("syscall"
			     : "=a"(ret)
			     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			     : "rcx", "r11", "memory");
	return ret;
}

static __inline__ long iv_hostcall(long nr, long a, long b, long c)
{
	return iv_syscall6(IV_HC_BASE + nr, a, b, c, 0, 0, 0);
}

static __inline__ long host_write(const char *buf, long len)
{
	return iv_hostcall(HC_WRITE, (long)buf, len, 0);
}

/* Ends the cVM at once: no atexit handlers, no stdio flush (a hosted
 * program flushes first, or calls exit()). */
static __inline__ __attribute__((noreturn)) void host_exit_code(long code)
{
	iv_hostcall(HC_EXIT, code, 0, 0);
	for (;;)
		iv_syscall6(231, code, 0, 0, 0, 0, 0); /* exit_group, should the monitor not */
}

static __inline__ __attribute__((noreturn)) void host_exit(void)
{
	host_exit_code(0);
}

/* 1 in a cVM started from scratch, 0 in one forked or restored from a template. */
static __inline__ long host_inspect(void)
{
	return iv_hostcall(HC_INSPECT, 0, 0, 0);
}

/*
 * Template checkpoint.  In a template the monitor freezes every thread here
 * and keeps the cell as a zygote; each fork the monitor makes of it starts
 * here with all the template's threads and returns 0, as a plain cVM does
 * (host_inspect() tells them apart).  A cVM restored from an image comes
 * back here too, and host_save recreates its other threads before it
 * returns 0.  Defined in sdk/crt/tfork.c (libivrt.a, libintravisor).
 */
long host_save(void);

/*
 * For a program that makes the HC_SAVE hostcall itself: when it answers
 * IV_SAVE_RESTORED, this announces the restored cVM (its files are reopened)
 * and recreates the template's other threads.  Returns how many it
 * recreated, or -errno.  host_save() calls it.
 */
long iv_restore_threads(void);

/* Copies the cVM's args (NUL-terminated, truncated to size); returns their length. */
static __inline__ long host_get_arg(char *buf, long size)
{
	return iv_hostcall(HC_GET_ARG, (long)buf, size, 0);
}

/*
 * After host_save(), a workload's one argument (a file name, say): 1 with
 * it in buf; 0 in the template itself once released, or in a plain cVM,
 * given no args (nothing to do); -1 when a fork's args are missing, empty
 * or longer than size - 1.
 */
static __inline__ int host_save_arg(char *buf, long size)
{
	int scratch = host_inspect() == 1; /* fork or restored: 0 */
	long len = host_get_arg(buf, size);
	if (scratch && len == 0)
		return 0;
	return len < 0 || len >= size || !buf[0] ? -1 : 1;
}

static __inline__ long host_nanosleep(const struct iv_timespec *req, struct iv_timespec *rem)
{
	return iv_hostcall(HC_NANOSLEEP, (long)req, (long)rem, 0);
}

static __inline__ long host_gettimeofday(struct iv_timeval *tv, void *tz)
{
	return iv_hostcall(HC_GETTIMEOFDAY, (long)tv, (long)tz, 0);
}

#define IV_PROT_RW		      3
#define IV_MAP_SHARED_FIXED_NOREPLACE (0x01 | 0x100000)
#define IV_MAP_SHARED_FIXED	      (0x01 | 0x10)

/*
 * Probes cap file key: the monitor grants it and reserves an address, and
 * this maps the shared object there.  *location gets the address, *size its
 * size.  Returns 0 or -errno.
 */
static __inline__ long host_cap_file_prb(const char *key, void **location, long *size)
{
	unsigned long addr = 0;
	long sz = 0, fd, m;
	fd = iv_hostcall(HC_CF_PRB, (long)key, (long)&addr, (long)&sz);
	if (fd < 0)
		return fd;
	m = iv_syscall6(9, (long)addr, sz, IV_PROT_RW, IV_MAP_SHARED_FIXED_NOREPLACE, fd, 0);
	iv_syscall6(3, fd, 0, 0, 0, 0, 0);
	/* A second probe of the same key finds it mapped already. */
	if (m < 0 && m != -17)
		return m;
	*location = (void *)addr;
	*size = sz;
	return 0;
}

/* The seed's name for the probe. */
static __inline__ long host_cap_prb(const char *key, void *location, long *size)
{
	return host_cap_file_prb(key, (void **)location, size);
}

/*
 * Advertises the page-aligned region [ptr, ptr+size) as cap file key, for
 * itself and the cVMs named in names ("a,b,c"; NULL: every cVM whose own
 * caps allow it): its contents are kept and it becomes shared with them.
 * Keys are 1 to 63 letters, digits, '_', '.', '-'.
 */
static __inline__ long host_cap_file_adv_to(void *ptr, long size, const char *key,
					    const char *names)
{
	long fd = iv_syscall6(IV_HC_BASE + HC_CF_ADV, (long)ptr, size, (long)key, (long)names, 0,
			      0),
	     len, m;
	if (fd < 0)
		return fd;
	len = (size + 4095) & ~4095L;
	m = iv_syscall6(9, (long)ptr, len, IV_PROT_RW, IV_MAP_SHARED_FIXED, fd, 0);
	iv_syscall6(3, fd, 0, 0, 0, 0, 0);
	return m < 0 ? m : 0;
}

/* The same for every cVM whose own caps allow it (the seed's call). */
static __inline__ long host_cap_file_adv(void *ptr, long size, const char *key)
{
	return host_cap_file_adv_to(ptr, size, key, (const char *)0);
}

/* Cap files as files: path is "/cap/KEY". */
static __inline__ long host_open(const char *path, long flags)
{
	return iv_hostcall(HC_OPEN, (long)path, flags, 0);
}

static __inline__ long host_read(long h, void *buf, long len)
{
	return iv_hostcall(HC_READ, h, (long)buf, len);
}

static __inline__ long host_write_file(long h, const void *buf, long len)
{
	return iv_hostcall(HC_WRITE_FILE, h, (long)buf, len);
}

static __inline__ long host_lseek(long h, long off, long whence)
{
	return iv_hostcall(HC_LSEEK, h, off, whence);
}

static __inline__ long host_close(long h)
{
	return iv_hostcall(HC_CLOSE, h, 0, 0);
}

/*
 * Nested cVMs (README "Nested cVMs").  An inner cVM (callback_out: OUTER)
 * lies inside its outer's range; every hostcall it makes is served by the
 * outer's exported function
 *
 *   long syscall_handler(long nr, long a0, long a1, long a2, long a3, long a4, long a5);
 *
 * (nr the seed's number: 1 write, 13 exit, ...), run on a thread of the
 * outer, whose value is the hostcall's result.  The outer sees the inner's
 * memory at the same addresses, so a pointer argument can be used as it
 * is, once the handler has checked it lies inside the inner
 * (iv_inner_has): the inner may pass any number.  An exit (13) reaches the
 * handler before the monitor ends the inner; a save (115) is refused; 700
 * to 702 are the monitor's, for either side.
 */
struct iv_inner {
	unsigned long begin, end; /* the inner's range */
};

/* An outer: its i-th inner's range (0, or -EINVAL past the last; -ENOENT
 * in a cVM that has no inner). */
static __inline__ long host_get_my_inner(long i, struct iv_inner *out)
{
	return iv_hostcall(HC_GET_MY_INNER, i, (long)out, 0);
}

/* 0 when key (a cVM's name or runtime file name) is the cVM whose handler
 * serves this cVM's hostcalls, -ENOENT otherwise. */
static __inline__ long host_syscall_handler_prb(const char *key)
{
	return iv_hostcall(HC_SYSCALL_HANDLER_PRB, (long)key, 0, 0);
}

/* Who serves this cVM's hostcalls: 0 the monitor, 1 an outer cVM. */
static __inline__ long host_get_sc_caps(void)
{
	return iv_hostcall(HC_GET_SC_CAPS, 0, 0, 0);
}

/* Whether [p, p+n) lies inside the inner's range (without overflow). */
static __inline__ int iv_inner_has(const struct iv_inner *in, unsigned long p, unsigned long n)
{
	return p >= in->begin && p <= in->end && n <= in->end - p;
}

/*
 * Cap streams (README "Sharing between cVMs"): one receiver, any number of
 * writers, one message at a time.  The monitor sets a stream up; then the
 * writer copies each message straight into the receiver's registered
 * buffer and the two wake each other through the shared memory (futexes
 * after a short spin): the monitor is not on the data path.  Every call
 * returns -errno on failure; an id is this cVM's handle of the stream.
 *
 * Receiver: host_cs_adv makes the page-aligned region [area, area+size)
 * (size a multiple of 4096) the stream's shared memory, under key, for the
 * cVMs names lists ("a,b"; NULL: any whose caps allow it): its contents are
 * replaced by zeros.  host_cs_register(id, buf, len) offers [buf, buf+len),
 * inside the area, to the next write; host_cap_wait(id) (the seed's 407)
 * waits for it and returns its length, after which the receiver registers
 * again.  host_cap_wait returns -EPIPE once every writer has ended, -EIO
 * if one ended while it was copying.
 *
 * Writer: host_cs_prb(key) gets the stream; host_cs_write(id, buf, len)
 * waits until a buffer is registered, copies min(len, its length) into it
 * (one copy), wakes the receiver (the seed's 408) and returns how many
 * bytes landed; -EPIPE once the receiver has ended.
 */
long host_cs_adv(void *area, long size, const char *key, const char *names);
long host_cs_register(long id, void *buf, long len);
long host_cap_wait(long id);
long host_cs_prb(const char *key);
long host_cs_write(long id, const void *buf, long len);
/* Wakes every thread of any cVM waiting on channel id (they look again). */
long host_cap_wake(long id);

/*
 * Cap calls: a callee cVM offers a function under a key; a caller that
 * probed the key calls it with a buffer; the function runs in the callee,
 * on a thread of the callee's own, reads the caller's buffer in shared
 * memory and returns a value.
 *
 * Callee: host_cc_adv(key, size, names) makes the call's shared buffer of
 * size bytes (the largest argument); a thread of the callee then runs
 * host_cc_serve(id, entry, dev), which runs entry(id, dev) for each call
 * and never returns while the channel lives.  Inside entry,
 * host_fetch_cap_call(id, &where, &size) gives the caller's buffer;
 * host_fin_cap_call(id, value) ends the call with value at once (else
 * entry's return value ends it).
 *
 * Caller: host_cc_prb(key); host_make_cap_call(id, buf, size, &value)
 * copies buf into the shared buffer (none when buf is host_cc_buffer's),
 * runs the call and gives the callee's value; 0, or -ETIMEDOUT when the
 * callee did not finish within the caller's call_timeout (config, default
 * 5 s), -EPIPE when the callee has ended (a crash too).  Calls of many
 * callers to one callee take turns.
 */
long host_cc_adv(const char *key, long size, const char *names);
long host_cc_serve(long id, long (*entry)(long id, void *dev), void *dev);
long host_fetch_cap_call(long id, void **where, long *size);
long host_fin_cap_call(long id, long value);
long host_cc_prb(const char *key);
/* The shared buffer itself, to build an argument in place; its size in *size. */
void *host_cc_buffer(long id, long *size);
long host_make_cap_call(long id, const void *buf, long size, long *value);

/*
 * MAKE_CALL (the seed's 403): runs f(arg) on a new thread of this cVM (a
 * stack of 256 KiB of its own) and returns f's value once it has
 * returned.  In a libc program the thread shares the caller's thread
 * state (TLS) while the caller waits: f behaves as the caller would.
 */
long host_make_call(long (*f)(long), long arg);

/* Copies n bytes of a probed cap file (cap: the address its probe filled in). */
#define copy_from_cap(dst, cap, n) memcpy((dst), *(void **)(cap), (n))

#if IV_SDK_FREESTANDING
/* Runs fn(arg) in a new thread of this cVM on [stack, stack+size), which the
 * cVM owns; returns its tid or -errno.  When fn returns the thread exits.
 * (A hosted program uses its libc's threads instead.) */
long iv_thread_spawn(void (*fn)(long), long arg, void *stack, unsigned long size);

/* Freestanding helpers (sdk/crt/rt.c). */
void *memcpy(void *d, const void *s, iv_size_t n);
void *memset(void *d, int c, iv_size_t n);
void *memmove(void *d, const void *s, iv_size_t n);
int memcmp(const void *a, const void *b, iv_size_t n);
iv_size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
/* host_write of a NUL-terminated string. */
long iv_puts(const char *s);
/* Formats a signed decimal / unsigned hex number into buf (>= 24 bytes); returns buf. */
char *iv_itoa(long v, char *buf);
char *iv_xtoa(unsigned long v, char *buf);
#endif

#ifdef __cplusplus
}
#endif

#endif
