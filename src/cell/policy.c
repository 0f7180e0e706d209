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
#include <sys/prctl.h>
#include <sys/socket.h>
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
	SCMP_SYS(getgroups),
	SCMP_SYS(pause),
	SCMP_SYS(rt_sigsuspend),
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

/*
 * Programs (cVMs started by exec, docs/ARCHITECTURE.md "System calls of
 * programs"): what Docker's default profile allows, less what would break
 * a cVM's isolation from the host, the monitor or other cVMs.  By name, so
 * that a call this libseccomp does not know is simply left out (refused).
 */
static const char *const program_allowed[] = {
	/* files and descriptors */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
	"preadv2", "pwritev2", "lseek", "close", "close_range", "fstat", "newfstatat", "statx",
	"stat", "lstat", "fcntl", "dup", "dup2", "dup3", "open", "openat", "openat2", "creat",
	"access", "faccessat", "faccessat2", "readlink", "readlinkat", "getdents", "getdents64",
	"getcwd", "chdir", "fchdir", "mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename",
	"renameat", "renameat2", "link", "linkat", "symlink", "symlinkat", "chmod", "fchmod",
	"fchmodat", "fchmodat2", "chown", "fchown", "fchownat", "lchown", "umask", "truncate",
	"ftruncate", "fallocate", "fsync", "fdatasync", "sync", "syncfs", "sync_file_range",
	"flock", "fadvise64", "readahead", "copy_file_range", "sendfile", "splice", "tee",
	"vmsplice", "statfs", "fstatfs", "utime", "utimes", "utimensat", "futimesat", "mknod",
	"mknodat", "getxattr", "lgetxattr", "fgetxattr", "setxattr", "lsetxattr", "fsetxattr",
	"listxattr", "llistxattr", "flistxattr", "removexattr", "lremovexattr", "fremovexattr",
	"name_to_handle_at", "pipe", "pipe2", "memfd_create", "inotify_init", "inotify_init1",
	"inotify_add_watch", "inotify_rm_watch", "eventfd", "eventfd2", "signalfd", "signalfd4",
	"timerfd_create", "timerfd_settime", "timerfd_gettime", "epoll_create", "epoll_create1",
	"epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "poll", "ppoll", "select",
	"pselect6",
	/* sockets the cVM holds (socketpair): see "socket" below */
	"socketpair", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
	"shutdown", "getsockopt", "setsockopt", "getsockname", "getpeername",
	/* memory */
	"mmap", "munmap", "mprotect", "mremap", "madvise", "brk", "msync", "mincore", "mlock",
	"mlock2", "munlock", "mlockall", "munlockall", "remap_file_pages", "membarrier",
	/* processes and threads: in the cell's own pid namespace */
	"fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4", "waitid",
	"getpid", "getppid", "gettid", "getpgid", "setpgid", "getpgrp", "getsid", "setsid",
	"set_tid_address", "set_robust_list", "get_robust_list", "futex", "futex_waitv",
	"rseq", "arch_prctl", "prctl", "set_thread_area", "get_thread_area", "seccomp",
	"landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
	"kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_open",
	"pidfd_send_signal",
	/* signals */
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending", "rt_sigtimedwait",
	"rt_sigsuspend", "sigaltstack", "pause", "alarm", "getitimer", "setitimer",
	"timer_create", "timer_settime", "timer_gettime", "timer_getoverrun", "timer_delete",
	/* time */
	"clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday",
	"time", "times", "restart_syscall",
	/* identity and limits: without capabilities these change nothing but
	 * the cVM's own (its uid is its alone) */
	"getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups",
	"setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups",
	"setfsuid", "setfsgid", "capget", "capset", "getrlimit", "setrlimit", "prlimit64",
	"getrusage", "sysinfo", "uname", "sethostname", "getcpu", "getrandom",
	/* scheduling */
	"sched_yield", "sched_getaffinity", "sched_setaffinity", "sched_getparam",
	"sched_setparam", "sched_getscheduler", "sched_setscheduler", "sched_getattr",
	"sched_setattr", "sched_get_priority_max", "sched_get_priority_min",
	"sched_rr_get_interval", "getpriority", "setpriority", "ioprio_get", "ioprio_set",
	/* System V IPC and message queues: the cell's own ipc namespace */
	"shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop", "semctl",
	"msgget", "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend",
	"mq_timedreceive", "mq_notify", "mq_getsetattr",
};

/* ioctls a program may make on what it holds: terminal and descriptor
 * queries.  The rest (TIOCSTI, terminal settings of the monitor's own
 * terminal, ...) reach the monitor, which answers ENOTTY and says so. */
static const unsigned long program_ioctls[] = {
	TCGETS, TIOCGWINSZ, TIOCGPGRP, FIONREAD, FIONBIO, FIOCLEX, FIONCLEX, FIOASYNC,
};

/* The personalities Docker allows: Linux, and asking what it is. */
static const unsigned long program_personas[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

/* The clone flags that make namespaces: refused, as by Docker. */
#define CLONE_NS_FLAGS                                                                             \
	(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | \
	 CLONE_NEWCGROUP | CLONE_NEWTIME)

static int add_program_rules(scmp_filter_ctx ctx, int kind)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < sizeof(program_allowed) / sizeof(*program_allowed);
	     i++) {
		int nr = seccomp_syscall_resolve_name(program_allowed[i]);
		if (nr >= 0 && !(nr == SCMP_SYS(exit_group) && (kind & IV_POLICY_NOTIFY_EXIT)) &&
		    !(nr == SCMP_SYS(brk) && (kind & IV_POLICY_NOTIFY_BRK)))
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
	for (size_t i = 0; rc == 0 && i < sizeof(program_ioctls) / sizeof(*program_ioctls); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				      SCMP_A1(SCMP_CMP_EQ, program_ioctls[i]));
	for (size_t i = 0; rc == 0 && i < sizeof(program_personas) / sizeof(*program_personas);
	     i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(personality), 1,
				      SCMP_A0(SCMP_CMP_EQ, program_personas[i]));
	/* threads and processes, never new namespaces */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NS_FLAGS, 0));
	return rc;
}

/*
 * Networked programs (features/net: a network namespace of their own) may
 * also make sockets of the ordinary families and types and use them:
 * socket only for AF_UNIX, AF_INET and AF_INET6 and only of the stream,
 * datagram and seqpacket types (the type's low bits; the high ones are
 * SOCK_NONBLOCK and SOCK_CLOEXEC).  Raw and packet sockets, netlink
 * (routes, addresses, firewall) and every other family reach the monitor,
 * which refuses them and says so.  (glibc's getaddrinfo copes without a
 * netlink socket; the kernel would refuse a change of routes anyway: the
 * namespace is the host's user namespace's, where a cell has no
 * capability.)
 */
static const int net_domains[] = {AF_UNIX, AF_INET, AF_INET6};
static const int net_types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
static const char *const net_allowed[] = {"bind", "connect", "listen", "accept", "accept4"};
#define SOCK_TYPE_MASK 0xf

static int add_net_rules(scmp_filter_ctx ctx)
{
	int rc = 0;
	for (size_t d = 0; d < sizeof(net_domains) / sizeof(*net_domains); d++)
		for (size_t t = 0; rc == 0 && t < sizeof(net_types) / sizeof(*net_types); t++)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
					      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)net_domains[d]),
					      SCMP_A1(SCMP_CMP_MASKED_EQ, SOCK_TYPE_MASK,
						      (scmp_datum_t)net_types[t]));
	for (size_t i = 0; rc == 0 && i < sizeof(net_allowed) / sizeof(*net_allowed); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
				      seccomp_syscall_resolve_name(net_allowed[i]), 0);
	return rc;
}

/* Each filter is the same for every cell of its kind: built once, copied
 * into each plan. */
static void *cached[16];
static size_t cached_len[16];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

/* kind: IV_POLICY_* bits.  With IV_POLICY_NOTIFY_EXIT, exit_group is
 * notified like a refused call (the monitor lets it run, or holds it). */
static int build(struct iv_plan *p, int kind, struct iv_err *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_NOTIFY);
	if (!ctx)
		return iv_fail(err, "seccomp: cannot create a filter");
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	/* A binary tree over syscall numbers: half the install cost of the
	 * linear list, and no slower per call (measured). */
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (kind & IV_POLICY_PROGRAM) {
		if (rc == 0)
			rc = add_program_rules(ctx, kind);
		if (rc == 0 && (kind & IV_POLICY_NET))
			rc = add_net_rules(ctx);
		goto export;
	}
	for (size_t i = 0; rc == 0 && i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (!(allowed[i] == SCMP_SYS(exit_group) && (kind & IV_POLICY_NOTIFY_EXIT)) &&
		    !(allowed[i] == SCMP_SYS(brk) && (kind & IV_POLICY_NOTIFY_BRK)))
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
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				      SCMP_A1(SCMP_CMP_EQ, TCGETS));
	/* its threads' names */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				      SCMP_A0(SCMP_CMP_EQ, PR_GET_NAME));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				      SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME));
	/* prlimit on itself only, for getrlimit in libcs. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1,
				      SCMP_A0(SCMP_CMP_EQ, 0));
export:
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

static int init_locked(int kind, struct iv_err *err)
{
	if (cached[kind])
		return 0;
	struct iv_plan tmp = {0};
	int rc = build(&tmp, kind, err);
	cached[kind] = tmp.filter;
	cached_len[kind] = tmp.filter_len;
	return rc;
}

int iv_policy_init(struct iv_err *err)
{
	pthread_mutex_lock(&cache_lock);
	int rc = init_locked(0, err);
	if (rc == 0)
		rc = init_locked(IV_POLICY_PROGRAM, err);
	pthread_mutex_unlock(&cache_lock);
	return rc;
}

int iv_policy_build(struct iv_plan *p, int kind, struct iv_err *err)
{
	kind &= IV_POLICY_PROGRAM | IV_POLICY_NOTIFY_EXIT | IV_POLICY_NET | IV_POLICY_NOTIFY_BRK;
	pthread_mutex_lock(&cache_lock);
	int rc = init_locked(kind, err);
	if (rc == 0 && (p->filter = malloc(cached_len[kind] * 8)) != NULL) {
		memcpy(p->filter, cached[kind], cached_len[kind] * 8);
		p->filter_len = cached_len[kind];
	} else if (rc == 0) {
		rc = iv_fail(err, "out of memory");
	}
	pthread_mutex_unlock(&cache_lock);
	return rc;
}
