/* telemetry.h: what roomcast-fanout tells operators: its Prometheus families and its
 * readiness. The pipeline (main thread) updates both; the admin thread renders the
 * metrics and asks fanout_telemetry_ready, which only reads atomics, so neither thread
 * ever waits for the other.
 *
 * Metric families (all prefixed roomcast_fanout_):
 *   events_total{type}                 domain events consumed, counted when their
 *                                      transaction commits; type is "unrouted" when the
 *                                      table has no route for it (or it did not decode)
 *   room_events_total                  room events committed to the rooms topic
 *   dead_letters_total{reason}         messages committed to the DLQ
 *   processing_latency_seconds         Kafka message timestamp -> transaction commit
 *   transactions_total{result}         committed / aborted (transactional mode)
 *   write_failures_total               batches Kafka refused, redone (idempotent mode)
 *   consumer_lag_messages{topic,partition}  last stable offset - committed offset, for
 *                                      partitions this instance owns (0 once it does not)
 *   assigned_partitions                partitions this instance owns now
 *   rebalances_total{kind}             assign / revoke / lost callbacks
 *
 * Ownership: the telemetry borrows reg and brokers (for the readiness reason); both must
 * outlive it. */
#ifndef FANOUT_TELEMETRY_H
#define FANOUT_TELEMETRY_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common/metrics.h"

typedef struct {
    rc_metrics *reg;
    rc_counter_family *events;
    rc_counter *room_events;
    rc_counter_family *dead_letters;
    rc_histogram *latency;
    rc_counter *txn_committed;
    rc_counter *txn_aborted;
    rc_counter *write_failures; /* idempotent mode */
    rc_gauge_family *lag;
    rc_gauge *assigned;
    rc_counter_family *rebalances;

    /* Readiness, written by the main thread. */
    atomic_int kafka_up;      /* a broker connection was up at the last statistics */
    atomic_int joined;        /* the consumer holds its assignment for the current generation */
    atomic_int stopping;      /* SIGTERM received */
    atomic_llong loop_at_us;  /* when the poll loop last turned; 0 before it starts */
    atomic_int aborts_in_row; /* transactions aborted since the last commit */
    const char *brokers;
    const char *group;
} fanout_telemetry;

/* Registers the families in reg. */
void fanout_telemetry_init(fanout_telemetry *t, rc_metrics *reg, const char *brokers,
                           const char *group);

/* Not ready after this many failed batches in a row (aborted transactions, refused
 * writes): the batch is being redone again and again (a missing rooms topic, a broker
 * refusing writes), see the logs. */
#define FANOUT_ABORTS_NOT_READY 2

/* The loop must turn at least this often (it polls every 100 ms at most). */
#define FANOUT_LOOP_STALL_US (30 * 1000000LL)

/* rc_admin_ready_fn: 0 when ready, else a negative code and why not in reason: shutting
 * down; no broker connection up at the last statistics; not (or no longer) holding an
 * assignment in the group; FANOUT_ABORTS_NOT_READY transactions aborted in a row; the
 * poll loop stalled past FANOUT_LOOP_STALL_US. */
int fanout_telemetry_ready(void *ctx, char *reason, size_t len);

#endif
