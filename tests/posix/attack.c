/*
 * Escape attempts by a program's processes (tests/cases/program_mode.sh):
 * run as a program cVM, as a child process of one (busybox sh runs it), and
 * in forks.  Each attack prints one line "attack NAME: ..." with what the
 * kernel answered, and "attack NAME: ESCAPED" if it got through.
 *   attack signals      signal every pid 1..400 but itself (0, then SIGKILL)
 *   attack calls        calls a program may not make
 *   attack files        paths out of its root
 *   attack syscalls     the raw calls tests/cvm/escape.c tries
 *   attack save         host_save from wherever it runs
 *   attack proc         the processes /proc shows, and their memory files
 *   attack bomb         fork until refused, then reap
 *   attack hog MIB      touch MIB MiB and hold it
 *   attack template     save (a TFORK template); each fork then runs the
 *                       attack its args name, itself or ("child ATTACK")
 *                       in a child process it makes
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "../../sdk/include/iv_hostcalls.h"

static int escaped;

static void said(const char *name, long r)
{
	int e = errno;
	if (r >= 0) {
		printf("attack %s: ESCAPED (%ld)\n", name, r);
		escaped = 1;
	} else {
		printf("attack %s: errno %d\n", name, e);
	}
}

static void signals(void)
{
	int seen = 0, killed = 0;
	pid_t me = getpid();
	for (pid_t p = 1; p <= 400; p++)
		if (p != me && kill(p, 0) == 0)
			seen++;
	/* pid 1 of its namespace ignores it; the rest is its own */
	for (pid_t p = 2; p <= 400; p++)
		if (p != me && kill(p, SIGKILL) == 0)
			killed++;
	printf("attack signals: pid %d sees %d other pid(s), killed %d\n", (int)me, seen, killed);
}

static void calls(void)
{
	errno = 0;
	said("ptrace", ptrace(PTRACE_ATTACH, 1, 0, 0));
	said("mount", mount("none", "/", "tmpfs", 0, NULL));
	said("unshare_user", unshare(CLONE_NEWUSER));
	said("unshare_net", unshare(CLONE_NEWNET));
	said("chroot", chroot("/"));
	said("socket_unix", socket(AF_UNIX, SOCK_STREAM, 0));
	said("socket_inet", socket(AF_INET, SOCK_STREAM, 0));
	said("clone_newuser", syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0));
	said("setuid_0", syscall(SYS_setuid, 0));
	said("mknod_dev", mknod("/tmpdev", S_IFCHR | 0666, makedev(1, 3)));
	char c = 'x';
	said("tiocsti", ioctl(0, TIOCSTI, &c));
	said("process_vm_readv", syscall(SYS_process_vm_readv, 1, 0, 0, 0, 0, 0));
	said("keyctl", syscall(SYS_keyctl, 0, 0, 0, 0, 0));
	said("bpf", syscall(SYS_bpf, 0, 0, 0));
	said("io_uring_setup", syscall(SYS_io_uring_setup, 1, 0));
	said("personality_no_aslr", syscall(SYS_personality, 0x0040000));
}

/* What tests/cvm/escape.c tries as raw calls, made by a program's
 * processes: each must fail (allowed calls fail for lack of privilege). */
static void syscalls(void)
{
	static long dummy[8];
	static const struct {
		const char *name;
		long nr, a[5];
	} t[] = {
		{"mount", SYS_mount, {(long)"none", (long)"/", (long)"tmpfs", 0, 0}},
		{"umount2", SYS_umount2, {(long)"/", 2}},
		{"pivot_root", SYS_pivot_root, {(long)"/", (long)"/"}},
		{"reboot", SYS_reboot, {0, 0, 0, 0}},
		{"init_module", SYS_init_module, {0, 0, (long)""}},
		{"finit_module", SYS_finit_module, {0, (long)"", 0}},
		{"delete_module", SYS_delete_module, {(long)"nonexistent", 0}},
		{"kexec_load", SYS_kexec_load, {0, 0, 0, 0}},
		{"setns", SYS_setns, {1, 0}},
		{"add_key", SYS_add_key, {(long)"user", (long)"k", (long)"v", 1, -3}},
		{"userfaultfd", SYS_userfaultfd, {0}},
		{"perf_event_open", SYS_perf_event_open, {(long)dummy, 0, -1, -1, 0}},
		{"open_by_handle_at", SYS_open_by_handle_at, {AT_FDCWD, (long)dummy, 0}},
		{"setresuid_0", SYS_setresuid, {0, 0, 0}},
		{"iopl", SYS_iopl, {3}},
		{"ioperm", SYS_ioperm, {0, 1024, 1}},
		{"settimeofday", SYS_settimeofday, {(long)dummy, 0}},
		{"syslog", SYS_syslog, {3, (long)dummy, 8}},
		{"pidfd_getfd", SYS_pidfd_getfd, {0, 0, 0}},
		{"fsopen", SYS_fsopen, {(long)"tmpfs", 0}},
		{"open_tree", SYS_open_tree, {AT_FDCWD, (long)"/", 1}},
		{"move_mount", SYS_move_mount, {-1, (long)"", AT_FDCWD, (long)"/", 4}},
		{"fchmodat_root", SYS_fchmodat, {AT_FDCWD, (long)"/", 0777}},
		{"fchownat_root", SYS_fchownat, {AT_FDCWD, (long)"/", 0, 0, 0}},
		{"kcmp", SYS_kcmp, {1, 1, 0, 0, 0}},
		{"sethostname", SYS_sethostname, {(long)"host", 4}},
		{"nr_huge", 0x3ffffff0, {0}},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(*t); i++) {
		errno = 0;
		said(t[i].name, syscall(t[i].nr, t[i].a[0], t[i].a[1], t[i].a[2], t[i].a[3],
					t[i].a[4]));
	}
}

static void files(void)
{
	/* (its own /proc/N files are its own: a program's /proc shows its
	 * processes alone) */
	const char *paths[] = {"/proc/kcore",
			       "/proc/sys/kernel/hostname",
			       "/proc/1/root/../../etc/passwd",
			       "/proc/self/cwd/../../../etc/passwd",
			       "/../../etc/passwd",
			       "/sys/kernel",
			       "/dev/mem",
			       "/dev/tty",
			       "/../../../../run/intravisor"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(*paths); i++) {
		char name[64];
		snprintf(name, sizeof(name), "open %s", paths[i]);
		said(name, open(paths[i], O_RDONLY));
	}
}

/* What /proc shows: only its own processes, none of whose memory it may
 * read but its own family's. */
static void proc(void)
{
	DIR *d = opendir("/proc");
	int n = 0, mem = 0;
	for (struct dirent *e; d && (e = readdir(d));) {
		int pid = atoi(e->d_name);
		if (pid <= 0)
			continue;
		n++;
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/mem", pid);
		int fd = open(path, O_RDONLY);
		if (fd >= 0) {
			mem++;
			close(fd);
		}
	}
	if (d)
		closedir(d);
	printf("attack proc: %s, %d process(es) there, %d mem file(s) readable\n",
	       d ? "mounted" : "absent", n, mem);
}

static void save(void)
{
	long r = syscall(0x2073);
	printf("attack save: host_save -> %ld errno %d\n", r, r < 0 ? errno : 0);
}

static void bomb(void)
{
	int made = 0;
	for (int i = 0; i < 10000; i++) {
		pid_t p = fork();
		if (p == 0) {
			pause();
			_exit(0);
		}
		if (p < 0)
			break;
		made++;
	}
	printf("attack bomb: made %d process(es), then errno %d\n", made, errno);
	kill(0, SIGKILL); /* its own process group: these children and itself */
}

static void hog(long mib)
{
	char *p = mmap(NULL, (size_t)mib << 20, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		printf("attack hog: mmap %ld MiB: errno %d\n", mib, errno);
		return;
	}
	for (long i = 0; i < mib << 20; i += 4096)
		p[i] = 1;
	printf("attack hog: holding %ld MiB\n", mib);
	fflush(stdout);
	sleep(2);
}

static int attack(const char *what, const char *arg);

/* A template: saves; each fork runs the attack its args name. */
static int template(void)
{
	long r = syscall(IV_HC_BASE + HC_SAVE);
	if (r != 0) {
		printf("attack template: save -> %ld errno %d\n", r, errno);
		return 2;
	}
	char arg[64] = "";
	syscall(IV_HC_BASE + HC_GET_ARG, arg, sizeof(arg));
	if (strncmp(arg, "child ", 6))
		return attack(arg, NULL);
	pid_t p = fork();
	if (p == 0) {
		execl("/bin/attack", "attack", arg + 6, (char *)NULL);
		_exit(127);
	}
	int st = 0;
	waitpid(p, &st, 0);
	printf("attack %s: child ended with %d\n", arg, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && !strcmp(argv[1], "template"))
		return template();
	return attack(argc > 1 ? argv[1] : "", argc > 2 ? argv[2] : NULL);
}

static int attack(const char *what, const char *arg)
{
	if (!strcmp(what, "signals"))
		signals();
	else if (!strcmp(what, "calls"))
		calls();
	else if (!strcmp(what, "files"))
		files();
	else if (!strcmp(what, "syscalls"))
		syscalls();
	else if (!strcmp(what, "save"))
		save();
	else if (!strcmp(what, "proc"))
		proc();
	else if (!strcmp(what, "bomb"))
		bomb();
	else if (!strcmp(what, "hog") && arg)
		hog(atol(arg));
	else
		return 2;
	printf("attack %s: %s\n", what, escaped ? "ESCAPED" : "blocked");
	return escaped;
}
