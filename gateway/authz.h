/* authz.h: asks ROOMCAST_AUTHZ_URL whether a user may join an entity room:
 *   POST {"userId":"u1","role":"buyer","room":"request-42"}  -> 2xx allows, anything else refuses
 * Asynchronous (libevent's HTTP client, a few kept-alive connections), with a short
 * timeout that counts as a refusal. Decisions, both ways, are cached for cache_seconds so
 * a reconnect storm does not become an authorization storm; the cache is bounded. */
#ifndef GW_AUTHZ_H
#define GW_AUTHZ_H

#include "common/metrics.h"

struct event_base;
typedef struct gw_authz gw_authz;

/* allowed is 1 or 0; reason is "allowed", "denied", "timeout" or "error". */
typedef void (*gw_authz_fn)(void *arg, int allowed, const char *reason);

/* url: http://host:port/path. RC_EINVAL with errstr naming ROOMCAST_AUTHZ_URL if bad. */
int gw_authz_new(struct event_base *base, const char *url, int timeout_ms, int cache_seconds,
                 rc_metrics *metrics, gw_authz **out, char *errstr, size_t errlen);
void gw_authz_free(gw_authz *a);
/* Decides; fn runs exactly once, possibly before this returns (a cached decision). */
void gw_authz_check(gw_authz *a, const char *user_id, const char *role, const char *room,
                    gw_authz_fn fn, void *arg);

#endif
