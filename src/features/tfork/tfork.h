/*
 * TFORK: templates frozen at host_save and the copy-on-write forks the
 * monitor makes of them.  What other features may use: the state a
 * template was frozen in, and a hook run when one is.
 */
#ifndef IV_TFORK_H
#define IV_TFORK_H

#include <sys/user.h>

#include "iv.h"

/* A template thread as captured at host_save: everything a fork needs to
 * bring it back as libc left it. */
struct iv_thread_state {
	pid_t tid;    /* in the monitor's pid namespace */
	pid_t ns_tid; /* in the template's (the fork gets the same) */
	struct user_regs_struct regs;
	uint64_t sigmask;
	uint8_t *xstate; /* XSAVE image from PTRACE_GETREGSET(NT_X86_XSTATE) */
	size_t xsize;
	uint64_t ctid;		     /* clear-child-tid address (join) */
	uint64_t robust, robust_len; /* robust-futex list */
	uint64_t ss_sp, ss_size;     /* alternate signal stack */
	int32_t ss_flags;
	uint32_t rseq_len, rseq_sig; /* rseq_len 0: none registered */
	uint64_t rseq;
};

/* A descriptor the template had open at host_save. */
struct iv_saved_fd {
	int fd, flags;
	int64_t pos;
	int held; /* the monitor's reference to the file (-1: none) */
};

/* A frozen template, as other features may read it. */
struct iv_frozen {
	const struct iv_thread_state *threads;
	int nthreads, saver; /* which thread made the save */
	const struct iv_saved_fd *fds;
	int nfds;
};

extern struct iv_feature iv_feature_tfork;

/* t's frozen state (valid from the freeze hooks on). */
void iv_tfork_frozen(struct iv_cvm *t, struct iv_frozen *out);
/* A template whose forks map its in-memory image: 1 once it maps it
 * itself, with the image's size and the bytes of it in memory; else 0. */
int iv_tfork_image(struct iv_cvm *t, uint64_t *size, uint64_t *resident);
/* fn runs when a template has been frozen, before any fork: a failure
 * (one line in err) fails the template. */
void iv_tfork_on_freeze(int (*fn)(struct iv_cvm *t, struct iv_err *err));
/* fn runs when fork f of template t has been made (its first task is
 * f->cell.pid, stopped), before it runs: a failure (one line in err)
 * fails the fork.  A networked template's forks are cloned into a network
 * namespace of their own (its loopback down) that such a hook sets up. */
void iv_tfork_on_fork(int (*fn)(struct iv_cvm *t, struct iv_cvm *f, struct iv_err *err));

#endif
