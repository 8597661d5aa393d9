/* sio_server.h: the Socket.IO v5 layer over Engine.IO sessions: namespaces, CONNECT
 * (with the handshake's auth object) and CONNECT_ERROR, events, acks, binary packets
 * (at most SIO_MAX_ATTACHMENTS attachments, reassembled before the app sees them),
 * DISCONNECT both ways, and the connect timeout. The application (the roomcast gateway,
 * or the protocol test server) plugs in through gw_sio_handlers.
 *
 * Promises: a packet the reference server would refuse closes the session ("parse
 * error"), is counted and logged (rate-limited); an unknown namespace gets CONNECT_ERROR
 * "Invalid namespace"; on_disconnect runs exactly once per accepted socket. */
#ifndef GW_SIO_SERVER_H
#define GW_SIO_SERVER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/engine.h"
#include "gateway/socketio.h"

typedef struct gw_sio gw_sio;
typedef struct gw_socket gw_socket;

/* Binary attachments of a BINARY_EVENT / BINARY_ACK, in order; borrowed for the call. */
typedef struct {
    size_t count;
    const uint8_t *data[SIO_MAX_ATTACHMENTS];
    size_t len[SIO_MAX_ATTACHMENTS];
} gw_attachments;

typedef struct {
    /* Whether a namespace exists (1) or gets "Invalid namespace" (0). */
    int (*nsp_allowed)(const char *nsp, size_t len, void *ctx);
    /* A CONNECT to an allowed namespace. auth is the handshake's object (never NULL).
     * Return 0 to accept: the layer then answers 40{"sid":...} plus whatever fields the
     * handler put into reply. Return non-zero to refuse, after setting *error to the
     * CONNECT_ERROR data ({"message":"unauthorized"}); the socket is then gone. The
     * handler may already send packets on an accepted socket: they precede the reply. */
    int (*on_connect)(gw_socket *s, const json_t *auth, json_t *reply, json_t **error, void *ctx);
    /* An EVENT or BINARY_EVENT (p->type), with its attachments. p->data is the args array
     * with the event name first. */
    void (*on_event)(gw_socket *s, const sio_packet *p, const gw_attachments *att, void *ctx);
    /* The socket is gone: "client namespace disconnect", "server namespace disconnect",
     * or the session's close reason ("transport close", "ping timeout", ...). */
    void (*on_disconnect)(gw_socket *s, const char *reason, void *ctx);
} gw_sio_handlers;

typedef struct {
    uint64_t connects, connect_errors, invalid_namespace, bad_packets, connect_timeouts;
    size_t sockets;
} gw_sio_stats;

/* Serves Socket.IO on path of engine. connect_timeout_ms: a session that connects no
 * namespace within it is closed (the reference's connectTimeout, 45000). */
gw_sio *gw_sio_new(gw_engine *engine, const char *path, long connect_timeout_ms,
                   const gw_sio_handlers *h, void *ctx);
void gw_sio_free(gw_sio *sio);
const gw_sio_stats *gw_sio_get_stats(const gw_sio *sio);

/* ---- sockets ---------------------------------------------------------------------- */
const char *gw_socket_id(const gw_socket *s);
const char *gw_socket_nsp(const gw_socket *s);
gw_session *gw_socket_session(const gw_socket *s);
void gw_socket_set_data(gw_socket *s, void *data);
void *gw_socket_data(const gw_socket *s);

/* Sends a pre-framed packet (gateway/frame.h) to this socket. 0 if the session was
 * dropped as a slow client. */
int gw_socket_send_frame(gw_socket *s, gw_frame *f);
/* As gw_socket_send_frame for an open frame completed by tail. */
int gw_socket_send_frame_tail(gw_socket *s, gw_frame *f, const char *tail, size_t tlen);
/* Gives the socket another id (connection state recovery keeps the old one). Only
 * inside on_connect. */
void gw_socket_set_id(gw_socket *s, const char *id);
/* Encodes and sends one packet in the socket's namespace. data may be NULL. */
int gw_socket_send(gw_socket *s, sio_type type, int has_id, uint64_t id, const json_t *data,
                   const gw_attachments *att);
/* Emits event with args (a JSON array of the arguments after the name; NULL for none). */
int gw_socket_emit(gw_socket *s, const char *event, const json_t *args);
/* Answers a client's ack id with args (a JSON array). */
int gw_socket_ack(gw_socket *s, uint64_t id, const json_t *args);
/* Server-side disconnect: sends DISCONNECT, then on_disconnect("server namespace
 * disconnect") at a safe point. With close_session, the Engine.IO session closes too. */
void gw_socket_disconnect(gw_socket *s, int close_session);

#endif
