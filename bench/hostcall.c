/*
 * bench/hostcall - how a cVM's hostcall round trip and a fresh cVM's
 * start-up compare with their closest peers, measured in the same run.
 *
 *   (a) hostcall round trip: a cVM calling host_inspect() (hostcall 114) in
 *       a loop, against a raw seccomp user-notification round trip between
 *       two plain processes (default listener flags, and with
 *       SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP as the monitor sets it), and a
 *       native syscall (getppid).  For information also: the raw round trip
 *       through the cell's own filter (iv_policy_build), and getppid inside
 *       a cell (the filter's ALLOW path).
 *   (b) fresh cVM start-up, deploy -> first instruction and deploy -> exit
 *       reaped, against posix_spawn of a static binary doing the same; once
 *       with one monitor run per cVM and once with many cVMs deployed one
 *       after another by one run, with the monitor's phases.
 *
 * The monitor runs in this process (build/libintravisor.a): each cVM run
 * is iv_run_init / iv_run / iv_run_free over a generated config.  The
 * whole process is pinned to one CPU before anything starts, so the cVM's
 * thread, the monitor's server thread and every peer share that core.
 * Medians over batches (a) or runs (b); the peers run interleaved with the
 * cVMs, round by round, so that drift hits all of them alike.
 *
 * The cVMs, the cell stub (iv-cell, which the monitor looks for next to
 * its own executable) and the spawn peer are expected next to this binary;
 * `make bench` puts them there.  Exit status: 0 when every measurement
 * ran (whether or not a target is met), 1 on any error, 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "iv.h"

#ifndef SECCOMP_RET_USER_NOTIF
#define SECCOMP_RET_USER_NOTIF 0x7fc00000U
#endif
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

/* The raw peer notifies the very number a cVM's host_inspect() uses. */
#define RAW_NR	    (IV_HC_BASE + HC_INSPECT)
#define RAW_ANSWER  1 /* what host_inspect() answers in a fresh cVM */
#define MAX_SAMPLES 4096
#define TIMEOUT_S   20 /* per cVM run / peer process */
#define CVM_BASE    0x20000000UL
#define CVM_SIZE    0x10000000UL

static const char usage[] =
	"usage: hostcall [-c CPU] [-r ROUNDS] [-b BATCHES] [-n CALLS] [-s RUNS] [-w WARMUP] [-v]\n"
	"  -c CPU      pin everything to CPU (default: the highest CPU this process may use)\n"
	"  -r ROUNDS   rounds of the hostcall section; each runs every variant once, in a\n"
	"              fresh process or cVM (default 7)\n"
	"  -b BATCHES  timed batches per variant per round (default 3: 21 in all)\n"
	"  -n CALLS    calls per batch (default 2000)\n"
	"  -s RUNS     timed start-up runs of each kind, 1 to 100 (default 31)\n"
	"  -w WARMUP   untimed start-up runs of each kind first, 0 to 20 (default 3)\n"
	"  -v          show the monitor's own output (MON: lines) as it runs; -vv also turns\n"
	"              on its verbose log (which costs time: for debugging, not for numbers)\n";

static struct {
	int cpu, rounds, batches, calls, runs, warmup, verbose;
} opt = {-1, 7, 3, 2000, 31, 3, 0};

static char here[PATH_MAX]; /* the directory of this executable */
static int err_fd = 2;	    /* the real stderr, also while the monitor's is captured */
static volatile sig_atomic_t timed_out, in_iv_run;

static __attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...)
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

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline long raw_syscall1(long nr, long a)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a) : "rcx", "r11", "memory");
	return ret;
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

/* ---- statistics ---- */

struct series {
	const char *name;
	double v[MAX_SAMPLES];
	size_t n;
};

static void add(struct series *s, double x)
{
	if (s->n == MAX_SAMPLES)
		die("%s: more than %d samples", s->name, MAX_SAMPLES);
	s->v[s->n++] = x;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double quantile(const struct series *s, double q)
{
	static double tmp[MAX_SAMPLES];
	if (s->n == 0)
		return 0;
	memcpy(tmp, s->v, s->n * sizeof(double));
	qsort(tmp, s->n, sizeof(double), cmp_double);
	double pos = q * (double)(s->n - 1);
	size_t i = (size_t)pos;
	double frac = pos - (double)i;
	return i + 1 < s->n ? tmp[i] + frac * (tmp[i + 1] - tmp[i]) : tmp[i];
}

static double median(const struct series *s)
{
	return quantile(s, 0.5);
}

/* "[min A  q1 B  q3 C  max D  n=N]", all in us */
static const char *spread(const struct series *s)
{
	static char buf[8][128];
	static int k;
	char *b = buf[k++ % 8];
	snprintf(b, 128, "[min %.2f  q1 %.2f  q3 %.2f  max %.2f  n=%zu]", quantile(s, 0),
		 quantile(s, 0.25), quantile(s, 0.75), quantile(s, 1), s->n);
	return b;
}

static const char *verdict(double ratio, double target)
{
	return ratio <= target ? "met" : "NOT met";
}

/* ---- the monitor, in process ---- */

struct capture {
	int saved, log;
};

/* The capture in force, for the fatal-signal handler. */
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

/* Sends the monitor's stderr (its MON: lines) to a memfd, kept for errors. */
static void capture_begin(struct capture *c)
{
	c->saved = c->log = -1;
	if (opt.verbose)
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

struct cvm_times {
	uint64_t t_deploy, t_running, t_done;
};

/*
 * A config with cap file "bench" and n cVMs of runtime so, deployed one
 * after the other (wait: -1) in ranges of their own, parsed.  cVM i is
 * named label (n == 1) or label-i; its args are args, or "NAME i" when
 * args is NULL.
 */
static void make_config(struct iv_config *cfg, const char *label, const char *so, int n,
			const char *args)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/cvm/%s", here, so);
	struct stat st;
	if (stat(path, &st) || !S_ISREG(st.st_mode))
		die("cVM runtime '%s' is missing (run `make bench`)", path);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		die("open_memstream: %s", strerror(errno));
	fprintf(f, "---\ncapfiles:\n- name: %s\n  size: %d\n---\ncVMs:\n", BENCH_CAP,
		BENCH_CAP_SIZE);
	for (int i = 0; i < n; i++) {
		char name[64];
		if (n == 1)
			snprintf(name, sizeof(name), "%s", label);
		else
			snprintf(name, sizeof(name), "%s-%d", label, i);
		unsigned long base = CVM_BASE + (unsigned long)i * CVM_SIZE;
		fprintf(f, "- name: %s\n  runtime: \"%s\"\n", name, path);
		if (args)
			fprintf(f, "  args: \"%s\"\n", args);
		else
			fprintf(f, "  args: \"%s %d\"\n", name, i);
		fprintf(f,
			"  isolation:\n  - base: 0x%lx\n    size: 0x%lx\n    begin: 0x%lx\n"
			"    end: 0x%lx\n  callback_out: monitor\n  wait: -1\n",
			base, CVM_SIZE, base, base + CVM_SIZE);
	}
	if (fclose(f))
		die("cannot generate the config for '%s'", label);
	struct iv_err err;
	char cfgname[128];
	snprintf(cfgname, sizeof(cfgname), "<bench %s config>", label);
	int rc = iv_config_parse(cfgname, text, len, cfg, &err);
	free(text);
	if (rc)
		die("%s", err.msg);
}

/* Checks what the cVMs left in the cap; NULL when it is all there, else why not. */
typedef const char *(*cap_check_fn)(const uint8_t *cap, size_t ncvms);

/*
 * One monitor run of every cVM of cfg: their times into t[ncvms], and the
 * cap file's contents into cap[BENCH_CAP_SIZE] (read before iv_run_free,
 * which closes the caps).  Dies, showing what the monitor said, unless
 * every cVM ended well and check is happy.
 */
static void run_monitor(struct iv_config *cfg, struct cvm_times *t, uint8_t *cap,
			cap_check_fn check)
{
	struct iv_run run;
	struct iv_err err;
	struct capture log;
	memset(cap, 0, BENCH_CAP_SIZE);
	sigset_t mask;
	pthread_sigmask(SIG_SETMASK, NULL, &mask); /* iv_run_init blocks SIGCHLD, SIGINT, ... */
	capture_begin(&log);
	if (iv_run_init(&run, cfg, &err)) {
		iv_run_free(&run);
		pthread_sigmask(SIG_SETMASK, &mask, NULL);
		capture_end(&log, 1);
		die("monitor: %s", err.msg);
	}
	timed_out = 0;
	in_iv_run = 1;
	alarm(TIMEOUT_S);
	int status = iv_run(&run);
	alarm(0);
	in_iv_run = 0;

	char fail[600] = "";
	for (size_t i = 0; i < run.ncvms; i++) {
		struct iv_cvm *c = &run.cvms[i];
		t[i] = (struct cvm_times){c->t_deploy_ns, c->t_running_ns, c->t_done_ns};
		if (!fail[0] && (c->state != IV_CVM_DONE || !iv_cvm_ok(c)))
			snprintf(fail, sizeof(fail), "cVM '%s' did not end well%s%s", c->cfg->name,
				 c->fail[0] ? ": " : "", c->fail);
		if (!fail[0] && (!c->t_deploy_ns || c->t_running_ns < c->t_deploy_ns ||
				 c->t_done_ns < c->t_running_ns))
			snprintf(fail, sizeof(fail), "cVM '%s': inconsistent monitor timestamps",
				 c->cfg->name);
	}
	struct iv_cap *bc = iv_cap_find(BENCH_CAP);
	ssize_t n = bc ? pread(bc->memfd, cap, BENCH_CAP_SIZE, 0) : -1;
	if (!fail[0] && n != BENCH_CAP_SIZE)
		snprintf(fail, sizeof(fail), "cannot read cap file '%s': %s", BENCH_CAP,
			 bc ? strerror(errno) : "not found");
	if (!fail[0] && status != 0)
		snprintf(fail, sizeof(fail), "the monitor ended with status %d", status);
	const char *why = fail[0] ? NULL : check(cap, run.ncvms);
	iv_run_free(&run);
	pthread_sigmask(SIG_SETMASK, &mask, NULL); /* so that ^C works between runs */

	capture_end(&log, timed_out || fail[0] || why);
	if (timed_out)
		die("the monitor run did not finish within %d s", TIMEOUT_S);
	if (fail[0])
		die("%s", fail);
	if (why)
		die("%s", why);
}

/* ---- the raw seccomp-notification peer ---- */

struct raw_shm {
	int64_t error; /* 0, or -errno of the step that failed */
	int step;      /* which step (for the message) */
	int cpu_ok;
	uint64_t bad;
	uint64_t ns[MAX_SAMPLES];
};

enum { RAW_STEP_NNP = 1, RAW_STEP_FILTER, RAW_STEP_HANDSHAKE, RAW_STEP_ANSWER };

static const char *raw_step(int s)
{
	switch (s) {
	case RAW_STEP_NNP:
		return "setting no_new_privs";
	case RAW_STEP_FILTER:
		return "installing the filter";
	case RAW_STEP_HANDSHAKE:
		return "the handshake";
	case RAW_STEP_ANSWER:
		return "checking answers";
	}
	return "?";
}

/* The minimal filter: RAW_NR goes to the listener, everything else runs. */
static struct sock_filter min_filter[] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, RAW_NR, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};

/* The cell's own filter (iv_policy_build), for the "same filter" variant. */
static struct sock_filter *cell_filter;
static size_t cell_filter_len;

static __attribute__((noreturn)) void raw_child(int ctl, int cellf, struct raw_shm *shm, int nb,
						int nc, int cpu)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	cpu_set_t set;
	CPU_ZERO(&set);
	shm->cpu_ok = sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) == 1 &&
		      CPU_ISSET(cpu, &set);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		shm->error = -errno;
		shm->step = RAW_STEP_NNP;
		_exit(1);
	}
	struct sock_fprog prog = {
		.len = (unsigned short)(cellf ? cell_filter_len
					      : sizeof(min_filter) / sizeof(min_filter[0])),
		.filter = cellf ? cell_filter : min_filter,
	};
	long lfd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
			   &prog);
	if (lfd < 0) {
		shm->error = -errno;
		shm->step = RAW_STEP_FILTER;
		_exit(1);
	}
	int32_t n = (int32_t)lfd;
	char go = 0;
	if (write(ctl, &n, 4) != 4 || read(ctl, &go, 1) != 1 || go != 'G') {
		shm->error = -EPIPE;
		shm->step = RAW_STEP_HANDSHAKE;
		_exit(1);
	}
	close((int)lfd); /* the parent holds its own copy, as the monitor does */
	close(ctl);

	uint64_t bad = 0;
	for (int i = 0; i < nc; i++) /* warm-up */
		bad += raw_syscall1(RAW_NR, 0) != RAW_ANSWER;
	for (int b = 0; b < nb; b++) {
		uint64_t t0 = now_ns();
		for (int i = 0; i < nc; i++)
			bad += raw_syscall1(RAW_NR, 0) != RAW_ANSWER;
		shm->ns[b] = now_ns() - t0;
	}
	raw_syscall1(RAW_NR, 1); /* the last one: the parent stops serving */
	shm->bad = bad;
	if (bad) {
		shm->error = -EPROTO;
		shm->step = RAW_STEP_ANSWER;
		_exit(1);
	}
	_exit(0);
}

/* The parent's side: the bare loop the monitor's server (hostcall/server.c) is built
 * around - memset, RECV, answer, SEND - with nothing else on the path. */
static int raw_serve(int listener)
{
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	while (!timed_out) { /* as the monitor's loop checks its stop flag */
		memset(&req, 0, sizeof(req));
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
			if (timed_out)
				return -ETIMEDOUT;
			if (errno == EINTR || errno == ENOENT)
				continue;
			return -errno;
		}
		resp.id = req.id;
		resp.val = req.data.nr == RAW_NR ? RAW_ANSWER : 0;
		resp.error = req.data.nr == RAW_NR ? 0 : -ENOSYS;
		resp.flags = 0;
		ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
		if (req.data.nr == RAW_NR && req.data.args[0] == 1)
			return 0;
	}
	return -ETIMEDOUT;
}

/*
 * Runs one raw peer: nb batches of nc notified calls, into *out (us/call).
 * Returns 0, or -errno of SECCOMP_IOCTL_NOTIF_SET_FLAGS when sync is asked
 * for and the kernel refuses it (the variant is then reported unsupported).
 */
static int raw_notify(int sync, int cellf, int nb, int nc, struct series *out)
{
	struct raw_shm *shm =
		mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED)
		die("raw notify: mmap: %s", strerror(errno));
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		die("raw notify: socketpair: %s", strerror(errno));
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("raw notify: fork: %s", strerror(errno));
	if (pid == 0) {
		close(sv[0]);
		raw_child(sv[1], cellf, shm, nb, nc, opt.cpu);
	}
	close(sv[1]);
	int rc = 0, listener = -1;
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		die("raw notify: pidfd_open: %s", strerror(errno));

	timed_out = 0;
	alarm(TIMEOUT_S);
	int32_t remote = -1;
	ssize_t n = read(sv[0], &remote, 4);
	if (n == 4)
		listener = (int)syscall(SYS_pidfd_getfd, pidfd, remote, 0);
	if (listener >= 0 && sync &&
	    ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP))
		rc = -errno;
	int serve_rc = 0;
	if (listener >= 0 && rc == 0) {
		if (write(sv[0], "G", 1) != 1)
			die("raw notify: the child died before it started");
		serve_rc = raw_serve(listener);
	}
	if (rc || serve_rc || listener < 0)
		kill(pid, SIGKILL);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	alarm(0);
	if (listener < 0 && n == 4)
		die("raw notify: pidfd_getfd: %s", strerror(errno));
	if (shm->error)
		die("raw notify child: %s: %s", raw_step(shm->step), strerror((int)-shm->error));
	if (listener < 0)
		die("raw notify: the child sent no listener (wait status 0x%x)", st);
	if (serve_rc == -ETIMEDOUT)
		die("raw notify: no end within %d s", TIMEOUT_S);
	if (serve_rc)
		die("raw notify: SECCOMP_IOCTL_NOTIF_RECV: %s", strerror(-serve_rc));
	if (rc == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		die("raw notify: the child ended with wait status 0x%x", st);
	if (rc == 0 && !shm->cpu_ok)
		die("raw notify: the child is not pinned to CPU %d alone", opt.cpu);
	if (rc == 0)
		for (int b = 0; b < nb; b++)
			add(out, (double)shm->ns[b] / nc / 1000.0);
	close(listener);
	close(pidfd);
	close(sv[0]);
	munmap(shm, sizeof(*shm));
	return rc;
}

/* ---- native ---- */

static void native_batches(int nb, int nc, struct series *out)
{
	for (int i = 0; i < nc; i++)
		raw_syscall1(SYS_getppid, 0);
	for (int b = 0; b < nb; b++) {
		uint64_t t0 = now_ns();
		for (int i = 0; i < nc; i++)
			raw_syscall1(SYS_getppid, 0);
		add(out, (double)(now_ns() - t0) / nc / 1000.0);
	}
}

/* ---- posix_spawn peer ---- */

static void spawn_once(const char *path, double *first_us, double *exit_us)
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
	char *argv[] = {"peer_start", NULL}, *envp[] = {NULL};
	pid_t pid;
	fflush(stdout);
	timed_out = 0;
	alarm(TIMEOUT_S);
	uint64_t t0 = now_ns();
	int rc = posix_spawn(&pid, path, &fa, &at, argv, envp);
	if (rc)
		die("posix_spawn '%s': %s", path, strerror(rc));
	close(w);
	uint64_t got[2] = {0, 0};
	ssize_t n;
	while ((n = read(p[0], got, sizeof(got))) < 0 && errno == EINTR && !timed_out)
		;
	uint64_t t_first = got[0];
	if (n != sizeof(got))
		kill(pid, SIGKILL);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	uint64_t t_exit = now_ns();
	alarm(0);
	close(p[0]);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (n != sizeof(got))
		die("spawn peer sent %zd bytes instead of its timestamp and CPU mask%s", n,
		    timed_out ? " (timed out)" : "");
	if (got[1] != (opt.cpu < 64 ? 1ULL << opt.cpu : 0))
		die("spawn peer's CPU mask is 0x%llx, not CPU %d alone", (unsigned long long)got[1],
		    opt.cpu);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("spawn peer ended with wait status 0x%x", st);
	if (t_first < t0 || t_first > t_exit)
		die("spawn peer: inconsistent timestamps");
	*first_us = (double)(t_first - t0) / 1000.0;
	*exit_us = (double)(t_exit - t0) / 1000.0;
}

/* ---- set-up ---- */

static int parse_int(const char *s, int lo, int hi, const char *what)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < lo || v > hi) {
		fprintf(stderr, "hostcall: %s must be a number from %d to %d, got '%s'\n%s", what,
			lo, hi, s, usage);
		exit(2);
	}
	return (int)v;
}

/* Busy and total jiffies of CPU cpu (-1: all) from /proc/stat. */
static int cpu_busy(int cpu, uint64_t *busy, uint64_t *total)
{
	FILE *f = fopen("/proc/stat", "r");
	if (!f)
		return -1;
	char want[32], line[512];
	if (cpu < 0)
		snprintf(want, sizeof(want), "cpu ");
	else
		snprintf(want, sizeof(want), "cpu%d ", cpu);
	int rc = -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, want, strlen(want))) {
			unsigned long long v[8] = {0};
			if (sscanf(line + strlen(want), "%llu %llu %llu %llu %llu %llu %llu %llu",
				   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
				*total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
				*busy = *total - v[3] - v[4];
				rc = 0;
			}
			break;
		}
	fclose(f);
	return rc;
}

static void pin(void)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set))
		die("sched_getaffinity: %s", strerror(errno));
	int allowed = CPU_COUNT(&set);
	if (opt.cpu < 0) {
		for (int c = CPU_SETSIZE - 1; c >= 0 && opt.cpu < 0; c--)
			if (CPU_ISSET(c, &set))
				opt.cpu = c;
	} else if (opt.cpu >= CPU_SETSIZE || !CPU_ISSET(opt.cpu, &set)) {
		die("CPU %d is not one this process may run on", opt.cpu);
	}
	if (opt.cpu < 0)
		die("no CPU to run on");
	CPU_ZERO(&set);
	CPU_SET(opt.cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity(CPU %d): %s", opt.cpu, strerror(errno));
	struct utsname u;
	uname(&u);
	printf("bench/hostcall: pinned to CPU %d (of %d allowed, %ld online); Linux %s\n", opt.cpu,
	       allowed, sysconf(_SC_NPROCESSORS_ONLN), u.release);
	printf("  every cVM cell, monitor thread and peer process inherits this affinity\n");
	/* How busy other work keeps this CPU (and the machine) while we do nothing. */
	uint64_t b0, t0, b1, t1, mb0, mt0, mb1, mt1;
	if (cpu_busy(opt.cpu, &b0, &t0) == 0 && cpu_busy(-1, &mb0, &mt0) == 0) {
		struct timespec ts = {0, 200 * 1000 * 1000};
		nanosleep(&ts, NULL);
		if (cpu_busy(opt.cpu, &b1, &t1) == 0 && cpu_busy(-1, &mb1, &mt1) == 0 && t1 > t0 &&
		    mt1 > mt0) {
			double own = 100.0 * (double)(b1 - b0) / (double)(t1 - t0);
			double all = 100.0 * (double)(mb1 - mb0) / (double)(mt1 - mt0);
			printf("  before starting, CPU %d was %.0f%% busy with other work (all "
			       "CPUs: %.0f%%)\n",
			       opt.cpu, own, all);
			if (own > 5 || all > 25)
				printf("  warning: other work on this machine makes these numbers "
				       "noisy\n");
		}
	}
}

static void find_here(void)
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
		    "executable; run `make bench`)",
		    stub);
}

static void load_cell_filter(void)
{
	struct iv_plan plan = {0};
	struct iv_err err;
	if (iv_policy_build(&plan, &err))
		die("%s", err.msg);
	cell_filter_len = plan.filter_len;
	cell_filter = malloc(plan.filter_len * sizeof(struct sock_filter));
	if (!cell_filter)
		die("out of memory");
	memcpy(cell_filter, plan.filter, plan.filter_len * sizeof(struct sock_filter));
	iv_plan_free(&plan);
}

/* ---- the sections ---- */

#define SERIES(var, label) static struct series var = {.name = label}
SERIES(hc, "hostcall");
SERIES(hc_native, "getppid in a cell");
SERIES(raw_def, "raw notify (default)");
SERIES(raw_sync, "raw notify (sync wake-up)");
SERIES(raw_cellf, "raw notify (sync, cell filter)");
SERIES(native, "native getppid");
SERIES(sp_first, "spawn -> first");
SERIES(sp_exit, "spawn -> exit");

/* One start-up variant of the cVM: end-to-end times and phases, in us. */
struct startup {
	struct series first, exit, go, go_first, probe, reaped;
};
static struct startup cold, warm;

static const char *check_hc(const uint8_t *cap, size_t ncvms)
{
	static char why[256];
	const struct bench_shm *s = (const struct bench_shm *)cap;
	(void)ncvms;
	if (s->magic != BENCH_MAGIC)
		return "cVM 'bench-hc' exited without filling cap file '" BENCH_CAP "'";
	if (s->error != BENCH_OK) {
		snprintf(why, sizeof(why), "cVM 'bench-hc' reported error %llu (bench/bench.h)",
			 (unsigned long long)s->error);
		return why;
	}
	if (s->nbatches != (uint64_t)opt.batches || s->ncalls != (uint64_t)opt.calls) {
		snprintf(why, sizeof(why),
			 "cVM 'bench-hc' ran %llu x %llu calls instead of %d x %d",
			 (unsigned long long)s->nbatches, (unsigned long long)s->ncalls,
			 opt.batches, opt.calls);
		return why;
	}
	if (s->affinity != (opt.cpu < 64 ? 1ULL << opt.cpu : 0)) {
		snprintf(why, sizeof(why), "the cell's CPU mask is 0x%llx, not CPU %d alone",
			 (unsigned long long)s->affinity, opt.cpu);
		return why;
	}
	return NULL;
}

static const char *check_start(const uint8_t *cap, size_t ncvms)
{
	static char why[128];
	const struct bench_start_slot *b = (const struct bench_start_slot *)cap;
	for (size_t i = 0; i < ncvms; i++)
		if (b[i].magic != BENCH_MAGIC) {
			snprintf(why, sizeof(why), "start-up cVM %zu left nothing in its cap slot",
				 i);
			return why;
		}
	return NULL;
}

static void hostcall_section(void)
{
	char args[64];
	struct iv_config cfg;
	snprintf(args, sizeof(args), "bench-hc %d %d", opt.batches, opt.calls);
	make_config(&cfg, "bench-hc", "bench_hc.so", 1, args);
	int sync_rc = 0;
	for (int r = 0; r < opt.rounds; r++) {
		native_batches(opt.batches, opt.calls, &native);
		if (raw_notify(0, 0, opt.batches, opt.calls, &raw_def))
			die("raw notify with default flags failed");
		if (sync_rc == 0)
			sync_rc = raw_notify(1, 0, opt.batches, opt.calls, &raw_sync);
		if (sync_rc == 0)
			raw_notify(1, 1, opt.batches, opt.calls, &raw_cellf);

		struct cvm_times t;
		static uint8_t cap[BENCH_CAP_SIZE];
		run_monitor(&cfg, &t, cap, check_hc);
		const struct bench_shm *s = (const struct bench_shm *)cap;
		for (int b = 0; b < opt.batches; b++) {
			add(&hc, (double)s->hc_ns[b] / opt.calls / 1000.0);
			add(&hc_native, (double)s->native_ns[b] / opt.calls / 1000.0);
		}
	}
	iv_config_free(&cfg);

	double h = median(&hc), rd = median(&raw_def), n = median(&native);
	printf("\n== (a) hostcall round trip: %d rounds x %d batches of %d calls, per-call median "
	       "==\n",
	       opt.rounds, opt.batches, opt.calls);
	printf("  %-40s median %7.3f us   %s\n", "hostcall round trip (inspect)", h, spread(&hc));
	printf("  %-40s median %7.3f us   ratio hostcall/raw = %.2fx (target <= 1.25x: %s)   %s\n",
	       "raw seccomp notify (default)", rd, h / rd, verdict(h / rd, 1.25), spread(&raw_def));
	if (sync_rc == 0) {
		double rs = median(&raw_sync), rc = median(&raw_cellf);
		printf("  %-40s median %7.3f us   ratio hostcall/raw = %.2fx (target <= 1.25x: %s) "
		       "  %s\n",
		       "raw seccomp notify (sync wake-up)", rs, h / rs, verdict(h / rs, 1.25),
		       spread(&raw_sync));
		printf("  %-40s median %7.3f us   ratio hostcall/raw = %.2fx (info: the cell's "
		       "%zu-insn filter)   %s\n",
		       "raw notify (sync wake-up, cell filter)", rc, h / rc, cell_filter_len,
		       spread(&raw_cellf));
	} else {
		printf("  %-40s unsupported: SECCOMP_IOCTL_NOTIF_SET_FLAGS: %s (the monitor's own\n"
		       "  %-40s SET_FLAGS ioctl fails the same way on this kernel)\n",
		       "raw seccomp notify (sync wake-up)", strerror(-sync_rc), "");
	}
	printf("  %-40s median %7.3f us   ratio hostcall/native = %.1fx   %s\n",
	       "native syscall (getppid)", n, h / n, spread(&native));
	printf("  %-40s median %7.3f us   (info: the filter's ALLOW path)   %s\n",
	       "getppid inside a cell", median(&hc_native), spread(&hc_native));
}

static void add_startup(struct startup *v, const struct cvm_times *t,
			const struct bench_start_slot *b)
{
	if (b->t_first < t->t_running || b->t_exit < b->t_first || t->t_done < b->t_exit)
		die("start-up cVM: inconsistent timestamps (deploy %llu, go %llu, first %llu, exit "
		    "%llu, reaped %llu)",
		    (unsigned long long)t->t_deploy, (unsigned long long)t->t_running,
		    (unsigned long long)b->t_first, (unsigned long long)b->t_exit,
		    (unsigned long long)t->t_done);
	add(&v->first, (double)(b->t_first - t->t_deploy) / 1000.0);
	add(&v->exit, (double)(t->t_done - t->t_deploy) / 1000.0);
	add(&v->go, (double)(t->t_running - t->t_deploy) / 1000.0);
	add(&v->go_first, (double)(b->t_first - t->t_running) / 1000.0);
	add(&v->probe, (double)(b->t_probed - b->t_first) / 1000.0);
	add(&v->reaped, (double)(t->t_done - b->t_exit) / 1000.0);
}

static void print_startup(const char *title, const struct startup *v)
{
	double cf = median(&v->first), sf = median(&sp_first);
	double ce = median(&v->exit), se = median(&sp_exit);
	printf("  %s:\n", title);
	printf("    cVM deploy -> first instruction median %.1f us; posix_spawn -> first "
	       "instruction median %.1f us; ratio %.2f x (target <= 2x: %s)\n",
	       cf, sf, cf / sf, verdict(cf / sf, 2.0));
	printf("    cVM deploy -> exit median %.1f us; posix_spawn -> exit median %.1f us; ratio "
	       "%.2f x (target <= 2x: %s)\n",
	       ce, se, ce / se, verdict(ce / se, 2.0));
	printf("    cVM phases (median us): deploy -> go sent %.1f; go -> first instruction %.1f; "
	       "first -> cap probed %.1f; host_exit -> reaped %.1f\n",
	       median(&v->go), median(&v->go_first), median(&v->probe), median(&v->reaped));
}

static void startup_section(void)
{
	char peer[PATH_MAX + 16];
	snprintf(peer, sizeof(peer), "%s/peer_start", here);
	if (access(peer, X_OK))
		die("the spawn peer '%s' is missing (run `make bench`)", peer);

	/* Cold: one monitor run (iv_run_init .. iv_run_free) per cVM, as
	 * `intravisor -y` with one cVM; the spawn peer runs in between. */
	struct iv_config cfg;
	static uint8_t cap[BENCH_CAP_SIZE];
	make_config(&cfg, "bench-start", "bench_start.so", 1, "bench-start 0");
	for (int i = 0; i < opt.warmup + opt.runs; i++) {
		double f = 0, e = 0;
		struct cvm_times t;
		/* alternate which goes first, so that neither always follows the other */
		if (i & 1)
			spawn_once(peer, &f, &e);
		run_monitor(&cfg, &t, cap, check_start);
		if (!(i & 1))
			spawn_once(peer, &f, &e);
		if (i < opt.warmup)
			continue;
		add(&sp_first, f);
		add(&sp_exit, e);
		add_startup(&cold, &t, (const struct bench_start_slot *)cap);
	}
	iv_config_free(&cfg);

	/* Warm: one monitor run deploying warmup + runs cVMs one after another. */
	int n = opt.warmup + opt.runs;
	struct cvm_times *t = calloc((size_t)n, sizeof(*t));
	if (!t)
		die("out of memory");
	make_config(&cfg, "bench-start", "bench_start.so", n, NULL);
	run_monitor(&cfg, t, cap, check_start);
	for (int i = opt.warmup; i < n; i++)
		add_startup(&warm, &t[i], (const struct bench_start_slot *)cap + i);
	free(t);
	iv_config_free(&cfg);

	printf("\n== (b) fresh start-up: %d runs each (after %d warm-up), median ==\n", opt.runs,
	       opt.warmup);
	print_startup("one cVM per monitor run (iv_run_init .. iv_run_free each time)", &cold);
	print_startup("in a running monitor (cVMs deployed one after another by one iv_run)",
		      &warm);
	printf("  spread (us):\n");
	printf("    %-44s %s\n", "cVM deploy -> first instruction (per run)", spread(&cold.first));
	printf("    %-44s %s\n", "cVM deploy -> exit (per run)", spread(&cold.exit));
	printf("    %-44s %s\n", "cVM deploy -> first instruction (running)", spread(&warm.first));
	printf("    %-44s %s\n", "cVM deploy -> exit (running)", spread(&warm.exit));
	printf("    %-44s %s\n", "posix_spawn -> first instruction", spread(&sp_first));
	printf("    %-44s %s\n", "posix_spawn -> exit (waitpid)", spread(&sp_exit));
}

int main(int argc, char **argv)
{
	int c;
	while ((c = getopt(argc, argv, "c:r:b:n:s:w:vh")) != -1) {
		switch (c) {
		case 'c':
			opt.cpu = parse_int(optarg, 0, CPU_SETSIZE - 1, "-c CPU");
			break;
		case 'r':
			opt.rounds = parse_int(optarg, 1, 100, "-r ROUNDS");
			break;
		case 'b':
			opt.batches = parse_int(optarg, 1, BENCH_MAX_BATCHES, "-b BATCHES");
			break;
		case 'n':
			opt.calls = parse_int(optarg, 1, 10000000, "-n CALLS");
			break;
		case 's':
			opt.runs = parse_int(optarg, 1, 100, "-s RUNS");
			break;
		case 'w':
			opt.warmup = parse_int(optarg, 0, 20, "-w WARMUP");
			break;
		case 'v':
			opt.verbose++;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (opt.rounds * opt.batches > MAX_SAMPLES) {
		fprintf(stderr, "hostcall: -r x -b must be at most %d\n", MAX_SAMPLES);
		return 2;
	}
	iv_verbose = opt.verbose > 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART: interrupts the waits */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL))
		die("sigaction: %s", strerror(errno));
	static const int fatal[] = {SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE};
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
		struct sigaction fa = {.sa_handler = on_fatal, .sa_flags = SA_RESETHAND};
		sigemptyset(&fa.sa_mask);
		if (sigaction(fatal[i], &fa, NULL))
			die("sigaction: %s", strerror(errno));
	}

	/* What iv_run_init sets up once per process (the empty root, the cells'
	 * namespaces, the stub) is the caller's to release, as in main.c. */
	if (atexit(iv_cell_global_fini))
		die("atexit failed");
	pin(); /* before any thread or child exists */
	find_here();
	load_cell_filter();
	uint64_t t0 = now_ns();
	hostcall_section();
	startup_section();
	printf("\n(total %.1f s)\n", (double)(now_ns() - t0) / 1e9);
	return 0;
}
