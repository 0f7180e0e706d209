/* Building the plan a cell stub executes (see plan.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "iv_cell.h"

static int grow(void **buf, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 16;
	while (n < need)
		n *= 2;
	void *b = realloc(*buf, n * elem);
	if (!b)
		return -1;
	*buf = b;
	*cap = n;
	return 0;
}

int iv_plan_op(struct iv_plan *p, uint32_t kind, uint64_t addr, uint64_t len, uint64_t arg,
	       uint32_t prot)
{
	if (grow((void **)&p->ops, &p->opcap, p->nops + 1, sizeof(*p->ops)))
		return -1;
	p->ops[p->nops++] = (struct iv_plan_op){kind, prot, addr, len, arg};
	return 0;
}

int iv_plan_copy(struct iv_plan *p, uint64_t addr, const void *data, size_t len)
{
	size_t off = (p->dlen + 7) & ~7UL;
	if (grow((void **)&p->data, &p->dcap, off + len, 1))
		return -1;
	memcpy(p->data + off, data, len);
	p->dlen = off + len;
	return iv_plan_op(p, IV_OP_COPY, addr, len, off, 0);
}

int iv_plan_sigaction(struct iv_plan *p, int sig, const void *act, size_t len)
{
	size_t off = (p->dlen + 7) & ~7UL;
	if (grow((void **)&p->data, &p->dcap, off + len, 1))
		return -1;
	memcpy(p->data + off, act, len);
	p->dlen = off + len;
	return iv_plan_op(p, IV_OP_SIGACTION, 0, len, off, (uint32_t)sig);
}

int iv_plan_exec(struct iv_plan *p, const char *path, char *const *argv, char *const *envp)
{
	size_t off = (p->dlen + 7) & ~7UL, len = strlen(path) + 1;
	uint64_t argc = 0, envc = 0;
	for (; argv[argc]; argc++)
		len += strlen(argv[argc]) + 1;
	for (; envp[envc]; envc++)
		len += strlen(envp[envc]) + 1;
	if (argc + envc + 2 > IV_PLAN_MAX_VEC || grow((void **)&p->data, &p->dcap, off + len, 1))
		return -1;
	char *d = (char *)p->data + off;
	d = stpcpy(d, path) + 1;
	for (uint64_t i = 0; i < argc; i++)
		d = stpcpy(d, argv[i]) + 1;
	for (uint64_t i = 0; i < envc; i++)
		d = stpcpy(d, envp[i]) + 1;
	p->dlen = off + len;
	p->hdr.entry_kind = IV_PLAN_ENTRY_EXEC;
	p->hdr.exec_off = off;
	p->hdr.exec_len = len;
	p->hdr.exec_argc = argc;
	p->hdr.exec_envc = envc;
	return 0;
}

int iv_plan_finish(struct iv_plan *p, struct iv_err *err)
{
	struct iv_plan_hdr *h = &p->hdr;
	size_t ops_bytes = p->nops * sizeof(*p->ops);
	size_t filter_bytes = p->filter_len * 8;
	h->magic = IV_PLAN_MAGIC;
	h->version = IV_PLAN_VERSION;
	h->ops_off = sizeof(*h);
	h->nops = p->nops;
	h->filter_off = h->ops_off + ops_bytes;
	h->filter_len = p->filter_len;
	uint64_t data_off = (h->filter_off + filter_bytes + 7) & ~7UL;
	h->total = data_off + p->dlen;

	int fd = memfd_create("iv-plan", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return iv_fail(err, "plan: memfd_create: %s", strerror(errno));
	char *m = NULL;
	if (ftruncate(fd, (off_t)h->total) ||
	    (m = mmap(NULL, h->total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
		close(fd);
		return iv_fail(err, "plan: cannot size %llu bytes: %s",
			       (unsigned long long)h->total, strerror(errno));
	}
	/* Offsets into the data are made the blob's here, in the copy only: a
	 * plan may be finished again (a parked cell that died: a new one). */
	struct iv_plan_hdr *mh = (struct iv_plan_hdr *)m;
	memcpy(mh, h, sizeof(*h));
	if (h->entry_kind == IV_PLAN_ENTRY_EXEC)
		mh->exec_off += data_off;
	if (ops_bytes) /* (a program's plan has none: p->ops is NULL) */
		memcpy(m + h->ops_off, p->ops, ops_bytes);
	struct iv_plan_op *mops = (struct iv_plan_op *)(m + h->ops_off);
	for (size_t i = 0; i < p->nops; i++)
		if (mops[i].kind == IV_OP_COPY || mops[i].kind == IV_OP_SIGACTION)
			mops[i].arg += data_off;
	memcpy(m + h->filter_off, p->filter, filter_bytes);
	if (p->dlen)
		memcpy(m + data_off, p->data, p->dlen);
	munmap(m, h->total);
	fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
	return fd;
}

void iv_plan_free(struct iv_plan *p)
{
	free(p->ops);
	free(p->data);
	free(p->filter);
	memset(p, 0, sizeof(*p));
}
