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

    int aborts_in_row; /* for the back-off before redoing an aborted batch */
    int revoking;      /* inside a revoke callback: an abort must not rewind */
    int fatal;         /* the producer can no longer be used; exit non-zero */
};

/* txn.c */
int fanout_txn__begin(fanout_pipeline *p);
/* Commits the open transaction with its offsets; on an abortable failure aborts it (and
 * rewinds unless revoking). Sets p->fatal on a fatal error. Returns 0 when committed. */
int fanout_txn__commit(fanout_pipeline *p);
/* Aborts the open transaction; rewind puts the consumer back at the transaction's first
 * offsets so its messages are consumed again. */
void fanout_txn__abort(fanout_pipeline *p, const char *why, int rewind);
/* Marks the process as having to exit, with a log line. */
void fanout_txn__set_fatal(fanout_pipeline *p, const char *what, const char *detail);

/* group.c */
void fanout_group__rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                rd_kafka_topic_partition_list_t *parts, void *opaque);
int fanout_group__stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque);

#endif
