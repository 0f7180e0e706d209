/*
 * libFuzzer target for the program check (src/loader/program.c): each input
 * is written as /prog of a scratch root in which the interpreter
 * (/lib64/ld-linux-x86-64.so.2), libc.so.6 and a script interpreter are all
 * links to /prog, so that the same bytes go through the runtime's, the
 * interpreter's and a library's parsing, and the search of ld.so.conf.
 * iv_program_check must accept or refuse any of them without undefined
 * behaviour, with one line, and what it accepts must be consistent.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iv_cell.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

const char *__ubsan_default_options(void);

/* UBSan in clang recovers by default: make every report a crash libFuzzer sees. */
const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

static char dir[64];
static int root = -1;

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	remove(p);
	return 0;
}

static void cleanup(void)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void put(const char *rel, const char *text)
{
	char p[128];
	snprintf(p, sizeof(p), "%s%s", dir, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		__builtin_trap();
	close(fd);
}

static void setup(void)
{
	static const char *const dirs[] = {
		"/lib64", "/lib", "/lib/x86_64-linux-gnu", "/etc", "/etc/ld.so.conf.d", "/bin"};
	static const char *const links[][2] = {
		{"/lib64/ld-linux-x86-64.so.2", "/prog"},
		{"/lib/x86_64-linux-gnu/libc.so.6", "../../prog"},
		{"/lib/ld-musl-x86_64.so.1", "/prog"},
		{"/bin/sh", "/prog"},
	};
	char p[128];
	snprintf(dir, sizeof(dir), "%s/iv-fuzz-program-XXXXXX",
		 access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
	if (!mkdtemp(dir))
		__builtin_trap();
	atexit(cleanup);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", dir, dirs[i]);
		mkdir(p, 0755);
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", dir, links[i][0]);
		if (symlink(links[i][1], p))
			__builtin_trap();
	}
	put("/etc/ld.so.cache", "glibc-ld.so.cache1.1");
	put("/etc/ld.so.conf", "include ld.so.conf.d/*.conf\n/usr/local/lib\n");
	put("/etc/ld.so.conf.d/a.conf", "/opt/lib # a comment\n");
	root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		__builtin_trap();
}

static void consistent(int r, const struct iv_program *p, const struct iv_err *e)
{
	if (r) {
		if (!e->msg[0] || strchr(e->msg, '\n'))
			__builtin_trap(); /* one line, always */
		return;
	}
	if (!memchr(p->interp, 0, sizeof(p->interp)))
		__builtin_trap();
	if (p->lo > p->hi || ((p->lo | p->hi) & (IV_PAGE - 1)))
		__builtin_trap();
	if (p->dynamic && p->interp[0] != '/')
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char p[128];
	struct iv_program prog;
	struct iv_err err;
	if (root < 0)
		setup();
	snprintf(p, sizeof(p), "%s/prog", dir);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
		__builtin_trap();
	close(fd);
	err.msg[0] = 0;
	consistent(iv_program_check(root, "/prog", -1, NULL, &prog, &err), &prog, &err);
	/* the same bytes as a host file given by fd, with and without a disk */
	fd = open(p, O_RDONLY | O_CLOEXEC);
	err.msg[0] = 0;
	consistent(iv_program_check(root, NULL, fd, "prog", &prog, &err), &prog, &err);
	err.msg[0] = 0;
	consistent(iv_program_check(-1, NULL, fd, "prog", &prog, &err), &prog, &err);
	close(fd);
	return 0;
}
