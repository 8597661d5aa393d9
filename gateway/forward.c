/* forward.c: Engine.IO sessions across gateways behind a balancer with no stickiness.
 *
 * A session id names the gateway that owns the session and when it was issued (sid.h).
 * A gateway that receives a request for a session it does not hold relays it to the
 * owner only when all of these hold, and otherwise answers 400 "Session ID unknown"
 * (roomcast_gateway_forward_denied_total{reason}) with nothing leaving the gateway:
 *   - the id's tag verifies (a forged id: roomcast_gateway_forged_session_ids_total);
 *   - it is an Engine.IO request a relay must carry: a polling GET or POST, or the
 *     WebSocket upgrade, for /socket.io/ with a sid (reason "request");
 *   - the id is younger than session_max_age_s, the longest a session that still needs
 *     its id lives (polling sessions are closed at that age by their owner) ("expired");
 *   - the owner is a gateway of this cluster now (peers.h) ("unknown_peer").
 * The relayed request is rebuilt, not copied: the request line names only the endpoint,
 * EIO, transport and sid, and only the headers Engine.IO needs pass (Origin,
 * Content-Type, the WebSocket key and version), so a relay can never carry a client's
 * cookies or arbitrary requests to whatever listens at an address. It is signed with the
 * cluster's relay key (X-Roomcast-Relay: time, nonce, HMAC over both and the request
 * line), and the owner's answer must carry the proof (X-Roomcast-Relay-Proof: HMAC of
 * the nonce) before a byte of it reaches the client; an answer without it is refused
 * ("unproven"). A signed request is never relayed again.
 *
 * Relays are bounded: max_forwards at once; connect (5 s) and, for polling, idle
 * timeouts; relay_buffer bytes each way, past which the side that sends stops being read
 * until the other side has taken its bytes (roomcast_gateway_input_limited_total
 * {state="relay"}), so a client that reads nothing holds at most relay_buffer here and
 * its owner's outbound bound does the rest. */
#include <event2/buffer.h>
#include <event2/dns.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/b64url.h"
#include "common/hmac.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/metrics.h"
#include "gateway/engine_int.h"
#include "gateway/sid.h"

#define GW_RELAY_SKEW_S 60 /* a signed relay is accepted this far from the owner's clock */
#define GW_RELAY_MAC 43    /* base64url of 32 bytes */

/* ---- session ids ----------------------------------------------------------------------- */

void gw__sid_new(const gw_engine *e, char *out, size_t len)
{
    if (len < GW_SID_LEN)
        abort(); /* ids are sized for GW_SID_LEN */
    gw_sid_new(e->cfg.cluster_key, e->cfg.advertise, rc_now_us() / 1000000, out);
}

int gw__sid_info(const gw_engine *e, const char *sid, gw_sid_info *info)
{
    if (!e->cfg.cluster_key)
        return 0;
    if (gw_sid_parse(e->cfg.cluster_key, sid, strlen(sid), info) != 0)
        return -1;
    return strcmp(info->owner, e->cfg.advertise) != 0;
}

int gw__sid_owner(const gw_engine *e, const char *sid, char *owner, size_t len)
{
    gw_sid_info info;
    int o = gw__sid_info(e, sid, &info);
    if (o < 0 || !e->cfg.cluster_key)
        return o;
    if (strlen(info.owner) >= len)
        return -1;
    memcpy(owner, info.owner, strlen(info.owner) + 1);
    return o;
}

/* ---- the relay's signature ---------------------------------------------------------------- */

static void gw__relay_mac(const gw_engine *e, const char *what, size_t len, char out[GW_RELAY_MAC + 1])
{
    uint8_t mac[32];
    rc_hmac_sha256(e->cfg.relay_key, 32, what, len, mac);
    *rc_b64url_encode(mac, sizeof mac, out) = '\0';
}

/* The proof an owner's answer carries for nonce. */
static void gw__relay_proof(const gw_engine *e, const char *nonce, size_t nl, char out[GW_RELAY_MAC + 1])
{
    char what[96];
    int n = snprintf(what, sizeof what, "roomcast relay answer\n%.*s", (int)nl, nonce);
    gw__relay_mac(e, what, (size_t)n, out);
}

/* The signature of a relayed request line, at time t with nonce. */
static void gw__relay_sign(const gw_engine *e, long long t, const char *nonce, size_t nl,
                           const char *method, size_t ml, const char *target, size_t tl,
                           char out[GW_RELAY_MAC + 1])
{
    char what[512];
    int n = snprintf(what, sizeof what, "roomcast relay request\n%lld\n%.*s\n%.*s\n%.*s", t,
                     (int)nl, nonce, (int)ml, method, (int)tl, target);
    gw__relay_mac(e, what, (size_t)n < sizeof what ? (size_t)n : sizeof what - 1, out);
}

int gw__relay_check(gw_conn *c, const http_request *req)
{
    const gw_engine *e = c->e;
    size_t vl;
    const char *v = http_header_get(req, "x-roomcast-relay", &vl);
    rc_free(c->relay_proof);
    c->relay_proof = NULL;
    if (!v || !e->cfg.relay_key || vl > 120)
        return 0;
    /* <seconds>.<nonce>.<mac> */
    char buf[128];
    memcpy(buf, v, vl);
    buf[vl] = '\0';
    char *d1 = strchr(buf, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d2 || strlen(d2 + 1) != GW_RELAY_MAC)
        return 0;
    long long t = strtoll(buf, NULL, 10), now = rc_now_us() / 1000000;
    if (t < now - GW_RELAY_SKEW_S || t > now + GW_RELAY_SKEW_S)
        return 0;
    char mac[GW_RELAY_MAC + 1], proof[GW_RELAY_MAC + 1];
    const char *nonce = d1 + 1;
    size_t nl = (size_t)(d2 - nonce);
    gw__relay_sign(e, t, nonce, nl, req->method, req->method_len, req->target, req->target_len, mac);
    if (CRYPTO_memcmp(mac, d2 + 1, GW_RELAY_MAC) != 0)
        return 0;
    gw__relay_proof(e, nonce, nl, proof);
    size_t hl = sizeof "X-Roomcast-Relay-Proof: \r\n" + GW_RELAY_MAC;
    c->relay_proof = rc_malloc(hl);
    snprintf(c->relay_proof, hl, "X-Roomcast-Relay-Proof: %s\r\n", proof);
    return 1;
}

/* ---- relaying ----------------------------------------------------------------------------- */

static void gw__deny(gw_conn *c, rc_counter *why, const char *reason, const gw_sid_info *info)
{
    rc_counter_inc(why);
    rc_log_limited(RC_LOG_WARN, "request for another gateway's session not relayed", "{s:s,s:s,s:s}",
                   "reason", reason, "owner", info ? info->owner : "", "remote", c->remote);
    if (why == c->e->k.denied_request)
        return gw__conn_eio_error(c, 400, 3, "Bad request");
    gw__conn_eio_error(c, 400, 1, "Session ID unknown");
}

static void gw__fwd_done(gw_conn *c, int owner_gone)
{
    gw_engine *e = c->e;
    c->peer_done = 1;
    if (owner_gone && !c->peer_proven) {
        e->stats.forward_owner_gone++;
        return gw__conn_eio_error(c, 400, 1, "Session ID unknown");
    }
    if (!c->peer_ws && e->cfg.forward_seconds)
        rc_histogram_observe(e->cfg.forward_seconds,
                             (double)(rc_now_us() - c->fwd_started_us) / 1e6);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
        gw__conn_close(c);
    else
        gw__conn_closing(c);
}

/* The owner's answer must prove it before anything reaches the client. 1 when it did
   (or had already), 0 while its head is incomplete, -1 when it did not. */
static int gw__peer_proved(gw_conn *c, struct evbuffer *in)
{
    if (c->peer_proven)
        return 1;
    size_t len = evbuffer_get_length(in), want = len < GW_MAX_HEAD ? len : GW_MAX_HEAD;
    http_response res;
    int n = http_parse_response((const char *)evbuffer_pullup(in, (ssize_t)want), want,
                                GW_MAX_HEAD, &res);
    if (n == 0)
        return 0;
    size_t pl;
    const char *proof = n > 0 ? http_response_header_get(&res, "x-roomcast-relay-proof", &pl) : NULL;
    if (!proof || pl != GW_RELAY_MAC || CRYPTO_memcmp(proof, c->relay_proof, GW_RELAY_MAC) != 0)
        return -1;
    c->peer_proven = 1;
    if (c->peer_ws && res.status == 101)
        bufferevent_enable(c->bev, EV_READ); /* the tunnel opens */
    return 1;
}

static void gw__peer_read(struct bufferevent *bev, void *arg)
{
    gw_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    int proved = gw__peer_proved(c, in);
    if (proved == 0)
        return;
    if (proved < 0) {
        bufferevent_disable(bev, EV_READ | EV_WRITE);
        c->peer_done = 1;
        evbuffer_drain(in, evbuffer_get_length(in));
        gw__deny(c, c->e->k.denied_unproven, "unproven", NULL);
        return;
    }
    struct evbuffer *out = bufferevent_get_output(c->bev);
    evbuffer_add_buffer(out, in);
    if (evbuffer_get_length(out) >= c->e->cfg.relay_buffer) {
        bufferevent_disable(bev, EV_READ); /* until the client takes it */
        if (!c->input_limited) {
            c->input_limited = 1;
            rc_counter_inc(c->e->k.input_relay);
        }
    }
}

/* The owner's side took what the client sent: the client is read again. */
static void gw__peer_write(struct bufferevent *bev, void *arg)
{
    gw_conn *c = arg;
    if (c->peer_ws && c->peer_proven && !c->dead && !c->close_after_write)
        bufferevent_enable(c->bev, EV_READ);
}

static void gw__peer_event(struct bufferevent *bev, short what, void *arg)
{
    gw_conn *c = arg;
    if (what & BEV_EVENT_CONNECTED)
        return;
    if (c->peer_done)
        return;
    int answered = evbuffer_get_length(bufferevent_get_input(bev)) > 0;
    if (answered)
        gw__peer_read(bev, arg);
    if (c->peer_done) /* refused as unproven */
        return;
    bufferevent_disable(bev, EV_READ | EV_WRITE);
    if ((what & BEV_EVENT_ERROR) && !answered)
        rc_log_limited(RC_LOG_WARN, "forward to the session's owner failed", "{s:s,s:s}", "remote",
                       c->remote, "error", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    if (answered && !c->peer_proven) { /* a head cut short */
        c->peer_done = 1;
        return gw__deny(c, c->e->k.denied_unproven, "unproven", NULL);
    }
    gw__fwd_done(c, !answered);
}

/* Copies the headers Engine.IO needs (and nothing else) from req into out. */
static void gw__copy_headers(struct evbuffer *out, const http_request *req, int websocket)
{
    static const char *const polling[] = {"origin", "content-type", NULL};
    static const char *const ws[] = {"origin", "sec-websocket-key", "sec-websocket-version", NULL};
    for (const char *const *n = websocket ? ws : polling; *n; n++) {
        size_t vl;
        const char *v = http_header_get(req, *n, &vl);
        if (v)
            evbuffer_add_printf(out, "%s: %.*s\r\n", *n, (int)vl, v);
    }
}

/* The request as the owner gets it (see the header comment), signed. */
static void gw__write_request(gw_conn *c, const char *owner, const char *sid, const http_request *req,
                              const uint8_t *body, size_t body_len, int websocket)
{
    gw_engine *e = c->e;
    struct evbuffer *out = bufferevent_get_output(c->peer);
    const char *method = req->method_len == 4 ? "POST" : "GET"; /* the only two relayed */
    char target[GW_SID_LEN + 128];
    size_t pl = http_path_len(req->target, req->target_len);
    snprintf(target, sizeof target, "%.*s?EIO=4&transport=%s&sid=%s", (int)(pl > 64 ? 64 : pl),
             req->target, websocket ? "websocket" : "polling", sid);
    uint8_t raw[12];
    char nonce[17], mac[GW_RELAY_MAC + 1];
    if (RAND_bytes(raw, sizeof raw) != 1)
        abort();
    *rc_b64url_encode(raw, sizeof raw, nonce) = '\0';
    long long t = rc_now_us() / 1000000;
    gw__relay_sign(e, t, nonce, strlen(nonce), method, strlen(method), target, strlen(target), mac);
    char proof[GW_RELAY_MAC + 1];
    gw__relay_proof(e, nonce, strlen(nonce), proof);
    c->relay_proof = rc_strdup(proof);
    evbuffer_add_printf(out, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, target, owner);
    gw__copy_headers(out, req, websocket);
    if (websocket)
        evbuffer_add_printf(out, "Upgrade: websocket\r\nConnection: Upgrade\r\n");
    else
        evbuffer_add_printf(out, "Content-Length: %zu\r\nConnection: close\r\n", body_len);
    evbuffer_add_printf(out, "X-Roomcast-Relay: %lld.%s.%s\r\n\r\n", t, nonce, mac);
    if (body_len)
        evbuffer_add(out, body, body_len);
}

void gw__forward(gw_conn *c, const gw_sid_info *info, const char *sid, const http_request *req,
                 const uint8_t *body, size_t body_len)
{
    gw_engine *e = c->e;
    char transport[16] = "";
    http_query_get(req->target, req->target_len, "transport", transport, sizeof transport);
    int websocket = !strcmp(transport, "websocket");
    int is_get = req->method_len == 3 && !memcmp(req->method, "GET", 3);
    int is_post = req->method_len == 4 && !memcmp(req->method, "POST", 4);
    size_t ul;
    const char *upgrade = http_header_get(req, "upgrade", &ul);
    int wants_ws = upgrade && ul == 9 && !strncasecmp(upgrade, "websocket", 9);
    if (websocket ? !(is_get && wants_ws) : !((is_get && !wants_ws) || is_post))
        return gw__deny(c, e->k.denied_request, "request", info);
    int64_t now = rc_now_us() / 1000000;
    if (now - info->issued_s > e->cfg.session_max_age_s || info->issued_s > now + GW_RELAY_SKEW_S)
        return gw__deny(c, e->k.denied_expired, "expired", info);
    if (!e->cfg.peer_known || !e->cfg.peer_known(e->cfg.peer_ctx, info->owner))
        return gw__deny(c, e->k.denied_unknown_peer, "unknown_peer", info);
    if (e->stats.forwards >= e->cfg.max_forwards) {
        e->stats.forward_refused++;
        return gw__conn_eio_error(c, 400, 1, "Session ID unknown");
    }
    rc_addr a;
    if (rc_addr_parse(info->owner, &a) != RC_OK || a.port == 0) {
        e->stats.forward_forged++;
        return gw__conn_eio_error(c, 400, 1, "Session ID unknown");
    }
    if (!e->dns)
        e->dns = evdns_base_new(e->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
    c->peer = bufferevent_socket_new(e->base, -1, BEV_OPT_CLOSE_ON_FREE);
    c->peer_ws = websocket;
    c->state = GW_CONN_FORWARD;
    c->fwd_started_us = rc_now_us();
    e->stats.forwards++;
    if (websocket)
        e->stats.forwarded_websocket++;
    else
        e->stats.forwarded_polling++;
    bufferevent_setcb(c->peer, gw__peer_read, gw__peer_write, gw__peer_event, c);
    bufferevent_setwatermark(c->peer, EV_WRITE, e->cfg.relay_buffer / 2, 0);
    /* a held GET lasts up to a ping interval; past that and a margin the owner is stuck */
    long idle_ms = websocket ? 0 : e->cfg.ping_interval_ms + e->cfg.ping_timeout_ms + 5000;
    struct timeval rt = {idle_ms / 1000, (idle_ms % 1000) * 1000}, ct = {5, 0};
    bufferevent_set_timeouts(c->peer, websocket ? NULL : &rt, &ct);
    bufferevent_set_timeouts(c->bev, NULL, NULL);
    gw__conn_no_deadline(c);
    /* a WebSocket's frames wait until the owner proved itself and opened the tunnel;
       what a polling client sends past its request is dropped */
    c->read_paused = 0;
    if (websocket)
        bufferevent_disable(c->bev, EV_READ);
    else
        bufferevent_enable(c->bev, EV_READ);
    gw__write_request(c, info->owner, sid, req, body, body_len, websocket);
    bufferevent_enable(c->peer, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect_hostname(c->peer, e->dns, AF_UNSPEC, a.host, a.port) != 0)
        gw__peer_event(c->peer, BEV_EVENT_ERROR, c);
}

/* Bytes from the client while relaying: a WebSocket's frames go through, up to
   relay_buffer waiting for the owner; past it the client is not read until the owner's
   side takes them (gw__peer_write). */
void gw__forward_client_data(gw_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    if (!c->peer || !c->peer_ws || c->peer_done) {
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    struct evbuffer *out = bufferevent_get_output(c->peer);
    evbuffer_add_buffer(out, in);
    if (evbuffer_get_length(out) >= c->e->cfg.relay_buffer) {
        bufferevent_disable(c->bev, EV_READ);
        if (!c->input_limited) {
            c->input_limited = 1;
            rc_counter_inc(c->e->k.input_relay);
        }
    }
}

void gw__forward_client_drained(gw_conn *c)
{
    if (c->peer && !c->peer_done)
        bufferevent_enable(c->peer, EV_READ);
}

/* The client's side closed: the owner's side goes with it. */
void gw__forward_close(gw_conn *c)
{
    if (!c->peer)
        return;
    bufferevent_free(c->peer);
    c->peer = NULL;
    c->e->stats.forwards--;
}
