/* Two cVMs from one image: each says who it is (its args) and reads the
 * cap file both share, then the first writes a message the second reads. */
#include "intravisor.h"

void hello_multi(void)
{
	char arg[64], num[24];
	void *cap;
	long size;

	host_get_arg(arg, sizeof(arg));
	iv_puts("hello from ");
	iv_puts(arg);
	iv_puts("\n");
	if (host_cap_file_prb("shared", &cap, &size) < 0) {
		iv_puts("cannot probe cap file 'shared'\n");
		host_exit_code(1);
	}
	volatile char *p = cap;
	if (!strcmp(arg, "writer")) {
		memcpy((char *)p + 8, "written by writer\n", 19);
		__atomic_store_n((volatile long *)p, 1, __ATOMIC_RELEASE);
		iv_puts("wrote the cap file\n");
	} else {
		struct iv_timespec ts = {0, 1000000};
		int i;
		for (i = 0; i < 5000 && !__atomic_load_n((volatile long *)p, __ATOMIC_ACQUIRE); i++)
			host_nanosleep(&ts, 0);
		if (i == 5000) {
			iv_puts("the writer never wrote\n");
			host_exit_code(1);
		}
		iv_puts("read: ");
		host_write((const char *)p + 8, (long)strlen((const char *)p + 8));
	}
	iv_puts("cap file size ");
	iv_puts(iv_itoa(size, num));
	iv_puts("\n");
	host_exit();
}
