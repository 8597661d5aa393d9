/* loadgen.c: roomcast-loadgen, the benchmark's client side. One thread on libevent holds
 * many Socket.IO clients (WebSocket transport, Engine.IO v4, Socket.IO v5) against any
 * server that speaks the protocol: roomcast's gateway or the reference Socket.IO 4.8.
 *
 * Each client: TCP connect from one of --sources loopback addresses (127.0.0.1..N, bound
 * before connect with IP_BIND_ADDRESS_NO_PORT so 50 000 connections fit in the ephemeral
 * port range), HTTP upgrade, Engine.IO open, Socket.IO CONNECT with {"token": JWT} (HS256,
 * signed here with common/token.h for user <prefix><i>), then its room joins with acks.
 * It answers pings, and counts every EVENT packet it receives; an event whose JSON holds
 * "t":<Unix µs> (the producer's timestamp) is put in the latency histogram.
 *
 * Driven by commands on stdin, one per line, each answered by one JSON line on stdout:
 *   connect N   open N more clients (at most --concurrency handshakes at once) -> "connected"
 *   storm N     as connect, but stop opening at the first failure              -> "storm"
 *   reset       zero the counters, the histogram and the CPU/time origin       -> "reset"
 *   report      what happened since reset (deliveries, latency, own CPU)      -> "report"
 *   progress MS print {"type":"progress",...} every MS ms (0 stops)
 *   close       close every client (RST, so no TIME_WAIT piles up)             -> "closed"
 *   quit        (or end of input) exit
 * With --conns N it runs "connect N" at start; with --duration S it then resets, waits S
 * seconds, reports and exits (what the smoke test uses). Its own CPU time is in every
 * report so a run can show the load generator was not the bottleneck. */
#include <errno.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <getopt.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench/hist.h"
#include "common/alloc.h"
#include "common/token.h"
#include "gateway/websocket.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

enum { S_FREE, S_TCP, S_HTTP, S_EIO, S_SIO, S_JOIN, S_READY, S_DEAD };
/* Why a client failed before it was ready; 0 is "no failure". */
enum { F_NONE, F_CONNECT, F_HTTP, F_CLOSED, F_REFUSED, F_TIMEOUT, F_PROTOCOL, F_JOIN, F_NREASONS };
static const char *const fail_names[F_NREASONS] = {"",        "connect", "http",     "closed",
                                                   "refused", "timeout", "protocol", "join"};

#define PEND_MAX 1024 /* HTTP response head, or the unparsed tail of a WebSocket frame */
#define READ_BUF (256 * 1024)

typedef struct {
    struct event ev;
    int fd;
    uint32_t idx;
    uint8_t state, joins_left, ev_write;
    uint16_t npend;
    uint8_t *pend;
    uint8_t *out;
    uint32_t nout;
    int64_t started_us;
    ws_reader ws;
} lg_conn;

typedef struct {
    /* options */
    struct sockaddr_in server;
    int sources, concurrency, timeout_s, ring, duration_s;
    long conns_at_start;
    const char *secret, *prefix, *role, *join_room;
    /* state */
    struct event_base *base;
    lg_conn **conns;         /* by idx; each allocated once, never moved (libevent holds it) */
    size_t cap, used;        /* conns[0..used) were opened at some point */
    char **tokens;           /* by idx */
    size_t target;           /* open up to this many (by idx) */
    size_t inflight, open, ready;
    int storm, batch_active, first_fail;
    size_t batch_ok, batch_fail, batch_fail_by[F_NREASONS];
    int64_t batch_start_us, batch_last_ok_us, first_fail_us;
    size_t ok_at_first_fail;
    bench_hist connect_hist;
    /* since reset */
    uint64_t deliveries, stamped, frames, bytes, dropped, pings;
    bench_hist lat;
    int64_t reset_us;
    double reset_cpu;
    struct event *progress, *stdin_ev, *stop;
    char line[256];
    size_t nline;
} lg_state;

static lg_state G;
static uint8_t rbuf[READ_BUF + PEND_MAX];

/* ---- small helpers --------------------------------------------------------------------- */

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static double cpu_self(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void lg_sign_tokens(size_t upto)
{
    static rc_token_keys *keys;
    char err[RC_ERRSTR_LEN];
    if (!keys && rc_token_keys_new(G.secret, NULL, NULL, NULL, &keys, err, sizeof err) != 0) {
        fprintf(stderr, "roomcast-loadgen: %s\n", err);
        exit(2);
    }
    if (upto > G.cap) {
        size_t cap = G.cap ? G.cap : 1024;
        while (cap < upto)
            cap *= 2;
        G.conns = rc_realloc(G.conns, cap * sizeof *G.conns);
        G.tokens = rc_realloc(G.tokens, cap * sizeof *G.tokens);
        memset(G.conns + G.cap, 0, (cap - G.cap) * sizeof *G.conns);
        memset(G.tokens + G.cap, 0, (cap - G.cap) * sizeof *G.tokens);
        G.cap = cap;
    }
    int64_t now = now_us() / 1000000;
    for (size_t i = 0; i < upto; i++) {
        if (G.tokens[i])
            continue;
        char sub[64];
        snprintf(sub, sizeof sub, "%s%zu", G.prefix, i);
        G.tokens[i] = rc_token_sign(keys, sub, G.role, NULL, now, 24 * 3600, err, sizeof err);
        if (!G.tokens[i]) {
            fprintf(stderr, "roomcast-loadgen: signing: %s\n", err);
            exit(2);
        }
    }
}

/* ---- output ---------------------------------------------------------------------------- */

static void lg_conn_free(lg_conn *c);
static void lg_pump(void);

static void lg_fail(lg_conn *c, int reason)
{
    if (c->state == S_FREE)
        return;
    int was_ready = c->state == S_READY;
    lg_conn_free(c);
    if (was_ready) {
        G.dropped++;
        G.ready--;
        return;
    }
    G.inflight--;
    G.batch_fail++;
    G.batch_fail_by[reason]++;
    if (!G.first_fail) {
        G.first_fail = 1 + reason;
        G.first_fail_us = now_us();
        G.ok_at_first_fail = G.batch_ok;
    }
    lg_pump();
}

static void lg_ready(lg_conn *c)
{
    c->state = S_READY;
    event_del(&c->ev);
    event_add(&c->ev, NULL); /* no handshake deadline any more */
    G.inflight--;
    G.ready++;
    G.batch_ok++;
    G.batch_last_ok_us = now_us();
    bh_add(&G.connect_hist, (uint64_t)(G.batch_last_ok_us - c->started_us));
    lg_pump();
}

static void lg_print_batch(void)
{
    int64_t end = G.storm && G.first_fail ? G.first_fail_us : G.batch_last_ok_us;
    size_t ok = G.storm && G.first_fail ? G.ok_at_first_fail : G.batch_ok;
    double secs = end > G.batch_start_us ? (double)(end - G.batch_start_us) / 1e6 : 0;
    printf("{\"type\":\"%s\",\"ok\":%zu,\"failed\":%zu,\"open\":%zu,\"seconds\":%.3f,"
           "\"connects_per_s\":%.1f,\"first_failure\":\"%s\",\"ok_before_first_failure\":%zu,"
           "\"failures\":{",
           G.storm ? "storm" : "connected", G.batch_ok, G.batch_fail, G.open, secs,
           secs > 0 ? (double)ok / secs : 0, G.first_fail ? fail_names[G.first_fail - 1] : "",
           G.first_fail ? G.ok_at_first_fail : G.batch_ok);
    for (int i = 0; i < F_NREASONS; i++)
        printf("%s\"%s\":%zu", i ? "," : "", fail_names[i], G.batch_fail_by[i]);
    printf("},\"connect_latency\":{");
    bh_json(stdout, &G.connect_hist);
    printf("},\"cpu_s\":%.3f}\n", cpu_self());
    fflush(stdout);
}

static void lg_report(void)
{
    double secs = (double)(now_us() - G.reset_us) / 1e6;
    double cpu = cpu_self() - G.reset_cpu;
    printf("{\"type\":\"report\",\"seconds\":%.3f,\"cpu_s\":%.3f,\"cpu_share\":%.3f,"
           "\"open\":%zu,\"dropped\":%llu,\"deliveries\":%llu,\"deliveries_per_s\":%.1f,"
           "\"stamped\":%llu,\"frames\":%llu,\"bytes\":%llu,\"pings\":%llu,\"latency\":{",
           secs, cpu, secs > 0 ? cpu / secs : 0, G.open, (unsigned long long)G.dropped,
           (unsigned long long)G.deliveries, secs > 0 ? (double)G.deliveries / secs : 0,
           (unsigned long long)G.stamped, (unsigned long long)G.frames, (unsigned long long)G.bytes,
           (unsigned long long)G.pings);
    bh_json(stdout, &G.lat);
    printf("}}\n");
    fflush(stdout);
}

static void lg_reset(void)
{
    G.deliveries = G.stamped = G.frames = G.bytes = G.dropped = G.pings = 0;
    bh_reset(&G.lat);
    G.reset_us = now_us();
    G.reset_cpu = cpu_self();
}

/* ---- sending ----------------------------------------------------------------------------- */

static void lg_watch(lg_conn *c, int want_write);

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
    uint8_t frame[WS_MAX_HEADER + 4096];
    if (n > 4096)
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

static void lg_on_sio_connected(lg_conn *c)
{
    char room[64];
    c->state = S_JOIN;
    if (G.join_room) {
        c->joins_left = 1;
        lg_send_join(c, 1, G.join_room);
    } else if (G.ring) {
        c->joins_left = 2;
        snprintf(room, sizeof room, "c%u", c->idx % (uint32_t)G.ring);
        lg_send_join(c, 1, room);
        snprintf(room, sizeof room, "c%u", (c->idx + (uint32_t)G.ring - 1) % (uint32_t)G.ring);
        lg_send_join(c, 2, room);
    } else {
        lg_ready(c);
    }
}

static void lg_on_event(const uint8_t *p, size_t n)
{
    G.deliveries++;
    const uint8_t *t = memmem(p, n, "\"t\":", 4);
    if (!t)
        return;
    t += 4;
    uint64_t v = 0;
    while (t < p + n && *t >= '0' && *t <= '9')
        v = v * 10 + (uint64_t)(*t++ - '0');
    int64_t lat = now_us() - (int64_t)v;
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
            char msg[4200];
            int m = snprintf(msg, sizeof msg, "40{\"token\":\"%s\"}", G.tokens[c->idx]);
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
        lg_on_event(p, n);
        return 0;
    case '0':
        if (c->state != S_SIO)
            return F_PROTOCOL;
        lg_on_sio_connected(c);
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

static void lg_conn_cb(evutil_socket_t fd, short what, void *arg)
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

/* (Re)registers the connection's event for reading, plus writing when asked. */
static void lg_watch(lg_conn *c, int want_write)
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

static void lg_conn_free(lg_conn *c)
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

static int lg_open(lg_conn *c)
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
        (connect(fd, (struct sockaddr *)&G.server, sizeof G.server) != 0 && errno != EINPROGRESS)) {
        close(fd);
        return -1;
    }
    c->fd = fd;
    c->state = S_TCP;
    c->started_us = now_us();
    ws_reader_init(&c->ws, 1 << 20, 0);
    G.open++;
    c->ev_write = 2; /* force registration */
    lg_watch(c, 1);
    return 0;
}

/* Opens connections while the handshake window has room and the batch wants more. */
static void lg_pump(void)
{
    while (G.inflight < (size_t)G.concurrency && G.used < G.target && !(G.storm && G.first_fail)) {
        if (!G.conns[G.used])
            G.conns[G.used] = rc_calloc(1, sizeof(lg_conn));
        lg_conn *c = G.conns[G.used];
        c->idx = (uint32_t)G.used;
        G.used++;
        G.inflight++;
        if (lg_open(c) != 0) {
            G.inflight--;
            G.batch_fail++;
            G.batch_fail_by[F_CONNECT]++;
            if (!G.first_fail) {
                G.first_fail = 1 + F_CONNECT;
                G.first_fail_us = now_us();
                G.ok_at_first_fail = G.batch_ok;
            }
        }
    }
    if (G.batch_active && G.inflight == 0 && (G.used >= G.target || (G.storm && G.first_fail))) {
        G.batch_active = 0;
        lg_print_batch();
        if (G.duration_s) {
            lg_reset();
            struct timeval tv = {G.duration_s, 0};
            event_add(G.stop, &tv);
        }
    }
}

static void lg_start_batch(size_t n, int storm)
{
    lg_sign_tokens(G.used + n);
    G.target = G.used + n;
    G.storm = storm;
    G.batch_active = 1;
    G.first_fail = 0;
    G.batch_ok = G.batch_fail = 0;
    memset(G.batch_fail_by, 0, sizeof G.batch_fail_by);
    bh_reset(&G.connect_hist);
    G.batch_start_us = G.batch_last_ok_us = now_us();
    lg_pump();
}

static void lg_close_all(void)
{
    for (size_t i = 0; i < G.used; i++)
        if (G.conns[i]->state != S_FREE) {
            if (G.conns[i]->state != S_READY)
                G.inflight--;
            else
                G.ready--;
            lg_conn_free(G.conns[i]);
        }
    G.target = G.used;
    printf("{\"type\":\"closed\",\"open\":%zu}\n", G.open);
    fflush(stdout);
}

/* ---- control ----------------------------------------------------------------------------- */

static void lg_progress_cb(evutil_socket_t fd, short what, void *arg)
{
    printf("{\"type\":\"progress\",\"t_us\":%lld,\"deliveries\":%llu,\"open\":%zu,"
           "\"dropped\":%llu,\"cpu_s\":%.3f}\n",
           (long long)now_us(), (unsigned long long)G.deliveries, G.open,
           (unsigned long long)G.dropped, cpu_self() - G.reset_cpu);
    fflush(stdout);
}

static void lg_command(const char *cmd)
{
    long n = 0;
    if (sscanf(cmd, "connect %ld", &n) == 1 && n >= 0) {
        lg_start_batch((size_t)n, 0);
    } else if (sscanf(cmd, "storm %ld", &n) == 1 && n >= 0) {
        lg_start_batch((size_t)n, 1);
    } else if (!strcmp(cmd, "reset")) {
        lg_reset();
        printf("{\"type\":\"reset\"}\n");
        fflush(stdout);
    } else if (!strcmp(cmd, "report")) {
        lg_report();
    } else if (sscanf(cmd, "progress %ld", &n) == 1) {
        event_del(G.progress);
        struct timeval tv = {n / 1000, (n % 1000) * 1000};
        if (n > 0)
            event_add(G.progress, &tv);
    } else if (!strcmp(cmd, "close")) {
        lg_close_all();
    } else if (!strcmp(cmd, "quit")) {
        event_base_loopbreak(G.base);
    } else if (*cmd) {
        fprintf(stderr, "roomcast-loadgen: unknown command: %s\n", cmd);
    }
}

static void lg_stdin_cb(evutil_socket_t fd, short what, void *arg)
{
    char buf[4096];
    ssize_t n = read(0, buf, sizeof buf);
    if (n <= 0) {
        event_del(G.stdin_ev);
        if (!G.duration_s)
            event_base_loopbreak(G.base);
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == '\n' || G.nline == sizeof G.line - 1) {
            G.line[G.nline] = 0;
            G.nline = 0;
            lg_command(G.line);
        } else {
            G.line[G.nline++] = buf[i];
        }
    }
}

static void lg_stop_cb(evutil_socket_t fd, short what, void *arg)
{
    lg_report();
    event_base_loopbreak(G.base);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: roomcast-loadgen --port P --secret S [--host 127.0.0.1] [--sources 16]\n"
            "         [--concurrency 256] [--timeout 15] [--prefix u] [--role R]\n"
            "         [--join ROOM | --ring N] [--conns N [--duration S]]\n"
            "  --join ROOM  every client emits join-chat-room ROOM (room chat-ROOM)\n"
            "  --ring N     client i joins chats c(i mod N) and c(i-1 mod N)\n"
            "  then reads commands on stdin: connect N, storm N, reset, report,\n"
            "  progress MS, close, quit (see the header of bench/loadgen.c)\n");
    exit(2);
}

static void parse_args(int argc, char **argv)
{
    static const struct option opts[] = {
        {"host", 1, 0, 'h'},   {"port", 1, 0, 'p'},        {"secret", 1, 0, 's'},
        {"sources", 1, 0, 'S'}, {"concurrency", 1, 0, 'c'}, {"timeout", 1, 0, 'T'},
        {"prefix", 1, 0, 'u'}, {"role", 1, 0, 'r'},        {"join", 1, 0, 'j'},
        {"ring", 1, 0, 'R'},   {"conns", 1, 0, 'n'},       {"duration", 1, 0, 'd'},
        {0, 0, 0, 0}};
    const char *host = "127.0.0.1";
    int port = 0, o;
    G.sources = 16;
    G.concurrency = 256;
    G.timeout_s = 15;
    G.prefix = "u";
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'h': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 's': G.secret = optarg; break;
        case 'S': G.sources = atoi(optarg); break;
        case 'c': G.concurrency = atoi(optarg); break;
        case 'T': G.timeout_s = atoi(optarg); break;
        case 'u': G.prefix = optarg; break;
        case 'r': G.role = optarg; break;
        case 'j': G.join_room = optarg; break;
        case 'R': G.ring = atoi(optarg); break;
        case 'n': G.conns_at_start = atol(optarg); break;
        case 'd': G.duration_s = atoi(optarg); break;
        default: usage();
        }
    }
    if (port <= 0 || !G.secret || G.sources < 1 || G.sources > 250 || G.concurrency < 1)
        usage();
    G.server.sin_family = AF_INET;
    G.server.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &G.server.sin_addr) != 1)
        usage();
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    struct event_config *cfg = event_config_new();
    event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
    G.base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    G.progress = event_new(G.base, -1, EV_PERSIST, lg_progress_cb, NULL);
    G.stop = evtimer_new(G.base, lg_stop_cb, NULL);
    G.stdin_ev = event_new(G.base, 0, EV_READ | EV_PERSIST, lg_stdin_cb, NULL);
    event_add(G.stdin_ev, NULL);
    lg_reset();
    if (G.conns_at_start > 0)
        lg_start_batch((size_t)G.conns_at_start, 0);
    event_base_dispatch(G.base);
    for (size_t i = 0; i < G.cap; i++) {
        if (G.conns[i])
            lg_conn_free(G.conns[i]);
        rc_free(G.conns[i]);
        rc_free(G.tokens[i]);
    }
    rc_free(G.conns);
    rc_free(G.tokens);
    event_free(G.progress);
    event_free(G.stop);
    event_free(G.stdin_ev);
    event_base_free(G.base);
    return 0;
}
