/*
 * bench/tfork - what a TFORK fork costs, against starting the same cVM
 * from scratch and against the kernel's own fork(), measured in one run
 * for templates of 1 MiB and 64 MiB of initialised heap:
 *
 *   (a) cold start: a plain cVM (bench/cvm/tfork_heap.c, no template) that
 *       fills the heap and then does what a fork does; host_save() returns
 *       at once in a plain cVM.  Deploy -> first instruction after
 *       host_save, and deploy -> exit reaped.  cVMs deployed one after
 *       another by one running monitor, as the forks are.
 *   (b) fork from a template: the same binary as a template (it fills the
 *       heap once, then host_save) and K forks deployed one after another
 *       (wait: -1).  Fork request (iv_cvm.t[IV_T_DEPLOY], set when
 *       the TFORK feature's deploy hook first sees the fork) -> the fork's first
 *       instruction after host_save (its CLOCK_MONOTONIC, left in the cap
 *       file), and -> its exit reaped (t_done_ns).  The template's own
 *       initialisation is over before the first request: excluded by
 *       construction (it is printed for information).
 *   (c) restore from a snapshot image, if the monitor can (its config takes
 *       snapshot_path on a resume cVM; it used to reject the key): the image
 *       written once per size by a template run, then cVMs restored from it
 *       one after another in a later run, timed like the forks from their
 *       deploy.  Otherwise "restore from image: not implemented yet".
 *   (d) the limit: fork() of a plain process with the same heap malloc'd
 *       and touched; fork() -> child's first instruction (a timestamp sent
 *       through a pipe) and fork() -> waitpid.
 *   (e) posix_spawn of a static freestanding binary (bench/peer_start):
 *       -> first instruction, -> exit (waitpid).
 *   And memory: 10 concurrent forks of the 64 MiB template that read the
 *   whole heap and then sleep; the sum of their PSS and the template's
 *   (/proc/PID/smaps_rollup) against the template's own before forking.
 *
 * The monitor runs in this process (build/libintravisor.a), one
 * iv_run_init / iv_run / iv_run_free per generated config.  The process is
 * pinned to one CPU before anything starts, so that cVM threads, the
 * monitor's server and main threads and every peer share that core.  The
 * variants run interleaved, round by round; the first sample of each kind
 * in every round is a warm-up and dropped; medians over the rest.
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

#define MAX_SAMPLES 1024 /* per series, the most the options may ask for */
#define TIMEOUT_S   30	 /* per monitor run / peer */
#define NSIZES	    2
#define MAX_FORKS   ((int)TFORK_SLOTS - 1)

static const int sizes_mib[NSIZES] = {1, 64};

static const char usage[] =
	"usage: tfork [-c CPU] [-r ROUNDS] [-k FORKS] [-n COLD] [-m MEMFORKS] [-s SLEEP_MS] [-v]\n"
	"  -c CPU       pin everything to CPU (default: the highest CPU this process may use)\n"
	"  -r ROUNDS    rounds; each runs every variant at both sizes (default 7)\n"
	"  -k FORKS     timed forks per template run, restores, raw fork()s and posix_spawns\n"
	"               per round (default 12; one more each is a dropped warm-up)\n"
	"  -n COLD      timed cold-start cVMs per round and size (default 6; +1 warm-up)\n"
	"  -m MEMFORKS  concurrent read-only forks for the memory measurement (default 10)\n"
	"  -s SLEEP_MS  how long those forks stay alive after reading the heap (default 1000)\n"
	"  -v           show the monitor's own output as it runs; -vv also turns on its\n"
	"               verbose log (which costs time: for debugging, not for numbers)\n";

static struct {
	int cpu, rounds, forks, cold, memforks, sleep_ms, verbose;
} opt = {-1, 7, 12, 6, 10, 1000, 0};

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
static int run_monitor_soft(struct iv_config *cfg, struct run_res *res, const int *want_slot,
			    const struct bench_hooks *hooks, char *why, size_t whylen)
{
	struct bench_run r = {
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
};
struct restore_s {
	struct series first, exit, plan, go, resumed, to_exit, reaped;
};
struct memres {
	struct mem alone, tpl_with, forks[MAX_FORKS];
	uint64_t sampled_after_ns; /* the last fork's read -> sampled */
};
struct size_s {
	int mib;
	struct cold_s cold;
	struct fork_s fork;
	struct restore_s restore;
	struct series raw_first, raw_exit;
	struct series tpl_init, tpl_ready; /* info: what (b) leaves out */
	double img_save_ms, img_mib;	   /* (c): the run that wrote the image */
	struct mem raw_parent;		   /* (d): the fork()ing process, as it forks */
	struct memres memr;
	char snapdir[PATH_MAX];
	int saved;
};

static struct size_s S[NSIZES];
static struct series sp_first, sp_exit;

/* (c): 1 restore measured, 0 the monitor does not restore images, -1 failed */
static int restore_state;
static char restore_why[1024];
static char snaproot[64];

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

/* (a): 1 + opt.cold plain cVMs, one after another. */
static void cold_run(struct size_s *z)
{
	int n = 1 + opt.cold;
	struct gen g;
	struct iv_config cfg;
	struct iv_err err;
	int want[TFORK_SLOTS + 1];
	gen_begin(&g, TFORK_CAP, TFORK_CAP_SIZE, cvm_so);
	for (int i = 0; i < n; i++) {
		char name[32], args[64];
		snprintf(name, sizeof(name), "cold-%d", i + 1);
		snprintf(args, sizeof(args), "time %d %d 0", i + 1, z->mib);
		gen_cvm(&g, name, args, 0, i, -1, NULL);
		want[i] = i + 1;
	}
	if (gen_end(&g, "cold", &cfg, &err))
		die("%s", err.msg);
	static struct run_res r;
	run_monitor(&cfg, &r, want, NULL);
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
		series_add(&z->cold.first, span_us(c->t_deploy, s->t_after));
		series_add(&z->cold.exit, span_us(c->t_deploy, c->t_done));
		series_add(&z->cold.go, span_us(c->t_deploy, c->t_cell));
		series_add(&z->cold.go_first, span_us(c->t_cell, s->t_first));
		series_add(&z->cold.fill, span_us(s->t_first, s->t_filled));
		series_add(&z->cold.save, span_us(s->t_filled, s->t_after));
		series_add(&z->cold.after_reaped, span_us(s->t_after, c->t_done));
	}
}

/* (b): a template and 1 + opt.forks forks, one after another. */
static void fork_run(struct size_s *z)
{
	int n = 1 + opt.forks;
	struct gen g;
	struct iv_config cfg;
	struct iv_err err;
	int want[TFORK_SLOTS + 1];
	char args[64];
	gen_begin(&g, TFORK_CAP, TFORK_CAP_SIZE, cvm_so);
	snprintf(args, sizeof(args), "tpl 0 %d 0", z->mib);
	gen_cvm(&g, "tpl", args, 1, 0, -1, NULL);
	want[0] = 0;
	for (int i = 1; i <= n; i++) {
		char name[32];
		snprintf(name, sizeof(name), "fork-%d", i);
		snprintf(args, sizeof(args), "time %d 0 0", i);
		gen_cvm(&g, name, args, 0, -1, -1, NULL);
		want[i] = i;
	}
	if (gen_end(&g, "fork", &cfg, &err))
		die("%s", err.msg);
	static struct run_res r;
	run_monitor(&cfg, &r, want, NULL);
	iv_config_free(&cfg);
	const struct cvm_times *t = &r.c[0];
	series_add(&z->tpl_init, span_us(r.slot[0].t_first, r.slot[0].t_filled));
	series_add(&z->tpl_ready, span_us(t->t_deploy, t->t_saved));
	for (int i = 1; i <= n; i++) {
		const struct cvm_times *c = &r.c[i];
		const struct tfork_slot *s = &r.slot[i];
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
		series_add(&z->fork.first, span_us(c->t_deploy, s->t_after));
		series_add(&z->fork.exit, span_us(c->t_deploy, c->t_done));
		series_add(&z->fork.told, span_us(c->t_deploy, c->t_loaded));
		series_add(&z->fork.made, span_us(c->t_loaded, c->t_running));
		series_add(&z->fork.resumed, span_us(c->t_running, s->t_after));
		series_add(&z->fork.to_exit, span_us(s->t_after, c->t_exit));
		series_add(&z->fork.reaped, span_us(c->t_exit, c->t_done));
	}
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
	gen_begin(&g, TFORK_CAP, TFORK_CAP_SIZE, cvm_so);
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
static void restore_run(struct size_s *z)
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
		gen_begin(&g, TFORK_CAP, TFORK_CAP_SIZE, cvm_so);
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
	gen_begin(&g, TFORK_CAP, TFORK_CAP_SIZE, cvm_so);
	snprintf(extra, sizeof(extra), "  resume: 1\n  snapshot_path: \"%s\"\n", z->snapdir);
	for (int i = 1; i <= n; i++) {
		char name[32];
		snprintf(name, sizeof(name), "restored-%d", i);
		snprintf(args, sizeof(args), "time %d 0 0", i);
		gen_cvm(&g, name, args, 0, 0, -1, extra); /* the template's range */
		want[i - 1] = i;
	}
	if (gen_end(&g, "restore", &cfg, &err)) {
		restore_failed("a restoring config", err.msg);
		return;
	}
	int rc = run_monitor_soft(&cfg, &r, want, NULL, why, sizeof(why));
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
		series_add(&z->restore.first, span_us(c->t_deploy, s->t_after));
		series_add(&z->restore.exit, span_us(c->t_deploy, c->t_done));
		series_add(&z->restore.plan, span_us(c->t_deploy, c->t_loaded));
		series_add(&z->restore.go, span_us(c->t_loaded, c->t_cell));
		series_add(&z->restore.resumed, span_us(c->t_cell, s->t_after));
		series_add(&z->restore.to_exit, span_us(s->t_after, c->t_exit));
		series_add(&z->restore.reaped, span_us(c->t_exit, c->t_done));
	}
}

/* ---- (d) raw fork() and (e) posix_spawn ---- */

/* What the raw fork() parent (this program, re-executed) sends back on fd 3. */
struct raw_report {
	uint64_t magic;
	int64_t error;	/* errno of what failed */
	struct mem mem; /* the parent's own, heap touched, before it forks */
	uint64_t n;
	uint64_t first_ns[TFORK_SLOTS], exit_ns[TFORK_SLOTS];
};

#define RAW_PARENT_ARG "--raw-fork-parent"

/*
 * tfork --raw-fork-parent MIB N: a plain process that mallocs and touches
 * MIB MiB (the pattern the cVMs write), then fork()s N times, one after
 * another; each child reads CLOCK_MONOTONIC first thing, writes it to a
 * pipe and exits.  A fresh exec, so that nothing of the benchmark's own
 * memory is in it.
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
	if (!heap) {
		r.error = ENOMEM;
		n = 0;
	}
	for (size_t i = 0; heap && i < len / 8; i++)
		heap[i] = (uint64_t)i * TFORK_WORD_MUL;
	if (heap && mem_of(getpid(), &r.mem))
		r.error = errno;
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
			_exit(write(p[1], &t, sizeof(t)) == sizeof(t) ? 0 : 1);
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
		r.first_ns[r.n] = t_first - t0;
		r.exit_ns[r.n] = t1 - t0;
		r.n++;
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
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || r.n != (uint64_t)opt.forks + 1)
		die("raw fork parent ended with wait status 0x%x after %llu forks", st,
		    (unsigned long long)r.n);
	z->raw_parent = r.mem;
	for (uint64_t i = 1; i < r.n; i++) { /* fork 0: warm-up */
		series_add(&z->raw_first, (double)r.first_ns[i] / 1000.0);
		series_add(&z->raw_exit, (double)r.exit_ns[i] / 1000.0);
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

/* ---- memory: concurrent read-only forks ---- */

struct memctx {
	struct iv_run *run;
	int nforks;
	pthread_t th;
	volatile int stop;
	volatile struct tfork_slot *slots; /* the cap, mapped read-only */
	struct memres *out;
	int ok;
	char why[256];
};

static int load_int(const int *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* The bench's second thread: samples the cells' memory while iv_run serves
 * them in the main thread. */
static void *mem_sampler(void *arg)
{
	struct memctx *m = arg;
	struct iv_cvm *t = &m->run->cvms[0];
	/* 1: the template alone, a zygote, before its first fork is requested. */
	while (!m->stop && !__atomic_load_n(&t->parked, __ATOMIC_ACQUIRE))
		sleep_ns(200 * 1000);
	if (m->stop) {
		snprintf(m->why, sizeof(m->why), "the template never became ready");
		return NULL;
	}
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
	}
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

/* A template (measured alone while it waits, a zygote, for its first fork
 * request 1 s after its deploy) and opt.memforks read-only forks at once. */
static void memory_run(struct size_s *z)
{
	static struct memctx m;
	struct gen g;
	struct iv_config cfg;
	struct iv_err err;
	int want[TFORK_SLOTS + 1];
	char args[64];
	memset(&m, 0, sizeof(m));
	m.nforks = opt.memforks;
	m.out = &z->memr;
	gen_begin(&g, TFORK_CAP, TFORK_CAP_SIZE, cvm_so);
	snprintf(args, sizeof(args), "tpl 0 %d 0", z->mib);
	gen_cvm(&g, "tpl", args, 1, 0, 1, NULL); /* wait: 1: the next cVM 1 s after this one */
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
}

static void report_memory(const struct size_s *z, int headline)
{
	const struct memres *m = &z->memr;
	int n = opt.memforks;
	long fpss = 0, frss = 0, fpte = 0, fdirty = 0;
	for (int i = 0; i < n; i++) {
		fpss += m->forks[i].pss_kb;
		frss += m->forks[i].rss_kb;
		fpte += m->forks[i].pte_kb;
		fdirty += m->forks[i].priv_dirty_kb;
	}
	double total = mib_of(fpss + m->tpl_with.pss_kb);
	double alone_rss = mib_of(m->alone.rss_kb), alone_pss = mib_of(m->alone.pss_kb);
	double ratio = total / alone_rss;
	printf("\n== memory: %d concurrent read-only forks of the %d MiB template%s ==\n", n,
	       z->mib, headline ? "" : " (info)");
	printf("  template alone (a zygote, before any fork): RSS %.2f MiB (anonymous %.2f), PSS "
	       "%.2f MiB, page tables %ld KiB\n",
	       alone_rss, mib_of(m->alone.anon_kb), alone_pss, m->alone.pte_kb);
	printf("  with the %d forks alive (each read all %d MiB, then sleeps %d ms; sampled %.1f "
	       "ms after the last read):\n",
	       n, z->mib, opt.sleep_ms, (double)m->sampled_after_ns / 1e6);
	printf("    template PSS %.2f MiB; forks' PSS %.2f MiB in all (%.2f each), RSS %.2f MiB "
	       "each,\n"
	       "    private dirty %.0f KiB each, page tables %.0f KiB each (not in PSS)\n",
	       mib_of(m->tpl_with.pss_kb), mib_of(fpss), mib_of(fpss) / n, mib_of(frss) / n,
	       (double)fdirty / n, (double)fpte / n);
	printf("  %d read-only forks + template: PSS total %.1f MiB vs template alone %.1f MiB: "
	       "ratio %.3f (target <= 1.2%s)\n",
	       n, total, alone_rss, ratio,
	       headline ? (ratio <= 1.2 ? ": met" : ": NOT met")
			: "; info: the target is at 64 MiB");
	printf("    (template alone is its RSS; against its PSS alone, %.2f MiB: ratio %.3f; "
	       "adding the\n"
	       "    forks' page tables to the total: %.3f)\n",
	       alone_pss, total / alone_pss, (total + mib_of(fpte)) / alone_rss);
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

static void report_size(const struct size_s *z)
{
	const struct cold_s *c = &z->cold;
	const struct fork_s *f = &z->fork;
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
	printf("  (b) fork from the template (its init, %.2f ms, and deploy -> zygote, %.2f ms, "
	       "are over\n"
	       "      before the first fork request: excluded by construction):\n",
	       series_median(&z->tpl_init) / 1000.0, series_median(&z->tpl_ready) / 1000.0);
	line("fork request -> first instruction after host_save", &f->first);
	line("fork request -> exit reaped", &f->exit);
	printf("      phases (median us): request -> the template ready %.1f; making the fork "
	       "%.1f\n"
	       "        (main thread: its files staged in the template, the clone run in it, the "
	       "fork's\n"
	       "        ids, threads and state set up); made -> first instruction %.1f; first "
	       "instruction\n"
	       "        -> host_exit %.1f; host_exit -> reaped %.1f\n",
	       series_median(&f->told), series_median(&f->made), series_median(&f->resumed),
	       series_median(&f->to_exit), series_median(&f->reaped));
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
	       "      anonymous %.2f; the template's: RSS %.2f MiB, anonymous %.2f):\n",
	       z->mib, mib_of(z->raw_parent.rss_kb), mib_of(z->raw_parent.anon_kb),
	       mib_of(z->memr.alone.rss_kb), mib_of(z->memr.alone.anon_kb));
	line("fork() -> child's first instruction", &z->raw_first);
	line("fork() -> waitpid", &z->raw_exit);
	printf("  (e) posix_spawn of a static binary (peer_start; the same at both sizes):\n");
	line("posix_spawn -> first instruction", &sp_first);
	line("posix_spawn -> exit (waitpid)", &sp_exit);

	double ff = series_median(&f->first), fe = series_median(&f->exit);
	double rf = series_median(&z->raw_first), re = series_median(&z->raw_exit);
	double cf = series_median(&c->first), ce = series_median(&c->exit);
	int big = z->mib == sizes_mib[NSIZES - 1];
	printf("  ratios (of medians):\n");
	printf("      fork / raw fork(), to first instruction:   %6.3fx        (target <= 1.5x: "
	       "%s)\n",
	       ff / rf, verdict(ff / rf <= 1.5));
	printf("      fork / raw fork(), to exit:                %6.3fx        (target <= 1.5x: "
	       "%s)\n",
	       fe / re, verdict(fe / re <= 1.5));
	if (big) {
		printf("      cold start / fork, to first instruction:   %6.1fx faster (target >= "
		       "20x at 64 MiB: %s)\n",
		       cf / ff, verdict(cf / ff >= 20));
		printf("      cold start / fork, to exit:                %6.1fx faster (target >= "
		       "20x at 64 MiB: %s)\n",
		       ce / fe, verdict(ce / fe >= 20));
	} else {
		printf("      cold start / fork, to first instruction:   %6.1fx faster (info: the "
		       "target is at 64 MiB)\n",
		       cf / ff);
		printf("      cold start / fork, to exit:                %6.1fx faster (info)\n",
		       ce / fe);
	}
	if (restore_state == 1) {
		double xf = series_median(&rs->first), xe = series_median(&rs->exit);
		printf("      restore / fork, to first instruction:      %6.2fx        (info)\n",
		       xf / ff);
		printf("      cold start / restore, to first instruction: %5.1fx faster (info); to "
		       "exit %.1fx\n",
		       cf / xf, ce / xe);
	}
	printf("      fork / posix_spawn, to first instruction:  %6.2fx        (info)\n",
	       ff / series_median(&sp_first));
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], RAW_PARENT_ARG))
		return raw_parent_main(argc, argv);
	int c;
	while ((c = bench_getopt(argc, argv, "c:r:k:n:m:s:", &opt.verbose)) != -1) {
		switch (c) {
		case 'c':
			opt.cpu = parse_int(optarg, 0, CPU_SETSIZE - 1, "-c CPU");
			break;
		case 'r':
			opt.rounds = parse_int(optarg, 1, 50, "-r ROUNDS");
			break;
		case 'k':
			opt.forks = parse_int(optarg, 1, MAX_FORKS - 1, "-k FORKS");
			break;
		case 'n':
			opt.cold = parse_int(optarg, 1, MAX_FORKS - 1, "-n COLD");
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
	bench_init(opt.verbose, 0);

	pin(); /* before any thread or child exists */
	find_here();
	for (int i = 0; i < NSIZES; i++)
		S[i].mib = sizes_mib[i];
	restore_detect();
	uint64_t t0 = now_ns();
	printf("\n== TFORK start-up: %d rounds; each round, at each size: %d cold cVMs, a template "
	       "and %d\n"
	       "   forks, %d restores from an image, %d raw fork()s; and %d posix_spawns; +1 "
	       "warm-up\n"
	       "   each, dropped; medians over the rest ==\n",
	       opt.rounds, opt.cold, opt.forks, opt.forks, opt.forks, opt.forks);
	for (int r = 0; r < opt.rounds; r++) {
		spawn_round();
		for (int i = 0; i < NSIZES; i++) {
			/* alternate the order, so that no variant always follows another */
			if (r & 1) {
				raw_fork_round(&S[i]);
				restore_run(&S[i]);
				fork_run(&S[i]);
				cold_run(&S[i]);
			} else {
				cold_run(&S[i]);
				fork_run(&S[i]);
				restore_run(&S[i]);
				raw_fork_round(&S[i]);
			}
		}
	}
	for (int i = 0; i < NSIZES; i++)
		memory_run(&S[i]);
	for (int i = 0; i < NSIZES; i++)
		report_size(&S[i]);
	report_memory(&S[NSIZES - 1], 1);
	report_memory(&S[0], 0);
	printf("\n(total %.1f s)\n", (double)(now_ns() - t0) / 1e9);
	return 0;
}
