/*
 * A cell's memory as the monitor captures it: its mappings (from /proc)
 * and the pages of each that are not all zero.  Two users: a snapshot
 * image (pages.img, written compactly) and a template whose forks map its
 * memory from an in-memory image (a memfd laid out mapping by mapping).
 * Which mappings are the cVM's and which the kernel's or the stub's is
 * decided here once for both.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "iv_cell.h"

/* The kernel's own mappings, which every process has anew: the vDSO and
 * its data, the vsyscall page, the uprobes page.  [stack] is a cell's
 * start-up stack (the stub's), or a program's main thread's. */
static int kernel_special(const char *name)
{
	static const char *const names[] = {"[vdso]", "[vvar]", "[vvar_vclock]", "[vsyscall]",
					    "[uprobes]"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(name, names[i]))
			return 1;
	return 0;
}

/* Where the kernel started pid's brk heap (/proc/PID/stat field 47): just
 * above the stub's image (its text, data and bss), randomised. */
int iv_mem_start_brk(pid_t pid, uint64_t *out)
{
	char path[64], buf[2048];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *p = strrchr(buf, ')'); /* the command name may hold anything */
	for (int field = 3; p; field++) {
		p++;
		while (*p == ' ')
			p++;
		if (field == 47) {
			char *end;
			*out = strtoull(p, &end, 10);
			return end == p ? -1 : 0;
		}
		p = strchr(p, ' ');
	}
	return -1;
}

static int grow(struct iv_mem_map **m, size_t n, size_t *cap)
{
	if (n < *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : 64;
	struct iv_mem_map *nm = realloc(*m, c * sizeof(**m));
	if (!nm)
		return -1;
	*m = nm;
	*cap = c;
	return 0;
}

/*
 * An inaccessible reservation of up to IV_MEM_BRK_GUARD just above the brk
 * heap (heap_end), where nothing is mapped: a restored cell's brk starts
 * elsewhere while a libc remembers the template's, and growing from there
 * must fail (the libc then falls back to mmap) rather than leave a hole.
 */
static int add_guard(struct iv_mem_map **m, size_t *n, size_t *cap, uint64_t heap_end)
{
	size_t at = 0;
	while (at < *n && (*m)[at].start < heap_end)
		at++;
	uint64_t guard_end = heap_end + IV_MEM_BRK_GUARD;
	if (at < *n && (*m)[at].start < guard_end)
		guard_end = (*m)[at].start;
	if ((at && (*m)[at - 1].end > heap_end) || guard_end <= heap_end)
		return 0;
	if (grow(m, *n, cap))
		return -1;
	memmove(&(*m)[at + 1], &(*m)[at], (*n - at) * sizeof(**m));
	(*m)[at] = (struct iv_mem_map){heap_end, guard_end, 0, IV_MEM_GUARD};
	(*n)++;
	return 0;
}

int iv_mem_maps(pid_t pid, unsigned flags, struct iv_mem_map **out, size_t *nout,
		struct iv_err *err)
{
	char path[64], line[512];
	uint64_t stub_end;
	if (iv_mem_start_brk(pid, &stub_end))
		return iv_fail(err, "cannot read /proc/%d/stat", pid);
	/* smaps only when asked which mappings have anonymous pages: it walks
	 * every page table */
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, flags & IV_MEMF_ANON ? "smaps" : "maps");
	FILE *mf = fopen(path, "re");
	if (!mf)
		return iv_fail(err, "cannot read %s: %s", path, strerror(errno));
	struct iv_mem_map *m = NULL, *cur = NULL;
	size_t n = 0, cap = 0;
	uint64_t heap_end = IV_ALIGN_UP(stub_end);
	int rc = 0;
	while (rc == 0 && fgets(line, sizeof(line), mf)) {
		unsigned long long start, end, kb;
		char perms[8], name[256] = "";
		if (cur && sscanf(line, "Anonymous: %llu kB", &kb) == 1) {
			if (kb == 0)
				cur->kind |= IV_MEM_CLEAN;
			continue;
		}
		if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %255s", &start, &end, perms, name) <
			    3 ||
		    !strchr(line, '-'))
			continue;
		cur = NULL;
		int stack = !strcmp(name, "[stack]");
		int stub = start >= IV_STUB_BASE && start < stub_end;
		if (start >= IV_USER_TOP || kernel_special(name) ||
		    (stack && !(flags & IV_MEMF_STACK)) || (stub && !(flags & IV_MEMF_STUB)))
			continue;
		if (grow(&m, n, &cap)) {
			rc = iv_fail(err, "out of memory");
			break;
		}
		cur = &m[n++];
		*cur = (struct iv_mem_map){start, end, 0, 0};
		cur->prot = (perms[0] == 'r' ? 1 : 0) | (perms[1] == 'w' ? 2 : 0) |
			    (perms[2] == 'x' ? 4 : 0);
		cur->kind = (perms[3] == 's' ? IV_MEM_SHARED : 0) |
			    (!strcmp(name, "[heap]") ? IV_MEM_HEAP : 0) |
			    (stack ? IV_MEM_STACK : 0) | (stub ? IV_MEM_STUB : 0);
		if ((cur->kind & IV_MEM_HEAP) && end > heap_end)
			heap_end = end;
		if (start < IV_USER_MIN)
			rc = iv_fail(err, "a mapping at 0x%llx, below user space", start);
	}
	fclose(mf);
	if (rc == 0 && (flags & IV_MEMF_GUARD) && add_guard(&m, &n, &cap, heap_end))
		rc = iv_fail(err, "out of memory");
	if (rc) {
		free(m);
		return -1;
	}
	*out = m;
	*nout = n;
	return 0;
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

int iv_mem_scan(pid_t pid, uint64_t start, uint64_t end, uint8_t *buf, iv_mem_run_fn fn, void *ctx,
		struct iv_err *err)
{
	for (uint64_t a = start; a < end;) {
		size_t n = end - a < IV_MEM_CHUNK ? (size_t)(end - a) : IV_MEM_CHUNK;
		struct iovec l = {buf, n}, r = {(void *)(uintptr_t)a, n};
		if (process_vm_readv(pid, &l, 1, &r, 1, 0) != (ssize_t)n)
			return iv_fail(err, "cannot read the cell's memory at 0x%llx: %s",
				       (unsigned long long)a, strerror(errno));
		for (size_t p = 0; p < n;) {
			if (is_zero(buf + p, IV_PAGE)) {
				p += IV_PAGE;
				continue;
			}
			size_t q = p + IV_PAGE;
			while (q < n && !is_zero(buf + q, IV_PAGE))
				q += IV_PAGE;
			if (fn(ctx, a + p, buf + p, q - p, err))
				return -1;
			p = q;
		}
		a += n;
	}
	return 0;
}
