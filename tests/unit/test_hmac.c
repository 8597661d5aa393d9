/* test_hmac.c: rc_hmac_sha256 (common/hmac.h) gives HMAC-SHA256: RFC 4231's vectors,
 * and OpenSSL's one-shot HMAC() for keys of every length up to past the cached ones,
 * used over and over and in turn (so the kept contexts are re-armed, and evicted). */
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "check.h"
#include "common/hmac.h"

static void hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

int main(void)
{
    uint8_t out[32];
    char h[65];
    /* RFC 4231, test cases 1 and 2 */
    uint8_t k1[20];
    memset(k1, 0x0b, sizeof k1);
    rc_hmac_sha256(k1, sizeof k1, "Hi There", 8, out);
    hex(out, 32, h);
    CHECK_STR(h, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    rc_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, out);
    hex(out, 32, h);
    CHECK_STR(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

    /* against the one-shot call: 8 keys (more than are kept) of growing length, in turn */
    uint8_t keys[8][200], data[300];
    size_t klen[8] = {1, 16, 32, 33, 64, 65, 128, 200};
    for (int k = 0; k < 8; k++)
        for (size_t i = 0; i < sizeof keys[k]; i++)
            keys[k][i] = (uint8_t)(k * 31 + i * 7);
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 13);
    int bad = 0;
    for (int round = 0; round < 50; round++)
        for (int k = 0; k < 8; k++) {
            size_t n = (size_t)(round * 7 + k) % sizeof data;
            uint8_t want[32];
            unsigned int wl = 32;
            HMAC(EVP_sha256(), keys[k], (int)klen[k], data, n, want, &wl);
            rc_hmac_sha256(keys[k], klen[k], data, n, out);
            bad += memcmp(out, want, 32) != 0;
        }
    CHECK_EQ(bad, 0);
    CHECK_DONE();
}
