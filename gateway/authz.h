/* authz.h: asks ROOMCAST_AUTHZ_URL whether a user may join an entity room:
 *   POST {"userId":"u1","role":"buyer","room":"request-42"}  -> 2xx allows, anything else refuses
 * Asynchronous (libevent's HTTP client over kept-alive connections, opened as needed, at
 * most 128: one check at a time on each, so a slow answer holds up only its own).
 *
 * Promises (issue 12 item 6):
 * - A real deadline: every check is answered by timeout_ms after it was asked, whatever
 *   the URL does (or how many checks queue before it): at the deadline the request is
 *   cancelled and the answer is "timeout" (a refusal). A late answer never allows.
 * - A bound on checks in flight on this gateway (max_pending): past it a check is
 *   answered "busy" at once, without a request. The bound per socket is the caller's
 *   (gateway/app.c), since only it knows sockets.
 * - Decisions are cached for cache_seconds, in two caches of at most cache_entries each,
 *   one for allowed and one for denied, each evicting its least recently used entry: a
 *   flood of denials can only evict denials, never an allowed decision. Failures to
 *   answer (timeout, error, busy) are not cached. */
#ifndef GW_AUTHZ_H
#define GW_AUTHZ_H

#include "common/metrics.h"

struct event_base;
typedef struct gw_authz gw_authz;

typedef struct {
    const char *url;    /* http://host:port/path */
    int timeout_ms;     /* ROOMCAST_AUTHZ_TIMEOUT_MS */
    int cache_seconds;  /* ROOMCAST_AUTHZ_CACHE_SECONDS (0: no cache) */
    long cache_entries; /* ROOMCAST_AUTHZ_CACHE_ENTRIES, per cache */
    long max_pending;   /* ROOMCAST_AUTHZ_MAX_PENDING */
} gw_authz_config;

/* allowed is 1 or 0; reason is "allowed", "denied", "timeout", "error" or "busy". */
typedef void (*gw_authz_fn)(void *arg, int allowed, const char *reason);

/* RC_EINVAL with errstr naming ROOMCAST_AUTHZ_URL if the URL is bad. cfg is copied. */
int gw_authz_new(struct event_base *base, const gw_authz_config *cfg, rc_metrics *metrics,
                 gw_authz **out, char *errstr, size_t errlen);
/* Pending checks are answered "error" before it returns. */
void gw_authz_free(gw_authz *a);
/* Decides; fn runs exactly once, possibly before this returns (a cached decision, or
 * "busy"), at the latest timeout_ms after the call. */
void gw_authz_check(gw_authz *a, const char *user_id, const char *role, const char *room,
                    gw_authz_fn fn, void *arg);

#endif
