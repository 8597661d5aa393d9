/* Tokens: what a client, an operator or an attacker would notice. Keys are generated at
 * test time (RSA-2048, EC P-256) into a temporary directory. Tokens the attacks need are
 * crafted here with OpenSSL directly (not with token.c), and libjwt signs and verifies as
 * a second, independent implementation; RFC 7515 A.3 pins the ES256 wire format. */
#include <jwt.h>
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "common/alloc.h"
#include "common/token.h"

#define NOW INT64_C(1700000000)
#define SECRET "a-test-secret-of-at-least-32-bytes!!"

static char g_dir[] = "/tmp/roomcast-token-XXXXXX";
static char g_paths[16][300];
static int g_npaths;

/* ---- helpers: files, base64url, crafting ------------------------------------------------ */

static const char *t_path(const char *name)
{
    char *p = g_paths[g_npaths++];
    snprintf(p, sizeof g_paths[0], "%s/%s", g_dir, name);
    return p;
}

static const char *t_write(const char *name, const char *text)
{
    const char *path = t_path(name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

/* Reads a file into an rc_malloc'd string. */
static char *t_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = rc_calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

typedef enum { T_PUBLIC, T_PRIVATE, T_PRIVATE_ENCRYPTED, T_PKCS1_PUBLIC } t_form;

static const char *t_write_key(EVP_PKEY *pkey, t_form form, const char *name)
{
    const char *path = t_path(name);
    BIO *bio = BIO_new_file(path, "w");
    if (form == T_PUBLIC) {
        PEM_write_bio_PUBKEY(bio, pkey);
    } else if (form == T_PRIVATE) {
        PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL);
    } else if (form == T_PRIVATE_ENCRYPTED) {
        PEM_write_bio_PrivateKey(bio, pkey, EVP_aes_256_cbc(), (unsigned char *)"pw", 2, NULL,
                                 NULL);
    } else { /* "BEGIN RSA PUBLIC KEY", as `openssl rsa -RSAPublicKey_out` writes */
        OSSL_ENCODER_CTX *e = OSSL_ENCODER_CTX_new_for_pkey(pkey, EVP_PKEY_PUBLIC_KEY, "PEM",
                                                            "type-specific", NULL);
        OSSL_ENCODER_to_bio(e, bio);
        OSSL_ENCODER_CTX_free(e);
    }
    BIO_free(bio);
    return path;
}

/* A self-signed certificate for pkey, as identity providers publish their keys. */
static const char *t_write_cert(EVP_PKEY *pkey, const char *name)
{
    const char *path = t_path(name);
    X509 *x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pkey);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"auth", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_sign(x, pkey, EVP_sha256());
    BIO *bio = BIO_new_file(path, "w");
    PEM_write_bio_X509(bio, x);
    BIO_free(bio);
    X509_free(x);
    return path;
}

static void t_b64(const unsigned char *src, size_t n, char *dst)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)src[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)src[i + 1] << 8;
        if (i + 2 < n)
            v |= src[i + 2];
        dst[o++] = abc[v >> 18];
        dst[o++] = abc[(v >> 12) & 63];
        if (i + 1 < n)
            dst[o++] = abc[(v >> 6) & 63];
        if (i + 2 < n)
            dst[o++] = abc[v & 63];
    }
    dst[o] = '\0';
}

/* header.payload.HMAC-SHA256(key), built without token.c; rc_free the result. */
static char *t_hs256_with(const void *key, size_t keylen, const char *header, const char *payload)
{
    char *tok = rc_malloc(3 * 8192);
    unsigned char mac[32];
    unsigned int maclen = 0;
    t_b64((const unsigned char *)header, strlen(header), tok);
    strcat(tok, ".");
    t_b64((const unsigned char *)payload, strlen(payload), tok + strlen(tok));
    HMAC(EVP_sha256(), key, (int)keylen, (unsigned char *)tok, strlen(tok), mac, &maclen);
    strcat(tok, ".");
    t_b64(mac, maclen, tok + strlen(tok));
    return tok;
}

static char *t_hs256(const char *header, const char *payload)
{
    return t_hs256_with(SECRET, strlen(SECRET), header, payload);
}

#define HS_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define GRANT_HEADER "{\"alg\":\"HS256\",\"typ\":\"roomcast-grant+jwt\"}"

/* Verifies a crafted HS256 token of kind with header and payload against k. */
static int t_verify_kind(const rc_token_keys *k, rc_token_kind kind, const char *header,
                         const char *payload, rc_token_claims *c)
{
    char *tok = t_hs256(header, payload);
    int r = rc_token_verify(k, kind, tok, strlen(tok), NOW, c);
    rc_free(tok);
    return r;
}

/* A crafted login token with payload. */
static int t_verify_payload(const rc_token_keys *k, const char *payload, rc_token_claims *c)
{
    return t_verify_kind(k, RC_TOKEN_LOGIN, HS_HEADER, payload, c);
}

static int t_verify(const rc_token_keys *k, const char *tok, rc_token_claims *c)
{
    return rc_token_verify(k, RC_TOKEN_LOGIN, tok, strlen(tok), NOW, c);
}

static int t_verify_grant(const rc_token_keys *k, const char *tok, rc_token_claims *c)
{
    return rc_token_verify(k, RC_TOKEN_GRANT, tok, strlen(tok), NOW, c);
}

/* Keys with the default policy (exp required, a day at most, 30 s of leeway). */
static rc_token_keys *t_keys_strict(const char *secret, const char *pem, const char *iss,
                                    const char *aud)
{
    rc_token_keys *k = NULL;
    char err[RC_ERRSTR_LEN] = "";
    int r = rc_token_keys_new(secret, pem, iss, aud, &k, err, sizeof err);
    CHECK_STR(err, "");
    CHECK_EQ(r, RC_OK);
    return k;
}

/* Keys with exp optional and no maximum lifetime, so that the tests of shapes and claims
 * need no times in their payloads; test_policy covers the default policy. */
static rc_token_keys *t_keys(const char *secret, const char *pem, const char *iss,
                             const char *aud)
{
    rc_token_keys *k = t_keys_strict(secret, pem, iss, aud);
    rc_token_policy lax = {0, 0, RC_TOKEN_LEEWAY};
    if (k)
        rc_token_keys_set_policy(k, &lax);
    return k;
}

/* ---- key setup ------------------------------------------------------------------------- */

static void test_keys_new_errors(EVP_PKEY *rsa)
{
    rc_token_keys *k = (rc_token_keys *)1;
    char err[RC_ERRSTR_LEN];
    CHECK_EQ(rc_token_keys_new(NULL, NULL, NULL, NULL, &k, err, sizeof err), RC_EINVAL);
    CHECK(k == NULL);
    CHECK_STR(err, "set ROOMCAST_JWT_SECRET or ROOMCAST_JWT_PUBLIC_KEY_FILE");
    CHECK_EQ(rc_token_keys_new("", "", NULL, NULL, &k, err, sizeof err), RC_EINVAL);
    CHECK_STR(err, "set ROOMCAST_JWT_SECRET or ROOMCAST_JWT_PUBLIC_KEY_FILE");
    CHECK_EQ(rc_token_keys_new("s", "/x.pem", NULL, NULL, &k, err, sizeof err), RC_EINVAL);
    CHECK_STR(err, "set ROOMCAST_JWT_SECRET or ROOMCAST_JWT_PUBLIC_KEY_FILE, not both");

    const char *missing = t_path("missing.pem");
    char want[RC_ERRSTR_LEN];
    snprintf(want, sizeof want, "ROOMCAST_JWT_PUBLIC_KEY_FILE: cannot open %s: No such file or directory", missing);
    CHECK_EQ(rc_token_keys_new(NULL, missing, NULL, NULL, &k, err, sizeof err), RC_EIO);
    CHECK_STR(err, want);

    const char *junk = t_write("junk.pem", "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n");
    snprintf(want, sizeof want, "ROOMCAST_JWT_PUBLIC_KEY_FILE: %s holds no PEM public key, private key or certificate", junk);
    CHECK_EQ(rc_token_keys_new(NULL, junk, NULL, NULL, &k, err, sizeof err), RC_EINVAL);
    CHECK_STR(err, want);

    /* An encrypted private key must fail at once, never wait for a passphrase. */
    const char *enc = t_write_key(rsa, T_PRIVATE_ENCRYPTED, "rsa-enc.pem");
    CHECK_EQ(rc_token_keys_new(NULL, enc, NULL, NULL, &k, err, sizeof err), RC_EINVAL);

    EVP_PKEY *small = EVP_RSA_gen(1024);
    CHECK_EQ(rc_token_keys_new(NULL, t_write_key(small, T_PUBLIC, "rsa1024.pem"), NULL, NULL, &k,
                               err, sizeof err), RC_EINVAL);
    CHECK_STR(err, "ROOMCAST_JWT_PUBLIC_KEY_FILE: the RSA key has 1024 bits; RS256 needs at least 2048");
    EVP_PKEY_free(small);

    EVP_PKEY *p384 = EVP_EC_gen("P-384"), *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    CHECK_EQ(rc_token_keys_new(NULL, t_write_key(p384, T_PUBLIC, "p384.pem"), NULL, NULL, &k,
                               err, sizeof err), RC_EINVAL);
    CHECK_STR(err, "ROOMCAST_JWT_PUBLIC_KEY_FILE: not an RSA or EC P-256 public key");
    CHECK_EQ(rc_token_keys_new(NULL, t_write_key(ed, T_PUBLIC, "ed.pem"), NULL, NULL, &k, err,
                               sizeof err), RC_EINVAL);
    CHECK_STR(err, "ROOMCAST_JWT_PUBLIC_KEY_FILE: not an RSA or EC P-256 public key");
    EVP_PKEY_free(p384);
    EVP_PKEY_free(ed);
    CHECK(k == NULL);
}

/* ---- round trips ---------------------------------------------------------------------- */

static void t_round_trip(const rc_token_keys *signer, const rc_token_keys *verifier,
                         const char *alg)
{
    char err[RC_ERRSTR_LEN] = "";
    rc_token_claims c;
    CHECK_STR(rc_token_keys_alg(verifier), alg);
    char *tok = rc_token_sign(signer, "u-17", "seller", "chat-9", NOW, 60, err, sizeof err);
    CHECK_STR(err, "");
    CHECK(tok != NULL);
    if (!tok)
        return;
    CHECK_EQ(t_verify_grant(verifier, tok, &c), RC_TOKEN_OK);
    CHECK_STR(c.user_id, "u-17");
    CHECK_EQ(c.role, RC_ROLE_SELLER);
    CHECK_EQ(c.exp, NOW + 60);
    CHECK_STR(c.room, "chat-9");
    CHECK_EQ(t_verify(verifier, tok, &c), RC_TOKEN_WRONG_TYPE); /* a grant is no login */

    /* The header says the algorithm it was signed with, and that it is a grant. */
    char hdr[64];
    snprintf(hdr, sizeof hdr, "{\"alg\":\"%s\",\"typ\":\"roomcast-grant+jwt\"}", alg);
    char want[128];
    t_b64((const unsigned char *)hdr, strlen(hdr), want);
    CHECK_MEM(tok, strlen(want), want, strlen(want));

    /* The same bytes followed by anything, with the length given: only the length counts. */
    size_t n = strlen(tok);
    char *longer = rc_malloc(n + 8);
    memcpy(longer, tok, n);
    memcpy(longer + n, "garbage", 8);
    CHECK_EQ(rc_token_verify(verifier, RC_TOKEN_GRANT, longer, n, NOW, &c), RC_TOKEN_OK);
    rc_free(longer);

    /* One signature byte off. */
    char *sig = strrchr(tok, '.') + 1;
    sig[3] = sig[3] == 'A' ? 'B' : 'A';
    CHECK_EQ(t_verify_grant(verifier, tok, &c), RC_TOKEN_BAD_SIGNATURE);
    CHECK_STR(c.user_id, "");
    rc_free(tok);

    /* No role, no room, no expiry. */
    tok = rc_token_sign(signer, "42", NULL, NULL, NOW, 0, err, sizeof err);
    CHECK_EQ(t_verify(verifier, tok, &c), RC_TOKEN_OK);
    CHECK_STR(c.user_id, "42");
    CHECK_EQ(c.role, RC_ROLE_NONE);
    CHECK_EQ(c.exp, 0);
    CHECK_STR(c.room, "");
    rc_free(tok);
}

/* libjwt signs and verifies on its own: the two implementations must agree. */
static void t_libjwt_agrees(const rc_token_keys *signer, const rc_token_keys *verifier,
                            jwt_alg_t alg, const char *sign_text, const char *verify_text)
{
    jwt_t *j = NULL;
    rc_token_claims c;
    char err[RC_ERRSTR_LEN] = "";
    jwt_new(&j);
    jwt_add_grant(j, "sub", "from-libjwt");
    jwt_add_grant(j, "role", "admin");
    jwt_add_grant_int(j, "exp", (long)NOW + 10);
    CHECK_EQ(jwt_set_alg(j, alg, (const unsigned char *)sign_text, (int)strlen(sign_text)), 0);
    char *tok = jwt_encode_str(j);
    jwt_free(j);
    CHECK_EQ(t_verify(verifier, tok, &c), RC_TOKEN_OK);
    CHECK_STR(c.user_id, "from-libjwt");
    CHECK_EQ(c.role, RC_ROLE_ADMIN);
    free(tok);

    char *ours = rc_token_sign(signer, "from-roomcast", "buyer", NULL, NOW, 60, err, sizeof err);
    j = NULL;
    CHECK_EQ(jwt_decode(&j, ours, (const unsigned char *)verify_text, (int)strlen(verify_text)), 0);
    CHECK_STR(j ? jwt_get_grant(j, "sub") : NULL, "from-roomcast");
    CHECK_EQ(j ? jwt_get_grant_int(j, "exp") : 0, NOW + 60);
    jwt_free(j);
    rc_free(ours);
}

/* RFC 7515 Appendix A.3: the published ES256 token and P-256 public key. Its payload has
 * no sub, so a good signature shows as NO_SUBJECT (before exp) and EXPIRED (after). */
static void test_rfc7515_es256(void)
{
    static const char *tok = "eyJhbGciOiJFUzI1NiJ9"
        ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
        ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
    static const unsigned char pub[65] = {
        0x04, 0x7f, 0xcd, 0xce, 0x27, 0x70, 0xf6, 0xc4, 0x5d, 0x41, 0x83, 0xcb, 0xee, 0x6f,
        0xdb, 0x4b, 0x7b, 0x58, 0x07, 0x33, 0x35, 0x7b, 0xe9, 0xef, 0x13, 0xba, 0xcf, 0x6e,
        0x3c, 0x7b, 0xd1, 0x54, 0x45, 0xc7, 0xf1, 0x44, 0xcd, 0x1b, 0xbd, 0x9b, 0x7e, 0x87,
        0x2c, 0xdf, 0xed, 0xb9, 0xee, 0xb9, 0xf4, 0xb3, 0x69, 0x5d, 0x6e, 0xa9, 0x0b, 0x24,
        0xad, 0x8a, 0x46, 0x23, 0x28, 0x85, 0x88, 0xe5, 0xad};
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub);
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(b);
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_fromdata_init(pctx);
    CHECK_EQ(EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params), 1);
    rc_token_keys *k = t_keys(NULL, t_write_key(pkey, T_PUBLIC, "rfc7515-a3.pem"), NULL, NULL);
    rc_token_claims c;
    CHECK_EQ(rc_token_verify(k, RC_TOKEN_LOGIN, tok, strlen(tok), 1300819000, &c), RC_TOKEN_NO_SUBJECT);
    CHECK_EQ(rc_token_verify(k, RC_TOKEN_LOGIN, tok, strlen(tok), 1300819380 + 30, &c), RC_TOKEN_EXPIRED);

    char *bad = rc_strdup(tok);
    char *sig = strrchr(bad, '.') + 1;
    sig[10] = sig[10] == 'A' ? 'B' : 'A';
    CHECK_EQ(rc_token_verify(k, RC_TOKEN_LOGIN, bad, strlen(bad), 1300819000, &c), RC_TOKEN_BAD_SIGNATURE);
    rc_free(bad);
    rc_token_keys_free(k);
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(pctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
}

static void test_asymmetric(EVP_PKEY *rsa, EVP_PKEY *ec)
{
    const char *rsa_pub = t_write_key(rsa, T_PUBLIC, "rsa.pub.pem");
    const char *rsa_priv = t_write_key(rsa, T_PRIVATE, "rsa.pem");
    const char *ec_pub = t_write_key(ec, T_PUBLIC, "ec.pub.pem");
    const char *ec_priv = t_write_key(ec, T_PRIVATE, "ec.pem");
    rc_token_keys *rs_v = t_keys(NULL, rsa_pub, NULL, NULL), *rs_s = t_keys(NULL, rsa_priv, NULL, NULL);
    rc_token_keys *es_v = t_keys(NULL, ec_pub, NULL, NULL), *es_s = t_keys(NULL, ec_priv, NULL, NULL);
    t_round_trip(rs_s, rs_v, "RS256");
    t_round_trip(es_s, es_v, "ES256");
    t_round_trip(rs_s, rs_s, "RS256"); /* a private key verifies too */

    char *priv_text = t_slurp(rsa_priv), *pub_text = t_slurp(rsa_pub);
    char *ec_priv_text = t_slurp(ec_priv), *ec_pub_text = t_slurp(ec_pub);
    t_libjwt_agrees(rs_s, rs_v, JWT_ALG_RS256, priv_text, pub_text);
    t_libjwt_agrees(es_s, es_v, JWT_ALG_ES256, ec_priv_text, ec_pub_text);
    rc_free(ec_priv_text);
    rc_free(ec_pub_text);
    char err[RC_ERRSTR_LEN] = "";
    char *tok = rc_token_sign(rs_s, "p", NULL, NULL, NOW, 0, err, sizeof err);

    /* A public key cannot sign. */
    CHECK(rc_token_sign(rs_v, "p", NULL, NULL, NOW, 0, err, sizeof err) == NULL);
    CHECK_STR(err, "the key file holds only a public key; signing needs the private key");

    /* Tokens for the other asymmetric algorithm, or from another key of the same kind. */
    rc_token_claims c;
    CHECK_EQ(t_verify(es_v, tok, &c), RC_TOKEN_BAD_ALG);
    EVP_PKEY *other = EVP_RSA_gen(2048);
    rc_token_keys *rs_other = t_keys(NULL, t_write_key(other, T_PUBLIC, "other.pub.pem"), NULL, NULL);
    CHECK_EQ(t_verify(rs_other, tok, &c), RC_TOKEN_BAD_SIGNATURE);

    /* Other key files that hold the same key: PKCS#1 "RSA PUBLIC KEY" and a certificate. */
    rc_token_keys *pkcs1 = t_keys(NULL, t_write_key(rsa, T_PKCS1_PUBLIC, "rsa.pkcs1.pem"), NULL, NULL);
    rc_token_keys *cert = t_keys(NULL, t_write_cert(rsa, "rsa.crt"), NULL, NULL);
    CHECK_EQ(pkcs1 ? t_verify(pkcs1, tok, &c) : -1, RC_TOKEN_OK);
    CHECK_EQ(cert ? t_verify(cert, tok, &c) : -1, RC_TOKEN_OK);
    CHECK(cert && rc_token_sign(cert, "p", NULL, NULL, NOW, 0, err, sizeof err) == NULL);

    rc_free(tok);
    rc_free(priv_text);
    rc_free(pub_text);
    EVP_PKEY_free(other);
    rc_token_keys_free(rs_other);
    rc_token_keys_free(pkcs1);
    rc_token_keys_free(cert);
    rc_token_keys_free(rs_v);
    rc_token_keys_free(rs_s);
    rc_token_keys_free(es_v);
    rc_token_keys_free(es_s);
}

/* ---- attacks ----------------------------------------------------------------------------- */

/* alg "none", and the classic confusion: an HS256 token keyed with the server's RSA public
 * key PEM, which a verifier trusting the header would check with that PEM as the secret. */
static void test_alg_attacks(EVP_PKEY *rsa, const rc_token_keys *hs)
{
    rc_token_claims c;
    const char *rsa_pub = t_write_key(rsa, T_PUBLIC, "rsa.attack.pem");
    rc_token_keys *rs = t_keys(NULL, rsa_pub, NULL, NULL);
    char payload[128];
    snprintf(payload, sizeof payload, "{\"sub\":\"admin-1\",\"role\":\"admin\",\"exp\":%" PRId64 "}", NOW + 60);
    char b64[256], tok[600];
    t_b64((const unsigned char *)payload, strlen(payload), b64);
    snprintf(tok, sizeof tok, "eyJhbGciOiJub25lIn0.%s.", b64); /* {"alg":"none"} */
    CHECK_EQ(t_verify(hs, tok, &c), RC_TOKEN_BAD_ALG);
    CHECK_EQ(t_verify(rs, tok, &c), RC_TOKEN_BAD_ALG);
    CHECK_STR(c.user_id, "");

    static const char *const headers[] = {
        "{\"alg\":\"None\"}", "{\"alg\":\"hs256\"}", "{\"alg\":\"HS512\"}", "{\"typ\":\"JWT\"}",
        "{\"alg\":[\"HS256\"]}", "{\"alg\":\"HS256 \"}", "{\"alg\":null}"};
    for (size_t i = 0; i < RC_ARRAY_LEN(headers); i++) {
        char *t = t_hs256(headers[i], payload);
        CHECK_EQ(t_verify(hs, t, &c), RC_TOKEN_BAD_ALG);
        rc_free(t);
    }

    char *pem = t_slurp(rsa_pub);
    char *confused = t_hs256_with(pem, strlen(pem), HS_HEADER, payload);
    CHECK_EQ(t_verify(rs, confused, &c), RC_TOKEN_BAD_ALG);
    CHECK_STR(c.user_id, "");
    rc_free(confused);
    rc_free(pem);
    rc_token_keys_free(rs);
}

static void test_tampering(const rc_token_keys *hs)
{
    rc_token_claims c;
    char err[RC_ERRSTR_LEN] = "";
    char *tok = rc_token_sign(hs, "u1", "buyer", NULL, NOW, 60, err, sizeof err);
    CHECK_EQ(t_verify(hs, tok, &c), RC_TOKEN_OK);

    /* Swap in a payload that makes u1 an admin, keeping the signature. */
    char *forged = t_hs256(HS_HEADER, "{\"sub\":\"u1\",\"role\":\"admin\"}");
    char *mixed = rc_malloc(strlen(tok) + strlen(forged) + 1);
    size_t head = (size_t)(strrchr(forged, '.') - forged);
    memcpy(mixed, forged, head);
    strcpy(mixed + head, strrchr(tok, '.'));
    CHECK_EQ(t_verify(hs, mixed, &c), RC_TOKEN_BAD_SIGNATURE);
    CHECK_EQ(c.role, RC_ROLE_NONE);
    rc_free(mixed);
    rc_free(forged);

    /* The last character of a 32-byte signature carries 2 unused bits: a second spelling
     * of the same bytes is refused, not accepted as the same token. */
    char *last = tok + strlen(tok) - 1;
    const char *abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    int v = (int)(strchr(abc, *last) - abc);
    *last = abc[v ^ 1];
    CHECK_EQ(t_verify(hs, tok, &c), RC_TOKEN_MALFORMED);
    rc_free(tok);

    rc_token_keys *wrong = t_keys("another-secret-of-at-least-32-bytes", NULL, NULL, NULL);
    tok = t_hs256(HS_HEADER, "{\"sub\":\"u1\"}");
    CHECK_EQ(t_verify(wrong, tok, &c), RC_TOKEN_BAD_SIGNATURE);
    CHECK_EQ(t_verify(hs, tok, &c), RC_TOKEN_OK);
    rc_free(tok);
    rc_token_keys_free(wrong);
}

/* ---- time --------------------------------------------------------------------------------- */

static void test_times(const rc_token_keys *hs)
{
    rc_token_claims c;
    char p[160], err[RC_ERRSTR_LEN] = "";
    struct { const char *fmt; int64_t t; int want; } cases[] = {
        {"{\"sub\":\"u\",\"exp\":%" PRId64 "}", NOW - 29, RC_TOKEN_OK},      /* within leeway */
        {"{\"sub\":\"u\",\"exp\":%" PRId64 "}", NOW - 30, RC_TOKEN_EXPIRED}, /* past it */
        {"{\"sub\":\"u\",\"exp\":%" PRId64 "}", NOW - 86400, RC_TOKEN_EXPIRED},
        {"{\"sub\":\"u\",\"exp\":%" PRId64 ".9}", NOW - 30, RC_TOKEN_EXPIRED},
        {"{\"sub\":\"u\",\"nbf\":%" PRId64 "}", NOW + 30, RC_TOKEN_OK},
        {"{\"sub\":\"u\",\"nbf\":%" PRId64 "}", NOW + 31, RC_TOKEN_NOT_YET_VALID},
        {"{\"sub\":\"u\",\"nbf\":%" PRId64 ".5}", NOW + 31, RC_TOKEN_NOT_YET_VALID},
        {"{\"sub\":\"u\",\"exp\":\"%" PRId64 "\"}", NOW + 60, RC_TOKEN_MALFORMED},
        {"{\"sub\":\"u\",\"nbf\":[%" PRId64 "]}", NOW, RC_TOKEN_MALFORMED},
        {"{\"sub\":\"u\",\"exp\":null,\"x\":%" PRId64 "}", 0, RC_TOKEN_MALFORMED},
        {"{\"sub\":\"u\",\"exp\":1e300,\"x\":%" PRId64 "}", 0, RC_TOKEN_OK},
        {"{\"sub\":\"u\",\"exp\":-1e300,\"x\":%" PRId64 "}", 0, RC_TOKEN_EXPIRED},
        {"{\"sub\":\"u\",\"nbf\":-9223372036854775807,\"x\":%" PRId64 "}", 0, RC_TOKEN_OK},
        {"{\"sub\":\"u\",\"exp\":9223372036854775807,\"x\":%" PRId64 "}", 0, RC_TOKEN_OK},
    };
    for (size_t i = 0; i < RC_ARRAY_LEN(cases); i++) {
        snprintf(p, sizeof p, cases[i].fmt, cases[i].t);
        int r = t_verify_payload(hs, p, &c);
        if (r != cases[i].want)
            fprintf(stderr, "payload %s\n", p);
        CHECK_EQ(r, cases[i].want);
    }

    /* A signed ttl: good until the leeway after exp runs out, at the second. */
    char *tok = rc_token_sign(hs, "u", NULL, NULL, NOW, 60, err, sizeof err);
    CHECK_EQ(rc_token_verify(hs, RC_TOKEN_LOGIN, tok, strlen(tok), NOW + 89, &c), RC_TOKEN_OK);
    CHECK_EQ(c.exp, NOW + 60);
    CHECK_EQ(rc_token_verify(hs, RC_TOKEN_LOGIN, tok, strlen(tok), NOW + 90, &c), RC_TOKEN_EXPIRED);
    rc_free(tok);
}

/* ---- claims ------------------------------------------------------------------------------- */

static void test_issuer_audience(void)
{
    rc_token_keys *k = t_keys(SECRET, NULL, "https://auth.example", "roomcast");
    rc_token_claims c;
    struct { const char *payload; int want; } cases[] = {
        {"{\"sub\":\"u\",\"iss\":\"https://auth.example\",\"aud\":\"roomcast\"}", RC_TOKEN_OK},
        {"{\"sub\":\"u\",\"iss\":\"https://auth.example\",\"aud\":[\"api\",\"roomcast\"]}", RC_TOKEN_OK},
        {"{\"sub\":\"u\",\"iss\":\"https://auth.example\",\"aud\":[\"api\",\"roomcast2\"]}", RC_TOKEN_BAD_AUDIENCE},
        {"{\"sub\":\"u\",\"iss\":\"https://auth.example\",\"aud\":[]}", RC_TOKEN_BAD_AUDIENCE},
        {"{\"sub\":\"u\",\"iss\":\"https://auth.example\",\"aud\":[[\"roomcast\"]]}", RC_TOKEN_BAD_AUDIENCE},
        {"{\"sub\":\"u\",\"iss\":\"https://auth.example\"}", RC_TOKEN_BAD_AUDIENCE},
        {"{\"sub\":\"u\",\"iss\":\"https://evil.example\",\"aud\":\"roomcast\"}", RC_TOKEN_BAD_ISSUER},
        {"{\"sub\":\"u\",\"iss\":\"https://auth.example/\",\"aud\":\"roomcast\"}", RC_TOKEN_BAD_ISSUER},
        {"{\"sub\":\"u\",\"aud\":\"roomcast\"}", RC_TOKEN_BAD_ISSUER},
        {"{\"sub\":\"u\",\"iss\":[\"https://auth.example\"],\"aud\":\"roomcast\"}", RC_TOKEN_BAD_ISSUER},
    };
    for (size_t i = 0; i < RC_ARRAY_LEN(cases); i++)
        CHECK_EQ(t_verify_payload(k, cases[i].payload, &c), cases[i].want);

    /* Unconfigured: not checked. Configured: the signer writes them. */
    rc_token_keys *open = t_keys(SECRET, NULL, "", NULL);
    CHECK_EQ(t_verify_payload(open, "{\"sub\":\"u\",\"iss\":\"x\",\"aud\":5}", &c), RC_TOKEN_OK);
    char err[RC_ERRSTR_LEN] = "";
    char *tok = rc_token_sign(k, "u", NULL, NULL, NOW, 0, err, sizeof err);
    CHECK_EQ(t_verify(k, tok, &c), RC_TOKEN_OK);
    rc_token_keys *other = t_keys(SECRET, NULL, "https://auth.example", "someone-else");
    CHECK_EQ(t_verify(other, tok, &c), RC_TOKEN_BAD_AUDIENCE);
    rc_free(tok);
    rc_token_keys_free(other);
    rc_token_keys_free(open);
    rc_token_keys_free(k);
}

static void test_subject(const rc_token_keys *hs)
{
    rc_token_claims c;
    struct { const char *payload; int want; const char *user; } cases[] = {
        {"{\"sub\":\"s\",\"id\":\"i\",\"userId\":\"u\"}", RC_TOKEN_OK, "s"},
        {"{\"id\":\"i\",\"userId\":\"u\"}", RC_TOKEN_OK, "i"},
        {"{\"userId\":\"u\"}", RC_TOKEN_OK, "u"},
        {"{\"id\":42}", RC_TOKEN_OK, "42"},
        {"{\"userId\":-7}", RC_TOKEN_OK, "-7"},
        {"{\"id\":9007199254740993}", RC_TOKEN_OK, "9007199254740993"},
        {"{\"sub\":7.0}", RC_TOKEN_OK, "7"},
        {"{\"sub\":null,\"id\":\"i\"}", RC_TOKEN_OK, "i"},
        {"{\"sub\":\"caf\\u00e9\"}", RC_TOKEN_OK, "caf\xc3\xa9"},
        {"{}", RC_TOKEN_NO_SUBJECT, ""},
        {"{\"sub\":\"\"}", RC_TOKEN_NO_SUBJECT, ""},
        {"{\"sub\":true,\"id\":\"i\"}", RC_TOKEN_NO_SUBJECT, ""},
        {"{\"sub\":{\"id\":\"i\"}}", RC_TOKEN_NO_SUBJECT, ""},
        {"{\"sub\":1.5}", RC_TOKEN_NO_SUBJECT, ""},
        {"{\"sub\":1e300}", RC_TOKEN_NO_SUBJECT, ""},
        {"{\"Sub\":\"s\"}", RC_TOKEN_NO_SUBJECT, ""},
    };
    for (size_t i = 0; i < RC_ARRAY_LEN(cases); i++) {
        CHECK_EQ(t_verify_payload(hs, cases[i].payload, &c), cases[i].want);
        CHECK_STR(c.user_id, cases[i].user);
    }

    /* 127 bytes fit; 128 would be truncated into someone else's id, so it is refused. */
    char p[400], id[200];
    memset(id, 'x', 128);
    id[128] = '\0';
    snprintf(p, sizeof p, "{\"sub\":\"%s\"}", id);
    CHECK_EQ(t_verify_payload(hs, p, &c), RC_TOKEN_NO_SUBJECT);
    id[127] = '\0';
    snprintf(p, sizeof p, "{\"sub\":\"%s\"}", id);
    CHECK_EQ(t_verify_payload(hs, p, &c), RC_TOKEN_OK);
    CHECK_EQ(strlen(c.user_id), 127);
}

static void test_role_and_room(const rc_token_keys *hs)
{
    rc_token_claims c;
    struct { const char *payload; int want; rc_role role; const char *room; } cases[] = {
        {"{\"sub\":\"u\",\"role\":\"buyer\"}", RC_TOKEN_OK, RC_ROLE_BUYER, ""},
        {"{\"sub\":\"u\",\"role\":\"seller\"}", RC_TOKEN_OK, RC_ROLE_SELLER, ""},
        {"{\"sub\":\"u\",\"role\":\"admin\",\"room\":\"request-5\"}", RC_TOKEN_WRONG_TYPE, RC_ROLE_NONE, ""},
        {"{\"sub\":\"u\",\"role\":\"Admin\"}", RC_TOKEN_OK, RC_ROLE_NONE, ""},
        {"{\"sub\":\"u\",\"role\":\"superuser\"}", RC_TOKEN_OK, RC_ROLE_NONE, ""},
        {"{\"sub\":\"u\",\"role\":[\"admin\"]}", RC_TOKEN_OK, RC_ROLE_NONE, ""},
        {"{\"sub\":\"u\",\"role\":3,\"room\":null}", RC_TOKEN_OK, RC_ROLE_NONE, ""},
        {"{\"sub\":\"u\",\"room\":7}", RC_TOKEN_WRONG_TYPE, RC_ROLE_NONE, ""},
    };
    for (size_t i = 0; i < RC_ARRAY_LEN(cases); i++) {
        CHECK_EQ(t_verify_payload(hs, cases[i].payload, &c), cases[i].want);
        CHECK_EQ(c.role, cases[i].role);
        CHECK_STR(c.room, cases[i].room);
    }
    /* grants: the room claim, a string of 1..255 bytes */
    struct { const char *payload; int want; const char *room; } grants[] = {
        {"{\"sub\":\"u\",\"room\":\"request-5\",\"exp\":1700000060}", RC_TOKEN_OK, "request-5"},
        {"{\"sub\":\"u\",\"room\":7,\"exp\":1700000060}", RC_TOKEN_MALFORMED, ""},
        {"{\"sub\":\"u\",\"room\":\"\",\"exp\":1700000060}", RC_TOKEN_MALFORMED, ""},
        {"{\"sub\":\"u\",\"room\":null,\"exp\":1700000060}", RC_TOKEN_WRONG_TYPE, ""},
    };
    for (size_t i = 0; i < RC_ARRAY_LEN(grants); i++) {
        CHECK_EQ(t_verify_kind(hs, RC_TOKEN_GRANT, GRANT_HEADER, grants[i].payload, &c), grants[i].want);
        CHECK_STR(c.room, grants[i].room);
    }
    char p[400], room[300];
    memset(room, 'r', 256);
    room[256] = '\0';
    snprintf(p, sizeof p, "{\"sub\":\"u\",\"exp\":1700000060,\"room\":\"%s\"}", room);
    CHECK_EQ(t_verify_kind(hs, RC_TOKEN_GRANT, GRANT_HEADER, p, &c), RC_TOKEN_MALFORMED); /* never truncated */
    CHECK_STR(c.user_id, ""); /* nor half-filled claims left behind */
    room[255] = '\0';
    snprintf(p, sizeof p, "{\"sub\":\"u\",\"exp\":1700000060,\"room\":\"%s\"}", room);
    CHECK_EQ(t_verify_kind(hs, RC_TOKEN_GRANT, GRANT_HEADER, p, &c), RC_TOKEN_OK);
    CHECK_STR(c.room, room);

    CHECK_EQ(rc_role_parse("buyer"), RC_ROLE_BUYER);
    CHECK_EQ(rc_role_parse("seller"), RC_ROLE_SELLER);
    CHECK_EQ(rc_role_parse("admin"), RC_ROLE_ADMIN);
    CHECK_EQ(rc_role_parse("ADMIN"), RC_ROLE_NONE);
    CHECK_EQ(rc_role_parse(""), RC_ROLE_NONE);
    CHECK_EQ(rc_role_parse(NULL), RC_ROLE_NONE);
    CHECK_STR(rc_role_name(RC_ROLE_BUYER), "buyer");
    CHECK_STR(rc_role_name(RC_ROLE_SELLER), "seller");
    CHECK_STR(rc_role_name(RC_ROLE_ADMIN), "admin");
    CHECK_STR(rc_role_name(RC_ROLE_NONE), "none");
}

/* ---- shape ------------------------------------------------------------------------------- */

static void test_garbage(const rc_token_keys *hs)
{
    rc_token_claims c;
    char *ok = t_hs256(HS_HEADER, "{\"sub\":\"u\"}");
    const char *payload = strchr(ok, '.') + 1;
    char tok[512];
    static const char *const raw[] = {
        "", "abc", "a.b", "a.b.c.d", "..", ".e30.", "e!J.e30.abc",
        "eyJhbGciOiJIUzI1NiJ9=.e30.abc",  /* padding is not base64url in JWS */
        "eyJhbGciOiJIUzI1NiJ9.e30.a",      /* impossible length */
        "eyJhbGciOiJIUzI1NiJ9.e30.ab+/",   /* standard base64, not base64url */
        "eyJhbGciOiJIUzI1NiJ9.e30.a b",
        "bm90IGpzb24.e30.abc",             /* header "not json" */
        "WzFd.e30.abc",                    /* header [1] */
        "IkhTMjU2Ig.e30.abc",              /* header "HS256" */
        "e30.e30.abc",                     /* {} has no alg: refused before the signature */
    };
    static const int want[] = {
        RC_TOKEN_MALFORMED, RC_TOKEN_MALFORMED, RC_TOKEN_MALFORMED, RC_TOKEN_MALFORMED,
        RC_TOKEN_MALFORMED, RC_TOKEN_MALFORMED, RC_TOKEN_MALFORMED, RC_TOKEN_MALFORMED,
        RC_TOKEN_MALFORMED, RC_TOKEN_MALFORMED, RC_TOKEN_MALFORMED, RC_TOKEN_MALFORMED,
        RC_TOKEN_MALFORMED, RC_TOKEN_MALFORMED, RC_TOKEN_BAD_ALG,
    };
    for (size_t i = 0; i < RC_ARRAY_LEN(raw); i++) {
        int r = t_verify(hs, raw[i], &c);
        if (r != want[i])
            fprintf(stderr, "token \"%s\"\n", raw[i]);
        CHECK_EQ(r, want[i]);
    }
    CHECK_EQ(rc_token_verify(hs, RC_TOKEN_LOGIN, NULL, 0, NOW, &c), RC_TOKEN_MALFORMED);

    /* Header problems past its base64: duplicate alg, unknown critical extension. */
    char *dup = t_hs256("{\"alg\":\"HS256\",\"alg\":\"none\"}", "{\"sub\":\"u\"}");
    CHECK_EQ(t_verify(hs, dup, &c), RC_TOKEN_MALFORMED);
    char *crit = t_hs256("{\"alg\":\"HS256\",\"crit\":[\"exp\"],\"exp\":1}", "{\"sub\":\"u\"}");
    CHECK_EQ(t_verify(hs, crit, &c), RC_TOKEN_MALFORMED);
    rc_free(dup);
    rc_free(crit);

    /* Correctly signed payloads that are not a JSON object. */
    static const char *const payloads[] = {"not json", "[\"sub\",\"u\"]", "\"u\"", "",
                                           "{\"sub\":\"u\"} trailing", "{\"sub\":\"u\",\"sub\":\"v\"}"};
    for (size_t i = 0; i < RC_ARRAY_LEN(payloads); i++)
        CHECK_EQ(t_verify_payload(hs, payloads[i], &c), RC_TOKEN_MALFORMED);

    /* A good token with a NUL inside the given length, or bad base64 in one part. */
    size_t n = strlen(ok);
    memcpy(tok, ok, n + 1);
    CHECK_EQ(rc_token_verify(hs, RC_TOKEN_LOGIN, tok, n + 1, NOW, &c), RC_TOKEN_MALFORMED);
    tok[n - 2] = '*';
    CHECK_EQ(t_verify(hs, tok, &c), RC_TOKEN_MALFORMED);
    memcpy(tok, ok, n + 1);
    tok[(size_t)(payload - ok) + 1] = '!';
    CHECK_EQ(t_verify(hs, tok, &c), RC_TOKEN_BAD_SIGNATURE); /* signed text changed */
    rc_free(ok);
}

static void test_length(const rc_token_keys *hs)
{
    rc_token_claims c;
    char *big = rc_malloc(RC_TOKEN_MAX_LEN + 2);
    memset(big, 'a', RC_TOKEN_MAX_LEN + 1);
    big[RC_TOKEN_MAX_LEN + 1] = '\0';
    CHECK_EQ(t_verify(hs, big, &c), RC_TOKEN_TOO_LONG);

    /* A valid token of exactly the limit passes; one byte more is refused. */
    int found = 0, over = 0;
    for (size_t pad = 5900; pad < 6200; pad++) {
        char *p = rc_malloc(pad + 32);
        snprintf(p, pad + 32, "{\"sub\":\"u\",\"pad\":\"%*s\"}", (int)pad, "");
        char *tok = t_hs256(HS_HEADER, p);
        if (strlen(tok) == RC_TOKEN_MAX_LEN) {
            found = 1;
            CHECK_EQ(t_verify(hs, tok, &c), RC_TOKEN_OK);
        } else if (strlen(tok) == RC_TOKEN_MAX_LEN + 1) {
            over = 1;
            CHECK_EQ(t_verify(hs, tok, &c), RC_TOKEN_TOO_LONG);
        }
        rc_free(tok);
        rc_free(p);
    }
    CHECK(found && over);
    rc_free(big);
}

static void test_sign_refusals(const rc_token_keys *hs)
{
    char err[RC_ERRSTR_LEN] = "";
    char id[200];
    CHECK(rc_token_sign(hs, "", NULL, NULL, NOW, 0, err, sizeof err) == NULL);
    CHECK_STR(err, "sub must be 1 to 127 bytes");
    memset(id, 'x', 128);
    id[128] = '\0';
    CHECK(rc_token_sign(hs, id, NULL, NULL, NOW, 0, err, sizeof err) == NULL);
    CHECK(rc_token_sign(hs, "u", "byuer", NULL, NOW, 0, err, sizeof err) == NULL);
    CHECK_STR(err, "role must be buyer, seller or admin");
    CHECK(rc_token_sign(hs, "u\xff", NULL, NULL, NOW, 0, err, sizeof err) == NULL);
    CHECK_STR(err, "sub, role, room, issuer and audience must be UTF-8 text");
    CHECK(rc_token_sign(hs, "u", NULL, NULL, NOW, LONG_MAX, err, sizeof err) == NULL);
    CHECK_STR(err, "expiry is out of range");
    CHECK(rc_token_sign(hs, "u", NULL, "chat-1", NOW, 0, err, sizeof err) == NULL);
    CHECK_STR(err, "a room grant needs an expiry");
    CHECK(rc_token_sign(hs, "u", NULL, "", NOW, 60, err, sizeof err) == NULL);
    CHECK_STR(err, "room must be 1 to 255 bytes");

    CHECK_STR(rc_token_result_name(RC_TOKEN_OK), "ok");
    CHECK_STR(rc_token_result_name(RC_TOKEN_MALFORMED), "malformed");
    CHECK_STR(rc_token_result_name(RC_TOKEN_BAD_ALG), "bad_alg");
    CHECK_STR(rc_token_result_name(RC_TOKEN_BAD_SIGNATURE), "bad_signature");
    CHECK_STR(rc_token_result_name(RC_TOKEN_EXPIRED), "expired");
    CHECK_STR(rc_token_result_name(RC_TOKEN_NOT_YET_VALID), "not_yet_valid");
    CHECK_STR(rc_token_result_name(RC_TOKEN_BAD_ISSUER), "bad_issuer");
    CHECK_STR(rc_token_result_name(RC_TOKEN_BAD_AUDIENCE), "bad_audience");
    CHECK_STR(rc_token_result_name(RC_TOKEN_NO_SUBJECT), "no_subject");
    CHECK_STR(rc_token_result_name(RC_TOKEN_TOO_LONG), "too_long");
    CHECK_STR(rc_token_result_name(RC_TOKEN_NO_EXPIRY), "no_exp");
    CHECK_STR(rc_token_result_name(RC_TOKEN_LIFETIME), "lifetime_too_long");
    CHECK_STR(rc_token_result_name(RC_TOKEN_WRONG_TYPE), "wrong_type");
    CHECK_STR(rc_token_result_name(-1), "unknown");
}

/* ---- the policy (issue 12): exp required, a maximum lifetime, the leeway, and grants
 * never taken for login tokens nor the reverse ------------------------------------------- */

static void test_policy(void)
{
    rc_token_keys *k = t_keys_strict(SECRET, NULL, NULL, NULL);
    rc_token_claims c;
    char p[256];
    struct { const char *fmt; int64_t a, b; int want; } cases[] = {
        {"{\"sub\":\"admin\",\"role\":\"admin\"}", 0, 0, RC_TOKEN_NO_EXPIRY}, /* never expires */
        {"{\"sub\":\"u\",\"iat\":%" PRId64 ",\"exp\":%" PRId64 "}", NOW, NOW + 86400, RC_TOKEN_OK},
        {"{\"sub\":\"u\",\"iat\":%" PRId64 ",\"exp\":%" PRId64 "}", NOW, NOW + 86401, RC_TOKEN_LIFETIME},
        {"{\"sub\":\"u\",\"iat\":%" PRId64 ",\"exp\":%" PRId64 "}", NOW - 86000, NOW + 401, RC_TOKEN_LIFETIME},
        {"{\"sub\":\"u\",\"x\":%" PRId64 ",\"exp\":%" PRId64 "}", 0, NOW + 86400, RC_TOKEN_OK},
        {"{\"sub\":\"u\",\"x\":%" PRId64 ",\"exp\":%" PRId64 "}", 0, NOW + 86401, RC_TOKEN_LIFETIME},
        /* an iat in the future does not shorten what is left */
        {"{\"sub\":\"u\",\"iat\":%" PRId64 ",\"exp\":%" PRId64 "}", NOW + 5000, NOW + 90000, RC_TOKEN_LIFETIME},
        {"{\"sub\":\"u\",\"iat\":\"%" PRId64 "\",\"exp\":%" PRId64 "}", NOW, NOW + 60, RC_TOKEN_MALFORMED},
    };
    for (size_t i = 0; i < RC_ARRAY_LEN(cases); i++) {
        snprintf(p, sizeof p, cases[i].fmt, cases[i].a, cases[i].b);
        int r = t_verify_payload(k, p, &c);
        if (r != cases[i].want)
            fprintf(stderr, "payload %s\n", p);
        CHECK_EQ(r, cases[i].want);
    }

    /* The leeway is a setting: 0 means exp is the last second. */
    rc_token_policy none = {1, 86400, 0}, lax = {0, 0, RC_TOKEN_LEEWAY};
    snprintf(p, sizeof p, "{\"sub\":\"u\",\"exp\":%" PRId64 "}", NOW - 10);
    CHECK_EQ(t_verify_payload(k, p, &c), RC_TOKEN_OK); /* within the default 30 s */
    rc_token_keys_set_policy(k, &none);
    CHECK_EQ(t_verify_payload(k, p, &c), RC_TOKEN_EXPIRED);
    snprintf(p, sizeof p, "{\"sub\":\"u\",\"exp\":%" PRId64 "}", NOW + 1);
    CHECK_EQ(t_verify_payload(k, p, &c), RC_TOKEN_OK);
    /* exp optional when the policy says so; a grant needs one all the same */
    rc_token_keys_set_policy(k, &lax);
    CHECK_EQ(t_verify_payload(k, "{\"sub\":\"u\"}", &c), RC_TOKEN_OK);
    CHECK_EQ(t_verify_kind(k, RC_TOKEN_GRANT, GRANT_HEADER, "{\"sub\":\"u\",\"room\":\"chat-1\"}", &c),
             RC_TOKEN_NO_EXPIRY);

    /* Grants and login tokens: the header's typ and the room claim both decide. */
    const char *g = "{\"sub\":\"u\",\"room\":\"chat-1\",\"exp\":1700000060}";
    const char *l = "{\"sub\":\"u\",\"role\":\"admin\",\"exp\":1700000060}";
    CHECK_EQ(t_verify_kind(k, RC_TOKEN_GRANT, GRANT_HEADER, g, &c), RC_TOKEN_OK);
    CHECK_EQ(t_verify_kind(k, RC_TOKEN_LOGIN, GRANT_HEADER, g, &c), RC_TOKEN_WRONG_TYPE);
    CHECK_EQ(t_verify_kind(k, RC_TOKEN_LOGIN, HS_HEADER, g, &c), RC_TOKEN_WRONG_TYPE); /* old form */
    CHECK_EQ(t_verify_kind(k, RC_TOKEN_GRANT, HS_HEADER, g, &c), RC_TOKEN_WRONG_TYPE);
    CHECK_EQ(t_verify_kind(k, RC_TOKEN_GRANT, GRANT_HEADER, l, &c), RC_TOKEN_WRONG_TYPE);
    CHECK_EQ(t_verify_kind(k, RC_TOKEN_GRANT, HS_HEADER, l, &c), RC_TOKEN_WRONG_TYPE);
    CHECK_EQ(t_verify_kind(k, RC_TOKEN_LOGIN, HS_HEADER, l, &c), RC_TOKEN_OK);
    static const char *const typs[] = {"application/roomcast-grant+jwt", "Roomcast-Grant+JWT"};
    for (size_t i = 0; i < RC_ARRAY_LEN(typs); i++) {
        char h[128];
        snprintf(h, sizeof h, "{\"alg\":\"HS256\",\"typ\":\"%s\"}", typs[i]);
        CHECK_EQ(t_verify_kind(k, RC_TOKEN_GRANT, h, g, &c), RC_TOKEN_OK);
    }
    CHECK_EQ(t_verify_kind(k, RC_TOKEN_GRANT, "{\"alg\":\"HS256\",\"typ\":\"roomcast-grant\"}", g, &c),
             RC_TOKEN_WRONG_TYPE);
    rc_token_keys_free(k);
}

static void t_cleanup(void)
{
    for (int i = 0; i < g_npaths; i++)
        unlink(g_paths[i]);
    rmdir(g_dir);
}

int main(void)
{
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    EVP_PKEY *rsa = EVP_RSA_gen(2048), *ec = EVP_EC_gen("P-256");
    rc_token_keys *hs = t_keys(SECRET, NULL, NULL, NULL);
    CHECK_STR(rc_token_keys_alg(hs), "HS256");

    test_keys_new_errors(rsa);
    t_round_trip(hs, hs, "HS256");
    t_libjwt_agrees(hs, hs, JWT_ALG_HS256, SECRET, SECRET);
    test_rfc7515_es256();
    test_asymmetric(rsa, ec);
    test_alg_attacks(rsa, hs);
    test_tampering(hs);
    test_times(hs);
    test_issuer_audience();
    test_subject(hs);
    test_role_and_room(hs);
    test_garbage(hs);
    test_length(hs);
    test_sign_refusals(hs);
    test_policy();

    rc_token_keys_free(hs);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    t_cleanup();
    CHECK_DONE();
}
