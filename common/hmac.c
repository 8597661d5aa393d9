/* hmac.c: HMAC-SHA256 with a keyed context kept per key (see hmac.h). A context keyed
 * once is re-armed for each message with EVP_MAC_init(ctx, NULL, 0, NULL), which OpenSSL 3
 * documents as reusing the key it was given: no lookup, no allocation, no re-keying. */
#include "common/hmac.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define HMAC_SLOTS 8
#define HMAC_KEY_MAX 128

typedef struct {
    uint8_t key[HMAC_KEY_MAX];
    size_t keylen;
    EVP_MAC_CTX *ctx;
} hmac_slot;

static pthread_once_t hmac__once = PTHREAD_ONCE_INIT;
static EVP_MAC *hmac__alg;
static _Thread_local hmac_slot hmac__slots[HMAC_SLOTS];
static _Thread_local unsigned hmac__next;

static void hmac__fetch(void)
{
    hmac__alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

/* The slot keyed with key, made (evicting round-robin) when missing; NULL if OpenSSL
 * refused, and the caller then falls back to the one-shot call. */
static hmac_slot *hmac__slot(const void *key, size_t keylen)
{
    for (int i = 0; i < HMAC_SLOTS; i++)
        if (hmac__slots[i].ctx && hmac__slots[i].keylen == keylen &&
            memcmp(hmac__slots[i].key, key, keylen) == 0)
            return &hmac__slots[i];
    pthread_once(&hmac__once, hmac__fetch);
    if (!hmac__alg)
        return NULL;
    hmac_slot *s = &hmac__slots[hmac__next++ % HMAC_SLOTS];
    EVP_MAC_CTX_free(s->ctx);
    s->ctx = EVP_MAC_CTX_new(hmac__alg);
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                           OSSL_PARAM_construct_end()};
    if (!s->ctx || !EVP_MAC_init(s->ctx, key, keylen, params)) {
        EVP_MAC_CTX_free(s->ctx);
        s->ctx = NULL;
        return NULL;
    }
    memcpy(s->key, key, keylen);
    s->keylen = keylen;
    return s;
}

void rc_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n, uint8_t out[32])
{
    hmac_slot *s = keylen <= HMAC_KEY_MAX ? hmac__slot(key, keylen) : NULL;
    size_t len = 32;
    if (s && EVP_MAC_init(s->ctx, NULL, 0, NULL) && EVP_MAC_update(s->ctx, data, n) &&
        EVP_MAC_final(s->ctx, out, &len, 32) && len == 32)
        return;
    unsigned int ml = 32; /* a long key, or OpenSSL refused the fast path */
    if (!HMAC(EVP_sha256(), key, (int)keylen, data, n, out, &ml))
        abort();
}
