/*
 * Cap files: named shared memory objects (sealed memfds).  A cVM gets one
 * only by probing its key (or advertising it): the monitor then installs a
 * descriptor of its own for that object into the cell and reserves the
 * address inside [begin, end) where the SDK maps it, so that cVMs sharing a
 * cap file see each other's writes with no copy.  The same objects can be
 * read and written through the /cap/KEY file hostcalls.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capfile.h"

#define MAX_CAPS    4096
#define KEY_MAX	    64
#define IO_MAX	    (1 << 20) /* per call: a server is never busy for long */
#define MAX_HANDLES 16

/* A cVM's cap files: open /cap/KEY handles and grants (under cvm->lock). */
struct handle {
	struct iv_cap *cap;
	uint64_t offset;
};

struct cap_cvm {
	struct handle handles[MAX_HANDLES];
	struct {
		struct iv_cap *cap;
		uint64_t addr;
	} grants[IV_MAX_GRANTS];
	int ngrants;
	uint64_t next;	    /* the next cap mapping goes just below this */
	uint64_t adv_bytes; /* held by the monitor for cap files it advertised */
};

static struct cap_cvm *of(struct iv_cvm *cvm)
{
	return iv_state(cvm, &iv_feature_capfile);
}

static pthread_mutex_t caps_lock = PTHREAD_MUTEX_INITIALIZER;
static struct iv_cap *caps[MAX_CAPS];
static size_t ncaps;

static struct iv_cap *find_locked(const char *name)
{
	for (size_t i = 0; i < ncaps; i++)
		if (!strcmp(caps[i]->name, name))
			return caps[i];
	return NULL;
}

struct iv_cap *iv_cap_find(const char *name)
{
	pthread_mutex_lock(&caps_lock);
	struct iv_cap *c = find_locked(name);
	pthread_mutex_unlock(&caps_lock);
	return c;
}

/* A sealed memfd of size bytes, data at its start; not yet findable. */
static struct iv_cap *cap_new(const char *name, uint64_t size, const void *data, size_t len,
			      int owner, struct iv_err *err)
{
	struct iv_cap *c = calloc(1, sizeof(*c));
	if (!c || strlen(name) >= sizeof(c->name)) {
		free(c);
		iv_fail(err, "cap file '%s': bad name or out of memory", name);
		return NULL;
	}
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->size = size;
	c->owner = owner;
	c->memfd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (c->memfd < 0 || ftruncate(c->memfd, (off_t)size) ||
	    (len && pwrite(c->memfd, data, len, 0) != (ssize_t)len) ||
	    fcntl(c->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) {
		iv_fail(err, "cap file '%s': cannot create %llu bytes: %s", name,
			(unsigned long long)size, strerror(errno));
		if (c->memfd >= 0)
			close(c->memfd);
		free(c);
		return NULL;
	}
	return c;
}

static void cap_free(struct iv_cap *c)
{
	close(c->memfd);
	free(c);
}

/* Makes c findable by its name: 0, -EEXIST or -ENOSPC. */
static int cap_register(struct iv_cap *c)
{
	int r = 0;
	pthread_mutex_lock(&caps_lock);
	if (find_locked(c->name))
		r = -EEXIST;
	else if (ncaps == MAX_CAPS)
		r = -ENOSPC;
	else
		caps[ncaps++] = c;
	pthread_mutex_unlock(&caps_lock);
	return r;
}

struct iv_cap *iv_cap_create(const char *name, uint64_t size, const void *data, size_t len,
			     int owner, struct iv_err *err)
{
	struct iv_cap *c = cap_new(name, size, data, len, owner, err);
	if (!c)
		return NULL;
	int r = cap_register(c);
	if (r) {
		iv_fail(err, "cap file '%s': %s", name,
			r == -EEXIST ? "exists" : "too many cap files");
		cap_free(c);
		return NULL;
	}
	return c;
}

static void register_hostcalls(void);

/* The config's cap files exist before any cVM. */
static int start(struct iv_run *run, struct iv_err *err)
{
	struct iv_config *cfg = run->cfg;
	register_hostcalls();
	for (size_t i = 0; i < cfg->ncapfiles; i++) {
		struct iv_capfile_cfg *cf = &cfg->capfiles[i];
		struct iv_cap *c =
			iv_cap_create(cf->name, cf->size, cf->data, cf->data_len, -1, err);
		if (!c)
			return -1;
		iv_vlog("CAP[%zu] %s %llu bytes", i, c->name, (unsigned long long)c->size);
	}
	return 0;
}

static void stop(struct iv_run *run)
{
	(void)run;
	pthread_mutex_lock(&caps_lock);
	for (size_t i = 0; i < ncaps; i++)
		cap_free(caps[i]);
	ncaps = 0;
	pthread_mutex_unlock(&caps_lock);
}

/* A fresh open file description of the object, so no two grants share an offset. */
int iv_cap_open(struct iv_cap *c)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", c->memfd);
	return open(path, O_RDWR | O_CLOEXEC);
}

/* Where the cap is (or will be) mapped in this cVM; 0 when there is no room. */
static uint64_t grant(struct iv_cvm *cvm, struct iv_cap *cap, uint64_t at)
{
	struct cap_cvm *cc = of(cvm);
	uint64_t addr = 0;
	pthread_mutex_lock(&cvm->lock);
	for (int i = 0; i < cc->ngrants; i++)
		if (cc->grants[i].cap == cap) {
			addr = cc->grants[i].addr;
			goto out;
		}
	if (cc->ngrants == IV_MAX_GRANTS)
		goto out;
	if (!at) {
		uint64_t len = IV_ALIGN_UP(cap->size);
		if (!cc->next)
			cc->next = cvm->stack_lo - IV_PAGE;
		if (cc->next - cvm->image_hi < len + IV_PAGE)
			goto out;
		at = cc->next - len;
		cc->next = at - IV_PAGE; /* a guard page between grants */
	}
	cc->grants[cc->ngrants].cap = cap;
	cc->grants[cc->ngrants].addr = at;
	cc->ngrants++;
	addr = at;
out:
	pthread_mutex_unlock(&cvm->lock);
	return addr;
}

int iv_cap_grant(struct iv_cvm *cvm, int i, struct iv_cap **cap, uint64_t *addr)
{
	struct cap_cvm *cc = of(cvm);
	int rc = -1;
	pthread_mutex_lock(&cvm->lock);
	if (i >= 0 && i < cc->ngrants) {
		*cap = cc->grants[i].cap;
		*addr = cc->grants[i].addr;
		rc = 0;
	}
	pthread_mutex_unlock(&cvm->lock);
	return rc;
}

int iv_cap_grant_at(struct iv_cvm *cvm, struct iv_cap *cap, uint64_t addr)
{
	return grant(cvm, cap, addr) == addr ? 0 : -1;
}

int iv_cap_granted_at(struct iv_cvm *cvm, uint64_t addr)
{
	struct iv_cap *cap;
	uint64_t at;
	for (int i = 0; iv_cap_grant(cvm, i, &cap, &at) == 0; i++)
		if (at == addr)
			return 1;
	return 0;
}

uint64_t iv_cap_next(struct iv_cvm *cvm)
{
	pthread_mutex_lock(&cvm->lock);
	uint64_t next = of(cvm)->next ? of(cvm)->next : cvm->stack_lo - IV_PAGE;
	pthread_mutex_unlock(&cvm->lock);
	return next;
}

void iv_cap_set_next(struct iv_cvm *cvm, uint64_t next)
{
	pthread_mutex_lock(&cvm->lock);
	of(cvm)->next = next;
	pthread_mutex_unlock(&cvm->lock);
}

void iv_cap_inherit(struct iv_cvm *fork, struct iv_cvm *tpl)
{
	struct cap_cvm *f = of(fork), *t = of(tpl);
	pthread_mutex_lock(&tpl->lock);
	memcpy(f->grants, t->grants, sizeof(f->grants));
	f->ngrants = t->ngrants;
	f->next = t->next;
	pthread_mutex_unlock(&tpl->lock);
}

void iv_cap_reset(struct iv_cvm *fork, struct iv_cvm *tpl)
{
	pthread_mutex_lock(&fork->lock);
	memset(of(fork)->handles, 0, sizeof(of(fork)->handles));
	pthread_mutex_unlock(&fork->lock);
	iv_cap_inherit(fork, tpl);
}

static long install(struct iv_call *c, struct iv_cap *cap)
{
	int fd = iv_cap_open(cap);
	if (fd < 0)
		return -errno;
	long r = iv_call_install_fd(c, fd);
	close(fd);
	return r;
}

/* CF_PRB(key, &location, &size): grants the cap; returns a descriptor for it
 * in the cell, with *location the address reserved for its mapping. */
static long hc_cf_prb(struct iv_call *c)
{
	char key[KEY_MAX];
	int r = iv_cvm_read_str(c->cvm, c->a[0], key, sizeof(key));
	if (r)
		return r;
	struct iv_cap *cap = iv_cap_find(key);
	if (!cap)
		return -ENOENT;
	uint64_t addr = grant(c->cvm, cap, 0);
	if (!addr)
		return -ENOMEM;
	uint64_t size = cap->size;
	if ((r = iv_cvm_write(c->cvm, c->a[1], &addr, 8)) ||
	    (r = iv_cvm_write(c->cvm, c->a[2], &size, 8)))
		return r;
	iv_vlog("cVM '%s': probe '%s' -> %llu bytes at 0x%llx", c->cvm->cfg->name, key,
		(unsigned long long)size, (unsigned long long)addr);
	return install(c, cap);
}

/* CF_ADV(ptr, size, key): the cVM's pages at ptr become cap file key; their
 * contents are kept and the SDK maps the shared object over them.  What a
 * cVM advertises is memory the monitor holds for it, so it counts against
 * the cVM's own size. */
static long hc_cf_adv(struct iv_call *c)
{
	struct iv_cvm *cvm = c->cvm;
	uint64_t ptr = c->a[0], size = c->a[1];
	char key[KEY_MAX];
	int r = iv_cvm_read_str(cvm, c->a[2], key, sizeof(key));
	if (r)
		return r;
	if (!key[0] || (ptr & (IV_PAGE - 1)) || size == 0 || size > (1ULL << 32))
		return -EINVAL;
	if (ptr < cvm->cfg->begin || ptr > cvm->cfg->end || IV_ALIGN_UP(size) > cvm->cfg->end - ptr)
		return -EFAULT;
	struct cap_cvm *cc = of(cvm);
	pthread_mutex_lock(&cvm->lock);
	int full =
		cc->ngrants == IV_MAX_GRANTS || cc->adv_bytes + IV_ALIGN_UP(size) > cvm->cfg->size;
	if (!full)
		cc->adv_bytes += IV_ALIGN_UP(size);
	pthread_mutex_unlock(&cvm->lock);
	if (full)
		return -ENOSPC;

	struct iv_err err;
	struct iv_cap *cap = cap_new(key, size, NULL, 0, cvm->id, &err);
	long ret = cap ? 0 : -ENOMEM;
	char buf[4096];
	for (uint64_t off = 0; ret == 0 && off < size; off += sizeof(buf)) {
		size_t n = size - off < sizeof(buf) ? (size_t)(size - off) : sizeof(buf);
		if ((r = iv_cvm_read(cvm, ptr + off, buf, n)))
			ret = r;
		else if (pwrite(cap->memfd, buf, n, (off_t)off) != (ssize_t)n)
			ret = -EIO;
	}
	if (ret == 0)
		ret = cap_register(cap);
	if (ret) {
		if (cap)
			cap_free(cap);
		pthread_mutex_lock(&cvm->lock);
		cc->adv_bytes -= IV_ALIGN_UP(size);
		pthread_mutex_unlock(&cvm->lock);
		return ret;
	}
	grant(cvm, cap, ptr);
	iv_vlog("cVM '%s': advertise '%s' %llu bytes at 0x%llx", cvm->cfg->name, key,
		(unsigned long long)size, (unsigned long long)ptr);
	return install(c, cap);
}

/* ---- /cap/KEY as files, through hostcalls ---- */

static struct handle *handle(struct iv_cvm *cvm, uint64_t h)
{
	struct cap_cvm *cc = of(cvm);
	return h < MAX_HANDLES && cc->handles[h].cap ? &cc->handles[h] : NULL;
}

static long hc_open(struct iv_call *c)
{
	char path[KEY_MAX + 8];
	int r = iv_cvm_read_str(c->cvm, c->a[0], path, sizeof(path));
	if (r)
		return r;
	if (strncmp(path, "/cap/", 5))
		return -ENOENT;
	struct iv_cap *cap = iv_cap_find(path + 5);
	if (!cap)
		return -ENOENT;
	struct iv_cvm *cvm = c->cvm;
	struct cap_cvm *cc = of(cvm);
	pthread_mutex_lock(&cvm->lock);
	long h = -EMFILE;
	for (int i = 0; i < MAX_HANDLES; i++)
		if (!cc->handles[i].cap) {
			cc->handles[i] = (struct handle){cap, 0};
			h = i;
			break;
		}
	pthread_mutex_unlock(&cvm->lock);
	return h;
}

static long rw(struct iv_call *c, int write)
{
	struct iv_cvm *cvm = c->cvm;
	pthread_mutex_lock(&cvm->lock);
	struct handle *h = handle(cvm, c->a[0]);
	struct iv_cap *cap = h ? h->cap : NULL;
	uint64_t off = h ? h->offset : 0;
	pthread_mutex_unlock(&cvm->lock);
	if (!cap)
		return -EBADF;
	uint64_t len = c->a[2] < IO_MAX ? c->a[2] : IO_MAX; /* short, as POSIX allows */
	if (off >= cap->size)
		return 0;
	if (len > cap->size - off)
		len = cap->size - off;
	char buf[4096];
	uint64_t done = 0;
	while (done < len) {
		size_t n = len - done < sizeof(buf) ? (size_t)(len - done) : sizeof(buf);
		int r;
		if (write) {
			if ((r = iv_cvm_read(cvm, c->a[1] + done, buf, n)))
				return done ? (long)done : r;
			if (pwrite(cap->memfd, buf, n, (off_t)(off + done)) != (ssize_t)n)
				return -EIO;
		} else {
			if (pread(cap->memfd, buf, n, (off_t)(off + done)) != (ssize_t)n)
				return -EIO;
			if ((r = iv_cvm_write(cvm, c->a[1] + done, buf, n)))
				return done ? (long)done : r;
		}
		done += n;
	}
	pthread_mutex_lock(&cvm->lock);
	if ((h = handle(cvm, c->a[0])) && h->cap == cap)
		h->offset = off + done;
	pthread_mutex_unlock(&cvm->lock);
	return (long)done;
}

static long hc_read(struct iv_call *c)
{
	return rw(c, 0);
}

static long hc_write(struct iv_call *c)
{
	return rw(c, 1);
}

static long hc_lseek(struct iv_call *c)
{
	struct iv_cvm *cvm = c->cvm;
	long r;
	int64_t off = (int64_t)c->a[1];
	pthread_mutex_lock(&cvm->lock);
	struct handle *h = handle(cvm, c->a[0]);
	if (!h) {
		r = -EBADF;
	} else {
		int64_t base = c->a[2] == SEEK_SET   ? 0
			       : c->a[2] == SEEK_CUR ? (int64_t)h->offset
			       : c->a[2] == SEEK_END ? (int64_t)h->cap->size
						     : -1;
		if (base < 0 && c->a[2] != SEEK_SET)
			r = -EINVAL;
		else if ((off > 0 && base > INT64_MAX - off) || base + off < 0)
			r = -EINVAL;
		else
			r = (long)(h->offset = (uint64_t)(base + off));
	}
	pthread_mutex_unlock(&cvm->lock);
	return r;
}

static long hc_close(struct iv_call *c)
{
	struct iv_cvm *cvm = c->cvm;
	pthread_mutex_lock(&cvm->lock);
	struct handle *h = handle(cvm, c->a[0]);
	if (h)
		h->cap = NULL;
	pthread_mutex_unlock(&cvm->lock);
	return h ? 0 : -EBADF;
}

static void register_hostcalls(void)
{
	iv_hostcall_register(HC_CF_ADV, "cap_file_adv", hc_cf_adv);
	iv_hostcall_register(HC_CF_PRB, "cap_file_prb", hc_cf_prb);
	iv_hostcall_register(HC_OPEN, "open", hc_open);
	iv_hostcall_register(HC_READ, "read", hc_read);
	iv_hostcall_register(HC_WRITE_FILE, "write_file", hc_write);
	iv_hostcall_register(HC_LSEEK, "lseek", hc_lseek);
	iv_hostcall_register(HC_CLOSE, "close", hc_close);
}

struct iv_feature iv_feature_capfile = {
	.name = "cap files",
	.cvm_size = sizeof(struct cap_cvm),
	.start = start,
	.stop = stop,
};
