/*
 * libFuzzer target for the YAML config parser: any text must give either a
 * config or a one-line error, without undefined behaviour or leaks (deep
 * nesting and huge node counts are refused before libyaml builds a tree,
 * so no input is slow: libFuzzer's -timeout catches one that is).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "iv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

const char *__ubsan_default_options(void);

/* UBSan in clang recovers by default: make every report a crash libFuzzer sees. */
const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iv_config cfg;
	struct iv_err err;
	err.msg[0] = 0;
	if (iv_config_parse("fuzz.yaml", (const char *)data, size, &cfg, &err)) {
		/* every error is one line naming the file */
		if (strncmp(err.msg, "fuzz.yaml", 9) || strchr(err.msg, '\n'))
			__builtin_trap();
		return 0;
	}
	if (cfg.ncvms == 0 || !cfg.cvms)
		__builtin_trap();
	for (size_t i = 0; i < cfg.ncvms; i++) {
		const struct iv_cvm_cfg *vm = &cfg.cvms[i];
		if (!vm->name || !vm->runtime || vm->end <= vm->begin)
			__builtin_trap();
		/* a range's size is its length; a program's range is all of user
		 * space and its size its memory (README "Programs") */
		if (vm->program ? vm->begin != IV_USER_MIN || vm->end != IV_USER_TOP ||
					  vm->size != vm->memory || !vm->memory
				: vm->size != vm->end - vm->begin)
			__builtin_trap();
	}
	for (size_t i = 0; i < cfg.ncapfiles; i++) {
		const struct iv_capfile_cfg *cf = &cfg.capfiles[i];
		if (!cf->name || cf->size == 0 || (cf->data && cf->data_len > cf->size))
			__builtin_trap();
	}
	iv_config_free(&cfg);
	return 0;
}
