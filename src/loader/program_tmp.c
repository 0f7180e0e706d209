/* Temporary: replaced by loader/program.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "iv_cell.h"

int iv_program_check(int root, const char *path, int path_fd, const char *name,
		     struct iv_program *out, struct iv_err *err)
{
	(void)root, (void)path, (void)path_fd;
	memset(out, 0, sizeof(*out));
	(void)name;
	(void)err;
	return 0;
}
