/*
 * bench/workloads - TFORK of a real program: the duktape-js workload
 * (runtime/posix/duktape, a static musl program) doing one unit of work,
 * evaluating base64.js, which prints "SGVsbG8gVGhlcmU=", measured in one
 * run four ways:
 *
 *   (a) native cold start: the same static binary run as a plain process,
 *       outside any cVM (posix_spawn, argv[1] the script; its hostcalls
 *       return -ENOSYS, so it evaluates the script right after creating
 *       its heap).  posix_spawn -> the result line read from its stdout
 *       pipe, and -> waitpid.
 *   (b) cold cVM: a plain cVM (not a template) of the same binary, args the
 *       script: it creates the heap, host_save() returns at once, it
 *       evaluates the script.  Deploy (iv_cvm.t[IV_T_DEPLOY]) -> the result
 *       line, and -> its exit reaped (IV_T_DONE).  One monitor run per cold
 *       cVM (they all need the binary's range, which cVMs of one run may
 *       not share); the run's own set-up is before the deploy, not in it.
 *   (c) fork: a template (heap created, print registered, host_save) and
 *       forks of it deployed one after another, args the script.  Fork
 *       request (IV_T_DEPLOY, set when TFORK first sees the fork) -> the
 *       result line, and -> exit reaped.  The template's own start is over
 *       before the first request (printed for information).
 *   (d) restore: the template with snapshot_path writes an image once;
 *       then cVMs restored from it (resume: 1, snapshot_path) one after
 *       another in a later run, timed like the forks from their deploy.
 *       If that fails, the output says so and why; the rest still runs.
 *   (e) memory: MEMFORKS forks of one template alive at once, each blocked
 *       after its start in opening its script, a FIFO on its disk, against
 *       one native process blocked the same way right after its init (it
 *       printed its init line).  PSS and RSS from /proc/PID/smaps_rollup;
 *       then the FIFOs are fed the script and every one of them must print
 *       the result (so the processes measured are working ones).
 *
 * "The result" is the moment this program reads the result line: for (a)
 * from the process's stdout pipe; for (b)-(d) from the monitor's stdout,
 * where the monitor relays each cVM's console line by line, labelled
 * "[name] " (this program's fd 1 is a pipe during a monitor run, read by a
 * thread of its own that timestamps each read).  So a cVM's number also
 * includes the monitor relaying the line (one more pipe hop than (a));
 * every number includes this program's read of a pipe.  On one CPU a
 * reader woken by a write need not run at once: the writer may go on until
 * it blocks or exits, so a result time can be late by up to the rest of
 * the writer's run (compare "-> result" with "-> exit").  The "(phase)"
 * lines are earlier lines of the same output, timed the same way: the
 * init line (heap created; native and cold cVM) and the fork's or
 * restored cVM's "get arg" line (its first output after host_save).
 *
 * The monitor runs in this process (build/libintravisor.a), one
 * iv_run_init / iv_run / iv_run_free per generated config.  The process is
 * pinned to one CPU before anything starts: the cells, the monitor's
 * threads, the reader thread and the native processes share that core.
 * The variants run interleaved, round by round; the first sample of each
 * kind in every round is a warm-up and dropped; medians over the rest.
 *
 * `make bench-workloads` puts next to this binary the cell stub (iv-cell),
 * cvm/duktape (the workload, build/runtime/duktape/duktape) and
 * cvm/base64.js.  The disk (the script and the FIFOs) and the image are
 * made in a fresh directory under /tmp, removed at exit.  Exit status: 0
 * when every measurement ran (whether or not a target is met), 1 on any
 * error, 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "iv.h"

#define TIMEOUT_S    30 /* per monitor run / native process */
#define MAX_PER_RUN  32 /* cVMs of one kind per round */
#define MAX_MEMFORKS 20
#define RESULT	     "SGVsbG8gVGhlcmU="
#define SCRIPT	     "base64.js"
#define CAP	     "bench-workloads"
#define MAX_LINES    512
#define INIT_LINE    "template: heap created, print registered, saving"
#define ARG_LINE     "get arg: \"" SCRIPT "\""

static const char usage[] =
	"usage: workloads [-c CPU] [-r ROUNDS] [-k N] [-m MEMFORKS] [-v]\n"
	"  -c CPU       pin everything to CPU (default: the highest CPU this process may use)\n"
	"  -r ROUNDS    rounds; each runs every variant (default 7)\n"
	"  -k N         timed native runs, cold cVMs, forks and restores per round\n"
	"               (default 15; one more each is a dropped warm-up)\n"
	"  -m MEMFORKS  concurrent forks for the memory measurement (default 10)\n"
	"  -v           show the monitor's own output as it runs; -vv also turns on its\n"
	"               verbose log (which costs time: for debugging, not for numbers)\n";

static struct {
	int cpu, rounds, k, memforks, verbose;
} opt = {-1, 7, 15, 10, 0};

const struct bench_prog bench_prog = {
	.name = "workloads",
	.usage = usage,
	.make_target = "bench-workloads",
	.timeout_s = TIMEOUT_S,
};

static char duk[PATH_MAX];		  /* the workload binary */
static char script_src[PATH_MAX];	  /* base64.js next to it */
static char root[64];			  /* /tmp/bench-workloads-XXXXXX */
static char disk[128], snap[128];	  /* root/disk, root/snap */
static char native_script[PATH_MAX + 16]; /* disk/base64.js */

/* ---- lines read from a pipe, timestamped ---- */

struct line {
	uint64_t t; /* when the read that completed it returned */
	char s[160];
};

struct lines {
	struct line l[MAX_LINES];
	int n;
	char part[160]; /* the unfinished line */
	size_t plen;
	pthread_mutex_t mu;
};

/* Adds what one read returned at time t; lines longer than a slot are cut. */
static void lines_feed(struct lines *L, const char *buf, size_t n, uint64_t t)
{
	pthread_mutex_lock(&L->mu);
	for (size_t i = 0; i < n; i++) {
		if (buf[i] != '\n') {
			if (L->plen < sizeof(L->part) - 1)
				L->part[L->plen++] = buf[i];
			continue;
		}
		if (L->n < MAX_LINES) {
			L->l[L->n].t = t;
			memcpy(L->l[L->n].s, L->part, L->plen);
			L->l[L->n].s[L->plen] = 0;
			L->n++;
		}
		L->plen = 0;
	}
	pthread_mutex_unlock(&L->mu);
}

static void lines_reset(struct lines *L)
{
	pthread_mutex_lock(&L->mu);
	L->n = 0;
	L->plen = 0;
	pthread_mutex_unlock(&L->mu);
}

/* When the line s was read (0: not yet). */
static uint64_t lines_find(struct lines *L, const char *s)
{
	uint64_t t = 0;
	pthread_mutex_lock(&L->mu);
	for (int i = 0; i < L->n && !t; i++)
		if (!strcmp(L->l[i].s, s))
			t = L->l[i].t;
	pthread_mutex_unlock(&L->mu);
	return t;
}

/* The monitor's stdout during a run: a pipe read by a thread of ours. */
static struct lines mon = {.mu = PTHREAD_MUTEX_INITIALIZER};
static int relay_saved = -1, relay_rd = -1;
static pthread_t relay_th;

static void *relay_reader(void *arg)
{
	(void)arg;
	char buf[4096];
	for (;;) {
		ssize_t n = read(relay_rd, buf, sizeof(buf));
		uint64_t t = now_ns();
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		lines_feed(&mon, buf, (size_t)n, t);
	}
}

/* Hook: once the run is initialised (so the thread inherits the monitor's
 * signal mask), fd 1 becomes a pipe and the reader starts. */
static void relay_start(struct iv_run *run, void *ctx)
{
	(void)run;
	(void)ctx;
	int p[2];
	lines_reset(&mon);
	fflush(stdout);
	if (pipe2(p, O_CLOEXEC))
		die("pipe: %s", strerror(errno));
	relay_saved = fcntl(1, F_DUPFD_CLOEXEC, 10);
	if (relay_saved < 0 || dup2(p[1], 1) < 0)
		die("cannot redirect stdout: %s", strerror(errno));
	close(p[1]);
	relay_rd = p[0];
	int rc = pthread_create(&relay_th, NULL, relay_reader, NULL);
	if (rc)
		die("pthread_create: %s", strerror(rc));
}

/* Once the run ended: stdout back (the pipe's last writer gone), reader joined. */
static void relay_stop(void)
{
	if (relay_saved < 0)
		return;
	fflush(stdout);
	dup2(relay_saved, 1);
	close(relay_saved);
	relay_saved = -1;
	pthread_join(relay_th, NULL);
	close(relay_rd);
	relay_rd = -1;
}

/* ---- configs and monitor runs ---- */

struct run_res {
	struct cvm_times c[MAX_PER_RUN + 2];
	size_t ncvms;
	char cap[4096];
};

/* A cVM line with its disk, for a plain cVM, a template or a restore. */
static void gen_duk(struct gen *g, const char *name, const char *args, int tpl, int resume,
		    long wait, int with_snap)
{
	char extra[512];
	int k = snprintf(extra, sizeof(extra), "  disk: \"%s\"\n  disk_ro: 1\n", disk);
	if (resume)
		k += snprintf(extra + k, sizeof(extra) - (size_t)k, "  resume: 1\n");
	if (with_snap)
		snprintf(extra + k, sizeof(extra) - (size_t)k, "  snapshot_path: \"%s\"\n", snap);
	gen_cvm(g, name, args, tpl, 0, wait, extra);
}

/* A fork: no disk of its own (it has its template's). */
static void gen_fork(struct gen *g, const char *name, const char *args, long wait)
{
	gen_cvm(g, name, args, 0, -1, wait, NULL);
}

static int run_cfg(struct gen *g, const char *label, struct run_res *r,
		   const struct bench_hooks *extra_hooks, char *why, size_t whylen)
{
	struct iv_config cfg;
	struct iv_err err;
	if (gen_end(g, label, &cfg, &err)) {
		if (!why)
			die("%s", err.msg);
		snprintf(why, whylen, "%s", err.msg);
		return -1;
	}
	struct bench_hooks hooks = {relay_start, NULL, NULL};
	if (extra_hooks)
		hooks = *extra_hooks;
	struct bench_run br = {
		.cap_name = CAP,
		.cap = r->cap,
		.cap_size = sizeof(r->cap),
		.t = r->c,
		.max_cvms = sizeof(r->c) / sizeof(r->c[0]),
		.hooks = &hooks,
	};
	int rc = bench_run_monitor(&cfg, &br, why, whylen);
	relay_stop();
	iv_config_free(&cfg);
	r->ncvms = br.ncvms;
	return rc;
}

/* When cVM name's result line was relayed; dies (or fails) without one. */
static uint64_t result_of(const char *name, const struct cvm_times *c, char *why, size_t len)
{
	char want[64];
	snprintf(want, sizeof(want), "[%s] " RESULT, name);
	uint64_t t = lines_find(&mon, want);
	const char *bad = !t ? "printed no result line"
			  : t < c->t_deploy || t > c->t_done + 1000000000ULL
				  ? "inconsistent timestamps"
				  : NULL;
	if (!bad)
		return t;
	if (!why)
		die("cVM '%s' %s", name, bad);
	snprintf(why, len, "cVM '%s' %s", name, bad);
	return 0;
}

/* When cVM name's line text was relayed; dies when it was not. */
static uint64_t line_of(const char *name, const char *text)
{
	char want[192];
	snprintf(want, sizeof(want), "[%s] %s", name, text);
	uint64_t t = lines_find(&mon, want);
	if (!t)
		die("cVM '%s' did not print '%s'", name, text);
	return t;
}

/* ---- what is measured ---- */

struct timing {
	struct series result, exit;
};
static struct timing nat, cold, frk, rst;
/* phases, from the lines before the result: init line / "get arg" line */
static struct series nat_init, cold_init, frk_arg, rst_arg;
static struct series tpl_ready; /* (c): template deploy -> frozen, info */
static struct series frk_made;	/* (c): request -> fork running */
static int restore_state;	/* 1 measured, -1 failed */
static char restore_why[1400];
static double img_mib, img_save_ms;
static int image_written;

/* ---- (a) native ---- */

/* Spawns the workload with argv[1] = arg, its stdout a pipe; returns the
 * pipe's read end.  *t0: right before posix_spawn. */
static int spawn_native(const char *arg, pid_t *pid, uint64_t *t0)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		die("pipe: %s", strerror(errno));
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none;
	sigemptyset(&none);
	if (posix_spawn_file_actions_init(&fa) || posix_spawn_file_actions_adddup2(&fa, p[1], 1) ||
	    posix_spawnattr_init(&at) || posix_spawnattr_setsigmask(&at, &none) ||
	    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK))
		die("cannot set up posix_spawn attributes");
	char *argv[] = {"duktape", (char *)arg, NULL}, *envp[] = {NULL};
	fflush(stdout);
	*t0 = now_ns();
	int rc = posix_spawn(pid, duk, &fa, &at, argv, envp);
	if (rc)
		die("posix_spawn '%s': %s", duk, strerror(rc));
	close(p[1]);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return p[0];
}

/* Reads fd into L until the line want (or EOF); returns when it was read. */
static uint64_t read_until(int fd, struct lines *L, const char *want)
{
	char buf[4096];
	uint64_t t;
	while (!(t = lines_find(L, want))) {
		ssize_t n = read(fd, buf, sizeof(buf));
		uint64_t now = now_ns();
		if (n < 0 && errno == EINTR && !timed_out)
			continue;
		if (n <= 0)
			return 0;
		lines_feed(L, buf, (size_t)n, now);
	}
	return t;
}

/* The rest of a native run: its result, EOF, its exit. */
static void native_finish(int fd, pid_t pid, struct lines *L, uint64_t *t_res, uint64_t *t_exit)
{
	*t_res = read_until(fd, L, RESULT);
	if (!*t_res)
		kill(pid, SIGKILL);
	char buf[256];
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	int st = wait_child(pid);
	*t_exit = now_ns();
	watchdog_disarm();
	close(fd);
	if (!*t_res)
		die("the native workload printed no result line%s",
		    timed_out ? " (timed out)" : "");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("the native workload ended with wait status 0x%x", st);
}

static void native_round(void)
{
	static struct lines L = {.mu = PTHREAD_MUTEX_INITIALIZER};
	for (int i = 0; i <= opt.k; i++) {
		pid_t pid;
		uint64_t t0, t_res, t_exit;
		lines_reset(&L);
		watchdog_arm();
		int fd = spawn_native(native_script, &pid, &t0);
		native_finish(fd, pid, &L, &t_res, &t_exit);
		if (i == 0)
			continue; /* warm-up */
		series_add(&nat.result, span_us(t0, t_res));
		uint64_t t_init = lines_find(&L, INIT_LINE);
		if (!t_init)
			die("the native workload did not print '%s'", INIT_LINE);
		series_add(&nat_init, span_us(t0, t_init));
		series_add(&nat.exit, span_us(t0, t_exit));
	}
}

/* ---- (b) cold cVMs, (c) forks ---- */

/* One monitor run per cold cVM: plain cVMs of this static binary all need
 * its range, which cVMs of one run may not share. */
static void cold_round(void)
{
	static struct run_res r;
	for (int i = 0; i <= opt.k; i++) {
		struct gen g;
		char name[32];
		snprintf(name, sizeof(name), "cold-%d", i);
		gen_begin(&g, CAP, sizeof(r.cap), duk);
		gen_duk(&g, name, SCRIPT, 0, 0, -1, 0);
		run_cfg(&g, "cold", &r, NULL, NULL, 0);
		if (i == 0)
			continue; /* warm-up */
		const struct cvm_times *c = &r.c[0];
		uint64_t t = result_of(name, c, NULL, 0);
		series_add(&cold.result, span_us(c->t_deploy, t));
		series_add(&cold_init, span_us(c->t_deploy, line_of(name, INIT_LINE)));
		series_add(&cold.exit, span_us(c->t_deploy, c->t_done));
	}
}

static void fork_round(void)
{
	struct gen g;
	static struct run_res r;
	gen_begin(&g, CAP, sizeof(r.cap), duk);
	gen_duk(&g, "tpl", "", 1, 0, -1, 0);
	for (int i = 0; i <= opt.k; i++) {
		char name[32];
		snprintf(name, sizeof(name), "fork-%d", i);
		gen_fork(&g, name, SCRIPT, -1);
	}
	run_cfg(&g, "fork", &r, NULL, NULL, 0);
	const struct cvm_times *tp = &r.c[0];
	series_add(&tpl_ready, span_us(tp->t_deploy, tp->t_saved));
	for (int i = 1; i <= opt.k; i++) { /* fork-0: warm-up */
		const struct cvm_times *c = &r.c[i + 1];
		char name[32];
		snprintf(name, sizeof(name), "fork-%d", i);
		if (c->t_deploy < tp->t_saved)
			die("fork %d was requested before its template saved", i);
		uint64_t t = result_of(name, c, NULL, 0);
		series_add(&frk.result, span_us(c->t_deploy, t));
		series_add(&frk_arg, span_us(c->t_deploy, line_of(name, ARG_LINE)));
		series_add(&frk.exit, span_us(c->t_deploy, c->t_done));
		series_add(&frk_made, span_us(c->t_deploy, c->t_running));
	}
}

/* ---- (d) restores ---- */

static void restore_round(void)
{
	struct gen g;
	static struct run_res r;
	char why[1024];
	if (restore_state < 0)
		return;
	if (!image_written) {
		gen_begin(&g, CAP, sizeof(r.cap), duk);
		gen_duk(&g, "tpl", "", 1, 0, -1, 1);
		if (run_cfg(&g, "image", &r, NULL, why, sizeof(why))) {
			restore_state = -1;
			snprintf(restore_why, sizeof(restore_why), "writing the image: %s", why);
			return;
		}
		char p[PATH_MAX];
		struct stat st;
		snprintf(p, sizeof(p), "%s/pages.img", snap);
		if (stat(p, &st)) {
			restore_state = -1;
			snprintf(restore_why, sizeof(restore_why), "no pages.img was written");
			return;
		}
		img_mib = (double)st.st_size / (1 << 20);
		img_save_ms = span_us(r.c[0].t_deploy, r.c[0].t_saved) / 1000.0;
		image_written = 1;
	}
	gen_begin(&g, CAP, sizeof(r.cap), duk);
	for (int i = 0; i <= opt.k; i++) {
		char name[32];
		snprintf(name, sizeof(name), "restored-%d", i);
		gen_duk(&g, name, SCRIPT, 0, 1, -1, 1);
	}
	if (run_cfg(&g, "restore", &r, NULL, why, sizeof(why))) {
		restore_state = -1;
		snprintf(restore_why, sizeof(restore_why), "restoring: %s", why);
		return;
	}
	for (int i = 1; i <= opt.k; i++) {
		const struct cvm_times *c = &r.c[i];
		char name[32];
		snprintf(name, sizeof(name), "restored-%d", i);
		uint64_t t = result_of(name, c, why, sizeof(why));
		if (!t) {
			restore_state = -1;
			snprintf(restore_why, sizeof(restore_why), "%s", why);
			return;
		}
		series_add(&rst.result, span_us(c->t_deploy, t));
		series_add(&rst_arg, span_us(c->t_deploy, line_of(name, ARG_LINE)));
		series_add(&rst.exit, span_us(c->t_deploy, c->t_done));
	}
	restore_state = 1;
}

/* ---- (e) memory ---- */

/* Whether pid sleeps (S) — blocked in opening its FIFO, once it said so. */
static int sleeping(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'S';
}

/* Waits (bounded: 5 s) until pid sleeps; 0 or -1. */
static int wait_sleeping(pid_t pid)
{
	for (int i = 0; i < 5000; i++) {
		if (sleeping(pid))
			return 0;
		sleep_ns(1000 * 1000);
	}
	return -1;
}

/* Opens FIFO path for writing without blocking (its reader is there),
 * writes the script into it and closes it.  0 or -1. */
static int feed_fifo(const char *path, const char *src, size_t len)
{
	int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	fcntl(fd, F_SETFL, 0);
	int ok = write(fd, src, len) == (ssize_t)len;
	close(fd);
	return ok ? 0 : -1;
}

static char script[4096];
static size_t script_len;

static struct mem native_mem, tpl_mem, fork_mem[MAX_MEMFORKS];

static void fifo_path(char *buf, size_t len, int i)
{
	snprintf(buf, len, "%s/hold-%d.js", disk, i);
}

/* One native process, measured blocked after its init. */
static void native_memory(void)
{
	static struct lines L = {.mu = PTHREAD_MUTEX_INITIALIZER};
	char fifo[PATH_MAX];
	pid_t pid;
	uint64_t t0, t_res, t_exit;
	fifo_path(fifo, sizeof(fifo), 0);
	lines_reset(&L);
	watchdog_arm();
	int fd = spawn_native(fifo, &pid, &t0);
	if (!read_until(fd, &L, INIT_LINE) || wait_sleeping(pid) || mem_of(pid, &native_mem)) {
		kill(pid, SIGKILL);
		die("the native workload did not get blocked on its FIFO after its init");
	}
	if (feed_fifo(fifo, script, script_len))
		die("cannot feed the native workload's FIFO: %s", strerror(errno));
	native_finish(fd, pid, &L, &t_res, &t_exit);
}

struct memctx {
	struct iv_run *run;
	pthread_t th;
	volatile int stop;
	int ok;
	char why[256];
};

/* Samples the forks while iv_run serves them: once each said its args and
 * sleeps (blocked opening its FIFO), their memory and the template's; then
 * feeds every FIFO. */
static void *mem_sampler(void *arg)
{
	struct memctx *m = arg;
	int n = opt.memforks;
	for (int i = 1; i <= n; i++) {
		char want[64];
		snprintf(want, sizeof(want), "[hold-%d] get arg: \"hold-%d.js\"", i, i);
		while (!m->stop && !lines_find(&mon, want))
			sleep_ns(500 * 1000);
		pid_t pid = __atomic_load_n(&m->run->cvms[i].cell.pid, __ATOMIC_ACQUIRE);
		if (m->stop || pid <= 0 || wait_sleeping(pid)) {
			snprintf(m->why, sizeof(m->why), "fork %d never got blocked on its FIFO",
				 i);
			goto feed;
		}
	}
	for (int i = 1; i <= n; i++)
		if (mem_of(m->run->cvms[i].cell.pid, &fork_mem[i - 1])) {
			snprintf(m->why, sizeof(m->why), "cannot read fork %d's memory", i);
			goto feed;
		}
	if (mem_of(m->run->cvms[0].cell.pid, &tpl_mem)) {
		snprintf(m->why, sizeof(m->why), "cannot read the template's memory");
		goto feed;
	}
	m->ok = 1;
feed: /* always, so that the run ends */
	for (int i = 1; i <= n; i++) {
		char fifo[PATH_MAX];
		fifo_path(fifo, sizeof(fifo), i);
		if (feed_fifo(fifo, script, script_len) && m->ok) {
			m->ok = 0;
			snprintf(m->why, sizeof(m->why), "cannot feed fork %d's FIFO", i);
		}
	}
	return NULL;
}

static void mem_start(struct iv_run *run, void *ctx)
{
	struct memctx *m = ctx;
	relay_start(run, NULL);
	m->run = run;
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
}

static void fork_memory(void)
{
	static struct memctx m;
	static struct run_res r;
	struct gen g;
	memset(&m, 0, sizeof(m));
	gen_begin(&g, CAP, sizeof(r.cap), duk);
	gen_duk(&g, "tpl", "", 1, 0, -1, 0);
	for (int i = 1; i <= opt.memforks; i++) {
		char name[32], args[32];
		snprintf(name, sizeof(name), "hold-%d", i);
		snprintf(args, sizeof(args), "hold-%d.js", i);
		gen_fork(&g, name, args, 0); /* wait: 0: all at once */
	}
	struct bench_hooks hooks = {mem_start, mem_end, &m};
	run_cfg(&g, "memory", &r, &hooks, NULL, 0);
	if (!m.ok)
		die("memory: %s", m.why);
	for (int i = 1; i <= opt.memforks; i++) {
		char name[32];
		snprintf(name, sizeof(name), "hold-%d", i);
		result_of(name, &r.c[i], NULL, 0);
	}
}

/* ---- set-up ---- */

static void clean(void)
{
	static const char *snapfiles[] = {"image.img", "pages.img", "image.img.tmp",
					  "pages.img.tmp"};
	char p[PATH_MAX];
	if (!root[0])
		return;
	for (size_t k = 0; k < sizeof(snapfiles) / sizeof(snapfiles[0]); k++) {
		snprintf(p, sizeof(p), "%s/%s", snap, snapfiles[k]);
		unlink(p);
	}
	rmdir(snap);
	for (int i = 0; i <= MAX_MEMFORKS; i++) {
		fifo_path(p, sizeof(p), i);
		unlink(p);
	}
	unlink(native_script);
	rmdir(disk);
	rmdir(root);
}

/* The workload's disk: the script and one FIFO per process of (e),
 * readable by the cells' uid. */
static void make_disk(void)
{
	FILE *f = fopen(script_src, "re");
	if (!f)
		die("cannot open '%s': %s", script_src, strerror(errno));
	script_len = fread(script, 1, sizeof(script), f);
	int bad = ferror(f) || script_len == sizeof(script);
	fclose(f);
	if (bad || !script_len)
		die("cannot read '%s' (or it is over 4 KiB)", script_src);
	snprintf(root, sizeof(root), "/tmp/bench-workloads-XXXXXX");
	if (!mkdtemp(root))
		die("mkdtemp: %s", strerror(errno));
	atexit(clean);
	snprintf(disk, sizeof(disk), "%s/disk", root);
	snprintf(snap, sizeof(snap), "%s/snap", root);
	snprintf(native_script, sizeof(native_script), "%s/" SCRIPT, disk);
	if (chmod(root, 0755) || mkdir(disk, 0755) || chmod(disk, 0755))
		die("cannot make '%s': %s", disk, strerror(errno));
	int fd = open(native_script, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, script, script_len) != (ssize_t)script_len || close(fd) ||
	    chmod(native_script, 0644))
		die("cannot write '%s'", native_script);
	for (int i = 0; i <= opt.memforks; i++) {
		char p[PATH_MAX];
		fifo_path(p, sizeof(p), i);
		if (mkfifo(p, 0644) || chmod(p, 0644))
			die("mkfifo '%s': %s", p, strerror(errno));
	}
}

static void find_files(void)
{
	bench_find_here();
	bench_cvm_path(duk, sizeof(duk), "duktape");
	bench_cvm_path(script_src, sizeof(script_src), SCRIPT);
	if (access(duk, X_OK))
		die("'%s' is not executable", duk);
}

/* ---- report ---- */

static void line(const char *what, const struct series *s)
{
	printf("      %-46s median %9.1f us   %s\n", what, series_median(s), series_spread(s, 1));
}

static double mib(long kb)
{
	return (double)kb / 1024.0;
}

static void report(void)
{
	printf("\n-- duktape-js, one unit of work: evaluate " SCRIPT " (prints " RESULT ") --\n");
	printf("  (a) native cold start: the static binary as a plain process (posix_spawn),\n"
	       "      heap created, script read and evaluated:\n");
	line("posix_spawn -> result line read", &nat.result);
	line("posix_spawn -> exit (waitpid)", &nat.exit);
	line("(phase) posix_spawn -> its init line read", &nat_init);
	printf("  (b) cold cVM: a plain cVM of the same binary (loaded, cell spawned, heap\n"
	       "      created, host_save a no-op, script evaluated):\n");
	line("deploy -> result line relayed", &cold.result);
	line("deploy -> exit reaped", &cold.exit);
	line("(phase) deploy -> its init line relayed", &cold_init);
	printf("  (c) fork of the template (template deploy -> zygote %.2f ms, over before the\n"
	       "      first request: excluded by construction); fork made (request -> running)\n"
	       "      %.1f us median:\n",
	       series_median(&tpl_ready) / 1000.0, series_median(&frk_made));
	line("fork request -> result line relayed", &frk.result);
	line("fork request -> exit reaped", &frk.exit);
	line("(phase) request -> its \"get arg\" line relayed", &frk_arg);
	if (restore_state == 1) {
		printf("  (d) restore from an image (pages.img %.2f MiB, written once by a "
		       "template\n"
		       "      run in %.1f ms; page cache warm; pages mapped lazily):\n",
		       img_mib, img_save_ms);
		line("restore deploy -> result line relayed", &rst.result);
		line("restore deploy -> exit reaped", &rst.exit);
		line("(phase) deploy -> its \"get arg\" line relayed", &rst_arg);
	} else {
		printf("  (d) restore from an image: failed, not measured (%s)\n", restore_why);
	}
	double nr = series_median(&nat.result), ne = series_median(&nat.exit);
	double fr = series_median(&frk.result), fe = series_median(&frk.exit);
	double cr = series_median(&cold.result), ce = series_median(&cold.exit);
	printf("  ratios (of medians):\n");
	printf("      native cold start / fork, to the result:   %6.1fx faster (target >= 20x: "
	       "%s)\n",
	       nr / fr, verdict(nr / fr >= 20));
	printf("      native cold start / fork, to exit:         %6.1fx faster (info)\n", ne / fe);
	printf("      cold cVM / fork, to the result:            %6.1fx faster (info); to exit "
	       "%.1fx\n",
	       cr / fr, ce / fe);
	printf("      cold cVM / native cold start, to the result: %4.2fx        (info)\n",
	       cr / nr);
	if (restore_state == 1) {
		double rr = series_median(&rst.result), re = series_median(&rst.exit);
		printf("      native cold start / restore, to the result: %5.1fx faster (info); to "
		       "exit %.1fx\n",
		       nr / rr, ne / re);
		printf("      restore / fork, to the result:             %6.2fx        (info)\n",
		       rr / fr);
	}

	int n = opt.memforks;
	long fpss = 0, frss = 0;
	for (int i = 0; i < n; i++) {
		fpss += fork_mem[i].pss_kb;
		frss += fork_mem[i].rss_kb;
	}
	double with_tpl = mib(fpss + tpl_mem.pss_kb), npss = mib(native_mem.pss_kb);
	printf("\n== (e) memory: %d concurrent forks, each blocked after its start opening its "
	       "script (a FIFO),\n"
	       "   against one native process blocked the same way right after its init ==\n",
	       n);
	printf("  native process: PSS %.2f MiB, RSS %.2f MiB (anonymous %.2f)\n", npss,
	       mib(native_mem.rss_kb), mib(native_mem.anon_kb));
	printf("  forks: PSS %.2f MiB in all (%.3f each), RSS %.2f MiB each; template PSS %.2f "
	       "MiB\n",
	       mib(fpss), mib(fpss) / n, mib(frss) / n, mib(tpl_mem.pss_kb));
	printf("  %d forks + their template, PSS %.2f MiB vs one native process's PSS %.2f MiB: "
	       "ratio %.2f (target <= 1.5x: %s)\n",
	       n, with_tpl, npss, with_tpl / npss, verdict(with_tpl / npss <= 1.5));
	printf("    (the forks' PSS alone: ratio %.2f; %d native processes would be about "
	       "%.2f MiB of PSS)\n",
	       mib(fpss) / npss, n, npss * n);
}

int main(int argc, char **argv)
{
	int c;
	while ((c = bench_getopt(argc, argv, "c:r:k:m:", &opt.verbose)) != -1) {
		switch (c) {
		case 'c':
			opt.cpu = parse_int(optarg, 0, CPU_SETSIZE - 1, "-c CPU");
			break;
		case 'r':
			opt.rounds = parse_int(optarg, 1, 50, "-r ROUNDS");
			break;
		case 'k':
			opt.k = parse_int(optarg, 1, MAX_PER_RUN - 1, "-k N");
			break;
		case 'm':
			opt.memforks = parse_int(optarg, 1, MAX_MEMFORKS, "-m MEMFORKS");
			break;
		}
	}
	bench_init(opt.verbose, 0);
	opt.cpu = bench_pin(opt.cpu, ""); /* before any thread or child exists */
	find_files();
	make_disk();
	uint64_t t0 = now_ns();
	printf("\n== duktape-js workload: %d rounds of %d native runs, %d cold cVMs, a template "
	       "and %d\n"
	       "   forks, %d restores from an image; +1 warm-up each, dropped; medians over the "
	       "rest ==\n",
	       opt.rounds, opt.k, opt.k, opt.k, opt.k);
	for (int r = 0; r < opt.rounds; r++) {
		if (r & 1) { /* alternate the order */
			restore_round();
			fork_round();
			cold_round();
			native_round();
		} else {
			native_round();
			cold_round();
			fork_round();
			restore_round();
		}
	}
	native_memory();
	fork_memory();
	report();
	printf("\n(total %.1f s)\n", (double)(now_ns() - t0) / 1e9);
	return 0;
}
