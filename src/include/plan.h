/*
 * plan.h - what the monitor tells a cell stub to do.
 *
 * The plan is one blob in a memfd passed as fd IV_FD_PLAN: a header, an
 * array of ops the stub executes in order, the seccomp filter, and the data
 * that OP_COPY ops refer to.  Shared by the monitor and the freestanding
 * stub, so it uses fixed-size types only.
 */
#ifndef IV_PLAN_H
#define IV_PLAN_H

#include <stdint.h>

#define IV_PLAN_MAGIC	0x314e414c50564955ULL /* "UIVPLAN1" */
#define IV_PLAN_VERSION 3

/* Fixed descriptors in a fresh cell. */
#define IV_FD_CONSOLE_IN  0
#define IV_FD_CONSOLE_OUT 1
#define IV_FD_CONSOLE_ERR 2
#define IV_FD_PLAN	  3
#define IV_FD_CTL	  4
#define IV_FD_ELF	  5
#define IV_FD_STUB	  6 /* only until execveat */
#define IV_FD_EXTRA	  7 /* first of the descriptors OP_MAP_SHARED maps (then closed) */
#define IV_MAX_EXTRA	  32

/* Where the stub is linked; every cVM range must end below it.  Plans
 * touch [IV_USER_MIN, IV_USER_TOP) but never the stub's own image; memory a
 * cVM mapped itself (a libc's heap and mmaps) lies above the stub. */
#define IV_STUB_BASE 0x600000000000ULL
#define IV_USER_MIN  0x10000ULL
#define IV_USER_TOP  0x7ffffffff000ULL /* the end of x86-64 user space (4-level paging) */

enum iv_op_kind {
	IV_OP_MAP_FILE = 1,   /* mmap(addr, len, RW, MAP_PRIVATE|MAP_FIXED, elf fd, arg) */
	IV_OP_MAP_ANON = 2,   /* mmap(addr, len, RW, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED);
			       * arg IV_MAP_FRESH: only where nothing is mapped yet */
	IV_OP_COPY = 3,	      /* copy len bytes from plan offset arg to addr */
	IV_OP_ZERO = 4,	      /* zero [addr, addr+len) */
	IV_OP_PROTECT = 5,    /* mprotect(addr, len, prot) */
	IV_OP_STORE64 = 6,    /* *(uint64_t *)addr = arg (relocations) */
	IV_OP_MAP_SHARED = 7, /* mmap(addr, len, RW, MAP_SHARED|MAP_FIXED, fd arg, 0): a cap file */
	IV_OP_CLOSE = 8,      /* close(arg) */
	IV_OP_VDSO = 9,	      /* move the kernel's vDSO block (its data pages, then the vDSO,
			       * len bytes in all, the vDSO at offset arg) to addr, where an
			       * image's program expects it; first of the ops */
	IV_OP_SIGACTION = 10, /* rt_sigaction(prot, plan + arg, NULL, 8): len bytes of
			       * struct k_sigaction at plan offset arg (a restored handler) */
	IV_OP_PREAD = 11,     /* pread(elf fd, addr, len, arg): bytes of the ELF put into memory
			       * already mapped (an inner cVM's shared range); short at EOF */
	IV_OP_NEST = 12,      /* an outer cVM: map the nest page (fd arg, anywhere) and, once
			       * the go came, start len handler threads, thread i serving
			       * slot i by calling the function at addr (syscall_handler) */
	IV_OP_NEST_STACK = 13, /* the handler threads' stacks: thread i's ends at
				* addr + (i + 1) * len (inside the cVM's range, so that
				* its hostcalls may point at it); before IV_OP_NEST */
};

/* The nest page (IV_OP_NEST): one slot per inner cVM, shared by the monitor
 * and the outer's cell.  The monitor writes a call (nr, a[]) and then bumps
 * seq; the outer's handler thread for the slot calls syscall_handler,
 * stores ret and then done = seq.  Each side sleeps on the other's word
 * after a short spin, and counts itself in its waiters word first, so that
 * the other makes the wake-up system call only when someone sleeps.  The
 * monitor trusts nothing here but its own seq matched in done (and ret). */
struct iv_nest_slot {
	uint32_t seq;	   /* posted calls (the handler thread sleeps on it) */
	uint32_t done;	   /* the last call answered (the monitor sleeps on it) */
	uint32_t hwaiters; /* handler threads asleep on seq */
	uint32_t mwaiters; /* monitor threads asleep on done */
	int64_t nr;
	int64_t a[6];
	int64_t ret;
	uint32_t hcpu, mcpu; /* the CPU (+ 1) each side last waited on */
	uint64_t pad[5];
};
#define IV_NEST_PAGE 4096
#define IV_NEST_MAX  (IV_NEST_PAGE / (int)sizeof(struct iv_nest_slot))
_Static_assert(sizeof(struct iv_nest_slot) == 128, "nest slot layout");

/* IV_OP_MAP_ANON's arg: MAP_FIXED_NOREPLACE, so that memory restored from
 * an image never replaces the stub's stack, plan or vDSO. */
#define IV_MAP_FRESH 1
/* ... and IV_MAP_TRY: where that is taken (or over the cell's memory), none */
#define IV_MAP_TRY 2

struct iv_plan_op {
	uint32_t kind;
	uint32_t prot;
	uint64_t addr;
	uint64_t len;
	uint64_t arg;
};

enum iv_plan_entry {
	IV_PLAN_ENTRY_PROCESS = 1,
	IV_PLAN_ENTRY_FUNCTION = 2,
	IV_PLAN_ENTRY_SIGRETURN = 3, /* a restored thread: set FS base, rt_sigreturn at sp */
	IV_PLAN_ENTRY_EXEC = 4, /* a program: execve it (the exec blob) once the filter is on */
	IV_PLAN_ENTRY_PARK = 5, /* a cell made ahead: once the filter is on, wait in
				 * IV_SYS_PARK for the cVM's plan (stub.c, unpark) */
};

/* The call a parked stub waits in: a hostcall number (IV_HC_BASE + 0xfff)
 * beyond every hostcall, so that nothing a cVM makes is taken for it (its
 * server refuses it to a cVM that makes it, as any number beyond the
 * table: EPERM). */
#define IV_SYS_PARK 0x2fff

/* The exec blob (IV_PLAN_ENTRY_EXEC): NUL-terminated strings back to back,
 * the program's path inside the cell's root (empty: the file at IV_FD_ELF),
 * then exec_argc arguments, then exec_envc environment variables. */
#define IV_PLAN_MAX_VEC 2100

struct iv_plan_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t entry_kind;
	uint64_t total;	  /* bytes in the whole plan */
	uint64_t ops_off; /* offset of the op array */
	uint64_t nops;
	uint64_t filter_off; /* offset of struct sock_filter[] */
	uint64_t filter_len; /* number of instructions */
	uint64_t entry;
	uint64_t sp;
	uint64_t argc, argv, envp;   /* for IV_PLAN_ENTRY_FUNCTION */
	uint64_t fsbase, gsbase;     /* for IV_PLAN_ENTRY_SIGRETURN */
	uint64_t plan_at;	     /* if not 0, where the stub maps the plan: clear of every op */
	uint64_t exec_off, exec_len; /* the exec blob */
	uint64_t exec_argc, exec_envc;
	uint64_t park; /* a parked cell's plan: once it has run, wait in IV_SYS_PARK again
			* for the go (a cell made ahead with its cVM laid out) */
};

/* Messages on the control socket (each one byte tag + payload). */
#define IV_CTL_LISTENER	    'L' /* stub -> monitor: int32 listener fd number, u64 gadget address */
#define IV_CTL_LISTENER_LEN 13
#define IV_CTL_FAIL	    'F' /* child or stub -> monitor: int32 step, int32 errno */
#define IV_CTL_GO	    'G' /* monitor -> stub */

enum iv_fail_step {
	IV_STEP_FDS = 1,
	IV_STEP_MOUNT,
	IV_STEP_ROOT,
	IV_STEP_RLIMIT,
	IV_STEP_UID,
	IV_STEP_NNP,
	IV_STEP_EXEC,
	IV_STEP_PLAN,
	IV_STEP_OP,
	IV_STEP_FILTER,
	IV_STEP_HANDSHAKE,
	IV_STEP_NETNS,
	IV_STEP_STDIN,	    /* opening its stdin inside its root */
	IV_STEP_STDIN_KIND, /* its stdin is not a regular file (no errno) */
	IV_STEP_CWD,	    /* entering its working directory */
	IV_STEP_PROGRAM,    /* executing the program (after the go) */
};

#endif
