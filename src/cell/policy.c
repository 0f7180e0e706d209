/*
 * The cell's seccomp policy.  What the kernel can check by itself runs
 * natively: I/O on descriptors the cell holds, memory management inside
 * the cell, futex, time, threads.  Everything else - hostcalls and every
 * syscall not on the list - goes to the monitor by user notification, so
 * that hostcalls are served and denied calls are reported by name.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "iv_cell.h"

static const int allowed[] = {
	SCMP_SYS(read),
	SCMP_SYS(write),
	SCMP_SYS(readv),
	SCMP_SYS(writev),
	SCMP_SYS(pread64),
	SCMP_SYS(pwrite64),
	SCMP_SYS(preadv),
	SCMP_SYS(pwritev),
	SCMP_SYS(lseek),
	SCMP_SYS(close),
	SCMP_SYS(fstat),
	SCMP_SYS(newfstatat),
	SCMP_SYS(statx),
	SCMP_SYS(fcntl),
	SCMP_SYS(dup),
	SCMP_SYS(dup2),
	SCMP_SYS(dup3),
	SCMP_SYS(mmap),
	SCMP_SYS(munmap),
	SCMP_SYS(mprotect),
	SCMP_SYS(mremap),
	SCMP_SYS(madvise),
	SCMP_SYS(brk),
	SCMP_SYS(msync),
	SCMP_SYS(futex),
	SCMP_SYS(set_robust_list),
	SCMP_SYS(get_robust_list),
	SCMP_SYS(exit),
	SCMP_SYS(exit_group),
	SCMP_SYS(rt_sigaction),
	SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigreturn),
	SCMP_SYS(sigaltstack),
	SCMP_SYS(rt_sigpending),
	SCMP_SYS(rt_sigtimedwait),
	SCMP_SYS(clock_gettime),
	SCMP_SYS(clock_getres),
	SCMP_SYS(clock_nanosleep),
	SCMP_SYS(nanosleep),
	SCMP_SYS(restart_syscall), /* how the kernel resumes a sleep a signal handler cut */
	SCMP_SYS(gettimeofday),
	SCMP_SYS(time),
	SCMP_SYS(getpid),
	SCMP_SYS(gettid),
	SCMP_SYS(getppid),
	SCMP_SYS(getuid),
	SCMP_SYS(geteuid),
	SCMP_SYS(getgid),
	SCMP_SYS(getegid),
	SCMP_SYS(set_tid_address),
	SCMP_SYS(arch_prctl),
	SCMP_SYS(sched_yield),
	SCMP_SYS(sched_getaffinity),
	SCMP_SYS(getrandom),
	SCMP_SYS(uname),
	SCMP_SYS(getrlimit),
	SCMP_SYS(openat),
	SCMP_SYS(open), /* musl's fopen on x86-64: checked by the kernel in the cell's root */
	SCMP_SYS(stat),
	SCMP_SYS(lstat),
	SCMP_SYS(readlink),
	SCMP_SYS(mkdir),
	SCMP_SYS(rmdir),
	SCMP_SYS(unlink),
	SCMP_SYS(rename),
	SCMP_SYS(pipe),
	SCMP_SYS(access),
	SCMP_SYS(faccessat),
	SCMP_SYS(faccessat2),
	SCMP_SYS(getdents64),
	SCMP_SYS(getcwd),
	SCMP_SYS(chdir),
	SCMP_SYS(fchdir),
	SCMP_SYS(readlinkat),
	SCMP_SYS(mkdirat),
	SCMP_SYS(unlinkat),
	SCMP_SYS(renameat),
	SCMP_SYS(ftruncate),
	SCMP_SYS(fsync),
	SCMP_SYS(fdatasync),
	SCMP_SYS(umask),
	SCMP_SYS(poll),
	SCMP_SYS(ppoll),
	SCMP_SYS(pselect6),
	SCMP_SYS(rseq),
	SCMP_SYS(membarrier),
	SCMP_SYS(pipe2),
	/* Every cVM is alone in its pid namespace (a fork too): it can signal
	 * only its own threads. */
	SCMP_SYS(tkill),
	SCMP_SYS(tgkill),
	/* Harmless without capabilities, which no cell has (a fork's are all
	 * dropped before it runs): the monitor runs them in forks. */
	SCMP_SYS(capset),
	SCMP_SYS(sethostname),
	SCMP_SYS(close_range),
};

/* The filter is the same for every cell: built once, copied into each plan. */
static void *cached;
static size_t cached_len;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static int build(struct iv_plan *p, struct iv_err *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_NOTIFY);
	if (!ctx)
		return iv_fail(err, "seccomp: cannot create a filter");
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	/* A binary tree over syscall numbers: half the install cost of the
	 * linear list, and no slower per call (measured). */
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	for (size_t i = 0; rc == 0 && i < sizeof(allowed) / sizeof(allowed[0]); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	/* Threads only: a cVM may not create processes (a fork bomb stays one cell). */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD | CLONE_VM,
					      CLONE_THREAD | CLONE_VM));
	/* clone3 hides its flags in memory: it goes to the monitor, which answers
	 * ENOSYS (every libc falls back to clone) but for the thread clones it
	 * runs itself in forks (features/tfork). */
	/* The only ioctl a libc needs on its console (isatty). */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				      SCMP_A1(SCMP_CMP_EQ, TIOCGWINSZ));
	/* prlimit on itself only, for getrlimit in libcs. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1,
				      SCMP_A0(SCMP_CMP_EQ, 0));
	if (rc) {
		seccomp_release(ctx);
		return iv_fail(err, "seccomp: cannot add a rule: %s", strerror(-rc));
	}

	int fd = memfd_create("iv-filter", MFD_CLOEXEC);
	if (fd < 0 || seccomp_export_bpf(ctx, fd)) {
		seccomp_release(ctx);
		if (fd >= 0)
			close(fd);
		return iv_fail(err, "seccomp: cannot export the filter");
	}
	seccomp_release(ctx);
	off_t n = lseek(fd, 0, SEEK_END);
	if (n <= 0 || n % 8 || (p->filter = malloc((size_t)n)) == NULL ||
	    pread(fd, p->filter, (size_t)n, 0) != n) {
		close(fd);
		return iv_fail(err, "seccomp: cannot read the exported filter");
	}
	close(fd);
	p->filter_len = (size_t)n / 8;
	return 0;
}

static int init_locked(struct iv_err *err)
{
	if (cached)
		return 0;
	struct iv_plan tmp = {0};
	int rc = build(&tmp, err);
	cached = tmp.filter;
	cached_len = tmp.filter_len;
	return rc;
}

int iv_policy_init(struct iv_err *err)
{
	pthread_mutex_lock(&cache_lock);
	int rc = init_locked(err);
	pthread_mutex_unlock(&cache_lock);
	return rc;
}

int iv_policy_build(struct iv_plan *p, struct iv_err *err)
{
	pthread_mutex_lock(&cache_lock);
	int rc = init_locked(err);
	if (rc == 0 && (p->filter = malloc(cached_len * 8)) != NULL) {
		memcpy(p->filter, cached, cached_len * 8);
		p->filter_len = cached_len;
	} else if (rc == 0) {
		rc = iv_fail(err, "out of memory");
	}
	pthread_mutex_unlock(&cache_lock);
	return rc;
}
