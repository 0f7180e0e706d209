/*
 * The cVM side of cap streams, cap calls and MAKE_CALL (README "Sharing
 * between cVMs").  The monitor sets a channel up (409 advertise, 410
 * probe: a descriptor of shared memory, iv_channel.h); everything after
 * that happens here, in the cVMs: data is copied once, straight into
 * where the other side reads it, and the sides wake each other with
 * futexes on the shared memory after a short spin that adapts to how
 * often spinning paid off.  No libc call: built freestanding into
 * libivrt.a and hosted into libintravisor, like tfork.c.
 */
#include "intravisor.h"
#include "iv_channel.h"

#define SYS_mmap	  9
#define SYS_munmap	  11
#define SYS_close	  3
#define SYS_clone	  56
#define SYS_exit	  60
#define SYS_futex	  202
#define SYS_clock_gettime 228
#define FUTEX_WAIT	  0
#define FUTEX_WAKE	  1
#define FUTEX_WAIT_BITSET 9
#define FUTEX_BITSET_ANY  0xffffffff
#define PROT_NONE	  0
#define MAP_SHARED	  0x01
#define MAP_PRIVATE	  0x02
#define MAP_FIXED	  0x10
#define MAP_ANONYMOUS	  0x20
#define CLOCK_MONOTONIC	  1
#define EBADF		  9
#define ENOMEM		  12
#define EFAULT		  14
#define EINVAL		  22
#define EPIPE		  32
#define ETIMEDOUT	  110
#define EIO		  5
#define EAGAIN		  11
#define EINTR		  4
#define ENOSPC		  28
#define MAX_CHANNELS	  64
#define SPIN_FLOOR	  256  /* rounds of pause, about 16 ns each here */
#define SPIN_MAX	  2048 /* about a cross-core wake-up */
#define CALL_STACK	  (256L << 10)
#define CLONE_CHILD_CLEAR 0x00200000
#define THREAD_FLAGS	  (0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000)

#define LOAD(p)	    __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define CAS(p, o, n)                                                                               \
	__atomic_compare_exchange_n((p), &(o), (n), 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)

/* A channel this cVM holds: id is its index.  Sizes come from the monitor
 * (the info it wrote into our own memory), never from the shared page. */
struct chan {
	int used;	    /* 0 free, 1 being set up, 2 ready */
	unsigned int kind;  /* IV_CHAN_STREAM or IV_CHAN_CALL */
	unsigned int token; /* 0: we advertised it; else our prober's token */
	unsigned int spin;  /* the current spin budget */
	unsigned int tries; /* waits, to spin SPIN_MAX rounds every 16th */
	unsigned int timeout_ms;
	struct iv_chan_page *page;
	char *data;	    /* the data area as we map it */
	unsigned long size; /* its bytes */
	unsigned long cur;  /* a callee: the argument of the call it runs, ... */
	unsigned int run;   /* ... its request number, */
	int fin;	    /* ... and whether it has been finished */
};

static struct chan chans[MAX_CHANNELS];

static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	return iv_syscall6(n, a, b, c, d, e, f);
}

/* One copy, the CPU's string move (fast on current x86-64 for large sizes). */
static void copy(void *dst, const void *src, unsigned long n)
{
	__asm__ __volatile__("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

static long now_ns(void)
{
	struct iv_timespec ts = {0, 0};
	sys6(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts, 0, 0, 0, 0);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static struct chan *get(long id, unsigned int kind)
{
	if (id < 0 || id >= MAX_CHANNELS || LOAD(&chans[id].used) != 2 || chans[id].kind != kind)
		return 0;
	return &chans[id];
}

static long slot(void)
{
	for (long i = 0; i < MAX_CHANNELS; i++) {
		int free = 0;
		if (CAS(&chans[i].used, free, 1))
			return i;
	}
	return -ENOSPC;
}

static void wake(unsigned int *word, unsigned int *waiters)
{
	if (LOAD(waiters))
		sys6(SYS_futex, (long)word, FUTEX_WAKE, 0x7fffffff, 0, 0, 0);
}

/* The CPU this thread runs on (+ 1): Linux keeps it in TSC_AUX. */
static unsigned int my_cpu(void)
{
	unsigned int lo, hi, aux;
	__asm__ __volatile__("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
	return (aux & 0xfff) + 1;
}

/*
 * Waits until *word is no longer seen.  First it spins, unless the other
 * side last waited on this very CPU (it cannot run while this one spins):
 * a wake-up across cores costs tens of microseconds here, a spin round
 * (pause) about 16 ns.  The budget follows what waits took: twice the
 * rounds the last spin that paid off needed, halved by each one that did
 * not, never below SPIN_FLOOR, and every 16th wait spins SPIN_MAX rounds
 * again.  Then it sleeps on the futex until *deadline (CLOCK_MONOTONIC
 * ns, set on the first sleep from timeout_ms; no deadline when deadline
 * is NULL).  0 (look again), or -ETIMEDOUT.
 */
static long wait_word(struct chan *c, unsigned int *word, unsigned int seen, unsigned int *waiters,
		      long *deadline, unsigned int timeout_ms)
{
	unsigned int *cpu = c->page->cpu, role = c->token ? 1 : 0, me = my_cpu();
	unsigned int other = LOAD(&cpu[role ^ 1]);
	if (LOAD(&cpu[role]) != me)
		STORE(&cpu[role], me);
	unsigned int budget = other == me ? 0 : ++c->tries % 16 == 0 ? SPIN_MAX : c->spin;
	for (unsigned int i = 0; i < budget; i++) {
		if (LOAD(word) != seen) {
			unsigned int next = 2 * (i + 1);
			c->spin = next < SPIN_FLOOR ? SPIN_FLOOR
				  : next > SPIN_MAX ? SPIN_MAX
						    : next;
			return 0;
		}
		__builtin_ia32_pause();
	}
	if (budget)
		c->spin = budget / 2 >= SPIN_FLOOR ? budget / 2 : SPIN_FLOOR;
	struct iv_timespec ts, *tp = 0;
	if (deadline) {
		if (!*deadline)
			*deadline = now_ns() + (long)timeout_ms * 1000000L;
		ts.tv_sec = *deadline / 1000000000L;
		ts.tv_nsec = *deadline % 1000000000L;
		tp = &ts;
	}
	__atomic_add_fetch(waiters, 1, __ATOMIC_SEQ_CST);
	long r = 0;
	if (LOAD(word) == seen) /* an absolute CLOCK_MONOTONIC timeout */
		r = sys6(SYS_futex, (long)word, FUTEX_WAIT_BITSET, seen, (long)tp, 0,
			 FUTEX_BITSET_ANY);
	__atomic_sub_fetch(waiters, 1, __ATOMIC_SEQ_CST);
	return r == -ETIMEDOUT ? r : 0;
}

/* Sets up slot id from the monitor's answer: maps the control page and the
 * data area (at data, or anywhere when 0). */
static long attach(long id, long fd, const struct iv_chan_info *info, void *data)
{
	struct chan *c = &chans[id];
	long m, at = 0;
	if (fd < 0) {
		STORE(&c->used, 0);
		return fd;
	}
	if (data) {
		m = sys6(SYS_mmap, (long)data, (long)info->size, IV_PROT_RW, MAP_SHARED | MAP_FIXED,
			 fd, IV_CHAN_PAGE);
		at = sys6(SYS_mmap, 0, IV_CHAN_PAGE, IV_PROT_RW, MAP_SHARED, fd, 0);
		if (m < 0 || at < 0) {
			if (at >= 0)
				sys6(SYS_munmap, at, IV_CHAN_PAGE, 0, 0, 0, 0);
			at = m < 0 ? m : at;
		}
	} else {
		at = sys6(SYS_mmap, 0, IV_CHAN_PAGE + (long)info->size, IV_PROT_RW, MAP_SHARED, fd,
			  0);
		data = (char *)at + IV_CHAN_PAGE;
	}
	sys6(SYS_close, fd, 0, 0, 0, 0, 0);
	if (at < 0) {
		STORE(&c->used, 0);
		return at;
	}
	c->kind = info->kind;
	c->token = info->token;
	c->size = info->size;
	c->timeout_ms = info->timeout_ms;
	c->page = (struct iv_chan_page *)at;
	c->data = data;
	c->spin = SPIN_MAX;
	c->cur = 0;
	c->run = 0;
	c->fin = 0;
	c->tries = 0;
	STORE(&c->used, 2);
	return id;
}

static long advertise(const char *key, unsigned int kind, long size, const char *names, void *data)
{
	struct iv_chan_info info = {kind, 0, (unsigned long)size, 0, 0};
	long id = slot();
	if (id < 0)
		return id;
	long fd = iv_syscall6(IV_HC_BASE + HC_CS_ADV, (long)key, (long)&info, (long)names, 0, 0, 0);
	return attach(id, fd, &info, data);
}

static long probe(const char *key, unsigned int kind)
{
	struct iv_chan_info info = {kind, 0, 0, 0, 0};
	long id = slot();
	if (id < 0)
		return id;
	long fd = iv_syscall6(IV_HC_BASE + HC_CS_PRB, (long)key, (long)&info, 0, 0, 0, 0);
	if (fd >= 0 && info.kind != kind) {
		sys6(SYS_close, fd, 0, 0, 0, 0, 0);
		fd = -EINVAL; /* a stream probed as a call, or the reverse */
	}
	return attach(id, fd, &info, 0);
}

/* ---- cap streams ---- */

long host_cs_adv(void *area, long size, const char *key, const char *names)
{
	if (((unsigned long)area & 4095) || size <= 0 || (size & 4095))
		return -EINVAL;
	return advertise(key, IV_CHAN_STREAM, size, names, area);
}

long host_cs_prb(const char *key)
{
	return probe(key, IV_CHAN_STREAM);
}

long host_cs_register(long id, void *buf, long len)
{
	struct chan *c = get(id, IV_CHAN_STREAM);
	if (!c || c->token)
		return -EBADF;
	unsigned long off = (unsigned long)((char *)buf - c->data);
	if ((char *)buf < c->data || off > c->size || len < 0 || (unsigned long)len > c->size - off)
		return -EFAULT;
	struct iv_chan_page *p = c->page;
	unsigned int s = LOAD(&p->state);
	if ((s == IV_CS_READY || s == IV_CS_HUP) && !CAS(&p->state, s, IV_CS_IDLE))
		return -EAGAIN; /* a writer took the old one just now: wait for it */
	if (s != IV_CS_IDLE && s != IV_CS_READY && s != IV_CS_HUP)
		return s & IV_CHAN_DEAD ? -EPIPE : -EAGAIN;
	STORE(&p->off, off);
	STORE(&p->len, (unsigned long)len);
	STORE(&p->state, IV_CS_READY);
	wake(&p->state, &p->waiters);
	return 0;
}

long host_cap_wait(long id)
{
	struct chan *c = get(id, IV_CHAN_STREAM);
	if (!c || c->token)
		return -EBADF;
	struct iv_chan_page *p = c->page;
	for (;;) {
		unsigned int s = LOAD(&p->state);
		if (s == IV_CS_FULL) {
			unsigned long n = LOAD(&p->msg);
			STORE(&p->state, IV_CS_IDLE);
			return n > c->size ? -EIO : (long)n;
		}
		if (s == IV_CS_BROKEN) {
			STORE(&p->state, IV_CS_IDLE);
			return -EIO; /* a writer ended mid-copy: the buffer holds part of it */
		}
		if (s == IV_CS_IDLE)
			return -EINVAL; /* nothing registered: nothing can land */
		if (s & IV_CHAN_DEAD)
			return -EPIPE;
		/* every writer has ended (the monitor then makes READY HUP, so that
		 * a sleeper here wakes) */
		if ((s == IV_CS_READY || s == IV_CS_HUP) && LOAD(&p->hup) && !LOAD(&p->writers))
			return -EPIPE;
		wait_word(c, &p->state, s, &p->waiters, 0, 0);
	}
}

long host_cap_wake(long id)
{
	struct chan *c = get(id, IV_CHAN_STREAM);
	if (!c)
		c = get(id, IV_CHAN_CALL);
	if (!c)
		return -EBADF;
	struct iv_chan_page *p = c->page;
	unsigned int *words[] = {&p->state, &p->lock, &p->seq, &p->done_seq};
	for (int i = 0; i < 4; i++)
		sys6(SYS_futex, (long)words[i], FUTEX_WAKE, 0x7fffffff, 0, 0, 0);
	return 0;
}

long host_cs_write(long id, const void *buf, long len)
{
	struct chan *c = get(id, IV_CHAN_STREAM);
	if (!c || !c->token || len < 0)
		return -EBADF;
	struct iv_chan_page *p = c->page;
	unsigned int mine = IV_CS_CLAIMED | c->token;
	for (;;) {
		unsigned int s = LOAD(&p->state);
		if (s & IV_CHAN_DEAD)
			return -EPIPE;
		if ((s == IV_CS_READY || s == IV_CS_HUP) && CAS(&p->state, s, mine))
			break;
		if (s != IV_CS_READY && s != IV_CS_HUP)
			wait_word(c, &p->state, s, &p->waiters, 0, 0);
	}
	unsigned long off = LOAD(&p->off), n = LOAD(&p->len);
	if (off > c->size || n > c->size - off) {
		STORE(&p->state, IV_CS_BROKEN); /* the receiver registered nonsense */
		wake(&p->state, &p->waiters);
		return -EIO;
	}
	if ((unsigned long)len < n)
		n = (unsigned long)len;
	copy(c->data + off, buf, n);
	STORE(&p->msg, n);
	unsigned int claimed = mine;
	if (!CAS(&p->state, claimed, IV_CS_FULL))
		return claimed & IV_CHAN_DEAD ? -EPIPE : -EIO;
	wake(&p->state, &p->waiters);
	return (long)n;
}

/* ---- cap calls ---- */

long host_cc_adv(const char *key, long size, const char *names)
{
	if (size <= 0)
		return -EINVAL;
	return advertise(key, IV_CHAN_CALL, (size + 4095) & ~4095L, names, 0);
}

long host_cc_prb(const char *key)
{
	return probe(key, IV_CHAN_CALL);
}

void *host_cc_buffer(long id, long *size)
{
	struct chan *c = get(id, IV_CHAN_CALL);
	if (!c)
		return 0;
	if (size)
		*size = (long)c->size;
	return c->data;
}

long host_fetch_cap_call(long id, void **where, long *size)
{
	struct chan *c = get(id, IV_CHAN_CALL);
	if (!c || c->token)
		return -EBADF;
	*where = c->data;
	*size = (long)c->cur;
	return 0;
}

long host_fin_cap_call(long id, long value)
{
	struct chan *c = get(id, IV_CHAN_CALL);
	if (!c || c->token)
		return -EBADF;
	if (c->fin)
		return -EINVAL;
	struct iv_chan_page *p = c->page;
	STORE(&p->ret, value);
	STORE(&p->done_seq, c->run);
	c->fin = 1;
	wake(&p->done_seq, &p->caller_waiters);
	return 0;
}

long host_cc_serve(long id, long (*entry)(long id, void *dev), void *dev)
{
	struct chan *c = get(id, IV_CHAN_CALL);
	if (!c || c->token)
		return -EBADF;
	struct iv_chan_page *p = c->page;
	for (;;) {
		unsigned int s = LOAD(&p->seq) & IV_CC_SEQ_MASK, d = LOAD(&p->done_seq);
		if (d & IV_CC_DEAD)
			return -EPIPE;
		if (d == s) {
			wait_word(c, &p->seq, s, &p->callee_waiters, 0, 0);
			continue;
		}
		unsigned long n = LOAD(&p->arg);
		c->cur = n > c->size ? c->size : n;
		c->run = s;
		c->fin = 0;
		long v = entry(id, dev);
		if (!c->fin)
			host_fin_cap_call(id, v);
	}
}

/* Takes the channel for one call: its lock holds our token. */
static long lock_call(struct chan *c, long *deadline)
{
	struct iv_chan_page *p = c->page;
	for (;;) {
		unsigned int free = 0;
		if (CAS(&p->lock, free, c->token))
			return 0;
		if (LOAD(&p->done_seq) & IV_CC_DEAD)
			return -EPIPE;
		if (wait_word(c, &p->lock, free, &p->lock_waiters, deadline, c->timeout_ms))
			return -ETIMEDOUT;
	}
}

static void unlock_call(struct chan *c)
{
	struct iv_chan_page *p = c->page;
	unsigned int mine = c->token;
	if (CAS(&p->lock, mine, 0))
		wake(&p->lock, &p->lock_waiters);
}

/* Waits until the callee has finished request seq: its value, or -EPIPE,
 * -ETIMEDOUT. */
static long finished(struct chan *c, unsigned int seq, long *deadline, long *value)
{
	struct iv_chan_page *p = c->page;
	for (;;) {
		unsigned int d = LOAD(&p->done_seq);
		if ((d & IV_CC_SEQ_MASK) == seq) {
			*value = LOAD(&p->ret);
			return 0; /* (even if the callee has ended since) */
		}
		if (d & IV_CC_DEAD)
			return -EPIPE;
		if (wait_word(c, &p->done_seq, d, &p->caller_waiters, deadline, c->timeout_ms))
			return -ETIMEDOUT;
	}
}

long host_make_cap_call(long id, const void *buf, long size, long *value)
{
	struct chan *c = get(id, IV_CHAN_CALL);
	if (!c || !c->token)
		return -EBADF;
	if (size < 0 || (unsigned long)size > c->size)
		return -EINVAL;
	struct iv_chan_page *p = c->page;
	long deadline = 0, v = 0;
	long r = lock_call(c, &deadline);
	if (r)
		return r;
	/* a call whose caller gave up may still run: wait for its end */
	unsigned int seq = LOAD(&p->seq) & IV_CC_SEQ_MASK;
	r = finished(c, seq, &deadline, &v);
	if (r == 0) {
		if (buf && (const char *)buf != c->data)
			copy(c->data, buf, (unsigned long)size);
		STORE(&p->arg, (unsigned long)size);
		seq = (seq + 1) & IV_CC_SEQ_MASK;
		STORE(&p->seq, seq);
		wake(&p->seq, &p->callee_waiters);
		r = finished(c, seq, &deadline, &v);
	}
	unlock_call(c);
	if (r == 0 && value)
		*value = v;
	return r;
}

/* ---- MAKE_CALL: a function of this cVM on a new thread ---- */

struct call_frame {
	long (*f)(long);
	long arg, ret;
};

static __attribute__((noreturn, used)) void call_start(struct call_frame *fr)
{
	fr->ret = fr->f(fr->arg);
	for (;;)
		iv_syscall6(SYS_exit, 0, 0, 0, 0, 0, 0);
}

long host_make_call(long (*f)(long), long arg)
{
	long stack = sys6(SYS_mmap, 0, CALL_STACK, IV_PROT_RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (stack < 0)
		return stack;
	struct call_frame fr = {f, arg, 0};
	volatile int alive = 1; /* cleared by the kernel when the thread ends */
	long *top = (long *)((stack + CALL_STACK) & ~15L);
	*--top = (long)&fr;
	*--top = 0; /* keeps the frame 16-byte aligned after the pop */
	register long r10 __asm__("r10") = (long)&alive;
	register long r8 __asm__("r8") = 0;
	long tid;
	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "pop %%rdi\n\t"
			 "pop %%rdi\n\t" /* the frame */
			 "and $-16, %%rsp\n\t"
			 "call call_start\n\t"
			 "hlt\n"
			 "1:"
			 : "=a"(tid)
			 : "a"(SYS_clone), "D"(THREAD_FLAGS | CLONE_CHILD_CLEAR), "S"(top), "d"(0),
			   "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	if (tid < 0) {
		sys6(SYS_munmap, stack, CALL_STACK, 0, 0, 0, 0);
		return tid;
	}
	while (__atomic_load_n(&alive, __ATOMIC_SEQ_CST))
		sys6(SYS_futex, (long)&alive, FUTEX_WAIT, 1, 0, 0, 0);
	sys6(SYS_munmap, stack, CALL_STACK, 0, 0, 0, 0);
	return fr.ret;
}
