/*
 * Snapshot images (format: docs/IMAGE.md).  A frozen template is written
 * as two files in its snapshot_path: image.img (header, mappings, extents
 * of saved pages, threads, open files, cap file grants) and pages.img (the
 * pages themselves, page-aligned; all-zero pages are not stored).  A later
 * run restores a cVM from them in a fresh cell whose stub maps the pages
 * MAP_PRIVATE from pages.img, so they are read lazily on first touch, and
 * resumes the saving thread inside host_save with IV_SAVE_RESTORED; from
 * there it goes on as a fork does.  Nothing in an image is trusted: every
 * count, offset and address is checked, and both files are checksummed.
 *
 * The directory is the monitor's alone: it is opened once, with no symbolic
 * link anywhere in its path, and used only if it is owned by the monitor's
 * uid and nobody else may write to it, so that no cell (whose disk may hold
 * it) can plant or swap a file or a link in it; every file in it is then
 * reached relative to that directory, never through a link, and a file of
 * the wrong type, owner or size is refused before a byte of it is read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "capfile/capfile.h"
#include "image.h"
#include "tfork/tfork.h"

#define FP_XSTATE_MAGIC1     0x46505853U
#define FP_XSTATE_MAGIC2     0x46505845U
#define UC_FP_XSTATE	     0x1
#define UC_SIGCONTEXT_SS     0x2
#define UC_STRICT_RESTORE_SS 0x4
#define RED_ZONE	     128

/* The kernel's x86-64 signal frame (arch/x86/include/asm/sigframe.h). */
struct k_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip,
		eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2, fpstate, reserved1[8];
};

struct k_ucontext {
	uint64_t uc_flags, uc_link;
	struct {
		uint64_t ss_sp;
		int32_t ss_flags, pad;
		uint64_t ss_size;
	} uc_stack;
	struct k_sigcontext uc_mcontext;
	uint64_t uc_sigmask;
};

struct k_rt_sigframe {
	uint64_t pretcode;
	struct k_ucontext uc;
	uint8_t info[128];
};

/* A cVM restored from an image: what its image said, until it has
 * announced itself and recreated its threads. */
struct restored {
	struct iv_thread_state *threads;
	int nthreads, saver;
	struct iv_saved_fd *fds;
	char **fd_paths; /* where each file was, in its root */
	int nfds;
	int announced;
	uint64_t framed[4]; /* which threads' frames were written (at most once each) */
};

static struct restored *of(struct iv_cvm *cvm)
{
	return iv_state(cvm, &iv_feature_image);
}

/* The signal frame that resumes a thread with registers r and st's FPU
 * state, below r's stack red zone: a malloc'd buffer of *len bytes to be
 * stored at *at; rt_sigreturn wants rsp = *at + 8. */
static uint8_t *frame_build(const struct user_regs_struct *rp, const struct iv_thread_state *st,
			    uint64_t *at, size_t *len_out)
{
	const struct user_regs_struct r = *rp;
	uint32_t xstate_size = 0, magic1 = 0;
	if (st->xsize >= 512 + 64) {
		memcpy(&magic1, st->xstate + 464, 4);
		memcpy(&xstate_size, st->xstate + 464 + 16, 4);
	}
	int xsave = magic1 == FP_XSTATE_MAGIC1 && xstate_size <= st->xsize;
	if (!xsave && st->xsize < 512)
		return NULL;
	size_t fp_len = xsave ? xstate_size + 4 : 512;
	uint64_t top = r.rsp - RED_ZONE;
	uint64_t fp = (top - fp_len) & ~63ULL;
	uint64_t frame = (fp - sizeof(struct k_rt_sigframe)) & ~15ULL;
	size_t len = (size_t)(fp + fp_len - frame);
	uint8_t *buf = calloc(1, len);
	if (!buf)
		return NULL;
	struct k_rt_sigframe *k = (struct k_rt_sigframe *)buf;
	k->uc.uc_flags = UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS | (xsave ? UC_FP_XSTATE : 0);
	k->uc.uc_stack.ss_flags = SS_DISABLE;
	struct k_sigcontext *m = &k->uc.uc_mcontext;
	m->r8 = r.r8, m->r9 = r.r9, m->r10 = r.r10, m->r11 = r.r11;
	m->r12 = r.r12, m->r13 = r.r13, m->r14 = r.r14, m->r15 = r.r15;
	m->rdi = r.rdi, m->rsi = r.rsi, m->rbp = r.rbp, m->rbx = r.rbx;
	m->rdx = r.rdx, m->rax = r.rax, m->rcx = r.rcx, m->rsp = r.rsp;
	m->rip = r.rip, m->eflags = r.eflags;
	m->cs = (uint16_t)r.cs, m->ss = (uint16_t)r.ss;
	m->fpstate = fp;
	k->uc.uc_sigmask = st->sigmask;
	memcpy(buf + (fp - frame), st->xstate, xsave ? xstate_size : 512);
	if (xsave) {
		uint32_t magic2 = FP_XSTATE_MAGIC2;
		memcpy(buf + (fp - frame) + xstate_size, &magic2, 4);
	} else {
		memset(buf + (fp - frame) + 464, 0, 48); /* no software-reserved magic */
	}
	*at = frame;
	*len_out = len;
	return buf;
}

#define IMG_MAGIC 0x31504e5356495655ULL /* "UVIVSNP1" */
/* Version 1 images lack the mappings a libc cVM makes above the stub. */
#define IMG_VERSION 4
#define MAX_MAPS    4096
#define MAX_EXTENTS (1u << 20)
#define MAX_THREADS 256
#define MAX_FDS	    64
#define XSTATE_MAX  (64 * 1024)
#define META_MAX    (256u << 20)
#define RUNTIME_MAX (1ULL << 30)
/* A cell's RLIMIT_AS is its size plus this (AS_SLACK in cell/cell.c): no
 * template can have had more memory mapped. */
#define CELL_AS_SLACK (64ULL << 20)

struct img_hdr {
	uint64_t magic;
	uint32_t version, hdr_size;
	uint64_t meta_len, meta_hash;	/* what follows the header in image.img */
	uint64_t pages_len, pages_hash; /* pages.img */
	uint64_t runtime_len, runtime_hash;
	uint64_t begin, end, image_lo, image_hi, stack_lo, stack_hi, cap_next;
	uint32_t nmaps, nextents, nthreads, nfds, ngrants, saver;
	uint64_t vdso_at, vdso_len, vdso_off; /* the kernel's vDSO block: data pages, vDSO */
	uint32_t program, nsigs;	      /* a program's image; signal actions recorded */
	uint64_t brk;			      /* the template's brk heap's end (or start) */
	uint64_t hdr_hash; /* of this header with hdr_hash = 0 */
};

struct img_map {
	uint64_t start, end;
	uint32_t prot, flags; /* PROT_* bits; IMG_MAP_* */
};
#define IMG_MAP_STACK 1 /* a program's main stack: it may grow below on restore */
#define STACK_ROOM    (8ULL << 20)

struct img_extent {
	uint64_t addr, len, off; /* [addr, addr+len) comes from pages.img at off */
};

struct img_thread {
	struct user_regs_struct regs;
	uint64_t sigmask, xsize; /* xsize bytes of XSAVE state follow, padded to 8 */
};

struct img_fd {
	int32_t fd, flags;
	int64_t pos;
	char path[256]; /* as the cell sees it, from its root */
};

/* A signal's action as the kernel keeps it (struct k_sigaction). */
struct img_sig {
	uint32_t sig, pad;
	uint64_t handler, flags, restorer, mask;
};
#define SIG_MAX 64

struct img_grant {
	char name[64];
	uint64_t addr, size;
};

/*
 * A 64-bit hash over 32-byte blocks in four independent lanes (so the
 * multiplications overlap), FNV-style, folded at the end: it catches
 * corruption and truncation at several GB/s, not forgery.
 */
#define HASH_PRIME 0x100000001b3ULL
struct hash {
	uint64_t l[4];
};

static void hash_init(struct hash *h, uint64_t seed)
{
	h->l[0] = seed, h->l[1] = seed ^ 0x9e3779b97f4a7c15ULL;
	h->l[2] = seed ^ 0xc2b2ae3d27d4eb4fULL, h->l[3] = seed ^ 0x165667b19e3779f9ULL;
}

/* Every call but the last must pass a multiple of 32 bytes (pages do). */
static void hash_update(struct hash *h, const void *data, size_t len)
{
	const uint8_t *p = data;
	for (; len >= 32; p += 32, len -= 32)
		for (int i = 0; i < 4; i++) {
			uint64_t w;
			memcpy(&w, p + 8 * i, 8);
			h->l[i] = (h->l[i] ^ w) * HASH_PRIME;
			h->l[i] ^= h->l[i] >> 29;
		}
	for (; len; p++, len--)
		h->l[0] = (h->l[0] ^ *p) * HASH_PRIME;
}

static uint64_t hash_final(const struct hash *h)
{
	return h->l[0] ^ (h->l[1] * 3) ^ (h->l[2] * 5) ^ (h->l[3] * 7);
}

static uint64_t hash_more(uint64_t seed, const void *data, size_t len)
{
	struct hash h;
	hash_init(&h, seed);
	hash_update(&h, data, len);
	return hash_final(&h);
}

#define HASH_SEED 0xcbf29ce484222325ULL

/* Reads exactly len bytes at off (short only at the end of the file). */
static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* Hashes exactly len bytes of fd from its start; -1 if the file is shorter
 * or cannot be read.  The caller has checked the file's size against len,
 * so the work is bounded by a size it chose. */
static int hash_file(int fd, uint64_t len, uint64_t *out)
{
	static uint8_t buf[1 << 20];
	struct hash h;
	hash_init(&h, HASH_SEED);
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done < sizeof(buf) ? (size_t)(len - done) : sizeof(buf);
		if (read_at(fd, buf, n, done))
			return -1;
		hash_update(&h, buf, n); /* whole blocks of 32 but at the end */
		done += n;
	}
	*out = hash_final(&h);
	return 0;
}

/* A growable byte buffer for the metadata. */
struct buf {
	uint8_t *p;
	size_t len, cap;
	int oom;
};

static void put(struct buf *b, const void *data, size_t len)
{
	if (b->oom)
		return;
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->len + len)
			cap *= 2;
		uint8_t *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

static int write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- the snapshot directory and its files ---- */

#define NO_LINKS (RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)

static int open2(int at, const char *path, uint64_t flags, uint64_t resolve)
{
	struct open_how how = {.flags = flags | O_CLOEXEC, .resolve = resolve};
	return (int)syscall(SYS_openat2, at, path, &how, sizeof(how));
}

/* NULL when st is the monitor's alone: owned by its uid, and writable by
 * neither group nor others (with an ACL, the group bits are its mask), so
 * that no cell can create, replace or rename anything in it.  Else why not. */
static const char *not_private(const struct stat *st, char *buf, size_t n)
{
	if (st->st_uid != geteuid())
		snprintf(buf, n, "owned by uid %u, not by the monitor's uid %u",
			 (unsigned)st->st_uid, (unsigned)geteuid());
	else if (st->st_mode & (S_IWGRP | S_IWOTH))
		snprintf(buf, n, "writable by group or others (mode 0%o)",
			 (unsigned)(st->st_mode & 07777));
	else
		return NULL;
	return buf;
}

/* Splits path (trailing slashes dropped) into the directory that holds it
 * and its last component, in buf. */
static int split(const char *path, char *buf, size_t n, const char **dir, const char **base)
{
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len >= n)
		return -1;
	memcpy(buf, path, len);
	buf[len] = 0;
	char *slash = strrchr(buf, '/');
	*dir = !slash ? "." : slash == buf ? "/" : buf;
	*base = slash ? slash + 1 : buf;
	if (slash && slash != buf)
		*slash = 0;
	return **base ? 0 : -1;
}

/*
 * Opens the snapshot directory: no symbolic link anywhere in path (a link a
 * cell planted in its disk would send the monitor's writes elsewhere), then
 * checks that it is the monitor's alone.  With create, a missing directory
 * is made (0700) in its parent, itself reached without links.  Returns a
 * descriptor, or -1 with the reason in why (to follow the path in a
 * message) and *missing set when the directory does not exist.
 */
static int snap_dir(const char *path, int create, char *why, size_t n, int *missing)
{
	*missing = 0;
	int fd = open2(AT_FDCWD, path, O_RDONLY | O_DIRECTORY, NO_LINKS);
	if (fd < 0 && errno == ENOENT && create) {
		char buf[4096];
		const char *dir, *base;
		if (split(path, buf, sizeof(buf), &dir, &base)) {
			snprintf(why, n, " is not a directory name");
			return -1;
		}
		int pfd = open2(AT_FDCWD, dir, O_PATH | O_DIRECTORY, NO_LINKS);
		if (pfd >= 0 && (mkdirat(pfd, base, 0700) == 0 || errno == EEXIST))
			fd = open2(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW,
				   NO_LINKS | RESOLVE_BENEATH);
		int e = errno;
		if (pfd >= 0)
			close(pfd);
		errno = e;
	}
	if (fd < 0) {
		*missing = errno == ENOENT;
		if (errno == ELOOP)
			snprintf(why, n,
				 " is or passes through a symbolic link (none is followed)");
		else
			snprintf(why, n, ": %s", strerror(errno));
		return -1;
	}
	struct stat st;
	char reason[128];
	const char *no =
		fstat(fd, &st) ? strerror(errno) : not_private(&st, reason, sizeof(reason));
	if (no) {
		snprintf(why, n, " is %s: only the monitor's user may write there", no);
		close(fd);
		return -1;
	}
	return fd;
}

static int check(const struct iv_cvm_cfg *cfg, struct iv_err *err)
{
	if (!cfg->template_ || !cfg->snapshot_path)
		return 0;
	char why[256];
	int missing;
	int fd = snap_dir(cfg->snapshot_path, 0, why, sizeof(why), &missing);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (missing) {
		/* made when the template saves: its parent must be there, without links */
		char buf[4096];
		const char *dir, *base;
		int pfd = split(cfg->snapshot_path, buf, sizeof(buf), &dir, &base)
				  ? -1
				  : open2(AT_FDCWD, dir, O_PATH | O_DIRECTORY, NO_LINKS);
		if (pfd >= 0) {
			close(pfd);
			return 0;
		}
		snprintf(why, sizeof(why), ": its parent %s",
			 errno == ELOOP ? "is or passes through a symbolic link (none is followed)"
					: strerror(errno));
	}
	return iv_fail(err, "template '%s': snapshot_path '%s'%s", cfg->name, cfg->snapshot_path,
		       why);
}

/* A runtime's length and hash, read without blocking (a FIFO there would
 * hang the monitor) and only from a regular file of at most RUNTIME_MAX
 * bytes.  With want != 0, a file of another length is not hashed: its
 * length alone says it is not the runtime wanted. */
static int runtime_hash(const struct iv_cvm_cfg *cfg, uint64_t want, uint64_t *len,
			uint64_t *h)
{
	int fd = -1;
	if (cfg->runtime_in_disk) {
		/* a program's, inside its disk as its cell resolves it */
		int root = open(cfg->disk, O_PATH | O_DIRECTORY | O_CLOEXEC);
		fd = root < 0 ? -1
			      : open2(root, cfg->runtime, O_RDONLY | O_NONBLOCK,
				      RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
		if (root >= 0)
			close(root);
	} else {
		fd = open(cfg->runtime, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	}
	struct stat st;
	int rc = -1;
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size <= RUNTIME_MAX) {
		*len = (uint64_t)st.st_size;
		*h = 0;
		rc = want && *len != want ? 0 : hash_file(fd, *len, h);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ---- writing ---- */

/* Where the template's vDSO block is (its data pages, then the vDSO
 * itself): a restored program must find it there. */
static int vdso_block(pid_t pid, struct img_hdr *h)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	FILE *f = fopen(path, "re");
	uint64_t lo = 0, hi = 0, vdso = 0;
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long a, b;
		char name[64] = "";
		if (sscanf(line, "%llx-%llx %*s %*s %*s %*s %63s", &a, &b, name) < 3 ||
		    (strcmp(name, "[vdso]") && strncmp(name, "[vvar", 5)))
			continue;
		if (!lo || a < lo)
			lo = a;
		if (b > hi)
			hi = b;
		if (!strcmp(name, "[vdso]"))
			vdso = a;
	}
	if (f)
		fclose(f);
	if (!vdso)
		return -1;
	h->vdso_at = lo, h->vdso_len = hi - lo, h->vdso_off = vdso - lo;
	return 0;
}

/* Where the next run of saved pages goes: pages.img, its hash, the extents. */
struct saving {
	int fd;
	struct hash *ph;
	uint64_t off;
	struct buf *ext;
	uint32_t *next;
	struct img_extent run; /* the extent being extended */
};

static void end_run(struct saving *s)
{
	if (s->run.len) {
		put(s->ext, &s->run, sizeof(s->run));
		(*s->next)++;
	}
	s->run.len = 0;
}

/* Appends a run of pages that are not all zero to pages.img, extending the
 * current extent when it follows it. */
static int save_run(void *ctx, uint64_t addr, const void *data, size_t len, struct iv_err *err)
{
	struct saving *s = ctx;
	if (!s->run.len || s->run.addr + s->run.len != addr) {
		end_run(s);
		s->run = (struct img_extent){addr, 0, s->off};
	}
	if (write_all(s->fd, data, len))
		return iv_fail(err, "snapshot: cannot write pages.img: %s", strerror(errno));
	hash_update(s->ph, data, len);
	s->run.len += len;
	s->off += len;
	return 0;
}

/*
 * The template's signal actions (handlers, flags, restorers, masks): only
 * the process can tell them, so rt_sigaction is run in its stopped saver,
 * into a page mapped for that and unmapped before the image is read.  A
 * restored cell installs them again before it resumes.
 */
static int capture_sigs(struct iv_cvm *t, const struct iv_frozen *fz, struct img_sig *out,
			uint32_t *n, struct iv_err *err)
{
	pid_t saver = fz->threads[fz->saver].tid;
	uint64_t g = t->cell.gadget;
	long page = iv_inject_call(saver, g, SYS_mmap, 0, IV_PAGE, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if (page < 0 && page > -4096)
		return iv_fail(err, "snapshot: cannot read the template's signal actions: %s",
			       strerror((int)-page));
	int rc = 0;
	*n = 0;
	for (int sig = 1; rc == 0 && sig <= SIG_MAX; sig++) {
		uint64_t act[4];
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		long r = iv_inject_call(saver, g, SYS_rt_sigaction, sig, 0, page, 8, 0);
		if (r < 0 || iv_peek(saver, (uint64_t)page, act, sizeof(act)))
			rc = iv_fail(err, "snapshot: cannot read the action of signal %d", sig);
		else if (act[0] != (uint64_t)(uintptr_t)SIG_DFL || act[1] || act[3])
			out[(*n)++] = (struct img_sig){(uint32_t)sig, 0, act[0], act[1], act[2], act[3]};
	}
	iv_inject_call(saver, g, SYS_munmap, page, IV_PAGE, 0, 0, 0);
	return rc;
}

/* The threads, files and cap file grants, after the mappings and extents. */
static void put_state(struct iv_cvm *t, const struct iv_frozen *fz, struct img_hdr *h,
		      const struct img_sig *sigs, struct buf *meta)
{
	for (int i = 0; i < fz->nthreads; i++) {
		const struct iv_thread_state *st = &fz->threads[i];
		struct img_thread it = {st->regs, st->sigmask, st->xsize};
		static const uint8_t zero[8];
		put(meta, &it, sizeof(it));
		put(meta, st->xstate, st->xsize);
		put(meta, zero, (8 - st->xsize % 8) % 8);
	}
	for (int i = 0; i < fz->nfds; i++) {
		struct img_fd f = {fz->fds[i].fd, fz->fds[i].flags, fz->fds[i].pos, ""};
		char link[64];
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", t->cell.pid, fz->fds[i].fd);
		ssize_t n = readlink(link, f.path, sizeof(f.path) - 1);
		if (n <= 0)
			continue;
		f.path[n] = 0;
		put(meta, &f, sizeof(f));
		h->nfds++;
	}
	struct iv_cap *cap;
	uint64_t addr;
	for (int i = 0; iv_cap_grant(t, i, &cap, &addr) == 0; i++) {
		struct img_grant g = {"", addr, cap->size};
		snprintf(g.name, sizeof(g.name), "%s", cap->name);
		put(meta, &g, sizeof(g));
		h->ngrants++;
	}
	put(meta, sigs, h->nsigs * sizeof(*sigs));
}

static const char *const tmp_names[2] = {"pages.img.tmp", "image.img.tmp"};

/* A new temporary file in the snapshot directory: whatever had its name
 * before is gone (it was the monitor's: nobody else can write there), and
 * O_EXCL|O_NOFOLLOW make sure the file is new, not a link's target. */
static int create_tmp(int dfd, const char *name)
{
	if (unlinkat(dfd, name, 0) && errno != ENOENT)
		return -1;
	return openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
}

/* Writes the frozen template's image into its snapshot_path. */
static int image_write(struct iv_cvm *t, struct iv_err *err)
{
	struct iv_frozen fz;
	iv_tfork_frozen(t, &fz);
	const char *dir = t->cfg->snapshot_path;
	struct img_hdr h = {.magic = IMG_MAGIC, .version = IMG_VERSION, .hdr_size = sizeof(h)};
	struct buf maps = {0}, ext = {0}, meta = {0};
	struct iv_mem_map *tm = NULL;
	size_t ntm = 0;
	int dfd = -1, pages = -1, img = -1, rc = -1, renamed = 0;
	uint8_t *chunk = malloc(IV_MEM_CHUNK);
	char why[256];
	int missing;
	struct img_sig sigs[SIG_MAX];
	if (!chunk) {
		iv_fail(err, "out of memory");
		goto out;
	}
	/* (first: its page is gone before the memory is read) */
	if (capture_sigs(t, &fz, sigs, &h.nsigs, err))
		goto out;
	dfd = snap_dir(dir, 1, why, sizeof(why), &missing);
	if (dfd < 0) {
		iv_fail(err, "template '%s': snapshot_path '%s'%s", t->cfg->name, dir, why);
		goto out;
	}
	pages = create_tmp(dfd, tmp_names[0]);
	if (pages < 0) {
		iv_fail(err, "snapshot: cannot create %s/%s: %s", dir, tmp_names[0],
			strerror(errno));
		goto out;
	}
	/* A restored cell has a stub of its own; a program's [stack] is its
	 * main thread's.  See IV_MEMF_GUARD for the reservation. */
	unsigned what = IV_MEMF_GUARD | (t->cfg->program ? IV_MEMF_STACK : 0);
	struct iv_err e2;
	if (iv_mem_maps(t->cell.pid, what, &tm, &ntm, &e2)) {
		iv_fail(err, "snapshot: %s", e2.msg);
		goto out;
	}

	/* where its libc believes the brk heap ends (or starts, unused) */
	if (iv_mem_start_brk(t->cell.pid, &h.brk))
		h.brk = 0;
	for (size_t i = 0; i < ntm; i++)
		if ((tm[i].kind & IV_MEM_HEAP) && tm[i].end > h.brk)
			h.brk = tm[i].end;
	struct hash ph;
	hash_init(&ph, HASH_SEED);
	struct saving sv = {pages, &ph, 0, &ext, &h.nextents, {0, 0, 0}};
	for (size_t i = 0; i < ntm; i++) {
		if (tm[i].kind & IV_MEM_SHARED) {
			if (!iv_cap_granted_at(t, tm[i].start)) {
				iv_fail(err, "snapshot: shared mapping at 0x%llx is not a cap file",
					(unsigned long long)tm[i].start);
				goto out;
			}
			continue; /* a cap file: recorded as a grant */
		}
		struct img_map m = {tm[i].start, tm[i].end, tm[i].prot,
				    (tm[i].kind & IV_MEM_STACK) && t->cfg->program ? IMG_MAP_STACK
										  : 0};
		put(&maps, &m, sizeof(m));
		h.nmaps++;
		/* unreadable (a guard page): nothing to save */
		if ((m.prot & 1) && iv_mem_scan(t->cell.pid, m.start, m.end, chunk, save_run, &sv,
						&e2)) {
			iv_fail(err, "snapshot: %s", e2.msg);
			goto out;
		}
		end_run(&sv); /* extents never span mappings */
	}
	h.pages_len = sv.off;
	h.pages_hash = hash_final(&ph);

	put(&meta, maps.p, maps.len);
	put(&meta, ext.p, ext.len);
	put_state(t, &fz, &h, sigs, &meta);
	if (meta.oom || maps.oom || ext.oom) {
		iv_fail(err, "out of memory");
		goto out;
	}
	h.nthreads = (uint32_t)fz.nthreads;
	h.saver = (uint32_t)fz.saver;
	h.begin = t->cfg->begin, h.end = t->cfg->end;
	h.image_lo = t->image_lo, h.image_hi = t->image_hi;
	h.stack_lo = t->stack_lo, h.stack_hi = t->stack_hi;
	h.cap_next = iv_cap_next(t);
	h.meta_len = meta.len;
	h.meta_hash = hash_more(HASH_SEED, meta.p, meta.len);
	h.program = (uint32_t)t->cfg->program;
	if (vdso_block(t->cell.pid, &h)) {
		iv_fail(err, "snapshot: cannot find the template's vDSO");
		goto out;
	}
	if (runtime_hash(t->cfg, 0, &h.runtime_len, &h.runtime_hash)) {
		iv_fail(err, "snapshot: cannot read runtime '%s'", t->cfg->runtime);
		goto out;
	}
	h.hdr_hash = hash_more(HASH_SEED, &h, sizeof(h));

	img = create_tmp(dfd, tmp_names[1]);
	if (img < 0 || write_all(img, &h, sizeof(h)) || write_all(img, meta.p, meta.len) ||
	    fsync(img) || fsync(pages)) {
		iv_fail(err, "snapshot: cannot write %s/%s: %s", dir, tmp_names[1],
			strerror(errno));
		goto out;
	}
	/* pages first: a reader never sees a new image.img with the old pages.img */
	if (renameat(dfd, tmp_names[0], dfd, "pages.img") ||
	    (renamed = 1, renameat(dfd, tmp_names[1], dfd, "image.img"))) {
		iv_fail(err, "snapshot: cannot rename into %s: %s", dir, strerror(errno));
		goto out;
	}
	renamed = 2;
	fsync(dfd);
	iv_vlog("template '%s': image written to %s: %u mappings, %llu KiB of pages, %u thread(s)",
		t->cfg->name, dir, h.nmaps, (unsigned long long)(h.pages_len >> 10), h.nthreads);
	rc = 0;
out:
	for (int i = renamed; dfd >= 0 && i < 2; i++)
		if ((i == 0 && pages >= 0) || (i == 1 && img >= 0))
			unlinkat(dfd, tmp_names[i], 0);
	if (pages >= 0)
		close(pages);
	if (img >= 0)
		close(img);
	if (dfd >= 0)
		close(dfd);
	free(tm);
	free(chunk);
	free(maps.p);
	free(ext.p);
	free(meta.p);
	return rc;
}

/* ---- restore ---- */

/* pages.img files this run has checked, by identity: restoring many cVMs
 * from one image hashes its pages once, not once per cVM. */
#define MAX_VERIFIED 32
static struct verified {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	uint64_t hash;
} verified[MAX_VERIFIED];
static int nverified;
static pthread_mutex_t verified_lock = PTHREAD_MUTEX_INITIALIZER;

static int same_file(const struct verified *v, const struct stat *st)
{
	return v->dev == st->st_dev && v->ino == st->st_ino && v->size == st->st_size &&
	       v->mtime.tv_sec == st->st_mtim.tv_sec && v->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       v->ctime.tv_sec == st->st_ctim.tv_sec && v->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

/* Hashes the pages file (st: its fstat, of exactly len bytes) unless this
 * run already did with the file unchanged. */
static int pages_hash(int fd, const struct stat *st, uint64_t len, uint64_t *h)
{
	pthread_mutex_lock(&verified_lock);
	for (int i = 0; i < nverified; i++)
		if (same_file(&verified[i], st)) {
			*h = verified[i].hash;
			pthread_mutex_unlock(&verified_lock);
			return 0;
		}
	pthread_mutex_unlock(&verified_lock);
	if (hash_file(fd, len, h))
		return -1;
	pthread_mutex_lock(&verified_lock);
	if (nverified < MAX_VERIFIED)
		verified[nverified++] = (struct verified){st->st_dev,  st->st_ino,  st->st_size,
							  st->st_mtim, st->st_ctim, *h};
	pthread_mutex_unlock(&verified_lock);
	return 0;
}

static int badf(struct iv_cvm *cvm, struct iv_err *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int badf(struct iv_cvm *cvm, struct iv_err *err, const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return iv_fail(err, "cVM '%s': image in '%s': %s", cvm->cfg->name, cvm->cfg->snapshot_path,
		       what);
}

static int bad(struct iv_cvm *cvm, struct iv_err *err, const char *what)
{
	return badf(cvm, err, "%s", what);
}

/*
 * Opens name in the snapshot directory to read it: never through a link,
 * never blocking (a FIFO or a device there would hang the monitor), and
 * only a regular file that is the monitor's alone; *st is its fstat, for
 * its size to be checked before anything of it is read.
 */
static int snap_file(struct iv_cvm *cvm, int dfd, const char *name, struct stat *st,
		     struct iv_err *err)
{
	int fd = open2(dfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW, NO_LINKS | RESOLVE_BENEATH);
	if (fd < 0) {
		int e = errno;
		if (e != ENOENT && fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    !S_ISREG(st->st_mode))
			return badf(cvm, err, "%s is %s, not a regular file", name,
				    iv_file_kind(st->st_mode));
		return badf(cvm, err, "%s: %s", name, strerror(e));
	}
	char why[128];
	const char *no = fstat(fd, st)		 ? strerror(errno)
			 : !S_ISREG(st->st_mode) ? iv_file_kind(st->st_mode)
						 : not_private(st, why, sizeof(why));
	if (no) {
		close(fd);
		return badf(cvm, err, "%s is %s%s", name, no,
			    S_ISREG(st->st_mode) ? "" : ", not a regular file");
	}
	return fd;
}

/* Takes len bytes at *pos of the metadata, or NULL when they are not there. */
static const void *take(const uint8_t *meta, uint64_t meta_len, uint64_t *pos, uint64_t len)
{
	if (len > meta_len || *pos > meta_len - len)
		return NULL;
	const void *p = meta + *pos;
	*pos += len;
	return p;
}

/* Reads and checks image.img's header and metadata (*meta, malloc'd). */
static int read_image(struct iv_cvm *cvm, int dfd, struct img_hdr *h, uint8_t **meta,
		      struct iv_err *err)
{
	struct iv_cvm_cfg *cfg = cvm->cfg;
	struct stat st;
	int img = snap_file(cvm, dfd, "image.img", &st, err), rc = -1;
	if (img < 0)
		return -1;
	if ((uint64_t)st.st_size < sizeof(*h) || read_at(img, h, sizeof(*h), 0)) {
		bad(cvm, err, "image.img is truncated (no complete header)");
		goto out;
	}
	if (h->magic != IMG_MAGIC) {
		bad(cvm, err, "image.img is not an Intravisor snapshot (bad magic)");
		goto out;
	}
	if (h->version != IMG_VERSION || h->hdr_size != sizeof(*h)) {
		iv_fail(err,
			"cVM '%s': image in '%s' has version %u; this monitor reads version %u",
			cfg->name, cfg->snapshot_path, h->version, IMG_VERSION);
		goto out;
	}
	uint64_t want = h->hdr_hash;
	h->hdr_hash = 0;
	if (hash_more(HASH_SEED, h, sizeof(*h)) != want) {
		bad(cvm, err, "image.img header checksum mismatch (corrupted)");
		goto out;
	}
	if (h->meta_len > META_MAX || (uint64_t)st.st_size != sizeof(*h) + h->meta_len) {
		bad(cvm, err,
		    (uint64_t)st.st_size < sizeof(*h) + h->meta_len
			    ? "image.img is truncated"
			    : "image.img has trailing bytes");
		goto out;
	}
	if (h->nmaps > MAX_MAPS || h->nextents > MAX_EXTENTS || h->nthreads == 0 ||
	    h->nthreads > MAX_THREADS || h->nfds > MAX_FDS || h->ngrants > IV_MAX_GRANTS ||
	    h->saver >= h->nthreads) {
		bad(cvm, err, "image.img has impossible counts");
		goto out;
	}
	*meta = malloc(h->meta_len ? h->meta_len : 1);
	if (!*meta || read_at(img, *meta, h->meta_len, sizeof(*h))) {
		bad(cvm, err, "image.img cannot be read");
		goto out;
	}
	if (hash_more(HASH_SEED, *meta, h->meta_len) != h->meta_hash) {
		bad(cvm, err, "image.img checksum mismatch (corrupted)");
		goto out;
	}
	rc = 0;
out:
	close(img);
	return rc;
}

/*
 * Plans the memory: every mapping anonymous, only where nothing is (the
 * stub refuses to map over its own image, its stack, its plan or the vDSO
 * of the new cell), then the saved pages from pages.img.  Mappings must be
 * page-aligned user space, in order and apart, and fit the cell's memory
 * limit; extents must follow each other through pages.img, each inside one
 * mapping, and cover it exactly: pages_len is bounded by what the cell can
 * hold before pages.img is read.
 */
static int plan_memory(struct iv_cvm *cvm, struct iv_plan *p, const struct img_hdr *h,
		       const struct img_map *maps, const struct img_extent *ext, struct iv_err *err)
{
	uint64_t total = 0, limit = cvm->cfg->size + CELL_AS_SLACK;
	for (uint32_t i = 0; i < h->nmaps; i++) {
		const struct img_map *m = &maps[i];
		if (m->start >= m->end || ((m->start | m->end) & (IV_PAGE - 1)) ||
		    m->start < IV_USER_MIN || m->end > IV_USER_TOP || m->prot > 7 ||
		    (i && m->start < maps[i - 1].end))
			return bad(cvm, err, "image.img has a mapping out of bounds");
		total += m->end - m->start;
		if (iv_plan_op(p, IV_OP_MAP_ANON, m->start, m->end - m->start, IV_MAP_FRESH, 0))
			return iv_fail(err, "out of memory");
		/* Room below a program's main stack, which the kernel grew on
		 * demand in the template and cannot here (a plain mapping): up to
		 * STACK_ROOM, never over the mapping below; untouched, it costs
		 * nothing. */
		uint64_t below = i ? maps[i - 1].end : IV_USER_MIN;
		if ((m->flags & IMG_MAP_STACK) && m->start > below && STACK_ROOM) {
			uint64_t room = m->start - below > STACK_ROOM ? STACK_ROOM : m->start - below;
			if (iv_plan_op(p, IV_OP_MAP_ANON, m->start - room, room,
				       IV_MAP_FRESH | IV_MAP_TRY, 0))
				return iv_fail(err, "out of memory");
		}
	}
	if (total > limit)
		return badf(cvm, err, "image.img maps %llu MiB, more than the cVM's %llu MiB allow",
			    (unsigned long long)(total >> 20), (unsigned long long)(limit >> 20));
	uint64_t off = 0, prev = 0;
	uint32_t k = 0;
	for (uint32_t i = 0; i < h->nextents; i++) {
		const struct img_extent *e = &ext[i];
		while (k < h->nmaps && maps[k].end <= e->addr)
			k++;
		if (!e->len || ((e->addr | e->len) & (IV_PAGE - 1)) || e->addr < prev ||
		    e->off != off || k == h->nmaps || e->addr < maps[k].start ||
		    e->len > maps[k].end - e->addr || e->len > h->pages_len - off)
			return bad(cvm, err, "image.img has a mapping out of bounds");
		prev = e->addr + e->len;
		off += e->len;
		if (iv_plan_op(p, IV_OP_MAP_FILE, e->addr, e->len, e->off, 0))
			return iv_fail(err, "out of memory");
	}
	if (off != h->pages_len)
		return bad(cvm, err, "image.img's extents do not cover pages.img");
	return 0;
}

/* The threads' saved state. */
static int take_threads(struct iv_cvm *cvm, const struct img_hdr *h, const uint8_t *meta,
			uint64_t *pos, struct iv_err *err)
{
	of(cvm)->threads = calloc(h->nthreads, sizeof(*of(cvm)->threads));
	if (!of(cvm)->threads)
		return iv_fail(err, "out of memory");
	for (uint32_t i = 0; i < h->nthreads; i++) {
		const struct img_thread *it = take(meta, h->meta_len, pos, sizeof(*it));
		const uint8_t *xs = it && it->xsize <= XSTATE_MAX
					    ? take(meta, h->meta_len, pos, (it->xsize + 7) & ~7ULL)
					    : NULL;
		if (!xs)
			return bad(cvm, err, "image.img is truncated (threads)");
		struct iv_thread_state *ts = &of(cvm)->threads[of(cvm)->nthreads++];
		ts->regs = it->regs;
		ts->sigmask = it->sigmask;
		ts->xsize = it->xsize;
		ts->xstate = malloc(it->xsize ? it->xsize : 1);
		if (!ts->xstate)
			return iv_fail(err, "out of memory");
		memcpy(ts->xstate, xs, it->xsize);
	}
	of(cvm)->saver = (int)h->saver;
	return 0;
}

/* The files it had open, reopened when it announces itself. */
static int take_fds(struct iv_cvm *cvm, const struct img_hdr *h, const uint8_t *meta, uint64_t *pos,
		    struct iv_err *err)
{
	of(cvm)->fds = calloc(h->nfds ? h->nfds : 1, sizeof(*of(cvm)->fds));
	of(cvm)->fd_paths = calloc(h->nfds ? h->nfds : 1, sizeof(*of(cvm)->fd_paths));
	if (!of(cvm)->fds || !of(cvm)->fd_paths)
		return iv_fail(err, "out of memory");
	for (uint32_t i = 0; i < h->nfds; i++) {
		const struct img_fd *f = take(meta, h->meta_len, pos, sizeof(*f));
		if (!f || f->fd < 3 || f->fd >= 64 || memchr(f->path, 0, sizeof(f->path)) == NULL ||
		    f->path[0] != '/')
			return bad(cvm, err, "image.img has a bad open file");
		of(cvm)->fds[of(cvm)->nfds] = (struct iv_saved_fd){f->fd, f->flags, f->pos, -1};
		of(cvm)->fd_paths[of(cvm)->nfds++] = strdup(f->path);
	}
	return 0;
}

/* The cap files it was granted, mapped shared where they were. */
static int take_grants(struct iv_cvm *cvm, struct iv_plan *p, const struct img_hdr *h,
		       const uint8_t *meta, uint64_t *pos, int *extra, int *nextra,
		       struct iv_err *err)
{
	struct iv_cvm_cfg *cfg = cvm->cfg;
	for (uint32_t i = 0; i < h->ngrants; i++) {
		const struct img_grant *g = take(meta, h->meta_len, pos, sizeof(*g));
		if (!g || !memchr(g->name, 0, sizeof(g->name)))
			return bad(cvm, err, "image.img has a bad cap file grant");
		struct iv_cap *cap = iv_cap_find(g->name);
		if (!cap || cap->size != g->size)
			return iv_fail(err,
				       "cVM '%s': image in '%s' needs cap file '%s' of %llu bytes, "
				       "which this run %s",
				       cfg->name, cfg->snapshot_path, g->name,
				       (unsigned long long)g->size,
				       cap ? "has with another size" : "does not have");
		if (g->addr < h->begin || g->addr >= h->end || (g->addr & (IV_PAGE - 1)))
			return bad(cvm, err, "image.img has a cap file outside the range");
		extra[*nextra] = iv_cap_open(cap);
		if (extra[*nextra] < 0)
			return iv_fail(err, "cVM '%s': cannot map cap file '%s'", cfg->name,
				       g->name);
		(*nextra)++;
		if (iv_plan_op(p, IV_OP_MAP_SHARED, g->addr, IV_ALIGN_UP(g->size),
			       IV_FD_EXTRA + (uint64_t)*nextra - 1, 0) ||
		    iv_plan_op(p, IV_OP_CLOSE, 0, 0, IV_FD_EXTRA + (uint64_t)*nextra - 1, 0))
			return iv_fail(err, "cVM '%s': cannot map cap file '%s'", cfg->name,
				       g->name);
		if (iv_cap_grant_at(cvm, cap, g->addr))
			return bad(cvm, err, "image.img has too many cap file grants");
	}
	return 0;
}

/*
 * Where the stub is to map the plan in a restored cell: a window of
 * PLAN_WINDOW bytes below the stub that no mapping of the image and no cap
 * file ([begin, end)) needs.  Left to the kernel, the plan would go near
 * the top of user space, where the template's own mmaps were (with ASLR
 * off, exactly there).  0 when there is no such window.
 */
#define PLAN_WINDOW (64ULL << 20) /* more than the largest plan an image makes */
static uint64_t plan_window(const struct img_hdr *h, const struct img_map *maps)
{
	for (uint64_t top = IV_STUB_BASE; top >= IV_USER_MIN + PLAN_WINDOW;) {
		uint64_t lo = top - PLAN_WINDOW, below = top;
		/* (a program's range is all of user space: only its maps count) */
		if (!h->program && h->begin < top && h->end > lo)
			below = h->begin;
		/* (the vDSO block goes back where it was, before the plan is read) */
		if (h->vdso_at < top && h->vdso_at + h->vdso_len > lo && h->vdso_at < below)
			below = h->vdso_at;
		for (uint32_t i = 0; i < h->nmaps; i++)
			if (maps[i].start < top && maps[i].end > lo && maps[i].start < below)
				below = maps[i].start;
		if (below == top)
			return lo;
		top = below; /* below everything in the way */
	}
	return 0;
}

/* The saving thread comes back from host_save as a restored cVM: a signal
 * frame on its own stack, which must lie in one of the image's mappings. */
static int plan_resume(struct iv_cvm *cvm, struct iv_plan *p, const struct img_hdr *h,
		       const struct img_map *maps, struct iv_err *err)
{
	const struct iv_thread_state *saver = &of(cvm)->threads[h->saver];
	struct user_regs_struct r = saver->regs;
	r.rax = IV_SAVE_RESTORED;
	uint64_t at;
	size_t flen;
	uint8_t *frame = frame_build(&r, saver, &at, &flen);
	int inside = 0;
	for (uint32_t i = 0; frame && i < h->nmaps && !inside; i++)
		inside = at >= maps[i].start && at < maps[i].end && flen <= maps[i].end - at;
	int frc = inside ? iv_plan_copy(p, at, frame, flen) : -1;
	free(frame);
	if (frc)
		return bad(cvm, err, "the saved thread state is unusable");
	for (uint32_t i = 0; i < h->nmaps; i++)
		if (iv_plan_op(p, IV_OP_PROTECT, maps[i].start, maps[i].end - maps[i].start, 0,
			       maps[i].prot))
			return iv_fail(err, "out of memory");
	p->hdr.entry_kind = IV_PLAN_ENTRY_SIGRETURN;
	p->hdr.sp = at + 8;
	p->hdr.fsbase = saver->regs.fs_base;
	p->hdr.gsbase = saver->regs.gs_base;
	p->hdr.plan_at = plan_window(h, maps);
	return 0;
}

/* Checks pages.img against the header: its size before anything of it is
 * read, then its hash.  Returns its descriptor or -1. */
static int open_pages(struct iv_cvm *cvm, int dfd, const struct img_hdr *h, struct iv_err *err)
{
	struct stat st;
	int fd = snap_file(cvm, dfd, "pages.img", &st, err);
	if (fd < 0)
		return -1;
	uint64_t phash;
	if ((uint64_t)st.st_size != h->pages_len) {
		badf(cvm, err, "pages.img %s (%llu bytes, the image says %llu)",
		     (uint64_t)st.st_size < h->pages_len ? "is truncated" : "has the wrong size",
		     (unsigned long long)st.st_size, (unsigned long long)h->pages_len);
	} else if (pages_hash(fd, &st, h->pages_len, &phash)) {
		bad(cvm, err, "pages.img cannot be read");
	} else if (phash != h->pages_hash) {
		bad(cvm, err, "pages.img checksum mismatch (corrupted)");
	} else {
		return fd;
	}
	close(fd);
	return -1;
}

/* Reads and checks cvm's image and plans a fresh cell from it: memory
 * mapped lazily from the pages file (returned in *pages_fd), cap files to
 * map shared (fds in extra[], *nextra), the saving thread resumed. */
static int plan(struct iv_cvm *cvm, struct iv_plan *p, int *pages_fd, int *extra, int *nextra,
		struct iv_err *err)
{
	if (!cvm->cfg->resume || !cvm->cfg->snapshot_path)
		return IV_NOT_MINE;
	struct iv_cvm_cfg *cfg = cvm->cfg;
	struct img_hdr h;
	uint8_t *meta = NULL;
	int rc = -1, missing;
	char why[256];
	*pages_fd = -1;
	*nextra = 0;
	int dfd = snap_dir(cfg->snapshot_path, 0, why, sizeof(why), &missing);
	if (dfd < 0)
		return iv_fail(err, "cVM '%s': snapshot_path '%s'%s", cfg->name, cfg->snapshot_path,
			       why);
	if (read_image(cvm, dfd, &h, &meta, err))
		goto out;
	if (!h.program != !cfg->program) {
		iv_fail(err, "cVM '%s': image in '%s' is %s: %s", cfg->name, cfg->snapshot_path,
			h.program ? "a program's" : "of a cVM with a range",
			h.program ? "restore it without 'isolation'"
				  : "give the restored cVM its template's 'isolation'");
		goto out;
	}
	if (cfg->has_isolation && (cfg->begin != h.begin || cfg->end != h.end)) {
		iv_fail(err, "cVM '%s': image in '%s' is for the range [0x%llx, 0x%llx)", cfg->name,
			cfg->snapshot_path, (unsigned long long)h.begin, (unsigned long long)h.end);
		goto out;
	}
	/* (the kernel's block is a few pages, where user space is, clear of the stub) */
	if (((h.vdso_at | h.vdso_len | h.vdso_off) & (IV_PAGE - 1)) || !h.vdso_len ||
	    h.vdso_len > 64 * IV_PAGE || h.vdso_off >= h.vdso_len || h.vdso_at < IV_USER_MIN ||
	    h.vdso_at > IV_USER_TOP - h.vdso_len ||
	    (h.vdso_at < IV_STUB_BASE + PLAN_WINDOW && h.vdso_at + h.vdso_len > IV_STUB_BASE)) {
		bad(cvm, err, "image.img has a bad vDSO place");
		goto out;
	}
	/* first of the ops: before any restored mapping takes its place */
	if (iv_plan_op(p, IV_OP_VDSO, h.vdso_at, h.vdso_len, h.vdso_off, 0)) {
		iv_fail(err, "out of memory");
		goto out;
	}
	uint64_t pos = 0;
	const struct img_map *maps =
		take(meta, h.meta_len, &pos, (uint64_t)h.nmaps * sizeof(*maps));
	const struct img_extent *ext =
		take(meta, h.meta_len, &pos, (uint64_t)h.nextents * sizeof(*ext));
	if (!maps || !ext) {
		bad(cvm, err, "image.img is truncated (mappings)");
		goto out;
	}
	if (plan_memory(cvm, p, &h, maps, ext, err) || take_threads(cvm, &h, meta, &pos, err) ||
	    take_fds(cvm, &h, meta, &pos, err) ||
	    take_grants(cvm, p, &h, meta, &pos, extra, nextra, err))
		goto out;
	const struct img_sig *sigs = h.nsigs <= SIG_MAX
					     ? take(meta, h.meta_len, &pos, h.nsigs * sizeof(*sigs))
					     : NULL;
	if (!sigs && h.nsigs) {
		bad(cvm, err, "image.img is truncated (signal actions)");
		goto out;
	}
	if (pos != h.meta_len) {
		bad(cvm, err, "image.img has trailing metadata");
		goto out;
	}
	if (plan_resume(cvm, p, &h, maps, err))
		goto out;
	/* its signal actions, once its memory (their handlers) is there */
	for (uint32_t i = 0; i < h.nsigs; i++) {
		const struct img_sig *g = &sigs[i];
		uint64_t act[4] = {g->handler, g->flags, g->restorer, g->mask};
		if (g->sig < 1 || g->sig > SIG_MAX || g->sig == SIGKILL || g->sig == SIGSTOP) {
			bad(cvm, err, "image.img has a bad signal action");
			goto out;
		}
		if (iv_plan_sigaction(p, (int)g->sig, act, sizeof(act))) {
			iv_fail(err, "out of memory");
			goto out;
		}
	}
	/* The runtime it came from (its length first: no hash of a wrong file). */
	uint64_t rlen, rhash;
	if (runtime_hash(cfg, h.runtime_len, &rlen, &rhash) || rlen != h.runtime_len ||
	    rhash != h.runtime_hash) {
		iv_fail(err, "cVM '%s': image in '%s' was made from another runtime than '%s'",
			cfg->name, cfg->snapshot_path, cfg->runtime);
		goto out;
	}
	*pages_fd = open_pages(cvm, dfd, &h, err);
	if (*pages_fd < 0)
		goto out;
	cvm->image_lo = h.image_lo, cvm->image_hi = h.image_hi;
	/* its libc's brk is the template's; the cell's kernel brk is above its
	 * stub: a brk that answered the cell's would look grown (see iv.h) */
	cvm->brk_answer = h.brk;
	cvm->stack_lo = h.stack_lo, cvm->stack_hi = h.stack_hi;
	iv_cap_set_next(cvm, h.cap_next);
	iv_vlog("cVM '%s': restoring from %s: %u mappings (%u extents, %llu KiB of pages), %u "
		"thread(s)",
		cfg->name, cfg->snapshot_path, h.nmaps, h.nextents,
		(unsigned long long)(h.pages_len >> 10), h.nthreads);
	rc = 0;
out:
	if (rc) {
		for (int i = 0; i < *nextra; i++)
			close(extra[i]);
		*nextra = 0;
	}
	close(dfd);
	free(meta);
	return rc;
}

/* Installs fd in the restored cell as number at, during its announce. */
static int give_fd(struct iv_call *c, int fd, int at)
{
	struct seccomp_notif_addfd a = {.id = c->id,
					.flags = SECCOMP_ADDFD_FLAG_SETFD,
					.srcfd = (uint32_t)fd,
					.newfd = (uint32_t)at};
	return ioctl(c->cvm->cell.listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a) < 0 ? -errno : 0;
}

/* HC_FORKED in a restored cVM: its files reopened; returns threads to recreate. */
static long announced(struct iv_call *c)
{
	struct iv_cvm *cvm = c->cvm;
	of(cvm)->announced = 1;
	/* The files it had open, from its root, at their offsets.  The paths
	 * come from the image: they are resolved inside the cVM's root, never
	 * across a mount point (the cell sees none of the disk's submounts),
	 * opened with the cell's own uid and gid (fsuid: this thread only) and
	 * without blocking, and only regular files and directories are given. */
	int root = open(cvm->cfg->disk ? cvm->cfg->disk : "/nonexistent",
			O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (int i = 0; root >= 0 && i < of(cvm)->nfds; i++) {
		int keep = O_ACCMODE | O_APPEND | O_NONBLOCK | O_DSYNC | O_SYNC | O_DIRECTORY;
		int flags = of(cvm)->fds[i].flags & keep;
		setfsgid(cvm->cell.gid);
		setfsuid(cvm->cell.uid);
		int fd = iv_open_inside(root, of(cvm)->fd_paths[i], flags | O_NONBLOCK);
		int e = errno;
		setfsuid(0);
		setfsgid(0);
		struct stat st;
		int allowed = fd >= 0 && fstat(fd, &st) == 0 &&
			      (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) &&
			      fcntl(fd, F_SETFL, flags) == 0;
		if (!allowed) {
			iv_log("cVM '%s': file '%s' of its image cannot be reopened: %s",
			       cvm->cfg->name, of(cvm)->fd_paths[i],
			       fd < 0 ? strerror(e) : "not a regular file or directory");
			if (fd >= 0)
				close(fd);
			continue;
		}
		if (lseek(fd, of(cvm)->fds[i].pos, SEEK_SET) == of(cvm)->fds[i].pos)
			give_fd(c, fd, of(cvm)->fds[i].fd);
		close(fd);
	}
	if (root >= 0)
		close(root);
	iv_mark(cvm, IV_T_RESTORED);
	return of(cvm)->nthreads - 1;
}

/* THREAD_FRAME(i, bases), in a cVM restored from an image: a signal frame
 * for the template's i-th other thread on that thread's stack; returns the
 * stack pointer its rt_sigreturn needs. */
static long hc_thread_frame(struct iv_call *c)
{
	struct iv_cvm *t = c->cvm; /* restored from an image: its own threads */
	if (!t->cfg->resume || !t->cfg->snapshot_path)
		return -EPERM;
	uint64_t i = c->a[0];
	/* only while it recreates its threads: once each, after its announce */
	if (!of(t)->announced || i >= (uint64_t)of(t)->nthreads - 1 ||
	    (of(t)->framed[i / 64] >> (i % 64) & 1))
		return -EINVAL;
	of(t)->framed[i / 64] |= 1ULL << (i % 64);
	const struct iv_thread_state *st = &of(t)->threads[i < (uint64_t)of(t)->saver ? i : i + 1];
	struct user_regs_struct r = st->regs;

	/* A thread stopped inside a system call gets it again, as the kernel's
	 * own restart would (ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND,
	 * ERESTART_RESTARTBLOCK). */
	long ax = (long)r.rax;
	if (ax == -512 || ax == -513 || ax == -514 || ax == -516) {
		r.rax = r.orig_rax;
		r.rip -= 2;
	}

	uint64_t frame;
	size_t len;
	uint8_t *buf = frame_build(&r, st, &frame, &len);
	if (!buf)
		return -ENOMEM;
	int rc = iv_poke(t->cell.pid, frame, buf, len);
	free(buf);
	if (rc)
		return rc;
	uint64_t bases[2] = {r.fs_base, r.gs_base};
	if ((rc = iv_cvm_write(t, c->a[1], bases, sizeof(bases))))
		return rc;
	return (long)(frame + 8);
}

/* A cVM restored from an image announces itself (sdk/crt/tfork.c). */
static long hc_forked(struct iv_call *c)
{
	struct iv_cvm *f = c->cvm;
	if (!f->cfg->resume || !f->cfg->snapshot_path || of(f)->announced)
		return -EPERM;
	return announced(c);
}

/* A template with a snapshot_path writes its image when it is frozen. */
static int frozen(struct iv_cvm *t, struct iv_err *err)
{
	return t->cfg->snapshot_path ? image_write(t, err) : 0;
}

static int start(struct iv_run *run, struct iv_err *err)
{
	(void)run, (void)err;
	iv_hostcall_register(HC_FORKED, "forked", hc_forked);
	iv_hostcall_register(HC_THREAD_FRAME, "thread_frame", hc_thread_frame);
	iv_tfork_on_freeze(frozen);
	return 0;
}

static void free_state(struct iv_cvm *cvm)
{
	struct restored *r = of(cvm);
	for (int i = 0; i < r->nthreads; i++)
		free(r->threads[i].xstate);
	for (int i = 0; r->fd_paths && i < r->nfds; i++)
		free(r->fd_paths[i]);
	free(r->threads);
	free(r->fds);
	free(r->fd_paths);
}

struct iv_feature iv_feature_image = {
	.name = "snapshot images",
	.cvm_size = sizeof(struct restored),
	.start = start,
	.check = check,
	.plan = plan,
	.free = free_state,
};
