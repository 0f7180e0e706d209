/*
 * Which cVM may use which key: the config's caps lists, and the
 * restrictions advertisers put on the keys they advertise.  Cap files,
 * streams and calls claim their keys here (one space of keys) and ask
 * here before they grant anything.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"

#define MAX_KEYS    8192
#define MAX_REPORTS 8

/* A key that exists: a cap file, a stream or a call. */
struct key {
	char key[IV_KEY_MAX];
	int owner;   /* the advertiser's cVM id, -1 for the config's */
	char *names; /* NULL: any cVM its caps allow */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct key keys[MAX_KEYS];
static int nkeys;

struct access_cvm {
	int reports; /* refusals reported (under cvm->lock) */
};

int iv_key_valid(const char *key)
{
	size_t n = strlen(key);
	if (n == 0 || n >= IV_KEY_MAX || !strcmp(key, ".") || !strcmp(key, ".."))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = key[i];
		if (!(ch >= 'a' && ch <= 'z') && !(ch >= 'A' && ch <= 'Z') &&
		    !(ch >= '0' && ch <= '9') && ch != '_' && ch != '.' && ch != '-')
			return 0;
	}
	return 1;
}

/* The config whose caps govern cvm: a fork has its template's. */
static const struct iv_cvm_cfg *governing(struct iv_cvm *cvm)
{
	const struct iv_cvm_cfg *cfg = cvm->cfg;
	if (cfg->resume && !cfg->snapshot_path && cfg->tmpl >= 0 &&
	    (size_t)cfg->tmpl < cvm->run->cfg->ncvms)
		return &cvm->run->cfg->cvms[cfg->tmpl];
	return cfg;
}

/* Whether name is one of the comma-separated names. */
static int named(const char *names, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = names; *p;) {
		size_t len = strcspn(p, ",");
		if (len == n && !strncmp(p, name, n))
			return 1;
		p += len + (p[len] == ',');
	}
	return 0;
}

/* NULL when cvm may use key, else why not (in why, of whylen bytes). */
static const char *refusal(struct iv_cvm *cvm, const char *key, char *why, size_t whylen)
{
	const struct iv_cvm_cfg *g = governing(cvm);
	if (g->caps_given) {
		int listed = 0;
		for (char **k = g->caps; *k && !listed; k++)
			listed = !strcmp(*k, key);
		if (!listed) {
			snprintf(why, whylen, "not in %s caps",
				 g == cvm->cfg ? "its" : "its template's");
			return why;
		}
	}
	const char *r = NULL;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < nkeys; i++) {
		struct key *x = &keys[i];
		if (strcmp(x->key, key) || !x->names || x->owner == cvm->id ||
		    named(x->names, cvm->cfg->name))
			continue;
		snprintf(why, whylen, "its advertiser allows only %.200s", x->names);
		r = why;
		break;
	}
	pthread_mutex_unlock(&lock);
	return r;
}

int iv_access_allowed(struct iv_cvm *cvm, const char *key)
{
	char why[256];
	return refusal(cvm, key, why, sizeof(why)) == NULL;
}

int iv_access_check(struct iv_cvm *cvm, const char *key, const char *what)
{
	char why[256];
	if (!refusal(cvm, key, why, sizeof(why)))
		return 0;
	struct access_cvm *a = iv_state(cvm, &iv_feature_access);
	pthread_mutex_lock(&cvm->lock);
	int n = a->reports < MAX_REPORTS + 1 ? a->reports++ : MAX_REPORTS + 1;
	pthread_mutex_unlock(&cvm->lock);
	if (n < MAX_REPORTS)
		iv_log("cVM '%s' may not %s '%s': %s", cvm->cfg->name, what, key, why);
	else if (n == MAX_REPORTS)
		iv_log("cVM '%s': more refused keys; no longer reporting them", cvm->cfg->name);
	return -ENOENT;
}

/* A list of names: valid names separated by single commas. */
static int names_valid(const char *names)
{
	char one[IV_KEY_MAX];
	for (const char *p = names; *p;) {
		size_t len = strcspn(p, ",");
		if (len == 0 || len >= sizeof(one))
			return 0;
		memcpy(one, p, len);
		one[len] = 0;
		if (!iv_key_valid(one))
			return 0;
		p += len;
		if (*p == ',' && !*++p)
			return 0; /* a trailing comma */
	}
	return 1;
}

int iv_key_claim(struct iv_cvm *owner, const char *key, const char *names)
{
	if (!iv_key_valid(key) || (names && *names && !names_valid(names)))
		return -EINVAL;
	char *copy = names && *names ? strdup(names) : NULL;
	if (names && *names && !copy)
		return -ENOMEM;
	int rc = 0;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < nkeys && rc == 0; i++)
		if (!strcmp(keys[i].key, key))
			rc = -EEXIST;
	if (rc == 0 && nkeys == MAX_KEYS)
		rc = -ENOSPC;
	if (rc == 0) {
		struct key *x = &keys[nkeys++];
		snprintf(x->key, sizeof(x->key), "%s", key);
		x->owner = owner ? owner->id : -1;
		x->names = copy;
		copy = NULL;
	}
	pthread_mutex_unlock(&lock);
	free(copy);
	return rc;
}

void iv_key_release(const char *key)
{
	pthread_mutex_lock(&lock);
	for (int i = 0; i < nkeys; i++)
		if (!strcmp(keys[i].key, key)) {
			free(keys[i].names);
			keys[i] = keys[--nkeys];
			break;
		}
	pthread_mutex_unlock(&lock);
}

static void stop(struct iv_run *run)
{
	(void)run;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < nkeys; i++)
		free(keys[i].names);
	nkeys = 0;
	pthread_mutex_unlock(&lock);
}

struct iv_feature iv_feature_access = {
	.name = "access to keys",
	.cvm_size = sizeof(struct access_cvm),
	.stop = stop,
};
