/*
 * bench/programs - real programs (Debian's own binaries) run natively and
 * as program cVMs (README "Programs"), in one run, interleaved run by
 * run.  Each line is one program doing one piece of work:
 *
 *   python3 -c pass     python3 start-up to exit (with site: natively it
 *                       also scans the host's dist-packages, which the
 *                       root does not have)
 *   python3 -S -c pass  the same without site: the same work both ways
 *   lua5.4 (CPU)        fib(31) and a sieve of the primes below 10^6
 *                       (pure computation, ~20 MB of tables)
 *   sqlite3 (I/O)       20000 INSERTs into an indexed table in 4
 *                       transactions, read from stdin, into a database
 *                       file; a 64 KiB page cache, so pages go to the file
 *                       and back (pread/pwrite) and each commit syncs
 *   python3 (syscalls)  python3 -S: 50 passes over 1000 small files,
 *                       each stat, open, read, close
 *
 * Native: the host's own binary (/usr/bin/python3, never a shim in PATH)
 * started by posix_spawn, unconfined, with the environment a program cVM
 * gets by default, its working directory the disk's /work (the same
 * directory the cVM sees as /work), stdin the same file (or /dev/null),
 * stdout and stderr memfds.  Timed from right before posix_spawn to
 * waitpid's return.
 *
 * cVM: the same program, runtime the same path inside its root (made of the
 * same Debian files by scripts/mkroot.sh, `make programs`), args, env, cwd
 * /work and stdin the same, one cVM per monitor run.  The monitor runs in
 * this process (build/libintravisor.a); its run set-up (iv_run_init) is not
 * in the time: deploy (iv_cvm t[IV_T_DEPLOY]) -> exit reaped
 * (t[IV_T_DONE]), as bench/workloads times cold cVMs.  The whole monitor
 * run (iv_run_init -> iv_run_free) is printed for information, and the
 * deploy's phases: load (program checked, filter built), cell spawned,
 * released (the memory cgroup move, the go, and the program's execve up to
 * its close-on-exec), and the program (released -> reaped: its work and
 * its exit).  A cgroup move waits for an RCU grace period unless another
 * came within one; here, with a native run between two cVMs, it mostly
 * waits (10-20 ms; the phase's minimum, under 1 ms, is a move that did
 * not).  On one CPU the program may run on before the monitor's thread
 * marks it released, so the split between the last two phases is
 * approximate; their sum is not.  The cVM's output must be the native
 * run's, line by line, and both must exit 0 with nothing on stderr.
 *
 * The disks: the root itself, read-only, for start-up and the CPU line; a
 * writable copy (hard links where possible) in a fresh directory under
 * /tmp for SQLite (its database in /work, removed before every run, both
 * ways) and the syscall loop (the 1000 files in /work/files), removed at
 * exit.
 *
 * The process is pinned to one CPU before anything starts; cells, the
 * monitor and native processes share it.  A warm-up round (one native run
 * and one cVM per line, which also records the expected output) is
 * dropped; then each round runs each line's pairs, native then cVM in even
 * rounds and the other way in odd ones, so that within a round the two
 * strictly alternate (-g adds idle time before every run).  Medians (and
 * min, quartiles, max) per variant; the ratio is cVM / native of the
 * medians.  Targets (issue 8): <= 1.10x for the CPU- and I/O-bound lines
 * (Lua, SQLite, and the syscall loop, counted as I/O), <= 1.5x for
 * python3 start-up.  The load average before and after is printed: other
 * work on the machine widens the spread.
 *
 * Exit status: 0 when every measurement ran (whether or not a target is
 * met), 1 on any error, 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

#define TIMEOUT_S 60 /* per monitor run / native process */
#define CAP	  "bench-programs"
#define NFILES	  1000
#define PASSES	  "50"
#define SQL_TX	  4
#define SQL_ROWS  5000 /* per transaction */
#define OUT_MAX	  4096

static const char usage[] =
	"usage: programs [-c CPU] [-r ROUNDS] [-k N] [-g MS] [-l LINES] [-R ROOTS] [-v]\n"
	"  -c CPU     pin everything to CPU (default: the highest CPU this process may use)\n"
	"  -r ROUNDS  rounds after the warm-up (default 10)\n"
	"  -k N       native/cVM pairs per line and round (default 4; the start-up lines\n"
	"             run 4N)\n"
	"  -g MS      idle time before every run, native or cVM (default 0)\n"
	"  -l LINES   only these lines, comma-separated: py, py-S, lua, sqlite, sys\n"
	"  -R ROOTS   the roots' directory (default: ../roots next to this program,\n"
	"             build/roots, made by `make programs`)\n"
	"  -v         show the monitor's own output as it runs; -vv also its verbose log\n";

static struct {
	int cpu, rounds, k, gap_ms, verbose;
	const char *lines, *roots;
} opt = {-1, 10, 4, 0, 0, NULL, NULL};

const struct bench_prog bench_prog = {
	.name = "programs",
	.usage = usage,
	.make_target = "bench-programs",
	.timeout_s = TIMEOUT_S,
};

/* What a program cVM gets by default (README "How a program starts"),
 * given to both. */
static const char *const env[] = {"PATH=/usr/bin:/bin", "HOME=/", "TERM=dumb", "LANG=C.UTF-8",
				  NULL};

static const char lua_cpu[] =
	"local function fib(k) if k < 2 then return k end return fib(k - 1) + fib(k - 2) end "
	"local n, s = 1000000, {} for i = 2, n do s[i] = true end "
	"for i = 2, math.floor(math.sqrt(n)) do "
	"if s[i] then for j = i * i, n, i do s[j] = false end end end "
	"local c = 0 for i = 2, n do if s[i] then c = c + 1 end end print(fib(31), c)";

static const char py_sys[] = "import os, sys\n"
			     "ps = ['files/' + n for n in sorted(os.listdir('files'))]\n"
			     "total = 0\n"
			     "for _ in range(int(sys.argv[1])):\n"
			     "    for p in ps:\n"
			     "        st = os.stat(p)\n"
			     "        fd = os.open(p, os.O_RDONLY)\n"
			     "        total += len(os.read(fd, st.st_size + 1))\n"
			     "        os.close(fd)\n"
			     "print(len(ps), total)\n";

struct line {
	const char *key;   /* for -l, and the cVM's name */
	const char *title; /* what it runs */
	const char *root;  /* its root under the roots' directory */
	const char *prog;  /* the host's binary, and the runtime inside the root */
	const char *argv[8];
	int own_disk;		    /* a writable copy of its root (else the root, read-only) */
	const char *in;		    /* stdin: a file in the disk's /work, or NULL */
	int db;			    /* removes /work/bench.db* before every run */
	const char *kind;	    /* "start-up", "CPU-bound", "I/O-bound" */
	const char *note;	    /* printed with its results, or NULL */
	double target;		    /* ratio target */
	int kmul;		    /* pairs per round: kmul * -k */
	int on;			    /* chosen with -l (default: all) */
	char disk[PATH_MAX];	    /* the cVM's disk */
	char work[PATH_MAX + 8];    /* its /work on the host: the native cwd */
	char nat_in[PATH_MAX + 64]; /* stdin natively */
	char expect[OUT_MAX];	    /* the native output (warm-up) */
	struct series nat, cvm, whole, load, cell, rel, run;
};

static struct line lines[] = {
	{.key = "py",
	 .title = "python3 -c pass",
	 .root = "python3",
	 .prog = "/usr/bin/python3",
	 .argv = {"python3", "-c", "pass"},
	 .kind = "start-up",
	 .note = "natively, site also reads the host's dist-packages (.pth files), which the "
		 "root lacks",
	 .target = 1.5,
	 .kmul = 4},
	{.key = "py-S",
	 .title = "python3 -S -c pass",
	 .root = "python3",
	 .prog = "/usr/bin/python3",
	 .argv = {"python3", "-S", "-c", "pass"},
	 .kind = "start-up",
	 .target = 1.5,
	 .kmul = 4},
	{.key = "lua",
	 .title = "lua5.4 -e <fib(31), primes below 10^6>",
	 .root = "lua",
	 .prog = "/usr/bin/lua5.4",
	 .argv = {"lua5.4", "-e", lua_cpu},
	 .kind = "CPU-bound",
	 .target = 1.10,
	 .kmul = 1},
	{.key = "sqlite",
	 .title = "sqlite3 bench.db < ins.sql (20000 INSERTs, 4 transactions)",
	 .root = "sqlite",
	 .prog = "/usr/bin/sqlite3",
	 .argv = {"sqlite3", "bench.db"},
	 .own_disk = 1,
	 .in = "ins.sql",
	 .db = 1,
	 .kind = "I/O-bound",
	 .target = 1.10,
	 .kmul = 1},
	{.key = "sys",
	 .title = "python3 -S: " PASSES " x 1000 files, stat+open+read+close",
	 .root = "python3",
	 .prog = "/usr/bin/python3",
	 .argv = {"python3", "-S", "-c", py_sys, PASSES},
	 .own_disk = 1,
	 .kind = "I/O-bound",
	 .target = 1.10,
	 .kmul = 1},
};
#define NLINES (sizeof(lines) / sizeof(lines[0]))

static char roots[PATH_MAX];
static char scratch[64]; /* /tmp/bench-programs-XXXXXX */

/* ---- helpers ---- */

/* Reads what fd (a memfd) holds into buf (NUL-terminated); dies if too much. */
static void read_memfd(int fd, char *buf, size_t len, const char *what)
{
	ssize_t n = pread(fd, buf, len, 0);
	if (n < 0 || (size_t)n >= len)
		die("%s: %s", what, n < 0 ? strerror(errno) : "more output than expected");
	buf[n] = 0;
}

/* Waits for pid under the watchdog: kills it once overdue.  Its status. */
static int wait_bounded(pid_t pid)
{
	int st = 0;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
		if (timed_out)
			kill(pid, SIGKILL);
	}
	return st;
}

/* Runs argv (a host command, e.g. cp) to completion; 0 when it exited 0. */
static int run_cmd(char *const argv[])
{
	pid_t pid;
	int rc = posix_spawn(&pid, argv[0], NULL, NULL, argv, (char *const *)env);
	if (rc)
		die("posix_spawn '%s': %s", argv[0], strerror(rc));
	watchdog_arm();
	int st = wait_bounded(pid);
	watchdog_disarm();
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len || close(fd) || chmod(path, 0644))
		die("cannot write '%s': %s", path, strerror(errno));
}

/* Removes the database and its journal from line L's /work. */
static void remove_db(const struct line *L)
{
	static const char *const f[] = {"bench.db", "bench.db-journal", "bench.db-wal",
					"bench.db-shm"};
	char p[PATH_MAX + 64];
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", L->work, f[i]);
		if (unlink(p) && errno != ENOENT)
			die("cannot remove '%s': %s", p, strerror(errno));
	}
}

/* ---- native ---- */

/* One native run of L; returns posix_spawn -> waitpid in us, its stdout in out. */
static double native_once(struct line *L, char *out, size_t outlen)
{
	if (L->db)
		remove_db(L);
	int ofd = memfd_create("native-stdout", MFD_CLOEXEC);
	int efd = memfd_create("native-stderr", MFD_CLOEXEC);
	if (ofd < 0 || efd < 0)
		die("memfd_create: %s", strerror(errno));
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none;
	sigemptyset(&none);
	if (posix_spawn_file_actions_init(&fa) ||
	    posix_spawn_file_actions_addopen(&fa, 0, L->in ? L->nat_in : "/dev/null", O_RDONLY,
					     0) ||
	    posix_spawn_file_actions_adddup2(&fa, ofd, 1) ||
	    posix_spawn_file_actions_adddup2(&fa, efd, 2) ||
	    posix_spawn_file_actions_addchdir_np(&fa, L->work) || posix_spawnattr_init(&at) ||
	    posix_spawnattr_setsigmask(&at, &none) ||
	    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK))
		die("cannot set up posix_spawn attributes");
	pid_t pid;
	watchdog_arm();
	uint64_t t0 = now_ns();
	int rc = posix_spawn(&pid, L->prog, &fa, &at, (char *const *)L->argv, (char *const *)env);
	if (rc)
		die("posix_spawn '%s': %s", L->prog, strerror(rc));
	int st = wait_bounded(pid);
	uint64_t t1 = now_ns();
	watchdog_disarm();
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	char err[OUT_MAX];
	read_memfd(ofd, out, outlen, "native stdout");
	read_memfd(efd, err, sizeof(err), "native stderr");
	close(ofd);
	close(efd);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("native %s (%s) ended with wait status 0x%x%s; its stderr:\n%s", L->key,
		    L->prog, st, timed_out ? " (timed out)" : "", err);
	if (err[0])
		die("native %s (%s) wrote to stderr:\n%s", L->key, L->prog, err);
	return span_us(t0, t1);
}

/* ---- cVM ---- */

/* The monitor's stdout during a run (the cVM's lines, "[name] text"): a
 * memfd, read back once the run ended. */
static int out_saved = -1, out_fd = -1;

static void out_start(struct iv_run *run, void *ctx)
{
	(void)run;
	(void)ctx;
	fflush(stdout);
	out_fd = memfd_create("cvm-stdout", MFD_CLOEXEC);
	out_saved = fcntl(1, F_DUPFD_CLOEXEC, 10);
	if (out_fd < 0 || out_saved < 0 || dup2(out_fd, 1) < 0)
		die("cannot redirect stdout: %s", strerror(errno));
}

static void out_end(struct iv_run *run, void *ctx)
{
	(void)run;
	(void)ctx;
	fflush(stdout);
	dup2(out_saved, 1);
	close(out_saved);
	out_saved = -1;
}

/* What the cVM named name must have printed: each line of the native
 * output, labelled. */
static void labelled(const char *name, const char *native, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = 0;
	for (const char *p = native; *p && n < len;) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);
		n += (size_t)snprintf(buf + n, len - n, "[%s] %.*s\n", name, (int)l, p);
		p += l + (nl != NULL);
	}
}

/* One monitor run of L's cVM; records its times unless warm. */
static void cvm_once(struct line *L, int record)
{
	struct gen g;
	struct iv_config cfg;
	struct iv_err err;
	char in[PATH_MAX];
	if (L->db)
		remove_db(L);
	snprintf(in, sizeof(in), "/work/%s", L->in ? L->in : "");
	struct gen_prog p = {
		.name = L->key,
		.disk = L->disk,
		.disk_ro = !L->own_disk,
		.runtime = L->prog,
		.argv = L->argv,
		.env = env,
		.cwd = "/work",
		.stdin_path = L->in ? in : NULL,
	};
	static char cap[4096];
	gen_begin(&g, CAP, sizeof(cap), L->prog);
	gen_prog_entry(&g, &p);
	if (gen_end(&g, L->key, &cfg, &err))
		die("%s", err.msg);
	struct cvm_times t[1];
	struct bench_hooks hooks = {out_start, out_end, NULL};
	struct bench_run br = {
		.cap_name = CAP,
		.cap = cap,
		.cap_size = sizeof(cap),
		.t = t,
		.max_cvms = 1,
		.hooks = &hooks,
	};
	uint64_t a = now_ns();
	bench_run_monitor(&cfg, &br, NULL, 0);
	uint64_t b = now_ns();
	iv_config_free(&cfg);

	char got[OUT_MAX], want[OUT_MAX + 512];
	read_memfd(out_fd, got, sizeof(got), "the cVM's stdout");
	close(out_fd);
	out_fd = -1;
	labelled(L->key, L->expect, want, sizeof(want));
	if (strcmp(got, want))
		die("cVM %s printed\n%s\ninstead of what the native run printed:\n%s", L->key, got,
		    want);
	if (br.ncvms != 1 || !(t->t_deploy <= t->t_loaded && t->t_loaded <= t->t_cell &&
			       t->t_cell <= t->t_running && t->t_running <= t->t_done))
		die("cVM %s: inconsistent monitor timestamps", L->key);
	if (!record)
		return;
	series_add(&L->cvm, span_us(t->t_deploy, t->t_done) / 1000);
	series_add(&L->whole, span_us(a, b) / 1000);
	series_add(&L->load, span_us(t->t_deploy, t->t_loaded) / 1000);
	series_add(&L->cell, span_us(t->t_loaded, t->t_cell) / 1000);
	series_add(&L->rel, span_us(t->t_cell, t->t_running) / 1000);
	series_add(&L->run, span_us(t->t_running, t->t_done) / 1000);
}

/* ---- rounds ---- */

static void warm_up(void)
{
	for (size_t i = 0; i < NLINES; i++) {
		struct line *L = &lines[i];
		if (!L->on)
			continue;
		native_once(L, L->expect, sizeof(L->expect));
		cvm_once(L, 0);
	}
}

/* One native run of L after the gap, checked against the warm-up's output. */
static void native_sample(struct line *L)
{
	char out[OUT_MAX];
	sleep_ns(opt.gap_ms * 1000000L);
	series_add(&L->nat, native_once(L, out, sizeof(out)) / 1000);
	if (strcmp(out, L->expect))
		die("native %s printed\n%s\ninstead of\n%s", L->key, out, L->expect);
}

/* One cVM of L after the gap (its output checked by cvm_once). */
static void cvm_sample(struct line *L)
{
	sleep_ns(opt.gap_ms * 1000000L);
	cvm_once(L, 1);
}

/* Every line's pairs: native then cVM in even rounds, the other way in odd
 * ones, so that within a round the two strictly alternate. */
static void round_(int r)
{
	for (size_t i = 0; i < NLINES; i++) {
		struct line *L = &lines[i];
		for (int j = 0; L->on && j < L->kmul * opt.k; j++) {
			if (r & 1) {
				cvm_sample(L);
				native_sample(L);
			} else {
				native_sample(L);
				cvm_sample(L);
			}
		}
	}
}

/* ---- set-up ---- */

static void clean(void)
{
	if (!scratch[0])
		return;
	char *argv[] = {"/bin/rm", "-rf", scratch, NULL};
	if (run_cmd(argv))
		fprintf(stderr, "bench: could not remove '%s'\n", scratch);
	scratch[0] = 0;
}

static void choose_lines(void)
{
	for (size_t i = 0; i < NLINES; i++)
		lines[i].on = !opt.lines;
	if (!opt.lines)
		return;
	char *s = strdup(opt.lines), *save;
	for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		size_t i = 0;
		while (i < NLINES && strcmp(lines[i].key, t))
			i++;
		if (i == NLINES) {
			fprintf(stderr, "programs: no line '%s'\n%s", t, usage);
			exit(2);
		}
		lines[i].on = 1;
	}
	free(s);
}

/* The 1000 small files of the syscall loop: 64..963 bytes each. */
static void make_files(const char *work)
{
	char dir[PATH_MAX + 16], p[PATH_MAX + 32], data[1024];
	snprintf(dir, sizeof(dir), "%s/files", work);
	if (mkdir(dir, 0755) || chmod(dir, 0755))
		die("cannot make '%s': %s", dir, strerror(errno));
	for (int i = 0; i < NFILES; i++) {
		size_t n = 64 + (size_t)(i * 37) % 900;
		for (size_t j = 0; j < n; j++)
			data[j] = (char)('a' + (i + (int)j) % 26);
		snprintf(p, sizeof(p), "%s/f%04d", dir, i);
		write_file(p, data, n);
	}
}

/* The SQLite workload: a table with an index, SQL_TX transactions of
 * SQL_ROWS INSERTs each, then one line that checks them. */
static void make_sql(const char *path)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		die("open_memstream: %s", strerror(errno));
	fprintf(f, "PRAGMA cache_size = -64;\n"
		   "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT);\n"
		   "CREATE INDEX tk ON t(k);\n");
	for (int n = 0, tx = 0; tx < SQL_TX; tx++) {
		fprintf(f, "BEGIN;\n");
		for (int i = 0; i < SQL_ROWS; i++, n++)
			fprintf(f, "INSERT INTO t(k, v) VALUES(%d, 'row%d-row%d-row%d-row%d');\n",
				(n * 7919) % 100003, n, n, n, n);
		fprintf(f, "COMMIT;\n");
	}
	fprintf(f, "SELECT count(*), sum(k), sum(length(v)) FROM t;\n");
	if (fclose(f))
		die("cannot generate the SQL");
	write_file(path, text, len);
	free(text);
}

/* A writable copy of root (hard links where the file system allows). */
static void copy_root(const char *root, const char *to)
{
	char *al[] = {"/bin/cp", "-al", (char *)root, (char *)to, NULL};
	char *a[] = {"/bin/cp", "-a", (char *)root, (char *)to, NULL};
	if (run_cmd(al)) {
		char *rm[] = {"/bin/rm", "-rf", (char *)to, NULL};
		if (run_cmd(rm) || run_cmd(a))
			die("cannot copy '%s' to '%s'", root, to);
	}
}

static void make_disks(void)
{
	if (opt.roots) {
		if (!realpath(opt.roots, roots))
			die("-R %s: %s", opt.roots, strerror(errno));
	} else {
		char p[PATH_MAX + 16];
		snprintf(p, sizeof(p), "%s/../roots", bench_here());
		if (!realpath(p, roots))
			die("no roots in '%s' (run `make programs`, or give -R)", p);
	}
	snprintf(scratch, sizeof(scratch), "/tmp/bench-programs-XXXXXX");
	if (!mkdtemp(scratch))
		die("mkdtemp: %s", strerror(errno));
	atexit(clean);
	if (chmod(scratch, 0755))
		die("chmod '%s': %s", scratch, strerror(errno));
	for (size_t i = 0; i < NLINES; i++) {
		struct line *L = &lines[i];
		char root[PATH_MAX], prog[2 * PATH_MAX];
		struct stat st;
		if (!L->on)
			continue;
		if ((size_t)snprintf(root, sizeof(root), "%s/%s", roots, L->root) >= sizeof(root))
			die("path too long");
		snprintf(prog, sizeof(prog), "%s%s", root, L->prog);
		if (lstat(prog, &st))
			die("'%s' is missing (run `make programs`, or give -R)", prog);
		if (access(L->prog, X_OK))
			die("the host's '%s' is missing", L->prog);
		if (L->own_disk)
			snprintf(L->disk, sizeof(L->disk), "%s/%s", scratch, L->key);
		else
			snprintf(L->disk, sizeof(L->disk), "%s", root);
		snprintf(L->work, sizeof(L->work), "%s/work", L->disk);
		if (L->own_disk)
			copy_root(root, L->disk);
		if (stat(L->work, &st) || !S_ISDIR(st.st_mode))
			die("'%s' has no /work directory", L->disk);
		if (L->in)
			snprintf(L->nat_in, sizeof(L->nat_in), "%s/%s", L->work, L->in);
	}
	for (size_t i = 0; i < NLINES; i++) {
		if (!lines[i].on)
			continue;
		if (!strcmp(lines[i].key, "sqlite"))
			make_sql(lines[i].nat_in);
		if (!strcmp(lines[i].key, "sys"))
			make_files(lines[i].work);
	}
}

/* ---- report ---- */

static void ms_line(const char *what, const struct series *s)
{
	printf("    %-44s median %8.2f ms  %s\n", what, series_median(s), series_spread(s, 2));
}

static double q1_ratio(const struct line *L)
{
	return series_quantile(&L->cvm, 0.25) / series_quantile(&L->nat, 0.25);
}

static void report_line(const struct line *L)
{
	double n = series_median(&L->nat), c = series_median(&L->cvm), ratio = c / n;
	printf("\n-- %s: %s (%s) --\n", L->key, L->title, L->kind);
	printf("  natively %s; the cVM's root %s/%s%s\n", L->prog, roots, L->root,
	       L->own_disk ? ", copied (writable)" : ", read-only");
	if (L->note)
		printf("  (%s)\n", L->note);
	ms_line("native: posix_spawn -> waitpid", &L->nat);
	ms_line("cVM: deploy -> exit reaped", &L->cvm);
	printf("    %-44s %8.2fx  (target <= %.2fx: %s)\n", "ratio cVM / native (medians)", ratio,
	       L->target, verdict(ratio <= L->target));
	printf("    cVM phases (medians, ms): load %.2f, cell spawned %.2f, released %.2f\n"
	       "      (memory cgroup move, go, execve), program (released -> reaped) %.2f\n",
	       series_median(&L->load), series_median(&L->cell), series_median(&L->rel),
	       series_median(&L->run));
	ms_line("(info) released: cgroup move, go, execve", &L->rel);
	printf("    (info) cVM - native (medians): %+.2f ms\n", c - n);
	printf("    (info) ratio of the lower quartiles (less of other work on the CPU): %.2fx\n",
	       q1_ratio(L));
	ms_line("(info) whole monitor run, init -> free", &L->whole);
}

static void summary(void)
{
	printf("\n== summary (medians; ratio = cVM deploy -> exit reaped / native posix_spawn -> "
	       "waitpid) ==\n");
	for (size_t i = 0; i < NLINES; i++) {
		const struct line *L = &lines[i];
		if (!L->on)
			continue;
		double n = series_median(&L->nat), c = series_median(&L->cvm);
		printf("  %-7s %-10s native %8.2f ms  cVM %8.2f ms  %5.2fx  target <= %.2fx  %-7s "
		       "(q1s: %.2fx)\n",
		       L->key, L->kind, n, c, c / n, L->target, verdict(c / n <= L->target),
		       q1_ratio(L));
	}
}

/* The load average: other work on the machine widens the spread. */
static void print_load(const char *when)
{
	double l1 = -1, l5 = -1, l15 = -1;
	FILE *f = fopen("/proc/loadavg", "re");
	if (!f || fscanf(f, "%lf %lf %lf", &l1, &l5, &l15) != 3)
		printf("  load average %s: unknown\n", when);
	else
		printf("  load average %s: %.2f %.2f %.2f (1, 5, 15 min)\n", when, l1, l5, l15);
	if (f)
		fclose(f);
}

int main(int argc, char **argv)
{
	int c;
	while ((c = bench_getopt(argc, argv, "c:r:k:g:l:R:", &opt.verbose)) != -1) {
		switch (c) {
		case 'c':
			opt.cpu = parse_int(optarg, 0, CPU_SETSIZE - 1, "-c CPU");
			break;
		case 'r':
			opt.rounds = parse_int(optarg, 1, 100, "-r ROUNDS");
			break;
		case 'k':
			opt.k = parse_int(optarg, 1, 50, "-k N");
			break;
		case 'g':
			opt.gap_ms = parse_int(optarg, 0, 10000, "-g MS");
			break;
		case 'l':
			opt.lines = optarg;
			break;
		case 'R':
			opt.roots = optarg;
			break;
		}
	}
	if (opt.rounds * 4 * opt.k > SERIES_MAX) {
		fprintf(stderr, "programs: -r ROUNDS times 4 -k N must be at most %d\n%s",
			SERIES_MAX, usage);
		exit(2);
	}
	choose_lines();
	bench_init(opt.verbose, 0);
	opt.cpu = bench_pin(opt.cpu, ""); /* before any thread or child exists */
	bench_find_here();
	make_disks();
	uint64_t t0 = now_ns();
	printf("\n== real programs, native (posix_spawn of the host's binary) and as a program "
	       "cVM\n"
	       "   (its root made of the same Debian files): a warm-up round, dropped, then %d "
	       "rounds\n"
	       "   of %d pairs per line (%d for start-up), native and cVM alternating ==\n",
	       opt.rounds, opt.k, 4 * opt.k);
	print_load("before");
	warm_up();
	for (int r = 0; r < opt.rounds; r++)
		round_(r);
	for (size_t i = 0; i < NLINES; i++)
		if (lines[i].on)
			report_line(&lines[i]);
	summary();
	print_load("after");
	printf("\n(total %.1f s)\n", (double)(now_ns() - t0) / 1e9);
	return 0;
}
