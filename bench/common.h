/*
 * common.h - what bench/hostcall, bench/tfork and bench/workloads share:
 * the error exit and the watchdog, time and statistics helpers, CPU
 * pinning, the paths of what `make` puts next to the program (and removing
 * what a program made), generated monitor configs, one run of the
 * in-process monitor (build/libintravisor.a) with its stderr captured and
 * its cap file read back, and the posix_spawn peer (bench/peer_start).
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <signal.h>
#include <stddef.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "iv.h"

/* ---- the program ---- */

/* What the program using these helpers is: it defines bench_prog. */
struct bench_prog {
	const char *name;	 /* "hostcall": in usage errors and "bench/NAME: pinned ..." */
	const char *usage;	 /* for -h and after bad usage */
	const char *make_target; /* what builds the files it needs: "bench" */
	int timeout_s;		 /* per monitor run / peer process */
};
extern const struct bench_prog bench_prog;

/* Set by the watchdog (SIGALRM) when a monitor run or a peer is overdue. */
extern volatile sig_atomic_t timed_out;

/* Takes the -v count (> 0: the monitor's stderr is not captured; > 1: its
 * verbose log too) and whether a fatal signal should show what the
 * monitor's captured stderr said; line-buffers stdout and installs the
 * watchdog.  Returns nothing; dies on failure.  Call once the options are
 * read, before anything else. */
void bench_init(int verbose, int catch_fatal);

/* Takes a printf format and its arguments; prints "bench: error: ..." on
 * the real stderr (also while the monitor's is captured) and exits 1. */
__attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...);

/* Takes main's argc and argv, the program's own options in getopt form
 * (without v and h) and where it counts -v; returns the next of its own
 * options (optarg set as by getopt), or -1 once all are read.  Handles -v
 * (adds 1 to *verbose), -h (the usage on stdout, exit 0) and an unknown
 * option or an operand (the usage on stderr, exit 2) itself. */
int bench_getopt(int argc, char **argv, const char *own, int *verbose);

/* Takes an option's value s, its bounds and its name (what, "-c CPU");
 * returns s as an int, or prints why not and the usage and exits 2. */
int parse_int(const char *s, int lo, int hi, const char *what);

/* Takes nothing; clears timed_out and sets the watchdog to
 * bench_prog.timeout_s seconds. */
void watchdog_arm(void);

/* Takes nothing; cancels the watchdog (timed_out stays as it is). */
void watchdog_disarm(void);

/* ---- time ---- */

/* Takes nothing; returns CLOCK_MONOTONIC in ns. */
uint64_t now_ns(void);

/* Takes a duration in ns; sleeps that long (an interrupted sleep ends early). */
void sleep_ns(long ns);

/* Takes two timestamps in ns; returns b - a in us, negative when b < a. */
double span_us(uint64_t a, uint64_t b);

/* ---- statistics ---- */

#define SERIES_MAX 4096 /* samples one series holds */

/* Samples of one measurement. */
struct series {
	const char *name; /* for the error when it is full (may be NULL) */
	double v[SERIES_MAX];
	size_t n;
};

/* Takes a series and a sample; appends it, or dies when the series is full. */
void series_add(struct series *s, double x);

/* Takes a series and q in [0, 1]; returns its q-quantile, interpolated
 * between neighbours (0 for an empty series). */
double series_quantile(const struct series *s, double q);

/* Takes a series; returns its median (series_quantile 0.5). */
double series_median(const struct series *s);

/* Takes a series and how many decimals to print; returns
 * "[min A  q1 B  q3 C  max D  n=N]" in one of 8 static buffers used in
 * turn (so up to 8 can be in one printf). */
const char *series_spread(const struct series *s, int decimals);

/* Takes whether a target is met; returns "met" or "NOT met". */
const char *verdict(int met);

/* ---- CPUs ---- */

/* Takes a CPU (-1: the highest this process may use) and what to add to
 * the line that says so (or ""); pins the process to that CPU alone, prints
 * "bench/NAME: pinned to CPU ..." (with the kernel release, then extra) and
 * that everything started later inherits it, and returns the CPU.  Dies
 * when the CPU is not one this process may use. */
int bench_pin(int cpu, const char *extra);

/* Takes a CPU; returns the first word of a CPU mask holding it alone (0 for
 * CPU 64 and up), which is what the cVMs and the spawn peer report. */
uint64_t cpu_mask_word(int cpu);

/* ---- files next to the program ---- */

/* Takes nothing; notes the directory of this executable and checks that
 * the cell stub (iv-cell, which the monitor looks for next to its own
 * executable) is there.  Dies when it is not. */
void bench_find_here(void);

/* Takes nothing; returns the directory of this executable (bench_find_here
 * must have run). */
const char *bench_here(void);

/* Takes a buffer; writes the path of the spawn peer (peer_start, next to
 * this executable) into it.  Dies when it is not an executable. */
void bench_peer_path(char *buf, size_t len);

/* Takes a buffer and a cVM runtime's file name; writes its path (cvm/so,
 * next to this executable) into it.  Dies when it is not a file. */
void bench_cvm_path(char *buf, size_t len, const char *so);

/* Takes a buffer and a directory's name in cvm/ (a workload's root, often
 * a link to build/roots/...); writes its path into it.  Dies when it is not
 * a directory. */
void bench_cvm_dir(char *buf, size_t len, const char *name);

/* Takes a directory this program made (under a directory of its own from
 * mkdtemp); removes it and everything in it, without following links or
 * leaving its file system.  0, or -1 when something stayed. */
int rm_tree(const char *path);

/* ---- generated configs ---- */

#define CVM_BASE 0x20000000UL /* where the first range starts */
#define CVM_SIZE 0x10000000UL /* 256 MiB per range: heap, image, stacks */

/* A config being generated, as YAML text, parsed at the end. */
struct gen {
	char *text;
	size_t len;
	FILE *f;
	int n;		     /* cVMs so far */
	const char *runtime; /* the cVMs' runtime */
	unsigned long range; /* bytes per range (gen_begin: CVM_SIZE) */
};

/* Takes a gen, the cap file (name and size) every cVM gets and the path of
 * the cVMs' runtime; starts the config.  Dies on failure. */
void gen_begin(struct gen *g, const char *cap, int cap_size, const char *runtime);

/* Takes a gen and a cVM's name, args (NULL: none), whether it is a template, its range
 * (>= 0: range number range, each g->range bytes from CVM_BASE; < 0: a
 * fork, which keeps its template's), its wait and extra YAML lines (or
 * NULL); adds the cVM. */
void gen_cvm(struct gen *g, const char *name, const char *args, int tpl, int range, long wait,
	     const char *extra);

/* Takes a gen, a cVM's name, its args as a YAML value (a flow list such as
 * "[python3, /app/w.py]", or a quoted string), whether it is a template, its
 * wait and extra YAML lines (its disk: required for a program's runtime
 * inside it; or NULL); adds a program (no isolation range: README
 * "Programs") of the gen's runtime. */
void gen_program(struct gen *g, const char *name, const char *args_yaml, int tpl, long wait,
		 const char *extra);
/* Takes a stream and a string; writes the string as a YAML double-quoted
 * scalar (backslash, quote and control characters escaped). */
void yaml_quoted(FILE *f, const char *s);

/* A program cVM (README "Programs"): no isolation range, its root a disk. */
struct gen_prog {
	const char *name;
	const char *disk;	 /* the cVM's root directory (host path) */
	int disk_ro;		 /* mounted read-only */
	const char *runtime;	 /* absolute: inside the disk */
	const char *const *argv; /* NULL-terminated */
	const char *const *env;	 /* NAME=value, NULL-terminated; NULL: the default */
	const char *cwd;	 /* inside the disk, or NULL */
	const char *stdin_path;	 /* a file inside the disk, or NULL (an empty stream) */
};

/* Takes a gen (its runtime unused) and a program; adds the program cVM. */
void gen_prog_entry(struct gen *g, const struct gen_prog *p);

/* Takes a gen, a label for the config's name and where to put it; parses
 * the config and frees the text.  Returns 0, or -1 with the parser's
 * message in err.  Dies when the text cannot be finished. */
int gen_end(struct gen *g, const char *label, struct iv_config *cfg, struct iv_err *err);

/* ---- one monitor run ---- */

/* A cVM's phases as the monitor noted them (CLOCK_MONOTONIC ns, struct
 * iv_cvm): deploy (a fork: requested), image planned, cell spawned, first
 * hostcall, released (go sent; a fork: taken over), template frozen, exit
 * hostcall, reaped. */
struct cvm_times {
	uint64_t t_deploy, t_loaded, t_cell, t_first_hc, t_running, t_saved, t_exit, t_done;
};

/* Takes an ended run, the cap file read back and a context; returns 0 when
 * what the cVMs left is complete, else -1 with why in why[len]. */
typedef int (*bench_check_fn)(const struct iv_run *run, const void *cap, const void *ctx, char *why,
			      size_t len);

/* Called with ctx once a run is initialised (caps exist; threads started
 * now inherit the monitor's signal mask), and once it ended. */
struct bench_hooks {
	void (*start)(struct iv_run *run, void *ctx);
	void (*end)(struct iv_run *run, void *ctx);
	void *ctx;
};

/* What bench_run_monitor is to do and gives back. */
struct bench_run {
	const char *cap_name;		 /* the cap file read back once the run ended ... */
	void *cap;			 /* ... into cap, ... */
	size_t cap_size;		 /* ... all cap_size bytes of it */
	struct cvm_times *t;		 /* the cVMs' times, in config order ... */
	size_t max_cvms;		 /* ... room for this many (more cVMs: dies) */
	size_t ncvms;			 /* out: how many cVMs ran */
	bench_check_fn check;		 /* optional: called once all else is fine ... */
	const void *check_ctx;		 /* ... with this */
	const struct bench_hooks *hooks; /* optional */
	int pool;			 /* cells made ahead (the monitor's --pool) */
};

/* Takes a parsed config, what to do (r) and optionally a buffer for why
 * it failed; runs every cVM of cfg in one iv_run_init / iv_run /
 * iv_run_free, the monitor's stderr captured, under the watchdog.
 * Returns 0 when every cVM ended well with consistent times, the cap was
 * read and r->check is happy.  Else, without why: dies, showing what the
 * monitor said; with why: returns -1 with the reason in why[whylen]. */
int bench_run_monitor(struct iv_config *cfg, struct bench_run *r, char *why, size_t whylen);

/* Takes a cVM's monitor times and its own CLOCK_MONOTONIC of its first
 * instruction; returns 1 when deploy <= cell spawned <= first instruction,
 * else 0.  t_running may come after t_first: the cVM can run before the
 * monitor notes that it sent go; its cell was spawned before. */
int cvm_first_ok(const struct cvm_times *c, uint64_t t_first);

/* ---- processes ---- */

/* Takes a child's pid; waits for it (again after EINTR) and returns its
 * wait status (0 when waitpid fails). */
int wait_child(pid_t pid);

/* Takes a program's path and argv; starts it by posix_spawn, with no
 * environment, no signal blocked and fd 3 the write end of a new pipe.
 * Returns the pipe's read end, the child in *pid and, unless t0 is NULL,
 * now_ns() right before posix_spawn in *t0.  Dies on failure. */
int spawn_fd3(const char *path, char *const argv[], pid_t *pid, uint64_t *t0);

/* Takes the spawn peer's path and the CPU it must find itself pinned to;
 * runs it once, under the watchdog, and returns posix_spawn -> its first
 * instruction in *first_us and posix_spawn -> waitpid in *exit_us.  Dies
 * unless it reported its time and CPU mask and exited 0. */
void spawn_peer(const char *path, int cpu, double *first_us, double *exit_us);
/* Lets this process (and what it makes from now on) run on every CPU
 * online, the old affinity into *old; 0 or -1. */
int bench_all_cpus(cpu_set_t *old);
/* posix_spawns per second: n (at most 256) of the peer at once, then each
 * reaped. */
double bench_spawn_rate(const char *peer, int n);
/* Deploys per second of n cVMs of one run: n over first deploy to last reap. */
double bench_deploy_rate(const struct cvm_times *t, int n);

/* A process's memory: Rss, Pss, Anonymous, Private_Dirty from
 * /proc/PID/smaps_rollup, page tables (VmPTE) from its status. */
struct mem {
	long rss_kb, pss_kb, anon_kb, priv_dirty_kb, pte_kb;
};

/* Reads pid's; 0, or -1 when smaps_rollup cannot be read. */
int mem_of(pid_t pid, struct mem *m);

#endif
