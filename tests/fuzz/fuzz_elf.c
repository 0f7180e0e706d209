/*
 * libFuzzer target for the ELF loader: iv_elf_parse must reject or accept
 * any input without undefined behaviour, and whatever it accepts must obey
 * the layout invariants the cell stub relies on; iv_elf_symbol (an outer
 * cVM's syscall_handler) must read nothing outside the input either.
 */
#include <stddef.h>
#include <stdint.h>

#include "iv.h"

#define BEGIN 0x20000000ULL
#define END   0x30000000ULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

const char *__ubsan_default_options(void);

/* UBSan in clang recovers by default: make every report a crash libFuzzer sees. */
const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iv_elf elf;
	struct iv_err err;
	uint64_t handler = 0;
	if (iv_elf_symbol(data, size, "syscall_handler", &handler) && handler)
		__builtin_trap(); /* not found: nothing written */
	if (iv_elf_parse(data, size, BEGIN, END, &elf, &err)) {
		if (elf.relocs || elf.nrelocs)
			__builtin_trap(); /* a failed parse must leave nothing behind */
		return 0;
	}
	if (elf.lo < BEGIN || elf.hi > END || elf.lo >= elf.hi)
		__builtin_trap();
	if ((elf.lo | elf.hi) & (IV_PAGE - 1))
		__builtin_trap();
	if (elf.entry < elf.lo || elf.entry >= elf.hi)
		__builtin_trap();
	if (elf.nseg == 0 || elf.nseg > IV_ELF_MAX_SEGMENTS)
		__builtin_trap();
	if (elf.kind != IV_ENTRY_PROCESS && elf.kind != IV_ENTRY_FUNCTION)
		__builtin_trap();
	for (size_t i = 0; i < elf.nseg; i++) {
		const struct iv_segment *s = &elf.seg[i];
		if (s->vaddr < elf.lo || s->vaddr > elf.hi || s->memsz > elf.hi - s->vaddr)
			__builtin_trap();
		if (s->filesz > s->memsz || s->offset > size || s->filesz > size - s->offset)
			__builtin_trap();
	}
	if (elf.nrelocs && !elf.relocs)
		__builtin_trap();
	for (size_t i = 0; i < elf.nrelocs; i++) {
		uint64_t a = elf.relocs[i].addr;
		if (a < elf.lo || a > elf.hi - 8)
			__builtin_trap();
	}
	iv_elf_free(&elf);
	return 0;
}
