/*
 * bench/tfork - what a TFORK fork costs, by mapping (fork_mode: map) and by
 * clone() (fork_mode: clone), against starting the same cVM from scratch,
 * restoring it from an image, resetting a used fork, the kernel's own
 * fork() and posix_spawn, measured in one run for templates of 1 MiB,
 * 64 MiB and 1 GiB of initialised heap (issue 10 item 4):
 *
 *   (a) cold start: a plain cVM (bench/cvm/tfork_heap.c, no template) that
 *       fills the heap and then does what a fork does; host_save() returns
 *       at once in a plain cVM.  Deploy -> first instruction after
 *       host_save, and deploy -> exit reaped.  cVMs deployed one after
 *       another by one running monitor, as the forks are.
 *   (b) fork from a template, once per fork mode: the same binary as a
 *       template (it fills the heap once, then host_save) and K forks
 *       deployed one after another (wait: -1).  Fork request
 *       (iv_cvm.t[IV_T_DEPLOY], set when the TFORK feature's deploy hook
 *       first sees the fork) -> the fork's first instruction after
 *       host_save (its CLOCK_MONOTONIC, left in the cap file), and -> its
 *       exit reaped (t_done_ns); then K forks that write one word in 1% of
 *       the heap's pages, and K in 10%, before they exit.  The template's
 *       own initialisation (and, by mapping, making its image) is over
 *       before the first request: excluded by construction (printed for
 *       information).
 *   (c) restore from a snapshot image: the image written once per size by
 *       a template run, then cVMs restored from it one after another in a
 *       later run, timed like the forks from their deploy.
 *   (d) the limit: fork() of a plain process with the same heap malloc'd
 *       and touched; fork() -> child's first instruction (a timestamp sent
 *       through a pipe) and fork() -> waitpid, also with the child writing
 *       1% and 10% of the pages first.
 *   (e) posix_spawn of a static freestanding binary (bench/peer_start):
 *       -> first instruction, -> exit (waitpid).
 *   (f) reset of a used fork (reuse: N; the template's forks by mapping):
 *       one fork runs K+1 times in the template run of (b), each run with
 *       its own args; a run's host_exit -> the next run's first
 *       instruction after host_save (both the cVM's clock), and -> the
 *       next run's exit; also after runs that wrote 10% of the pages.
 *   (g) with a warm pool (the monitor's --pool 2): the cold starts of (a)
 *       and the restores of (c) again, each cVM resting 3 ms before its
 *       exit (room for the next one's cell to be made ahead): deploy ->
 *       first instruction (the cVM's first) of a fresh cVM, deploy -> first
 *       instruction after host_save of a restore.
 *   (h) the sustained rate, on every CPU online: 60 cold cVMs of 1 MiB
 *       deployed at once (wait: 0) with --pool 4 and without, against 60 posix_spawns
 *       at once, first deploy to last reap.
 *   And memory, per fork mode: 10 concurrent forks of the 64 MiB template
 *   (and of the 1 MiB one, for information) that read the whole heap and
 *   then sleep; the sum of their PSS and the template's
 *   (/proc/PID/smaps_rollup), with its in-memory image, against the
 *   template's own before forking.
 *
 * The monitor runs in this process (build/libintravisor.a), one
 * iv_run_init / iv_run / iv_run_free per generated config.  The process is
 * pinned to one CPU before anything starts, so that cVM threads, the
 * monitor's server and main threads and every peer share that core.  The
 * variants run interleaved, round by round; the first sample of each kind
 * in every round is a warm-up and dropped; medians over the rest.  At
 * 1 GiB a round has fewer cold starts (-N).
 *
 * The cVM, the cell stub (iv-cell, which the monitor looks for next to its
 * own executable) and the spawn peer are expected next to this binary;
 * `make bench-tfork` puts them there.  Exit status: 0 when every
 * measurement ran (whether or not a target is met), 1 on any error, 2 on
 * bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capfile/capfile.h"
#include "common.h"
#include "cvm/tfork.h"
#include "iv.h"
#include "tfork/tfork.h"

#define MAX_SAMPLES 1024 /* per series, the most the options may ask for */
#define TIMEOUT_S   60	 /* per monitor run / peer */
#define NSIZES	    3
#define HEADLINE    1 /* the size most targets are stated at: 64 MiB */
#define MAX_FORKS   ((int)TFORK_SLOTS - 1)
/* Each range holds a heap of up to 1 GiB (the cVM's bss), its image and stack. */
#define RANGE_SIZE 0x50000000UL

static const int sizes_mib[NSIZES] = {1, 64, 1024};

/* How forks are made (fork_mode), and what the written forks write. */
enum { MAP, CLONE, NMODES };
static const char *const mode_key[NMODES] = {"map", "clone"};
static const char *const mode_title[NMODES] = {"fork by mapping (fork_mode: map)",
					       "fork by clone() (fork_mode: clone)"};
#define NW 3
static const int wr_pct[NW] = {0, 1, 10};
/* Slots of one template run: the template, 1 + K plain forks, K writing 1%,
 * K writing 10%, and two reused forks of 1 + K runs each. */
#define SLOTS_NEEDED(k) (1 + (1 + (k)) + 2 * (k) + 2 * (1 + (k)))

static const char usage[] =
	"usage: tfork [-c CPU] [-r ROUNDS] [-k FORKS] [-n COLD] [-N COLD_1G] [-m MEMFORKS]\n"
	"             [-s SLEEP_MS] [-v]\n"
	"  -c CPU       pin everything to CPU (default: the highest CPU this process may use)\n"
	"  -r ROUNDS    rounds; each runs every variant at every size (default 5)\n"
	"  -k FORKS     timed forks of each kind per template run, runs of each reused fork,\n"
	"               restores, raw fork()s of each kind and posix_spawns per round\n"
	"               (default 10, at most 11; one more each is a dropped warm-up)\n"
	"  -n COLD      timed cold-start cVMs per round at 1 and 64 MiB (default 6; +1 warm-up)\n"
	"  -N COLD_1G   the same at 1 GiB (default 2)\n"
	"  -m MEMFORKS  concurrent read-only forks for the memory measurement (default 10)\n"
	"  -s SLEEP_MS  how long those forks stay alive after reading the heap (default 1000)\n"
	"  -v           show the monitor's own output as it runs; -vv also turns on its\n"
	"               verbose log (which costs time: for debugging, not for numbers)\n";

static struct {
	int cpu, rounds, forks, cold, cold_big, memforks, sleep_ms, verbose;
} opt = {-1, 5, 10, 6, 2, 10, 1000, 0};

_Static_assert(MAX_SAMPLES <= SERIES_MAX, "a series holds MAX_SAMPLES");

const struct bench_prog bench_prog = {
	.name = "tfork",
	.usage = usage,
	.make_target = "bench-tfork",
	.timeout_s = TIMEOUT_S,
};

static char cvm_so[PATH_MAX];	 /* the benchmark cVM */
static char peer[PATH_MAX + 16]; /* the spawn peer */

/* ---- the monitor, in process ---- */

/* What a run leaves behind for the sections: per cVM times, and the cap. */
struct run_res {
	struct cvm_times c[TFORK_SLOTS + 1];
	struct tfork_slot slot[TFORK_SLOTS];
	size_t ncvms;
};

/* Whether every cVM with a slot in want_slot (ctx; -1: none) filled it
 * without error, and nothing reported an error in slot 0. */
static int check_slots(const struct iv_run *run, const void *cap, const void *ctx, char *why,
		       size_t len)
{
	const struct tfork_slot *slot = cap;
	const int *want_slot = ctx;
	for (size_t i = 0; i < run->ncvms; i++) {
		if (want_slot[i] < 0)
			continue;
		const struct tfork_slot *s = &slot[want_slot[i]];
		if (s->magic != TFORK_MAGIC) {
			snprintf(why, len, "cVM '%s' left nothing in cap slot %d",
				 run->cvms[i].cfg->name, want_slot[i]);
			return -1;
		}
		if (s->error != TFORK_OK) {
			snprintf(why, len, "cVM '%s' reported error %llu (bench/cvm/tfork.h)",
				 run->cvms[i].cfg->name, (unsigned long long)s->error);
			return -1;
		}
	}
	if (slot[0].error != TFORK_OK) {
		snprintf(why, len, "a cVM reported error %llu in slot 0 (bench/cvm/tfork.h)",
			 (unsigned long long)slot[0].error);
		return -1;
	}
	return 0;
}

/*
 * One monitor run of cfg; dies, showing what the monitor said, unless every
 * cVM ended well (a template: released after its forks) with consistent
 * timestamps and a complete cap slot where want_slot[i] names one (-1: none).
 * With why, a failure is returned (-1, the reason in why) instead.
 */
static int run_monitor_pool(struct iv_config *cfg, struct run_res *res, const int *want_slot,
			    const struct bench_hooks *hooks, int pool, char *why, size_t whylen)
{
	struct bench_run r = {
		.pool = pool,
		.cap_name = TFORK_CAP,
		.cap = res->slot,
		.cap_size = sizeof(res->slot),
		.t = res->c,
		.max_cvms = sizeof(res->c) / sizeof(res->c[0]),
		.check = check_slots,
		.check_ctx = want_slot,
		.hooks = hooks,
	};
	int rc = bench_run_monitor(cfg, &r, why, whylen);
	res->ncvms = r.ncvms;
	return rc;
}

static int run_monitor_soft(struct iv_config *cfg, struct run_res *res, const int *want_slot,
			    const struct bench_hooks *hooks, char *why, size_t whylen)
{
	return run_monitor_pool(cfg, res, want_slot, hooks, 0, why, whylen);
}

static void run_monitor(struct iv_config *cfg, struct run_res *res, const int *want_slot,
			const struct bench_hooks *hooks)
{
	run_monitor_soft(cfg, res, want_slot, hooks, NULL, 0);
}

/* ---- /proc ---- */

static double mib_of(long kb)
{
	return (double)kb / 1024.0;
}

/* ---- what is measured, per heap size ---- */

struct cold_s {
	struct series first, exit, go, go_first, fill, save, after_reaped;
};
struct fork_s {
	struct series first, exit, told, made, resumed, to_exit, reaped;
	struct series wexit[NW];	   /* request -> exit reaped, having written wr_pct[w]% */
	struct series tpl_init, tpl_ready; /* info: what the forks leave out */
};
struct reset_s {
	/* a run's host_exit -> the next run's first instruction, -> its exit
	 * (host_exit); [w]: after runs that wrote wr_pct[w]% (w = 0, 2) */
	struct series first[NW], next_exit[NW];
};
struct restore_s {
	struct series first, exit, plan, go, resumed, to_exit, reaped;
};
/* (g): with a warm pool (the monitor's --pool), deploy -> first instruction
 * of a fresh cVM and deploy -> first instruction after host_save of a
 * restore; without one, the same of the cold starts (a) */
struct pool_s {
	struct series fresh, restore, cold_fresh;
};
struct memres {
	struct mem alone, tpl_with, forks[MAX_FORKS];
	uint64_t sampled_after_ns;	 /* the last fork's read -> sampled */
	uint64_t img_size, img_resident; /* the template's in-memory image (map) */
	long img_mapped_kb;		 /* the most of it one fork maps */
	int measured;
};
struct size_s {
	int mib;
	struct cold_s cold;
	struct fork_s fork[NMODES];
	struct reset_s reset;
	struct restore_s restore;
	struct pool_s pool;
	struct series raw_first, raw_exit, raw_wexit[NW];
	double img_save_ms, img_mib; /* (c): the run that wrote the image */
	struct mem raw_parent;	     /* (d): the fork()ing process, as it forks */
	struct memres memr[NMODES];
	char snapdir[PATH_MAX];
	int saved;
};

static struct size_s S[NSIZES];
static struct series sp_first, sp_exit;

/* (c): 1 restore measured, 0 the monitor does not restore images, -1 failed */
static int restore_state;
static char restore_why[1024];
static char snaproot[64];
/* (f): 1 the monitor resets forks in place (reuse: N), 0 it does not */
static int reset_state;
static char reset_why[1024];

static uint64_t expected_sum(uint64_t len)
{
	uint64_t n = len / 8; /* word i holds i * MUL: the sum is MUL * n(n-1)/2 (mod 2^64) */
	uint64_t a = n, b = n ? n - 1 : 0;
	if (a % 2 == 0)
		a /= 2;
	else
		b /= 2;
	return a * b * TFORK_WORD_MUL;
}

static void gen_start(struct gen *g)
{
	gen_begin(g, TFORK_CAP, TFORK_CAP_SIZE, cvm_so);
	g->range = RANGE_SIZE;
}

/* (a): 1 + opt.cold plain cVMs, one after another; with pool (g), the same
 * from cells made ahead, each resting POOL_REST ms before its exit. */
#define XSTR(x)   #x
#define STR(x)    XSTR(x)
#define POOL_SIZE 2
#define POOL_REST 3
static void cold_run_pool(struct size_s *z, int pool)
{
	int n = 1 + (z->mib >= 1024 ? opt.cold_big : opt.cold);
	struct gen g;
	struct iv_config cfg;
	struct iv_err err;
	int want[TFORK_SLOTS + 1];
	gen_start(&g);
	for (int i = 0; i < n; i++) {
		char name[32], args[64];
		snprintf(name, sizeof(name), "cold-%d", i + 1);
		snprintf(args, sizeof(args), "time %d %d 0%s", i + 1, z->mib,
			 pool ? " " STR(POOL_REST) : "");
		gen_cvm(&g, name, args, 0, i, -1, NULL);
		want[i] = i + 1;
	}
	if (gen_end(&g, "cold", &cfg, &err))
		die("%s", err.msg);
	static struct run_res r;
	run_monitor_pool(&cfg, &r, want, NULL, pool, NULL, 0);
	iv_config_free(&cfg);
	for (int i = 0; i < n; i++) {
		const struct cvm_times *c = &r.c[i];
		const struct tfork_slot *s = &r.slot[i + 1];
		if (s->heap_len != (uint64_t)z->mib << 20)
			die("cold cVM %d filled %llu bytes, not %d MiB", i + 1,
			    (unsigned long long)s->heap_len, z->mib);
		if (!cvm_first_ok(c, s->t_first) || s->t_filled < s->t_first ||
		    s->t_after < s->t_filled || s->t_end < s->t_after || c->t_done < s->t_end)
			die("cold cVM %d: inconsistent timestamps", i + 1);
		if (i == 0)
			continue; /* warm-up */
		if (pool) {
			series_add(&z->pool.fresh, span_us(c->t_deploy, s->t_first));
			continue;
		}
		series_add(&z->pool.cold_fresh, span_us(c->t_deploy, s->t_first));
		series_add(&z->cold.first, span_us(c->t_deploy, s->t_after));
		series_add(&z->cold.exit, span_us(c->t_deploy, c->t_done));
		series_add(&z->cold.go, span_us(c->t_deploy, c->t_cell));
		series_add(&z->cold.go_first, span_us(c->t_cell, s->t_first));
		series_add(&z->cold.fill, span_us(s->t_first, s->t_filled));
		series_add(&z->cold.save, span_us(s->t_filled, s->t_after));
		series_add(&z->cold.after_reaped, span_us(s->t_after, c->t_done));
	}
}

/* (b) and (f): a template of fork mode m, then 1 + opt.forks forks, opt.forks
 * writing 1% of the pages, opt.forks writing 10%, and (when the monitor
 * resets forks) two forks reused for 1 + opt.forks runs each, the second
 * writing 10% in every run; one after another. */
static void fork_run(struct size_s *z, int m)
{
	struct gen g;
	struct iv_config cfg;
	struct iv_err err;
	int want[TFORK_SLOTS + 1], kind[TFORK_SLOTS + 1], n = 0, slot = 1;
	int first_slot[TFORK_SLOTS + 1];
	char args[64], extra[128], name[32];
	gen_start(&g);
	snprintf(args, sizeof(args), "tpl 0 %d 0", z->mib);
	snprintf(extra, sizeof(extra), "  fork_mode: %s\n", mode_key[m]);
	gen_cvm(&g, "tpl", args, 1, 0, -1, extra);
	want[n++] = 0;
	for (int w = 0; w < NW; w++)
		for (int i = 0; i < opt.forks + (w == 0); i++, slot++) {
			snprintf(name, sizeof(name), "fork-%d", slot);
			snprintf(args, sizeof(args), "time %d 0 %d", slot, wr_pct[w]);
			gen_cvm(&g, name, args, 0, -1, -1, NULL);
			kind[n] = w;
			first_slot[n] = slot;
			want[n++] = slot;
		}
	for (int w = 0; reset_state == 1 && m == MAP && w < NW; w += 2) {
		/* 1 + opt.forks runs, each with its own slot */
		char runs[4096];
		size_t len = 0;
		int runs_n = 1 + opt.forks;
		len += (size_t)snprintf(runs + len, sizeof(runs) - len,
					"  reuse: %d\n  run_args:\n", runs_n);
		for (int i = 0; i < runs_n; i++)
			len += (size_t)snprintf(runs + len, sizeof(runs) - len,
						"  - \"time %d 0 %d\"\n", slot + i, wr_pct[w]);
		snprintf(name, sizeof(name), "reused-%d", w);
		gen_cvm(&g, name, NULL, 0, -1, -1, runs);
		kind[n] = -1 - w;
		first_slot[n] = slot;
		want[n++] = slot + runs_n - 1;
		slot += runs_n;
	}
	if (slot > (int)TFORK_SLOTS)
		die("too many slots for one template run (-k)");
	if (gen_end(&g, "fork", &cfg, &err))
		die("%s", err.msg);
	static struct run_res r;
	run_monitor(&cfg, &r, want, NULL);
	iv_config_free(&cfg);
	struct fork_s *f = &z->fork[m];
	const struct cvm_times *t = &r.c[0];
	series_add(&f->tpl_init, span_us(r.slot[0].t_first, r.slot[0].t_filled));
	series_add(&f->tpl_ready, span_us(t->t_deploy, t->t_saved));
	for (int i = 1; i < n; i++) {
		const struct cvm_times *c = &r.c[i];
		if (kind[i] < 0) { /* a reused fork: its runs, one after another */
			int w = -1 - kind[i];
			for (int k = 0; k <= opt.forks; k++) {
				const struct tfork_slot *s = &r.slot[first_slot[i] + k];
				if (s->magic != TFORK_MAGIC || s->error != TFORK_OK ||
				    s->heap_len != (uint64_t)z->mib << 20 || s->t_end < s->t_after)
					die("reused fork %d: run %d did not complete as a fork", w,
					    k + 1);
				if (k == 0)
					continue;
				const struct tfork_slot *p = &r.slot[first_slot[i] + k - 1];
				if (s->t_after < p->t_end)
					die("reused fork: run %d began before run %d ended", k + 1,
					    k);
				if (k == 1)
					continue; /* warm-up: the first reset */
				series_add(&z->reset.first[w], span_us(p->t_end, s->t_after));
				series_add(&z->reset.next_exit[w], span_us(p->t_end, s->t_end));
			}
			continue;
		}
		const struct tfork_slot *s = &r.slot[want[i]];
		if (s->heap_len != (uint64_t)z->mib << 20)
			die("fork %d sees %llu bytes of heap, not the template's %d MiB", i,
			    (unsigned long long)s->heap_len, z->mib);
		if (c->t_deploy < t->t_saved)
			die("fork %d was requested before its template saved", i);
		if (c->t_loaded < c->t_deploy || c->t_running < c->t_loaded ||
		    s->t_after < c->t_running || s->t_end < s->t_after || !c->t_exit ||
		    c->t_exit < s->t_end || c->t_done < c->t_exit)
			die("fork %d: inconsistent timestamps", i);
		if (i == 1)
			continue; /* warm-up */
		series_add(&f->wexit[kind[i]], span_us(c->t_deploy, c->t_done));
		if (kind[i])
			continue;
		series_add(&f->first, span_us(c->t_deploy, s->t_after));
		series_add(&f->exit, span_us(c->t_deploy, c->t_done));
		series_add(&f->told, span_us(c->t_deploy, c->t_loaded));
		series_add(&f->made, span_us(c->t_loaded, c->t_running));
		series_add(&f->resumed, span_us(c->t_running, s->t_after));
		series_add(&f->to_exit, span_us(s->t_after, c->t_exit));
		series_add(&f->reaped, span_us(c->t_exit, c->t_done));
	}
}

/* Whether this monitor resets forks in place: its config takes reuse on a
 * fork. */
static void reset_detect(void)
{
	struct gen g;
	struct iv_config cfg;
	struct iv_err err;
	gen_start(&g);
	gen_cvm(&g, "tpl", "tpl 0 1 0", 1, 0, -1, NULL);
	gen_cvm(&g, "reused", NULL, 0, -1, -1,
		"  reuse: 2\n  run_args: [\"time 1 0 0\", \"time 2 0 0\"]\n");
	if (gen_end(&g, "reset", &cfg, &err)) {
		reset_state = 0;
		const char *k = strstr(err.msg, "key");
		snprintf(reset_why, sizeof(reset_why), "the monitor's config says: %s",
			 k ? k : err.msg);
		return;
	}
	iv_config_free(&cfg);
	reset_state = 1;
}

static void cold_run(struct size_s *z)
{
	cold_run_pool(z, 0);
	cold_run_pool(z, POOL_SIZE);
}

/* ---- (c) restore from a snapshot image ---- */

static void snap_clean(void)
{
	static const char *files[] = {"image.img", "pages.img", "image.img.tmp", "pages.img.tmp"};
	if (!snaproot[0])
		return;
	for (int i = 0; i < NSIZES; i++) {
		if (!S[i].snapdir[0])
			continue;
		for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
			char p[PATH_MAX + 32];
			snprintf(p, sizeof(p), "%s/%s", S[i].snapdir, files[k]);
			unlink(p);
		}
		rmdir(S[i].snapdir);
	}
	rmdir(snaproot);
}

/* Whether this monitor restores images: its config takes snapshot_path on a
 * resume cVM (it used to reject the key as not supported yet). */
static void restore_detect(void)
{
	struct gen g;
	struct iv_config cfg;
	struct iv_err err;
	gen_start(&g);
	gen_cvm(&g, "restored", "time 1 0 0", 0, 0, -1,
		"  resume: 1\n  snapshot_path: \"/nonexistent/bench-tfork\"\n");
	if (gen_end(&g, "restore", &cfg, &err)) {
		restore_state = 0;
		const char *m = strstr(err.msg, "snapshot_path");
		snprintf(restore_why, sizeof(restore_why), "the monitor's config says: %s",
			 m ? m : err.msg);
		return;
	}
	iv_config_free(&cfg);
	snprintf(snaproot, sizeof(snaproot), "/tmp/bench-tfork-XXXXXX");
	if (!mkdtemp(snaproot))
		die("mkdtemp: %s", strerror(errno));
	atexit(snap_clean);
	for (int i = 0; i < NSIZES; i++)
		snprintf(S[i].snapdir, sizeof(S[i].snapdir), "%s/%dmib", snaproot, sizes_mib[i]);
	restore_state = 1;
}

static void restore_failed(const char *what, const char *why)
{
	restore_state = -1;
	snprintf(restore_why, sizeof(restore_why), "%s: %s", what, why);
}

/* (c): the image written once per size (a template run), then each round
 * 1 + opt.forks cVMs restored from it, one after another. */
static void restore_run_pool(struct size_s *z, int pool)
{
	if (restore_state != 1)
		return;
	struct gen g;
	struct iv_config cfg;
	struct iv_err err;
	int want[TFORK_SLOTS + 1];
	char args[64], extra[PATH_MAX + 64], why[768];
	static struct run_res r;
	if (!z->saved) {
		gen_start(&g);
		snprintf(args, sizeof(args), "tpl 0 %d 0", z->mib);
		snprintf(extra, sizeof(extra), "  snapshot_path: \"%s\"\n", z->snapdir);
		gen_cvm(&g, "tpl", args, 1, 0, -1, extra);
		want[0] = 0;
		if (gen_end(&g, "image", &cfg, &err)) {
			restore_failed("a template with snapshot_path", err.msg);
			return;
		}
		int rc = run_monitor_soft(&cfg, &r, want, NULL, why, sizeof(why));
		iv_config_free(&cfg);
		if (rc) {
			restore_failed("writing the image", why);
			return;
		}
		char p[PATH_MAX + 32];
		struct stat st;
		snprintf(p, sizeof(p), "%s/pages.img", z->snapdir);
		if (stat(p, &st)) {
			restore_failed("writing the image", "no pages.img written");
			return;
		}
		z->img_mib = (double)st.st_size / (1 << 20);
		z->img_save_ms = span_us(r.c[0].t_deploy, r.c[0].t_saved) / 1000.0;
		z->saved = 1;
	}
	int n = 1 + opt.forks;
	gen_start(&g);
	snprintf(extra, sizeof(extra), "  resume: 1\n  snapshot_path: \"%s\"\n", z->snapdir);
	for (int i = 1; i <= n; i++) {
		char name[32];
		snprintf(name, sizeof(name), "restored-%d", i);
		snprintf(args, sizeof(args), "time %d 0 0%s", i, pool ? " " STR(POOL_REST) : "");
		gen_cvm(&g, name, args, 0, 0, -1, extra); /* the template's range */
		want[i - 1] = i;
	}
	if (gen_end(&g, "restore", &cfg, &err)) {
		restore_failed("a restoring config", err.msg);
		return;
	}
	int rc = run_monitor_pool(&cfg, &r, want, NULL, pool, why, sizeof(why));
	iv_config_free(&cfg);
	if (rc) {
		restore_failed("restoring", why);
		return;
	}
	for (int i = 1; i <= n; i++) {
		const struct cvm_times *c = &r.c[i - 1];
		const struct tfork_slot *s = &r.slot[i];
		if (s->heap_len != (uint64_t)z->mib << 20) {
			snprintf(why, sizeof(why),
				 "cVM %d sees %llu bytes of heap, not the template's %d MiB", i,
				 (unsigned long long)s->heap_len, z->mib);
			restore_failed("restoring", why);
			return;
		}
		if (c->t_loaded < c->t_deploy || c->t_cell < c->t_loaded ||
		    s->t_after < c->t_cell || s->t_end < s->t_after || !c->t_exit ||
		    c->t_exit < s->t_end || c->t_done < c->t_exit)
			die("restored cVM %d: inconsistent timestamps", i);
		if (i == 1)
			continue; /* warm-up */
		if (pool) {
			series_add(&z->pool.restore, span_us(c->t_deploy, s->t_after));
			continue;
		}
		series_add(&z->restore.first, span_us(c->t_deploy, s->t_after));
		series_add(&z->restore.exit, span_us(c->t_deploy, c->t_done));
		series_add(&z->restore.plan, span_us(c->t_deploy, c->t_loaded));
		series_add(&z->restore.go, span_us(c->t_loaded, c->t_cell));
		series_add(&z->restore.resumed, span_us(c->t_cell, s->t_after));
		series_add(&z->restore.to_exit, span_us(s->t_after, c->t_exit));
		series_add(&z->restore.reaped, span_us(c->t_exit, c->t_done));
	}
}

static void restore_run(struct size_s *z)
{
	restore_run_pool(z, 0);
	restore_run_pool(z, POOL_SIZE);
}

/* ---- (d) raw fork() and (e) posix_spawn ---- */

/* What the raw fork() parent (this program, re-executed) sends back on fd 3. */
struct raw_report {
	uint64_t magic;
	int64_t error;	/* errno of what failed */
	struct mem mem; /* the parent's own, heap touched, before it forks */
	uint64_t n[NW];
	uint64_t first_ns[NW][TFORK_SLOTS], exit_ns[NW][TFORK_SLOTS];
};

#define RAW_PARENT_ARG "--raw-fork-parent"

/*
 * tfork --raw-fork-parent MIB N: a plain process that mallocs and touches
 * MIB MiB (the pattern the cVMs write), then fork()s N times for each
 * percentage of wr_pct, one after another; each child reads
 * CLOCK_MONOTONIC first thing, writes it to a pipe, writes one word in
 * that percentage of the heap's pages (as the cVM does) and exits.  A
 * fresh exec, so that nothing of the benchmark's own memory is in it.
 */
static int raw_parent_main(int argc, char **argv)
{
	static struct raw_report r;
	r.magic = TFORK_MAGIC;
	int mib = argc == 4 ? atoi(argv[2]) : 0, n = argc == 4 ? atoi(argv[3]) : 0;
	if (mib < 1 || mib > TFORK_HEAP_MAX_MIB || n < 1 || n > (int)TFORK_SLOTS)
		return 2;
	size_t len = (size_t)mib << 20;
	uint64_t *heap = malloc(len);
	if (!heap)
		r.error = ENOMEM;
	for (size_t i = 0; heap && i < len / 8; i++)
		heap[i] = (uint64_t)i * TFORK_WORD_MUL;
	if (heap && mem_of(getpid(), &r.mem))
		r.error = errno;
	for (int w = 0; w < NW; w++)
		for (int i = 0; i < n && !r.error; i++) {
			int p[2];
			if (pipe2(p, O_CLOEXEC)) {
				r.error = errno;
				break;
			}
			uint64_t t0 = now_ns();
			pid_t pid = fork();
			if (pid == 0) {
				uint64_t t = now_ns();
				int ok = write(p[1], &t, sizeof(t)) == sizeof(t);
				long pages = (long)(len >> 12);
				for (long k = 0; wr_pct[w] && k < pages * wr_pct[w] / 100; k++)
					((volatile uint64_t *)heap)[(k * 100 / wr_pct[w]) << 9] =
						(uint64_t)k;
				_exit(ok ? 0 : 1);
			}
			if (pid < 0) {
				r.error = errno;
				break;
			}
			close(p[1]);
			uint64_t t_first = 0;
			ssize_t k;
			while ((k = read(p[0], &t_first, sizeof(t_first))) < 0 && errno == EINTR)
				;
			int st = wait_child(pid);
			uint64_t t1 = now_ns();
			close(p[0]);
			if (k != sizeof(t_first) || !WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
			    t_first < t0 || t_first > t1) {
				r.error = EPROTO;
				break;
			}
			r.first_ns[w][r.n[w]] = t_first - t0;
			r.exit_ns[w][r.n[w]] = t1 - t0;
			r.n[w]++;
		}
	const char *p = (const char *)&r;
	for (size_t done = 0; done < sizeof(r);) {
		ssize_t w = write(3, p + done, sizeof(r) - done);
		if (w <= 0)
			return 1;
		done += (size_t)w;
	}
	free(heap);
	return r.error ? 1 : 0;
}

static void raw_fork_round(struct size_s *z)
{
	static struct raw_report r;
	char mib[16], n[16];
	snprintf(mib, sizeof(mib), "%d", z->mib);
	snprintf(n, sizeof(n), "%d", 1 + opt.forks);
	char *argv[] = {"tfork", RAW_PARENT_ARG, mib, n, NULL};
	pid_t pid;
	memset(&r, 0, sizeof(r));
	watchdog_arm();
	int fd = spawn_fd3("/proc/self/exe", argv, &pid, NULL);
	size_t got = 0;
	while (got < sizeof(r)) {
		ssize_t k = read(fd, (char *)&r + got, sizeof(r) - got);
		if (k < 0 && errno == EINTR && !timed_out)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	if (got != sizeof(r))
		kill(pid, SIGKILL);
	int st = wait_child(pid);
	watchdog_disarm();
	close(fd);
	if (got != sizeof(r) || r.magic != TFORK_MAGIC)
		die("raw fork parent: no report (%zu bytes, wait status 0x%x)", got, st);
	if (r.error)
		die("raw fork parent: %s", strerror((int)r.error));
	for (int w = 0; w < NW; w++)
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || r.n[w] != (uint64_t)opt.forks + 1)
			die("raw fork parent ended with wait status 0x%x after %llu forks", st,
			    (unsigned long long)r.n[w]);
	z->raw_parent = r.mem;
	for (int w = 0; w < NW; w++)
		for (uint64_t i = 1; i < r.n[w]; i++) { /* fork 0: warm-up */
			if (w == 0) {
				series_add(&z->raw_first, (double)r.first_ns[w][i] / 1000.0);
				series_add(&z->raw_exit, (double)r.exit_ns[w][i] / 1000.0);
			}
			series_add(&z->raw_wexit[w], (double)r.exit_ns[w][i] / 1000.0);
		}
}

static void spawn_round(void)
{
	for (int i = 0; i <= opt.forks; i++) {
		double f, e;
		spawn_peer(peer, opt.cpu, &f, &e);
		if (i == 0)
			continue; /* warm-up */
		series_add(&sp_first, f);
		series_add(&sp_exit, e);
	}
}

/* ---- (h) the sustained rate: RATE_CVMS plain cVMs deployed at once ---- */

#define RATE_CVMS   60
#define RATE_POOL   4
#define RATE_ROUNDS 3
static struct series rate_pool = {.name = "deploys/s, pool"},
		     rate_none = {.name = "deploys/s, no pool"},
		     rate_spawn = {.name = "posix_spawns/s"};

/* Deploys per second of one run of RATE_CVMS cold cVMs of 1 MiB at once
 * (wait: 0): from the first deploy to the last reap. */
static double rate_run(int pool)
{
	struct gen g;
	struct iv_config cfg;
	struct iv_err err;
	int want[RATE_CVMS];
	gen_start(&g);
	for (int i = 0; i < RATE_CVMS; i++) {
		char name[32], args[64];
		snprintf(name, sizeof(name), "rate-%d", i + 1);
		snprintf(args, sizeof(args), "time %d 1 0", i + 1); /* (fills 1 MiB) */
		gen_cvm(&g, name, args, 0, i, 0, NULL);
		want[i] = i + 1;
	}
	if (gen_end(&g, "rate", &cfg, &err))
		die("%s", err.msg);
	static struct run_res r;
	run_monitor_pool(&cfg, &r, want, NULL, pool, NULL, 0);
	iv_config_free(&cfg);
	return bench_deploy_rate(r.c, RATE_CVMS);
}

/* On every CPU online (the burst is the machine's, not one core's). */
static void rate_section(void)
{
	cpu_set_t old;
	if (bench_all_cpus(&old))
		die("cannot let the sustained rate use every CPU: %s", strerror(errno));
	for (int r = 0; r < RATE_ROUNDS; r++) {
		series_add(&rate_pool, rate_run(RATE_POOL));
		series_add(&rate_none, rate_run(0));
		series_add(&rate_spawn, bench_spawn_rate(peer, RATE_CVMS));
	}
	sched_setaffinity(0, sizeof(old), &old);
}

/* ---- memory: concurrent read-only forks ---- */

struct memctx {
	struct iv_run *run;
	int nforks;
	pthread_t th;
	volatile int stop;
	volatile struct tfork_slot *slots; /* the cap, mapped read-only */
	struct memres *out;
	int mode;
	int ok;
	char why[256];
};

static int load_int(const int *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* How much of a template's in-memory image pid maps: the Rss of its
 * mappings of the memfd (its name begins "iv-image:"), in KiB. */
static long image_rss_kb(pid_t pid)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	FILE *f = fopen(path, "re");
	long kb = 0, v;
	int in = 0;
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long a, b;
		if (sscanf(line, "%lx-%lx ", &a, &b) == 2 && strchr(line, '-') < strchr(line, ' '))
			in = strstr(line, "iv-image:") != NULL;
		else if (in && sscanf(line, "Rss: %ld kB", &v) == 1)
			kb += v;
	}
	if (f)
		fclose(f);
	return kb;
}

/* The bench's second thread: samples the cells' memory while iv_run serves
 * them in the main thread. */
static void *mem_sampler(void *arg)
{
	struct memctx *m = arg;
	struct iv_cvm *t = &m->run->cvms[0];
	/* 1: the template alone, a zygote (mapping its image, when its forks
	 * map it), before its first fork is requested. */
	uint64_t isize = 0, ires = 0;
	while (!m->stop && (!__atomic_load_n(&t->parked, __ATOMIC_ACQUIRE) ||
			    (m->mode == MAP && !iv_tfork_image(t, &isize, &ires))))
		sleep_ns(200 * 1000);
	if (m->stop) {
		snprintf(m->why, sizeof(m->why), "the template never became ready");
		return NULL;
	}
	m->out->img_size = isize;
	m->out->img_resident = ires;
	pid_t tpid = load_int(&t->cell.pid);
	if (mem_of(tpid, &m->out->alone)) {
		snprintf(m->why, sizeof(m->why), "cannot read /proc/%d/smaps_rollup: %s", tpid,
			 strerror(errno));
		return NULL;
	}
	if (load_int(&m->run->cvms[1].cell.pid) != 0 ||
	    __atomic_load_n(&m->run->cvms[1].t[IV_T_DEPLOY], __ATOMIC_ACQUIRE) != 0) {
		snprintf(m->why, sizeof(m->why),
			 "the first fork was requested before the template alone was measured");
		return NULL;
	}
	/* 2: every fork has read the whole heap and sleeps. */
	for (;;) {
		int ready = 0;
		for (int i = 1; i <= m->nforks; i++)
			ready += m->slots[i].magic == TFORK_MAGIC;
		if (ready == m->nforks || m->stop)
			break;
		sleep_ns(200 * 1000);
	}
	if (m->stop) {
		snprintf(m->why, sizeof(m->why), "the forks did not all report their read");
		return NULL;
	}
	for (int i = 1; i <= m->nforks; i++) {
		pid_t pid = load_int(&m->run->cvms[i].cell.pid);
		if (pid <= 0 || mem_of(pid, &m->out->forks[i - 1])) {
			snprintf(m->why, sizeof(m->why), "cannot read fork %d's memory (pid %d)", i,
				 pid);
			return NULL;
		}
		long kb = image_rss_kb(pid);
		if (kb > m->out->img_mapped_kb)
			m->out->img_mapped_kb = kb;
	}
	/* the image may have grown (holes faulted in) */
	if (m->mode == MAP && iv_tfork_image(t, &isize, &ires))
		m->out->img_resident = ires;
	if (mem_of(tpid, &m->out->tpl_with)) {
		snprintf(m->why, sizeof(m->why), "cannot read the template's memory again");
		return NULL;
	}
	uint64_t last = 0;
	for (int i = 1; i <= m->nforks; i++)
		if (m->slots[i].t_end > last)
			last = m->slots[i].t_end;
	m->out->sampled_after_ns = now_ns() - last;
	/* Still every one of them alive (none reaped meanwhile)? */
	for (int i = 1; i <= m->nforks; i++)
		if (__atomic_load_n(&m->run->cvms[i].t[IV_T_DONE], __ATOMIC_ACQUIRE) != 0) {
			snprintf(m->why, sizeof(m->why), "fork %d ended before it was measured", i);
			return NULL;
		}
	m->ok = 1;
	return NULL;
}

static void mem_start(struct iv_run *run, void *ctx)
{
	struct memctx *m = ctx;
	m->run = run;
	struct iv_cap *cap = iv_cap_find(TFORK_CAP);
	void *p =
		cap ? mmap(NULL, TFORK_CAP_SIZE, PROT_READ, MAP_SHARED, cap->fd, 0) : MAP_FAILED;
	if (p == MAP_FAILED)
		die("cannot map cap file '%s'", TFORK_CAP);
	m->slots = p;
	int rc = pthread_create(&m->th, NULL, mem_sampler, m);
	if (rc)
		die("pthread_create: %s", strerror(rc));
}

static void mem_end(struct iv_run *run, void *ctx)
{
	struct memctx *m = ctx;
	(void)run;
	m->stop = 1;
	pthread_join(m->th, NULL);
	munmap((void *)m->slots, TFORK_CAP_SIZE);
}

/* A template of fork mode mode (measured alone while it waits, a zygote,
 * for its first fork request 1 s after its deploy) and opt.memforks
 * read-only forks at once. */
static void memory_run(struct size_s *z, int mode)
{
	static struct memctx m;
	struct gen g;
	struct iv_config cfg;
	struct iv_err err;
	int want[TFORK_SLOTS + 1];
	char args[64], extra[64];
	memset(&m, 0, sizeof(m));
	m.nforks = opt.memforks;
	m.out = &z->memr[mode];
	m.mode = mode;
	memset(m.out, 0, sizeof(*m.out));
	gen_start(&g);
	snprintf(args, sizeof(args), "tpl 0 %d 0", z->mib);
	snprintf(extra, sizeof(extra), "  fork_mode: %s\n", mode_key[mode]);
	gen_cvm(&g, "tpl", args, 1, 0, 1, extra); /* wait: 1: the next cVM 1 s after this one */
	want[0] = 0;
	for (int i = 1; i <= m.nforks; i++) {
		char name[32];
		snprintf(name, sizeof(name), "ro-%d", i);
		snprintf(args, sizeof(args), "ro %d 0 %d", i, opt.sleep_ms);
		gen_cvm(&g, name, args, 0, -1, 0, NULL); /* wait: 0: all at once */
		want[i] = i;
	}
	if (gen_end(&g, "memory", &cfg, &err))
		die("%s", err.msg);
	static struct run_res r;
	struct bench_hooks hooks = {mem_start, mem_end, &m};
	run_monitor(&cfg, &r, want, &hooks);
	iv_config_free(&cfg);
	if (!m.ok)
		die("memory: %s", m.why);
	uint64_t want_sum = expected_sum((uint64_t)z->mib << 20);
	for (int i = 1; i <= m.nforks; i++)
		if (r.slot[i].sum != want_sum || r.slot[i].heap_len != (uint64_t)z->mib << 20)
			die("read-only fork %d read a heap of %llu bytes summing to 0x%llx, not "
			    "the template's",
			    i, (unsigned long long)r.slot[i].heap_len,
			    (unsigned long long)r.slot[i].sum);
	m.out->measured = 1;
}

/*
 * The memory of the template and its forks, in MiB: the template's RSS
 * alone, and with the forks the sum of everyone's PSS.  Forks by mapping
 * share pages of the template's in-memory image, which the monitor holds:
 * its pages in memory count with the template alone, and with the forks
 * those no fork maps (its resident size less what the fork that maps most
 * of it maps: the forks all read the same heap) count on top of the PSS.
 */
static double mem_ratio(const struct memres *m, double *alone, double *with)
{
	long fpss = 0;
	for (int i = 0; i < opt.memforks; i++)
		fpss += m->forks[i].pss_kb;
	double img = (double)m->img_resident / (1 << 20);
	double unmapped = img - mib_of(m->img_mapped_kb);
	*alone = mib_of(m->alone.rss_kb) + img;
	*with = mib_of(fpss + m->tpl_with.pss_kb) + (unmapped > 0 ? unmapped : 0);
	return *with / *alone;
}

static void report_memory(const struct size_s *z, int mode, int headline)
{
	const struct memres *m = &z->memr[mode];
	int n = opt.memforks;
	long fpss = 0, frss = 0, fpte = 0, fdirty = 0;
	for (int i = 0; i < n; i++) {
		fpss += m->forks[i].pss_kb;
		frss += m->forks[i].rss_kb;
		fpte += m->forks[i].pte_kb;
		fdirty += m->forks[i].priv_dirty_kb;
	}
	double alone, total, ratio = mem_ratio(m, &alone, &total);
	printf("\n== memory: %d concurrent read-only forks of the %d MiB template, %s%s ==\n", n,
	       z->mib, mode_title[mode], headline ? "" : " (info)");
	printf("  template alone (a zygote, before any fork): RSS %.2f MiB (anonymous %.2f), PSS "
	       "%.2f MiB, page tables %ld KiB\n",
	       mib_of(m->alone.rss_kb), mib_of(m->alone.anon_kb), mib_of(m->alone.pss_kb),
	       m->alone.pte_kb);
	if (mode == MAP)
		printf("  its in-memory image (the monitor's memfd): %.2f MiB mapped, %.2f MiB "
		       "resident; the most one fork maps: %.2f MiB\n",
		       (double)m->img_size / (1 << 20), (double)m->img_resident / (1 << 20),
		       mib_of(m->img_mapped_kb));
	printf("  with the %d forks alive (each read all %d MiB, then sleeps %d ms; sampled %.1f "
	       "ms after the last read):\n",
	       n, z->mib, opt.sleep_ms, (double)m->sampled_after_ns / 1e6);
	printf("    template PSS %.2f MiB; forks' PSS %.2f MiB in all (%.2f each), RSS %.2f MiB "
	       "each,\n"
	       "    private dirty %.0f KiB each, page tables %.0f KiB each (not in PSS)\n",
	       mib_of(m->tpl_with.pss_kb), mib_of(fpss), mib_of(fpss) / n, mib_of(frss) / n,
	       (double)fdirty / n, (double)fpte / n);
	printf("  %d read-only forks + template%s: %.1f MiB vs template alone%s %.1f MiB: "
	       "ratio %.3f (target <= 1.05%s)\n",
	       n, mode == MAP ? " + image" : "", total, mode == MAP ? " + image" : "", alone, ratio,
	       headline ? (ratio <= 1.05 ? ": met" : ": NOT met")
			: "; info: the target is at 64 MiB");
	printf("    (adding the forks' page tables to the total: %.3f)\n",
	       (total + mib_of(fpte)) / alone);
}

/* ---- set-up ---- */

static void pin(void)
{
	char thp[128] = "?", extra[160];
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "re");
	if (f) {
		if (fgets(thp, sizeof(thp), f))
			thp[strcspn(thp, "\n")] = 0;
		fclose(f);
	}
	snprintf(extra, sizeof(extra), "; THP: %s", thp);
	opt.cpu = bench_pin(opt.cpu, extra);
}

static void find_here(void)
{
	bench_find_here();
	bench_peer_path(peer, sizeof(peer));
	bench_cvm_path(cvm_so, sizeof(cvm_so), "tfork_heap.so");
}

/* ---- report ---- */

static void line(const char *what, const struct series *s)
{
	printf("      %-50s median %9.1f us   %s\n", what, series_median(s), series_spread(s, 1));
}

static void report_fork(const struct size_s *z, int m)
{
	const struct fork_s *f = &z->fork[m];
	printf("  (b%s) %s (the template's init, %.2f ms, and deploy -> zygote%s,\n"
	       "      %.2f ms, are over before the first fork request: excluded by "
	       "construction):\n",
	       m == MAP ? "" : "'", mode_title[m], series_median(&f->tpl_init) / 1000.0,
	       m == MAP ? " with its image mapped" : "", series_median(&f->tpl_ready) / 1000.0);
	line("fork request -> first instruction after host_save", &f->first);
	line("fork request -> exit reaped", &f->exit);
	line("fork request -> exit reaped, writing 1% of the pages", &f->wexit[1]);
	line("fork request -> exit reaped, writing 10% of the pages", &f->wexit[2]);
	printf("      phases (median us): request -> the template ready %.1f; making the fork "
	       "%.1f\n"
	       "        (main thread: its files staged in the template, the clone run in it, the "
	       "fork's\n"
	       "        ids, threads and state set up); made -> first instruction %.1f; first "
	       "instruction\n"
	       "        -> host_exit %.1f; host_exit -> reaped %.1f\n",
	       series_median(&f->told), series_median(&f->made), series_median(&f->resumed),
	       series_median(&f->to_exit), series_median(&f->reaped));
}

static void report_size(const struct size_s *z)
{
	const struct cold_s *c = &z->cold;
	const struct restore_s *rs = &z->restore;
	printf("\n-- %d MiB heap --\n", z->mib);
	printf("  (a) cold start: a plain cVM fills %d MiB, then host_save() returns at once:\n",
	       z->mib);
	line("deploy -> first instruction after host_save", &c->first);
	line("deploy -> exit reaped", &c->exit);
	printf("      phases (median us): deploy -> cell spawned %.1f (image planned, stub "
	       "waiting); -> first\n"
	       "        instruction %.1f (server started, go); probe cap + fill %.1f; host_save (a "
	       "no-op\n"
	       "        hostcall) %.1f; after host_save -> exit reaped %.1f\n",
	       series_median(&c->go), series_median(&c->go_first), series_median(&c->fill),
	       series_median(&c->save), series_median(&c->after_reaped));
	for (int m = 0; m < NMODES; m++)
		report_fork(z, m);
	if (restore_state == 1) {
		printf("  (c) restore from a snapshot image (pages.img %.1f MiB, written once by a "
		       "template run in\n"
		       "      %.1f ms; page cache warm; heap pages mapped lazily and not touched "
		       "by these cVMs):\n",
		       z->img_mib, z->img_save_ms);
		line("restore deploy -> first instruction after host_save", &rs->first);
		line("restore deploy -> exit reaped", &rs->exit);
		printf("      phases (median us): deploy -> image read, checked, planned %.1f; -> "
		       "cell spawned %.1f;\n"
		       "        -> first instruction after host_save %.1f (server, go, stub "
		       "resumes the saver, its\n"
		       "        announce); first instruction -> host_exit %.1f; host_exit -> "
		       "reaped %.1f\n",
		       series_median(&rs->plan), series_median(&rs->go),
		       series_median(&rs->resumed), series_median(&rs->to_exit),
		       series_median(&rs->reaped));
	} else if (restore_state == 0) {
		printf("  (c) restore from image: not implemented yet (%s)\n", restore_why);
	} else {
		printf("  (c) restore from image: failed, not measured (%s)\n", restore_why);
	}
	printf("  (d) raw fork() of a plain process with %d MiB malloc'd and touched (its RSS %.2f "
	       "MiB,\n"
	       "      anonymous %.2f):\n",
	       z->mib, mib_of(z->raw_parent.rss_kb), mib_of(z->raw_parent.anon_kb));
	line("fork() -> child's first instruction", &z->raw_first);
	line("fork() -> waitpid", &z->raw_exit);
	line("fork() -> waitpid, the child writing 1% of the pages", &z->raw_wexit[1]);
	line("fork() -> waitpid, the child writing 10% of the pages", &z->raw_wexit[2]);
	printf("  (e) posix_spawn of a static binary (peer_start; the same at every size):\n");
	line("posix_spawn -> first instruction", &sp_first);
	line("posix_spawn -> exit (waitpid)", &sp_exit);
	if (reset_state == 1) {
		printf("  (f) reset of a used fork (reuse: %d, forks by mapping; the first reset "
		       "dropped):\n",
		       1 + opt.forks);
		line("a run's host_exit -> the next run's first instruction", &z->reset.first[0]);
		line("a run's host_exit -> the next run's host_exit", &z->reset.next_exit[0]);
		line("the same after runs writing 10%: -> first instruction", &z->reset.first[2]);
		line("  -> the next run's host_exit (writing 10% again)", &z->reset.next_exit[2]);
	} else {
		printf("  (f) reset of a used fork: not implemented (%s)\n", reset_why);
	}

	printf("  (g) with a warm pool (--pool %d; each cVM rests %d ms before its exit, in which "
	       "the next\n"
	       "      one's cell is made ahead):\n",
	       POOL_SIZE, POOL_REST);
	line("fresh deploy -> first instruction (cold start as in (a))", &z->pool.fresh);
	line("  without a pool, the same", &z->pool.cold_fresh);
	if (restore_state == 1)
		line("restore deploy -> first instruction after host_save", &z->pool.restore);

	double rf = series_median(&z->raw_first), re = series_median(&z->raw_exit);
	double cf = series_median(&c->first);
	printf("  ratios (of medians), to first instruction [to exit]:\n");
	for (int m = 0; m < NMODES; m++) {
		const struct fork_s *f = &z->fork[m];
		double ff = series_median(&f->first), fe = series_median(&f->exit);
		printf("      %-36s / raw fork(): %7.3fx [%7.3fx]; writing 1%%: %.3fx, 10%%: "
		       "%.3fx\n",
		       mode_title[m], ff / rf, fe / re,
		       series_median(&f->wexit[1]) / series_median(&z->raw_wexit[1]),
		       series_median(&f->wexit[2]) / series_median(&z->raw_wexit[2]));
		printf("      %-36s / posix_spawn: %6.3fx; cold start / it: %.1fx faster\n",
		       mode_title[m], ff / series_median(&sp_first), cf / ff);
	}
	double mf = series_median(&z->fork[MAP].first), kf = series_median(&z->fork[CLONE].first);
	printf("      by mapping / by clone():                      %7.3fx [%7.3fx]; writing 1%%: "
	       "%.3fx, 10%%: %.3fx\n",
	       mf / kf, series_median(&z->fork[MAP].exit) / series_median(&z->fork[CLONE].exit),
	       series_median(&z->fork[MAP].wexit[1]) / series_median(&z->fork[CLONE].wexit[1]),
	       series_median(&z->fork[MAP].wexit[2]) / series_median(&z->fork[CLONE].wexit[2]));
	if (restore_state == 1)
		printf("      restore / fork by mapping:                    %7.3fx [%7.3fx]; with a "
		       "warm pool %.3fx\n",
		       series_median(&rs->first) / mf,
		       series_median(&rs->exit) / series_median(&z->fork[MAP].exit),
		       series_median(&z->pool.restore) / mf);
	printf("      fresh deploy with a warm pool / posix_spawn:  %7.3fx\n",
	       series_median(&z->pool.fresh) / series_median(&sp_first));
	if (reset_state == 1)
		printf("      reset / fork by mapping:                      %7.3fx [%7.3fx]\n",
		       series_median(&z->reset.first[0]) / mf,
		       series_median(&z->reset.next_exit[0]) / series_median(&z->fork[MAP].exit));
}

/* The targets, each met or not, from the medians. */
static void report_targets(void)
{
	const struct size_s *one = &S[0], *mid = &S[HEADLINE], *big = &S[NSIZES - 1];
	double m1 = series_median(&one->fork[MAP].first),
	       m64 = series_median(&mid->fork[MAP].first),
	       m1g = series_median(&big->fork[MAP].first);
	double r;
	printf("\n== issue 10 targets (medians, to first instruction unless said) ==\n");
	r = m64 / series_median(&mid->raw_first);
	printf("  fork by mapping / raw fork(), %4d MiB:  %7.3fx  (target <= 0.10x: %s)\n",
	       mid->mib, r, verdict(r <= 0.10));
	r = m1 / series_median(&one->raw_first);
	printf("  fork by mapping / raw fork(), %4d MiB:  %7.3fx  (target <= 1.00x: %s)\n",
	       one->mib, r, verdict(r <= 1.0));
	r = m1g / m1;
	printf("  fork by mapping, %d MiB / %d MiB:     %7.3fx  (target <= 1.50x: %s)\n", big->mib,
	       one->mib, r, verdict(r <= 1.5));
	for (int i = 0; i < NSIZES; i++) {
		double f = series_median(&S[i].fork[MAP].first);
		if (restore_state == 1) {
			r = series_median(&S[i].restore.first) / f;
			printf("  restore / fork by mapping, %4d MiB:    %7.3fx  (target <= 1.20x: "
			       "%s)\n",
			       S[i].mib, r, verdict(r <= 1.2));
		}
		if (reset_state == 1) {
			r = series_median(&S[i].reset.first[0]) / f;
			printf("  reset / fork by mapping, %4d MiB:      %7.3fx  (target <= 0.25x: "
			       "%s)\n",
			       S[i].mib, r, verdict(r <= 0.25));
		}
	}
	if (restore_state != 1)
		printf("  restore / fork: not measured (%s)\n", restore_why);
	if (reset_state != 1)
		printf("  reset / fork: NOT met: not measured (%s)\n", reset_why);
	for (int i = 0; i < NSIZES; i++) {
		if (restore_state == 1) {
			r = series_median(&S[i].pool.restore) /
			    series_median(&S[i].fork[MAP].first);
			printf("  restore with a warm pool / fork by mapping, %4d MiB: %7.3fx  (target "
			       "<= 1.20x: %s)\n",
			       S[i].mib, r, verdict(r <= 1.2));
		}
		r = series_median(&S[i].pool.fresh) / series_median(&sp_first);
		printf("  fresh deploy with a warm pool / posix_spawn, %4d MiB: %7.3fx  (target <= "
		       "1.00x: %s)\n",
		       S[i].mib, r, verdict(r <= 1.0));
	}
	double rp = series_median(&rate_pool), rn = series_median(&rate_none),
	       rs = series_median(&rate_spawn);
	printf("  sustained deploys per second / posix_spawn per second (%d at once, every CPU, "
	       "--pool %d):\n"
	       "    %.0f / %.0f = %.3fx  (target >= 0.70x: %s); without a pool %.0f/s, %.3fx\n",
	       RATE_CVMS, RATE_POOL, rp, rs, rp / rs, verdict(rp >= 0.7 * rs), rn, rn / rs);
	for (int m = 0; m < NMODES; m++) {
		double alone, with;
		if (!mid->memr[m].measured)
			continue;
		r = mem_ratio(&mid->memr[m], &alone, &with);
		printf("  %d read-only forks' memory / the template's, %d MiB, %s:  %.3fx  (target "
		       "<= 1.05x: %s)\n",
		       opt.memforks, mid->mib, mode_key[m], r, verdict(r <= 1.05));
	}
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], RAW_PARENT_ARG))
		return raw_parent_main(argc, argv);
	int c;
	while ((c = bench_getopt(argc, argv, "c:r:k:n:N:m:s:", &opt.verbose)) != -1) {
		switch (c) {
		case 'c':
			opt.cpu = parse_int(optarg, 0, CPU_SETSIZE - 1, "-c CPU");
			break;
		case 'r':
			opt.rounds = parse_int(optarg, 1, 50, "-r ROUNDS");
			break;
		case 'k':
			opt.forks = parse_int(optarg, 1, 11, "-k FORKS");
			break;
		case 'n':
			opt.cold = parse_int(optarg, 1, MAX_FORKS - 1, "-n COLD");
			break;
		case 'N':
			opt.cold_big = parse_int(optarg, 1, MAX_FORKS - 1, "-N COLD_1G");
			break;
		case 'm':
			opt.memforks = parse_int(optarg, 1, MAX_FORKS, "-m MEMFORKS");
			break;
		case 's':
			opt.sleep_ms = parse_int(optarg, 100, 10000, "-s SLEEP_MS");
			break;
		}
	}
	if (opt.rounds * opt.forks > MAX_SAMPLES || opt.rounds * opt.cold > MAX_SAMPLES) {
		fprintf(stderr, "tfork: -r x -k and -r x -n must be at most %d\n", MAX_SAMPLES);
		return 2;
	}
	_Static_assert(SLOTS_NEEDED(11) <= (int)TFORK_SLOTS, "-k 11 fits the cap's slots");
	bench_init(opt.verbose, 0);

	pin(); /* before any thread or child exists */
	find_here();
	for (int i = 0; i < NSIZES; i++)
		S[i].mib = sizes_mib[i];
	restore_detect();
	reset_detect();
	uint64_t t0 = now_ns();
	printf("\n== TFORK start-up: %d rounds; each round, at each size: %d cold cVMs (%d at 1 "
	       "GiB), for\n"
	       "   each fork mode a template and %d forks of each kind%s, %d restores from an "
	       "image,\n"
	       "   %d raw fork()s of each kind; and %d posix_spawns; +1 warm-up each, dropped; "
	       "medians\n"
	       "   over the rest ==\n",
	       opt.rounds, opt.cold, opt.cold_big, opt.forks,
	       reset_state == 1 ? " and two reused forks" : "", opt.forks, opt.forks, opt.forks);
	for (int r = 0; r < opt.rounds; r++) {
		spawn_round();
		for (int i = 0; i < NSIZES; i++) {
			/* alternate the order, so that no variant always follows another */
			if (r & 1) {
				raw_fork_round(&S[i]);
				restore_run(&S[i]);
				fork_run(&S[i], CLONE);
				fork_run(&S[i], MAP);
				cold_run(&S[i]);
			} else {
				cold_run(&S[i]);
				fork_run(&S[i], MAP);
				fork_run(&S[i], CLONE);
				restore_run(&S[i]);
				raw_fork_round(&S[i]);
			}
		}
	}
	rate_section();
	for (int m = 0; m < NMODES; m++)
		for (int i = 0; i <= HEADLINE; i++)
			memory_run(&S[i], m);
	for (int i = 0; i < NSIZES; i++)
		report_size(&S[i]);
	for (int m = 0; m < NMODES; m++)
		report_memory(&S[HEADLINE], m, 1);
	for (int m = 0; m < NMODES; m++)
		report_memory(&S[0], m, 0);
	report_targets();
	printf("\n(total %.1f s)\n", (double)(now_ns() - t0) / 1e9);
	return 0;
}
