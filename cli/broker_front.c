/* broker_front.c: the relay in front of the trial broker (see broker_front.h).
 *
 * Each client connection gets its own connection to the mock broker. Requests are moved
 * whole frame by whole frame; the correlation ids of Metadata and FindCoordinator
 * requests are remembered (clients pipeline, so several may wait) and their answers are
 * rewritten on the way back. A connection is freed when either side closes or fails. */
#include "cli/broker_front.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>

#include "cli/kafka_wire.h"
#include "common/alloc.h"
#include "common/log.h"

#define BF_PENDING 64 /* rewritable requests in flight on one connection */

typedef struct bf_conn {
    bf_front *front;
    struct bufferevent *client, *up;
    kw_request pending[BF_PENDING];
    unsigned npending;
    LIST_ENTRY(bf_conn) link;
} bf_conn;

struct bf_front {
    struct event_base *base;
    struct evconnlistener *listener;
    int port, upstream_port;
    LIST_HEAD(, bf_conn) conns;
};

static void bf__conn_free(bf_conn *c)
{
    LIST_REMOVE(c, link);
    bufferevent_free(c->client);
    bufferevent_free(c->up);
    rc_free(c);
}

/* Remembers a request whose answer is rewritten; the oldest goes when full (a client
 * never has that many metadata requests in flight, and its answer then passes as is). */
static void bf__remember(bf_conn *c, const kw_request *r)
{
    if (c->npending == BF_PENDING) {
        memmove(c->pending, c->pending + 1, sizeof c->pending[0] * (BF_PENDING - 1));
        c->npending--;
    }
    c->pending[c->npending++] = *r;
}

/* Takes the remembered request answered by correlation id, if any. */
static int bf__take(bf_conn *c, int32_t corr, kw_request *out)
{
    for (unsigned i = 0; i < c->npending; i++)
        if (c->pending[i].correlation_id == corr) {
            *out = c->pending[i];
            memmove(c->pending + i, c->pending + i + 1, sizeof c->pending[0] * (c->npending - i - 1));
            c->npending--;
            return 1;
        }
    return 0;
}

/* Moves whole frames from one side to the other; returns -1 when the stream is broken. */
static int bf__pump(bf_conn *c, struct bufferevent *from, struct bufferevent *to)
{
    struct evbuffer *in = bufferevent_get_input(from), *out = bufferevent_get_output(to);
    for (;;) {
        size_t have = evbuffer_get_length(in);
        uint8_t hdr[12];
        size_t hl = have < sizeof hdr ? have : sizeof hdr;
        evbuffer_copyout(in, hdr, hl);
        long n = kw_frame_len(hdr, hl, BF_FRAME_MAX);
        if (n < 0)
            return -1;
        if (n == 0 || (size_t)n > have)
            return 0;
        if ((size_t)n < hl)
            hl = (size_t)n; /* the header bytes of this frame only */
        if (from == c->client) {
            kw_request r;
            if (kw_request_header(hdr, hl, &r) == 0 &&
                (r.api_key == KW_API_METADATA || r.api_key == KW_API_FIND_COORDINATOR))
                bf__remember(c, &r);
            evbuffer_remove_buffer(in, out, (size_t)n);
            continue;
        }
        int32_t corr;
        kw_request r;
        if (kw_response_correlation(hdr, hl, &corr) == 0 && bf__take(c, corr, &r)) {
            uint8_t *frame = rc_malloc((size_t)n);
            evbuffer_remove(in, frame, (size_t)n);
            if (r.api_key == KW_API_METADATA)
                kw_rewrite_metadata(frame, (size_t)n, r.api_version, c->front->port);
            else
                kw_rewrite_find_coordinator(frame, (size_t)n, r.api_version, c->front->port);
            evbuffer_add(out, frame, (size_t)n);
            rc_free(frame);
        } else {
            evbuffer_remove_buffer(in, out, (size_t)n);
        }
    }
}

/* After moving data: a side whose peer has too much to write stops reading until the
 * peer's output drains to half of it. */
static void bf__throttle(bf_conn *c, struct bufferevent *from, struct bufferevent *to)
{
    if (evbuffer_get_length(bufferevent_get_output(to)) < BF_QUEUE_MAX)
        return;
    bufferevent_disable(from, EV_READ);
    bufferevent_setwatermark(to, EV_WRITE, BF_QUEUE_MAX / 2, 0);
}

static void bf__drained(struct bufferevent *bev, void *arg)
{
    bf_conn *c = arg;
    bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
    bufferevent_enable(bev == c->up ? c->client : c->up, EV_READ);
}

static void bf__read(struct bufferevent *bev, void *arg)
{
    bf_conn *c = arg;
    struct bufferevent *to = bev == c->client ? c->up : c->client;
    if (bf__pump(c, bev, to) < 0) {
        rc_log_limited(RC_LOG_WARN, "trial broker: a malformed Kafka frame closed a connection",
                       "{s:s}", "from", bev == c->client ? "client" : "broker");
        bf__conn_free(c);
        return;
    }
    bf__throttle(c, bev, to);
}

static void bf__event(struct bufferevent *bev, short what, void *arg)
{
    bf_conn *c = arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        bf__conn_free(c);
}

static void bf__accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                       int salen, void *arg)
{
    bf_front *f = arg;
    bf_conn *c = rc_calloc(1, sizeof *c);
    c->front = f;
    c->client = bufferevent_socket_new(f->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->up = bufferevent_socket_new(f->base, -1, BEV_OPT_CLOSE_ON_FREE);
    LIST_INSERT_HEAD(&f->conns, c, link);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->upstream_port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bufferevent_setcb(c->client, bf__read, bf__drained, bf__event, c);
    bufferevent_setcb(c->up, bf__read, bf__drained, bf__event, c);
    if (bufferevent_socket_connect(c->up, (struct sockaddr *)&to, sizeof to) < 0) {
        bf__conn_free(c);
        return;
    }
    bufferevent_enable(c->client, EV_READ | EV_WRITE);
    bufferevent_enable(c->up, EV_READ | EV_WRITE);
}

bf_front *bf_front_new(struct event_base *base, int port, int upstream_port, char *errstr,
                       size_t errlen)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bf_front *f = rc_calloc(1, sizeof *f);
    f->base = base;
    f->upstream_port = upstream_port;
    LIST_INIT(&f->conns);
    f->listener = evconnlistener_new_bind(base, bf__accept, f,
                                          LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 64,
                                          (struct sockaddr *)&sin, sizeof sin);
    if (!f->listener) {
        snprintf(errstr, errlen, "cannot listen on 127.0.0.1:%d", port);
        rc_free(f);
        return NULL;
    }
    struct sockaddr_in bound;
    socklen_t bl = sizeof bound;
    getsockname(evconnlistener_get_fd(f->listener), (struct sockaddr *)&bound, &bl);
    f->port = ntohs(bound.sin_port);
    return f;
}

int bf_front_port(const bf_front *f)
{
    return f->port;
}

void bf_front_free(bf_front *f)
{
    if (!f)
        return;
    while (!LIST_EMPTY(&f->conns))
        bf__conn_free(LIST_FIRST(&f->conns));
    evconnlistener_free(f->listener);
    rc_free(f);
}
