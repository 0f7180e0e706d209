/*
 * Nested cVMs (nested.h).  When the run starts: a memfd per inner holding
 * its whole range, and per outer a nest page (a sealed memfd of one page,
 * a slot per inner) that the monitor maps; the address of the outer's
 * syscall_handler from its ELF.  Each cell's plan (layout hook): an inner
 * maps its memfd over its range first and has its ELF read into it
 * instead of mapped; an outer maps its inners' memfds at their ranges and
 * its nest page, whose handler threads its stub starts after the go.
 *
 * A hostcall of an inner (the router, on the inner's server thread): its
 * number and arguments into the slot, the slot's seq bumped, the handler
 * thread woken if it sleeps; then the server spins briefly and sleeps on
 * done until the handler has stored the value, the outer has ended (the
 * ended hook marks it and wakes), the server is asked to stop, or the
 * inner's call_timeout passes.  The monitor reads nothing from the page
 * but done (compared with its own count) and ret: whatever an outer writes
 * there is at most a wrong answer to its own inner.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "nested.h"

#define HANDLER		  "syscall_handler"
#define SPIN		  2048	      /* rounds of pause (about 16 ns each) before sleeping */
#define SLICE_NS	  20000000L   /* a sleep is cut into slices to notice a stop */
#define DEAD_BIT	  0x80000000u /* or-ed into done when the outer has ended */
#define SEQ_MASK	  0x7fffffffu /* the monitor's count of calls */
#define MAX_REPORTS	  8	      /* failed calls reported per inner */
#define ELF_MAX		  (1UL << 30)
#define HANDLER_STACK	  (256UL << 10) /* a handler thread's stack, at most */
#define MIN_HANDLER_STACK (16UL << 10)	/* ... at least */

struct nest_cvm {
	/* an inner */
	int inner;		   /* it has an outer (fds below are valid) */
	int range_fd;		   /* its range's memory */
	int slot_index;		   /* its slot in its outer's page */
	struct iv_nest_slot *slot; /* (the monitor's mapping) */
	uint32_t seq;		   /* calls posted */
	int reports;
	int gone; /* it has ended (under lock) */
	int init; /* the fds below were set by start */
	/* an outer */
	int outer; /* it has inners */
	int page_fd;
	struct iv_nest_slot *page;
	int ninners;
	int inners[IV_NEST_MAX]; /* cVM ids, by slot */
	uint64_t handler;	 /* syscall_handler's address in its cell */
	uint64_t image_lo;	 /* where its image starts */
	int dead;		 /* it has ended: its slots answer no more */
	int exit_pending;	 /* its exit waits for its inners' ends */
	struct iv_call exit_call;
	int exit_listener;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static iv_hostcall_fn base_exit; /* the exit hostcall this feature wraps */

static struct nest_cvm *of(struct iv_cvm *cvm)
{
	return iv_state(cvm, &iv_feature_nested);
}

static struct iv_cvm *outer_of(struct iv_cvm *cvm)
{
	return &cvm->run->cvms[cvm->cfg->outer];
}

static long futex(uint32_t *w, int op, uint32_t v, const struct timespec *ts)
{
	return syscall(SYS_futex, w, op, v, ts, NULL, op == FUTEX_WAIT_BITSET ? ~0u : 0);
}

static uint32_t my_cpu(void)
{
	unsigned cpu = 0;
	getcpu(&cpu, NULL);
	return cpu + 1;
}

/* ---- the run starts: memory, pages, handlers ---- */

/* A sealed memfd of len bytes (no mapping of it can fault); fd or -1. */
static int sealed_memfd(const char *name, uint64_t len)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)len) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The outer's syscall_handler (in its cell) and where its image lies. */
static int find_handler(const struct iv_cvm_cfg *cfg, uint64_t *handler, uint64_t *lo,
			const char *path, int line, struct iv_err *err)
{
	int fd = open(cfg->runtime, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size == 0 ||
	    (uint64_t)st.st_size > ELF_MAX) {
		if (fd >= 0)
			close(fd);
		return iv_fail(err, "%s:%d: key 'runtime': cVM '%s': '%s' cannot be read", path,
			       cfg->line, cfg->name, cfg->runtime);
	}
	void *buf = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (buf == MAP_FAILED)
		return iv_fail(err, "%s:%d: key 'runtime': cVM '%s': %s", path, cfg->line,
			       cfg->name, strerror(errno));
	struct iv_elf elf;
	struct iv_err e2;
	uint64_t v = 0;
	int rc = iv_elf_parse(buf, (size_t)st.st_size, iv_cvm_image_at(cfg), cfg->end, &elf, &e2);
	if (rc == 0) {
		int found = iv_elf_symbol(buf, (size_t)st.st_size, HANDLER, &v) == 0, exec = 0;
		for (size_t i = 0; found && i < elf.nseg; i++)
			if ((elf.seg[i].prot & PROT_EXEC) && v + elf.bias >= elf.seg[i].vaddr &&
			    v + elf.bias < elf.seg[i].vaddr + elf.seg[i].memsz)
				exec = 1;
		if (!exec)
			rc = iv_fail(err,
				     "%s:%d: key 'callback_out': cVM '%s' ('%s') exports no "
				     "function '" HANDLER "' (in its dynamic symbols or symbol "
				     "table) to serve hostcalls",
				     path, line, cfg->name, cfg->runtime);
		*handler = v + elf.bias;
		*lo = elf.lo;
		iv_elf_free(&elf);
	} else {
		rc = iv_fail(err, "%s:%d: key 'runtime': cVM '%s': %s", path, cfg->line, cfg->name,
			     e2.msg);
	}
	munmap(buf, (size_t)st.st_size);
	return rc;
}

/* Makes o an outer (once): its page, its handler. */
static int make_outer(struct iv_run *run, struct iv_cvm *o, const struct iv_cvm_cfg *by,
		      struct iv_err *err)
{
	struct nest_cvm *n = of(o);
	const char *path = run->cfg->path;
	if (n->outer)
		return 0;
	if (find_handler(o->cfg, &n->handler, &n->image_lo, path, by->callback_line, err))
		return -1;
	n->page_fd = sealed_memfd("iv-nest", IV_NEST_PAGE);
	n->page = n->page_fd < 0 ? MAP_FAILED
				 : mmap(NULL, IV_NEST_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
					n->page_fd, 0);
	if (n->page == MAP_FAILED) {
		n->page = NULL;
		if (n->page_fd >= 0)
			close(n->page_fd);
		return iv_fail(err, "cVM '%s': its nest page: %s", o->cfg->name, strerror(errno));
	}
	n->outer = 1;
	n->exit_listener = -1;
	return 0;
}

/* Checks inner i against its outer's image and stack and gives it a slot. */
static int make_inner(struct iv_run *run, struct iv_cvm *in, struct iv_err *err)
{
	struct iv_cvm *o = outer_of(in);
	const struct iv_cvm_cfg *a = in->cfg, *oc = o->cfg;
	struct nest_cvm *n = of(in), *on = of(o);
	const char *path = run->cfg->path;
	if (make_outer(run, o, a, err))
		return -1;
	/* The outer's image, its cap files (between its image and its stack) and
	 * its stack lie above the inner. */
	uint64_t image_lo = on->image_lo;
	if (a->end > image_lo)
		return iv_fail(
			err,
			"%s:%d: key 'isolation': inner cVM '%s' range [0x%llx, 0x%llx) reaches "
			"outer cVM '%s''s image at 0x%llx (with its cap files and stack "
			"above): give the outer a base above the inner",
			path, a->line, a->name, (unsigned long long)a->begin,
			(unsigned long long)a->end, oc->name, (unsigned long long)image_lo);
	if (on->ninners == IV_NEST_MAX)
		return iv_fail(err,
			       "%s:%d: key 'callback_out': outer cVM '%s' has more than %d inners",
			       path, a->callback_line, oc->name, IV_NEST_MAX);
	n->range_fd = sealed_memfd("iv-inner", a->end - a->begin);
	if (n->range_fd < 0)
		return iv_fail(err, "cVM '%s': memory of its range: %s", a->name, strerror(errno));
	n->inner = 1;
	n->slot_index = on->ninners;
	n->slot = &on->page[on->ninners];
	on->inners[on->ninners++] = in->id;
	return 0;
}

/* ---- a cell's plan ---- */

/* A copy of fd for the cell (the deploy closes what extra[] holds): its
 * number in the cell, or -1. */
static int add_fd(int fd, int *extra, int *nextra, struct iv_err *err)
{
	if (*nextra >= IV_MAX_EXTRA)
		return iv_fail(err, "too many shared mappings (at most %d)", IV_MAX_EXTRA);
	int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (d < 0)
		return iv_fail(err, "a shared mapping's descriptor: %s", strerror(errno));
	extra[(*nextra)++] = d;
	return IV_FD_EXTRA + *nextra - 1;
}

/* Maps cvm's range memory (a memfd) at its range. */
static int map_range(struct iv_plan *p, struct iv_cvm *cvm, int *extra, int *nextra,
		     struct iv_err *err)
{
	int k = add_fd(of(cvm)->range_fd, extra, nextra, err);
	if (k < 0)
		return -1;
	uint64_t b = cvm->cfg->begin, len = cvm->cfg->end - b;
	if (iv_plan_op(p, IV_OP_MAP_SHARED, b, len, (uint64_t)k, 0) ||
	    iv_plan_op(p, IV_OP_CLOSE, 0, 0, (uint64_t)k, 0))
		return iv_fail(err, "out of memory");
	return 0;
}

/* An inner: its range is the shared memfd, mapped before anything else;
 * its ELF's pages are read into it (a private mapping of the ELF would
 * hide them from the outer) and its anonymous memory is the memfd's. */
static int layout_inner(struct iv_cvm *cvm, struct iv_plan *p, int *extra, int *nextra,
			struct iv_err *err)
{
	size_t keep = 0, n0 = p->nops;
	for (size_t i = 0; i < n0; i++) {
		struct iv_plan_op op = p->ops[i];
		if (op.kind == IV_OP_MAP_ANON)
			continue;
		if (op.kind == IV_OP_MAP_FILE)
			op.kind = IV_OP_PREAD;
		p->ops[keep++] = op;
	}
	p->nops = keep;
	size_t before = p->nops;
	if (map_range(p, cvm, extra, nextra, err))
		return -1;
	/* rotate the two new ops to the front */
	size_t added = p->nops - before;
	struct iv_plan_op tmp[2];
	memcpy(tmp, p->ops + before, added * sizeof(*tmp));
	memmove(p->ops + added, p->ops, before * sizeof(*p->ops));
	memcpy(p->ops, tmp, added * sizeof(*tmp));
	return 0;
}

/* Whether cvm's chain of outers reaches o. */
static int inside(struct iv_cvm *cvm, struct iv_cvm *o)
{
	int k = cvm->cfg->outer;
	for (size_t n = 0; k >= 0 && n < cvm->run->ncvms; n++, k = cvm->run->cvms[k].cfg->outer)
		if (&cvm->run->cvms[k] == o)
			return 1;
	return 0;
}

static int layout(struct iv_cvm *cvm, struct iv_plan *p, int *extra, int *nextra,
		  struct iv_err *err)
{
	struct nest_cvm *n = of(cvm);
	struct iv_run *run = cvm->run;
	if (n->inner && layout_inner(cvm, p, extra, nextra, err))
		return -1;
	if (!n->outer)
		return 0;
	/* every cVM nested in it, outer ones first (an inner's inner lies
	 * inside the inner: mapped after it, over it) */
	size_t dcvm = 0;
	for (int k = cvm->cfg->outer; k >= 0 && dcvm <= run->ncvms; k = run->cvms[k].cfg->outer)
		dcvm++;
	for (size_t depth = dcvm + 1; depth <= run->ncvms; depth++)
		for (size_t i = 0; i < run->ncvms; i++) {
			struct iv_cvm *c = &run->cvms[i];
			size_t d = 0;
			for (int k = c->cfg->outer; k >= 0 && d <= run->ncvms;
			     k = run->cvms[k].cfg->outer)
				d++;
			if (d == depth && inside(c, cvm) && map_range(p, c, extra, nextra, err))
				return -1;
		}
	/* its handler threads' stacks: at the bottom of its own stack's room,
	 * each above a guard page, the main stack above them all */
	uint64_t room = (cvm->stack_hi - cvm->stack_lo) / 2 / (uint64_t)n->ninners;
	uint64_t stride =
		room > HANDLER_STACK + IV_PAGE ? HANDLER_STACK + IV_PAGE : IV_ALIGN_DOWN(room);
	if (stride < MIN_HANDLER_STACK + IV_PAGE)
		return iv_fail(err,
			       "cVM '%s': its stack (0x%llx bytes) leaves too little room for the "
			       "stacks of %d handler threads: give it a larger range",
			       cvm->cfg->name, (unsigned long long)(cvm->stack_hi - cvm->stack_lo),
			       n->ninners);
	if (iv_plan_op(p, IV_OP_NEST_STACK, cvm->stack_lo, stride, 0, 0))
		return iv_fail(err, "out of memory");
	for (int i = 1; i <= n->ninners; i++) /* (thread 0's is the stack's own guard) */
		if (iv_plan_op(p, IV_OP_PROTECT, cvm->stack_lo + (uint64_t)i * stride, IV_PAGE, 0,
			       0))
			return iv_fail(err, "out of memory");
	int k = add_fd(n->page_fd, extra, nextra, err);
	if (k < 0)
		return -1;
	if (iv_plan_op(p, IV_OP_NEST, n->handler, (uint64_t)n->ninners, (uint64_t)k, 0) ||
	    iv_plan_op(p, IV_OP_CLOSE, 0, 0, (uint64_t)k, 0))
		return iv_fail(err, "out of memory");
	return 0;
}

/* ---- relaying an inner's hostcall ---- */

static void report(struct iv_cvm *cvm, const char *fmt, int nr, long why)
{
	struct nest_cvm *n = of(cvm);
	int k = __atomic_fetch_add(&n->reports, 1, __ATOMIC_SEQ_CST);
	if (k < MAX_REPORTS)
		iv_log(fmt, cvm->cfg->name, outer_of(cvm)->cfg->name, nr, iv_hostcall_name(nr),
		       strerror((int)-why));
	else if (k == MAX_REPORTS)
		iv_log("cVM '%s': more of its hostcalls failed in outer '%s'; no longer reporting "
		       "them",
		       cvm->cfg->name, outer_of(cvm)->cfg->name);
}

/* Waits for the answer to call seq: its value, or -EIO (the outer has
 * ended), -ETIMEDOUT, -EINTR (the inner's server is asked to stop, or
 * the inner has ended). */
static long await(struct iv_cvm *cvm, struct iv_nest_slot *s, uint32_t seq, uint64_t deadline)
{
	struct nest_cvm *on = of(outer_of(cvm));
	uint32_t me = my_cpu();
	for (int spun = 0;; spun = 1) {
		uint32_t d = __atomic_load_n(&s->done, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&on->dead, __ATOMIC_SEQ_CST))
			return -EIO;
		if (d == seq)
			return __atomic_load_n(&s->ret, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&cvm->leader->stopping, __ATOMIC_SEQ_CST) ||
		    __atomic_load_n(&cvm->ended, __ATOMIC_SEQ_CST))
			return -EINTR;
		if (!spun && __atomic_load_n(&s->hcpu, __ATOMIC_RELAXED) != me) {
			for (int i = 0;
			     i < SPIN && __atomic_load_n(&s->done, __ATOMIC_SEQ_CST) == d; i++)
				__builtin_ia32_pause();
			continue;
		}
		uint64_t now = iv_now_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		uint64_t until = deadline - now < SLICE_NS ? deadline : now + SLICE_NS;
		struct timespec ts = {(time_t)(until / 1000000000ULL),
				      (long)(until % 1000000000ULL)};
		__atomic_store_n(&s->mcpu, me, __ATOMIC_RELAXED);
		__atomic_add_fetch(&s->mwaiters, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&s->done, __ATOMIC_SEQ_CST) == d)
			futex(&s->done, FUTEX_WAIT_BITSET, d, &ts);
		__atomic_sub_fetch(&s->mwaiters, 1, __ATOMIC_SEQ_CST);
	}
}

/* Posts c to its outer's handler and waits for the value. */
static long deliver(struct iv_call *c)
{
	struct iv_cvm *cvm = c->cvm;
	struct nest_cvm *n = of(cvm);
	struct iv_nest_slot *s = n->slot;
	if (__atomic_load_n(&of(outer_of(cvm))->dead, __ATOMIC_SEQ_CST)) {
		report(cvm, "cVM '%s': outer '%s' has ended: hostcall %d (%s) fails: %s", c->nr,
		       -EIO);
		return -EIO;
	}
	uint32_t seq = (n->seq + 1) & SEQ_MASK;
	n->seq = seq ? seq : 1;
	seq = n->seq;
	__atomic_store_n(&s->nr, (int64_t)c->nr, __ATOMIC_RELAXED);
	for (int i = 0; i < 6; i++)
		__atomic_store_n(&s->a[i], (int64_t)c->a[i], __ATOMIC_RELAXED);
	__atomic_store_n(&s->seq, seq, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&s->hwaiters, __ATOMIC_SEQ_CST))
		futex(&s->seq, FUTEX_WAKE, INT_MAX, NULL);
	uint32_t ms = cvm->cfg->call_timeout_ms ? cvm->cfg->call_timeout_ms : IV_NEST_TIMEOUT_MS;
	long r = await(cvm, s, seq, iv_now_ns() + (uint64_t)ms * 1000000ULL);
	/* The outer's value is a value or -errno: never one of the monitor's
	 * own codes (IV_HC_DEFER would leave the inner's call unanswered). */
	if (r < -4095) {
		report(cvm, "cVM '%s': outer '%s' answered hostcall %d (%s) with no errno: %s",
		       c->nr, -EINVAL);
		r = -EINVAL;
	} else if (r == -EIO)
		report(cvm, "cVM '%s': outer '%s' ended before answering hostcall %d (%s): %s",
		       c->nr, r);
	else if (r == -ETIMEDOUT)
		report(cvm, "cVM '%s': outer '%s' did not answer hostcall %d (%s) in time: %s",
		       c->nr, r);
	return r;
}

static long route(struct iv_call *c)
{
	switch (c->nr) {
	case HC_GET_MY_INNER:
	case HC_SYSCALL_HANDLER_PRB:
	case HC_GET_SC_CAPS:
		return IV_HC_UNROUTED; /* about the nesting itself: the monitor's */
	case HC_SAVE:
		return -EPERM; /* an inner is no template */
	case HC_EXIT:
		deliver(c); /* (the handler may flush); the inner ends anyway */
		return IV_HC_UNROUTED;
	}
	return deliver(c);
}

/* ---- 700-702 ---- */

/* (i, struct {u64 begin, end} *out): the caller's i-th inner's range. */
static long hc_get_my_inner(struct iv_call *c)
{
	struct nest_cvm *n = of(c->cvm);
	if (!n->outer)
		return -ENOENT;
	if (c->a[0] >= (uint64_t)n->ninners)
		return -EINVAL;
	const struct iv_cvm_cfg *in = c->cvm->run->cvms[n->inners[c->a[0]]].cfg;
	uint64_t r[2] = {in->begin, in->end};
	return iv_cvm_write(c->cvm, c->a[1], r, sizeof(r));
}

/* (key): 0 when key names the cVM whose handler serves the caller. */
static long hc_handler_prb(struct iv_call *c)
{
	char key[256];
	int r = iv_cvm_read_str(c->cvm, c->a[0], key, sizeof(key));
	if (r)
		return r;
	if (c->cvm->cfg->outer < 0)
		return -ENOENT;
	const struct iv_cvm_cfg *o = outer_of(c->cvm)->cfg;
	const char *sl = strrchr(o->runtime, '/');
	return !strcmp(key, o->name) || !strcmp(key, sl ? sl + 1 : o->runtime) ? 0 : -ENOENT;
}

/* (): 0 when the monitor serves the caller's hostcalls, 1 an outer. */
static long hc_get_sc_caps(struct iv_call *c)
{
	return c->cvm->cfg->outer >= 0 ? 1 : 0;
}

/* ---- an outer's exit waits for its inners ---- */

static int inners_alive(struct iv_cvm *o)
{
	struct nest_cvm *n = of(o);
	for (int i = 0; i < n->ninners; i++)
		if (!of(&o->run->cvms[n->inners[i]])->gone)
			return 1;
	return 0;
}

static long hc_exit(struct iv_call *c)
{
	struct nest_cvm *n = of(c->cvm);
	if (n->outer) {
		pthread_mutex_lock(&lock);
		int defer = inners_alive(c->cvm) && !n->exit_pending;
		if (defer) {
			n->exit_pending = 1;
			n->exit_call = *c;
			n->exit_listener = c->cvm->leader->cell.listener;
		}
		pthread_mutex_unlock(&lock);
		if (defer)
			return IV_HC_DEFER; /* answered when its last inner has ended */
	}
	return base_exit(c);
}

/* ---- the feature ---- */

static int start(struct iv_run *run, struct iv_err *err)
{
	/* (each run: basic registers its own again when a run starts) */
	if (iv_hostcall_handler(HC_EXIT) != hc_exit)
		base_exit = iv_hostcall_handler(HC_EXIT);
	iv_hostcall_register(HC_EXIT, "exit", hc_exit);
	iv_hostcall_register(HC_GET_MY_INNER, "get_my_inner", hc_get_my_inner);
	iv_hostcall_register(HC_SYSCALL_HANDLER_PRB, "syscall_handler_prb", hc_handler_prb);
	iv_hostcall_register(HC_GET_SC_CAPS, "get_sc_caps", hc_get_sc_caps);
	iv_hostcall_route(route);
	for (size_t i = 0; i < run->ncvms; i++) {
		struct nest_cvm *n = of(&run->cvms[i]);
		n->range_fd = n->page_fd = n->exit_listener = -1;
		n->init = 1;
	}
	for (size_t i = 0; i < run->ncvms; i++)
		if (run->cvms[i].cfg->outer >= 0 && make_inner(run, &run->cvms[i], err))
			return -1;
	return 0;
}

/* Marks an ended outer's slots dead and wakes whoever waits on them. */
static void outer_ended(struct iv_cvm *o)
{
	struct nest_cvm *n = of(o);
	__atomic_store_n(&n->dead, 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < n->ninners; i++) {
		__atomic_or_fetch(&n->page[i].done, DEAD_BIT, __ATOMIC_SEQ_CST);
		futex(&n->page[i].done, FUTEX_WAKE, INT_MAX, NULL);
	}
	pthread_mutex_lock(&lock);
	n->exit_pending = 0;
	pthread_mutex_unlock(&lock);
}

static void ended(struct iv_cvm *cvm)
{
	struct nest_cvm *n = of(cvm);
	if (n->outer)
		outer_ended(cvm);
	if (!n->inner)
		return;
	struct iv_cvm *o = outer_of(cvm);
	struct nest_cvm *on = of(o);
	pthread_mutex_lock(&lock);
	n->gone = 1;
	int answer = on->exit_pending && !inners_alive(o);
	if (answer)
		on->exit_pending = 0;
	pthread_mutex_unlock(&lock);
	if (answer) {
		/* the outer's deferred exit, now that its last inner has ended */
		long r = base_exit(&on->exit_call);
		iv_answer(on->exit_listener, on->exit_call.id, r);
	}
}

static void release(struct iv_cvm *cvm)
{
	struct nest_cvm *n = of(cvm);
	if (!n->init)
		return;
	if (n->range_fd >= 0)
		close(n->range_fd);
	if (n->page)
		munmap(n->page, IV_NEST_PAGE);
	if (n->page_fd >= 0)
		close(n->page_fd);
	n->range_fd = n->page_fd = -1;
	n->page = NULL;
}

struct iv_feature iv_feature_nested = {
	.name = "nested cVMs",
	.cvm_size = sizeof(struct nest_cvm),
	.start = start,
	.layout = layout,
	.ended = ended,
	.free = release,
};
