/*
 * Attacks on the snapshot directory from inside a template (see
 * tests/cases/harden_image.sh).  The args name one step, done before
 * host_save, whose result is printed as "probe: NAME ...: R" (0 or -errno):
 *
 *   mv FROM TO   rename(FROM, TO): move a link the test planted in the
 *                cVM's disk over the snapshot directory or one of its files
 *   mkdir DIR    mkdir(DIR, 0777): make the snapshot directory its own
 *   none         nothing
 *
 * Then it saves; a fork or restored copy prints "probe: resumed".
 */
#include "intravisor.h"

#define SYS_rename 82
#define SYS_mkdir  83

static char *word(char **s)
{
	while (**s == ' ')
		(*s)++;
	char *w = *s;
	while (**s && **s != ' ')
		(*s)++;
	if (**s)
		*(*s)++ = 0;
	return w;
}

static int same(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static void result(const char *what, const char *a, const char *b, long r)
{
	char num[24];
	iv_puts("probe: ");
	iv_puts(what);
	iv_puts(" ");
	iv_puts(a);
	if (*b) {
		iv_puts(" ");
		iv_puts(b);
	}
	iv_puts(": ");
	iv_puts(iv_itoa(r, num));
	iv_puts("\n");
}

long cvm_main(void)
{
	char arg[256];
	host_get_arg(arg, sizeof(arg));
	char *s = arg, *op = word(&s), *a = word(&s), *b = word(&s);
	if (same(op, "mv"))
		result("rename", a, b, iv_syscall6(SYS_rename, (long)a, (long)b, 0, 0, 0, 0));
	else if (same(op, "mkdir"))
		result("mkdir", a, "", iv_syscall6(SYS_mkdir, (long)a, 0777, 0, 0, 0, 0));
	host_save();
	iv_puts("probe: resumed\n");
	host_exit();
}
