/* The seed's baremetal hello world: say whether we are a template, save,
 * then read 32 bytes of cap file test1 and print them.  A template stops in
 * host_save (it becomes a zygote); its forks come back from host_save,
 * where host_inspect() answers 0. */
#include "intravisor.h"

#define MSG "hello world, let's read cap 'test1' \n"

void hello_c(void)
{
	char buf[32];
	void *cap;
	long size;

	if (host_inspect() == 1)
		iv_puts("I am a template!\n");
	host_save();
	if (host_inspect() == 0)
		iv_puts("I am not a template!\n");

	host_write(MSG, sizeof(MSG) - 1);
	long r = host_cap_prb("test1", &cap, &size);
	if (r < 0) {
		iv_puts("cannot probe cap file test1\n");
		host_exit_code(1);
	}
	copy_from_cap(buf, &cap, 32);
	host_write(buf, 32);
	host_exit();
}
