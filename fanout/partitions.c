/* partitions.c: owned partitions and their transaction offsets (see partitions.h).
 * A linear table: an instance owns tens of partitions, and a lookup per message over
 * that many entries costs less than the protobuf decode next to it. */
#include "fanout/partitions.h"

#include <string.h>

#include "common/alloc.h"
#include "fanout/acks.h"

fanout_part *fanout_parts_find(fanout_parts *t, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].partition == partition && strcmp(t->v[i].topic, topic) == 0)
            return &t->v[i];
    return NULL;
}

fanout_part *fanout_parts_get(fanout_parts *t, const char *topic, int32_t partition)
{
    fanout_part *p = fanout_parts_find(t, topic, partition);
    if (p)
        return p;
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->v = rc_realloc(t->v, t->cap * sizeof *t->v);
    }
    p = &t->v[t->n++];
    memset(p, 0, sizeof *p);
    p->topic = rc_strdup(topic);
    p->partition = partition;
    p->committed = p->txn_first = p->txn_next = -1;
    return p;
}

void fanout_parts_clear(fanout_parts *t)
{
    for (size_t i = 0; i < t->n; i++) {
        if (t->v[i].lag)
            rc_gauge_set(t->v[i].lag, 0);
        fanout_ackq_release(t->v[i].acks, &t->orphans);
        rc_free(t->v[i].topic);
    }
    t->n = 0;
}

void fanout_parts_free(fanout_parts *t)
{
    fanout_parts_clear(t);
    fanout_ackq_reap(&t->orphans);
    rc_free(t->v);
    memset(t, 0, sizeof *t);
}

void fanout_parts_consumed(fanout_part *p, int64_t offset)
{
    if (p->txn_first < 0)
        p->txn_first = offset;
    p->txn_next = offset + 1;
}

int fanout_parts_in_txn(const fanout_parts *t)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].txn_first >= 0)
            return 1;
    return 0;
}

static rd_kafka_topic_partition_list_t *parts__list(const fanout_parts *t, int first)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)t->n + 1);
    for (size_t i = 0; i < t->n; i++) {
        const fanout_part *p = &t->v[i];
        if (p->txn_first < 0)
            continue;
        rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset =
            first ? p->txn_first : p->txn_next;
    }
    return l;
}

rd_kafka_topic_partition_list_t *fanout_parts_commit_list(const fanout_parts *t)
{
    return parts__list(t, 0);
}

rd_kafka_topic_partition_list_t *fanout_parts_rewind_list(const fanout_parts *t)
{
    return parts__list(t, 1);
}

void fanout_parts_txn_end(fanout_parts *t, int committed)
{
    for (size_t i = 0; i < t->n; i++) {
        fanout_part *p = &t->v[i];
        if (committed && p->txn_first >= 0)
            p->committed = p->txn_next;
        p->txn_first = p->txn_next = -1;
    }
}
