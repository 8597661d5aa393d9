/* loadgen.c: roomcast-loadgen, the benchmark's client side. One thread on libevent holds
 * many Socket.IO clients (WebSocket transport, Engine.IO v4, Socket.IO v5) against any
 * server that speaks the protocol: roomcast's gateway or the reference Socket.IO 4.8.
 * This file is the tool (options, commands, batches, reports); one client's protocol is
 * bench/loadgen/client.c, reconnection with recovery resume.c, the audit audit.c (lg.h).
 *
 * Client i is user <prefix><first+i>, with its own token (HS256, signed here with
 * common/token.h), connecting from loopback source 127.0.0.(1 + i mod --sources).
 *
 * Driven by commands on stdin, one per line, each answered by one JSON line on stdout:
 *   connect N [S]
 *               open N more clients (at most --concurrency handshakes at once), spread
 *               evenly over S seconds when given (so their pings are too)      -> "connected"
 *   storm N     as connect, but stop opening at the first failure              -> "storm"
 *   reset       zero the counters, the histogram and the CPU/time origin       -> "reset"
 *   report      what happened since reset (deliveries, latency, own CPU; with
 *               --recover also drops, reconnections and recoveries)          -> "report"
 *   progress MS print {"type":"progress",...} every MS ms (0 stops)
 *   close       close every client (RST, so no TIME_WAIT piles up)             -> "closed"
 *   quit        (or end of input) exit
 * With --recover a dropped client reconnects as the stock socket.io-client does (its
 * backoff, then CONNECT with auth {token, pid, offset}), and two more commands:
 *   ports P,... where reconnections go from now on (a balancer's live backends)
 *   track       forget the events each client received, and record them from now on
 *   audit FIRST LAST CHATS
 *               each client's events among m<FIRST>..m<LAST> of `kproduce rate ... audit`
 *               against those it was owed: lost, duplicated, unexpected          -> "audit"
 * With --conns N it runs "connect N" at start; with --duration S it then resets, waits S
 * seconds, reports and exits (what the smoke test uses). Its own CPU time is in every
 * report so a run can show the load generator was not the bottleneck. */
#include <errno.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <getopt.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench/loadgen/lg.h"
#include "common/alloc.h"
#include "common/token.h"

const char *const lg_fail_names[F_NREASONS] = {"",        "connect", "http",     "closed",
                                                "refused", "timeout", "protocol", "join"};

lg_state G;

/* ---- small helpers --------------------------------------------------------------------- */

int64_t lg_now_us(void)
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
    int64_t now = lg_now_us() / 1000000;
    for (size_t i = 0; i < upto; i++) {
        if (G.tokens[i])
            continue;
        char sub[64];
        snprintf(sub, sizeof sub, "%s%zu", G.prefix, (size_t)G.first + i);
        G.tokens[i] = rc_token_sign(keys, sub, G.role, NULL, now, 24 * 3600, err, sizeof err);
        if (!G.tokens[i]) {
            fprintf(stderr, "roomcast-loadgen: signing: %s\n", err);
            exit(2);
        }
    }
}

/* ---- where handshakes end ------------------------------------------------------------- */

static void lg_pump(void);

void lg_fail(lg_conn *c, int reason)
{
    if (c->state == S_FREE)
        return;
    int was_ready = c->state == S_READY, again = c->again;
    lg_conn_free(c);
    if (was_ready) {
        G.dropped++;
        G.ready--;
        lg_resume_on_drop(c, reason);
        return;
    }
    if (again) {
        lg_resume_on_fail(c, reason);
        return;
    }
    G.inflight--;
    G.batch_fail++;
    G.batch_fail_by[reason]++;
    if (!G.first_fail) {
        G.first_fail = 1 + reason;
        G.first_fail_us = lg_now_us();
        G.ok_at_first_fail = G.batch_ok;
    }
    lg_pump();
}

void lg_ready(lg_conn *c)
{
    c->state = S_READY;
    /* No handshake deadline any more. Re-assigned, not just re-added without one: libevent
       keeps a persistent event's last timeout and re-arms it at its next activation. */
    int want_write = c->ev_write;
    c->ev_write = 2;
    lg_watch(c, want_write);
    G.ready++;
    if (c->again) {
        c->again = 0;
        lg_resume_on_ready(c);
        return;
    }
    G.inflight--;
    G.batch_ok++;
    G.batch_last_ok_us = lg_now_us();
    bh_add(&G.connect_hist, (uint64_t)(G.batch_last_ok_us - c->started_us));
    lg_pump();
}

/* ---- output ------------------------------------------------------------------------------ */

static void lg_print_batch(void)
{
    int64_t end = G.storm && G.first_fail ? G.first_fail_us : G.batch_last_ok_us;
    size_t ok = G.storm && G.first_fail ? G.ok_at_first_fail : G.batch_ok;
    double secs = end > G.batch_start_us ? (double)(end - G.batch_start_us) / 1e6 : 0;
    printf("{\"type\":\"%s\",\"ok\":%zu,\"failed\":%zu,\"open\":%zu,\"seconds\":%.3f,"
           "\"connects_per_s\":%.1f,\"first_failure\":\"%s\",\"ok_before_first_failure\":%zu,"
           "\"failures\":{",
           G.storm ? "storm" : "connected", G.batch_ok, G.batch_fail, G.open, secs,
           secs > 0 ? (double)ok / secs : 0, G.first_fail ? lg_fail_names[G.first_fail - 1] : "",
           G.first_fail ? G.ok_at_first_fail : G.batch_ok);
    for (int i = 0; i < F_NREASONS; i++)
        printf("%s\"%s\":%zu", i ? "," : "", lg_fail_names[i], G.batch_fail_by[i]);
    printf("},\"connect_latency\":{");
    bh_json(stdout, &G.connect_hist);
    printf("},\"cpu_s\":%.3f}\n", cpu_self());
    fflush(stdout);
}

static void lg_report(void)
{
    double secs = (double)(lg_now_us() - G.reset_us) / 1e6;
    double cpu = cpu_self() - G.reset_cpu;
    printf("{\"type\":\"report\",\"seconds\":%.3f,\"cpu_s\":%.3f,\"cpu_share\":%.3f,"
           "\"open\":%zu,\"dropped\":%llu,\"deliveries\":%llu,\"deliveries_per_s\":%.1f,"
           "\"stamped\":%llu,\"frames\":%llu,\"bytes\":%llu,\"pings\":%llu,\"latency\":{",
           secs, cpu, secs > 0 ? cpu / secs : 0, G.open, (unsigned long long)G.dropped,
           (unsigned long long)G.deliveries, secs > 0 ? (double)G.deliveries / secs : 0,
           (unsigned long long)G.stamped, (unsigned long long)G.frames, (unsigned long long)G.bytes,
           (unsigned long long)G.pings);
    bh_json(stdout, &G.lat);
    printf("}");
    if (G.recover) {
        printf(",\"recovery\":{");
        lg_resume_json(stdout);
        printf("}");
    }
    printf("}\n");
    fflush(stdout);
}

static void lg_reset(void)
{
    G.deliveries = G.stamped = G.frames = G.bytes = G.dropped = G.pings = 0;
    bh_reset(&G.lat);
    G.reset_us = lg_now_us();
    G.reset_cpu = cpu_self();
    lg_resume_reset();
}

/* Opens connections while the handshake window has room and the batch wants more. */
/* With a paced batch, how many of it may have started by now. */
static size_t lg_paced_limit(void)
{
    if (!G.pace_us)
        return G.target;
    size_t n = G.batch_first + 1 + (size_t)((lg_now_us() - G.batch_start_us) / G.pace_us);
    if (n < G.target && !evtimer_pending(G.pacer, NULL)) {
        struct timeval tv = {0, G.pace_us < 1000 ? 1000 : (long)G.pace_us};
        evtimer_add(G.pacer, &tv);
    }
    return n < G.target ? n : G.target;
}

static void lg_pace_cb(evutil_socket_t fd, short what, void *arg)
{
    lg_pump();
}

static void lg_pump(void)
{
    size_t limit = lg_paced_limit();
    while (G.inflight < (size_t)G.concurrency && G.used < limit && !(G.storm && G.first_fail)) {
        if (!G.conns[G.used])
            G.conns[G.used] = rc_calloc(1, sizeof(lg_conn));
        lg_conn *c = G.conns[G.used];
        c->idx = (uint32_t)G.used;
        G.used++;
        G.inflight++;
        if (lg_open(c, &G.server) != 0) {
            G.inflight--;
            G.batch_fail++;
            G.batch_fail_by[F_CONNECT]++;
            if (!G.first_fail) {
                G.first_fail = 1 + F_CONNECT;
                G.first_fail_us = lg_now_us();
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

static void lg_start_batch(size_t n, int storm, double seconds)
{
    lg_sign_tokens(G.used + n);
    G.batch_first = G.used;
    G.pace_us = n && seconds > 0 ? (int64_t)(seconds * 1e6 / (double)n) : 0;
    G.target = G.used + n;
    G.storm = storm;
    G.batch_active = 1;
    G.first_fail = 0;
    G.batch_ok = G.batch_fail = 0;
    memset(G.batch_fail_by, 0, sizeof G.batch_fail_by);
    bh_reset(&G.connect_hist);
    G.batch_start_us = G.batch_last_ok_us = lg_now_us();
    lg_pump();
}

static void lg_close_all(void)
{
    lg_resume_cancel_all(); /* no reconnection after this */
    for (size_t i = 0; i < G.used; i++)
        if (G.conns[i]->state != S_FREE) {
            if (G.conns[i]->state != S_READY && !G.conns[i]->again)
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
           "\"ready\":%zu,\"dropped\":%llu,\"cpu_s\":%.3f}\n",
           (long long)lg_now_us(), (unsigned long long)G.deliveries, G.open, G.ready,
           (unsigned long long)G.dropped, cpu_self() - G.reset_cpu);
    fflush(stdout);
}

static void lg_command(const char *cmd)
{
    long n = 0;
    double secs = 0;
    unsigned long long first, last, chats;
    if (sscanf(cmd, "connect %ld %lf", &n, &secs) >= 1 && n >= 0) {
        lg_start_batch((size_t)n, 0, secs);
    } else if (sscanf(cmd, "storm %ld", &n) == 1 && n >= 0) {
        lg_start_batch((size_t)n, 1, 0);
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
    } else if (G.recover && !strncmp(cmd, "ports ", 6)) {
        lg_resume_ports(cmd + 6);
    } else if (G.recover && !strcmp(cmd, "track")) {
        lg_audit_track();
    } else if (G.recover && sscanf(cmd, "audit %llu %llu %llu", &first, &last, &chats) == 3 &&
               chats > 1 && last >= first) {
        lg_audit_print(first, last, chats);
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
            "         [--join ROOM | --ring N] [--first K] [--recover]\n"
            "         [--conns N [--duration S]]\n"
            "  --join ROOM  every client emits join-chat-room ROOM (room chat-ROOM)\n"
            "  --ring N     client i (user first+i) joins chats c(first+i mod N), c(first+i-1 mod N)\n"
            "  --first K    client i is user <prefix><K+i>\n"
            "  --recover    dropped clients reconnect with connection state recovery\n"
            "  then reads commands on stdin: connect N, storm N, reset, report,\n"
            "  progress MS, close, quit, and with --recover ports, track, audit\n"
            "  (see the header of bench/loadgen.c)\n");
    exit(2);
}

static void parse_args(int argc, char **argv)
{
    static const struct option opts[] = {
        {"host", 1, 0, 'h'},   {"port", 1, 0, 'p'},        {"secret", 1, 0, 's'},
        {"sources", 1, 0, 'S'}, {"concurrency", 1, 0, 'c'}, {"timeout", 1, 0, 'T'},
        {"prefix", 1, 0, 'u'}, {"role", 1, 0, 'r'},        {"join", 1, 0, 'j'},
        {"ring", 1, 0, 'R'},   {"conns", 1, 0, 'n'},       {"duration", 1, 0, 'd'},
        {"first", 1, 0, 'f'},  {"recover", 0, 0, 'v'},     {0, 0, 0, 0}};
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
        case 'f': G.first = atol(optarg); break;
        case 'v': G.recover = 1; break;
        default: usage();
        }
    }
    if (port <= 0 || !G.secret || G.sources < 1 || G.sources > 250 || G.concurrency < 1 ||
        G.first < 0)
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
    G.pacer = evtimer_new(G.base, lg_pace_cb, NULL);
    G.stdin_ev = event_new(G.base, 0, EV_READ | EV_PERSIST, lg_stdin_cb, NULL);
    event_add(G.stdin_ev, NULL);
    lg_reset();
    if (G.conns_at_start > 0)
        lg_start_batch((size_t)G.conns_at_start, 0, 0);
    event_base_dispatch(G.base);
    lg_resume_free();
    lg_audit_free();
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
    event_free(G.pacer);
    event_free(G.stdin_ev);
    event_base_free(G.base);
    return 0;
}
