/*
 * The posix_spawn peer of a fresh cVM start: a static, freestanding
 * program (no libc, like the benchmark's cVMs) that reads CLOCK_MONOTONIC
 * with a raw syscall as its very first action, then writes 16 bytes to
 * fd 3 - that timestamp and the first word of its CPU mask (so that the
 * benchmark can check it runs pinned too) - and exits with status 0 (1 if
 * the write failed).
 */
#include <stdint.h>

__asm__(".text\n"
	".globl _start\n"
	"_start:\n"
	"	xor %ebp, %ebp\n"
	"	and $-16, %rsp\n"
	"	call peer_main\n"
	"	hlt\n");

static inline long sc3(long n, long a, long b, long c)
{
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return ret;
}

__attribute__((noreturn, used)) void peer_main(void);

__attribute__((noreturn, used)) void peer_main(void)
{
	struct {
		long tv_sec, tv_nsec;
	} ts;
	sc3(228, 1, (long)&ts, 0); /* clock_gettime(CLOCK_MONOTONIC) */
	uint64_t out[2];
	out[0] = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	uint64_t mask[16];
	for (int i = 0; i < 16; i++)
		mask[i] = 0;
	sc3(204, 0, (long)sizeof(mask), (long)mask); /* sched_getaffinity */
	out[1] = mask[0];
	long r = sc3(1, 3, (long)out, 16); /* write(3, out, 16) */
	for (;;)
		sc3(231, r == 16 ? 0 : 1, 0, 0); /* exit_group */
}
