/*
 * Spawning cells.  A cell is a child in its own mount, pid, ipc and uts
 * namespaces (and a network namespace with nothing in it, or a networked
 * cVM's own), rooted at the cVM's disk directory, running as an
 * unprivileged uid with no_new_privs and rlimits, holding only the
 * descriptors the monitor gives it.  The child executes the cell stub,
 * which builds the cVM from its plan.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iv_cell.h"
#include "seccomp_compat.h"

#define AS_SLACK     (64UL << 20) /* the stub, its stack, the plan while it is read */
#define CELL_NOFILE  64
#define NET_NOFILE   1024 /* a networked cVM serves clients: a descriptor each */
#define HANDSHAKE_MS 10000
#define PARK_MS	     HANDSHAKE_MS /* how long a parking cell may take to reach its wait */

struct child_fds;
/* Moves fd above the fixed numbers so that dup3 in the child cannot clobber it. */
static int high_fd(int fd)
{
	if (fd < 0 || fd > IV_FD_STUB)
		return fd;
	int h = fcntl(fd, F_DUPFD_CLOEXEC, IV_FD_STUB + 1);
	close(fd);
	return h;
}

static char empty_root[64];
static int null_netns = -1;
static int stub_fd = -1;
static int devnull = -1;

static const char *step_name(int step)
{
	static const char *names[] = {
		[IV_STEP_FDS] = "arranging descriptors",
		[IV_STEP_MOUNT] = "mounting the root",
		[IV_STEP_ROOT] = "entering the root",
		[IV_STEP_RLIMIT] = "setting rlimits",
		[IV_STEP_UID] = "dropping to the cell uid",
		[IV_STEP_NNP] = "setting no_new_privs",
		[IV_STEP_EXEC] = "executing the cell stub",
		[IV_STEP_PLAN] = "reading the plan",
		[IV_STEP_OP] = "mapping the image",
		[IV_STEP_FILTER] = "installing the seccomp filter",
		[IV_STEP_HANDSHAKE] = "handing over the listener",
		[IV_STEP_NETNS] = "joining its network namespace",
		[IV_STEP_STDIN] = "opening its stdin inside the disk",
		[IV_STEP_STDIN_KIND] = "opening its stdin: not a regular file",
		[IV_STEP_CWD] = "entering its working directory",
		[IV_STEP_PROGRAM] = "executing the program",
	};
	return step > 0 && step <= IV_STEP_PROGRAM ? names[step] : "an unknown step";
}

/*
 * The stub lives next to the monitor binary.  It is copied into a sealed
 * memfd: a cell executes it after pivot_root has detached the host's
 * filesystem, where the kernel would refuse a file from a detached mount.
 */
static int open_stub(struct iv_err *err)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 16);
	if (n <= 0)
		return iv_fail(err, "cannot find the monitor's own path");
	self[n] = 0;
	char *slash = strrchr(self, '/');
	strcpy(slash + 1, "iv-cell");
	int fd = open(self, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st))
		return iv_fail(err, "cell stub '%s' is missing: %s", self, strerror(errno));
	stub_fd = memfd_create("iv-cell", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	char buf[65536];
	off_t done = 0;
	while (stub_fd >= 0 && done < st.st_size) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r <= 0 || write(stub_fd, buf, (size_t)r) != r)
			break;
		done += r;
	}
	close(fd);
	stub_fd = high_fd(stub_fd);
	if (stub_fd < 0 || done != st.st_size ||
	    fcntl(stub_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL))
		return iv_fail(err, "cannot copy the cell stub '%s': %s", self, strerror(errno));
	return 0;
}

/*
 * Namespaces every cell of a kind shares, made once by a short-lived child
 * and kept by a descriptor: an empty network, and one mount namespace per
 * root.  A cell joins them with setns, so that neither its start nor its
 * end pays for building or tearing down a mount tree (the teardown waits
 * for an RCU grace period, milliseconds here).  Cells cannot change mounts.
 *
 * A root is its directory alone: bound without MS_REC, so that nothing
 * mounted inside the disk (proc, sysfs, devtmpfs, a tmpfs like /dev/shm,
 * anything) comes along, only the empty directories they were mounted on;
 * nosuid and nodev, and the empty root read-only.  The disk is taken by a
 * descriptor opened without following any link (the config checked its
 * real path, and a link swapped in since must lead nowhere) and mounted
 * over the empty root, a path of root's that no one else can change.  A
 * disk given read-only (disk_ro) has a namespace of its own.
 */
/* The devices every program expects, and nothing else: no tty (a cell
 * has no terminal of its own; the monitor's is not its). */
static const char *const devices[] = {"null", "zero", "full", "random", "urandom"};

/*
 * A root whose disk has a /dev directory (a real one, not a link) gets a
 * small read-only tmpfs there holding the host's devices above, bound one
 * by one (the disk itself is nodev), and an empty shm/ directory where
 * each program gets a tmpfs of its own (child_mounts).  Read-only, shared
 * by the cells of the root: devices keep no state of a cell's.
 */
static int mount_dev(void)
{
	struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
			       .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_NO_XDEV};
	char dir[96], path[128];
	int root = open(empty_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd = root < 0 ? -1 : (int)syscall(SYS_openat2, root, "dev", &how, sizeof(how));
	if (root >= 0)
		close(root);
	if (fd < 0)
		return 0; /* no /dev in this disk */
	snprintf(dir, sizeof(dir), "/proc/self/fd/%d", fd);
	if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=755"))
		return -1;
	close(fd);
	/* (the tmpfs is now what dir's path leads to) */
	snprintf(dir, sizeof(dir), "%s/dev", empty_root);
	for (size_t i = 0; i < sizeof(devices) / sizeof(*devices); i++) {
		char host[32];
		snprintf(path, sizeof(path), "%s/%s", dir, devices[i]);
		snprintf(host, sizeof(host), "/dev/%s", devices[i]);
		int f = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
		if (f < 0)
			return -1;
		close(f);
		if (mount(host, path, NULL, MS_BIND, NULL))
			return -1;
	}
	snprintf(path, sizeof(path), "%s/shm", dir);
	if (mkdir(path, 01777) || chmod(path, 01777))
		return -1;
	return mount(NULL, dir, NULL, MS_REMOUNT | MS_NOSUID | MS_NOEXEC | MS_RDONLY, NULL);
}

static int ns_child_mount(const char *root, int read_only)
{
	char src[64];
	unsigned long ro = read_only ? MS_RDONLY : 0;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return IV_STEP_MOUNT;
	if (root == empty_root) {
		snprintf(src, sizeof(src), "%s", empty_root);
		ro = MS_RDONLY;
	} else {
		struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				       .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
		int fd = (int)syscall(SYS_openat2, AT_FDCWD, root, &how, sizeof(how));
		if (fd < 0)
			return IV_STEP_MOUNT;
		snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
	}
	if (mount(src, empty_root, NULL, MS_BIND, NULL) ||
	    mount(NULL, empty_root, NULL, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | ro, NULL))
		return IV_STEP_MOUNT;
	if (root != empty_root && mount_dev())
		return IV_STEP_MOUNT;
	if (chdir(empty_root) || syscall(SYS_pivot_root, ".", ".") || umount2(".", MNT_DETACH) ||
	    chdir("/"))
		return IV_STEP_ROOT;
	return 0;
}

static int make_ns(unsigned long flag, const char *root, int ro, struct iv_err *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return iv_fail(err, "pipe: %s", strerror(errno));
	struct clone_args ca = {.flags = flag, .exit_signal = SIGCHLD};
	pid_t pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return iv_fail(err, "cannot create a namespace for cells: %s", strerror(errno));
	}
	if (pid == 0) {
		int32_t msg[2] = {flag == CLONE_NEWNS ? ns_child_mount(root, ro) : 0, 0};
		msg[1] = errno;
		if (write(p[1], msg, sizeof(msg)) < 0)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	int32_t msg[2] = {IV_STEP_MOUNT, EIO};
	ssize_t n = read(p[0], msg, sizeof(msg));
	close(p[0]);
	int fd = -1;
	if (n == sizeof(msg) && msg[0] == 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid,
			 flag == CLONE_NEWNS ? "mnt" : "net");
		fd = high_fd(open(path, O_RDONLY | O_CLOEXEC));
		msg[1] = errno;
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (fd < 0)
		return iv_fail(err, "cannot prepare %s for cells: %s", root ? root : "the network",
			       strerror(msg[1]));
	return fd;
}

#define MAX_ROOTS 32
static struct {
	char *path;
	int ro, fd;
} roots[MAX_ROOTS];
static int nroots;

/* The mount namespace whose root is dir (NULL: the empty read-only root),
 * one per directory and access. */
int iv_cell_prepare_root(const char *dir, int ro, struct iv_err *err)
{
	const char *path = dir ? dir : empty_root;
	ro = dir ? !!ro : 1;
	for (int i = 0; i < nroots; i++)
		if (!strcmp(roots[i].path, path) && roots[i].ro == ro)
			return roots[i].fd;
	if (nroots == MAX_ROOTS)
		return iv_fail(err, "more than %d distinct disks", MAX_ROOTS);
	int fd = make_ns(CLONE_NEWNS, path, ro, err);
	if (fd < 0)
		return -1;
	roots[nroots].path = strdup(path);
	roots[nroots].ro = ro;
	roots[nroots].fd = fd;
	nroots++;
	return fd;
}

int iv_cell_global_init(struct iv_err *err)
{
	if (stub_fd >= 0)
		return 0; /* once per monitor process */
	if (open_stub(err))
		return -1;
	devnull = high_fd(open("/dev/null", O_RDWR | O_CLOEXEC));
	if (devnull < 0)
		return iv_fail(err, "/dev/null: %s", strerror(errno));
	/* One empty root for every monitor, under /run where only root can
	 * create it (nothing to clean up after a monitor killed with -9); it
	 * must be an empty directory of root's that no one else may write. */
	snprintf(empty_root, sizeof(empty_root), "/run/intravisor/empty-root");
	mkdir("/run/intravisor", 0755);
	mkdir(empty_root, 0555);
	struct stat st;
	DIR *d = opendir(empty_root);
	int entries = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	if (d)
		closedir(d);
	if (lstat(empty_root, &st) || !S_ISDIR(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & 0222) || entries || !d)
		return iv_fail(err, "%s must be an empty directory of root's, mode 0555",
			       empty_root);
	null_netns = make_ns(CLONE_NEWNET, NULL, 0, err);
	return null_netns < 0 ? -1 : 0;
}

void iv_cell_global_fini(void)
{
	for (int i = 0; i < nroots; i++) {
		close(roots[i].fd);
		free(roots[i].path);
	}
	nroots = 0;
	empty_root[0] = 0;
	if (stub_fd >= 0)
		close(stub_fd);
	if (null_netns >= 0)
		close(null_netns);
	if (devnull >= 0)
		close(devnull);
	stub_fd = null_netns = devnull = -1;
}

static __attribute__((noreturn)) void child_fail(int ctl, int step)
{
	char msg[9];
	int32_t s = step, e = errno;
	msg[0] = IV_CTL_FAIL;
	memcpy(msg + 1, &s, 4);
	memcpy(msg + 5, &e, 4);
	if (write(ctl, msg, sizeof(msg)) < 0)
		_exit(126);
	_exit(127);
}

/* in: the cell's stdin (the given fd or /dev/null); console, errcons: the
 * write ends of its stdout and stderr pipes */
struct child_fds {
	int in, console, errcons, plan, ctl, elf;
	const int *extra; /* cap files the plan maps, at IV_FD_EXTRA + i */
	int nextra;
};

/* What the cell opens itself, once it has its ids: its stdin file (only a
 * regular file: a FIFO must not stall it, nor the monitor waiting for it),
 * then its working directory, both inside its root. */
static void child_open(const struct iv_cell_spec *spec, int ctl)
{
	if (!spec->stdin_path && !spec->cwd)
		return;
	int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), fd;
	struct stat st;
	if (root < 0)
		child_fail(ctl, IV_STEP_ROOT);
	if (spec->stdin_path) {
		fd = iv_open_inside(root, spec->stdin_path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
		if (fd < 0)
			child_fail(ctl, IV_STEP_STDIN);
		if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
			errno = 0;
			child_fail(ctl, IV_STEP_STDIN_KIND);
		}
		if (fcntl(fd, F_SETFL, 0) || dup3(fd, IV_FD_CONSOLE_IN, 0) < 0)
			child_fail(ctl, IV_STEP_STDIN);
		close(fd);
	}
	if (spec->cwd) {
		fd = iv_open_inside(root, spec->cwd, O_PATH | O_DIRECTORY);
		if (fd < 0 || fchdir(fd))
			child_fail(ctl, IV_STEP_CWD);
		close(fd);
	}
	close(root);
}

/* A tmpfs of size bytes at dir, if dir is a directory of the root (a
 * link inside the disk is not followed). */
static int private_tmpfs(const char *dir, uint64_t size)
{
	struct stat st;
	char opts[64];
	if (lstat(dir, &st) || !S_ISDIR(st.st_mode))
		return 0;
	snprintf(opts, sizeof(opts), "size=%llu,mode=1777", (unsigned long long)size);
	return mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts);
}

/* Its own processes at /proc, if the root has that directory: a proc of
 * its pid namespace (it is pid 1 there), the process directories alone
 * (subset=pid: no /proc/sys, meminfo, kcore, ... of the host), for
 * /proc/self/exe, /proc/self/fd and the like. */
static int private_proc(void)
{
	struct stat st;
	if (lstat("/proc", &st) || !S_ISDIR(st.st_mode))
		return 0;
	return mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "subset=pid");
}

/* A program's own /tmp, /dev/shm and /proc, and its cap files at /cap: in
 * a mount namespace of its own (a copy of its root's); the tmpfs pages are
 * charged to its memory. */
static void child_mounts(const struct iv_cell_spec *spec, int ctl)
{
	if (unshare(CLONE_NEWNS) || private_tmpfs("/tmp", spec->mem) ||
	    private_tmpfs("/dev/shm", spec->mem) || private_proc() ||
	    (spec->cap_dir >= 0 && iv_cell_cap_mount(spec->cap_dir)))
		child_fail(ctl, IV_STEP_MOUNT);
}

/* Runs in the new child, in the monitor's memory while the monitor waits:
 * only system calls, no allocation (the monitor is threaded). */
static __attribute__((noreturn)) void child(const struct iv_cell_spec *spec, struct child_fds f,
					    int mntns)
{
	int ctl = f.ctl;
	/* No parent-death signal: it follows the thread that made the cell (a
	 * spawner, which ends at once: cgroup.c), not the monitor.  Should the
	 * monitor die, the stub's read of the go sees end of file; once seized,
	 * PTRACE_O_EXITKILL ends the cell with the monitor, and the cell's pid
	 * namespace every process it made. */
	/* execve resets handlers but keeps the mask and ignored signals. */
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGPIPE, SIG_DFL);
	/* the normal priority, whatever the thread that made it runs with (the
	 * pool's runs at nice 10) */
	if (getpriority(PRIO_PROCESS, 0) != 0)
		setpriority(PRIO_PROCESS, 0, 0);

	/* a networked cVM's own (features/net), or the empty one all share */
	if (setns(spec->netns >= 0 ? spec->netns : null_netns, CLONE_NEWNET))
		child_fail(ctl, IV_STEP_NETNS);

	if (setns(mntns, CLONE_NEWNS) || chdir("/"))
		child_fail(ctl, IV_STEP_ROOT);
	if (spec->program)
		child_mounts(spec, ctl);
	sethostname(spec->name, strlen(spec->name));

	/* Fixed numbers; every source is above IV_FD_STUB (see iv_cell_spawn). */
	if (dup3(f.in, IV_FD_CONSOLE_IN, 0) < 0 || dup3(f.console, IV_FD_CONSOLE_OUT, 0) < 0 ||
	    dup3(f.errcons, IV_FD_CONSOLE_ERR, 0) < 0 || dup3(f.plan, IV_FD_PLAN, 0) < 0 ||
	    dup3(f.ctl, IV_FD_CTL, 0) < 0 || dup3(f.elf >= 0 ? f.elf : devnull, IV_FD_ELF, 0) < 0 ||
	    dup3(stub_fd, IV_FD_STUB, O_CLOEXEC) < 0)
		child_fail(ctl, IV_STEP_FDS);
	ctl = IV_FD_CTL;
	for (int i = 0; i < f.nextra; i++)
		if (dup3(f.extra[i], IV_FD_EXTRA + i, 0) < 0)
			child_fail(ctl, IV_STEP_FDS);
	if (syscall(SYS_close_range, IV_FD_EXTRA + f.nextra, ~0U, 0))
		child_fail(ctl, IV_STEP_FDS);

	struct rlimit as = {spec->mem + AS_SLACK, spec->mem + AS_SLACK};
	rlim_t np = spec->nproc;
	rlim_t nf = spec->netns >= 0 ? NET_NOFILE : CELL_NOFILE;
	struct rlimit nofile = {nf, nf}, nproc = {np, np};
	struct rlimit zero = {0, 0};
	if (setrlimit(RLIMIT_AS, &as) || setrlimit(RLIMIT_NOFILE, &nofile) ||
	    setrlimit(RLIMIT_NPROC, &nproc) || setrlimit(RLIMIT_CORE, &zero) ||
	    setrlimit(RLIMIT_MEMLOCK, &zero) || setrlimit(RLIMIT_MSGQUEUE, &zero))
		child_fail(ctl, IV_STEP_RLIMIT);

	/* Raw calls: glibc's would try to change the credentials of the
	 * monitor's other threads, which do not exist in this child, and hang. */
	if (syscall(SYS_setgroups, 0, NULL) ||
	    syscall(SYS_setresgid, spec->gid, spec->gid, spec->gid) ||
	    syscall(SYS_setresuid, spec->uid, spec->uid, spec->uid))
		child_fail(ctl, IV_STEP_UID);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		child_fail(ctl, IV_STEP_NNP);
	child_open(spec, ctl);

	char *argv[] = {"iv-cell", NULL}, *envp[] = {NULL};
	syscall(SYS_execveat, IV_FD_STUB, "", argv, envp, AT_EMPTY_PATH);
	child_fail(ctl, IV_STEP_EXEC);
}

/* A stub's or child's IV_CTL_FAIL message, as one line. */
static int fail_report(const char *name, const char *msg, struct iv_err *err)
{
	int32_t step, e;
	memcpy(&step, msg + 1, 4);
	memcpy(&e, msg + 5, 4);
	return iv_fail(err, "cVM '%s': cell failed %s%s%s", name, step_name(step), e ? ": " : "",
		       e ? strerror(e) : "");
}

static int read_ctl(const char *name, int ctl, char *msg, size_t len, struct iv_err *err)
{
	struct pollfd pfd = {ctl, POLLIN, 0};
	int r = poll(&pfd, 1, HANDSHAKE_MS);
	if (r == 0)
		return iv_fail(err, "cVM '%s': the cell did not report within %d ms", name,
			       HANDSHAKE_MS);
	ssize_t n = r > 0 ? read(ctl, msg, len) : -1;
	if (n <= 0)
		return iv_fail(err, "cVM '%s': the cell died while starting", name);
	if (msg[0] == IV_CTL_FAIL && n == 9)
		return fail_report(name, msg, err);
	return (int)n;
}

struct child_args {
	const struct iv_cell_spec *spec;
	struct child_fds f;
	int mntns;
	int *pidfd;
	char *stack; /* CHILD_STACK bytes */
};

/* The cell's first moments run on a stack of their own, one per spawn
 * (cells are made on several threads: the main one, the pool's, cgroup
 * spawners), freed once the child has executed the stub (CLONE_VFORK). */
#define CHILD_STACK (64 * 1024)

static int child_entry(void *arg)
{
	struct child_args *a = arg;
	child(a->spec, a->f, a->mntns);
}

/* The cell's clone: its pid, or -errno (whichever thread makes it). */
static pid_t make_child(void *arg)
{
	struct child_args *a = arg;
	pid_t pid = clone(child_entry, a->stack + CHILD_STACK,
			  CLONE_VM | CLONE_VFORK | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS |
				  CLONE_PIDFD | SIGCHLD,
			  a, a->pidfd);
	return pid < 0 ? -errno : pid;
}

int iv_cell_spawn(struct iv_cell *cell, const struct iv_cell_spec *spec, struct iv_plan *plan,
		  int elf_fd, const int *extra, int nextra, struct iv_err *err)
{
	/* the cell's stdout and stderr pipes (read end, write end) */
	int plan_fd = -1, sv[2] = {-1, -1}, pipefd[2] = {-1, -1}, errfd[2] = {-1, -1};
	int rc = -1;
	/* the extra fds must not sit where the child dups the fixed ones */
	int hi_extra[IV_MAX_EXTRA], nhi = nextra < IV_MAX_EXTRA ? nextra : IV_MAX_EXTRA;
	for (int i = 0; i < nhi; i++)
		hi_extra[i] = fcntl(extra[i], F_DUPFD_CLOEXEC, IV_FD_EXTRA + IV_MAX_EXTRA);

	const char *name = spec->name;
	/* (above the extras too: the child sets its fd 0 first, then the rest) */
	int in = spec->stdin_fd >= 0
			 ? fcntl(spec->stdin_fd, F_DUPFD_CLOEXEC, IV_FD_EXTRA + IV_MAX_EXTRA)
			 : devnull;
	if (in < 0) {
		iv_fail(err, "cVM '%s': its stdin: %s", name, strerror(errno));
		goto out;
	}
	int mntns = iv_cell_prepare_root(spec->disk, spec->disk_ro, err);
	if (mntns < 0)
		goto out;
	plan_fd = high_fd(iv_plan_finish(plan, err));
	if (plan_fd < 0)
		goto out;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) || pipe2(pipefd, O_CLOEXEC) ||
	    pipe2(errfd, O_CLOEXEC)) {
		iv_fail(err, "cVM '%s': cannot create the cell's channels: %s", name,
			strerror(errno));
		goto out;
	}
	for (int i = 0; i < 2; i++) {
		sv[i] = high_fd(sv[i]);
		pipefd[i] = high_fd(pipefd[i]);
		errfd[i] = high_fd(errfd[i]);
	}
	elf_fd = high_fd(elf_fd);
	struct child_fds f = {in, pipefd[1], errfd[1], plan_fd, sv[1], elf_fd, hi_extra, nhi};
	cell->uid = spec->uid;
	cell->gid = spec->gid;
	cell->program = plan->hdr.entry_kind == IV_PLAN_ENTRY_EXEC;

	/* As posix_spawn does: the child borrows the monitor's memory (no copy of
	 * its page tables, no copy-on-write faults, nothing to tear down at
	 * exec) on a stack of its own, and this thread waits until the stub is
	 * executing or the child has failed. */
	int pidfd = -1;
	struct child_args ca = {spec, f, mntns, &pidfd, aligned_alloc(16, CHILD_STACK)};
	if (!ca.stack) {
		iv_fail(err, "cVM '%s': out of memory", name);
		goto out;
	}
	/* A program is born in its memory cgroup (cgroup.c): its clone is made
	 * by a thread that sits there. */
	pid_t pid = iv_cgroup_clone(name, spec->cgroup_limit, make_child, &ca, cell->cgroup,
				    sizeof(cell->cgroup));
	free(ca.stack);
	if (pid < 0)
		errno = -pid;
	if (pid < 0) {
		iv_fail(err, "cVM '%s': cannot create the cell: %s", name, strerror(errno));
		goto out;
	}

	cell->pid = pid;
	cell->pidfd = pidfd;
	close(pipefd[1]);
	close(errfd[1]);
	pipefd[1] = errfd[1] = -1;
	close(sv[1]);
	sv[1] = -1;

	char msg[16];
	int n = read_ctl(name, sv[0], msg, sizeof(msg), err);
	if (n < 0)
		goto out;
	int32_t remote;
	if (msg[0] != IV_CTL_LISTENER || n != IV_CTL_LISTENER_LEN) {
		iv_fail(err, "cVM '%s': the cell sent a malformed handshake", name);
		goto out;
	}
	memcpy(&remote, msg + 1, 4);
	memcpy(&cell->gadget, msg + 5, 8);
	cell->listener = (int)syscall(SYS_pidfd_getfd, pidfd, remote, 0);
	if (cell->listener < 0) {
		iv_fail(err, "cVM '%s': cannot take the cell's listener: %s", name,
			strerror(errno));
		goto out;
	}
	fcntl(cell->listener, F_SETFD, FD_CLOEXEC);
	/* The cVM thread and the server hand the CPU to each other directly. */
	ioctl(cell->listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
	cell->console = pipefd[0];
	cell->errcons = errfd[0];
	pipefd[0] = errfd[0] = -1;
	cell->ctl = sv[0];
	sv[0] = -1;
	rc = 0;
out:
	if (plan_fd >= 0)
		close(plan_fd);
	for (int i = 0; i < 2; i++) {
		if (sv[i] >= 0)
			close(sv[i]);
		if (pipefd[i] >= 0)
			close(pipefd[i]);
		if (errfd[i] >= 0)
			close(errfd[i]);
	}
	if (elf_fd >= 0)
		close(elf_fd);
	for (int i = 0; i < nhi; i++)
		if (hi_extra[i] >= 0)
			close(hi_extra[i]);
	if (in >= 0 && in != devnull)
		close(in);
	return rc;
}

/* Seized by the thread that reaps it (the main thread) once the stub is
 * done (a stop before would wait on us), so that faults are seen with their
 * address; EXITKILL: no cell outlives the monitor. */
static void seize(struct iv_cell *cell, const char *name)
{
	if (ptrace(PTRACE_SEIZE, cell->pid, 0, PTRACE_O_EXITKILL))
		iv_vlog("cVM '%s': ptrace seize failed: %s", name, strerror(errno));
}

/* Waits for the stub's report once it runs on its own: end of file (it
 * entered the cVM, or a program's exec closed the socket), or why it failed. */
static int started(struct iv_cell *cell, const char *name, struct iv_err *err)
{
	char msg[16];
	struct pollfd pfd = {cell->ctl, POLLIN, 0};
	int r = poll(&pfd, 1, HANDSHAKE_MS);
	ssize_t n = r > 0 ? read(cell->ctl, msg, sizeof(msg)) : 0;
	if (r == 0)
		return iv_fail(err, "cVM '%s': the cell did not start %s within %d ms", name,
			       cell->program ? "its program" : "its cVM", HANDSHAKE_MS);
	if (n == 9 && msg[0] == IV_CTL_FAIL)
		return fail_report(name, msg, err);
	if (n > 0)
		return iv_fail(err, "cVM '%s': the cell sent a malformed report", name);
	/* (an end of file is also a cell that died: the reaper reports that) */
	return 0;
}

static int answer(int listener, uint64_t id, int error)
{
	struct seccomp_notif_resp resp = {.id = id, .error = error};
	return ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

int iv_cell_go(struct iv_cell *cell, const char *name, struct iv_err *err)
{
	char go = IV_CTL_GO;
	int rc = 0;
	seize(cell, name);
	if (cell->parked) {
		cell->parked = 0;
		if (answer(cell->listener, cell->park_id, 0))
			rc = iv_fail(err, "cVM '%s': its parked cell died before it started", name);
		else
			rc = started(cell, name, err);
	} else {
		if (write(cell->ctl, &go, 1) != 1)
			rc = iv_fail(err, "cVM '%s': the cell died before it started", name);
		else if (cell->program)
			rc = started(cell, name, err);
	}
	close(cell->ctl);
	cell->ctl = -1;
	return rc;
}

/* ---- cells made ahead (parked) ---- */

/* The parked cell's next IV_SYS_PARK, or its report of the step that failed. */
static int repark(struct iv_cell *cell, const char *name, struct iv_err *err)
{
	struct pollfd pfd[2] = {{cell->listener, POLLIN, 0}, {cell->ctl, POLLIN, 0}};
	struct seccomp_notif req;
	char msg[16];
	memset(&req, 0, sizeof(req));
	int r = poll(pfd, 2, PARK_MS);
	if (r > 0 && (pfd[1].revents & POLLIN)) {
		ssize_t n = read(cell->ctl, msg, sizeof(msg));
		return n == 9 && msg[0] == IV_CTL_FAIL
			       ? fail_report(name, msg, err)
			       : iv_fail(err, "cVM '%s': its parked cell died", name);
	}
	if (r != 1 || ioctl(cell->listener, SECCOMP_IOCTL_NOTIF_RECV, &req) ||
	    req.pid != (uint32_t)cell->pid || req.data.nr != IV_SYS_PARK)
		return iv_fail(err, "cVM '%s': its cell did not park", name);
	cell->park_id = req.id;
	return 0;
}

int iv_cell_park(struct iv_cell *cell, const struct iv_cell_spec *spec, int policy,
		 struct iv_err *err)
{
	struct iv_plan plan = {0};
	plan.hdr.entry_kind = IV_PLAN_ENTRY_PARK;
	cell->policy = policy;
	int rc = iv_policy_build(&plan, policy, err);
	if (rc == 0)
		rc = iv_cell_spawn(cell, spec, &plan, -1, NULL, 0, err);
	iv_plan_free(&plan);
	if (rc) {
		iv_cell_discard(cell);
		return -1;
	}
	char go = IV_CTL_GO;
	if (write(cell->ctl, &go, 1) != 1)
		rc = iv_fail(err, "cVM '%s': its cell died before it parked", spec->name);
	if (rc || repark(cell, spec->name, err)) {
		iv_cell_discard(cell);
		return -1;
	}
	cell->parked = 1;
	return 0;
}

/* Puts fd at number to in the parked cell; 0 or -errno. */
static int give_fd(struct iv_cell *cell, int fd, int to)
{
	struct seccomp_notif_addfd a = {.id = cell->park_id,
					.flags = SECCOMP_ADDFD_FLAG_SETFD,
					.srcfd = (uint32_t)fd,
					.newfd = (uint32_t)to};
	return ioctl(cell->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a) == to ? 0 : -errno;
}

int iv_cell_hand(struct iv_cell *cell, const char *name, struct iv_plan *plan, int elf_fd,
		 const int *extra, int nextra, struct iv_err *err)
{
	int plan_fd = iv_plan_finish(plan, err);
	if (plan_fd < 0)
		return -1;
	int r = give_fd(cell, plan_fd, IV_FD_PLAN);
	if (r == 0)
		r = give_fd(cell, elf_fd >= 0 ? elf_fd : devnull, IV_FD_ELF);
	for (int i = 0; r == 0 && i < nextra && i < IV_MAX_EXTRA; i++)
		r = give_fd(cell, extra[i], IV_FD_EXTRA + i);
	close(plan_fd);
	if (r)
		return iv_fail(err, "cVM '%s': its parked cell cannot take its plan: %s", name,
			       strerror(-r));
	if (elf_fd >= 0)
		close(elf_fd);
	return 0;
}

int iv_cell_preload(struct iv_cell *cell, const char *name, struct iv_plan *plan, int elf_fd,
		    const int *extra, int nextra, struct iv_err *err)
{
	plan->hdr.park = 1;
	int rc = iv_cell_hand(cell, name, plan, elf_fd, extra, nextra, err);
	plan->hdr.park = 0;
	if (rc) {
		if (elf_fd >= 0)
			close(elf_fd);
		return -1;
	}
	if (answer(cell->listener, cell->park_id, 0))
		return iv_fail(err, "cVM '%s': its parked cell died", name);
	return repark(cell, name, err);
}

int iv_cell_parked_alive(struct iv_cell *cell)
{
	uint64_t id = cell->park_id;
	return cell->parked && ioctl(cell->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

void iv_cell_discard(struct iv_cell *cell)
{
	if (cell->pidfd >= 0) {
		/* only the stub ran in it: it ends at once (ECHILD: reaped already) */
		siginfo_t si;
		syscall(SYS_pidfd_send_signal, cell->pidfd, SIGKILL, NULL, 0);
		waitid(P_PIDFD, (id_t)cell->pidfd, &si, WEXITED | __WALL);
	}
	int *fds[] = {&cell->pidfd, &cell->listener, &cell->console, &cell->errcons, &cell->ctl};
	for (size_t i = 0; i < sizeof(fds) / sizeof(*fds); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	cell->parked = 0;
	cell->pid = 0;
}
