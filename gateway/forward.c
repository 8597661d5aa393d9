/* forward.c: Engine.IO sessions across gateways behind a balancer with no stickiness.
 *
 * A session id names the gateway that owns the session: base64url of 9 random bytes, the
 * owner's advertised host:port, and a 64-bit HMAC-SHA256 tag with the cluster key. A
 * gateway that receives a long-polling request or an upgrade for a session it does not
 * hold checks the tag first (a forged id is refused and nothing leaves the gateway),
 * then relays the request to the owner: one HTTP exchange for polling, a byte tunnel for
 * the WebSocket upgrade. A relayed request carries X-Roomcast-Forwarded, so it is never
 * relayed twice; an owner that is gone gives "Session ID unknown", and the client starts
 * a new session. Forwarding is bounded (connections at once, connect and idle timeouts). */
#include <event2/buffer.h>
#include <event2/dns.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "common/b64url.h"
#include "common/kafka.h"
#include "common/log.h"
#include "gateway/engine_int.h"

#define SID_RANDOM 9
#define SID_TAG 8
#define OWNER_MAX 64 /* ROOMCAST_ADVERTISE_ADDR is at most 64 characters: ids fit in 128 */

static void sid_tag(const gw_engine *e, const uint8_t *body, size_t n, uint8_t tag[SID_TAG])
{
    unsigned char mac[32];
    unsigned int ml = sizeof mac;
    HMAC(EVP_sha256(), e->cfg.cluster_key, 32, body, n, mac, &ml);
    memcpy(tag, mac, SID_TAG);
}

void gw__sid_new(const gw_engine *e, char *out, size_t len)
{
    uint8_t b[SID_RANDOM + OWNER_MAX + SID_TAG];
    size_t ol = strlen(e->cfg.advertise);
    if (ol > OWNER_MAX)
        ol = OWNER_MAX;
    if (RAND_bytes(b, SID_RANDOM) != 1)
        abort();
    memcpy(b + SID_RANDOM, e->cfg.advertise, ol);
    sid_tag(e, b, SID_RANDOM + ol, b + SID_RANDOM + ol);
    size_t n = SID_RANDOM + ol + SID_TAG;
    if (rc_b64url_len(n) + 1 > len)
        abort(); /* ids are sized for OWNER_MAX */
    *rc_b64url_encode(b, n, out) = '\0';
}

int gw__sid_owner(const gw_engine *e, const char *sid, char *owner, size_t len)
{
    if (!e->cfg.cluster_key)
        return 0;
    uint8_t b[SID_RANDOM + OWNER_MAX + SID_TAG + 3];
    size_t sl = strlen(sid);
    if (sl > sizeof b * 4 / 3)
        return -1;
    long n = rc_b64url_decode(sid, sl, b);
    if (n < SID_RANDOM + SID_TAG + 3)
        return -1;
    uint8_t tag[SID_TAG];
    sid_tag(e, b, (size_t)n - SID_TAG, tag);
    if (CRYPTO_memcmp(tag, b + n - SID_TAG, SID_TAG) != 0)
        return -1;
    size_t ol = (size_t)n - SID_TAG - SID_RANDOM;
    if (ol >= len)
        return -1;
    memcpy(owner, b + SID_RANDOM, ol);
    owner[ol] = '\0';
    return strcmp(owner, e->cfg.advertise) != 0;
}

/* ---- relaying ----------------------------------------------------------------------------- */

static void gw__fwd_done(gw_conn *c, int owner_gone)
{
    gw_engine *e = c->e;
    if (owner_gone && !c->peer_ws && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
        e->stats.forward_owner_gone++;
        c->keepalive = 0;
        gw__conn_eio_error(c, 400, 1, "Session ID unknown");
        return;
    }
    if (!c->peer_ws && e->cfg.forward_seconds)
        rc_histogram_observe(e->cfg.forward_seconds,
                             (double)(rc_now_us() - c->fwd_started_us) / 1e6);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
        gw__conn_close(c);
    else
        gw__conn_closing(c);
}

static void gw__peer_read(struct bufferevent *bev, void *arg)
{
    gw_conn *c = arg;
    evbuffer_add_buffer(bufferevent_get_output(c->bev), bufferevent_get_input(bev));
}

static void gw__peer_event(struct bufferevent *bev, short what, void *arg)
{
    gw_conn *c = arg;
    if (what & BEV_EVENT_CONNECTED)
        return;
    int never_answered = !(what & BEV_EVENT_EOF) || c->fwd_started_us == 0;
    gw__peer_read(bev, arg);
    bufferevent_disable(bev, EV_READ | EV_WRITE);
    if (what & BEV_EVENT_ERROR)
        rc_log_limited(RC_LOG_WARN, "forward to the session's owner failed", "{s:s,s:s}", "remote",
                       c->remote, "error", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    gw__fwd_done(c, never_answered && (what & BEV_EVENT_ERROR));
}

/* The request as the owner gets it: the same line and headers, marked as relayed, and
 * closed after one exchange (polling) or kept as a tunnel (WebSocket). */
static void gw__write_request(struct evbuffer *out, const http_request *req, const uint8_t *body,
                              size_t body_len, int websocket)
{
    evbuffer_add_printf(out, "%.*s %.*s HTTP/1.1\r\n", (int)req->method_len, req->method,
                        (int)req->target_len, req->target);
    for (size_t i = 0; i < req->num_headers; i++) {
        const http_header *h = &req->headers[i];
        if (!websocket && ((h->name_len == 10 && !strncasecmp(h->name, "connection", 10)) ||
                           (h->name_len == 10 && !strncasecmp(h->name, "keep-alive", 10))))
            continue;
        evbuffer_add_printf(out, "%.*s: %.*s\r\n", (int)h->name_len, h->name, (int)h->value_len,
                            h->value);
    }
    evbuffer_add_printf(out, "X-Roomcast-Forwarded: 1\r\n%s\r\n",
                        websocket ? "" : "Connection: close\r\n");
    if (body_len)
        evbuffer_add(out, body, body_len);
}

void gw__forward(gw_conn *c, const char *owner, const http_request *req, const uint8_t *body,
                 size_t body_len, int websocket)
{
    gw_engine *e = c->e;
    if (e->stats.forwards >= e->cfg.max_forwards) {
        e->stats.forward_refused++;
        c->keepalive = 0;
        return gw__conn_eio_error(c, 400, 1, "Session ID unknown");
    }
    rc_addr a;
    if (rc_addr_parse(owner, &a) != RC_OK || a.port == 0) {
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
    bufferevent_setcb(c->peer, gw__peer_read, NULL, gw__peer_event, c);
    /* a held GET lasts up to a ping interval; past that and a margin the owner is stuck */
    long idle_ms = websocket ? 0 : e->cfg.ping_interval_ms + e->cfg.ping_timeout_ms + 5000;
    struct timeval rt = {idle_ms / 1000, (idle_ms % 1000) * 1000}, ct = {5, 0};
    bufferevent_set_timeouts(c->peer, websocket ? NULL : &rt, &ct);
    bufferevent_set_timeouts(c->bev, NULL, NULL);
    gw__conn_no_deadline(c);
    gw__write_request(bufferevent_get_output(c->peer), req, body, body_len, websocket);
    bufferevent_enable(c->peer, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect_hostname(c->peer, e->dns, AF_UNSPEC, a.host, a.port) != 0)
        gw__peer_event(c->peer, BEV_EVENT_ERROR, c);
}

/* Bytes from the client while relaying: a WebSocket's frames go through. */
void gw__forward_client_data(gw_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    if (c->peer && c->peer_ws)
        evbuffer_add_buffer(bufferevent_get_output(c->peer), in);
    else
        evbuffer_drain(in, evbuffer_get_length(in));
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
