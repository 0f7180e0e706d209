/*
 * The seed's file workload: libc file checks, [1] to [8], run in forks of a
 * template that saved before them.  Each check prints its line when it holds
 * and "FAILED: why" when it does not (the fork then ends with status 1);
 * after the eighth, "all test past!".  The disk holds `text` ("Hello\n") and
 * `readonly` (mode 0444); the checks create `text_new` with the fork's args
 * as its contents (one line), so each fork reads back what it wrote itself.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <intravisor.h>

static char expect[300]; /* what text_new must hold: the args and a newline */

static int fail(int n, const char *what, const char *why)
{
	printf("[%d] %s FAILED: %s\n", n, what, why);
	return -1;
}

static int ok(int n, const char *what)
{
	printf("[%d] %s\n", n, what);
	return 0;
}

/* Reads all of NAME (at most size-1 bytes) into buf; its length or -1. */
static long slurp(const char *name, char *buf, size_t size)
{
	FILE *f = fopen(name, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, size - 1, f);
	int bad = ferror(f);
	fclose(f);
	buf[n] = '\0';
	return bad ? -1 : (long)n;
}

static int check_noexist(void)
{
	errno = 0;
	FILE *f = fopen("noexist", "r");
	if (f) {
		fclose(f);
		return fail(1, "fopen(noexist)", "a missing file opened");
	}
	if (errno != ENOENT)
		return fail(1, "fopen(noexist)", strerror(errno));
	return ok(1, "fopen(noexist)");
}

static int check_text(void)
{
	FILE *f = fopen("text", "r");
	if (!f)
		return fail(2, "fopen(text)", strerror(errno));
	ok(2, "fopen(text)");
	char buf[16] = "";
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n != 6 || memcmp(buf, "Hello\n", 6))
		return fail(3, "fread(text)", "not \"Hello\\n\"");
	return ok(3, "fread(text)");
}

static int check_write(void)
{
	FILE *f = fopen("text_new", "w");
	if (!f)
		return fail(4, "fwrite(text_new)", strerror(errno));
	size_t len = strlen(expect);
	if (fwrite(expect, 1, len, f) != len || fclose(f) != 0)
		return fail(4, "fwrite(text_new)", strerror(errno));
	ok(4, "fwrite(text_new)");
	char buf[sizeof(expect)];
	long n = slurp("text_new", buf, sizeof(buf));
	if (n < 0)
		return fail(5, "fread(text_new)", strerror(errno));
	if ((size_t)n != len || memcmp(buf, expect, len))
		return fail(5, "fread(text_new)", "not what was written");
	return ok(5, "fread(text_new)");
}

static int check_readonly(void)
{
	errno = 0;
	FILE *f = fopen("readonly", "w");
	if (f) {
		fclose(f);
		return fail(6, "fopen(readonly, w)", "a read-only file opened for writing");
	}
	if (errno != EACCES)
		return fail(6, "fopen(readonly, w)", strerror(errno));
	f = fopen("readonly", "r");
	if (!f)
		return fail(6, "fopen(readonly, w)", "cannot read it either");
	fclose(f);
	return ok(6, "fopen(readonly, w)");
}

static int check_seek(void)
{
	FILE *f = fopen("text", "r");
	if (!f)
		return fail(7, "fseek/ftell(text)", strerror(errno));
	int end = fseek(f, 0, SEEK_END);
	long size = ftell(f);
	int mid = fseek(f, 1, SEEK_SET), c = fgetc(f);
	fclose(f);
	if (end || size != 6 || mid || c != 'e')
		return fail(7, "fseek/ftell(text)", "wrong offsets");
	return ok(7, "fseek/ftell(text)");
}

static int check_stat(void)
{
	struct stat a, b;
	if (stat("text_new", &a) || stat("readonly", &b))
		return fail(8, "stat field", strerror(errno));
	if (!S_ISREG(a.st_mode) || a.st_size != (off_t)strlen(expect))
		return fail(8, "stat field", "text_new: wrong type or size");
	if (a.st_uid != getuid())
		return fail(8, "stat field", "text_new is not the fork's own");
	if (!S_ISREG(b.st_mode) || (b.st_mode & 0222))
		return fail(8, "stat field", "readonly: not a read-only file");
	return ok(8, "stat field");
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	printf("template: saving before the checks\n");
	long r = host_save();
	if (r < 0) {
		fprintf(stderr, "file: host_save failed: %ld\n", r);
		return 1;
	}
	if (host_inspect() == 1) /* fork: 0, or not a template: nothing to run */
		return 0;
	char arg[256] = "";
	host_get_arg(arg, sizeof(arg));
	snprintf(expect, sizeof(expect), "%s\n", arg[0] ? arg : "Hello");
	if (check_noexist() || check_text() || check_write() || check_readonly() || check_seek() ||
	    check_stat())
		return 1;
	printf("all test past!\n");
	return 0;
}
