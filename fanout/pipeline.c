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
#include "fanout/acks.h"
#include "fanout/pipeline_internal.h"
#include "fanout/router.h"

/* A room event larger than this is dead-lettered as too_large: Kafka's default limit is
 * about 1 MB (message.max.bytes, max.message.bytes), and a message the broker refuses
 * would fail its transaction on every retry. */
#define PIPELINE_ROOM_EVENT_MAX (1000 * 1000 - 512)
#define PIPELINE_REASON_TOO_LARGE "too_large"

static void pipeline__dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    fanout_pipeline *p = opaque;
    /* Transactional mode: a failed delivery makes commit_transaction fail as abortable;
     * this only says why. Idempotent mode: the report counts the message's ticket down. */
    if (m->err && m->err != RD_KAFKA_RESP_ERR__PURGE_QUEUE &&
        m->err != RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
        rc_log_limited(RC_LOG_WARN, "room event not delivered", "{s:s,s:s}", "topic",
                       rd_kafka_topic_name(m->rkt), "error", rd_kafka_err2str(m->err));
    if (!p->cfg->transactional)
        fanout_commit__delivered(p, m);
}

static rd_kafka_t *pipeline__producer(fanout_pipeline *p, char *errstr, size_t errlen)
{
    const fanout_settings *cfg = p->cfg;
    rd_kafka_conf_t *conf = rc_kafka_conf_new(cfg->brokers, "roomcast-fanout");
    char num[32];
    if (cfg->transactional) {
        rc_kafka_set(conf, "transactional.id", cfg->transactional_id);
        /* A SIGKILLed fanout with no stable id leaves its transaction open until this
         * timeout, and every read_committed reader of the partitions it wrote waits. */
        snprintf(num, sizeof num, "%ld", cfg->txn_timeout_ms);
        rc_kafka_set(conf, "transaction.timeout.ms", num);
        /* A message that cannot be delivered must fail, and its transaction be aborted,
         * before the broker times the transaction out: that would bump the producer
         * epoch and the abort would then find this producer fenced (fatal). */
        snprintf(num, sizeof num, "%ld", cfg->txn_timeout_ms / 2);
        rc_kafka_set(conf, "message.timeout.ms", num);
        /* A transaction begun right after a commit gets CONCURRENT_TRANSACTIONS until the
         * coordinator has written the markers; the default 100 ms back-off would then
         * stretch every transaction to 100 ms (the Java client uses 20 ms here). */
        rc_kafka_set(conf, "retry.backoff.ms", "10");
    } else {
        /* No transaction: the idempotent producer keeps each partition free of retried
         * duplicates and in order, and retries for as long as Kafka is away (no message
         * timeout): an offset is committed only once its room events are acknowledged. */
        rc_kafka_set(conf, "enable.idempotence", "true");
        rc_kafka_set(conf, "message.timeout.ms", "0");
        /* A rooms or DLQ topic that does not exist is an operator's mistake to show soon
         * (writes fail and are redone, readiness says so), not after the default 30 s. */
        rc_kafka_set(conf, "topic.metadata.propagation.max.ms", "10000");
    }
    /* How long a produce request waits for more room events after its first: 2 ms by
     * default, chosen from runs at 1, 2 and 5 ms (docs/benchmarks/README.md, "Choices"). */
    snprintf(num, sizeof num, "%ld", cfg->linger_ms);
    rc_kafka_set(conf, "linger.ms", num);
    /* The Java client's partitioner: a room's events from the fanout and from gateway
     * relays land in the same partition, so they stay in order (docs/kafka-compat.md). */
    rc_kafka_set(conf, "partitioner", "murmur2_random");
    rd_kafka_conf_set_opaque(conf, p);
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
    /* A killed instance's partitions move after this long, unless it comes back first
     * with the same static member id (group.instance.id), which takes them back at once
     * with no rebalance (KIP-345). */
    char num[32];
    snprintf(num, sizeof num, "%ld", cfg->session_timeout_ms);
    rc_kafka_set(conf, "session.timeout.ms", num);
    snprintf(num, sizeof num, "%ld", cfg->session_timeout_ms / 3 < 3000 ? cfg->session_timeout_ms / 3 : 3000);
    rc_kafka_set(conf, "heartbeat.interval.ms", num);
    if (cfg->group_instance_id)
        rc_kafka_set(conf, "group.instance.id", cfg->group_instance_id);
    if (!cfg->transactional)
        rd_kafka_conf_set_offset_commit_cb(conf, fanout_commit__cb);
    /* New domain.* topics are found by the pattern at the next metadata refresh. */
    rc_kafka_set(conf, "topic.metadata.refresh.interval.ms", "10000");
    /* The statistics (consumer lag, broker state for readiness) are a JSON document of
     * every partition: parsing it each second cost as much as routing 100 events. */
    rc_kafka_set(conf, "statistics.interval.ms", "5000");
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
    p->producer = pipeline__producer(p, errstr, errlen);
    if (p->producer && (!cfg->transactional || (rc = pipeline__init_transactions(p, errstr, errlen)) == 0)) {
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
                                          rd_kafka_headers_t *hdrs, fanout_ticket *ticket)
{
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            p->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, keylen),
            RD_KAFKA_V_VALUE(value, len),
            RD_KAFKA_V_MSGFLAGS(free_value ? RD_KAFKA_MSG_F_FREE : RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(ticket), RD_KAFKA_V_END);
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

static int pipeline__produce_rooms(fanout_pipeline *p, const fanout_routed *r, fanout_ticket *t)
{
    for (size_t i = 0; i < r->nevents; i++) {
        const Roomcast__V1__RoomEvent *ev = &r->events[i];
        size_t len;
        uint8_t *buf = rc_events_pack_room(ev, &len);
        rd_kafka_resp_err_t err = pipeline__send(p, p->cfg->rooms_topic, ev->room,
                                                 strlen(ev->room), buf, len, 1, NULL, t);
        if (err) {
            for (size_t j = i; t && j < r->nevents; j++) /* the copies never produced */
                fanout_ticket_delivered(t, err);
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
                                  const fanout_routed *r, fanout_ticket *t)
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
                                             m->len, 0, h, t);
    if (err) {
        if (t)
            fanout_ticket_delivered(t, err);
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

static void pipeline__pending_fill(fanout_pipeline *p, fanout_pending *e, const rd_kafka_message_t *m,
                                   const fanout_routed *r)
{
    e->events = rc_counter_get(p->tm->events, fanout_router_type_label(r));
    e->dead = r->reason ? rc_counter_get(p->tm->dead_letters, r->reason) : NULL;
    e->rooms = (uint32_t)r->nevents;
    e->timestamp_ms = rd_kafka_message_timestamp(m, NULL);
}

void fanout__count(fanout_pipeline *p, const fanout_pending *e, int64_t now_us)
{
    rc_counter_inc(e->events);
    if (e->dead)
        rc_counter_inc(e->dead);
    rc_counter_add(p->tm->room_events, e->rooms);
    if (e->timestamp_ms > 0) {
        double s = (double)(now_us - e->timestamp_ms * 1000) / 1e6;
        rc_histogram_observe(p->tm->latency, s < 0 ? 0 : s);
    }
}

static int pipeline__produce(fanout_pipeline *p, const rd_kafka_message_t *m,
                             const fanout_routed *r, fanout_ticket *t)
{
    return r->reason ? pipeline__produce_dead(p, m, r, t) : pipeline__produce_rooms(p, r, t);
}

/* Transactional mode: the message joins the open transaction. */
static void pipeline__handle_txn(fanout_pipeline *p, rd_kafka_message_t *m, fanout_part *part,
                                 const fanout_routed *r)
{
    if (!p->txn.open && fanout_txn__begin(p) != 0)
        return;
    fanout_parts_consumed(part, m->offset);
    if (pipeline__produce(p, m, r, NULL) == 0)
        pipeline__pending_fill(p, &p->txn.pending[p->txn.n++], m, r);
    else
        fanout_txn__abort(p, "produce failed", 1);
}

/* Idempotent mode: the message gets a ticket its copies count down (acks.h). */
static void pipeline__handle_idem(fanout_pipeline *p, rd_kafka_message_t *m, fanout_part *part,
                                  const fanout_routed *r)
{
    if (!part->acks)
        part->acks = fanout_ackq_new(sizeof(fanout_pending));
    void *payload;
    fanout_ticket *t = fanout_ackq_ticket(part->acks, m->offset, r->reason ? 1 : (int)r->nevents,
                                          &payload);
    pipeline__pending_fill(p, payload, m, r);
    if (pipeline__produce(p, m, r, t) != 0)
        p->write_failed = 1; /* the ticket failed: redone like a failed delivery */
}

static void pipeline__handle(fanout_pipeline *p, rd_kafka_message_t *m)
{
    if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
        /* e.g. FENCED_INSTANCE_ID: another process started with this instance's id */
        char why[512] = "";
        rd_kafka_fatal_error(p->consumer, why, sizeof why);
        rc_log_error("fatal Kafka consumer error: exiting", "{s:s}", "error", why);
        p->fatal = 1;
        return;
    }
    if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            rc_log_limited(RC_LOG_WARN, "consumer error", "{s:s,s:s}", "error",
                           rd_kafka_err2name(m->err), "detail", rd_kafka_message_errstr(m));
        return;
    }
    fanout_part *part = fanout_parts_get(&p->parts, rd_kafka_topic_name(m->rkt), m->partition);
    fanout_routed r;
    if (fanout_router_route(p->routes, m->payload, m->len, rc_now_us(), &r) == 0)
        pipeline__check_size(&r);
    if (p->cfg->transactional)
        pipeline__handle_txn(p, m, part, &r);
    else
        pipeline__handle_idem(p, m, part, &r);
    fanout_router_clear(&r);
}

/* Idempotent mode: consume and produce; commit what Kafka acknowledged, regularly. */
static int pipeline__run_idem(fanout_pipeline *p)
{
    const int64_t interval_us = p->cfg->commit_interval_ms * 1000;
    p->next_commit_us = rc_now_us() + interval_us;
    while (!*p->stop && !p->fatal) {
        int64_t left = (p->next_commit_us - rc_now_us() + 999) / 1000;
        rd_kafka_message_t *m =
            rd_kafka_consumer_poll(p->consumer, left < 0 ? 0 : left > 100 ? 100 : (int)left);
        atomic_store(&p->tm->loop_at_us, rc_now_us());
        rd_kafka_poll(p->producer, 0); /* delivery reports */
        if (m) {
            pipeline__handle(p, m);
            rd_kafka_message_destroy(m);
        }
        if (p->write_failed)
            fanout_commit__redo(p);
        if (rc_now_us() >= p->next_commit_us) {
            fanout_commit__offsets(p, 0);
            p->next_commit_us = rc_now_us() + interval_us;
        }
    }
    if (!p->fatal) {
        /* SIGTERM: wait for what was produced and commit it before leaving the group. */
        rc_log_info("stopping: committing acknowledged offsets", "{s:i}", "queued",
                    rd_kafka_outq_len(p->producer));
        fanout_commit__finish(p, 10000);
    }
    return p->fatal ? RC_EIO : 0;
}

int fanout_pipeline_run(fanout_pipeline *p)
{
    if (!p->cfg->transactional)
        return pipeline__run_idem(p);
    while (!*p->stop && !p->fatal) {
        /* Group commit: an open transaction is committed as soon as the consumer has
         * nothing more to hand over, or at the batch's size or time bound. */
        rd_kafka_message_t *m = rd_kafka_consumer_poll(p->consumer, p->txn.open ? 0 : 100);
        atomic_store(&p->tm->loop_at_us, rc_now_us());
        rd_kafka_poll(p->producer, 0);
        if (m) {
            pipeline__handle(p, m);
            rd_kafka_message_destroy(m);
        }
        if (p->txn.open && (!m || p->txn.n >= (size_t)p->cfg->batch || rc_now_us() >= p->txn.deadline_us))
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
