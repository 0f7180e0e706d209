/* Calls every hostcall the monitor serves and prints one line per check:
 * "ok NAME" or "FAIL NAME (got N)".  Ends with status 0 when all passed. */
#include "intravisor.h"

static int failures;

static void check(const char *name, int ok, long got)
{
	char num[24];
	if (ok) {
		iv_puts("ok ");
		iv_puts(name);
		iv_puts("\n");
		return;
	}
	failures++;
	iv_puts("FAIL ");
	iv_puts(name);
	iv_puts(" (got ");
	iv_puts(iv_itoa(got, num));
	iv_puts(")\n");
}

#define EFAULT 14
#define ENOENT 2
#define EEXIST 17
#define EBADF  9
#define EINVAL 22
#define ENOSYS 38

static char page[4096] __attribute__((aligned(4096)));

void hc_test(void)
{
	long r;
	char buf[64];

	r = host_write("hc_test: write\n", 15);
	check("write returns its length", r == 15, r);
	r = host_write((const char *)0x10, 4);
	check("write of a pointer outside the cVM fails with EFAULT", r == -EFAULT, r);

	r = host_inspect();
	check("inspect is 1 in a cVM started from scratch", r == 1, r);
	r = host_save();
	check("save returns 0 without a template", r == 0, r);

	r = host_get_arg(buf, sizeof(buf));
	check("get_arg returns the args' length", r == 11, r);
	check("get_arg copies the args", !strcmp(buf, "one two six"), 0);
	r = host_get_arg(buf, 4);
	check("get_arg truncates to the buffer", r == 11 && !strcmp(buf, "one"), r);
	r = host_get_arg((char *)0x7fff0000, 16);
	check("get_arg to a pointer outside the cVM fails", r == -EFAULT, r);

	struct iv_timeval t1, t2;
	r = host_gettimeofday(&t1, 0);
	check("gettimeofday succeeds", r == 0 && t1.tv_sec > 1600000000, r);
	struct iv_timespec ts = {0, 20 * 1000 * 1000};
	r = host_nanosleep(&ts, 0);
	host_gettimeofday(&t2, 0);
	long us = (t2.tv_sec - t1.tv_sec) * 1000000 + (t2.tv_usec - t1.tv_usec);
	check("nanosleep sleeps 20 ms", r == 0 && us >= 20000, us);
	struct iv_timespec bad = {0, 2000000000L};
	r = host_nanosleep(&bad, 0);
	check("nanosleep rejects tv_nsec >= 1e9", r == -EINVAL, r);

	void *cap = 0;
	long size = 0;
	r = host_cap_file_prb("test1", &cap, &size);
	check("cap probe of test1", r == 0 && size == 32, r);
	check("cap test1 holds its data", r == 0 && !memcmp(cap, "Hello world\n", 12), 0);
	r = host_cap_file_prb("no-such-cap", &cap, &size);
	check("cap probe of an unknown key fails with ENOENT", r == -ENOENT, r);
	r = iv_hostcall(HC_CF_PRB, (long)"test1", 0x10, (long)&size);
	check("cap probe storing outside the cVM fails with EFAULT", r == -EFAULT, r);

	memcpy(page, "advertised data", 16);
	r = host_cap_file_adv(page, sizeof(page), "hc_adv");
	check("cap advertise of a page", r == 0, r);
	check("advertised page keeps its contents", !strcmp(page, "advertised data"), 0);
	r = host_cap_file_adv(page, sizeof(page), "hc_adv");
	check("advertising a key twice fails with EEXIST", r == -EEXIST, r);
	r = iv_hostcall(HC_CF_ADV, (long)page + 1, 16, (long)"hc_adv2");
	check("advertising an unaligned region fails with EINVAL", r == -EINVAL, r);

	long h = host_open("/cap/test1", 0);
	check("open /cap/test1", h >= 0, h);
	r = host_read(h, buf, 5);
	check("read 5 bytes of /cap/test1", r == 5 && !memcmp(buf, "Hello", 5), r);
	r = host_lseek(h, 6, 0);
	check("lseek to 6", r == 6, r);
	r = host_write_file(h, "cap!", 4);
	check("write 4 bytes at 6", r == 4, r);
	check("the write is visible in the mapping", !memcmp((char *)cap + 6, "cap!", 4), 0);
	r = host_lseek(h, 0, 2);
	check("lseek to the end is the size", r == 32, r);
	r = host_read(h, buf, 8);
	check("read at the end returns 0", r == 0, r);
	r = host_close(h);
	check("close", r == 0, r);
	r = host_read(h, buf, 1);
	check("read of a closed handle fails with EBADF", r == -EBADF, r);
	r = host_open("/etc/passwd", 0);
	check("open outside /cap fails with ENOENT", r == -ENOENT, r);

	r = iv_hostcall(999, 0, 0, 0);
	check("an unknown hostcall fails with ENOSYS", r == -ENOSYS, r);

	iv_puts(failures ? "hc_test: FAILED\n" : "hc_test: all passed\n");
	host_exit_code(failures);
}
