/*
 * The cell stub: a tiny freestanding static program that the confined
 * child executes.  It reads its plan (fd 3), builds the cVM's address space,
 * installs the seccomp filter last, hands the notification fd to the
 * monitor through the control socket (fd 4), waits for the go, closes
 * everything that is not the cVM's and jumps.  Nothing of the monitor is
 * mapped here; on any failure it reports the step and exits.
 */
#include <stddef.h>
#include <stdint.h>

#include "plan.h"

#define SYS_read       0
#define SYS_write      1
#define SYS_close      3
#define SYS_mmap       9
#define SYS_mprotect   10
#define SYS_munmap     11
#define SYS_pread64    17
#define SYS_prctl      157
#define SYS_exit_group 231
#define SYS_fcntl      72
#define SYS_arch_prctl 158
#define SYS_rt_sigaction 13
#define ARCH_MAP_VDSO_64 0x2003
#define AT_SYSINFO_EHDR 33
#define SYS_execveat   322
#define SYS_seccomp    317
#define SYS_clone	 56
#define SYS_exit	 60
#define SYS_futex	 202
#define FUTEX_WAIT	 0
#define FUTEX_WAKE	 1

#define PROT_READ			 1
#define PROT_WRITE			 2
#define MAP_SHARED			 1
#define MAP_PRIVATE			 2
#define MAP_FIXED			 0x10
#define MAP_ANONYMOUS			 0x20
#define MAP_FIXED_NOREPLACE		 0x100000
#define SECCOMP_SET_MODE_FILTER		 1
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#define PR_SET_DUMPABLE			 4
#define F_SETFD				 2
#define FD_CLOEXEC			 1
#define AT_FDCWD			 (-100)
#define AT_EMPTY_PATH			 0x1000

struct sock_fprog {
	unsigned short len;
	void *filter;
};

static long sc6(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

#define sc3(n, a, b, c) sc6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)

static __attribute__((noreturn)) void fail(int step, long err)
{
	char msg[9];
	int32_t s = step, e = (int32_t)-err;
	msg[0] = IV_CTL_FAIL;
	__builtin_memcpy(msg + 1, &s, 4);
	__builtin_memcpy(msg + 5, &e, 4);
	sc3(SYS_write, IV_FD_CTL, msg, 9);
	for (;;)
		sc3(SYS_exit_group, 127, 0, 0);
}

/* The compiler may emit calls to these even with -ffreestanding. */
void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;
	while (n--)
		*dp++ = *sp++;
	return d;
}

void *memset(void *d, int c, size_t n)
{
	unsigned char *dp = d;
	while (n--)
		*dp++ = (unsigned char)c;
	return d;
}

static int bad(long r)
{
	return (unsigned long)r > -4096UL;
}

/* The end of the stub's image (text, data, bss), from the linker. */
extern char _end[];

/* The filter must outlive the plan's mapping. */
static uint64_t filter_copy[4096];

/* Defined in stub_start.S: set the registers and jump; never return. */
__attribute__((noreturn)) void iv_stub_enter(uint64_t entry, uint64_t sp, uint64_t kind,
					     uint64_t argc, uint64_t argv, uint64_t envp);
__attribute__((noreturn)) void iv_stub_sigreturn(uint64_t sp, uint64_t fsbase, uint64_t gsbase);
extern const char iv_stub_gadget[];

static const char *vec[IV_PLAN_MAX_VEC];

/* ---- an outer cVM's handler threads (IV_OP_NEST) ---- */

typedef long (*nest_fn)(long nr, long a0, long a1, long a2, long a3, long a4, long a5);

#define NEST_SPIN 2048 /* rounds of pause (about 16 ns each) before sleeping */
/* CLONE_VM, FS, FILES, SIGHAND, THREAD, SYSVSEM */
#define NEST_THREAD_FLAGS (0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000)
#define LOAD(p)		  __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define STORE(p, v)	  __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)

static struct {
	struct iv_nest_slot *page;
	nest_fn fn;
	uint64_t n;
	uint64_t stacks, stride; /* thread i's stack ends at stacks + (i + 1) * stride */
} nest;

/* The CPU this thread runs on (+ 1): Linux keeps it in TSC_AUX. */
static uint32_t my_cpu(void)
{
	uint32_t lo, hi, aux;
	__asm__ __volatile__("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
	(void)lo, (void)hi;
	return (aux & 0xfff) + 1;
}

/*
 * Serves one inner cVM's calls for ever: waits for the monitor to post one
 * (seq moves), spinning first unless the monitor's thread last waited on
 * this CPU (it cannot post while we spin there), then sleeping on seq.
 */
static __attribute__((noreturn, used)) void nest_serve(struct iv_nest_slot *s)
{
	/* what was answered, not what was posted: the inner may have called
	 * before this thread ran */
	uint32_t seen = LOAD(&s->done);
	for (;;) {
		uint32_t now = LOAD(&s->seq), me = my_cpu();
		if (now == seen) {
			STORE(&s->hcpu, me);
			int spin = LOAD(&s->mcpu) == me ? 0 : NEST_SPIN;
			for (int i = 0; i < spin && LOAD(&s->seq) == seen; i++)
				__builtin_ia32_pause();
			if (LOAD(&s->seq) == seen) {
				__atomic_add_fetch(&s->hwaiters, 1, __ATOMIC_SEQ_CST);
				if (LOAD(&s->seq) == seen)
					sc6(SYS_futex, (long)&s->seq, FUTEX_WAIT, seen, 0, 0, 0);
				__atomic_sub_fetch(&s->hwaiters, 1, __ATOMIC_SEQ_CST);
			}
			continue;
		}
		seen = now;
		long a[6];
		for (int i = 0; i < 6; i++)
			a[i] = LOAD(&s->a[i]);
		long r = nest.fn(LOAD(&s->nr), a[0], a[1], a[2], a[3], a[4], a[5]);
		STORE(&s->ret, r);
		STORE(&s->done, seen);
		if (LOAD(&s->mwaiters))
			sc6(SYS_futex, (long)&s->done, FUTEX_WAKE, 0x7fffffff, 0, 0, 0);
	}
}

/* After the go, under the filter (which threads inherit): a thread per
 * inner, each on a stack of its own that the plan laid out. */
static void nest_start(void)
{
	for (uint64_t i = 0; i < nest.n; i++) {
		uint64_t *top = (uint64_t *)((nest.stacks + (i + 1) * nest.stride) & ~15UL);
		*--top = (uint64_t)&nest.page[i];
		*--top = 0; /* keeps the frame 16-byte aligned after the pops */
		long tid;
		__asm__ volatile("syscall\n\t"
				 "test %%rax, %%rax\n\t"
				 "jnz 1f\n\t"
				 "pop %%rdi\n\t"
				 "pop %%rdi\n\t"
				 "and $-16, %%rsp\n\t"
				 "call nest_serve\n\t"
				 "hlt\n"
				 "1:"
				 : "=a"(tid)
				 : "a"(SYS_clone), "D"(NEST_THREAD_FLAGS), "S"(top), "d"(0)
				 : "rcx", "r11", "r8", "r10", "memory");
		if (bad(tid))
			fail(IV_STEP_OP, tid);
	}
}

static long nest_map(const struct iv_plan_op *op)
{
	if (nest.page || op->len == 0 || op->len > IV_NEST_MAX || !nest.stride ||
	    nest.stride > (IV_USER_TOP - nest.stacks) / op->len)
		return -22;
	long m = sc6(SYS_mmap, 0, IV_NEST_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, (long)op->arg,
		     0);
	if (bad(m))
		return m;
	nest.page = (struct iv_nest_slot *)m;
	nest.fn = (nest_fn)op->addr;
	nest.n = op->len;
	return 0;
}

/* Reads len bytes of the ELF at offset off into addr (fewer at its end). */
static long pread_all(uint64_t addr, uint64_t len, uint64_t off)
{
	for (uint64_t done = 0; done < len;) {
		long r = sc6(SYS_pread64, IV_FD_ELF, (long)(addr + done), (long)(len - done),
			     (long)(off + done), 0, 0);
		if (bad(r))
			return r;
		if (r == 0)
			break;
		done += (uint64_t)r;
	}
	return 0;
}

/* The next string of the exec blob [*p, end), or NULL when none is left. */
static const char *next_str(const char **p, const char *end)
{
	const char *s = *p;
	while (*p < end && **p)
		(*p)++;
	if (*p >= end)
		return 0;
	(*p)++;
	return s;
}

/* A program: the kernel loads it (its interpreter, static-pie, IRELATIVE)
 * inside the cell's root, under the filter already installed.  The
 * control socket is closed by the exec itself: the monitor reads its end
 * of file as success, or the failure reported here. */
static __attribute__((noreturn)) void exec_program(const struct iv_plan_hdr *h, const uint8_t *plan)
{
	if (h->exec_off > h->total || h->exec_len > h->total - h->exec_off ||
	    h->exec_argc + h->exec_envc + 2 > IV_PLAN_MAX_VEC)
		fail(IV_STEP_PLAN, -22);
	const char *p = (const char *)plan + h->exec_off, *end = p + h->exec_len;
	const char *path = next_str(&p, end);
	uint64_t n = 0;
	for (uint64_t i = 0; i < h->exec_argc; i++)
		vec[n++] = next_str(&p, end);
	vec[n++] = 0;
	for (uint64_t i = 0; i < h->exec_envc; i++)
		vec[n++] = next_str(&p, end);
	vec[n] = 0;
	for (uint64_t i = 0; i < n; i++)
		if (!path || (i != h->exec_argc && !vec[i]))
			fail(IV_STEP_PLAN, -22);
	sc3(SYS_fcntl, IV_FD_CTL, F_SETFD, FD_CLOEXEC);
	long r;
	if (*path) {
		sc3(SYS_close, IV_FD_ELF, 0, 0);
		r = sc6(SYS_execveat, AT_FDCWD, (long)path, (long)vec,
			(long)(vec + h->exec_argc + 1), 0, 0);
	} else {
		sc3(SYS_fcntl, IV_FD_ELF, F_SETFD, FD_CLOEXEC);
		r = sc6(SYS_execveat, IV_FD_ELF, (long)"", (long)vec,
			(long)(vec + h->exec_argc + 1), AT_EMPTY_PATH, 0);
	}
	fail(IV_STEP_PROGRAM, r);
}

/* Where the kernel put this process's vDSO (AT_SYSINFO_EHDR), from the
 * start-up stack sp: argc, argv, envp, auxv. */
static uint64_t vdso_of(const uint64_t *sp)
{
	const uint64_t *p = sp + 1 + sp[0] + 1;
	while (*p)
		p++;
	for (p++; p[0]; p += 2)
		if (p[0] == AT_SYSINFO_EHDR)
			return p[1];
	return 0;
}

/* The template's vDSO where the template had it: a program keeps pointers
 * into it (a libc's clock_gettime).  The same kernel: the same block. */
static long move_vdso(const struct iv_plan_op *op, uint64_t here)
{
	if (!here || here < op->arg)
		return -22;
	long r = sc3(SYS_munmap, here - op->arg, op->len, 0);
	return bad(r) ? r : sc3(SYS_arch_prctl, ARCH_MAP_VDSO_64, op->addr, 0);
}

/* Reads the plan at IV_FD_PLAN into *h, maps it and runs its ops; returns
 * where it is mapped. */
static const uint8_t *run_plan(struct iv_plan_hdr *h, const uint64_t *sp)
{
	long r = sc6(SYS_pread64, IV_FD_PLAN, (long)h, sizeof(*h), 0, 0, 0);
	if (r != (long)sizeof(*h) || h->magic != IV_PLAN_MAGIC || h->version != IV_PLAN_VERSION)
		fail(IV_STEP_PLAN, bad(r) ? r : -22);

	/* A restore says where: the kernel's choice may be where restored memory goes. */
	long pl = sc6(SYS_mmap, (long)h->plan_at, (long)h->total, PROT_READ,
		      MAP_PRIVATE | (h->plan_at ? MAP_FIXED_NOREPLACE : 0), IV_FD_PLAN, 0);
	if (!bad(pl) && h->plan_at && (uint64_t)pl != h->plan_at)
		pl = -17; /* EEXIST: a kernel that took it as a hint */
	if (bad(pl))
		fail(IV_STEP_PLAN, pl);
	const uint8_t *plan = (const uint8_t *)pl;
	const struct iv_plan_op *ops = (const struct iv_plan_op *)(plan + h->ops_off);
	if (h->ops_off > h->total || h->nops > (h->total - h->ops_off) / sizeof(*ops) ||
	    h->filter_off > h->total || h->filter_len > (h->total - h->filter_off) / 8)
		fail(IV_STEP_PLAN, -22);

	uint64_t stub_end = ((uint64_t)_end + 4095) & ~4095ULL;
	for (uint64_t i = 0; i < h->nops; i++) {
		const struct iv_plan_op *op = &ops[i];
		/* Nothing of a plan may touch the stub itself (it has no filter yet)
		 * nor the plan. */
		if (op->kind != IV_OP_CLOSE && op->kind != IV_OP_VDSO &&
		    op->kind != IV_OP_SIGACTION &&
		    (op->addr < IV_USER_MIN || op->addr > IV_USER_TOP ||
		     op->len > IV_USER_TOP - op->addr ||
		     (op->addr < stub_end && op->addr + op->len > IV_STUB_BASE) ||
		     (op->addr < (uint64_t)pl + h->total && op->addr + op->len > (uint64_t)pl)))
			fail(IV_STEP_OP, -22);
		switch (op->kind) {
		case IV_OP_MAP_FILE:
			r = sc6(SYS_mmap, (long)op->addr, (long)op->len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_FIXED, IV_FD_ELF, (long)op->arg);
			break;
		case IV_OP_MAP_ANON:
			r = sc6(SYS_mmap, (long)op->addr, (long)op->len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS |
					(op->arg & IV_MAP_FRESH ? MAP_FIXED_NOREPLACE : MAP_FIXED),
				-1, 0);
			if (!bad(r) && (uint64_t)r != op->addr)
				r = -17; /* EEXIST: a kernel that took it as a hint */
			if ((op->arg & IV_MAP_TRY) && (r == -17 || r == -12))
				r = 0; /* (EEXIST, ENOMEM: room that is only nice to have) */
			break;
		case IV_OP_COPY:
			if (op->arg > h->total || op->len > h->total - op->arg)
				fail(IV_STEP_OP, -22);
			memcpy((void *)op->addr, plan + op->arg, op->len);
			r = 0;
			break;
		case IV_OP_ZERO:
			memset((void *)op->addr, 0, op->len);
			r = 0;
			break;
		case IV_OP_PROTECT:
			r = sc3(SYS_mprotect, op->addr, op->len, op->prot);
			break;
		case IV_OP_STORE64:
			*(volatile uint64_t *)op->addr = op->arg;
			r = 0;
			break;
		case IV_OP_MAP_SHARED:
			r = sc6(SYS_mmap, (long)op->addr, (long)op->len, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_FIXED, (long)op->arg, 0);
			break;
		case IV_OP_CLOSE:
			r = sc3(SYS_close, op->arg, 0, 0);
			break;
		case IV_OP_VDSO:
			r = move_vdso(op, vdso_of(sp));
			break;
		case IV_OP_SIGACTION:
			if (op->arg > h->total || op->len != 32 || op->len > h->total - op->arg)
				fail(IV_STEP_OP, -22);
			r = sc6(SYS_rt_sigaction, op->prot, (long)(plan + op->arg), 0, 8, 0, 0);
			break;
		case IV_OP_PREAD:
			r = pread_all(op->addr, op->len, op->arg);
			break;
		case IV_OP_NEST:
			r = nest_map(op);
			break;
		case IV_OP_NEST_STACK:
			nest.stacks = op->addr;
			nest.stride = op->len;
			r = op->len >= 4096 ? 0 : -22;
			break;
		default:
			r = -22;
		}
		if (bad(r))
			fail(IV_STEP_OP, r);
	}
	return plan;
}

/* Closes the control socket (the monitor sees its end of file) and jumps
 * into the cVM. */
static __attribute__((noreturn)) void enter(const struct iv_plan_hdr *h)
{
	sc3(SYS_close, IV_FD_CTL, 0, 0);
	nest_start(); /* an outer's handler threads, after the go: under its filter */
	if (h->entry_kind == IV_PLAN_ENTRY_SIGRETURN)
		iv_stub_sigreturn(h->sp, h->fsbase, h->gsbase);
	iv_stub_enter(h->entry, h->sp, h->entry_kind, h->argc, h->argv, h->envp);
}

/*
 * A parked cell (IV_PLAN_ENTRY_PARK): made ahead of its cVM, its filter on
 * and its listener handed over, it waits in IV_SYS_PARK, a call only the
 * monitor answers.  The monitor puts the cVM's plan at IV_FD_PLAN (its ELF,
 * its extra descriptors at theirs) and answers 0; the plan then runs under
 * the filter already installed, and the cell reports as at any start: end
 * of file on the control socket once it enters the cVM, or the step that
 * failed.  A plan that says park (a cell made ahead with its cVM laid out)
 * waits in IV_SYS_PARK once more before it enters, for the go.  Any other
 * answer (the listener closed: the monitor has gone) ends the cell.
 */
static __attribute__((noreturn)) void unpark(const uint64_t *sp)
{
	if (sc6(IV_SYS_PARK, 0, 0, 0, 0, 0, 0) != 0)
		for (;;)
			sc3(SYS_exit_group, 127, 0, 0);
	struct iv_plan_hdr h;
	const uint8_t *plan = run_plan(&h, sp);
	/* (the filter is the parked one: the monitor parks only cells whose cVM has it) */
	if (h.entry_kind != IV_PLAN_ENTRY_PROCESS && h.entry_kind != IV_PLAN_ENTRY_FUNCTION &&
	    h.entry_kind != IV_PLAN_ENTRY_SIGRETURN)
		fail(IV_STEP_PLAN, -22);
	sc3(SYS_munmap, plan, h.total, 0);
	sc3(SYS_close, IV_FD_PLAN, 0, 0);
	sc3(SYS_close, IV_FD_ELF, 0, 0);
	if (h.park && sc6(IV_SYS_PARK, 0, 0, 0, 0, 0, 0) != 0)
		for (;;)
			sc3(SYS_exit_group, 127, 0, 0);
	enter(&h);
}

__attribute__((noreturn)) void iv_stub_main(const uint64_t *sp)
{
	/* Not dumpable: the cell's /proc files belong to root and no process
	 * of its uid (a template's forks share it) may ptrace it or read its
	 * memory; the monitor still can, with CAP_SYS_PTRACE.  exec made it
	 * dumpable again; forks inherit this. */
	long r = sc3(SYS_prctl, PR_SET_DUMPABLE, 0, 0);
	if (bad(r))
		fail(IV_STEP_EXEC, r);
	struct iv_plan_hdr h;
	const uint8_t *plan = run_plan(&h, sp);

	if (h.filter_len == 0 || h.filter_len * 8 > sizeof(filter_copy))
		fail(IV_STEP_FILTER, -22);
	memcpy(filter_copy, plan + h.filter_off, h.filter_len * 8);
	int exec = h.entry_kind == IV_PLAN_ENTRY_EXEC;
	if (!exec) { /* a program's exec blob is read after the go */
		sc3(SYS_munmap, plan, h.total, 0);
		sc3(SYS_close, IV_FD_PLAN, 0, 0);
		sc3(SYS_close, IV_FD_ELF, 0, 0);
	} else {
		sc3(SYS_close, IV_FD_PLAN, 0, 0);
	}

	struct sock_fprog prog = {(unsigned short)h.filter_len, filter_copy};
	long lfd =
		sc3(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	if (bad(lfd))
		fail(IV_STEP_FILTER, lfd);

	char msg[IV_CTL_LISTENER_LEN];
	int32_t fdn = (int32_t)lfd;
	uint64_t gadget = (uint64_t)(uintptr_t)iv_stub_gadget;
	msg[0] = IV_CTL_LISTENER;
	memcpy(msg + 1, &fdn, 4);
	memcpy(msg + 5, &gadget, 8);
	if (sc3(SYS_write, IV_FD_CTL, msg, sizeof(msg)) != sizeof(msg))
		fail(IV_STEP_HANDSHAKE, -5);
	char go = 0;
	if (sc3(SYS_read, IV_FD_CTL, &go, 1) != 1 || go != IV_CTL_GO)
		sc3(SYS_exit_group, 127, 0, 0);
	/* The monitor holds its own copy of the listener now (the only one
	 * left: should the monitor die, a parked cell's wait fails). */
	sc3(SYS_close, lfd, 0, 0);
	if (exec)
		exec_program(&h, plan);
	if (h.entry_kind == IV_PLAN_ENTRY_PARK)
		unpark(sp);
	enter(&h);
}
