/* resume.c: with --recover, a dropped client reconnects the way the stock socket.io-client
 * 4.8 does, with Socket.IO connection state recovery (see lg.h):
 *  - it keeps the CONNECT reply's "pid", and the last argument of every event when that is
 *    a string (the offset), as the client's socket.js keeps `_pid` and `_lastOffset`;
 *  - on a drop it waits as the client's Manager does (engine.io's Backoff: 1 000 ms × 2^n,
 *    ±50 % at random, at most 5 000 ms), so the clients of a lost gateway come back spread
 *    over a second or so, and after a failed attempt the next waits longer;
 *  - the reconnection's CONNECT carries auth {pid, offset, token}; the session counts as
 *    recovered when the reply's pid is the one sent (the client's `socket.recovered`). A
 *    session not recovered joins its rooms again, as the seed's SocketProvider does.
 * Reconnections go to the ports set by `ports`, in turn (the live backends of a round-robin
 * balancer), else to --port. Each client's state lives here by its idx, allocated at its
 * first CONNECT reply, so a run without --recover pays nothing. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/loadgen/lg.h"
#include "common/alloc.h"

#define LG_PORTS_MAX 64

typedef struct {
    char *pid, *offset;
    uint32_t offset_cap;
    uint16_t attempts; /* since the drop: the backoff's exponent */
    uint8_t outcome;   /* LG_* of lg.h */
    struct event timer;
    int64_t dropped_us, attempt_us;
} lg_resume;

static struct {
    lg_resume **by_idx;
    size_t cap;
    struct sockaddr_in ports[LG_PORTS_MAX];
    size_t nports, next;
    uint64_t rnd;
    int closed;
    /* since reset */
    uint64_t drops, reconnected, recovered, not_recovered, attempts;
    uint64_t dropped_by[F_NREASONS], failed_by[F_NREASONS];
    bench_hist reconnect_us, handshake_us; /* drop -> ready; last attempt's start -> ready */
} R;

static lg_resume *lg__get(uint32_t idx, int create)
{
    if (idx >= R.cap) {
        if (!create)
            return NULL;
        size_t cap = R.cap ? R.cap : 1024;
        while (cap <= idx)
            cap *= 2;
        R.by_idx = rc_realloc(R.by_idx, cap * sizeof *R.by_idx);
        memset(R.by_idx + R.cap, 0, (cap - R.cap) * sizeof *R.by_idx);
        R.cap = cap;
    }
    if (!R.by_idx[idx] && create)
        R.by_idx[idx] = rc_calloc(1, sizeof(lg_resume));
    return R.by_idx[idx];
}

/* Math.random() for the backoff's jitter: xorshift64*, seeded per process. */
static double lg__random(void)
{
    if (!R.rnd)
        R.rnd = ((uint64_t)lg_now_us() << 16) ^ (uint64_t)getpid() ^ 0x9e3779b97f4a7c15ull;
    R.rnd ^= R.rnd >> 12;
    R.rnd ^= R.rnd << 25;
    R.rnd ^= R.rnd >> 27;
    return (double)((R.rnd * 0x2545f4914f6cdd1dull) >> 11) / 9007199254740992.0;
}

/* engine.io-client's Backoff.duration() with socket.io-client's defaults. */
static int lg__backoff_ms(unsigned attempts)
{
    double ms = 1000.0 * (double)(1u << (attempts < 16 ? attempts : 16));
    double rand = lg__random();
    double deviation = (double)(long)(rand * 0.5 * ms);
    ms = ((long)(rand * 10) & 1) == 0 ? ms - deviation : ms + deviation;
    return ms < 5000 ? (int)ms : 5000;
}

static void lg__attempt(evutil_socket_t fd, short what, void *arg)
{
    lg_conn *c = arg;
    const struct sockaddr_in *to = R.nports ? &R.ports[R.next++ % R.nports] : &G.server;
    R.attempts++;
    lg__get(c->idx, 1)->attempt_us = lg_now_us();
    if (lg_open(c, to) != 0) {
        lg_resume_on_fail(c, F_CONNECT);
        return;
    }
    c->again = 1;
}

static void lg__schedule(lg_conn *c, lg_resume *r)
{
    int ms = lg__backoff_ms(r->attempts++);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_assign(&r->timer, G.base, lg__attempt, c);
    evtimer_add(&r->timer, &tv);
}

/* ---- the protocol's part --------------------------------------------------------------------- */

int lg_resume_connect_packet(const lg_conn *c, const char *token, char *out, size_t len)
{
    const lg_resume *r = G.recover ? lg__get(c->idx, 0) : NULL;
    int n;
    if (r && r->pid && r->offset)
        n = snprintf(out, len, "40{\"pid\":\"%s\",\"offset\":\"%s\",\"token\":\"%s\"}", r->pid,
                     r->offset, token);
    else if (r && r->pid)
        n = snprintf(out, len, "40{\"pid\":\"%s\",\"token\":\"%s\"}", r->pid, token);
    else
        n = snprintf(out, len, "40{\"token\":\"%s\"}", token);
    return n > 0 && (size_t)n < len ? n : -1;
}

/* The string value of "name" in p (no escapes: ids and tokens are base64url), or NULL. */
static const uint8_t *lg__field(const uint8_t *p, size_t n, const char *name, size_t *len)
{
    const uint8_t *v = memmem(p, n, name, strlen(name));
    if (!v)
        return NULL;
    v += strlen(name);
    const uint8_t *e = memchr(v, '"', (size_t)(p + n - v));
    if (!e)
        return NULL;
    *len = (size_t)(e - v);
    return v;
}

int lg_resume_on_connected(lg_conn *c, const uint8_t *p, size_t n)
{
    if (!G.recover)
        return 0;
    lg_resume *r = lg__get(c->idx, 1);
    size_t len = 0;
    const uint8_t *pid = lg__field(p, n, "\"pid\":\"", &len);
    int recovered = c->again && pid && r->pid && strlen(r->pid) == len && !memcmp(r->pid, pid, len);
    rc_free(r->pid);
    r->pid = NULL;
    if (pid) {
        r->pid = rc_malloc(len + 1);
        memcpy(r->pid, pid, len);
        r->pid[len] = 0;
    }
    if (c->again) {
        r->outcome = recovered ? LG_RECOVERED : LG_NOT_RECOVERED;
        if (recovered)
            R.recovered++;
        else
            R.not_recovered++;
    }
    return recovered;
}

/* 42[...,"<offset>"]: the last argument, when it is a string, is the offset. */
void lg_resume_on_event(const lg_conn *c, const uint8_t *p, size_t n)
{
    lg_resume *r = lg__get(c->idx, 0);
    if (!r || !r->pid || n < 6 || p[n - 1] != ']' || p[n - 2] != '"')
        return;
    size_t q = n - 3;
    while (q > 2 && p[q] != '"')
        q--;
    if (p[q] != '"' || p[q - 1] != ',')
        return;
    size_t len = n - 2 - (q + 1);
    if (len + 1 > r->offset_cap) {
        r->offset_cap = (uint32_t)len + 33;
        r->offset = rc_realloc(r->offset, r->offset_cap);
    }
    memcpy(r->offset, p + q + 1, len);
    r->offset[len] = 0;
}

/* ---- drops and reconnections ------------------------------------------------------------------ */

void lg_resume_on_drop(lg_conn *c, int why)
{
    if (!G.recover || R.closed)
        return;
    lg_resume *r = lg__get(c->idx, 1);
    R.drops++;
    R.dropped_by[why]++;
    r->dropped_us = lg_now_us();
    r->attempts = 0;
    r->outcome = LG_STILL_DOWN;
    lg__schedule(c, r);
}

void lg_resume_on_fail(lg_conn *c, int why)
{
    lg_resume *r = lg__get(c->idx, 1);
    R.failed_by[why]++;
    if (!R.closed)
        lg__schedule(c, r);
}

void lg_resume_on_ready(lg_conn *c)
{
    lg_resume *r = lg__get(c->idx, 1);
    R.reconnected++;
    int64_t now = lg_now_us();
    bh_add(&R.reconnect_us, (uint64_t)(now - r->dropped_us));
    bh_add(&R.handshake_us, (uint64_t)(now - r->attempt_us));
}

void lg_resume_ports(const char *list)
{
    R.nports = 0;
    R.next = 0;
    for (const char *s = list; *s && R.nports < LG_PORTS_MAX;) {
        char *end;
        long port = strtol(s, &end, 10);
        if (end == s)
            break;
        if (port > 0 && port < 65536) {
            R.ports[R.nports] = G.server;
            R.ports[R.nports++].sin_port = htons((uint16_t)port);
        }
        s = *end == ',' ? end + 1 : end;
    }
}

int lg_resume_outcome(uint32_t idx)
{
    const lg_resume *r = lg__get(idx, 0);
    return r ? r->outcome : LG_NEVER_DROPPED;
}

/* ---- counts ------------------------------------------------------------------------------------- */

void lg_resume_reset(void)
{
    R.drops = R.reconnected = R.recovered = R.not_recovered = R.attempts = 0;
    memset(R.failed_by, 0, sizeof R.failed_by);
    memset(R.dropped_by, 0, sizeof R.dropped_by);
    bh_reset(&R.reconnect_us);
    bh_reset(&R.handshake_us);
}

static void lg__reasons(FILE *f, const uint64_t *by)
{
    for (int i = 1; i < F_NREASONS; i++)
        fprintf(f, "%s\"%s\":%llu", i > 1 ? "," : "", lg_fail_names[i], (unsigned long long)by[i]);
}

void lg_resume_json(FILE *f)
{
    size_t down = 0;
    for (size_t i = 0; i < R.cap; i++)
        down += R.by_idx[i] && R.by_idx[i]->outcome == LG_STILL_DOWN;
    fprintf(f, "\"drops\":%llu,\"reconnected\":%llu,\"recovered\":%llu,\"not_recovered\":%llu,"
               "\"down\":%zu,\"attempts\":%llu,\"failed_attempts\":{",
            (unsigned long long)R.drops, (unsigned long long)R.reconnected,
            (unsigned long long)R.recovered, (unsigned long long)R.not_recovered, down,
            (unsigned long long)R.attempts);
    lg__reasons(f, R.failed_by);
    fprintf(f, "},\"drop_reasons\":{");
    lg__reasons(f, R.dropped_by);
    fprintf(f, "},\"reconnect_time\":{");
    bh_json(f, &R.reconnect_us);
    fprintf(f, "},\"handshake_time\":{");
    bh_json(f, &R.handshake_us);
    fprintf(f, "}");
}

void lg_resume_cancel_all(void)
{
    R.closed = 1;
    for (size_t i = 0; i < R.cap; i++)
        if (R.by_idx[i] && evtimer_initialized(&R.by_idx[i]->timer))
            evtimer_del(&R.by_idx[i]->timer);
}

void lg_resume_free(void)
{
    lg_resume_cancel_all();
    for (size_t i = 0; i < R.cap; i++)
        if (R.by_idx[i]) {
            rc_free(R.by_idx[i]->pid);
            rc_free(R.by_idx[i]->offset);
            rc_free(R.by_idx[i]);
        }
    rc_free(R.by_idx);
    R.by_idx = NULL;
    R.cap = 0;
}
