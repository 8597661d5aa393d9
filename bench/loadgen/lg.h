/* lg.h: roomcast-loadgen's internals, shared by its files (CMakeLists.txt builds
 * bench/<tool>.c with the .c files of bench/<tool>/):
 *   bench/loadgen.c        the tool: options, commands on stdin, batches of connects, reports
 *   bench/loadgen/client.c one client: TCP, upgrade, Engine.IO, Socket.IO, joins, events
 *   bench/loadgen/resume.c a dropped client reconnecting as the stock socket.io-client does,
 *                          with connection state recovery (pid and offset)
 *   bench/loadgen/audit.c  which events each client received: lost and duplicated ones
 * One thread and one libevent base hold every client; G is the tool's whole state. */
#ifndef LG_H
#define LG_H

#include <event2/event.h>
#include <event2/event_struct.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bench/hist.h"
#include "gateway/websocket.h"

enum { S_FREE, S_TCP, S_HTTP, S_EIO, S_SIO, S_JOIN, S_READY, S_DEAD };
/* Why a client failed before it was ready; 0 is "no failure". */
enum { F_NONE, F_CONNECT, F_HTTP, F_CLOSED, F_REFUSED, F_TIMEOUT, F_PROTOCOL, F_JOIN, F_NREASONS };
extern const char *const lg_fail_names[F_NREASONS];

#define PEND_MAX 1024 /* HTTP response head, or the unparsed tail of a WebSocket frame */
#define LG_TEXT_MAX 8192 /* the largest text frame a client sends (CONNECT with pid + offset) */

typedef struct {
    struct event ev;
    int fd;
    uint32_t idx;
    uint8_t state, joins_left, ev_write;
    uint8_t again; /* this handshake is a reconnection (resume.c), not part of a batch */
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
    int sources, concurrency, timeout_s, ring, duration_s, recover;
    long conns_at_start, first;
    const char *secret, *prefix, *role, *join_room;
    /* state */
    struct event_base *base;
    lg_conn **conns;         /* by idx; each allocated once, never moved (libevent holds it) */
    size_t cap, used;        /* conns[0..used) were opened at some point */
    char **tokens;           /* by idx */
    size_t target;           /* open up to this many (by idx) */
    size_t batch_first;      /* the first idx of the batch under way */
    int64_t pace_us;         /* a paced batch starts one client every pace_us (0: at once) */
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
    struct event *progress, *stdin_ev, *stop, *pacer;
    char line[256];
    size_t nline;
} lg_state;

extern lg_state G;

int64_t lg_now_us(void);

/* client.c: one client's connection. lg_open starts it (to `to`); it ends in lg_ready or
 * lg_fail, both in bench/loadgen.c, which account for it. */
int lg_open(lg_conn *c, const struct sockaddr_in *to);
void lg_conn_free(lg_conn *c);
void lg_conn_cb(evutil_socket_t fd, short what, void *arg);
void lg_watch(lg_conn *c, int want_write); /* want_write 0 or 1; ev_write 2 forces it */

/* bench/loadgen.c: where a client's handshake ends, and what a drop does. */
void lg_ready(lg_conn *c);
void lg_fail(lg_conn *c, int reason);

/* resume.c. Without --recover every call is a no-op, and the CONNECT carries the token
 * alone. */
int lg_resume_connect_packet(const lg_conn *c, const char *token, char *out, size_t len);
int lg_resume_on_connected(lg_conn *c, const uint8_t *p, size_t n); /* 1: recovered */
void lg_resume_on_event(const lg_conn *c, const uint8_t *p, size_t n);
void lg_resume_on_drop(lg_conn *c, int why); /* a ready client was dropped */
void lg_resume_on_fail(lg_conn *c, int why); /* a reconnection's handshake failed */
void lg_resume_on_ready(lg_conn *c);        /* a reconnection's handshake ended */
void lg_resume_ports(const char *list);     /* where reconnections go: "P1,P2,..." */
int lg_resume_outcome(uint32_t idx);        /* LG_NEVER_DROPPED, ... below */
void lg_resume_reset(void);
void lg_resume_json(FILE *f);               /* members, no braces */
void lg_resume_cancel_all(void);
void lg_resume_free(void);
enum { LG_NEVER_DROPPED, LG_RECOVERED, LG_NOT_RECOVERED, LG_STILL_DOWN };

/* audit.c: the sequence numbers ("id":"m<seq>") each client received since `track`. */
void lg_audit_on_event(uint32_t idx, const uint8_t *p, size_t n);
void lg_audit_track(void);
void lg_audit_print(uint64_t first, uint64_t last, uint64_t chats);
void lg_audit_free(void);

#endif
