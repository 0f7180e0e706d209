/*
 * Cap files: named shared memory objects a cVM gets by probing a key (or
 * advertising one), mapped shared in its range, also readable and writable
 * as /cap/KEY through hostcalls, and files under /cap in a program.  What
 * other features may ask of them.
 */
#ifndef IV_CAPFILE_H
#define IV_CAPFILE_H

#include "iv.h"

#define IV_MAX_GRANTS 32 /* cap files one cVM may hold */

struct iv_cap {
	char name[64];
	int fd; /* the monitor's own descriptor of the object */
	uint64_t size;
	int owner;	/* cVM id that advertised it, -1 for the config's */
	unsigned index; /* its file in the monitor's tmpfs */
};

extern struct iv_feature iv_feature_capfile;

struct iv_cap *iv_cap_find(const char *name);
/* A new open file description of the cap's object (O_RDWR), or -1. */
int iv_cap_open(struct iv_cap *c);
/* Creates a named shared object; data (may be NULL) fills its start. */
struct iv_cap *iv_cap_create(const char *name, uint64_t size, const void *data, size_t len,
			     int owner, struct iv_err *err);

/* The i-th cap file cvm was granted and where it is mapped: 0, or -1 past
 * the last. */
int iv_cap_grant(struct iv_cvm *cvm, int i, struct iv_cap **cap, uint64_t *addr);
/* Records that cap is mapped at addr in cvm (a restore); 0 or -1 (full). */
int iv_cap_grant_at(struct iv_cvm *cvm, struct iv_cap *cap, uint64_t addr);
/* Whether a granted cap file is mapped at addr in cvm. */
int iv_cap_granted_at(struct iv_cvm *cvm, uint64_t addr);
/* Where cvm's next cap file will be mapped (just below this), and setting it. */
uint64_t iv_cap_next(struct iv_cvm *cvm);
void iv_cap_set_next(struct iv_cvm *cvm, uint64_t next);
/* A fork has its template's grants, at the same addresses. */
void iv_cap_inherit(struct iv_cvm *fork, struct iv_cvm *tpl);
/* A reused fork between runs: its template's grants again, no handle. */
void iv_cap_reset(struct iv_cvm *fork, struct iv_cvm *tpl);

#endif
