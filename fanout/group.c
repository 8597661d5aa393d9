/* group.c: the consumer group's callbacks, served from rd_kafka_consumer_poll on the main
 * thread between two messages, so they see the pipeline in a consistent state.
 *
 * Rebalances follow the eager protocol: every partition is revoked before any is
 * assigned again. On a revoke the open transaction is committed first (its offsets still
 * belong to this member's generation, so the group coordinator accepts them) or, when the
 * assignment was lost (session timeout, the member fenced), aborted: either way no
 * transaction outlives the partitions it read from, and the next owner starts exactly
 * where the last committed transaction ended. The next owner's offset fetch waits for any
 * transaction still pending on them (read_committed consumers ask for stable offsets). */
#include <stdio.h>
#include <string.h>

#include "common/kafka.h"
#include "common/log.h"
#include "fanout/kstats.h"
#include "fanout/pipeline_internal.h"

/* "domain.chat[0],domain.chat[1]" for the log, cut short past len. */
static void group__describe(const rd_kafka_topic_partition_list_t *parts, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < parts->cnt && o + 1 < len; i++) {
        int n = snprintf(buf + o, len - o, "%s%s[%d]", i ? "," : "", parts->elems[i].topic,
                         (int)parts->elems[i].partition);
        if (n < 0)
            break;
        o += (size_t)n;
    }
}

static void group__assign(fanout_pipeline *p, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts)
{
    fanout_parts_clear(&p->parts);
    for (int i = 0; i < parts->cnt; i++) {
        char pnum[16];
        snprintf(pnum, sizeof pnum, "%d", (int)parts->elems[i].partition);
        fanout_part *e = fanout_parts_get(&p->parts, parts->elems[i].topic, parts->elems[i].partition);
        e->lag = rc_gauge_get(p->tm->lag, parts->elems[i].topic, pnum);
    }
    rd_kafka_resp_err_t err = rd_kafka_assign(rk, parts);
    if (err) {
        rc_log_error("could not take the assigned partitions", "{s:s}", "error", rd_kafka_err2str(err));
        return;
    }
    char list[1024];
    group__describe(parts, list, sizeof list);
    rc_gauge_set(p->tm->assigned, parts->cnt);
    rc_counter_inc(rc_counter_get(p->tm->rebalances, "assign"));
    atomic_store(&p->tm->joined, 1);
    rc_log_info("partitions assigned", "{s:s,s:i,s:s}", "group", p->cfg->group, "count", parts->cnt,
                "partitions", list);
}

static void group__revoke(fanout_pipeline *p, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts)
{
    int lost = rd_kafka_assignment_lost(rk);
    rc_counter_inc(rc_counter_get(p->tm->rebalances, lost ? "lost" : "revoke"));
    atomic_store(&p->tm->joined, 0);
    const char *txn = "none";
    if (!p->cfg->transactional && !lost && !p->fatal) {
        /* What was produced is acknowledged and its offsets committed before the
         * partitions go: the next owner re-processes nothing. */
        fanout_commit__finish(p, 10000);
        txn = "offsets committed";
    } else if (p->txn.open && !p->fatal) {
        /* The revoked partitions' next owner must find our last offsets committed or our
         * transaction aborted, never half done. */
        p->revoking = 1;
        if (lost)
            fanout_txn__abort(p, "partitions lost", 0);
        txn = lost || fanout_txn__commit(p) != 0 ? "aborted" : "committed";
        p->revoking = 0;
    }
    rd_kafka_assign(rk, NULL);
    fanout_parts_clear(&p->parts);
    rc_gauge_set(p->tm->assigned, 0);
    char list[1024];
    group__describe(parts, list, sizeof list);
    rc_log_info(lost ? "partitions lost" : "partitions revoked", "{s:s,s:i,s:s,s:s}", "group",
                p->cfg->group, "count", parts->cnt, "partitions", list, "open_transaction", txn);
}

void fanout_group__rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    fanout_pipeline *p = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        group__assign(p, rk, parts);
        return;
    }
    if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
        rc_log_error("rebalance failed; dropping the assignment", "{s:s}", "error",
                     rd_kafka_err2str(err));
    group__revoke(p, rk, parts);
}

static void group__lag(void *ctx, const char *topic, int32_t partition, int64_t ls_offset,
                       int64_t hi_offset, int64_t committed_offset)
{
    fanout_pipeline *p = ctx;
    fanout_part *e = fanout_parts_find(&p->parts, topic, partition);
    if (!e || !e->lag)
        return;
    /* Our own commits go through the transaction and never reach the consumer's view of
     * committed offsets, so ours win; the consumer's is what the group had at assignment. */
    int64_t base = e->committed >= 0 ? e->committed : committed_offset;
    int64_t end = ls_offset >= 0 ? ls_offset : hi_offset;
    if (base < 0 || end < 0)
        return;
    rc_gauge_set(e->lag, (double)(end > base ? end - base : 0));
}

int fanout_group__stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    fanout_pipeline *p = opaque;
    int up = fanout_kstats_parse(json, len, group__lag, p);
    if (up >= 0) {
        int was = atomic_exchange(&p->tm->kafka_up, up > 0);
        if (was != (up > 0))
            rc_log(up > 0 ? RC_LOG_INFO : RC_LOG_WARN, up > 0 ? "Kafka reachable" : "Kafka unreachable",
                   "{s:s}", "brokers", p->cfg->brokers);
    }
    return 0; /* librdkafka frees json */
}
