/* sid.c: session ids naming owner and issue time (see sid.h). */
#include "gateway/sid.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "common/b64url.h"
#include "common/hmac.h"
#include "common/rc.h"

#define SID_RANDOM 9
#define SID_ISSUED 4
#define SID_TAG 8
#define SID_MAX (SID_RANDOM + SID_ISSUED + GW_SID_OWNER_MAX + SID_TAG)

static void sid_tag(const uint8_t key[32], const uint8_t *body, size_t n, uint8_t tag[SID_TAG])
{
    uint8_t mac[32];
    rc_hmac_sha256(key, 32, body, n, mac);
    memcpy(tag, mac, SID_TAG);
}

void gw_sid_new(const uint8_t key[32], const char *owner, int64_t now_s, char out[GW_SID_LEN])
{
    uint8_t b[SID_MAX];
    size_t ol = strlen(owner);
    if (ol > GW_SID_OWNER_MAX)
        ol = GW_SID_OWNER_MAX;
    if (RAND_bytes(b, SID_RANDOM) != 1)
        abort();
    uint32_t t = (uint32_t)now_s;
    b[SID_RANDOM] = (uint8_t)(t >> 24);
    b[SID_RANDOM + 1] = (uint8_t)(t >> 16);
    b[SID_RANDOM + 2] = (uint8_t)(t >> 8);
    b[SID_RANDOM + 3] = (uint8_t)t;
    memcpy(b + SID_RANDOM + SID_ISSUED, owner, ol);
    size_t n = SID_RANDOM + SID_ISSUED + ol;
    sid_tag(key, b, n, b + n);
    n += SID_TAG;
    _Static_assert((SID_MAX + 2) / 3 * 4 + 1 <= GW_SID_LEN, "ids fit in GW_SID_LEN");
    *rc_b64url_encode(b, n, out) = '\0';
}

int gw_sid_parse(const uint8_t key[32], const char *sid, size_t len, gw_sid_info *info)
{
    uint8_t b[SID_MAX + 3];
    if (len > (size_t)SID_MAX * 4 / 3 + 2)
        return RC_EINVAL;
    long n = rc_b64url_decode(sid, len, b);
    if (n < SID_RANDOM + SID_ISSUED + 3 + SID_TAG) /* an owner is at least "h:1" */
        return RC_EINVAL;
    uint8_t tag[SID_TAG];
    sid_tag(key, b, (size_t)n - SID_TAG, tag);
    if (CRYPTO_memcmp(tag, b + n - SID_TAG, SID_TAG) != 0)
        return RC_EINVAL;
    size_t ol = (size_t)n - SID_TAG - SID_RANDOM - SID_ISSUED;
    if (ol > GW_SID_OWNER_MAX)
        return RC_EINVAL;
    const uint8_t *t = b + SID_RANDOM;
    info->issued_s = (int64_t)((uint32_t)t[0] << 24 | (uint32_t)t[1] << 16 |
                               (uint32_t)t[2] << 8 | t[3]);
    memcpy(info->owner, b + SID_RANDOM + SID_ISSUED, ol);
    info->owner[ol] = '\0';
    return 0;
}
