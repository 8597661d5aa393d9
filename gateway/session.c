/* session.c: Engine.IO v4 sessions: ids, the open packet, the server-driven heartbeat,
 * long-polling (held GETs, POSTed payloads, a bounded queue), the WebSocket transport and
 * the upgrade from polling (2probe / 3probe / noop / 5).
 *
 * Invariant: on_close runs once, from the safe point (gw__session_finish), after which
 * the session is freed; nothing else frees a session. */
#include <event2/buffer.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/kafka.h"
#include "common/log.h"
#include "gateway/engine_int.h"
#include "gateway/engineio.h"

static void gw__ms_tv(long ms, struct timeval *tv)
{
    tv->tv_sec = ms / 1000;
    tv->tv_usec = (ms % 1000) * 1000;
}

/* 20 characters of base64url from 15 random bytes: unguessable, URL- and JSON-safe. */
void gw_random_id(char out[24])
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint8_t b[15];
    if (RAND_bytes(b, sizeof b) != 1)
        abort();
    int o = 0;
    for (int i = 0; i < 15; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8 | b[i + 2];
        out[o++] = abc[(v >> 18) & 63];
        out[o++] = abc[(v >> 12) & 63];
        out[o++] = abc[(v >> 6) & 63];
        out[o++] = abc[v & 63];
    }
    out[o] = '\0';
}

gw_session *gw__session_new(gw_engine *e, gw_endpoint *ep, gw_transport t, const char *remote)
{
    gw_session *s = rc_calloc(1, sizeof *s);
    s->e = e;
    s->ep = ep;
    s->transport = t;
    if (e->cfg.cluster_key)
        gw__sid_new(e, s->id, sizeof s->id);
    else
        gw_random_id(s->id);
    snprintf(s->remote, sizeof s->remote, "%s", remote);
    s->opened_s = (uint32_t)(rc_now_us() / 1000000);
    rc_map_put(e->sessions, s->id, strlen(s->id), s);
    LIST_INSERT_HEAD(&e->all_sessions, s, link);
    e->stats.sessions++;
    e->stats.sessions_opened++;
    if (t == GW_TRANSPORT_WS)
        e->stats.sessions_ws++;
    else
        e->stats.sessions_polling++;
    return s;
}

static void gw__session_opened(gw_session *s)
{
    gw__hb_arm(s, GW_HB_PING);
    if (s->ep->h.on_open)
        s->ep->h.on_open(s, s->ep->ctx);
}

static int gw__open_packet(gw_session *s, int upgrades, char *buf, size_t len)
{
    const gw_engine_config *cfg = &s->e->cfg;
    return eio_encode_open(buf, len, s->id, upgrades, cfg->ping_interval_ms, cfg->ping_timeout_ms,
                           (long)cfg->max_payload);
}

void gw__session_open_polling(gw_session *s, gw_conn *c)
{
    char open[256];
    int n = gw__open_packet(s, 1, open, sizeof open);
    gw__conn_respond(c, 200, "text/plain; charset=UTF-8", open, (size_t)n, NULL);
    gw__session_opened(s);
}

void gw__session_open_ws(gw_session *s, gw_conn *c)
{
    char open[256];
    int n = gw__open_packet(s, 0, open, sizeof open);
    s->ws = c;
    c->session = s;
    gw__conn_ws_send_text(c, open, (size_t)n);
    gw__session_opened(s);
}

/* ---- sending ------------------------------------------------------------------------ */

static void gw__session_want_flush(gw_session *s)
{
    if (!s->flush_due) {
        s->flush_due = 1;
        LIST_INSERT_HEAD(&s->e->flush_sessions, s, flush_link);
        gw__engine_schedule(s->e);
    }
}

static void gw__session_slow(gw_session *s, size_t queued, const char *limit)
{
    s->e->stats.slow_clients++;
    rc_log_limited(RC_LOG_WARN, "slow client disconnected", "{s:s,s:s,s:I,s:s}", "sid", s->id,
                   "remote", s->remote, "queued", (json_int_t)queued, "limit", limit);
    gw_session_close(s, "slow client");
}

/* Applies the output limits to a session about to hold `queued` bytes; 1 if it was
 * dropped. Crossing the soft limit starts the clock (checked by the watch tick). */
int gw__session_over(gw_session *s, size_t queued)
{
    const gw_engine_config *cfg = &s->e->cfg;
    if (queued > cfg->out_limit) {
        gw__session_slow(s, queued, "hard");
        return 1;
    }
    if (queued > cfg->out_soft_limit && !s->over_soft_since_us) {
        s->over_soft_since_us = rc_now_us();
        LIST_INSERT_HEAD(&s->e->watched, s, watch_link);
    }
    return 0;
}

static void gw__session_unwatch(gw_session *s)
{
    if (s->over_soft_since_us) {
        LIST_REMOVE(s, watch_link);
        s->over_soft_since_us = 0;
    }
}

void gw__session_watch_tick(gw_engine *e)
{
    int64_t now = rc_now_us();
    gw_session *s, *next;
    for (s = LIST_FIRST(&e->watched); s; s = next) {
        next = LIST_NEXT(s, watch_link);
        size_t q = gw_session_queued(s);
        if (s->closing || q <= e->cfg.out_soft_limit)
            gw__session_unwatch(s);
        else if (now - s->over_soft_since_us > e->cfg.out_soft_ms * 1000) {
            gw__session_unwatch(s);
            gw__session_slow(s, q, "soft");
        }
    }
}

static int gw__session_enqueue(gw_session *s, gw_frame *f)
{
    if (s->transport == GW_TRANSPORT_WS && s->ws) {
        struct evbuffer *out = bufferevent_get_output(s->ws->bev);
        if (gw__session_over(s, evbuffer_get_length(out) + gw_frame_ws_size(f)))
            return 0;
        gw_frame_add_ws(f, out);
        s->e->stats.frames_out++;
        s->e->stats.bytes_out += f->ws_len;
        return 1;
    }
    size_t pl;
    gw_frame_poll(f, &pl);
    if (gw__session_over(s, s->qbytes + pl))
        return 0;
    if (s->qlen == s->qcap) {
        s->qcap = s->qcap ? s->qcap * 2 : 4;
        s->q = rc_realloc(s->q, s->qcap * sizeof *s->q);
    }
    s->q[s->qlen++] = gw_frame_ref(f);
    s->qbytes += pl;
    if (s->get)
        gw__session_want_flush(s);
    return 1;
}

int gw_session_send(gw_session *s, gw_frame *f)
{
    if (s->closing)
        return 0;
    return gw__session_enqueue(s, f);
}

int gw_session_send_tail(gw_session *s, gw_frame *f, const char *tail, size_t tlen)
{
    if (s->closing)
        return 0;
    if (s->transport == GW_TRANSPORT_WS && s->ws) {
        struct evbuffer *out = bufferevent_get_output(s->ws->bev);
        if (gw__session_over(s, evbuffer_get_length(out) + f->ws_len + tlen + WS_MAX_HEADER))
            return 0;
        gw_frame_add_ws_tail(f, tail, tlen, out);
        s->e->stats.frames_out++;
        s->e->stats.bytes_out += f->ws_len + tlen;
        return 1;
    }
    gw_frame *closed = gw_frame_close(f, tail, tlen);
    int r = gw__session_enqueue(s, closed);
    gw_frame_unref(closed);
    return r;
}

static void gw__session_send_control(gw_session *s, char digit, const char *data)
{
    gw_frame *f = gw_frame_new(digit, data, strlen(data), 0, NULL, NULL);
    gw__session_enqueue(s, f);
    gw_frame_unref(f);
}

/* Answers the held GET with everything queued (a noop while upgrading), and the close
 * packet after it when a close waits for this flush. */
void gw__session_flush(gw_session *s)
{
    gw_conn *c = s->get;
    if (!c || (!s->qlen && !s->upgrading))
        return;
    s->get = NULL;
    c->session = NULL;
    struct evbuffer *body = evbuffer_new();
    if (s->qlen == 0) {
        evbuffer_add(body, "6", 1);
    } else {
        for (size_t i = 0; i < s->qlen; i++) {
            size_t pl;
            const char *p = gw_frame_poll(s->q[i], &pl);
            if (i)
                evbuffer_add(body, "\x1e", 1);
            evbuffer_add(body, p, pl);
            gw_frame_unref(s->q[i]);
        }
        s->e->stats.frames_out += s->qlen;
        s->qlen = 0;
        s->qbytes = 0;
    }
    size_t len = evbuffer_get_length(body);
    gw__conn_respond(c, 200, "text/plain; charset=UTF-8", evbuffer_pullup(body, -1), len, NULL);
    evbuffer_free(body);
    if (c->state == GW_CONN_HTTP && !c->dead)
        bufferevent_trigger(c->bev, EV_READ, 0); /* a request pipelined behind the GET */
    if (s->close_after_flush)
        s->close_next = 1; /* that was the DISCONNECT: the next GET gets the close packet */
}

/* ---- polling ----------------------------------------------------------------------------- */

void gw__session_poll_get(gw_session *s, gw_conn *c)
{
    if (s->get) {
        /* Two GETs at once: the protocol says close the session; the first GET gets the
           close packet, the second a 400. */
        gw_conn *first = s->get;
        s->get = NULL;
        first->session = NULL;
        gw__conn_respond(first, 200, "text/plain; charset=UTF-8", "1", 1, NULL);
        gw__conn_eio_error(c, 400, 3, "Bad request");
        gw_session_close(s, "transport error");
        return;
    }
    s->get = c;
    c->session = s;
    gw__conn_hold(c);
    if (s->close_next) /* the client has fetched what a close waited for */
        gw_session_close(s, s->close_after_flush);
    else if (s->qlen || s->upgrading)
        gw__session_want_flush(s);
}

/* One packet from the client, over either transport. Incoming traffic shows the client
 * is alive, so a pong that is due gets its full timeout again. RC_EINVAL for packets a
 * client never sends (a ping: "invalid heartbeat direction"; open, upgrade, noop). */
static int gw__session_packet(gw_session *s, const eio_packet *p)
{
    if (s->close_after_flush) { /* closing: only the client's own close counts; the */
        if (p->type == EIO_CLOSE) /* heartbeat, no longer kept up, ends a client that */
            gw_session_close(s, "transport close"); /* neither fetches nor closes */
        return 0;
    }
    if (s->awaiting_pong && p->type != EIO_PONG)
        gw__hb_arm(s, GW_HB_PONG);
    switch (p->type) {
    case EIO_MESSAGE:
        s->ep->h.on_message(s, p->data, p->len, p->binary, s->ep->ctx);
        return 0;
    case EIO_PONG:
        s->awaiting_pong = 0;
        gw__hb_arm(s, GW_HB_PING);
        return 0;
    case EIO_CLOSE:
        gw_session_close(s, "transport close");
        return 0;
    default:
        return RC_EINVAL;
    }
}

int gw__session_poll_post(gw_session *s, const uint8_t *body, size_t len)
{
    uint8_t *scratch = rc_malloc(len ? len : 1);
    size_t pos = 0;
    eio_packet p;
    int r;
    while ((r = eio_payload_next(body, len, &pos, scratch, len ? len : 1, &p)) == 1) {
        if (s->closing)
            break;
        if (gw__session_packet(s, &p) != 0) {
            r = RC_EINVAL;
            break;
        }
    }
    rc_free(scratch);
    if (r < 0) {
        rc_log_limited(RC_LOG_WARN, "bad Engine.IO payload", "{s:s,s:s}", "sid", s->id, "remote",
                       s->remote);
        gw_session_close(s, "parse error");
        return r;
    }
    return 0;
}

/* ---- WebSocket and the upgrade -------------------------------------------------------- */

static void gw__upgrade_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    gw_session *s = arg;
    if (s->probe) {
        gw_conn *p = s->probe;
        s->probe = NULL;
        s->upgrading = 0;
        p->session = NULL;
        gw__conn_ws_close(p, WS_CLOSE_POLICY, "upgrade timeout");
    }
}

void gw__session_probe(gw_session *s, gw_conn *c)
{
    s->probe = c;
    c->session = s;
    c->is_probe = 1;
    if (!s->upgrade_timer)
        s->upgrade_timer = evtimer_new(s->e->base, gw__upgrade_timeout_cb, s);
    struct timeval tv;
    gw__ms_tv(s->e->cfg.upgrade_timeout_ms, &tv);
    evtimer_add(s->upgrade_timer, &tv);
}

static void gw__session_upgraded(gw_session *s, gw_conn *c)
{
    evtimer_del(s->upgrade_timer);
    s->probe = NULL;
    s->upgrading = 0;
    c->is_probe = 0;
    s->transport = GW_TRANSPORT_WS;
    s->ws = c;
    s->e->stats.upgrades++;
    s->e->stats.sessions_polling--;
    s->e->stats.sessions_ws++;
    if (s->get) { /* the held GET ends with a noop; the client stops polling */
        gw_conn *g = s->get;
        s->get = NULL;
        g->session = NULL;
        gw__conn_respond(g, 200, "text/plain; charset=UTF-8", "6", 1, NULL);
    }
    for (size_t i = 0; i < s->qlen; i++) { /* what polling had not delivered yet */
        gw_frame_add_ws(s->q[i], bufferevent_get_output(c->bev));
        gw_frame_unref(s->q[i]);
    }
    s->qlen = 0;
    s->qbytes = 0;
    if (s->close_after_flush) { /* it went out over the WebSocket: the close follows it */
        const char *reason = s->close_after_flush;
        s->close_after_flush = NULL;
        gw_session_close(s, reason);
    }
}

static void gw__session_probe_message(gw_session *s, gw_conn *c, const eio_packet *p)
{
    if (p->type == EIO_PING && p->len == 5 && !memcmp(p->data, "probe", 5)) {
        gw__conn_ws_send_text(c, "3probe", 6);
        s->upgrading = 1;
        gw__session_want_flush(s); /* a held GET gets its noop */
        return;
    }
    if (p->type == EIO_UPGRADE && s->upgrading) {
        gw__session_upgraded(s, c);
        return;
    }
    s->e->stats.bad_packets++;
    s->probe = NULL;
    s->upgrading = 0;
    c->session = NULL;
    gw__conn_ws_close(c, WS_CLOSE_PROTOCOL_ERROR, "bad upgrade");
}

void gw__session_ws_message(gw_session *s, gw_conn *c, const ws_event *ev)
{
    if (s->closing)
        return;
    eio_packet p;
    if (ev->kind == WS_EV_BINARY)
        eio_decode_ws_binary(ev->data, ev->len, &p);
    else if (eio_decode_ws_text(ev->data, ev->len, &p) != 0) {
        s->e->stats.bad_packets++;
        rc_log_limited(RC_LOG_WARN, "bad Engine.IO packet", "{s:s,s:s}", "sid", s->id, "remote",
                       s->remote);
        gw_session_close(s, "parse error");
        return;
    }
    if (c->is_probe)
        return gw__session_probe_message(s, c, &p);
    if (gw__session_packet(s, &p) != 0) {
        s->e->stats.bad_packets++;
        gw_session_close(s, "parse error");
    }
}

/* A connection of the session went away (closed, errored, or its frames were bad). */
void gw__session_conn_lost(gw_session *s, gw_conn *c, const char *reason)
{
    if (c == s->probe) {
        s->probe = NULL;
        s->upgrading = 0;
        if (s->upgrade_timer)
            evtimer_del(s->upgrade_timer);
        return;
    }
    if (c == s->get)
        s->get = NULL;
    if (c == s->ws)
        s->ws = NULL;
    gw_session_close(s, reason);
}

/* ---- heartbeat ----------------------------------------------------------------------- */

void gw__session_heartbeat(gw_session *s)
{
    if (s->closing)
        return;
    if (s->awaiting_pong) {
        s->e->stats.ping_timeouts++;
        gw_session_close(s, "ping timeout");
        return;
    }
    /* a polling session lives as long as its id may be relayed (forward.c); the client
       gets the close packet and reconnects, recovering its state */
    if (s->transport == GW_TRANSPORT_POLLING && s->e->cfg.session_max_age_s > 0 &&
        rc_now_us() / 1000000 - (int64_t)s->opened_s >= s->e->cfg.session_max_age_s) {
        gw_session_close(s, "session expired");
        return;
    }
    s->awaiting_pong = 1;
    if (s->transport == GW_TRANSPORT_WS && s->ws)
        gw__conn_ws_send_text(s->ws, "2", 1);
    else
        gw__session_send_control(s, '2', "");
    gw__hb_arm(s, GW_HB_PONG);
}

/* ---- closing ------------------------------------------------------------------------- */

void gw_session_close(gw_session *s, const char *reason)
{
    if (s->closing)
        return;
    s->closing = 1;
    gw__session_unwatch(s);
    s->close_reason = reason;
    gw__hb_disarm(s);
    rc_map_del(s->e->sessions, s->id, strlen(s->id));
    /* a close the server decides is announced with the close packet */
    int deliberate = strcmp(reason, "transport close") && strcmp(reason, "transport error") &&
                     strcmp(reason, "ping timeout") && strcmp(reason, "parse error");
    if (s->ws) {
        gw_conn *c = s->ws;
        s->ws = NULL;
        c->session = NULL;
        if (deliberate)
            gw__conn_ws_send_text(c, "1", 1);
        /* a parse error closes with 1002 so the client knows it misbehaved */
        gw__conn_ws_close(c, !strcmp(reason, "parse error") ? WS_CLOSE_PROTOCOL_ERROR
                             : WS_CLOSE_NORMAL, NULL);
    }
    if (s->get) { /* the held GET ends: with the close packet if we decided, else a noop */
        gw_conn *g = s->get;
        s->get = NULL;
        g->session = NULL;
        gw__conn_respond(g, 200, "text/plain; charset=UTF-8", deliberate ? "1" : "6", 1, NULL);
    }
    if (s->probe) {
        gw_conn *p = s->probe;
        s->probe = NULL;
        p->session = NULL;
        gw__conn_ws_close(p, WS_CLOSE_NORMAL, NULL);
    }
    LIST_INSERT_HEAD(&s->e->dead_sessions, s, dead_link);
    gw__engine_schedule(s->e);
}

void gw_session_close_after_flush(gw_session *s, const char *reason)
{
    if (s->closing)
        return;
    if (s->ws || !s->qlen) {
        gw_session_close(s, reason);
        return;
    }
    /* As the reference server does: the queue goes in this GET or the next; the GET after
       that gets the close packet. The client, which has the DISCONNECT by then, usually
       ends the session itself first. */
    s->close_after_flush = reason;
    gw__session_flush(s);
}

void gw__session_finish(gw_session *s)
{
    gw_engine *e = s->e;
    if (s->ep->h.on_close)
        s->ep->h.on_close(s, s->close_reason, s->ep->ctx);
    if (s->flush_due)
        LIST_REMOVE(s, flush_link);
    LIST_REMOVE(s, link);
    gw__admission_release(s);
    for (size_t i = 0; i < s->qlen; i++)
        gw_frame_unref(s->q[i]);
    rc_free(s->q);
    gw__hb_disarm(s);
    if (s->upgrade_timer)
        event_free(s->upgrade_timer);
    e->stats.sessions--;
    if (s->transport == GW_TRANSPORT_WS)
        e->stats.sessions_ws--;
    else
        e->stats.sessions_polling--;
    rc_free(s);
}

/* ---- accessors -------------------------------------------------------------------------- */

const char *gw_session_id(const gw_session *s)
{
    return s->id;
}

const char *gw_session_transport(const gw_session *s)
{
    return s->transport == GW_TRANSPORT_WS ? "websocket" : "polling";
}

const char *gw_session_remote(const gw_session *s)
{
    return s->remote;
}

void gw_session_set_data(gw_session *s, void *data)
{
    s->data = data;
}

void *gw_session_data(const gw_session *s)
{
    return s->data;
}

size_t gw_session_queued(const gw_session *s)
{
    if (s->transport == GW_TRANSPORT_WS && s->ws)
        return evbuffer_get_length(bufferevent_get_output(s->ws->bev));
    return s->qbytes;
}
