/*
 * How a program was started, as it sees it: prints its argv, environment,
 * working directory, ids and what its stdin holds, then does what its
 * words of the form key=value ask, in order:
 *   out=T, err=T          T and a newline on stdout, on stderr
 *   outpart=T, errpart=T  T without a newline
 *   write=P, read=P       create (or truncate) and write file P; read its first line
 *   write0=T              write T to fd 0 (its stdin)
 *   mv=A,B                rename A to B
 *   exit=N                end with status N
 *   save                  host_save (a template); a fork goes on with the
 *                         words of its own args (host_get_arg)
 * Any other word is only printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../sdk/include/iv_hostcalls.h"

extern char **environ;

static long hc(long nr, long a, long b)
{
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(IV_HC_BASE + nr), "D"(a), "S"(b)
			 : "rcx", "r11", "memory");
	return ret;
}

static void show_start(int argc, char **argv)
{
	char cwd[256];
	printf("start: argc=%d\n", argc);
	for (int i = 0; i < argc; i++)
		printf("start: argv[%d]=<%s>\n", i, argv[i]);
	for (char **e = environ; *e; e++)
		printf("start: env <%s>\n", *e);
	printf("start: cwd=%s\n", getcwd(cwd, sizeof(cwd)) ? cwd : strerror(errno));
	printf("start: uid=%u gid=%u\n", (unsigned)getuid(), (unsigned)getgid());
}

/* Prints stdin line by line, then how many bytes it held. */
static void show_stdin(void)
{
	static char buf[1 << 16];
	size_t len = 0;
	ssize_t n;
	while (len < sizeof(buf) && (n = read(0, buf + len, sizeof(buf) - len)) != 0) {
		if (n < 0) {
			printf("start: stdin: %s\n", strerror(errno));
			return;
		}
		len += (size_t)n;
	}
	for (size_t i = 0; i < len;) {
		size_t k = i;
		while (k < len && buf[k] != '\n')
			k++;
		printf("start: stdin <%.*s>\n", (int)(k - i), buf + i);
		i = k + 1;
	}
	printf("start: stdin: %zu bytes\n", len);
}

static void write_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	char text[64];
	int n = snprintf(text, sizeof(text), "written by uid %u\n", (unsigned)getuid());
	int ok = fd >= 0 && write(fd, text, (size_t)n) == n;
	printf("start: write %s: %s\n", path, ok ? "ok" : strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[128] = "";
	if (!f || !fgets(line, sizeof(line), f))
		printf("start: read %s: %s\n", path, f ? "empty" : strerror(errno));
	else
		printf("start: read %s: %s", path, line);
	if (f)
		fclose(f);
}

static void move(const char *arg)
{
	char from[256];
	const char *comma = strchr(arg, ',');
	snprintf(from, sizeof(from), "%.*s", (int)(comma - arg), arg);
	printf("start: mv %s %s: %s\n", from, comma + 1,
	       rename(from, comma + 1) ? strerror(errno) : "ok");
}

static int act(const char *w);

/* In a fork, the words of its own args. */
static void resume(void)
{
	static char args[4096];
	if (hc(HC_GET_ARG, (long)args, sizeof(args)) < 0)
		return;
	printf("start: fork args: %s\n", args);
	for (char *w = strtok(args, " "); w; w = strtok(NULL, " "))
		act(w);
}

static int act(const char *w)
{
	if (!strncmp(w, "out=", 4))
		printf("%s\n", w + 4);
	else if (!strncmp(w, "err=", 4))
		fprintf(stderr, "%s\n", w + 4);
	else if (!strncmp(w, "outpart=", 8))
		printf("%s", w + 8);
	else if (!strncmp(w, "errpart=", 8))
		fputs(w + 8, stderr);
	else if (!strncmp(w, "write=", 6))
		write_file(w + 6);
	else if (!strncmp(w, "read=", 5))
		read_file(w + 5);
	else if (!strncmp(w, "mv=", 3) && strchr(w, ','))
		move(w + 3);
	else if (!strncmp(w, "write0=", 7))
		printf("start: write stdin: %s\n",
		       write(0, w + 7, strlen(w + 7)) >= 0 ? "ok" : strerror(errno));
	else if (!strncmp(w, "exit=", 5))
		exit(atoi(w + 5));
	else if (!strcmp(w, "save")) {
		fflush(stdout);
		if (hc(HC_SAVE, 0, 0) == 0 && hc(HC_INSPECT, 0, 0) == 0)
			resume();
	}
	/* each action reaches its pipe before the next one */
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	show_start(argc, argv);
	show_stdin();
	fflush(stdout);
	for (int i = 1; i < argc; i++)
		act(argv[i]);
	return 0;
}
