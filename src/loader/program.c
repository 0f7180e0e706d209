/*
 * Whether a program can start in its root.  In program mode a cell
 * execve()s its runtime inside its root (the cVM's disk is its `/`), so the
 * kernel finds the program and its interpreter there, and the interpreter
 * (ld.so) finds the libraries there.  This check runs in the monitor before
 * anything starts and reaches the conclusion they would, so that bad input
 * gets one clear line instead of a cell that dies with ENOENT or "error
 * while loading shared libraries".
 *
 * Everything is read from inside the root only: files are found with
 * openat2() from the root's fd, never out of it, never through /proc's
 * magic links nor across a mount point; only regular files are opened for
 * reading (through the O_PATH fd that was checked, so that no FIFO is
 * waited on and no device opened), and only their headers, the program
 * headers, the dynamic section and the strings it names are read, each
 * bounded.  The ELF content is trusted in nothing.
 *
 * Symbolic links: inside the cell the kernel resolves an absolute link
 * against the cell's root, and a '..' at the root stays there
 * (RESOLVE_IN_ROOT does the same), so a disk copied from a system, whose
 * /lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/..., works.  But a
 * link whose '..' climbs above the disk's top was written for the host's
 * tree: it names a host file, and in the cell it would silently name
 * another one (or none).  Such a path is refused ("leads out of the disk")
 * whether or not the clamped path exists inside, rather than run something
 * the link does not name.  For a library candidate that exists only that
 * way the same holds; one that does not exist at all is skipped, as ld.so
 * would skip it.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "iv_cell.h"

#define PATHLEN	   4096
#define MAX_FILE   (1ULL << 30)		       /* a file larger than this is refused */
#define MAX_PH	   (4096 / sizeof(Elf64_Phdr)) /* the kernel's limit (ELF_MIN_ALIGN) */
#define MAX_DYN	   4096			       /* dynamic entries read (real ones have ~40) */
#define MAX_NEEDED 1024			       /* DT_NEEDED of one object */
#define MAX_OBJS   512			       /* the program and its libraries */
#define MAX_DIRS   64			       /* directories from ld.so.conf or musl's path file */
#define MAX_CONF   64			       /* configuration files read */
#define MAX_LINKS  40			       /* symbolic links on one path, as the kernel */
#define CONF_MAX   65536		       /* bytes read of a configuration file */
#define USER_TOP   0x7ffffffff000ULL

/* ld.so learns the program's own $ORIGIN from /proc/self/exe (glibc drops
 * the rpath elements that use it when it cannot, musl the whole rpath),
 * and a cell mounts no /proc (cell/cell.c binds the disk alone).  Set to 1
 * if program mode gives cells a /proc; a library's $ORIGIN comes from the
 * path it was found at and is known either way. */
#define CELL_HAS_PROC 0

/* How the cell resolves paths (its root is the disk), and the same but
 * refusing what RESOLVE_IN_ROOT would re-anchor at the root. */
#define IN_ROOT (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)
#define BENEATH (RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

#define LEAVES 1 /* lookup(): the path climbs above the root */
#define NEXT   1 /* library search: not here, go on */

struct dyn {
	char **needed;
	unsigned nneeded;
	char *rpath, *runpath, *soname;
	int nodeflib;
};

struct obj {
	char *path;   /* where it was found inside the root (the runtime: its name) */
	char *as;     /* the DT_NEEDED name it was loaded for (NULL: the program) */
	char *origin; /* its $ORIGIN, NULL when unknown */
	int loader;   /* the object that needed it first, -1 for the program */
	dev_t dev;
	ino_t ino;
	struct dyn d;
};

struct ctx {
	int root, musl;
	char *interp; /* ld.so's path and soname: it is loaded already */
	char *interp_soname;
	struct obj obj[MAX_OBJS];
	unsigned nobj;
	char *dirs[MAX_DIRS]; /* from ld.so.conf (glibc) or the path file (musl) */
	unsigned ndirs, nconf;
	int have_dirs;
	/* a candidate of the current search that led out of the disk */
	char escaped[3 * PATHLEN + 32];
	struct iv_err *err;
};

struct elf {
	uint16_t type;
	uint64_t size;
	Elf64_Phdr ph[MAX_PH];
	unsigned phnum;
	const Elf64_Phdr *dyn;
	int has_interp;
	char interp[256];
	uint64_t lo, hi;
};

enum { E_OK, E_NOTELF, E_FOREIGN, E_TYPE, E_BAD };

/* Messages carry strings read from files: control characters in them would
 * break the one-line rule (or a terminal), so they become '?'. */
__attribute__((format(printf, 2, 3))) static int fail(struct iv_err *err, const char *fmt, ...)
{
	char m[sizeof(((struct iv_err *)0)->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	for (char *c = m; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return iv_fail(err, "%s", m);
}

static const char *kind(mode_t m)
{
	return S_ISDIR(m)    ? "a directory"
	       : S_ISLNK(m)  ? "a symbolic link"
	       : S_ISFIFO(m) ? "a FIFO"
	       : S_ISSOCK(m) ? "a socket"
	       : S_ISCHR(m)  ? "a character device"
	       : S_ISBLK(m)  ? "a block device"
			     : "not a regular file";
}

static int openat2_(int dir, const char *path, uint64_t flags, uint64_t resolve)
{
	struct open_how how = {.flags = flags | O_CLOEXEC, .resolve = resolve};
	return (int)syscall(SYS_openat2, dir, path, &how, sizeof(how));
}

/* A path inside the root as openat2 takes it from the root's fd. */
static const char *rel(const char *p)
{
	while (*p == '/')
		p++;
	return *p ? p : ".";
}

static ssize_t read_at(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* A readable fd for the regular file behind the O_PATH fd o: reopened
 * through /proc, so it is the same inode that was checked, never a file
 * swapped in under its name since. */
static int reopen(int o)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", o);
	return open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
}

/* ---- paths inside the root ---- */

/* Whether resolving path from root as a normal lookup would, but with
 * absolute links taken from root (as in the cell), climbs above root with
 * '..'; how says through what.  Walks one component at a time: the
 * directories on the way are real ones (every link is expanded), so '..'
 * is the parent of what is already resolved.  Where the walk cannot go on
 * (a missing component, a mount, too many links), so can the kernel's
 * lookup not: no escape. */
static int leaves(int root, const char *path, char *how, size_t n)
{
	char todo[PATHLEN], cur[PATHLEN], link[PATHLEN], tmp[PATHLEN];
	size_t clen = 0;
	int links = 0;
	if (strlen(path) >= sizeof(todo))
		return 0;
	strcpy(todo, path);
	cur[0] = 0;
	snprintf(how, n, "'..' climbs above its root");
	for (char *p = todo;;) {
		while (*p == '/')
			p++;
		if (!*p)
			return 0;
		size_t len = strcspn(p, "/");
		char *next = p + len;
		if (len == 1 && p[0] == '.') {
			p = next;
			continue;
		}
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (!clen)
				return 1;
			char *s = strrchr(cur, '/');
			clen = s ? (size_t)(s - cur) : 0;
			cur[clen] = 0;
			p = next;
			continue;
		}
		if (clen + 1 + len >= sizeof(cur))
			return 0;
		size_t plen = clen;
		if (clen)
			cur[clen++] = '/';
		memcpy(cur + clen, p, len);
		clen += len;
		cur[clen] = 0;
		p = next;
		int fd = openat2_(root, cur, O_PATH | O_NOFOLLOW, BENEATH | RESOLVE_NO_SYMLINKS);
		if (fd < 0)
			return 0;
		struct stat st;
		ssize_t ln = -1;
		int islink = !fstat(fd, &st) && S_ISLNK(st.st_mode);
		if (islink)
			ln = readlinkat(fd, "", link, sizeof(link) - 1);
		close(fd);
		if (!islink)
			continue;
		if (ln <= 0 || ++links > MAX_LINKS)
			return 0;
		link[ln] = 0;
		snprintf(how, n, "the symbolic link /%s -> %s climbs above its root", cur, link);
		/* the rest of the path now follows the link's target */
		if ((size_t)snprintf(tmp, sizeof(tmp), "%s/%s", link, p) >= sizeof(tmp))
			return 0;
		strcpy(todo, tmp);
		p = todo;
		clen = link[0] == '/' ? 0 : plen;
		cur[clen] = 0;
	}
}

/* Finds path inside root as the cell would: 0 with an O_PATH fd in *fd,
 * -errno, or LEAVES (with how) when it climbs above the root, *fd then
 * being what the cell would find (or -1).  A lookup that stays beneath
 * the root (the usual case) is the same under RESOLVE_BENEATH as under
 * RESOLVE_IN_ROOT, and so is its failure; only where BENEATH refuses (an
 * absolute link, '..' at the root, EXDEV) do the two differ. */
static int lookup(int root, const char *path, int *fd, char *how, size_t n)
{
	const char *r = rel(path);
	*fd = openat2_(root, r, O_PATH, BENEATH);
	if (*fd >= 0)
		return 0;
	if (errno != EXDEV)
		return -errno;
	int esc = leaves(root, r, how, n);
	*fd = openat2_(root, r, O_PATH, IN_ROOT);
	int e = errno;
	if (esc)
		return LEAVES;
	return *fd < 0 ? -e : 0;
}

static int lookup_fail(struct iv_err *err, const char *label, int r, const char *how)
{
	if (r == LEAVES)
		return fail(err, "%s leads out of the disk: %s", label, how);
	switch (-r) {
	case ENOENT:
		return fail(err, "%s is not in the disk", label);
	case ENOTDIR:
		return fail(err,
			    "%s is not in the disk (a component of its path is not a directory)",
			    label);
	case EXDEV:
		return fail(err, "%s: its path crosses a mount point inside the disk", label);
	case ELOOP:
		return fail(err, "%s: too many symbolic links on its path", label);
	}
	return fail(err, "%s: %s", label, strerror(-r));
}

/* The directory (inside root) the file fd is in, canonical, as ld.so sees
 * the program's $ORIGIN (from /proc/self/exe); NULL when not known. */
static char *origin_in_root(int root, int fd)
{
	if (!CELL_HAS_PROC)
		return NULL;
	char rp[PATHLEN], fp[PATHLEN], l[64];
	snprintf(l, sizeof(l), "/proc/self/fd/%d", root);
	ssize_t rn = readlink(l, rp, sizeof(rp) - 1);
	snprintf(l, sizeof(l), "/proc/self/fd/%d", fd);
	ssize_t fn = readlink(l, fp, sizeof(fp) - 1);
	if (rn <= 0 || fn <= 0)
		return NULL;
	rp[rn] = fp[fn] = 0;
	size_t k = strcmp(rp, "/") ? (size_t)rn : 0;
	if (strncmp(fp, rp, k) || fp[k] != '/')
		return NULL;
	char *o = strdup(fp + k), *s = o ? strrchr(o, '/') : NULL;
	if (s)
		s[s == o] = 0;
	return o;
}

/* A small regular file inside root, NUL-terminated (malloc'd), or NULL
 * with *e the errno. */
static char *read_small(int root, const char *path, size_t max, int *e)
{
	int o = openat2_(root, rel(path), O_PATH, IN_ROOT);
	struct stat st;
	*e = errno;
	if (o < 0)
		return NULL;
	int fd = !fstat(o, &st) && S_ISREG(st.st_mode) ? reopen(o) : -1;
	*e = fd < 0 ? EINVAL : 0;
	close(o);
	char *buf = fd < 0 ? NULL : malloc(max + 1);
	ssize_t n = buf ? read_at(fd, buf, max, 0) : -1;
	if (fd >= 0)
		close(fd);
	if (n < 0) {
		free(buf);
		*e = EIO;
		return NULL;
	}
	buf[n] = 0;
	return buf;
}

/* ---- ELF ---- */

static const char *machine_name(unsigned m)
{
	switch (m) {
	case EM_386:
		return "i386";
	case EM_ARM:
		return "32-bit ARM";
	case EM_AARCH64:
		return "aarch64";
	case EM_RISCV:
		return "RISC-V";
	case EM_PPC:
		return "ppc";
	case EM_PPC64:
		return "ppc64";
	case EM_S390:
		return "s390";
	case EM_MIPS:
		return "MIPS";
	case EM_SPARCV9:
		return "sparc64";
	case 258:
		return "LoongArch";
	}
	return NULL;
}

/* Checks one program header as the kernel (a program) or ld.so (a
 * library) would before mapping it.  exe: PT_INTERP matters. */
static int elf_phdr(int fd, struct elf *e, unsigned i, int exe, char *why, size_t n)
{
	const Elf64_Phdr *p = &e->ph[i];
	if (p->p_type == PT_LOAD) {
		if (p->p_filesz > p->p_memsz)
			return snprintf(why, n,
					"segment %u has more bytes in the file than in memory", i),
			       E_BAD;
		if (p->p_vaddr > USER_TOP || p->p_memsz > USER_TOP - p->p_vaddr)
			return snprintf(why, n, "segment %u lies beyond the user address space", i),
			       E_BAD;
		if (p->p_offset > e->size || p->p_filesz > e->size - p->p_offset)
			return snprintf(why, n, "segment %u extends beyond the end of the file", i),
			       E_BAD;
		if (p->p_filesz && (p->p_offset - p->p_vaddr) % IV_PAGE)
			return snprintf(why, n,
					"segment %u's file offset and address differ modulo the "
					"page size",
					i),
			       E_BAD;
		uint64_t lo = IV_ALIGN_DOWN(p->p_vaddr), hi = IV_ALIGN_UP(p->p_vaddr + p->p_memsz);
		if (!e->hi || lo < e->lo)
			e->lo = lo;
		if (hi > e->hi)
			e->hi = hi;
	} else if (p->p_type == PT_INTERP && exe && !e->has_interp) {
		/* the kernel takes the first, of 2 to PATH_MAX bytes, NUL-terminated */
		if (p->p_filesz < 2)
			return snprintf(why, n, "its PT_INTERP is empty"), E_BAD;
		if (p->p_filesz > sizeof(e->interp))
			return snprintf(why, n, "its PT_INTERP is longer than %zu bytes",
					sizeof(e->interp) - 1),
			       E_BAD;
		if (p->p_offset > e->size || p->p_filesz > e->size - p->p_offset ||
		    read_at(fd, e->interp, p->p_filesz, p->p_offset) != (ssize_t)p->p_filesz)
			return snprintf(why, n, "its PT_INTERP lies beyond the end of the file"),
			       E_BAD;
		if (e->interp[p->p_filesz - 1])
			return snprintf(why, n, "its PT_INTERP is not NUL-terminated"), E_BAD;
		e->has_interp = 1;
	} else if (p->p_type == PT_DYNAMIC && !e->dyn) {
		if (p->p_offset > e->size || p->p_filesz > e->size - p->p_offset)
			return snprintf(why, n, "its PT_DYNAMIC lies beyond the end of the file"),
			       E_BAD;
		e->dyn = p;
	}
	return E_OK;
}

/* Reads and checks fd's ELF header and program headers: E_OK, E_NOTELF,
 * E_FOREIGN (another class, byte order or machine), E_TYPE (neither
 * ET_EXEC nor ET_DYN) or E_BAD (malformed), with why. */
static int elf_read(int fd, uint64_t size, int exe, struct elf *e, char *why, size_t n)
{
	unsigned char h[sizeof(Elf64_Ehdr)];
	memset(e, 0, sizeof(*e));
	e->size = size;
	ssize_t got = read_at(fd, h, sizeof(h), 0);
	if (got < SELFMAG || memcmp(h, ELFMAG, SELFMAG))
		return E_NOTELF;
	if (got > EI_CLASS && h[EI_CLASS] != ELFCLASS64) {
		if (h[EI_CLASS] == ELFCLASS32)
			snprintf(why, n, "a 32-bit ELF (ELFCLASS32)");
		else
			snprintf(why, n, "an ELF of unknown class %u", h[EI_CLASS]);
		return E_FOREIGN;
	}
	if (got > EI_DATA && h[EI_DATA] != ELFDATA2LSB)
		return snprintf(why, n, "a big-endian ELF"), E_FOREIGN;
	if (got < (ssize_t)sizeof(h))
		return snprintf(why, n, "its ELF header is truncated (%zd of %zu bytes)", got,
				sizeof(h)),
		       E_BAD;
	Elf64_Ehdr eh;
	memcpy(&eh, h, sizeof(eh));
	if (eh.e_machine != EM_X86_64) {
		const char *m = machine_name(eh.e_machine);
		if (m)
			snprintf(why, n, "an ELF for %s (e_machine %u)", m, eh.e_machine);
		else
			snprintf(why, n, "an ELF for machine %u", eh.e_machine);
		return E_FOREIGN;
	}
	e->type = eh.e_type;
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) {
		if (eh.e_type == ET_REL)
			snprintf(why, n, "an ELF object file (ET_REL)");
		else if (eh.e_type == ET_CORE)
			snprintf(why, n, "an ELF core file (ET_CORE)");
		else
			snprintf(why, n, "an ELF of type %u", eh.e_type);
		return E_TYPE;
	}
	if (eh.e_phentsize != sizeof(Elf64_Phdr))
		return snprintf(why, n, "its program header entries have %u bytes, not %zu",
				eh.e_phentsize, sizeof(Elf64_Phdr)),
		       E_BAD;
	if (eh.e_phnum == 0 || eh.e_phnum > MAX_PH)
		return snprintf(why, n, "it has %u program headers (1 to %zu)", eh.e_phnum, MAX_PH),
		       E_BAD;
	uint64_t phsz = eh.e_phnum * sizeof(Elf64_Phdr);
	if (eh.e_phoff > size || size - eh.e_phoff < phsz ||
	    read_at(fd, e->ph, phsz, eh.e_phoff) != (ssize_t)phsz)
		return snprintf(why, n, "its program headers lie beyond the end of the file"),
		       E_BAD;
	e->phnum = eh.e_phnum;
	int nload = 0;
	for (unsigned i = 0; i < e->phnum; i++) {
		int r = elf_phdr(fd, e, i, exe, why, n);
		if (r)
			return r;
		nload += e->ph[i].p_type == PT_LOAD;
	}
	if (!nload)
		return snprintf(why, n, "it has no loadable segment"), E_BAD;
	return E_OK;
}

/* The file offset of vaddr, through a PT_LOAD's file part; -1 if none. */
static int64_t vaddr_off(const struct elf *e, uint64_t v)
{
	for (unsigned i = 0; i < e->phnum; i++) {
		const Elf64_Phdr *p = &e->ph[i];
		if (p->p_type == PT_LOAD && v >= p->p_vaddr && v - p->p_vaddr < p->p_filesz)
			return (int64_t)(p->p_offset + (v - p->p_vaddr));
	}
	return -1;
}

/* The NUL-terminated string at off of a string table of limit bytes at
 * base (at most PATHLEN bytes read); malloc'd, NULL if out of bounds. */
static char *str_at(int fd, uint64_t base, uint64_t limit, uint64_t off)
{
	char buf[PATHLEN];
	if (off >= limit)
		return NULL;
	size_t len = limit - off < sizeof(buf) ? (size_t)(limit - off) : sizeof(buf);
	ssize_t got = read_at(fd, buf, len, base + off);
	if (got <= 0 || !memchr(buf, 0, (size_t)got))
		return NULL;
	return strdup(buf);
}

static void dyn_free(struct dyn *d)
{
	for (unsigned i = 0; i < d->nneeded; i++)
		free(d->needed[i]);
	free(d->needed);
	free(d->rpath);
	free(d->runpath);
	free(d->soname);
	memset(d, 0, sizeof(*d));
}

/* The strings of the dynamic section ld.so uses to find libraries. */
static int dyn_strings(int fd, const struct elf *e, const Elf64_Dyn *dv, size_t cnt, struct dyn *d,
		       char *why, size_t n)
{
	uint64_t strtab = 0, strsz = UINT64_MAX;
	int has_strtab = 0, nstr = 0;
	for (size_t i = 0; i < cnt && dv[i].d_tag != DT_NULL; i++) {
		if (dv[i].d_tag == DT_STRTAB)
			strtab = dv[i].d_un.d_ptr, has_strtab = 1;
		else if (dv[i].d_tag == DT_STRSZ)
			strsz = dv[i].d_un.d_val;
		else if (dv[i].d_tag == DT_FLAGS_1)
			d->nodeflib = !!(dv[i].d_un.d_val & DF_1_NODEFLIB);
		else if (dv[i].d_tag == DT_NEEDED || dv[i].d_tag == DT_RPATH ||
			 dv[i].d_tag == DT_RUNPATH || dv[i].d_tag == DT_SONAME)
			nstr++;
	}
	if (!nstr)
		return E_OK;
	int64_t base = has_strtab ? vaddr_off(e, strtab) : -1;
	if (base < 0)
		return snprintf(why, n, "its DT_STRTAB is missing or outside the file"), E_BAD;
	uint64_t limit = e->size - (uint64_t)base;
	if (strsz < limit)
		limit = strsz;
	if (!(d->needed = calloc((size_t)nstr, sizeof(char *))))
		return snprintf(why, n, "out of memory"), E_BAD;
	for (size_t i = 0; i < cnt && dv[i].d_tag != DT_NULL; i++) {
		int64_t t = dv[i].d_tag;
		if (t != DT_NEEDED && t != DT_RPATH && t != DT_RUNPATH && t != DT_SONAME)
			continue;
		char *s = str_at(fd, (uint64_t)base, limit, dv[i].d_un.d_val);
		if (!s)
			return snprintf(why, n,
					"its dynamic string at %llu is out of bounds or "
					"unterminated",
					(unsigned long long)dv[i].d_un.d_val),
			       E_BAD;
		char **slot = t == DT_RPATH	? &d->rpath
			      : t == DT_RUNPATH ? &d->runpath
			      : t == DT_SONAME	? &d->soname
						: &d->needed[d->nneeded++];
		free(*slot); /* a repeated tag: the last one counts, as in ld.so */
		*slot = s;
	}
	/* as ld.so: DT_RPATH is ignored when there is a DT_RUNPATH */
	if (d->runpath) {
		free(d->rpath);
		d->rpath = NULL;
	}
	return E_OK;
}

/* DT_NEEDED, DT_RPATH, DT_RUNPATH, DT_SONAME and DF_1_NODEFLIB of e. */
static int dyn_read(int fd, const struct elf *e, struct dyn *d, char *why, size_t n)
{
	memset(d, 0, sizeof(*d));
	if (!e->dyn)
		return E_OK;
	size_t cnt = e->dyn->p_filesz / sizeof(Elf64_Dyn);
	if (cnt > MAX_DYN)
		cnt = MAX_DYN;
	if (!cnt)
		return E_OK;
	size_t nneeded = 0;
	Elf64_Dyn *dv = malloc(cnt * sizeof(*dv));
	if (!dv ||
	    read_at(fd, dv, cnt * sizeof(*dv), e->dyn->p_offset) != (ssize_t)(cnt * sizeof(*dv))) {
		free(dv);
		return snprintf(why, n, "its dynamic section cannot be read"), E_BAD;
	}
	for (size_t i = 0; i < cnt && dv[i].d_tag != DT_NULL; i++)
		nneeded += dv[i].d_tag == DT_NEEDED;
	int r = nneeded > MAX_NEEDED
			? (snprintf(why, n, "it has %zu DT_NEEDED entries (at most %d)", nneeded,
				    MAX_NEEDED),
			   E_BAD)
			: dyn_strings(fd, e, dv, cnt, d, why, n);
	free(dv);
	if (r)
		dyn_free(d);
	return r;
}

/* ---- the files execve opens ---- */

/* What execve requires of a file it runs (a regular file with an x bit:
 * any, since the cell's uid is not known here), not empty, not huge; and
 * a readable fd for it. */
static int exec_file(int o, const char *label, struct stat *st, int *fd, struct iv_err *err)
{
	if (fstat(o, st))
		return fail(err, "%s: %s", label, strerror(errno));
	if (!S_ISREG(st->st_mode))
		return fail(err, "%s is %s, not a program", label, kind(st->st_mode));
	if (!(st->st_mode & 0111))
		return fail(err, "%s is not executable (mode %04o has no x bit)", label,
			    (unsigned)(st->st_mode & 07777));
	if (st->st_size == 0)
		return fail(err, "%s is empty", label);
	if ((uint64_t)st->st_size > MAX_FILE)
		return fail(err, "%s is larger than 1 GiB", label);
	if ((*fd = reopen(o)) < 0)
		return fail(err, "%s cannot be opened: %s", label, strerror(errno));
	return 0;
}

static int elf_fail(struct iv_err *err, const char *label, int r, const char *why,
		    const char *notelf, const char *wanted)
{
	switch (r) {
	case E_NOTELF:
		return fail(err, "%s is %s", label, notelf);
	case E_FOREIGN:
		return fail(err, "%s is %s, not x86-64 ELF64", label, why);
	case E_TYPE:
		return fail(err, "%s is %s, not %s", label, why, wanted);
	}
	return fail(err, "%s is a malformed ELF: %s", label, why);
}

/* ---- libraries, found as ld.so finds them ---- */

static int known(const struct ctx *c, const char *name)
{
	if ((c->interp && !strcmp(name, c->interp)) ||
	    (c->interp_soname && !strcmp(name, c->interp_soname)))
		return 1;
	for (unsigned i = 0; i < c->nobj; i++) {
		const struct obj *o = &c->obj[i];
		if ((o->as && !strcmp(name, o->as)) || (o->d.soname && !strcmp(name, o->d.soname)))
			return 1;
	}
	if (c->musl && !strncmp(name, "lib", 3)) {
		/* musl's ld.so is also its libc, libm, libpthread, ... */
		static const char *const self[] = {"c", "pthread", "rt", "m", "dl", "util", "xnet"};
		const char *z = strchr(name, '.');
		for (size_t i = 0; z && i < sizeof(self) / sizeof(self[0]); i++)
			if ((size_t)(z - name - 3) == strlen(self[i]) &&
			    !strncmp(name + 3, self[i], strlen(self[i])))
				return 1;
	}
	return 0;
}

/* Candidate cand for library nm needed by object i: 0 found (and queued),
 * NEXT, or -1 (err set). */
static int try_lib(struct ctx *c, unsigned i, const char *nm, const char *cand)
{
	char how[2 * PATHLEN], why[256];
	const char *by = c->obj[i].path;
	int fd, r = lookup(c->root, cand, &fd, how, sizeof(how));
	if (r == LEAVES) {
		if (fd < 0) {
			/* the cell finds nothing there: ld.so goes on, so does the search */
			if (!c->escaped[0])
				snprintf(c->escaped, sizeof(c->escaped), "%s leads out of it: %s",
					 cand, how);
			return NEXT;
		}
		close(fd);
		return fail(c->err, "library %s (needed by %s): %s leads out of the disk: %s", nm,
			    by, cand, how);
	}
	struct stat st;
	if (r < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return NEXT;
	}
	for (unsigned j = 1; j < c->nobj; j++)
		if (c->obj[j].dev == st.st_dev && c->obj[j].ino == st.st_ino) {
			close(fd); /* the same file under another name: loaded once */
			return 0;
		}
	if (c->nobj >= MAX_OBJS) {
		close(fd);
		return fail(c->err, "%s needs more than %d libraries", c->obj[0].path,
			    MAX_OBJS - 1);
	}
	if ((uint64_t)st.st_size > MAX_FILE) {
		close(fd);
		return fail(c->err, "library %s (needed by %s): %s is larger than 1 GiB", nm, by,
			    cand);
	}
	int rfd = reopen(fd), rerr = errno;
	close(fd);
	if (rfd < 0)
		return fail(c->err, "library %s (needed by %s): %s cannot be opened: %s", nm, by,
			    cand, strerror(rerr));
	struct obj *o = &c->obj[c->nobj];
	struct elf e;
	r = elf_read(rfd, (uint64_t)st.st_size, 0, &e, why, sizeof(why));
	if (r == E_OK && e.type == ET_EXEC)
		r = E_TYPE, snprintf(why, sizeof(why), "an executable (ET_EXEC)");
	if (r == E_OK)
		r = dyn_read(rfd, &e, &o->d, why, sizeof(why));
	close(rfd);
	if (r == E_FOREIGN)
		return NEXT; /* ld.so skips a library of another class or machine */
	if (r) {
		char label[PATHLEN];
		snprintf(label, sizeof(label), "library %s (needed by %s): %s", nm, by, cand);
		return elf_fail(c->err, label, r, why, "not an ELF file", "a shared library");
	}
	o->path = strdup(cand);
	o->as = strdup(nm);
	o->origin = strdup(cand);
	char *s = o->origin ? strrchr(o->origin, '/') : NULL;
	if (s)
		s[s == o->origin] = 0;
	else if (o->origin)
		strcpy(o->origin, ".");
	o->loader = (int)i;
	o->dev = st.st_dev;
	o->ino = st.st_ino;
	c->nobj++;
	return o->path && o->as && o->origin ? 0 : fail(c->err, "out of memory");
}

/* dir/nm, dir an element of a search path with $ORIGIN (or ${ORIGIN})
 * expanded; 0 when it cannot be built (an unknown origin: ld.so drops
 * such an element).  Other tokens ($LIB, $PLATFORM) are left as written. */
static int candidate(char *out, size_t n, const char *dir, size_t dlen, const char *origin,
		     const char *nm)
{
	size_t k = 0;
	for (size_t i = 0; i < dlen; i++) {
		size_t skip = 0;
		if (dir[i] == '$' && dlen - i >= 9 && !strncmp(dir + i, "${ORIGIN}", 9))
			skip = 9;
		else if (dir[i] == '$' && dlen - i >= 7 && !strncmp(dir + i, "$ORIGIN", 7) &&
			 (dlen - i == 7 ||
			  !(dir[i + 7] == '_' || (dir[i + 7] >= '0' && dir[i + 7] <= '9') ||
			    ((dir[i + 7] | 0x20) >= 'a' && (dir[i + 7] | 0x20) <= 'z'))))
			skip = 7;
		if (skip) {
			if (!origin || k + strlen(origin) >= n)
				return 0;
			k += (size_t)snprintf(out + k, n - k, "%s", origin);
			i += skip - 1;
		} else if (k + 1 < n) {
			out[k++] = dir[i];
		} else {
			return 0;
		}
	}
	if (!dlen && k + 1 < n)
		out[k++] = '.'; /* an empty element is the current directory */
	out[k] = 0;
	return (size_t)snprintf(out + k, n - k, "/%s", nm) < n - k;
}

/* Each element of the ':'-separated search path `path` (an rpath of an
 * object whose $ORIGIN is origin), for library nm needed by object i. */
static int try_path(struct ctx *c, unsigned i, const char *nm, const char *path, const char *origin)
{
	char cand[PATHLEN];
	for (const char *p = path;; p++) {
		size_t len = strcspn(p, ":");
		if (candidate(cand, sizeof(cand), p, len, origin, nm)) {
			int r = try_lib(c, i, nm, cand);
			if (r != NEXT)
				return r;
		}
		p += len;
		if (!*p)
			return NEXT;
	}
}

static void add_dir(struct ctx *c, const char *d, size_t len)
{
	while (len > 1 && d[len - 1] == '/')
		len--;
	if (!len || len >= PATHLEN || c->ndirs >= MAX_DIRS)
		return;
	for (unsigned i = 0; i < c->ndirs; i++)
		if (strlen(c->dirs[i]) == len && !strncmp(c->dirs[i], d, len))
			return;
	if ((c->dirs[c->ndirs] = strndup(d, len)))
		c->ndirs++;
}

static void conf_file(struct ctx *c, const char *path, int depth);

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* `include PATTERN` of ld.so.conf, as ldconfig's glob() would expand it
 * but inside root: a relative pattern is relative to the including file's
 * directory; only its last component may hold wildcards (as every
 * distribution's `include /etc/ld.so.conf.d/ *.conf` does). */
static void conf_include(struct ctx *c, const char *conf, const char *pat, int depth)
{
	char full[PATHLEN], *names[64];
	const char *slash = strrchr(conf, '/');
	int dl = pat[0] == '/' || !slash ? 0 : (int)(slash - conf);
	if ((size_t)snprintf(full, sizeof(full), "%.*s%s%s", dl, conf, dl ? "/" : "", pat) >=
	    sizeof(full))
		return;
	char *base = strrchr(full, '/'), *wild = strpbrk(full, "*?[");
	if (!wild) {
		conf_file(c, full, depth + 1);
		return;
	}
	if (!base || wild < base)
		return; /* wildcards in a directory: not followed */
	*base++ = 0;
	int dfd = openat2_(c->root, rel(full), O_RDONLY | O_DIRECTORY, IN_ROOT);
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	size_t nn = 0;
	for (struct dirent *de; (de = readdir(d)) && nn < 64;)
		if (!fnmatch(base, de->d_name, FNM_PERIOD) && (names[nn] = strdup(de->d_name)))
			nn++;
	closedir(d);
	qsort(names, nn, sizeof(names[0]), cmp_str);
	for (size_t i = 0; i < nn; i++) {
		char one[PATHLEN];
		if ((size_t)snprintf(one, sizeof(one), "%s/%s", full, names[i]) < sizeof(one))
			conf_file(c, one, depth + 1);
		free(names[i]);
	}
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = 0;
	return s;
}

/* One ld.so.conf file inside root: a directory a line, `include`s and
 * (ignored) `hwcap` lines, '#' comments. */
static void conf_file(struct ctx *c, const char *path, int depth)
{
	int e;
	if (depth > 8 || c->nconf >= MAX_CONF)
		return;
	c->nconf++;
	char *text = read_small(c->root, path, CONF_MAX, &e);
	for (char *line = text, *next; line; line = next) {
		if ((next = strchr(line, '\n')))
			*next++ = 0;
		char *h = strchr(line, '#');
		if (h)
			*h = 0;
		line = trim(line);
		if (!strncmp(line, "include", 7) && (line[7] == ' ' || line[7] == '\t')) {
			char *save = NULL;
			for (char *p = strtok_r(line + 8, " \t", &save); p;
			     p = strtok_r(NULL, " \t", &save))
				conf_include(c, path, p, depth);
		} else if (!strncasecmp(line, "hwcap", 5) && (line[5] == ' ' || line[5] == '\t')) {
			continue;
		} else if (*line) {
			char *eq = strchr(line, '='); /* the obsolete dir=TYPE */
			add_dir(c, line, eq ? (size_t)(eq - line) : strlen(line));
		}
	}
	free(text);
}

/* musl reads <prefix>/etc/ld-musl-x86_64.path, prefix being its own path
 * less its last two components (/lib/ld-musl-x86_64.so.1: ""); a path
 * file's elements are separated by ':' or newlines.  Without one, its
 * default path. */
static void musl_dirs(struct ctx *c)
{
	const char *s, *t, *z;
	char p[PATHLEN];
	int e;
	for (s = t = z = c->interp; *s; s++)
		if (*s == '/')
			z = t, t = s;
	snprintf(p, sizeof(p), "%.*s/etc/ld-musl-x86_64.path", (int)(z - c->interp), c->interp);
	char *text = read_small(c->root, p, CONF_MAX, &e);
	const char *list = text ? text : e == ENOENT ? "/lib:/usr/local/lib:/usr/lib" : "";
	for (const char *q = list; *q;) {
		q += strspn(q, ":\n");
		size_t len = strcspn(q, ":\n");
		add_dir(c, q, len);
		q += len;
	}
	free(text);
}

/* glibc's ld.so reads ld.so.cache, never ld.so.conf: without a cache in
 * the disk (or with one it does not recognise) it searches only its
 * system directories. */
static int has_cache(int root)
{
	int e;
	char *text = read_small(root, "/etc/ld.so.cache", 32, &e);
	int ok = text &&
		 (!strncmp(text, "ld.so-1.7.0", 11) || !strncmp(text, "glibc-ld.so.cache", 17));
	free(text);
	return ok;
}

static int try_dirs(struct ctx *c, unsigned i, const char *nm)
{
	char cand[PATHLEN];
	if (!c->have_dirs) {
		c->have_dirs = 1;
		if (c->musl)
			musl_dirs(c);
		else if (has_cache(c->root))
			conf_file(c, "/etc/ld.so.conf", 0);
	}
	for (unsigned k = 0; k < c->ndirs; k++) {
		if ((size_t)snprintf(cand, sizeof(cand), "%s/%s", c->dirs[k], nm) >= sizeof(cand))
			continue;
		int r = try_lib(c, i, nm, cand);
		if (r != NEXT)
			return r;
	}
	return NEXT;
}

/* glibc's order for a name without '/' needed by object i: the DT_RPATHs
 * of i and of the objects that loaded it up to the program (unless i has
 * a DT_RUNPATH), [LD_LIBRARY_PATH: the cell's environment is not known
 * here], i's DT_RUNPATH, then (unless i is linked -z nodefaultlib)
 * ld.so.cache and the system directories.  ld.so.cache is not parsed: it
 * is built by ldconfig from ld.so.conf's directories, which are searched
 * instead when the disk has one, and ld.so falls back to the system
 * directories after it.  Those are Debian's glibc's (`ld.so --help`):
 * /lib64 and /usr/lib64 are not among them.  glibc-hwcaps subdirectories
 * are not searched (a library found only there is reported missing). */
static int search_glibc(struct ctx *c, unsigned i, const char *nm)
{
	static const char *const sys[] = {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
					  "/lib", "/usr/lib"};
	const struct obj *o = &c->obj[i];
	int r;
	if (!o->d.runpath)
		for (int l = (int)i; l >= 0; l = c->obj[l].loader)
			if (c->obj[l].d.rpath &&
			    (r = try_path(c, i, nm, c->obj[l].d.rpath, c->obj[l].origin)) != NEXT)
				return r;
	if (o->d.runpath && (r = try_path(c, i, nm, o->d.runpath, o->origin)) != NEXT)
		return r;
	if (o->d.nodeflib)
		return NEXT;
	if ((r = try_dirs(c, i, nm)) != NEXT)
		return r;
	for (size_t k = 0; k < sizeof(sys) / sizeof(sys[0]); k++) {
		char cand[PATHLEN];
		snprintf(cand, sizeof(cand), "%s/%s", sys[k], nm);
		if ((r = try_lib(c, i, nm, cand)) != NEXT)
			return r;
	}
	return NEXT;
}

/* Whether musl uses an rpath: not at all when it holds a '$' other than
 * $ORIGIN / ${ORIGIN}, or $ORIGIN and the origin is unknown. */
static int musl_rpath_ok(const char *rp, const char *origin)
{
	for (const char *t = strchr(rp, '$'); t; t = strchr(t + 1, '$'))
		if ((strncmp(t, "$ORIGIN", 7) && strncmp(t, "${ORIGIN}", 9)) || !origin)
			return 0;
	return 1;
}

/* musl's order: the DT_RUNPATH (else DT_RPATH) of i and of the objects
 * that loaded it, [LD_LIBRARY_PATH], then its path file or default. */
static int search_musl(struct ctx *c, unsigned i, const char *nm)
{
	int r;
	for (int l = (int)i; l >= 0; l = c->obj[l].loader) {
		const struct obj *o = &c->obj[l];
		const char *rp = o->d.runpath ? o->d.runpath : o->d.rpath;
		if (rp && musl_rpath_ok(rp, o->origin) &&
		    (r = try_path(c, i, nm, rp, o->origin)) != NEXT)
			return r;
	}
	return try_dirs(c, i, nm);
}

/* Every DT_NEEDED of the program, and of each library found, breadth
 * first as ld.so loads them; a name already loaded (as a DT_NEEDED name or
 * a soname, ld.so itself included) is not searched again. */
static int check_libs(struct ctx *c)
{
	for (unsigned i = 0; i < c->nobj; i++) {
		for (unsigned k = 0; k < c->obj[i].d.nneeded; k++) {
			const char *nm = c->obj[i].d.needed[k];
			if (!*nm || known(c, nm))
				continue;
			c->escaped[0] = 0;
			int r = strchr(nm, '/') ? try_lib(c, i, nm, nm)
				: c->musl	? search_musl(c, i, nm)
						: search_glibc(c, i, nm);
			if (r == NEXT)
				return fail(c->err,
					    "library %s (needed by %s) is not in the disk%s%s%s",
					    nm, c->obj[i].path, c->escaped[0] ? " (" : "",
					    c->escaped, c->escaped[0] ? ")" : "");
			if (r)
				return -1;
		}
	}
	return 0;
}

/* ---- the program ---- */

/* The interpreter (PT_INTERP) of program by, inside the root: a regular
 * file the kernel can execute, an x86-64 ELF64 shared object. */
static int check_interp(struct ctx *c, const char *interp, const char *by)
{
	char label[PATHLEN], how[2 * PATHLEN], why[256];
	struct stat st;
	struct elf e;
	struct dyn d;
	int o, fd, r;
	snprintf(label, sizeof(label), "interpreter %s (of %s)", interp, by);
	if ((r = lookup(c->root, interp, &o, how, sizeof(how)))) {
		if (o >= 0)
			close(o);
		return lookup_fail(c->err, label, r, how);
	}
	r = exec_file(o, label, &st, &fd, c->err);
	close(o);
	if (r)
		return r;
	r = elf_read(fd, (uint64_t)st.st_size, 0, &e, why, sizeof(why));
	if (r == E_OK && e.type != ET_DYN)
		r = E_TYPE, snprintf(why, sizeof(why), "an executable (ET_EXEC)");
	if (r == E_OK)
		r = dyn_read(fd, &e, &d, why, sizeof(why));
	close(fd);
	if (r)
		return elf_fail(c->err, label, r, why, "not an ELF file",
				"a shared object (ET_DYN)");
	c->interp_soname = d.soname;
	d.soname = NULL;
	dyn_free(&d);
	c->musl = strstr(interp, "ld-musl") != NULL;
	return (c->interp = strdup(interp)) ? 0 : fail(c->err, "out of memory");
}

/* The ELF the kernel loads (the runtime, or a script's interpreter), fd
 * readable; by names it in messages, origin is its $ORIGIN (or NULL). */
static int check_elf(struct ctx *c, int fd, const struct stat *st, const char *label,
		     const char *by, char *origin, int runtime, struct iv_program *out)
{
	char why[256];
	struct elf e;
	int r = elf_read(fd, (uint64_t)st->st_size, 1, &e, why, sizeof(why));
	if (r) {
		free(origin);
		return elf_fail(c->err, label, r, why,
				runtime ? "neither an ELF executable nor a #! script"
					: "not an ELF file",
				"an executable");
	}
	out->pie = e.type == ET_DYN;
	out->dynamic = e.has_interp;
	out->lo = e.lo;
	out->hi = e.hi;
	struct obj *o = &c->obj[c->nobj++];
	o->loader = -1;
	o->origin = origin;
	if (!(o->path = strdup(by)))
		return fail(c->err, "out of memory");
	if (!e.has_interp)
		return 0; /* static (or static-pie): the kernel needs nothing else */
	if (!out->script)
		memcpy(out->interp, e.interp, sizeof(out->interp));
	if (e.interp[0] != '/')
		return fail(c->err, "%s: its interpreter (PT_INTERP) '%s' is not an absolute path",
			    label, e.interp);
	if (c->root < 0)
		return fail(c->err, "%s needs a disk holding its interpreter %s", label, e.interp);
	if ((r = check_interp(c, e.interp, by)))
		return r;
	if ((r = dyn_read(fd, &e, &o->d, why, sizeof(why))))
		return fail(c->err, "%s is a malformed ELF: %s", label, why);
	return check_libs(c);
}

/* The interpreter of a #! script, as the kernel reads it: the first word
 * after "#!" in the first 256 bytes (BINPRM_BUF_SIZE), the rest zeros. */
static int script_interp(const char *head, size_t got, char *name, size_t n)
{
	char buf[256] = {0};
	memcpy(buf, head, got < sizeof(buf) ? got : sizeof(buf));
	char *end = memchr(buf, '\n', sizeof(buf)), *lim = buf + sizeof(buf) - 1;
	char *p = buf + 2;
	while (p < lim && (*p == ' ' || *p == '\t'))
		p++;
	size_t len = 0;
	while (p + len < lim && p[len] && p[len] != ' ' && p[len] != '\t' && p[len] != '\n')
		len++;
	if (!end && p + len >= lim)
		return -1; /* the name may go on past what the kernel reads */
	if (len >= n)
		return -1;
	memcpy(name, p, len);
	name[len] = 0;
	return 0;
}

static int check_script(struct ctx *c, const char *head, size_t got, const char *what,
			struct iv_program *out)
{
	char label[PATHLEN], how[2 * PATHLEN], *iname = out->interp;
	struct stat st;
	int o, fd, r;
	out->script = 1;
	if (script_interp(head, got, iname, sizeof(out->interp)))
		return fail(c->err, "runtime %s: its #! interpreter is longer than %zu bytes", what,
			    sizeof(out->interp) - 1);
	if (!iname[0])
		return fail(c->err, "runtime %s: its #! line names no interpreter", what);
	if (iname[0] != '/')
		return fail(c->err, "runtime %s: its #! interpreter '%s' is not an absolute path",
			    what, iname);
	if (c->root < 0)
		return fail(c->err, "runtime %s needs a disk holding its interpreter %s", what,
			    iname);
	snprintf(label, sizeof(label), "interpreter %s (of script %s)", iname, what);
	if ((r = lookup(c->root, iname, &o, how, sizeof(how)))) {
		if (o >= 0)
			close(o);
		return lookup_fail(c->err, label, r, how);
	}
	r = exec_file(o, label, &st, &fd, c->err);
	close(o);
	if (r)
		return r;
	char h2[2];
	if (read_at(fd, h2, 2, 0) == 2 && h2[0] == '#' && h2[1] == '!') {
		close(fd);
		return fail(c->err,
			    "%s is a #! script itself: only an ELF interpreter is supported",
			    label);
	}
	r = check_elf(c, fd, &st, label, iname, origin_in_root(c->root, fd), 0, out);
	close(fd);
	return r;
}

static int check_runtime(struct ctx *c, const char *path, int path_fd, const char *what,
			 struct iv_program *out)
{
	char label[PATHLEN], how[2 * PATHLEN], head[256];
	struct stat st;
	int o = path_fd, fd, r;
	snprintf(label, sizeof(label), "runtime %s", what);
	if (path_fd < 0) {
		if (c->root < 0 || !path)
			return fail(c->err, "%s: no disk to find it in", label);
		if ((r = lookup(c->root, path, &o, how, sizeof(how)))) {
			if (o >= 0)
				close(o);
			return lookup_fail(c->err, label, r, how);
		}
	}
	r = exec_file(o, label, &st, &fd, c->err);
	if (o != path_fd)
		close(o);
	if (r)
		return r;
	ssize_t got = read_at(fd, head, sizeof(head), 0);
	if (got >= 2 && head[0] == '#' && head[1] == '!') {
		close(fd);
		return check_script(c, head, (size_t)got, what, out);
	}
	/* a host file's $ORIGIN is nowhere in the cell: ld.so drops it */
	char *origin = path_fd < 0 ? origin_in_root(c->root, fd) : NULL;
	r = check_elf(c, fd, &st, label, what, origin, 1, out);
	close(fd);
	return r;
}

int iv_program_check(int root, const char *path, int path_fd, const char *name,
		     struct iv_program *out, struct iv_err *err)
{
	memset(out, 0, sizeof(*out));
	struct ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return iv_fail(err, "out of memory");
	c->root = root;
	c->err = err;
	const char *what = name ? name : path ? path : "(unnamed)";
	int r = check_runtime(c, path, path_fd, what, out);
	for (unsigned i = 0; i < c->nobj; i++) {
		free(c->obj[i].path);
		free(c->obj[i].as);
		free(c->obj[i].origin);
		dyn_free(&c->obj[i].d);
	}
	for (unsigned i = 0; i < c->ndirs; i++)
		free(c->dirs[i]);
	free(c->interp);
	free(c->interp_soname);
	free(c);
	return r;
}
