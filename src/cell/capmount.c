/*
 * A program's cap files at /cap (README "Sharing between cVMs").  The
 * monitor keeps every cap file as a file of a tmpfs of its own that is
 * mounted nowhere, and one directory per cVM there holding links to the
 * cap files that cVM may use.  A program cell's child binds its directory
 * at /cap: open("/cap/KEY") then reaches the shared object itself, and
 * read, write, lseek, fstat and mmap(MAP_SHARED) on it are the kernel's
 * alone.  Memfds cannot be bound (the kernel refuses to clone its internal
 * mount), hence the tmpfs.
 *
 * A tmpfs file cannot be sealed against shrinking, and a cVM that shrank a
 * cap file would make every other cVM that maps it fault: a Landlock
 * domain forbids truncation beneath /cap.  Landlock grants rights for what
 * lies beneath a directory, it cannot take them away below one: truncation
 * is granted beneath every other entry of the root instead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "iv_cell.h"
#include "landlock_compat.h"

struct linux_dirent64 {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

/* Grants truncation beneath every entry of the root but cap, then enters
 * the domain.  Runs in the cell's child: system calls only.  Entries that
 * cannot be opened or are links are left out (a link leads to where its
 * target's own rule, if any, applies). */
static int forbid_truncation(void)
{
	struct landlock_ruleset_attr attr = {.handled_access_fs = LANDLOCK_ACCESS_FS_TRUNCATE};
	int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (rs < 0)
		return errno == ENOSYS || errno == EOPNOTSUPP ? 0 : -1; /* no Landlock here */
	int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char buf[4096];
	long n;
	while (root >= 0 && (n = syscall(SYS_getdents64, root, buf, sizeof(buf))) > 0) {
		for (long at = 0; at < n;) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + at);
			at += d->reclen;
			if (!strcmp(d->name, ".") || !strcmp(d->name, "..") ||
			    !strcmp(d->name, "cap"))
				continue;
			struct stat st;
			int fd = openat(root, d->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				continue;
			if (fstat(fd, &st) == 0 && (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))) {
				struct landlock_path_beneath_attr pb = {
					.allowed_access = LANDLOCK_ACCESS_FS_TRUNCATE,
					.parent_fd = fd};
				syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb,
					0);
			}
			close(fd);
		}
	}
	if (root >= 0)
		close(root);
	int rc = (int)syscall(SYS_landlock_restrict_self, rs, 0);
	close(rs);
	return rc;
}

int iv_cell_cap_mount(int dir)
{
	struct stat st;
	if (lstat("/cap", &st) || !S_ISDIR(st.st_mode))
		return 0; /* no /cap in this disk (a link inside it is not followed) */
	int t = (int)syscall(SYS_open_tree, dir, "",
			     OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (t < 0)
		return -1;
	struct mount_attr a = {.attr_set =
				       MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
	int rc = (int)syscall(SYS_mount_setattr, t, "", AT_EMPTY_PATH, &a, sizeof(a));
	if (rc == 0)
		rc = (int)syscall(SYS_move_mount, t, "", AT_FDCWD, "/cap", MOVE_MOUNT_F_EMPTY_PATH);
	close(t);
	return rc ? rc : forbid_truncation();
}
