/* The initial stack of a cVM: argc, argv, envp, auxv and the strings, as
 * the kernel lays them out for a new program. */
#define _GNU_SOURCE
#include <elf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/random.h>

#include "iv_cell.h"

#define AUXV_PAIRS 13

static size_t count(char *const *v, size_t *bytes)
{
	size_t n = 0;
	for (; v && v[n]; n++)
		*bytes += strlen(v[n]) + 1;
	return n;
}

size_t iv_stack_need(char *const *argv, char *const *envp)
{
	size_t slen = 0, argc = count(argv, &slen), envc = count(envp, &slen);
	/* strings, 16 random bytes, the words, each start aligned to 16 */
	return slen + 15 + 16 + (1 + argc + 1 + envc + 1 + 2 * AUXV_PAIRS) * 8 + 15;
}

/* Copies the strings of v to strings + *slen, their addresses (at str_at)
 * to words, and the NULL that ends the vector. */
static void put_vector(char *const *v, char *strings, size_t *slen, uint64_t str_at,
		       uint64_t *words, size_t *w)
{
	for (size_t i = 0; v && v[i]; i++) {
		size_t n = strlen(v[i]) + 1;
		memcpy(strings + *slen, v[i], n);
		words[(*w)++] = str_at + *slen;
		*slen += n;
	}
	words[(*w)++] = 0;
}

int iv_stack_build(struct iv_plan *p, const struct iv_elf *elf, uint64_t top, char *const *argv,
		   char *const *envp, uint64_t *sp, struct iv_err *err)
{
	size_t slen = 0, argc = count(argv, &slen), envc = count(envp, &slen);
	if (argc == 0)
		return iv_fail(err, "args: no program name");

	uint8_t rnd[16];
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		memset(rnd, 0x5a, sizeof(rnd));

	/* strings, then 16 random bytes, at the very top */
	uint64_t str_at = (top - slen) & ~15UL;
	uint64_t rnd_at = str_at - 16;
	size_t nwords = 1 + argc + 1 + envc + 1 + 2 * AUXV_PAIRS;
	char *strings = malloc(slen);
	uint64_t *words = calloc(nwords, 8);
	if (!strings || !words) {
		free(strings);
		free(words);
		return iv_fail(err, "out of memory");
	}
	size_t w = 0, done = 0;
	words[w++] = (uint64_t)argc;
	put_vector(argv, strings, &done, str_at, words, &w);
	put_vector(envp, strings, &done, str_at, words, &w);
	uint64_t auxv[AUXV_PAIRS][2] = {
		{AT_PHDR, elf->phdr},	{AT_PHENT, elf->phentsize},
		{AT_PHNUM, elf->phnum}, {AT_PAGESZ, IV_PAGE},
		{AT_BASE, 0},		{AT_FLAGS, 0},
		{AT_ENTRY, elf->entry}, {AT_SECURE, 0},
		{AT_RANDOM, rnd_at},	{AT_HWCAP, getauxval(AT_HWCAP)},
		{AT_CLKTCK, 100},	{AT_EXECFN, words[1]},
		{AT_NULL, 0},
	};
	memcpy(&words[w], auxv, sizeof(auxv));

	uint64_t at = (rnd_at - nwords * 8) & ~15UL;
	int rc = iv_plan_copy(p, str_at, strings, slen) || iv_plan_copy(p, rnd_at, rnd, 16) ||
		 iv_plan_copy(p, at, words, nwords * 8);
	free(strings);
	free(words);
	if (rc)
		return iv_fail(err, "out of memory");
	*sp = at;
	p->hdr.argc = (uint64_t)argc;
	p->hdr.argv = at + 8;
	p->hdr.envp = at + 8 * (2 + (uint64_t)argc);
	return 0;
}
