/* secret.c: weak-secret detection (see secret.h). */
#include "common/secret.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/rc.h"

/* Every secret-like value roomcast's repository ever shipped, in any file. Some are
 * shorter than the minimum already; they are listed all the same, so the list says
 * which values are public whatever the minimum becomes. Only appended to. */
static const char *const rc_secret__samples[] = {
    "change-me-to-a-long-random-key",             /* deploy/k8s/secret.yaml */
    "integration-test-secret-0123456789",         /* tests/integration/lib/harness.mjs */
    "roomcast-benchmark-secret-0123456789abcdef", /* bench/systems.mjs */
    "a-test-secret-of-at-least-32-bytes!!",       /* tests/unit/test_token.c */
    "another-secret-of-at-least-32-bytes",        /* tests/unit/test_token.c */
    "fuzz-secret-fuzz-secret-fuzz-secret!",       /* fuzz/fuzz_token.c */
    "another-secret",
    "cluster secret",
    "another secret",
    "fuzz",
};

const char *rc_secret_weakness(const char *secret)
{
    for (size_t i = 0; i < RC_ARRAY_LEN(rc_secret__samples); i++)
        if (!strcmp(secret, rc_secret__samples[i]))
            return "a sample value published in roomcast's repository";
    if (strlen(secret) < RC_SECRET_MIN_LEN)
        return "shorter than 32 bytes";
    return NULL;
}

int rc_secret_check(const char *setting, const char *secret, int allow_weak, char *errstr,
                    size_t errlen)
{
    const char *why = rc_secret_weakness(secret);
    if (!why)
        return RC_OK;
    if (!allow_weak) {
        snprintf(errstr, errlen, "%s: refused, %s (use 32 or more random bytes, e.g. "
                 "`openssl rand -hex 32`; ROOMCAST_ROOM_POLICY=open accepts it for development)",
                 setting, why);
        return RC_EINVAL;
    }
    rc_log_warn("weak secret accepted under ROOMCAST_ROOM_POLICY=open (development only)",
                "{s:s,s:s}", "setting", setting, "why", why);
    return RC_OK;
}
