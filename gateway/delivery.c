/* delivery.c: the room-topic consumer (see delivery.h). */
#include "gateway/delivery.h"

#include <event2/event.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/jsonvalid.h"
#include "common/kafka.h"
#include "common/log.h"
#include "gateway/dedup.h"
#include "gateway/kwake.h"
#include "gateway/socketio.h"
#include "roomcast/v1/events.pb-c.h"

/* Room events handled per wake-up before sockets get a turn to write. */
#define GW_BATCH 256

struct gw_delivery {
    struct event_base *base;
    rd_kafka_t *rk;
    rd_kafka_queue_t *q;
    gw_kwake *wake;
    struct event *tick;
    char *topic;
    int32_t assigned; /* partitions assigned so far */
    int64_t pos[GW_RECOVERY_MAX_PARTITIONS]; /* next offset to deliver, per partition */
    const gw_recovery_key *recovery;
    int brokers_up;
    unsigned ticks;
    gw_deliver_fn fn;
    gw_member_fn has_member;
    void *ctx;
    gw_control_fn control;
    void *control_ctx;
    /* per event being delivered */
    gw_frame *frame;
    Roomcast__V1__RoomEvent *cur;
    gw_dedup *seen;
    rc_counter *ev_delivered, *ev_no_member, *ev_covered, *ev_invalid, *ev_duplicate, *deliveries;
    rc_histogram *latency, *offset_bytes;
    rc_gauge_family *position;
};

/* ---- readiness from librdkafka's statistics ----------------------------------------------- */

static int gw__stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    gw_delivery *d = opaque;
    json_t *root = json_loadb(json, len, 0, NULL);
    int up = 0;
    json_t *brokers = json_object_get(root, "brokers");
    const char *k;
    json_t *b;
    json_object_foreach(brokers, k, b)
    {
        const char *state = json_string_value(json_object_get(b, "state"));
        json_int_t nodeid = json_integer_value(json_object_get(b, "nodeid"));
        if (state && !strcmp(state, "UP") && nodeid >= 0)
            up++;
    }
    d->brokers_up = up;
    json_decref(root);
    return 0; /* librdkafka frees json */
}

int gw_delivery_ready(const gw_delivery *d, char *reason, size_t len)
{
    if (!d->brokers_up) {
        snprintf(reason, len, "no Kafka broker is reachable");
        return 0;
    }
    if (!d->assigned) {
        snprintf(reason, len, "topic %s is not assigned yet (does it exist?)", d->topic);
        return 0;
    }
    return 1;
}

/* ---- partitions ------------------------------------------------------------------------- */

/* Assigns partitions that appeared since the last look: at the live end at start, from
 * the beginning for partitions added later (nothing on them was seen before). Runs the
 * metadata request on the loop thread, so only from the 5-second tick, with a short timeout. */
static void gw__delivery_refresh(gw_delivery *d)
{
    const struct rd_kafka_metadata *md;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(d->rk, d->topic, NULL);
    rd_kafka_resp_err_t err = rd_kafka_metadata(d->rk, 0, rkt, &md, 200);
    rd_kafka_topic_destroy(rkt);
    if (err)
        return;
    if (md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > d->assigned) {
        int32_t n = md->topics[0].partition_cnt;
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(n);
        if (n > GW_RECOVERY_MAX_PARTITIONS)
            n = GW_RECOVERY_MAX_PARTITIONS; /* more partitions than recovery can name */
        for (int32_t p = 0; p < n; p++) {
            int64_t off = RD_KAFKA_OFFSET_INVALID;
            if (p >= d->assigned) {
                /* at start, the live end, as an explicit offset so positions are known;
                   a partition added later is read from its beginning */
                int64_t lo = 0, hi = 0;
                if (d->assigned || rd_kafka_query_watermark_offsets(d->rk, d->topic, p, &lo, &hi,
                                                                    2000) != 0)
                    hi = 0;
                d->pos[p] = off = d->assigned ? 0 : hi;
            }
            rd_kafka_topic_partition_list_add(parts, d->topic, p)->offset =
                off == 0 && d->assigned ? RD_KAFKA_OFFSET_BEGINNING : off;
        }
        /* keep positions of partitions already assigned */
        rd_kafka_topic_partition_list_t *cur = NULL;
        if (d->assigned && rd_kafka_assignment(d->rk, &cur) == 0) {
            rd_kafka_position(d->rk, cur);
            for (int i = 0; i < cur->cnt; i++)
                rd_kafka_topic_partition_list_find(parts, d->topic, cur->elems[i].partition)
                    ->offset = cur->elems[i].offset;
            rd_kafka_topic_partition_list_destroy(cur);
        }
        if (!rd_kafka_assign(d->rk, parts)) {
            rc_log_info("room topic assigned", "{s:s,s:i,s:i}", "topic", d->topic, "partitions",
                        n, "new", n - d->assigned);
            d->assigned = n;
        }
        rd_kafka_topic_partition_list_destroy(parts);
    }
    rd_kafka_metadata_destroy(md);
}

/* ---- messages ----------------------------------------------------------------------------- */

static int gw__valid(const Roomcast__V1__RoomEvent *m, size_t *room_index);

Roomcast__V1__RoomEvent *gw_room_event_decode(const void *buf, size_t len, size_t *room_index)
{
    Roomcast__V1__RoomEvent *m = roomcast__v1__room_event__unpack(NULL, len, buf);
    if (m && !gw__valid(m, room_index)) {
        roomcast__v1__room_event__free_unpacked(m, NULL);
        m = NULL;
    }
    return m;
}

gw_frame *gw_room_event_frame(const Roomcast__V1__RoomEvent *m, const char *vector)
{
    sio_buf b = {0};
    sio_encode_event_raw(&b, m->event, m->args_json, strlen(m->args_json), (int)m->n_attachments);
    const uint8_t *att[SIO_MAX_ATTACHMENTS];
    size_t alen[SIO_MAX_ATTACHMENTS];
    for (size_t i = 0; i < m->n_attachments; i++) {
        att[i] = m->attachments[i].data;
        alen[i] = m->attachments[i].len;
    }
    gw_frame *f;
    if (vector) { /* ...,"<vector>  -- each socket adds its part and "] */
        b.len--; /* the closing ] */
        sio_buf_append(&b, ",\"", 2);
        sio_buf_append(&b, vector, strlen(vector));
        f = gw_frame_new_open('4', b.data, b.len, m->n_attachments, att, alen);
    } else {
        f = gw_frame_new('4', b.data, b.len, m->n_attachments, att, alen);
    }
    sio_buf_free(&b);
    return f;
}

void gw_delivery_position(const gw_delivery *d, gw_vector *out)
{
    out->at_ms = rc_now_us() / 1000;
    out->n = (uint32_t)d->assigned;
    memcpy(out->pos, d->pos, sizeof(int64_t) * (size_t)d->assigned);
}

int gw_delivery_still_held(const gw_delivery *d, const gw_vector *v)
{
    for (uint32_t p = 0; p < v->n && p < (uint32_t)d->assigned; p++) {
        int64_t lo = 0, hi = 0;
        if (rd_kafka_get_watermark_offsets(d->rk, d->topic, (int32_t)p, &lo, &hi) == 0 && lo > 0 &&
            v->pos[p] < lo)
            return 0;
    }
    return 1;
}

const char *gw_delivery_topic(const gw_delivery *d)
{
    return d->topic;
}

static int gw__valid(const Roomcast__V1__RoomEvent *m, size_t *room_index)
{
    int is_event = !m->control; /* a control record has no event: control.c checks the rest */
    if (!*m->id || (is_event && (!*m->event || sio_is_reserved_event(m->event))) || !*m->room ||
        m->n_attachments > SIO_MAX_ATTACHMENTS || strlen(m->room) > 200)
        return 0;
    /* The arguments must be a JSON array a client can parse. Checked without building
     * it (jsonvalid.h): jansson's tree cost more than the rest of an event's delivery.
     * Binary events need the tree to check their placeholders. */
    int ok = 1;
    if (is_event && !m->n_attachments) {
        ok = rc_json_valid_array(m->args_json, strlen(m->args_json));
    } else if (is_event) {
        json_t *args = json_loads(m->args_json, 0, NULL);
        ok = json_is_array(args) && sio_placeholders_valid(args, (int)m->n_attachments);
        json_decref(args);
    }
    if (!ok)
        return 0;
    *room_index = 0;
    for (size_t i = 0; i < m->n_rooms; i++)
        if (!strcmp(m->rooms[i], m->room)) {
            *room_index = i;
            return 1;
        }
    return m->n_rooms == 0; /* no list: the event is for this room alone */
}

gw_frame *gw_delivery_frame(gw_delivery *d, const gw_room_event *ev)
{
    if (!d->frame) {
        char vec[GW_RECOVERY_MAX_PARTITIONS * 10 + 64];
        if (d->recovery) {
            gw_vector v;
            gw_delivery_position(d, &v);
            int n = gw_vector_encode(d->recovery, &v, vec, sizeof vec);
            rc_histogram_observe(d->offset_bytes, n);
        }
        d->frame = gw_room_event_frame(d->cur, d->recovery ? vec : NULL);
    }
    return d->frame;
}

static void gw__delivery_message(gw_delivery *d, rd_kafka_message_t *msg)
{
    if (msg->partition >= 0 && msg->partition < d->assigned)
        d->pos[msg->partition] = msg->offset + 1;
    if (d->has_member && msg->key_len &&
        !d->has_member(d->ctx, (const char *)msg->key, msg->key_len)) {
        rc_counter_inc(d->ev_no_member);
        return;
    }
    size_t idx = 0;
    Roomcast__V1__RoomEvent *m = gw_room_event_decode(msg->payload, msg->len, &idx);
    if (!m) {
        rc_counter_inc(d->ev_invalid);
        rc_log_limited(RC_LOG_WARN, "invalid room event skipped", "{s:i,s:I}", "partition",
                       (int)msg->partition, "offset", (json_int_t)msg->offset);
        return;
    }
    uint64_t key = gw_dedup_key(m->room, strlen(m->room), m->id, strlen(m->id));
    if (!gw_dedup_add(d->seen, key, (gw_dedup_pos){msg->partition, msg->offset},
                      rc_now_us() / 1000, NULL)) {
        rc_counter_inc(d->ev_duplicate);
        roomcast__v1__room_event__free_unpacked(m, NULL);
        return;
    }
    const char *single[1] = {m->room};
    gw_room_event ev = {
        .key = key,
        .id = m->id,
        .room = m->room,
        .rooms = m->n_rooms ? (const char *const *)m->rooms : single,
        .nrooms = m->n_rooms ? m->n_rooms : 1,
        .room_index = idx,
        .except_sid = m->except_sid,
        .produced_at_us = m->produced_at_us,
        .partition = msg->partition,
        .offset = msg->offset,
    };
    if (m->control) {
        if (d->control)
            d->control(d->control_ctx, &ev, m->control);
        roomcast__v1__room_event__free_unpacked(m, NULL);
        return;
    }
    d->cur = m;
    d->frame = NULL;
    size_t n = d->fn(d, &ev, d->ctx);
    if (n) {
        rc_counter_inc(d->ev_delivered);
        rc_counter_add(d->deliveries, n);
        if (m->produced_at_us > 0)
            rc_histogram_observe(d->latency, (double)(rc_now_us() - m->produced_at_us) / 1e6);
    } else if (d->has_member && d->has_member(d->ctx, m->room, strlen(m->room))) {
        /* decoded for nothing: its local members had it through an earlier room of the
           same event (or sent it); a cost of one copy per room, not of other gateways */
        rc_counter_inc(d->ev_covered);
    } else {
        rc_counter_inc(d->ev_no_member);
    }
    gw_frame_unref(d->frame);
    d->frame = NULL;
    d->cur = NULL;
    roomcast__v1__room_event__free_unpacked(m, NULL);
}

static void gw__delivery_drain(gw_delivery *d)
{
    rd_kafka_message_t *batch[256];
    size_t total = 0;
    while (total < GW_BATCH) {
        ssize_t n = rd_kafka_consume_batch_queue(d->q, 0, batch, 256);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++) {
            if (batch[i]->err) {
                if (batch[i]->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                    rc_log_limited(RC_LOG_WARN, "room topic consume error", "{s:s}", "error",
                                   rd_kafka_message_errstr(batch[i]));
            } else {
                gw__delivery_message(d, batch[i]);
            }
            rd_kafka_message_destroy(batch[i]);
        }
        total += (size_t)n;
    }
    if (total >= GW_BATCH) /* more may wait: yield to sockets, then continue */
        gw_kwake_again(d->wake);
}

static void gw__wake(void *arg)
{
    gw__delivery_drain(arg);
}

static void gw__tick_cb(evutil_socket_t fd, short what, void *arg)
{
    gw_delivery *d = arg;
    rd_kafka_poll(d->rk, 0); /* errors, statistics */
    for (int32_t p = 0; p < d->assigned; p++) {
        char label[12];
        snprintf(label, sizeof label, "%d", (int)p);
        rc_gauge_set(rc_gauge_get(d->position, label), (double)d->pos[p]);
    }
    /* look for the topic every second until found, then for new partitions every 5 s */
    if (d->ticks++ % (d->assigned ? 25 : 5) == 0)
        gw__delivery_refresh(d);
}

static double gw__lag_fn(void *ctx)
{
    gw_delivery *d = ctx;
    rd_kafka_topic_partition_list_t *cur = NULL;
    if (rd_kafka_assignment(d->rk, &cur) != 0 || !cur)
        return 0;
    rd_kafka_position(d->rk, cur);
    double lag = 0;
    for (int i = 0; i < cur->cnt; i++) {
        int64_t lo, hi;
        if (cur->elems[i].offset >= 0 &&
            rd_kafka_get_watermark_offsets(d->rk, d->topic, cur->elems[i].partition, &lo, &hi) == 0 &&
            hi > cur->elems[i].offset)
            lag += (double)(hi - cur->elems[i].offset);
    }
    rd_kafka_topic_partition_list_destroy(cur);
    return lag;
}

static double gw__dedup_size_fn(void *ctx)
{
    return (double)gw_dedup_size(((gw_delivery *)ctx)->seen);
}

static double gw__dedup_early_fn(void *ctx)
{
    return (double)gw_dedup_evicted_early(((gw_delivery *)ctx)->seen);
}

const struct gw_dedup *gw_delivery_seen(const gw_delivery *d)
{
    return d->seen;
}

static double gw__partitions_fn(void *ctx)
{
    return ((gw_delivery *)ctx)->assigned;
}

gw_delivery *gw_delivery_new(struct event_base *base, const gw_delivery_config *cfg,
                             rc_metrics *metrics, gw_deliver_fn fn, void *ctx, char *errstr,
                             size_t errlen)
{
    gw_delivery *d = rc_calloc(1, sizeof *d);
    d->base = base;
    d->fn = fn;
    d->ctx = ctx;
    d->topic = rc_strdup(cfg->topic);
    d->recovery = cfg->recovery;
    rd_kafka_conf_t *conf = rc_kafka_reader_conf_new(cfg->brokers, cfg->client_id);
    rc_kafka_set(conf, "fetch.wait.max.ms", "100"); /* new data is returned at once anyway */
    rc_kafka_set(conf, "fetch.error.backoff.ms", "100");
    rc_kafka_set(conf, "queued.max.messages.kbytes", "65536");
    rc_kafka_set(conf, "statistics.interval.ms", "1000");
    rd_kafka_conf_set_stats_cb(conf, gw__stats_cb);
    rd_kafka_conf_set_opaque(conf, d);
    d->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errlen);
    if (!d->rk) {
        rd_kafka_conf_destroy(conf);
        rc_free(d->topic);
        rc_free(d);
        return NULL;
    }
    d->q = rd_kafka_queue_get_consumer(d->rk);
    d->wake = gw_kwake_new(base, d->q, gw__wake, d);
    d->tick = event_new(base, -1, EV_PERSIST, gw__tick_cb, d);
    struct timeval tv = {0, 200000};
    event_add(d->tick, &tv);

    rc_counter_family *evs = rc_counter_family_new(
        metrics, "roomcast_gateway_room_events_total",
        "Room events read from the room topic, by what became of them", "result");
    d->ev_delivered = rc_counter_get(evs, "delivered");
    d->ev_no_member = rc_counter_get(evs, "no_local_member");
    d->ev_covered = rc_counter_get(evs, "already_delivered");
    d->ev_invalid = rc_counter_get(evs, "invalid");
    d->ev_duplicate = rc_counter_get(evs, "duplicate");
    d->seen = gw_dedup_new(cfg->dedup_max, cfg->dedup_window_ms);
    rc_gauge_fn_new(metrics, "roomcast_gateway_dedup_entries",
                    "Room event ids remembered to drop second copies", gw__dedup_size_fn, d);
    rc_counter_fn_new(metrics, "roomcast_gateway_dedup_evicted_early_total",
                      "Room event ids forgotten before ROOMCAST_DEDUP_WINDOW_SECONDS because "
                      "ROOMCAST_DEDUP_MAX_EVENTS was reached",
                      gw__dedup_early_fn, d);
    d->deliveries = rc_counter_new(metrics, "roomcast_gateway_deliveries_total",
                                   "Room events written to sockets (one per socket)");
    d->latency = rc_histogram_new(metrics, "roomcast_gateway_delivery_latency_seconds",
                                  "Time from a room event's produce timestamp to its write to sockets",
                                  NULL, 0);
    static const double sizes[] = {16, 24, 32, 48, 64, 96, 128, 256, 512};
    d->offset_bytes = rc_histogram_new(metrics, "roomcast_gateway_recovery_offset_bytes",
                                       "Length of the shared part of the recovery offset each "
                                       "room event carries",
                                       sizes, sizeof sizes / sizeof sizes[0]);
    d->position = rc_gauge_family_new(metrics, "roomcast_gateway_consumer_position",
                                      "Next room-topic offset this gateway delivers, by partition",
                                      "partition");
    rc_gauge_fn_new(metrics, "roomcast_gateway_consumer_lag_messages",
                    "Room events on the broker not yet read by this gateway", gw__lag_fn, d);
    rc_gauge_fn_new(metrics, "roomcast_gateway_room_partitions",
                    "Partitions of the room topic this gateway reads", gw__partitions_fn, d);
    return d;
}

void gw_delivery_set_filter(gw_delivery *d, gw_member_fn fn)
{
    d->has_member = fn;
}

void gw_delivery_set_control(gw_delivery *d, gw_control_fn fn, void *ctx)
{
    d->control = fn;
    d->control_ctx = ctx;
}

void gw_delivery_free(gw_delivery *d)
{
    if (!d)
        return;
    gw_kwake_free(d->wake);
    event_free(d->tick);
    rd_kafka_queue_destroy(d->q);
    rd_kafka_consumer_close(d->rk);
    rd_kafka_destroy(d->rk);
    gw_dedup_free(d->seen);
    rc_free(d->topic);
    rc_free(d);
}
