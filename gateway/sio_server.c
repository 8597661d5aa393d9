/* sio_server.c: Socket.IO v5 over Engine.IO sessions (see sio_server.h).
 *
 * Each Engine.IO session carries one gw_sio_conn: its sockets (one per connected
 * namespace), a binary packet being reassembled, and the connect timer. A socket the
 * server disconnects is unlinked at once and freed at the sio's safe point, so an app
 * may disconnect a socket from inside that socket's own callback. */
#include "gateway/sio_server.h"

#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>

#include "common/alloc.h"
#include "common/log.h"

typedef struct gw_sio_conn gw_sio_conn;

struct gw_socket {
    gw_sio_conn *conn;
    char id[24];
    char *nsp; /* gw__root_nsp (nearly always), else heap */
    void *data;
    int gone;
    /* While on_connect runs, packets wait here so the CONNECT reply goes first. */
    int connecting;
    gw_frame **early;
    size_t nearly;
    LIST_ENTRY(gw_socket) link;
    LIST_ENTRY(gw_socket) dead_link;
};

struct gw_sio_conn {
    gw_sio *sio;
    gw_session *session;
    LIST_HEAD(, gw_socket) sockets;
    int ever_connected;
    struct event *connect_timer;
    /* A BINARY_* packet waiting for its attachments; NULL almost always, so the
       attachment bookkeeping is only allocated while it is needed. */
    struct gw__pending *pending;
};

struct gw__pending {
    sio_packet pend;
    gw_attachments att;
    uint8_t *att_buf[SIO_MAX_ATTACHMENTS];
};

struct gw_sio {
    gw_engine *engine;
    long connect_timeout_ms;
    gw_sio_handlers h;
    void *ctx;
    gw_sio_stats stats;
    LIST_HEAD(, gw_socket) dead;
    struct event *safe_point;
};

/* ---- helpers ---------------------------------------------------------------------------- */

static void gw__sio_clear_pending(gw_sio_conn *c)
{
    struct gw__pending *pd = c->pending;
    if (!pd)
        return;
    sio_packet_clear(&pd->pend);
    for (size_t i = 0; i < pd->att.count; i++)
        rc_free(pd->att_buf[i]);
    rc_free(pd);
    c->pending = NULL;
}

static gw_socket *gw__sio_find(gw_sio_conn *c, const char *nsp, size_t len)
{
    gw_socket *s;
    LIST_FOREACH(s, &c->sockets, link)
    if (strlen(s->nsp) == len && !memcmp(s->nsp, nsp, len))
        return s;
    return NULL;
}

/* The main namespace's name, shared by its sockets: no allocation per connection. */
static char gw__root_nsp[] = "/";

static char *gw__nsp_dup(const char *nsp, size_t len)
{
    return len == 1 && nsp[0] == '/' ? gw__root_nsp : rc_strndup(nsp, len);
}

static void gw__socket_free(gw_socket *s)
{
    if (s->nsp != gw__root_nsp)
        rc_free(s->nsp);
    rc_free(s);
}

static void gw__sio_safe_point(evutil_socket_t fd, short what, void *arg)
{
    gw_sio *sio = arg;
    gw_socket *s;
    while ((s = LIST_FIRST(&sio->dead))) {
        LIST_REMOVE(s, dead_link);
        gw__socket_free(s);
    }
}

/* Unlinks s, tells the app, and queues it for freeing. */
static void gw__sio_socket_gone(gw_socket *s, const char *reason)
{
    if (s->gone)
        return;
    s->gone = 1;
    gw_sio *sio = s->conn->sio;
    LIST_REMOVE(s, link);
    sio->stats.sockets--;
    if (sio->h.on_disconnect)
        sio->h.on_disconnect(s, reason, sio->ctx);
    LIST_INSERT_HEAD(&sio->dead, s, dead_link);
    event_active(sio->safe_point, EV_TIMEOUT, 0);
}

static gw_frame *gw__sio_frame(const char *nsp, sio_type type, int has_id, uint64_t id,
                               const json_t *data, const gw_attachments *att)
{
    sio_buf b = {0};
    sio_encode(&b, type, nsp, has_id, id, att ? (int)att->count : 0, data);
    gw_frame *f = gw_frame_new('4', b.data, b.len, att ? att->count : 0,
                               att ? (const uint8_t *const *)att->data : NULL,
                               att ? att->len : NULL);
    sio_buf_free(&b);
    return f;
}

static void gw__sio_send_packet(gw_session *sess, const char *nsp, sio_type type, int has_id,
                                uint64_t id, const json_t *data, const gw_attachments *att)
{
    gw_frame *f = gw__sio_frame(nsp, type, has_id, id, data, att);
    gw_session_send(sess, f);
    gw_frame_unref(f);
}

/* Sends f on s, or keeps it until the CONNECT reply has gone out. */
static int gw__sio_socket_send(gw_socket *s, gw_frame *f)
{
    if (s->connecting) {
        s->early = rc_realloc(s->early, (s->nearly + 1) * sizeof *s->early);
        s->early[s->nearly++] = gw_frame_ref(f);
        return 1;
    }
    return gw_session_send(s->conn->session, f);
}

static void gw__sio_bad_packet(gw_sio_conn *c, const char *why)
{
    c->sio->stats.bad_packets++;
    rc_log_limited(RC_LOG_WARN, "bad Socket.IO packet", "{s:s,s:s,s:s}", "sid",
                   gw_session_id(c->session), "remote", gw_session_remote(c->session), "error",
                   why);
    gw_session_close(c->session, "parse error");
}

/* ---- packets ------------------------------------------------------------------------------- */

static void gw__sio_connect(gw_sio_conn *c, const sio_packet *p)
{
    gw_sio *sio = c->sio;
    char nsp[64];
    if (p->nsp_len >= sizeof nsp || !sio->h.nsp_allowed(p->nsp, p->nsp_len, sio->ctx)) {
        sio->stats.invalid_namespace++;
        json_t *err = json_pack("{s:s}", "message", "Invalid namespace");
        snprintf(nsp, sizeof nsp, "%.*s", (int)(p->nsp_len < 63 ? p->nsp_len : 63), p->nsp);
        gw__sio_send_packet(c->session, nsp, SIO_CONNECT_ERROR, 0, 0, err, NULL);
        json_decref(err);
        return;
    }
    memcpy(nsp, p->nsp, p->nsp_len);
    nsp[p->nsp_len] = '\0';
    if (gw__sio_find(c, nsp, p->nsp_len))
        return; /* already connected: the reference ignores a second CONNECT */
    gw_socket *s = rc_calloc(1, sizeof *s);
    s->conn = c;
    s->connecting = 1;
    s->nsp = gw__nsp_dup(nsp, p->nsp_len);
    gw_random_id(s->id);
    LIST_INSERT_HEAD(&c->sockets, s, link);
    sio->stats.sockets++;
    json_t *reply = json_object();
    json_t *error = NULL;
    json_t *empty = json_object();
    int r = sio->h.on_connect(s, p->data ? p->data : empty, reply, &error, sio->ctx);
    json_decref(empty);
    s->connecting = 0;
    if (r != 0) {
        for (size_t i = 0; i < s->nearly; i++)
            gw_frame_unref(s->early[i]);
        rc_free(s->early);
        LIST_REMOVE(s, link);
        sio->stats.sockets--;
        sio->stats.connect_errors++;
        if (!error)
            error = json_pack("{s:s}", "message", "refused");
        gw__sio_send_packet(c->session, nsp, SIO_CONNECT_ERROR, 0, 0, error, NULL);
        json_decref(error);
        json_decref(reply);
        gw__socket_free(s);
        return;
    }
    sio->stats.connects++;
    json_t *body = json_pack("{s:s}", "sid", s->id);
    json_object_update(body, reply);
    json_decref(reply);
    gw__sio_send_packet(c->session, nsp, SIO_CONNECT, 0, 0, body, NULL);
    json_decref(body);
    for (size_t i = 0; i < s->nearly; i++) {
        gw_session_send(c->session, s->early[i]);
        gw_frame_unref(s->early[i]);
    }
    rc_free(s->early);
    s->early = NULL;
    s->nearly = 0;
    if (!c->ever_connected) {
        c->ever_connected = 1;
        event_free(c->connect_timer); /* not needed again: its memory goes back now */
        c->connect_timer = NULL;
    }
}

static void gw__sio_dispatch(gw_sio_conn *c, const sio_packet *p, const gw_attachments *att)
{
    gw_socket *s = gw__sio_find(c, p->nsp, p->nsp_len);
    switch (p->type) {
    case SIO_CONNECT:
        gw__sio_connect(c, p);
        break;
    case SIO_DISCONNECT:
        if (s)
            gw__sio_socket_gone(s, "client namespace disconnect");
        break;
    case SIO_EVENT:
    case SIO_BINARY_EVENT:
        if (s && c->sio->h.on_event)
            c->sio->h.on_event(s, p, att, c->sio->ctx);
        break;
    case SIO_ACK:
    case SIO_BINARY_ACK:
        break; /* the server emits no events with acks */
    case SIO_CONNECT_ERROR:
        gw__sio_bad_packet(c, "CONNECT_ERROR from a client");
        break;
    }
}

static void gw__sio_on_message(gw_session *sess, const uint8_t *data, size_t len, int binary,
                               void *ctx)
{
    gw_sio_conn *c = gw_session_data(sess);
    if (!c)
        return;
    if (binary) {
        if (!c->pending)
            return gw__sio_bad_packet(c, "binary message without a BINARY packet");
        struct gw__pending *pd = c->pending;
        size_t i = pd->att.count;
        pd->att_buf[i] = rc_memdup(data, len);
        pd->att.data[i] = pd->att_buf[i];
        pd->att.len[i] = len;
        pd->att.count++;
        if ((int)pd->att.count == pd->pend.attachments) {
            gw__sio_dispatch(c, &pd->pend, &pd->att);
            gw__sio_clear_pending(c);
        }
        return;
    }
    if (c->pending)
        return gw__sio_bad_packet(c, "text message while attachments were due");
    sio_packet p;
    int r = sio_decode(data, len, &p);
    if (r != 0)
        return gw__sio_bad_packet(c, r == RC_ETOOBIG ? "packet too large" : "malformed packet");
    if ((p.type == SIO_BINARY_EVENT || p.type == SIO_BINARY_ACK) && p.attachments > 0) {
        c->pending = rc_calloc(1, sizeof *c->pending);
        c->pending->pend = p;
        return;
    }
    gw_attachments none = {0};
    gw__sio_dispatch(c, &p, &none);
    sio_packet_clear(&p);
}

/* ---- sessions ----------------------------------------------------------------------------- */

static void gw__sio_connect_timeout(evutil_socket_t fd, short what, void *arg)
{
    gw_sio_conn *c = arg;
    c->sio->stats.connect_timeouts++;
    gw_session_close(c->session, "connect timeout");
}

static void gw__sio_on_open(gw_session *sess, void *ctx)
{
    gw_sio *sio = ctx;
    gw_sio_conn *c = rc_calloc(1, sizeof *c);
    c->sio = sio;
    c->session = sess;
    LIST_INIT(&c->sockets);
    c->connect_timer = evtimer_new(event_get_base(sio->safe_point), gw__sio_connect_timeout, c);
    struct timeval tv = {sio->connect_timeout_ms / 1000, (sio->connect_timeout_ms % 1000) * 1000};
    evtimer_add(c->connect_timer, &tv);
    gw_session_set_data(sess, c);
}

static void gw__sio_on_close(gw_session *sess, const char *reason, void *ctx)
{
    gw_sio_conn *c = gw_session_data(sess);
    if (!c)
        return;
    gw_socket *s;
    while ((s = LIST_FIRST(&c->sockets)))
        gw__sio_socket_gone(s, reason);
    gw__sio_clear_pending(c);
    if (c->connect_timer)
        event_free(c->connect_timer);
    gw_session_set_data(sess, NULL);
    rc_free(c);
}

gw_sio *gw_sio_new(gw_engine *engine, const char *path, long connect_timeout_ms,
                   const gw_sio_handlers *h, void *ctx)
{
    gw_sio *sio = rc_calloc(1, sizeof *sio);
    sio->engine = engine;
    sio->connect_timeout_ms = connect_timeout_ms;
    sio->h = *h;
    sio->ctx = ctx;
    LIST_INIT(&sio->dead);
    sio->safe_point = event_new(gw_engine_base(engine), -1, 0, gw__sio_safe_point, sio);
    gw_endpoint_handlers eh = {gw__sio_on_open, gw__sio_on_message, gw__sio_on_close};
    gw_engine_add_endpoint(engine, path, &eh, sio);
    return sio;
}

void gw_sio_free(gw_sio *sio)
{
    if (!sio)
        return;
    gw__sio_safe_point(-1, 0, sio);
    event_free(sio->safe_point);
    rc_free(sio);
}

const gw_sio_stats *gw_sio_get_stats(const gw_sio *sio)
{
    return &sio->stats;
}

/* ---- socket API -------------------------------------------------------------------------- */

const char *gw_socket_id(const gw_socket *s)
{
    return s->id;
}

const char *gw_socket_nsp(const gw_socket *s)
{
    return s->nsp;
}

gw_session *gw_socket_session(const gw_socket *s)
{
    return s->conn->session;
}

void gw_socket_set_data(gw_socket *s, void *data)
{
    s->data = data;
}

void *gw_socket_data(const gw_socket *s)
{
    return s->data;
}

int gw_socket_send_frame(gw_socket *s, gw_frame *f)
{
    if (s->gone)
        return 0;
    return gw__sio_socket_send(s, f);
}

int gw_socket_send_frame_tail(gw_socket *s, gw_frame *f, const char *tail, size_t tlen)
{
    if (s->gone)
        return 0;
    if (s->connecting) {
        gw_frame *closed = gw_frame_close(f, tail, tlen);
        int r = gw__sio_socket_send(s, closed);
        gw_frame_unref(closed);
        return r;
    }
    return gw_session_send_tail(s->conn->session, f, tail, tlen);
}

void gw_socket_set_id(gw_socket *s, const char *id)
{
    snprintf(s->id, sizeof s->id, "%s", id);
}

int gw_socket_send(gw_socket *s, sio_type type, int has_id, uint64_t id, const json_t *data,
                   const gw_attachments *att)
{
    if (s->gone)
        return 0;
    gw_frame *f = gw__sio_frame(s->nsp, type, has_id, id, data, att);
    int r = gw__sio_socket_send(s, f);
    gw_frame_unref(f);
    return r;
}

int gw_socket_emit(gw_socket *s, const char *event, const json_t *args)
{
    json_t *arr = json_array();
    json_array_append_new(arr, json_string(event));
    if (args)
        json_array_extend(arr, (json_t *)args);
    int r = gw_socket_send(s, SIO_EVENT, 0, 0, arr, NULL);
    json_decref(arr);
    return r;
}

int gw_socket_ack(gw_socket *s, uint64_t id, const json_t *args)
{
    return gw_socket_send(s, SIO_ACK, 1, id, args, NULL);
}

void gw_socket_disconnect(gw_socket *s, int close_session)
{
    if (s->gone)
        return;
    gw_session *sess = s->conn->session;
    gw__sio_send_packet(sess, s->nsp, SIO_DISCONNECT, 0, 0, NULL, NULL);
    gw__sio_socket_gone(s, "server namespace disconnect");
    if (close_session) /* after the DISCONNECT: a polling client must still fetch it */
        gw_session_close_after_flush(sess, "forced close");
}
