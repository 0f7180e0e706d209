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
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "iv.h"

#define IMG_MAGIC   0x31504e5356495655ULL /* "UVIVSNP1" */
#define IMG_VERSION 1
#define MAX_MAPS    4096
#define MAX_EXTENTS (1u << 20)
#define MAX_THREADS 256
#define MAX_FDS	    64
#define XSTATE_MAX  (64 * 1024)

struct img_hdr {
	uint64_t magic;
	uint32_t version, hdr_size;
	uint64_t meta_len, meta_hash;	/* what follows the header in image.img */
	uint64_t pages_len, pages_hash; /* pages.img */
	uint64_t runtime_len, runtime_hash;
	uint64_t begin, end, image_lo, image_hi, stack_lo, stack_hi, cap_next;
	uint32_t nmaps, nextents, nthreads, nfds, ngrants, saver;
	uint64_t hdr_hash; /* of this header with hdr_hash = 0 */
};

struct img_map {
	uint64_t start, end;
	uint32_t prot, pad;
};

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

static int hash_file(int fd, uint64_t *len, uint64_t *out)
{
	static uint8_t buf[1 << 20];
	struct hash h;
	hash_init(&h, HASH_SEED);
	*len = 0;
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), (off_t)*len);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		hash_update(&h, buf, (size_t)n);
		*len += (uint64_t)n;
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

static int is_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		if (w)
			return 0;
	}
	return 1;
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

static int open_in(const char *dir, const char *name, int flags, struct iv_err *err)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, flags | O_CLOEXEC, 0600);
	if (fd < 0)
		iv_fail(err, "snapshot '%s': %s", path, strerror(errno));
	return fd;
}

/* True for the cell's own mappings that a fresh cell has anew. */
static int not_the_cvms(const char *name, uint64_t start)
{
	return start >= IV_STUB_BASE || !strcmp(name, "[vdso]") || !strcmp(name, "[vvar]") ||
	       !strcmp(name, "[vvar_vclock]") || !strcmp(name, "[vsyscall]") ||
	       !strcmp(name, "[stack]");
}

int iv_image_write(struct iv_cvm *t, struct iv_err *err)
{
	const char *dir = t->cfg->snapshot_path;
	struct img_hdr h = {.magic = IMG_MAGIC, .version = IMG_VERSION, .hdr_size = sizeof(h)};
	struct buf maps = {0}, ext = {0}, meta = {0};
	int pages = -1, img = -1, rc = -1;
	FILE *mf = NULL;
	uint8_t *chunk = malloc(1 << 20);
	mkdir(dir, 0700);
	if (!chunk) {
		iv_fail(err, "out of memory");
		goto out;
	}
	pages = open_in(dir, "pages.img.tmp", O_WRONLY | O_CREAT | O_TRUNC, err);
	if (pages < 0)
		goto out;

	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/maps", t->pid);
	mf = fopen(path, "re");
	uint64_t off = 0;
	struct hash ph;
	hash_init(&ph, HASH_SEED);
	while (mf && fgets(line, sizeof(line), mf)) {
		unsigned long long start, end;
		char perms[8], name[256] = "";
		if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %255s", &start, &end, perms, name) < 3)
			continue;
		if (not_the_cvms(name, start))
			continue;
		if (perms[3] == 's') {
			int known = 0;
			for (int i = 0; i < t->ngrants; i++)
				known |= t->grants[i].addr == start;
			if (!known) {
				iv_fail(err, "snapshot: shared mapping at 0x%llx is not a cap file",
					start);
				goto out;
			}
			continue; /* a cap file: recorded as a grant */
		}
		struct img_map m = {start, end, 0, 0};
		m.prot = (perms[0] == 'r' ? 1 : 0) | (perms[1] == 'w' ? 2 : 0) |
			 (perms[2] == 'x' ? 4 : 0);
		put(&maps, &m, sizeof(m));
		h.nmaps++;
		if (!(m.prot & 1))
			continue; /* a guard page: nothing to save */
		/* Save the pages that are not zero, in runs. */
		struct img_extent run = {0, 0, 0};
		for (uint64_t a = start; a < end;) {
			size_t n = end - a < (1 << 20) ? (size_t)(end - a) : (1 << 20);
			struct iovec l = {chunk, n}, r = {(void *)(uintptr_t)a, n};
			if (process_vm_readv(t->pid, &l, 1, &r, 1, 0) != (ssize_t)n) {
				iv_fail(err,
					"snapshot: cannot read the template's memory at 0x%llx: %s",
					(unsigned long long)a, strerror(errno));
				goto out;
			}
			for (size_t p = 0; p < n; p += IV_PAGE) {
				int zero = is_zero(chunk + p, IV_PAGE);
				if (!zero) {
					if (run.len && run.addr + run.len == a + p) {
						run.len += IV_PAGE;
					} else {
						if (run.len) {
							put(&ext, &run, sizeof(run));
							h.nextents++;
						}
						run = (struct img_extent){a + p, IV_PAGE, off};
					}
					if (write_all(pages, chunk + p, IV_PAGE)) {
						iv_fail(err, "snapshot: cannot write pages.img: %s",
							strerror(errno));
						goto out;
					}
					hash_update(&ph, chunk + p, IV_PAGE);
					off += IV_PAGE;
				}
			}
			a += n;
		}
		if (run.len) {
			put(&ext, &run, sizeof(run));
			h.nextents++;
		}
	}
	if (!mf) {
		iv_fail(err, "snapshot: cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	h.pages_len = off;
	h.pages_hash = hash_final(&ph);

	put(&meta, maps.p, maps.len);
	put(&meta, ext.p, ext.len);
	for (int i = 0; i < t->nthreads; i++) {
		const struct iv_thread_state *st = &t->threads[i];
		struct img_thread it = {st->regs, st->sigmask, st->xsize};
		static const uint8_t zero[8];
		put(&meta, &it, sizeof(it));
		put(&meta, st->xstate, st->xsize);
		put(&meta, zero, (8 - st->xsize % 8) % 8);
	}
	for (int i = 0; i < t->nfds; i++) {
		struct img_fd f = {t->fds[i].fd, t->fds[i].flags, t->fds[i].pos, ""};
		char link[64];
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", t->pid, t->fds[i].fd);
		ssize_t n = readlink(link, f.path, sizeof(f.path) - 1);
		if (n <= 0)
			continue;
		f.path[n] = 0;
		put(&meta, &f, sizeof(f));
		h.nfds++;
	}
	for (int i = 0; i < t->ngrants; i++) {
		struct img_grant g = {"", t->grants[i].addr, t->grants[i].cap->size};
		snprintf(g.name, sizeof(g.name), "%s", t->grants[i].cap->name);
		put(&meta, &g, sizeof(g));
	}
	if (meta.oom || maps.oom || ext.oom) {
		iv_fail(err, "out of memory");
		goto out;
	}
	h.nthreads = (uint32_t)t->nthreads;
	h.ngrants = (uint32_t)t->ngrants;
	h.saver = (uint32_t)t->saver;
	h.begin = t->cfg->begin, h.end = t->cfg->end;
	h.image_lo = t->image_lo, h.image_hi = t->image_hi;
	h.stack_lo = t->stack_lo, h.stack_hi = t->stack_hi;
	h.cap_next = t->cap_next;
	h.meta_len = meta.len;
	h.meta_hash = hash_more(HASH_SEED, meta.p, meta.len);
	int rt = open(t->cfg->runtime, O_RDONLY | O_CLOEXEC);
	if (rt < 0 || hash_file(rt, &h.runtime_len, &h.runtime_hash)) {
		iv_fail(err, "snapshot: cannot read runtime '%s'", t->cfg->runtime);
		if (rt >= 0)
			close(rt);
		goto out;
	}
	close(rt);
	h.hdr_hash = hash_more(HASH_SEED, &h, sizeof(h));

	img = open_in(dir, "image.img.tmp", O_WRONLY | O_CREAT | O_TRUNC, err);
	if (img < 0)
		goto out;
	if (write_all(img, &h, sizeof(h)) || write_all(img, meta.p, meta.len) || fsync(img) ||
	    fsync(pages)) {
		iv_fail(err, "snapshot: cannot write image.img: %s", strerror(errno));
		goto out;
	}
	char from[4096], to[4096];
	snprintf(from, sizeof(from), "%s/pages.img.tmp", dir);
	snprintf(to, sizeof(to), "%s/pages.img", dir);
	int r1 = rename(from, to);
	snprintf(from, sizeof(from), "%s/image.img.tmp", dir);
	snprintf(to, sizeof(to), "%s/image.img", dir);
	if (r1 || rename(from, to)) {
		iv_fail(err, "snapshot: cannot rename into %s: %s", dir, strerror(errno));
		goto out;
	}
	iv_vlog("template '%s': image written to %s: %u mappings, %llu KiB of pages, %u thread(s)",
		t->cfg->name, dir, h.nmaps, (unsigned long long)(h.pages_len >> 10), h.nthreads);
	rc = 0;
out:
	if (mf)
		fclose(mf);
	if (pages >= 0)
		close(pages);
	if (img >= 0)
		close(img);
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

/* Hashes the pages file unless this run already did with the file unchanged. */
static int pages_hash(int fd, uint64_t *len, uint64_t *h)
{
	struct stat st;
	if (fstat(fd, &st))
		return -1;
	pthread_mutex_lock(&verified_lock);
	for (int i = 0; i < nverified; i++)
		if (same_file(&verified[i], &st)) {
			*len = (uint64_t)st.st_size;
			*h = verified[i].hash;
			pthread_mutex_unlock(&verified_lock);
			return 0;
		}
	pthread_mutex_unlock(&verified_lock);
	if (hash_file(fd, len, h))
		return -1;
	pthread_mutex_lock(&verified_lock);
	if (nverified < MAX_VERIFIED && *len == (uint64_t)st.st_size)
		verified[nverified++] = (struct verified){st.st_dev,  st.st_ino,  st.st_size,
							  st.st_mtim, st.st_ctim, *h};
	pthread_mutex_unlock(&verified_lock);
	return 0;
}

static int bad(struct iv_cvm *cvm, struct iv_err *err, const char *what)
{
	return iv_fail(err, "cVM '%s': image in '%s': %s", cvm->cfg->name, cvm->cfg->snapshot_path,
		       what);
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

int iv_image_plan(struct iv_cvm *cvm, struct iv_plan *p, int *pages_fd, int *extra, int *nextra,
		  struct iv_err *err)
{
	struct iv_cvm_cfg *cfg = cvm->cfg;
	struct img_hdr h;
	uint8_t *meta = NULL;
	int rc = -1;
	*pages_fd = -1;
	*nextra = 0;
	int img = open_in(cfg->snapshot_path, "image.img", O_RDONLY, err);
	if (img < 0)
		return -1;
	struct stat st;
	if (fstat(img, &st) || pread(img, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		bad(cvm, err, "image.img is truncated (no complete header)");
		goto out;
	}
	if (h.magic != IMG_MAGIC) {
		bad(cvm, err, "image.img is not an Intravisor snapshot (bad magic)");
		goto out;
	}
	if (h.version != IMG_VERSION || h.hdr_size != sizeof(h)) {
		iv_fail(err,
			"cVM '%s': image in '%s' has version %u; this monitor reads version %u",
			cfg->name, cfg->snapshot_path, h.version, IMG_VERSION);
		goto out;
	}
	uint64_t want = h.hdr_hash;
	h.hdr_hash = 0;
	if (hash_more(HASH_SEED, &h, sizeof(h)) != want) {
		bad(cvm, err, "image.img header checksum mismatch (corrupted)");
		goto out;
	}
	if ((uint64_t)st.st_size != sizeof(h) + h.meta_len) {
		bad(cvm, err,
		    (uint64_t)st.st_size < sizeof(h) + h.meta_len ? "image.img is truncated"
								  : "image.img has trailing bytes");
		goto out;
	}
	if (h.nmaps > MAX_MAPS || h.nextents > MAX_EXTENTS || h.nthreads == 0 ||
	    h.nthreads > MAX_THREADS || h.nfds > MAX_FDS || h.ngrants > IV_MAX_GRANTS ||
	    h.saver >= h.nthreads || h.meta_len > (256u << 20)) {
		bad(cvm, err, "image.img has impossible counts");
		goto out;
	}
	meta = malloc(h.meta_len ? h.meta_len : 1);
	if (!meta || pread(img, meta, h.meta_len, sizeof(h)) != (ssize_t)h.meta_len) {
		bad(cvm, err, "image.img cannot be read");
		goto out;
	}
	if (hash_more(HASH_SEED, meta, h.meta_len) != h.meta_hash) {
		bad(cvm, err, "image.img checksum mismatch (corrupted)");
		goto out;
	}
	/* The runtime it came from. */
	uint64_t rlen, rhash;
	int rt = open(cfg->runtime, O_RDONLY | O_CLOEXEC);
	int rr = rt >= 0 ? hash_file(rt, &rlen, &rhash) : -1;
	if (rt >= 0)
		close(rt);
	if (rr || rlen != h.runtime_len || rhash != h.runtime_hash) {
		iv_fail(err, "cVM '%s': image in '%s' was made from another runtime than '%s'",
			cfg->name, cfg->snapshot_path, cfg->runtime);
		goto out;
	}
	if (cfg->has_isolation && (cfg->begin != h.begin || cfg->end != h.end)) {
		iv_fail(err, "cVM '%s': image in '%s' is for the range [0x%llx, 0x%llx)", cfg->name,
			cfg->snapshot_path, (unsigned long long)h.begin, (unsigned long long)h.end);
		goto out;
	}
	/* The pages. */
	*pages_fd = open_in(cfg->snapshot_path, "pages.img", O_RDONLY, err);
	if (*pages_fd < 0)
		goto out;
	uint64_t plen, phash;
	if (pages_hash(*pages_fd, &plen, &phash) || plen != h.pages_len) {
		bad(cvm, err,
		    plen < h.pages_len ? "pages.img is truncated" : "pages.img has the wrong size");
		goto out;
	}
	if (phash != h.pages_hash) {
		bad(cvm, err, "pages.img checksum mismatch (corrupted)");
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
	int ok = 1;
	for (uint32_t i = 0; ok && i < h.nmaps; i++) {
		const struct img_map *m = &maps[i];
		ok = m->start < m->end && !((m->start | m->end) & (IV_PAGE - 1)) &&
		     m->start >= IV_USER_MIN && m->end <= IV_STUB_BASE && m->prot <= 7;
		ok = ok && !iv_plan_op(p, IV_OP_MAP_ANON, m->start, m->end - m->start, 0, 0);
	}
	for (uint32_t i = 0; ok && i < h.nextents; i++) {
		const struct img_extent *e = &ext[i];
		int inside = 0;
		for (uint32_t k = 0; k < h.nmaps && !inside; k++)
			inside = e->addr >= maps[k].start && e->addr < maps[k].end &&
				 e->len <= maps[k].end - e->addr;
		ok = inside && e->len && !((e->addr | e->len | e->off) & (IV_PAGE - 1)) &&
		     e->off <= h.pages_len && e->len <= h.pages_len - e->off;
		ok = ok && !iv_plan_op(p, IV_OP_MAP_FILE, e->addr, e->len, e->off, 0);
	}
	if (!ok) {
		bad(cvm, err, "image.img has a mapping out of bounds");
		goto out;
	}
	cvm->threads = calloc(h.nthreads, sizeof(*cvm->threads));
	for (uint32_t i = 0; cvm->threads && i < h.nthreads; i++) {
		const struct img_thread *it = take(meta, h.meta_len, &pos, sizeof(*it));
		const uint8_t *xs = it && it->xsize <= XSTATE_MAX
					    ? take(meta, h.meta_len, &pos, (it->xsize + 7) & ~7ULL)
					    : NULL;
		if (!xs) {
			bad(cvm, err, "image.img is truncated (threads)");
			goto out;
		}
		struct iv_thread_state *ts = &cvm->threads[cvm->nthreads++];
		ts->regs = it->regs;
		ts->sigmask = it->sigmask;
		ts->xsize = it->xsize;
		ts->xstate = malloc(it->xsize ? it->xsize : 1);
		if (!ts->xstate) {
			iv_fail(err, "out of memory");
			goto out;
		}
		memcpy(ts->xstate, xs, it->xsize);
	}
	if (!cvm->threads) {
		iv_fail(err, "out of memory");
		goto out;
	}
	cvm->saver = (int)h.saver;
	cvm->fds = calloc(h.nfds ? h.nfds : 1, sizeof(*cvm->fds));
	cvm->fd_paths = calloc(h.nfds ? h.nfds : 1, sizeof(*cvm->fd_paths));
	for (uint32_t i = 0; cvm->fds && cvm->fd_paths && i < h.nfds; i++) {
		const struct img_fd *f = take(meta, h.meta_len, &pos, sizeof(*f));
		if (!f || f->fd < 3 || f->fd >= 64 || memchr(f->path, 0, sizeof(f->path)) == NULL ||
		    f->path[0] != '/') {
			bad(cvm, err, "image.img has a bad open file");
			goto out;
		}
		cvm->fds[cvm->nfds] = (struct iv_saved_fd){f->fd, f->flags, f->pos, -1};
		cvm->fd_paths[cvm->nfds++] = strdup(f->path);
	}
	for (uint32_t i = 0; i < h.ngrants; i++) {
		const struct img_grant *g = take(meta, h.meta_len, &pos, sizeof(*g));
		if (!g || !memchr(g->name, 0, sizeof(g->name))) {
			bad(cvm, err, "image.img has a bad cap file grant");
			goto out;
		}
		struct iv_cap *cap = iv_cap_find(g->name);
		if (!cap || cap->size != g->size) {
			iv_fail(err,
				"cVM '%s': image in '%s' needs cap file '%s' of %llu bytes, which "
				"this run %s",
				cfg->name, cfg->snapshot_path, g->name, (unsigned long long)g->size,
				cap ? "has with another size" : "does not have");
			goto out;
		}
		if (g->addr < h.begin || g->addr >= h.end || (g->addr & (IV_PAGE - 1))) {
			bad(cvm, err, "image.img has a cap file outside the range");
			goto out;
		}
		extra[*nextra] = iv_cap_open(cap);
		if (extra[*nextra] < 0 ||
		    iv_plan_op(p, IV_OP_MAP_SHARED, g->addr, IV_ALIGN_UP(g->size),
			       IV_FD_EXTRA + (uint64_t)*nextra, 0) ||
		    iv_plan_op(p, IV_OP_CLOSE, 0, 0, IV_FD_EXTRA + (uint64_t)*nextra, 0)) {
			iv_fail(err, "cVM '%s': cannot map cap file '%s'", cfg->name, g->name);
			goto out;
		}
		cvm->grants[cvm->ngrants].cap = cap;
		cvm->grants[cvm->ngrants].addr = g->addr;
		cvm->ngrants++;
		(*nextra)++;
	}
	if (pos != h.meta_len) {
		bad(cvm, err, "image.img has trailing metadata");
		goto out;
	}

	/* The saving thread comes back from host_save as a restored cVM. */
	const struct iv_thread_state *saver = &cvm->threads[h.saver];
	struct user_regs_struct r = saver->regs;
	r.rax = IV_SAVE_RESTORED;
	uint64_t at;
	size_t flen;
	uint8_t *frame = iv_frame_build(&r, saver, &at, &flen);
	int frc = frame ? iv_plan_copy(p, at, frame, flen) : -1;
	free(frame);
	if (frc) {
		bad(cvm, err, "the saved thread state is unusable");
		goto out;
	}
	for (uint32_t i = 0; i < h.nmaps; i++)
		if (iv_plan_op(p, IV_OP_PROTECT, maps[i].start, maps[i].end - maps[i].start, 0,
			       maps[i].prot)) {
			iv_fail(err, "out of memory");
			goto out;
		}
	p->hdr.entry_kind = IV_PLAN_ENTRY_SIGRETURN;
	p->hdr.sp = at + 8;
	p->hdr.fsbase = saver->regs.fs_base;
	p->hdr.gsbase = saver->regs.gs_base;
	cvm->image_lo = h.image_lo, cvm->image_hi = h.image_hi;
	cvm->stack_lo = h.stack_lo, cvm->stack_hi = h.stack_hi;
	cvm->cap_next = h.cap_next;
	iv_vlog("cVM '%s': restoring from %s: %u mappings (%u extents, %llu KiB of pages), %u "
		"thread(s)",
		cfg->name, cfg->snapshot_path, h.nmaps, h.nextents,
		(unsigned long long)(h.pages_len >> 10), h.nthreads);
	rc = 0;
out:
	if (rc) {
		if (*pages_fd >= 0)
			close(*pages_fd);
		*pages_fd = -1;
		for (int i = 0; i < *nextra; i++)
			close(extra[i]);
		*nextra = 0;
	}
	close(img);
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
	return ioctl(c->cvm->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a) < 0 ? -errno : 0;
}

long iv_image_announced(struct iv_call *c)
{
	struct iv_cvm *cvm = c->cvm;
	cvm->announced = 1;
	/* The files it had open, from its root, at their offsets.  The paths
	 * come from the image: they are resolved inside the cVM's root, never
	 * across a mount point (the cell sees none of the disk's submounts), and
	 * a file is given only if the cell's uid could open it itself. */
	int root = open(cvm->cfg->disk ? cvm->cfg->disk : "/nonexistent",
			O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (int i = 0; root >= 0 && i < cvm->nfds; i++) {
		int keep = O_ACCMODE | O_APPEND | O_NONBLOCK | O_DSYNC | O_SYNC | O_NOATIME |
			   O_DIRECTORY;
		struct open_how how = {
			.flags = (uint64_t)((cvm->fds[i].flags & keep) | O_CLOEXEC | O_NOFOLLOW),
			.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV};
		int fd = (int)syscall(SYS_openat2, root, cvm->fd_paths[i], &how, sizeof(how));
		struct stat st;
		int acc = cvm->fds[i].flags & O_ACCMODE;
		int allowed = fd >= 0 && fstat(fd, &st) == 0 &&
			      (acc == O_WRONLY || (st.st_mode & S_IROTH)) &&
			      (acc == O_RDONLY || (st.st_mode & S_IWOTH));
		if (!allowed) {
			iv_log("cVM '%s': file '%s' of its image cannot be reopened: %s",
			       cvm->cfg->name, cvm->fd_paths[i],
			       fd < 0 ? strerror(errno) : "not accessible to the cell");
			if (fd >= 0)
				close(fd);
			continue;
		}
		if (lseek(fd, cvm->fds[i].pos, SEEK_SET) == cvm->fds[i].pos)
			give_fd(c, fd, cvm->fds[i].fd);
		close(fd);
	}
	if (root >= 0)
		close(root);
	cvm->t_restored_ns = iv_now_ns();
	return cvm->nthreads - 1;
}
