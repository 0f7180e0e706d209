/*
 * Which cVM may use which key (README "Sharing between cVMs"): cap files,
 * cap streams and cap calls share one space of keys.  A cVM's `caps:` list
 * names the keys it may use (probe, open, advertise); without one it may
 * use every key, as in the seed.  A key advertised at run time may be
 * restricted further by its advertiser to cVMs it names.  Here is also the
 * one space of keys that cap files, streams and calls share.
 */
#ifndef IV_ACCESS_H
#define IV_ACCESS_H

#include "iv.h"

#define IV_KEY_MAX   64	  /* a key's bytes with its NUL */
#define IV_NAMES_MAX 1024 /* a restriction's list of names, with its NUL */

extern struct iv_feature iv_feature_access;

/* A key as a cVM may give one at run time: 1 to 63 letters, digits, '_',
 * '.', '-', not "." nor ".." (keys are file names under /cap). */
int iv_key_valid(const char *key);
/* Whether cvm may use key: 1 or 0, saying nothing. */
int iv_access_allowed(struct iv_cvm *cvm, const char *key);
/* The same for a request of cvm's (what: "probe cap file", "advertise
 * stream", ...): 0, or -ENOENT after one MON line saying why (the key then
 * behaves as one that does not exist; a flood is reported 8 times). */
int iv_access_check(struct iv_cvm *cvm, const char *key, const char *what);
/* Key comes into being, advertised by owner (NULL: the config's), for
 * owner and the cVMs named in names only ("a,b,c"; NULL or "": any cVM
 * its own caps allow).  Cap files, streams and calls share the keys: 0,
 * -EEXIST when the key is taken, -EINVAL for a bad key or list of names,
 * -ENOSPC when there are too many. */
int iv_key_claim(struct iv_cvm *owner, const char *key, const char *names);
/* Key no longer exists (its advertiser has ended): it may be claimed again. */
void iv_key_release(const char *key);

#endif
