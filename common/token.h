/* token.h: JSON Web Tokens for client connections and room grants (CONTRACT §3, §4), and
 * for the CLI's `roomcast token`.
 *
 * Promises. Exactly one algorithm is accepted, the one the configured key implies (HS256
 * for a secret, RS256 for an RSA key, ES256 for an EC P-256 key); a token whose header
 * names any other ("none", "HS256" against an RSA key, ...) is refused before any
 * signature check. The payload is parsed only after its signature verified. Verification
 * is a pure function of (keys, token, now): no I/O, no clock, no globals, so it can be
 * fuzzed and is safe to call from several threads on the same keys.
 *
 * Ownership. rc_token_keys_new copies everything it is given (strings, the key file's
 * contents); the keys are immutable until rc_token_keys_free. rc_token_verify writes only
 * into the caller's rc_token_claims. rc_token_sign returns a string the caller frees with
 * rc_free. The returned name strings are static. */
#ifndef RC_TOKEN_H
#define RC_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "common/rc.h"

typedef enum { RC_ROLE_NONE = 0, RC_ROLE_BUYER, RC_ROLE_SELLER, RC_ROLE_ADMIN } rc_role;

/* Opaque: the configured algorithm, its key material, and the expected iss/aud. */
typedef struct rc_token_keys rc_token_keys;

/* What a token must be beyond its signature (issue 12): ROOMCAST_JWT_REQUIRE_EXP,
 * ROOMCAST_JWT_MAX_LIFETIME_SECONDS and ROOMCAST_JWT_LEEWAY_SECONDS. */
typedef struct {
    int require_exp;   /* refuse a login token without exp (a grant always needs one) */
    long max_lifetime; /* seconds: exp - min(iat, now) at most this; 0: any */
    long leeway;       /* seconds of clock skew forgiven on exp and nbf */
} rc_token_policy;

#define RC_TOKEN_LEEWAY 30 /* the default leeway */
#define RC_TOKEN_MAX_LIFETIME 86400 /* the default maximum lifetime */
#define RC_TOKEN_POLICY_DEFAULT {1, RC_TOKEN_MAX_LIFETIME, RC_TOKEN_LEEWAY}

/* Which kind of token a verification expects. A room grant (CONTRACT §4) carries the
 * JOSE header "typ": "roomcast-grant+jwt" (RFC 8725 §3.11 explicit typing; matched
 * case-insensitively, with or without "application/") and a "room" claim; a login token
 * has neither. Neither is ever accepted as the other. */
typedef enum { RC_TOKEN_LOGIN = 0, RC_TOKEN_GRANT } rc_token_kind;
#define RC_TOKEN_GRANT_TYP "roomcast-grant+jwt"

/* Builds keys from settings: hs256_secret (ROOMCAST_JWT_SECRET), or pem_file
 * (ROOMCAST_JWT_PUBLIC_KEY_FILE) holding an RSA (>= 2048 bits) or EC P-256 key as a PEM
 * public key, private key or certificate; the key type picks RS256 or ES256. To sign
 * (CLI, tests) give the secret or a PEM private key. NULL or "" counts as unset, for the
 * secret and for issuer/audience (then unchecked and not written). Exactly one of secret
 * and key file must be set. Returns 0 and *out (free with rc_token_keys_free), or
 * RC_EINVAL / RC_EIO with one line in errstr naming the setting, e.g.
 *   ROOMCAST_JWT_PUBLIC_KEY_FILE: not an RSA or EC P-256 public key */
int rc_token_keys_new(const char *hs256_secret, const char *pem_file, const char *issuer,
                      const char *audience, rc_token_keys **out, char *errstr,
                      size_t errlen);
/* Keys named by each token instead (a JWKS, common/jwks_source.h): lookup gets the
 * header's "kid" (NULL when it has none) and "alg", which must be "RS256" or "ES256" (a
 * token saying "none" or HS256 is BAD_ALG before any lookup: an HMAC key would be the
 * public one), and returns the key, borrowed for the call, or NULL (UNKNOWN_KEY). It is
 * called only for a header that passed every other check. Such keys cannot sign. ctx is
 * borrowed; issuer/audience are copied. Never fails. */
struct evp_pkey_st;
typedef struct evp_pkey_st *(*rc_token_key_lookup)(void *ctx, const char *kid, size_t kidlen,
                                                   const char *alg);
int rc_token_keys_new_lookup(rc_token_key_lookup lookup, void *ctx, const char *issuer,
                             const char *audience, rc_token_keys **out);
void rc_token_keys_free(rc_token_keys *k);
/* Replaces the policy (RC_TOKEN_POLICY_DEFAULT until then). Only before the keys are
 * shared: verification reads it without a lock. */
void rc_token_keys_set_policy(rc_token_keys *k, const rc_token_policy *p);
/* "HS256", "RS256" or "ES256"; "RS256/ES256 by kid" for looked-up keys. */
const char *rc_token_keys_alg(const rc_token_keys *k);

typedef struct {
    char user_id[128]; /* never empty on success */
    rc_role role;
    int64_t exp;    /* 0 if absent (only when the policy does not require it) */
    char room[256]; /* room grants: the "room" claim, "" if absent */
} rc_token_claims;

typedef enum {
    RC_TOKEN_OK = 0,
    RC_TOKEN_MALFORMED = -100, /* not three base64url parts of JSON objects, or bad claim types */
    RC_TOKEN_BAD_ALG,          /* header "alg" is not the configured algorithm */
    RC_TOKEN_BAD_SIGNATURE,
    RC_TOKEN_EXPIRED,          /* exp + leeway is past */
    RC_TOKEN_NOT_YET_VALID,    /* nbf - leeway is still ahead */
    RC_TOKEN_BAD_ISSUER,
    RC_TOKEN_BAD_AUDIENCE,
    RC_TOKEN_NO_SUBJECT,       /* no usable sub / id / userId */
    RC_TOKEN_TOO_LONG,         /* more than RC_TOKEN_MAX_LEN bytes */
    RC_TOKEN_NO_EXPIRY,        /* no exp, and the policy (or a grant) needs one */
    RC_TOKEN_LIFETIME,         /* exp further than the policy's maximum lifetime */
    RC_TOKEN_WRONG_TYPE,       /* a grant where a login token is wanted, or the reverse */
    RC_TOKEN_UNKNOWN_KEY       /* looked-up keys: none for the header's kid and alg */
} rc_token_result;

#define RC_TOKEN_MAX_LEN 8192

/* "ok", "malformed", "bad_alg", "bad_signature", "expired", "not_yet_valid",
 * "bad_issuer", "bad_audience", "no_subject", "too_long", "no_exp", "lifetime_too_long",
 * "wrong_type", "unknown_key"; "unknown" otherwise. Stable: used as a metrics label. */
const char *rc_token_result_name(int r);

/* Verifies the compact JWS token[0..len) (need not be NUL-terminated) as a token of
 * `kind` at `now` (Unix seconds). In order: length <= RC_TOKEN_MAX_LEN; three unpadded
 * base64url parts; the header a JSON object with "alg" exactly the configured algorithm,
 * no "crit", and "typ" the grant type exactly when kind is RC_TOKEN_GRANT; the
 * signature; the payload a JSON object; "exp" (required by the policy, and always for a
 * grant) and "nbf", when present, numbers checked with the policy's leeway; the lifetime
 * exp - min(iat, now) within the policy's maximum; "iss" equal to the configured issuer
 * and "aud" (a string or an array of strings) containing the configured audience, when
 * configured; a "room" claim for a grant and none for a login token.
 * Claims: user id from the first present of "sub", "id", "userId" (a string of 1..127
 * bytes, or an integer written in decimal; anything else is NO_SUBJECT); role from
 * "role" (buyer/seller/admin, anything else RC_ROLE_NONE); "room" if present (a string of
 * at most 255 bytes, else MALFORMED: a grant is never truncated into another room's name).
 * Returns RC_TOKEN_OK with *out filled, or an rc_token_result (< 0) with *out zeroed. */
int rc_token_verify(const rc_token_keys *k, rc_token_kind kind, const char *token, size_t len,
                    int64_t now, rc_token_claims *out);

/* Signs a token with signing_keys (a secret, or a PEM private key): header
 * {"alg","typ":"JWT"} (a login token) or, with a room, {"alg","typ":"roomcast-grant+jwt"}
 * (a room grant); payload sub, role (NULL to omit; else buyer/seller/admin), room (NULL
 * to omit), iat=now, exp=now+ttl when ttl > 0, iss/aud when configured. Returns a
 * NUL-terminated token the caller frees with rc_free, or NULL with errstr set (empty
 * sub, unknown role, a grant without ttl, keys without a private key). */
char *rc_token_sign(const rc_token_keys *signing_keys, const char *sub, const char *role,
                    const char *room, int64_t now, long ttl, char *errstr, size_t errlen);

/* "buyer"/"seller"/"admin" (exact, case-sensitive) -> the role; NULL or anything else
 * -> RC_ROLE_NONE. */
rc_role rc_role_parse(const char *s);
/* "buyer", "seller", "admin", or "none". */
const char *rc_role_name(rc_role r);

#endif
