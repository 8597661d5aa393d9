/* pipeline_internal.h: the pipeline's state, shared by the files that make up the
 * pipeline module: pipeline.c (setup and the loop), txn.c (transactions), group.c (the
 * consumer group callbacks). Nothing outside fanout/ includes it. */
#ifndef FANOUT_PIPELINE_INTERNAL_H
#define FANOUT_PIPELINE_INTERNAL_H

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdint.h>

#include "common/metrics.h"
#include "fanout/partitions.h"
#include "fanout/pipeline.h"

/* What a consumed message adds to the metrics once its transaction commits. Counting at
 * commit, not at produce, keeps redone batches from being counted twice. */
typedef struct {
    rc_counter *events;
    rc_counter *dead; /* NULL when routed */
    uint32_t rooms;
    int64_t timestamp_ms; /* the Kafka message timestamp, -1 if none */
} fanout_pending;

struct fanout_pipeline {
    const fanout_settings *cfg;
    const rc_routes *routes;
    fanout_telemetry *tm;
    volatile sig_atomic_t *stop;
    rd_kafka_t *producer;
    rd_kafka_t *consumer;
    fanout_parts parts;

    struct {
        int open;
        int64_t deadline_us;
        size_t n; /* messages consumed into it */
        fanout_pending *pending; /* settings.batch entries */
    } txn;

    int64_t next_commit_us; /* idempotent mode: when offsets are committed next */
    int write_failed;       /* idempotent mode: a delivery report said a write failed */

    int aborts_in_row; /* for the back-off before redoing an aborted batch */
    int revoking;      /* inside a revoke callback: an abort must not rewind */
    int fatal;         /* the producer can no longer be used; exit non-zero */
};

/* pipeline.c */
/* Counts a message whose output is safely in Kafka (committed or acknowledged). */
void fanout__count(fanout_pipeline *p, const fanout_pending *e, int64_t now_us);

/* commit.c (idempotent mode) */
/* Commits each owned partition's offsets past its finished tickets (asynchronously unless
 * sync). A ticket whose copies could not be written makes the process exit (p->fatal):
 * restarted, it re-processes from the last committed offset. */
void fanout_commit__offsets(fanout_pipeline *p, int sync);
/* Waits up to timeout_ms for every produced message's delivery report, then commits
 * synchronously: before partitions are released, and before stopping. */
void fanout_commit__finish(fanout_pipeline *p, int timeout_ms);
/* After failed writes: commits what was acknowledged and rewinds each partition with a
 * failed write to its oldest unacknowledged message, after a growing pause. */
void fanout_commit__redo(fanout_pipeline *p);
void fanout_commit__delivered(fanout_pipeline *p, const rd_kafka_message_t *m);
void fanout_commit__cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                       rd_kafka_topic_partition_list_t *offsets, void *opaque);

/* txn.c */
int fanout_txn__begin(fanout_pipeline *p);
/* Commits the open transaction with its offsets; on an abortable failure aborts it (and
 * rewinds unless revoking). Sets p->fatal on a fatal error. Returns 0 when committed. */
int fanout_txn__commit(fanout_pipeline *p);
/* Aborts the open transaction; rewind puts the consumer back at the transaction's first
 * offsets so its messages are consumed again. */
void fanout_txn__abort(fanout_pipeline *p, const char *why, int rewind);
/* Counts one more failed batch in a row and pauses before it is redone (100 ms, then
 * doubling up to 5 s), so a broken broker or topic is not hammered. */
void fanout__backoff(fanout_pipeline *p);
/* Moves the consumer to the positions in `to`. Positions that cannot be restored would
 * skip messages, so failing is fatal (logged with what); a restarted process starts from
 * the committed offsets. Returns 0 or RC_EIO. */
int fanout__seek(fanout_pipeline *p, rd_kafka_topic_partition_list_t *to, const char *what);
/* Marks the process as having to exit, with a log line. */
void fanout_txn__set_fatal(fanout_pipeline *p, const char *what, const char *detail);

/* group.c */
void fanout_group__rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                rd_kafka_topic_partition_list_t *parts, void *opaque);
int fanout_group__stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque);

#endif
