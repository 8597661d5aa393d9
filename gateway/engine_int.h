/* engine_int.h: the structures shared by engine.c (connections, HTTP, WebSocket framing)
 * and session.c (Engine.IO sessions and their transports). Not for other modules. */
#ifndef GW_ENGINE_INT_H
#define GW_ENGINE_INT_H

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <sys/queue.h>

#include "common/map.h"
#include "gateway/engine.h"
#include "gateway/http.h"
#include "gateway/sid.h"
#include "gateway/websocket.h"

#define GW_MAX_HEAD 8192
#define GW_MAX_ENDPOINTS 4

typedef struct gw_conn gw_conn;
struct gw_sid_info_s; /* sid.h */

typedef enum {
    GW_CONN_FORWARD,   /* relaying a request (or a WebSocket) to the session's owner */
    GW_CONN_HTTP,      /* reading a request head (and body) */
    GW_CONN_POLL_WAIT, /* holding a long-polling GET open for its session */
    GW_CONN_WS,        /* a WebSocket: the session's transport, or its upgrade probe */
} gw_conn_state;

typedef struct {
    char path[64];
    size_t path_len;
    gw_endpoint_handlers h;
    void *ctx;
} gw_endpoint;

struct gw_conn {
    gw_engine *e;
    struct bufferevent *bev;
    gw_conn_state state;
    int nsessions;         /* live sessions opened by requests on this connection */
    gw_session *session;   /* WS and POLL_WAIT: the session served */
    /* Flags, a byte each: this struct is per connection (docs/benchmarks, scenario 3). */
    uint8_t dead;              /* closed: freed at the next safe point */
    uint8_t close_after_write; /* close once the output has drained */
    uint8_t keepalive;
    uint8_t is_probe;          /* WS: an upgrade probe, not yet the session's transport */
    uint8_t ws_closing;        /* WS: we sent our CLOSE frame */
    uint8_t input_limited;     /* hit its input bound once (counted once) */
    uint8_t read_paused;       /* reading stopped at the input bound */
    uint8_t peer_ws;           /* FORWARD: a WebSocket tunnel (else one HTTP exchange) */
    uint8_t peer_proven;       /* FORWARD: the owner's answer carried the relay proof */
    uint8_t peer_done;         /* FORWARD: the owner's side ended */
    /* WS over plain TCP: written by the engine at the safe point (one write for all that
       the loop turn queued) with the bufferevent's EV_WRITE off, so a delivery costs no
       epoll_ctl; EV_WRITE is on only while the kernel takes less than was queued */
    uint8_t corked;
    uint8_t write_due; /* on e->write_conns */
    uint8_t lingering; /* HTTP, closing: the answer is out and the write side shut; what the
                          client still sends is read and dropped until it closes (engine.c) */
    ws_reader ws;
    char remote[56]; /* "[IPv6]:port" fits */
    char *cors;               /* CORS headers for the request being answered (NULL: none);
                                 heap, since WebSockets, most connections, have none */
    struct event *timer; /* the absolute deadline: the request's (HTTP), or the close's
                            (closing); NULL while none is due (WebSockets, held GETs) */
    LIST_HEAD(, gw_session) opened;
    struct bufferevent *peer; /* FORWARD: the connection to the owner */
    char *relay_proof;        /* a relayed request: the proof header its answer carries;
                                 FORWARD: the proof the owner's answer must carry */
    int64_t fwd_started_us;
    LIST_ENTRY(gw_conn) link;
    LIST_ENTRY(gw_conn) dead_link;
    LIST_ENTRY(gw_conn) write_link;
};

typedef enum { GW_TRANSPORT_POLLING, GW_TRANSPORT_WS } gw_transport;

#define GW_HB_NONE 0 /* on no heartbeat list */
#define GW_HB_PING 1 /* waits to send its next ping */
#define GW_HB_PONG 2 /* waits for the pong to its ping */
#define GW_HB_LISTS 2

struct gw_session {
    gw_engine *e;
    gw_endpoint *ep;
    char id[GW_SID_LEN]; /* a cluster id (sid.h) or a plain random one */
    gw_transport transport;
    /* Flags, a byte each: this struct is per connection. */
    uint8_t upgrading;     /* the probe answered 3probe: polling GETs get noop */
    uint8_t closing;       /* gw_session_close ran; on_close is due */
    uint8_t flush_due;     /* on the engine's flush list */
    uint8_t close_next;    /* polling: close once close_after_flush's frames are fetched */
    uint8_t awaiting_pong; /* heartbeat: a ping is out */
    uint8_t hb_list;       /* heartbeat: GW_HB_NONE, GW_HB_PING or GW_HB_PONG */
    uint32_t opened_s;     /* when it opened (Unix s): polling sessions end at session_max_age_s */
    gw_conn *ws;    /* transport WS: the WebSocket */
    gw_conn *probe; /* polling, upgrading: the WebSocket being probed */
    gw_conn *get;   /* polling: the GET held open */
    const char *close_reason;
    /* Polling: a close the server decided that waits for the client to fetch what is
       queued (gw_session_close_after_flush); close_next once it has. */
    const char *close_after_flush;
    /* Polling: frames waiting for the next GET. */
    gw_frame **q;
    size_t qlen, qcap, qbytes;
    /* Heartbeat (heartbeat.c): on the engine's list hb_list, due at hb_due_ms */
    int64_t hb_due_ms; /* monotonic */
    TAILQ_ENTRY(gw_session) hb_link;
    struct event *upgrade_timer;
    void *data;
    char remote[56]; /* "[IPv6]:port" fits */
    int64_t over_soft_since_us; /* 0 while at or below out_soft_limit */
    gw_conn *opener;              /* the connection whose request opened it, while it lives */
    struct gw_addr_count *addr;   /* its client address's count (admission.c) */
    LIST_ENTRY(gw_session) opener_link;
    LIST_ENTRY(gw_session) link;
    LIST_ENTRY(gw_session) watch_link; /* on the engine's watch list while over the soft limit */
    LIST_ENTRY(gw_session) dead_link;
    LIST_ENTRY(gw_session) flush_link;
};

/* The counters of the engine's bounds (engine_metrics.c); owned by the registry. */
typedef struct {
    struct rc_counter *refused_conn, *refused_addr, *refused_total;
    struct rc_counter *input_request, *input_held_get, *input_relay;
    struct rc_counter *timeout_request, *timeout_write, *timeout_closing;
    struct rc_counter *accept_paused;
    struct rc_counter *denied_request, *denied_expired, *denied_unknown_peer, *denied_unproven;
} gw_engine_counters;

struct gw_engine {
    struct event_base *base;
    gw_engine_config cfg;
    struct evconnlistener *listener;
    int port;
    gw_endpoint endpoints[GW_MAX_ENDPOINTS];
    size_t nendpoints;
    rc_map *sessions; /* id -> gw_session */
    rc_map *addrs;    /* client address -> gw_addr_count (admission.c) */
    struct event *accept_resume; /* re-enables accepting after a pause (listener.c) */
    int64_t accept_logged_us;      /* when the last pause was logged */
    size_t freed_since_trim;       /* buffered bytes of connections freed since the last trim */
    int64_t trimmed_us;
    uint64_t accept_logged_pauses; /* stats.accept_paused then */
    LIST_HEAD(, gw_conn) conns;
    LIST_HEAD(, gw_session) all_sessions;
    LIST_HEAD(, gw_conn) dead_conns;
    LIST_HEAD(, gw_session) dead_sessions;
    LIST_HEAD(, gw_session) flush_sessions;
    LIST_HEAD(, gw_conn) write_conns; /* corked WebSockets with output to write */
    LIST_HEAD(, gw_session) watched; /* sessions over the soft output limit */
    struct event *watch_timer;
    /* heartbeat.c: sessions in deadline order, one list per wait (GW_HB_PING, GW_HB_PONG,
       at index - 1), and one timer at the earliest */
    TAILQ_HEAD(, gw_session) hb[GW_HB_LISTS];
    struct event *hb_timer;
    int64_t hb_timer_ms; /* when hb_timer fires (monotonic ms); 0 when it is not pending */
    struct evdns_base *dns; /* for owners named by host name (compose service names) */
    struct event *safe_point; /* runs deferred closes and flushes */
    gw_engine_stats stats;
    gw_engine_counters k;
    struct rc_metrics *own_metrics; /* when cfg.metrics is NULL */
};


/* engine.c */
void gw__conn_close(gw_conn *c);
/* Closes once the output has drained, reading no more, and at the latest after
   close_timeout_ms: a client that never reads cannot hold a closing connection. */
void gw__conn_closing(gw_conn *c);
/* Clears the connection's deadline (a relay keeps its own timers). */
void gw__conn_no_deadline(gw_conn *c);
/* The connection now holds a polling GET: no deadline (the session answers it at the
   latest with its next ping), and no more than a request head read ahead. */
void gw__conn_hold(gw_conn *c);
/* A new client connection on fd from sa (listener.c hands them over). */
void gw__conn_accepted(gw_engine *e, evutil_socket_t fd, struct sockaddr *sa);
void gw__conn_respond(gw_conn *c, int status, const char *content_type, const void *body,
                      size_t len, const char *extra_headers);
void gw__conn_eio_error(gw_conn *c, int status, int code, const char *message);
void gw__conn_ws_send_text(gw_conn *c, const char *text, size_t len);
void gw__conn_ws_close(gw_conn *c, uint16_t code, const char *reason);
void gw__engine_schedule(gw_engine *e);
void gw__conn_become_ws(gw_conn *c, const char *accept_key);

/* forward.c */
/* Whether sid names another gateway (its owner into owner); 0 for ours or a plain id;
 * -1 for an id whose signature does not verify (forged). */
int gw__sid_owner(const gw_engine *e, const char *sid, char *owner, size_t len);
/* As gw__sid_owner, with the id's owner and issue time in *info when it is one of ours. */
int gw__sid_info(const gw_engine *e, const char *sid, struct gw_sid_info_s *info);
void gw__sid_new(const gw_engine *e, char *out, size_t len);
/* 1 when req was relayed by a gateway of this cluster (a valid X-Roomcast-Relay): it is
 * never relayed again, and c->relay_proof is set for its answer. */
int gw__relay_check(gw_conn *c, const http_request *req);
/* Relays req (for a session another gateway owns, per info) when it is an Engine.IO
 * request a relay carries, its id is young enough and its owner a known peer; else
 * answers 400 and counts why. */
void gw__forward(gw_conn *c, const struct gw_sid_info_s *info, const char *sid,
                 const http_request *req, const uint8_t *body, size_t body_len);
void gw__forward_client_data(gw_conn *c);
/* The client took everything relayed to it so far: the owner's side is read again. */
void gw__forward_client_drained(gw_conn *c);
void gw__forward_close(gw_conn *c);

/* heartbeat.c: the engine's heartbeat deadlines, without a timer per session */
void gw__hb_init(gw_engine *e);
void gw__hb_free(gw_engine *e);
/* (Re)arms s on list GW_HB_PING (due in ping_interval_ms) or GW_HB_PONG (ping_timeout_ms). */
void gw__hb_arm(gw_session *s, int list);
void gw__hb_disarm(gw_session *s);
/* session.c: s's heartbeat step is due (send a ping, or end it for a missing pong). */
void gw__session_heartbeat(gw_session *s);

/* engine_metrics.c */
void gw__engine_counters_init(gw_engine *e);
void gw__engine_counters_free(gw_engine *e);

/* admission.c: how many sessions a connection, a client address and the gateway hold */
/* 1 when req on c may open a session; else answers 429, counts it and returns 0. ip gets
   the request's client address (netaddr.h). */
int gw__admit(gw_conn *c, const http_request *req, char *ip);
/* Binds a new session to the connection and client address that opened it. */
void gw__admitted(gw_session *s, gw_conn *c, const char *ip);
void gw__admission_release(gw_session *s); /* the session is finishing */
void gw__admission_conn_gone(gw_conn *c);  /* the connection is being freed */

/* session.c */
/* Applies the output bounds to a session about to hold queued bytes; 1 if it was dropped. */
int gw__session_over(gw_session *s, size_t queued);
gw_session *gw__session_new(gw_engine *e, gw_endpoint *ep, gw_transport t, const char *remote);
void gw__session_open_polling(gw_session *s, gw_conn *c);
void gw__session_open_ws(gw_session *s, gw_conn *c);
void gw__session_poll_get(gw_session *s, gw_conn *c);
int gw__session_poll_post(gw_session *s, const uint8_t *body, size_t len);
void gw__session_probe(gw_session *s, gw_conn *c);
void gw__session_ws_message(gw_session *s, gw_conn *c, const ws_event *ev);
void gw__session_conn_lost(gw_session *s, gw_conn *c, const char *reason);
void gw__session_flush(gw_session *s);
void gw__session_finish(gw_session *s);
void gw__session_watch_tick(gw_engine *e);

#endif
