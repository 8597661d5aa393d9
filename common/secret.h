/* secret.h: what roomcast accepts as a shared secret (the HS256 key ROOMCAST_JWT_SECRET,
 * the cluster secret ROOMCAST_CLUSTER_SECRET).
 *
 * A secret is weak when it is shorter than RC_SECRET_MIN_LEN bytes (RFC 7518 §3.2 wants
 * an HS256 key at least as long as the hash) or when it is one of the sample values that
 * roomcast's repository ever published (README, deploy files, scripts, tests, benchmarks):
 * anyone who read the repository could mint admin tokens with those. Which values are
 * samples is fixed here, in one list, and never shrinks. */
#ifndef RC_SECRET_H
#define RC_SECRET_H

#include <stddef.h>

#define RC_SECRET_MIN_LEN 32

/* NULL when secret is acceptable, else why not ("shorter than 32 bytes", "a sample value
 * published in roomcast's repository"). A static string. */
const char *rc_secret_weakness(const char *secret);

/* The gateway's start policy: a weak secret returns RC_EINVAL with one line in errstr
 * naming the setting, unless allow_weak (the development room policy), where it is
 * logged as a warning and accepted. RC_OK otherwise. */
int rc_secret_check(const char *setting, const char *secret, int allow_weak, char *errstr,
                    size_t errlen);

#endif
