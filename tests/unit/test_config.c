/*
 * Unit tests of the YAML config parser (src/monitor/config.c): a full
 * valid config parses to the expected values, and every bad input is
 * rejected with "FILE:LINE: key 'KEY': ..." naming where and what.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "iv.h"

static struct iv_config cfg;
static struct iv_err err;

static int parse(const char *text)
{
	/* a heap copy of exactly the text, so ASan sees any read past its end */
	size_t len = strlen(text);
	char *copy = malloc(len ? len : 1);
	if (!copy)
		abort();
	memcpy(copy, text, len);
	memset(&err, 0, sizeof(err));
	int rc = iv_config_parse("t.yaml", copy, len, &cfg, &err);
	free(copy);
	return rc;
}

/*
 * The check fails unless text is rejected with an error naming t.yaml at
 * line (0: no line expected), key 'key' (NULL: no key) and containing phrase.
 */
#define EXPECT_BAD(text, line, key, phrase)                                                        \
	do {                                                                                       \
		int rc_ = parse(text);                                                             \
		if (rc_ == 0)                                                                      \
			iv_config_free(&cfg);                                                      \
		EXPECT(rc_ == -1, "expected rejection with \"%s\", got success", (phrase));        \
		char where_[64];                                                                   \
		if ((line) > 0)                                                                    \
			snprintf(where_, sizeof(where_), "t.yaml:%d: ", (int)(line));              \
		else                                                                               \
			snprintf(where_, sizeof(where_), "t.yaml: ");                              \
		EXPECT(!strncmp(err.msg, where_, strlen(where_)),                                  \
		       "expected the error to start with \"%s\", got \"%s\"", where_, err.msg);    \
		if (key) {                                                                         \
			char k_[80];                                                               \
			snprintf(k_, sizeof(k_), "key '%s': ", (const char *)(key));               \
			EXPECT_HAS(err.msg, k_);                                                   \
		}                                                                                  \
		EXPECT_HAS(err.msg, (phrase));                                                     \
		EXPECT(cfg.ncvms == 0 && cfg.cvms == NULL && cfg.path == NULL,                     \
		       "expected the config to be emptied after an error");                        \
	} while (0)

#define EXPECT_GOOD(text)                                                                          \
	do {                                                                                       \
		int rc_ = parse(text);                                                             \
		EXPECT(rc_ == 0, "expected success, got \"%s\"", err.msg);                         \
	} while (0)

/* A valid cVM occupying lines 2..8 of a document whose line 1 is "cVMs:". */
#define CVMS "cVMs:\n"
#define VM_A                                                                                       \
	"- name: a\n"                                                                              \
	"  runtime: a.so\n"                                                                        \
	"  isolation:\n"                                                                           \
	"  - base: 0x20000000\n"                                                                   \
	"    size: 0x1000000\n"                                                                    \
	"    begin: 0x20000000\n"                                                                  \
	"    end: 0x21000000\n"
/* The same cVM with its isolation range given as one flow mapping (lines 2..5). */
#define VM_ISO(name, range)                                                                        \
	"- name: " name "\n"                                                                       \
	"  runtime: a.so\n"                                                                        \
	"  isolation:\n"                                                                           \
	"  - {" range "}\n"
#define RANGE_A "base: 0x20000000, size: 0x1000000, begin: 0x20000000, end: 0x21000000"
/* A capfile document, lines 1..5, followed by the cVM document from line 6. */
#define CAPS(entry) "---\ncapfiles:\n" entry "---\n" CVMS VM_A

/* ---- the valid config ---- */

static const char full[] = "---\n"			  /* 1 */
			   "capfiles:\n"		  /* 2 */
			   "- name: test1\n"		  /* 3 */
			   "  size: 0x20\n"		  /* 4 */
			   "  data: \"Hello world\\n\"\n" /* 5 */
			   "- name: big.buf-2\n"	  /* 6 */
			   "  size: 4096\n"		  /* 7 */
			   "\n"				  /* 8 */
			   "---\n"			  /* 9 */
			   "cVMs:\n"			  /* 10 */
			   "- name: hello\n"		  /* 11 */
			   "  runtime: ../lib/libhello.so\n"
			   "  args: \"-x 1 two\"\n"
			   "  disk: rootfs\n"
			   "  isolation:\n"
			   "  - base: 0x20000000\n"
			   "    size: 0x10000000\n"
			   "    begin: 0x20000000\n"
			   "    end: 0x30000000\n"
			   "  callback_out: monitor\n"
			   "  wait: -1\n"
			   "  fork: 0\n"
			   "  template: 0\n"
			   "  resume: 0\n"
			   "- name: second\n" /* 25 */
			   "  runtime: /abs/path/libhc.so\n"
			   "  isolation:\n"
			   "  - base: 0x40000000\n"
			   "    size: 1048576\n"
			   "    begin: 0x40000000\n"
			   "    end: 0x40100000\n"
			   "  wait: 3\n";

/* The values of the parsed `full`; a separate function so that EXPECT can
 * return while the caller still frees the config. */
static int full_values(const struct iv_config *c)
{
	EXPECT_STR(c->path, "t.yaml");
	EXPECT_EQ(c->ncapfiles, 2);
	EXPECT_EQ(c->ncvms, 2);

	const struct iv_capfile_cfg *a = &c->capfiles[0], *b = &c->capfiles[1];
	EXPECT_STR(a->name, "test1");
	EXPECT_EQ(a->size, 0x20);
	EXPECT_STR(a->data, "Hello world\n");
	EXPECT_EQ(a->data_len, 12);
	EXPECT_EQ(a->line, 3);
	EXPECT_STR(b->name, "big.buf-2");
	EXPECT_EQ(b->size, 4096);
	EXPECT(b->data == NULL, "expected no data for capfile 'big.buf-2', got \"%s\"", b->data);
	EXPECT_EQ(b->data_len, 0);
	EXPECT_EQ(b->line, 6);

	const struct iv_cvm_cfg *v = &c->cvms[0], *w = &c->cvms[1];
	EXPECT_STR(v->name, "hello");
	EXPECT_STR(v->runtime, "../lib/libhello.so"); /* resolved only by iv_config_load */
	EXPECT_STR(v->args, "-x 1 two");
	EXPECT_STR(v->disk, "rootfs");
	EXPECT_EQ(v->base, 0x20000000);
	EXPECT_EQ(v->size, 0x10000000);
	EXPECT_EQ(v->begin, 0x20000000);
	EXPECT_EQ(v->end, 0x30000000);
	EXPECT_STR(v->callback_out, "monitor");
	EXPECT_EQ(v->wait, -1);
	EXPECT_EQ(v->fork, 0);
	EXPECT_EQ(v->line, 11);

	EXPECT_STR(w->name, "second");
	EXPECT_STR(w->runtime, "/abs/path/libhc.so");
	EXPECT(w->args == NULL && w->disk == NULL && w->callback_out == NULL,
	       "expected args, disk and callback_out of 'second' to be absent");
	EXPECT_EQ(w->base, 0x40000000);
	EXPECT_EQ(w->size, 0x100000);
	EXPECT_EQ(w->begin, 0x40000000);
	EXPECT_EQ(w->end, 0x40100000);
	EXPECT_EQ(w->wait, 3);
	EXPECT_EQ(w->line, 25);
	return 1;
}

static int full_config_parses_to_expected_values(void)
{
	EXPECT_GOOD(full);
	int ok = full_values(&cfg);
	iv_config_free(&cfg);
	EXPECT(cfg.cvms == NULL && cfg.ncvms == 0 && cfg.path == NULL,
	       "expected iv_config_free to empty the config");
	return ok;
}

static int one_document_with_both_lists_is_accepted(void)
{
	EXPECT_GOOD("capfiles:\n- name: c\n  size: 1\n" CVMS VM_A);
	size_t nc = cfg.ncapfiles, nv = cfg.ncvms;
	iv_config_free(&cfg);
	EXPECT_EQ(nc, 1);
	EXPECT_EQ(nv, 1);
	return 1;
}

static int cvms_only_config_is_accepted_with_defaults(void)
{
	EXPECT_GOOD(CVMS VM_A);
	struct iv_cvm_cfg v = cfg.cvms[0];
	size_t nc = cfg.ncapfiles;
	int no_strings = !cfg.cvms[0].args && !cfg.cvms[0].disk && !cfg.cvms[0].callback_out;
	iv_config_free(&cfg);
	EXPECT_EQ(nc, 0);
	EXPECT_EQ(v.wait, 0);
	EXPECT(no_strings, "expected args, disk and callback_out to default to NULL");
	return 1;
}

static int numbers_accept_hex_decimal_and_max_capfile_size(void)
{
	EXPECT_GOOD(CAPS("- name: c\n  size: 0X1F\n- name: d\n  size: 4294967296\n"));
	uint64_t a = cfg.capfiles[0].size, b = cfg.capfiles[1].size;
	iv_config_free(&cfg);
	EXPECT_EQ(a, 0x1f);
	EXPECT_EQ(b, 1ULL << 32);
	return 1;
}

static int data_as_long_as_size_is_accepted(void)
{
	EXPECT_GOOD(CAPS("- name: c\n  size: 4\n  data: abcd\n"));
	size_t n = cfg.capfiles[0].data_len;
	iv_config_free(&cfg);
	EXPECT_EQ(n, 4);
	return 1;
}

static int wait_0_and_86400_are_accepted(void)
{
	EXPECT_GOOD(CVMS VM_A
		    "  wait: 86400\n" VM_ISO("b", "base: 0x30000000, size: 0x10000, begin: "
						  "0x30000000, end: 0x30010000") "  wait: 0\n");
	long a = cfg.cvms[0].wait, b = cfg.cvms[1].wait;
	iv_config_free(&cfg);
	EXPECT_EQ(a, 86400);
	EXPECT_EQ(b, 0);
	return 1;
}

static int adjacent_ranges_do_not_overlap(void)
{
	EXPECT_GOOD(CVMS VM_A VM_ISO(
		"b", "base: 0x21000000, size: 0x1000000, begin: 0x21000000, end: 0x22000000"));
	iv_config_free(&cfg);
	return 1;
}

/* ---- unknown keys ---- */

static int unknown_top_level_key_is_rejected(void)
{
	EXPECT_BAD(CVMS VM_A "bogus: 1\n", 9, "bogus", "unknown top-level key");
	return 1;
}

static int unknown_cvm_key_is_rejected(void)
{
	EXPECT_BAD(CVMS VM_A "  colour: red\n", 9, "colour", "unknown cVM key");
	return 1;
}

static int unknown_capfile_key_is_rejected(void)
{
	EXPECT_BAD(CAPS("- name: c\n  size: 1\n  colour: x\n"), 5, "colour", "unknown capfile key");
	return 1;
}

static int unknown_isolation_key_is_rejected(void)
{
	EXPECT_BAD(CVMS VM_A "    flavour: 1\n", 9, "flavour", "unknown isolation key");
	return 1;
}

/* ---- wrong types and values ---- */

static int mapping_as_string_is_rejected(void)
{
	EXPECT_BAD(CVMS VM_A "  args: {x: 1}\n", 9, "args", "expected a string");
	EXPECT_BAD(CVMS VM_A "  disk:\n  - a\n  - b\n", 10, "disk", "expected a string");
	return 1;
}

static int abc_as_size_is_rejected(void)
{
	EXPECT_BAD(CAPS("- name: c\n  size: abc\n"), 4, "size", "expected a number, got 'abc'");
	EXPECT_BAD(
		CVMS VM_ISO("a", "base: 0x20000000, size: abc, begin: 0x20000000, end: 0x21000000"),
		5, "size", "expected a number, got 'abc'");
	return 1;
}

static int malformed_numbers_are_rejected(void)
{
	EXPECT_BAD(CAPS("- name: c\n  size: 0x\n"), 4, "size", "expected a number");
	EXPECT_BAD(CAPS("- name: c\n  size: 12k\n"), 4, "size", "expected a number, got '12k'");
	EXPECT_BAD(CAPS("- name: c\n  size: \"\"\n"), 4, "size", "expected a number");
	EXPECT_BAD(CAPS("- name: c\n  size: 99999999999999999999\n"), 4, "size",
		   "expected a number");
	EXPECT_BAD(CAPS("- name: c\n  size: [1]\n"), 4, "size", "expected a number");
	EXPECT_BAD(CVMS VM_A "  wait: 1.5\n", 9, "wait", "expected a number, got '1.5'");
	return 1;
}

static int negative_size_is_rejected(void)
{
	EXPECT_BAD(CAPS("- name: c\n  size: -5\n"), 4, "size", "must not be negative, got '-5'");
	EXPECT_BAD(
		CVMS VM_ISO(
			"a",
			"base: -0x20000000, size: 0x1000000, begin: 0x20000000, end: 0x21000000"),
		5, "base", "must not be negative");
	return 1;
}

static int size_0_is_rejected(void)
{
	EXPECT_BAD(CAPS("- name: c\n  size: 0\n"), 4, "size", "must be between 1 and 4 GiB");
	EXPECT_BAD(CAPS("- name: c\n  size: 0x100000001\n"), 4, "size",
		   "must be between 1 and 4 GiB");
	return 1;
}

static int data_longer_than_size_is_rejected(void)
{
	/* the line is the capfile entry's */
	EXPECT_BAD(CAPS("- name: c\n  size: 4\n  data: abcde\n"), 3, "data",
		   "5 bytes do not fit in size 4 of capfile 'c'");
	return 1;
}

static int nul_in_string_is_rejected(void)
{
	EXPECT_BAD(CVMS VM_A "  args: \"a\\0b\"\n", 9, "args", "contains a NUL byte");
	return 1;
}

static int missing_capfile_fields_are_rejected(void)
{
	EXPECT_BAD(CAPS("- size: 1\n"), 3, "name", "missing in capfile");
	EXPECT_BAD(CAPS("- name: c\n"), 3, "size", "missing in capfile 'c'");
	return 1;
}

/* ---- duplicates and overlaps ---- */

static int duplicate_capfile_name_is_rejected(void)
{
	EXPECT_BAD(CAPS("- name: c\n  size: 1\n- name: c\n  size: 2\n"), 5, "name",
		   "capfile 'c' already defined at line 3");
	return 1;
}

static int duplicate_cvm_name_is_rejected(void)
{
	EXPECT_BAD(
		CVMS VM_A VM_ISO(
			"a", "base: 0x30000000, size: 0x10000, begin: 0x30000000, end: 0x30010000"),
		9, "name", "cVM 'a' already defined at line 2");
	return 1;
}

static int overlapping_ranges_are_rejected(void)
{
	EXPECT_BAD(
		CVMS VM_A VM_ISO(
			"b", "base: 0x20ff0000, size: 0x20000, begin: 0x20ff0000, end: 0x21010000"),
		9, "isolation", "cVM 'b' range [0x20ff0000, 0x21010000) overlaps cVM 'a' (line 2)");
	/* one inside the other */
	EXPECT_BAD(
		CVMS VM_A VM_ISO(
			"b", "base: 0x20100000, size: 0x10000, begin: 0x20100000, end: 0x20110000"),
		9, "isolation", "overlaps cVM 'a'");
	return 1;
}

static int lists_given_twice_are_rejected(void)
{
	EXPECT_BAD(
		"capfiles:\n- name: c\n  size: 1\n---\ncapfiles:\n- name: d\n  size: 1\n---\n" CVMS
			VM_A,
		6, "capfiles", "given twice");
	EXPECT_BAD(CVMS VM_A "---\n" CVMS VM_A, 11, "cVMs", "given twice");
	return 1;
}

/* ---- isolation ranges ---- */

static int unaligned_begin_is_rejected(void)
{
	EXPECT_BAD(CVMS VM_ISO(
			   "a",
			   "base: 0x20000000, size: 0x1000000, begin: 0x20000010, end: 0x21000010"),
		   5, "isolation", "must be page-aligned");
	EXPECT_BAD(CVMS VM_ISO(
			   "a",
			   "base: 0x20000000, size: 0x1000800, begin: 0x20000000, end: 0x21000800"),
		   5, "isolation", "must be page-aligned");
	return 1;
}

static int end_not_above_begin_is_rejected(void)
{
	EXPECT_BAD(CVMS VM_ISO(
			   "a",
			   "base: 0x20000000, size: 0x1000000, begin: 0x21000000, end: 0x20000000"),
		   5, "isolation", "end 0x20000000 is not above begin 0x21000000");
	EXPECT_BAD(
		CVMS VM_ISO("a", "base: 0x20000000, size: 0, begin: 0x20000000, end: 0x20000000"),
		5, "isolation", "is not above begin");
	return 1;
}

static int size_not_end_minus_begin_is_rejected(void)
{
	EXPECT_BAD(CVMS VM_ISO(
			   "a",
			   "base: 0x20000000, size: 0x2000000, begin: 0x20000000, end: 0x21000000"),
		   5, "isolation", "size 0x2000000 differs from end - begin = 0x1000000");
	return 1;
}

static int range_above_stub_base_is_rejected(void)
{
	EXPECT_BAD(CVMS VM_ISO("a", "base: 0x600000000000, size: 0x10000, begin: 0x600000000000, "
				    "end: 0x600000010000"),
		   5, "isolation", "must lie within [0x10000, 0x600000000000)");
	EXPECT_BAD(CVMS VM_ISO("a", "base: 0x5fffffff0000, size: 0x20000, begin: 0x5fffffff0000, "
				    "end: 0x600000010000"),
		   5, "isolation", "must lie within");
	/* begin/end fine but base (where the image goes) outside them */
	EXPECT_BAD(CVMS VM_ISO("a", "base: 0x5ffffff00000, size: 0x1000000, begin: 0x20000000, "
				    "end: 0x21000000"),
		   5, "base", "does not lie in [begin, end)");
	return 1;
}

static int range_below_user_min_is_rejected(void)
{
	EXPECT_BAD(CVMS VM_ISO("a", "base: 0, size: 0x100000, begin: 0, end: 0x100000"), 5,
		   "isolation", "must lie within");
	return 1;
}

static int range_smaller_than_64k_is_rejected(void)
{
	EXPECT_BAD(
		CVMS VM_ISO("a",
			    "base: 0x20000000, size: 0x8000, begin: 0x20000000, end: 0x20008000"),
		5, "size", "smaller than the 64 KiB minimum");
	return 1;
}

static int incomplete_range_is_rejected(void)
{
	EXPECT_BAD(CVMS VM_ISO("a", "base: 0x20000000, size: 0x1000000, begin: 0x20000000"), 5,
		   "isolation", "needs base, size, begin and end");
	return 1;
}

static int isolation_with_two_ranges_is_rejected(void)
{
	EXPECT_BAD(CVMS VM_ISO("a", RANGE_A) "  - {" RANGE_A "}\n", 5, "isolation",
		   "expected a list with exactly one range");
	EXPECT_BAD(CVMS "- name: a\n  runtime: a.so\n  isolation: []\n", 4, "isolation",
		   "exactly one range");
	EXPECT_BAD(CVMS "- name: a\n  runtime: a.so\n  isolation: {" RANGE_A "}\n", 4, "isolation",
		   "exactly one range");
	EXPECT_BAD(CVMS "- name: a\n  runtime: a.so\n  isolation: [1]\n", 4, "isolation",
		   "the range must be a mapping");
	return 1;
}

/* ---- missing keys ---- */

static int missing_runtime_is_rejected(void)
{
	EXPECT_BAD(CVMS "- name: a\n  isolation:\n  - {" RANGE_A "}\n", 2, "runtime",
		   "missing in cVM 'a'");
	return 1;
}

static int missing_isolation_makes_a_program_with_the_default_memory(void)
{
	EXPECT_GOOD(CVMS "- name: a\n  runtime: /bin/a\n  disk: d\n");
	struct iv_cvm_cfg v = cfg.cvms[0];
	iv_config_free(&cfg);
	EXPECT(v.program && v.runtime_in_disk, "expected a program inside its disk");
	EXPECT_EQ(v.memory, IV_PROGRAM_MEMORY);
	EXPECT_GOOD(CVMS "- name: a\n  runtime: a\n  memory: 64M\n");
	v = cfg.cvms[0];
	iv_config_free(&cfg);
	EXPECT(v.program && !v.runtime_in_disk, "expected a program with a host runtime");
	EXPECT_EQ(v.memory, 64ULL << 20);
	EXPECT_BAD(CVMS "- name: a\n  runtime: a\n  memory: 1X\n", 4, "memory",
		   "expected a number");
	EXPECT_BAD(CVMS "- name: a\n  runtime: a\n  memory: 1M\n", 4, "memory",
		   "expected 16M to 1T");
	EXPECT_BAD(CVMS VM_A "  memory: 64M\n", 9, "memory", "has an isolation range");
	return 1;
}

static int missing_name_is_rejected(void)
{
	EXPECT_BAD(CVMS "- runtime: a.so\n  isolation:\n  - {" RANGE_A "}\n", 2, "name",
		   "missing in cVM");
	return 1;
}

/* ---- values out of range, and what is not supported yet ---- */

static int wait_below_minus_1_is_rejected(void)
{
	EXPECT_BAD(CVMS VM_A "  wait: -2\n", 9, "wait", "expected -1 or 0..86400 seconds, got -2");
	EXPECT_BAD(CVMS VM_A "  wait: 86401\n", 9, "wait", "expected -1 or 0..86400 seconds");
	return 1;
}

static int fork_template_resume_take_only_0_or_1(void)
{
	EXPECT_BAD(CVMS VM_A "  fork: 2\n", 9, "fork", "expected 0 or 1, got '2'");
	EXPECT_BAD(CVMS VM_A "  template: yes\n", 9, "template", "expected a number, got 'yes'");
	EXPECT_BAD(CVMS VM_A "  resume: -1\n", 9, "resume", "must not be negative");
	return 1;
}

static int template_and_resume_at_once_are_rejected(void)
{
	EXPECT_BAD(CVMS VM_A "  template: 1\n  resume: 1\n", 2, "resume",
		   "cVM 'a' cannot be a template and a fork at once");
	return 1;
}

static int resume_without_an_earlier_template_is_rejected(void)
{
	EXPECT_BAD(CVMS VM_A "  resume: 1\n", 2, "resume",
		   "no template with runtime 'a.so' comes before cVM 'a'");
	/* a template after the fork does not count */
	EXPECT_BAD(CVMS VM_A
		   "  resume: 1\n" VM_ISO("t", "base: 0x30000000, size: 0x10000, begin: "
					       "0x30000000, end: 0x30010000") "  template: 1\n",
		   2, "resume", "no template with runtime 'a.so'");
	return 1;
}

static int snapshot_path_belongs_to_templates_and_restores(void)
{
	EXPECT_BAD(CVMS VM_A "  snapshot_path: /tmp/snap\n", 2, "snapshot_path", "only a template");
	EXPECT_GOOD(CVMS "- name: r\n  runtime: a\n  resume: 1\n  snapshot_path: /tmp/snap\n");
	int restored_program = cfg.cvms[0].program;
	iv_config_free(&cfg);
	EXPECT(restored_program, "a restore without a range is a program's");
	return 1;
}

static int net_is_for_programs_and_callback_in_names_an_inner(void)
{
	/* net: is for programs (tests/cases/net.sh); a malformed one is refused first */
	EXPECT_BAD(CVMS VM_A "  net: tap0\n", 9, "net", "expected 'loopback' or a mapping");
	EXPECT_BAD(CVMS VM_A "  net: loopback\n", 2, "net", "only programs");
	EXPECT_BAD(CVMS VM_A "  callback_in: other\n", 9, "callback_in",
		   "is no cVM's callback_out");
	return 1;
}

/* (tests/cases/nested.sh has the rest of nesting's errors) */
static int callback_out_names_an_existing_cvm(void)
{
	EXPECT_BAD(CVMS VM_A "  callback_out: other\n", 9, "callback_out",
		   "no cVM is named 'other'");
	return 1;
}

/* ---- the file as a whole ---- */

static int yaml_syntax_error_names_its_line(void)
{
	EXPECT_BAD(CVMS "- name: a\n  runtime: [unclosed\n  wait: 1\n", 4, NULL,
		   "YAML syntax error");
	EXPECT_BAD(CVMS "- name: a\n\truntime: a.so\n", 3, NULL, "YAML syntax error");
	return 1;
}

static int empty_file_has_no_cvms(void)
{
	EXPECT_BAD("", 0, NULL, "no cVMs");
	EXPECT_BAD("# nothing but a comment\n", 0, NULL, "no cVMs");
	EXPECT_BAD("\n\n   \n", 0, NULL, "no cVMs");
	return 1;
}

static int capfiles_only_config_has_no_cvms(void)
{
	EXPECT_BAD("capfiles:\n- name: c\n  size: 1\n", 0, NULL, "no cVMs to deploy");
	EXPECT_BAD("cVMs: []\n", 0, NULL, "no cVMs to deploy");
	return 1;
}

static int non_mapping_documents_are_rejected(void)
{
	EXPECT_BAD("- a\n- b\n", 1, NULL, "a document must be a mapping");
	EXPECT_BAD("cVMs: a.so\n", 1, "cVMs", "expected a list");
	EXPECT_BAD("cVMs:\n- a.so\n", 2, "cVMs", "each entry must be a mapping");
	EXPECT_BAD("capfiles:\n- c\n" CVMS VM_A, 2, "capfiles", "each entry must be a mapping");
	EXPECT_BAD("[a]: 1\n", 1, "?", "unknown top-level key");
	return 1;
}

static int bad_cvm_name_is_rejected(void)
{
	EXPECT_BAD(CVMS VM_ISO("a/b", RANGE_A), 2, "name", "'a/b' may hold only letters, digits");
	EXPECT_BAD(CVMS VM_ISO("\"\"", RANGE_A), 2, "name", "must be 1 to 63 characters");
	EXPECT_BAD(CVMS VM_ISO("a234567890123456789012345678901234567890123456789012345678901234",
			       RANGE_A),
		   2, "name", "must be 1 to 63 characters");
	EXPECT_BAD(CAPS("- name: 'x y'\n  size: 1\n"), 3, "name", "may hold only");
	return 1;
}

/* ---- how a program starts: args and env ---- */

/* v joined as <a><b>..., or "(none)". */
static const char *show_vector(char *const *v, char *buf, size_t n)
{
	size_t o = 0;
	buf[0] = 0;
	for (size_t i = 0; v && v[i] && o < n; i++)
		o += (size_t)snprintf(buf + o, n - o, "<%s>", v[i]);
	return v ? buf : "(none)";
}

/* The cVM of CVMS VM_A with the extra lines parses, and its argv (or with
 * env, its envp) is want. */
static int vector_is(const char *extra, int env, const char *const *want)
{
	char text[1024], got[256], exp[256];
	snprintf(text, sizeof(text), CVMS VM_A "%s", extra);
	EXPECT_GOOD(text);
	show_vector(env ? cfg.cvms[0].envp : cfg.cvms[0].argv, got, sizeof(got));
	iv_config_free(&cfg);
	show_vector((char *const *)want, exp, sizeof(exp));
	EXPECT(!strcmp(got, exp), "for \"%s\" expected %s, got %s", extra, exp, got);
	return 1;
}

#define ARGV_IS(extra, ...) vector_is(extra, 0, (const char *const[]){__VA_ARGS__, NULL})
#define ENV_IS(extra, ...)  vector_is(extra, 1, (const char *const[]){__VA_ARGS__, NULL})

static int args_string_is_split_as_sh_splits_words(void)
{
	return ARGV_IS("  args: \"prog 'a b' \\\"c d\\\" e\\\\ f\"\n", "prog", "a b", "c d",
		       "e f") &&
	       ARGV_IS("  args: \"  x\\t y\\n\"\n", "x", "y") &&
	       ARGV_IS("  args: 'a''b''\"c\" '''' \"\"'\n", "abc", "", "") &&
	       /* inside "...", \ quotes only " \ $ ` */
	       ARGV_IS("  args: '\"q\\\"t \\\\ \\$ \\x\"'\n", "q\"t \\ $ \\x") &&
	       /* outside quotes, \ quotes anything; \ newline is nothing */
	       ARGV_IS("  args: a\\ b \\'c\\'\n", "a b", "'c'") &&
	       ARGV_IS("  args: \"a\\\\\\nb\"\n", "ab");
}

static int args_expand_nothing(void)
{
	return ARGV_IS("  args: 'echo $HOME * ~ ; | & `x` $(y)'\n", "echo", "$HOME", "*", "~", ";",
		       "|", "&", "`x`", "$(y)");
}

static int absent_or_blank_args_give_the_name_as_argv(void)
{
	if (!ARGV_IS("", "a") || !ARGV_IS("  args: \" \\t \"\n", "a"))
		return 0;
	EXPECT_GOOD(CVMS VM_A "  args: \"  \"\n");
	char got[16];
	snprintf(got, sizeof(got), "%s", cfg.cvms[0].args);
	iv_config_free(&cfg);
	EXPECT_STR(got, "  "); /* what host_get_arg gives */
	return 1;
}

static int args_list_is_taken_as_it_is(void)
{
	if (!ARGV_IS("  args: [prog, \"a b\", \"\", \"$X\", \"'q'\"]\n", "prog", "a b", "", "$X",
		     "'q'") ||
	    !ARGV_IS("  args:\n  - /bin/x\n  - -v\n", "/bin/x", "-v"))
		return 0;
	EXPECT_GOOD(CVMS VM_A "  args: [prog, \"a b\", \"\", c]\n");
	char got[64];
	snprintf(got, sizeof(got), "%s", cfg.cvms[0].args);
	iv_config_free(&cfg);
	EXPECT_STR(got, "prog a b  c"); /* host_get_arg: the items joined by spaces */
	return 1;
}

static int bad_args_are_refused_naming_where(void)
{
	EXPECT_BAD(CVMS VM_A "  args: \"a 'b c\"\n", 9, "args",
		   "unterminated ' quote (at character 3 of 'a 'b c')");
	EXPECT_BAD(CVMS VM_A "  args: 'a \"b'\n", 9, "args",
		   "unterminated \" quote (at character 3");
	EXPECT_BAD(CVMS VM_A "  args: 'a\\'\n", 9, "args", "a backslash with nothing after it");
	EXPECT_BAD(CVMS VM_A "  args: []\n", 9, "args", "an empty list names no program");
	EXPECT_BAD(CVMS VM_A "  args: [a, {b: 1}]\n", 9, "args", "each item must be a string");
	EXPECT_BAD(CVMS VM_A "  args: [a, \"b\\0\"]\n", 9, "args", "each item must be a string");
	return 1;
}

static int env_has_a_default(void)
{
	return ENV_IS("", "PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/", "TERM=dumb",
		      "LANG=C.UTF-8");
}

static int env_is_a_map_or_a_list_and_replaces_the_default(void)
{
	return ENV_IS("  env: {A: 1, B_2: \"x y\", _c: \"\"}\n", "A=1", "B_2=x y", "_c=") &&
	       ENV_IS("  env:\n    PATH: /bin\n", "PATH=/bin") &&
	       ENV_IS("  env: [A=1, \"B==2\", C=]\n", "A=1", "B==2", "C=") &&
	       vector_is("  env: {}\n", 1, (const char *const[]){NULL}) &&
	       vector_is("  env: []\n", 1, (const char *const[]){NULL});
}

static int bad_env_is_refused_naming_where(void)
{
	EXPECT_BAD(CVMS VM_A "  env: A=1\n", 9, "env",
		   "expected a map of NAME: value or a list of NAME=value");
	EXPECT_BAD(CVMS VM_A "  env: {1A: x}\n", 9, "env", "'1A' is not a variable name");
	EXPECT_BAD(CVMS VM_A "  env: [\"A B=1\"]\n", 9, "env", "'A B' is not a variable name");
	EXPECT_BAD(CVMS VM_A "  env: [\"=1\"]\n", 9, "env", "'' is not a variable name");
	EXPECT_BAD(CVMS VM_A "  env:\n  - A=1\n  - A=2\n", 11, "env", "'A' given twice");
	EXPECT_BAD(CVMS VM_A "  env: [A]\n", 9, "env", "'A' is not NAME=value");
	EXPECT_BAD(CVMS VM_A "  env: {A: [1]}\n", 9, "env", "the value of 'A' must be a string");
	EXPECT_BAD(CVMS VM_A "  env: {A: 1, A: 2}\n", 9, "env", "'A' given twice");
	return 1;
}

static int env_of_a_fork_is_its_templates(void)
{
	EXPECT_BAD(CVMS VM_A "  template: 1\n"
			     "- name: f\n  runtime: a.so\n  resume: 1\n  env: [A=1]\n",
		   13, "env", "whose environment, working directory and stdin it keeps");
	return 1;
}

/* ---- how a program starts: identity, stdin, cwd, disk_ro ---- */

#define RANGE_B "base: 0x30000000, size: 0x10000, begin: 0x30000000, end: 0x30010000"
#define RANGE_C "base: 0x40000000, size: 0x10000, begin: 0x40000000, end: 0x40010000"

/* The ids of cvms[i] of the parsed config, as "uid:gid". */
static const char *ids_of(size_t i)
{
	static char buf[32];
	snprintf(buf, sizeof(buf), "%u:%u", (unsigned)cfg.cvms[i].uid, (unsigned)cfg.cvms[i].gid);
	return buf;
}

/* text parses and its cVMs' ids are want ("uid:gid uid:gid ..."). */
static int ids_are(const char *text, const char *want)
{
	char got[256] = "";
	EXPECT_GOOD(text);
	for (size_t i = 0; i < cfg.ncvms; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? " " : "",
			 ids_of(i));
	iv_config_free(&cfg);
	EXPECT_STR(got, want);
	return 1;
}

/* Pinned: a new derivation would take from every cVM the files of its disk. */
static int uid_is_derived_from_the_name(void)
{
	return ids_are(CVMS VM_A, "202220:202220") &&
	       ids_are(CVMS VM_ISO("a", RANGE_A) VM_ISO("p", RANGE_B),
		       "202220:202220 421743:421743");
}

/* c10318 and c12280 both hash to 1136409: the later in config order moves
 * up, in either order; a given uid or gid is never taken by a derived one. */
static int colliding_names_get_distinct_uids_in_config_order(void)
{
	return ids_are(CVMS VM_ISO("c10318", RANGE_A) VM_ISO("c12280", RANGE_B),
		       "1136409:1136409 1136410:1136410") &&
	       ids_are(CVMS VM_ISO("c12280", RANGE_A) VM_ISO("c10318", RANGE_B),
		       "1136409:1136409 1136410:1136410") &&
	       ids_are(CVMS VM_ISO("c10318", RANGE_A) VM_ISO("x", RANGE_B) "  uid: 1136409\n",
		       "1136410:1136410 1136409:1136409") &&
	       ids_are(CVMS VM_ISO("c10318", RANGE_A) VM_ISO("x", RANGE_B) "  uid: 5000\n"
									   "  gid: 1136409\n",
		       "1136410:1136410 5000:1136409");
}

static int uid_and_gid_may_be_given(void)
{
	return ids_are(CVMS VM_A "  uid: 5000\n", "5000:5000") &&
	       ids_are(CVMS VM_A "  uid: 5000\n  gid: 0x1770\n", "5000:6000") &&
	       ids_are(CVMS VM_A "  gid: 6000\n", "202220:6000") &&
	       ids_are(CVMS VM_A "  uid: 4294967294\n", "4294967294:4294967294") &&
	       /* the config says so: both given the same uid */
	       ids_are(CVMS VM_A "  uid: 7000\n" VM_ISO("b", RANGE_B) "  uid: 7000\n",
		       "7000:7000 7000:7000");
}

static int bad_uid_or_gid_is_refused(void)
{
	EXPECT_BAD(CVMS VM_A "  uid: 0\n", 9, "uid", "expected 1000..4294967294 but 65534");
	EXPECT_BAD(CVMS VM_A "  uid: 999\n", 9, "uid", "got 999");
	EXPECT_BAD(CVMS VM_A "  gid: 65534\n", 9, "gid", "got 65534");
	EXPECT_BAD(CVMS VM_A "  uid: 4294967295\n", 9, "uid", "got 4294967295");
	EXPECT_BAD(CVMS VM_A "  uid: -1\n", 9, "uid", "must not be negative");
	EXPECT_BAD(CVMS VM_A "  gid: root\n", 9, "gid", "expected a number");
	return 1;
}

/* A fork runs as its template; a restored cVM has ids of its own. */
static int a_fork_has_its_templates_ids(void)
{
	if (!ids_are(CVMS VM_A "  uid: 5000\n  template: 1\n"
			       "- name: f\n  runtime: a.so\n  resume: 1\n",
		     "5000:5000 5000:5000") ||
	    !ids_are(CVMS VM_A "  template: 1\n"
			       "- name: r\n  runtime: a.so\n  resume: 1\n  snapshot_path: s\n"
			       "  uid: 5000\n  isolation:\n  - {" RANGE_B "}\n",
		     "202220:202220 5000:5000"))
		return 0;
	EXPECT_BAD(CVMS VM_A "  template: 1\n"
			     "- name: f\n  runtime: a.so\n  resume: 1\n  uid: 5000\n",
		   13, "uid", "cVM 'f' is a fork: it runs with its template's ids, disk and memory");
	EXPECT_BAD(CVMS VM_A "  template: 1\n"
			     "- name: f\n  runtime: a.so\n  resume: 1\n  disk_ro: 1\n",
		   13, "disk_ro", "is a fork");
	return 1;
}

static int stdin_is_a_file_in_the_disk_or_the_monitors(void)
{
	EXPECT_GOOD(CVMS VM_A "  disk: d\n  stdin: /in/put.txt\n  cwd: /work\n  disk_ro: 1\n");
	char got[128];
	snprintf(got, sizeof(got), "%s %s %d %d %d", cfg.cvms[0].stdin_path, cfg.cvms[0].cwd,
		 cfg.cvms[0].stdin_monitor, cfg.cvms[0].disk_ro, cfg.cvms[0].stdin_line);
	iv_config_free(&cfg);
	EXPECT_STR(got, "/in/put.txt /work 0 1 10");
	EXPECT_GOOD(CVMS VM_A "  stdin: \"-\"\n");
	snprintf(got, sizeof(got), "%d %s", cfg.cvms[0].stdin_monitor,
		 cfg.cvms[0].stdin_path ? "path" : "none");
	iv_config_free(&cfg);
	EXPECT_STR(got, "1 none");
	return 1;
}

static int bad_stdin_cwd_disk_ro_are_refused(void)
{
	EXPECT_BAD(CVMS VM_A "  disk: d\n  stdin: in.txt\n", 10, "stdin",
		   "expected '-' (the monitor's stdin) or an absolute path inside the disk, got "
		   "'in.txt'");
	EXPECT_BAD(CVMS VM_A "  disk: d\n  cwd: work\n", 10, "cwd",
		   "expected an absolute path inside the disk");
	EXPECT_BAD(CVMS VM_A "  stdin: /in.txt\n", 9, "stdin", "needs a 'disk'");
	EXPECT_BAD(CVMS VM_A "  cwd: /\n", 9, "cwd", "needs a 'disk'");
	EXPECT_BAD(CVMS VM_A "  disk_ro: 1\n", 9, "disk_ro", "needs a 'disk'");
	EXPECT_BAD(CVMS VM_A "  disk: d\n  disk_ro: yes\n", 10, "disk_ro", "expected a number");
	EXPECT_BAD(CVMS VM_A "  stdin: [a]\n", 9, "stdin", "expected a string");
	EXPECT_BAD(CVMS VM_A "  stdin: \"-\"\n" VM_ISO("b", RANGE_B) "  stdin: \"-\"\n", 14,
		   "stdin", "cVM 'b' and cVM 'a' (line 2) both take the monitor's stdin");
	EXPECT_BAD(CVMS VM_A "  template: 1\n"
			     "- name: f\n  runtime: a.so\n  resume: 1\n  stdin: \"-\"\n",
		   13, "stdin", "whose environment, working directory and stdin it keeps");
	EXPECT_BAD(CVMS VM_A "  template: 1\n"
			     "- name: f\n  runtime: a.so\n  resume: 1\n  cwd: /\n",
		   13, "cwd", "whose environment");
	return 1;
}

/* ---- duplicate keys, nesting and size ---- */

static int duplicate_key_in_capfile_entry_names_both_lines(void)
{
	EXPECT_BAD(CAPS("- name: c\n  size: 1\n  size: 2\n"), 5, "size",
		   "given twice, at lines 4 and 5");
	EXPECT_BAD(CAPS("- name: c\n  size: 1\n  name: d\n"), 5, "name",
		   "given twice, at lines 3 and 5");
	return 1;
}

static int duplicate_key_in_cvm_entry_names_both_lines(void)
{
	/* the later value would otherwise win silently */
	EXPECT_BAD(CVMS VM_A "  name: b\n", 9, "name", "given twice, at lines 2 and 9");
	EXPECT_BAD(CVMS VM_A "  runtime: b.so\n", 9, "runtime", "given twice, at lines 3 and 9");
	EXPECT_BAD(CVMS VM_A "  wait: 1\n  wait: -1\n", 10, "wait",
		   "given twice, at lines 9 and 10");
	EXPECT_BAD(CVMS VM_A "  isolation:\n  - {" RANGE_A "}\n", 9, "isolation",
		   "given twice, at lines 4 and 9");
	return 1;
}

static int duplicate_key_in_isolation_range_names_both_lines(void)
{
	EXPECT_BAD(CVMS VM_ISO("a", RANGE_A ", base: 0x30000000"), 5, "base",
		   "given twice, at lines 5 and 5");
	EXPECT_BAD(CVMS "- name: a\n  runtime: a.so\n  isolation:\n  - base: 0x20000000\n"
			"    size: 0x1000000\n    begin: 0x20000000\n    end: 0x21000000\n"
			"    size: 0x1000000\n",
		   9, "size", "given twice, at lines 6 and 9");
	return 1;
}

static int duplicate_top_level_key_names_both_lines(void)
{
	EXPECT_BAD(CVMS VM_A CVMS VM_ISO("b", "base: 0x30000000, size: 0x10000, begin: "
					      "0x30000000, end: 0x30010000"),
		   9, "cVMs", "given twice, at lines 1 and 9");
	EXPECT_BAD("capfiles:\n- name: c\n  size: 1\ncapfiles:\n- name: d\n  size: 1\n" CVMS VM_A,
		   4, "capfiles", "given twice, at lines 1 and 4");
	return 1;
}

static int key_with_nul_is_not_taken_for_another(void)
{
	EXPECT_BAD(CVMS VM_A "  \"wait\\0x\": 1\n", 9, NULL, "cVM keys must be plain strings");
	return 1;
}

static int error_is_one_line_whatever_the_input_holds(void)
{
	EXPECT_BAD(CVMS VM_ISO("\"a\\nMON: b\"", RANGE_A), 2, "name",
		   "'a\\x0aMON: b' may hold only letters");
	EXPECT_BAD(CVMS VM_A "  \"x\\ry\": 1\n", 9, "x\\x0dy", "unknown cVM key");
	return 1;
}

/* text made of a prefix, n copies of open, n copies of close */
static char *nest(const char *prefix, const char *open, const char *close, size_t n)
{
	size_t lp = strlen(prefix), lo = strlen(open), lc = strlen(close);
	char *t = malloc(lp + n * (lo + lc) + 1);
	if (!t)
		abort();
	char *q = t;
	memcpy(q, prefix, lp);
	q += lp;
	for (size_t i = 0; i < n; i++, q += lo)
		memcpy(q, open, lo);
	for (size_t i = 0; i < n; i++, q += lc)
		memcpy(q, close, lc);
	*q = 0;
	return t;
}

static int deep_nesting_is_refused_at_its_line(void)
{
	/* 100000 levels: the scanner's time would grow with their square */
	char *t = nest("cVMs:\n- name: a\n  args: ", "[", "]", 100000);
	int rc = parse(t);
	free(t);
	if (rc == 0)
		iv_config_free(&cfg);
	EXPECT(rc == -1, "expected 100000 levels of nesting to be refused");
	EXPECT_STR(err.msg, "t.yaml:3: nested more than 16 levels deep");
	t = nest("cVMs:\n", "- ", "", 17);
	rc = parse(t);
	free(t);
	if (rc == 0)
		iv_config_free(&cfg);
	EXPECT(rc == -1, "expected 17 block levels to be refused");
	EXPECT_HAS(err.msg, "nested more than 16 levels deep");
	t = nest("cVMs:\n- name: a\n  args: ", "{a: ", "}", 40);
	rc = parse(t);
	free(t);
	if (rc == 0)
		iv_config_free(&cfg);
	EXPECT(rc == -1, "expected 40 levels of flow mappings to be refused");
	EXPECT_STR(err.msg, "t.yaml:3: nested more than 16 levels deep");
	return 1;
}

static int huge_node_count_is_refused_at_its_line(void)
{
	/* a list of 200000 scalars: item k is on line k + 1, node k + 4 */
	char *t = nest("cVMs:\n", "- x\n", "", 200000);
	int rc = parse(t);
	free(t);
	if (rc == 0)
		iv_config_free(&cfg);
	EXPECT(rc == -1, "expected 200000 nodes to be refused");
	EXPECT_STR(err.msg, "t.yaml:9998: more than 10000 YAML nodes");
	/* many aliases count too, though they share one node */
	t = nest("capfiles: &c\n- name: c\n  size: 1\ncVMs:\n- name: a\n  args: [", "*c, ", "",
		 20000);
	rc = parse(t);
	free(t);
	if (rc == 0)
		iv_config_free(&cfg);
	EXPECT(rc == -1, "expected 20000 aliases to be refused");
	EXPECT_HAS(err.msg, "more than 10000 YAML nodes");
	return 1;
}

static int alias_to_its_own_mapping_is_refused(void)
{
	EXPECT_BAD(CVMS "- &m {name: a, runtime: *m}\n", 2, "runtime", "expected a string");
	EXPECT_BAD("cVMs: &s\n- *s\n", 1, "cVMs", "each entry must be a mapping");
	return 1;
}

/* ---- iv_config_load: the file, relative paths, runtimes that must exist ---- */

static char dir[64];

static int write_file(const char *name, const char *text)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int load(const char *name)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	memset(&err, 0, sizeof(err));
	return iv_config_load(p, &cfg, &err);
}

static int load_resolves_paths_against_the_config_dir(void)
{
	EXPECT(write_file("a.so", "x") == 0 && write_file("ok.yaml", CVMS VM_A "  disk: .\n") == 0,
	       "expected to write into %s", dir);
	int rc = load("ok.yaml");
	EXPECT(rc == 0, "expected success, got \"%s\"", err.msg);
	char want_rt[160], want_disk[160], got_rt[160], got_disk[160];
	snprintf(want_rt, sizeof(want_rt), "%s/a.so", dir);
	/* the disk is kept as its real path: "DIR/." is DIR */
	char *real = realpath(dir, NULL);
	snprintf(want_disk, sizeof(want_disk), "%s", real ? real : "?");
	free(real);
	snprintf(got_rt, sizeof(got_rt), "%s", cfg.cvms[0].runtime);
	snprintf(got_disk, sizeof(got_disk), "%s", cfg.cvms[0].disk);
	iv_config_free(&cfg);
	EXPECT_STR(got_rt, want_rt);
	EXPECT_STR(got_disk, want_disk);
	return 1;
}

static int load_rejects_missing_runtime(void)
{
	/* the first cVM's runtime exists, the second's (line 6) does not */
	EXPECT(write_file("a.so", "x") == 0 &&
		       write_file(
			       "nort.yaml",
			       CVMS VM_ISO(
				       "a",
				       RANGE_A) "- name: b\n  runtime: missing.so\n  isolation:\n  "
						"- {base: 0x30000000, size: 0x10000, begin: "
						"0x30000000, end: 0x30010000}\n") == 0,
	       "expected to write into %s", dir);
	int rc = load("nort.yaml");
	if (rc == 0)
		iv_config_free(&cfg);
	EXPECT(rc == -1, "expected a missing runtime to be rejected");
	char want[200];
	snprintf(want, sizeof(want),
		 "%s/nort.yaml:6: key 'runtime': '%s/missing.so' is not a readable file", dir, dir);
	EXPECT_STR(err.msg, want);
	return 1;
}

static int load_rejects_runtime_that_is_a_directory(void)
{
	EXPECT(write_file("dirrt.yaml",
			  "cVMs:\n- name: a\n  runtime: .\n  isolation:\n  - {" RANGE_A "}\n") == 0,
	       "expected to write into %s", dir);
	int rc = load("dirrt.yaml");
	if (rc == 0)
		iv_config_free(&cfg);
	EXPECT(rc == -1, "expected a directory as runtime to be rejected");
	EXPECT_HAS(err.msg, "dirrt.yaml:2: key 'runtime': ");
	EXPECT_HAS(err.msg, "is not a readable file");
	return 1;
}

static int load_rejects_disk_that_is_not_a_directory(void)
{
	EXPECT(write_file("a.so", "x") == 0 &&
		       write_file("disk.yaml", CVMS VM_A "  disk: a.so\n") == 0,
	       "expected to write into %s", dir);
	int rc = load("disk.yaml");
	if (rc == 0)
		iv_config_free(&cfg);
	EXPECT(rc == -1, "expected a file as disk to be rejected");
	EXPECT_HAS(err.msg, "disk.yaml:2: key 'disk': ");
	EXPECT_HAS(err.msg, "is not a directory");
	return 1;
}

static int load_rejects_missing_config_file(void)
{
	int rc = load("does-not-exist.yaml");
	if (rc == 0)
		iv_config_free(&cfg);
	EXPECT(rc == -1, "expected a missing config file to be rejected");
	EXPECT_HAS(err.msg, "does-not-exist.yaml: cannot open: No such file or directory");
	return 1;
}

static int load_reports_parse_errors_with_the_given_path(void)
{
	EXPECT(write_file("bad.yaml", CVMS VM_A "  colour: red\n") == 0, "expected to write");
	int rc = load("bad.yaml");
	if (rc == 0)
		iv_config_free(&cfg);
	EXPECT(rc == -1, "expected an unknown key to be rejected");
	char want[160];
	snprintf(want, sizeof(want), "%s/bad.yaml:9: key 'colour': unknown cVM key", dir);
	EXPECT_STR(err.msg, want);
	return 1;
}

/* The config at dir/name is refused with an error that contains want. */
static int load_fails(const char *name, const char *want)
{
	int rc = load(name);
	if (rc == 0)
		iv_config_free(&cfg);
	EXPECT(rc == -1, "expected %s to be refused with \"%s\"", name, want);
	EXPECT_HAS(err.msg, want);
	return 1;
}

static int load_refuses_fifo_and_device_as_config_without_blocking(void)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/fifo.yaml", dir);
	EXPECT(mkfifo(p, 0600) == 0, "expected to make a FIFO at %s", p);
	/* no writer: a blocking open would wait forever */
	if (!load_fails("fifo.yaml", "fifo.yaml: not a regular file of at most 1 MiB (a FIFO)"))
		return 0;
	memset(&err, 0, sizeof(err));
	int rc = iv_config_load("/dev/zero", &cfg, &err);
	if (rc == 0)
		iv_config_free(&cfg);
	EXPECT(rc == -1, "expected /dev/zero to be refused");
	EXPECT_STR(err.msg, "/dev/zero: not a regular file of at most 1 MiB (a character device)");
	return 1;
}

static int load_refuses_config_over_1_mib(void)
{
	char *t = malloc((1 << 20) + 2);
	EXPECT(t, "out of memory");
	memset(t, '#', (1 << 20) + 1);
	t[(1 << 20) + 1] = 0;
	int w = write_file("big.yaml", t);
	free(t);
	EXPECT(w == 0, "expected to write big.yaml");
	return load_fails("big.yaml", "big.yaml: not a regular file of at most 1 MiB (too large)");
}

/* A config with VM_A whose disk is d. */
static int load_disk(const char *d)
{
	char text[512];
	snprintf(text, sizeof(text), CVMS VM_A "  disk: %s\n", d);
	if (write_file("a.so", "x") || write_file("disk.yaml", text))
		return -2;
	return load("disk.yaml");
}

static int load_refuses_host_root_and_system_dirs_as_disk_in_any_spelling(void)
{
	static const char *bad[] = {
		"/",	      "//",	      "/etc/..",     "/./usr/../",   "/proc/self/..",
		"/proc/self", "/proc/1/root", "/etc",	     "/etc/default", "/usr",
		"/usr/lib",   "/dev/shm",     "/sys/kernel", "/tmp",	     "/var",
		"/home",      "/boot",	      "lnusr",	     "lnroot/etc/.."};
	char p[128];
	snprintf(p, sizeof(p), "%s/lnusr", dir);
	EXPECT(symlink("/usr", p) == 0, "expected to make a link at %s", p);
	snprintf(p, sizeof(p), "%s/lnroot", dir);
	EXPECT(symlink("/", p) == 0, "expected to make a link at %s", p);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct stat st;
		if (bad[i][0] == '/' && stat(bad[i], &st))
			continue; /* not on this host */
		int rc = load_disk(bad[i]);
		if (rc == 0)
			iv_config_free(&cfg);
		EXPECT(rc == -1, "expected disk '%s' to be refused", bad[i]);
		char want[200];
		snprintf(want, sizeof(want), "disk.yaml:2: key 'disk': ");
		EXPECT_HAS(err.msg, want);
		EXPECT_HAS(err.msg, "the host's root or a system directory");
	}
	return 1;
}

static int load_keeps_the_real_path_of_a_disk_behind_a_link(void)
{
	char p[128], q[128];
	snprintf(p, sizeof(p), "%s/realdisk", dir);
	snprintf(q, sizeof(q), "%s/lndisk", dir);
	EXPECT(mkdir(p, 0755) == 0 && symlink("realdisk/", q) == 0, "expected to make %s", p);
	int rc = load_disk("lndisk/../lndisk");
	EXPECT(rc == 0, "expected an ordinary disk to be accepted, got \"%s\"", err.msg);
	char got[160];
	snprintf(got, sizeof(got), "%s", cfg.cvms[0].disk);
	iv_config_free(&cfg);
	char *want = realpath(p, NULL);
	snprintf(q, sizeof(q), "%s", want ? want : "?");
	free(want);
	EXPECT_STR(got, q);
	return 1;
}

static void rm_dir(void)
{
	static const char *files[] = {"a.so",	   "ok.yaml",  "nort.yaml", "dirrt.yaml",
				      "disk.yaml", "bad.yaml", "fifo.yaml", "big.yaml",
				      "lnusr",	   "lnroot",   "lndisk"};
	char p[128];
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/realdisk", dir);
	rmdir(p);
	rmdir(dir);
}

int main(void)
{
	RUN(full_config_parses_to_expected_values);
	RUN(one_document_with_both_lists_is_accepted);
	RUN(cvms_only_config_is_accepted_with_defaults);
	RUN(numbers_accept_hex_decimal_and_max_capfile_size);
	RUN(data_as_long_as_size_is_accepted);
	RUN(wait_0_and_86400_are_accepted);
	RUN(adjacent_ranges_do_not_overlap);

	RUN(unknown_top_level_key_is_rejected);
	RUN(unknown_cvm_key_is_rejected);
	RUN(unknown_capfile_key_is_rejected);
	RUN(unknown_isolation_key_is_rejected);
	RUN(mapping_as_string_is_rejected);
	RUN(abc_as_size_is_rejected);
	RUN(malformed_numbers_are_rejected);
	RUN(negative_size_is_rejected);
	RUN(size_0_is_rejected);
	RUN(data_longer_than_size_is_rejected);
	RUN(nul_in_string_is_rejected);
	RUN(missing_capfile_fields_are_rejected);
	RUN(duplicate_capfile_name_is_rejected);
	RUN(duplicate_cvm_name_is_rejected);
	RUN(overlapping_ranges_are_rejected);
	RUN(lists_given_twice_are_rejected);
	RUN(unaligned_begin_is_rejected);
	RUN(end_not_above_begin_is_rejected);
	RUN(size_not_end_minus_begin_is_rejected);
	RUN(range_above_stub_base_is_rejected);
	RUN(range_below_user_min_is_rejected);
	RUN(range_smaller_than_64k_is_rejected);
	RUN(incomplete_range_is_rejected);
	RUN(isolation_with_two_ranges_is_rejected);
	RUN(missing_runtime_is_rejected);
	RUN(missing_isolation_makes_a_program_with_the_default_memory);
	RUN(missing_name_is_rejected);
	RUN(wait_below_minus_1_is_rejected);
	RUN(fork_template_resume_take_only_0_or_1);
	RUN(template_and_resume_at_once_are_rejected);
	RUN(resume_without_an_earlier_template_is_rejected);
	RUN(snapshot_path_belongs_to_templates_and_restores);
	RUN(net_is_for_programs_and_callback_in_names_an_inner);
	RUN(callback_out_names_an_existing_cvm);
	RUN(yaml_syntax_error_names_its_line);
	RUN(empty_file_has_no_cvms);
	RUN(capfiles_only_config_has_no_cvms);
	RUN(non_mapping_documents_are_rejected);
	RUN(bad_cvm_name_is_rejected);
	RUN(args_string_is_split_as_sh_splits_words);
	RUN(args_expand_nothing);
	RUN(absent_or_blank_args_give_the_name_as_argv);
	RUN(args_list_is_taken_as_it_is);
	RUN(bad_args_are_refused_naming_where);
	RUN(env_has_a_default);
	RUN(env_is_a_map_or_a_list_and_replaces_the_default);
	RUN(bad_env_is_refused_naming_where);
	RUN(env_of_a_fork_is_its_templates);
	RUN(uid_is_derived_from_the_name);
	RUN(colliding_names_get_distinct_uids_in_config_order);
	RUN(uid_and_gid_may_be_given);
	RUN(bad_uid_or_gid_is_refused);
	RUN(a_fork_has_its_templates_ids);
	RUN(stdin_is_a_file_in_the_disk_or_the_monitors);
	RUN(bad_stdin_cwd_disk_ro_are_refused);
	RUN(duplicate_key_in_capfile_entry_names_both_lines);
	RUN(duplicate_key_in_cvm_entry_names_both_lines);
	RUN(duplicate_key_in_isolation_range_names_both_lines);
	RUN(duplicate_top_level_key_names_both_lines);
	RUN(key_with_nul_is_not_taken_for_another);
	RUN(error_is_one_line_whatever_the_input_holds);
	RUN(deep_nesting_is_refused_at_its_line);
	RUN(huge_node_count_is_refused_at_its_line);
	RUN(alias_to_its_own_mapping_is_refused);

	snprintf(dir, sizeof(dir), "/tmp/iv-test-config-XXXXXX");
	if (!mkdtemp(dir)) {
		CHECK("scratch_dir_is_created", 0, "expected mkdtemp to succeed");
	} else {
		RUN(load_resolves_paths_against_the_config_dir);
		RUN(load_rejects_missing_runtime);
		RUN(load_rejects_runtime_that_is_a_directory);
		RUN(load_rejects_disk_that_is_not_a_directory);
		RUN(load_rejects_missing_config_file);
		RUN(load_reports_parse_errors_with_the_given_path);
		RUN(load_refuses_fifo_and_device_as_config_without_blocking);
		RUN(load_refuses_config_over_1_mib);
		RUN(load_refuses_host_root_and_system_dirs_as_disk_in_any_spelling);
		RUN(load_keeps_the_real_path_of_a_disk_behind_a_link);
		rm_dir();
	}
	return check_summary();
}
