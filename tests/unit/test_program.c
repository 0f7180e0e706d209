/*
 * Unit tests of the program check (src/loader/program.c).  Tiny roots are
 * built at run time under a temporary directory by copying the host's own
 * files: /bin/true with the interpreter and libraries the check itself
 * names one by one (each missing library is copied in from the host's
 * library directories until it passes), Debian's busybox-static, and a few
 * programs compiled here (a static-pie, a program with a $ORIGIN
 * DT_RUNPATH and its library, a dynamic musl program).  Then each bad
 * input is made in a root of its own and the exact message is checked.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "iv_cell.h"

static char tmp[64];	      /* the temporary directory of this run */
static char ld[256];	      /* the host's PT_INTERP of /bin/true */
static char ldreal[PATH_MAX]; /* the file it names */
static int nroots;

/* ---- building roots ---- */

static int mkdirs(const char *path)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s", path);
	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		if (mkdir(p, 0755) && errno != EEXIST)
			return -1;
		*s = '/';
	}
	return 0;
}

/* A fresh empty root; its path in dir. */
static void new_root(char *dir, size_t n)
{
	snprintf(dir, n, "%s/r%d", tmp, nroots++);
	mkdir(dir, 0755);
}

static int put(const char *root, const char *rel, const void *data, size_t len, mode_t mode)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s%s", root, rel);
	if (mkdirs(p))
		return -1;
	unlink(p);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	int ok = write(fd, data, len) == (ssize_t)len && !fchmod(fd, mode);
	close(fd);
	return ok ? 0 : -1;
}

static int put_str(const char *root, const char *rel, const char *s, mode_t mode)
{
	return put(root, rel, s, strlen(s), mode);
}

/* The whole of a host file (malloc'd), following links. */
static char *slurp(const char *host, size_t *len)
{
	int fd = open(host, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	ssize_t n = buf ? read(fd, buf, (size_t)st.st_size) : -1;
	close(fd);
	if (n != st.st_size) {
		free(buf);
		return NULL;
	}
	*len = (size_t)n;
	return buf;
}

/* Copies the host file host (its content) to rel inside root. */
static int copy(const char *host, const char *root, const char *rel, mode_t mode)
{
	size_t len;
	char *buf = slurp(host, &len);
	int r = buf ? put(root, rel, buf, len, mode) : -1;
	free(buf);
	return r;
}

static int sym(const char *root, const char *rel, const char *target)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s%s", root, rel);
	if (mkdirs(p))
		return -1;
	unlink(p);
	return symlink(target, p);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	remove(p);
	return 0;
}

static void rm_rf(const char *p)
{
	nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int check(const char *root, const char *path, struct iv_program *p, struct iv_err *e)
{
	int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	memset(e, 0, sizeof(*e));
	int r = iv_program_check(fd, path, -1, NULL, p, e);
	close(fd);
	return r;
}

/* Runs a compiler command line (for the programs built here). */
static int cc(const char *cmd)
{
	char line[2048];
	snprintf(line, sizeof(line), "cd %s && %s >cc.log 2>&1", tmp, cmd);
	return system(line);
}

/* The interpreter as Debian lays it out: the file in /lib/x86_64-linux-gnu,
 * an absolute link to it in /lib64. */
static int add_ld(const char *root)
{
	return copy(ldreal, root, "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", 0755) ||
	       sym(root, ld, "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
}

/* Adds the libraries the check says prog is missing, one at a time, from
 * the host's library directories: 0 when prog then passes. */
static int add_libs(const char *root, const char *prog, char *first, size_t n)
{
	struct iv_program p;
	struct iv_err e;
	for (int i = 0; i < 32; i++) {
		if (!check(root, prog, &p, &e))
			return 0;
		char lib[256], host[PATH_MAX];
		if (sscanf(e.msg, "library %255s (needed by", lib) != 1)
			return -1;
		if (first && !i)
			snprintf(first, n, "%s", e.msg);
		snprintf(host, sizeof(host), "/lib/x86_64-linux-gnu/%s", lib);
		if (access(host, F_OK))
			snprintf(host, sizeof(host), "/usr/lib/x86_64-linux-gnu/%s", lib);
		char rel[PATH_MAX];
		snprintf(rel, sizeof(rel), "/lib/x86_64-linux-gnu/%s", lib);
		if (copy(host, root, rel, 0755))
			return -1;
	}
	return -1;
}

/* A root holding /bin/true and all it needs. */
static int true_root(char *dir, size_t n)
{
	new_root(dir, n);
	return copy("/bin/true", dir, "/bin/true", 0755) || add_ld(dir) ||
	       add_libs(dir, "/bin/true", NULL, 0);
}

/* A 64-byte ELF header (no program headers) with these fields, at rel. */
static int put_ehdr(const char *root, const char *rel, int cls, uint16_t type, uint16_t machine)
{
	Elf64_Ehdr h;
	memset(&h, 0, sizeof(h));
	memcpy(h.e_ident, ELFMAG, SELFMAG);
	h.e_ident[EI_CLASS] = (unsigned char)cls;
	h.e_ident[EI_DATA] = ELFDATA2LSB;
	h.e_ident[EI_VERSION] = EV_CURRENT;
	h.e_type = type;
	h.e_machine = machine;
	h.e_version = EV_CURRENT;
	h.e_ehsize = sizeof(h);
	h.e_phentsize = sizeof(Elf64_Phdr);
	return put(root, rel, &h, sizeof(h), 0755);
}

#define EXPECT_FAILS(root, path, fragment)                                                         \
	do {                                                                                       \
		struct iv_program p_;                                                              \
		struct iv_err e_;                                                                  \
		EXPECT(check(root, path, &p_, &e_), "%s in %s passed the check", path, root);      \
		EXPECT_HAS(e_.msg, fragment);                                                      \
		EXPECT(!strchr(e_.msg, '\n'), "a message of more than one line: %s", e_.msg);      \
	} while (0)

/* ---- programs that start ---- */

static int good_dynamic_program_passes(void)
{
	char r[128];
	struct iv_program p;
	struct iv_err e;
	EXPECT(!true_root(r, sizeof(r)), "could not build a root for /bin/true");
	EXPECT(!check(r, "/bin/true", &p, &e), "%s", e.msg);
	EXPECT_EQ(p.dynamic, 1);
	EXPECT_EQ(p.pie, 1);
	EXPECT_EQ(p.script, 0);
	EXPECT_STR(p.interp, ld);
	EXPECT(p.lo < p.hi && !(p.lo & 4095) && !(p.hi & 4095), "span %#lx-%#lx",
	       (unsigned long)p.lo, (unsigned long)p.hi);
	return 1;
}

/* The runtime as a host file (an fd) still takes its interpreter and
 * libraries from the disk. */
static int host_runtime_uses_the_disk(void)
{
	char r[128], empty[128];
	struct iv_program p;
	struct iv_err e;
	EXPECT(!true_root(r, sizeof(r)), "could not build a root for /bin/true");
	new_root(empty, sizeof(empty));
	int fd = open("/bin/true", O_PATH | O_CLOEXEC);
	int root = open(r, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int none = open(empty, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int ok = !iv_program_check(root, NULL, fd, "./true", &p, &e);
	int in_empty = iv_program_check(none, NULL, fd, "./true", &p, &e);
	struct iv_err e2;
	int no_disk = iv_program_check(-1, NULL, fd, "./true", &p, &e2);
	close(fd), close(root), close(none);
	EXPECT(ok, "with its disk: %s", e.msg);
	EXPECT(in_empty, "passed in an empty disk");
	EXPECT_HAS(e.msg, "interpreter /lib64/ld-linux-x86-64.so.2 (of ./true) is not in the disk");
	EXPECT(no_disk, "a dynamic host runtime passed without a disk");
	EXPECT_HAS(e2.msg, "runtime ./true needs a disk holding its interpreter "
			   "/lib64/ld-linux-x86-64.so.2");
	return 1;
}

static int good_static_program_passes(void)
{
	char r[128];
	struct iv_program p;
	struct iv_err e;
	new_root(r, sizeof(r));
	EXPECT(!copy("/bin/busybox", r, "/bin/busybox", 0755), "no /bin/busybox on the host");
	EXPECT(!check(r, "/bin/busybox", &p, &e), "%s", e.msg);
	EXPECT_EQ(p.dynamic, 0);
	EXPECT_EQ(p.pie, 0);
	EXPECT_EQ(p.lo, 0x400000);
	/* and as a host file without any disk */
	int fd = open("/bin/busybox", O_RDONLY | O_CLOEXEC);
	int r2 = iv_program_check(-1, NULL, fd, "busybox", &p, &e);
	close(fd);
	EXPECT(!r2, "%s", e.msg);
	return 1;
}

static int static_pie_passes(void)
{
	char r[128], bin[PATH_MAX];
	struct iv_program p;
	struct iv_err e;
	new_root(r, sizeof(r));
	EXPECT(!put_str(tmp, "/sp.c", "int main(void) { return 0; }\n", 0644), "write sp.c");
	EXPECT(!cc("gcc -O1 -static-pie -o sp sp.c"), "gcc -static-pie failed (see %s/cc.log)",
	       tmp);
	snprintf(bin, sizeof(bin), "%s/sp", tmp);
	EXPECT(!copy(bin, r, "/sp", 0755), "copy sp");
	EXPECT(!check(r, "/sp", &p, &e), "%s", e.msg);
	EXPECT_EQ(p.dynamic, 0);
	EXPECT_EQ(p.pie, 1);
	EXPECT_EQ(p.lo, 0);
	/* the dynamic loader itself as the runtime is one too */
	EXPECT(!add_ld(r), "add ld.so");
	EXPECT(!check(r, ld, &p, &e), "%s", e.msg);
	EXPECT_EQ(p.dynamic, 0);
	EXPECT_EQ(p.pie, 1);
	return 1;
}

/* A script's interpreter is checked like a runtime; the script passes when
 * it does. */
static int script_with_its_interpreter_passes(void)
{
	char r[128];
	struct iv_program p;
	struct iv_err e;
	new_root(r, sizeof(r));
	EXPECT(!copy("/bin/busybox", r, "/bin/busybox", 0755), "copy busybox");
	EXPECT(!put_str(r, "/s", "#!  /bin/busybox sh -e\necho hi\n", 0755), "write /s");
	EXPECT(!check(r, "/s", &p, &e), "%s", e.msg);
	EXPECT_EQ(p.script, 1);
	EXPECT_STR(p.interp, "/bin/busybox");
	EXPECT_EQ(p.lo, 0x400000);
	return 1;
}

/* The directories ld.so searches: a library of another machine is
 * skipped, /lib64 is not searched, ld.so.conf's includes are followed
 * (inside the root) when there is an ld.so.cache. */
static int libraries_are_found_as_ld_so_finds_them(void)
{
	char r[128], a[PATH_MAX], b[PATH_MAX];
	struct iv_program p;
	struct iv_err e;
	EXPECT(!true_root(r, sizeof(r)), "could not build a root for /bin/true");
	/* libc.so.6 moves to /usr/lib/...; an aarch64 one takes its place */
	snprintf(a, sizeof(a), "%s/lib/x86_64-linux-gnu/libc.so.6", r);
	snprintf(b, sizeof(b), "%s/usr/lib/x86_64-linux-gnu/libc.so.6", r);
	EXPECT(!mkdirs(b) && !rename(a, b), "move libc.so.6");
	EXPECT(!put_ehdr(r, "/lib/x86_64-linux-gnu/libc.so.6", ELFCLASS64, ET_DYN, EM_AARCH64),
	       "write");
	EXPECT(!check(r, "/bin/true", &p, &e), "a foreign library was not skipped: %s", e.msg);
	/* glibc's system directories do not include /lib64 */
	snprintf(a, sizeof(a), "%s/lib64/libc.so.6", r);
	EXPECT(!rename(b, a), "move libc.so.6");
	EXPECT_FAILS(r, "/bin/true", "library libc.so.6 (needed by /bin/true) is not in the disk");
	EXPECT(!rename(a, b), "move libc.so.6");
	/* now only in /opt/lib, which only ld.so.conf names */
	snprintf(a, sizeof(a), "%s/opt/lib/libc.so.6", r);
	EXPECT(!mkdirs(a) && !rename(b, a), "move libc.so.6");
	EXPECT_FAILS(r, "/bin/true", "library libc.so.6 (needed by /bin/true) is not in the disk");
	EXPECT(!put_str(r, "/etc/ld.so.conf", "# comment\ninclude ld.so.conf.d/*.conf\n", 0644) &&
		       !put_str(r, "/etc/ld.so.conf.d/opt.conf", "  /opt/lib/  # mine\n", 0644),
	       "write ld.so.conf");
	/* glibc reads ld.so.conf's directories from ld.so.cache only */
	EXPECT_FAILS(r, "/bin/true", "library libc.so.6 (needed by /bin/true) is not in the disk");
	EXPECT(!put_str(r, "/etc/ld.so.cache", "glibc-ld.so.cache1.1", 0644), "write");
	EXPECT(!check(r, "/bin/true", &p, &e), "ld.so.conf's include not followed: %s", e.msg);
	/* a conf file linked out of the disk is read inside it */
	EXPECT(!sym(r, "/etc/ld.so.conf.d/opt.conf", "../../../../../../../etc/ld.so.conf"),
	       "symlink");
	EXPECT_FAILS(r, "/bin/true", "library libc.so.6 (needed by /bin/true) is not in the disk");
	return 1;
}

/* DT_RUNPATH, and the libraries of a library found through its own
 * $ORIGIN (the path it was found at); the program's own $ORIGIN is not
 * known in a cell (no /proc for ld.so to read /proc/self/exe from). */
static int runpath_and_origin_are_followed(void)
{
	char r[128], host[PATH_MAX];
	struct iv_program p;
	struct iv_err e;
	EXPECT(!put_str(tmp, "/ivt2.c", "int ivt2(void) { return 5; }\n", 0644) &&
		       !put_str(tmp, "/ivt.c", "int ivt2(void); int ivt(void) { return ivt2(); }\n",
				0644) &&
		       !put_str(tmp, "/ivm.c", "int ivt(void); int main(void) { return ivt(); }\n",
				0644),
	       "write sources");
	EXPECT(!cc("gcc -shared -fPIC -o libivt2.so ivt2.c && "
		   "gcc -shared -fPIC -o libivt.so ivt.c -L. -livt2 "
		   "-Wl,--enable-new-dtags,-rpath,'$ORIGIN/sub' && "
		   "gcc -o ivm ivm.c -L. -livt -Wl,-rpath-link,. "
		   "-Wl,--enable-new-dtags,-rpath,/app/lib "
		   "&& gcc -o ivo ivm.c -L. -livt -Wl,-rpath-link,. "
		   "-Wl,--enable-new-dtags,-rpath,'$ORIGIN/../lib'"),
	       "gcc failed (see %s/cc.log)", tmp);
	EXPECT(!true_root(r, sizeof(r)), "could not build a root for /bin/true");
	snprintf(host, sizeof(host), "%s/ivm", tmp);
	EXPECT(!copy(host, r, "/app/bin/ivm", 0755), "copy ivm");
	snprintf(host, sizeof(host), "%s/ivo", tmp);
	EXPECT(!copy(host, r, "/app/bin/ivo", 0755), "copy ivo");
	EXPECT_FAILS(r, "/app/bin/ivm",
		     "library libivt.so (needed by /app/bin/ivm) is not in the disk");
	snprintf(host, sizeof(host), "%s/libivt.so", tmp);
	EXPECT(!copy(host, r, "/app/lib/libivt.so", 0644), "copy libivt.so");
	EXPECT_FAILS(r, "/app/bin/ivm",
		     "library libivt2.so (needed by /app/lib/libivt.so) is not in the disk");
	snprintf(host, sizeof(host), "%s/libivt2.so", tmp);
	EXPECT(!copy(host, r, "/app/lib/sub/libivt2.so", 0644), "copy libivt2.so");
	EXPECT(!check(r, "/app/bin/ivm", &p, &e), "%s", e.msg);
	/* libivt.so's own libc.so.6 must be there too */
	char a[PATH_MAX];
	snprintf(a, sizeof(a), "%s/lib/x86_64-linux-gnu/libc.so.6", r);
	EXPECT(!unlink(a), "unlink");
	EXPECT_FAILS(r, "/app/bin/ivm",
		     "library libc.so.6 (needed by /app/bin/ivm) is not in the disk");
	/* /app/bin/ivo finds libivt.so only through its own $ORIGIN */
	EXPECT_FAILS(r, "/app/bin/ivo",
		     "library libivt.so (needed by /app/bin/ivo) is not in the disk");
	return 1;
}

/* A dynamic musl program: musl's ld.so is also its libc. */
static int musl_program_passes(void)
{
	char r[128], host[PATH_MAX];
	struct iv_program p;
	struct iv_err e;
	new_root(r, sizeof(r));
	EXPECT(!put_str(tmp, "/mu.c", "#include <stdio.h>\nint main(void) { puts(\"x\"); }\n",
			0644),
	       "write mu.c");
	EXPECT(!cc("musl-gcc -o mu mu.c"), "musl-gcc failed (see %s/cc.log)", tmp);
	snprintf(host, sizeof(host), "%s/mu", tmp);
	EXPECT(!copy(host, r, "/bin/mu", 0755), "copy mu");
	EXPECT_FAILS(r, "/bin/mu",
		     "interpreter /lib/ld-musl-x86_64.so.1 (of /bin/mu) is not in the disk");
	EXPECT(!copy("/lib/ld-musl-x86_64.so.1", r, "/lib/ld-musl-x86_64.so.1", 0755), "copy");
	EXPECT(!check(r, "/bin/mu", &p, &e), "%s", e.msg);
	EXPECT_STR(p.interp, "/lib/ld-musl-x86_64.so.1");
	EXPECT_EQ(p.dynamic, 1);
	return 1;
}

/* ---- bad input: one line each ---- */

static int missing_interpreter_is_named(void)
{
	char r[128];
	new_root(r, sizeof(r));
	EXPECT(!copy("/bin/true", r, "/bin/true", 0755), "copy");
	EXPECT_FAILS(r, "/bin/true",
		     "interpreter /lib64/ld-linux-x86-64.so.2 (of /bin/true) is not in the disk");
	/* a link to nowhere inside: the same */
	EXPECT(!sym(r, ld, "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"), "symlink");
	EXPECT_FAILS(r, "/bin/true",
		     "interpreter /lib64/ld-linux-x86-64.so.2 (of /bin/true) is not in the disk");
	return 1;
}

static int missing_library_is_named(void)
{
	char r[128], first[512] = "";
	new_root(r, sizeof(r));
	EXPECT(!copy("/bin/true", r, "/bin/true", 0755) && !add_ld(r), "copy");
	EXPECT(!add_libs(r, "/bin/true", first, sizeof(first)), "could not complete the root");
	EXPECT_HAS(first, "library libc.so.6 (needed by /bin/true) is not in the disk");
	return 1;
}

static int interpreter_linked_out_of_the_disk_is_refused(void)
{
	char r[128];
	EXPECT(!true_root(r, sizeof(r)), "could not build a root for /bin/true");
	EXPECT(!sym(r, ld, "../../../../../etc/x"), "symlink");
	EXPECT_FAILS(r, "/bin/true",
		     "interpreter /lib64/ld-linux-x86-64.so.2 (of /bin/true) leads out of the "
		     "disk: the symbolic link /lib64/ld-linux-x86-64.so.2 -> ../../../../../etc/x "
		     "climbs above its root");
	/* even where the cell would find a file there (its '..' stops at its root) */
	EXPECT(!copy(ldreal, r, "/etc/x", 0755), "copy");
	EXPECT_FAILS(r, "/bin/true", "(of /bin/true) leads out of the disk");
	return 1;
}

/* A directory on the way linked out of the disk; linked inside, fine. */
static int directory_linked_out_of_the_disk_is_refused(void)
{
	char r[128], a[PATH_MAX], b[PATH_MAX];
	struct iv_program p;
	struct iv_err e;
	EXPECT(!true_root(r, sizeof(r)), "could not build a root for /bin/true");
	snprintf(a, sizeof(a), "%s/lib", r);
	snprintf(b, sizeof(b), "%s/usr/lib", r);
	EXPECT(!mkdirs(b) && !rename(a, b), "move /lib to /usr/lib");
	EXPECT(!sym(r, "/lib", "../../../../../../../lib"), "symlink");
	EXPECT_FAILS(r, "/bin/true",
		     "interpreter /lib64/ld-linux-x86-64.so.2 (of /bin/true) leads out of the "
		     "disk: the symbolic link /lib -> ../../../../../../../lib climbs above its "
		     "root");
	/* usrmerge's relative link, and a relative interpreter link */
	EXPECT(!sym(r, "/lib", "usr/lib"), "symlink");
	EXPECT(!check(r, "/bin/true", &p, &e), "%s", e.msg);
	EXPECT(!sym(r, ld, "../usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"), "symlink");
	EXPECT(!check(r, "/bin/true", &p, &e), "%s", e.msg);
	/* '..' at the top of the runtime's own path */
	EXPECT_FAILS(r, "/../bin/true",
		     "runtime /../bin/true leads out of the disk: '..' climbs above its root");
	/* a library linked out: to a file the cell would find (clamped), or not */
	snprintf(a, sizeof(a), "%s/usr/lib/x86_64-linux-gnu/libc.so.6", r);
	snprintf(b, sizeof(b), "%s/usr/lib/x86_64-linux-gnu/libc-real.so", r);
	EXPECT(!rename(a, b), "rename");
	EXPECT(!sym(r, "/usr/lib/x86_64-linux-gnu/libc.so.6",
		    "../../../../../../../../usr/lib/x86_64-linux-gnu/libc-real.so"),
	       "symlink");
	EXPECT_FAILS(
		r, "/bin/true",
		"library libc.so.6 (needed by /bin/true): /lib/x86_64-linux-gnu/libc.so.6 "
		"leads out of the disk: the symbolic link /usr/lib/x86_64-linux-gnu/libc.so.6 "
		"-> ../../../../../../../../usr/lib/x86_64-linux-gnu/libc-real.so climbs above "
		"its root");
	EXPECT(!unlink(b), "unlink");
	EXPECT_FAILS(r, "/bin/true",
		     "library libc.so.6 (needed by /bin/true) is not in the disk "
		     "(/lib/x86_64-linux-gnu/libc.so.6 leads out of it: the symbolic link");
	return 1;
}

static int foreign_interpreter_is_refused(void)
{
	char r[128];
	EXPECT(!true_root(r, sizeof(r)), "could not build a root for /bin/true");
	EXPECT(!put_ehdr(r, ld, ELFCLASS64, ET_DYN, EM_AARCH64), "write");
	EXPECT_FAILS(r, "/bin/true",
		     "interpreter /lib64/ld-linux-x86-64.so.2 (of /bin/true) is an ELF for "
		     "aarch64 (e_machine 183), not x86-64 ELF64");
	EXPECT(!put_ehdr(r, ld, ELFCLASS32, ET_DYN, EM_386), "write");
	EXPECT_FAILS(r, "/bin/true",
		     "(of /bin/true) is a 32-bit ELF (ELFCLASS32), not x86-64 ELF64");
	EXPECT(!put_str(r, ld, "#!/bin/sh\n", 0755), "write");
	EXPECT_FAILS(r, "/bin/true", "(of /bin/true) is not an ELF file");
	EXPECT(!copy("/bin/busybox", r, ld, 0755), "copy");
	EXPECT_FAILS(r, "/bin/true",
		     "(of /bin/true) is an executable (ET_EXEC), not a shared object (ET_DYN)");
	EXPECT(!copy(ldreal, r, ld, 0644), "copy");
	EXPECT_FAILS(r, "/bin/true",
		     "interpreter /lib64/ld-linux-x86-64.so.2 (of /bin/true) is not executable "
		     "(mode 0644 has no x bit)");
	return 1;
}

static int runtime_that_is_no_file_is_refused(void)
{
	char r[128], f[PATH_MAX];
	new_root(r, sizeof(r));
	EXPECT(!mkdirs(strcat(strcpy(f, r), "/bin/x")), "mkdir");
	EXPECT_FAILS(r, "/bin", "runtime /bin is a directory, not a program");
	EXPECT_FAILS(r, "/", "runtime / is a directory, not a program");
	EXPECT_FAILS(r, "/bin/nope", "runtime /bin/nope is not in the disk");
	/* a FIFO is never opened for reading (this would hang: alarm() in main) */
	snprintf(f, sizeof(f), "%s/bin/fifo", r);
	EXPECT(!mkfifo(f, 0777), "mkfifo");
	EXPECT_FAILS(r, "/bin/fifo", "runtime /bin/fifo is a FIFO, not a program");
	int fd = open(f, O_PATH | O_CLOEXEC);
	struct iv_program p;
	struct iv_err e;
	int rc = iv_program_check(-1, NULL, fd, "fifo", &p, &e);
	close(fd);
	EXPECT(rc, "a FIFO given as an fd passed");
	EXPECT_HAS(e.msg, "runtime fifo is a FIFO, not a program");
	EXPECT(!sym(r, "/bin/null", "/dev/null"), "symlink");
	EXPECT_FAILS(r, "/bin/null", "runtime /bin/null is not in the disk");
	return 1;
}

static int runtime_that_is_no_program_is_refused(void)
{
	char r[128];
	new_root(r, sizeof(r));
	EXPECT(!copy("/bin/busybox", r, "/bin/bb", 0644), "copy");
	EXPECT_FAILS(r, "/bin/bb", "runtime /bin/bb is not executable (mode 0644 has no x bit)");
	EXPECT(!put_str(r, "/bin/e", "", 0755), "write");
	EXPECT_FAILS(r, "/bin/e", "runtime /bin/e is empty");
	EXPECT(!put_str(r, "/bin/t", "echo hi\n", 0755), "write");
	EXPECT_FAILS(r, "/bin/t", "runtime /bin/t is neither an ELF executable nor a #! script");
	EXPECT(!put_ehdr(r, "/bin/a", ELFCLASS64, ET_EXEC, EM_AARCH64), "write");
	EXPECT_FAILS(r, "/bin/a",
		     "runtime /bin/a is an ELF for aarch64 (e_machine 183), not x86-64 ELF64");
	EXPECT(!put_ehdr(r, "/bin/32", ELFCLASS32, ET_EXEC, EM_386), "write");
	EXPECT_FAILS(r, "/bin/32",
		     "runtime /bin/32 is a 32-bit ELF (ELFCLASS32), not x86-64 ELF64");
	EXPECT(!put_ehdr(r, "/bin/o", ELFCLASS64, ET_REL, EM_X86_64), "write");
	EXPECT_FAILS(r, "/bin/o",
		     "runtime /bin/o is an ELF object file (ET_REL), not an executable");
	return 1;
}

/* Bytes of a host file with some changed, at rel in root. */
static int put_patched(const char *root, const char *rel, const char *host, size_t keep, size_t off,
		       const void *patch, size_t plen)
{
	size_t len;
	char *buf = slurp(host, &len);
	if (!buf)
		return -1;
	if (keep && keep < len)
		len = keep;
	if (plen && off + plen <= len)
		memcpy(buf + off, patch, plen);
	int r = put(root, rel, buf, len, 0755);
	free(buf);
	return r;
}

/* The first program header of type t in the host file host. */
static int find_phdr(const char *host, uint32_t t, Elf64_Phdr *out, uint64_t *where)
{
	size_t len;
	char *buf = slurp(host, &len);
	Elf64_Ehdr h;
	int found = 0;
	if (buf && len >= sizeof(h)) {
		memcpy(&h, buf, sizeof(h));
		for (unsigned i = 0; i < h.e_phnum && !found; i++) {
			uint64_t o = h.e_phoff + i * sizeof(*out);
			if (o + sizeof(*out) > len)
				break;
			memcpy(out, buf + o, sizeof(*out));
			found = out->p_type == t;
			*where = o;
		}
	}
	free(buf);
	return found ? 0 : -1;
}

static int malformed_elf_is_refused(void)
{
	char r[128];
	Elf64_Phdr ph;
	uint64_t at;
	EXPECT(!true_root(r, sizeof(r)), "could not build a root for /bin/true");
	/* cut in its program headers */
	EXPECT(!put_patched(r, "/bin/cut", "/bin/true", 64 + 56 * 2, 0, NULL, 0), "write");
	EXPECT_FAILS(r, "/bin/cut",
		     "runtime /bin/cut is a malformed ELF: its program headers lie beyond the end "
		     "of the file");
	EXPECT(!put_patched(r, "/bin/hdr", "/bin/true", 40, 0, NULL, 0), "write");
	EXPECT_FAILS(r, "/bin/hdr",
		     "runtime /bin/hdr is a malformed ELF: its ELF header is truncated (40 of 64 "
		     "bytes)");
	/* PT_INTERP without its NUL, then relative */
	EXPECT(!find_phdr("/bin/true", PT_INTERP, &ph, &at), "no PT_INTERP in /bin/true");
	EXPECT(!put_patched(r, "/bin/nonul", "/bin/true", 0, ph.p_offset + ph.p_filesz - 1, "x", 1),
	       "write");
	EXPECT_FAILS(r, "/bin/nonul",
		     "runtime /bin/nonul is a malformed ELF: its PT_INTERP is not NUL-terminated");
	EXPECT(!put_patched(r, "/bin/relative", "/bin/true", 0, ph.p_offset, "x", 1), "write");
	EXPECT_FAILS(
		r, "/bin/relative",
		"runtime /bin/relative: its interpreter (PT_INTERP) 'xlib64/ld-linux-x86-64.so.2' "
		"is not an absolute path");
	/* a segment past the end of the file */
	EXPECT(!find_phdr("/bin/true", PT_LOAD, &ph, &at), "no PT_LOAD in /bin/true");
	ph.p_filesz = ph.p_memsz = 1ULL << 40;
	EXPECT(!put_patched(r, "/bin/big", "/bin/true", 0, at, &ph, sizeof(ph)), "write");
	EXPECT_FAILS(r, "/bin/big", "runtime /bin/big is a malformed ELF: segment ");
	EXPECT_FAILS(r, "/bin/big", " extends beyond the end of the file");
	return 1;
}

static int script_with_missing_interpreter_is_refused(void)
{
	char r[128];
	new_root(r, sizeof(r));
	EXPECT(!put_str(r, "/bin/s", "#!/usr/bin/nope -x\necho\n", 0755), "write");
	EXPECT_FAILS(r, "/bin/s",
		     "interpreter /usr/bin/nope (of script /bin/s) is not in the disk");
	EXPECT(!put_str(r, "/bin/s", "#!\n", 0755), "write");
	EXPECT_FAILS(r, "/bin/s", "runtime /bin/s: its #! line names no interpreter");
	EXPECT(!put_str(r, "/bin/s", "#!sh\n", 0755), "write");
	EXPECT_FAILS(r, "/bin/s",
		     "runtime /bin/s: its #! interpreter 'sh' is not an absolute path");
	EXPECT(!put_str(r, "/bin/s", "#!/../../../bin/busybox\n", 0755), "write");
	EXPECT_FAILS(r, "/bin/s",
		     "interpreter /../../../bin/busybox (of script /bin/s) leads out of "
		     "the disk: '..' climbs above its root");
	EXPECT(!put_str(r, "/bin/s", "#!/bin/s2\n", 0755) && !put_str(r, "/bin/s2", "#!/x\n", 0755),
	       "write");
	EXPECT_FAILS(r, "/bin/s", "interpreter /bin/s2 (of script /bin/s) is a #! script itself");
	char longer[300] = "#!/";
	memset(longer + 3, 'a', sizeof(longer) - 4);
	longer[sizeof(longer) - 1] = 0;
	EXPECT(!put_str(r, "/bin/s", longer, 0755), "write");
	EXPECT_FAILS(r, "/bin/s", "runtime /bin/s: its #! interpreter is longer than 255 bytes");
	/* a dynamic interpreter needs its own */
	EXPECT(!copy("/bin/true", r, "/bin/true", 0755) &&
		       !put_str(r, "/bin/s", "#!/bin/true\n", 0755),
	       "write");
	EXPECT_FAILS(r, "/bin/s",
		     "interpreter /lib64/ld-linux-x86-64.so.2 (of /bin/true) is not in the disk");
	return 1;
}

int main(void)
{
	struct iv_program p;
	struct iv_err e;
	alarm(50); /* a check that hangs (a FIFO opened) fails instead */
	snprintf(tmp, sizeof(tmp), "/tmp/iv-program-XXXXXX");
	if (!mkdtemp(tmp))
		return perror("mkdtemp"), 1;
	/* the host's interpreter of /bin/true, found by the check itself */
	int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int rc = iv_program_check(root, "/bin/true", -1, NULL, &p, &e);
	close(root);
	if (rc || !realpath(p.interp, ldreal)) {
		printf("FAIL host: /bin/true: %s\n", rc ? e.msg : "no interpreter");
		rm_rf(tmp);
		return 1;
	}
	snprintf(ld, sizeof(ld), "%s", p.interp);

	RUN(good_dynamic_program_passes);
	RUN(host_runtime_uses_the_disk);
	RUN(good_static_program_passes);
	RUN(static_pie_passes);
	RUN(script_with_its_interpreter_passes);
	RUN(libraries_are_found_as_ld_so_finds_them);
	RUN(runpath_and_origin_are_followed);
	RUN(musl_program_passes);
	RUN(missing_interpreter_is_named);
	RUN(missing_library_is_named);
	RUN(interpreter_linked_out_of_the_disk_is_refused);
	RUN(directory_linked_out_of_the_disk_is_refused);
	RUN(foreign_interpreter_is_refused);
	RUN(runtime_that_is_no_file_is_refused);
	RUN(runtime_that_is_no_program_is_refused);
	RUN(malformed_elf_is_refused);
	RUN(script_with_missing_interpreter_is_refused);
	rm_rf(tmp);
	return check_summary();
}
