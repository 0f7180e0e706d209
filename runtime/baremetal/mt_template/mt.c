/*
 * A multi-threaded template: two workers count under a shared spin lock
 * and report through hostcalls; the template saves while they run.  Each
 * fork gets both workers back, mid-loop, with their stacks, registers and
 * the lock as they were; the fork lets them run a little, stops them and
 * prints what they counted since the save.
 */
#include "intravisor.h"

#define SYS_clone    56
#define SYS_exit     60
#define THREAD_FLAGS (0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000)

static volatile int lock, stop;
static volatile long counted[2], finished[2];
static char stacks[2][32768] __attribute__((aligned(16)));

static void worker(long me)
{
	while (!stop) {
		while (__atomic_exchange_n(&lock, 1, __ATOMIC_ACQUIRE))
			;
		counted[me]++;
		__atomic_store_n(&lock, 0, __ATOMIC_RELEASE);
		struct iv_timespec nap = {0, 500000};
		host_nanosleep(&nap, 0);
	}
	finished[me] = 1;
	for (;;)
		iv_syscall6(SYS_exit, 0, 0, 0, 0, 0, 0);
}

static void start_worker(long me)
{
	long *top = (long *)(stacks[me] + sizeof(stacks[me]));
	*--top = me;
	register long r10 __asm__("r10") = 0;
	register long r8 __asm__("r8") = 0;
	long ret;
	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "pop %%rdi\n\t"
			 "and $-16, %%rsp\n\t"
			 "call *%[fn]\n\t"
			 "hlt\n"
			 "1:"
			 : "=a"(ret)
			 : "a"(SYS_clone), "D"(THREAD_FLAGS), "S"(top), "d"(0), "r"(r10),
			   "r"(r8), [fn] "r"(worker)
			 : "rcx", "r11", "memory");
}

static void report(const char *what, long n)
{
	char num[24];
	iv_puts(what);
	iv_puts(iv_itoa(n, num));
	iv_puts("\n");
}

long mt_main(void)
{
	struct iv_timespec ms = {0, 1000000};
	if (host_inspect()) {
		start_worker(0);
		start_worker(1);
		while (counted[0] < 5 || counted[1] < 5)
			host_nanosleep(&ms, 0);
		iv_puts("mt: template saving with two workers running\n");
	}
	long at_save = counted[0] + counted[1];
	host_save();

	for (int i = 0; i < 40; i++)
		host_nanosleep(&ms, 0);
	stop = 1;
	while (!finished[0] || !finished[1])
		host_nanosleep(&ms, 0);
	report("mt: both workers came back and counted since the save: ",
	       counted[0] + counted[1] > at_save ? counted[0] + counted[1] - at_save : 0);
	host_exit();
}
