/*
 * Escape attempts from inside a cVM.  The args name the attempt (and give
 * its parameters); the cVM performs it and prints, besides detail lines,
 * one result line:
 *
 *   escape NAME: blocked (errno E[, E...])   then host_exit_code(0)
 *   escape NAME: SUCCEEDED ...               then host_exit_code(1)
 *
 * Attempts (see tests/cases/escape.sh for what each expects):
 *   open_host_file          host files outside the (empty) root
 *   write_root              creating files in the empty read-only root
 *   disk MARKER INO         with a disk: its file is readable, the host is not
 *   leaked_fds              no descriptor of the monitor's is reachable
 *   identity                uid, pid namespace, hostname
 *   peek_memory ADDR        process_vm_readv / /proc/PID/mem on pids 1..400
 *   ptrace                  PTRACE_TRACEME / ATTACH / SEIZE on pids 1..400
 *   kill                    kill(-1), kill(0), kill(1..400), tkill, tgkill
 *   socket                  AF_INET, AF_INET6, AF_UNIX, AF_NETLINK, socketpair
 *   execve                  execve / execveat of /bin/sh
 *   syscall NAME            one raw system call outside the allowlist
 *   fork                    fork, vfork, clone without CLONE_THREAD, clone3
 *   fork_bomb               1000 x fork and 1000 x clone(SIGCHLD)
 *   thread_bomb             clone threads with small stacks until refused
 *   raise_rlimit            prlimit64 / setrlimit upwards
 *   mmap_bomb               16 MiB anonymous chunks, touched, until refused
 *   brk_bomb                brk in 16 MiB steps, touched, until refused
 *   write_code              store to cvm_main's code (SIGSEGV expected)
 *   mprotect_code           mprotect own code RWX and write (allowed: own memory)
 *   hostcall_into_code      hostcalls writing into read-only / PROT_NONE pages
 *   hostcall_ptr BEGIN END  hostcall pointers outside [BEGIN, END), wrapping, huge
 *   cap_adv_bomb BEGIN      advertise 1 MiB of itself as cap file after cap file
 *   adv_victim              advertises one page (must work beside a bomb)
 *   fd_bomb                 pipe2 until refused
 *   console_forge           console lines that pose as another cVM or the monitor
 *   console_flood MS LEN    writes fd 1 natively as fast as it can for MS ms,
 *                           in lines of LEN bytes
 *   int80                   the i386 system call gate
 *   x32                     an x32 system call number
 *   park                    the call a parked cell waits in (0x2fff), made by the
 *                           cVM itself: refused, never taken for a stub's
 *   sleep_interrupt N       N host_nanosleeps of 100 s, each cut short by a signal
 *                           from its own second thread; then a short sleep must work
 *   long_write KEY          one host_write_file of 64 MiB into cap file KEY
 *   victim MS               sleeps MS ms by host_nanosleep, then exits 0
 *   template                a template: each fork makes the attempt its args name
 *   alive                   prints one line and exits 0
 */
#include "intravisor.h"

/* x86-64 system call numbers */
#define NR_read		     0
#define NR_write	     1
#define NR_close	     3
#define NR_mmap		     9
#define NR_mprotect	     10
#define NR_munmap	     11
#define NR_brk		     12
#define NR_ioctl	     16
#define NR_nanosleep	     35
#define NR_getpid	     39
#define NR_socket	     41
#define NR_socketpair	     53
#define NR_clone	     56
#define NR_fork		     57
#define NR_vfork	     58
#define NR_execve	     59
#define NR_exit		     60
#define NR_kill		     62
#define NR_uname	     63
#define NR_fcntl	     72
#define NR_getrlimit	     97
#define NR_ptrace	     101
#define NR_getuid	     102
#define NR_geteuid	     107
#define NR_getppid	     110
#define NR_setrlimit	     160
#define NR_tkill	     200
#define NR_getdents64	     217
#define NR_tgkill	     234
#define NR_openat	     257
#define NR_newfstatat	     262
#define NR_prlimit64	     302
#define NR_process_vm_readv  310
#define NR_process_vm_writev 311
#define NR_execveat	     322
#define NR_pidfd_send_signal 424
#define NR_pidfd_open	     434
#define NR_clone3	     435

#define AT_FDCWD      -100
#define O_RDONLY      0
#define O_WRONLY      1
#define O_RDWR	      2
#define O_CREAT	      0100
#define O_DIRECTORY   0200000
#define PROT_NONE     0
#define PROT_READ     1
#define PROT_WRITE    2
#define PROT_EXEC     4
#define MAP_PRIVATE   2
#define MAP_ANONYMOUS 0x20
#define MAP_NORESERVE 0x4000
#define F_GETFD	      1
#define SIGKILL	      9
#define SIGCHLD	      17
#define RLIMIT_NPROC  6
#define RLIMIT_AS     9
#define RLIMIT_NOFILE 7

#define CLONE_VM      0x100
#define CLONE_FS      0x200
#define CLONE_FILES   0x400
#define CLONE_SIGHAND 0x800
#define CLONE_THREAD  0x10000
#define CLONE_SYSVSEM 0x40000
#define CLONE_NEWUSER 0x10000000

#define MiB (1UL << 20)

#define sc0(n)		   iv_syscall6((n), 0, 0, 0, 0, 0, 0)
#define sc1(n, a)	   iv_syscall6((n), (long)(a), 0, 0, 0, 0, 0)
#define sc2(n, a, b)	   iv_syscall6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define sc3(n, a, b, c)	   iv_syscall6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sc4(n, a, b, c, d) iv_syscall6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define sc5(n, a, b, c, d, e)                                                                      \
	iv_syscall6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

long cvm_main(void);

/* ---- output ---- */

static char line[1024];
static int linelen;

static void o_s(const char *s)
{
	while (*s && linelen < (int)sizeof(line) - 2)
		line[linelen++] = *s++;
}

static void o_d(long v)
{
	char b[24];
	o_s(iv_itoa(v, b));
}

static void o_x(unsigned long v)
{
	char b[24];
	o_s(iv_xtoa(v, b));
}

static void o_end(void)
{
	line[linelen++] = '\n';
	host_write(line, linelen);
	linelen = 0;
}

/* ---- the attempt's bookkeeping ---- */

static const char *attempt = "?";
static int errs[16], nerrs, successes;

static void o_head(void)
{
	o_s("escape ");
	o_s(attempt);
	o_s(": ");
}

/* Notes the result of one try that must fail. */
static void note(long r)
{
	if (r >= 0) {
		successes++;
		return;
	}
	for (int i = 0; i < nerrs; i++)
		if (errs[i] == -r)
			return;
	if (nerrs < 16)
		errs[nerrs++] = (int)-r;
}

/* One try that must fail, with a detail line "escape NAME: WHAT -> R". */
static void step(const char *what, long r)
{
	note(r);
	o_head();
	o_s(what);
	o_s(" -> ");
	if (r < 0) {
		o_s("errno ");
		o_d(-r);
	} else {
		o_d(r);
		o_s(" (SUCCEEDED)");
	}
	o_end();
}

/* A try repeated over a range, summarised in one detail line. */
static void summary(const char *what, long tries, long ok, long first_err)
{
	o_head();
	o_s(what);
	o_s(": ");
	o_d(tries);
	o_s(" tries, ");
	o_d(ok);
	o_s(" succeeded");
	if (first_err) {
		o_s(", errno ");
		o_d(first_err);
	}
	o_end();
}

static __attribute__((noreturn)) void done_extra(const char *extra)
{
	o_head();
	if (successes) {
		o_s("SUCCEEDED (");
		o_d(successes);
		o_s(" of the tries)");
	} else {
		o_s("blocked");
		for (int i = 0; i < nerrs; i++) {
			o_s(i ? ", " : " (errno ");
			o_d(errs[i]);
		}
		if (nerrs)
			o_s(")");
	}
	if (extra)
		o_s(extra);
	o_end();
	host_exit_code(successes ? 1 : 0);
}

static __attribute__((noreturn)) void done(void)
{
	done_extra(0);
}

/* ---- small helpers ---- */

static unsigned long num(const char *s)
{
	unsigned long v = 0;
	if (!s)
		return 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		for (s += 2; *s; s++) {
			int d = *s >= '0' && *s <= '9'	 ? *s - '0'
				: *s >= 'a' && *s <= 'f' ? *s - 'a' + 10
				: *s >= 'A' && *s <= 'F' ? *s - 'A' + 10
							 : -1;
			if (d < 0)
				break;
			v = v * 16 + (unsigned long)d;
		}
		return v;
	}
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (unsigned long)(*s++ - '0');
	return v;
}

/* "/proc/" N SUFFIX into buf */
static char *proc_path(char *buf, long pid, const char *suffix)
{
	char n[24];
	int k = 0;
	for (const char *s = "/proc/"; *s;)
		buf[k++] = *s++;
	for (const char *s = iv_itoa(pid, n); *s;)
		buf[k++] = *s++;
	for (const char *s = suffix; *s;)
		buf[k++] = *s++;
	buf[k] = 0;
	return buf;
}

static long open_ro(const char *path)
{
	long fd = sc4(NR_openat, AT_FDCWD, path, O_RDONLY, 0);
	if (fd >= 0)
		sc1(NR_close, fd);
	return fd;
}

static void sleep_ms(long ms)
{
	struct iv_timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	host_nanosleep(&ts, 0);
}

/* Hides a pointer's origin from the optimiser. */
static void *launder(void *p)
{
	__asm__ volatile("" : "+r"(p));
	return p;
}

/*
 * A process-creating call whose child, should there be one, exits at once
 * without touching the (possibly shared) stack: rax == 0 -> exit(0).
 */
static long forkish(long nr, long a0, long a1)
{
	long ret;
	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "mov $60, %%eax\n\t"
			 "xor %%edi, %%edi\n\t"
			 "syscall\n\t"
			 "hlt\n"
			 "1:"
			 : "=a"(ret)
			 : "a"(nr), "D"(a0), "S"(a1), "d"(0L)
			 : "rcx", "r11", "r8", "r9", "r10", "memory");
	return ret;
}

/*
 * clone(flags, stack): the new thread starts on stack and loops sleeping
 * one second forever (it is killed with its cVM).
 */
static long thread_spawn(long flags, void *stack_top)
{
	long ret;
	register long r10 __asm__("r10") = 0;
	register long r8 __asm__("r8") = 0;
	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 2f\n"
			 "1:\n\t"
			 "pushq $0\n\t"
			 "pushq $1\n\t"
			 "mov %%rsp, %%rdi\n\t"
			 "xor %%esi, %%esi\n\t"
			 "mov $35, %%eax\n\t"
			 "syscall\n\t"
			 "add $16, %%rsp\n\t"
			 "jmp 1b\n"
			 "2:"
			 : "=a"(ret)
			 : "a"((long)NR_clone), "D"(flags), "S"(stack_top), "d"(0L), "r"(r10),
			   "r"(r8)
			 : "rcx", "r11", "r9", "memory");
	return ret;
}

/* ---- the attempts ---- */

static void list_root(int print, long *count)
{
	static char dents[4096] __attribute__((aligned(8)));
	long fd = sc4(NR_openat, AT_FDCWD, "/", O_RDONLY | O_DIRECTORY, 0);
	*count = 0;
	if (fd < 0) {
		step("open the root directory", fd);
		return;
	}
	long n;
	while ((n = sc3(NR_getdents64, fd, dents, sizeof(dents))) > 0) {
		for (long off = 0; off < n;) {
			unsigned short reclen = *(unsigned short *)(dents + off + 16);
			const char *name = dents + off + 19;
			if (strcmp(name, ".") && strcmp(name, "..")) {
				++*count;
				if (print) {
					o_head();
					o_s("root entry ");
					o_s(name);
					o_end();
				}
			}
			off += reclen;
		}
	}
	sc1(NR_close, fd);
}

static const char *host_files[] = {
	"/etc/passwd",
	"/proc/self/maps",
	"../../etc/passwd",
	"/proc/1/mem",
	"/proc/self/environ",
	"/sys/kernel",
	"/dev/null",
	"/bin/sh",
	"/../../../../etc/shadow",
};

static __attribute__((noreturn)) void a_open_host_file(void)
{
	for (unsigned i = 0; i < sizeof(host_files) / sizeof(host_files[0]); i++) {
		char what[128] = "openat ";
		memcpy(what + 7, host_files[i], strlen(host_files[i]) + 1);
		step(what, open_ro(host_files[i]));
	}
	long cwd = sc4(NR_openat, AT_FDCWD, "..", O_RDONLY | O_DIRECTORY, 0);
	if (cwd >= 0) /* ".." of the root is the root: it opens, and is empty */
		sc1(NR_close, cwd);
	long n;
	list_root(1, &n);
	o_head();
	o_s("root has ");
	o_d(n);
	o_s(" entries");
	o_end();
	if (n)
		successes++;
	done();
}

static __attribute__((noreturn)) void a_write_root(void)
{
	step("openat /x O_CREAT", sc4(NR_openat, AT_FDCWD, "/x", O_WRONLY | O_CREAT, 0644));
	step("mkdirat /d", sc3(258, AT_FDCWD, "/d", 0755));
	step("openat / O_RDWR", sc4(NR_openat, AT_FDCWD, "/", O_RDWR, 0));
	done();
}

static __attribute__((noreturn)) void a_disk(const char *marker, unsigned long ino)
{
	static char buf[256];
	long fd = sc4(NR_openat, AT_FDCWD, "/hello.txt", O_RDONLY, 0);
	long n = fd >= 0 ? sc3(NR_read, fd, buf, sizeof(buf) - 1) : fd;
	if (fd >= 0)
		sc1(NR_close, fd);
	o_head();
	if (n < 0) {
		o_s("cannot read /hello.txt: errno ");
		o_d(-n);
		o_end();
		host_exit_code(2);
	}
	buf[n] = 0;
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = 0;
	o_s("/hello.txt says: ");
	o_s(buf);
	o_end();
	if (marker && strcmp(buf, marker)) {
		iv_puts("escape disk: the file does not hold the marker\n");
		host_exit_code(2);
	}
	/* The same file by a relative path, from a cwd that climbs out. */
	fd = sc4(NR_openat, AT_FDCWD, "../../../hello.txt", O_RDONLY, 0);
	o_head();
	o_s(fd >= 0 ? "../../../hello.txt is the same file" : "../../../hello.txt missing");
	o_end();
	if (fd >= 0)
		sc1(NR_close, fd);

	static unsigned long st[18]; /* struct stat: st_dev, st_ino, ... */
	long r = sc4(NR_newfstatat, AT_FDCWD, "/", st, 0);
	o_head();
	o_s("root inode ");
	o_d(r == 0 ? (long)st[1] : r);
	o_s(r == 0 && st[1] == ino ? " matches the disk" : " differs from the disk");
	o_end();
	if (r || st[1] != ino)
		host_exit_code(2);

	long entries;
	list_root(1, &entries);

	step("openat /etc/passwd", open_ro("/etc/passwd"));
	step("openat ../../etc/passwd", open_ro("../../etc/passwd"));
	step("openat /passwd (symlink to /etc/passwd)", open_ro("/passwd"));
	step("openat /up/etc/passwd (symlink up ../../../..)", open_ro("/up/etc/passwd"));
	step("openat /proc/self/maps", open_ro("/proc/self/maps"));
	step("openat /hello.txt O_WRONLY", sc4(NR_openat, AT_FDCWD, "/hello.txt", O_WRONLY, 0));
	step("openat /new O_CREAT", sc4(NR_openat, AT_FDCWD, "/new", O_WRONLY | O_CREAT, 0644));
	done();
}

static __attribute__((noreturn)) void a_leaked_fds(void)
{
	o_head();
	o_s("open fds:");
	for (long fd = 0; fd < 1024; fd++) {
		long r = sc2(NR_fcntl, fd, F_GETFD);
		if (r >= 0) {
			o_s(" ");
			o_d(fd);
			if (fd > 2)
				successes++;
		} else {
			note(r);
		}
	}
	o_end();
	done();
}

static __attribute__((noreturn)) void a_identity(void)
{
	static char uts[6 * 65];
	long uid = sc0(NR_getuid), euid = sc0(NR_geteuid), pid = sc0(NR_getpid),
	     ppid = sc0(NR_getppid);
	sc1(NR_uname, uts);
	o_head();
	o_s("uid ");
	o_d(uid);
	o_s(" euid ");
	o_d(euid);
	o_s(" pid ");
	o_d(pid);
	o_s(" ppid ");
	o_d(ppid);
	o_s(" nodename ");
	o_s(uts + 65);
	o_end();
	if (uid < 200000 || euid < 200000 || pid != 1 || ppid != 0)
		successes++;
	done_extra(" (an unprivileged uid, pid 1 of its own pid namespace)");
}

static __attribute__((noreturn)) void a_peek_memory(unsigned long addr)
{
	char local[64];
	struct {
		void *base;
		unsigned long len;
	} l = {local, sizeof(local)}, r = {(void *)addr, sizeof(local)};
	long ok = 0, first = 0;
	for (long pid = 1; pid <= 400; pid++) {
		long x = sc5(NR_process_vm_readv, pid, &l, 1, &r, 1);
		note(x);
		ok += x >= 0;
		if (!first && x < 0)
			first = -x;
	}
	summary("process_vm_readv pids 1..400", 400, ok, first);
	step("process_vm_writev pid 1", sc5(NR_process_vm_writev, 1, &l, 1, &r, 1));
	ok = first = 0;
	for (long pid = 1; pid <= 400; pid++) {
		char path[48];
		long x = open_ro(proc_path(path, pid, "/mem"));
		note(x);
		ok += x >= 0;
		if (!first && x < 0)
			first = -x;
	}
	summary("openat /proc/PID/mem pids 1..400", 400, ok, first);
	step("openat /proc/self/mem", open_ro("/proc/self/mem"));
	step("pidfd_open pid 1", sc2(NR_pidfd_open, 1, 0));
	done();
}

static __attribute__((noreturn)) void a_ptrace(void)
{
	step("ptrace PTRACE_TRACEME", sc4(NR_ptrace, 0, 0, 0, 0));
	long ok = 0, first = 0;
	for (long pid = 1; pid <= 400; pid++) {
		long x = sc4(NR_ptrace, 16 /* PTRACE_ATTACH */, pid, 0, 0);
		long y = sc4(NR_ptrace, 0x4206 /* PTRACE_SEIZE */, pid, 0, 0);
		note(x);
		note(y);
		ok += (x >= 0) + (y >= 0);
		if (!first && x < 0)
			first = -x;
	}
	summary("ptrace ATTACH and SEIZE pids 1..400", 800, ok, first);
	done();
}

static __attribute__((noreturn)) void a_kill(void)
{
	step("kill(-1, SIGKILL)", sc2(NR_kill, -1, SIGKILL));
	step("kill(0, SIGKILL)", sc2(NR_kill, 0, SIGKILL));
	step("kill(1, SIGKILL)", sc2(NR_kill, 1, SIGKILL));
	long ok = 0, first = 0;
	for (long pid = 2; pid <= 400; pid++) {
		long x = sc2(NR_kill, pid, SIGKILL);
		note(x);
		ok += x >= 0;
		if (!first && x < 0)
			first = -x;
	}
	summary("kill(PID, SIGKILL) pids 2..400", 399, ok, first);
	/* tkill and tgkill run natively: the pid namespace holds no one else. */
	ok = first = 0;
	for (long pid = 2; pid <= 400; pid++) {
		long x = sc2(NR_tkill, pid, SIGKILL);
		long y = sc3(NR_tgkill, pid, pid, SIGKILL);
		note(x);
		note(y);
		ok += (x >= 0) + (y >= 0);
		if (!first && x < 0)
			first = -x;
	}
	summary("tkill and tgkill(PID, SIGKILL) pids 2..400", 798, ok, first);
	step("pidfd_send_signal", sc4(NR_pidfd_send_signal, 0, SIGKILL, 0, 0));
	done();
}

static __attribute__((noreturn)) void a_socket(void)
{
	int sv[2];
	step("socket(AF_INET, SOCK_STREAM)", sc3(NR_socket, 2, 1, 0));
	step("socket(AF_INET6, SOCK_DGRAM)", sc3(NR_socket, 10, 2, 0));
	step("socket(AF_UNIX, SOCK_STREAM)", sc3(NR_socket, 1, 1, 0));
	step("socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)", sc3(NR_socket, 16, 3, 0));
	step("socketpair(AF_UNIX)", sc4(NR_socketpair, 1, 1, 0, sv));
	done();
}

static __attribute__((noreturn)) void a_execve(void)
{
	static const char *argv[] = {"/bin/sh", "-c", "id", 0};
	static const char *envp[] = {0};
	step("execve /bin/sh", sc3(NR_execve, "/bin/sh", argv, envp));
	step("execveat /bin/sh", sc5(NR_execveat, AT_FDCWD, "/bin/sh", argv, envp, 0));
	done();
}

/* Raw system calls outside the allowlist, with arguments that would do harm
 * (or at least succeed) were they allowed; harmless ones where not. */
struct sys {
	const char *name;
	long nr, a[5];
};

static char tiocsti_c = 'x';

static long sys_args_dummy[8];

static const struct sys syscalls[] = {
	{"mount", 165, {(long)"none", (long)"/", (long)"tmpfs", 0, 0}},
	{"umount2", 166, {(long)"/", 2 /* MNT_DETACH */}},
	{"pivot_root", 155, {(long)"/", (long)"/"}},
	{"chroot", 161, {(long)".."}},
	{"reboot", 169, {0, 0, 0, 0}}, /* no magic: EINVAL even for root */
	{"init_module", 175, {0, 0, (long)""}},
	{"finit_module", 313, {0, (long)"", 0}},
	{"delete_module", 176, {(long)"nonexistent", 0}},
	{"kexec_load", 246, {0, 0, 0, 0}},
	{"unshare", 272, {CLONE_NEWUSER}},
	{"setns", 308, {1, 0}},
	{"keyctl", 250, {0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 1}},
	{"add_key", 248, {(long)"user", (long)"k", (long)"v", 1, -3}},
	{"bpf", 321, {0 /* BPF_MAP_CREATE */, (long)sys_args_dummy, 16}},
	{"io_uring_setup", 425, {8, (long)sys_args_dummy}},
	{"userfaultfd", 323, {0}},
	{"perf_event_open", 298, {(long)sys_args_dummy, 0, -1, -1, 0}},
	{"open_by_handle_at", 304, {AT_FDCWD, (long)sys_args_dummy, 0}},
	{"name_to_handle_at",
	 303,
	 {AT_FDCWD, (long)"/", (long)sys_args_dummy, (long)sys_args_dummy, 0}},
	{"setuid", 105, {0}},
	{"setresuid", 117, {0, 0, 0}},
	{"capset", 126, {(long)sys_args_dummy, (long)sys_args_dummy}},
	{"prctl", 157, {4 /* PR_SET_DUMPABLE */, 1}},
	{"seccomp", 317, {2 /* SECCOMP_GET_ACTION_AVAIL */, 0, (long)sys_args_dummy}},
	{"personality", 135, {0x0040000 /* ADDR_NO_RANDOMIZE */}},
	{"iopl", 172, {3}},
	{"ioperm", 173, {0, 1024, 1}},
	{"sethostname", 170, {(long)"host", 4}},
	{"settimeofday", 164, {0, 0}},
	{"syslog", 103, {3 /* SYSLOG_ACTION_READ_ALL */, (long)sys_args_dummy, 8}},
	{"mknodat", 259, {AT_FDCWD, (long)"/null", 020666, 0x103}},
	{"memfd_create", 319, {(long)"x", 0}},
	{"pidfd_open", 434, {1, 0}},
	{"pidfd_getfd", 438, {0, 0, 0}},
	{"fsopen", 430, {(long)"tmpfs", 0}},
	{"open_tree", 428, {AT_FDCWD, (long)"/", 1 /* OPEN_TREE_CLONE */}},
	{"setrlimit", 160, {RLIMIT_AS, (long)sys_args_dummy}},
	{"fchmodat", 268, {AT_FDCWD, (long)"/", 0777}},
	{"linkat", 265, {AT_FDCWD, (long)"/x", AT_FDCWD, (long)"/y", 0}},
	{"symlinkat", 266, {(long)"/etc/passwd", AT_FDCWD, (long)"/passwd"}},
	{"renameat2", 316, {AT_FDCWD, (long)"/a", AT_FDCWD, (long)"/b", 2 /* RENAME_EXCHANGE */}},
	{"fchownat", 260, {AT_FDCWD, (long)"/", 0, 0, 0}},
	{"kcmp", 312, {1, 1, 0, 0, 0}},
	{"move_mount", 429, {-1, (long)"", AT_FDCWD, (long)"/", 4}},
	{"ioctl_tiocsti", NR_ioctl, {0, 0x5412 /* TIOCSTI */, (long)&tiocsti_c}},
	{"nr_minus_1", -1, {0}},
	{"nr_huge", 0x3ffffff0, {0}}, /* below the x32 bit, above every hostcall */
};

static __attribute__((noreturn)) void a_syscall(const char *name)
{
	static char label[96] = "syscall ";
	if (name && strlen(name) < 80) {
		memcpy(label + 8, name, strlen(name) + 1);
		attempt = label;
	}
	for (unsigned i = 0; name && i < sizeof(syscalls) / sizeof(syscalls[0]); i++) {
		const struct sys *s = &syscalls[i];
		if (strcmp(s->name, name))
			continue;
		step(name, iv_syscall6(s->nr, s->a[0], s->a[1], s->a[2], s->a[3], s->a[4], 0));
		done();
	}
	iv_puts("escape syscall: unknown system call name\n");
	host_exit_code(2);
}

static __attribute__((noreturn)) void a_fork(void)
{
	step("fork", forkish(NR_fork, 0, 0));
	step("vfork", forkish(NR_vfork, 0, 0));
	step("clone(SIGCHLD)", forkish(NR_clone, SIGCHLD, 0));
	step("clone(CLONE_VM|SIGCHLD)", forkish(NR_clone, CLONE_VM | SIGCHLD, 0));
	step("clone(CLONE_THREAD|CLONE_VM|CLONE_SIGHAND|CLONE_NEWUSER)",
	     forkish(NR_clone, CLONE_THREAD | CLONE_VM | CLONE_SIGHAND | CLONE_NEWUSER, 0));
	static unsigned long args[11]; /* struct clone_args: flags 0, exit_signal SIGCHLD */
	args[4] = SIGCHLD;
	step("clone3", forkish(NR_clone3, (long)args, 64 /* CLONE_ARGS_SIZE_VER0 */));
	done();
}

static __attribute__((noreturn)) void a_fork_bomb(void)
{
	long ok = 0, first = 0;
	for (int i = 0; i < 1000; i++) {
		long x = forkish(NR_fork, 0, 0);
		note(x);
		ok += x >= 0;
		if (!first && x < 0)
			first = -x;
	}
	summary("fork x 1000", 1000, ok, first);
	ok = first = 0;
	for (int i = 0; i < 1000; i++) {
		long x = forkish(NR_clone, SIGCHLD, 0);
		note(x);
		ok += x >= 0;
		if (!first && x < 0)
			first = -x;
	}
	summary("clone(SIGCHLD) x 1000", 1000, ok, first);
	done();
}

static __attribute__((noreturn)) void a_thread_bomb(void)
{
	const long flags =
		CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
	const unsigned long stack = 16384;
	unsigned long lim[2] = {0, 0};
	sc2(NR_getrlimit, RLIMIT_NPROC, lim);
	long threads = 0, err = 0;
	for (int i = 0; i < 1000; i++) {
		long m = iv_syscall6(NR_mmap, 0, (long)stack, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m < 0) {
			err = m;
			break;
		}
		long t = thread_spawn(flags, (char *)m + stack);
		if (t < 0) {
			sc2(NR_munmap, m, stack);
			err = t;
			break;
		}
		threads++;
	}
	o_head();
	o_s("started ");
	o_d(threads);
	o_s(" threads under RLIMIT_NPROC ");
	o_d((long)lim[0]);
	o_end();
	sleep_ms(50); /* they all sleep; the cVM and the monitor go on */
	if (err == 0) {
		successes++;
		done_extra(" (1000 threads)");
	}
	note(err);
	char extra[64];
	int k = 0;
	for (const char *s = " after "; *s;)
		extra[k++] = *s++;
	char n[24];
	for (const char *s = iv_itoa(threads, n); *s;)
		extra[k++] = *s++;
	for (const char *s = " threads"; *s;)
		extra[k++] = *s++;
	extra[k] = 0;
	done_extra(extra);
}

static __attribute__((noreturn)) void a_raise_rlimit(void)
{
	unsigned long inf[2] = {~0UL, ~0UL};
	step("prlimit64(0, RLIMIT_AS, unlimited)", sc4(NR_prlimit64, 0, RLIMIT_AS, inf, 0));
	step("prlimit64(0, RLIMIT_NPROC, unlimited)", sc4(NR_prlimit64, 0, RLIMIT_NPROC, inf, 0));
	step("prlimit64(0, RLIMIT_NOFILE, unlimited)", sc4(NR_prlimit64, 0, RLIMIT_NOFILE, inf, 0));
	step("prlimit64(1, RLIMIT_AS, unlimited)", sc4(NR_prlimit64, 1, RLIMIT_AS, inf, 0));
	/* the pid in the upper half, 0 in the lower: the kernel reads an int */
	step("prlimit64(1<<32, RLIMIT_AS, unlimited)",
	     sc4(NR_prlimit64, 1L << 32, RLIMIT_AS, inf, 0));
	step("setrlimit(RLIMIT_AS, unlimited)", sc2(NR_setrlimit, RLIMIT_AS, inf));
	done();
}

static void print_as_limit(void)
{
	unsigned long lim[2] = {0, 0};
	sc2(NR_getrlimit, RLIMIT_AS, lim);
	o_head();
	o_s("RLIMIT_AS ");
	o_d((long)(lim[0] / MiB));
	o_s(" MiB");
	o_end();
}

static char *mib_extra(char *buf, unsigned long mib)
{
	char n[24];
	int k = 0;
	for (const char *s = " after "; *s;)
		buf[k++] = *s++;
	for (const char *s = iv_itoa((long)mib, n); *s;)
		buf[k++] = *s++;
	for (const char *s = " MiB"; *s;)
		buf[k++] = *s++;
	buf[k] = 0;
	return buf;
}

static __attribute__((noreturn)) void a_mmap_bomb(void)
{
	const unsigned long chunk = 16 * MiB;
	unsigned long total = 0;
	long err = 0;
	print_as_limit();
	step("mmap 1 GiB PROT_NONE MAP_NORESERVE",
	     iv_syscall6(NR_mmap, 0, 1L << 30, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
	for (int i = 0; i < 64; i++) { /* 1 GiB */
		long m = iv_syscall6(NR_mmap, 0, (long)chunk, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m < 0) {
			err = m;
			break;
		}
		for (unsigned long off = 0; off < chunk; off += 4096)
			((volatile char *)m)[off] = 1;
		total += chunk;
	}
	char extra[48];
	if (err == 0) {
		successes++;
		done_extra(mib_extra(extra, total / MiB));
	}
	note(err);
	done_extra(mib_extra(extra, total / MiB));
}

static __attribute__((noreturn)) void a_brk_bomb(void)
{
	const unsigned long chunk = 16 * MiB;
	unsigned long start = (unsigned long)sc1(NR_brk, 0), cur = start;
	int failed = 0;
	print_as_limit();
	for (int i = 0; i < 64; i++) {
		unsigned long want = cur + chunk;
		unsigned long got = (unsigned long)sc1(NR_brk, want);
		if (got < want) {
			failed = 1;
			break;
		}
		for (unsigned long a = cur; a < want; a += 4096)
			((volatile char *)a)[0] = 1;
		cur = got;
	}
	char extra[48];
	if (!failed) {
		successes++;
		done_extra(mib_extra(extra, (cur - start) / MiB));
	}
	note(-12); /* brk reports failure by not moving: ENOMEM */
	done_extra(mib_extra(extra, (cur - start) / MiB));
}

static __attribute__((noreturn)) void a_write_code(void)
{
	volatile unsigned char *p = launder((void *)cvm_main);
	o_head();
	o_s("writing to cvm_main at ");
	o_x((unsigned long)p);
	o_end();
	*p = 0xcc;
	successes++;
	done_extra(" (the store to code went through)");
}

static __attribute__((noreturn)) void a_mprotect_code(void)
{
	volatile unsigned char *p = launder((void *)cvm_main);
	unsigned long page = (unsigned long)p & ~4095UL;
	long r = sc3(NR_mprotect, page, 4096, PROT_READ | PROT_WRITE | PROT_EXEC);
	if (r == 0) {
		unsigned char v = *p;
		*p = v;
	}
	o_head();
	if (r == 0)
		o_s("allowed: mprotect of its own code to RWX and a store into it (own memory, not "
		    "an escape)");
	else {
		o_s("mprotect of its own code refused: errno ");
		o_d(-r);
	}
	o_end();
	host_exit_code(0);
}

static char pages[3 * 4096] __attribute__((aligned(4096)));

static __attribute__((noreturn)) void a_hostcall_into_code(void)
{
	unsigned char *code = launder((void *)cvm_main);
	unsigned char before[16], after[16];
	memcpy(before, code, 16);
	step("get_arg into cvm_main's code (r-x)", host_get_arg((char *)code, 16));
	step("gettimeofday into cvm_main's code (r-x)",
	     host_gettimeofday((struct iv_timeval *)code, 0));
	memcpy(after, code, 16);
	o_head();
	o_s(memcmp(before, after, 16) ? "the code CHANGED" : "the code is unchanged");
	o_end();
	if (memcmp(before, after, 16))
		successes++;

	char *none = pages, *ro = pages + 4096;
	memcpy(ro, "read-only\n", 10);
	sc3(NR_mprotect, none, 4096, PROT_NONE);
	sc3(NR_mprotect, ro, 4096, PROT_READ);
	step("write from a PROT_NONE page", host_write(none, 16));
	step("get_arg into a PROT_NONE page", host_get_arg(none, 16));
	step("get_arg into a read-only page", host_get_arg(ro, 16));
	step("gettimeofday into a read-only page", host_gettimeofday((struct iv_timeval *)ro, 0));
	o_head();
	o_s(memcmp(ro, "read-only\n", 10) ? "the read-only page CHANGED"
					  : "the read-only page is unchanged");
	o_end();
	if (memcmp(ro, "read-only\n", 10))
		successes++;
	done();
}

static int hp_bad;

/* A hostcall that must fail with -EFAULT or -EINVAL. */
static void hp(const char *what, unsigned long a, unsigned long b, long r)
{
	o_head();
	o_s(what);
	o_s("(");
	o_x(a);
	o_s(", ");
	o_x(b);
	o_s(") -> ");
	o_d(r);
	if (r != -14 && r != -22) {
		o_s(" (UNEXPECTED)");
		hp_bad++;
		if (r >= 0)
			successes++;
	}
	o_end();
	note(r);
}

static __attribute__((noreturn)) void a_hostcall_ptr(unsigned long b, unsigned long e)
{
	if (!b || e <= b) {
		iv_puts("escape hostcall_ptr: needs BEGIN END\n");
		host_exit_code(2);
	}
	static const struct {
		long da, len;
		int base; /* 0: absolute, 1: from begin, 2: from end */
	} w[] = {
		{-1, 2, 1},
		{-4096, 4096, 1},
		{-1, 1, 1},
		{-1, 2, 2},
		{0, 1, 2},
		{-8, 16, 2},
		{-0x100, 0x1000, 2},
		{(long)0xffffffffffff0000, 0x20000, 0},
		{(long)0xfffffffffffff000, 0x1000, 0},
		{-1, 2, 0},
		{0, 1, 0},
		{0x10, 4, 0},
		{0x7ffffffff000, 16, 0},
		{(long)0xffff800000000000, 16, 0},
		{0, 0x7fffffffffffffff, 1},
		{0, -1, 1},
		{0, (1 << 20) + 1, 1},
		{-1, -1, 2},
	};
	for (unsigned i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		unsigned long a = (unsigned long)w[i].da + (w[i].base == 1   ? b
							    : w[i].base == 2 ? e
									     : 0);
		hp("write", a, (unsigned long)w[i].len, host_write((const char *)a, w[i].len));
	}
	/* inside [begin, end) but in the hole between image and stack: unmapped */
	unsigned long hole = b + (e - b) / 2;
	hp("write", hole, 16, host_write((const char *)hole, 16));

	hp("get_arg", b - 16, 16, host_get_arg((char *)(b - 16), 16));
	hp("get_arg", e - 8, 16, host_get_arg((char *)(e - 8), 16));
	hp("get_arg", e, 1, host_get_arg((char *)e, 1));
	hp("get_arg", 0xfffffffffffffff0, 0x20, host_get_arg((char *)0xfffffffffffffff0, 0x20));
	hp("nanosleep", e - 8, 0, host_nanosleep((struct iv_timespec *)(e - 8), 0));
	hp("nanosleep", 0xfffffffffffffff8, 0,
	   host_nanosleep((struct iv_timespec *)0xfffffffffffffff8, 0));
	hp("gettimeofday", e - 8, 0, host_gettimeofday((struct iv_timeval *)(e - 8), 0));
	struct iv_timeval tv;
	hp("gettimeofday tz", (unsigned long)&tv, 0xffffffffffff0000,
	   host_gettimeofday(&tv, (void *)0xffffffffffff0000));
	void *loc = 0;
	long size = 0;
	hp("cap_file_prb key", e, 0, iv_hostcall(HC_CF_PRB, (long)e, (long)&loc, (long)&size));
	hp("cap_file_prb key", 0xffffffffffffffff, 0,
	   iv_hostcall(HC_CF_PRB, -1, (long)&loc, (long)&size));
	hp("cap_file_adv", e, 4096, iv_hostcall(HC_CF_ADV, (long)e, 4096, (long)"adv1"));
	hp("cap_file_adv", b - 4096, 8192,
	   iv_hostcall(HC_CF_ADV, (long)(b - 4096), 8192, (long)"adv2"));
	hp("cap_file_adv", e - 4096, 1UL << 32,
	   iv_hostcall(HC_CF_ADV, (long)(e - 4096), 1L << 32, (long)"adv3"));
	hp("cap_file_adv", 0xfffffffffffff000, 0x2000,
	   iv_hostcall(HC_CF_ADV, (long)0xfffffffffffff000, 0x2000, (long)"adv4"));
	hp("open path", 0xffffffffffffffff, 0, host_open((const char *)-1, 0));
	hp("open path", e, 0, host_open((const char *)e, 0));

	/* With a cap file "t" in the config: read and write through its handle. */
	long h = host_open("/cap/t", 0);
	if (h >= 0) {
		hp("read into", e - 8, 16, host_read(h, (void *)(e - 8), 16));
		host_lseek(h, 0, 0);
		hp("read into", 0xffffffffffff0000, 0x20,
		   host_read(h, (void *)0xffffffffffff0000, 0x20));
		host_lseek(h, 0, 0);
		hp("write_file from", b - 16, 0x20, host_write_file(h, (void *)(b - 16), 0x20));
		hp("write_file from", 0xfffffffffffffff0, 0x20,
		   host_write_file(h, (void *)0xfffffffffffffff0, 0x20));
		host_close(h);
	}

	o_head();
	o_s(host_write("", 0) == 0 ? "the monitor still answers" : "the monitor is confused");
	o_end();
	done();
}

/*
 * Host memory by cap files: the monitor copies an advertised region into a
 * memfd of its own, which outlives the cVM's mapping.  Advertising the same
 * 1 MiB of the cVM under key after key makes the monitor hold 1 MiB more
 * each time; the cVM's own address space does not grow.
 */
static __attribute__((noreturn)) void a_cap_adv_bomb(unsigned long begin)
{
	const unsigned long len = MiB;
	unsigned long at = begin + 4 * MiB;
	long m = iv_syscall6(NR_mmap, (long)at, (long)len, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | 0x100000 /* MAP_FIXED_NOREPLACE */, -1,
			     0);
	if (m != (long)at) {
		o_head();
		o_s("cannot map the region: ");
		o_d(m);
		o_end();
		host_exit_code(2);
	}
	long held = 0, err = 0;
	for (int i = 0; i < 256; i++) {
		char key[16] = "bomb-";
		char n[24];
		memcpy(key + 5, iv_itoa(i, n), strlen(n) + 1);
		long fd = iv_hostcall(HC_CF_ADV, (long)at, (long)len, (long)key);
		if (fd < 0) {
			err = fd;
			break;
		}
		sc1(NR_close, fd);
		held++;
	}
	o_head();
	o_s("the monitor holds ");
	o_d(held);
	o_s(" cap files of 1 MiB = ");
	o_d(held);
	o_s(" MiB for this cVM");
	if (err) {
		o_s(", then errno ");
		o_d(-err);
	}
	o_end();
	unsigned long lim[2] = {0, 0};
	sc2(NR_getrlimit, RLIMIT_AS, lim);
	/* contained: no more than its own address-space limit in the monitor */
	if ((unsigned long)held * len > lim[0]) {
		successes++;
		done_extra(" (host memory past size + 64 MiB)");
	}
	note(err);
	done();
}

static __attribute__((noreturn)) void a_adv_victim(void)
{
	memcpy(pages, "victim's page", 14);
	long r = host_cap_file_adv(pages, 4096, "victim-page");
	o_s("escape adv_victim: advertising a page -> ");
	o_d(r);
	o_end();
	host_exit_code(r == 0 ? 0 : 1);
}

static __attribute__((noreturn)) void a_fd_bomb(void)
{
	int fds[2];
	long pipes = 0, err = 0;
	for (int i = 0; i < 1000; i++) {
		long r = sc2(293 /* pipe2 */, fds, 0);
		if (r < 0) {
			err = r;
			break;
		}
		pipes++;
	}
	if (err)
		note(err);
	else
		successes++;
	char extra[48], n[24];
	int k = 0;
	for (const char *p = " after "; *p;)
		extra[k++] = *p++;
	for (const char *p = iv_itoa(pipes, n); *p;)
		extra[k++] = *p++;
	for (const char *p = " pipes"; *p;)
		extra[k++] = *p++;
	extra[k] = 0;
	done_extra(extra);
}

static __attribute__((noreturn)) void a_console_forge(void)
{
	static const char forged[] = "\r[victim] escape victim: alive after 1500 ms\n"
				     "\n[victim] escape victim: started\n"
				     "\033[2K\033[1G[victim] forged by escape sequences\n"
				     "MON: cVM 'victim' exited with status 0\n";
	host_write(forged, sizeof(forged) - 1);
	/* natively, on fd 1, the same pipe the monitor reads */
	sc3(NR_write, 1, forged, sizeof(forged) - 1);
	static const char mon[] = "MON: cVM 'forge' said this on fd 2\n";
	sc3(NR_write, 2, mon, sizeof(mon) - 1);
	iv_puts("escape console_forge: blocked (every line is labelled)\n");
	host_exit_code(0);
}

/* Writes its console (fd 1, natively) as fast as it can for MS ms. */
static __attribute__((noreturn)) void a_console_flood(long ms, long linelen)
{
	static char buf[65536];
	if (linelen < 1 || linelen > 4096)
		linelen = 1;
	for (unsigned long i = 0; i < sizeof(buf); i++)
		buf[i] = (i + 1) % (unsigned long)linelen ? 'x' : '\n';
	struct iv_timeval t0, t;
	host_gettimeofday(&t0, 0);
	long bytes = 0;
	for (;;) {
		long r = sc3(NR_write, 1, buf, sizeof(buf));
		if (r > 0)
			bytes += r;
		host_gettimeofday(&t, 0);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_usec - t0.tv_usec) / 1000 >= ms)
			break;
	}
	o_s("\nescape console_flood: wrote ");
	o_d(bytes / 1024);
	o_s(" KiB in ");
	o_d(ms);
	o_s(" ms");
	o_end();
	host_exit_code(0);
}

static __attribute__((noreturn)) void a_int80(void)
{
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(20L /* i386 getpid */) : "memory");
	step("int 0x80 getpid", r);
	done();
}

static __attribute__((noreturn)) void a_x32(void)
{
	step("x32 getpid", sc0(0x40000000 | NR_getpid));
	done();
}

/* IV_SYS_PARK (plan.h): its answer hands a parked stub a plan; the cVM's
 * own is refused, as any number beyond the hostcall table. */
static __attribute__((noreturn)) void a_park(void)
{
	for (int i = 0; i < 3; i++)
		step("syscall 0x2fff", sc0(0x2fff));
	done();
}

#define NR_rt_sigaction 13
#define NR_gettid	186
#define SIGUSR1		10
#define SA_RESTORER	0x04000000

static void on_signal(int sig)
{
	(void)sig;
}

void escape_restorer(void);
__asm__(".text\nescape_restorer:\n\tmov $15, %eax\n\tsyscall\n\thlt\n");

static volatile long sleeper_tid, armed, interrupter_done;
static char interrupter_stack[65536] __attribute__((aligned(16)));

/* Signals the sleeper while it is armed, until told to stop. */
static void interrupter(long unused)
{
	(void)unused;
	struct iv_timespec ms = {0, 1000000};
	while (!interrupter_done) {
		if (armed)
			sc3(NR_tgkill, sc0(NR_getpid), sleeper_tid, SIGUSR1);
		sc2(NR_nanosleep, &ms, 0);
	}
	for (;;)
		sc1(NR_exit, 0);
}

static __attribute__((noreturn)) void a_sleep_interrupt(long n)
{
	struct {
		void (*h)(int);
		unsigned long flags;
		void (*restorer)(void);
		unsigned long mask;
	} sa = {on_signal, SA_RESTORER, escape_restorer, 0};
	sc4(NR_rt_sigaction, SIGUSR1, &sa, 0, 8);
	sleeper_tid = sc0(NR_gettid);
	iv_thread_spawn(interrupter, 0, interrupter_stack, sizeof(interrupter_stack));
	long cut = 0;
	for (long i = 0; i < n; i++) {
		struct iv_timespec t = {100, 0};
		armed = 1;
		cut += host_nanosleep(&t, 0) < 0;
		armed = 0;
	}
	interrupter_done = 1;
	struct iv_timespec t = {0, 10000000};
	long r = host_nanosleep(&t, 0);
	o_head();
	o_s("sleeps cut short: ");
	o_d(cut);
	o_s(", then a 10 ms sleep -> ");
	o_d(r);
	o_end();
	note(r == 0 ? -1 : 0); /* a refused sleep would mean the table filled */
	done();
}

static char big_buffer[2 << 20];

static __attribute__((noreturn)) void a_long_write(const char *key)
{
	char path[80] = "/cap/";
	memcpy(path + 5, key, strlen(key) + 1);
	long h = host_open(path, 0);
	/* 2 MiB of its own memory, then whatever lies beyond */
	long r = host_write_file(h, big_buffer, 64 << 20);
	o_head();
	o_s("one write_file of 64 MiB -> ");
	o_d(r);
	o_end();
	note(r > (1 << 20) ? 0 : -1); /* each call is bounded: a short write */
	done();
}

static __attribute__((noreturn)) void a_victim(long ms)
{
	iv_puts("escape victim: started\n");
	sleep_ms(ms);
	o_s("escape victim: alive after ");
	o_d(ms);
	o_s(" ms");
	o_end();
	host_exit_code(0);
}

long cvm_main(void)
{
	static char args[512];
	const char *w[8] = {0};
	int nw = 0;
	long r = host_get_arg(args, sizeof(args));
	if (r >= 0 && !strcmp(args, "template")) {
		host_save(); /* each fork goes on with the attempt its args name */
		r = host_get_arg(args, sizeof(args));
	}
	if (r < 0) {
		iv_puts("escape: no args\n");
		host_exit_code(2);
	}
	for (char *s = args; *s && nw < 8;) {
		while (*s == ' ')
			*s++ = 0;
		if (!*s)
			break;
		w[nw++] = s;
		while (*s && *s != ' ')
			s++;
	}
	if (!nw) {
		iv_puts("escape: no attempt named\n");
		host_exit_code(2);
	}
	attempt = w[0];
	const char *a = w[0];
	if (!strcmp(a, "open_host_file"))
		a_open_host_file();
	if (!strcmp(a, "write_root"))
		a_write_root();
	if (!strcmp(a, "disk"))
		a_disk(w[1], num(w[2]));
	if (!strcmp(a, "leaked_fds"))
		a_leaked_fds();
	if (!strcmp(a, "identity"))
		a_identity();
	if (!strcmp(a, "peek_memory"))
		a_peek_memory(w[1] ? num(w[1]) : 0x20000000);
	if (!strcmp(a, "ptrace"))
		a_ptrace();
	if (!strcmp(a, "kill"))
		a_kill();
	if (!strcmp(a, "socket"))
		a_socket();
	if (!strcmp(a, "execve"))
		a_execve();
	if (!strcmp(a, "syscall"))
		a_syscall(w[1]);
	if (!strcmp(a, "fork"))
		a_fork();
	if (!strcmp(a, "fork_bomb"))
		a_fork_bomb();
	if (!strcmp(a, "thread_bomb"))
		a_thread_bomb();
	if (!strcmp(a, "raise_rlimit"))
		a_raise_rlimit();
	if (!strcmp(a, "mmap_bomb"))
		a_mmap_bomb();
	if (!strcmp(a, "brk_bomb"))
		a_brk_bomb();
	if (!strcmp(a, "write_code"))
		a_write_code();
	if (!strcmp(a, "mprotect_code"))
		a_mprotect_code();
	if (!strcmp(a, "hostcall_into_code"))
		a_hostcall_into_code();
	if (!strcmp(a, "hostcall_ptr"))
		a_hostcall_ptr(num(w[1]), num(w[2]));
	if (!strcmp(a, "cap_adv_bomb"))
		a_cap_adv_bomb(w[1] ? num(w[1]) : 0x20000000);
	if (!strcmp(a, "adv_victim"))
		a_adv_victim();
	if (!strcmp(a, "fd_bomb"))
		a_fd_bomb();
	if (!strcmp(a, "console_forge"))
		a_console_forge();
	if (!strcmp(a, "console_flood"))
		a_console_flood(w[1] ? (long)num(w[1]) : 1000, w[2] ? (long)num(w[2]) : 1);
	if (!strcmp(a, "int80"))
		a_int80();
	if (!strcmp(a, "x32"))
		a_x32();
	if (!strcmp(a, "park"))
		a_park();
	if (!strcmp(a, "sleep_interrupt"))
		a_sleep_interrupt(w[1] ? (long)num(w[1]) : 300);
	if (!strcmp(a, "long_write"))
		a_long_write(w[1] ? w[1] : "big");
	if (!strcmp(a, "victim"))
		a_victim(w[1] ? (long)num(w[1]) : 1000);
	if (!strcmp(a, "alive")) {
		iv_puts("escape alive: the monitor still serves cVMs\n");
		host_exit_code(0);
	}
	iv_puts("escape: unknown attempt\n");
	host_exit_code(2);
}
