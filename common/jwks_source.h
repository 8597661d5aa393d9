/* jwks_source.h: keeps an identity provider's JWK Set (ROOMCAST_JWT_JWKS_URL) fresh for
 * token verification, on the caller's libevent loop, never blocking it.
 *
 * Fetches: at start; then every refresh_seconds; after a failure again after
 * min_refresh_seconds; and when a token names a kid the set does not have (a key
 * rotation the schedule has not seen yet). Never two at once, and never two starts closer
 * than min_refresh_seconds, however many unknown kids arrive: a flood of made-up kids
 * costs the provider at most one request per min_refresh_seconds.
 *
 * HTTPS only: the server's certificate is verified against ca_file (or the system's
 * CAs) and its name (or IP address) against the URL's host; TLS 1.2 or later; the
 * answer must be 200 with at most RC_JWKS_MAX_BYTES of body, within timeout_ms. A failed
 * fetch or a set that does not parse keeps the keys already loaded (the provider being
 * down must not log everybody out), is counted and logged. Until the first set loads,
 * rc_jwks_source_ready says why not.
 *
 * Metrics (prefix e.g. "roomcast_gateway"): <prefix>_jwks_refreshes_total{result="ok"|
 * "failed"}, <prefix>_jwks_keys, <prefix>_jwks_last_success_timestamp_seconds.
 *
 * Threads: everything runs on the loop's thread; rc_jwks_source_lookup's key is valid
 * until control returns to the loop (a new set replaces the old one only there). */
#ifndef RC_JWKS_SOURCE_H
#define RC_JWKS_SOURCE_H

#include <stddef.h>

#include "common/jwks.h"
#include "common/metrics.h"

struct event_base;
typedef struct rc_jwks_source rc_jwks_source;

typedef struct {
    const char *url;          /* https://host[:port]/path */
    const char *ca_file;      /* PEM CAs; NULL: the system's */
    long refresh_seconds;     /* the schedule */
    long min_refresh_seconds; /* least time between two fetches */
    long timeout_ms;          /* one fetch, connect to last byte */
} rc_jwks_config;

/* Whether url is one this module fetches: https, a host, an optional port. 0, or
 * RC_EINVAL with a line naming ROOMCAST_JWT_JWKS_URL in errstr. */
int rc_jwks_url_check(const char *url, char *errstr, size_t errlen);

/* Starts fetching on base. Strings in cfg are copied. RC_EINVAL with errstr (a bad URL,
 * a CA file OpenSSL cannot load, no DNS configuration). */
int rc_jwks_source_new(struct event_base *base, const rc_jwks_config *cfg, rc_metrics *reg,
                       const char *metric_prefix, rc_jwks_source **out, char *errstr,
                       size_t errlen);
/* Cancels a fetch in flight and frees everything; on the loop's thread. NULL ignored. */
void rc_jwks_source_free(rc_jwks_source *s);

/* An rc_token_key_lookup (common/token.h) over the current set; ctx is the source. An
 * unknown kid asks for a fetch (see above); a kid of the other algorithm does not. */
struct evp_pkey_st *rc_jwks_source_lookup(void *ctx, const char *kid, size_t kidlen,
                                          const char *alg);

/* 0 once a set has loaded; otherwise -1 with reason, e.g.
 *   JWKS not loaded yet from https://idp/jwks: certificate verify failed */
int rc_jwks_source_ready(const rc_jwks_source *s, char *reason, size_t len);

#endif
