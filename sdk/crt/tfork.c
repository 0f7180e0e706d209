/*
 * The cVM side of TFORK: host_save, and thread recreation after a restore.
 * Built twice: freestanding into libivrt.a, hosted (no libc call, so the
 * same object serves glibc and musl programs) into libintravisor.
 */
#include "intravisor.h"

#define SYS_clone 56

/*
 * A new thread that becomes thread i of the template: the monitor has
 * written a signal frame on that thread's own stack (below its red zone);
 * the thread sets its FS base and rt_sigreturns into the saved state.
 */
static long restore_thread(long sp, long fsbase, long gsbase)
{
	long flags = 0x00000100 | 0x00000200 | 0x00000400 | 0x00000800 | 0x00010000 | 0x00040000;
	register long r10 __asm__("r10") = 0;
	register long r8 __asm__("r8") = 0;
	register long r12 __asm__("r12") = fsbase;
	register long r13 __asm__("r13") = gsbase;
	long ret;
	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "mov $158, %%eax\n\t"	  /* arch_prctl */
			 "mov $0x1002, %%edi\n\t" /* ARCH_SET_FS */
			 "mov %%r12, %%rsi\n\t"
			 "syscall\n\t"
			 "mov $158, %%eax\n\t"
			 "mov $0x1001, %%edi\n\t" /* ARCH_SET_GS */
			 "mov %%r13, %%rsi\n\t"
			 "syscall\n\t"
			 "mov $15, %%eax\n\t" /* rt_sigreturn */
			 "syscall\n\t"
			 "hlt\n"
			 "1:"
			 : "=a"(ret)
			 : "a"(SYS_clone), "D"(flags), "S"(sp), "d"(0), "r"(r10), "r"(r8), "r"(r12),
			   "r"(r13)
			 : "rcx", "r11", "memory");
	return ret;
}

/* After HC_SAVE answered IV_SAVE_RESTORED: announce the restored cVM and
 * recreate the template's other threads from the frames the monitor wrote. */
long iv_restore_threads(void)
{
	long n = iv_hostcall(HC_FORKED, 0, 0, 0);
	for (long i = 0; i < n; i++) {
		long bases[2] = {0, 0}; /* FS and GS base */
		long sp = iv_hostcall(HC_THREAD_FRAME, i, (long)bases, 0);
		if (sp > 0)
			restore_thread(sp, bases[0], bases[1]);
	}
	return n;
}

/* Forks are made by the monitor: in a template and in a fork this is the
 * one hostcall.  A cVM restored from an image recreates its threads here. */
long host_save(void)
{
	long r = iv_hostcall(HC_SAVE, 0, 0, 0);
	if (r != IV_SAVE_RESTORED)
		return r;
	r = iv_restore_threads();
	return r < 0 ? r : 0;
}
