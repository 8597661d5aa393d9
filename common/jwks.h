/* jwks.h: a JSON Web Key Set (RFC 7517) as published by an identity provider (Keycloak,
 * Auth0, Cognito, ...): parsed once into verification keys looked up by "kid".
 *
 * Promises. Only keys that can verify RS256 or ES256 are kept: "kty" RSA (2048 to 16384
 * bits) or EC on P-256 (the point checked to be on the curve), with "use" absent or
 * "sig", "key_ops" absent or holding "verify", and "alg" absent or the one the key type
 * implies. Everything else ("oct" secrets, encryption keys, RS384, OKP, ...) is skipped
 * and counted, never an error: a provider may publish keys for other purposes. A set
 * with no usable key is an error. Parsing is pure (no I/O, no globals): fuzzed.
 *
 * Ownership. rc_jwks_parse returns a set the caller frees with rc_jwks_free; the set is
 * immutable, and the keys rc_jwks_find returns are borrowed from it until it is freed. */
#ifndef RC_JWKS_H
#define RC_JWKS_H

#include <stddef.h>

#include "common/rc.h"

struct evp_pkey_st;
typedef struct rc_jwks rc_jwks;

#define RC_JWKS_MAX_BYTES (1024 * 1024) /* a set is a few KiB; bigger is not a JWKS */
#define RC_JWKS_MAX_KEYS 100
#define RC_JWKS_MAX_KID 256

typedef enum { RC_JWKS_RS256 = 0, RC_JWKS_ES256 } rc_jwks_alg;

/* Parses json[0..len). Returns 0 and *out (with *skipped, if not NULL, the number of keys
 * left out), or RC_EINVAL with one sentence in errstr ("not a JSON object with a keys
 * array", "no RS256 or ES256 signing key among 3 keys"). */
int rc_jwks_parse(const char *json, size_t len, rc_jwks **out, size_t *skipped, char *errstr,
                  size_t errlen);
void rc_jwks_free(rc_jwks *set);
size_t rc_jwks_count(const rc_jwks *set);
/* The kid of key i (< count), "" for a key without one. */
const char *rc_jwks_kid(const rc_jwks *set, size_t i);

/* The key for a token signed with alg whose header names kid[0..kidlen) (kid NULL: the
 * header has none). Returns 0 and *key; RC_ENOENT when no key has that kid (or, without
 * a kid, when not exactly one key has that algorithm); RC_EPERM when the kid names a key
 * of the other algorithm (an RS256 token claiming an EC key). */
int rc_jwks_find(const rc_jwks *set, const char *kid, size_t kidlen, rc_jwks_alg alg,
                 struct evp_pkey_st **key);

#endif
