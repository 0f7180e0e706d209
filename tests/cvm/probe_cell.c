/*
 * Probes of what a cell sees and what its console lets through, for
 * tests/cases/harden_config.sh.  The args name the probe:
 *
 *   mounts MARKER   the disk had proc mounted at /proc, sysfs at /sys and
 *                   tmpfs at /shm (holding the file MARKER) before the run:
 *                   none of them may be visible.  Prints a line per look and
 *                   "probe mounts: nothing mounted inside the disk is
 *                   visible" (exit 0) or "probe mounts: SEEN N" (exit 1).
 *   wait [tpl]      (tpl: saves as a template first, and its forks go on)
 *                   prints "probe wait: ready", then waits until the file
 *                   /go appears on its disk (at most 15 s), prints
 *                   "probe wait: go" and exits 0.
 */
#include "intravisor.h"

#define NR_write      1
#define NR_close      3
#define NR_getdents64 217
#define NR_openat     257
#define AT_FDCWD      -100
#define O_RDONLY      0
#define O_DIRECTORY   0200000

#define sc3(n, a, b, c)	   iv_syscall6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sc4(n, a, b, c, d) iv_syscall6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

long cvm_main(void);

static void say3(const char *a, const char *b, const char *c)
{
	iv_puts(a);
	iv_puts(b);
	iv_puts(c);
	iv_puts("\n");
}

/* "A B C N" */
static void sayn(const char *a, const char *b, const char *c, long n)
{
	char num[24];
	iv_puts(a);
	iv_puts(b);
	say3(c, "", iv_itoa(n, num));
}

/* ---- mounts ---- */

static int seen;

/* Entries of a directory other than . and .., or -errno. */
static long entries(const char *path)
{
	static char buf[4096];
	long fd = sc4(NR_openat, AT_FDCWD, path, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return fd;
	long n = 0, r;
	while ((r = sc3(NR_getdents64, fd, buf, sizeof(buf))) > 0)
		for (long off = 0; off < r;) {
			unsigned short reclen = *(unsigned short *)(buf + off + 16);
			const char *name = buf + off + 19;
			if (strcmp(name, ".") && strcmp(name, ".."))
				n++;
			off += reclen;
		}
	sc3(NR_close, fd, 0, 0);
	return r < 0 ? r : n;
}

static void look_dir(const char *path)
{
	long n = entries(path);
	if (n > 0)
		seen++;
	sayn("probe mounts: entries of ", path, ": ", n);
}

static void look_file(const char *path)
{
	long fd = sc4(NR_openat, AT_FDCWD, path, O_RDONLY, 0);
	if (fd >= 0) {
		seen++;
		sc3(NR_close, fd, 0, 0);
		say3("probe mounts: openat ", path, " -> opened (SEEN)");
		return;
	}
	sayn("probe mounts: openat ", path, " -> errno ", -fd);
}

static __attribute__((noreturn)) void p_mounts(const char *marker)
{
	static char shm_marker[128];
	char *q = shm_marker;
	for (const char *s = "/shm/"; *s;)
		*q++ = *s++;
	for (const char *s = marker; *s && q < shm_marker + sizeof(shm_marker) - 1;)
		*q++ = *s++;
	*q = 0;
	/* the disk's own entries: proc, sys, shm, file.txt */
	sayn("probe mounts: entries of ", "/", ": ", entries("/"));
	look_dir("/proc");
	look_file("/proc/1/status");
	look_file("/proc/self/status");
	look_file("/proc/self/mem");
	look_dir("/proc/self/fd");
	look_dir("/sys");
	look_file("/sys/kernel/uevent_seqnum");
	look_dir("/shm");
	look_file(shm_marker);
	if (seen) {
		sayn("probe mounts: ", "SEEN ", "", seen);
		host_exit_code(1);
	}
	iv_puts("probe mounts: nothing mounted inside the disk is visible\n");
	host_exit_code(0);
}

/* ---- wait ---- */

static __attribute__((noreturn)) void p_wait(int tpl)
{
	if (tpl && host_inspect() == 1)
		host_save(); /* a template stays here; its forks go on */
	iv_puts("probe wait: ready\n");
	struct iv_timespec ts = {0, 20 * 1000 * 1000};
	for (int i = 0; i < 750; i++) {
		long fd = sc4(NR_openat, AT_FDCWD, "/go", O_RDONLY, 0);
		if (fd >= 0) {
			sc3(NR_close, fd, 0, 0);
			iv_puts("probe wait: go\n");
			host_exit_code(0);
		}
		host_nanosleep(&ts, 0);
	}
	iv_puts("probe wait: no /go after 15 s\n");
	host_exit_code(2);
}

long cvm_main(void)
{
	static char args[256];
	host_get_arg(args, sizeof(args));
	char *w[3] = {args, 0, 0};
	int nw = 1;
	for (char *p = args; *p && nw < 3; p++)
		if (*p == ' ') {
			*p = 0;
			w[nw++] = p + 1;
		}
	if (!strcmp(w[0], "mounts") && w[1])
		p_mounts(w[1]);
	if (!strcmp(w[0], "wait"))
		p_wait(w[1] && !strcmp(w[1], "tpl"));
	say3("probe: unknown probe '", args, "'");
	host_exit_code(2);
}
