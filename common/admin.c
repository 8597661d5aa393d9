/* admin.c: /metrics, /healthz, /readyz and extra handlers on evhttp (see admin.h).
 *
 * The listening socket is made here rather than by evhttp_bind_socket so that a failed
 * bind reports the real errno ("Address already in use") in errstr. evhttp is told to
 * accept every method, and the one request callback answers 405 itself, so every path
 * behaves alike instead of evhttp's own 501 for the methods it was not told about. */
#include "common/admin.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/listen.h"
#include "common/log.h"

#define ADMIN__ENV "ROOMCAST_ADMIN_LISTEN"
#define ADMIN__METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define ADMIN__JSON_TYPE "application/json"
#define ADMIN__TEXT_TYPE "text/plain; charset=utf-8"

typedef struct {
    char *path;
    rc_admin_handler_fn cb;
    void *ctx;
} admin__route;

struct rc_admin {
    struct evhttp *http;
    rc_metrics *reg;
    rc_admin_ready_fn ready;
    void *ready_ctx;
    rc_gauge *ready_now;          /* roomcast_ready: the last answer, 1 or 0 */
    rc_counter *ready_changes;    /* roomcast_readiness_changes_total */
    int last_ready;               /* -1 before the first answer */
    rc_admin_detail_fn detail;    /* adds the service's detail to /healthz and /readyz */
    void *detail_ctx;
    int port;
    admin__route *routes;
    size_t nroutes;
};

/* evhttp 2.1 writes a HEAD response's body like any other, so a HEAD answer keeps the
 * headers of its GET (Content-Length included) and drops the bytes here. */
static void admin__send(struct evhttp_request *req, int code, const char *reason,
                        const char *ctype, struct evbuffer *body)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", ctype);
    evhttp_add_header(h, "Cache-Control", "no-store");
    if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        char len[24];
        snprintf(len, sizeof len, "%zu", evbuffer_get_length(body));
        evhttp_add_header(h, "Content-Length", len);
        evbuffer_drain(body, evbuffer_get_length(body));
    }
    evhttp_send_reply(req, code, reason, body);
}

void rc_admin_reply(struct evhttp_request *req, int code, const char *reason,
                    const char *ctype, const void *body, size_t len)
{
    struct evbuffer *buf = evbuffer_new();
    evbuffer_add(buf, body, len);
    admin__send(req, code, reason, ctype, buf);
    evbuffer_free(buf);
}

static void admin__free_rendering(const void *data, size_t len, void *arg)
{
    rc_free((void *)data);
}

/* The rendering is handed to the output buffer by reference, not copied: it is the
 * largest thing the admin server sends and is freed once written. */
/* Asks the service whether it is ready and records the answer: the gauge, and a change
 * from the previous answer (what a balancer probing /readyz sees flap). */
static int admin__ready(rc_admin *admin, char *reason, size_t len)
{
    int rc = admin->ready ? admin->ready(admin->ready_ctx, reason, len) : 0;
    int ready = rc == 0;
    if (admin->last_ready >= 0 && admin->last_ready != ready)
        rc_counter_inc(admin->ready_changes);
    admin->last_ready = ready;
    rc_gauge_set(admin->ready_now, ready);
    return rc;
}

static void admin__metrics(struct evhttp_request *req, void *ctx)
{
    rc_admin *admin = ctx;
    char reason[RC_ERRSTR_LEN];
    admin__ready(admin, reason, sizeof reason);
    size_t len;
    char *text = rc_metrics_render(admin->reg, &len);
    struct evbuffer *buf = evbuffer_new();
    if (evbuffer_add_reference(buf, text, len, admin__free_rendering, NULL) != 0)
        rc_free(text); /* only on an allocation failure; the reply is then empty */
    admin__send(req, HTTP_OK, "OK", ADMIN__METRICS_TYPE, buf);
    evbuffer_free(buf);
}

/* Sends j, with the service's detail added, as the JSON answer; frees j. jansson
 * refuses text that is not UTF-8 (a reason taken from elsewhere): then the answer
 * without that text is better than none. */
static void admin__reply_json(rc_admin *admin, struct evhttp_request *req, int code,
                              const char *reason, json_t *j, const char *fallback)
{
    if (j && admin->detail)
        admin->detail(admin->detail_ctx, j);
    char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (body)
        rc_admin_reply(req, code, reason, ADMIN__JSON_TYPE, body, strlen(body));
    else
        rc_admin_reply(req, code, reason, ADMIN__JSON_TYPE, fallback, strlen(fallback));
    free(body);
    json_decref(j);
}

/* Answering at all is the proof of liveness: this runs on the event loop's thread. */
static void admin__healthz(struct evhttp_request *req, void *ctx)
{
    admin__reply_json(ctx, req, HTTP_OK, "OK", json_pack("{s:s}", "status", "ok"),
                      "{\"status\":\"ok\"}");
}

static void admin__readyz(struct evhttp_request *req, void *ctx)
{
    rc_admin *admin = ctx;
    char reason[RC_ERRSTR_LEN] = "";
    int rc = admin__ready(admin, reason, sizeof reason);
    reason[sizeof reason - 1] = '\0';
    if (rc == 0) {
        admin__reply_json(admin, req, HTTP_OK, "OK", json_pack("{s:s}", "status", "ready"),
                          "{\"status\":\"ready\"}");
        return;
    }
    json_t *j = json_pack("{s:s,s:s}", "status", "not ready", "reason",
                          reason[0] ? reason : "not ready");
    if (!j)
        j = json_pack("{s:s,s:s}", "status", "not ready", "reason", "not ready");
    admin__reply_json(admin, req, 503, "Service Unavailable", j,
                      "{\"status\":\"not ready\",\"reason\":\"not ready\"}");
}

/* An exact match wins; otherwise the longest registered prefix ending in '/'. */
static const admin__route *admin__find(const rc_admin *admin, const char *path)
{
    const admin__route *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < admin->nroutes; i++) {
        const admin__route *r = &admin->routes[i];
        size_t n = strlen(r->path);
        if (strcmp(r->path, path) == 0)
            return r;
        if (r->path[n - 1] == '/' && strncmp(r->path, path, n) == 0 && n > best_len) {
            best = r;
            best_len = n;
        }
    }
    return best;
}

static void admin__request(struct evhttp_request *req, void *arg)
{
    rc_admin *admin = arg;
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        rc_admin_reply(req, 405, "Method Not Allowed", ADMIN__TEXT_TYPE,
                     "method not allowed\n", 19);
        return;
    }
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const admin__route *route = admin__find(admin, path && *path ? path : "/");
    if (!route) {
        rc_admin_reply(req, HTTP_NOTFOUND, "Not Found", ADMIN__TEXT_TYPE, "not found\n", 10);
        return;
    }
    route->cb(req, route->ctx);
}

static void admin__add_route(rc_admin *admin, const char *path, rc_admin_handler_fn cb,
                             void *ctx)
{
    admin->routes = rc_realloc(admin->routes, (admin->nroutes + 1) * sizeof *admin->routes);
    admin->routes[admin->nroutes++] = (admin__route){rc_strdup(path), cb, ctx};
}

int rc_admin_start(struct event_base *base, const rc_addr *addr, rc_metrics *reg,
                   rc_admin_ready_fn ready, void *ctx, rc_admin **out, char *errstr,
                   size_t errlen)
{
    int port = 0;
    int fd = rc_listen_tcp(addr, ADMIN__ENV, 128, &port, errstr, errlen);
    if (fd < 0)
        return RC_EIO;

    rc_admin *admin = rc_calloc(1, sizeof *admin);
    admin->http = evhttp_new(base);
    if (!admin->http || !evhttp_accept_socket_with_handle(admin->http, fd)) {
        snprintf(errstr, errlen, ADMIN__ENV ": cannot start the HTTP server");
        close(fd);
        rc_admin_free(admin);
        return RC_EIO;
    }
    admin->reg = reg;
    admin->ready = ready;
    admin->ready_ctx = ctx;
    admin->port = port;
    admin->last_ready = -1;
    admin->ready_now = rc_gauge_new(reg, "roomcast_ready",
                                    "1 when /readyz answers ready (as of the last probe or scrape)");
    admin->ready_changes = rc_counter_new(
        reg, "roomcast_readiness_changes_total",
        "Times /readyz's answer changed between two probes or scrapes (flapping readiness)");

    /* Accept every method so the request callback can answer 405 with Allow. Admin
     * requests carry no body and few headers; the timeout drops idle scrapers. */
    evhttp_set_allowed_methods(admin->http,
                               EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                   EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                   EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_max_headers_size(admin->http, 16384);
    evhttp_set_max_body_size(admin->http, 65536);
    evhttp_set_timeout(admin->http, 30);
    evhttp_set_gencb(admin->http, admin__request, admin);

    admin__add_route(admin, "/metrics", admin__metrics, admin);
    admin__add_route(admin, "/healthz", admin__healthz, admin);
    admin__add_route(admin, "/readyz", admin__readyz, admin);

    char where[300];
    rc_addr bound = *addr;
    bound.port = port;
    rc_log(RC_LOG_INFO, "admin listening", "{s:s}", "addr",
           rc_addr_format(&bound, where, sizeof where));
    *out = admin;
    return RC_OK;
}

void rc_admin_set_detail(rc_admin *admin, rc_admin_detail_fn fn, void *ctx)
{
    admin->detail = fn;
    admin->detail_ctx = ctx;
}

int rc_admin_port(const rc_admin *admin)
{
    return admin->port;
}

int rc_admin_handle(rc_admin *admin, const char *path, rc_admin_handler_fn cb, void *ctx)
{
    if (!path || path[0] != '/' || !cb)
        return RC_EINVAL;
    for (size_t i = 0; i < admin->nroutes; i++)
        if (strcmp(admin->routes[i].path, path) == 0)
            return RC_EINVAL;
    admin__add_route(admin, path, cb, ctx);
    return RC_OK;
}

void rc_admin_free(rc_admin *admin)
{
    if (!admin)
        return;
    if (admin->http)
        evhttp_free(admin->http);
    for (size_t i = 0; i < admin->nroutes; i++)
        rc_free(admin->routes[i].path);
    rc_free(admin->routes);
    rc_free(admin);
}
