/*
 * Unit tests of the ELF loader (src/loader/elf.c): images are built in
 * memory from a small model (header, program headers, a PT_DYNAMIC with
 * RELA/RELR tables and a symbol table), then one field is broken at a time.
 *
 * The standard image, an ET_DYN linked at 0:
 *   file [0, 0x3000), PT_LOAD 0: R+X  vaddr 0      file 0x2000 mem 0x2000  (entry 0x1000)
 *                     PT_LOAD 1: R+W  vaddr 0x2000 file 0x1000 mem 0x2000  (bss 0x3000..)
 *   PT_DYNAMIC at 0x2000, RELA at 0x2200, symbols at 0x2600, RELR at 0x2800,
 *   relocation targets from 0x2a00.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "iv.h"

#define BEGIN 0x20000000ULL
#define END   0x30000000ULL

#define IMG_LEN	 0x3000
#define DYN_OFF	 0x2000
#define RELA_OFF 0x2200
#define SYM_OFF	 0x2600
#define RELR_OFF 0x2800
#define DATA_OFF 0x2a00
#define IMG_HI	 0x4000 /* end of the standard image's memory */

#ifndef DT_RELR
#define DT_RELRSZ  35
#define DT_RELR	   36
#define DT_RELRENT 37
#endif

struct model {
	uint16_t type, machine;
	uint64_t entry;
	Elf64_Phdr ph[64];
	int nph;
	Elf64_Dyn dyn[32]; /* after the tables' own entries, so they override them */
	int ndyn;
	Elf64_Rela rela[64];
	int nrela;
	Elf64_Sym sym[8];
	int nsym;
	uint64_t relr[16];
	int nrelr;
	uint64_t data[16]; /* the words at DATA_OFF */
	size_t len;
};

static uint8_t img[0x10000] __attribute__((aligned(4096)));

static Elf64_Phdr *ph_add(struct model *m, uint32_t type, uint32_t flags, uint64_t off,
			  uint64_t vaddr, uint64_t filesz, uint64_t memsz)
{
	Elf64_Phdr *p = &m->ph[m->nph++];
	memset(p, 0, sizeof(*p));
	p->p_type = type;
	p->p_flags = flags;
	p->p_offset = off;
	p->p_vaddr = p->p_paddr = vaddr;
	p->p_filesz = filesz;
	p->p_memsz = memsz;
	p->p_align = IV_PAGE;
	return p;
}

static void dyn_add(struct model *m, int64_t tag, uint64_t val)
{
	m->dyn[m->ndyn].d_tag = tag;
	m->dyn[m->ndyn].d_un.d_val = val;
	m->ndyn++;
}

static void rela_add(struct model *m, uint64_t where, uint32_t type, uint32_t sym, int64_t addend)
{
	Elf64_Rela *r = &m->rela[m->nrela++];
	r->r_offset = where;
	r->r_info = ELF64_R_INFO(sym, type);
	r->r_addend = addend;
}

static uint32_t sym_add(struct model *m, uint64_t value, uint16_t shndx, int bind)
{
	if (m->nsym == 0)
		m->nsym = 1; /* index 0 is the null symbol */
	Elf64_Sym *s = &m->sym[m->nsym];
	memset(s, 0, sizeof(*s));
	s->st_value = value;
	s->st_shndx = shndx;
	s->st_info = ELF64_ST_INFO(bind, STT_OBJECT);
	return (uint32_t)m->nsym++;
}

/* The standard shared object (see the header comment), without relocations. */
static void std_so(struct model *m)
{
	memset(m, 0, sizeof(*m));
	m->type = ET_DYN;
	m->machine = EM_X86_64;
	m->entry = 0x1000;
	m->len = IMG_LEN;
	ph_add(m, PT_LOAD, PF_R | PF_X, 0, 0, 0x2000, 0x2000);
	ph_add(m, PT_LOAD, PF_R | PF_W, 0x2000, 0x2000, 0x1000, 0x2000);
	ph_add(m, PT_DYNAMIC, PF_R | PF_W, DYN_OFF, DYN_OFF, 0, 0); /* sized by render */
}

/* A static executable linked at BEGIN. */
static void std_exec(struct model *m, uint64_t at)
{
	memset(m, 0, sizeof(*m));
	m->type = ET_EXEC;
	m->machine = EM_X86_64;
	m->entry = at + 0x1000;
	m->len = IMG_LEN;
	ph_add(m, PT_LOAD, PF_R | PF_X, 0, at, 0x2000, 0x2000);
	ph_add(m, PT_LOAD, PF_R | PF_W, 0x2000, at + 0x2000, 0x1000, 0x2000);
}

/* Writes the model into img and returns its length. */
static size_t render(struct model *m)
{
	memset(img, 0, sizeof(img));
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = m->type;
	eh->e_machine = m->machine;
	eh->e_version = EV_CURRENT;
	eh->e_entry = m->entry;
	eh->e_phoff = sizeof(Elf64_Ehdr);
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = (uint16_t)m->nph;

	Elf64_Dyn dyn[64];
	int n = 0;
#define D(t, v) (dyn[n].d_tag = (t), dyn[n].d_un.d_val = (v), n++)
	if (m->nrela) {
		D(DT_RELA, RELA_OFF);
		D(DT_RELASZ, m->nrela * sizeof(Elf64_Rela));
		D(DT_RELAENT, sizeof(Elf64_Rela));
	}
	if (m->nsym) {
		D(DT_SYMTAB, SYM_OFF);
		D(DT_SYMENT, sizeof(Elf64_Sym));
	}
	if (m->nrelr) {
		D(DT_RELR, RELR_OFF);
		D(DT_RELRSZ, m->nrelr * 8);
		D(DT_RELRENT, 8);
	}
	for (int i = 0; i < m->ndyn; i++)
		D(m->dyn[i].d_tag, m->dyn[i].d_un.d_val);
	D(DT_NULL, 0);
#undef D
	for (int i = 0; i < m->nph; i++)
		if (m->ph[i].p_type == PT_DYNAMIC && m->ph[i].p_filesz == 0)
			m->ph[i].p_filesz = m->ph[i].p_memsz = (uint64_t)n * sizeof(Elf64_Dyn);
	memcpy(img + eh->e_phoff, m->ph, (size_t)m->nph * sizeof(Elf64_Phdr));
	memcpy(img + DYN_OFF, dyn, (size_t)n * sizeof(Elf64_Dyn));
	memcpy(img + RELA_OFF, m->rela, (size_t)m->nrela * sizeof(Elf64_Rela));
	memcpy(img + SYM_OFF, m->sym, (size_t)m->nsym * sizeof(Elf64_Sym));
	memcpy(img + RELR_OFF, m->relr, (size_t)m->nrelr * 8);
	memcpy(img + DATA_OFF, m->data, sizeof(m->data));
	return m->len;
}

static struct iv_elf elf;
static struct iv_err err;

/* Parses img[0, len) from a heap copy of exactly len bytes, so that ASan
 * reports any read past the end of the file. */
static int parse_img(size_t len, uint64_t begin, uint64_t end)
{
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		abort();
	memcpy(copy, img, len);
	memset(&err, 0, sizeof(err));
	int rc = iv_elf_parse(copy, len, begin, end, &elf, &err);
	free(copy);
	return rc;
}

static int parse_model(struct model *m, uint64_t begin, uint64_t end)
{
	return parse_img(render(m), begin, end);
}

/* The check fails unless parsing img[0, len) fails with phrase in the message. */
#define EXPECT_REJECT_BUF(len, begin, end, phrase)                                                 \
	do {                                                                                       \
		int rc_ = parse_img((len), (begin), (end));                                        \
		if (rc_ == 0)                                                                      \
			iv_elf_free(&elf);                                                         \
		EXPECT(rc_ == -1, "expected rejection with \"%s\", got success", (phrase));        \
		EXPECT_HAS(err.msg, (phrase));                                                     \
		EXPECT(elf.relocs == NULL, "expected no relocations left after failure");          \
	} while (0)

#define EXPECT_REJECT(m, phrase)                                                                   \
	do {                                                                                       \
		size_t l_ = render(m);                                                             \
		EXPECT_REJECT_BUF(l_, BEGIN, END, (phrase));                                       \
	} while (0)

#define EXPECT_ACCEPT(m, begin, end)                                                               \
	do {                                                                                       \
		int rc_ = parse_model((m), (begin), (end));                                        \
		EXPECT(rc_ == 0, "expected success, got \"%s\"", err.msg);                         \
	} while (0)

static Elf64_Ehdr *ehdr(void)
{
	return (Elf64_Ehdr *)img;
}

/* ---- accepted images ---- */

static int so_is_placed_at_begin_with_bias(void)
{
	struct model m;
	std_so(&m);
	EXPECT_ACCEPT(&m, BEGIN, END);
	iv_elf_free(&elf);
	EXPECT_EQ(elf.bias, BEGIN);
	EXPECT_EQ(elf.lo, BEGIN);
	EXPECT_EQ(elf.hi, BEGIN + IMG_HI);
	EXPECT_EQ(elf.entry, BEGIN + 0x1000);
	EXPECT_EQ(elf.nseg, 2);
	EXPECT_EQ(elf.seg[0].vaddr, BEGIN);
	EXPECT_EQ(elf.seg[0].prot, PROT_READ | PROT_EXEC);
	EXPECT_EQ(elf.seg[1].vaddr, BEGIN + 0x2000);
	EXPECT_EQ(elf.seg[1].filesz, 0x1000);
	EXPECT_EQ(elf.seg[1].memsz, 0x2000);
	EXPECT_EQ(elf.seg[1].offset, 0x2000);
	EXPECT_EQ(elf.seg[1].prot, PROT_READ | PROT_WRITE);
	EXPECT_EQ(elf.nrelocs, 0);
	EXPECT_EQ(elf.phnum, 3);
	EXPECT_EQ(elf.phentsize, sizeof(Elf64_Phdr));
	/* the program headers follow the ELF header inside segment 0 */
	EXPECT_EQ(elf.phdr, BEGIN + sizeof(Elf64_Ehdr));
	return 1;
}

static int so_linked_above_zero_is_moved_to_begin(void)
{
	struct model m;
	std_so(&m);
	for (int i = 0; i < m.nph; i++)
		m.ph[i].p_vaddr += 0x400000;
	m.entry += 0x400000;
	EXPECT_ACCEPT(&m, BEGIN, END);
	iv_elf_free(&elf);
	EXPECT_EQ(elf.bias, BEGIN - 0x400000);
	EXPECT_EQ(elf.lo, BEGIN);
	EXPECT_EQ(elf.entry, BEGIN + 0x1000);
	return 1;
}

static int pt_phdr_gives_the_phdr_address(void)
{
	struct model m;
	std_so(&m);
	ph_add(&m, PT_PHDR, PF_R, sizeof(Elf64_Ehdr), 0x40, 4 * sizeof(Elf64_Phdr),
	       4 * sizeof(Elf64_Phdr));
	EXPECT_ACCEPT(&m, BEGIN, END);
	iv_elf_free(&elf);
	EXPECT_EQ(elf.phdr, BEGIN + 0x40);
	return 1;
}

static int relative_relocs_become_biased_records(void)
{
	struct model m;
	std_so(&m);
	rela_add(&m, DATA_OFF, R_X86_64_RELATIVE, 0, 0x1234);
	rela_add(&m, DATA_OFF + 8, R_X86_64_RELATIVE, 0, 0x3000);
	rela_add(&m, DATA_OFF + 16, R_X86_64_NONE, 0, 0); /* skipped */
	rela_add(&m, 0x3ff8, R_X86_64_RELATIVE, 0, 8);	  /* last word of the bss */
	EXPECT_ACCEPT(&m, BEGIN, END);
	EXPECT_EQ(elf.nrelocs, 3);
	EXPECT_EQ(elf.relocs[0].addr, BEGIN + DATA_OFF);
	EXPECT_EQ(elf.relocs[0].value, BEGIN + 0x1234);
	EXPECT_EQ(elf.relocs[1].addr, BEGIN + DATA_OFF + 8);
	EXPECT_EQ(elf.relocs[1].value, BEGIN + 0x3000);
	EXPECT_EQ(elf.relocs[2].addr, BEGIN + 0x3ff8);
	EXPECT_EQ(elf.relocs[2].value, BEGIN + 8);
	iv_elf_free(&elf);
	EXPECT(elf.relocs == NULL && elf.nrelocs == 0, "expected iv_elf_free to clear the relocs");
	return 1;
}

static int many_relocs_are_all_recorded(void)
{
	struct model m;
	std_so(&m);
	for (int i = 0; i < 64; i++)
		rela_add(&m, DATA_OFF + 8 * (uint64_t)i, R_X86_64_RELATIVE, 0, i);
	EXPECT_ACCEPT(&m, BEGIN, END);
	size_t n = elf.nrelocs;
	int bad = -1;
	for (size_t i = 0; i < n; i++)
		if (elf.relocs[i].addr != BEGIN + DATA_OFF + 8 * i ||
		    elf.relocs[i].value != BEGIN + i)
			bad = (int)i;
	iv_elf_free(&elf);
	EXPECT_EQ(n, 64);
	EXPECT(bad < 0, "expected record %d to be (addr+bias, bias+addend)", bad);
	return 1;
}

static int symbol_relocs_resolve_defined_abs_and_weak_symbols(void)
{
	struct model m;
	std_so(&m);
	uint32_t def = sym_add(&m, 0x1100, 1, STB_GLOBAL);
	uint32_t abs = sym_add(&m, 0x777, SHN_ABS, STB_GLOBAL);
	uint32_t weak = sym_add(&m, 0, SHN_UNDEF, STB_WEAK);
	rela_add(&m, DATA_OFF, R_X86_64_64, def, 0x10);
	rela_add(&m, DATA_OFF + 8, R_X86_64_GLOB_DAT, def, 0x10); /* addend ignored */
	rela_add(&m, DATA_OFF + 16, R_X86_64_64, abs, 1);
	rela_add(&m, DATA_OFF + 24, R_X86_64_64, weak, 0);
	EXPECT_ACCEPT(&m, BEGIN, END);
	struct iv_reloc r[4] = {{0}};
	size_t n = elf.nrelocs;
	memcpy(r, elf.relocs, (n < 4 ? n : 4) * sizeof(r[0]));
	iv_elf_free(&elf);
	EXPECT_EQ(n, 4);
	EXPECT_EQ(r[0].addr, BEGIN + DATA_OFF);
	EXPECT_EQ(r[0].value, BEGIN + 0x1110);
	EXPECT_EQ(r[1].value, BEGIN + 0x1100);
	EXPECT_EQ(r[2].value, 0x778);
	EXPECT_EQ(r[3].addr, BEGIN + DATA_OFF + 24);
	EXPECT_EQ(r[3].value, 0);
	return 1;
}

static int plt_relocs_from_jmprel_are_applied(void)
{
	struct model m;
	std_so(&m);
	uint32_t def = sym_add(&m, 0x1200, 1, STB_GLOBAL);
	/* one JUMP_SLOT after the RELA table proper, named by DT_JMPREL */
	m.rela[8].r_offset = DATA_OFF + 0x40;
	m.rela[8].r_info = ELF64_R_INFO(def, R_X86_64_JUMP_SLOT);
	m.nrela = 9; /* entries 0..7 are R_X86_64_NONE (all zero) */
	dyn_add(&m, DT_RELASZ, 8 * sizeof(Elf64_Rela));
	dyn_add(&m, DT_JMPREL, RELA_OFF + 8 * sizeof(Elf64_Rela));
	dyn_add(&m, DT_PLTRELSZ, sizeof(Elf64_Rela));
	dyn_add(&m, DT_PLTREL, DT_RELA);
	EXPECT_ACCEPT(&m, BEGIN, END);
	struct iv_reloc r = {0, 0};
	size_t n = elf.nrelocs;
	if (n)
		r = elf.relocs[0];
	iv_elf_free(&elf);
	EXPECT_EQ(n, 1);
	EXPECT_EQ(r.addr, BEGIN + DATA_OFF + 0x40);
	EXPECT_EQ(r.value, BEGIN + 0x1200);
	return 1;
}

static int no_flags_gives_function_entry(void)
{
	struct model m;
	std_so(&m);
	EXPECT_ACCEPT(&m, BEGIN, END);
	iv_elf_free(&elf);
	EXPECT_EQ(elf.kind, IV_ENTRY_FUNCTION);
	return 1;
}

static int df_1_pie_gives_process_entry(void)
{
	struct model m;
	std_so(&m);
	dyn_add(&m, DT_FLAGS_1, DF_1_PIE | DF_1_NOW);
	EXPECT_ACCEPT(&m, BEGIN, END);
	iv_elf_free(&elf);
	EXPECT_EQ(elf.kind, IV_ENTRY_PROCESS);
	return 1;
}

static int other_flags_1_still_give_function_entry(void)
{
	struct model m;
	std_so(&m);
	dyn_add(&m, DT_FLAGS_1, DF_1_NOW);
	EXPECT_ACCEPT(&m, BEGIN, END);
	iv_elf_free(&elf);
	EXPECT_EQ(elf.kind, IV_ENTRY_FUNCTION);
	return 1;
}

static int exec_inside_range_is_accepted_with_bias_0(void)
{
	struct model m;
	std_exec(&m, BEGIN + 0x10000);
	EXPECT_ACCEPT(&m, BEGIN, END);
	iv_elf_free(&elf);
	EXPECT_EQ(elf.bias, 0);
	EXPECT_EQ(elf.kind, IV_ENTRY_PROCESS);
	EXPECT_EQ(elf.lo, BEGIN + 0x10000);
	EXPECT_EQ(elf.hi, BEGIN + 0x10000 + IMG_HI);
	EXPECT_EQ(elf.entry, BEGIN + 0x11000);
	EXPECT_EQ(elf.seg[1].vaddr, BEGIN + 0x12000);
	return 1;
}

static int exec_filling_the_whole_range_is_accepted(void)
{
	struct model m;
	std_exec(&m, BEGIN);
	EXPECT_ACCEPT(&m, BEGIN, BEGIN + IMG_HI);
	iv_elf_free(&elf);
	EXPECT_EQ(elf.hi, BEGIN + IMG_HI);
	return 1;
}

static int exec_below_range_is_rejected(void)
{
	struct model m;
	std_exec(&m, 0x400000);
	EXPECT_REJECT(&m, "does not lie in the cVM range");
	return 1;
}

static int exec_crossing_range_end_is_rejected(void)
{
	struct model m;
	std_exec(&m, BEGIN);
	size_t len = render(&m);
	EXPECT_REJECT_BUF(len, BEGIN, BEGIN + 0x3000, "does not lie in the cVM range");
	return 1;
}

static int empty_segments_are_ignored(void)
{
	struct model m;
	std_so(&m);
	/* a PT_LOAD with no memory is skipped, wherever it claims to be */
	ph_add(&m, PT_LOAD, PF_R, 0, 0x100000, 0, 0);
	EXPECT_ACCEPT(&m, BEGIN, END);
	iv_elf_free(&elf);
	EXPECT_EQ(elf.nseg, 2);
	EXPECT_EQ(elf.hi, BEGIN + IMG_HI);
	return 1;
}

/* ---- header rejections ---- */

static int truncated_header_is_rejected(void)
{
	struct model m;
	std_so(&m);
	render(&m);
	EXPECT_REJECT_BUF(sizeof(Elf64_Ehdr) - 1, BEGIN, END, "shorter than an ELF header");
	EXPECT_REJECT_BUF(0, BEGIN, END, "shorter than an ELF header");
	return 1;
}

static int bad_magic_is_rejected(void)
{
	struct model m;
	std_so(&m);
	size_t len = render(&m);
	img[1] = 'X';
	EXPECT_REJECT_BUF(len, BEGIN, END, "bad magic");
	memcpy(img, "#!/bin/sh\n", 10);
	EXPECT_REJECT_BUF(len, BEGIN, END, "bad magic");
	return 1;
}

static int class_32_is_rejected(void)
{
	struct model m;
	std_so(&m);
	size_t len = render(&m);
	img[EI_CLASS] = ELFCLASS32;
	EXPECT_REJECT_BUF(len, BEGIN, END, "not a 64-bit little-endian ELF");
	return 1;
}

static int big_endian_is_rejected(void)
{
	struct model m;
	std_so(&m);
	size_t len = render(&m);
	img[EI_DATA] = ELFDATA2MSB;
	EXPECT_REJECT_BUF(len, BEGIN, END, "not a 64-bit little-endian ELF");
	return 1;
}

static int aarch64_machine_is_rejected(void)
{
	struct model m;
	std_so(&m);
	m.machine = EM_AARCH64;
	EXPECT_REJECT(&m, "wrong architecture: e_machine 183");
	return 1;
}

static int et_rel_is_rejected(void)
{
	struct model m;
	std_so(&m);
	m.type = ET_REL;
	EXPECT_REJECT(&m, "neither an executable nor a shared object");
	m.type = ET_CORE;
	EXPECT_REJECT(&m, "neither an executable nor a shared object");
	return 1;
}

static int phnum_0_is_rejected(void)
{
	struct model m;
	std_so(&m);
	size_t len = render(&m);
	ehdr()->e_phnum = 0;
	EXPECT_REJECT_BUF(len, BEGIN, END, "bad program header table");
	return 1;
}

static int huge_phnum_is_rejected(void)
{
	struct model m;
	std_so(&m);
	size_t len = render(&m);
	ehdr()->e_phnum = 65;
	EXPECT_REJECT_BUF(len, BEGIN, END, "bad program header table");
	ehdr()->e_phnum = 0xffff;
	EXPECT_REJECT_BUF(len, BEGIN, END, "bad program header table");
	return 1;
}

static int wrong_phentsize_is_rejected(void)
{
	struct model m;
	std_so(&m);
	size_t len = render(&m);
	ehdr()->e_phentsize = 32;
	EXPECT_REJECT_BUF(len, BEGIN, END, "bad program header table (entry size 32");
	return 1;
}

static int phoff_outside_file_is_rejected(void)
{
	struct model m;
	std_so(&m);
	size_t len = render(&m);
	ehdr()->e_phoff = len - 8; /* the table runs past the end */
	EXPECT_REJECT_BUF(len, BEGIN, END, "program headers lie outside the file");
	ehdr()->e_phoff = UINT64_MAX - 7; /* offset + size wraps */
	EXPECT_REJECT_BUF(len, BEGIN, END, "program headers lie outside the file");
	/* the table itself is intact but the file ends inside it */
	ehdr()->e_phoff = sizeof(Elf64_Ehdr);
	EXPECT_REJECT_BUF(sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr), BEGIN, END,
			  "program headers lie outside the file");
	return 1;
}

static int misaligned_phoff_is_rejected(void)
{
	struct model m;
	std_so(&m);
	size_t len = render(&m);
	ehdr()->e_phoff = sizeof(Elf64_Ehdr) + 4;
	EXPECT_REJECT_BUF(len, BEGIN, END, "program headers lie outside the file");
	return 1;
}

/* ---- segment rejections ---- */

static int segment_outside_file_is_rejected(void)
{
	struct model m;
	std_so(&m);
	m.ph[1].p_filesz = 0x1001; /* one byte past the end of the file */
	m.ph[1].p_memsz = 0x2000;
	EXPECT_REJECT(&m, "segment 1 lies outside the file");
	std_so(&m);
	m.ph[1].p_offset = 0x3000 + 0x7000000000000000ULL; /* offset beyond, congruent */
	m.ph[1].p_vaddr = 0x2000 + 0x7000000000000000ULL;
	EXPECT_REJECT(&m, "segment 1 lies outside the file");
	return 1;
}

static int filesz_above_memsz_is_rejected(void)
{
	struct model m;
	std_so(&m);
	m.ph[1].p_memsz = 0x800;
	EXPECT_REJECT(&m, "segment 1: file size exceeds memory size");
	return 1;
}

static int vaddr_offset_not_congruent_is_rejected(void)
{
	struct model m;
	std_so(&m);
	m.ph[1].p_vaddr = 0x2010;
	EXPECT_REJECT(&m, "not congruent modulo the page size");
	return 1;
}

static int overlapping_segments_are_rejected(void)
{
	struct model m;
	std_so(&m);
	m.ph[1].p_offset = 0x1000; /* starts inside segment 0 */
	m.ph[1].p_vaddr = 0x1000;
	EXPECT_REJECT(&m, "segment 1: segments overlap or are out of order");
	return 1;
}

static int out_of_order_segments_are_rejected(void)
{
	struct model m;
	std_so(&m);
	Elf64_Phdr t = m.ph[0];
	m.ph[0] = m.ph[1];
	m.ph[1] = t;
	EXPECT_REJECT(&m, "segment 1: segments overlap or are out of order");
	return 1;
}

static int huge_memsz_overflow_is_rejected(void)
{
	/* regression (found by fuzz_elf): memsz near 2^64 made the overflow check
	 * wrap, so the segment was accepted with an end below its start */
	struct model m;
	std_so(&m);
	m.ph[1].p_memsz = 0xffffffffffffff3cULL;
	ph_add(&m, PT_LOAD, PF_R | PF_X, 0x2000, 0x5000, 0x100, 0x100);
	EXPECT_REJECT(&m, "segment 1: address overflows");
	std_so(&m);
	m.ph[1].p_memsz = UINT64_MAX;
	EXPECT_REJECT(&m, "segment 1: address overflows");
	std_so(&m);
	m.ph[1].p_vaddr = UINT64_MAX - 0xfff; /* congruent with offset 0x2000 */
	EXPECT_REJECT(&m, "segment 1: address overflows");
	return 1;
}

static int more_than_16_segments_are_rejected(void)
{
	struct model m;
	std_so(&m);
	m.nph = 0;
	ph_add(&m, PT_LOAD, PF_R | PF_X, 0, 0, 0x2000, 0x2000);
	for (int i = 0; i < 16; i++)
		ph_add(&m, PT_LOAD, PF_R, 0, 0x10000 + 0x1000 * (uint64_t)i, 0, 0x10);
	EXPECT_REJECT(&m, "more than 16 loadable segments");
	m.nph = 16; /* exactly 16 is fine */
	EXPECT_ACCEPT(&m, BEGIN, END);
	iv_elf_free(&elf);
	EXPECT_EQ(elf.nseg, 16);
	return 1;
}

static int no_loadable_segment_is_rejected(void)
{
	struct model m;
	std_so(&m);
	m.ph[0].p_type = PT_NOTE;
	m.ph[1].p_type = PT_NOTE;
	EXPECT_REJECT(&m, "no loadable segments");
	return 1;
}

static int pt_interp_is_rejected(void)
{
	struct model m;
	std_so(&m);
	ph_add(&m, PT_INTERP, PF_R, 0x1800, 0x1800, 28, 28);
	EXPECT_REJECT(&m, "PT_INTERP");
	return 1;
}

static int entry_outside_executable_segment_is_rejected(void)
{
	struct model m;
	std_so(&m);
	m.entry = DATA_OFF; /* in the writable, non-executable segment */
	EXPECT_REJECT(&m, "entry point 0x2a00 is not in an executable segment");
	m.entry = 0x100000; /* nowhere */
	EXPECT_REJECT(&m, "is not in an executable segment");
	m.entry = 0x2000; /* one past the end of the text */
	EXPECT_REJECT(&m, "is not in an executable segment");
	return 1;
}

static int image_larger_than_range_is_rejected(void)
{
	struct model m;
	std_so(&m);
	size_t len = render(&m);
	EXPECT_REJECT_BUF(len, BEGIN, BEGIN + 0x3000, "does not fit the cVM range");
	/* exactly the size of the range is fine */
	EXPECT(parse_img(len, BEGIN, BEGIN + IMG_HI) == 0,
	       "expected an image as large as the range to fit, got \"%s\"", err.msg);
	iv_elf_free(&elf);
	return 1;
}

/* ---- dynamic section rejections ---- */

static int dt_needed_is_rejected(void)
{
	struct model m;
	std_so(&m);
	dyn_add(&m, DT_NEEDED, 1);
	EXPECT_REJECT(&m, "DT_NEEDED");
	return 1;
}

static int dt_rel_is_rejected(void)
{
	struct model m;
	std_so(&m);
	dyn_add(&m, DT_REL, RELA_OFF);
	EXPECT_REJECT(&m, "REL relocations are not used on x86-64");
	return 1;
}

static int entries_after_dt_null_are_ignored(void)
{
	struct model m;
	std_so(&m);
	dyn_add(&m, DT_NULL, 0);
	dyn_add(&m, DT_NEEDED, 1);
	EXPECT_ACCEPT(&m, BEGIN, END);
	iv_elf_free(&elf);
	return 1;
}

static int pt_dynamic_outside_file_is_rejected(void)
{
	struct model m;
	std_so(&m);
	m.ph[2].p_offset = IMG_LEN - 16;
	m.ph[2].p_filesz = m.ph[2].p_memsz = 32;
	EXPECT_REJECT(&m, "PT_DYNAMIC lies outside the file");
	std_so(&m);
	m.ph[2].p_filesz = m.ph[2].p_memsz = 24; /* not a whole number of entries */
	EXPECT_REJECT(&m, "PT_DYNAMIC lies outside the file");
	return 1;
}

static int misaligned_pt_dynamic_is_rejected(void)
{
	/* regression: the table was read through a misaligned Elf64_Dyn pointer */
	struct model m;
	std_so(&m);
	m.ph[2].p_offset = DYN_OFF + 4;
	m.ph[2].p_vaddr = DYN_OFF + 4;
	m.ph[2].p_filesz = m.ph[2].p_memsz = 16;
	EXPECT_REJECT(&m, "PT_DYNAMIC");
	return 1;
}

static int wrong_syment_is_rejected(void)
{
	struct model m;
	std_so(&m);
	dyn_add(&m, DT_SYMENT, 16);
	EXPECT_REJECT(&m, "DT_SYMENT 16");
	return 1;
}

/* ---- relocation rejections ---- */

static int reloc_target_outside_image_is_rejected(void)
{
	struct model m;
	std_so(&m);
	rela_add(&m, IMG_HI, R_X86_64_RELATIVE, 0, 0);
	EXPECT_REJECT(&m, "writes 0x4000, outside the image");
	std_so(&m);
	rela_add(&m, IMG_HI - 4, R_X86_64_RELATIVE, 0, 0); /* straddles the end */
	EXPECT_REJECT(&m, "outside the image");
	std_so(&m);
	rela_add(&m, UINT64_MAX - 3, R_X86_64_RELATIVE, 0, 0);
	EXPECT_REJECT(&m, "outside the image");
	return 1;
}

static int reloc_target_between_segments_is_rejected(void)
{
	struct model m;
	std_so(&m);
	m.ph[1].p_memsz = 0x1000; /* the image now has a hole at [0x3000, 0x4000) */
	ph_add(&m, PT_LOAD, PF_R, 0x2000, 0x4000, 0x10, 0x10);
	rela_add(&m, 0x3800, R_X86_64_RELATIVE, 0, 0);
	EXPECT_REJECT(&m, "outside the image");
	return 1;
}

static int irelative_reloc_is_rejected(void)
{
	struct model m;
	std_so(&m);
	rela_add(&m, DATA_OFF, R_X86_64_IRELATIVE, 0, 0x1000);
	EXPECT_REJECT(&m, "relocation type 37 is not supported");
	return 1;
}

static int pc32_reloc_is_rejected(void)
{
	struct model m;
	std_so(&m);
	rela_add(&m, DATA_OFF, R_X86_64_PC32, 0, 0);
	EXPECT_REJECT(&m, "relocation type 2 is not supported");
	std_so(&m);
	rela_add(&m, DATA_OFF, R_X86_64_TPOFF64, 0, 0);
	EXPECT_REJECT(&m, "is not supported");
	return 1;
}

static int undefined_symbol_is_rejected(void)
{
	struct model m;
	std_so(&m);
	uint32_t und = sym_add(&m, 0, SHN_UNDEF, STB_GLOBAL);
	rela_add(&m, DATA_OFF, R_X86_64_64, und, 0);
	EXPECT_REJECT(&m, "undefined symbol 1");
	return 1;
}

static int symbol_index_outside_symtab_is_rejected(void)
{
	struct model m;
	std_so(&m);
	sym_add(&m, 0x1100, 1, STB_GLOBAL);
	rela_add(&m, DATA_OFF, R_X86_64_64, 0xffffff, 0);
	EXPECT_REJECT(&m, "outside the symbol table");
	std_so(&m); /* no DT_SYMTAB at all */
	rela_add(&m, DATA_OFF, R_X86_64_GLOB_DAT, 1, 0);
	EXPECT_REJECT(&m, "outside the symbol table");
	return 1;
}

static int reloc_table_outside_file_is_rejected(void)
{
	struct model m;
	std_so(&m);
	rela_add(&m, DATA_OFF, R_X86_64_RELATIVE, 0, 0);
	dyn_add(&m, DT_RELA, 0x2ff0); /* runs past the file part of segment 1 */
	EXPECT_REJECT(&m, "relocation table lies outside the file");
	std_so(&m);
	rela_add(&m, DATA_OFF, R_X86_64_RELATIVE, 0, 0);
	dyn_add(&m, DT_RELA, 0x3800); /* in the bss: no file bytes */
	EXPECT_REJECT(&m, "relocation table lies outside the file");
	std_so(&m);
	rela_add(&m, DATA_OFF, R_X86_64_RELATIVE, 0, 0);
	dyn_add(&m, DT_RELASZ, UINT64_MAX - 15);
	EXPECT_REJECT(&m, "relocation table lies outside the file");
	std_so(&m);
	rela_add(&m, DATA_OFF, R_X86_64_RELATIVE, 0, 0);
	dyn_add(&m, DT_RELASZ, 25); /* not a whole number of entries */
	EXPECT_REJECT(&m, "relocation table lies outside the file");
	return 1;
}

static int misaligned_reloc_table_is_rejected(void)
{
	/* regression: the table was read through a misaligned Elf64_Rela pointer */
	struct model m;
	std_so(&m);
	rela_add(&m, DATA_OFF, R_X86_64_RELATIVE, 0, 0);
	dyn_add(&m, DT_RELA, RELA_OFF + 4);
	EXPECT_REJECT(&m, "relocation table");
	return 1;
}

static int misaligned_symtab_is_rejected(void)
{
	struct model m;
	std_so(&m);
	uint32_t def = sym_add(&m, 0x1100, 1, STB_GLOBAL);
	rela_add(&m, DATA_OFF, R_X86_64_64, def, 0);
	dyn_add(&m, DT_SYMTAB, SYM_OFF + 4);
	EXPECT_REJECT(&m, "symbol");
	return 1;
}

static int reloc_table_in_empty_segment_is_rejected(void)
{
	/* regression: a PT_LOAD without memory is not validated, but its file
	 * offset was still used to find relocation tables (read out of bounds) */
	struct model m;
	std_so(&m);
	ph_add(&m, PT_LOAD, PF_R, IMG_LEN, 0x100000, 0x1000, 0); /* file part past the end */
	rela_add(&m, DATA_OFF, R_X86_64_RELATIVE, 0, 0);
	dyn_add(&m, DT_RELA, 0x100000);
	EXPECT_REJECT(&m, "relocation table lies outside the file");
	return 1;
}

static int pltrel_not_rela_is_rejected(void)
{
	struct model m;
	std_so(&m);
	dyn_add(&m, DT_PLTREL, DT_REL);
	EXPECT_REJECT(&m, "PLT relocations of type 17 are not RELA");
	return 1;
}

static int failure_after_relocs_frees_them(void)
{
	struct model m;
	std_so(&m);
	for (int i = 0; i < 10; i++)
		rela_add(&m, DATA_OFF + 8 * (uint64_t)i, R_X86_64_RELATIVE, 0, 0);
	rela_add(&m, IMG_HI, R_X86_64_RELATIVE, 0, 0); /* the 11th is bad */
	EXPECT_REJECT(&m, "relocation 10 writes 0x4000");
	EXPECT_EQ(elf.nrelocs, 0);
	return 1;
}

static int relocs_of_exec_are_not_applied(void)
{
	struct model m;
	std_exec(&m, BEGIN);
	ph_add(&m, PT_DYNAMIC, PF_R, DYN_OFF, BEGIN + DYN_OFF, 0, 0);
	rela_add(&m, BEGIN + DATA_OFF, R_X86_64_RELATIVE, 0, 0);
	EXPECT_ACCEPT(&m, BEGIN, END);
	iv_elf_free(&elf);
	EXPECT_EQ(elf.nrelocs, 0);
	return 1;
}

/* ---- DT_RELR ---- */

static int relr_bitmaps_give_the_expected_addresses(void)
{
	struct model m;
	std_so(&m);
	/* words at DATA_OFF + 8*i hold 0x1000 + 0x100*i */
	for (int i = 0; i < 16; i++)
		m.data[i] = 0x1000 + 0x100 * (uint64_t)i;
	m.relr[0] = DATA_OFF;		     /* DATA_OFF, then where = DATA_OFF + 8 */
	m.relr[1] = 1 | (1 << 1) | (1 << 3); /* DATA_OFF + 8, DATA_OFF + 24 */
	m.relr[2] = 1 | (1ULL << 1);	     /* where advanced by 63 words: DATA_OFF + 8 + 504 */
	m.relr[3] = 0x3800;		     /* in the bss: the word is 0 */
	m.nrelr = 4;
	EXPECT_ACCEPT(&m, BEGIN, END);
	size_t n = elf.nrelocs;
	struct iv_reloc r[8] = {{0}};
	memcpy(r, elf.relocs, (n < 8 ? n : 8) * sizeof(r[0]));
	iv_elf_free(&elf);
	EXPECT_EQ(n, 5);
	EXPECT_EQ(r[0].addr, BEGIN + DATA_OFF);
	EXPECT_EQ(r[0].value, BEGIN + 0x1000);
	EXPECT_EQ(r[1].addr, BEGIN + DATA_OFF + 8);
	EXPECT_EQ(r[1].value, BEGIN + 0x1100);
	EXPECT_EQ(r[2].addr, BEGIN + DATA_OFF + 24);
	EXPECT_EQ(r[2].value, BEGIN + 0x1300);
	EXPECT_EQ(r[3].addr, BEGIN + DATA_OFF + 8 + 63 * 8);
	EXPECT_EQ(r[3].value, BEGIN); /* beyond m.data: zero in the file */
	EXPECT_EQ(r[4].addr, BEGIN + 0x3800);
	EXPECT_EQ(r[4].value, BEGIN);
	return 1;
}

static int relr_outside_image_is_rejected(void)
{
	struct model m;
	std_so(&m);
	m.relr[0] = IMG_HI;
	m.nrelr = 1;
	EXPECT_REJECT(&m, "RELR writes 0x4000, outside the image");
	std_so(&m);
	m.relr[0] = IMG_HI - 16;
	m.relr[1] = 1 | (1ULL << 2); /* where = IMG_HI - 8, bit 2: IMG_HI */
	m.nrelr = 2;
	EXPECT_REJECT(&m, "RELR writes 0x4000, outside the image");
	return 1;
}

static int relr_table_outside_file_is_rejected(void)
{
	struct model m;
	std_so(&m);
	m.relr[0] = DATA_OFF;
	m.nrelr = 1;
	dyn_add(&m, DT_RELRSZ, 0x1000); /* past the file part */
	EXPECT_REJECT(&m, "DT_RELR table lies outside the file");
	std_so(&m);
	m.relr[0] = DATA_OFF;
	m.nrelr = 1;
	dyn_add(&m, DT_RELRENT, 16);
	EXPECT_REJECT(&m, "DT_RELR table lies outside the file");
	std_so(&m);
	m.relr[0] = DATA_OFF;
	m.nrelr = 1;
	dyn_add(&m, DT_RELRSZ, 12);
	EXPECT_REJECT(&m, "DT_RELR table lies outside the file");
	return 1;
}

/* ---- fuzzing the model: no sanitizer report, invariants on success ---- */

static int random_corruptions_keep_invariants(void)
{
	struct model m;
	unsigned seed = 12345;
	int accepted = 0;
	for (int iter = 0; iter < 20000; iter++) {
		std_so(&m);
		rela_add(&m, DATA_OFF, R_X86_64_RELATIVE, 0, 0x1000);
		uint32_t def = sym_add(&m, 0x1100, 1, STB_GLOBAL);
		rela_add(&m, DATA_OFF + 8, R_X86_64_64, def, 0);
		m.relr[0] = DATA_OFF + 16;
		m.relr[1] = 0xff;
		m.nrelr = 2;
		size_t len = render(&m);
		int nflip = 1 + (int)(rand_r(&seed) % 4);
		for (int k = 0; k < nflip; k++) {
			/* mostly the headers and the tables, where it matters */
			size_t at = (rand_r(&seed) & 1) ? rand_r(&seed) % 0x120
							: DYN_OFF + rand_r(&seed) % 0x900;
			img[at] = (uint8_t)rand_r(&seed);
		}
		if (parse_img(len, BEGIN, END))
			continue;
		accepted++;
		int bad =
			elf.lo < BEGIN || elf.hi > END || elf.entry < elf.lo || elf.entry >= elf.hi;
		for (size_t i = 0; i < elf.nseg; i++)
			bad |= elf.seg[i].vaddr < elf.lo ||
			       elf.seg[i].memsz > elf.hi - elf.seg[i].vaddr;
		for (size_t i = 0; i < elf.nrelocs; i++)
			bad |= elf.relocs[i].addr < elf.lo || elf.relocs[i].addr > elf.hi - 8;
		iv_elf_free(&elf);
		EXPECT(!bad, "expected the invariants to hold for accepted image %d", iter);
	}
	EXPECT(accepted > 0, "expected some corrupted images to be accepted, got none");
	return 1;
}

/* ---- the real example ---- */

static int libhello_loads_as_function_at_begin(void)
{
	const char *path = "build/runtime/hello_world/libhello.so";
	int fd = open(path, O_RDONLY);
	EXPECT(fd >= 0, "expected %s to exist (run make all)", path);
	struct stat st;
	fstat(fd, &st);
	size_t len = (size_t)st.st_size;
	void *buf = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	EXPECT(buf != MAP_FAILED, "expected to map %s", path);
	int rc = iv_elf_parse(buf, len, BEGIN, END, &elf, &err);
	munmap(buf, len);
	EXPECT(rc == 0, "expected libhello.so to load, got \"%s\"", err.msg);
	int inv_ok = 1;
	for (size_t i = 0; i < elf.nrelocs; i++)
		inv_ok &= elf.relocs[i].addr >= elf.lo && elf.relocs[i].addr <= elf.hi - 8;
	iv_elf_free(&elf);
	EXPECT_EQ(elf.kind, IV_ENTRY_FUNCTION);
	EXPECT_EQ(elf.lo, BEGIN);
	EXPECT_EQ(elf.bias, BEGIN);
	EXPECT(elf.entry >= elf.lo && elf.entry < elf.hi, "expected the entry inside the image");
	EXPECT(elf.nseg >= 2, "expected at least 2 segments, got %zu", elf.nseg);
	EXPECT(inv_ok, "expected every relocation inside the image");
	return 1;
}

int main(void)
{
	RUN(so_is_placed_at_begin_with_bias);
	RUN(so_linked_above_zero_is_moved_to_begin);
	RUN(pt_phdr_gives_the_phdr_address);
	RUN(relative_relocs_become_biased_records);
	RUN(many_relocs_are_all_recorded);
	RUN(symbol_relocs_resolve_defined_abs_and_weak_symbols);
	RUN(plt_relocs_from_jmprel_are_applied);
	RUN(no_flags_gives_function_entry);
	RUN(df_1_pie_gives_process_entry);
	RUN(other_flags_1_still_give_function_entry);
	RUN(exec_inside_range_is_accepted_with_bias_0);
	RUN(exec_filling_the_whole_range_is_accepted);
	RUN(exec_below_range_is_rejected);
	RUN(exec_crossing_range_end_is_rejected);
	RUN(empty_segments_are_ignored);

	RUN(truncated_header_is_rejected);
	RUN(bad_magic_is_rejected);
	RUN(class_32_is_rejected);
	RUN(big_endian_is_rejected);
	RUN(aarch64_machine_is_rejected);
	RUN(et_rel_is_rejected);
	RUN(phnum_0_is_rejected);
	RUN(huge_phnum_is_rejected);
	RUN(wrong_phentsize_is_rejected);
	RUN(phoff_outside_file_is_rejected);
	RUN(misaligned_phoff_is_rejected);

	RUN(segment_outside_file_is_rejected);
	RUN(filesz_above_memsz_is_rejected);
	RUN(vaddr_offset_not_congruent_is_rejected);
	RUN(overlapping_segments_are_rejected);
	RUN(out_of_order_segments_are_rejected);
	RUN(huge_memsz_overflow_is_rejected);
	RUN(more_than_16_segments_are_rejected);
	RUN(no_loadable_segment_is_rejected);
	RUN(pt_interp_is_rejected);
	RUN(entry_outside_executable_segment_is_rejected);
	RUN(image_larger_than_range_is_rejected);

	RUN(dt_needed_is_rejected);
	RUN(dt_rel_is_rejected);
	RUN(entries_after_dt_null_are_ignored);
	RUN(pt_dynamic_outside_file_is_rejected);
	RUN(misaligned_pt_dynamic_is_rejected);
	RUN(wrong_syment_is_rejected);

	RUN(reloc_target_outside_image_is_rejected);
	RUN(reloc_target_between_segments_is_rejected);
	RUN(irelative_reloc_is_rejected);
	RUN(pc32_reloc_is_rejected);
	RUN(undefined_symbol_is_rejected);
	RUN(symbol_index_outside_symtab_is_rejected);
	RUN(reloc_table_outside_file_is_rejected);
	RUN(misaligned_reloc_table_is_rejected);
	RUN(misaligned_symtab_is_rejected);
	RUN(reloc_table_in_empty_segment_is_rejected);
	RUN(pltrel_not_rela_is_rejected);
	RUN(failure_after_relocs_frees_them);
	RUN(relocs_of_exec_are_not_applied);

	RUN(relr_bitmaps_give_the_expected_addresses);
	RUN(relr_outside_image_is_rejected);
	RUN(relr_table_outside_file_is_rejected);

	RUN(random_corruptions_keep_invariants);
	RUN(libhello_loads_as_function_at_begin);
	return check_summary();
}
