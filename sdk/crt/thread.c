/* Threads for freestanding cVMs: a raw clone onto a stack the cVM owns. */
#include "intravisor.h"

#define SYS_clone    56
#define SYS_exit     60
#define THREAD_FLAGS (0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000)

static __attribute__((noreturn, used)) void thread_start(void (*fn)(long), long arg)
{
	fn(arg);
	for (;;)
		iv_syscall6(SYS_exit, 0, 0, 0, 0, 0, 0);
}

long iv_thread_spawn(void (*fn)(long), long arg, void *stack, unsigned long size)
{
	long *top = (long *)(((unsigned long)stack + size) & ~15UL);
	*--top = (long)fn;
	*--top = arg;
	register long r10 __asm__("r10") = 0;
	register long r8 __asm__("r8") = 0;
	long ret;
	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "pop %%rsi\n\t" /* arg */
			 "pop %%rdi\n\t" /* fn */
			 "and $-16, %%rsp\n\t"
			 "call thread_start\n\t"
			 "hlt\n"
			 "1:"
			 : "=a"(ret)
			 : "a"(SYS_clone), "D"(THREAD_FLAGS), "S"(top), "d"(0), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
}
