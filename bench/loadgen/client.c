/* client.c: one roomcast-loadgen client (see lg.h): TCP connect from one of --sources
 * loopback addresses (127.0.0.1..N, bound before connect with IP_BIND_ADDRESS_NO_PORT so
 * 50 000 connections fit in the ephemeral port range), HTTP upgrade, Engine.IO open,
 * Socket.IO CONNECT with {"token": JWT} (plus pid and offset when it reconnects with
 * --recover), then its room joins with acks. It answers pings and counts every EVENT
 * packet it receives; an event whose JSON holds "t":<Unix µs> (the producer's timestamp)
 * goes into the latency histogram. */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/loadgen/lg.h"
#include "common/alloc.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define READ_BUF (256 * 1024)

static uint8_t rbuf[READ_BUF + PEND_MAX];

/* ---- sending ----------------------------------------------------------------------------- */

static void lg_send_raw(lg_conn *c, const void *p, size_t n)
{
    if (c->state == S_FREE) /* failed earlier in this callback chain */
        return;
    if (!c->nout) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w == (ssize_t)n)
            return;
        if (w < 0 && errno != EAGAIN) {
            lg_fail(c, F_CLOSED);
            return;
        }
        if (w > 0) {
            p = (const uint8_t *)p + w;
            n -= (size_t)w;
        }
    }
    c->out = rc_realloc(c->out, c->nout + n);
    memcpy(c->out + c->nout, p, n);
    c->nout += (uint32_t)n;
    lg_watch(c, 1);
}

/* One masked text frame (clients must mask, RFC 6455 §5.3). */
static void lg_send_text(lg_conn *c, const char *s, size_t n)
{
    static const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    uint8_t frame[WS_MAX_HEADER + LG_TEXT_MAX];
    if (n > LG_TEXT_MAX)
        abort();
    size_t h = ws_frame_header_masked(frame, 1, WS_OP_TEXT, n, mask);
    memcpy(frame + h, s, n);
    ws_mask(frame + h, n, mask, 0);
    lg_send_raw(c, frame, h + n);
}

static void lg_send_join(lg_conn *c, int ack, const char *room)
{
    char msg[256];
    int n = snprintf(msg, sizeof msg, "42%d[\"join-chat-room\",\"%s\"]", ack, room);
    lg_send_text(c, msg, (size_t)n);
}

/* ---- the protocol ------------------------------------------------------------------------ */

/* The CONNECT reply p: a recovered session has its rooms back; any other joins them. */
static void lg_on_sio_connected(lg_conn *c, const uint8_t *p, size_t n)
{
    char room[64];
    if (lg_resume_on_connected(c, p, n)) {
        lg_ready(c);
        return;
    }
    c->state = S_JOIN;
    uint64_t user = (uint64_t)G.first + c->idx;
    if (G.join_room) {
        c->joins_left = 1;
        lg_send_join(c, 1, G.join_room);
    } else if (G.ring) {
        c->joins_left = 2;
        snprintf(room, sizeof room, "c%llu", (unsigned long long)(user % (uint64_t)G.ring));
        lg_send_join(c, 1, room);
        snprintf(room, sizeof room, "c%llu",
                 (unsigned long long)((user + (uint64_t)G.ring - 1) % (uint64_t)G.ring));
        lg_send_join(c, 2, room);
    } else {
        lg_ready(c);
    }
}

static void lg_on_event(const lg_conn *c, const uint8_t *p, size_t n)
{
    G.deliveries++;
    if (G.recover) {
        lg_resume_on_event(c, p, n);
        lg_audit_on_event(c->idx, p, n);
    }
    const uint8_t *t = memmem(p, n, "\"t\":", 4);
    if (!t)
        return;
    t += 4;
    uint64_t v = 0;
    while (t < p + n && *t >= '0' && *t <= '9')
        v = v * 10 + (uint64_t)(*t++ - '0');
    int64_t lat = lg_now_us() - (int64_t)v;
    G.stamped++;
    bh_add(&G.lat, lat > 0 ? (uint64_t)lat : 0);
}

/* One Engine.IO text packet. Returns 0, or a failure reason. */
static int lg_on_text(lg_conn *c, const uint8_t *p, size_t n)
{
    if (!n)
        return F_PROTOCOL;
    switch (p[0]) {
    case '0': /* Engine.IO open: authenticate */
        if (c->state != S_EIO)
            return F_PROTOCOL;
        {
            char msg[LG_TEXT_MAX];
            int m = lg_resume_connect_packet(c, G.tokens[c->idx], msg, sizeof msg);
            if (m < 0)
                return F_PROTOCOL;
            c->state = S_SIO;
            lg_send_text(c, msg, (size_t)m);
        }
        return 0;
    case '2':
        G.pings++;
        lg_send_text(c, "3", 1);
        return 0;
    case '1':
        return F_CLOSED;
    case '4':
        break;
    default:
        return 0;
    }
    if (n < 2)
        return F_PROTOCOL;
    switch (p[1]) {
    case '2':
        lg_on_event(c, p, n);
        return 0;
    case '0':
        if (c->state != S_SIO)
            return F_PROTOCOL;
        lg_on_sio_connected(c, p, n);
        return 0;
    case '4':
        return F_REFUSED;
    case '3': /* an ack of a join */
        if (c->state != S_JOIN || !memmem(p, n, "true", 4))
            return F_JOIN;
        if (--c->joins_left == 0)
            lg_ready(c);
        return 0;
    case '1':
        return F_CLOSED;
    default:
        return 0;
    }
}

/* Parses WebSocket frames from buf; keeps an unparsed tail in c->pend. 0 or a reason. */
static int lg_on_ws_bytes(lg_conn *c, uint8_t *buf, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ws_event ev;
        uint16_t code;
        ssize_t used = ws_reader_feed(&c->ws, buf + off, len - off, &ev, &code);
        if (used < 0)
            return F_PROTOCOL;
        off += (size_t)used;
        if (ev.kind == WS_EV_NONE)
            break;
        G.frames++;
        if (ev.kind == WS_EV_TEXT) {
            uint8_t st = c->state;
            int r = lg_on_text(c, ev.data, ev.len);
            if (r)
                return r;
            if (st == S_READY && c->state != S_READY)
                return F_PROTOCOL;
        } else if (ev.kind == WS_EV_BINARY) {
            continue; /* attachments: counted with their event */
        } else if (ev.kind == WS_EV_CLOSE) {
            return F_CLOSED;
        }
        if (c->state == S_FREE)
            return -1;
    }
    size_t rest = len - off;
    if (rest > PEND_MAX)
        return F_PROTOCOL;
    if (rest) {
        if (!c->pend)
            c->pend = rc_malloc(PEND_MAX);
        memmove(c->pend, buf + off, rest);
    }
    c->npend = (uint16_t)rest;
    return 0;
}

/* The HTTP response to the upgrade: wait for its head, check 101. */
static int lg_on_http(lg_conn *c, uint8_t *buf, size_t len)
{
    uint8_t *end = memmem(buf, len, "\r\n\r\n", 4);
    if (!end) {
        if (len > PEND_MAX)
            return F_HTTP;
        if (!c->pend)
            c->pend = rc_malloc(PEND_MAX);
        memmove(c->pend, buf, len);
        c->npend = (uint16_t)len;
        return 0;
    }
    if (len < 12 || memcmp(buf, "HTTP/1.1 101", 12) != 0)
        return F_HTTP;
    c->state = S_EIO;
    c->npend = 0;
    size_t head = (size_t)(end + 4 - buf);
    return lg_on_ws_bytes(c, buf + head, len - head);
}

static void lg_on_readable(lg_conn *c)
{
    size_t have = c->npend;
    if (have)
        memcpy(rbuf, c->pend, have);
    ssize_t n = recv(c->fd, rbuf + have, READ_BUF, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        lg_fail(c, F_CLOSED);
        return;
    }
    if (n < 0)
        return;
    G.bytes += (uint64_t)n;
    int r = c->state == S_HTTP ? lg_on_http(c, rbuf, have + (size_t)n)
                               : lg_on_ws_bytes(c, rbuf, have + (size_t)n);
    if (r > 0 && c->state != S_FREE)
        lg_fail(c, r);
}

static void lg_send_upgrade(lg_conn *c)
{
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                     "Host: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     ntohs(G.server.sin_port));
    c->state = S_HTTP;
    c->ev_write = 2; /* re-register: now for reading */
    lg_watch(c, 0);
    lg_send_raw(c, req, (size_t)n);
}

static void lg_on_writable(lg_conn *c)
{
    if (c->state == S_TCP) {
        int err = 0;
        socklen_t l = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) {
            lg_fail(c, F_CONNECT);
            return;
        }
        lg_send_upgrade(c);
        return;
    }
    ssize_t w = send(c->fd, c->out, c->nout, MSG_NOSIGNAL);
    if (w < 0 && errno != EAGAIN) {
        lg_fail(c, F_CLOSED);
        return;
    }
    if (w > 0) {
        memmove(c->out, c->out + w, c->nout - (size_t)w);
        c->nout -= (uint32_t)w;
    }
    if (!c->nout) {
        rc_free(c->out);
        c->out = NULL;
        lg_watch(c, 0);
    }
}

void lg_conn_cb(evutil_socket_t fd, short what, void *arg)
{
    lg_conn *c = arg;
    if (what & EV_TIMEOUT) {
        lg_fail(c, F_TIMEOUT);
        return;
    }
    if (what & EV_WRITE) {
        lg_on_writable(c);
        if (c->state == S_FREE)
            return;
    }
    if (what & EV_READ)
        lg_on_readable(c);
}

/* (Re)registers the connection's event for reading, plus writing when asked; with a
 * handshake deadline until it is ready. */
void lg_watch(lg_conn *c, int want_write)
{
    if (c->state == S_FREE || (c->ev_write == want_write && event_initialized(&c->ev)))
        return;
    if (event_initialized(&c->ev))
        event_del(&c->ev);
    c->ev_write = (uint8_t)want_write;
    short what = (short)(EV_PERSIST | (c->state == S_TCP ? 0 : EV_READ) | (want_write ? EV_WRITE : 0));
    event_assign(&c->ev, G.base, c->fd, what, lg_conn_cb, c);
    struct timeval tv = {G.timeout_s, 0};
    event_add(&c->ev, c->state == S_READY ? NULL : &tv);
}

/* ---- connections ------------------------------------------------------------------------- */

void lg_conn_free(lg_conn *c)
{
    if (c->state == S_FREE)
        return;
    if (event_initialized(&c->ev))
        event_del(&c->ev);
    close(c->fd);
    ws_reader_free(&c->ws);
    rc_free(c->pend);
    rc_free(c->out);
    uint32_t idx = c->idx;
    memset(c, 0, sizeof *c);
    c->idx = idx;
    G.open--;
}

int lg_open(lg_conn *c, const struct sockaddr_in *to)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    struct linger lin = {1, 0}; /* close with RST: no TIME_WAIT eats the port range */
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin, sizeof lin);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr = htonl(0x7f000001u + (c->idx % (uint32_t)G.sources));
    if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0 ||
        (connect(fd, (const struct sockaddr *)to, sizeof *to) != 0 && errno != EINPROGRESS)) {
        close(fd);
        return -1;
    }
    c->fd = fd;
    c->state = S_TCP;
    c->started_us = lg_now_us();
    ws_reader_init(&c->ws, 1 << 20, 0);
    G.open++;
    c->ev_write = 2; /* force registration */
    lg_watch(c, 1);
    return 0;
}
