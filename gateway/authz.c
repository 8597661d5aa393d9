/* authz.c: the room-join authorization callout (see authz.h).
 *
 * Invariants: a pending check is answered exactly once, by its response, its deadline
 * timer or gw_authz_free, whichever comes first; the others are then disarmed (the timer
 * deleted, or the request cancelled, which libevent promises never to call back). A
 * decision lives in at most one of the two caches. */
#include "gateway/authz.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>

#include "common/alloc.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/map.h"

/* Connections to the URL are opened as checks need them, up to this many: one check per
 * connection at a time (HTTP/1.1 without pipelining), so a slow answer holds up only its
 * own check while connections remain. */
#define GW_AUTHZ_CONNS 128

/* ---- decision caches: a map for lookups, a list for recency ------------------------------ */

typedef struct gw__decision {
    char *key;
    int64_t expires_us;
    TAILQ_ENTRY(gw__decision) lru; /* most recently used first */
} gw__decision;

typedef struct {
    rc_map *map;
    TAILQ_HEAD(gw__lru_head, gw__decision) lru;
    long max;
    rc_counter *evictions;
    rc_gauge *entries;
} gw__cache;

static void gw__cache_init(gw__cache *c, long max, rc_counter_family *ev, rc_gauge_family *en,
                           const char *name)
{
    c->map = rc_map_new();
    TAILQ_INIT(&c->lru);
    c->max = max;
    c->evictions = rc_counter_get(ev, name);
    c->entries = rc_gauge_get(en, name);
}

static void gw__cache_remove(gw__cache *c, gw__decision *d)
{
    rc_map_del(c->map, d->key, strlen(d->key));
    TAILQ_REMOVE(&c->lru, d, lru);
    rc_free(d->key);
    rc_free(d);
    rc_gauge_dec(c->entries);
}

/* The live decision for key, made most recent; expired ones go. */
static gw__decision *gw__cache_get(gw__cache *c, const char *key, int64_t now_us)
{
    gw__decision *d = rc_map_get(c->map, key, strlen(key));
    if (d && d->expires_us <= now_us) {
        gw__cache_remove(c, d);
        d = NULL;
    }
    if (d) {
        TAILQ_REMOVE(&c->lru, d, lru);
        TAILQ_INSERT_HEAD(&c->lru, d, lru);
    }
    return d;
}

static void gw__cache_put(gw__cache *c, const char *key, int64_t expires_us)
{
    gw__decision *d = rc_map_get(c->map, key, strlen(key));
    if (d) {
        TAILQ_REMOVE(&c->lru, d, lru);
    } else {
        if (rc_map_size(c->map) >= (size_t)c->max) { /* full: the least recently used goes */
            gw__cache_remove(c, TAILQ_LAST(&c->lru, gw__lru_head));
            rc_counter_inc(c->evictions);
        }
        d = rc_calloc(1, sizeof *d);
        d->key = rc_strdup(key);
        rc_map_put(c->map, d->key, strlen(d->key), d);
        rc_gauge_inc(c->entries);
    }
    d->expires_us = expires_us;
    TAILQ_INSERT_HEAD(&c->lru, d, lru);
}

static void gw__cache_drop(gw__cache *c, const char *key)
{
    gw__decision *d = rc_map_get(c->map, key, strlen(key));
    if (d)
        gw__cache_remove(c, d);
}

static void gw__cache_free(gw__cache *c)
{
    gw__decision *d;
    while ((d = TAILQ_FIRST(&c->lru)))
        gw__cache_remove(c, d);
    rc_map_free(c->map);
}

/* ---- checks ------------------------------------------------------------------------------------ */

typedef struct gw__pending {
    struct gw_authz *a;
    char *key;
    gw_authz_fn fn;
    void *arg;
    int64_t started_us;
    struct evhttp_request *req;
    struct event *deadline;
    int conn;
    LIST_ENTRY(gw__pending) link;
} gw__pending;

struct gw_authz {
    struct event_base *base;
    gw_authz_config cfg;
    struct evhttp_uri *uri;
    char *path;
    struct evhttp_connection *conns[GW_AUTHZ_CONNS];
    int inflight[GW_AUTHZ_CONNS];
    int nconns;
    gw__cache allowed_cache, denied_cache;
    LIST_HEAD(, gw__pending) pending;
    long npending;
    rc_counter *allowed, *denied, *timeout, *error, *cached, *busy;
    rc_gauge *pending_gauge;
    rc_histogram *latency;
};

/* Answers p, unlinks and frees it. The caller has disarmed the other ways of answering. */
static void gw__authz_finish(gw__pending *p, int allowed, const char *reason)
{
    gw_authz *a = p->a;
    LIST_REMOVE(p, link);
    a->npending--;
    a->inflight[p->conn]--;
    rc_gauge_dec(a->pending_gauge);
    event_free(p->deadline);
    rc_histogram_observe(a->latency, (double)(rc_now_us() - p->started_us) / 1e6);
    if (!allowed)
        rc_log_limited(RC_LOG_INFO, "room join refused by the authorization URL", "{s:s,s:s}",
                       "key", p->key, "reason", reason);
    p->fn(p->arg, allowed, reason);
    rc_free(p->key);
    rc_free(p);
}

static void gw__authz_remember(gw_authz *a, const char *key, int allowed)
{
    if (a->cfg.cache_seconds <= 0)
        return;
    int64_t until = rc_now_us() + (int64_t)a->cfg.cache_seconds * 1000000;
    gw__cache_drop(allowed ? &a->denied_cache : &a->allowed_cache, key);
    gw__cache_put(allowed ? &a->allowed_cache : &a->denied_cache, key, until);
}

static void gw__authz_done(struct evhttp_request *req, void *arg)
{
    gw__pending *p = arg;
    gw_authz *a = p->a;
    int code = req ? evhttp_request_get_response_code(req) : 0;
    int allowed = code >= 200 && code < 300;
    const char *reason = !req ? "timeout" : !code ? "error" : allowed ? "allowed" : "denied";
    rc_counter_inc(!req ? a->timeout : !code ? a->error : allowed ? a->allowed : a->denied);
    if (code)
        gw__authz_remember(a, p->key, allowed); /* failures to answer are not remembered */
    p->req = NULL; /* libevent frees it after this callback */
    gw__authz_finish(p, allowed, reason);
}

/* The deadline: whatever the URL or the queue before it does, the check is refused now. */
static void gw__authz_deadline(evutil_socket_t fd, short what, void *arg)
{
    gw__pending *p = arg;
    if (p->req)
        evhttp_cancel_request(p->req); /* frees it; gw__authz_done will not run */
    p->req = NULL;
    rc_counter_inc(p->a->timeout);
    gw__authz_finish(p, 0, "timeout");
}

static struct evhttp_connection *gw__authz_conn_new(gw_authz *a)
{
    int port = evhttp_uri_get_port(a->uri);
    struct evhttp_connection *conn = evhttp_connection_base_new(
        a->base, NULL, evhttp_uri_get_host(a->uri), (unsigned short)(port > 0 ? port : 80));
    /* a backstop only: the deadline timer answers first */
    struct timeval tv = {a->cfg.timeout_ms / 1000 + 1, (a->cfg.timeout_ms % 1000) * 1000};
    evhttp_connection_set_timeout_tv(conn, &tv);
    evhttp_connection_set_retries(conn, 0);
    return conn;
}

/* An idle connection, a new one while there are fewer than GW_AUTHZ_CONNS, else the one
 * with the fewest checks queued on it. */
static int gw__authz_pick(gw_authz *a)
{
    int best = 0;
    for (int i = 0; i < a->nconns; i++) {
        if (a->inflight[i] == 0)
            return i;
        if (a->inflight[i] < a->inflight[best])
            best = i;
    }
    if (a->nconns < GW_AUTHZ_CONNS) {
        a->conns[a->nconns] = gw__authz_conn_new(a);
        return a->nconns++;
    }
    return best;
}

static void gw__authz_send(gw_authz *a, gw__pending *p)
{
    p->req = evhttp_request_new(gw__authz_done, p);
    struct evkeyvalq *h = evhttp_request_get_output_headers(p->req);
    evhttp_add_header(h, "Host", evhttp_uri_get_host(a->uri));
    evhttp_add_header(h, "Content-Type", "application/json");
    evbuffer_add(evhttp_request_get_output_buffer(p->req), p->key, strlen(p->key));
    struct timeval tv = {a->cfg.timeout_ms / 1000, (a->cfg.timeout_ms % 1000) * 1000};
    p->deadline = evtimer_new(a->base, gw__authz_deadline, p);
    evtimer_add(p->deadline, &tv);
    if (evhttp_make_request(a->conns[p->conn], p->req, EVHTTP_REQ_POST, a->path) != 0) {
        p->req = NULL; /* libevent freed it and will not call back */
        rc_counter_inc(a->error);
        gw__authz_finish(p, 0, "error");
    }
}

void gw_authz_check(gw_authz *a, const char *user_id, const char *role, const char *room,
                    gw_authz_fn fn, void *arg)
{
    json_t *body = json_pack("{s:s,s:s,s:s}", "userId", user_id, "role", role, "room", room);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    int64_t now = rc_now_us();
    int allowed = gw__cache_get(&a->allowed_cache, text, now) != NULL;
    if (allowed || gw__cache_get(&a->denied_cache, text, now)) {
        rc_counter_inc(a->cached);
        free(text);
        fn(arg, allowed, allowed ? "allowed" : "denied");
        return;
    }
    if (a->npending >= a->cfg.max_pending) {
        rc_counter_inc(a->busy);
        rc_log_limited(RC_LOG_WARN, "authorization check refused: too many in flight", "{s:I}",
                       "max", (json_int_t)a->cfg.max_pending);
        free(text);
        fn(arg, 0, "busy");
        return;
    }
    gw__pending *p = rc_calloc(1, sizeof *p);
    p->a = a;
    p->key = rc_strdup(text);
    free(text);
    p->fn = fn;
    p->arg = arg;
    p->started_us = now;
    p->conn = gw__authz_pick(a);
    a->inflight[p->conn]++;
    a->npending++;
    rc_gauge_inc(a->pending_gauge);
    LIST_INSERT_HEAD(&a->pending, p, link);
    gw__authz_send(a, p);
}

/* ---- life ---------------------------------------------------------------------------------------- */

static int gw__authz_parse(gw_authz *a, const char *url, char *errstr, size_t errlen)
{
    struct evhttp_uri *uri = evhttp_uri_parse(url);
    if (!uri || !evhttp_uri_get_host(uri) || !evhttp_uri_get_scheme(uri) ||
        strcmp(evhttp_uri_get_scheme(uri), "http") != 0) {
        snprintf(errstr, errlen, "ROOMCAST_AUTHZ_URL: \"%s\" is not an http://host[:port]/path URL",
                 url);
        if (uri)
            evhttp_uri_free(uri);
        return RC_EINVAL;
    }
    a->uri = uri;
    const char *path = evhttp_uri_get_path(uri);
    const char *query = evhttp_uri_get_query(uri);
    size_t plen = strlen(path && *path ? path : "/") + (query ? strlen(query) + 1 : 0) + 1;
    a->path = rc_malloc(plen);
    snprintf(a->path, plen, "%s%s%s", path && *path ? path : "/", query ? "?" : "",
             query ? query : "");
    return RC_OK;
}

static void gw__authz_metrics(gw_authz *a, rc_metrics *metrics)
{
    rc_counter_family *f = rc_counter_family_new(
        metrics, "roomcast_gateway_authz_decisions_total",
        "Room-join decisions of the authorization URL, by result (busy: refused at "
        "ROOMCAST_AUTHZ_MAX_PENDING without asking)", "result");
    a->allowed = rc_counter_get(f, "allowed");
    a->denied = rc_counter_get(f, "denied");
    a->timeout = rc_counter_get(f, "timeout");
    a->error = rc_counter_get(f, "error");
    a->cached = rc_counter_get(f, "cached");
    a->busy = rc_counter_get(f, "busy");
    a->pending_gauge = rc_gauge_new(metrics, "roomcast_gateway_authz_pending",
                                    "Authorization checks in flight");
    a->latency = rc_histogram_new(metrics, "roomcast_gateway_authz_seconds",
                                  "Time the authorization URL took to answer", NULL, 0);
    rc_counter_family *ev = rc_counter_family_new(
        metrics, "roomcast_gateway_authz_cache_evictions_total",
        "Decisions evicted from a full cache (least recently used), by cache", "cache");
    rc_gauge_family *en = rc_gauge_family_new(metrics, "roomcast_gateway_authz_cache_entries",
                                              "Decisions cached, by cache", "cache");
    gw__cache_init(&a->allowed_cache, a->cfg.cache_entries, ev, en, "allowed");
    gw__cache_init(&a->denied_cache, a->cfg.cache_entries, ev, en, "denied");
}

int gw_authz_new(struct event_base *base, const gw_authz_config *cfg, rc_metrics *metrics,
                 gw_authz **out, char *errstr, size_t errlen)
{
    gw_authz *a = rc_calloc(1, sizeof *a);
    if (gw__authz_parse(a, cfg->url, errstr, errlen) != RC_OK) {
        rc_free(a);
        return RC_EINVAL;
    }
    a->base = base;
    a->cfg = *cfg;
    a->cfg.url = NULL; /* not kept: the caller's string */
    LIST_INIT(&a->pending);
    gw__authz_metrics(a, metrics);
    *out = a;
    return RC_OK;
}

void gw_authz_free(gw_authz *a)
{
    if (!a)
        return;
    gw__pending *p;
    while ((p = LIST_FIRST(&a->pending))) {
        if (p->req)
            evhttp_cancel_request(p->req);
        p->req = NULL;
        gw__authz_finish(p, 0, "error");
    }
    for (int i = 0; i < a->nconns; i++)
        evhttp_connection_free(a->conns[i]);
    gw__cache_free(&a->allowed_cache);
    gw__cache_free(&a->denied_cache);
    evhttp_uri_free(a->uri);
    rc_free(a->path);
    rc_free(a);
}
