/* token.c: JWT verification and signing over OpenSSL and jansson (see token.h).
 *
 * libjwt 1.10 is not used on the verify path: it takes the algorithm from the token's own
 * header (the algorithm-confusion hole), parses the PEM key again on every call, needs a
 * NUL-terminated copy and decodes base64 leniently. We must parse and check the header
 * ourselves first in any case, so the whole path lives here: strict base64url, one jansson
 * parse per part, OpenSSL EVP on a key parsed once at start. The unit tests keep libjwt as
 * an independent implementation to cross-check against.
 *
 * Invariants: the payload is parsed only after its signature verified; nothing here
 * touches the clock (the caller passes `now`); the keys are never written after
 * rc_token_keys_new, so verification is safe from any number of threads. */
#include "common/token.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "common/b64url.h"
#include "common/hmac.h"
#include "common/log.h"

#define KEY_SETTING "ROOMCAST_JWT_PUBLIC_KEY_FILE"
#define PEM_MAX (64 * 1024)  /* a key or certificate file is a few KiB */
#define SIG_MAX 1024         /* RSA up to 8192 bits */
#define DATE_CLAMP (INT64_C(1) << 62) /* keeps date +/- leeway arithmetic from overflowing */

typedef enum { RC_TOKEN__HS256 = 0, RC_TOKEN__RS256, RC_TOKEN__ES256 } rc_token__alg;

static const char *const rc_token__alg_names[] = {"HS256", "RS256", "ES256"};

struct rc_token_keys {
    rc_token__alg alg;
    unsigned char *secret; /* HS256 */
    size_t secret_len;
    EVP_PKEY *pkey; /* RS256 / ES256 */
    int can_sign;   /* a secret, or a private key */
    char *issuer;   /* NULL: unchecked */
    char *audience; /* NULL: unchecked */
    rc_token_policy policy;
    rc_token_key_lookup lookup; /* keys named by each token's kid (JWKS); NULL: the key above */
    void *lookup_ctx;
};

/* The algorithm and key one token is checked with. */
typedef struct {
    rc_token__alg alg;
    EVP_PKEY *pkey;
} rc_token__use;

/* ---- roles and names ------------------------------------------------------------------ */

rc_role rc_role_parse(const char *s)
{
    if (!s)
        return RC_ROLE_NONE;
    if (strcmp(s, "buyer") == 0)
        return RC_ROLE_BUYER;
    if (strcmp(s, "seller") == 0)
        return RC_ROLE_SELLER;
    if (strcmp(s, "admin") == 0)
        return RC_ROLE_ADMIN;
    return RC_ROLE_NONE;
}

const char *rc_role_name(rc_role r)
{
    switch (r) {
    case RC_ROLE_BUYER: return "buyer";
    case RC_ROLE_SELLER: return "seller";
    case RC_ROLE_ADMIN: return "admin";
    default: return "none";
    }
}

const char *rc_token_result_name(int r)
{
    switch (r) {
    case RC_TOKEN_OK: return "ok";
    case RC_TOKEN_MALFORMED: return "malformed";
    case RC_TOKEN_BAD_ALG: return "bad_alg";
    case RC_TOKEN_BAD_SIGNATURE: return "bad_signature";
    case RC_TOKEN_EXPIRED: return "expired";
    case RC_TOKEN_NOT_YET_VALID: return "not_yet_valid";
    case RC_TOKEN_BAD_ISSUER: return "bad_issuer";
    case RC_TOKEN_BAD_AUDIENCE: return "bad_audience";
    case RC_TOKEN_NO_SUBJECT: return "no_subject";
    case RC_TOKEN_TOO_LONG: return "too_long";
    case RC_TOKEN_NO_EXPIRY: return "no_exp";
    case RC_TOKEN_LIFETIME: return "lifetime_too_long";
    case RC_TOKEN_WRONG_TYPE: return "wrong_type";
    case RC_TOKEN_UNKNOWN_KEY: return "unknown_key";
    default: return "unknown";
    }
}

const char *rc_token_keys_alg(const rc_token_keys *k)
{
    return k->lookup ? "RS256/ES256 by kid" : rc_token__alg_names[k->alg];
}


/* ---- keys ---------------------------------------------------------------------------------- */

/* An encrypted key file must fail to load, never stop to prompt on the terminal. */
static int rc_token__no_passphrase(char *buf, int size, int rwflag, void *u)
{
    RC_UNUSED(buf), RC_UNUSED(size), RC_UNUSED(rwflag), RC_UNUSED(u);
    return -1;
}

/* Any PEM key OpenSSL knows (SubjectPublicKeyInfo, PKCS#1 RSA, PKCS#8, SEC1), else the
 * public key of a certificate (identity providers often publish certificates). */
static EVP_PKEY *rc_token__decode_pem(const char *pem, size_t len)
{
    EVP_PKEY *pkey = NULL;
    const unsigned char *p = (const unsigned char *)pem;
    size_t left = len;
    OSSL_DECODER_CTX *dctx =
        OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM", NULL, NULL, 0, NULL, NULL);
    if (dctx) {
        OSSL_DECODER_CTX_set_pem_password_cb(dctx, rc_token__no_passphrase, NULL);
        if (!OSSL_DECODER_from_data(dctx, &p, &left))
            pkey = NULL;
        OSSL_DECODER_CTX_free(dctx);
    }
    if (!pkey) {
        BIO *bio = BIO_new_mem_buf(pem, (int)len);
        X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, rc_token__no_passphrase, NULL) : NULL;
        if (cert)
            pkey = X509_get_pubkey(cert);
        X509_free(cert);
        BIO_free(bio);
    }
    ERR_clear_error();
    return pkey;
}

static int rc_token__has_private(EVP_PKEY *pkey)
{
    BIGNUM *bn = NULL;
    const char *param = EVP_PKEY_is_a(pkey, "RSA") ? OSSL_PKEY_PARAM_RSA_D : OSSL_PKEY_PARAM_PRIV_KEY;
    int yes = EVP_PKEY_get_bn_param(pkey, param, &bn) == 1 && bn;
    BN_clear_free(bn);
    ERR_clear_error();
    return yes;
}

static int rc_token__is_p256(EVP_PKEY *pkey)
{
    char name[80];
    size_t n = 0;
    if (EVP_PKEY_get_group_name(pkey, name, sizeof name, &n) != 1)
        return 0; /* explicit curve parameters: refused, they are an attack surface */
    int nid = OBJ_sn2nid(name);
    if (nid == NID_undef)
        nid = EC_curve_nist2nid(name);
    return nid == NID_X9_62_prime256v1;
}

static char *rc_token__read_file(const char *path, size_t *len, char *errstr, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(errstr, errlen, KEY_SETTING ": cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = rc_malloc(PEM_MAX + 1);
    size_t n = fread(buf, 1, PEM_MAX + 1, f);
    int failed = ferror(f);
    fclose(f);
    if (failed || n > PEM_MAX) {
        snprintf(errstr, errlen, KEY_SETTING ": %s: %s", path,
                 failed ? "read error" : "larger than 64 KiB, not a key file");
        rc_free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int rc_token__load_pem(rc_token_keys *k, const char *path, char *errstr, size_t errlen)
{
    size_t len = 0;
    char *pem = rc_token__read_file(path, &len, errstr, errlen);
    if (!pem)
        return RC_EIO;
    EVP_PKEY *pkey = rc_token__decode_pem(pem, len);
    OPENSSL_cleanse(pem, len); /* it may have held a private key */
    rc_free(pem);
    if (!pkey) {
        snprintf(errstr, errlen, KEY_SETTING ": %s holds no PEM public key, private key or certificate",
                 path);
        return RC_EINVAL;
    }
    int rc = RC_OK;
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        k->alg = RC_TOKEN__RS256;
        if (EVP_PKEY_get_bits(pkey) < 2048) {
            snprintf(errstr, errlen, KEY_SETTING ": the RSA key has %d bits; RS256 needs at least 2048",
                     EVP_PKEY_get_bits(pkey));
            rc = RC_EINVAL;
        }
    } else if (EVP_PKEY_is_a(pkey, "EC") && rc_token__is_p256(pkey)) {
        k->alg = RC_TOKEN__ES256;
    } else {
        snprintf(errstr, errlen, KEY_SETTING ": not an RSA or EC P-256 public key");
        rc = RC_EINVAL;
    }
    if (rc != RC_OK) {
        EVP_PKEY_free(pkey);
        return rc;
    }
    k->pkey = pkey;
    k->can_sign = rc_token__has_private(pkey);
    return RC_OK;
}

int rc_token_keys_new(const char *hs256_secret, const char *pem_file, const char *issuer,
                      const char *audience, rc_token_keys **out, char *errstr, size_t errlen)
{
    int has_secret = hs256_secret && *hs256_secret;
    int has_file = pem_file && *pem_file;
    *out = NULL;
    if (has_secret == has_file) {
        snprintf(errstr, errlen, "set ROOMCAST_JWT_SECRET or ROOMCAST_JWT_PUBLIC_KEY_FILE%s",
                 has_secret ? ", not both" : "");
        return RC_EINVAL;
    }
    rc_token_keys *k = rc_calloc(1, sizeof *k);
    k->policy = (rc_token_policy)RC_TOKEN_POLICY_DEFAULT;
    if (has_secret) {
        k->alg = RC_TOKEN__HS256;
        k->secret_len = strlen(hs256_secret);
        k->secret = rc_memdup(hs256_secret, k->secret_len);
        k->can_sign = 1; /* its strength is the gateway's start policy (common/secret.h) */
    } else {
        int rc = rc_token__load_pem(k, pem_file, errstr, errlen);
        if (rc != RC_OK) {
            rc_token_keys_free(k);
            return rc;
        }
    }
    if (issuer && *issuer)
        k->issuer = rc_strdup(issuer);
    if (audience && *audience)
        k->audience = rc_strdup(audience);
    *out = k;
    return RC_OK;
}

int rc_token_keys_new_lookup(rc_token_key_lookup lookup, void *ctx, const char *issuer,
                             const char *audience, rc_token_keys **out)
{
    rc_token_keys *k = rc_calloc(1, sizeof *k);
    k->policy = (rc_token_policy)RC_TOKEN_POLICY_DEFAULT;
    k->lookup = lookup;
    k->lookup_ctx = ctx;
    if (issuer && *issuer)
        k->issuer = rc_strdup(issuer);
    if (audience && *audience)
        k->audience = rc_strdup(audience);
    *out = k;
    return RC_OK;
}

void rc_token_keys_set_policy(rc_token_keys *k, const rc_token_policy *p)
{
    k->policy = *p;
}

void rc_token_keys_free(rc_token_keys *k)
{
    if (!k)
        return;
    if (k->secret) {
        OPENSSL_cleanse(k->secret, k->secret_len);
        rc_free(k->secret);
    }
    EVP_PKEY_free(k->pkey);
    rc_free(k->issuer);
    rc_free(k->audience);
    rc_free(k);
}

/* ---- signatures ------------------------------------------------------------------------ */

static int rc_token__evp_verify(EVP_PKEY *pkey, const char *input, size_t len,
                                const unsigned char *sig, size_t siglen)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pkey) == 1 &&
             EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)input, len) == 1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

/* JWS carries an ES256 signature as R || S, 32 bytes each (RFC 7518 §3.4); OpenSSL
 * verifies the DER ECDSA-Sig-Value, so re-encode. */
static int rc_token__es256_verify(EVP_PKEY *pkey, const char *input, size_t len,
                                  const unsigned char *sig, size_t siglen)
{
    if (siglen != 64)
        return 0;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
    unsigned char *der = NULL;
    int derlen = -1, ok = 0;
    if (es && r && s && ECDSA_SIG_set0(es, r, s) == 1) {
        r = s = NULL; /* owned by es now */
        derlen = i2d_ECDSA_SIG(es, &der);
    }
    if (derlen > 0)
        ok = rc_token__evp_verify(pkey, input, len, der, (size_t)derlen);
    OPENSSL_free(der);
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    ERR_clear_error();
    return ok;
}

static int rc_token__hs256(const rc_token_keys *k, const char *input, size_t len,
                           unsigned char mac[32])
{
    rc_hmac_sha256(k->secret, k->secret_len, input, len, mac);
    return 1;
}

static int rc_token__check_signature(const rc_token_keys *k, const rc_token__use *use,
                                     const char *input, size_t len, const unsigned char *sig,
                                     size_t siglen)
{
    unsigned char mac[32];
    int ok = 0;
    switch (use->alg) {
    case RC_TOKEN__HS256:
        ok = siglen == 32 && rc_token__hs256(k, input, len, mac) &&
             CRYPTO_memcmp(mac, sig, 32) == 0; /* constant time: no timing oracle */
        break;
    case RC_TOKEN__RS256:
        ok = siglen == (size_t)EVP_PKEY_get_size(use->pkey) &&
             rc_token__evp_verify(use->pkey, input, len, sig, siglen);
        break;
    case RC_TOKEN__ES256:
        ok = rc_token__es256_verify(use->pkey, input, len, sig, siglen);
        break;
    }
    return ok ? RC_TOKEN_OK : RC_TOKEN_BAD_SIGNATURE;
}

/* ---- claims ------------------------------------------------------------------------------ */

static int rc_token__str_eq(const json_t *v, const char *s)
{
    return json_is_string(v) && json_string_length(v) == strlen(s) &&
           memcmp(json_string_value(v), s, json_string_length(v)) == 0;
}

/* A NumericDate (RFC 7519 §2): any JSON number, fractions floored, clamped so that the
 * leeway arithmetic and the conversion to int64 stay defined for absurd values. */
static int rc_token__numeric_date(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        *out = i > DATE_CLAMP ? DATE_CLAMP : i < -DATE_CLAMP ? -DATE_CLAMP : (int64_t)i;
        return 0;
    }
    if (json_is_real(v)) {
        double d = floor(json_real_value(v));
        *out = d > (double)DATE_CLAMP ? DATE_CLAMP : d < -(double)DATE_CLAMP ? -DATE_CLAMP : (int64_t)d;
        return 0;
    }
    return -1;
}

/* The claim name as a NumericDate into *t: 0 when present, 1 when absent, or MALFORMED. */
static int rc_token__date_claim(const json_t *claims, const char *name, int64_t *t)
{
    const json_t *v = json_object_get(claims, name);
    if (!v)
        return 1;
    return rc_token__numeric_date(v, t) == 0 ? 0 : RC_TOKEN_MALFORMED;
}

/* exp (required by the policy or for a grant), its distance (the lifetime), nbf. */
static int rc_token__check_times(const rc_token_policy *pol, rc_token_kind kind,
                                 const json_t *claims, int64_t now, rc_token_claims *out)
{
    int64_t exp = 0, iat = now, nbf = 0;
    int r = rc_token__date_claim(claims, "exp", &exp);
    if (r < 0)
        return r;
    if (r == 1 && (pol->require_exp || kind == RC_TOKEN_GRANT))
        return RC_TOKEN_NO_EXPIRY;
    if (r == 0) {
        if (now >= exp + pol->leeway) /* RFC 7519 §4.1.4: valid only before exp */
            return RC_TOKEN_EXPIRED;
        int ri = rc_token__date_claim(claims, "iat", &iat);
        if (ri < 0)
            return ri;
        /* from its issue, or from now for one issued "later" than now: never shorter
           than what is left of it */
        if (pol->max_lifetime > 0 && exp - (iat < now ? iat : now) > pol->max_lifetime)
            return RC_TOKEN_LIFETIME;
        out->exp = exp;
    }
    r = rc_token__date_claim(claims, "nbf", &nbf);
    if (r < 0)
        return r;
    if (r == 0 && nbf - pol->leeway > now)
        return RC_TOKEN_NOT_YET_VALID;
    return RC_TOKEN_OK;
}

static int rc_token__check_audience(const json_t *aud, const char *want)
{
    if (json_is_array(aud)) {
        size_t i;
        const json_t *v;
        json_array_foreach(aud, i, v) {
            if (rc_token__str_eq(v, want))
                return RC_TOKEN_OK;
        }
        return RC_TOKEN_BAD_AUDIENCE;
    }
    return rc_token__str_eq(aud, want) ? RC_TOKEN_OK : RC_TOKEN_BAD_AUDIENCE;
}

/* The first non-null of sub, id, userId decides; a later one is never a fallback for a
 * present but unusable earlier one. Numbers are user ids too in the seed's tokens; a
 * real that is a whole number (JavaScript has no other kind) is written as an integer. */
static int rc_token__subject(const json_t *claims, char *dst, size_t cap)
{
    static const char *const names[] = {"sub", "id", "userId"};
    const json_t *v = NULL;
    for (size_t i = 0; i < RC_ARRAY_LEN(names) && !v; i++) {
        v = json_object_get(claims, names[i]);
        if (json_is_null(v))
            v = NULL;
    }
    if (json_is_string(v)) {
        size_t n = json_string_length(v);
        if (n == 0 || n >= cap)
            return RC_TOKEN_NO_SUBJECT;
        memcpy(dst, json_string_value(v), n);
        dst[n] = '\0';
        return RC_TOKEN_OK;
    }
    if (json_is_integer(v)) {
        snprintf(dst, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return RC_TOKEN_OK;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d == floor(d) && fabs(d) <= 9007199254740992.0) { /* 2^53: exact */
            snprintf(dst, cap, "%lld", (long long)d);
            return RC_TOKEN_OK;
        }
    }
    return RC_TOKEN_NO_SUBJECT;
}

static int rc_token__check_claims(const rc_token_keys *k, rc_token_kind kind,
                                  const json_t *claims, int64_t now, rc_token_claims *out)
{
    int r = rc_token__check_times(&k->policy, kind, claims, now, out);
    if (r != RC_TOKEN_OK)
        return r;
    if (k->issuer && !rc_token__str_eq(json_object_get(claims, "iss"), k->issuer))
        return RC_TOKEN_BAD_ISSUER;
    if (k->audience) {
        r = rc_token__check_audience(json_object_get(claims, "aud"), k->audience);
        if (r != RC_TOKEN_OK)
            return r;
    }
    r = rc_token__subject(claims, out->user_id, sizeof out->user_id);
    if (r != RC_TOKEN_OK)
        return r;
    const json_t *role = json_object_get(claims, "role");
    out->role = json_is_string(role) ? rc_role_parse(json_string_value(role)) : RC_ROLE_NONE;
    const json_t *room = json_object_get(claims, "room");
    if (json_is_null(room))
        room = NULL;
    if ((room != NULL) != (kind == RC_TOKEN_GRANT))
        return RC_TOKEN_WRONG_TYPE; /* a grant's claims are never a login, nor the reverse */
    if (room) {
        size_t n = json_string_length(room); /* 0 for a non-string */
        if (!json_is_string(room) || n == 0 || n >= sizeof out->room)
            return RC_TOKEN_MALFORMED;
        memcpy(out->room, json_string_value(room), n);
        out->room[n] = '\0';
    }
    return RC_TOKEN_OK;
}

/* ---- verify -------------------------------------------------------------------------------- */

/* Decodes one base64url part and parses it as a JSON object. Duplicate names are refused:
 * {"alg":"RS256","alg":"none"} must not mean one thing here and another elsewhere. */
static json_t *rc_token__json_part(const char *b64, size_t len, unsigned char *scratch)
{
    long n = rc_b64url_decode(b64, len, scratch);
    if (n <= 0)
        return NULL;
    json_t *obj = json_loadb((const char *)scratch, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
    if (obj && !json_is_object(obj)) {
        json_decref(obj);
        obj = NULL;
    }
    return obj;
}

/* Whether a header's typ names a room grant: RFC 7515 §4.1.9 media types compare
 * case-insensitively, and "application/" may be left out. */
static int rc_token__is_grant_typ(const json_t *typ)
{
    if (!json_is_string(typ))
        return 0;
    const char *t = json_string_value(typ);
    if (!strncasecmp(t, "application/", 12))
        t += 12;
    return !strcasecmp(t, RC_TOKEN_GRANT_TYP);
}

/* With keys looked up by kid: the header's alg must be RS256 or ES256 (never "none" or an
 * HMAC, whose key would be the public one) and the key the token names of that alg. */
static int rc_token__lookup_key(const rc_token_keys *k, const json_t *h, rc_token__use *use)
{
    const json_t *alg = json_object_get(h, "alg"), *kid = json_object_get(h, "kid");
    if (rc_token__str_eq(alg, "RS256"))
        use->alg = RC_TOKEN__RS256;
    else if (rc_token__str_eq(alg, "ES256"))
        use->alg = RC_TOKEN__ES256;
    else
        return RC_TOKEN_BAD_ALG;
    if (kid && !json_is_string(kid))
        return RC_TOKEN_MALFORMED;
    use->pkey = k->lookup(k->lookup_ctx, kid ? json_string_value(kid) : NULL,
                          kid ? json_string_length(kid) : 0, rc_token__alg_names[use->alg]);
    return use->pkey ? RC_TOKEN_OK : RC_TOKEN_UNKNOWN_KEY;
}

static int rc_token__check_header(const rc_token_keys *k, rc_token_kind kind, const char *b64,
                                  size_t len, unsigned char *scratch, rc_token__use *use)
{
    json_t *h = rc_token__json_part(b64, len, scratch);
    if (!h)
        return RC_TOKEN_MALFORMED;
    int r = RC_TOKEN_OK;
    const json_t *alg = json_object_get(h, "alg");
    use->alg = k->alg;
    use->pkey = k->pkey;
    if (!k->lookup && !rc_token__str_eq(alg, rc_token__alg_names[k->alg]))
        r = RC_TOKEN_BAD_ALG;
    else if (k->lookup && !rc_token__str_eq(alg, "RS256") && !rc_token__str_eq(alg, "ES256"))
        r = RC_TOKEN_BAD_ALG;
    else if (json_object_get(h, "crit"))
        r = RC_TOKEN_MALFORMED; /* RFC 7515 §4.1.11: we understand no extension */
    else if (rc_token__is_grant_typ(json_object_get(h, "typ")) != (kind == RC_TOKEN_GRANT))
        r = RC_TOKEN_WRONG_TYPE;
    else if (k->lookup) /* last: only a well-formed header may ask for a JWKS fetch */
        r = rc_token__lookup_key(k, h, use);
    json_decref(h);
    return r;
}

static int rc_token__verify(const rc_token_keys *k, rc_token_kind kind, const char *token,
                            size_t len, int64_t now, rc_token_claims *out)
{
    /* Decoded parts are never longer than the token; one scratch buffer serves them all. */
    unsigned char scratch[RC_TOKEN_MAX_LEN];
    if (!token || len == 0)
        return RC_TOKEN_MALFORMED;
    if (len > RC_TOKEN_MAX_LEN)
        return RC_TOKEN_TOO_LONG;
    const char *end = token + len;
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', (size_t)(end - dot1 - 1)) : NULL;
    if (!dot2 || memchr(dot2 + 1, '.', (size_t)(end - dot2 - 1)))
        return RC_TOKEN_MALFORMED;

    rc_token__use use;
    int r = rc_token__check_header(k, kind, token, (size_t)(dot1 - token), scratch, &use);
    if (r != RC_TOKEN_OK)
        return r;
    long siglen = rc_b64url_decode(dot2 + 1, (size_t)(end - dot2 - 1), scratch);
    if (siglen < 0)
        return RC_TOKEN_MALFORMED;
    r = rc_token__check_signature(k, &use, token, (size_t)(dot2 - token), scratch, (size_t)siglen);
    if (r != RC_TOKEN_OK)
        return r;
    json_t *claims = rc_token__json_part(dot1 + 1, (size_t)(dot2 - dot1 - 1), scratch);
    if (!claims)
        return RC_TOKEN_MALFORMED;
    r = rc_token__check_claims(k, kind, claims, now, out);
    json_decref(claims);
    return r;
}

int rc_token_verify(const rc_token_keys *k, rc_token_kind kind, const char *token, size_t len,
                    int64_t now, rc_token_claims *out)
{
    memset(out, 0, sizeof *out);
    int r = rc_token__verify(k, kind, token, len, now, out);
    if (r != RC_TOKEN_OK)
        memset(out, 0, sizeof *out); /* half-filled claims must not be mistaken for a user */
    return r;
}

/* ---- sign ------------------------------------------------------------------------------------ */

/* ES256 wants R || S (see rc_token__es256_verify); OpenSSL signs DER. */
static int rc_token__es256_raw(unsigned char *sig, size_t *siglen)
{
    const unsigned char *p = sig;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)*siglen);
    if (!es)
        return 0;
    const BIGNUM *r = ECDSA_SIG_get0_r(es), *s = ECDSA_SIG_get0_s(es);
    int ok = BN_bn2binpad(r, sig, 32) == 32 && BN_bn2binpad(s, sig + 32, 32) == 32;
    ECDSA_SIG_free(es);
    *siglen = 64;
    return ok;
}

static int rc_token__sign_bytes(const rc_token_keys *k, const char *input, size_t len,
                                unsigned char sig[SIG_MAX], size_t *siglen)
{
    if (k->alg == RC_TOKEN__HS256) {
        *siglen = 32;
        return rc_token__hs256(k, input, len, sig);
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t n = 0;
    int ok = ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
             EVP_DigestSign(ctx, NULL, &n, (const unsigned char *)input, len) == 1 &&
             n <= SIG_MAX &&
             EVP_DigestSign(ctx, sig, &n, (const unsigned char *)input, len) == 1;
    EVP_MD_CTX_free(ctx);
    *siglen = n;
    if (ok && k->alg == RC_TOKEN__ES256)
        ok = rc_token__es256_raw(sig, siglen);
    ERR_clear_error();
    return ok;
}

/* Adds name: value as a JSON string; fails for text that is not UTF-8. */
static int rc_token__set_str(json_t *obj, const char *name, const char *value)
{
    json_t *v = value ? json_string(value) : NULL;
    return v && json_object_set_new(obj, name, v) == 0 ? 0 : -1;
}

/* The payload as compact JSON (freed with free(), jansson's allocator), or NULL. */
static char *rc_token__payload(const rc_token_keys *k, const char *sub, const char *role,
                               const char *room, int64_t now, long ttl)
{
    json_t *p = json_object();
    int bad = rc_token__set_str(p, "sub", sub);
    if (role)
        bad |= rc_token__set_str(p, "role", role);
    if (room)
        bad |= rc_token__set_str(p, "room", room);
    bad |= json_object_set_new(p, "iat", json_integer(now));
    if (ttl > 0)
        bad |= json_object_set_new(p, "exp", json_integer(now + ttl));
    if (k->issuer)
        bad |= rc_token__set_str(p, "iss", k->issuer);
    if (k->audience)
        bad |= rc_token__set_str(p, "aud", k->audience);
    char *text = bad ? NULL : json_dumps(p, JSON_COMPACT);
    json_decref(p);
    return text;
}

static const char *rc_token__sign_refusal(const rc_token_keys *k, const char *sub,
                                          const char *role, const char *room, int64_t now,
                                          long ttl)
{
    if (!k->can_sign)
        return "the key file holds only a public key; signing needs the private key";
    if (!sub || !*sub || strlen(sub) >= sizeof(((rc_token_claims *)0)->user_id))
        return "sub must be 1 to 127 bytes";
    if (role && rc_role_parse(role) == RC_ROLE_NONE)
        return "role must be buyer, seller or admin";
    if (room && (!*room || strlen(room) >= sizeof(((rc_token_claims *)0)->room)))
        return "room must be 1 to 255 bytes";
    if (room && ttl <= 0)
        return "a room grant needs an expiry";
    if (ttl > 0 && now > DATE_CLAMP - ttl)
        return "expiry is out of range";
    return NULL;
}

char *rc_token_sign(const rc_token_keys *k, const char *sub, const char *role,
                    const char *room, int64_t now, long ttl, char *errstr, size_t errlen)
{
    const char *refusal = rc_token__sign_refusal(k, sub, role, room, now, ttl);
    if (refusal) {
        snprintf(errstr, errlen, "%s", refusal);
        return NULL;
    }
    char header[64];
    int hlen = snprintf(header, sizeof header, "{\"alg\":\"%s\",\"typ\":\"%s\"}",
                        rc_token__alg_names[k->alg], room ? RC_TOKEN_GRANT_TYP : "JWT");
    char *payload = rc_token__payload(k, sub, role, room, now, ttl);
    if (!payload) {
        snprintf(errstr, errlen, "sub, role, room, issuer and audience must be UTF-8 text");
        return NULL;
    }
    size_t plen = strlen(payload);
    size_t cap = rc_b64url_len((size_t)hlen) + rc_b64url_len(plen) +
                 rc_b64url_len(SIG_MAX) + 3;
    char *tok = rc_malloc(cap);
    char *w = rc_b64url_encode((const unsigned char *)header, (size_t)hlen, tok);
    *w++ = '.';
    w = rc_b64url_encode((const unsigned char *)payload, plen, w);
    free(payload);

    unsigned char sig[SIG_MAX];
    size_t siglen = 0;
    if (!rc_token__sign_bytes(k, tok, (size_t)(w - tok), sig, &siglen)) {
        snprintf(errstr, errlen, "signing failed");
        rc_free(tok);
        return NULL;
    }
    *w++ = '.';
    w = rc_b64url_encode(sig, siglen, w);
    *w = '\0';
    if ((size_t)(w - tok) > RC_TOKEN_MAX_LEN) {
        snprintf(errstr, errlen, "the token would be longer than %d bytes", RC_TOKEN_MAX_LEN);
        rc_free(tok);
        return NULL;
    }
    return tok;
}
