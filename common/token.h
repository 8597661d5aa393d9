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
void rc_token_keys_free(rc_token_keys *k);
/* "HS256", "RS256" or "ES256". */
const char *rc_token_keys_alg(const rc_token_keys *k);

typedef struct {
    char user_id[128]; /* never empty on success */
    rc_role role;
    int64_t exp;    /* 0 if absent */
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
    RC_TOKEN_TOO_LONG          /* more than RC_TOKEN_MAX_LEN bytes */
} rc_token_result;

#define RC_TOKEN_MAX_LEN 8192
#define RC_TOKEN_LEEWAY 30 /* seconds of clock skew forgiven on exp and nbf */

/* "ok", "malformed", "bad_alg", "bad_signature", "expired", "not_yet_valid",
 * "bad_issuer", "bad_audience", "no_subject", "too_long"; "unknown" otherwise. Stable:
 * used as a metrics label. */
const char *rc_token_result_name(int r);

/* Verifies the compact JWS token[0..len) (need not be NUL-terminated) at `now` (Unix
 * seconds). In order: length <= RC_TOKEN_MAX_LEN; three unpadded base64url parts; the
 * header a JSON object with "alg" exactly the configured algorithm and no "crit"; the
 * signature; the payload a JSON object; "exp" and "nbf", when present, numbers checked
 * with RC_TOKEN_LEEWAY; "iss" equal to the configured issuer and "aud" (a string or an
 * array of strings) containing the configured audience, when configured.
 * Claims: user id from the first present of "sub", "id", "userId" (a string of 1..127
 * bytes, or an integer written in decimal; anything else is NO_SUBJECT); role from
 * "role" (buyer/seller/admin, anything else RC_ROLE_NONE); "room" if present (a string of
 * at most 255 bytes, else MALFORMED: a grant is never truncated into another room's name).
 * Returns RC_TOKEN_OK with *out filled, or an rc_token_result (< 0) with *out zeroed. */
int rc_token_verify(const rc_token_keys *k, const char *token, size_t len, int64_t now,
                    rc_token_claims *out);

/* Signs a token with signing_keys (a secret, or a PEM private key): header
 * {"alg","typ":"JWT"}, payload sub, role (NULL to omit; else buyer/seller/admin), room
 * (NULL to omit), iat=now, exp=now+ttl when ttl > 0, iss/aud when configured. Returns a
 * NUL-terminated token the caller frees with rc_free, or NULL with errstr set (empty
 * sub, unknown role, keys without a private key). */
char *rc_token_sign(const rc_token_keys *signing_keys, const char *sub, const char *role,
                    const char *room, int64_t now, long ttl, char *errstr, size_t errlen);

/* "buyer"/"seller"/"admin" (exact, case-sensitive) -> the role; NULL or anything else
 * -> RC_ROLE_NONE. */
rc_role rc_role_parse(const char *s);
/* "buyer", "seller", "admin", or "none". */
const char *rc_role_name(rc_role r);

#endif
