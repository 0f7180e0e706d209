/* A cVM whose args say how it ends: "exit N", "native N" (exit_group),
 * "return N" (the entry function returns), "crash" (store to 0x1234),
 * "sleep MS" (then exit 0), "spin" (never ends), "partial" (output
 * without a final newline). */
#include "intravisor.h"

static long num(const char *s)
{
	long v = 0, neg = 0;
	if (*s == '-')
		neg = 1, s++;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (*s++ - '0');
	return neg ? -v : v;
}

static int starts(const char *s, const char *p)
{
	while (*p)
		if (*s++ != *p++)
			return 0;
	return 1;
}

long cvm_main(void)
{
	char arg[64];
	host_get_arg(arg, sizeof(arg));
	iv_puts("life: ");
	iv_puts(arg);
	iv_puts("\n");
	if (starts(arg, "exit "))
		host_exit_code(num(arg + 5));
	if (starts(arg, "native "))
		for (;;)
			iv_syscall6(231, num(arg + 7), 0, 0, 0, 0, 0);
	if (starts(arg, "return "))
		return num(arg + 7);
	if (starts(arg, "crash"))
		*(volatile int *)0x1234 = 1;
	if (starts(arg, "sleep ")) {
		long ms = num(arg + 6);
		struct iv_timespec ts = {ms / 1000, (ms % 1000) * 1000000};
		host_nanosleep(&ts, 0);
		iv_puts("life: woke\n");
		host_exit();
	}
	if (starts(arg, "spin"))
		for (;;)
			__asm__ volatile("" ::: "memory");
	if (starts(arg, "partial")) {
		iv_puts("no newline at the end");
		host_exit();
	}
	iv_puts("life: unknown mode\n");
	return 2;
}
