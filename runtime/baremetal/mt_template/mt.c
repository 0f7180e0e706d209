/*
 * A multi-threaded template: two workers count under a shared spin lock
 * and report through hostcalls; the template saves while they run.  Each
 * fork gets both workers back, mid-loop, with their stacks, registers and
 * the lock as they were; the fork lets them run a little, stops them and
 * prints what they counted since the save.
 */
#include "intravisor.h"

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
		iv_thread_spawn(worker, 0, stacks[0], sizeof(stacks[0]));
		iv_thread_spawn(worker, 1, stacks[1], sizeof(stacks[1]));
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
