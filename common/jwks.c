/* jwks.c: JWK Set parsing and lookup by kid over jansson and OpenSSL 3 (see jwks.h).
 *
 * Keys are built from their parameters (RSA n/e, EC x/y) with EVP_PKEY_fromdata; the
 * "x5c" certificates some providers add are not needed and not trusted for anything.
 * libjwt is not used: Debian 12's 1.10 has no JWK support at all. */
#include "common/jwks.h"

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/b64url.h"

#define JWKS__PARAM_MAX 2048 /* bytes of one decoded parameter: RSA 16384 bits */

typedef struct {
    char *kid; /* "" when absent */
    rc_jwks_alg alg;
    EVP_PKEY *pkey;
} jwks__key;

struct rc_jwks {
    jwks__key *keys;
    size_t n;
};

/* A base64url member decoded into buf (JWKS__PARAM_MAX); its length, or -1. */
static long jwks__param(const json_t *jwk, const char *name, unsigned char *buf)
{
    const json_t *v = json_object_get(jwk, name);
    size_t len = json_string_length(v);
    if (!json_is_string(v) || len == 0 || len > JWKS__PARAM_MAX * 4 / 3)
        return -1;
    return rc_b64url_decode(json_string_value(v), len, buf);
}

static EVP_PKEY *jwks__fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *pkey = NULL;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

static EVP_PKEY *jwks__rsa(const json_t *jwk)
{
    unsigned char n[JWKS__PARAM_MAX], e[JWKS__PARAM_MAX];
    long nl = jwks__param(jwk, "n", n), el = jwks__param(jwk, "e", e);
    if (nl <= 0 || el <= 0 || el > 8)
        return NULL;
    BIGNUM *bn_n = BN_bin2bn(n, (int)nl, NULL), *bn_e = BN_bin2bn(e, (int)el, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *pkey = NULL;
    if (bn_n && bn_e && bld && BN_is_odd(bn_e) && !BN_is_one(bn_e) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e))
        pkey = jwks__fromdata("RSA", bld);
    if (pkey && (EVP_PKEY_get_bits(pkey) < 2048 || EVP_PKEY_get_bits(pkey) > 16384)) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    return pkey;
}

/* P-256 only; the point must be on the curve (an invalid-curve point leaks nothing to a
 * verifier, but a key that is not one has no business in the set). */
static EVP_PKEY *jwks__ec(const json_t *jwk)
{
    unsigned char x[JWKS__PARAM_MAX], y[JWKS__PARAM_MAX], pub[65];
    const json_t *crv = json_object_get(jwk, "crv");
    if (!json_is_string(crv) || strcmp(json_string_value(crv), "P-256") != 0 ||
        jwks__param(jwk, "x", x) != 32 || jwks__param(jwk, "y", y) != 32)
        return NULL;
    pub[0] = 0x04; /* uncompressed point */
    memcpy(pub + 1, x, 32);
    memcpy(pub + 33, y, 32);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *pkey = NULL;
    if (bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub))
        pkey = jwks__fromdata("EC", bld);
    OSSL_PARAM_BLD_free(bld);
    if (pkey) {
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        int on_curve = ctx && EVP_PKEY_public_check(ctx) == 1;
        EVP_PKEY_CTX_free(ctx);
        if (!on_curve) {
            EVP_PKEY_free(pkey);
            pkey = NULL;
        }
    }
    return pkey;
}

/* Whether an optional member is absent or says what a signing key of alg says. */
static int jwks__for_signing(const json_t *jwk, const char *alg)
{
    const json_t *use = json_object_get(jwk, "use"), *a = json_object_get(jwk, "alg");
    const json_t *ops = json_object_get(jwk, "key_ops");
    if (use && !(json_is_string(use) && strcmp(json_string_value(use), "sig") == 0))
        return 0;
    if (a && !(json_is_string(a) && strcmp(json_string_value(a), alg) == 0))
        return 0;
    if (ops) {
        size_t i;
        const json_t *op;
        int verify = 0;
        if (!json_is_array(ops))
            return 0;
        json_array_foreach(ops, i, op) verify |= json_is_string(op) &&
                                                 strcmp(json_string_value(op), "verify") == 0;
        if (!verify)
            return 0;
    }
    return 1;
}

/* One key of the set into *out; 0 when it is skipped. */
static int jwks__key_of(const json_t *jwk, jwks__key *out)
{
    const json_t *kty = json_object_get(jwk, "kty"), *kid = json_object_get(jwk, "kid");
    if (!json_is_object(jwk) || !json_is_string(kty))
        return 0;
    if (kid && (!json_is_string(kid) || json_string_length(kid) > RC_JWKS_MAX_KID ||
                strlen(json_string_value(kid)) != json_string_length(kid)))
        return 0; /* a kid with a NUL in it could never be matched as written */
    const char *t = json_string_value(kty);
    EVP_PKEY *pkey = NULL;
    if (strcmp(t, "RSA") == 0 && jwks__for_signing(jwk, "RS256")) {
        out->alg = RC_JWKS_RS256;
        pkey = jwks__rsa(jwk);
    } else if (strcmp(t, "EC") == 0 && jwks__for_signing(jwk, "ES256")) {
        out->alg = RC_JWKS_ES256;
        pkey = jwks__ec(jwk);
    }
    ERR_clear_error();
    if (!pkey)
        return 0;
    out->pkey = pkey;
    out->kid = rc_strdup(kid ? json_string_value(kid) : "");
    return 1;
}

/* Whether set already has a key with kid for alg: the first one published wins. */
static int jwks__dup(const rc_jwks *set, const jwks__key *k)
{
    for (size_t i = 0; i < set->n; i++)
        if (set->keys[i].alg == k->alg && strcmp(set->keys[i].kid, k->kid) == 0)
            return 1;
    return 0;
}

int rc_jwks_parse(const char *json, size_t len, rc_jwks **out, size_t *skipped, char *errstr,
                  size_t errlen)
{
    *out = NULL;
    if (len > RC_JWKS_MAX_BYTES) {
        snprintf(errstr, errlen, "larger than %d bytes", RC_JWKS_MAX_BYTES);
        return RC_EINVAL;
    }
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    const json_t *keys = json_object_get(root, "keys");
    if (!json_is_object(root) || !json_is_array(keys)) {
        snprintf(errstr, errlen, "not a JSON object with a \"keys\" array");
        json_decref(root);
        return RC_EINVAL;
    }
    size_t total = json_array_size(keys), left_out = 0;
    rc_jwks *set = rc_calloc(1, sizeof *set);
    set->keys = rc_calloc(total < RC_JWKS_MAX_KEYS ? total + 1 : RC_JWKS_MAX_KEYS,
                          sizeof *set->keys);
    for (size_t i = 0; i < total; i++) {
        jwks__key k;
        if (set->n == RC_JWKS_MAX_KEYS || !jwks__key_of(json_array_get(keys, i), &k)) {
            left_out++;
            continue;
        }
        if (jwks__dup(set, &k)) {
            EVP_PKEY_free(k.pkey);
            rc_free(k.kid);
            left_out++;
            continue;
        }
        set->keys[set->n++] = k;
    }
    json_decref(root);
    if (skipped)
        *skipped = left_out;
    if (set->n == 0) {
        snprintf(errstr, errlen, "no RS256 or ES256 signing key among %zu keys", total);
        rc_jwks_free(set);
        return RC_EINVAL;
    }
    *out = set;
    return RC_OK;
}

void rc_jwks_free(rc_jwks *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++) {
        EVP_PKEY_free(set->keys[i].pkey);
        rc_free(set->keys[i].kid);
    }
    rc_free(set->keys);
    rc_free(set);
}

size_t rc_jwks_count(const rc_jwks *set)
{
    return set ? set->n : 0;
}

const char *rc_jwks_kid(const rc_jwks *set, size_t i)
{
    return set->keys[i].kid;
}

int rc_jwks_find(const rc_jwks *set, const char *kid, size_t kidlen, rc_jwks_alg alg,
                 EVP_PKEY **key)
{
    const jwks__key *only = NULL;
    size_t with_alg = 0;
    int other_alg = 0;
    for (size_t i = 0; set && i < set->n; i++) {
        const jwks__key *k = &set->keys[i];
        if (!kid) {
            if (k->alg == alg && with_alg++ == 0)
                only = k;
            continue;
        }
        if (strlen(k->kid) != kidlen || memcmp(k->kid, kid, kidlen) != 0)
            continue;
        if (k->alg == alg) {
            *key = k->pkey;
            return RC_OK;
        }
        other_alg = 1;
    }
    if (!kid && with_alg == 1) {
        *key = only->pkey;
        return RC_OK;
    }
    return other_alg ? RC_EPERM : RC_ENOENT;
}
