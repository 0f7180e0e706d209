/*
 * bench/workloads - TFORK of real programs, each doing one unit of work,
 * measured in one run four ways.  The workloads (table below), from
 * runtime/posix: two static musl programs with an isolation range, and
 * Debian's python3 as a program (README "Programs": no range, its disk a
 * root of Debian's files):
 *
 *   duktape-js  evaluates base64.js, which prints "SGVsbG8gVGhlcmU="; its
 *               init creates the JS heap and registers print().
 *   mnist       classifies digit.pgm (held-out image 001 of
 *               scripts/mnist_model.py, a 3), printing "digit: 3"; its init
 *               loads mnist.onnx (protobuf-c) and plans the operators.
 *   python      runtime/posix/pyworkload/workload.py runs its handler
 *               "hash" (prints "python hash: abf5dacd..."); its init
 *               imports json, re, decimal, sqlite3, hashlib, email and
 *               http.client.  Its disk is this program's own copy (cp -al:
 *               hard links) of build/roots/pyworkload, with a directory
 *               hold/ for the FIFOs; its cVMs are programs (no isolation,
 *               runtime /usr/bin/python3 inside the disk, memory 256M).
 *               Natively it is Debian's /usr/bin/python3 running the copy's
 *               app/workload.py, with PYWORKLOAD_NUMPY=0: the host may have
 *               python3-numpy, the root has not, so the native process
 *               imports what the cVMs import.  Each program cVM started
 *               from scratch (cold, template, restored; not a fork) is
 *               moved into a memory cgroup of its own before its program
 *               starts, which waits for an RCU grace period when no move
 *               came just before (src/cell/cgroup.c); the "(phase) cell
 *               spawned -> released" lines show what that costs each time.
 *
 *   (a) native cold start: the same static binary run as a plain process,
 *       outside any cVM (posix_spawn, in the workload's disk directory,
 *       argv[1] the unit's file; its hostcalls return -ENOSYS, so it does
 *       the unit right after its init; python: its save() raises NotInCVM
 *       and it runs the handler argv[1] names).  posix_spawn -> the result
 *       line read from its stdout pipe, and -> waitpid.
 *   (b) cold cVM: a plain cVM (not a template) of the same binary, args the
 *       unit's file (python: [python3, /app/workload.py, hash]): it does its
 *       init, host_save() returns at once, it does the unit.  Deploy
 *       (iv_cvm.t[IV_T_DEPLOY]) -> the result line, and -> its exit reaped
 *       (IV_T_DONE).  One monitor run per cold cVM (they all need the
 *       binary's range, which cVMs of one run may not share; python's, a
 *       program's, are run the same way: each pays what starting a program
 *       costs a run); the run's own set-up is before the deploy, not in it.
 *   (c) fork: a template (init done, host_save) and forks of it deployed
 *       one after another, args the unit's file.  Fork request
 *       (IV_T_DEPLOY, set when TFORK first sees the fork) -> the result
 *       line, and -> exit reaped.  The template's own start is over before
 *       the first request (printed for information).
 *   (d) restore: the template with snapshot_path writes an image once;
 *       then cVMs restored from it (resume: 1, snapshot_path) one after
 *       another in a later run, timed like the forks from their deploy.
 *       If that fails, the output says so and why; the rest still runs.
 *   (e) memory: MEMFORKS forks of one template alive at once, each blocked
 *       after its start in opening its unit's file, a FIFO on its disk,
 *       against one native process blocked the same way right after its
 *       init (it printed its init line).  Python's forks and native process
 *       get "@hold/hold-N": workload.py prints that it reads its handler's
 *       name from that file, and blocks opening it.  PSS and RSS from
 *       /proc/PID/smaps_rollup; then the FIFOs are fed the unit's file and
 *       every one of them must print the result (so the processes measured
 *       are working ones).
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
 * init line (native and cold cVM) and the fork's or restored cVM's "get
 * arg" line (its first output after host_save).
 *
 * The monitor runs in this process (build/libintravisor.a), one
 * iv_run_init / iv_run / iv_run_free per generated config.  The process is
 * pinned to one CPU before anything starts: the cells, the monitor's
 * threads, the reader thread and the native processes share that core.
 * The variants run interleaved, round by round; the first sample of each
 * kind in every round is a warm-up and dropped; medians over the rest.
 *
 * `make bench-workloads` puts next to this binary the cell stub (iv-cell)
 * and in cvm/ each workload's binary (build/runtime/...) and files
 * (base64.js; mnist.onnx and digit.pgm).  Each workload's disk (its files
 * and the FIFOs) and its image are made in a fresh directory under /tmp,
 * removed at exit.  Python's root comes from cvm/pyworkload, a link to
 * build/roots/pyworkload (`make programs`).  `-w` picks workloads.  Exit
 * status: 0 when every measurement ran (whether or not a target is met), 1
 * on any error, 2 on bad usage.
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
#define CAP	     "bench-workloads"
#define MAX_LINES    512
#define LINE_MAX_LEN 256
#define UNIT_MAX     4096 /* bytes of a unit's file (fed to the FIFOs) */

static const char usage[] =
	"usage: workloads [-c CPU] [-r ROUNDS] [-k N] [-m MEMFORKS] [-w NAMES] [-v]\n"
	"  -c CPU       pin everything to CPU (default: the highest CPU this process may use)\n"
	"  -r ROUNDS    rounds; each runs every variant (default 7)\n"
	"  -k N         timed native runs, cold cVMs, forks and restores per round\n"
	"               (default 15; one more each is a dropped warm-up)\n"
	"  -m MEMFORKS  concurrent forks for the memory measurement (default 10)\n"
	"  -w NAMES     the workloads, comma-separated (default all: duktape-js,mnist,python)\n"
	"  -v           show the monitor's own output as it runs; -vv also turns on its\n"
	"               verbose log (which costs time: for debugging, not for numbers)\n";

static struct {
	int cpu, rounds, k, memforks, verbose;
	const char *only;
} opt = {-1, 7, 15, 10, 0, NULL};

const struct bench_prog bench_prog = {
	.name = "workloads",
	.usage = usage,
	.make_target = "bench-workloads",
	.timeout_s = TIMEOUT_S,
};

/* ---- the workloads ---- */

/* Python's native environment: a program cVM's default one (iv.h), and no
 * numpy (the root has none). */
static const char *const python_env[] = {
	"PATH=/usr/local/bin:/usr/bin:/bin",
	"HOME=/",
	"TERM=dumb",
	"LANG=C.UTF-8",
	"PYWORKLOAD_NUMPY=0",
	NULL,
};

struct timing {
	struct series result, exit;
};

struct workload {
	const char *name;      /* "duktape-js" */
	const char *bin;       /* its binary in cvm/ (a program: its root, a directory) */
	const char *unit;      /* the file one unit of work names, in cvm/ (a program: its arg) */
	const char *extra;     /* a file its init reads, in cvm/, or NULL */
	const char *fifo;      /* the FIFOs' names: "hold-%d.js" */
	const char *hold;      /* what it prints before it opens FIFO %s */
	const char *result;    /* the line that is the result */
	const char *init;      /* the line its init ends with */
	const char *what;      /* the unit of work, for the report */
	const char *init_what; /* its init, for the report */
	double target;	       /* native cold start / fork, to the result */
	/* a program (README "Programs"): runtime, inside its root and on the
	 * host alike; argv[0] and the script it runs; its native environment */
	int program;
	const char *runtime, *argv0, *script;
	const char *const *native_env;

	/* set up */
	int on;
	char path[PATH_MAX]; /* the binary (a program: its root) */
	char unit_src[PATH_MAX], extra_src[PATH_MAX];
	char disk[128], snap[128]; /* root/NAME, root/NAME-snap */
	char unit_data[UNIT_MAX];  /* the unit's file, fed to FIFOs */
	size_t unit_len;
	char arg_line[128]; /* get arg: "UNIT" (a program: "", none) */

	/* measured */
	struct timing nat, cold, frk, rst;
	/* phases, from the lines before the result: init line / "get arg" line */
	struct series nat_init, cold_init, frk_arg, rst_arg;
	/* a program's: cell spawned -> released (its memory-cgroup move) */
	struct series cold_move, rst_move;
	struct series tpl_ready; /* (c): template deploy -> frozen, info */
	struct series frk_made;	 /* (c): request -> fork running */
	int restore_state;	 /* 1 measured, -1 failed */
	char restore_why[1400];
	double img_mib, img_save_ms;
	int image_written;
	struct mem native_mem, tpl_mem, fork_mem[MAX_MEMFORKS];
};

static struct workload workloads[] = {
	{
		.name = "duktape-js",
		.bin = "duktape",
		.unit = "base64.js",
		.fifo = "hold-%d.js",
		.hold = "get arg: \"%s\"",
		.result = "SGVsbG8gVGhlcmU=",
		.init = "template: heap created, print registered, saving",
		.what = "evaluate base64.js (prints SGVsbG8gVGhlcmU=)",
		.init_what = "heap created",
		.target = 20,
	},
	{
		.name = "mnist",
		.bin = "mnist",
		.unit = "digit.pgm",
		.extra = "mnist.onnx",
		.fifo = "hold-%d.pgm",
		.hold = "get arg: \"%s\"",
		/* held_out.txt: digits/001.pgm is a 3, and the model says 3 */
		.result = "digit: 3",
		.init = "template: model mnist.onnx loaded: input Input3 [1,1,8,8], output "
			"Plus214_Output_0 [1,10], 6 initializers, 5 nodes (Reshape Div Gemm Relu "
			"Gemm); saving",
		.what = "classify digit.pgm (prints digit: 3)",
		.init_what = "model loaded",
		.target = 5,
	},
	{
		.name = "python",
		.bin = "pyworkload",
		.unit = "hash",
		.fifo = "hold/hold-%d",
		.hold = "python: reading the handler from %s",
		.result = "python hash: "
			  "abf5dacd019d2229174f1daa9e62852554ab1b955fe6ae6bbbb214bab611f6f5",
		.init = "python: modules imported (numpy: no)",
		.what = "run the handler hash (prints python hash: abf5dacd...)",
		.init_what = "modules imported",
		.target = 20,
		.program = 1,
		.runtime = "/usr/bin/python3",
		.argv0 = "python3",
		.script = "/app/workload.py",
		.native_env = python_env,
	},
};
#define NWORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

static char root[64]; /* /tmp/bench-workloads-XXXXXX */

/* ---- lines read from a pipe, timestamped ---- */

struct line {
	uint64_t t; /* when the read that completed it returned */
	char s[LINE_MAX_LEN];
};

struct lines {
	struct line l[MAX_LINES];
	int n;
	char part[LINE_MAX_LEN]; /* the unfinished line */
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

/* A cVM line with its disk, for a plain cVM, a template or a restore.  A
 * program's args: a template's the script alone, a plain cVM's the script
 * and args (its argv), a restored cVM's args alone (what get_arg gives it). */
static void gen_wl(struct gen *g, const struct workload *w, const char *name, const char *args,
		   int tpl, int resume, long wait, int with_snap)
{
	char extra[512];
	int k = snprintf(extra, sizeof(extra), "  disk: \"%s\"\n  disk_ro: 1\n", w->disk);
	if (w->program)
		k += snprintf(extra + k, sizeof(extra) - (size_t)k, "  memory: 256M\n");
	if (resume)
		k += snprintf(extra + k, sizeof(extra) - (size_t)k, "  resume: 1\n");
	if (with_snap)
		snprintf(extra + k, sizeof(extra) - (size_t)k, "  snapshot_path: \"%s\"\n",
			 w->snap);
	if (!w->program) {
		gen_cvm(g, name, args, tpl, 0, wait, extra);
		return;
	}
	char argv[256];
	if (resume)
		snprintf(argv, sizeof(argv), "\"%s\"", args);
	else if (tpl)
		snprintf(argv, sizeof(argv), "[%s, %s]", w->argv0, w->script);
	else
		snprintf(argv, sizeof(argv), "[%s, %s, \"%s\"]", w->argv0, w->script, args);
	gen_program(g, name, argv, tpl, wait, extra);
}

/* The gen of a run of w's cVMs: its binary (a program: its runtime, in its disk). */
static void gen_begin_wl(struct gen *g, const struct workload *w, int cap_size)
{
	gen_begin(g, CAP, cap_size, w->program ? w->runtime : w->path);
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
static uint64_t result_of(const struct workload *w, const char *name, const struct cvm_times *c,
			  char *why, size_t len)
{
	char want[LINE_MAX_LEN];
	snprintf(want, sizeof(want), "[%s] %s", name, w->result);
	uint64_t t = lines_find(&mon, want);
	const char *bad = !t ? "printed no result line"
			  : t < c->t_deploy || t > c->t_done + 1000000000ULL
				  ? "inconsistent timestamps"
				  : NULL;
	if (!bad)
		return t;
	if (!why)
		die("%s: cVM '%s' %s", w->name, name, bad);
	snprintf(why, len, "cVM '%s' %s", name, bad);
	return 0;
}

/* When cVM name's line text was relayed; dies when it was not. */
static uint64_t line_of(const char *name, const char *text)
{
	char want[LINE_MAX_LEN];
	snprintf(want, sizeof(want), "[%s] %s", name, text);
	uint64_t t = lines_find(&mon, want);
	if (!t)
		die("cVM '%s' did not print '%s'", name, text);
	return t;
}

/* ---- (a) native ---- */

/* Spawns the workload in its disk directory with argv[1] = arg (a program:
 * its runtime on the host, running its script from the disk, the script's
 * argv[1] = arg), its stdout a pipe; returns the pipe's read end.  *t0:
 * right before posix_spawn. */
static int spawn_native(const struct workload *w, const char *arg, pid_t *pid, uint64_t *t0)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		die("pipe: %s", strerror(errno));
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none;
	sigemptyset(&none);
	if (posix_spawn_file_actions_init(&fa) || posix_spawn_file_actions_adddup2(&fa, p[1], 1) ||
	    posix_spawn_file_actions_addchdir_np(&fa, w->disk) || posix_spawnattr_init(&at) ||
	    posix_spawnattr_setsigmask(&at, &none) ||
	    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK))
		die("cannot set up posix_spawn attributes");
	char script[PATH_MAX];
	char *argv[] = {(char *)w->bin, (char *)arg, NULL, NULL}, *envp[] = {NULL};
	const char *path = w->path;
	char *const *env = envp;
	if (w->program) {
		snprintf(script, sizeof(script), "%s%s", w->disk, w->script);
		argv[0] = (char *)w->argv0;
		argv[1] = script;
		argv[2] = (char *)arg;
		path = w->runtime;
		env = (char *const *)w->native_env;
	}
	fflush(stdout);
	*t0 = now_ns();
	int rc = posix_spawn(pid, path, &fa, &at, argv, env);
	if (rc)
		die("posix_spawn '%s': %s", path, strerror(rc));
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
static void native_finish(const struct workload *w, int fd, pid_t pid, struct lines *L,
			  uint64_t *t_res, uint64_t *t_exit)
{
	*t_res = read_until(fd, L, w->result);
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
		die("the native %s printed no result line%s", w->name,
		    timed_out ? " (timed out)" : "");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("the native %s ended with wait status 0x%x", w->name, st);
}

static void native_round(struct workload *w)
{
	static struct lines L = {.mu = PTHREAD_MUTEX_INITIALIZER};
	for (int i = 0; i <= opt.k; i++) {
		pid_t pid;
		uint64_t t0, t_res, t_exit;
		lines_reset(&L);
		watchdog_arm();
		int fd = spawn_native(w, w->unit, &pid, &t0);
		native_finish(w, fd, pid, &L, &t_res, &t_exit);
		if (i == 0)
			continue; /* warm-up */
		series_add(&w->nat.result, span_us(t0, t_res));
		uint64_t t_init = lines_find(&L, w->init);
		if (!t_init)
			die("the native %s did not print '%s'", w->name, w->init);
		series_add(&w->nat_init, span_us(t0, t_init));
		series_add(&w->nat.exit, span_us(t0, t_exit));
	}
}

/* ---- (b) cold cVMs, (c) forks ---- */

/* One monitor run per cold cVM: plain cVMs of this static binary all need
 * its range, which cVMs of one run may not share. */
static void cold_round(struct workload *w)
{
	static struct run_res r;
	for (int i = 0; i <= opt.k; i++) {
		struct gen g;
		char name[32];
		snprintf(name, sizeof(name), "cold-%d", i);
		gen_begin_wl(&g, w, sizeof(r.cap));
		gen_wl(&g, w, name, w->unit, 0, 0, -1, 0);
		run_cfg(&g, "cold", &r, NULL, NULL, 0);
		if (i == 0)
			continue; /* warm-up */
		const struct cvm_times *c = &r.c[0];
		uint64_t t = result_of(w, name, c, NULL, 0);
		series_add(&w->cold.result, span_us(c->t_deploy, t));
		series_add(&w->cold_init, span_us(c->t_deploy, line_of(name, w->init)));
		series_add(&w->cold.exit, span_us(c->t_deploy, c->t_done));
		series_add(&w->cold_move, span_us(c->t_cell, c->t_running));
	}
}

static void fork_round(struct workload *w)
{
	struct gen g;
	static struct run_res r;
	gen_begin_wl(&g, w, sizeof(r.cap));
	gen_wl(&g, w, "tpl", "", 1, 0, -1, 0);
	for (int i = 0; i <= opt.k; i++) {
		char name[32];
		snprintf(name, sizeof(name), "fork-%d", i);
		gen_fork(&g, name, w->unit, -1);
	}
	run_cfg(&g, "fork", &r, NULL, NULL, 0);
	const struct cvm_times *tp = &r.c[0];
	series_add(&w->tpl_ready, span_us(tp->t_deploy, tp->t_saved));
	for (int i = 1; i <= opt.k; i++) { /* fork-0: warm-up */
		const struct cvm_times *c = &r.c[i + 1];
		char name[32];
		snprintf(name, sizeof(name), "fork-%d", i);
		if (c->t_deploy < tp->t_saved)
			die("%s: fork %d was requested before its template saved", w->name, i);
		uint64_t t = result_of(w, name, c, NULL, 0);
		series_add(&w->frk.result, span_us(c->t_deploy, t));
		if (w->arg_line[0])
			series_add(&w->frk_arg, span_us(c->t_deploy, line_of(name, w->arg_line)));
		series_add(&w->frk.exit, span_us(c->t_deploy, c->t_done));
		series_add(&w->frk_made, span_us(c->t_deploy, c->t_running));
	}
}

/* ---- (d) restores ---- */

/* The template run that writes the image, once; 0 or -1 (restore_why set). */
static int write_image(struct workload *w)
{
	struct gen g;
	static struct run_res r;
	char why[1024];
	gen_begin_wl(&g, w, sizeof(r.cap));
	gen_wl(&g, w, "tpl", "", 1, 0, -1, 1);
	if (run_cfg(&g, "image", &r, NULL, why, sizeof(why))) {
		snprintf(w->restore_why, sizeof(w->restore_why), "writing the image: %s", why);
		return -1;
	}
	char p[PATH_MAX];
	struct stat st;
	snprintf(p, sizeof(p), "%s/pages.img", w->snap);
	if (stat(p, &st)) {
		snprintf(w->restore_why, sizeof(w->restore_why), "no pages.img was written");
		return -1;
	}
	w->img_mib = (double)st.st_size / (1 << 20);
	w->img_save_ms = span_us(r.c[0].t_deploy, r.c[0].t_saved) / 1000.0;
	w->image_written = 1;
	return 0;
}

static void restore_round(struct workload *w)
{
	struct gen g;
	static struct run_res r;
	char why[1024];
	if (w->restore_state < 0)
		return;
	if (!w->image_written && write_image(w)) {
		w->restore_state = -1;
		return;
	}
	gen_begin_wl(&g, w, sizeof(r.cap));
	for (int i = 0; i <= opt.k; i++) {
		char name[32];
		snprintf(name, sizeof(name), "restored-%d", i);
		gen_wl(&g, w, name, w->unit, 0, 1, -1, 1);
	}
	if (run_cfg(&g, "restore", &r, NULL, why, sizeof(why))) {
		w->restore_state = -1;
		snprintf(w->restore_why, sizeof(w->restore_why), "restoring: %s", why);
		return;
	}
	for (int i = 1; i <= opt.k; i++) {
		const struct cvm_times *c = &r.c[i];
		char name[32];
		snprintf(name, sizeof(name), "restored-%d", i);
		uint64_t t = result_of(w, name, c, why, sizeof(why));
		if (!t) {
			w->restore_state = -1;
			snprintf(w->restore_why, sizeof(w->restore_why), "%s", why);
			return;
		}
		series_add(&w->rst.result, span_us(c->t_deploy, t));
		if (w->arg_line[0])
			series_add(&w->rst_arg, span_us(c->t_deploy, line_of(name, w->arg_line)));
		series_add(&w->rst.exit, span_us(c->t_deploy, c->t_done));
		series_add(&w->rst_move, span_us(c->t_cell, c->t_running));
	}
	w->restore_state = 1;
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

/* FIFO i's name (as the workload sees it, in its disk's root). */
static void fifo_name(const struct workload *w, char *buf, size_t len, int i)
{
	snprintf(buf, len, w->fifo, i);
}

/* ... and its path here. */
static void fifo_path(const struct workload *w, char *buf, size_t len, int i)
{
	char name[64];
	fifo_name(w, name, sizeof(name), i);
	snprintf(buf, len, "%s/%s", w->disk, name);
}

/* The arg that makes process i of (e) open FIFO i: its name (python: "@"
 * and its name, workload.py's "the handler is named in this file"). */
static void hold_arg(const struct workload *w, char *buf, size_t len, int i)
{
	char name[48];
	fifo_name(w, name, sizeof(name), i);
	snprintf(buf, len, "%s%s", w->program ? "@" : "", name);
}

/* The line process i of (e) prints before it opens FIFO i. */
static void hold_line(const struct workload *w, char *buf, size_t len, int i)
{
	char name[64];
	fifo_name(w, name, sizeof(name), i);
	snprintf(buf, len, w->hold, name);
}

/* Opens FIFO i of w for writing without blocking (its reader is there),
 * writes the unit's file into it and closes it.  0 or -1. */
static int feed_fifo(const struct workload *w, int i)
{
	char path[PATH_MAX];
	fifo_path(w, path, sizeof(path), i);
	int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	fcntl(fd, F_SETFL, 0);
	int ok = write(fd, w->unit_data, w->unit_len) == (ssize_t)w->unit_len;
	close(fd);
	return ok ? 0 : -1;
}

/* One native process, measured blocked after its init. */
static void native_memory(struct workload *w)
{
	static struct lines L = {.mu = PTHREAD_MUTEX_INITIALIZER};
	char arg[64], held[128];
	pid_t pid;
	uint64_t t0, t_res, t_exit;
	hold_arg(w, arg, sizeof(arg), 0);
	hold_line(w, held, sizeof(held), 0);
	lines_reset(&L);
	watchdog_arm();
	int fd = spawn_native(w, arg, &pid, &t0);
	/* (the static binaries print no "get arg" line outside a cVM) */
	if (!read_until(fd, &L, w->init) || (w->program && !read_until(fd, &L, held)) ||
	    wait_sleeping(pid) || mem_of(pid, &w->native_mem)) {
		kill(pid, SIGKILL);
		die("the native %s did not get blocked on its FIFO after its init", w->name);
	}
	if (feed_fifo(w, 0))
		die("cannot feed the native %s's FIFO: %s", w->name, strerror(errno));
	native_finish(w, fd, pid, &L, &t_res, &t_exit);
}

struct memctx {
	struct workload *w;
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
	struct workload *w = m->w;
	int n = opt.memforks;
	for (int i = 1; i <= n; i++) {
		char want[192], held[128];
		hold_line(w, held, sizeof(held), i);
		snprintf(want, sizeof(want), "[hold-%d] %s", i, held);
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
		if (mem_of(m->run->cvms[i].cell.pid, &w->fork_mem[i - 1])) {
			snprintf(m->why, sizeof(m->why), "cannot read fork %d's memory", i);
			goto feed;
		}
	if (mem_of(m->run->cvms[0].cell.pid, &w->tpl_mem)) {
		snprintf(m->why, sizeof(m->why), "cannot read the template's memory");
		goto feed;
	}
	m->ok = 1;
feed: /* always, so that the run ends */
	for (int i = 1; i <= n; i++)
		if (feed_fifo(w, i) && m->ok) {
			m->ok = 0;
			snprintf(m->why, sizeof(m->why), "cannot feed fork %d's FIFO", i);
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

static void fork_memory(struct workload *w)
{
	static struct memctx m;
	static struct run_res r;
	struct gen g;
	memset(&m, 0, sizeof(m));
	m.w = w;
	gen_begin_wl(&g, w, sizeof(r.cap));
	gen_wl(&g, w, "tpl", "", 1, 0, -1, 0);
	for (int i = 1; i <= opt.memforks; i++) {
		char name[32], arg[64];
		snprintf(name, sizeof(name), "hold-%d", i);
		hold_arg(w, arg, sizeof(arg), i);
		gen_fork(&g, name, arg, 0); /* wait: 0: all at once */
	}
	struct bench_hooks hooks = {mem_start, mem_end, &m};
	run_cfg(&g, "memory", &r, &hooks, NULL, 0);
	if (!m.ok)
		die("%s: memory: %s", w->name, m.why);
	for (int i = 1; i <= opt.memforks; i++) {
		char name[32];
		snprintf(name, sizeof(name), "hold-%d", i);
		result_of(w, name, &r.c[i], NULL, 0);
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
	for (size_t k = 0; k < NWORKLOADS; k++) {
		const struct workload *w = &workloads[k];
		if (!w->disk[0])
			continue;
		for (size_t j = 0; j < sizeof(snapfiles) / sizeof(snapfiles[0]); j++) {
			snprintf(p, sizeof(p), "%s/%s", w->snap, snapfiles[j]);
			unlink(p);
		}
		rmdir(w->snap);
		if (w->program) { /* this program's own copy (cp -al) of the root */
			if (rm_tree(w->disk))
				dprintf(2, "bench: cannot remove all of '%s'\n", w->disk);
			continue;
		}
		for (int i = 0; i <= MAX_MEMFORKS; i++) {
			fifo_path(w, p, sizeof(p), i);
			unlink(p);
		}
		snprintf(p, sizeof(p), "%s/%s", w->disk, w->unit);
		unlink(p);
		if (w->extra) {
			snprintf(p, sizeof(p), "%s/%s", w->disk, w->extra);
			unlink(p);
		}
		rmdir(w->disk);
	}
	rmdir(root);
}

/* Copies src to the disk as name, readable by the cells' uid; returns its
 * size.  At most max bytes; into keep (if not NULL) too. */
static size_t copy_in(const struct workload *w, const char *src, const char *name, size_t max,
		      char *keep)
{
	char dst[PATH_MAX], buf[65536];
	snprintf(dst, sizeof(dst), "%s/%s", w->disk, name);
	int in = open(src, O_RDONLY | O_CLOEXEC);
	int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (in < 0 || out < 0)
		die("cannot copy '%s' to '%s': %s", src, dst, strerror(errno));
	size_t total = 0;
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (total + (size_t)n > max)
			die("'%s' is over %zu bytes", src, max);
		if (keep)
			memcpy(keep + total, buf, (size_t)n);
		if (write(out, buf, (size_t)n) != n)
			die("cannot write '%s': %s", dst, strerror(errno));
		total += (size_t)n;
	}
	if (n < 0 || close(out) || chmod(dst, 0644) || !total)
		die("cannot copy '%s' to '%s'", src, dst);
	close(in);
	return total;
}

/* A program's disk: a copy of its root (w->path) made of hard links, as
 * `cp -al` makes it (so the page cache is the root's; a plain copy when
 * /tmp is on another file system), and hold/ for the FIFOs; its unit is its
 * arg, fed to the FIFOs as the handler's name. */
static void copy_root(struct workload *w)
{
	char src[PATH_MAX];
	struct stat a, b;
	if (!realpath(w->path, src) || stat(src, &a) || stat(root, &b))
		die("'%s': %s", w->path, strerror(errno));
	char *argv[] = {"cp", a.st_dev == b.st_dev ? "-al" : "-a", "--", src, w->disk, NULL};
	char *envp[] = {NULL};
	if (a.st_dev != b.st_dev)
		printf("  (%s: %s is on another file system than %s: copied, not linked)\n",
		       w->name, src, root);
	pid_t pid;
	int rc = posix_spawn(&pid, "/bin/cp", NULL, NULL, argv, envp);
	if (rc)
		die("posix_spawn /bin/cp: %s", strerror(rc));
	int st = wait_child(pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("cp -al '%s' '%s' failed (wait status 0x%x)", src, w->disk, st);
	char hold[PATH_MAX];
	snprintf(hold, sizeof(hold), "%s/hold", w->disk);
	if (mkdir(hold, 0755) || chmod(hold, 0755))
		die("cannot make '%s': %s", hold, strerror(errno));
	w->unit_len = (size_t)snprintf(w->unit_data, sizeof(w->unit_data), "%s\n", w->unit);
}

/* A workload's disk: the unit's file, the file its init reads and one FIFO
 * per process of (e), readable by the cells' uid. */
static void make_disk(struct workload *w)
{
	snprintf(w->disk, sizeof(w->disk), "%s/%s", root, w->bin);
	snprintf(w->snap, sizeof(w->snap), "%s/%s-snap", root, w->bin);
	if (w->program) {
		copy_root(w);
	} else {
		if (mkdir(w->disk, 0755) || chmod(w->disk, 0755))
			die("cannot make '%s': %s", w->disk, strerror(errno));
		w->unit_len = copy_in(w, w->unit_src, w->unit, UNIT_MAX, w->unit_data);
		if (w->extra)
			copy_in(w, w->extra_src, w->extra, 64 << 20, NULL);
	}
	for (int i = 0; i <= opt.memforks; i++) {
		char p[PATH_MAX];
		fifo_path(w, p, sizeof(p), i);
		if (mkfifo(p, 0644) || chmod(p, 0644))
			die("mkfifo '%s': %s", p, strerror(errno));
	}
	if (!w->program) /* workload.py prints no such line */
		snprintf(w->arg_line, sizeof(w->arg_line), "get arg: \"%s\"", w->unit);
}

static void make_root(void)
{
	snprintf(root, sizeof(root), "/tmp/bench-workloads-XXXXXX");
	if (!mkdtemp(root))
		die("mkdtemp: %s", strerror(errno));
	atexit(clean);
	if (chmod(root, 0755))
		die("chmod '%s': %s", root, strerror(errno));
}

static void find_files(struct workload *w)
{
	if (w->program) {
		bench_cvm_dir(w->path, sizeof(w->path), w->bin);
		if (access(w->runtime, X_OK))
			die("'%s' (the native %s) is not executable", w->runtime, w->name);
		return;
	}
	bench_cvm_path(w->path, sizeof(w->path), w->bin);
	bench_cvm_path(w->unit_src, sizeof(w->unit_src), w->unit);
	if (w->extra)
		bench_cvm_path(w->extra_src, sizeof(w->extra_src), w->extra);
	if (access(w->path, X_OK))
		die("'%s' is not executable", w->path);
}

/* -w: which workloads run. */
static void pick(const char *names)
{
	for (size_t k = 0; k < NWORKLOADS; k++)
		workloads[k].on = !names;
	for (const char *p = names; p && *p;) {
		size_t len = strcspn(p, ",");
		size_t k = 0;
		while (k < NWORKLOADS &&
		       (strlen(workloads[k].name) != len || strncmp(workloads[k].name, p, len)))
			k++;
		if (k == NWORKLOADS) {
			fprintf(stderr, "workloads: no workload '%.*s' (", (int)len, p);
			for (k = 0; k < NWORKLOADS; k++)
				fprintf(stderr, "%s%s", k ? ", " : "", workloads[k].name);
			fprintf(stderr, ")\n%s", usage);
			exit(2);
		}
		workloads[k].on = 1;
		p += len + (p[len] == ',');
	}
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

static void report_times(const struct workload *w)
{
	printf("\n-- %s, one unit of work: %s --\n", w->name, w->what);
	if (w->program)
		printf("  (a) native cold start: Debian's %s as a plain process (posix_spawn)\n"
		       "      running the root's %s (PYWORKLOAD_NUMPY=0: no numpy, as in the "
		       "root),\n      %s, the unit of work done:\n",
		       w->runtime, w->script + 1, w->init_what);
	else
		printf("  (a) native cold start: the static binary as a plain process "
		       "(posix_spawn),\n      %s, the unit of work done:\n",
		       w->init_what);
	line("posix_spawn -> result line read", &w->nat.result);
	line("posix_spawn -> exit (waitpid)", &w->nat.exit);
	line("(phase) posix_spawn -> its init line read", &w->nat_init);
	if (w->program)
		printf("  (b) cold cVM: a plain cVM, a program (its root checked, cell spawned "
		       "and moved\n      into a memory cgroup, execve %s, %s,\n"
		       "      save() a no-op, the unit of work done):\n",
		       w->runtime, w->init_what);
	else
		printf("  (b) cold cVM: a plain cVM of the same binary (loaded, cell spawned, "
		       "%s,\n      host_save a no-op, the unit of work done):\n",
		       w->init_what);
	line("deploy -> result line relayed", &w->cold.result);
	line("deploy -> exit reaped", &w->cold.exit);
	line("(phase) deploy -> its init line relayed", &w->cold_init);
	if (w->program)
		line("(phase) cell spawned -> released (cgroup move)", &w->cold_move);
	printf("  (c) fork of the template (template deploy -> zygote %.2f ms, over before the\n"
	       "      first request: excluded by construction); fork made (request -> running)\n"
	       "      %.1f us median:\n",
	       series_median(&w->tpl_ready) / 1000.0, series_median(&w->frk_made));
	line("fork request -> result line relayed", &w->frk.result);
	line("fork request -> exit reaped", &w->frk.exit);
	if (w->arg_line[0])
		line("(phase) request -> its \"get arg\" line relayed", &w->frk_arg);
	if (w->restore_state == 1) {
		printf("  (d) restore from an image (pages.img %.2f MiB, written once by a "
		       "template\n"
		       "      run in %.1f ms; page cache warm; pages mapped lazily):\n",
		       w->img_mib, w->img_save_ms);
		line("restore deploy -> result line relayed", &w->rst.result);
		line("restore deploy -> exit reaped", &w->rst.exit);
		if (w->arg_line[0])
			line("(phase) deploy -> its \"get arg\" line relayed", &w->rst_arg);
		if (w->program)
			line("(phase) cell spawned -> released (cgroup move)", &w->rst_move);
	} else {
		printf("  (d) restore from an image: failed, not measured (%s)\n", w->restore_why);
	}
}

static void report_ratios(const struct workload *w)
{
	double nr = series_median(&w->nat.result), ne = series_median(&w->nat.exit);
	double fr = series_median(&w->frk.result), fe = series_median(&w->frk.exit);
	double cr = series_median(&w->cold.result), ce = series_median(&w->cold.exit);
	printf("  ratios (of medians):\n");
	printf("      native cold start / fork, to the result:   %6.1fx faster (target >= %.0fx: "
	       "%s)\n",
	       nr / fr, w->target, verdict(nr / fr >= w->target));
	printf("      native cold start / fork, to exit:         %6.1fx faster (info)\n", ne / fe);
	printf("      cold cVM / fork, to the result:            %6.1fx faster (info); to exit "
	       "%.1fx\n",
	       cr / fr, ce / fe);
	printf("      cold cVM / native cold start, to the result: %4.2fx        (info)\n",
	       cr / nr);
	if (w->restore_state == 1) {
		double rr = series_median(&w->rst.result), re = series_median(&w->rst.exit);
		printf("      native cold start / restore, to the result: %5.1fx faster (info); to "
		       "exit %.1fx\n",
		       nr / rr, ne / re);
		printf("      restore / fork, to the result:             %6.2fx        (info)\n",
		       rr / fr);
	}
}

static void report_memory(const struct workload *w)
{
	int n = opt.memforks;
	long fpss = 0, frss = 0, fdirty = 0;
	for (int i = 0; i < n; i++) {
		fpss += w->fork_mem[i].pss_kb;
		frss += w->fork_mem[i].rss_kb;
		fdirty += w->fork_mem[i].priv_dirty_kb;
	}
	double with_tpl = mib(fpss + w->tpl_mem.pss_kb), npss = mib(w->native_mem.pss_kb);
	printf("\n== %s (e) memory: %d concurrent forks, each blocked after its start opening "
	       "its\n"
	       "   unit's file (a FIFO), against one native process blocked the same way right "
	       "after its init ==\n",
	       w->name, n);
	printf("  native process: PSS %.2f MiB, RSS %.2f MiB (anonymous %.2f)\n", npss,
	       mib(w->native_mem.rss_kb), mib(w->native_mem.anon_kb));
	printf("  forks: PSS %.2f MiB in all (%.3f each), RSS %.2f MiB each, private dirty "
	       "%.2f MiB each;\n         template PSS %.2f MiB\n",
	       mib(fpss), mib(fpss) / n, mib(frss) / n, mib(fdirty) / n, mib(w->tpl_mem.pss_kb));
	printf("  %d forks + their template, PSS %.2f MiB vs one native process's PSS %.2f MiB: "
	       "ratio %.2f (target <= 1.5x: %s)\n",
	       n, with_tpl, npss, with_tpl / npss, verdict(with_tpl / npss <= 1.5));
	printf("    (the forks' PSS alone: ratio %.2f; %d native processes would be about "
	       "%.2f MiB of PSS)\n",
	       mib(fpss) / npss, n, npss * n);
}

static void round_of(struct workload *w, int r)
{
	if (r & 1) { /* alternate the order */
		restore_round(w);
		fork_round(w);
		cold_round(w);
		native_round(w);
	} else {
		native_round(w);
		cold_round(w);
		fork_round(w);
		restore_round(w);
	}
}

int main(int argc, char **argv)
{
	int c;
	while ((c = bench_getopt(argc, argv, "c:r:k:m:w:", &opt.verbose)) != -1) {
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
		case 'w':
			opt.only = optarg;
			break;
		}
	}
	pick(opt.only);
	bench_init(opt.verbose, 0);
	opt.cpu = bench_pin(opt.cpu, ""); /* before any thread or child exists */
	bench_find_here();
	make_root();
	for (size_t k = 0; k < NWORKLOADS; k++)
		if (workloads[k].on) {
			find_files(&workloads[k]);
			make_disk(&workloads[k]);
		}
	uint64_t t0 = now_ns();
	printf("\n== workloads: %d rounds of, per workload, %d native runs, %d cold cVMs, a "
	       "template and %d\n"
	       "   forks, %d restores from an image; +1 warm-up each, dropped; medians over the "
	       "rest ==\n",
	       opt.rounds, opt.k, opt.k, opt.k, opt.k);
	for (int r = 0; r < opt.rounds; r++)
		for (size_t k = 0; k < NWORKLOADS; k++)
			if (workloads[k].on)
				round_of(&workloads[k], r);
	for (size_t k = 0; k < NWORKLOADS; k++)
		if (workloads[k].on) {
			native_memory(&workloads[k]);
			fork_memory(&workloads[k]);
		}
	for (size_t k = 0; k < NWORKLOADS; k++)
		if (workloads[k].on) {
			report_times(&workloads[k]);
			report_ratios(&workloads[k]);
			report_memory(&workloads[k]);
		}
	printf("\n(total %.1f s)\n", (double)(now_ns() - t0) / 1e9);
	return 0;
}
