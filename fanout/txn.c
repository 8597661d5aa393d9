/* txn.c: the pipeline's Kafka transactions: begin, commit with the consumed offsets,
 * abort and rewind. Every transactional call's error is sorted the way librdkafka asks:
 * retriable (call again), abortable (abort, then redo the batch from the last committed
 * offsets), fatal or unknown (the producer is done; the process exits non-zero and is
 * restarted, which is always safe because nothing uncommitted is ever visible). */
#include <time.h>

#include "common/kafka.h"
#include "common/log.h"
#include "fanout/pipeline_internal.h"

/* Retriable errors (timeouts, a coordinator moving) are retried this many times, with a
 * growing pause, before the transaction is given up as aborted. */
#define TXN_RETRIES 8

static void txn__sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void fanout_txn__set_fatal(fanout_pipeline *p, const char *what, const char *detail)
{
    char fatal_err[512] = "";
    rd_kafka_resp_err_t code = rd_kafka_fatal_error(p->producer, fatal_err, sizeof fatal_err);
    rc_log_error("fatal Kafka error: exiting so that a fresh producer takes over", "{s:s,s:s,s:s,s:s}",
                 "during", what, "error", detail, "fatal_code", rd_kafka_err2name(code), "fatal",
                 fatal_err);
    p->fatal = 1;
    p->txn.open = 0;
}

typedef enum { TXN_OK, TXN_ABORT, TXN_FATAL } txn__outcome;

/* Runs one transactional call until it succeeds or fails for good. fn's error is
 * destroyed here. */
typedef rd_kafka_error_t *(*txn__call_fn)(fanout_pipeline *p, void *arg);

static txn__outcome txn__run(fanout_pipeline *p, const char *what, txn__call_fn fn, void *arg)
{
    for (int attempt = 1;; attempt++) {
        rd_kafka_error_t *e = fn(p, arg);
        if (!e)
            return TXN_OK;
        const char *name = rd_kafka_error_name(e), *msg = rd_kafka_error_string(e);
        if (rd_kafka_error_is_fatal(e)) {
            fanout_txn__set_fatal(p, what, msg);
            rd_kafka_error_destroy(e);
            return TXN_FATAL;
        }
        if (rd_kafka_error_txn_requires_abort(e)) {
            rc_log_warn("transaction must be aborted", "{s:s,s:s,s:s}", "during", what, "error", name,
                        "detail", msg);
            rd_kafka_error_destroy(e);
            return TXN_ABORT;
        }
        if (rd_kafka_error_is_retriable(e) && attempt < TXN_RETRIES) {
            rc_log_warn("transactional call will be retried", "{s:s,s:s,s:s,s:i}", "during", what,
                        "error", name, "detail", msg, "attempt", attempt);
            rd_kafka_error_destroy(e);
            txn__sleep_ms(100L * attempt);
            continue;
        }
        /* librdkafka's advice is to treat errors that are neither retriable nor abortable
         * as fatal; an abort is tried first since it keeps the process, and if the
         * producer really is unusable the abort reports that as fatal. */
        rc_log_warn("transactional call failed", "{s:s,s:s,s:s,s:i}", "during", what, "error",
                    name, "detail", msg, "attempt", attempt);
        rd_kafka_error_destroy(e);
        return TXN_ABORT;
    }
}

static rd_kafka_error_t *txn__begin_fn(fanout_pipeline *p, void *arg)
{
    (void)arg;
    return rd_kafka_begin_transaction(p->producer);
}

static rd_kafka_error_t *txn__send_offsets_fn(fanout_pipeline *p, void *arg)
{
    rd_kafka_consumer_group_metadata_t *cgmd = rd_kafka_consumer_group_metadata(p->consumer);
    rd_kafka_error_t *e = rd_kafka_send_offsets_to_transaction(p->producer, arg, cgmd, -1);
    rd_kafka_consumer_group_metadata_destroy(cgmd);
    return e;
}

static rd_kafka_error_t *txn__commit_fn(fanout_pipeline *p, void *arg)
{
    (void)arg;
    return rd_kafka_commit_transaction(p->producer, -1);
}

static rd_kafka_error_t *txn__abort_fn(fanout_pipeline *p, void *arg)
{
    (void)arg;
    return rd_kafka_abort_transaction(p->producer, -1);
}

int fanout_txn__begin(fanout_pipeline *p)
{
    if (txn__run(p, "begin_transaction", txn__begin_fn, NULL) != TXN_OK) {
        /* Nothing is open yet, so nothing can be aborted: a producer that cannot begin
         * is beyond repair here. */
        if (!p->fatal)
            fanout_txn__set_fatal(p, "begin_transaction", "could not begin a transaction");
        return RC_EIO;
    }
    p->txn.open = 1;
    p->txn.n = 0;
    p->txn.deadline_us = rc_now_us() + FANOUT_BATCH_US;
    return 0;
}

/* Counts what the committed transaction held. */
static void txn__count(fanout_pipeline *p)
{
    int64_t now_us = rc_now_us();
    for (size_t i = 0; i < p->txn.n; i++)
        fanout__count(p, &p->txn.pending[i], now_us);
    rc_counter_inc(p->tm->txn_committed);
}

int fanout_txn__commit(fanout_pipeline *p)
{
    if (!p->txn.open)
        return 0;
    rd_kafka_topic_partition_list_t *offsets = fanout_parts_commit_list(&p->parts);
    txn__outcome o = TXN_OK;
    if (offsets->cnt > 0)
        o = txn__run(p, "send_offsets_to_transaction", txn__send_offsets_fn, offsets);
    rd_kafka_topic_partition_list_destroy(offsets);
    if (o == TXN_OK)
        o = txn__run(p, "commit_transaction", txn__commit_fn, NULL);
    if (o == TXN_FATAL)
        return RC_EIO;
    if (o == TXN_ABORT) {
        fanout_txn__abort(p, "commit failed", !p->revoking);
        return RC_EIO;
    }
    txn__count(p);
    fanout_parts_txn_end(&p->parts, 1);
    p->txn.open = 0;
    p->txn.n = 0;
    p->aborts_in_row = 0;
    atomic_store(&p->tm->aborts_in_row, 0);
    return 0;
}

/* Puts the consumer back at the first offset the aborted transaction consumed of each
 * partition. Positions that cannot be restored would skip messages, so failing to seek
 * is fatal: a restarted process starts from the committed offsets, which are the same. */
static void txn__rewind(fanout_pipeline *p)
{
    rd_kafka_topic_partition_list_t *to = fanout_parts_rewind_list(&p->parts);
    if (to->cnt && fanout__seek(p, to, "rewinding the consumer after an abort") == 0)
        rc_log_info("consumer rewound to the last committed offsets", "{s:i}", "partitions",
                    to->cnt);
    rd_kafka_topic_partition_list_destroy(to);
}

int fanout__seek(fanout_pipeline *p, rd_kafka_topic_partition_list_t *to, const char *what)
{
    rd_kafka_error_t *e = rd_kafka_seek_partitions(p->consumer, to, 10000);
    const char *bad = e ? rd_kafka_error_string(e) : NULL;
    for (int i = 0; !bad && i < to->cnt; i++)
        if (to->elems[i].err)
            bad = rd_kafka_err2str(to->elems[i].err);
    if (bad)
        fanout_txn__set_fatal(p, what, bad);
    if (e)
        rd_kafka_error_destroy(e);
    return bad ? RC_EIO : 0;
}

void fanout_txn__abort(fanout_pipeline *p, const char *why, int rewind)
{
    if (!p->txn.open)
        return;
    rc_log_warn("aborting transaction", "{s:s,s:i,s:b}", "reason", why, "messages", (int)p->txn.n,
                "rewind", rewind);
    if (txn__run(p, "abort_transaction", txn__abort_fn, NULL) != TXN_OK) {
        if (!p->fatal)
            fanout_txn__set_fatal(p, "abort_transaction", "the transaction could not be aborted");
        return;
    }
    rc_counter_inc(p->tm->txn_aborted);
    if (rewind)
        txn__rewind(p);
    fanout_parts_txn_end(&p->parts, 0);
    p->txn.open = 0;
    p->txn.n = 0;
    if (rewind)
        fanout__backoff(p);
    else
        atomic_store(&p->tm->aborts_in_row, ++p->aborts_in_row);
}

void fanout__backoff(fanout_pipeline *p)
{
    atomic_store(&p->tm->aborts_in_row, ++p->aborts_in_row);
    if (p->fatal || p->aborts_in_row < 2)
        return;
    long ms = 100L << (p->aborts_in_row - 2 < 6 ? p->aborts_in_row - 2 : 6);
    for (long waited = 0; waited < (ms > 5000 ? 5000 : ms) && !*p->stop; waited += 50)
        txn__sleep_ms(50);
}
