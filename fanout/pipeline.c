/* pipeline.c: setting up the consumer and the transactional producer, and the loop that
 * moves domain events into room events (see pipeline.h for the guarantees).
 *
 * Invariant: a message is recorded in the partition table (fanout_parts_consumed) before
 * anything is produced for it, so an abort at any point rewinds to include it. */
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/events.h"
#include "common/kafka.h"
#include "common/kafka_security.h"
#include "common/log.h"
#include "fanout/pipeline_internal.h"
#include "fanout/router.h"

/* A room event larger than this is dead-lettered as too_large: Kafka's default limit is
 * about 1 MB (message.max.bytes, max.message.bytes), and a message the broker refuses
 * would fail its transaction on every retry. */
#define PIPELINE_ROOM_EVENT_MAX (1000 * 1000 - 512)
#define PIPELINE_REASON_TOO_LARGE "too_large"

static void pipeline__dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    /* A failed delivery makes commit_transaction fail as abortable; this only says why. */
    if (m->err && m->err != RD_KAFKA_RESP_ERR__PURGE_QUEUE &&
        m->err != RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
        rc_log_limited(RC_LOG_WARN, "room event not delivered", "{s:s,s:s}", "topic",
                       rd_kafka_topic_name(m->rkt), "error", rd_kafka_err2str(m->err));
}

static rd_kafka_t *pipeline__producer(const fanout_settings *cfg, char *errstr, size_t errlen)
{
    rd_kafka_conf_t *conf = rc_kafka_conf_new(cfg->brokers, "roomcast-fanout");
    rc_kafka_set(conf, "transactional.id", cfg->transactional_id);
    /* A SIGKILLed fanout leaves its transaction open until this timeout, and every
     * read_committed reader of the partitions it wrote waits that long: keep it short.
     * Batches commit within ~50 ms, so 10 s is far from cutting a healthy one. */
    rc_kafka_set(conf, "transaction.timeout.ms", "10000");
    /* A message that cannot be delivered must fail, and its transaction be aborted, well
     * before the broker times the transaction out: that would bump the producer epoch and
     * the abort would then find this producer fenced (fatal). */
    rc_kafka_set(conf, "message.timeout.ms", "5000");
    rc_kafka_set(conf, "linger.ms", "5");
    /* The Java client's partitioner: a room's events from the fanout and from gateway
     * relays land in the same partition, so they stay in order (docs/kafka-compat.md). */
    rc_kafka_set(conf, "partitioner", "murmur2_random");
    rd_kafka_conf_set_dr_msg_cb(conf, pipeline__dr_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errlen);
    if (!rk)
        rd_kafka_conf_destroy(conf);
    return rk;
}

static rd_kafka_t *pipeline__consumer(fanout_pipeline *p, char *errstr, size_t errlen)
{
    const fanout_settings *cfg = p->cfg;
    rd_kafka_conf_t *conf = rc_kafka_conf_new(cfg->brokers, "roomcast-fanout");
    rc_kafka_set(conf, "group.id", cfg->group);
    rc_kafka_set(conf, "enable.auto.commit", "false");     /* offsets go with the transaction */
    rc_kafka_set(conf, "enable.auto.offset.store", "false");
    rc_kafka_set(conf, "isolation.level", "read_committed"); /* and stable offset fetches */
    rc_kafka_set(conf, "auto.offset.reset", "earliest");    /* a new group misses nothing */
    /* Eager round-robin spreads every topic's partitions over all instances (range would
     * give a third instance nothing when topics have two partitions). */
    rc_kafka_set(conf, "partition.assignment.strategy", "roundrobin");
    /* A killed instance's partitions move after this long. */
    rc_kafka_set(conf, "session.timeout.ms", "10000");
    rc_kafka_set(conf, "heartbeat.interval.ms", "3000");
    /* New domain.* topics are found by the pattern at the next metadata refresh. */
    rc_kafka_set(conf, "topic.metadata.refresh.interval.ms", "10000");
    rc_kafka_set(conf, "statistics.interval.ms", "1000");
    rd_kafka_conf_set_opaque(conf, p);
    rd_kafka_conf_set_rebalance_cb(conf, fanout_group__rebalance_cb);
    rd_kafka_conf_set_stats_cb(conf, fanout_group__stats_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errlen);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

/* Waits for the transaction coordinator: any earlier transaction of the same id is
 * finished (aborted if it was open) before this returns. */
static int pipeline__init_transactions(fanout_pipeline *p, char *errstr, size_t errlen)
{
    for (int attempt = 1; !*p->stop; attempt++) {
        rd_kafka_error_t *e = rd_kafka_init_transactions(p->producer, 5000);
        if (!e)
            return 0;
        if (!rd_kafka_error_is_retriable(e) || rd_kafka_error_is_fatal(e)) {
            snprintf(errstr, errlen, "initialising transactions (transactional.id %s): %s",
                     p->cfg->transactional_id, rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            return RC_EIO;
        }
        char refused[8]; /* a refusal of our credentials was logged once: no line a try */
        if (!rc_ksec_failing(refused, sizeof refused))
            rc_log_warn("waiting for Kafka's transaction coordinator", "{s:s,s:s,s:i}",
                        "brokers", p->cfg->brokers, "error", rd_kafka_error_string(e), "attempt",
                        attempt);
        rd_kafka_error_destroy(e);
    }
    return RC_AGAIN;
}

static int pipeline__subscribe(fanout_pipeline *p, char *errstr, size_t errlen)
{
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, p->cfg->pattern, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(p->consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (err) {
        snprintf(errstr, errlen, "subscribing to %s: %s", p->cfg->pattern, rd_kafka_err2str(err));
        return RC_EIO;
    }
    rc_log_info("subscribed", "{s:s,s:s,s:s,s:s}", "pattern", p->cfg->pattern, "group",
                p->cfg->group, "transactional_id", p->cfg->transactional_id, "rooms_topic",
                p->cfg->rooms_topic);
    return 0;
}

int fanout_pipeline_new(const fanout_settings *cfg, const rc_routes *routes, fanout_telemetry *tm,
                        volatile sig_atomic_t *stop, fanout_pipeline **out, char *errstr,
                        size_t errlen)
{
    fanout_pipeline *p = rc_calloc(1, sizeof *p);
    p->cfg = cfg;
    p->routes = routes;
    p->tm = tm;
    p->stop = stop;
    p->txn.pending = rc_calloc((size_t)cfg->batch, sizeof *p->txn.pending);
    int rc = RC_EIO;
    p->producer = pipeline__producer(cfg, errstr, errlen);
    if (p->producer && (rc = pipeline__init_transactions(p, errstr, errlen)) == 0) {
        rc = RC_EIO;
        p->consumer = pipeline__consumer(p, errstr, errlen);
        if (p->consumer)
            rc = pipeline__subscribe(p, errstr, errlen);
    }
    if (rc != 0) {
        fanout_pipeline_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

/* Produces one message into the open transaction, waiting while the local queue is
 * full. value is handed over (F_FREE) when free_value, else copied. Takes hdrs. */
static rd_kafka_resp_err_t pipeline__send(fanout_pipeline *p, const char *topic, const void *key,
                                          size_t keylen, void *value, size_t len, int free_value,
                                          rd_kafka_headers_t *hdrs)
{
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            p->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, keylen),
            RD_KAFKA_V_VALUE(value, len),
            RD_KAFKA_V_MSGFLAGS(free_value ? RD_KAFKA_MSG_F_FREE : RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            if (err) {
                if (free_value)
                    rc_free(value);
                if (hdrs)
                    rd_kafka_headers_destroy(hdrs);
            }
            return err;
        }
        rd_kafka_poll(p->producer, 10);
    }
}

static int pipeline__produce_rooms(fanout_pipeline *p, const fanout_routed *r)
{
    for (size_t i = 0; i < r->nevents; i++) {
        const Roomcast__V1__RoomEvent *ev = &r->events[i];
        size_t len;
        uint8_t *buf = rc_events_pack_room(ev, &len);
        rd_kafka_resp_err_t err = pipeline__send(p, p->cfg->rooms_topic, ev->room,
                                                 strlen(ev->room), buf, len, 1, NULL);
        if (err) {
            rc_log_limited(RC_LOG_WARN, "could not produce a room event", "{s:s,s:s}", "topic",
                           p->cfg->rooms_topic, "error", rd_kafka_err2str(err));
            return RC_EIO;
        }
    }
    return 0;
}

static void pipeline__header_num(rd_kafka_headers_t *h, const char *name, int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    rd_kafka_header_add(h, name, -1, buf, -1);
}

/* The original key and bytes, with why in the headers (CONTRACT §5). */
static int pipeline__produce_dead(fanout_pipeline *p, const rd_kafka_message_t *m,
                                  const fanout_routed *r)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(6);
    rd_kafka_header_add(h, "reason", -1, r->reason, -1);
    rd_kafka_header_add(h, "detail", -1, r->detail, -1);
    rd_kafka_header_add(h, "source-topic", -1, rd_kafka_topic_name(m->rkt), -1);
    pipeline__header_num(h, "source-partition", m->partition);
    pipeline__header_num(h, "source-offset", m->offset);
    if (r->type && r->type[0])
        rd_kafka_header_add(h, "type", -1, r->type, -1);
    rc_log_limited(RC_LOG_WARN, "dead letter", "{s:s,s:s,s:s,s:i,s:I}", "reason", r->reason,
                   "detail", r->detail, "topic", rd_kafka_topic_name(m->rkt), "partition",
                   (int)m->partition, "offset", (json_int_t)m->offset);
    rd_kafka_resp_err_t err = pipeline__send(p, p->cfg->dlq_topic, m->key, m->key_len, m->payload,
                                             m->len, 0, h);
    if (err) {
        rc_log_limited(RC_LOG_WARN, "could not produce a dead letter", "{s:s,s:s}", "topic",
                       p->cfg->dlq_topic, "error", rd_kafka_err2str(err));
        return RC_EIO;
    }
    return 0;
}

/* Turns a routed event whose copies Kafka would refuse into a dead letter. */
static void pipeline__check_size(fanout_routed *r)
{
    for (size_t i = 0; i < r->nevents; i++) {
        size_t len = roomcast__v1__room_event__get_packed_size(&r->events[i]);
        if (len > PIPELINE_ROOM_EVENT_MAX) {
            r->reason = PIPELINE_REASON_TOO_LARGE;
            snprintf(r->detail, sizeof r->detail, "%.128s: room event of %zu bytes for %.40s is "
                     "over the %d-byte limit", r->type, len, r->events[i].room,
                     PIPELINE_ROOM_EVENT_MAX);
            r->nevents = 0;
            return;
        }
    }
}

static void pipeline__pending_add(fanout_pipeline *p, const rd_kafka_message_t *m,
                                  const fanout_routed *r)
{
    fanout_pending *e = &p->txn.pending[p->txn.n++];
    e->events = rc_counter_get(p->tm->events, fanout_router_type_label(r));
    e->dead = r->reason ? rc_counter_get(p->tm->dead_letters, r->reason) : NULL;
    e->rooms = (uint32_t)r->nevents;
    e->timestamp_ms = rd_kafka_message_timestamp(m, NULL);
}

static void pipeline__handle(fanout_pipeline *p, rd_kafka_message_t *m)
{
    if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            rc_log_limited(RC_LOG_WARN, "consumer error", "{s:s,s:s}", "error",
                           rd_kafka_err2name(m->err), "detail", rd_kafka_message_errstr(m));
        return;
    }
    if (!p->txn.open && fanout_txn__begin(p) != 0)
        return;
    fanout_parts_consumed(fanout_parts_get(&p->parts, rd_kafka_topic_name(m->rkt), m->partition),
                          m->offset);
    fanout_routed r;
    if (fanout_router_route(p->routes, m->payload, m->len, rc_now_us(), &r) == 0)
        pipeline__check_size(&r);
    int rc = r.reason ? pipeline__produce_dead(p, m, &r) : pipeline__produce_rooms(p, &r);
    if (rc == 0)
        pipeline__pending_add(p, m, &r);
    fanout_router_clear(&r);
    if (rc != 0)
        fanout_txn__abort(p, "produce failed", 1);
}

int fanout_pipeline_run(fanout_pipeline *p)
{
    while (!*p->stop && !p->fatal) {
        int64_t now = rc_now_us();
        int timeout_ms = 100;
        if (p->txn.open) {
            int64_t left = (p->txn.deadline_us - now + 999) / 1000;
            timeout_ms = left < 0 ? 0 : left > 100 ? 100 : (int)left;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(p->consumer, timeout_ms);
        atomic_store(&p->tm->loop_at_us, rc_now_us());
        rd_kafka_poll(p->producer, 0);
        if (m) {
            pipeline__handle(p, m);
            rd_kafka_message_destroy(m);
        }
        if (p->txn.open && (p->txn.n >= (size_t)p->cfg->batch || rc_now_us() >= p->txn.deadline_us))
            fanout_txn__commit(p);
    }
    if (!p->fatal && p->txn.open) {
        /* SIGTERM: finish what was consumed (or abort it) before leaving the group. */
        rc_log_info("stopping: committing the open transaction", "{s:i}", "messages", (int)p->txn.n);
        fanout_txn__commit(p);
    }
    return p->fatal ? RC_EIO : 0;
}

void fanout_pipeline_free(fanout_pipeline *p)
{
    if (!p)
        return;
    if (p->consumer) {
        /* Leaves the group now, so the partitions move without waiting for the session
         * timeout; the revoke callback finds no transaction open. */
        rd_kafka_resp_err_t err = rd_kafka_consumer_close(p->consumer);
        if (err)
            rc_log_warn("closing the consumer", "{s:s}", "error", rd_kafka_err2str(err));
        rd_kafka_destroy(p->consumer);
    }
    if (p->producer)
        rd_kafka_destroy(p->producer);
    fanout_parts_free(&p->parts);
    rc_free(p->txn.pending);
    rc_free(p);
}
