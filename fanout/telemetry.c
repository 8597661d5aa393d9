/* telemetry.c: roomcast-fanout's metric families and readiness (see telemetry.h). */
#include "fanout/telemetry.h"

#include <stdio.h>
#include <string.h>

#include "common/kafka.h"
#include "common/kafka_security.h"
#include "common/rc.h"

/* Processing latency includes the up-to-50 ms batching wait and a transaction commit, so
 * the buckets start at 1 ms and reach a minute for a fanout catching up on a backlog. */
static const double telemetry__latency_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                    0.1,   0.25,   0.5,   1,    2.5,   5,
                                                    10,    30,     60};

void fanout_telemetry_init(fanout_telemetry *t, rc_metrics *reg, const char *brokers,
                           const char *group)
{
    memset(t, 0, sizeof *t);
    t->reg = reg;
    t->brokers = brokers;
    t->group = group;
    t->events = rc_counter_family_new(reg, "roomcast_fanout_events_total",
                                      "Domain events consumed, counted once their room events are "
                                      "in Kafka (acknowledged, or their transaction committed); "
                                      "type is unrouted when no route exists for it",
                                      "type");
    t->room_events = rc_counter_new(reg, "roomcast_fanout_room_events_total",
                                    "Room events written to the rooms topic (acknowledged or "
                                    "committed)");
    t->dead_letters = rc_counter_family_new(reg, "roomcast_fanout_dead_letters_total",
                                            "Domain events committed to the dead-letter topic",
                                            "reason");
    t->latency = rc_histogram_new(reg, "roomcast_fanout_processing_latency_seconds",
                                  "From a domain event's Kafka timestamp to its room events "
                                  "being acknowledged (or their transaction committed)",
                                  telemetry__latency_buckets, RC_ARRAY_LEN(telemetry__latency_buckets));
    rc_counter_family *txn = rc_counter_family_new(reg, "roomcast_fanout_transactions_total",
                                                   "Kafka transactions by outcome", "result");
    t->txn_committed = rc_counter_get(txn, "committed");
    t->txn_aborted = rc_counter_get(txn, "aborted");
    t->write_failures = rc_counter_new(reg, "roomcast_fanout_write_failures_total",
                                       "Batches whose room events Kafka refused; they are "
                                       "re-processed from the last acknowledged offset");
    t->lag = rc_gauge_family_new(reg, "roomcast_fanout_consumer_lag_messages",
                                 "Messages between the committed offset and the last stable "
                                 "offset, per partition this instance owns",
                                 "topic,partition");
    t->assigned = rc_gauge_new(reg, "roomcast_fanout_assigned_partitions",
                               "Domain topic partitions this instance owns");
    t->rebalances = rc_counter_family_new(reg, "roomcast_fanout_rebalances_total",
                                          "Consumer group rebalance callbacks", "kind");
    rc_ksec_metrics(reg, "roomcast_fanout");
}

int fanout_telemetry_ready(void *ctx, char *reason, size_t len)
{
    fanout_telemetry *t = ctx;
    long long loop_at = atomic_load(&t->loop_at_us);
    if (atomic_load(&t->stopping)) {
        snprintf(reason, len, "shutting down");
        return RC_AGAIN;
    }
    if (!atomic_load(&t->kafka_up)) {
        if (!rc_ksec_failing(reason, len)) /* a refusal says more than "not reachable" */
            snprintf(reason, len, "Kafka (%s) is not reachable", t->brokers);
        return RC_EIO;
    }
    if (!atomic_load(&t->joined)) {
        snprintf(reason, len, "not in consumer group %s yet (joining or rebalancing)", t->group);
        return RC_AGAIN;
    }
    int aborts = atomic_load(&t->aborts_in_row);
    if (aborts >= FANOUT_ABORTS_NOT_READY) {
        snprintf(reason, len, "the last %d batches could not be written to Kafka (transactions "
                 "were aborted) and are being redone", aborts);
        return RC_EIO;
    }
    long long stalled = rc_now_us() - loop_at;
    if (loop_at && stalled > FANOUT_LOOP_STALL_US) {
        snprintf(reason, len, "the processing loop has not turned for %lld s", stalled / 1000000);
        return RC_EIO;
    }
    return 0;
}
