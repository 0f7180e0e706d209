/*
 * common.c - the helpers the bench programs share (common.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "access/access.h"
#include "basic/basic.h"
#include "capfile/capfile.h"
#include "channel/channel.h"
#include "common.h"
#include "image/image.h"
#include "nested/nested.h"
#include "tfork/tfork.h"

volatile sig_atomic_t timed_out;
static volatile sig_atomic_t in_iv_run;
static int verbose;
static int err_fd = 2;	    /* the real stderr, also while the monitor's is captured */
static char here[PATH_MAX]; /* the directory of this executable */

/* ---- the program ---- */

void die(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fflush(stdout);
	dprintf(err_fd, "bench: error: %s\n", msg);
	exit(1);
}

int bench_getopt(int argc, char **argv, const char *own, int *verbose)
{
	char optstring[64];
	snprintf(optstring, sizeof(optstring), "%svh", own);
	for (;;) {
		int c = getopt(argc, argv, optstring);
		switch (c) {
		case 'v':
			(*verbose)++;
			continue;
		case 'h':
			fputs(bench_prog.usage, stdout);
			exit(0);
		case '?':
		case ':':
			fputs(bench_prog.usage, stderr);
			exit(2);
		case -1:
			if (optind != argc) {
				fputs(bench_prog.usage, stderr);
				exit(2);
			}
			return -1;
		default:
			return c;
		}
	}
}

int parse_int(const char *s, int lo, int hi, const char *what)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < lo || v > hi) {
		fprintf(stderr, "%s: %s must be a number from %d to %d, got '%s'\n%s",
			bench_prog.name, what, lo, hi, s, bench_prog.usage);
		exit(2);
	}
	return (int)v;
}

/* The watchdog: an overdue monitor run is ended the way a user would end it
 * (SIGTERM reaches its signalfd); an overdue peer is killed by its waiter. */
static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
	if (in_iv_run)
		kill(getpid(), SIGTERM);
}

void watchdog_arm(void)
{
	timed_out = 0;
	alarm((unsigned)bench_prog.timeout_s);
}

void watchdog_disarm(void)
{
	alarm(0);
}

/* The capture of the monitor's stderr in force, for the fatal-signal handler. */
static volatile int live_saved = -1, live_log = -1;

/* Should the process die while the monitor's stderr is captured, say so and
 * show what was captured (glibc's own abort message among it) on the real
 * stderr; then die of the same signal. */
static void on_fatal(int sig)
{
	int saved = live_saved, log = live_log;
	if (saved >= 0 && log >= 0) {
		static const char head[] = "bench: died of a fatal signal during a monitor run; "
					   "the monitor's stderr said:\n";
		char buf[4096];
		ssize_t n;
		off_t off = 0;
		if (write(saved, head, sizeof(head) - 1) < 0)
			_exit(128 + sig);
		while ((n = pread(log, buf, sizeof(buf), off)) > 0 &&
		       write(saved, buf, (size_t)n) == n)
			off += n;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

void bench_init(int v, int catch_fatal)
{
	verbose = v;
	iv_verbose = v > 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART: interrupts the waits */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL))
		die("sigaction: %s", strerror(errno));
	static const int fatal[] = {SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE};
	for (size_t i = 0; catch_fatal && i < sizeof(fatal) / sizeof(fatal[0]); i++) {
		struct sigaction fa = {.sa_handler = on_fatal, .sa_flags = SA_RESETHAND};
		sigemptyset(&fa.sa_mask);
		if (sigaction(fatal[i], &fa, NULL))
			die("sigaction: %s", strerror(errno));
	}
}

/* ---- time ---- */

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void sleep_ns(long ns)
{
	struct timespec ts = {ns / 1000000000L, ns % 1000000000L};
	nanosleep(&ts, NULL);
}

double span_us(uint64_t a, uint64_t b)
{
	return b >= a ? (double)(b - a) / 1000.0 : -(double)(a - b) / 1000.0;
}

/* ---- statistics ---- */

void series_add(struct series *s, double x)
{
	if (s->n == SERIES_MAX) {
		if (s->name)
			die("%s: more than %d samples", s->name, SERIES_MAX);
		die("more than %d samples", SERIES_MAX);
	}
	s->v[s->n++] = x;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double series_quantile(const struct series *s, double q)
{
	static double tmp[SERIES_MAX];
	if (s->n == 0)
		return 0;
	memcpy(tmp, s->v, s->n * sizeof(double));
	qsort(tmp, s->n, sizeof(double), cmp_double);
	double pos = q * (double)(s->n - 1);
	size_t i = (size_t)pos;
	double frac = pos - (double)i;
	return i + 1 < s->n ? tmp[i] + frac * (tmp[i + 1] - tmp[i]) : tmp[i];
}

double series_median(const struct series *s)
{
	return series_quantile(s, 0.5);
}

const char *series_spread(const struct series *s, int decimals)
{
	static char buf[8][128];
	static int k;
	char *b = buf[k++ % 8];
	snprintf(b, 128, "[min %.*f  q1 %.*f  q3 %.*f  max %.*f  n=%zu]", decimals,
		 series_quantile(s, 0), decimals, series_quantile(s, 0.25), decimals,
		 series_quantile(s, 0.75), decimals, series_quantile(s, 1), s->n);
	return b;
}

const char *verdict(int met)
{
	return met ? "met" : "NOT met";
}

/* ---- CPUs ---- */

int bench_pin(int cpu, const char *extra)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set))
		die("sched_getaffinity: %s", strerror(errno));
	int allowed = CPU_COUNT(&set);
	if (cpu < 0) {
		for (int c = CPU_SETSIZE - 1; c >= 0 && cpu < 0; c--)
			if (CPU_ISSET(c, &set))
				cpu = c;
	} else if (cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &set)) {
		die("CPU %d is not one this process may run on", cpu);
	}
	if (cpu < 0)
		die("no CPU to run on");
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity(CPU %d): %s", cpu, strerror(errno));
	struct utsname u;
	uname(&u);
	printf("bench/%s: pinned to CPU %d (of %d allowed, %ld online); Linux %s%s\n",
	       bench_prog.name, cpu, allowed, sysconf(_SC_NPROCESSORS_ONLN), u.release, extra);
	printf("  every cVM cell, monitor thread and peer process inherits this affinity\n");
	return cpu;
}

uint64_t cpu_mask_word(int cpu)
{
	return cpu < 64 ? 1ULL << cpu : 0;
}

/* ---- files next to the program ---- */

void bench_find_here(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		die("cannot find this program's own path");
	self[n] = 0;
	snprintf(here, sizeof(here), "%s", dirname(self));
	char stub[PATH_MAX + 16];
	snprintf(stub, sizeof(stub), "%s/iv-cell", here);
	if (access(stub, R_OK))
		die("the cell stub '%s' is missing (the monitor looks for it next to its "
		    "executable; run `make %s`)",
		    stub, bench_prog.make_target);
}

const char *bench_here(void)
{
	return here;
}

void bench_peer_path(char *buf, size_t len)
{
	if ((size_t)snprintf(buf, len, "%s/peer_start", here) >= len)
		die("path too long");
	if (access(buf, X_OK))
		die("the spawn peer '%s' is missing (run `make %s`)", buf, bench_prog.make_target);
}

void bench_cvm_path(char *buf, size_t len, const char *so)
{
	if ((size_t)snprintf(buf, len, "%s/cvm/%s", here, so) >= len)
		die("path too long");
	struct stat st;
	if (stat(buf, &st) || !S_ISREG(st.st_mode))
		die("cVM runtime '%s' is missing (run `make %s`)", buf, bench_prog.make_target);
}

void bench_cvm_dir(char *buf, size_t len, const char *name)
{
	if ((size_t)snprintf(buf, len, "%s/cvm/%s", here, name) >= len)
		die("path too long");
	struct stat st;
	if (stat(buf, &st) || !S_ISDIR(st.st_mode))
		die("cVM root '%s' is missing (run `make %s`)", buf, bench_prog.make_target);
}

static int rm_failed;

/* Removes one entry, children first (FTW_DEPTH); goes on past a failure. */
static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((type == FTW_DP ? rmdir(path) : unlink(path)) && errno != ENOENT)
		rm_failed = 1;
	return 0;
}

int rm_tree(const char *path)
{
	rm_failed = 0;
	if (nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) && errno != ENOENT)
		return -1;
	return rm_failed ? -1 : 0;
}

/* ---- generated configs ---- */

void gen_begin(struct gen *g, const char *cap, int cap_size, const char *runtime)
{
	g->text = NULL;
	g->len = 0;
	g->n = 0;
	g->runtime = runtime;
	g->range = CVM_SIZE;
	g->f = open_memstream(&g->text, &g->len);
	if (!g->f)
		die("open_memstream: %s", strerror(errno));
	fprintf(g->f, "---\ncapfiles:\n- name: %s\n  size: %d\n---\ncVMs:\n", cap, cap_size);
}

void gen_cvm(struct gen *g, const char *name, const char *args, int tpl, int range, long wait,
	     const char *extra)
{
	fprintf(g->f, "- name: %s\n  runtime: \"%s\"\n  wait: %ld\n", name, g->runtime, wait);
	if (args)
		fprintf(g->f, "  args: \"%s\"\n", args);
	if (tpl)
		fprintf(g->f, "  template: 1\n");
	if (range < 0) {
		fprintf(g->f, "  resume: 1\n");
	} else {
		unsigned long base = CVM_BASE + (unsigned long)range * g->range;
		fprintf(g->f,
			"  isolation:\n  - base: 0x%lx\n    size: 0x%lx\n    begin: 0x%lx\n"
			"    end: 0x%lx\n  callback_out: monitor\n",
			base, g->range, base, base + g->range);
	}
	if (extra)
		fprintf(g->f, "%s", extra);
	g->n++;
}

void gen_program(struct gen *g, const char *name, const char *args_yaml, int tpl, long wait,
		 const char *extra)
{
	fprintf(g->f, "- name: %s\n  runtime: \"%s\"\n  args: %s\n  wait: %ld\n", name, g->runtime,
		args_yaml, wait);
	if (tpl)
		fprintf(g->f, "  template: 1\n");
	if (extra)
		fprintf(g->f, "%s", extra);
	g->n++;
}

void yaml_quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void gen_prog_entry(struct gen *g, const struct gen_prog *p)
{
	fprintf(g->f, "- name: %s\n  disk: ", p->name);
	yaml_quoted(g->f, p->disk);
	fprintf(g->f, "\n  runtime: ");
	yaml_quoted(g->f, p->runtime);
	fprintf(g->f, "\n  args: [");
	for (int i = 0; p->argv[i]; i++) {
		fputs(i ? ", " : "", g->f);
		yaml_quoted(g->f, p->argv[i]);
	}
	fprintf(g->f, "]\n");
	if (p->disk_ro)
		fprintf(g->f, "  disk_ro: 1\n");
	if (p->env) {
		fprintf(g->f, "  env: [");
		for (int i = 0; p->env[i]; i++) {
			fputs(i ? ", " : "", g->f);
			yaml_quoted(g->f, p->env[i]);
		}
		fprintf(g->f, "]\n");
	}
	if (p->cwd) {
		fprintf(g->f, "  cwd: ");
		yaml_quoted(g->f, p->cwd);
		fputc('\n', g->f);
	}
	if (p->stdin_path) {
		fprintf(g->f, "  stdin: ");
		yaml_quoted(g->f, p->stdin_path);
		fputc('\n', g->f);
	}
	g->n++;
}

int gen_end(struct gen *g, const char *label, struct iv_config *cfg, struct iv_err *err)
{
	if (fclose(g->f))
		die("cannot generate the config for '%s'", label);
	char cfgname[128];
	snprintf(cfgname, sizeof(cfgname), "<bench %s config>", label);
	int rc = iv_config_parse(cfgname, g->text, g->len, cfg, err);
	free(g->text);
	return rc;
}

/* ---- one monitor run ---- */

struct capture {
	int saved, log;
};

/* Sends the monitor's stderr (its MON: lines) to a memfd, kept for errors. */
static void capture_begin(struct capture *c)
{
	c->saved = c->log = -1;
	if (verbose)
		return;
	fflush(stdout);
	fflush(stderr);
	c->saved = dup(2);
	c->log = memfd_create("bench-monitor-log", MFD_CLOEXEC);
	if (c->saved < 0 || c->log < 0 || dup2(c->log, 2) < 0)
		die("cannot capture the monitor's stderr: %s", strerror(errno));
	fcntl(c->saved, F_SETFD, FD_CLOEXEC);
	err_fd = c->saved;
	live_log = c->log;
	live_saved = c->saved;
}

/* Puts the real stderr back; with show, first copies what was captured to it. */
static void capture_end(struct capture *c, int show)
{
	if (c->saved < 0)
		return;
	fflush(stderr);
	live_saved = live_log = -1;
	dup2(c->saved, 2);
	close(c->saved);
	err_fd = 2;
	if (show && lseek(c->log, 0, SEEK_END) > 0) {
		char buf[4096];
		ssize_t n;
		off_t off = 0;
		dprintf(2, "bench: --- the monitor said:\n");
		while ((n = pread(c->log, buf, sizeof(buf), off)) > 0) {
			if (write(2, buf, (size_t)n) != n)
				break;
			off += n;
		}
		dprintf(2, "bench: ---\n");
	}
	close(c->log);
	c->saved = c->log = -1;
}

int bench_run_monitor(struct iv_config *cfg, struct bench_run *r, char *why, size_t whylen)
{
	struct iv_run run;
	struct iv_err err;
	struct capture log;
	memset(r->cap, 0, r->cap_size);
	memset(r->t, 0, r->max_cvms * sizeof(*r->t));
	r->ncvms = 0;
	if (cfg->ncvms > r->max_cvms)
		die("too many cVMs in one run");
	sigset_t mask;
	pthread_sigmask(SIG_SETMASK, NULL, &mask); /* iv_run_init blocks SIGCHLD, SIGINT, ... */
	capture_begin(&log);
	/* the monitor's features, as main() registers them */
	iv_feature_register(&iv_feature_basic);
	iv_feature_register(&iv_feature_access);
	iv_feature_register(&iv_feature_capfile);
	iv_feature_register(&iv_feature_channel);
	iv_feature_register(&iv_feature_tfork);
	iv_feature_register(&iv_feature_image);
	iv_feature_register(&iv_feature_nested);
	if (iv_run_init(&run, cfg, &err)) {
		iv_run_free(&run);
		pthread_sigmask(SIG_SETMASK, &mask, NULL);
		capture_end(&log, 1);
		die("monitor: %s", err.msg);
	}
	if (r->hooks && r->hooks->start)
		r->hooks->start(&run, r->hooks->ctx);
	in_iv_run = 1;
	watchdog_arm();
	run.pool_size = r->pool;
	int status = iv_run(&run);
	watchdog_disarm();
	in_iv_run = 0;
	if (r->hooks && r->hooks->end)
		r->hooks->end(&run, r->hooks->ctx);

	char fail[700] = "";
	r->ncvms = run.ncvms;
	for (size_t i = 0; i < run.ncvms; i++) {
		struct iv_cvm *c = &run.cvms[i];
		r->t[i] = (struct cvm_times){
			c->t[IV_T_DEPLOY],  c->t[IV_T_LOADED], c->t[IV_T_CELL], c->t[IV_T_FIRST_HC],
			c->t[IV_T_RUNNING], c->t[IV_T_SAVED],  c->t[IV_T_EXIT], c->t[IV_T_DONE]};
		if (!fail[0] && (c->state != IV_CVM_DONE || !iv_cvm_ok(c)))
			snprintf(fail, sizeof(fail), "cVM '%s' did not end well%s%s", c->cfg->name,
				 c->fail[0] ? ": " : "", c->fail);
		if (!fail[0] && (!c->t[IV_T_DEPLOY] || c->t[IV_T_RUNNING] < c->t[IV_T_DEPLOY] ||
				 c->t[IV_T_DONE] < c->t[IV_T_RUNNING]))
			snprintf(fail, sizeof(fail), "cVM '%s': inconsistent monitor timestamps",
				 c->cfg->name);
	}
	struct iv_cap *cap = iv_cap_find(r->cap_name);
	ssize_t n = cap ? pread(cap->fd, r->cap, r->cap_size, 0) : -1;
	if (!fail[0] && n != (ssize_t)r->cap_size)
		snprintf(fail, sizeof(fail), "cannot read cap file '%s': %s", r->cap_name,
			 cap ? strerror(errno) : "not found");
	if (!fail[0] && status != 0)
		snprintf(fail, sizeof(fail), "the monitor ended with status %d", status);
	if (!fail[0] && r->check && r->check(&run, r->cap, r->check_ctx, fail, sizeof(fail)) &&
	    !fail[0])
		snprintf(fail, sizeof(fail), "what the cVMs left in cap file '%s' is incomplete",
			 r->cap_name);
	iv_run_free(&run);
	pthread_sigmask(SIG_SETMASK, &mask, NULL); /* so that ^C works between runs */

	capture_end(&log, !why && (timed_out || fail[0]));
	if (timed_out)
		snprintf(fail, sizeof(fail), "the monitor run did not finish within %d s",
			 bench_prog.timeout_s);
	if (!fail[0])
		return 0;
	if (!why)
		die("%s", fail);
	snprintf(why, whylen, "%s", fail);
	return -1;
}

int cvm_first_ok(const struct cvm_times *c, uint64_t t_first)
{
	return c->t_deploy <= c->t_cell && c->t_cell <= t_first;
}

/* ---- processes ---- */

int wait_child(pid_t pid)
{
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return st;
}

int spawn_fd3(const char *path, char *const argv[], pid_t *pid, uint64_t *t0)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		die("spawn: pipe: %s", strerror(errno));
	/* keep the write end off fd 3, where dup2 would leave it close-on-exec */
	int w = fcntl(p[1], F_DUPFD_CLOEXEC, 10);
	if (w < 0)
		die("spawn: fcntl: %s", strerror(errno));
	close(p[1]);
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none;
	sigemptyset(&none);
	if (posix_spawn_file_actions_init(&fa) || posix_spawn_file_actions_adddup2(&fa, w, 3) ||
	    posix_spawnattr_init(&at) || posix_spawnattr_setsigmask(&at, &none) ||
	    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK))
		die("spawn: cannot set up posix_spawn attributes");
	char *envp[] = {NULL};
	fflush(stdout);
	if (t0)
		*t0 = now_ns();
	int rc = posix_spawn(pid, path, &fa, &at, argv, envp);
	if (rc)
		die("posix_spawn '%s': %s", path, strerror(rc));
	close(w);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return p[0];
}

void spawn_peer(const char *path, int cpu, double *first_us, double *exit_us)
{
	char *argv[] = {"peer_start", NULL};
	pid_t pid;
	uint64_t t0;
	watchdog_arm();
	int fd = spawn_fd3(path, argv, &pid, &t0);
	uint64_t got[2] = {0, 0}; /* its CLOCK_MONOTONIC first thing, its CPU mask */
	ssize_t n;
	while ((n = read(fd, got, sizeof(got))) < 0 && errno == EINTR && !timed_out)
		;
	if (n != sizeof(got))
		kill(pid, SIGKILL);
	int st = wait_child(pid);
	uint64_t t_exit = now_ns();
	watchdog_disarm();
	close(fd);
	if (n != sizeof(got))
		die("spawn peer sent %zd bytes instead of its timestamp and CPU mask%s", n,
		    timed_out ? " (timed out)" : "");
	if (got[1] != cpu_mask_word(cpu))
		die("spawn peer's CPU mask is 0x%llx, not CPU %d alone", (unsigned long long)got[1],
		    cpu);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("spawn peer ended with wait status 0x%x", st);
	if (got[0] < t0 || got[0] > t_exit)
		die("spawn peer: inconsistent timestamps");
	*first_us = span_us(t0, got[0]);
	*exit_us = span_us(t0, t_exit);
}

/* Rss/Pss of pid from smaps_rollup, page tables from status; 0 or -1. */
int mem_of(pid_t pid, struct mem *m)
{
	char path[64], line[256];
	memset(m, 0, sizeof(*m));
	m->rss_kb = m->pss_kb = -1;
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "Rss: %ld kB", &m->rss_kb);
		sscanf(line, "Pss: %ld kB", &m->pss_kb);
		sscanf(line, "Anonymous: %ld kB", &m->anon_kb);
		sscanf(line, "Private_Dirty: %ld kB", &m->priv_dirty_kb);
	}
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		sscanf(line, "VmPTE: %ld kB", &m->pte_kb);
	if (f)
		fclose(f);
	return m->rss_kb < 0 || m->pss_kb < 0 ? -1 : 0;
}

int bench_all_cpus(cpu_set_t *old)
{
	cpu_set_t all;
	CPU_ZERO(&all);
	for (long c = 0; c < sysconf(_SC_NPROCESSORS_ONLN) && c < CPU_SETSIZE; c++)
		CPU_SET((int)c, &all);
	if (sched_getaffinity(0, sizeof(*old), old))
		return -1;
	return sched_setaffinity(0, sizeof(all), &all);
}

double bench_spawn_rate(const char *peer, int n)
{
	char *argv[] = {"peer_start", NULL};
	pid_t pid[256];
	int fd[256];
	if (n > 256)
		die("bench_spawn_rate: at most 256 at once");
	uint64_t t0 = now_ns();
	for (int i = 0; i < n; i++)
		fd[i] = spawn_fd3(peer, argv, &pid[i], NULL);
	for (int i = 0; i < n; i++) {
		int st = wait_child(pid[i]);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			die("spawn peer ended with wait status 0x%x", st);
		close(fd[i]);
	}
	return n / (span_us(t0, now_ns()) / 1e6);
}

double bench_deploy_rate(const struct cvm_times *t, int n)
{
	uint64_t lo = t[0].t_deploy, hi = t[0].t_done;
	for (int i = 1; i < n; i++) {
		lo = t[i].t_deploy < lo ? t[i].t_deploy : lo;
		hi = t[i].t_done > hi ? t[i].t_done : hi;
	}
	return n / (span_us(lo, hi) / 1e6);
}
