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
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "common.h"
#include "iv.h"
#include "seccomp_compat.h"

#ifndef SECCOMP_RET_USER_NOTIF
#define SECCOMP_RET_USER_NOTIF 0x7fc00000U
#endif
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif

/* The raw peer notifies the very number a cVM's host_inspect() uses. */
#define RAW_NR	    (IV_HC_BASE + HC_INSPECT)
#define RAW_ANSWER  1 /* what host_inspect() answers in a fresh cVM */
#define MAX_SAMPLES SERIES_MAX
#define TIMEOUT_S   20 /* per cVM run / peer process */

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

const struct bench_prog bench_prog = {
	.name = "hostcall",
	.usage = usage,
	.make_target = "bench",
	.timeout_s = TIMEOUT_S,
};

static inline long raw_syscall1(long nr, long a)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a) : "rcx", "r11", "memory");
	return ret;
}

/* ---- the monitor, in process ---- */

/*
 * A config with cap file "bench" and n cVMs of runtime so, each with wait
 * (-1: one after the other) in ranges of their own, parsed.  cVM i is
 * named label (n == 1) or label-i; its args are args, or "NAME i" (then
 * tail) when args is NULL.
 */
static void make_config_wait(struct iv_config *cfg, const char *label, const char *so, int n,
			     const char *args, long wait, const char *tail)
{
	char path[PATH_MAX + 64];
	bench_cvm_path(path, sizeof(path), so);
	struct gen g;
	gen_begin(&g, BENCH_CAP, BENCH_CAP_SIZE, path);
	for (int i = 0; i < n; i++) {
		char name[64], own[96];
		if (n == 1)
			snprintf(name, sizeof(name), "%s", label);
		else
			snprintf(name, sizeof(name), "%s-%d", label, i);
		snprintf(own, sizeof(own), "%s %d%s", name, i, tail);
		gen_cvm(&g, name, args ? args : own, 0, i, wait, NULL);
	}
	struct iv_err err;
	if (gen_end(&g, label, cfg, &err))
		die("%s", err.msg);
}

static void make_config(struct iv_config *cfg, const char *label, const char *so, int n,
			const char *args)
{
	make_config_wait(cfg, label, so, n, args, -1, "");
}

/*
 * One monitor run of every cVM of cfg: their times into t[nt], and the cap
 * file's contents into cap[BENCH_CAP_SIZE].  Dies, showing what the monitor
 * said, unless every cVM ended well and check is happy.
 */
static void run_monitor_pool(struct iv_config *cfg, struct cvm_times *t, size_t nt, uint8_t *cap,
			     bench_check_fn check, int pool)
{
	struct bench_run r = {
		.pool = pool,
		.cap_name = BENCH_CAP,
		.cap = cap,
		.cap_size = BENCH_CAP_SIZE,
		.t = t,
		.max_cvms = nt,
		.check = check,
	};
	bench_run_monitor(cfg, &r, NULL, 0);
}

static void run_monitor(struct iv_config *cfg, struct cvm_times *t, size_t nt, uint8_t *cap,
			bench_check_fn check)
{
	run_monitor_pool(cfg, t, nt, cap, check, 0);
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

	watchdog_arm();
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
	int st = wait_child(pid);
	watchdog_disarm();
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
			series_add(out, (double)shm->ns[b] / nc / 1000.0);
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
		series_add(out, (double)(now_ns() - t0) / nc / 1000.0);
	}
}

/* ---- set-up ---- */

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
	opt.cpu = bench_pin(opt.cpu, "");
	/* How busy other work keeps this CPU (and the machine) while we do nothing. */
	uint64_t b0, t0, b1, t1, mb0, mt0, mb1, mt1;
	if (cpu_busy(opt.cpu, &b0, &t0) == 0 && cpu_busy(-1, &mb0, &mt0) == 0) {
		sleep_ns(200 * 1000 * 1000);
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

static void load_cell_filter(void)
{
	struct iv_plan plan = {0};
	struct iv_err err;
	if (iv_policy_build(&plan, 0, &err))
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
static struct startup cold, warm, pooled;

/* The warm pool's run: cells made ahead (the monitor's --pool), each cVM
 * resting after its timestamps while the next one's cell is parked. */
#define POOL_SIZE    2
#define POOL_REST_US " 3000"
/* The sustained rate: this many cVMs deployed at once (wait: 0), with a
 * pool of RATE_POOL and without, against as many posix_spawns at once. */
#define RATE_CVMS   100
#define RATE_POOL   4
#define RATE_ROUNDS 5
SERIES(rate_pool, "deploys per second, pool");
SERIES(rate_none, "deploys per second, no pool");
SERIES(rate_spawn, "posix_spawns per second");

static int check_hc(const struct iv_run *run, const void *cap, const void *ctx, char *why,
		    size_t len)
{
	const struct bench_shm *s = cap;
	(void)run;
	(void)ctx;
	if (s->magic != BENCH_MAGIC)
		snprintf(why, len, "cVM 'bench-hc' exited without filling cap file '%s'",
			 BENCH_CAP);
	else if (s->error != BENCH_OK)
		snprintf(why, len, "cVM 'bench-hc' reported error %llu (bench/bench.h)",
			 (unsigned long long)s->error);
	else if (s->nbatches != (uint64_t)opt.batches || s->ncalls != (uint64_t)opt.calls)
		snprintf(why, len, "cVM 'bench-hc' ran %llu x %llu calls instead of %d x %d",
			 (unsigned long long)s->nbatches, (unsigned long long)s->ncalls,
			 opt.batches, opt.calls);
	else if (s->affinity != cpu_mask_word(opt.cpu))
		snprintf(why, len, "the cell's CPU mask is 0x%llx, not CPU %d alone",
			 (unsigned long long)s->affinity, opt.cpu);
	else
		return 0;
	return -1;
}

static int check_start(const struct iv_run *run, const void *cap, const void *ctx, char *why,
		       size_t len)
{
	const struct bench_start_slot *b = cap;
	(void)ctx;
	for (size_t i = 0; i < run->ncvms; i++)
		if (b[i].magic != BENCH_MAGIC) {
			snprintf(why, len, "start-up cVM %zu left nothing in its cap slot", i);
			return -1;
		}
	return 0;
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
		run_monitor(&cfg, &t, 1, cap, check_hc);
		const struct bench_shm *s = (const struct bench_shm *)cap;
		for (int b = 0; b < opt.batches; b++) {
			series_add(&hc, (double)s->hc_ns[b] / opt.calls / 1000.0);
			series_add(&hc_native, (double)s->native_ns[b] / opt.calls / 1000.0);
		}
	}
	iv_config_free(&cfg);

	double h = series_median(&hc), rd = series_median(&raw_def), n = series_median(&native);
	printf("\n== (a) hostcall round trip: %d rounds x %d batches of %d calls, per-call median "
	       "==\n",
	       opt.rounds, opt.batches, opt.calls);
	printf("  %-40s median %7.3f us   %s\n", "hostcall round trip (inspect)", h,
	       series_spread(&hc, 2));
	printf("  %-40s median %7.3f us   ratio hostcall/raw = %.2fx (target <= 1.25x: %s)   %s\n",
	       "raw seccomp notify (default)", rd, h / rd, verdict(h / rd <= 1.25),
	       series_spread(&raw_def, 2));
	if (sync_rc == 0) {
		double rs = series_median(&raw_sync), rc = series_median(&raw_cellf);
		printf("  %-40s median %7.3f us   ratio hostcall/raw = %.2fx (target <= 1.25x: %s) "
		       "  %s\n",
		       "raw seccomp notify (sync wake-up)", rs, h / rs, verdict(h / rs <= 1.25),
		       series_spread(&raw_sync, 2));
		printf("  %-40s median %7.3f us   ratio hostcall/raw = %.2fx (info: the cell's "
		       "%zu-insn filter)   %s\n",
		       "raw notify (sync wake-up, cell filter)", rc, h / rc, cell_filter_len,
		       series_spread(&raw_cellf, 2));
	} else {
		printf("  %-40s unsupported: SECCOMP_IOCTL_NOTIF_SET_FLAGS: %s (the monitor's own\n"
		       "  %-40s SET_FLAGS ioctl fails the same way on this kernel)\n",
		       "raw seccomp notify (sync wake-up)", strerror(-sync_rc), "");
	}
	printf("  %-40s median %7.3f us   ratio hostcall/native = %.1fx   %s\n",
	       "native syscall (getppid)", n, h / n, series_spread(&native, 2));
	printf("  %-40s median %7.3f us   (info: the filter's ALLOW path)   %s\n",
	       "getppid inside a cell", series_median(&hc_native), series_spread(&hc_native, 2));
}

static void add_startup(struct startup *v, const struct cvm_times *t,
			const struct bench_start_slot *b)
{
	if (!cvm_first_ok(t, b->t_first) || b->t_exit < b->t_first || t->t_done < b->t_exit)
		die("start-up cVM: inconsistent timestamps (deploy %llu, cell %llu, go %llu, first "
		    "%llu, exit %llu, reaped %llu)",
		    (unsigned long long)t->t_deploy, (unsigned long long)t->t_cell,
		    (unsigned long long)t->t_running, (unsigned long long)b->t_first,
		    (unsigned long long)b->t_exit, (unsigned long long)t->t_done);
	series_add(&v->first, span_us(t->t_deploy, b->t_first));
	series_add(&v->exit, span_us(t->t_deploy, t->t_done));
	series_add(&v->go, span_us(t->t_deploy, t->t_running));
	/* negative when the cVM ran before the monitor noted that it sent go */
	series_add(&v->go_first, span_us(t->t_running, b->t_first));
	series_add(&v->probe, span_us(b->t_first, b->t_probed));
	series_add(&v->reaped, span_us(b->t_exit, t->t_done));
}

static void print_startup(const char *title, const struct startup *v)
{
	double cf = series_median(&v->first), sf = series_median(&sp_first);
	double ce = series_median(&v->exit), se = series_median(&sp_exit);
	printf("  %s:\n", title);
	printf("    cVM deploy -> first instruction median %.1f us; posix_spawn -> first "
	       "instruction median %.1f us; ratio %.2f x (target <= 2x: %s)\n",
	       cf, sf, cf / sf, verdict(cf / sf <= 2.0));
	printf("    cVM deploy -> exit median %.1f us; posix_spawn -> exit median %.1f us; ratio "
	       "%.2f x (target <= 2x: %s)\n",
	       ce, se, ce / se, verdict(ce / se <= 2.0));
	printf("    cVM phases (median us): deploy -> go sent %.1f; go -> first instruction %.1f; "
	       "first -> cap probed %.1f; host_exit -> reaped %.1f\n",
	       series_median(&v->go), series_median(&v->go_first), series_median(&v->probe),
	       series_median(&v->reaped));
}

static void startup_section(void)
{
	char peer[PATH_MAX + 16];
	bench_peer_path(peer, sizeof(peer));

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
			spawn_peer(peer, opt.cpu, &f, &e);
		run_monitor(&cfg, &t, 1, cap, check_start);
		if (!(i & 1))
			spawn_peer(peer, opt.cpu, &f, &e);
		if (i < opt.warmup)
			continue;
		series_add(&sp_first, f);
		series_add(&sp_exit, e);
		add_startup(&cold, &t, (const struct bench_start_slot *)cap);
	}
	iv_config_free(&cfg);

	/* Warm: one monitor run deploying warmup + runs cVMs one after another. */
	int n = opt.warmup + opt.runs;
	struct cvm_times *t = calloc((size_t)n, sizeof(*t));
	if (!t)
		die("out of memory");
	make_config(&cfg, "bench-start", "bench_start.so", n, NULL);
	run_monitor(&cfg, t, (size_t)n, cap, check_start);
	for (int i = opt.warmup; i < n; i++)
		add_startup(&warm, &t[i], (const struct bench_start_slot *)cap + i);
	free(t);
	iv_config_free(&cfg);

	/* With a warm pool: the same cVMs, each resting so that the next one's
	 * cell is parked by the time it is deployed. */
	t = calloc((size_t)n, sizeof(*t));
	if (!t)
		die("out of memory");
	make_config_wait(&cfg, "bench-start", "bench_start.so", n, NULL, -1, POOL_REST_US);
	run_monitor_pool(&cfg, t, (size_t)n, cap, check_start, POOL_SIZE);
	for (int i = opt.warmup; i < n; i++)
		add_startup(&pooled, &t[i], (const struct bench_start_slot *)cap + i);
	free(t);
	iv_config_free(&cfg);

	printf("\n== (b) fresh start-up: %d runs each (after %d warm-up), median ==\n", opt.runs,
	       opt.warmup);
	print_startup("one cVM per monitor run (iv_run_init .. iv_run_free each time)", &cold);
	print_startup("in a running monitor (cVMs deployed one after another by one iv_run)",
		      &warm);
	double pf = series_median(&pooled.first), sf = series_median(&sp_first);
	printf("  with a warm pool (--pool %d; each cVM rests%s us, in which the next one's cell "
	       "is parked):\n",
	       POOL_SIZE, POOL_REST_US);
	printf("    cVM deploy -> first instruction median %.1f us; posix_spawn -> first "
	       "instruction median %.1f us; ratio %.2f x (target <= 1.0x: %s)\n",
	       pf, sf, pf / sf, pf <= sf ? "met" : "NOT met");
	printf("    cVM phases (median us): deploy -> go sent %.1f; go -> first instruction %.1f; "
	       "first -> cap probed %.1f\n",
	       series_median(&pooled.go), series_median(&pooled.go_first),
	       series_median(&pooled.probe));
	printf("  spread (us):\n");
	printf("    %-44s %s\n", "cVM deploy -> first instruction (warm pool)",
	       series_spread(&pooled.first, 2));
	printf("    %-44s %s\n", "cVM deploy -> first instruction (per run)",
	       series_spread(&cold.first, 2));
	printf("    %-44s %s\n", "cVM deploy -> exit (per run)", series_spread(&cold.exit, 2));
	printf("    %-44s %s\n", "cVM deploy -> first instruction (running)",
	       series_spread(&warm.first, 2));
	printf("    %-44s %s\n", "cVM deploy -> exit (running)", series_spread(&warm.exit, 2));
	printf("    %-44s %s\n", "posix_spawn -> first instruction", series_spread(&sp_first, 2));
	printf("    %-44s %s\n", "posix_spawn -> exit (waitpid)", series_spread(&sp_exit, 2));
}

/* Deploys per second of one run of RATE_CVMS cVMs at once: from the first
 * deploy to the last reap. */
static double rate_of(struct iv_config *cfg, int pool)
{
	static struct cvm_times t[RATE_CVMS];
	static uint8_t cap[BENCH_CAP_SIZE];
	run_monitor_pool(cfg, t, RATE_CVMS, cap, check_start, pool);
	return bench_deploy_rate(t, RATE_CVMS);
}

static void rate_section(void)
{
	char peer[PATH_MAX + 16];
	cpu_set_t old;
	bench_peer_path(peer, sizeof(peer));
	if (bench_all_cpus(&old))
		die("cannot let the sustained rate use every CPU: %s", strerror(errno));
	struct iv_config cfg;
	make_config_wait(&cfg, "rate", "bench_start.so", RATE_CVMS, NULL, 0, "");
	for (int r = 0; r < RATE_ROUNDS; r++) {
		series_add(&rate_pool, rate_of(&cfg, RATE_POOL));
		series_add(&rate_none, rate_of(&cfg, 0));
		series_add(&rate_spawn, bench_spawn_rate(peer, RATE_CVMS));
	}
	iv_config_free(&cfg);
	sched_setaffinity(0, sizeof(old), &old);
	double p = series_median(&rate_pool), z = series_median(&rate_none),
	       sp = series_median(&rate_spawn);
	printf("\n== (c) sustained rate: %d cVMs deployed at once (wait: 0), every CPU online, "
	       "%d rounds, median ==\n",
	       RATE_CVMS, RATE_ROUNDS);
	printf("  with a pool of %d: %.0f deploys/s; posix_spawn: %.0f/s; ratio %.2f x (target >= "
	       "0.7x: %s)\n",
	       RATE_POOL, p, sp, p / sp, p >= 0.7 * sp ? "met" : "NOT met");
	printf("  without a pool: %.0f deploys/s; ratio %.2f x\n", z, z / sp);
	printf("    %-44s %s\n", "pool (deploys/s)", series_spread(&rate_pool, 0));
	printf("    %-44s %s\n", "no pool (deploys/s)", series_spread(&rate_none, 0));
	printf("    %-44s %s\n", "posix_spawn (/s)", series_spread(&rate_spawn, 0));
}

int main(int argc, char **argv)
{
	int c;
	while ((c = bench_getopt(argc, argv, "c:r:b:n:s:w:", &opt.verbose)) != -1) {
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
		}
	}
	if (opt.rounds * opt.batches > MAX_SAMPLES) {
		fprintf(stderr, "hostcall: -r x -b must be at most %d\n", MAX_SAMPLES);
		return 2;
	}
	bench_init(opt.verbose, 1);

	/* What iv_run_init sets up once per process (the empty root, the cells'
	 * namespaces, the stub) is the caller's to release, as in main.c. */
	if (atexit(iv_cell_global_fini))
		die("atexit failed");
	pin(); /* before any thread or child exists */
	bench_find_here();
	load_cell_filter();
	uint64_t t0 = now_ns();
	hostcall_section();
	startup_section();
	rate_section();
	printf("\n(total %.1f s)\n", (double)(now_ns() - t0) / 1e9);
	return 0;
}