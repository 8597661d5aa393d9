/* fuzz_jwks: rc_jwks_parse on arbitrary bytes must never crash, leak or read outside the
 * given length; a parsed set answers rc_jwks_find for every kid it holds, for none, and
 * for a kid it does not hold, without crashing. The seeds (fuzz/corpus/jwks) are sets of
 * RSA and EC keys as identity providers publish them, with keys to skip. */
#include <stddef.h>
#include <stdint.h>

#include "common/jwks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rc_jwks *set = NULL;
    size_t skipped = 0;
    char err[RC_ERRSTR_LEN];
    if (rc_jwks_parse((const char *)data, size, &set, &skipped, err, sizeof err) != RC_OK)
        return 0;
    struct evp_pkey_st *key;
    for (size_t i = 0; i < rc_jwks_count(set); i++) {
        const char *kid = rc_jwks_kid(set, i);
        size_t n = 0;
        while (kid[n])
            n++;
        rc_jwks_find(set, kid, n, RC_JWKS_RS256, &key);
        rc_jwks_find(set, kid, n, RC_JWKS_ES256, &key);
    }
    rc_jwks_find(set, NULL, 0, RC_JWKS_RS256, &key);
    rc_jwks_find(set, "no-such-kid", 11, RC_JWKS_ES256, &key);
    rc_jwks_free(set);
    return 0;
}
