/* The initial stack of a cVM: argc, argv, envp, auxv and the strings, as
 * the kernel lays them out for a new program. */
#define _GNU_SOURCE
#include <elf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/random.h>

#include "iv_cell.h"

#define MAX_ARGS    64
#define MAX_STRINGS 4096

int iv_stack_build(struct iv_plan *p, const struct iv_elf *elf, uint64_t top, const char *name,
		   const char *args, uint64_t *sp, struct iv_err *err)
{
	char strings[MAX_STRINGS];
	size_t slen = 0;
	uint64_t argoff[MAX_ARGS];
	int argc = 0;
	const char *src = args && *args ? args : name;

	/* Split on spaces into argv, the seed's rule. */
	for (const char *s = src; *s;) {
		while (*s == ' ')
			s++;
		if (!*s)
			break;
		size_t n = strcspn(s, " ");
		if (argc == MAX_ARGS || slen + n + 1 > MAX_STRINGS)
			return iv_fail(err, "args: more than %d words or %d bytes", MAX_ARGS,
				       MAX_STRINGS);
		argoff[argc++] = slen;
		memcpy(strings + slen, s, n);
		strings[slen + n] = 0;
		slen += n + 1;
		s += n;
	}
	if (argc == 0)
		return iv_fail(err, "args: no program name");

	uint8_t rnd[16];
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		memset(rnd, 0x5a, sizeof(rnd));

	/* strings, then 16 random bytes, at the very top */
	uint64_t str_at = (top - slen) & ~15UL;
	uint64_t rnd_at = str_at - 16;

	uint64_t auxv[][2] = {
		{AT_PHDR, elf->phdr},	{AT_PHENT, elf->phentsize},
		{AT_PHNUM, elf->phnum}, {AT_PAGESZ, IV_PAGE},
		{AT_BASE, 0},		{AT_FLAGS, 0},
		{AT_ENTRY, elf->entry}, {AT_SECURE, 0},
		{AT_RANDOM, rnd_at},	{AT_HWCAP, getauxval(AT_HWCAP)},
		{AT_CLKTCK, 100},	{AT_EXECFN, str_at + argoff[0]},
		{AT_NULL, 0},
	};
	size_t nwords = 1 + (size_t)argc + 1 + 1 + sizeof(auxv) / 8;
	uint64_t *words = calloc(nwords, 8);
	if (!words)
		return iv_fail(err, "out of memory");
	size_t w = 0;
	words[w++] = (uint64_t)argc;
	for (int i = 0; i < argc; i++)
		words[w++] = str_at + argoff[i];
	words[w++] = 0; /* end of argv */
	words[w++] = 0; /* empty envp */
	memcpy(&words[w], auxv, sizeof(auxv));

	uint64_t at = (rnd_at - nwords * 8) & ~15UL;
	int rc = iv_plan_copy(p, str_at, strings, slen) || iv_plan_copy(p, rnd_at, rnd, 16) ||
		 iv_plan_copy(p, at, words, nwords * 8);
	free(words);
	if (rc)
		return iv_fail(err, "out of memory");
	*sp = at;
	p->hdr.argc = (uint64_t)argc;
	p->hdr.argv = at + 8;
	p->hdr.envp = at + 8 * (2 + (uint64_t)argc);
	return 0;
}
