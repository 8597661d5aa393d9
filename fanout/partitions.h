/* partitions.h: the domain partitions this fanout instance owns, and for each where the
 * open transaction started and ended. It is what turns a transaction into the offsets to
 * commit with it (next = last processed + 1) and, when the transaction aborts, into the
 * positions to rewind to (the first offset the transaction consumed, which is the last
 * committed offset of that partition).
 *
 * Used by the main thread only. Ownership: the table owns its entries and their topic
 * strings; lists returned by the *_list functions belong to the caller
 * (rd_kafka_topic_partition_list_destroy). */
#ifndef FANOUT_PARTITIONS_H
#define FANOUT_PARTITIONS_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#include "common/metrics.h"

typedef struct {
    char *topic;
    int32_t partition;
    int64_t committed; /* next offset to consume per our last commit; -1 unknown */
    int64_t txn_first; /* first offset consumed in the open transaction; -1 none */
    int64_t txn_next;  /* last offset consumed in the open transaction + 1 */
    rc_gauge *lag;     /* may be NULL */
    struct fanout_ackq *acks; /* idempotent mode: tickets of consumed messages, else NULL */
} fanout_part;

typedef struct {
    fanout_part *v;
    size_t n, cap;
    struct fanout_ackq *orphans; /* released ticket queues still waiting for reports */
} fanout_parts;

/* The entry for topic/partition, or NULL. */
fanout_part *fanout_parts_find(fanout_parts *t, const char *topic, int32_t partition);
/* The entry for topic/partition, added (with nothing known) when missing. */
fanout_part *fanout_parts_get(fanout_parts *t, const char *topic, int32_t partition);
/* Removes every entry, setting each lag gauge to 0 (a partition this instance no longer
 * owns is another instance's lag to report) and releasing its ticket queue. */
void fanout_parts_clear(fanout_parts *t);
void fanout_parts_free(fanout_parts *t);

/* Records that offset was consumed in the open transaction. */
void fanout_parts_consumed(fanout_part *p, int64_t offset);
/* Whether any partition has offsets in the open transaction. */
int fanout_parts_in_txn(const fanout_parts *t);

/* The offsets to commit with the open transaction (txn_next per touched partition). */
rd_kafka_topic_partition_list_t *fanout_parts_commit_list(const fanout_parts *t);
/* The positions to rewind to after an abort (txn_first per touched partition). */
rd_kafka_topic_partition_list_t *fanout_parts_rewind_list(const fanout_parts *t);
/* Ends the open transaction: committed moves to txn_next when it committed; the
 * transaction offsets are forgotten either way. */
void fanout_parts_txn_end(fanout_parts *t, int committed);

#endif
