/*
 * Files a cell is given at its start: a path inside its disk, reached as
 * the cell itself would reach it (from its root, never out of it, with
 * its own uid and gid), and the monitor's own stdin, reopened read-only.
 * Nothing the monitor does as root gives a cell more than it could get
 * by itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iv_cell.h"

int iv_open_inside(int root, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	return (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
}

const char *iv_file_kind(mode_t m)
{
	return S_ISREG(m)    ? "a regular file"
	       : S_ISDIR(m)  ? "a directory"
	       : S_ISLNK(m)  ? "a symbolic link"
	       : S_ISFIFO(m) ? "a FIFO"
	       : S_ISSOCK(m) ? "a socket"
	       : S_ISCHR(m)  ? "a character device"
			     : "a block device";
}

/* In a child of the monitor: the disk is opened as root (a cell gets it as
 * its root whatever its parents' modes), the rest with the cell's ids.
 * Nothing is opened for reading (O_PATH: no device is opened, no FIFO
 * waited on); the access is asked of the kernel. */
static void check_child(const char *disk, const char *path, int dir, uid_t uid, gid_t gid,
			int32_t out[2])
{
	struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
			       .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
	int root = (int)syscall(SYS_openat2, AT_FDCWD, disk, &how, sizeof(how));
	struct stat st;
	if (root < 0 || syscall(SYS_setgroups, 0, NULL) || syscall(SYS_setresgid, gid, gid, gid) ||
	    syscall(SYS_setresuid, uid, uid, uid)) {
		out[0] = errno;
		return;
	}
	int fd = iv_open_inside(root, path, O_PATH);
	if (fd < 0 || fstat(fd, &st)) {
		out[0] = errno;
		return;
	}
	out[1] = (int32_t)st.st_mode;
	if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
		out[0] = -1;
	else if (syscall(SYS_faccessat2, fd, "", dir ? X_OK : R_OK, AT_EMPTY_PATH))
		out[0] = errno;
}

int iv_check_inside(const char *disk, const char *path, int dir, uid_t uid, gid_t gid,
		    struct iv_err *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return iv_fail(err, "pipe: %s", strerror(errno));
	pid_t pid = fork();
	int fork_errno = errno;
	if (pid == 0) {
		int32_t out[2] = {0, 0};
		check_child(disk, path, dir, uid, gid, out);
		_exit(write(p[1], out, sizeof(out)) == sizeof(out) ? 0 : 1);
	}
	close(p[1]);
	int32_t out[2] = {pid < 0 ? fork_errno : EIO, 0};
	ssize_t n;
	do
		n = pid < 0 ? 0 : read(p[0], out, sizeof(out));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	if (out[0] == -1)
		return iv_fail(err, "'%s' is %s, not %s", path, iv_file_kind((mode_t)out[1]),
			       dir ? "a directory" : "a regular file");
	if (out[0])
		return iv_fail(err, "'%s': %s (as uid %u, gid %u inside the disk)", path,
			       strerror(out[0]), (unsigned)uid, (unsigned)gid);
	return 0;
}

int iv_open_monitor_stdin(void)
{
	int fd = open("/proc/self/fd/0", O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0 && fcntl(fd, F_SETFL, 0)) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}
