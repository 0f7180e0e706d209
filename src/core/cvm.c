/* One cVM: loading its image into a plan, deploying its cell, its console
 * and how it ended. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iv.h"

#define STACK_MAX	    (8UL << 20)
#define CELL_NPROC	    64
#define CELL_NPROC_TEMPLATE 4096
#define ELF_MAX		    (1UL << 30)

static const char *prot_str(int prot)
{
	static const char *s[] = {"---", "r--", "-w-", "rw-", "--x", "r-x", "-wx", "rwx"};
	return s[prot & 7];
}

/* Lays out every segment: file pages, zeroed tails, anonymous bss, then protections. */
static int plan_image(struct iv_plan *p, const struct iv_elf *elf)
{
	int rc = 0;
	for (size_t i = 0; i < elf->nseg; i++) {
		const struct iv_segment *s = &elf->seg[i];
		uint64_t lo = IV_ALIGN_DOWN(s->vaddr), file_end = s->vaddr + s->filesz;
		uint64_t mem_end = s->vaddr + s->memsz, anon_lo = lo;
		if (s->filesz) {
			anon_lo = IV_ALIGN_UP(file_end);
			rc |= iv_plan_op(p, IV_OP_MAP_FILE, lo, anon_lo - lo,
					 IV_ALIGN_DOWN(s->offset), 0);
			uint64_t tail_end = mem_end < anon_lo ? mem_end : anon_lo;
			if (s->memsz > s->filesz && tail_end > file_end)
				rc |= iv_plan_op(p, IV_OP_ZERO, file_end, tail_end - file_end, 0,
						 0);
		}
		if (IV_ALIGN_UP(mem_end) > anon_lo)
			rc |= iv_plan_op(p, IV_OP_MAP_ANON, anon_lo, IV_ALIGN_UP(mem_end) - anon_lo,
					 0, 0);
		iv_vlog("Mapped 0x%llx, segment = 0x%llx, len = 0x%llx, %s",
			(unsigned long long)s->offset, (unsigned long long)s->vaddr,
			(unsigned long long)s->memsz, prot_str(s->prot));
	}
	for (size_t i = 0; i < elf->nrelocs; i++)
		rc |= iv_plan_op(p, IV_OP_STORE64, elf->relocs[i].addr, 8, elf->relocs[i].value, 0);
	for (size_t i = 0; i < elf->nseg; i++) {
		const struct iv_segment *s = &elf->seg[i];
		uint64_t lo = IV_ALIGN_DOWN(s->vaddr);
		rc |= iv_plan_op(p, IV_OP_PROTECT, lo, IV_ALIGN_UP(s->vaddr + s->memsz) - lo, 0,
				 (uint32_t)s->prot);
	}
	return rc;
}

static uint64_t stack_size(const struct iv_cvm_cfg *cfg)
{
	return cfg->size / 4 < STACK_MAX ? IV_ALIGN_DOWN(cfg->size / 4) : STACK_MAX;
}

uint64_t iv_cvm_stack_size(const struct iv_cvm_cfg *cfg)
{
	return stack_size(cfg);
}

uint64_t iv_cvm_image_at(const struct iv_cvm_cfg *cfg)
{
	return cfg->base > cfg->begin && cfg->base < cfg->end ? cfg->base : cfg->begin;
}

/* Opens and validates cfg's runtime and lays it out: the ELF must parse and
 * leave room for the stack below end.  On success *fd is open. */
static int read_runtime(const struct iv_cvm_cfg *cfg, struct iv_elf *elf, int *fd_out,
			struct iv_err *err)
{
	int fd = open(cfg->runtime, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		return iv_fail(err, "cVM '%s': runtime '%s': %s", cfg->name, cfg->runtime,
			       strerror(errno));
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0 || (uint64_t)st.st_size > ELF_MAX) {
		close(fd);
		return iv_fail(err, "cVM '%s': runtime '%s': not a regular file of 1 byte to 1 GiB",
			       cfg->name, cfg->runtime);
	}
	void *buf = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (buf == MAP_FAILED) {
		close(fd);
		return iv_fail(err, "cVM '%s': runtime '%s': %s", cfg->name, cfg->runtime,
			       strerror(errno));
	}
	struct iv_err e2;
	/* (a position-independent image goes at base: begin unless given) */
	int rc = iv_elf_parse(buf, (size_t)st.st_size, iv_cvm_image_at(cfg), cfg->end, elf, &e2);
	munmap(buf, (size_t)st.st_size);
	if (rc) {
		close(fd);
		return iv_fail(err, "cVM '%s': runtime '%s': %s", cfg->name, cfg->runtime, e2.msg);
	}
	uint64_t stack = stack_size(cfg);
	if (elf->hi + IV_PAGE > cfg->end - stack) {
		iv_fail(err,
			"cVM '%s': runtime '%s': image [0x%llx, 0x%llx) leaves no room for the "
			"0x%llx-byte stack below end 0x%llx",
			cfg->name, cfg->runtime, (unsigned long long)elf->lo,
			(unsigned long long)elf->hi, (unsigned long long)stack,
			(unsigned long long)cfg->end);
		iv_elf_free(elf);
		close(fd);
		return -1;
	}
	*fd_out = fd;
	return 0;
}

/* The program's args and environment may take half its stack at most. */
static int check_stack(const struct iv_cvm_cfg *cfg, struct iv_err *err)
{
	size_t need = iv_stack_need(cfg->argv, cfg->envp);
	if (need > stack_size(cfg) / 2)
		return iv_fail(err,
			       "cVM '%s': args and env take %zu bytes, more than half of its "
			       "0x%llx-byte stack",
			       cfg->name, need, (unsigned long long)stack_size(cfg));
	return 0;
}

/* Where a program's cap files are granted (capfile: below stack_lo, above
 * image_hi): far from what the kernel gives a program's own mappings,
 * which it places top down from below its stack. */
#define PROGRAM_CAPS_LO 0x400000000000ULL
#define PROGRAM_CAPS_HI 0x500000000000ULL

/* Whether a program can start: its runtime, interpreter and libraries,
 * looked up inside its disk as the kernel and ld.so will. */
static int check_program(const struct iv_cvm_cfg *cfg, struct iv_err *err)
{
	int root = -1, fd = -1, rc;
	struct iv_program prog;
	struct iv_err e;
	if (cfg->disk && (root = open(cfg->disk, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return iv_fail(err, "cVM '%s': disk '%s': %s", cfg->name, cfg->disk,
			       strerror(errno));
	if (!cfg->runtime_in_disk && (fd = open(cfg->runtime, O_RDONLY | O_CLOEXEC)) < 0)
		rc = iv_fail(&e, "runtime '%s': %s", cfg->runtime, strerror(errno));
	else
		rc = iv_program_check(root, cfg->runtime, fd, cfg->runtime, &prog, &e);
	if (fd >= 0)
		close(fd);
	/* What the cell mounts a program where its disk has the directory. */
	char missing[64] = "";
	const char *dirs[] = {"dev", "proc", "tmp"};
	for (int i = 0; rc == 0 && root >= 0 && i < 3; i++) {
		struct stat st;
		if (fstatat(root, dirs[i], &st, AT_SYMLINK_NOFOLLOW) || !S_ISDIR(st.st_mode))
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing),
				 " /%s", dirs[i]);
	}
	if (missing[0])
		iv_log("cVM '%s': its disk has no%s directory: the program gets none (README "
		       "\"Programs\"; scripts/mkroot.sh makes them)",
		       cfg->name, missing);
	if (root >= 0)
		close(root);
	return rc ? iv_fail(err, "cVM '%s': %s", cfg->name, e.msg) : 0;
}

/* A program: the stub executes it once its filter is on (its runtime
 * inside its disk, or the runtime's file given as a descriptor). */
static int load_program(struct iv_cvm *cvm, struct iv_plan *p, int *elf_fd, struct iv_err *err)
{
	struct iv_cvm_cfg *cfg = cvm->cfg;
	int fd = -1;
	if (!cfg->runtime_in_disk && (fd = open(cfg->runtime, O_RDONLY | O_CLOEXEC)) < 0)
		return iv_fail(err, "cVM '%s': runtime '%s': %s", cfg->name, cfg->runtime,
			       strerror(errno));
	if (iv_plan_exec(p, cfg->runtime_in_disk ? cfg->runtime : "", cfg->argv, cfg->envp)) {
		if (fd >= 0)
			close(fd);
		return iv_fail(err, "cVM '%s': out of memory", cfg->name);
	}
	cvm->lay = (struct iv_layout){PROGRAM_CAPS_LO, PROGRAM_CAPS_LO, PROGRAM_CAPS_HI,
				      PROGRAM_CAPS_HI};
	*elf_fd = fd;
	return 0;
}

int iv_cvm_check(const struct iv_cvm_cfg *cfg, struct iv_err *err)
{
	struct iv_elf elf;
	int fd;
	if (iv_features_check(cfg, err))
		return -1;
	if (cfg->resume)
		return 0;
	if (cfg->program)
		return check_program(cfg, err);
	if (read_runtime(cfg, &elf, &fd, err))
		return -1;
	iv_elf_free(&elf);
	close(fd);
	return check_stack(cfg, err);
}

/* Plans cfg's runtime: its image, its stack (where both lie into *lay). */
static int load(const struct iv_cvm_cfg *cfg, struct iv_layout *lay, struct iv_plan *p, int *elf_fd,
		struct iv_err *err)
{
	struct iv_elf elf;
	int fd, rc;
	if (check_stack(cfg, err) || read_runtime(cfg, &elf, &fd, err))
		return -1;
	uint64_t stack = stack_size(cfg);
	lay->stack_hi = cfg->end;
	lay->stack_lo = cfg->end - stack;
	lay->image_lo = elf.lo;
	lay->image_hi = elf.hi;
	iv_vlog("ELF BASE = 0x%llx, MAP SIZE = 0x%llx, ENTRY = 0x%llx, %s entry",
		(unsigned long long)elf.lo, (unsigned long long)(elf.hi - elf.lo),
		(unsigned long long)elf.entry,
		elf.kind == IV_ENTRY_PROCESS ? "program" : "function");

	uint64_t sp;
	rc = plan_image(p, &elf);
	/* the lowest stack page stays a guard */
	rc |= iv_plan_op(p, IV_OP_MAP_ANON, lay->stack_lo, stack, 0, 0);
	rc |= iv_plan_op(p, IV_OP_PROTECT, lay->stack_lo, IV_PAGE, 0, 0);
	if (rc) {
		iv_elf_free(&elf);
		close(fd);
		return iv_fail(err, "out of memory");
	}
	rc = iv_stack_build(p, &elf, lay->stack_hi, cfg->argv, cfg->envp, &sp, err);
	p->hdr.entry = elf.entry;
	p->hdr.sp = sp;
	p->hdr.entry_kind =
		elf.kind == IV_ENTRY_PROCESS ? IV_PLAN_ENTRY_PROCESS : IV_PLAN_ENTRY_FUNCTION;
	iv_elf_free(&elf);
	if (rc) {
		close(fd);
		return -1;
	}
	iv_vlog("[cVM STACKs] = [0x%llx -- 0x%llx], sp = 0x%llx", (unsigned long long)lay->stack_lo,
		(unsigned long long)lay->stack_hi, (unsigned long long)sp);
	*elf_fd = fd;
	return 0;
}

void iv_cvm_cell_spec(const struct iv_cvm *cvm, struct iv_cell_spec *spec)
{
	const struct iv_cvm_cfg *cfg = cvm->cfg;
	/* A template's forks count in user namespaces of their own: its budget
	 * bounds the family's total. */
	*spec = (struct iv_cell_spec){
		.name = cfg->name,
		.disk = cfg->disk,
		.disk_ro = cfg->disk_ro,
		.mem = cfg->size,
		.nproc = cfg->template_ ? CELL_NPROC_TEMPLATE : CELL_NPROC,
		.uid = cfg->uid,
		.gid = cfg->gid,
		.stdin_fd = -1,
		.stdin_path = cfg->stdin_path,
		.cwd = cfg->cwd,
		.program = cfg->program,
		.netns = -1,
		/* (a fork stays in its template's: no fork waits for a move) */
		.cgroup_limit = cfg->program ? cfg->memory : 0,
		.cap_dir = -1,
	};
}

int iv_cvm_parkable(const struct iv_cvm_cfg *cfg)
{
	/* The baremetal filter; nothing the monitor gives a cell at its birth
	 * but what its config says; nothing the cell opens at its birth (its
	 * stdin file, its working directory: a cVM before it may change them,
	 * and it must see them as they are at its deploy); and deployed by
	 * iv_cvm_deploy (a fork is not: it is a clone of its template; a
	 * restore is); not nested (its layout is made with its pair's). */
	return !cfg->program && !cfg->net.on && !cfg->stdin_monitor && !cfg->stdin_path &&
	       !cfg->cwd && !cfg->notify_exit && (!cfg->resume || cfg->snapshot_path) &&
	       cfg->outer < 0 && !cfg->is_outer;
}

/* Whether a cell made from spec alone is the one the deploy needs (no
 * feature added to it since). */
static int parkable_spec(const struct iv_cell_spec *spec)
{
	return !spec->program && spec->netns < 0 && spec->cap_dir < 0 && spec->stdin_fd < 0 &&
	       spec->cgroup_limit == 0;
}

/* The go, once its cell and server are ready (rc 0), and how it went. */
static int start(struct iv_cvm *cvm, int rc, struct iv_err *err)
{
	struct iv_cvm_cfg *cfg = cvm->cfg;
	/* Running from the go on: the cVM may reach its first hostcalls (a
	 * template its save) before the go's report is read. */
	iv_mark(cvm, IV_T_RUNNING);
	if (rc == 0)
		rc = iv_cell_go(&cvm->cell, cfg->name, err);
	if (rc) {
		cvm->t[IV_T_RUNNING] = 0;
		snprintf(cvm->fail, sizeof(cvm->fail), "%s", err->msg);
		iv_cvm_kill(cvm);
		return -1;
	}
	cvm->state = IV_CVM_RUNNING;
	iv_vlog("cVM '%s': cell %d running (uid %u, gid %u, seccomp listener %d)", cfg->name,
		cvm->cell.pid, (unsigned)cvm->cell.uid, (unsigned)cvm->cell.gid,
		cvm->cell.listener);
	return 0;
}

int iv_cvm_preplan(const struct iv_cvm *cvm, struct iv_plan *plan, int *elf_fd,
		   struct iv_layout *lay, struct iv_err *err)
{
	*elf_fd = -1;
	if (load(cvm->cfg, lay, plan, elf_fd, err) || iv_policy_build(plan, 0, err)) {
		if (*elf_fd >= 0)
			close(*elf_fd);
		return -1;
	}
	return 0;
}

/* A cell made ahead for cvm (core/pool.c) with its image laid out: it only
 * needs the go.  1 when it is in place, 0 when a feature wants more of
 * its cell than its config says (then it is discarded). */
static int take_preloaded(struct iv_cvm *cvm, struct iv_parked *pk, struct iv_err *err)
{
	struct iv_cell_spec spec;
	iv_cvm_cell_spec(cvm, &spec);
	if (!iv_cell_parked_alive(&pk->cell) || iv_features_cell(cvm, &spec, err) ||
	    !parkable_spec(&spec)) {
		iv_vlog("cVM '%s': its parked cell is gone: a new cell instead", cvm->cfg->name);
		iv_cell_discard(&pk->cell);
		return 0;
	}
	cvm->cell = pk->cell;
	cvm->lay = pk->lay;
	cvm->pidns = pk->pidns;
	return 1;
}

int iv_cvm_deploy(struct iv_cvm *cvm, struct iv_err *err)
{
	struct iv_cvm_cfg *cfg = cvm->cfg;
	struct iv_plan plan = {0};
	int elf_fd = -1;
	iv_mark(cvm, IV_T_DEPLOY);
	iv_vlog("***************** Deploy '%s' ***************", cfg->name);
	iv_vlog("BUILDING cvm: name=%s, disk=%s%s, runtime=%s, args='%s', base=0x%llx, "
		"size=0x%llx, "
		"begin=0x%llx, end=0x%llx, cb_out='%s', wait=%lds, uid=%u, gid=%u",
		cfg->name, cfg->disk ? cfg->disk : "(none)", cfg->disk_ro ? " (read-only)" : "",
		cfg->runtime, cfg->args ? cfg->args : "", (unsigned long long)cfg->base,
		(unsigned long long)cfg->size, (unsigned long long)cfg->begin,
		(unsigned long long)cfg->end, cfg->callback_out ? cfg->callback_out : "monitor",
		cfg->wait, (unsigned)cfg->uid, (unsigned)cfg->gid);
	/* A cell made ahead (pool.c): laid out already, or waiting for its plan. */
	struct iv_parked pk;
	int parked = iv_cvm_parkable(cfg) && iv_pool_take(cvm, &pk);
	if (parked && pk.preloaded && take_preloaded(cvm, &pk, err)) {
		iv_mark(cvm, IV_T_LOADED);
		iv_mark(cvm, IV_T_CELL);
		int rc = iv_server_start(cvm, err);
		return start(cvm, rc, err);
	}
	parked = parked && !pk.preloaded;
	int extra[IV_MAX_EXTRA], nextra = 0;
	/* A feature may plan the cell (a restore maps its pages file where
	 * others map their ELF); else the runtime is loaded. */
	int rc = iv_features_plan(cvm, &plan, &elf_fd, extra, &nextra, err);
	if (rc == IV_NOT_MINE) {
		rc = cfg->program ? load_program(cvm, &plan, &elf_fd, err)
				  : load(cfg, &cvm->lay, &plan, &elf_fd, err);
		/* a feature may add to it (nested cVMs: shared ranges) */
		if (rc == 0 && !cfg->program)
			rc = iv_features_layout(cvm, &plan, extra, &nextra, err);
	}
	int policy = (cfg->program ? IV_POLICY_PROGRAM : 0) | (cfg->net.on ? IV_POLICY_NET : 0) |
		     (cfg->notify_exit ? IV_POLICY_NOTIFY_EXIT : 0) |
		     (cvm->brk_answer ? IV_POLICY_NOTIFY_BRK : 0);
	if (rc == 0)
		rc = iv_policy_build(&plan, policy, err);
	iv_mark(cvm, IV_T_LOADED);
	struct iv_cell_spec spec;
	iv_cvm_cell_spec(cvm, &spec);
	if (rc == 0 && cfg->stdin_monitor && (spec.stdin_fd = iv_open_monitor_stdin()) < 0)
		rc = iv_fail(err, "cVM '%s': the monitor's stdin cannot be reopened read-only: %s",
			     cfg->name, strerror(errno));
	/* a feature may add to it (a networked cVM's namespace, a program's /cap) */
	if (rc == 0)
		rc = iv_features_cell(cvm, &spec, err);
	/* the cell parked for it, if it is the one this plan needs, else a new one */
	if (parked && (rc || policy != pk.cell.policy || !parkable_spec(&spec))) {
		iv_cell_discard(&pk.cell);
		parked = 0;
	}
	if (rc == 0 && parked) {
		cvm->cell = pk.cell;
		int bad = !iv_cell_parked_alive(&cvm->cell)
				  ? iv_fail(err, "cVM '%s': its parked cell is gone", cfg->name)
				  : iv_cell_hand(&cvm->cell, cfg->name, &plan, elf_fd, extra,
						 nextra, err);
		if (bad) {
			iv_vlog("%s: a new cell instead", err->msg);
			iv_cell_discard(&cvm->cell);
			parked = 0;
		}
	}
	if (rc == 0 && !parked)
		rc = iv_cell_spawn(&cvm->cell, &spec, &plan, elf_fd, extra, nextra, err);
	else if (rc && elf_fd >= 0)
		close(elf_fd);
	if (spec.stdin_fd >= 0)
		close(spec.stdin_fd);
	for (int i = 0; i < nextra; i++)
		close(extra[i]);
	iv_mark(cvm, IV_T_CELL);
	iv_plan_free(&plan);
	if (rc == 0)
		iv_cvm_note_pidns(cvm, cvm->cell.pid);
	if (rc == 0)
		rc = iv_server_start(cvm, err);
	return start(cvm, rc, err);
}

uint64_t iv_pidns_of(pid_t pid)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
	return stat(path, &st) ? 0 : (uint64_t)st.st_ino;
}

void iv_cvm_note_pidns(struct iv_cvm *cvm, pid_t pid)
{
	cvm->pidns = iv_pidns_of(pid);
}

void iv_mark(struct iv_cvm *cvm, enum iv_phase p)
{
	cvm->t[p] = iv_now_ns();
}

void iv_cvm_kill(struct iv_cvm *cvm)
{
	if (cvm->cell.pidfd >= 0 && cvm->state != IV_CVM_DONE)
		syscall(SYS_pidfd_send_signal, cvm->cell.pidfd, SIGKILL, NULL, 0);
}

/* One line of stream o, to the monitor's stdout or stderr. */
static void emit(struct iv_cvm *cvm, struct iv_outbuf *o)
{
	FILE *f = o == &cvm->out[IV_ERR] ? stderr : stdout;
	fprintf(f, "[%s] %.*s\n", cvm->cfg->name, (int)o->len, o->buf);
	fflush(f);
	o->len = 0;
}

/*
 * The console rule.  A cVM's text reaches a terminal, which obeys control
 * codes: a cVM could move the cursor over another's label, or reorder what
 * a line shows.  So every line is labelled, and only text that cannot do
 * that passes unchanged: printable ASCII, tab, and valid UTF-8 of any other
 * character.  The rest is shown as visible text:
 *   (nothing) for NUL: a terminal shows nothing for it either, and C
 *           strings pad with it (the seed's hello world prints a 32-byte
 *           cap file holding 12 bytes of text);
 *   \xHH    per byte: C0 controls (but tab, and the newline that ends a
 *           line), DEL, and every byte that is not part of valid UTF-8 (a
 *           raw 0x80-0xff, an overlong form, a surrogate, a sequence cut
 *           short or beyond U+10FFFF);
 *   \uHHHH  C1 controls (U+0080-U+009F) and the bidirectional controls
 *           (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) and line
 *           and paragraph separators (U+2028, U+2029), when validly encoded.
 * A character split across writes is decoded whole: its first bytes wait
 * at the end of the line buffer for the rest.
 */
struct utf8 {
	unsigned char b[4];
	int n, need; /* bytes held, bytes the character has */
};

static void put(struct iv_cvm *cvm, struct iv_outbuf *o, const void *s, size_t n)
{
	if (o->len + n > sizeof(o->buf))
		emit(cvm, o);
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void put_byte(struct iv_cvm *cvm, struct iv_outbuf *o, unsigned char c)
{
	char e[8];
	snprintf(e, sizeof(e), "\\x%02x", c);
	put(cvm, o, e, 4);
}

/* The length of the character a lead byte starts, 0 if it starts none. */
static int utf8_len(unsigned char c)
{
	return c >= 0xc2 && c <= 0xdf	? 2
	       : c >= 0xe0 && c <= 0xef ? 3
	       : c >= 0xf0 && c <= 0xf4 ? 4
					: 0;
}

/* Whether c may follow u's bytes: the second byte also excludes overlong
 * forms, surrogates and code points beyond U+10FFFF. */
static int utf8_next(const struct utf8 *u, unsigned char c)
{
	if ((c & 0xc0) != 0x80)
		return 0;
	if (u->n > 1)
		return 1;
	switch (u->b[0]) {
	case 0xe0:
		return c >= 0xa0;
	case 0xed:
		return c < 0xa0;
	case 0xf0:
		return c >= 0x90;
	case 0xf4:
		return c < 0x90;
	}
	return 1;
}

static int shown_escaped(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x61c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

static void put_char(struct iv_cvm *cvm, struct iv_outbuf *o, struct utf8 *u)
{
	uint32_t cp = u->b[0] & (0x7f >> u->need);
	for (int i = 1; i < u->n; i++)
		cp = cp << 6 | (u->b[i] & 0x3f);
	if (shown_escaped(cp)) {
		char e[8];
		snprintf(e, sizeof(e), "\\u%04x", (unsigned)cp);
		put(cvm, o, e, 6);
	} else {
		put(cvm, o, u->b, (size_t)u->n);
	}
	u->n = 0;
}

/* Shows the bytes of a character cut short. */
static void put_cut(struct iv_cvm *cvm, struct iv_outbuf *o, struct utf8 *u)
{
	for (int i = 0; i < u->n; i++)
		put_byte(cvm, o, u->b[i]);
	u->n = 0;
}

static void console_byte(struct iv_cvm *cvm, struct iv_outbuf *o, struct utf8 *u, unsigned char c)
{
	if (u->n) {
		if (utf8_next(u, c)) {
			u->b[u->n++] = c;
			if (u->n == u->need)
				put_char(cvm, o, u);
			return;
		}
		put_cut(cvm, o, u);
	}
	if (c == '\n')
		emit(cvm, o);
	else if (c == 0)
		return;
	else if (c == '\t' || (c >= 0x20 && c < 0x7f))
		put(cvm, o, &c, 1);
	else if ((u->need = utf8_len(c)))
		u->b[u->n++] = c;
	else
		put_byte(cvm, o, c);
}

/* Takes back the first bytes of a character the last write left at the end
 * of the line buffer.  Everything before them there is ASCII or complete
 * valid UTF-8, so they are the bytes from the last lead byte on, when they
 * are fewer than it announces. */
static void take_pending(struct iv_cvm *cvm, struct iv_outbuf *o, struct utf8 *u)
{
	size_t k = 1;
	while (k <= 3 && k <= o->len && ((unsigned char)o->buf[o->len - k] & 0xc0) == 0x80)
		k++;
	if (k > 3 || k > o->len || utf8_len((unsigned char)o->buf[o->len - k]) <= (int)k)
		return;
	o->len -= k;
	for (size_t i = 0; i < k; i++)
		console_byte(cvm, o, u, (unsigned char)o->buf[o->len + i]);
}

/* Output is labelled line by line, filtered by the rule above. */
void iv_cvm_output(struct iv_cvm *cvm, int stream, const char *buf, size_t len)
{
	struct iv_outbuf *o = &cvm->out[stream == IV_ERR];
	struct utf8 u = {.n = 0};
	pthread_mutex_lock(&cvm->lock);
	take_pending(cvm, o, &u);
	for (size_t i = 0; i < len; i++)
		console_byte(cvm, o, &u, (unsigned char)buf[i]);
	if (u.n)
		put(cvm, o, u.b, (size_t)u.n); /* kept for the next write */
	pthread_mutex_unlock(&cvm->lock);
}

void iv_cvm_console(struct iv_cvm *cvm, const char *buf, size_t len)
{
	iv_cvm_output(cvm, IV_OUT, buf, len);
}

void iv_cvm_console_flush(struct iv_cvm *cvm)
{
	pthread_mutex_lock(&cvm->lock);
	for (int s = IV_OUT; s <= IV_ERR; s++) {
		struct iv_outbuf *o = &cvm->out[s];
		struct utf8 u = {.n = 0};
		take_pending(cvm, o, &u);
		put_cut(cvm, o, &u);
		if (o->len)
			emit(cvm, o);
	}
	pthread_mutex_unlock(&cvm->lock);
}

int iv_cvm_ok(const struct iv_cvm *cvm)
{
	if (cvm->fail[0])
		return 0;
	if (cvm->released && !cvm->fault_known)
		return 1;
	if (cvm->exit_by_hostcall)
		return cvm->exit_code == 0;
	return WIFEXITED(cvm->status) && WEXITSTATUS(cvm->status) == 0;
}

int iv_cvm_status(const struct iv_cvm *cvm)
{
	if (iv_cvm_ok(cvm))
		return 0;
	if (cvm->fail[0])
		return 1;
	if (cvm->fault_known)
		return 128 + cvm->fault_sig;
	if (cvm->exit_by_hostcall)
		return (int)(cvm->exit_code & 255) ? (int)(cvm->exit_code & 255) : 1;
	if (WIFSIGNALED(cvm->status))
		return 128 + WTERMSIG(cvm->status);
	return WIFEXITED(cvm->status) && WEXITSTATUS(cvm->status) ? WEXITSTATUS(cvm->status) : 1;
}

void iv_cvm_report(struct iv_cvm *cvm)
{
	const char *name = cvm->cfg->name;
	double ms = (double)(cvm->t[IV_T_DONE] - cvm->t[IV_T_DEPLOY]) / 1e6;
	if (cvm->fail[0])
		iv_log("cVM '%s' failed: %s", name, cvm->fail);
	else if (cvm->released && !cvm->fault_known)
		return; /* ended by the run: its feature says so */
	else if (cvm->exit_by_hostcall)
		iv_log("cVM '%s' exited with status %ld (host_exit) after %.3f ms", name,
		       cvm->exit_code, ms);
	else if (WIFEXITED(cvm->status))
		iv_log("cVM '%s' exited with status %d after %.3f ms", name,
		       WEXITSTATUS(cvm->status), ms);
	else if (cvm->fault_known && cvm->fault_has_addr)
		iv_log("cVM '%s' killed by signal %d (%s) at address 0x%llx after %.3f ms", name,
		       cvm->fault_sig, strsignal(cvm->fault_sig),
		       (unsigned long long)cvm->fault_addr, ms);
	else if (cvm->fault_known)
		iv_log("cVM '%s' killed by signal %d (%s) after %.3f ms", name, cvm->fault_sig,
		       strsignal(cvm->fault_sig), ms);
	else if (WIFSIGNALED(cvm->status))
		iv_log("cVM '%s' killed by signal %d (%s) after %.3f ms", name,
		       WTERMSIG(cvm->status), strsignal(WTERMSIG(cvm->status)), ms);
}
