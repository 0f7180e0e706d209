/* The seed's two_layers example, inner layer: its hostcalls go to its
 * outer cVM's syscall_handler, not to the monitor. */
#include "intravisor.h"

int inner_main(void)
{
	iv_puts("hello world from inner\n");
	return 0;
}
