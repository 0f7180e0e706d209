/*
 * Probes of what a cell sees and what its console lets through, for
 * tests/cases/harden_config.sh.  The args name the probe:
 *
 *   mounts MARKER   the disk had proc mounted at /proc, sysfs at /sys and
 *                   tmpfs at /shm (holding the file MARKER) before the run:
 *                   none of them may be visible.  Prints a line per look and
 *                   "probe mounts: nothing mounted inside the disk is
 *                   visible" (exit 0) or "probe mounts: SEEN N" (exit 1).
 *   holddir PATH    opens the directory PATH (its disk's /proc, empty in
 *                   the cell) and saves as a template with an image; once
 *                   restored it lists what the monitor reopened for it:
 *                   "probe holddir: entries of the restored PATH: N" (exit
 *                   1 when N > 0).
 *   console HOW     writes control characters, bidirectional overrides,
 *                   invalid UTF-8 and valid text, by host_write (HOW = hc,
 *                   also in chunks that split characters) or natively on
 *                   fd 1 (HOW = fd1).  Two channels would interleave.
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

/* Entries of an open directory other than . and .., or -errno. */
static long entries_fd(long fd)
{
	static char buf[4096];
	long n = 0, r;
	while ((r = sc3(NR_getdents64, fd, buf, sizeof(buf))) > 0)
		for (long off = 0; off < r;) {
			unsigned short reclen = *(unsigned short *)(buf + off + 16);
			const char *name = buf + off + 19;
			if (strcmp(name, ".") && strcmp(name, ".."))
				n++;
			off += reclen;
		}
	return r < 0 ? r : n;
}

static long entries(const char *path)
{
	long fd = sc4(NR_openat, AT_FDCWD, path, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return fd;
	long n = entries_fd(fd);
	sc3(NR_close, fd, 0, 0);
	return n;
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

/* ---- a directory held across an image ---- */

static long held = -1;

static __attribute__((noreturn)) void p_holddir(const char *path)
{
	if (host_inspect() == 1) {
		held = sc4(NR_openat, AT_FDCWD, path, O_RDONLY | O_DIRECTORY, 0);
		sayn("probe holddir: opened ", path, " as fd ", held);
		host_save(); /* the image is written; a restore goes on here */
	}
	long n = entries_fd(held);
	sayn("probe holddir: entries of the restored ", path, ": ", n);
	host_exit_code(n > 0 ? 1 : 0);
}

/* ---- console ---- */

static void hw(const char *s)
{
	host_write(s, (long)strlen(s));
}

static void fd1(const char *s)
{
	sc3(NR_write, 1, s, strlen(s));
}

static __attribute__((noreturn)) void p_console(const char *how)
{
	static const char *lines[] = {
		"c1 raw [\x9b"
		"31m]\n",
		"c1 utf8 [\xc2\x9b"
		"31m] [\xc2\x85]\n",
		"bidi [\xe2\x80\xae"
		"gnp.exe] [\xe2\x81\xa6] [\xe2\x80\x8f] [\xd8\x9c] [\xe2\x80\xa8]\n",
		"esc [\x1b[2K\x1b[1Gred] [\r] [\x7f] [\x07]\n",
		"text h\xc3\xa9llo w\xc3\xb6rld \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80 "
		"tab\tend\n",
		"bad [\xc0\xaf] [\xed\xa0\x80] [\xf5] [\xe2\x28\xa1] [\xff] [\xe2\x80]\n",
	};
	int native = !strcmp(how, "fd1");
	for (unsigned i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		(native ? fd1 : hw)(how);
		(native ? fd1 : hw)(" ");
		(native ? fd1 : hw)(lines[i]);
	}
	if (!native) {
		/* characters split across host_write calls */
		hw("split h\xc3");
		hw("\xa9llo \xe2");
		hw("\x80");
		hw("\xae end \xf0\x9f");
		hw("\x98\x80 \xc2");
		hw("\x9b cut \xe2\x80");
		hw("\n");
	}
	(native ? fd1 : hw)("probe console: done\n");
	/* a character cut short by the end of the output */
	(native ? fd1 : hw)("tail \xe2\x80");
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
	if (!strcmp(w[0], "holddir") && w[1])
		p_holddir(w[1]);
	if (!strcmp(w[0], "console") && w[1])
		p_console(w[1]);
	if (!strcmp(w[0], "wait"))
		p_wait(w[1] && !strcmp(w[1], "tpl"));
	say3("probe: unknown probe '", args, "'");
	host_exit_code(2);
}
