/*
 * Cap files from a freestanding cVM, for tests/cases/sharing.sh.  The args
 * name what it does:
 *
 *   probe KEY              probes KEY: "share probe KEY: 'TEXT'" (its bytes
 *                          up to the first NUL, at most 64) or "share probe
 *                          KEY: errno N"
 *   shrink KEY             probes KEY with the raw hostcall and tries to
 *                          shrink the descriptor it got: "share shrink KEY:
 *                          ftruncate errno N, size S"
 *   adv KEY NAMES TEXT     advertises a page holding TEXT as KEY for the
 *                          cVMs NAMES lists ("-": any): "share adv KEY: R"
 *   write KEY TEXT         probes KEY and writes TEXT at its start
 *
 * Exits 0 (1 when the args are not understood).
 */
#include "intravisor.h"

#define NR_close     3
#define NR_fstat     5
#define NR_ftruncate 77

long cvm_main(void);

static char args[512];
static char page[4096] __attribute__((aligned(4096)));

static void say(const char *what, const char *key, const char *rest)
{
	iv_puts("share ");
	iv_puts(what);
	iv_puts(" ");
	iv_puts(key);
	iv_puts(": ");
	iv_puts(rest);
}

static void sayn(const char *what, const char *key, const char *rest, long n, const char *end)
{
	char num[24];
	say(what, key, rest);
	iv_puts(iv_itoa(n, num));
	iv_puts(end);
}

/* The next blank-separated word of *p (NUL-terminated in place), or "". */
static char *word(char **p)
{
	char *s = *p;
	while (*s == ' ')
		s++;
	char *w = s;
	while (*s && *s != ' ')
		s++;
	if (*s)
		*s++ = 0;
	*p = s;
	return w;
}

static void probe(const char *key)
{
	void *at;
	long size, r = host_cap_file_prb(key, &at, &size);
	if (r < 0) {
		sayn("probe", key, "errno ", -r, "\n");
		return;
	}
	char text[65];
	const char *c = at;
	int n = 0;
	while (n < 64 && n < size && c[n])
		text[n] = c[n], n++;
	text[n] = 0;
	say("probe", key, "'");
	iv_puts(text);
	iv_puts("'\n");
}

static void shrink(const char *key)
{
	unsigned long addr = 0;
	long size = 0, st[18];
	long fd = iv_hostcall(HC_CF_PRB, (long)key, (long)&addr, (long)&size);
	if (fd < 0) {
		sayn("shrink", key, "probe errno ", -fd, "\n");
		return;
	}
	long r = iv_syscall6(NR_ftruncate, fd, 0, 0, 0, 0, 0);
	long f = iv_syscall6(NR_fstat, fd, (long)st, 0, 0, 0, 0);
	iv_syscall6(NR_close, fd, 0, 0, 0, 0, 0);
	char num[24];
	sayn("shrink", key, "ftruncate errno ", r < 0 ? -r : 0, ", size ");
	iv_puts(iv_itoa(f < 0 ? f : st[6], num)); /* st_size */
	iv_puts("\n");
}

static void adv(const char *key, const char *names, const char *text)
{
	memcpy(page, text, strlen(text) + 1);
	long r = host_cap_file_adv_to(page, sizeof(page), key, strcmp(names, "-") ? names : 0);
	sayn("adv", key, "", r, "\n");
}

static void write_cap(const char *key, const char *text)
{
	void *at;
	long size, r = host_cap_file_prb(key, &at, &size);
	if (r == 0)
		memcpy(at, text, strlen(text) + 1);
	sayn("write", key, "", r, "\n");
}

long cvm_main(void)
{
	host_get_arg(args, sizeof(args));
	char *p = args, *cmd = word(&p), *key = word(&p);
	if (!strcmp(cmd, "probe"))
		probe(key);
	else if (!strcmp(cmd, "shrink"))
		shrink(key);
	else if (!strcmp(cmd, "adv")) {
		char *names = word(&p);
		adv(key, names, p);
	} else if (!strcmp(cmd, "write"))
		write_cap(key, p);
	else
		return 1;
	return 0;
}
