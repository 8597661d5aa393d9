/* commit.c: the idempotent pipeline's offset commits: a consumed offset is committed once
 * everything produced for it, and for every message before it, has its delivery report
 * (acks.h). Commits are asynchronous every ROOMCAST_FANOUT_COMMIT_INTERVAL_MS, and
 * synchronous before partitions are released or the process stops, so a rebalance or a
 * SIGTERM re-processes nothing. */
#include <stdio.h>

#include "common/kafka.h"
#include "common/log.h"
#include "fanout/acks.h"
#include "fanout/pipeline_internal.h"

static void commit__acked(void *ctx, void *payload)
{
    fanout__count(ctx, payload, rc_now_us());
}

void fanout_commit__delivered(fanout_pipeline *p, const rd_kafka_message_t *m)
{
    fanout_ticket *t = m->_private;
    if (!t)
        return;
    if (!fanout_ticket_delivered(t, m->err))
        return;
    char why[512];
    if (rd_kafka_fatal_error(p->producer, why, sizeof why) && !p->fatal)
        fanout_txn__set_fatal(p, "delivering a room event", why); /* the producer is done */
    else
        p->write_failed = 1; /* redone from the partition's last acknowledged offset */
}

/* Puts each partition whose writes failed back at its oldest unacknowledged message,
 * after committing what was acknowledged: what failed is consumed and produced again
 * (copies that did get through are written twice and dropped by the gateways). */
void fanout_commit__redo(fanout_pipeline *p)
{
    p->write_failed = 0;
    fanout_commit__offsets(p, 0);
    rd_kafka_topic_partition_list_t *to = rd_kafka_topic_partition_list_new((int)p->parts.n + 1);
    for (size_t i = 0; i < p->parts.n; i++) {
        fanout_part *e = &p->parts.v[i];
        if (!e->acks || !fanout_ackq_failed(e->acks))
            continue;
        rd_kafka_topic_partition_list_add(to, e->topic, e->partition)->offset = fanout_ackq_first(e->acks);
        fanout_ackq_release(e->acks, &p->parts.orphans); /* its late reports are ignored */
        e->acks = NULL;
    }
    if (to->cnt) {
        fanout__seek(p, to, "rewinding after a failed write");
        rc_counter_inc(p->tm->write_failures);
        rc_log_warn("room events could not be written: re-processing from the last acknowledged "
                    "offsets", "{s:i,s:i}", "partitions", to->cnt, "in_row", p->aborts_in_row + 1);
        fanout__backoff(p);
    }
    rd_kafka_topic_partition_list_destroy(to);
}

void fanout_commit__offsets(fanout_pipeline *p, int sync)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)p->parts.n + 1);
    for (size_t i = 0; i < p->parts.n; i++) {
        fanout_part *e = &p->parts.v[i];
        if (!e->acks)
            continue;
        int64_t next = fanout_ackq_advance(e->acks, commit__acked, p);
        if (next >= 0) {
            rd_kafka_topic_partition_list_add(l, e->topic, e->partition)->offset = next;
            e->committed = next;
            p->aborts_in_row = 0;
            atomic_store(&p->tm->aborts_in_row, 0);
        }
    }
    if (l->cnt > 0) {
        rd_kafka_resp_err_t err = rd_kafka_commit(p->consumer, l, !sync);
        if (err)
            rc_log_limited(RC_LOG_WARN, "could not commit offsets", "{s:s,s:b}", "error",
                           rd_kafka_err2str(err), "sync", sync);
    }
    rd_kafka_topic_partition_list_destroy(l);
}

void fanout_commit__finish(fanout_pipeline *p, int timeout_ms)
{
    rd_kafka_resp_err_t err = rd_kafka_flush(p->producer, timeout_ms);
    if (err)
        rc_log_warn("room events still unacknowledged: their offsets stay uncommitted", "{s:i,s:s}",
                    "queued", rd_kafka_outq_len(p->producer), "error", rd_kafka_err2str(err));
    fanout_commit__offsets(p, 1);
}

void fanout_commit__cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                       rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
        rc_log_limited(RC_LOG_WARN, "offset commit failed", "{s:s,s:i}", "error",
                       rd_kafka_err2str(err), "partitions", offsets ? offsets->cnt : 0);
}
