/* engine.c: connections of the Engine.IO server: set up accepted connections (plain or
 * TLS), parse HTTP requests, route them (handshake, polling, WebSocket upgrade; anything
 * else 404), and read and write WebSocket frames. Sessions themselves live in session.c,
 * the accept path in listener.c, the session bounds in admission.c.
 *
 * Invariants: a gw_conn is freed only at the engine's safe point (gw__engine_safe_point),
 * never inside one of its own callbacks; a closed connection is only marked dead. What a
 * connection reads ahead is bounded in every state (engine.h): reading stops once the
 * input holds the bound (gw__conn_input_bound; libevent reads at most 16 KiB at a time),
 * and a closing connection reads nothing. Its deadline
 * (c->timer) is absolute: bytes trickling in do not move it. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <jansson.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common/alloc.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/metrics.h"
#include "gateway/engine_int.h"
#include "gateway/engineio.h"
#include "gateway/netaddr.h"
#include "gateway/sid.h"

static void gw__conn_read_cb(struct bufferevent *bev, void *arg);
static void gw__conn_write_cb(struct bufferevent *bev, void *arg);
static void gw__conn_write_now(gw_conn *c);
static void gw__conn_event_cb(struct bufferevent *bev, short what, void *arg);
static void gw__conn_deadline(gw_conn *c, long ms);

#define GW_WRITE_MAX 16384 /* one write at most, as libevent's bufferevents do */
#define GW_TRIM_BYTES (16u << 20) /* freed connection buffers that make a trim worth it */

/* ---- the safe point ---------------------------------------------------------------- */

static void gw__engine_safe_point(evutil_socket_t fd, short what, void *arg)
{
    gw_engine *e = arg;
    gw_session *s;
    while ((s = LIST_FIRST(&e->flush_sessions))) {
        LIST_REMOVE(s, flush_link);
        s->flush_due = 0;
        if (!s->closing)
            gw__session_flush(s);
    }
    while ((s = LIST_FIRST(&e->dead_sessions))) {
        LIST_REMOVE(s, dead_link);
        gw__session_finish(s);
    }
    gw_conn *c;
    while ((c = LIST_FIRST(&e->write_conns))) {
        LIST_REMOVE(c, write_link);
        c->write_due = 0;
        if (!c->dead)
            gw__conn_write_now(c);
    }
    while ((c = LIST_FIRST(&e->dead_conns))) {
        LIST_REMOVE(c, dead_link);
        if (c->write_due)
            LIST_REMOVE(c, write_link);
        LIST_REMOVE(c, link);
        e->freed_since_trim += evbuffer_get_length(bufferevent_get_output(c->bev)) +
                               evbuffer_get_length(bufferevent_get_input(c->bev));
        gw__admission_conn_gone(c);
        if (c->timer)
            event_free(c->timer);
        bufferevent_free(c->bev);
        ws_reader_free(&c->ws);
        rc_free(c->cors);
        rc_free(c->relay_proof);
        e->stats.connections--;
        rc_free(c);
    }
}

void gw__engine_schedule(gw_engine *e)
{
    event_active(e->safe_point, EV_TIMEOUT, 0);
}

/* ---- corked WebSocket output --------------------------------------------------------- */

/* Whatever a corked connection's output gains is written at the next safe point. */
static void gw__conn_out_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    gw_conn *c = arg;
    (void)buf;
    if (!info->n_added || c->write_due || c->dead || !c->corked)
        return;
    c->write_due = 1;
    LIST_INSERT_HEAD(&c->e->write_conns, c, write_link);
    gw__engine_schedule(c->e);
}

/* Writes what the kernel takes now, at most GW_WRITE_MAX as the bufferevent would; its
 * EV_WRITE takes over only for the rest (a client reading slower than it is sent to, or a
 * large backlog), and gives back once drained. */
static void gw__conn_write_now(gw_conn *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (evbuffer_get_length(out) == 0)
        return;
    /* a socket bufferevent keeps its output's front frozen against anyone but itself:
       thawed for this write, as its own write callback does */
    evbuffer_unfreeze(out, 1);
    int n = evbuffer_write_atmost(out, bufferevent_getfd(c->bev), GW_WRITE_MAX);
    evbuffer_freeze(out, 1);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        gw__conn_close(c); /* the peer is gone (EPIPE, ECONNRESET) */
        return;
    }
    if (evbuffer_get_length(out))
        bufferevent_enable(c->bev, EV_WRITE);
    else
        gw__conn_write_cb(c->bev, c); /* drained: what the bufferevent would have said */
}

static void gw__conn_cork(gw_conn *c)
{
    if (c->e->cfg.tls)
        return; /* TLS writes through its own bufferevent */
    c->corked = 1;
    bufferevent_disable(c->bev, EV_WRITE);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    evbuffer_add_cb(out, gw__conn_out_cb, c);
    if (evbuffer_get_length(out) && !c->write_due) { /* the 101 answer, already queued */
        c->write_due = 1;
        LIST_INSERT_HEAD(&c->e->write_conns, c, write_link);
        gw__engine_schedule(c->e);
    }
}

/* ---- engine -------------------------------------------------------------------------- */

/* After connections that held many bytes went (slow clients dropped at their bound, an
 * attack cut), gives the freed memory back to the system: glibc keeps it otherwise, so
 * the process's resident size would stay at the attack's peak. At most every 5 s. */
static void gw__trim(gw_engine *e)
{
#ifdef __GLIBC__
    int64_t now = rc_now_us();
    if (e->freed_since_trim < GW_TRIM_BYTES || now - e->trimmed_us < 5000000)
        return;
    malloc_trim(0);
    e->freed_since_trim = 0;
    e->trimmed_us = now;
#else
    (void)e;
#endif
}

static void gw__watch_cb(evutil_socket_t fd, short what, void *arg)
{
    gw__session_watch_tick(arg);
    gw__trim(arg);
}

gw_engine *gw_engine_new(struct event_base *base, const gw_engine_config *cfg)
{
    gw_engine *e = rc_calloc(1, sizeof *e);
    e->base = base;
    e->cfg = *cfg;
    e->sessions = rc_map_new();
    e->addrs = rc_map_new();
    gw__engine_counters_init(e);
    LIST_INIT(&e->conns);
    LIST_INIT(&e->all_sessions);
    LIST_INIT(&e->dead_conns);
    LIST_INIT(&e->dead_sessions);
    LIST_INIT(&e->flush_sessions);
    LIST_INIT(&e->write_conns);
    e->safe_point = event_new(base, -1, 0, gw__engine_safe_point, e);
    LIST_INIT(&e->watched);
    gw__hb_init(e);
    e->watch_timer = event_new(base, -1, EV_PERSIST, gw__watch_cb, e);
    struct timeval tv = {0, 250000};
    event_add(e->watch_timer, &tv);
    return e;
}

void gw_engine_add_endpoint(gw_engine *e, const char *path, const gw_endpoint_handlers *h,
                            void *ctx)
{
    if (e->nendpoints == GW_MAX_ENDPOINTS)
        abort();
    gw_endpoint *ep = &e->endpoints[e->nendpoints++];
    snprintf(ep->path, sizeof ep->path, "%s", path);
    ep->path_len = strlen(ep->path);
    ep->h = *h;
    ep->ctx = ctx;
}

void gw_engine_set_peers(gw_engine *e, int (*known)(void *ctx, const char *advertise), void *ctx)
{
    e->cfg.peer_known = known;
    e->cfg.peer_ctx = ctx;
}

const gw_engine_stats *gw_engine_get_stats(const gw_engine *e)
{
    return &e->stats;
}

/* What a connection may read ahead while it waits for a request: one whole request. */
static size_t gw__request_bound(const gw_engine *e)
{
    return GW_MAX_HEAD + e->cfg.max_payload;
}

void gw__conn_accepted(gw_engine *e, evutil_socket_t fd, struct sockaddr *sa)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct bufferevent *bev;
    if (e->cfg.tls) {
        SSL *ssl = SSL_new(e->cfg.tls);
        bev = bufferevent_openssl_socket_new(e->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                             BEV_OPT_CLOSE_ON_FREE);
    } else {
        bev = bufferevent_socket_new(e->base, fd, BEV_OPT_CLOSE_ON_FREE);
    }
    if (!bev) {
        evutil_closesocket(fd);
        return;
    }
    gw_conn *c = rc_calloc(1, sizeof *c);
    c->e = e;
    c->bev = bev;
    c->state = GW_CONN_HTTP;
    LIST_INIT(&c->opened);
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)sa;
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        snprintf(c->remote, sizeof c->remote, "%s:%d", ip, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
        char ip[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        snprintf(c->remote, sizeof c->remote, "[%s]:%d", ip, ntohs(in6->sin6_port));
    }
    LIST_INSERT_HEAD(&e->conns, c, link);
    e->stats.connections++;
    e->stats.connections_accepted++;
    /* the request's deadline is c->timer; an answer that makes no progress for as long
       (a client that reads nothing) ends the connection too */
    struct timeval wt = {e->cfg.handshake_timeout_ms / 1000,
                         (e->cfg.handshake_timeout_ms % 1000) * 1000};
    bufferevent_set_timeouts(bev, NULL, &wt);
    gw__conn_deadline(c, e->cfg.handshake_timeout_ms);
    bufferevent_setcb(bev, gw__conn_read_cb, gw__conn_write_cb, gw__conn_event_cb, c);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

size_t gw_engine_close_some(gw_engine *e, size_t n, const char *reason)
{
    size_t done = 0;
    gw_session *s;
    LIST_FOREACH(s, &e->all_sessions, link)
    {
        if (done == n)
            break;
        if (!s->closing) {
            gw_session_close(s, reason);
            done++;
        }
    }
    return done;
}

void gw_engine_close_all(gw_engine *e, const char *reason)
{
    gw_session *s;
    LIST_FOREACH(s, &e->all_sessions, link)
    gw_session_close(s, reason);
    gw_conn *c;
    LIST_FOREACH(c, &e->conns, link)
    if (!c->session)
        gw__conn_close(c);
    gw__engine_safe_point(-1, 0, e);
}

void gw_engine_free(gw_engine *e)
{
    if (!e)
        return;
    gw_engine_stop_listening(e);
    gw_engine_close_all(e, "server shutting down");
    gw_conn *c;
    while ((c = LIST_FIRST(&e->conns))) /* connections of sessions just finished */
        gw__conn_close(c), gw__engine_safe_point(-1, 0, e);
    event_free(e->safe_point);
    event_free(e->watch_timer);
    gw__hb_free(e);
    if (e->dns)
        evdns_base_free(e->dns, 0);
    if (e->accept_resume)
        event_free(e->accept_resume);
    rc_map_free(e->sessions);
    rc_map_free(e->addrs);
    gw__engine_counters_free(e);
    rc_free(e);
}

/* ---- connections ----------------------------------------------------------------------- */

static void gw__conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    gw_conn *c = arg;
    if (c->close_after_write)
        rc_counter_inc(c->e->k.timeout_closing);
    else
        rc_counter_inc(c->e->k.timeout_request);
    rc_log_debug("connection dropped at its deadline", "{s:s,s:s}", "remote", c->remote, "phase",
                 c->close_after_write ? "closing" : "request");
    gw__conn_close(c);
}

static void gw__conn_deadline(gw_conn *c, long ms)
{
    if (!c->timer)
        c->timer = evtimer_new(c->e->base, gw__conn_timer_cb, c);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(c->timer, &tv);
}

void gw__conn_no_deadline(gw_conn *c)
{
    if (c->timer)
        evtimer_del(c->timer);
}

void gw__conn_closing(gw_conn *c)
{
    if (c->dead || c->close_after_write)
        return;
    c->close_after_write = 1;
    bufferevent_disable(c->bev, EV_READ);
    gw__conn_deadline(c, c->e->cfg.close_timeout_ms);
}

void gw__conn_hold(gw_conn *c)
{
    c->state = GW_CONN_POLL_WAIT;
    gw__conn_no_deadline(c); /* the session answers it, at the latest with its next ping */
}

void gw__conn_close(gw_conn *c)
{
    if (c->dead)
        return;
    c->dead = 1;
    gw__conn_no_deadline(c);
    bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
    gw__forward_close(c);
    if (c->session) {
        gw_session *s = c->session;
        c->session = NULL;
        gw__session_conn_lost(s, c, c->state == GW_CONN_WS ? "transport close"
                                                           : "transport error");
    }
    LIST_INSERT_HEAD(&c->e->dead_conns, c, dead_link);
    gw__engine_schedule(c->e);
}

static const char *gw__status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 426: return "Upgrade Required";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

void gw__conn_respond(gw_conn *c, int status, const char *content_type, const void *body,
                      size_t len, const char *extra_headers)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n%s%s%s%s%s%s%s\r\n",
                        status, gw__status_text(status), len, content_type ? "Content-Type: " : "",
                        content_type ? content_type : "", content_type ? "\r\n" : "",
                        c->cors ? c->cors : "", c->relay_proof ? c->relay_proof : "",
                        extra_headers ? extra_headers : "",
                        c->keepalive ? "" : "Connection: close\r\n");
    if (len)
        evbuffer_add(out, body, len);
    c->state = GW_CONN_HTTP;
    if (!c->keepalive)
        gw__conn_closing(c);
    else
        gw__conn_no_deadline(c); /* the next request's starts once this answer is out */
    c->e->stats.bytes_out += len;
}

void gw__conn_eio_error(gw_conn *c, int status, int code, const char *message)
{
    char body[128];
    int n = snprintf(body, sizeof body, "{\"code\":%d,\"message\":\"%s\"}", code, message);
    c->keepalive = 0;
    gw__conn_respond(c, status, "application/json", body, (size_t)n, NULL);
}

void gw__conn_ws_send_text(gw_conn *c, const char *text, size_t len)
{
    uint8_t hdr[WS_MAX_HEADER];
    size_t n = ws_frame_header(hdr, 1, WS_OP_TEXT, len);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    evbuffer_add(out, hdr, n);
    evbuffer_add(out, text, len);
    c->e->stats.frames_out++;
    c->e->stats.bytes_out += n + len;
}

void gw__conn_ws_close(gw_conn *c, uint16_t code, const char *reason)
{
    if (c->dead || c->ws_closing)
        return;
    uint8_t hdr[WS_MAX_HEADER], payload[WS_MAX_CONTROL];
    size_t pl = ws_close_payload(payload, code, reason);
    size_t n = ws_frame_header(hdr, 1, WS_OP_CLOSE, pl);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    evbuffer_add(out, hdr, n);
    evbuffer_add(out, payload, pl);
    c->ws_closing = 1;
    gw__conn_closing(c);
}

void gw__conn_become_ws(gw_conn *c, const char *accept_key)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    evbuffer_add_printf(out,
                        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s\r\n",
                        accept_key, c->relay_proof ? c->relay_proof : "");
    rc_free(c->relay_proof);
    c->relay_proof = NULL;
    c->state = GW_CONN_WS;
    rc_free(c->cors);
    c->cors = NULL;
    ws_reader_init(&c->ws, c->e->cfg.max_payload, 1);
    /* liveness is the heartbeat's job now, and the output's the slow-client bounds' */
    bufferevent_set_timeouts(c->bev, NULL, NULL);
    gw__conn_cork(c);
    if (c->read_paused) {
        c->read_paused = 0;
        bufferevent_enable(c->bev, EV_READ);
    }
    if (c->timer) {
        event_free(c->timer); /* most connections are WebSockets: no timer until closing */
        c->timer = NULL;
    }
}

/* ---- HTTP ---------------------------------------------------------------------------------- */

/* ROOMCAST_ALLOWED_ORIGINS=*: any site, as Socket.IO's cors: {origin: "*"}. */
static int gw__origins_any(const gw_engine *e)
{
    return e->cfg.allowed_origins && !strcmp(e->cfg.allowed_origins, "*");
}

static int gw__origin_allowed(const gw_engine *e, const http_request *req)
{
    if (!e->cfg.allowed_origins || gw__origins_any(e))
        return 1;
    size_t ol;
    const char *origin = http_header_get(req, "origin", &ol);
    if (!origin)
        return 1; /* not a browser: the Origin check guards browsers against other sites */
    const char *p = e->cfg.allowed_origins;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t l = end ? (size_t)(end - p) : strlen(p);
        while (l && *p == ' ')
            p++, l--;
        while (l && p[l - 1] == ' ')
            l--;
        if (l == ol && strncasecmp(p, origin, l) == 0)
            return 1;
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

/* CORS for polling from a page on another origin: sets c->cors for the answer to req, or
 * clears it. As Socket.IO's `cors` option (issue 12 item 13): none unless configured
 * (Socket.IO >= 3 sends no CORS headers without it, so other sites' pages cannot read the
 * answers); "*" is {origin: "*"} (any site, no credentials); a list is {origin: [...],
 * credentials: true} (the listed sites only, reflected, with credentials). */
static void gw__cors_headers(gw_conn *c, const http_request *req)
{
    size_t ol;
    const char *origin = http_header_get(req, "origin", &ol);
    rc_free(c->cors);
    c->cors = NULL;
    if (!origin || ol > 200 || !c->e->cfg.allowed_origins || !gw__origin_allowed(c->e, req))
        return;
    if (gw__origins_any(c->e)) {
        c->cors = rc_strdup("Access-Control-Allow-Origin: *\r\n");
        return;
    }
    size_t len = ol + 128;
    char *buf = c->cors = rc_malloc(len);
    snprintf(buf, len,
             "Access-Control-Allow-Origin: %.*s\r\nAccess-Control-Allow-Credentials: true\r\n"
             "Vary: Origin\r\n",
             (int)ol, origin);
}

/* The WebSocket upgrade: a new session, or the upgrade probe of a polling one (s). */
static void gw__route_websocket(gw_conn *c, gw_endpoint *ep, gw_session *s,
                                const http_request *req, int upgrade_get)
{
    size_t kl, vl;
    const char *key = http_header_get(req, "sec-websocket-key", &kl);
    const char *ver = http_header_get(req, "sec-websocket-version", &vl);
    char accept[29];
    if (!upgrade_get || !key || ws_accept_key(key, kl, accept) != 0)
        return gw__conn_eio_error(c, 400, 3, "Bad request");
    if (!ver || vl != 2 || memcmp(ver, "13", 2)) {
        c->keepalive = 0;
        return gw__conn_respond(c, 426, NULL, NULL, 0, "Sec-WebSocket-Version: 13\r\n");
    }
    char ip[GW_NET_IP_LEN];
    if (!s && !gw__admit(c, req, ip))
        return;
    gw__conn_become_ws(c, accept);
    if (s) {
        if (s->transport != GW_TRANSPORT_POLLING || s->probe) {
            /* a second WebSocket for an upgraded or upgrading session: the reference
               accepts the handshake and closes it at once */
            gw__conn_ws_close(c, WS_CLOSE_POLICY, "session already upgraded");
            return;
        }
        gw__session_probe(s, c);
        return;
    }
    s = gw__session_new(c->e, ep, GW_TRANSPORT_WS, c->remote);
    gw__admitted(s, c, ip);
    gw__session_open_ws(s, c);
}

/* Long-polling: the handshake (no session yet), a GET held for s, or a POSTed payload. */
static void gw__route_polling(gw_conn *c, gw_endpoint *ep, gw_session *s, const http_request *req,
                              const uint8_t *body, size_t body_len)
{
    int is_get = req->method_len == 3 && !memcmp(req->method, "GET", 3);
    int is_post = req->method_len == 4 && !memcmp(req->method, "POST", 4);
    if (!s) {
        if (!is_get)
            return gw__conn_eio_error(c, 400, 2, "Bad handshake method");
        char ip[GW_NET_IP_LEN];
        if (!gw__admit(c, req, ip))
            return;
        s = gw__session_new(c->e, ep, GW_TRANSPORT_POLLING, c->remote);
        gw__admitted(s, c, ip);
        gw__session_open_polling(s, c);
        return;
    }
    if (s->transport != GW_TRANSPORT_POLLING)
        return gw__conn_eio_error(c, 400, 3, "Bad request");
    if (is_get)
        return gw__session_poll_get(s, c);
    if (!is_post)
        return gw__conn_eio_error(c, 400, 2, "Bad handshake method");
    if (gw__session_poll_post(s, body, body_len) != 0) {
        c->keepalive = 0;
        c->e->stats.bad_packets++;
        return gw__conn_respond(c, 400, "text/html", "bad request", 11, NULL);
    }
    gw__conn_respond(c, 200, "text/html", "ok", 2, NULL);
}

static void gw__route_engineio(gw_conn *c, gw_endpoint *ep, const http_request *req,
                               const uint8_t *body, size_t body_len)
{
    gw_engine *e = c->e;
    char eio[8], transport[16], sid[160];
    int is_get = req->method_len == 3 && !memcmp(req->method, "GET", 3);
    size_t ul;
    const char *upgrade = http_header_get(req, "upgrade", &ul);
    int wants_ws = upgrade && ul == 9 && !strncasecmp(upgrade, "websocket", 9);

    if (http_query_get(req->target, req->target_len, "EIO", eio, sizeof eio) < 0 ||
        strcmp(eio, "4") != 0)
        return gw__conn_eio_error(c, 400, 5, "Unsupported protocol version");
    if (http_query_get(req->target, req->target_len, "transport", transport, sizeof transport) < 0 ||
        (strcmp(transport, "polling") && strcmp(transport, "websocket")))
        return gw__conn_eio_error(c, 400, 0, "Transport unknown");
    if (!gw__origin_allowed(e, req))
        return gw__conn_eio_error(c, 403, 4, "Forbidden");
    int has_sid = http_query_get(req->target, req->target_len, "sid", sid, sizeof sid) >= 0;
    gw_session *s = has_sid ? rc_map_get(e->sessions, sid, strlen(sid)) : NULL;
    int relayed = gw__relay_check(c, req); /* from a peer: answered here, never relayed on */
    if (has_sid && !s) {
        gw_sid_info info;
        int o = gw__sid_info(e, sid, &info);
        if (o < 0)
            e->stats.forward_forged++;
        else if (o > 0 && !relayed)
            return gw__forward(c, &info, sid, req, body, body_len);
    }
    if (has_sid && (!s || s->closing || s->ep != ep))
        return gw__conn_eio_error(c, 400, 1, "Session ID unknown");

    if (!strcmp(transport, "websocket"))
        return gw__route_websocket(c, ep, s, req, is_get && wants_ws);
    gw__route_polling(c, ep, s, req, body, body_len);
}

/* One complete request (head + body); returns after queueing its answer. */
static void gw__handle_request(gw_conn *c, const http_request *req, const uint8_t *body,
                               size_t body_len)
{
    gw_engine *e = c->e;
    size_t cl;
    const char *conn_hdr = http_header_get(req, "connection", &cl);
    c->keepalive = req->minor_version == 1 ? !(conn_hdr && http_header_has_token(conn_hdr, cl, "close"))
                                           : (conn_hdr && http_header_has_token(conn_hdr, cl, "keep-alive"));
    size_t pl = http_path_len(req->target, req->target_len);
    int is_options = req->method_len == 7 && !memcmp(req->method, "OPTIONS", 7);
    for (size_t i = 0; i < e->nendpoints; i++) {
        gw_endpoint *ep = &e->endpoints[i];
        /* "/socket.io/" also answers "/socket.io" as the reference does */
        if (!(pl == ep->path_len && !memcmp(req->target, ep->path, pl)) &&
            !(pl + 1 == ep->path_len && !memcmp(req->target, ep->path, pl)))
            continue;
        /* the answer (now, or when a held GET ends) carries the CORS headers */
        gw__cors_headers(c, req);
        if (is_options)
            return gw__conn_respond(c, 204, NULL, NULL, 0,
                                    "Access-Control-Allow-Methods: GET, POST\r\n"
                                    "Access-Control-Allow-Headers: content-type\r\n");
        return gw__route_engineio(c, ep, req, body, body_len);
    }
    rc_free(c->cors);
    c->cors = NULL;
    gw__conn_respond(c, 404, "text/plain", "not found", 9, NULL);
}

/* Parses the complete requests the input holds, one at a time: the next only once the
 * previous answer is written out, so a client that pipelines without reading gets no
 * more work done than one that waits (the input then fills to its bound and reading
 * stops). */
static void gw__read_http(gw_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    while (!c->dead && c->state == GW_CONN_HTTP && !c->close_after_write) { /* not FORWARD */
        if (evbuffer_get_length(out))
            return; /* the write callback calls again once the answer is out */
        size_t avail = evbuffer_get_length(in);
        if (!avail)
            return;
        size_t want = avail < GW_MAX_HEAD ? avail : GW_MAX_HEAD;
        const char *buf = (const char *)evbuffer_pullup(in, (ssize_t)want);
        http_request req;
        int n = http_parse_request(buf, want, GW_MAX_HEAD, &req);
        if (n == 0 && avail < GW_MAX_HEAD)
            return; /* wait for the rest of the head */
        if (n <= 0) {
            c->e->stats.bad_requests++;
            rc_log_limited(RC_LOG_WARN, "bad HTTP request", "{s:s,s:s}", "remote", c->remote,
                           "error", n == RC_ETOOBIG || n == 0 ? "head too large" : "malformed");
            c->keepalive = 0;
            gw__conn_respond(c, n == RC_EINVAL ? 400 : 431, "text/plain", "bad request", 11, NULL);
            return;
        }
        uint64_t body_len = 0;
        int clr = http_content_length(&req, &body_len);
        if (clr == RC_EINVAL || http_request_is_chunked(&req)) {
            c->e->stats.bad_requests++;
            c->keepalive = 0;
            gw__conn_respond(c, 400, "text/plain", "bad request", 11, NULL);
            return;
        }
        if (body_len > c->e->cfg.max_payload) {
            c->e->stats.bad_requests++;
            c->keepalive = 0;
            gw__conn_respond(c, 413, "text/plain", "payload too large", 17, NULL);
            return;
        }
        if (avail < (size_t)n + body_len)
            return; /* the body is still coming; the head is parsed again then */
        const uint8_t *all = evbuffer_pullup(in, (ssize_t)(n + body_len));
        /* re-parse: pullup may have moved the bytes */
        http_parse_request((const char *)all, (size_t)n, GW_MAX_HEAD, &req);
        gw__handle_request(c, &req, all + n, (size_t)body_len);
        evbuffer_drain(in, (size_t)n + body_len);
    }
}

/* Applies the outbound bounds to what reading a WebSocket queued (pongs, probe answers):
 * control frames count like any other. 1 when the connection is being dropped. */
static int gw__ws_out_over(gw_conn *c)
{
    size_t q = evbuffer_get_length(bufferevent_get_output(c->bev));
    if (c->session)
        return gw__session_over(c->session, q);
    if (q <= c->e->cfg.out_limit)
        return 0;
    c->e->stats.slow_clients++;
    rc_log_limited(RC_LOG_WARN, "slow client disconnected", "{s:s,s:I,s:s}", "remote", c->remote,
                   "queued", (json_int_t)q, "limit", "hard");
    gw__conn_ws_close(c, WS_CLOSE_POLICY, "slow client");
    return 1;
}

static void gw__read_ws(gw_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    while (!c->dead && !c->ws_closing) {
        size_t avail = evbuffer_get_length(in);
        if (!avail)
            return;
        uint8_t *buf = evbuffer_pullup(in, -1);
        ws_event ev;
        uint16_t code = 0;
        ssize_t n = ws_reader_feed(&c->ws, buf, avail, &ev, &code);
        if (n < 0) {
            c->e->stats.bad_frames++;
            rc_log_limited(RC_LOG_WARN, "bad WebSocket frame", "{s:s,s:i}", "remote", c->remote,
                           "close_code", code);
            gw__conn_ws_close(c, code, code == 1009 ? "message too big" : "protocol error");
            if (c->session) {
                gw_session *s = c->session;
                c->session = NULL;
                gw__session_conn_lost(s, c, "transport error");
            }
            return;
        }
        if (ev.kind == WS_EV_NONE) {
            evbuffer_drain(in, (size_t)n);
            if (n == 0)
                return;
            continue;
        }
        switch (ev.kind) {
        case WS_EV_PING: {
            uint8_t hdr[WS_MAX_HEADER];
            size_t hl = ws_frame_header(hdr, 1, WS_OP_PONG, ev.len);
            struct evbuffer *out = bufferevent_get_output(c->bev);
            evbuffer_add(out, hdr, hl);
            evbuffer_add(out, ev.data, ev.len);
            break;
        }
        case WS_EV_PONG:
            break;
        case WS_EV_CLOSE: {
            uint16_t reply = ev.close_code == WS_CLOSE_NO_STATUS ? WS_CLOSE_NORMAL : ev.close_code;
            gw__conn_ws_close(c, reply, NULL);
            if (c->session) {
                gw_session *s = c->session;
                c->session = NULL;
                gw__session_conn_lost(s, c, "transport close");
            }
            break;
        }
        default:
            if (c->session)
                gw__session_ws_message(c->session, c, &ev);
            break;
        }
        evbuffer_drain(in, (size_t)n);
        if (!c->dead && !c->ws_closing && gw__ws_out_over(c))
            return;
    }
}

/* Waiting for requests, a connection reads at most one request ahead: past that, reading
 * stops until the requests it holds are answered and their answers read. */
static void gw__conn_input_bound(gw_conn *c)
{
    if (c->dead || c->close_after_write || c->state != GW_CONN_HTTP)
        return;
    int full = evbuffer_get_length(bufferevent_get_input(c->bev)) >= gw__request_bound(c->e);
    if (full && !c->read_paused) {
        c->read_paused = 1;
        bufferevent_disable(c->bev, EV_READ);
        if (!c->input_limited) {
            c->input_limited = 1;
            rc_counter_inc(c->e->k.input_request);
        }
    } else if (!full && c->read_paused) {
        c->read_paused = 0;
        bufferevent_enable(c->bev, EV_READ);
    }
}

static void gw__conn_read_cb(struct bufferevent *bev, void *arg)
{
    gw_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (c->lingering) {
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    if (c->state == GW_CONN_HTTP) {
        gw__read_http(c);
        gw__conn_input_bound(c);
    } else if (c->state == GW_CONN_WS) {
        gw__read_ws(c);
    } else if (c->state == GW_CONN_FORWARD) {
        gw__forward_client_data(c);
    } else if (c->state == GW_CONN_POLL_WAIT && evbuffer_get_length(in) >= GW_MAX_HEAD) {
        /* More than a request head piped behind a held GET: no browser does that. */
        rc_counter_inc(c->e->k.input_held_get);
        rc_log_limited(RC_LOG_WARN, "bytes piped behind a held GET: connection closed",
                       "{s:s}", "remote", c->remote);
        gw__conn_close(c);
    }
}

/* An HTTP answer that ends its connection is out. Closing the socket now would reset the
 * connection if the client is still sending (the rest of a head or a body we refused with
 * 431 or 413: unread input makes the kernel answer with RST), and a reset makes the
 * client's kernel drop the answer it has not read yet: the client would see ECONNRESET
 * instead of the status. So, as nginx's lingering close does, the write side is shut
 * (FIN after the answer) and what still comes is read and dropped, using no memory, until
 * the client closes its side or the close deadline (ROOMCAST_CLOSE_TIMEOUT_MS) passes.
 * TLS connections close as before: their close goes through the TLS layer. */
static void gw__conn_linger(gw_conn *c)
{
    c->lingering = 1;
    shutdown(bufferevent_getfd(c->bev), SHUT_WR);
    struct evbuffer *in = bufferevent_get_input(c->bev);
    evbuffer_drain(in, evbuffer_get_length(in));
    bufferevent_disable(c->bev, EV_WRITE);
    bufferevent_enable(c->bev, EV_READ);
}

static void gw__conn_write_cb(struct bufferevent *bev, void *arg)
{
    gw_conn *c = arg;
    if (c->corked && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        bufferevent_disable(bev, EV_WRITE); /* drained: the safe point writes again */
    if (c->close_after_write && evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
        if (c->lingering)
            return;
        if (c->state == GW_CONN_HTTP && !c->e->cfg.tls)
            gw__conn_linger(c);
        else
            gw__conn_close(c);
    } else if (c->state == GW_CONN_HTTP && !c->dead) {
        /* the answer is out: the next request's deadline starts now */
        if (!c->timer || !evtimer_pending(c->timer, NULL))
            gw__conn_deadline(c, c->e->cfg.handshake_timeout_ms);
        gw__read_http(c); /* requests that waited behind a response */
        gw__conn_input_bound(c);
    } else if (c->state == GW_CONN_FORWARD && !c->dead) {
        gw__forward_client_drained(c);
    }
}

static void gw__conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    gw_conn *c = arg;
    if (what == BEV_EVENT_CONNECTED)
        return; /* a TLS handshake completed */
    if (what & BEV_EVENT_TIMEOUT) {
        rc_counter_inc(c->e->k.timeout_write); /* an answer the client took nothing of */
        rc_log_debug("connection timed out", "{s:s}", "remote", c->remote);
    }
    gw__conn_close(c);
}

struct event_base *gw_engine_base(gw_engine *e)
{
    return e->base;
}
