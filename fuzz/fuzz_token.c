/* fuzz_token: rc_token_verify on arbitrary bytes must never crash, leak or read outside
 * the given length.
 *
 * A fuzzer cannot forge an HMAC, so raw input alone would never get past the signature to
 * the claims. The first byte therefore picks a mode (byte % 4) and the keys (byte / 4 % 4:
 * 0 plain HS256, 1 HS256 with issuer and audience checked, 2 an ES256 public key), so that
 * in ASCII "0".."2" are the modes with plain keys, "4".."6" with checked ones, "8" ES256:
 *   0  the rest is the token, verbatim (the ES256 key reaches the R || S to DER path);
 *   1  the rest is "HEADER\nPAYLOAD" (raw JSON); the harness encodes and signs it;
 *   2  the rest is PAYLOAD; the harness adds {"alg":"HS256"} and signs.
 * Each token is verified as a login token and as a room grant.
 * (Mode 3 and keys 3 fold into 0.)
 * Modes 1 and 2 put every claims path within reach; they sign with HS256 (plain keys for
 * the ES256 choice). The harness includes token.c to sign with its own base64url and HMAC
 * (as the unit tests may reach statics). */
#include "common/token.c"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define FUZZ_SECRET "fuzz-secret-fuzz-secret-fuzz-secret!"
#define FUZZ_NOW INT64_C(1700000000)

static rc_token_keys *g_plain, *g_checked, *g_es256;

/* An ES256 key exists only as a file for rc_token_keys_new: write one, load it, remove it. */
static rc_token_keys *fuzz_es256_keys(void)
{
    char path[] = "/tmp/fuzz-token-XXXXXX", err[RC_ERRSTR_LEN];
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    rc_token_keys *k = NULL;
    if (!f || !pkey || !PEM_write_PUBKEY(f, pkey))
        abort();
    fclose(f);
    if (rc_token_keys_new(NULL, path, NULL, NULL, &k, err, sizeof err) != 0)
        abort();
    unlink(path);
    EVP_PKEY_free(pkey);
    return k;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[RC_ERRSTR_LEN];
    RC_UNUSED(argc), RC_UNUSED(argv);
    if (rc_token_keys_new(FUZZ_SECRET, NULL, NULL, NULL, &g_plain, err, sizeof err) != 0 ||
        rc_token_keys_new(FUZZ_SECRET, NULL, "https://auth.example", "roomcast", &g_checked,
                          err, sizeof err) != 0)
        abort();
    g_es256 = fuzz_es256_keys();
    return 0;
}

/* header.payload.signature for raw JSON parts, rc_malloc'd into *out; returns its length. */
static size_t fuzz_sign(const rc_token_keys *k, const uint8_t *h, size_t hlen,
                        const uint8_t *p, size_t plen, char **out)
{
    char *tok = rc_malloc(rc_b64url_len(hlen) + rc_b64url_len(plen) + 48);
    char *w = rc_b64url_encode(h, hlen, tok);
    *w++ = '.';
    w = rc_b64url_encode(p, plen, w);
    unsigned char mac[32];
    if (!rc_token__hs256(k, tok, (size_t)(w - tok), mac))
        abort();
    *w++ = '.';
    w = rc_b64url_encode(mac, sizeof mac, w);
    *out = tok;
    return (size_t)(w - tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char header[] = "{\"alg\":\"HS256\"}";
    rc_token_claims c;
    if (size < 1)
        return 0;
    int mode = data[0] % 4 % 3, keyset = data[0] / 4 % 4 % 3;
    const rc_token_keys *k = keyset == 1 ? g_checked : keyset == 2 && mode == 0 ? g_es256 : g_plain;
    const uint8_t *rest = data + 1;
    size_t n = size - 1;
    if (mode == 0) {
        /* A private copy of exactly n bytes, so ASan catches any read past the length. */
        char *tok = rc_malloc(n);
        memcpy(tok, rest, n);
        rc_token_verify(k, RC_TOKEN_LOGIN, tok, n, FUZZ_NOW, &c);
        rc_token_verify(k, RC_TOKEN_GRANT, tok, n, FUZZ_NOW, &c);
        rc_free(tok);
        return 0;
    }
    char *tok = NULL;
    size_t len;
    if (mode == 1) {
        const uint8_t *nl = memchr(rest, '\n', n);
        size_t hlen = nl ? (size_t)(nl - rest) : n;
        const uint8_t *p = nl ? nl + 1 : rest + n;
        len = fuzz_sign(k, rest, hlen, p, n - (size_t)(p - rest), &tok);
    } else {
        len = fuzz_sign(k, (const uint8_t *)header, sizeof header - 1, rest, n, &tok);
    }
    for (int kind = RC_TOKEN_LOGIN; kind <= RC_TOKEN_GRANT; kind++) {
        int r = rc_token_verify(k, (rc_token_kind)kind, tok, len, FUZZ_NOW, &c);
        /* What a successful verify promises, whatever the input: a user, a room exactly
           for a grant, an exp for a grant. */
        if (r == RC_TOKEN_OK && (c.user_id[0] == '\0' || strlen(c.user_id) >= sizeof c.user_id))
            abort();
        if (r == RC_TOKEN_OK && (c.room[0] != '\0') != (kind == RC_TOKEN_GRANT))
            abort();
        if (r == RC_TOKEN_OK && kind == RC_TOKEN_GRANT && c.exp == 0)
            abort();
        if (r != RC_TOKEN_OK && (c.user_id[0] != '\0' || c.room[0] != '\0'))
            abort();
    }
    rc_free(tok);
    return 0;
}
