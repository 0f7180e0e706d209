/* The hostcall table: modules register handlers by the seed's numbers. */
#define _GNU_SOURCE
#include <errno.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/syscall.h>

#include "iv.h"

struct entry {
	const char *name;
	iv_hostcall_fn fn;
};

static struct entry table[IV_HC_MAX];
static iv_hostcall_fn router;

void iv_hostcall_route(iv_hostcall_fn fn)
{
	router = fn;
}

void iv_hostcall_register(int nr, const char *name, iv_hostcall_fn fn)
{
	if (nr >= 0 && nr < IV_HC_MAX)
		table[nr] = (struct entry){name, fn};
}

iv_hostcall_fn iv_hostcall_handler(int nr)
{
	return nr >= 0 && nr < IV_HC_MAX ? table[nr].fn : NULL;
}

const char *iv_hostcall_name(int nr)
{
	return nr >= 0 && nr < IV_HC_MAX && table[nr].name ? table[nr].name : "unknown";
}

#define MAX_DENIAL_REPORTS 8

/* A syscall that is neither allowed nor a hostcall: refused, and said so
 * (each one once per cVM, and only so many in all).  An ioctl is answered
 * as one the file does not know. */
static long deny(struct iv_call *c, int sysno)
{
	struct iv_cvm *cvm = c->cvm;
	pthread_mutex_lock(&cvm->lock);
	int fresh = sysno < 0 || sysno >= 512 || !(cvm->denied[sysno / 64] >> (sysno % 64) & 1);
	int n = fresh ? cvm->denials++ : MAX_DENIAL_REPORTS + 1;
	if (sysno >= 0 && sysno < 512)
		cvm->denied[sysno / 64] |= 1ULL << (sysno % 64);
	pthread_mutex_unlock(&cvm->lock);
	if (n < MAX_DENIAL_REPORTS) {
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, sysno);
		iv_log("cVM '%s': denied system call %s (%d)%s", cvm->cfg->name, name ? name : "?",
		       sysno, sysno == SYS_ioctl ? ": this request" : "");
		free(name);
	} else if (n == MAX_DENIAL_REPORTS) {
		iv_log("cVM '%s': more denied system calls; no longer reporting them",
		       cvm->cfg->name);
	}
	return sysno == SYS_ioctl ? -ENOTTY : -EPERM;
}

long iv_hostcall_dispatch(struct iv_call *c)
{
	if (c->nr + IV_HC_BASE == SYS_brk && c->cvm->brk_answer)
		return (long)c->cvm->brk_answer; /* (see brk_answer in iv.h) */
	if (c->nr + IV_HC_BASE == SYS_clone3)
		return -ENOSYS; /* its flags are in memory: every libc falls back to clone */
	if (c->nr + IV_HC_BASE == SYS_exit_group)
		return table[IV_HC_EXIT_GROUP].fn ? table[IV_HC_EXIT_GROUP].fn(c) : IV_HC_CONTINUE;
	if (c->nr < 0 || c->nr >= IV_HC_MAX)
		return deny(c, c->nr + IV_HC_BASE);
	if (c->cvm->cfg->outer >= 0 && router && c->nr != IV_HC_EXIT_GROUP) {
		long r = router(c);
		if (r != IV_HC_UNROUTED)
			return r;
	}
	if (!table[c->nr].fn || c->nr == IV_HC_EXIT_GROUP) /* (that one is exit_group's) */
		return -ENOSYS;
	return table[c->nr].fn(c);
}
