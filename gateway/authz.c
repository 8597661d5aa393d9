/* authz.c: the room-join authorization callout (see authz.h). */
#include "gateway/authz.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/map.h"

#define GW_AUTHZ_CONNS 4
#define GW_AUTHZ_CACHE_MAX 20000

typedef struct {
    char *key;
    int allowed;
    int64_t expires_us;
} gw__decision;

struct gw_authz {
    struct event_base *base;
    struct evhttp_uri *uri;
    char *path;
    struct evhttp_connection *conns[GW_AUTHZ_CONNS];
    unsigned next;
    int cache_seconds;
    rc_map *cache;
    rc_counter *allowed, *denied, *timeout, *error, *cached;
    rc_histogram *latency;
};

typedef struct {
    gw_authz *a;
    char *key;
    gw_authz_fn fn;
    void *arg;
    int64_t started_us;
} gw__pending;

int gw_authz_new(struct event_base *base, const char *url, int timeout_ms, int cache_seconds,
                 rc_metrics *metrics, gw_authz **out, char *errstr, size_t errlen)
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
    gw_authz *a = rc_calloc(1, sizeof *a);
    a->base = base;
    a->uri = uri;
    const char *path = evhttp_uri_get_path(uri);
    const char *query = evhttp_uri_get_query(uri);
    size_t plen = strlen(path && *path ? path : "/") + (query ? strlen(query) + 1 : 0) + 1;
    a->path = rc_malloc(plen);
    snprintf(a->path, plen, "%s%s%s", path && *path ? path : "/", query ? "?" : "",
             query ? query : "");
    int port = evhttp_uri_get_port(uri);
    for (int i = 0; i < GW_AUTHZ_CONNS; i++) {
        a->conns[i] = evhttp_connection_base_new(base, NULL, evhttp_uri_get_host(uri),
                                                 (unsigned short)(port > 0 ? port : 80));
        struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        evhttp_connection_set_timeout_tv(a->conns[i], &tv);
        evhttp_connection_set_retries(a->conns[i], 0);
    }
    a->cache_seconds = cache_seconds;
    a->cache = rc_map_new();
    rc_counter_family *f = rc_counter_family_new(
        metrics, "roomcast_gateway_authz_decisions_total",
        "Room-join decisions of the authorization URL, by result", "result");
    a->allowed = rc_counter_get(f, "allowed");
    a->denied = rc_counter_get(f, "denied");
    a->timeout = rc_counter_get(f, "timeout");
    a->error = rc_counter_get(f, "error");
    a->cached = rc_counter_get(f, "cached");
    a->latency = rc_histogram_new(metrics, "roomcast_gateway_authz_seconds",
                                  "Time the authorization URL took to answer", NULL, 0);
    *out = a;
    return RC_OK;
}

static void gw__cache_free_cb(const char *key, size_t len, void *value, void *ctx)
{
    gw__decision *d = value;
    rc_free(d->key);
    rc_free(d);
}

static void gw__authz_remember(gw_authz *a, const char *key, int allowed)
{
    if (a->cache_seconds <= 0)
        return;
    if (rc_map_size(a->cache) >= GW_AUTHZ_CACHE_MAX) { /* bounded: start afresh */
        rc_map_each(a->cache, gw__cache_free_cb, NULL);
        rc_map_free(a->cache);
        a->cache = rc_map_new();
    }
    gw__decision *d = rc_map_get(a->cache, key, strlen(key));
    if (!d) {
        d = rc_calloc(1, sizeof *d);
        d->key = rc_strdup(key);
        rc_map_put(a->cache, d->key, strlen(d->key), d);
    }
    d->allowed = allowed;
    d->expires_us = rc_now_us() + (int64_t)a->cache_seconds * 1000000;
}

static void gw__authz_done(struct evhttp_request *req, void *arg)
{
    gw__pending *p = arg;
    gw_authz *a = p->a;
    int allowed = 0;
    const char *reason;
    if (!req) {
        reason = "timeout";
        rc_counter_inc(a->timeout);
    } else {
        int code = evhttp_request_get_response_code(req);
        if (code == 0) {
            reason = "error";
            rc_counter_inc(a->error);
        } else if (code >= 200 && code < 300) {
            allowed = 1;
            reason = "allowed";
            rc_counter_inc(a->allowed);
        } else {
            reason = "denied";
            rc_counter_inc(a->denied);
        }
        if (code)
            gw__authz_remember(a, p->key, allowed); /* failures to answer are not remembered */
    }
    rc_histogram_observe(a->latency, (double)(rc_now_us() - p->started_us) / 1e6);
    if (!allowed)
        rc_log_limited(RC_LOG_INFO, "room join refused by the authorization URL", "{s:s,s:s}",
                       "key", p->key, "reason", reason);
    p->fn(p->arg, allowed, reason);
    rc_free(p->key);
    rc_free(p);
}

void gw_authz_check(gw_authz *a, const char *user_id, const char *role, const char *room,
                    gw_authz_fn fn, void *arg)
{
    json_t *body = json_pack("{s:s,s:s,s:s}", "userId", user_id, "role", role, "room", room);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    gw__decision *d = rc_map_get(a->cache, text, strlen(text));
    if (d && d->expires_us > rc_now_us()) {
        rc_counter_inc(a->cached);
        free(text);
        fn(arg, d->allowed, d->allowed ? "allowed" : "denied");
        return;
    }
    gw__pending *p = rc_calloc(1, sizeof *p);
    p->a = a;
    p->key = rc_strdup(text);
    p->fn = fn;
    p->arg = arg;
    p->started_us = rc_now_us();
    struct evhttp_request *req = evhttp_request_new(gw__authz_done, p);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", evhttp_uri_get_host(a->uri));
    evhttp_add_header(h, "Content-Type", "application/json");
    evbuffer_add(evhttp_request_get_output_buffer(req), text, strlen(text));
    free(text);
    struct evhttp_connection *conn = a->conns[a->next++ % GW_AUTHZ_CONNS];
    if (evhttp_make_request(conn, req, EVHTTP_REQ_POST, a->path) != 0) {
        /* libevent freed req and will not call back */
        rc_counter_inc(a->error);
        fn(arg, 0, "error");
        rc_free(p->key);
        rc_free(p);
    }
}

void gw_authz_free(gw_authz *a)
{
    if (!a)
        return;
    for (int i = 0; i < GW_AUTHZ_CONNS; i++)
        evhttp_connection_free(a->conns[i]);
    rc_map_each(a->cache, gw__cache_free_cb, NULL);
    rc_map_free(a->cache);
    evhttp_uri_free(a->uri);
    rc_free(a->path);
    rc_free(a);
}
