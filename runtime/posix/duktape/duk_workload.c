/*
 * The seed's duktape-js workload as a TFORK template.  The template pays for
 * what every script needs: it creates the Duktape heap (the built-ins are
 * set up then) and registers a native print(); then it saves.  Each fork
 * takes the name of a JS file from its args (host_get_arg), reads it from its
 * disk (at most 4 KiB, as the seed did) and evaluates it in the heap it got
 * from the template.  A missing or unreadable file, a script that does not
 * compile and one that throws end the fork with a status of its own (2, 3,
 * 4) and a line on stderr saying why; its siblings are not affected.
 *
 * Two more ways to run it, for bench/workloads (the same unit of work, cold):
 *  - a plain cVM (not a template, so started from scratch: host_inspect()
 *    is 1 after host_save) evaluates the file its args name, as a fork
 *    does; without args it ends at once, as before.  (A template given args
 *    would evaluate them when it is released; the example's has none.)
 *  - outside any cVM the hostcalls return -ENOSYS: run as a plain process,
 *    it evaluates the file argv[1] names right after its initialisation.
 *
 * Duktape is Debian's duktape.c (package duktape-dev), compiled in.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <intravisor.h>

#include "duktape.h"

#define SCRIPT_MAX 4096

/* print(a, b, ...): the arguments as strings, separated by spaces, one line. */
static duk_ret_t native_print(duk_context *ctx)
{
	duk_idx_t n = duk_get_top(ctx);
	printf("native_print is called\n");
	for (duk_idx_t i = 0; i < n; i++)
		printf("%s%s", i ? " " : "", duk_safe_to_string(ctx, i));
	printf("\n");
	return 0;
}

/* Duktape calls this on an error nothing catches: say so and end the cVM. */
static void fatal(void *udata, const char *msg)
{
	(void)udata;
	fprintf(stderr, "duktape: fatal error: %s\n", msg ? msg : "(no message)");
	exit(5);
}

/* Reads NAME into buf (NUL-terminated); returns its length or -1 after
 * saying why on stderr. */
static long read_script(const char *name, char *buf)
{
	FILE *f = fopen(name, "r");
	if (!f) {
		fprintf(stderr, "duktape: cannot open JS file '%s': %s\n", name, strerror(errno));
		return -1;
	}
	size_t n = fread(buf, 1, SCRIPT_MAX, f);
	int bad = ferror(f), more = !bad && fgetc(f) != EOF;
	fclose(f);
	if (bad || more) {
		fprintf(stderr, "duktape: cannot read JS file '%s': %s\n", name,
			bad ? "read error" : "larger than 4096 bytes");
		return -1;
	}
	buf[n] = '\0';
	return (long)n;
}

static int run_script(duk_context *ctx, const char *name)
{
	static char src[SCRIPT_MAX + 1];
	long len = read_script(name, src);
	if (len < 0)
		return 2;
	duk_push_string(ctx, name);
	if (duk_pcompile_lstring_filename(ctx, 0, src, (duk_size_t)len) != 0) {
		fprintf(stderr, "duktape: %s does not compile: %s\n", name,
			duk_safe_to_string(ctx, -1));
		return 3;
	}
	if (duk_pcall(ctx, 0) != DUK_EXEC_SUCCESS) {
		fprintf(stderr, "duktape: %s threw: %s\n", name, duk_safe_to_string(ctx, -1));
		return 4;
	}
	duk_pop(ctx);
	return 0;
}

/* Not in a cVM: the script is argv[1]. */
static int run_native(duk_context *ctx, int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "duktape: outside a cVM, give the JS file as the one argument\n");
		return 2;
	}
	int rc = run_script(ctx, argv[1]);
	duk_destroy_heap(ctx);
	return rc;
}

int main(int argc, char **argv)
{
	/* Unbuffered: a line is out before any later failure ends the cVM. */
	setvbuf(stdout, NULL, _IONBF, 0);
	duk_context *ctx = duk_create_heap(NULL, NULL, NULL, NULL, fatal);
	if (!ctx) {
		fprintf(stderr, "duktape: cannot create the heap\n");
		return 1;
	}
	duk_push_c_function(ctx, native_print, DUK_VARARGS);
	duk_put_global_string(ctx, "print");
	printf("template: heap created, print registered, saving\n");

	long r = host_save();
	if (r == -ENOSYS) /* not in a cVM: a plain process */
		return run_native(ctx, argc, argv);
	if (r < 0) {
		fprintf(stderr, "duktape: host_save failed: %ld\n", r);
		return 1;
	}
	char name[256];
	int got = host_save_arg(name, sizeof(name));
	if (got == 0) /* a template released, or a plain cVM without args */
		return 0;
	if (got < 0) {
		fprintf(stderr, "duktape: give the JS file name as args\n");
		return 2;
	}
	printf("get arg: \"%s\"\n", name);
	int rc = run_script(ctx, name);
	duk_destroy_heap(ctx);
	return rc;
}
