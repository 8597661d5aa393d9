/* admin.h: the operators' HTTP endpoint (ROOMCAST_ADMIN_LISTEN) on libevent's evhttp:
 *
 *   GET /metrics  200, text/plain; version=0.0.4; charset=utf-8, the registry's rendering
 *   GET /healthz  200 {"status":"ok"}: the event loop is turning (liveness)
 *   GET /readyz   200 {"status":"ready"}, or 503 {"status":"not ready","reason":"..."}
 *                 when the service's readiness callback says so (draining, Kafka never
 *                 reached)
 * Both bodies carry the service's detail when it gives one (rc_admin_set_detail), e.g.
 * the gateway's {"kafka":{"up":false,"reason":"..."}}: what is degraded without making
 * the process unready or dead.
 *   other paths   404; methods other than GET and HEAD get 405 on every path.
 *
 * Readiness is also a metric: roomcast_ready (1/0, the last answer) and
 * roomcast_readiness_changes_total (the answer changed between two /readyz probes or
 * scrapes), registered in reg once the listener is up, so flapping shows in Prometheus.
 *
 * Query strings are ignored when matching paths. HEAD answers as GET without the body.
 * Everything here runs on the thread running the event base given to rc_admin_start.
 *
 * Ownership: the admin server borrows base, reg and the readiness context; they must
 * outlive it. rc_admin_free closes the listener and any open admin connections. */
#ifndef RC_ADMIN_H
#define RC_ADMIN_H

#include <stddef.h>

#include "common/config.h"
#include "common/metrics.h"

struct event_base;
struct evhttp_request;

typedef struct rc_admin rc_admin;

/* Returns 0 when the service is ready to take traffic; otherwise a negative code, with
 * one short sentence in reason (len bytes, NUL-terminated) saying why not. */
typedef int (*rc_admin_ready_fn)(void *ctx, char *reason, size_t len);

/* Adds the service's detail to the object body (a JSON object) of /healthz and /readyz:
 * jansson's json_t, left opaque here so that this header needs no jansson. */
typedef void (*rc_admin_detail_fn)(void *ctx, void *body);

/* Answers one request, e.g. with rc_admin_reply. Only GET and HEAD reach it. */
typedef void (*rc_admin_handler_fn)(struct evhttp_request *req, void *ctx);

/* Binds addr (port 0 picks a free port, see rc_admin_port) and serves on base. ready may
 * be NULL for "always ready". On failure returns RC_EIO with errstr set, e.g.
 *   ROOMCAST_ADMIN_LISTEN 127.0.0.1:9100: Address already in use
 * and *out is left untouched. */
int rc_admin_start(struct event_base *base, const rc_addr *addr, rc_metrics *reg,
                   rc_admin_ready_fn ready, void *ctx, rc_admin **out, char *errstr,
                   size_t errlen);

/* Sets the detail callback (NULL: none); ctx is borrowed and must outlive admin. */
void rc_admin_set_detail(rc_admin *admin, rc_admin_detail_fn fn, void *ctx);

/* The port actually bound. */
int rc_admin_port(const rc_admin *admin);

/* Serves path with cb as well (e.g. a demo page). A path ending in '/' also serves every
 * path under it. The built-in paths cannot be replaced. Returns 0, or RC_EINVAL for a
 * path already served or not starting with '/'. path is copied. */
int rc_admin_handle(rc_admin *admin, const char *path, rc_admin_handler_fn cb, void *ctx);

/* Answers req with code and body (copied), Content-Type ctype; for a HEAD request the
 * same headers and no body. For handlers given to rc_admin_handle. */
void rc_admin_reply(struct evhttp_request *req, int code, const char *reason,
                    const char *ctype, const void *body, size_t len);

/* Closes the listener and connections and frees admin. Call on base's thread, or after
 * its loop has stopped. NULL is ignored. */
void rc_admin_free(rc_admin *admin);

#endif
