/* replay.c: replays missed room events for recovering sockets (see replay.h). */
#include "gateway/replay.h"

#include <event2/event.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/map.h"
#include "gateway/dedup.h"
#include "gateway/delivery.h"
#include "gateway/kwake.h"

#define GW_PASS_TIMEOUT_US (15 * 1000000LL)
#define GW_BATCH_WINDOW_US 20000

typedef struct gw__job {
    char sid[24];
    gw_vector from, to;
    size_t replayed;
    struct gw__job *next;
} gw__job;

struct gw_replay {
    rd_kafka_t *rk;
    rd_kafka_queue_t *q;
    gw_kwake *wake;
    struct event *timer;
    char *topic;
    gw_replay_handlers h;
    void *ctx;
    gw__job *pending, *active;
    rc_map *by_sid; /* the active jobs, by sid */
    int in_pass;
    int64_t deadline_us;
    uint32_t n;
    int64_t start[GW_RECOVERY_MAX_PARTITIONS], end[GW_RECOVERY_MAX_PARTITIONS],
        next[GW_RECOVERY_MAX_PARTITIONS];
    uint8_t done[GW_RECOVERY_MAX_PARTITIONS];
    uint8_t assigned[GW_RECOVERY_MAX_PARTITIONS]; /* read by the pass under way */
    size_t njobs, max_jobs;                         /* pending and active */
    const gw_dedup *live;
    gw_dedup *seen; /* this pass's copies, by (room, id) */
    rc_counter *passes, *replayed, *failed, *duplicates, *joined;
    rc_histogram *pass_seconds;
    int64_t pass_started_us;
};

static int64_t pos_of(const gw_vector *v, uint32_t p)
{
    return p < v->n ? v->pos[p] : 0;
}

static void gw__arm(gw_replay *r, int64_t us)
{
    struct timeval tv = {us / 1000000, us % 1000000};
    evtimer_add(r->timer, &tv);
}

/* Ends the pass: every active job is done, ok or not. */
static void gw__finish(gw_replay *r, int ok)
{
    rd_kafka_assign(r->rk, NULL);
    gw__job *j = r->active;
    r->active = NULL;
    r->in_pass = 0;
    rc_counter_inc(ok ? r->passes : r->failed);
    rc_histogram_observe(r->pass_seconds, (double)(rc_now_us() - r->pass_started_us) / 1e6);
    memset(r->assigned, 0, sizeof r->assigned);
    while (j) {
        gw__job *nx = j->next;
        if (rc_map_get(r->by_sid, j->sid, strlen(j->sid)) == j)
            rc_map_del(r->by_sid, j->sid, strlen(j->sid));
        r->njobs--;
        r->h.done(r->ctx, j->sid, ok, j->replayed, &j->to);
        rc_free(j);
        j = nx;
    }
    if (r->pending)
        gw__arm(r, GW_BATCH_WINDOW_US);
}

static void gw__begin(gw_replay *r)
{
    r->active = r->pending;
    r->pending = NULL;
    r->in_pass = 1;
    gw_dedup_clear(r->seen);
    r->pass_started_us = rc_now_us();
    r->deadline_us = r->pass_started_us + GW_PASS_TIMEOUT_US;
    r->n = 0;
    for (gw__job *j = r->active; j; j = j->next) {
        if (j->to.n > r->n)
            r->n = j->to.n;
        rc_map_put(r->by_sid, j->sid, strlen(j->sid), j);
    }
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new((int)r->n);
    int reading = 0;
    for (uint32_t p = 0; p < r->n; p++) {
        int64_t lo = INT64_MAX, hi = 0;
        for (gw__job *j = r->active; j; j = j->next) {
            if (pos_of(&j->to, p) > pos_of(&j->from, p)) {
                if (pos_of(&j->from, p) < lo)
                    lo = pos_of(&j->from, p);
                if (pos_of(&j->to, p) > hi)
                    hi = pos_of(&j->to, p);
            }
        }
        r->done[p] = lo >= hi;
        r->start[p] = r->next[p] = lo == INT64_MAX ? 0 : lo;
        r->end[p] = hi;
        r->assigned[p] = !r->done[p];
        if (!r->done[p]) {
            rd_kafka_topic_partition_list_add(parts, r->topic, (int32_t)p)->offset = lo;
            reading++;
        }
    }
    if (reading)
        rd_kafka_assign(r->rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (!reading)
        return gw__finish(r, 1);
    gw__arm(r, 100000); /* the deadline check, and a drain in case no wake-up comes */
}

static void gw__drain(gw_replay *r);

static void gw__timer_cb(evutil_socket_t fd, short what, void *arg)
{
    gw_replay *r = arg;
    if (!r->in_pass) {
        if (r->pending)
            gw__begin(r);
        return;
    }
    gw__drain(r);
    if (!r->in_pass)
        return;
    if (rc_now_us() > r->deadline_us) {
        rc_log_warn("recovery replay timed out", "{s:s}", "topic", r->topic);
        return gw__finish(r, 0);
    }
    gw__arm(r, 100000);
}

static int gw__all_done(const gw_replay *r)
{
    for (uint32_t p = 0; p < r->n; p++)
        if (!r->done[p])
            return 0;
    return 1;
}

/* A later copy of an event already met in this pass, or one the live delivery saw at
 * an earlier place. */
static int gw__duplicate(gw_replay *r, const Roomcast__V1__RoomEvent *m,
                         const rd_kafka_message_t *msg)
{
    uint64_t key = gw_dedup_key(m->room, strlen(m->room), m->id, strlen(m->id));
    gw_dedup_pos here = {msg->partition, msg->offset}, at;
    if (!gw_dedup_add(r->seen, key, here, rc_now_us() / 1000, NULL))
        return 1;
    return r->live && gw_dedup_find(r->live, key, &at) &&
           (at.partition != here.partition || at.offset < here.offset);
}

int gw_replay_replayed(const gw_replay *r, uint64_t key, const gw_vector *to)
{
    /* The pass reads to the farthest job's end: a copy between this job's end and that
     * was not the socket's to replay, and its live copy is the one it gets. */
    gw_dedup_pos at;
    return gw_dedup_find(r->seen, key, &at) && at.partition >= 0 &&
           at.offset < pos_of(to, (uint32_t)at.partition);
}

/* Offers m (at msg) to job j's socket if it lies in j's range. */
static void gw__offer(gw_replay *r, gw__job *j, const Roomcast__V1__RoomEvent *m, size_t idx,
                      const rd_kafka_message_t *msg)
{
    uint32_t p = (uint32_t)msg->partition;
    if (msg->offset < pos_of(&j->from, p) || msg->offset >= pos_of(&j->to, p))
        return;
    /* this socket's offset for the event: p just past it, other partitions as far as
       this pass has gone for this socket */
    gw_vector v = {.at_ms = rc_now_us() / 1000, .n = j->to.n};
    for (uint32_t q = 0; q < v.n; q++) {
        int64_t x = q == p ? msg->offset + 1 : r->next[q];
        if (x < pos_of(&j->from, q))
            x = pos_of(&j->from, q);
        if (x > pos_of(&j->to, q))
            x = pos_of(&j->to, q);
        v.pos[q] = x;
    }
    r->h.event(r->ctx, j->sid, m, idx, &v);
    j->replayed++;
    rc_counter_inc(r->replayed);
}

/* The jobs of the waiting sockets of one room, gathered before any is offered the event:
 * offering may change the room (a replayed control record joins or leaves). */
struct gw__gather {
    const rc_map *by_sid;
    gw__job **jobs;
    size_t n, cap;
};

static void gw__gather_sid(const char *sid, void *arg)
{
    struct gw__gather *g = arg;
    gw__job *j = rc_map_get(g->by_sid, sid, strlen(sid));
    if (!j)
        return; /* waiting for a later pass */
    if (g->n == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 16;
        g->jobs = rc_realloc(g->jobs, g->cap * sizeof *g->jobs);
    }
    g->jobs[g->n++] = j;
}

static void gw__message(gw_replay *r, const rd_kafka_message_t *msg)
{
    uint32_t p = (uint32_t)msg->partition;
    if (p >= r->n || r->done[p])
        return;
    /* keyed by its room: skipped undecoded when no socket here waits for that room */
    int filter = r->h.each_waiting != NULL;
    if (!filter || !msg->key_len ||
        r->h.each_waiting(r->ctx, (const char *)msg->key, msg->key_len, NULL, NULL)) {
        size_t idx = 0;
        Roomcast__V1__RoomEvent *m = gw_room_event_decode(msg->payload, msg->len, &idx);
        if (m && gw__duplicate(r, m, msg)) {
            rc_counter_inc(r->duplicates);
            roomcast__v1__room_event__free_unpacked(m, NULL);
            m = NULL;
        }
        if (m && filter) {
            struct gw__gather g = {.by_sid = r->by_sid};
            r->h.each_waiting(r->ctx, m->room, strlen(m->room), gw__gather_sid, &g);
            for (size_t i = 0; i < g.n; i++)
                gw__offer(r, g.jobs[i], m, idx, msg);
            rc_free(g.jobs);
        }
        for (gw__job *j = r->active; m && !filter && j; j = j->next)
            gw__offer(r, j, m, idx, msg);
        if (m)
            roomcast__v1__room_event__free_unpacked(m, NULL);
    }
    r->next[p] = msg->offset + 1;
    if (r->next[p] >= r->end[p])
        r->done[p] = 1;
}

/* Takes everything the queue holds. The queue wakes the loop only when it goes from
 * empty to not empty, so it is always drained to the end, stale messages included. */
static void gw__drain(gw_replay *r)
{
    rd_kafka_message_t *batch[256];
    ssize_t n;
    while ((n = rd_kafka_consume_batch_queue(r->q, 0, batch, 256)) > 0) {
        int failed = 0;
        for (ssize_t i = 0; i < n; i++) {
            rd_kafka_message_t *m = batch[i];
            if (!r->in_pass || failed) {
            } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                uint32_t p = (uint32_t)m->partition;
                if (p < r->n && m->offset >= r->end[p])
                    r->done[p] = 1;
            } else if (m->err) {
                rc_log_warn("recovery replay failed", "{s:s}", "error", rd_kafka_message_errstr(m));
                failed = 1;
            } else {
                gw__message(r, m);
            }
            rd_kafka_message_destroy(m);
        }
        if (failed)
            gw__finish(r, 0);
        else if (r->in_pass && gw__all_done(r))
            gw__finish(r, 1);
    }
}

static void gw__wake(void *arg)
{
    gw__drain(arg);
}

/* A job can ride along with the pass under way when the pass reads every partition it
 * needs and has not yet gone past where the job starts on any of them: recoveries of
 * one wave (the sockets of a gateway that died) mostly can, so the topic is read once
 * for the wave rather than once per batch of it. */
static int gw__join(gw_replay *r, gw__job *j)
{
    if (!r->in_pass || j->to.n > r->n)
        return 0;
    for (uint32_t p = 0; p < j->to.n; p++)
        if (pos_of(&j->to, p) > pos_of(&j->from, p) && (!r->assigned[p] || r->next[p] > pos_of(&j->from, p)))
            return 0;
    for (uint32_t p = 0; p < j->to.n; p++)
        if (pos_of(&j->to, p) > r->end[p]) {
            r->end[p] = pos_of(&j->to, p);
            r->done[p] = r->next[p] >= r->end[p];
        }
    j->next = r->active;
    r->active = j;
    rc_map_put(r->by_sid, j->sid, strlen(j->sid), j);
    rc_counter_inc(r->joined);
    return 1;
}

int gw_replay_busy(const gw_replay *r)
{
    return r->njobs >= r->max_jobs;
}

void gw_replay_start(gw_replay *r, const char *sid, const gw_vector *from, const gw_vector *to)
{
    gw__job *j = rc_calloc(1, sizeof *j);
    snprintf(j->sid, sizeof j->sid, "%s", sid);
    j->from = *from;
    j->to = *to;
    r->njobs++;
    if (gw__join(r, j))
        return;
    j->next = r->pending;
    r->pending = j;
    if (!r->in_pass && !evtimer_pending(r->timer, NULL))
        gw__arm(r, GW_BATCH_WINDOW_US);
}

static double gw__jobs_fn(void *ctx)
{
    return (double)((gw_replay *)ctx)->njobs;
}

gw_replay *gw_replay_new(struct event_base *base, const char *brokers, const char *topic,
                         const char *client_id, const gw_dedup *live, size_t max_jobs,
                         const gw_replay_handlers *h, void *ctx, rc_metrics *metrics,
                         char *errstr, size_t errlen)
{
    gw_replay *r = rc_calloc(1, sizeof *r);
    r->live = live;
    r->max_jobs = max_jobs;
    r->h = *h;
    r->ctx = ctx;
    r->topic = rc_strdup(topic);
    char id[256];
    snprintf(id, sizeof id, "%s-replay", client_id);
    rd_kafka_conf_t *conf = rc_kafka_reader_conf_new(brokers, id);
    rc_kafka_set(conf, "enable.partition.eof", "true");
    rc_kafka_set(conf, "fetch.wait.max.ms", "50");
    r->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errlen);
    if (!r->rk) {
        rd_kafka_conf_destroy(conf);
        rc_free(r->topic);
        rc_free(r);
        return NULL;
    }
    r->q = rd_kafka_queue_get_consumer(r->rk);
    r->by_sid = rc_map_new();
    r->wake = gw_kwake_new(base, r->q, gw__wake, r);
    r->timer = evtimer_new(base, gw__timer_cb, r);
    rc_counter_family *f = rc_counter_family_new(metrics, "roomcast_gateway_replay_passes_total",
                                                 "Passes over the room topic for recovering sockets",
                                                 "result");
    r->passes = rc_counter_get(f, "ok");
    r->failed = rc_counter_get(f, "failed");
    r->replayed = rc_counter_new(metrics, "roomcast_gateway_replayed_events_total",
                                 "Missed room events replayed to recovering sockets");
    r->duplicates = rc_counter_new(metrics, "roomcast_gateway_replay_duplicates_total",
                                   "Second copies of room events skipped by recovery replays");
    r->joined = rc_counter_new(metrics, "roomcast_gateway_replay_joined_total",
                               "Recovery replays that rode along with a pass under way");
    rc_gauge_fn_new(metrics, "roomcast_gateway_replay_jobs",
                    "Recovery replays queued or under way (at most ROOMCAST_REPLAY_MAX_JOBS)",
                    gw__jobs_fn, r);
    /* a pass reads what the sockets of one recovery wave missed: bounded like the live set */
    r->seen = gw_dedup_new(live ? 1 << 20 : 1024, 86400 * 1000LL);
    r->pass_seconds = rc_histogram_new(metrics, "roomcast_gateway_replay_seconds",
                                       "Time a replay pass took", NULL, 0);
    return r;
}

void gw_replay_free(gw_replay *r)
{
    if (!r)
        return;
    while (r->active) {
        gw__job *j = r->active;
        r->active = j->next;
        rc_free(j);
    }
    while (r->pending) {
        gw__job *j = r->pending;
        r->pending = j->next;
        rc_free(j);
    }
    gw_kwake_free(r->wake);
    event_free(r->timer);
    rd_kafka_queue_destroy(r->q);
    rd_kafka_consumer_close(r->rk);
    rd_kafka_destroy(r->rk);
    gw_dedup_free(r->seen);
    rc_map_free(r->by_sid);
    rc_free(r->topic);
    rc_free(r);
}
