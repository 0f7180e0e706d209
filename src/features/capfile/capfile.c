/*
 * Cap files: named shared memory objects.  A cVM gets one only by probing
 * its key (or advertising it): the monitor then installs a descriptor of
 * its own for that object into the cell and reserves the address inside
 * [begin, end) where the SDK maps it, so that cVMs sharing a cap file see
 * each other's writes with no copy.  The same objects can be read and
 * written through the /cap/KEY file hostcalls, and a program opens them
 * itself as files under /cap (src/cell/capmount.c).
 *
 * The objects are files of a tmpfs the monitor mounts nowhere (a memfd
 * cannot be bound into a cell's mount namespace): objs/o<N> is each cap
 * file, v<ID>/KEY a link to it for every cVM allowed to use it (access),
 * and a program's cell binds its v<ID> at /cap.  Descriptors that cells
 * get are opened by a thread under a Landlock domain that forbids
 * truncation: no cVM can shrink an object that others have mapped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "access/access.h"
#include "capfile.h"
#include "landlock_compat.h"

#define MAX_CAPS    4096
#define KEY_MAX	    IV_KEY_MAX
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
	int view;	    /* its directory of links (an O_PATH fd + 1; 0: none yet) */
};

static struct cap_cvm *of(struct iv_cvm *cvm)
{
	return iv_state(cvm, &iv_feature_capfile);
}

/* caps_lock guards the list, the store's directories and every view. */
static pthread_mutex_t caps_lock = PTHREAD_MUTEX_INITIALIZER;
static struct iv_cap *caps[MAX_CAPS];
static size_t ncaps;
static unsigned next_index;
static int store = -1, objs = -1; /* the tmpfs's root and its objs/ */
static struct iv_run *the_run;

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

/* ---- descriptors for cells, opened where truncation is forbidden ---- */

static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t opener;
static int opener_up, req[2] = {-1, -1}, rep[2] = {-1, -1};

/* Opens /proc/self/fd/N for each N asked, as a thread whose Landlock
 * domain handles truncation and grants it nowhere: a file description
 * opened here can never be truncated, whoever holds it. */
static void *opener_main(void *arg)
{
	(void)arg;
	struct landlock_ruleset_attr attr = {.handled_access_fs = LANDLOCK_ACCESS_FS_TRUNCATE};
	int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	int32_t ok = rs >= 0 && syscall(SYS_landlock_restrict_self, rs, 0) == 0;
	if (rs >= 0)
		close(rs);
	if (write(rep[1], &ok, sizeof(ok)) != sizeof(ok) || !ok)
		return NULL;
	int32_t src, out[2];
	while (read(req[0], &src, sizeof(src)) == sizeof(src) && src >= 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", src);
		out[0] = open(path, O_RDWR | O_CLOEXEC);
		out[1] = errno;
		if (write(rep[1], out, sizeof(out)) != sizeof(out))
			break;
	}
	return NULL;
}

static void opener_start(void)
{
	int32_t ok = 0;
	if (pipe2(req, O_CLOEXEC) || pipe2(rep, O_CLOEXEC) ||
	    pthread_create(&opener, NULL, opener_main, NULL)) {
		iv_log("cap files: cannot start their opener: %s", strerror(errno));
		return;
	}
	opener_up = 1;
	if (read(rep[0], &ok, sizeof(ok)) != sizeof(ok) || !ok)
		iv_log("cap files: no Landlock in this kernel: a cVM holding a cap file could "
		       "shrink it under the others");
	else
		opener_up = 2;
}

static void opener_stop(void)
{
	int32_t end = -1;
	if (opener_up == 2 && write(req[1], &end, sizeof(end)) != sizeof(end))
		iv_log("cap files: cannot stop their opener");
	if (opener_up)
		pthread_join(opener, NULL);
	for (int i = 0; i < 2; i++) {
		if (req[i] >= 0)
			close(req[i]);
		if (rep[i] >= 0)
			close(rep[i]);
		req[i] = rep[i] = -1;
	}
	opener_up = 0;
}

/* A fresh open file description of the object, so no two grants share an offset. */
int iv_cap_open(struct iv_cap *c)
{
	if (opener_up != 2) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", c->fd);
		return open(path, O_RDWR | O_CLOEXEC);
	}
	int32_t src = c->fd, out[2] = {-1, EIO};
	pthread_mutex_lock(&open_lock);
	if (write(req[1], &src, sizeof(src)) != sizeof(src) ||
	    read(rep[0], out, sizeof(out)) != sizeof(out))
		out[0] = -1;
	pthread_mutex_unlock(&open_lock);
	errno = out[1];
	return out[0];
}

/* ---- the store ---- */

static int store_open(struct iv_err *err)
{
	int fs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0 || syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "mode", "0711", 0) ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) ||
	    (store = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
				  MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)) < 0) {
		int e = errno;
		if (fs >= 0)
			close(fs);
		return iv_fail(err, "cap files: cannot make their tmpfs: %s", strerror(e));
	}
	close(fs);
	if (mkdirat(store, "objs", 0700) ||
	    (objs = openat(store, "objs", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return iv_fail(err, "cap files: cannot make their directory: %s", strerror(errno));
	return 0;
}

static void store_close(void)
{
	if (objs >= 0)
		close(objs);
	if (store >= 0)
		close(store);
	objs = store = -1;
}

/* Links cap into cvm's view if cvm may use it (caps_lock held). */
static void view_link(struct iv_cvm *cvm, struct iv_cap *cap)
{
	char obj[32];
	int view = of(cvm)->view - 1;
	if (view < 0 || !iv_access_allowed(cvm, cap->name))
		return;
	snprintf(obj, sizeof(obj), "o%u", cap->index);
	if (linkat(objs, obj, view, cap->name, 0) && errno != EEXIST)
		iv_log("cVM '%s': cannot show cap file '%s' under /cap: %s", cvm->cfg->name,
		       cap->name, strerror(errno));
}

/* cvm's directory of the cap files it may use, made on first use: an fd. */
static int view_of(struct iv_cvm *cvm, struct iv_err *err)
{
	struct cap_cvm *cc = of(cvm);
	char dir[32];
	pthread_mutex_lock(&caps_lock);
	if (!cc->view) {
		snprintf(dir, sizeof(dir), "v%d", cvm->id);
		int fd = -1;
		if (store >= 0 && (mkdirat(store, dir, 0555) == 0 || errno == EEXIST))
			fd = openat(store, dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			cc->view = fd + 1;
			for (size_t i = 0; i < ncaps; i++)
				view_link(cvm, caps[i]);
		}
	}
	int view = cc->view - 1;
	pthread_mutex_unlock(&caps_lock);
	if (view < 0)
		return iv_fail(err, "cVM '%s': cannot make its /cap: %s", cvm->cfg->name,
			       strerror(errno));
	return view;
}

/* A program's cell binds its view at /cap. */
static int cell(struct iv_cvm *cvm, struct iv_cell_spec *spec, struct iv_err *err)
{
	if (!cvm->cfg->program)
		return 0;
	int view = view_of(cvm, err);
	if (view < 0)
		return -1;
	spec->cap_dir = view;
	return 0;
}

/* An object of size bytes, data at its start; not yet findable. */
static struct iv_cap *cap_new(const char *name, uint64_t size, const void *data, size_t len,
			      int owner, struct iv_err *err)
{
	struct iv_cap *c = calloc(1, sizeof(*c));
	if (!c || !iv_key_valid(name)) {
		free(c);
		iv_fail(err,
			"cap file '%s': bad name (it is a file name under /cap) or out of memory",
			name);
		return NULL;
	}
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->size = size;
	c->owner = owner;
	char obj[32];
	pthread_mutex_lock(&caps_lock);
	c->index = next_index++;
	pthread_mutex_unlock(&caps_lock);
	snprintf(obj, sizeof(obj), "o%u", c->index);
	/* 0666: only cells given a link reach it, whatever their uid */
	c->fd = objs < 0 ? -1 : openat(objs, obj, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0666);
	if (c->fd < 0 || fchmod(c->fd, 0666) || ftruncate(c->fd, (off_t)size) ||
	    (len && pwrite(c->fd, data, len, 0) != (ssize_t)len)) {
		iv_fail(err, "cap file '%s': cannot create %llu bytes: %s", name,
			(unsigned long long)size, strerror(errno));
		if (c->fd >= 0) {
			close(c->fd);
			unlinkat(objs, obj, 0);
		}
		free(c);
		return NULL;
	}
	return c;
}

static void cap_free(struct iv_cap *c)
{
	char obj[32];
	snprintf(obj, sizeof(obj), "o%u", c->index);
	close(c->fd);
	if (objs >= 0)
		unlinkat(objs, obj, 0);
	free(c);
}

/* Makes c findable by its name, for the cVMs owner names (owner NULL, or
 * names NULL: any): 0, -EEXIST (a cap file, stream or call has the key),
 * -ENOSPC or -EINVAL (a bad list of names). */
static int cap_register(struct iv_cap *c, struct iv_cvm *owner, const char *names)
{
	int r = 0;
	pthread_mutex_lock(&caps_lock);
	if (ncaps == MAX_CAPS)
		r = -ENOSPC;
	else
		r = iv_key_claim(owner, c->name, names);
	if (r == 0) {
		caps[ncaps++] = c;
		for (size_t i = 0; the_run && i < the_run->ncvms; i++)
			view_link(&the_run->cvms[i], c);
	}
	pthread_mutex_unlock(&caps_lock);
	return r;
}

struct iv_cap *iv_cap_create(const char *name, uint64_t size, const void *data, size_t len,
			     int owner, struct iv_err *err)
{
	struct iv_cap *c = cap_new(name, size, data, len, owner, err);
	if (!c)
		return NULL;
	int r = cap_register(c, NULL, NULL);
	if (r) {
		iv_fail(err, "cap file '%s': %s", name, r == -EEXIST ? "exists" : "too many keys");
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
	the_run = run;
	if (store_open(err))
		return -1;
	opener_start();
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
	opener_stop();
	pthread_mutex_lock(&caps_lock);
	for (size_t i = 0; i < ncaps; i++)
		cap_free(caps[i]);
	ncaps = 0;
	the_run = NULL;
	pthread_mutex_unlock(&caps_lock);
	store_close();
}

static void cvm_free(struct iv_cvm *cvm)
{
	struct cap_cvm *cc = of(cvm);
	if (cc->view)
		close(cc->view - 1);
	cc->view = 0;
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
	if (!cap || iv_access_check(c->cvm, key, "probe cap file"))
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

/* CF_ADV(ptr, size, key, names): the cVM's pages at ptr become cap file
 * key, for the cVMs names lists ("a,b"; 0: any), and for itself; their
 * contents are kept and the SDK maps the shared object over them.  What a
 * cVM advertises is memory the monitor holds for it, so it counts against
 * the cVM's own size. */
static long hc_cf_adv(struct iv_call *c)
{
	struct iv_cvm *cvm = c->cvm;
	uint64_t ptr = c->a[0], size = c->a[1];
	char key[KEY_MAX], names[IV_NAMES_MAX] = "";
	int r = iv_cvm_read_str(cvm, c->a[2], key, sizeof(key));
	if (r || (c->a[3] && (r = iv_cvm_read_str(cvm, c->a[3], names, sizeof(names)))))
		return r;
	if (!iv_key_valid(key) || (ptr & (IV_PAGE - 1)) || size == 0 || size > (1ULL << 32))
		return -EINVAL;
	if (iv_access_check(cvm, key, "advertise cap file"))
		return -EPERM;
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
		else if (pwrite(cap->fd, buf, n, (off_t)off) != (ssize_t)n)
			ret = -EIO;
	}
	if (ret == 0)
		ret = cap_register(cap, cvm, names);
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
	if (!cap || iv_access_check(c->cvm, path + 5, "open cap file"))
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
			if (pwrite(cap->fd, buf, n, (off_t)(off + done)) != (ssize_t)n)
				return -EIO;
		} else {
			if (pread(cap->fd, buf, n, (off_t)(off + done)) != (ssize_t)n)
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
	.cell = cell,
	.stop = stop,
	.free = cvm_free,
};
