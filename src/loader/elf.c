/*
 * ELF validation and layout.  The image comes from the user and is trusted
 * in nothing: every header field, offset, size and address is checked
 * before it is used, so that the stub only ever performs stores the
 * monitor has proved to land inside the cVM's image.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "iv_cell.h"

#define MAX_PHNUM  64
#define MAX_RELOCS (1u << 20)

struct img {
	const uint8_t *buf;
	size_t len;
	const Elf64_Phdr *ph;
	int phnum;
	struct iv_err *err;
};

/* True when [off, off+n) lies inside the file. */
static int in_file(const struct img *im, uint64_t off, uint64_t n)
{
	return off <= im->len && n <= im->len - off;
}

/* Maps a virtual address range to its file offset through a PT_LOAD's file part. */
static int vaddr_to_off(const struct img *im, uint64_t va, uint64_t n, uint64_t *off)
{
	for (int i = 0; i < im->phnum; i++) {
		const Elf64_Phdr *p = &im->ph[i];
		/* PT_LOADs without memory are skipped (and not validated) by iv_elf_parse */
		if (p->p_type != PT_LOAD || p->p_memsz == 0)
			continue;
		if (va >= p->p_vaddr && va - p->p_vaddr <= p->p_filesz &&
		    n <= p->p_filesz - (va - p->p_vaddr)) {
			*off = p->p_offset + (va - p->p_vaddr);
			return 0;
		}
	}
	return -1;
}

/* True when [va, va+n) lies inside some PT_LOAD's memory image. */
static int in_memory(const struct img *im, uint64_t va, uint64_t n)
{
	for (int i = 0; i < im->phnum; i++) {
		const Elf64_Phdr *p = &im->ph[i];
		if (p->p_type == PT_LOAD && va >= p->p_vaddr && va - p->p_vaddr <= p->p_memsz &&
		    n <= p->p_memsz - (va - p->p_vaddr))
			return 1;
	}
	return 0;
}

static int add_reloc(struct iv_elf *out, uint64_t addr, uint64_t value, struct iv_err *err)
{
	if (out->nrelocs >= MAX_RELOCS)
		return iv_fail(err, "more than %u relocations", MAX_RELOCS);
	if ((out->nrelocs & (out->nrelocs - 1)) == 0) {
		size_t cap = out->nrelocs ? out->nrelocs * 2 : 64;
		struct iv_reloc *r = realloc(out->relocs, cap * sizeof(*r));
		if (!r)
			return iv_fail(err, "out of memory");
		out->relocs = r;
	}
	out->relocs[out->nrelocs].addr = addr;
	out->relocs[out->nrelocs].value = value;
	out->nrelocs++;
	return 0;
}

struct dyn {
	uint64_t rela, relasz, relaent, jmprel, pltrelsz, pltrel, symtab, syment, relr, relrsz,
		relrent, flags1;
	int has_rel, has_needed;
};

static int read_dynamic(struct img *im, const Elf64_Phdr *dp, struct dyn *d)
{
	memset(d, 0, sizeof(*d));
	if (!in_file(im, dp->p_offset, dp->p_filesz) || dp->p_filesz % sizeof(Elf64_Dyn))
		return iv_fail(im->err, "PT_DYNAMIC lies outside the file");
	if (dp->p_offset % 8)
		return iv_fail(im->err, "PT_DYNAMIC is misaligned");
	const Elf64_Dyn *dyn = (const Elf64_Dyn *)(im->buf + dp->p_offset);
	size_t n = dp->p_filesz / sizeof(Elf64_Dyn);
	for (size_t i = 0; i < n && dyn[i].d_tag != DT_NULL; i++) {
		uint64_t v = dyn[i].d_un.d_val;
		switch (dyn[i].d_tag) {
		case DT_RELA:
			d->rela = v;
			break;
		case DT_RELASZ:
			d->relasz = v;
			break;
		case DT_RELAENT:
			d->relaent = v;
			break;
		case DT_JMPREL:
			d->jmprel = v;
			break;
		case DT_PLTRELSZ:
			d->pltrelsz = v;
			break;
		case DT_PLTREL:
			d->pltrel = v;
			break;
		case DT_SYMTAB:
			d->symtab = v;
			break;
		case DT_SYMENT:
			d->syment = v;
			break;
		case DT_RELR:
			d->relr = v;
			break;
		case DT_RELRSZ:
			d->relrsz = v;
			break;
		case DT_RELRENT:
			d->relrent = v;
			break;
		case DT_FLAGS_1:
			d->flags1 = v;
			break;
		case DT_REL:
		case DT_RELSZ:
			d->has_rel = 1;
			break;
		case DT_NEEDED:
			d->has_needed = 1;
			break;
		default:
			break;
		}
	}
	if (d->has_needed)
		return iv_fail(im->err, "needs shared libraries (DT_NEEDED); link it statically");
	if (d->has_rel)
		return iv_fail(im->err,
			       "REL relocations are not used on x86-64; the image is malformed");
	if (d->syment && d->syment != sizeof(Elf64_Sym))
		return iv_fail(im->err, "DT_SYMENT %llu is not %zu", (unsigned long long)d->syment,
			       sizeof(Elf64_Sym));
	return 0;
}

static int sym_value(struct img *im, const struct dyn *d, uint32_t idx, uint64_t bias,
		     uint64_t *val)
{
	uint64_t off;
	if (!d->symtab || vaddr_to_off(im, d->symtab + (uint64_t)idx * sizeof(Elf64_Sym),
				       sizeof(Elf64_Sym), &off))
		return iv_fail(im->err, "relocation names symbol %u outside the symbol table", idx);
	if (off % 8)
		return iv_fail(im->err, "the symbol table is misaligned");
	const Elf64_Sym *s = (const Elf64_Sym *)(im->buf + off);
	if (s->st_shndx == SHN_UNDEF) {
		if (ELF64_ST_BIND(s->st_info) == STB_WEAK) {
			*val = 0;
			return 0;
		}
		return iv_fail(im->err, "undefined symbol %u: cVM images must be self-contained",
			       idx);
	}
	*val = s->st_shndx == SHN_ABS ? s->st_value : s->st_value + bias;
	return 0;
}

static int apply_rela(struct img *im, const struct dyn *d, uint64_t va, uint64_t sz, uint64_t bias,
		      struct iv_elf *out)
{
	uint64_t off;
	if (sz == 0)
		return 0;
	if (sz % sizeof(Elf64_Rela) || vaddr_to_off(im, va, sz, &off))
		return iv_fail(im->err, "relocation table lies outside the file");
	if (off % 8)
		return iv_fail(im->err, "relocation table is misaligned");
	const Elf64_Rela *r = (const Elf64_Rela *)(im->buf + off);
	for (uint64_t i = 0; i < sz / sizeof(Elf64_Rela); i++) {
		uint32_t type = ELF64_R_TYPE(r[i].r_info);
		uint64_t where = r[i].r_offset, value, s = 0;
		if (type == R_X86_64_NONE)
			continue;
		if (!in_memory(im, where, 8))
			return iv_fail(im->err, "relocation %llu writes 0x%llx, outside the image",
				       (unsigned long long)i, (unsigned long long)where);
		switch (type) {
		case R_X86_64_RELATIVE:
			value = bias + (uint64_t)r[i].r_addend;
			break;
		case R_X86_64_64:
		case R_X86_64_GLOB_DAT:
		case R_X86_64_JUMP_SLOT:
			if (sym_value(im, d, ELF64_R_SYM(r[i].r_info), bias, &s))
				return -1;
			value = s + (type == R_X86_64_64 ? (uint64_t)r[i].r_addend : 0);
			break;
		default:
			return iv_fail(im->err,
				       "relocation type %u is not supported (only RELATIVE, 64, "
				       "GLOB_DAT, JUMP_SLOT)",
				       type);
		}
		if (add_reloc(out, where + bias, value, im->err))
			return -1;
	}
	return 0;
}

/* DT_RELR: packed relative relocations (address entries and bitmaps). */
static int apply_relr(struct img *im, const struct dyn *d, uint64_t bias, struct iv_elf *out)
{
	uint64_t off;
	if (d->relrsz == 0)
		return 0;
	if ((d->relrent && d->relrent != 8) || d->relrsz % 8 ||
	    vaddr_to_off(im, d->relr, d->relrsz, &off))
		return iv_fail(im->err, "DT_RELR table lies outside the file");
	if (off % 8)
		return iv_fail(im->err, "DT_RELR table is misaligned");
	const uint64_t *e = (const uint64_t *)(im->buf + off);
	uint64_t where = 0;
	for (uint64_t i = 0; i < d->relrsz / 8; i++) {
		if ((e[i] & 1) == 0) {
			where = e[i];
			if (!in_memory(im, where, 8))
				return iv_fail(im->err, "RELR writes 0x%llx, outside the image",
					       (unsigned long long)where);
			uint64_t ioff;
			uint64_t cur = 0;
			if (vaddr_to_off(im, where, 8, &ioff) == 0)
				memcpy(&cur, im->buf + ioff, 8);
			if (add_reloc(out, where + bias, cur + bias, im->err))
				return -1;
			where += 8;
		} else {
			for (int b = 1; b < 64; b++) {
				if (!((e[i] >> b) & 1))
					continue;
				uint64_t a = where + (uint64_t)(b - 1) * 8, ioff, cur = 0;
				if (!in_memory(im, a, 8))
					return iv_fail(im->err,
						       "RELR writes 0x%llx, outside the image",
						       (unsigned long long)a);
				if (vaddr_to_off(im, a, 8, &ioff) == 0)
					memcpy(&cur, im->buf + ioff, 8);
				if (add_reloc(out, a + bias, cur + bias, im->err))
					return -1;
			}
			where += 63 * 8;
		}
	}
	return 0;
}

static int prot_of(uint32_t flags)
{
	return (flags & PF_R ? PROT_READ : 0) | (flags & PF_W ? PROT_WRITE : 0) |
	       (flags & PF_X ? PROT_EXEC : 0);
}

int iv_elf_parse(const uint8_t *buf, size_t len, uint64_t begin, uint64_t end, struct iv_elf *out,
		 struct iv_err *err)
{
	memset(out, 0, sizeof(*out));
	struct img im = {buf, len, NULL, 0, err};
	if (len < sizeof(Elf64_Ehdr))
		return iv_fail(err, "truncated: %zu bytes is shorter than an ELF header", len);
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG))
		return iv_fail(err, "not an ELF file (bad magic)");
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return iv_fail(err, "not a 64-bit little-endian ELF");
	if (eh->e_machine != EM_X86_64)
		return iv_fail(err, "wrong architecture: e_machine %u is not x86-64 (%u)",
			       eh->e_machine, EM_X86_64);
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
		return iv_fail(err, "ELF type %u is neither an executable nor a shared object",
			       eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 || eh->e_phnum > MAX_PHNUM)
		return iv_fail(err, "bad program header table (entry size %u, count %u)",
			       eh->e_phentsize, eh->e_phnum);
	if (eh->e_phoff % 8 ||
	    !in_file(&im, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr)))
		return iv_fail(err, "truncated: program headers lie outside the file");
	im.ph = (const Elf64_Phdr *)(buf + eh->e_phoff);
	im.phnum = eh->e_phnum;

	uint64_t lo = UINT64_MAX, hi = 0, prev_end = 0;
	const Elf64_Phdr *dynp = NULL, *phdrp = NULL;
	for (int i = 0; i < im.phnum; i++) {
		const Elf64_Phdr *p = &im.ph[i];
		if (p->p_type == PT_INTERP)
			return iv_fail(err, "dynamically linked (PT_INTERP); link it statically");
		if (p->p_type == PT_DYNAMIC)
			dynp = p;
		if (p->p_type == PT_PHDR)
			phdrp = p;
		if (p->p_type != PT_LOAD || p->p_memsz == 0)
			continue;
		if (out->nseg == IV_ELF_MAX_SEGMENTS)
			return iv_fail(err, "more than %d loadable segments", IV_ELF_MAX_SEGMENTS);
		if (p->p_filesz > p->p_memsz)
			return iv_fail(err, "segment %d: file size exceeds memory size", i);
		if (!in_file(&im, p->p_offset, p->p_filesz))
			return iv_fail(err, "truncated: segment %d lies outside the file", i);
		if ((p->p_vaddr - p->p_offset) % IV_PAGE)
			return iv_fail(err,
				       "segment %d: address and file offset are not congruent "
				       "modulo the page size",
				       i);
		if (p->p_memsz > UINT64_MAX - IV_PAGE ||
		    p->p_vaddr > UINT64_MAX - p->p_memsz - IV_PAGE)
			return iv_fail(err, "segment %d: address overflows", i);
		if (p->p_vaddr < prev_end)
			return iv_fail(err, "segment %d: segments overlap or are out of order", i);
		prev_end = p->p_vaddr + p->p_memsz;
		struct iv_segment *s = &out->seg[out->nseg++];
		s->vaddr = p->p_vaddr;
		s->memsz = p->p_memsz;
		s->filesz = p->p_filesz;
		s->offset = p->p_offset;
		s->prot = prot_of(p->p_flags);
		if (IV_ALIGN_DOWN(p->p_vaddr) < lo)
			lo = IV_ALIGN_DOWN(p->p_vaddr);
		if (IV_ALIGN_UP(p->p_vaddr + p->p_memsz) > hi)
			hi = IV_ALIGN_UP(p->p_vaddr + p->p_memsz);
	}
	if (out->nseg == 0)
		return iv_fail(err, "no loadable segments");

	uint64_t bias = 0;
	if (eh->e_type == ET_DYN) {
		bias = begin - lo;
	} else if (lo < begin || hi > end) {
		return iv_fail(err,
			       "static executable at [0x%llx, 0x%llx) does not lie in the cVM "
			       "range [0x%llx, 0x%llx)",
			       (unsigned long long)lo, (unsigned long long)hi,
			       (unsigned long long)begin, (unsigned long long)end);
	}
	if (hi - lo > end - begin)
		return iv_fail(err,
			       "image of 0x%llx bytes does not fit the cVM range of 0x%llx bytes",
			       (unsigned long long)(hi - lo), (unsigned long long)(end - begin));

	int entry_ok = 0;
	for (size_t i = 0; i < out->nseg; i++) {
		struct iv_segment *s = &out->seg[i];
		if ((s->prot & PROT_EXEC) && eh->e_entry >= s->vaddr &&
		    eh->e_entry < s->vaddr + s->memsz)
			entry_ok = 1;
		s->vaddr += bias;
	}
	if (!entry_ok)
		return iv_fail(err, "entry point 0x%llx is not in an executable segment",
			       (unsigned long long)eh->e_entry);

	struct dyn d = {0};
	if (dynp && read_dynamic(&im, dynp, &d))
		goto fail;
	if (eh->e_type == ET_DYN) {
		if (apply_rela(&im, &d, d.rela, d.relasz, bias, out))
			goto fail;
		if (d.pltrel && d.pltrel != DT_RELA) {
			iv_fail(err, "PLT relocations of type %llu are not RELA",
				(unsigned long long)d.pltrel);
			goto fail;
		}
		if (apply_rela(&im, &d, d.jmprel, d.pltrelsz, bias, out) ||
		    apply_relr(&im, &d, bias, out))
			goto fail;
	}

	out->kind = (eh->e_type == ET_EXEC || (d.flags1 & DF_1_PIE)) ? IV_ENTRY_PROCESS
								     : IV_ENTRY_FUNCTION;
	out->bias = bias;
	out->lo = lo + bias;
	out->hi = hi + bias;
	out->entry = eh->e_entry + bias;
	out->phnum = eh->e_phnum;
	out->phentsize = eh->e_phentsize;
	if (phdrp)
		out->phdr = phdrp->p_vaddr + bias;
	for (int i = 0; !out->phdr && i < im.phnum; i++) {
		const Elf64_Phdr *p = &im.ph[i];
		if (p->p_type == PT_LOAD && eh->e_phoff >= p->p_offset &&
		    eh->e_phoff - p->p_offset < p->p_filesz) {
			out->phdr = p->p_vaddr + (eh->e_phoff - p->p_offset) + bias;
		}
	}
	return 0;
fail:
	iv_elf_free(out);
	return -1;
}

void iv_elf_free(struct iv_elf *elf)
{
	free(elf->relocs);
	elf->relocs = NULL;
	elf->nrelocs = 0;
}

/* Looks name up in one symbol table section (SHT_DYNSYM or SHT_SYMTAB)
 * whose strings are in its sh_link section; every offset is checked. */
static int find_in(const uint8_t *buf, size_t len, const Elf64_Shdr *sh, const Elf64_Shdr *shs,
		   uint16_t shnum, const char *name, uint64_t *value)
{
	struct img im = {buf, len, NULL, 0, NULL};
	if (sh->sh_link >= shnum || sh->sh_entsize != sizeof(Elf64_Sym) || sh->sh_offset % 8 ||
	    !in_file(&im, sh->sh_offset, sh->sh_size))
		return -1;
	const Elf64_Shdr *str = &shs[sh->sh_link];
	if (!in_file(&im, str->sh_offset, str->sh_size))
		return -1;
	const Elf64_Sym *sym = (const Elf64_Sym *)(buf + sh->sh_offset);
	const char *strs = (const char *)buf + str->sh_offset;
	size_t want = strlen(name);
	for (uint64_t i = 0; i < sh->sh_size / sizeof(Elf64_Sym); i++) {
		uint64_t at = sym[i].st_name;
		if (sym[i].st_shndx == SHN_UNDEF || ELF64_ST_TYPE(sym[i].st_info) != STT_FUNC ||
		    at >= str->sh_size || str->sh_size - at <= want ||
		    memcmp(strs + at, name, want + 1))
			continue;
		*value = sym[i].st_value;
		return 0;
	}
	return -1;
}

int iv_elf_symbol(const uint8_t *buf, size_t len, const char *name, uint64_t *value)
{
	if (len < sizeof(Elf64_Ehdr))
		return -1;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
	struct img im = {buf, len, NULL, 0, NULL};
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff % 8 ||
	    !in_file(&im, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr)))
		return -1;
	const Elf64_Shdr *shs = (const Elf64_Shdr *)(buf + eh->e_shoff);
	/* the dynamic symbols first: what the image exports */
	for (int pass = 0; pass < 2; pass++)
		for (uint16_t i = 0; i < eh->e_shnum; i++)
			if (shs[i].sh_type == (pass ? SHT_SYMTAB : SHT_DYNSYM) &&
			    find_in(buf, len, &shs[i], shs, eh->e_shnum, name, value) == 0)
				return 0;
	return -1;
}
