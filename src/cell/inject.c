/*
 * System calls run by the monitor inside a stopped thread of a cell, as
 * CRIU's parasite code does, but one instruction at a time: the thread's
 * registers are saved, rip is pointed at the stub's syscall gadget with the
 * call in rax and rdi..r9, and the thread is single-stepped over exactly
 * that instruction.  Whatever the cVM mapped elsewhere never runs, and the
 * gadget's two bytes are checked first, so a cVM that replaced the stub's
 * code gets an error, not our registers.
 *
 * Calls that the cell's filter does not allow reach its server like any
 * other; the server lets through the one the monitor is injecting
 * (iv_inject_expected).  Every wait is bounded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "iv_cell.h"

#define INJECT_TIMEOUT_NS (2000ULL * 1000 * 1000)

/* The one injected call a server lets through: its thread and number. */
static pid_t inject_tid;
static long inject_nr = -1;

int iv_inject_expected(pid_t tid, long nr)
{
	return __atomic_load_n(&inject_tid, __ATOMIC_ACQUIRE) == tid &&
	       __atomic_load_n(&inject_nr, __ATOMIC_ACQUIRE) == nr;
}

int iv_take_stop(pid_t tid, int *status)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)tid, &si, WEXITED | WSTOPPED | WNOHANG | WNOWAIT | __WALL))
		return -errno;
	if (si.si_pid == 0)
		return 0;
	if (si.si_code != CLD_TRAPPED && si.si_code != CLD_STOPPED)
		return -ESRCH; /* ended: left for the reaper, which reports it */
	/* only the stop is consumed: an exit that comes meanwhile stays */
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)tid, &si, WSTOPPED | WNOHANG | __WALL) || si.si_pid == 0)
		return 0;
	*status = (si.si_status << 8) | 0x7f; /* as waitpid puts it, event included */
	return 1;
}

int iv_wait_stop(pid_t tid, int *status)
{
	uint64_t deadline = iv_now_ns() + INJECT_TIMEOUT_NS;
	for (unsigned spins = 0;; spins++) {
		int r = iv_take_stop(tid, status);
		if (r)
			return r < 0 ? r : 0;
		if (iv_now_ns() > deadline)
			return -ETIMEDOUT;
		if (spins < 200) {
			sched_yield();
		} else {
			struct timespec ts = {0, 20 * 1000};
			nanosleep(&ts, NULL);
		}
	}
}

int iv_inject(pid_t tid, uint64_t gadget, long nr, const long a[6], long *ret, pid_t *child)
{
	struct user_regs_struct saved, r;
	uint8_t code[2];
	struct iovec l = {code, 2}, rm = {(void *)(uintptr_t)gadget, 2};
	if (ptrace(PTRACE_GETREGS, tid, 0, &saved))
		return -errno;
	if (process_vm_readv(tid, &l, 1, &rm, 1, 0) != 2 || code[0] != 0x0f || code[1] != 0x05)
		return -EFAULT; /* the stub's code is not there any more */
	r = saved;
	r.rip = gadget;
	r.rax = (uint64_t)nr;
	r.orig_rax = (uint64_t)-1; /* no syscall restart on the way out of this stop */
	r.rdi = (uint64_t)a[0], r.rsi = (uint64_t)a[1], r.rdx = (uint64_t)a[2];
	r.r10 = (uint64_t)a[3], r.r8 = (uint64_t)a[4], r.r9 = (uint64_t)a[5];
	if (ptrace(PTRACE_SETREGS, tid, 0, &r))
		return -errno;
	__atomic_store_n(&inject_nr, nr, __ATOMIC_RELEASE);
	__atomic_store_n(&inject_tid, tid, __ATOMIC_RELEASE);
	int rc = ptrace(PTRACE_SINGLESTEP, tid, 0, 0) ? -errno : 0;
	while (rc == 0) {
		int st;
		if ((rc = iv_wait_stop(tid, &st)))
			break;
		int event = st >> 16;
		if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_CLONE ||
		    event == PTRACE_EVENT_VFORK) {
			unsigned long msg = 0;
			ptrace(PTRACE_GETEVENTMSG, tid, 0, &msg);
			if (child)
				*child = (pid_t)msg;
		} else if (event == 0 && WSTOPSIG(st) == SIGTRAP) {
			break; /* the instruction has run */
		}
		/* any other stop (a signal for the cVM) is suppressed: the thread
		 * never runs the cVM's code while the monitor drives it */
		rc = ptrace(PTRACE_SINGLESTEP, tid, 0, 0) ? -errno : 0;
	}
	__atomic_store_n(&inject_tid, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&inject_nr, -1, __ATOMIC_RELEASE);
	if (rc)
		return rc;
	if (ptrace(PTRACE_GETREGS, tid, 0, &r))
		return -errno;
	*ret = (long)r.rax;
	if (r.rip != gadget + 2)
		return -EFAULT;
	return ptrace(PTRACE_SETREGS, tid, 0, &saved) ? -errno : 0;
}

long iv_inject_call(pid_t tid, uint64_t gadget, long nr, long a0, long a1, long a2, long a3,
		    long a4)
{
	long a[6] = {a0, a1, a2, a3, a4, 0}, ret;
	int rc = iv_inject(tid, gadget, nr, a, &ret, NULL);
	return rc ? rc : ret;
}

int iv_peek(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec l = {buf, len}, r = {(void *)(uintptr_t)addr, len};
	return process_vm_readv(pid, &l, 1, &r, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

int iv_poke(pid_t pid, uint64_t addr, const void *buf, size_t len)
{
	struct iovec l = {(void *)buf, len}, r = {(void *)(uintptr_t)addr, len};
	return process_vm_writev(pid, &l, 1, &r, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}
