/* engine.h: the Engine.IO v4 server on libevent: one listener (plain or TLS) speaking
 * HTTP/1.1, the WebSocket upgrade, and Engine.IO sessions over either transport, with
 * the long-polling -> WebSocket upgrade. Above it sits a Socket.IO layer (sio_server.h)
 * or, in the protocol test server, a plain echo.
 *
 * Promises:
 *  - A session lives from its open packet to gw_session_close or the peer's close,
 *    ping timeout, transport error or a protocol violation; on_close runs exactly once,
 *    and after it the session pointer is dead.
 *  - Callbacks never run inside another callback of the same session; a session or a
 *    connection closed by a callback is freed later, at a safe point of the event loop.
 *  - Bad input (a malformed frame, packet or request) closes only its own connection or
 *    session with the right WebSocket close code or HTTP status, is counted, and is
 *    logged with rc_log_limited. Nothing a client sends makes the process exit.
 *  - Every buffer has a bound: request heads (8 KiB), bodies and messages (max_payload),
 *    each session's outbound queue (out_limit bytes, control frames and pongs included;
 *    past it the session is closed as a slow client), and what a connection reads ahead:
 *    one request (head + body) while it waits for a request, nothing past one request
 *    head behind a held GET (past it the connection is closed), nothing while closing.
 *    Pipelined requests are parsed only once the previous answer has been written out.
 *  - Every connection has a deadline: its request (head and body) within
 *    handshake_timeout_ms of the connection or of the previous answer being written
 *    out, however slowly it trickles in; a held GET until the session answers it (at the
 *    latest at its ping); a closing connection close_timeout_ms to take its last bytes.
 *  - Sessions are bounded per connection (max_sessions_per_conn, unless the connection
 *    comes from a trusted proxy), per client address (max_sessions_per_addr) and in all
 *    (max_connections); past a bound the opening request gets 429.
 * Everything runs on the thread of the event base. */
#ifndef GW_ENGINE_H
#define GW_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/metrics.h"
#include "gateway/frame.h"

struct event_base;
struct evbuffer;
typedef struct ssl_ctx_st SSL_CTX;

typedef struct gw_engine gw_engine;
typedef struct gw_session gw_session;

typedef struct {
    long ping_interval_ms;     /* 25000 */
    long ping_timeout_ms;      /* 20000 */
    long upgrade_timeout_ms;   /* 10000 */
    long handshake_timeout_ms; /* a connection must finish its request head within this */
    size_t max_payload;        /* 1000000: frames, messages, POST bodies */
    size_t max_connections;    /* TCP connections at once, and sessions at once; past it new
                                  ones are closed / refused */
    long close_timeout_ms;     /* a closing connection's time to take its last bytes */
    size_t max_sessions_per_conn; /* sessions opened over one connection and alive */
    size_t max_sessions_per_addr; /* sessions of one client address; 0: no bound */
    const struct gw_net_list *trusted_proxies; /* whose X-Forwarded-For is believed;
                                                    NULL: none */
    struct rc_metrics *metrics; /* where the engine registers the counters of its bounds
                                   (engine_metrics.c); NULL: a registry of its own */
    /* Slow clients, as Redis' client output buffer limits: a session whose queued bytes
       pass out_limit is dropped at once; one that stays above out_soft_limit for
       out_soft_ms is dropped too. Bursts that a reading client drains are left alone. */
    size_t out_limit;
    size_t out_soft_limit;
    long out_soft_ms;
    const char *allowed_origins; /* comma list of Origin values, NULL for any */
    SSL_CTX *tls;              /* serve https/wss; NULL for plain */
    /* Sessions across gateways with no sticky balancer: when cluster_key is set, each
       session id names its owner (advertise, signed with the key), and a request for a
       session owned by another gateway is forwarded there. NULL: ids are plain. */
    const uint8_t *cluster_key; /* 32 bytes: signs session ids (sid.h) */
    const uint8_t *relay_key;   /* 32 bytes: signs relayed requests and their answers */
    const char *advertise;      /* host:port other gateways reach this one's listener at */
    size_t max_forwards;        /* forwarded connections at once */
    rc_histogram *forward_seconds; /* observes each completed polling relay; may be NULL */
    size_t relay_buffer;        /* bytes a relay holds each way before it stops reading */
    long session_max_age_s;     /* a session id's life: relays refuse older ids, and a
                                   polling session is closed at that age */
    /* Whether host:port is a gateway of this cluster now (peers.h); NULL: none is. */
    int (*peer_known)(void *ctx, const char *advertise);
    void *peer_ctx;
} gw_engine_config;

/* What an endpoint does with its sessions. All are called on the loop thread. */
typedef struct {
    void (*on_open)(gw_session *s, void *ctx);
    /* A MESSAGE packet: text (binary == 0) or a binary attachment. */
    void (*on_message)(gw_session *s, const uint8_t *data, size_t len, int binary, void *ctx);
    void (*on_close)(gw_session *s, const char *reason, void *ctx);
} gw_endpoint_handlers;

/* Counters the engine keeps; the owner renders them as metrics. */
typedef struct {
    uint64_t connections_accepted, connections_refused, sessions_opened;
    uint64_t bad_requests, bad_frames, bad_packets, slow_clients, ping_timeouts;
    uint64_t upgrades, frames_out, bytes_out;
    uint64_t forwarded_polling, forwarded_websocket, forward_owner_gone, forward_forged,
        forward_refused;
    size_t forwards;
    size_t connections, sessions, sessions_ws, sessions_polling;
} gw_engine_stats;

gw_engine *gw_engine_new(struct event_base *base, const gw_engine_config *cfg);
/* Serves Engine.IO sessions on path ("/socket.io/"). The engine keeps handlers and ctx. */
void gw_engine_add_endpoint(gw_engine *e, const char *path, const gw_endpoint_handlers *h,
                            void *ctx);
/* Relays go only to the gateways known(ctx, "host:port") says are of this cluster now. */
void gw_engine_set_peers(gw_engine *e, int (*known)(void *ctx, const char *advertise), void *ctx);
/* Binds and listens; RC_EIO with errstr naming the address on failure. */
int gw_engine_listen(gw_engine *e, const rc_addr *addr, char *errstr, size_t errlen);
int gw_engine_port(const gw_engine *e);
/* Stops accepting; existing sessions carry on (the drain). */
void gw_engine_stop_listening(gw_engine *e);
/* Closes up to n sessions (the drain); returns how many it closed. */
size_t gw_engine_close_some(gw_engine *e, size_t n, const char *reason);
/* Closes every session (on_close with reason) and connection. */
void gw_engine_close_all(gw_engine *e, const char *reason);
void gw_engine_free(gw_engine *e);
const gw_engine_stats *gw_engine_get_stats(const gw_engine *e);
struct event_base *gw_engine_base(gw_engine *e);
/* 20 characters of base64url from 15 random bytes: an unguessable, URL- and JSON-safe id. */
void gw_random_id(char out[24]);

/* ---- sessions ---------------------------------------------------------------- */
const char *gw_session_id(const gw_session *s);
const char *gw_session_transport(const gw_session *s); /* "polling" or "websocket" */
const char *gw_session_remote(const gw_session *s);    /* peer address of the opening request */
void gw_session_set_data(gw_session *s, void *data);
void *gw_session_data(const gw_session *s);
/* Queues a frame (the session takes its own reference). Past out_limit the session is
 * closed as a slow client and 0 is returned; 1 when queued. */
int gw_session_send(gw_session *s, gw_frame *f);
/* Queues an open frame completed by tail (frame.h), with the same limits. */
int gw_session_send_tail(gw_session *s, gw_frame *f, const char *tail, size_t tlen);
/* Closes the session: on_close(reason) runs later, at a safe point. Idempotent. */
void gw_session_close(gw_session *s, const char *reason);
/* Closes the session once the client has what is queued for it (a Socket.IO DISCONNECT):
 * over WebSocket at once (it is written first); over long-polling the queue goes in the
 * held or next GET and the close packet in the GET after, as the reference server drains
 * its buffer before it closes. The heartbeat bounds the wait; gw_session_close still
 * closes at once. */
void gw_session_close_after_flush(gw_session *s, const char *reason);
/* Bytes queued for this session right now. */
size_t gw_session_queued(const gw_session *s);

#endif
