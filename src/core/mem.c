/*
 * The one checked way to reach cVM memory.  A pointer from a cVM is a
 * number until it is proved to lie inside the cVM's [begin, end); then it
 * is copied once with process_vm_readv/writev, which also honours the
 * cell's own page protections, so a hostcall cannot write where the cVM
 * itself could not.  A program's [begin, end) is all of user space: every
 * mapping of its processes is its own (docs/ARCHITECTURE.md "A program's
 * address space").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

#include "iv.h"

/* The process of which cVM this thread is serving a call. */
static __thread struct {
	struct iv_cvm *cvm;
	pid_t pid;
} calling;

void iv_cvm_caller(struct iv_cvm *cvm, pid_t pid)
{
	calling.cvm = pid ? cvm : NULL;
	calling.pid = pid;
}

static pid_t pid_of(struct iv_cvm *cvm)
{
	return calling.cvm == cvm ? calling.pid : cvm->cell.pid;
}

static int in_range(struct iv_cvm *cvm, uint64_t addr, size_t len)
{
	uint64_t b = cvm->cfg->begin, e = cvm->cfg->end;
	return addr >= b && addr <= e && len <= e - addr;
}

int iv_cvm_read(struct iv_cvm *cvm, uint64_t addr, void *dst, size_t len)
{
	if (len == 0)
		return 0;
	if (!in_range(cvm, addr, len))
		return -EFAULT;
	struct iovec local = {dst, len}, remote = {(void *)(uintptr_t)addr, len};
	ssize_t n = process_vm_readv(pid_of(cvm), &local, 1, &remote, 1, 0);
	return n == (ssize_t)len ? 0 : -EFAULT;
}

int iv_cvm_write(struct iv_cvm *cvm, uint64_t addr, const void *src, size_t len)
{
	if (len == 0)
		return 0;
	if (!in_range(cvm, addr, len))
		return -EFAULT;
	struct iovec local = {(void *)src, len}, remote = {(void *)(uintptr_t)addr, len};
	ssize_t n = process_vm_writev(pid_of(cvm), &local, 1, &remote, 1, 0);
	return n == (ssize_t)len ? 0 : -EFAULT;
}

int iv_cvm_read_str(struct iv_cvm *cvm, uint64_t addr, char *dst, size_t max)
{
	size_t got = 0;
	while (got < max) {
		/* Never read across a page the string may not reach. */
		size_t chunk = IV_PAGE - ((addr + got) & (IV_PAGE - 1));
		if (chunk > max - got)
			chunk = max - got;
		int r = iv_cvm_read(cvm, addr + got, dst + got, chunk);
		if (r)
			return r;
		for (size_t i = got; i < got + chunk; i++)
			if (dst[i] == 0)
				return 0;
		got += chunk;
	}
	dst[max - 1] = 0;
	return -ENAMETOOLONG;
}

int iv_call_install_fd(struct iv_call *c, int fd)
{
	struct seccomp_notif_addfd a = {
		.id = c->id, .flags = 0, .srcfd = (uint32_t)fd, .newfd = 0, .newfd_flags = 0};
	int r = ioctl(c->cvm->leader->cell.listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a);
	return r < 0 ? -errno : r;
}
