/*
 * The YAML configuration (two documents, as in the seed: capfiles, then
 * cVMs).  Every key is either implemented or rejected by name; errors carry
 * file, line and key, and a config with any error starts nothing.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <yaml.h>

#include "iv.h"

struct ctx {
	const char *path;
	yaml_document_t *doc;
	struct iv_err *err;
};

static int line_of(yaml_node_t *n)
{
	return n ? (int)n->start_mark.line + 1 : 0;
}

static int fail_at(struct ctx *c, yaml_node_t *n, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail_at(struct ctx *c, yaml_node_t *n, const char *key, const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (key)
		return iv_fail(c->err, "%s:%d: key '%s': %s", c->path, line_of(n), key, what);
	return iv_fail(c->err, "%s:%d: %s", c->path, line_of(n), what);
}

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int get_str(struct ctx *c, yaml_node_t *v, const char *key, char **out)
{
	const char *s = scalar(v);
	if (!s)
		return fail_at(c, v, key, "expected a string");
	if (strlen(s) != v->data.scalar.length)
		return fail_at(c, v, key, "contains a NUL byte");
	free(*out);
	*out = strdup(s);
	return *out ? 0 : fail_at(c, v, key, "out of memory");
}

/* Hex with 0x, or decimal; the whole scalar must be the number. */
static int get_num(struct ctx *c, yaml_node_t *v, const char *key, int allow_neg, long long *out)
{
	const char *s = scalar(v);
	if (!s || !*s)
		return fail_at(c, v, key, "expected a number");
	const char *p = s;
	int neg = 0;
	if (*p == '-') {
		if (!allow_neg)
			return fail_at(c, v, key, "must not be negative, got '%s'", s);
		neg = 1;
		p++;
	}
	int base = 10;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	if (!isxdigit((unsigned char)*p))
		return fail_at(c, v, key, "expected a number, got '%s'", s);
	errno = 0;
	char *end;
	unsigned long long u = strtoull(p, &end, base);
	if (*end || errno == ERANGE || u > (unsigned long long)LLONG_MAX)
		return fail_at(c, v, key, "expected a number, got '%s'", s);
	*out = neg ? -(long long)u : (long long)u;
	return 0;
}

static int get_u64(struct ctx *c, yaml_node_t *v, const char *key, uint64_t *out)
{
	long long x;
	if (get_num(c, v, key, 0, &x))
		return -1;
	*out = (uint64_t)x;
	return 0;
}

/* A size in bytes: a number, or a number with K, M or G (powers of 1024). */
static int get_size(struct ctx *c, yaml_node_t *v, const char *key, uint64_t *out)
{
	const char *s = scalar(v);
	size_t n = s ? strlen(s) : 0;
	const char *units = "KMG", *u = n ? strchr(units, s[n - 1]) : NULL;
	if (!u || !s[n - 1])
		return get_u64(c, v, key, out);
	char digits[32];
	if (n - 1 == 0 || n - 1 >= sizeof(digits) || strspn(s, "0123456789") != n - 1)
		return fail_at(c, v, key, "expected a size like 512M, got '%s'", s);
	memcpy(digits, s, n - 1);
	digits[n - 1] = 0;
	unsigned long long x = strtoull(digits, NULL, 10);
	int shift = 10 * (int)(u - units + 1);
	if (x > (1ULL << 40) >> shift)
		return fail_at(c, v, key, "'%s' is more than 1T", s);
	*out = x << shift;
	return 0;
}

static int get_flag(struct ctx *c, yaml_node_t *v, const char *key, int *out)
{
	long long x;
	if (get_num(c, v, key, 0, &x))
		return -1;
	if (x != 0 && x != 1)
		return fail_at(c, v, key, "expected 0 or 1, got '%s'", scalar(v));
	*out = (int)x;
	return 0;
}

static int check_name(struct ctx *c, yaml_node_t *v, const char *key, const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63)
		return fail_at(c, v, key, "must be 1 to 63 characters");
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return fail_at(c, v, key,
				       "'%s' may hold only letters, digits, '_', '.', '-'", s);
	return 0;
}

/* A mapping key: a plain string without NUL bytes (NULL otherwise), so that
 * "name\0x" is not taken for "name". */
static const char *key_of(yaml_node_t *k)
{
	const char *s = scalar(k);
	return s && strlen(s) == k->data.scalar.length ? s : NULL;
}

/*
 * libyaml keeps every pair of a mapping, so a key given twice would
 * silently take its last value: refuse it, naming both lines.  Only the
 * pairs before this one are compared, and every mapping here refuses
 * unknown keys, so a mapping is never scanned past a handful of keys.
 */
static int check_unique(struct ctx *c, yaml_node_t *map, yaml_node_pair_t *pair, const char *key)
{
	yaml_node_t *k = yaml_document_get_node(c->doc, pair->key);
	for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < pair; q++) {
		yaml_node_t *k0 = yaml_document_get_node(c->doc, q->key);
		const char *s = key_of(k0);
		if (s && !strcmp(s, key))
			return fail_at(c, k, key, "given twice, at lines %d and %d", line_of(k0),
				       line_of(k));
	}
	return 0;
}

#define FOR_PAIRS(doc, map, pair)                                                                  \
	for (yaml_node_pair_t *pair = (map)->data.mapping.pairs.start;                             \
	     pair < (map)->data.mapping.pairs.top; pair++)

static int parse_capfile(struct ctx *c, yaml_node_t *m, struct iv_capfile_cfg *cf)
{
	int have_size = 0;
	cf->line = line_of(m);
	if (m->type != YAML_MAPPING_NODE)
		return fail_at(c, m, "capfiles", "each entry must be a mapping");
	FOR_PAIRS(c->doc, m, p)
	{
		yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
		const char *key = key_of(k);
		if (!key)
			return fail_at(c, k, NULL, "capfile keys must be plain strings");
		if (check_unique(c, m, p, key))
			return -1;
		if (!strcmp(key, "name")) {
			if (get_str(c, v, key, &cf->name) || check_name(c, v, key, cf->name))
				return -1;
		} else if (!strcmp(key, "size")) {
			if (get_u64(c, v, key, &cf->size))
				return -1;
			if (cf->size == 0 || cf->size > (1ULL << 32))
				return fail_at(c, v, key, "must be between 1 and 4 GiB");
			have_size = 1;
		} else if (!strcmp(key, "data")) {
			if (get_str(c, v, key, &cf->data))
				return -1;
			cf->data_len = strlen(cf->data);
		} else {
			return fail_at(c, k, key, "unknown capfile key");
		}
	}
	if (!cf->name)
		return fail_at(c, m, "name", "missing in capfile");
	if (!have_size)
		return fail_at(c, m, "size", "missing in capfile '%s'", cf->name);
	if (cf->data && cf->data_len > cf->size)
		return fail_at(c, m, "data", "%zu bytes do not fit in size %llu of capfile '%s'",
			       cf->data_len, (unsigned long long)cf->size, cf->name);
	return 0;
}

/* A NULL-terminated vector of strings being built. */
struct strv {
	char **v;
	size_t n;
};

/* Appends s (taken; NULL means out of memory): 0, or -1 with s freed. */
static int strv_push(struct strv *sv, char *s)
{
	char **nv = s ? realloc(sv->v, (sv->n + 2) * sizeof(*nv)) : NULL;
	if (!nv) {
		free(s);
		return -1;
	}
	nv[sv->n++] = s;
	nv[sv->n] = NULL;
	sv->v = nv;
	return 0;
}

static void strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

static int is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n';
}

/*
 * args given as a string: split into words as sh splits them, expanding
 * nothing.  Blanks (space, tab, newline) separate words; '...' keeps what
 * it holds as it is; "..." too, but \" \\ \$ \` give their second character
 * and \ newline nothing; outside quotes \c gives c and \ newline nothing.
 * Quoted and plain parts make one word (a'b'"c" is abc); '' is an empty
 * word.  Words go into w, one at a time (it has room for all of s).
 */
static const char *split_words(const char *s, char *w, struct strv *out, size_t *at)
{
	size_t wl = 0;
	int have = 0; /* a word has begun (it may be empty) */
	for (size_t i = 0;; i++) {
		*at = i + 1;
		if (!s[i] || is_blank(s[i])) {
			if (have && out->n == IV_MAX_ARGV)
				return "too many words";
			if (have && strv_push(out, strndup(w, wl)))
				return "out of memory";
			if (!s[i])
				return NULL;
			have = 0;
			wl = 0;
		} else if (s[i] == '\'') {
			const char *e = strchr(s + i + 1, '\'');
			if (!e)
				return "unterminated ' quote";
			memcpy(w + wl, s + i + 1, (size_t)(e - s) - i - 1);
			wl += (size_t)(e - s) - i - 1;
			i = (size_t)(e - s);
			have = 1;
		} else if (s[i] == '"') {
			size_t q = i;
			for (i++; s[i] && s[i] != '"'; i++) {
				if (s[i] == '\\' && s[i + 1] == '\n') {
					i++;
					continue;
				}
				if (s[i] == '\\' && s[i + 1] && strchr("\"\\$`", s[i + 1]))
					i++;
				w[wl++] = s[i];
			}
			if (!s[i]) {
				*at = q + 1;
				return "unterminated \" quote";
			}
			have = 1;
		} else if (s[i] == '\\') {
			if (!s[++i])
				return "a backslash with nothing after it";
			if (s[i] != '\n') {
				w[wl++] = s[i];
				have = 1;
			}
		} else {
			w[wl++] = s[i];
			have = 1;
		}
	}
}

/* args: a string split as sh splits words (the program's argv), or a list
 * of strings taken as they are; vm->args keeps the text host_get_arg
 * gives (a list's items joined by spaces). */
static int parse_args(struct ctx *c, yaml_node_t *v, struct iv_cvm_cfg *vm)
{
	struct strv sv = {0};
	const char *why = NULL;
	size_t at = 0, len = 0;
	if (v->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = v->data.sequence.items.start;
		     it < v->data.sequence.items.top; it++) {
			yaml_node_t *item = yaml_document_get_node(c->doc, *it);
			const char *w = scalar(item);
			if (!w || strlen(w) != item->data.scalar.length) {
				strv_free(sv.v);
				return fail_at(c, item, "args",
					       "each item must be a string without NUL");
			}
			if (sv.n == IV_MAX_ARGV || strv_push(&sv, strdup(w))) {
				strv_free(sv.v);
				return fail_at(c, item, "args",
					       "more than %d items, or out of memory", IV_MAX_ARGV);
			}
			len += strlen(w) + 1;
		}
		if (sv.n == 0)
			return fail_at(c, v, "args", "an empty list names no program");
		vm->args = malloc(len);
		if (!vm->args) {
			strv_free(sv.v);
			return fail_at(c, v, "args", "out of memory");
		}
		char *o = vm->args;
		for (size_t i = 0; i < sv.n; i++) {
			o = stpcpy(o, sv.v[i]);
			*o++ = ' ';
		}
		o[-1] = 0;
		vm->argv = sv.v;
		return 0;
	}
	if (v->type != YAML_SCALAR_NODE)
		return fail_at(c, v, "args", "expected a string or a list of strings");
	if (get_str(c, v, "args", &vm->args))
		return -1;
	char *w = malloc(strlen(vm->args) + 1);
	why = w ? split_words(vm->args, w, &sv, &at) : "out of memory";
	free(w);
	if (why) {
		strv_free(sv.v);
		return fail_at(c, v, "args", "%s (at character %zu of '%s')", why, at, vm->args);
	}
	vm->argv = sv.v; /* (NULL when blank: its name) */
	return 0;
}

/* A variable's name: a letter or '_', then letters, digits and '_'. */
static int env_name_ok(const char *s, size_t n)
{
	if (n == 0 || isdigit((unsigned char)s[0]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return 0;
	return 1;
}

/* Adds NAME=value, NAME being the n bytes at name, once. */
static int env_add(struct ctx *c, yaml_node_t *at, struct strv *sv, const char *name, size_t n,
		   const char *value)
{
	if (!env_name_ok(name, n))
		return fail_at(c, at, "env",
			       "'%.*s' is not a variable name (a letter or '_', then letters, "
			       "digits, '_')",
			       (int)n, name);
	for (size_t i = 0; i < sv->n; i++)
		if (!strncmp(sv->v[i], name, n) && sv->v[i][n] == '=')
			return fail_at(c, at, "env", "'%.*s' given twice", (int)n, name);
	char *kv = NULL;
	if (sv->n == IV_MAX_ARGV || asprintf(&kv, "%.*s=%s", (int)n, name, value) < 0 ||
	    strv_push(sv, kv))
		return fail_at(c, at, "env", "more than %d variables, or out of memory",
			       IV_MAX_ARGV);
	return 0;
}

static int env_item(struct ctx *c, yaml_node_t *n, struct strv *sv)
{
	const char *s = scalar(n), *eq = s ? strchr(s, '=') : NULL;
	if (!s || strlen(s) != n->data.scalar.length)
		return fail_at(c, n, "env", "each item must be a string NAME=value without NUL");
	if (!eq)
		return fail_at(c, n, "env", "'%s' is not NAME=value", s);
	return env_add(c, n, sv, s, (size_t)(eq - s), eq + 1);
}

static int env_pair(struct ctx *c, yaml_node_pair_t *p, struct strv *sv)
{
	yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
	yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
	const char *name = key_of(k), *value = scalar(v);
	if (!name)
		return fail_at(c, k, "env", "variable names must be plain strings");
	if (!value || strlen(value) != v->data.scalar.length)
		return fail_at(c, v, "env", "the value of '%s' must be a string without NUL", name);
	return env_add(c, k, sv, name, strlen(name), value);
}

/* env: a map NAME: value, or a list of NAME=value; the whole environment. */
static int parse_env(struct ctx *c, yaml_node_t *v, struct iv_cvm_cfg *vm)
{
	struct strv sv = {0};
	int rc = 0;
	if (v->type == YAML_MAPPING_NODE) {
		FOR_PAIRS(c->doc, v, p)
		{
			if ((rc = env_pair(c, p, &sv)))
				break;
		}
	} else if (v->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = v->data.sequence.items.start;
		     !rc && it < v->data.sequence.items.top; it++)
			rc = env_item(c, yaml_document_get_node(c->doc, *it), &sv);
	} else {
		rc = fail_at(c, v, "env", "expected a map of NAME: value or a list of NAME=value");
	}
	if (rc == 0 && !sv.v && !(sv.v = calloc(1, sizeof(*sv.v))))
		rc = fail_at(c, v, "env", "out of memory");
	if (rc) {
		strv_free(sv.v);
		return -1;
	}
	vm->envp = sv.v;
	return 0;
}

/* What a cVM's config leaves out: argv is its name, env the default. */
static int fill_defaults(struct ctx *c, yaml_node_t *m, struct iv_cvm_cfg *vm)
{
	static const char *const env[] = IV_DEFAULT_ENV;
	struct strv sv = {0};
	if (!vm->argv && strv_push(&sv, strdup(vm->name)))
		return fail_at(c, m, NULL, "out of memory");
	if (!vm->argv)
		vm->argv = sv.v;
	sv = (struct strv){0};
	for (size_t i = 0; !vm->envp && i < sizeof(env) / sizeof(env[0]); i++)
		if (strv_push(&sv, strdup(env[i]))) {
			strv_free(sv.v);
			return fail_at(c, m, NULL, "out of memory");
		}
	if (!vm->envp)
		vm->envp = sv.v;
	return 0;
}

/* caps: a list of keys (named as a capfile is), each once; [] is none. */
static int check_cap_key(struct ctx *c, yaml_node_t *item, const struct strv *sv)
{
	const char *w = scalar(item);
	if (!w || strlen(w) != item->data.scalar.length)
		return fail_at(c, item, "caps", "each key must be a string without NUL");
	if (check_name(c, item, "caps", w))
		return -1;
	for (size_t i = 0; i < sv->n; i++)
		if (!strcmp(sv->v[i], w))
			return fail_at(c, item, "caps", "'%s' is given twice", w);
	return 0;
}

static int parse_caps(struct ctx *c, yaml_node_t *v, struct iv_cvm_cfg *vm)
{
	struct strv sv = {0};
	if (v->type != YAML_SEQUENCE_NODE)
		return fail_at(c, v, "caps", "expected a list of keys");
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		yaml_node_t *item = yaml_document_get_node(c->doc, *it);
		if (check_cap_key(c, item, &sv)) {
			strv_free(sv.v);
			return -1;
		}
		if (sv.n == IV_MAX_ARGV || strv_push(&sv, strdup(scalar(item)))) {
			strv_free(sv.v);
			return fail_at(c, item, "caps", "more than %d keys, or out of memory",
				       IV_MAX_ARGV);
		}
	}
	if (!sv.v && !(sv.v = calloc(1, sizeof(char *))))
		return fail_at(c, v, "caps", "out of memory");
	vm->caps = sv.v;
	vm->caps_given = 1;
	return 0;
}

static int parse_isolation(struct ctx *c, yaml_node_t *v, struct iv_cvm_cfg *vm)
{
	if (v->type != YAML_SEQUENCE_NODE ||
	    v->data.sequence.items.top - v->data.sequence.items.start != 1)
		return fail_at(c, v, "isolation", "expected a list with exactly one range");
	yaml_node_t *m = yaml_document_get_node(c->doc, *v->data.sequence.items.start);
	if (m->type != YAML_MAPPING_NODE)
		return fail_at(c, m, "isolation", "the range must be a mapping");
	unsigned seen = 0;
	FOR_PAIRS(c->doc, m, p)
	{
		yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *val = yaml_document_get_node(c->doc, p->value);
		const char *key = key_of(k);
		static const char *names[] = {"base", "size", "begin", "end"};
		uint64_t *dst[] = {&vm->base, &vm->size, &vm->begin, &vm->end};
		int i;
		for (i = 0; i < 4; i++)
			if (key && !strcmp(key, names[i]))
				break;
		if (i == 4)
			return fail_at(c, k, key ? key : "?", "unknown isolation key");
		if (check_unique(c, m, p, key))
			return -1;
		if (get_u64(c, val, key, dst[i]))
			return -1;
		seen |= 1u << i;
	}
	if (seen != 15)
		return fail_at(c, m, "isolation", "needs base, size, begin and end");
	if ((vm->base | vm->begin | vm->end | vm->size) & (IV_PAGE - 1))
		return fail_at(c, m, "isolation", "base, size, begin and end must be page-aligned");
	if (vm->end <= vm->begin)
		return fail_at(c, m, "isolation", "end 0x%llx is not above begin 0x%llx",
			       (unsigned long long)vm->end, (unsigned long long)vm->begin);
	if (vm->size != vm->end - vm->begin)
		return fail_at(c, m, "isolation", "size 0x%llx differs from end - begin = 0x%llx",
			       (unsigned long long)vm->size,
			       (unsigned long long)(vm->end - vm->begin));
	if (vm->begin < IV_USER_MIN || vm->end > IV_STUB_BASE)
		return fail_at(c, m, "isolation",
			       "[0x%llx, 0x%llx) must lie within [0x%llx, 0x%llx)",
			       (unsigned long long)vm->begin, (unsigned long long)vm->end,
			       IV_USER_MIN, IV_STUB_BASE);
	/* base places a position-independent image (README "Nested cVMs") */
	if (vm->base < vm->begin || vm->base >= vm->end)
		return fail_at(c, m, "base",
			       "0x%llx does not lie in [begin, end) = [0x%llx, 0x%llx)",
			       (unsigned long long)vm->base, (unsigned long long)vm->begin,
			       (unsigned long long)vm->end);
	if (vm->size < 16 * IV_PAGE)
		return fail_at(c, m, "size", "0x%llx is smaller than the 64 KiB minimum",
			       (unsigned long long)vm->size);
	return 0;
}

/* uid or gid: never root's, a system account's (below IV_ID_MIN),
 * nobody's (65534) nor (uid_t)-1. */
static int get_id(struct ctx *c, yaml_node_t *v, const char *key, uint32_t *out)
{
	long long x;
	if (get_num(c, v, key, 0, &x))
		return -1;
	if (x < IV_ID_MIN || x > 4294967294LL || x == 65534)
		return fail_at(c, v, key,
			       "expected %d..4294967294 but 65534 (never root, a system account, "
			       "nobody or -1), got %lld",
			       IV_ID_MIN, x);
	*out = (uint32_t)x;
	return 0;
}

/* A path inside the disk, as the cVM sees it. */
static int get_path(struct ctx *c, yaml_node_t *v, const char *key, char **out)
{
	if (get_str(c, v, key, out))
		return -1;
	if ((*out)[0] != '/')
		return fail_at(c, v, key,
			       "expected an absolute path inside the disk (as the cVM sees it), "
			       "got '%s'",
			       *out);
	return 0;
}

/* stdin: '-' (the monitor's own), or a file inside the disk. */
static int parse_stdin(struct ctx *c, yaml_node_t *v, struct iv_cvm_cfg *vm)
{
	const char *s = scalar(v);
	vm->stdin_line = line_of(v);
	if (s && !strcmp(s, "-")) {
		vm->stdin_monitor = 1;
		return 0;
	}
	if (s && s[0] != '/')
		return fail_at(c, v, "stdin",
			       "expected '-' (the monitor's stdin) or an absolute path inside the "
			       "disk, got '%s'",
			       s);
	return get_path(c, v, "stdin", &vm->stdin_path);
}

/* run_args: a list of strings, each run's args as args would give them
 * (README "Reused forks"). */
static int parse_run_args(struct ctx *c, yaml_node_t *v, struct iv_cvm_cfg *vm)
{
	if (v->type != YAML_SEQUENCE_NODE)
		return fail_at(c, v, "run_args", "expected a list of strings, one per run");
	struct strv sv = {0};
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		yaml_node_t *item = yaml_document_get_node(c->doc, *it);
		const char *w = scalar(item);
		if (!w || strlen(w) != item->data.scalar.length || strlen(w) >= 4096) {
			strv_free(sv.v);
			return fail_at(c, item, "run_args",
				       "each run's args must be a string without NUL, under 4096 "
				       "bytes");
		}
		if (sv.n == IV_MAX_REUSE || strv_push(&sv, strdup(w))) {
			strv_free(sv.v);
			return fail_at(c, item, "run_args", "more than %d runs, or out of memory",
				       IV_MAX_REUSE);
		}
	}
	strv_free(vm->run_args);
	vm->run_args = sv.v;
	vm->nrun_args = (int)sv.n;
	return 0;
}

/* fork_mode: how a template's forks are made (README "Forks"). */
static int parse_fork_mode(struct ctx *c, yaml_node_t *v, struct iv_cvm_cfg *vm)
{
	const char *s = scalar(v);
	if (s && !strcmp(s, "map"))
		vm->fork_mode = IV_FORK_MAP;
	else if (s && !strcmp(s, "clone"))
		vm->fork_mode = IV_FORK_CLONE;
	else
		return fail_at(c, v, "fork_mode", "expected 'map' or 'clone', got '%s'",
			       s ? s : "a list or mapping");
	return 0;
}

/* Keys about how a program starts that a resumed cVM cannot have. */
enum { K_ENV, K_CWD, K_STDIN, K_UID, K_GID, K_DISK_RO, K_MEMORY, K_CAPS, K_N };
static const char *const k_name[K_N] = {"env", "cwd", "stdin", "uid", "gid", "disk_ro",
					"memory", "caps"};

/* at[k]: the key k where given.  A resumed cVM (a fork or a restored
 * image) keeps its template's environment, working directory and stdin;
 * a fork also its ids and disk.  A cwd, stdin file or disk_ro needs a disk. */
static int check_start_keys(struct ctx *c, const struct iv_cvm_cfg *vm, yaml_node_t *const at[K_N])
{
	for (int k = K_ENV; k <= K_STDIN; k++)
		if (vm->resume && at[k])
			return fail_at(c, at[k], k_name[k],
				       "cVM '%s' resumes a template (or its image), whose "
				       "environment, working directory and stdin it keeps",
				       vm->name);
	for (int k = K_UID; k <= K_MEMORY; k++)
		if (vm->resume && !vm->snapshot_path && at[k])
			return fail_at(
				c, at[k], k_name[k],
				"cVM '%s' is a fork: it runs with its template's ids, disk and "
				"memory",
				vm->name);
	if (vm->resume && !vm->snapshot_path && at[K_CAPS])
		return fail_at(c, at[K_CAPS], "caps",
			       "cVM '%s' is a fork: it may use what its template's caps allow",
			       vm->name);
	int k = vm->cwd ? K_CWD : vm->stdin_path ? K_STDIN : K_DISK_RO;
	if (!vm->disk && (vm->cwd || vm->stdin_path || vm->disk_ro))
		return fail_at(c, at[k], k_name[k],
			       "needs a 'disk' (cVM '%s' has an empty root without one)", vm->name);
	return 0;
}

/* ---- net: (README "Networking") ---- */

/* A dotted IPv4 address "a.b.c.d" (each 0..255, no leading zeros, no
 * more), in host byte order; at most n bytes of s are read. */
static int ip4_parse(const char *s, size_t n, uint32_t *out)
{
	uint32_t a = 0;
	size_t i = 0;
	for (int part = 0; part < 4; part++) {
		if (part && (i >= n || s[i++] != '.'))
			return -1;
		size_t start = i;
		unsigned v = 0;
		while (i < n && isdigit((unsigned char)s[i]) && i - start < 3)
			v = v * 10 + (unsigned)(s[i++] - '0');
		if (i == start || v > 255 || (s[start] == '0' && i - start > 1))
			return -1;
		a = a << 8 | v;
	}
	if (i != n)
		return -1;
	*out = a;
	return 0;
}

static const char *ip4_str(uint32_t a, char *buf)
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
	return buf;
}

static uint32_t prefix_mask(int prefix)
{
	return prefix ? ~0U << (32 - prefix) : 0;
}

/* "a.b.c.d/p": an address and its prefix length (8 to 30). */
static int get_cidr(struct ctx *c, yaml_node_t *v, const char *key, uint32_t *addr, int *prefix)
{
	const char *s = scalar(v), *slash = s ? strchr(s, '/') : NULL;
	if (!s || strlen(s) != v->data.scalar.length || !slash ||
	    ip4_parse(s, (size_t)(slash - s), addr) || !slash[1] ||
	    strspn(slash + 1, "0123456789") != strlen(slash + 1) || strlen(slash + 1) > 2)
		return fail_at(c, v, key,
			       "expected an IPv4 address with its prefix, as 10.77.0.2/24, "
			       "got '%s'",
			       s ? s : "(not a string)");
	*prefix = atoi(slash + 1);
	if (*prefix < 8 || *prefix > 30)
		return fail_at(c, v, key, "prefix /%d: expected /8 to /30", *prefix);
	return 0;
}

static int get_ip4(struct ctx *c, yaml_node_t *v, const char *key, uint32_t *addr)
{
	const char *s = scalar(v);
	if (!s || strlen(s) != v->data.scalar.length || ip4_parse(s, strlen(s), addr))
		return fail_at(c, v, key, "expected an IPv4 address, as 10.77.0.1, got '%s'",
			       s ? s : "(not a string)");
	return 0;
}

/* A port number 1..65535 written in n bytes at s. */
static int port_parse(const char *s, size_t n, uint16_t *out)
{
	unsigned v = 0;
	if (n == 0 || n > 5 || s[0] == '0')
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* "[HOSTADDR:]HOSTPORT:PORT", as Docker's -p (HOSTADDR defaults to
 * 127.0.0.1: nothing is offered beyond the host unless asked). */
static int parse_port(struct ctx *c, yaml_node_t *v, struct iv_port_cfg *p)
{
	const char *s = scalar(v);
	const char *last = s ? strrchr(s, ':') : NULL, *first = s ? strchr(s, ':') : NULL;
	p->line = line_of(v);
	p->host_addr = 0x7f000001;
	if (!s || strlen(s) != v->data.scalar.length || !last ||
	    port_parse(last + 1, strlen(last + 1), &p->port) ||
	    (first == last && port_parse(s, (size_t)(last - s), &p->host_port)) ||
	    (first != last && (ip4_parse(s, (size_t)(first - s), &p->host_addr) ||
			       port_parse(first + 1, (size_t)(last - first - 1), &p->host_port))))
		return fail_at(c, v, "ports",
			       "expected \"[HOSTADDR:]HOSTPORT:PORT\" (IPv4, ports 1 to 65535), as "
			       "\"127.0.0.1:6380:6379\", got '%s'",
			       s ? s : "(not a string)");
	return 0;
}

static int parse_ports(struct ctx *c, yaml_node_t *v, struct iv_net_cfg *n)
{
	if (v->type != YAML_SEQUENCE_NODE)
		return fail_at(c, v, "ports", "expected a list of \"[HOSTADDR:]HOSTPORT:PORT\"");
	size_t k = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (k > 64)
		return fail_at(c, v, "ports", "more than 64 ports");
	n->ports = calloc(k ? k : 1, sizeof(*n->ports));
	if (!n->ports)
		return fail_at(c, v, "ports", "out of memory");
	for (size_t i = 0; i < k; i++) {
		yaml_node_t *item = yaml_document_get_node(c->doc, v->data.sequence.items.start[i]);
		if (parse_port(c, item, &n->ports[i]))
			return -1;
		n->nports = i + 1;
	}
	return 0;
}

static int parse_peers(struct ctx *c, yaml_node_t *v, struct iv_net_cfg *n)
{
	if (v->type != YAML_SEQUENCE_NODE)
		return fail_at(c, v, "peers", "expected a list of cVM names");
	struct strv sv = {0};
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		yaml_node_t *item = yaml_document_get_node(c->doc, *it);
		const char *w = scalar(item);
		int rc = 0;
		if (!w || strlen(w) != item->data.scalar.length)
			rc = fail_at(c, item, "peers", "expected a cVM name");
		else if (check_name(c, item, "peers", w))
			rc = -1;
		else if (sv.n == 64 || strv_push(&sv, strdup(w)))
			rc = fail_at(c, item, "peers", "more than 64 peers, or out of memory");
		if (rc) {
			strv_free(sv.v);
			return -1;
		}
	}
	n->peers = sv.v;
	n->npeers = sv.n;
	return 0;
}

/* forks: "a.b.c.d-a.b.c.e" or "a.b.c.d/p": a template's forks' addresses. */
static int parse_forks(struct ctx *c, yaml_node_t *v, struct iv_net_cfg *n)
{
	const char *s = scalar(v), *dash = s ? strchr(s, '-') : NULL,
		   *slash = s ? strchr(s, '/') : NULL;
	int prefix = 0, ok = s && strlen(s) == v->data.scalar.length;
	if (ok && dash)
		ok = !ip4_parse(s, (size_t)(dash - s), &n->forks_lo) &&
		     !ip4_parse(dash + 1, strlen(dash + 1), &n->forks_hi);
	else if (ok && slash && !get_cidr(c, v, "forks", &n->forks_lo, &prefix)) {
		n->forks_lo &= prefix_mask(prefix);
		n->forks_hi = n->forks_lo | ~prefix_mask(prefix);
	} else if (ok && slash)
		return -1;
	else
		ok = 0;
	if (!ok)
		return fail_at(c, v, "forks",
			       "expected a range of IPv4 addresses, as 10.77.0.16-10.77.0.31 or "
			       "10.77.0.16/28, got '%s'",
			       s ? s : "(not a string)");
	if (n->forks_hi < n->forks_lo || n->forks_hi - n->forks_lo >= 4096)
		return fail_at(c, v, "forks", "'%s' is empty or holds more than 4096 addresses", s);
	return 0;
}

/* The address checks of one cVM's net: within its subnet, none its
 * network, broadcast or gateway address. */
static int check_subnet(struct ctx *c, yaml_node_t *m, struct iv_net_cfg *n, int gw_given)
{
	char a[16], b[16], d[16];
	uint32_t mask = prefix_mask(n->prefix), netw = n->addr & mask, bcast = netw | ~mask;
	if (n->addr == netw || n->addr == bcast)
		return fail_at(c, m, "address", "%s is the network or broadcast address of %s/%d",
			       ip4_str(n->addr, a), ip4_str(netw, b), n->prefix);
	if (!gw_given)
		n->gateway = netw + 1;
	if ((n->gateway & mask) != netw || n->gateway == netw || n->gateway == bcast)
		return fail_at(c, m, "gateway", "%s is outside %s/%d or not a host address there",
			       ip4_str(n->gateway, a), ip4_str(netw, b), n->prefix);
	if (n->gateway == n->addr)
		return fail_at(c, m, "address",
			       "%s is the host end's address (the subnet's first, or 'gateway'): "
			       "give the cVM another",
			       ip4_str(n->addr, a));
	if (n->forks_lo && ((n->forks_lo & mask) != netw || (n->forks_hi & mask) != netw ||
			    n->forks_lo == netw || n->forks_hi == bcast))
		return fail_at(c, m, "forks", "%s-%s is not within the host addresses of %s/%d",
			       ip4_str(n->forks_lo, a), ip4_str(n->forks_hi, b), ip4_str(netw, d),
			       n->prefix);
	if (n->forks_lo && ((n->addr >= n->forks_lo && n->addr <= n->forks_hi) ||
			    (n->gateway >= n->forks_lo && n->gateway <= n->forks_hi)))
		return fail_at(c, m, "forks",
			       "the range holds the cVM's own or the host end's address");
	return 0;
}

/* net: loopback, or a mapping (README "Networking"). */
static int parse_net(struct ctx *c, yaml_node_t *v, struct iv_net_cfg *n)
{
	const char *s = scalar(v);
	n->on = 1;
	n->line = line_of(v);
	if (s && !strcmp(s, "loopback"))
		return 0;
	if (v->type != YAML_MAPPING_NODE)
		return fail_at(c, v, "net",
			       "expected 'loopback' or a mapping with address, gateway, ports, "
			       "peers, forks");
	yaml_node_t *at_addr = NULL;
	int gw_given = 0;
	FOR_PAIRS(c->doc, v, p)
	{
		yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *val = yaml_document_get_node(c->doc, p->value);
		const char *key = key_of(k);
		if (!key)
			return fail_at(c, k, "net", "keys must be plain strings");
		if (check_unique(c, v, p, key))
			return -1;
		int rc;
		if (!strcmp(key, "address")) {
			rc = get_cidr(c, val, key, &n->addr, &n->prefix);
			at_addr = val;
		} else if (!strcmp(key, "gateway")) {
			rc = get_ip4(c, val, key, &n->gateway);
			gw_given = 1;
		} else if (!strcmp(key, "ports")) {
			rc = parse_ports(c, val, n);
		} else if (!strcmp(key, "peers")) {
			rc = parse_peers(c, val, n);
		} else if (!strcmp(key, "forks")) {
			rc = parse_forks(c, val, n);
		} else {
			rc = fail_at(c, k, key,
				     "unknown net key (address, gateway, ports, peers, forks)");
		}
		if (rc)
			return -1;
	}
	if (!n->addr && (gw_given || n->forks_lo || n->npeers))
		return fail_at(c, v,
			       gw_given	     ? "gateway"
			       : n->forks_lo ? "forks"
					     : "peers",
			       "needs an 'address' (without one the cVM has its loopback only)");
	return n->addr ? check_subnet(c, at_addr, n, gw_given) : 0;
}

/* reuse and run_args: a fork's, run_args as many as its runs and instead
 * of args. */
static int check_reuse(struct ctx *c, yaml_node_t *m, struct iv_cvm_cfg *vm, yaml_node_t *at_reuse,
		       yaml_node_t *at_runs, yaml_node_t *at_args)
{
	if (at_reuse && !(vm->resume && !vm->snapshot_path))
		return fail_at(c, at_reuse, "reuse",
			       "cVM '%s' is not a fork: only a fork of a template is reset to "
			       "its template's state between runs",
			       vm->name);
	if (at_runs && !at_reuse)
		return fail_at(c, at_runs, "run_args", "cVM '%s' has no 'reuse': one run only",
			       vm->name);
	if (at_runs && at_args)
		return fail_at(c, at_args, "args",
			       "cVM '%s' has 'run_args': each run's args are there", vm->name);
	if (at_runs && vm->nrun_args != vm->reuse)
		return fail_at(c, at_runs, "run_args", "%d args for %d runs ('reuse')",
			       vm->nrun_args, vm->reuse);
	(void)m;
	return 0;
}

static int parse_cvm(struct ctx *c, yaml_node_t *m, struct iv_cvm_cfg *vm)
{
	int have_iso = 0;
	yaml_node_t *at[K_N] = {0}, *at_mode = NULL, *at_reuse = NULL, *at_runs = NULL,
		    *at_args = NULL;
	vm->line = line_of(m);
	vm->wait = 0;
	vm->fork = 1;
	vm->tmpl = -1;
	vm->outer = -1;
	if (m->type != YAML_MAPPING_NODE)
		return fail_at(c, m, "cVMs", "each entry must be a mapping");
	FOR_PAIRS(c->doc, m, p)
	{
		yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
		const char *key = key_of(k);
		if (!key)
			return fail_at(c, k, NULL, "cVM keys must be plain strings");
		if (check_unique(c, m, p, key))
			return -1;
		if (!strcmp(key, "name")) {
			if (get_str(c, v, key, &vm->name) || check_name(c, v, key, vm->name))
				return -1;
		} else if (!strcmp(key, "runtime")) {
			if (get_str(c, v, key, &vm->runtime))
				return -1;
		} else if (!strcmp(key, "args")) {
			if (parse_args(c, v, vm))
				return -1;
			at_args = k;
		} else if (!strcmp(key, "env")) {
			if (parse_env(c, v, vm))
				return -1;
			at[K_ENV] = k;
		} else if (!strcmp(key, "cwd")) {
			if (get_path(c, v, key, &vm->cwd))
				return -1;
			vm->cwd_line = line_of(v);
			at[K_CWD] = k;
		} else if (!strcmp(key, "stdin")) {
			if (parse_stdin(c, v, vm))
				return -1;
			at[K_STDIN] = k;
		} else if (!strcmp(key, "uid")) {
			if (get_id(c, v, key, &vm->uid))
				return -1;
			vm->uid_given = 1;
			at[K_UID] = k;
		} else if (!strcmp(key, "gid")) {
			if (get_id(c, v, key, &vm->gid))
				return -1;
			vm->gid_given = 1;
			at[K_GID] = k;
		} else if (!strcmp(key, "disk_ro")) {
			if (get_flag(c, v, key, &vm->disk_ro))
				return -1;
			at[K_DISK_RO] = k;
		} else if (!strcmp(key, "disk")) {
			if (get_str(c, v, key, &vm->disk))
				return -1;
		} else if (!strcmp(key, "isolation")) {
			if (parse_isolation(c, v, vm))
				return -1;
			have_iso = vm->has_isolation = 1;
		} else if (!strcmp(key, "memory")) {
			if (get_size(c, v, key, &vm->memory))
				return -1;
			if (vm->memory < (16ULL << 20) || vm->memory > (1ULL << 40))
				return fail_at(c, v, key, "expected 16M to 1T, got '%s'",
					       scalar(v));
			at[K_MEMORY] = k;
		} else if (!strcmp(key, "callback_out")) {
			if (get_str(c, v, key, &vm->callback_out))
				return -1;
			vm->callback_line = line_of(v);
		} else if (!strcmp(key, "wait")) {
			long long w;
			if (get_num(c, v, key, 1, &w))
				return -1;
			if (w < -1 || w > 86400)
				return fail_at(c, v, key,
					       "expected -1 or 0..86400 seconds, got %lld", w);
			vm->wait = (long)w;
		} else if (!strcmp(key, "fork")) {
			if (get_flag(c, v, key, &vm->fork))
				return -1;
		} else if (!strcmp(key, "template")) {
			if (get_flag(c, v, key, &vm->template_))
				return -1;
		} else if (!strcmp(key, "resume")) {
			if (get_flag(c, v, key, &vm->resume))
				return -1;
		} else if (!strcmp(key, "reuse")) {
			long long n;
			if (get_num(c, v, key, 0, &n))
				return -1;
			if (n < 1 || n > IV_MAX_REUSE)
				return fail_at(c, v, key, "expected 1 to %d runs, got '%s'",
					       IV_MAX_REUSE, scalar(v));
			vm->reuse = (int)n;
			at_reuse = k;
		} else if (!strcmp(key, "run_args")) {
			if (parse_run_args(c, v, vm))
				return -1;
			at_runs = k;
		} else if (!strcmp(key, "fork_mode")) {
			if (parse_fork_mode(c, v, vm))
				return -1;
			at_mode = k;
		} else if (!strcmp(key, "snapshot_path")) {
			if (get_str(c, v, key, &vm->snapshot_path))
				return -1;
		} else if (!strcmp(key, "caps")) {
			if (parse_caps(c, v, vm))
				return -1;
			at[K_CAPS] = k;
		} else if (!strcmp(key, "call_timeout")) {
			long long ms;
			if (get_num(c, v, key, 0, &ms))
				return -1;
			if (ms < 1 || ms > 3600000)
				return fail_at(c, v, key, "expected 1..3600000 ms, got %lld", ms);
			vm->call_timeout_ms = (uint32_t)ms;
		} else if (!strcmp(key, "net")) {
			if (parse_net(c, v, &vm->net))
				return -1;
		} else if (!strcmp(key, "callback_in")) {
			if (get_str(c, v, key, &vm->callback_in))
				return -1;
			vm->callback_in_line = line_of(v);
		} else {
			return fail_at(c, k, key, "unknown cVM key");
		}
	}
	if (!vm->name)
		return fail_at(c, m, "name", "missing in cVM");
	if (!vm->runtime)
		return fail_at(c, m, "runtime", "missing in cVM '%s'", vm->name);
	/* Without a range it is a program: the kernel loads it in an address
	 * space of its own (README "Programs"). */
	vm->program = !have_iso && (!vm->resume || vm->snapshot_path);
	if (at[K_MEMORY] && have_iso)
		return fail_at(c, at[K_MEMORY], "memory",
			       "cVM '%s' has an isolation range, whose size is its memory",
			       vm->name);
	if (vm->net.on && have_iso)
		return fail_at(c, m, "net",
			       "cVM '%s' has an isolation range: only programs (no 'isolation') "
			       "are networked",
			       vm->name);
	if (vm->program) {
		if (!vm->memory)
			vm->memory = IV_PROGRAM_MEMORY;
		vm->base = 0;
		vm->size = vm->memory;
		vm->begin = IV_USER_MIN;
		vm->end = IV_USER_TOP;
		/* inside its disk, as a container's entrypoint */
		vm->runtime_in_disk = vm->disk && vm->runtime[0] == '/';
	}
	if (vm->snapshot_path && !vm->template_ && !vm->resume)
		return fail_at(c, m, "snapshot_path",
			       "only a template (to write) or a resume cVM (to restore) has one");
	if (vm->template_ && vm->resume)
		return fail_at(c, m, "resume", "cVM '%s' cannot be a template and a fork at once",
			       vm->name);
	if (check_reuse(c, m, vm, at_reuse, at_runs, at_args))
		return -1;
	if (at_mode && !vm->template_)
		return fail_at(c, at_mode, "fork_mode",
			       "cVM '%s' is not a template: only a template says how its forks "
			       "are made",
			       vm->name);
	if (check_start_keys(c, vm, at))
		return -1;
	return fill_defaults(c, m, vm);
}

static int parse_list(struct ctx *c, yaml_node_t *seq, const char *key, struct iv_config *cfg)
{
	if (seq->type != YAML_SEQUENCE_NODE)
		return fail_at(c, seq, key, "expected a list");
	size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	int is_cap = !strcmp(key, "capfiles");
	if (is_cap ? cfg->ncapfiles : cfg->ncvms)
		return fail_at(c, seq, key, "given twice");
	if (n == 0)
		return 0;
	if (is_cap) {
		cfg->capfiles = calloc(n, sizeof(*cfg->capfiles));
		if (!cfg->capfiles)
			return fail_at(c, seq, key, "out of memory");
	} else {
		cfg->cvms = calloc(n, sizeof(*cfg->cvms));
		if (!cfg->cvms)
			return fail_at(c, seq, key, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *item =
			yaml_document_get_node(c->doc, seq->data.sequence.items.start[i]);
		if (is_cap) {
			cfg->ncapfiles = i + 1;
			if (parse_capfile(c, item, &cfg->capfiles[i]))
				return -1;
		} else {
			cfg->ncvms = i + 1;
			if (parse_cvm(c, item, &cfg->cvms[i]))
				return -1;
		}
	}
	return 0;
}

static int parse_document(struct ctx *c, struct iv_config *cfg)
{
	yaml_node_t *root = yaml_document_get_root_node(c->doc);
	if (!root)
		return 0;
	if (root->type != YAML_MAPPING_NODE)
		return fail_at(c, root, NULL,
			       "a document must be a mapping with 'capfiles' or 'cVMs'");
	FOR_PAIRS(c->doc, root, p)
	{
		yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
		const char *key = key_of(k);
		if (key && (!strcmp(key, "capfiles") || !strcmp(key, "cVMs"))) {
			if (check_unique(c, root, p, key) || parse_list(c, v, key, cfg))
				return -1;
		} else {
			return fail_at(c, k, key ? key : "?", "unknown top-level key");
		}
	}
	return 0;
}

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static int is_fork(const struct iv_cvm_cfg *vm)
{
	return vm->resume && !vm->snapshot_path;
}

/* Whether id is the uid or gid of a cVM of cfg but i (0: none yet). */
static int id_used(const struct iv_config *cfg, size_t i, uint32_t id)
{
	for (size_t j = 0; j < cfg->ncvms; j++)
		if (j != i && (cfg->cvms[j].uid == id || cfg->cvms[j].gid == id))
			return 1;
	return 0;
}

/*
 * Every cVM's uid and gid, the same in every run of the config.  Without
 * uid:, a cVM's uid is derived from its name: IV_UID_FIRST + FNV-1a (32
 * bits) of the name modulo IV_UID_COUNT; if another cVM of the config
 * has that id as its uid or gid (given, or derived before it in config
 * order), the next one up, wrapping within the range.  Without gid:, its
 * gid is its uid.  Two cVMs share an id only when the config gives it to
 * both.  A fork has its template's.
 */
static void assign_ids(struct iv_config *cfg)
{
	for (size_t i = 0; i < cfg->ncvms; i++) {
		struct iv_cvm_cfg *vm = &cfg->cvms[i];
		vm->uid = vm->uid_given && !is_fork(vm) ? vm->uid : 0;
		vm->gid = vm->gid_given && !is_fork(vm) ? vm->gid : 0;
	}
	for (size_t i = 0; i < cfg->ncvms; i++) {
		struct iv_cvm_cfg *vm = &cfg->cvms[i];
		if (is_fork(vm))
			continue;
		if (!vm->uid_given) {
			uint32_t k = fnv1a(vm->name) % IV_UID_COUNT;
			while (id_used(cfg, i, IV_UID_FIRST + k))
				k = (k + 1) % IV_UID_COUNT;
			vm->uid = IV_UID_FIRST + k;
		}
		if (!vm->gid_given)
			vm->gid = vm->uid;
	}
	for (size_t i = 0; i < cfg->ncvms; i++)
		if (is_fork(&cfg->cvms[i])) {
			cfg->cvms[i].uid = cfg->cvms[cfg->cvms[i].tmpl].uid;
			cfg->cvms[i].gid = cfg->cvms[cfg->cvms[i].tmpl].gid;
		}
}

/* A fork's network is its template's: a namespace of its own (cloned with
 * it), loopback up, and with an address one from the template's forks
 * range (given, or the lowest free one, in config order). */
static int net_fork(struct ctx *c, struct iv_config *cfg, struct iv_cvm_cfg *f)
{
	struct iv_cvm_cfg *t = &cfg->cvms[f->tmpl];
	struct iv_net_cfg *n = &f->net, *tn = &t->net;
	char a[16], b[16], d[16];
	if (n->on && !tn->on)
		return iv_fail(c->err,
			       "%s:%d: key 'net': fork '%s' of template '%s', which has no net: "
			       "(a fork's network and system calls are its template's)",
			       c->path, n->line, f->name, t->name);
	if (!tn->on)
		return 0;
	if (n->forks_lo || (n->addr && (n->prefix != tn->prefix || n->gateway != tn->gateway)))
		return iv_fail(c->err,
			       "%s:%d: key 'net': fork '%s' takes its template's subnet %s/%d and "
			       "gateway: give it an address only",
			       c->path, n->line, f->name, ip4_str(tn->addr, a), tn->prefix);
	if (n->addr && (n->addr < tn->forks_lo || n->addr > tn->forks_hi))
		return iv_fail(c->err,
			       "%s:%d: key 'address': %s of fork '%s' is outside template '%s''s "
			       "forks range %s-%s",
			       c->path, n->line, ip4_str(n->addr, a), f->name, t->name,
			       ip4_str(tn->forks_lo, b), ip4_str(tn->forks_hi, d));
	n->on = 1;
	n->prefix = tn->prefix;
	n->gateway = tn->gateway;
	if (n->addr || !tn->addr)
		return 0;
	if (!tn->forks_lo)
		return iv_fail(
			c->err,
			"%s:%d: key 'net': template '%s' has an address but no 'forks' range "
			"for its fork '%s''s",
			c->path, tn->line, t->name, f->name);
	for (uint32_t x = tn->forks_lo; x <= tn->forks_hi; x++) {
		size_t j = 0;
		while (j < cfg->ncvms && cfg->cvms[j].net.addr != x)
			j++;
		if (j == cfg->ncvms) {
			n->addr = x;
			return 0;
		}
	}
	return iv_fail(c->err, "%s:%d: key 'net': no address left for fork '%s' in %s-%s", c->path,
		       f->line, f->name, ip4_str(tn->forks_lo, a), ip4_str(tn->forks_hi, b));
}

/* Two cVMs' networks must not collide: addresses (and host ends), forks
 * ranges, forwarded host ports. */
static int net_pair(struct ctx *c, const struct iv_cvm_cfg *x, const struct iv_cvm_cfg *y)
{
	const struct iv_net_cfg *a = &x->net, *b = &y->net;
	char s[16], r[16];
	if (a->addr && (a->addr == b->addr || a->addr == b->gateway))
		return iv_fail(c->err,
			       "%s:%d: key 'net': address %s of cVM '%s' is also %s of cVM '%s' "
			       "(line %d)",
			       c->path, a->line, ip4_str(a->addr, s), x->name,
			       a->addr == b->addr ? "the address" : "the host end's address",
			       y->name, b->line);
	if (b->addr && b->addr == a->gateway)
		return net_pair(c, y, x);
	if (a->forks_lo && b->forks_lo && a->forks_lo <= b->forks_hi && b->forks_lo <= a->forks_hi)
		return iv_fail(
			c->err,
			"%s:%d: key 'forks': %s-%s of cVM '%s' overlaps cVM '%s''s (line %d)",
			c->path, a->line, ip4_str(a->forks_lo, s), ip4_str(a->forks_hi, r), x->name,
			y->name, b->line);
	for (int k = 0; k < 2; k++) {
		/* (forks have addresses of their template's range) */
		const struct iv_cvm_cfg *u = k ? y : x, *w = k ? x : y;
		if (u->net.forks_lo && w->net.addr >= u->net.forks_lo &&
		    w->net.addr <= u->net.forks_hi && !(w->resume && !w->snapshot_path))
			return iv_fail(c->err,
				       "%s:%d: key 'net': address %s of cVM '%s' is in cVM '%s''s "
				       "forks range (line %d)",
				       c->path, w->net.line, ip4_str(w->net.addr, s), w->name,
				       u->name, u->net.line);
	}
	for (size_t i = 0; i < a->nports; i++)
		for (size_t j = 0; j < b->nports; j++)
			if (a->ports[i].host_port == b->ports[j].host_port &&
			    (a->ports[i].host_addr == b->ports[j].host_addr ||
			     !a->ports[i].host_addr || !b->ports[j].host_addr))
				return iv_fail(c->err,
					       "%s:%d: key 'ports': host port %u of cVM '%s' is "
					       "already taken by cVM '%s' (line %d)",
					       c->path, a->ports[i].line, a->ports[i].host_port,
					       x->name, y->name, b->ports[j].line);
	return 0;
}

static int net_peers(struct ctx *c, struct iv_config *cfg, struct iv_cvm_cfg *x)
{
	struct iv_net_cfg *n = &x->net;
	if (n->npeers && !(n->peer = calloc(n->npeers, sizeof(*n->peer))))
		return iv_fail(c->err, "%s: out of memory", c->path);
	for (size_t i = 0; i < n->npeers; i++) {
		size_t j = 0;
		while (j < cfg->ncvms && strcmp(cfg->cvms[j].name, n->peers[i]))
			j++;
		const char *why = j == cfg->ncvms	   ? "there is no cVM of that name"
				  : &cfg->cvms[j] == x	   ? "that is the cVM itself"
				  : !cfg->cvms[j].net.addr ? "it has no address (net: with one)"
				  : cfg->cvms[j].template_ ? "it is a template, frozen at host_save"
				  : x->template_	   ? "a template is frozen at host_save"
							   : NULL;
		if (why)
			return iv_fail(c->err, "%s:%d: key 'peers': '%s' of cVM '%s': %s", c->path,
				       n->line, n->peers[i], x->name, why);
		n->peer[i] = (int)j;
	}
	return 0;
}

static int net_cross_check(struct ctx *c, struct iv_config *cfg)
{
	for (size_t i = 0; i < cfg->ncvms; i++) {
		struct iv_cvm_cfg *x = &cfg->cvms[i];
		if (x->resume && !x->snapshot_path && net_fork(c, cfg, x))
			return -1;
		if (x->template_ && x->net.nports)
			return iv_fail(c->err,
				       "%s:%d: key 'ports': template '%s' is frozen at host_save: "
				       "give its forks the ports",
				       c->path, x->net.ports[0].line, x->name);
	}
	for (size_t i = 0; i < cfg->ncvms; i++) {
		for (size_t j = 0; j < i; j++)
			if (net_pair(c, &cfg->cvms[i], &cfg->cvms[j]))
				return -1;
		if (net_peers(c, cfg, &cfg->cvms[i]))
			return -1;
	}
	return 0;
}

/* Whether x's chain of outers reaches y. */
static int outer_of(const struct iv_config *cfg, const struct iv_cvm_cfg *x,
		    const struct iv_cvm_cfg *y)
{
	int o = x->outer;
	for (size_t n = 0; o >= 0 && n < cfg->ncvms; n++, o = cfg->cvms[o].outer)
		if (&cfg->cvms[o] == y)
			return 1;
	return 0;
}

/* Whether one of a and b lies inside the other as its inner (or deeper). */
static int nested_pair(const struct iv_config *cfg, const struct iv_cvm_cfg *a,
		       const struct iv_cvm_cfg *b)
{
	return outer_of(cfg, a, b) || outer_of(cfg, b, a);
}

/* The cVM a callback key names: by name, else by its runtime's file name
 * (the seed's way); -1 none, -2 more than one. */
static int callback_target(const struct iv_config *cfg, const char *key)
{
	int found = -1;
	for (size_t i = 0; i < cfg->ncvms; i++)
		if (!strcmp(cfg->cvms[i].name, key))
			return (int)i;
	for (size_t i = 0; i < cfg->ncvms; i++) {
		const char *rt = cfg->cvms[i].runtime, *sl = strrchr(rt, '/');
		if (!strcmp(sl ? sl + 1 : rt, key))
			found = found == -1 ? (int)i : -2;
	}
	return found;
}

/* What nesting cannot be combined with, by the key that says so (NULL: none). */
static const char *nest_refused(const struct iv_cvm_cfg *v)
{
	return v->program	  ? "isolation"
	       : v->template_	  ? "template"
	       : v->resume	  ? "resume"
	       : v->snapshot_path ? "snapshot_path"
				  : NULL;
}

/* callback_out and callback_in (README "Nested cVMs"): which cVM serves
 * whose hostcalls, each pair nested in memory.  Their images and stacks
 * are checked against each other when the run starts (features/nested). */
static int nest_check(struct ctx *c, struct iv_config *cfg)
{
	for (size_t i = 0; i < cfg->ncvms; i++) {
		struct iv_cvm_cfg *a = &cfg->cvms[i];
		if (!a->callback_out || !strcmp(a->callback_out, "monitor"))
			continue;
		int line = a->callback_line ? a->callback_line : a->line;
		int t = callback_target(cfg, a->callback_out);
		if (t == -1)
			return iv_fail(c->err,
				       "%s:%d: key 'callback_out': cVM '%s': no cVM is named '%s' "
				       "or has it as its runtime's file name",
				       c->path, line, a->name, a->callback_out);
		if (t == -2)
			return iv_fail(
				c->err,
				"%s:%d: key 'callback_out': cVM '%s': '%s' is the runtime of "
				"more than one cVM: name the cVM",
				c->path, line, a->name, a->callback_out);
		if (t == (int)i)
			return iv_fail(c->err,
				       "%s:%d: key 'callback_out': cVM '%s' cannot serve its own "
				       "hostcalls",
				       c->path, line, a->name);
		a->outer = t;
		cfg->cvms[t].is_outer = 1;
	}
	for (size_t i = 0; i < cfg->ncvms; i++) {
		struct iv_cvm_cfg *a = &cfg->cvms[i];
		if (a->outer < 0) {
			int inner = -1;
			for (size_t j = 0; j < cfg->ncvms && inner < 0; j++)
				if (cfg->cvms[j].outer == (int)i)
					inner = (int)j;
			if (a->callback_in && inner < 0)
				return iv_fail(c->err,
					       "%s:%d: key 'callback_in': cVM '%s' is no cVM's "
					       "callback_out",
					       c->path, a->callback_in_line, a->name);
		}
		if (a->outer < 0)
			continue;
		struct iv_cvm_cfg *o = &cfg->cvms[a->outer];
		int line = a->callback_line ? a->callback_line : a->line;
		/* a cycle: following outers comes back to a */
		int k = a->outer;
		for (size_t n = 0; k >= 0 && k != (int)i && n < cfg->ncvms; n++)
			k = cfg->cvms[k].outer;
		if (k == (int)i)
			return iv_fail(c->err,
				       "%s:%d: key 'callback_out': cVM '%s' and cVM '%s' serve "
				       "each other's hostcalls (a cycle)",
				       c->path, line, a->name, o->name);
		const char *why = nest_refused(a) ? nest_refused(a) : nest_refused(o);
		if (why)
			return iv_fail(c->err,
				       "%s:%d: key '%s': cVM '%s' is nested in cVM '%s': nesting "
				       "is not supported with %s",
				       c->path, nest_refused(a) ? a->line : o->line, why, a->name,
				       o->name,
				       !strcmp(why, "isolation") ? "programs (a baremetal cVM has "
								   "an isolation range)"
								 : why);
		if (a->begin < o->begin || a->end > o->end)
			return iv_fail(c->err,
				       "%s:%d: key 'isolation': inner cVM '%s' range [0x%llx, "
				       "0x%llx) does not lie inside outer cVM '%s' range [0x%llx, "
				       "0x%llx)",
				       c->path, a->line, a->name, (unsigned long long)a->begin,
				       (unsigned long long)a->end, o->name,
				       (unsigned long long)o->begin, (unsigned long long)o->end);
		if (o->callback_in) {
			int t = callback_target(cfg, o->callback_in);
			if (t < 0 || cfg->cvms[t].outer != a->outer)
				return iv_fail(c->err,
					       "%s:%d: key 'callback_in': cVM '%s': '%s' is not "
					       "one of its inners",
					       c->path, o->callback_in_line, o->name,
					       o->callback_in);
		}
		/* the first of the pair must not hold the run until it ends */
		struct iv_cvm_cfg *first = (int)i < a->outer ? a : o;
		if (first->wait < 0)
			return iv_fail(c->err,
				       "%s:%d: key 'wait': cVM '%s' has wait: -1 and its %s '%s' "
				       "comes after it: the pair would wait for each other",
				       c->path, first->line, first->name,
				       first == a ? "outer" : "inner",
				       first == a ? o->name : a->name);
	}
	return 0;
}

static int cross_check(struct ctx *c, struct iv_config *cfg)
{
	for (size_t i = 0; i < cfg->ncapfiles; i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp(cfg->capfiles[i].name, cfg->capfiles[j].name))
				return iv_fail(c->err,
					       "%s:%d: key 'name': capfile '%s' already defined at "
					       "line %d",
					       c->path, cfg->capfiles[i].line,
					       cfg->capfiles[i].name, cfg->capfiles[j].line);
	if (nest_check(c, cfg))
		return -1;
	for (size_t i = 0; i < cfg->ncvms; i++) {
		struct iv_cvm_cfg *a = &cfg->cvms[i];
		/* A fork starts from the latest template before it with its runtime
		 * and keeps the template's addresses. */
		for (size_t j = i; a->resume && !a->snapshot_path && j-- > 0;)
			if (cfg->cvms[j].template_ && !strcmp(cfg->cvms[j].runtime, a->runtime)) {
				a->tmpl = (int)j;
				break;
			}
		if (a->resume && !a->snapshot_path) {
			if (a->tmpl < 0)
				return iv_fail(c->err,
					       "%s:%d: key 'resume': no template with runtime '%s' "
					       "comes before cVM '%s'",
					       c->path, a->line, a->runtime, a->name);
			struct iv_cvm_cfg *t = &cfg->cvms[a->tmpl];
			if (a->has_isolation && t->program)
				return iv_fail(c->err,
					       "%s:%d: key 'isolation': fork '%s' of program '%s' "
					       "takes no range",
					       c->path, a->line, a->name, t->name);
			a->program = t->program;
			a->memory = t->memory;
			/* its template's filter notifies exit_group: a run's end */
			if (a->reuse > 1)
				t->notify_exit = 1;
			if (a->reuse > 1 && t->fork_mode == IV_FORK_CLONE)
				return iv_fail(c->err,
					       "%s:%d: key 'reuse': fork '%s' is reset to its "
					       "template's image, and template '%s' has fork_mode: "
					       "clone",
					       c->path, a->line, a->name, t->name);
			a->runtime_in_disk = t->runtime_in_disk;
			if (a->has_isolation && (a->begin != t->begin || a->end != t->end))
				return iv_fail(c->err,
					       "%s:%d: key 'isolation': fork '%s' must keep its "
					       "template '%s''s range [0x%llx, 0x%llx)",
					       c->path, a->line, a->name, t->name,
					       (unsigned long long)t->begin,
					       (unsigned long long)t->end);
			a->base = t->base;
			a->size = t->size;
			a->begin = t->begin;
			a->end = t->end;
		}
		for (size_t j = 0; j < i; j++) {
			struct iv_cvm_cfg *b = &cfg->cvms[j];
			if (a->stdin_monitor && b->stdin_monitor)
				return iv_fail(
					c->err,
					"%s:%d: key 'stdin': cVM '%s' and cVM '%s' (line %d) "
					"both take the monitor's stdin",
					c->path, a->stdin_line, a->name, b->name, b->line);
			if (!strcmp(a->name, b->name))
				return iv_fail(
					c->err,
					"%s:%d: key 'name': cVM '%s' already defined at line %d",
					c->path, a->line, a->name, b->line);
			int family = (a->resume && (a->tmpl == (int)j ||
						    (a->tmpl >= 0 && a->tmpl == b->tmpl))) ||
				     (a->snapshot_path && b->snapshot_path && a->resume &&
				      b->resume && !strcmp(a->snapshot_path, b->snapshot_path));
			if (!family && !a->program && !b->program && a->begin < b->end &&
			    b->begin < a->end && !nested_pair(cfg, a, b))
				return iv_fail(
					c->err,
					"%s:%d: key 'isolation': cVM '%s' range [0x%llx, 0x%llx) "
					"overlaps cVM '%s' (line %d)",
					c->path, a->line, a->name, (unsigned long long)a->begin,
					(unsigned long long)a->end, b->name, b->line);
		}
	}
	if (cfg->ncvms == 0)
		return iv_fail(c->err, "%s: no cVMs to deploy (a 'cVMs' list is required)",
			       c->path);
	if (net_cross_check(c, cfg))
		return -1;
	assign_ids(cfg);
	return 0;
}

/*
 * Bounds on the shape of a config, far above what any real one needs (a
 * cVM is about 20 nodes, 5 levels deep).  libyaml's scanner revisits every
 * open level for each token, so its time grows with the square of the
 * depth, and its loader keeps every node: both are bounded by a pass over
 * the events, which stops at the first excess, before any tree is built.
 */
#define CFG_MAX_DEPTH 16
#define CFG_MAX_NODES 10000

static int syntax_error(const char *path, yaml_parser_t *p, struct iv_err *err)
{
	return iv_fail(err, "%s:%d: YAML syntax error: %s", path, (int)p->problem_mark.line + 1,
		       p->problem ? p->problem : "unknown");
}

static int check_shape(const char *path, const char *text, size_t len, struct iv_err *err)
{
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser))
		return iv_fail(err, "%s: out of memory", path);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	int depth = 0, nodes = 0, rc = 0;
	for (int done = 0; !done && rc == 0;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&parser, &ev)) {
			rc = syntax_error(path, &parser, err);
			break;
		}
		int line = (int)ev.start_mark.line + 1;
		switch (ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > CFG_MAX_DEPTH)
				rc = iv_fail(err, "%s:%d: nested more than %d levels deep", path,
					     line, CFG_MAX_DEPTH);
			/* fall through */
		case YAML_SCALAR_EVENT:
		case YAML_ALIAS_EVENT:
		case YAML_DOCUMENT_START_EVENT:
			if (rc == 0 && ++nodes > CFG_MAX_NODES)
				rc = iv_fail(err, "%s:%d: more than %d YAML nodes", path, line,
					     CFG_MAX_NODES);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return rc;
}

static int parse_text(const char *path, const char *text, size_t len, struct iv_config *cfg,
		      struct iv_err *err)
{
	yaml_parser_t parser;
	memset(cfg, 0, sizeof(*cfg));
	if (check_shape(path, text, len, err))
		return -1;
	cfg->path = strdup(path);
	if (!cfg->path || !yaml_parser_initialize(&parser)) {
		free(cfg->path);
		cfg->path = NULL;
		return iv_fail(err, "%s: out of memory", path);
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	struct ctx c = {path, NULL, err};
	int rc = 0;
	for (int ndoc = 0; rc == 0; ndoc++) {
		yaml_document_t doc;
		if (!yaml_parser_load(&parser, &doc)) {
			rc = syntax_error(path, &parser, err);
			break;
		}
		if (!yaml_document_get_root_node(&doc)) {
			yaml_document_delete(&doc);
			break;
		}
		c.doc = &doc;
		rc = parse_document(&c, cfg);
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	if (rc == 0)
		rc = cross_check(&c, cfg);
	if (rc)
		iv_config_free(cfg);
	return rc;
}

/* Resolves p against dir unless it is absolute; replaces *p. */
static int resolve(char **p, const char *dir)
{
	if ((*p)[0] == '/')
		return 0;
	size_t n = strlen(dir) + strlen(*p) + 2;
	char *full = malloc(n);
	if (!full)
		return -1;
	snprintf(full, n, "%s/%s", dir, *p);
	free(*p);
	*p = full;
	return 0;
}

#define CFG_MAX_BYTES (1 << 20)

/*
 * Reads the config file: opened without blocking (a FIFO or a device given
 * as the config must not hang the monitor), checked to be a regular file,
 * and read to its end but never past 1 MiB (its size may change meanwhile).
 */
static char *read_config(const char *path, size_t *len, struct iv_err *err)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		iv_fail(err, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	struct stat st = {0};
	char *text = NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > CFG_MAX_BYTES) {
		iv_fail(err, "%s: not a regular file of at most 1 MiB (%s)", path,
			S_ISFIFO(st.st_mode)   ? "a FIFO"
			: S_ISCHR(st.st_mode)  ? "a character device"
			: S_ISBLK(st.st_mode)  ? "a block device"
			: S_ISSOCK(st.st_mode) ? "a socket"
			: S_ISDIR(st.st_mode)  ? "a directory"
					       : "too large");
		goto out;
	}
	text = malloc(CFG_MAX_BYTES + 1);
	if (!text) {
		iv_fail(err, "%s: out of memory", path);
		goto out;
	}
	size_t n = 0;
	ssize_t r;
	do {
		r = read(fd, text + n, CFG_MAX_BYTES + 1 - n);
		n += r > 0 ? (size_t)r : 0;
	} while ((r > 0 && n <= CFG_MAX_BYTES) || (r < 0 && errno == EINTR));
	if (r < 0 || n > CFG_MAX_BYTES) {
		if (r < 0)
			iv_fail(err, "%s: cannot read: %s", path, strerror(errno));
		else
			iv_fail(err, "%s: not a regular file of at most 1 MiB", path);
		free(text);
		text = NULL;
	}
	*len = n;
out:
	close(fd);
	return text;
}

/*
 * The host's root and its system directories are never a cell's root: the
 * disk's real path (every link and '..' resolved) may be none of these, nor
 * lie under the ones holding kernel interfaces, devices or host state.
 */
static const char *const system_dirs[] = {
	"/",	    "/bin",	  "/boot",	"/dev",	       "/etc",	     "/home",
	"/lib",	    "/lib32",	  "/lib64",	"/libx32",     "/media",     "/mnt",
	"/opt",	    "/proc",	  "/root",	"/run",	       "/sbin",	     "/srv",
	"/sys",	    "/tmp",	  "/usr",	"/var",	       "/usr/bin",   "/usr/sbin",
	"/usr/lib", "/usr/lib32", "/usr/lib64", "/usr/libx32", "/usr/local", "/usr/share",
	"/var/lib", "/var/tmp",	  "/var/log",	"/var/cache",  "/var/spool", "/var/mail",
	"/var/run", "/var/lock",
};
static const char *const system_trees[] = {"/proc", "/sys", "/dev", "/run", "/boot", "/etc"};

static int is_system_dir(const char *real)
{
	for (size_t i = 0; i < sizeof(system_dirs) / sizeof(system_dirs[0]); i++)
		if (!strcmp(real, system_dirs[i]))
			return 1;
	for (size_t i = 0; i < sizeof(system_trees) / sizeof(system_trees[0]); i++) {
		size_t n = strlen(system_trees[i]);
		if (!strncmp(real, system_trees[i], n) && (real[n] == '/' || real[n] == 0))
			return 1;
	}
	return 0;
}

/* Kernel interfaces that are never a cell's root, wherever they are mounted. */
static const char *special_fs(long type)
{
	switch (type) {
	case PROC_SUPER_MAGIC:
		return "proc";
	case SYSFS_MAGIC:
		return "sysfs";
	case DEVPTS_SUPER_MAGIC:
		return "devpts";
	case CGROUP_SUPER_MAGIC:
	case CGROUP2_SUPER_MAGIC:
		return "cgroup";
	case DEBUGFS_MAGIC:
		return "debugfs";
	case TRACEFS_MAGIC:
		return "tracefs";
	case SECURITYFS_MAGIC:
		return "securityfs";
	case BPF_FS_MAGIC:
		return "bpf";
	case PSTOREFS_MAGIC:
		return "pstore";
	case EFIVARFS_MAGIC:
		return "efivarfs";
	case SELINUX_MAGIC:
		return "selinuxfs";
	case SMACK_MAGIC:
		return "smackfs";
	case NSFS_MAGIC:
		return "nsfs";
	case BINFMTFS_MAGIC:
		return "binfmt_misc";
	case HUGETLBFS_MAGIC:
		return "hugetlbfs";
	case 0x19800202: /* MQUEUE_MAGIC, not in the uapi headers */
		return "mqueue";
	}
	return NULL;
}

/* Replaces vm->disk (already resolved against the config's directory) by
 * its real path, once it is known to be a directory a cell may have. */
static int check_disk(const char *path, struct iv_cvm_cfg *vm, struct iv_err *err)
{
	struct stat s;
	struct statfs fs;
	char *real = realpath(vm->disk, NULL);
	int rc = 0;
	if (!real)
		rc = iv_fail(err, "%s:%d: key 'disk': '%s': %s", path, vm->line, vm->disk,
			     strerror(errno));
	else if (stat(real, &s) || !S_ISDIR(s.st_mode))
		rc = iv_fail(err, "%s:%d: key 'disk': '%s' is not a directory", path, vm->line,
			     vm->disk);
	else if (is_system_dir(real))
		rc = iv_fail(err,
			     "%s:%d: key 'disk': '%s' is '%s', the host's root or a system "
			     "directory: give a directory of the cVM's own",
			     path, vm->line, vm->disk, real);
	else if (statfs(real, &fs))
		rc = iv_fail(err, "%s:%d: key 'disk': '%s': %s", path, vm->line, vm->disk,
			     strerror(errno));
	else if (special_fs((long)fs.f_type))
		rc = iv_fail(err,
			     "%s:%d: key 'disk': '%s' is a %s file system, not a directory "
			     "a cell may have as its root",
			     path, vm->line, vm->disk, special_fs((long)fs.f_type));
	if (rc) {
		free(real);
		return -1;
	}
	free(vm->disk);
	vm->disk = real;
	return 0;
}

/* What a cell opens at its start must be there for it, as its own ids
 * reach it: checked now, so that a config naming a missing file, or one
 * its cVM may not read, starts nothing.  (The cell opens them again
 * itself, the same way.) */
static int check_start(const char *path, const struct iv_cvm_cfg *vm, struct iv_err *err)
{
	struct iv_err e;
	if (vm->stdin_path && iv_check_inside(vm->disk, vm->stdin_path, 0, vm->uid, vm->gid, &e))
		return iv_fail(err, "%s:%d: key 'stdin': %s", path, vm->stdin_line, e.msg);
	if (vm->cwd && iv_check_inside(vm->disk, vm->cwd, 1, vm->uid, vm->gid, &e))
		return iv_fail(err, "%s:%d: key 'cwd': %s", path, vm->cwd_line, e.msg);
	if (vm->stdin_monitor) {
		int fd = iv_open_monitor_stdin();
		if (fd < 0)
			return iv_fail(err,
				       "%s:%d: key 'stdin': the monitor's stdin cannot be reopened "
				       "read-only: %s",
				       path, vm->stdin_line, strerror(errno));
		close(fd);
	}
	return 0;
}

static int read_file(const char *path, struct iv_config *cfg, struct iv_err *err)
{
	size_t len;
	char *text = read_config(path, &len, err);
	int rc = text ? parse_text(path, text, len, cfg, err) : -1;
	free(text);
	return rc;
}

static int load_file(const char *path, struct iv_config *cfg, struct iv_err *err)
{
	int rc = read_file(path, cfg, err);
	if (rc)
		return rc;

	char *copy = strdup(path);
	const char *dir = copy ? dirname(copy) : ".";
	for (size_t i = 0; i < cfg->ncvms && rc == 0; i++) {
		struct iv_cvm_cfg *vm = &cfg->cvms[i];
		struct stat s;
		if ((!vm->runtime_in_disk && resolve(&vm->runtime, dir)) ||
		    (vm->disk && resolve(&vm->disk, dir)) ||
		    (vm->snapshot_path && resolve(&vm->snapshot_path, dir)))
			rc = iv_fail(err, "%s: out of memory", path);
		else if (!vm->program && (stat(vm->runtime, &s) || !S_ISREG(s.st_mode)))
			rc = iv_fail(err, "%s:%d: key 'runtime': '%s' is not a readable file", path,
				     vm->line, vm->runtime);
		else if (vm->disk)
			rc = check_disk(path, vm, err);
		if (rc == 0)
			rc = check_start(path, vm, err);
	}
	free(copy);
	if (rc)
		iv_config_free(cfg);
	return rc;
}

/* An error is one line: control characters a path, key or value brought
 * into it (a name with a newline, say) are shown as \xHH. */
static void one_line(struct iv_err *err)
{
	char out[sizeof(err->msg)];
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)err->msg; *p && o + 5 < sizeof(out);
	     p++) {
		if (*p < 0x20 || *p == 0x7f)
			o += (size_t)snprintf(out + o, 5, "\\x%02x", *p);
		else
			out[o++] = (char)*p;
	}
	out[o] = 0;
	memcpy(err->msg, out, o + 1);
}

int iv_config_parse(const char *path, const char *text, size_t len, struct iv_config *cfg,
		    struct iv_err *err)
{
	int rc = parse_text(path, text, len, cfg, err);
	if (rc)
		one_line(err);
	return rc;
}

int iv_config_read(const char *path, struct iv_config *cfg, struct iv_err *err)
{
	int rc = read_file(path, cfg, err);
	if (rc)
		one_line(err);
	return rc;
}

int iv_config_load(const char *path, struct iv_config *cfg, struct iv_err *err)
{
	int rc = load_file(path, cfg, err);
	if (rc)
		one_line(err);
	return rc;
}

void iv_config_free(struct iv_config *cfg)
{
	for (size_t i = 0; i < cfg->ncapfiles; i++) {
		free(cfg->capfiles[i].name);
		free(cfg->capfiles[i].data);
	}
	for (size_t i = 0; i < cfg->ncvms; i++) {
		struct iv_cvm_cfg *vm = &cfg->cvms[i];
		free(vm->name);
		free(vm->runtime);
		free(vm->args);
		strv_free(vm->argv);
		strv_free(vm->run_args);
		strv_free(vm->envp);
		free(vm->disk);
		free(vm->cwd);
		free(vm->stdin_path);
		free(vm->callback_out);
		free(vm->callback_in);
		free(vm->snapshot_path);
		free(vm->net.ports);
		strv_free(vm->net.peers);
		free(vm->net.peer);
		strv_free(vm->caps);
	}
	free(cfg->capfiles);
	free(cfg->cvms);
	free(cfg->path);
	memset(cfg, 0, sizeof(*cfg));
}
