/*
 * A TFORK template for shell commands (tests/cases/net.sh): saves, and
 * each fork runs `sh -c ARGS`, its own args (host_get_arg).
 *   save_sh             saves holding nothing but its console
 *   save_sh listen      saves holding a listening TCP socket (refused)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../../sdk/include/iv_hostcalls.h"

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && !strcmp(argv[1], "listen")) {
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(7100)};
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 1))
			printf("save_sh: listen: errno %d\n", errno);
		else
			printf("save_sh: listening\n");
	}
	long r = syscall(IV_HC_BASE + HC_SAVE);
	if (r != 0) {
		printf("save_sh: save -> %ld errno %d\n", r, errno);
		return 2;
	}
	static char arg[4096];
	syscall(IV_HC_BASE + HC_GET_ARG, arg, sizeof(arg));
	execl("/bin/sh", "sh", "-c", arg, (char *)NULL);
	printf("save_sh: exec /bin/sh: errno %d\n", errno);
	return 127;
}
