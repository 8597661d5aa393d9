/* Debian's librdkafka against the real Apache Kafka node that tests/kafka/kafka starts:
 * everything roomcast relies on, asserted end to end (docs/kafka-compat.md has the findings).
 *
 *   admin      CreateTopics (4 partitions, RF 1), duplicate -> TOPIC_ALREADY_EXISTS, DeleteTopics
 *   produce    idempotent producer, delivery reports, headers, key -> one partition (and the
 *              Java client's murmur2 partition with partitioner=murmur2_random)
 *   codecs     gzip, snappy, lz4 and zstd batches round-trip
 *   assign     assign() of all partitions from OFFSET_END sees only later messages; from
 *              OFFSET_BEGINNING sees all
 *   group      two members share the partitions, manual rd_kafka_commit(), committed offsets
 *              survive a member restart; regex subscription picks up a topic created later
 *   txn        consume-transform-produce with send_offsets_to_transaction(); an aborted
 *              transaction is hidden from read_committed and seen by read_uncommitted
 *   interleave two transactional producers interleaving committed and aborted transactions;
 *              read_committed gets exactly the committed messages in log order, and an open
 *              transaction holds back later committed messages (the last stable offset)
 *
 * ROOMCAST_TEST_BROKERS=host:port selects the broker; unset, the test is skipped (77).
 * ROOMCAST_TEST_KAFKA_DEBUG=feature,protocol passes librdkafka's debug contexts through. */
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "common/rc.h"

#define WAIT_MS 15000 /* the longest any single step may take before the test gives up */

static const char *brokers;
static const char *debug_ctx;
static char prefix[32];
/* group.id of the assign() consumers (2.0.2 requires one): never joined, never committed */
static char assign_group[64];
static atomic_int log_warnings, fatal_errors;

/* REQUIRE: like CHECK, but a failure means the rest of the scenario cannot run: it says
 * why and jumps to the scenario's cleanup label. */
#define REQUIRE(cond, ...)                                                             \
    do {                                                                               \
        if (cond) {                                                                    \
            check__passed++;                                                           \
        } else {                                                                       \
            check__failed++;                                                           \
            fprintf(stderr, "%s:%d: REQUIRE(%s) failed: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                              \
            fputc('\n', stderr);                                                       \
            goto out;                                                                  \
        }                                                                              \
    } while (0)

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void tname(char *buf, size_t len, const char *suffix)
{
    snprintf(buf, len, "%s.%s", prefix, suffix);
}

/* --- clients ----------------------------------------------------------------------- */

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    if (level <= 4)
        atomic_fetch_add(&log_warnings, 1);
    fprintf(stderr, "%% rdkafka %s %d %s: %s\n", rd_kafka_name(rk), level, fac, buf);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[256];
        rd_kafka_fatal_error(rk, why, sizeof why);
        atomic_fetch_add(&fatal_errors, 1);
        fprintf(stderr, "%% rdkafka %s FATAL: %s\n", rd_kafka_name(rk), why);
    } else {
        fprintf(stderr, "%% rdkafka %s error %s: %s\n", rd_kafka_name(rk),
                rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
    }
}

typedef struct {
    int done;
    rd_kafka_resp_err_t err;
    int32_t partition;
    int64_t offset;
    rd_kafka_msg_status_t status;
} dr_t;

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    dr_t *d = m->_private;
    if (!d)
        return;
    d->done = 1;
    d->err = m->err;
    d->partition = m->partition;
    d->offset = m->offset;
    d->status = rd_kafka_message_status(m);
}

/* A group member's view of its assignment, kept by rebalance_cb (eager or cooperative). */
typedef struct {
    int assigns, revokes;
    int nassigned;         /* partitions currently assigned, all topics */
    uint32_t mask;         /* bit p set: partition p of (any) topic assigned */
    const char *watch;     /* count the partitions of this topic separately */
    int nwatch;
} member_t;

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    member_t *m = opaque;
    bool coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    rd_kafka_error_t *e = NULL;

    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (coop)
            e = rd_kafka_incremental_assign(rk, parts);
        else if (rd_kafka_assign(rk, parts))
            fprintf(stderr, "assign failed\n");
        if (!coop) {
            m->nassigned = 0, m->mask = 0, m->nwatch = 0;
        }
        m->assigns++;
        for (int i = 0; i < parts->cnt; i++) {
            m->nassigned++;
            m->mask |= 1u << (parts->elems[i].partition & 31);
            if (m->watch && strcmp(parts->elems[i].topic, m->watch) == 0)
                m->nwatch++;
        }
    } else {
        if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
            fprintf(stderr, "rebalance error: %s\n", rd_kafka_err2str(err));
        if (coop) {
            e = rd_kafka_incremental_unassign(rk, parts);
            for (int i = 0; i < parts->cnt; i++) {
                m->nassigned--;
                m->mask &= ~(1u << (parts->elems[i].partition & 31));
                if (m->watch && strcmp(parts->elems[i].topic, m->watch) == 0)
                    m->nwatch--;
            }
        } else {
            rd_kafka_assign(rk, NULL);
            m->nassigned = 0, m->mask = 0, m->nwatch = 0;
        }
        m->revokes++;
    }
    if (e) {
        fprintf(stderr, "incremental (un)assign: %s\n", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
}

/* kv: NULL-terminated name, value pairs on top of bootstrap.servers and the callbacks. */
static rd_kafka_t *client(rd_kafka_type_t type, const char *name, member_t *member,
                          const char *const *kv)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    char err[512];
#define SET(k, v)                                                                      \
    if (rd_kafka_conf_set(c, (k), (v), err, sizeof err) != RD_KAFKA_CONF_OK)           \
        die("%s: conf %s=%s: %s", name, (k), (v), err);
    SET("bootstrap.servers", brokers);
    SET("client.id", name);
    SET("socket.timeout.ms", "10000");
    if (debug_ctx && *debug_ctx)
        SET("debug", debug_ctx);
    for (; kv && kv[0]; kv += 2)
        SET(kv[0], kv[1]);
#undef SET
    rd_kafka_conf_set_log_cb(c, log_cb);
    rd_kafka_conf_set_error_cb(c, error_cb);
    if (type == RD_KAFKA_PRODUCER)
        rd_kafka_conf_set_dr_msg_cb(c, dr_msg_cb);
    if (member) {
        rd_kafka_conf_set_opaque(c, member);
        rd_kafka_conf_set_rebalance_cb(c, rebalance_cb);
    }
    rd_kafka_t *rk = rd_kafka_new(type, c, err, sizeof err);
    if (!rk)
        die("%s: rd_kafka_new: %s", name, err);
    if (type == RD_KAFKA_CONSUMER)
        rd_kafka_poll_set_consumer(rk);
    return rk;
}

static void consumer_done(rd_kafka_t **rk)
{
    if (!*rk)
        return;
    rd_kafka_resp_err_t err = rd_kafka_consumer_close(*rk);
    if (err)
        fprintf(stderr, "%s: consumer_close: %s\n", rd_kafka_name(*rk), rd_kafka_err2str(err));
    rd_kafka_destroy(*rk);
    *rk = NULL;
}

static void producer_done(rd_kafka_t **rk)
{
    if (!*rk)
        return;
    rd_kafka_flush(*rk, 5000);
    rd_kafka_destroy(*rk);
    *rk = NULL;
}

static rd_kafka_resp_err_t produce(rd_kafka_t *rk, const char *topic, int32_t partition,
                                  const char *key, const char *value, dr_t *dr)
{
    return rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                             RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
                             RD_KAFKA_V_VALUE((void *)value, strlen(value)),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(dr),
                             RD_KAFKA_V_END);
}

/* Prints a transactional API error; true when there was none. */
static bool txn_ok(rd_kafka_error_t *e, const char *what)
{
    if (!e)
        return true;
    fprintf(stderr, "%s: %s: %s%s%s\n", what, rd_kafka_error_name(e), rd_kafka_error_string(e),
            rd_kafka_error_is_fatal(e) ? " (fatal)" : "",
            rd_kafka_error_txn_requires_abort(e) ? " (abortable)" : "");
    rd_kafka_error_destroy(e);
    return false;
}

/* --- received messages ---------------------------------------------------------------- */

typedef struct {
    char topic[96];
    int32_t partition;
    int64_t offset;
    char key[64], value[96], h_type[64], h_seq[16];
    int nheaders;
} rec_t;

typedef struct {
    rec_t *v;
    size_t n, cap;
    uint32_t eof_mask; /* partitions that reported PARTITION_EOF */
} recs_t;

static void recs_free(recs_t *rs)
{
    free(rs->v);
    memset(rs, 0, sizeof *rs);
}

static void copy_field(char *dst, size_t cap, const void *src, size_t len)
{
    if (!src)
        len = 0;
    if (len >= cap)
        len = cap - 1;
    if (len)
        memcpy(dst, src, len);
    dst[len] = 0;
}

static void recs_add(recs_t *rs, const rd_kafka_message_t *m)
{
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 64;
        rs->v = realloc(rs->v, rs->cap * sizeof *rs->v);
        if (!rs->v)
            die("out of memory");
    }
    rec_t *r = &rs->v[rs->n++];
    memset(r, 0, sizeof *r);
    snprintf(r->topic, sizeof r->topic, "%s", rd_kafka_topic_name(m->rkt));
    r->partition = m->partition;
    r->offset = m->offset;
    copy_field(r->key, sizeof r->key, m->key, m->key_len);
    copy_field(r->value, sizeof r->value, m->payload, m->len);
    rd_kafka_headers_t *h;
    if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const void *val;
        size_t size;
        r->nheaders = (int)rd_kafka_header_cnt(h);
        if (rd_kafka_header_get_last(h, "type", &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR)
            copy_field(r->h_type, sizeof r->h_type, val, size);
        if (rd_kafka_header_get_last(h, "seq", &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR)
            copy_field(r->h_seq, sizeof r->h_seq, val, size);
    }
}

/* One poll of up to ms; a message goes to rs, an EOF into rs->eof_mask. */
static void poll_once(rd_kafka_t *rk, int ms, recs_t *rs)
{
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, ms);
    if (!m)
        return;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
        rs->eof_mask |= 1u << (m->partition & 31);
    else if (m->err)
        fprintf(stderr, "%s: consume error: %s: %s\n", rd_kafka_name(rk),
                rd_kafka_err2name(m->err), rd_kafka_message_errstr(m));
    else
        recs_add(rs, m);
    rd_kafka_message_destroy(m);
}

/* Polls until rs holds want messages or timeout_ms pass; returns rs->n. */
static size_t consume_until(rd_kafka_t *rk, recs_t *rs, size_t want, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    while (rs->n < want && now_ms() < deadline)
        poll_once(rk, 100, rs);
    return rs->n;
}

/* Polls for ms regardless (to catch messages that should not come). */
static void consume_for(rd_kafka_t *rk, recs_t *rs, int ms)
{
    int64_t deadline = now_ms() + ms;
    while (now_ms() < deadline)
        poll_once(rk, 50, rs);
}

static size_t count_prefix(const recs_t *rs, const char *p)
{
    size_t n = 0;
    for (size_t i = 0; i < rs->n; i++)
        n += strncmp(rs->v[i].value, p, strlen(p)) == 0;
    return n;
}

static rd_kafka_topic_partition_list_t *all_partitions(const char *topic, int cnt, int64_t off)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(cnt);
    for (int p = 0; p < cnt; p++)
        rd_kafka_topic_partition_list_add(l, topic, p)->offset = off;
    return l;
}

/* The Java client's default partitioner: murmur2 (seed 0x9747b28c), toPositive, modulo. */
static int32_t java_partition(const char *key, int32_t cnt)
{
    const uint32_t m = 0x5bd1e995;
    const unsigned char *d = (const unsigned char *)key;
    size_t len = strlen(key), n4 = len / 4;
    uint32_t h = 0x9747b28cu ^ (uint32_t)len;
    for (size_t i = 0; i < n4; i++) {
        uint32_t k = (uint32_t)d[4 * i] | (uint32_t)d[4 * i + 1] << 8 |
                     (uint32_t)d[4 * i + 2] << 16 | (uint32_t)d[4 * i + 3] << 24;
        k *= m;
        k ^= k >> 24;
        k *= m;
        h *= m;
        h ^= k;
    }
    const unsigned char *t = d + 4 * n4;
    size_t rest = len & 3;
    if (rest >= 3)
        h ^= (uint32_t)t[2] << 16;
    if (rest >= 2)
        h ^= (uint32_t)t[1] << 8;
    if (rest >= 1) {
        h ^= t[0];
        h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return (int32_t)((h & 0x7fffffff) % (uint32_t)cnt);
}

/* --- admin ------------------------------------------------------------------------------ */

/* Creates n topics; errs[i] gets each topic's result. Returns false on a request failure. */
static bool create_topics(rd_kafka_t *rk, const char *const *names, const int *partitions,
                          int n, rd_kafka_resp_err_t *errs)
{
    char err[512];
    bool ok = false;
    rd_kafka_NewTopic_t *nt[16];
    rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_event_t *ev = NULL;

    if (n > 16)
        die("create_topics: too many");
    for (int i = 0; i < n; i++) {
        nt[i] = rd_kafka_NewTopic_new(names[i], partitions[i], 1, err, sizeof err);
        if (!nt[i])
            die("NewTopic %s: %s", names[i], err);
        errs[i] = RD_KAFKA_RESP_ERR__FAIL;
    }
    /* operation_timeout: the broker answers once the topics exist (leaders elected). */
    if (rd_kafka_AdminOptions_set_operation_timeout(opt, 10000, err, sizeof err) ||
        rd_kafka_AdminOptions_set_request_timeout(opt, WAIT_MS, err, sizeof err))
        die("AdminOptions: %s", err);
    rd_kafka_CreateTopics(rk, nt, (size_t)n, opt, q);
    ev = rd_kafka_queue_poll(q, WAIT_MS + 2000);
    if (!ev) {
        fprintf(stderr, "CreateTopics: no result within %d ms\n", WAIT_MS + 2000);
        goto done;
    }
    if (rd_kafka_event_error(ev)) {
        fprintf(stderr, "CreateTopics: %s\n", rd_kafka_event_error_string(ev));
        goto done;
    }
    const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
    size_t cnt = 0;
    const rd_kafka_topic_result_t **tr =
        res ? rd_kafka_CreateTopics_result_topics(res, &cnt) : NULL;
    for (size_t i = 0; i < cnt; i++)
        for (int j = 0; j < n; j++)
            if (strcmp(rd_kafka_topic_result_name(tr[i]), names[j]) == 0) {
                errs[j] = rd_kafka_topic_result_error(tr[i]);
                if (errs[j])
                    fprintf(stderr, "CreateTopics %s: %s (%s)\n", names[j],
                            rd_kafka_err2name(errs[j]), rd_kafka_topic_result_error_string(tr[i]));
            }
    ok = true;
done:
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_NewTopic_destroy_array(nt, (size_t)n);
    return ok;
}

static bool delete_topics(rd_kafka_t *rk, const char *const *names, int n)
{
    rd_kafka_DeleteTopic_t *dt[16];
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    bool ok = true;
    for (int i = 0; i < n; i++)
        dt[i] = rd_kafka_DeleteTopic_new(names[i]);
    rd_kafka_DeleteTopics(rk, dt, (size_t)n, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, WAIT_MS);
    if (!ev || rd_kafka_event_error(ev)) {
        fprintf(stderr, "DeleteTopics: %s\n", ev ? rd_kafka_event_error_string(ev) : "timeout");
        ok = false;
    } else {
        size_t cnt = 0;
        const rd_kafka_topic_result_t **tr =
            rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &cnt);
        for (size_t i = 0; i < cnt; i++)
            if (rd_kafka_topic_result_error(tr[i])) {
                fprintf(stderr, "DeleteTopics %s: %s\n", rd_kafka_topic_result_name(tr[i]),
                        rd_kafka_err2name(rd_kafka_topic_result_error(tr[i])));
                ok = false;
            }
        ok = ok && cnt == (size_t)n;
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_DeleteTopic_destroy_array(dt, (size_t)n);
    return ok;
}

/* The partition count the broker reports for topic, or -1 (and why on stderr). A topic's
 * metadata reaches the brokers' caches asynchronously after CreateTopics, so "unknown topic"
 * is retried for a few seconds. */
static int partition_count(rd_kafka_t *rk, const char *topic)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    int64_t deadline = now_ms() + 5000;
    rd_kafka_resp_err_t err;
    int cnt = -1;
    do {
        const struct rd_kafka_metadata *md = NULL;
        err = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            err = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
            if (!err)
                cnt = md->topics[0].partition_cnt;
            rd_kafka_metadata_destroy(md);
        }
        if (err)
            usleep(100 * 1000);
    } while (err && now_ms() < deadline);
    if (err || now_ms() - deadline + 5000 > 200)
        fprintf(stderr, "metadata %s: %s after %d ms\n", topic, rd_kafka_err2name(err),
                (int)(now_ms() - deadline + 5000));
    rd_kafka_topic_destroy(rkt);
    return cnt;
}

/* --- the topics of one run ----------------------------------------------------------- */

enum { T_KEYED, T_ROOMS, T_GROUP, T_DOMAIN_A, T_TXIN, T_TXOUT, T_INTER, T_CODEC, T_N };
static const char *const t_suffix[T_N] = {"keyed", "rooms", "group", "domain.a",
                                          "txin",  "txout", "inter", "codec"};
static const int t_parts[T_N] = {4, 4, 4, 4, 4, 4, 1, 1};
static char topic[T_N][96];
static char topic_domain_b[96];
static bool domain_b_created;

/* --- scenarios --------------------------------------------------------------------------- */

static void scenario_admin(rd_kafka_t *admin)
{
    const char *names[T_N];
    rd_kafka_resp_err_t errs[T_N];
    for (int i = 0; i < T_N; i++)
        names[i] = topic[i];
    REQUIRE(create_topics(admin, names, t_parts, T_N, errs), "CreateTopics request failed");
    for (int i = 0; i < T_N; i++)
        CHECK_EQ(errs[i], RD_KAFKA_RESP_ERR_NO_ERROR);
    for (int i = 0; i < T_N; i++)
        CHECK_EQ(partition_count(admin, topic[i]), t_parts[i]);
    /* Creating an existing topic is an error per topic, not for the request. */
    REQUIRE(create_topics(admin, names, t_parts, 1, errs), "second CreateTopics request failed");
    CHECK_EQ(errs[0], RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS);
out:;
}

/* (1) Idempotent producer, delivery reports, headers, key -> partition. */
static void scenario_produce(void)
{
    enum { NKEYS = 8, PER_KEY = 5, N = NKEYS * PER_KEY };
    static const char *const pconf[] = {"enable.idempotence", "true",
                                        "partitioner", "murmur2_random",
                                        "linger.ms", "5", NULL};
    const char *const cconf[] = {"group.id", assign_group, "enable.auto.commit", "false", NULL};
    rd_kafka_t *p = client(RD_KAFKA_PRODUCER, "kc-idem", NULL, pconf), *c = NULL;
    rd_kafka_topic_partition_list_t *l = NULL;
    dr_t dr[N];
    char key[NKEYS][24], value[64], seq[16];
    int32_t key_part[NKEYS];
    recs_t rs = {0};
    memset(dr, 0, sizeof dr);

    char *acks = NULL;
    {
        char buf[32];
        size_t sz = sizeof buf;
        const rd_kafka_conf_t *conf = rd_kafka_conf(p);
        if (rd_kafka_conf_get(conf, "acks", buf, &sz) == RD_KAFKA_CONF_OK)
            acks = strdup(buf);
    }
    /* idempotence forces acks=all */
    CHECK(acks && (strcmp(acks, "-1") == 0 || strcmp(acks, "all") == 0));
    free(acks);

    for (int k = 0; k < NKEYS; k++)
        snprintf(key[k], sizeof key[k], "room-%d", k);
    for (int i = 0; i < N; i++) {
        int k = i % NKEYS;
        snprintf(value, sizeof value, "idem-%d", i);
        snprintf(seq, sizeof seq, "%d", i);
        rd_kafka_resp_err_t err = rd_kafka_producev(
            p, RD_KAFKA_V_TOPIC(topic[T_KEYED]), RD_KAFKA_V_KEY(key[k], strlen(key[k])),
            RD_KAFKA_V_VALUE(value, strlen(value)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADER("type", "payment.created", -1), RD_KAFKA_V_HEADER("seq", seq, -1),
            RD_KAFKA_V_OPAQUE(&dr[i]), RD_KAFKA_V_END);
        REQUIRE(err == RD_KAFKA_RESP_ERR_NO_ERROR, "producev: %s", rd_kafka_err2str(err));
    }
    rd_kafka_resp_err_t ferr = rd_kafka_flush(p, WAIT_MS);
    REQUIRE(ferr == RD_KAFKA_RESP_ERR_NO_ERROR, "flush: %s", rd_kafka_err2str(ferr));

    int delivered = 0, persisted = 0, consistent = 0, javalike = 0;
    uint32_t used = 0;
    for (int k = 0; k < NKEYS; k++)
        key_part[k] = -1;
    for (int i = 0; i < N; i++) {
        int k = i % NKEYS;
        delivered += dr[i].done && dr[i].err == RD_KAFKA_RESP_ERR_NO_ERROR && dr[i].offset >= 0;
        persisted += dr[i].status == RD_KAFKA_MSG_STATUS_PERSISTED;
        if (key_part[k] < 0)
            key_part[k] = dr[i].partition;
        consistent += dr[i].partition == key_part[k];
        javalike += dr[i].partition == java_partition(key[k], 4);
        used |= 1u << (dr[i].partition & 31);
    }
    CHECK_EQ(delivered, N);
    CHECK_EQ(persisted, N);
    CHECK_EQ(consistent, N);          /* one key, one partition */
    CHECK_EQ(javalike, N);            /* the same partition the Java client picks */
    CHECK(__builtin_popcount(used) >= 2); /* 8 keys do spread */
    /* Offsets within a partition follow production order (idempotence keeps order). */
    int ordered = 1;
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            if (dr[i].partition == dr[j].partition && dr[i].offset >= dr[j].offset)
                ordered = 0;
    CHECK(ordered);
    char why[256];
    CHECK_EQ(rd_kafka_fatal_error(p, why, sizeof why), RD_KAFKA_RESP_ERR_NO_ERROR);

    /* Read them back: headers and keys arrive intact, on the partition the report named. */
    c = client(RD_KAFKA_CONSUMER, "kc-idem-read", NULL, cconf);
    l = all_partitions(topic[T_KEYED], 4, RD_KAFKA_OFFSET_BEGINNING);
    REQUIRE(rd_kafka_assign(c, l) == RD_KAFKA_RESP_ERR_NO_ERROR, "assign");
    REQUIRE(consume_until(c, &rs, N, WAIT_MS) == N, "read back %zu of %d messages", rs.n, N);
    int headers_ok = 0, part_ok = 0;
    for (size_t i = 0; i < rs.n; i++) {
        const rec_t *r = &rs.v[i];
        int idx = atoi(r->value + 5);
        char want_seq[16];
        snprintf(want_seq, sizeof want_seq, "%d", idx);
        headers_ok += r->nheaders == 2 && strcmp(r->h_type, "payment.created") == 0 &&
                      strcmp(r->h_seq, want_seq) == 0 && strcmp(r->key, key[idx % NKEYS]) == 0;
        part_ok += idx >= 0 && idx < N && dr[idx].partition == r->partition &&
                   dr[idx].offset == r->offset;
    }
    CHECK_EQ(headers_ok, N);
    CHECK_EQ(part_ok, N);
out:
    recs_free(&rs);
    if (l)
        rd_kafka_topic_partition_list_destroy(l);
    consumer_done(&c);
    producer_done(&p);
}

/* (1b) Every compression codec round-trips (batches big enough that librdkafka does
 * compress them rather than send them plain). */
static void scenario_codecs(void)
{
    static const char *const codecs[] = {"gzip", "snappy", "lz4", "zstd"};
    enum { PER = 50 };
    const char *const cconf[] = {"group.id", assign_group, "enable.auto.commit", "false", NULL};
    rd_kafka_t *p = NULL, *c = NULL;
    rd_kafka_topic_partition_list_t *l = NULL;
    recs_t rs = {0};
    char v[96];

    for (size_t k = 0; k < RC_ARRAY_LEN(codecs); k++) {
        const char *const pconf[] = {"enable.idempotence", "true", "compression.type", codecs[k],
                                     "linger.ms", "50", NULL};
        p = client(RD_KAFKA_PRODUCER, codecs[k], NULL, pconf);
        for (int i = 0; i < PER; i++) {
            snprintf(v, sizeof v, "%s-%02d roomcast roomcast roomcast roomcast roomcast roomcast",
                     codecs[k], i);
            REQUIRE(produce(p, topic[T_CODEC], 0, NULL, v, NULL) == 0, "producev %s", codecs[k]);
        }
        rd_kafka_resp_err_t err = rd_kafka_flush(p, WAIT_MS);
        REQUIRE(err == RD_KAFKA_RESP_ERR_NO_ERROR, "flush %s: %s", codecs[k],
                rd_kafka_err2str(err));
        producer_done(&p);
    }
    c = client(RD_KAFKA_CONSUMER, "kc-codec-read", NULL, cconf);
    l = all_partitions(topic[T_CODEC], 1, RD_KAFKA_OFFSET_BEGINNING);
    REQUIRE(rd_kafka_assign(c, l) == RD_KAFKA_RESP_ERR_NO_ERROR, "assign");
    size_t want = PER * RC_ARRAY_LEN(codecs);
    REQUIRE(consume_until(c, &rs, want, WAIT_MS) == want, "read %zu of %zu", rs.n, want);
    for (size_t k = 0; k < RC_ARRAY_LEN(codecs); k++) {
        int ok = 0;
        for (int i = 0; i < PER; i++) {
            const rec_t *r = &rs.v[k * PER + i];
            snprintf(v, sizeof v, "%s-%02d roomcast roomcast roomcast roomcast roomcast roomcast",
                     codecs[k], i);
            ok += strcmp(r->value, v) == 0;
        }
        if (ok != PER)
            fprintf(stderr, "codec %s: %d of %d intact\n", codecs[k], ok, PER);
        CHECK_EQ(ok, PER);
    }
out:
    recs_free(&rs);
    if (l)
        rd_kafka_topic_partition_list_destroy(l);
    consumer_done(&c);
    producer_done(&p);
}

/* (2) assign() every partition from the live end, and from the beginning. */
static void scenario_assign(void)
{
    static const char *const pconf_lz4[] = {"enable.idempotence", "true",
                                            "compression.type", "lz4", NULL};
    const char *const cconf[] = {"group.id", assign_group,
                                        "enable.auto.commit", "false",
                                        "enable.auto.offset.store", "false",
                                        "enable.partition.eof", "true",
                                        "isolation.level", "read_committed", NULL};
    rd_kafka_t *p = client(RD_KAFKA_PRODUCER, "kc-rooms-prod", NULL, pconf_lz4);
    rd_kafka_t *live = NULL, *all = NULL;
    rd_kafka_topic_partition_list_t *l = NULL;
    recs_t rl = {0}, ra = {0};
    char v[32], k[32];
    rd_kafka_resp_err_t err;

    for (int i = 0; i < 12; i++) {
        snprintf(v, sizeof v, "before-%d", i);
        snprintf(k, sizeof k, "room-%d", i);
        REQUIRE(produce(p, topic[T_ROOMS], RD_KAFKA_PARTITION_UA, k, v, NULL) == 0, "producev");
    }
    err = rd_kafka_flush(p, WAIT_MS);
    REQUIRE(err == RD_KAFKA_RESP_ERR_NO_ERROR, "flush: %s", rd_kafka_err2str(err));

    /* librdkafka 2.0.2's assign() needs a group.id (without one it fails with
     * __UNKNOWN_GROUP), but it never joins the group: nothing is committed. */
    {
        static const char *const nogroup[] = {"enable.auto.commit", "false", NULL};
        rd_kafka_t *ng = client(RD_KAFKA_CONSUMER, "kc-nogroup", NULL, nogroup);
        l = all_partitions(topic[T_ROOMS], 4, RD_KAFKA_OFFSET_END);
        err = rd_kafka_assign(ng, l);
        printf("  assign() without group.id: %s\n", rd_kafka_err2name(err));
        rd_kafka_topic_partition_list_destroy(l);
        l = NULL;
        rd_kafka_destroy(ng);
    }
    live = client(RD_KAFKA_CONSUMER, "kc-rooms-live", NULL, cconf);
    /* Leaders known before assign(): otherwise the first offset lookup finds no leader and
     * waits for a retry timer (~0.5 s). Going live then takes ~2 x fetch.wait.max.ms: the
     * EOFs come with the first empty fetch responses. */
    CHECK_EQ(partition_count(live, topic[T_ROOMS]), 4);
    int64_t t_live = now_ms();
    l = all_partitions(topic[T_ROOMS], 4, RD_KAFKA_OFFSET_END);
    err = rd_kafka_assign(live, l);
    REQUIRE(err == RD_KAFKA_RESP_ERR_NO_ERROR, "assign(OFFSET_END): %s", rd_kafka_err2str(err));
    /* PARTITION_EOF on all four = the end offsets are resolved and fetching is live. */
    int64_t deadline = now_ms() + WAIT_MS;
    while (rl.eof_mask != 0xf && now_ms() < deadline)
        poll_once(live, 100, &rl);
    REQUIRE(rl.eof_mask == 0xf, "live consumer reached the end of only mask 0x%x", rl.eof_mask);
    printf("  live end reached %d ms after assign()\n", (int)(now_ms() - t_live));
    CHECK_EQ(rl.n, 0);

    for (int i = 0; i < 12; i++) {
        snprintf(v, sizeof v, "after-%d", i);
        snprintf(k, sizeof k, "room-%d", i);
        REQUIRE(produce(p, topic[T_ROOMS], RD_KAFKA_PARTITION_UA, k, v, NULL) == 0, "producev");
    }
    err = rd_kafka_flush(p, WAIT_MS);
    REQUIRE(err == RD_KAFKA_RESP_ERR_NO_ERROR, "flush: %s", rd_kafka_err2str(err));
    REQUIRE(consume_until(live, &rl, 12, WAIT_MS) == 12, "live consumer got %zu of 12", rl.n);
    consume_for(live, &rl, 300);
    CHECK_EQ(rl.n, 12);
    CHECK_EQ(count_prefix(&rl, "after-"), 12);
    CHECK_EQ(count_prefix(&rl, "before-"), 0);

    all = client(RD_KAFKA_CONSUMER, "kc-rooms-all", NULL, cconf);
    rd_kafka_topic_partition_list_destroy(l);
    l = all_partitions(topic[T_ROOMS], 4, RD_KAFKA_OFFSET_BEGINNING);
    err = rd_kafka_assign(all, l);
    REQUIRE(err == RD_KAFKA_RESP_ERR_NO_ERROR, "assign(BEGINNING): %s", rd_kafka_err2str(err));
    REQUIRE(consume_until(all, &ra, 24, WAIT_MS) == 24, "beginning consumer got %zu of 24", ra.n);
    consume_for(all, &ra, 300);
    CHECK_EQ(ra.n, 24);
    CHECK_EQ(count_prefix(&ra, "before-"), 12);
    CHECK_EQ(count_prefix(&ra, "after-"), 12);
out:
    recs_free(&rl);
    recs_free(&ra);
    if (l)
        rd_kafka_topic_partition_list_destroy(l);
    consumer_done(&live);
    consumer_done(&all);
    producer_done(&p);
}

static const char *const group_conf_base[] = {
    "enable.auto.commit", "false",
    "auto.offset.reset", "earliest",
    "session.timeout.ms", "6000",
    "heartbeat.interval.ms", "500",
    "max.poll.interval.ms", "10000",
    "partition.assignment.strategy", "roundrobin", /* eager; spreads many small topics */
};

/* group_conf_base + group.id + extra (NULL-terminated) in buf. */
static const char *const *group_conf(const char **buf, size_t cap, const char *group,
                                     const char *const *extra)
{
    size_t n = 0;
    for (size_t i = 0; i < RC_ARRAY_LEN(group_conf_base); i++)
        buf[n++] = group_conf_base[i];
    buf[n++] = "group.id";
    buf[n++] = group;
    for (; extra && *extra && n + 1 < cap; extra++)
        buf[n++] = *extra;
    buf[n] = NULL;
    return buf;
}

static rd_kafka_resp_err_t subscribe1(rd_kafka_t *rk, const char *pattern)
{
    rd_kafka_topic_partition_list_t *s = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(s, pattern, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, s);
    rd_kafka_topic_partition_list_destroy(s);
    return err;
}

/* Committed offsets of partitions 0..3 of topic for the consumer's group, as "a,b,c,d". */
static void committed_str(rd_kafka_t *rk, const char *t, char *out, size_t cap)
{
    rd_kafka_topic_partition_list_t *l = all_partitions(t, 4, RD_KAFKA_OFFSET_INVALID);
    rd_kafka_resp_err_t err = rd_kafka_committed(rk, l, 10000);
    if (err) {
        snprintf(out, cap, "error %s", rd_kafka_err2name(err));
    } else {
        snprintf(out, cap, "%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64, l->elems[0].offset,
                 l->elems[1].offset, l->elems[2].offset, l->elems[3].offset);
    }
    rd_kafka_topic_partition_list_destroy(l);
}

/* (3a) Two members share a group; manual commits survive a member restart. */
static void scenario_group(void)
{
    static const char *const pconf_zstd[] = {"enable.idempotence", "true",
                                             "compression.type", "zstd", NULL};
    char group[64], v[32], committed[96];
    const char *cbuf[32];
    member_t ma = {0}, mb = {0}, mb2 = {0};
    rd_kafka_t *p = client(RD_KAFKA_PRODUCER, "kc-group-prod", NULL, pconf_zstd);
    rd_kafka_t *a = NULL, *b = NULL;
    recs_t r1a = {0}, r1b = {0}, r2 = {0};
    rd_kafka_resp_err_t err;
    int64_t deadline, t0;

    snprintf(group, sizeof group, "%s-group", prefix);
    group_conf(cbuf, RC_ARRAY_LEN(cbuf), group, NULL);

    t0 = now_ms();
    a = client(RD_KAFKA_CONSUMER, "kc-member-a", &ma, cbuf);
    REQUIRE(subscribe1(a, topic[T_GROUP]) == 0, "subscribe a");
    deadline = now_ms() + WAIT_MS;
    while (ma.nassigned != 4 && now_ms() < deadline)
        poll_once(a, 100, &r1a);
    REQUIRE(ma.nassigned == 4, "member a alone has %d partitions, not 4", ma.nassigned);
    printf("  group: first member assigned in %.1f s\n", (now_ms() - t0) / 1000.0);

    t0 = now_ms();
    b = client(RD_KAFKA_CONSUMER, "kc-member-b", &mb, cbuf);
    REQUIRE(subscribe1(b, topic[T_GROUP]) == 0, "subscribe b");
    deadline = now_ms() + WAIT_MS;
    while (!(ma.nassigned == 2 && mb.nassigned == 2) && now_ms() < deadline) {
        poll_once(a, 50, &r1a);
        poll_once(b, 50, &r1b);
    }
    REQUIRE(ma.nassigned == 2 && mb.nassigned == 2,
            "after the rebalance a has %d and b has %d partitions, not 2 and 2", ma.nassigned,
            mb.nassigned);
    CHECK_EQ(ma.mask & mb.mask, 0);
    CHECK_EQ(ma.mask | mb.mask, 0xf);
    CHECK(ma.assigns >= 2 && ma.revokes >= 1);
    printf("  group: rebalanced to 2+2 in %.1f s\n", (now_ms() - t0) / 1000.0);

    /* Batch 1: 5 messages per partition, each read by the partition's owner only. */
    for (int i = 0; i < 20; i++) {
        snprintf(v, sizeof v, "b1-%d", i);
        REQUIRE(produce(p, topic[T_GROUP], i % 4, NULL, v, NULL) == 0, "producev");
    }
    err = rd_kafka_flush(p, WAIT_MS);
    REQUIRE(err == RD_KAFKA_RESP_ERR_NO_ERROR, "flush: %s", rd_kafka_err2str(err));
    deadline = now_ms() + WAIT_MS;
    while (r1a.n + r1b.n < 20 && now_ms() < deadline) {
        poll_once(a, 50, &r1a);
        poll_once(b, 50, &r1b);
    }
    REQUIRE(r1a.n + r1b.n == 20, "members got %zu + %zu of 20", r1a.n, r1b.n);
    CHECK_EQ(r1a.n, 10);
    CHECK_EQ(r1b.n, 10);
    int owned = 0;
    for (size_t i = 0; i < r1a.n; i++)
        owned += (ma.mask >> r1a.v[i].partition) & 1;
    for (size_t i = 0; i < r1b.n; i++)
        owned += (mb.mask >> r1b.v[i].partition) & 1;
    CHECK_EQ(owned, 20);
    err = rd_kafka_commit(a, NULL, 0); /* synchronous, the consumed positions */
    CHECK_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR);
    err = rd_kafka_commit(b, NULL, 0);
    CHECK_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR);
    committed_str(a, topic[T_GROUP], committed, sizeof committed);
    CHECK_STR(committed, "5,5,5,5");

    /* Batch 2: read by both members, never committed. */
    for (int i = 0; i < 20; i++) {
        snprintf(v, sizeof v, "b2-%d", i);
        REQUIRE(produce(p, topic[T_GROUP], i % 4, NULL, v, NULL) == 0, "producev");
    }
    err = rd_kafka_flush(p, WAIT_MS);
    REQUIRE(err == RD_KAFKA_RESP_ERR_NO_ERROR, "flush: %s", rd_kafka_err2str(err));
    deadline = now_ms() + WAIT_MS;
    while (r1a.n + r1b.n < 40 && now_ms() < deadline) {
        poll_once(a, 50, &r1a);
        poll_once(b, 50, &r1b);
    }
    REQUIRE(r1a.n + r1b.n == 40, "members got %zu of 40", r1a.n + r1b.n);

    /* Restart member b: the new b sees the committed offsets and the group rebalances. */
    t0 = now_ms();
    consumer_done(&b);
    b = client(RD_KAFKA_CONSUMER, "kc-member-b2", &mb2, cbuf);
    committed_str(b, topic[T_GROUP], committed, sizeof committed);
    CHECK_STR(committed, "5,5,5,5");
    REQUIRE(subscribe1(b, topic[T_GROUP]) == 0, "subscribe b2");
    uint32_t seen = 0; /* bit p*5 + (offset-5): batch-2 message redelivered */
    size_t scanned = 0;
    int below = 0;
    deadline = now_ms() + WAIT_MS;
    while (!(seen == 0xfffff && mb2.nassigned == 2 && ma.nassigned == 2) && now_ms() < deadline) {
        poll_once(a, 50, &r2);
        poll_once(b, 50, &r2);
        for (; scanned < r2.n; scanned++) {
            const rec_t *r = &r2.v[scanned];
            if (r->offset < 5)
                below++;
            else if (r->offset < 10)
                seen |= 1u << (r->partition * 5 + (r->offset - 5));
        }
    }
    CHECK_EQ(below, 0);        /* nothing committed came back */
    CHECK_EQ(seen, 0xfffff);   /* everything after the commit did */
    CHECK_EQ(ma.nassigned, 2); /* and the restarted member shares the partitions again */
    CHECK_EQ(mb2.nassigned, 2);
    CHECK_EQ(count_prefix(&r2, "b1-"), 0);
    printf("  group: restart redelivered %zu messages (%d distinct) in %.1f s\n", r2.n,
           __builtin_popcount(seen), (now_ms() - t0) / 1000.0);
out:
    recs_free(&r1a);
    recs_free(&r1b);
    recs_free(&r2);
    consumer_done(&a);
    consumer_done(&b);
    producer_done(&p);
}

/* (3b) A regex subscription picks up a topic created after subscribing. */
static void scenario_regex(rd_kafka_t *admin)
{
    static const char *const pconf_gzip[] = {"enable.idempotence", "true",
                                             "compression.type", "gzip", NULL};
    static const char *const extra[] = {"topic.metadata.refresh.interval.ms", "1000", NULL};
    char group[64], pattern[96];
    const char *cbuf[32];
    member_t m = {0};
    rd_kafka_t *p = client(RD_KAFKA_PRODUCER, "kc-regex-prod", NULL, pconf_gzip), *c = NULL;
    recs_t rs = {0};
    rd_kafka_resp_err_t err;
    int64_t deadline, t0;

    snprintf(group, sizeof group, "%s-regex", prefix);
    snprintf(pattern, sizeof pattern, "^%s\\.domain\\..*", prefix);
    tname(topic_domain_b, sizeof topic_domain_b, "domain.b");
    m.watch = topic_domain_b;

    REQUIRE(produce(p, topic[T_DOMAIN_A], RD_KAFKA_PARTITION_UA, "agg-1", "rx-a", NULL) == 0,
            "producev");
    err = rd_kafka_flush(p, WAIT_MS);
    REQUIRE(err == RD_KAFKA_RESP_ERR_NO_ERROR, "flush: %s", rd_kafka_err2str(err));

    c = client(RD_KAFKA_CONSUMER, "kc-regex", &m,
               group_conf(cbuf, RC_ARRAY_LEN(cbuf), group, extra));
    REQUIRE(subscribe1(c, pattern) == 0, "subscribe %s", pattern);
    REQUIRE(consume_until(c, &rs, 1, WAIT_MS) == 1, "regex consumer got nothing from domain.a");
    CHECK_STR(rs.v[0].value, "rx-a");
    CHECK_EQ(m.nassigned, 4);
    CHECK_EQ(m.nwatch, 0);

    t0 = now_ms();
    const char *names[1] = {topic_domain_b};
    int parts[1] = {4};
    rd_kafka_resp_err_t errs[1];
    REQUIRE(create_topics(admin, names, parts, 1, errs), "CreateTopics request failed");
    CHECK_EQ(errs[0], RD_KAFKA_RESP_ERR_NO_ERROR);
    domain_b_created = errs[0] == RD_KAFKA_RESP_ERR_NO_ERROR;
    REQUIRE(produce(p, topic_domain_b, RD_KAFKA_PARTITION_UA, "agg-2", "rx-b", NULL) == 0,
            "producev");
    err = rd_kafka_flush(p, WAIT_MS);
    REQUIRE(err == RD_KAFKA_RESP_ERR_NO_ERROR, "flush: %s", rd_kafka_err2str(err));
    deadline = now_ms() + WAIT_MS;
    while (count_prefix(&rs, "rx-b") == 0 && now_ms() < deadline)
        poll_once(c, 100, &rs);
    CHECK_EQ(count_prefix(&rs, "rx-b"), 1);
    CHECK_EQ(m.nwatch, 4);
    CHECK_EQ(m.nassigned, 8);
    printf("  regex: new topic picked up in %.1f s\n", (now_ms() - t0) / 1000.0);
out:
    recs_free(&rs);
    consumer_done(&c);
    producer_done(&p);
}

static rd_kafka_t *txn_producer(const char *name, const char *txid)
{
    const char *const conf[] = {"transactional.id", txid,
                                "transaction.timeout.ms", "10000",
                                "linger.ms", "1", NULL};
    return client(RD_KAFKA_PRODUCER, name, NULL, conf);
}

/* read_committed or read_uncommitted assign() reader of every partition of t. */
static rd_kafka_t *txn_reader(const char *name, const char *t, int parts, bool committed)
{
    const char *const conf[] = {"group.id", assign_group,
                                "enable.auto.commit", "false",
                                "isolation.level",
                                committed ? "read_committed" : "read_uncommitted", NULL};
    rd_kafka_t *rk = client(RD_KAFKA_CONSUMER, name, NULL, conf);
    rd_kafka_topic_partition_list_t *l = all_partitions(t, parts, RD_KAFKA_OFFSET_BEGINNING);
    if (rd_kafka_assign(rk, l))
        die("%s: assign failed", name);
    rd_kafka_topic_partition_list_destroy(l);
    return rk;
}

/* (4) consume-transform-produce with offsets in the transaction; abort is invisible to
 * read_committed and visible to read_uncommitted. */
static void scenario_txn(void)
{
    static const char *const pconf[] = {"enable.idempotence", "true", NULL};
    char group[64], txid[64], v[128], committed[96];
    const char *cbuf[32];
    static const char *const extra[] = {"isolation.level", "read_committed", NULL};
    member_t m = {0};
    rd_kafka_t *p = client(RD_KAFKA_PRODUCER, "kc-txin-prod", NULL, pconf);
    rd_kafka_t *c = NULL, *tp = NULL, *rc = NULL, *ru = NULL;
    rd_kafka_topic_partition_list_t *pos = NULL;
    rd_kafka_consumer_group_metadata_t *cgmd = NULL;
    recs_t in = {0}, outc = {0}, outu = {0};
    rd_kafka_resp_err_t err;
    int64_t t0 = now_ms();

    snprintf(group, sizeof group, "%s-txn", prefix);
    snprintf(txid, sizeof txid, "%s-fanout-0", prefix);
    for (int i = 0; i < 8; i++) {
        snprintf(v, sizeof v, "in-%d", i);
        REQUIRE(produce(p, topic[T_TXIN], i % 4, NULL, v, NULL) == 0, "producev");
    }
    err = rd_kafka_flush(p, WAIT_MS);
    REQUIRE(err == RD_KAFKA_RESP_ERR_NO_ERROR, "flush: %s", rd_kafka_err2str(err));

    tp = txn_producer("kc-txn", txid);
    REQUIRE(txn_ok(rd_kafka_init_transactions(tp, WAIT_MS), "init_transactions"),
            "init_transactions failed");
    c = client(RD_KAFKA_CONSUMER, "kc-txn-in", &m,
               group_conf(cbuf, RC_ARRAY_LEN(cbuf), group, extra));
    REQUIRE(subscribe1(c, topic[T_TXIN]) == 0, "subscribe");
    REQUIRE(consume_until(c, &in, 8, WAIT_MS) == 8, "txn input: got %zu of 8", in.n);

    REQUIRE(txn_ok(rd_kafka_begin_transaction(tp), "begin_transaction"), "begin failed");
    for (size_t i = 0; i < in.n; i++) {
        snprintf(v, sizeof v, "out-%s", in.v[i].value);
        REQUIRE(produce(tp, topic[T_TXOUT], in.v[i].partition, NULL, v, NULL) == 0, "producev");
    }
    REQUIRE(rd_kafka_assignment(c, &pos) == 0 && pos->cnt == 4, "assignment");
    REQUIRE(rd_kafka_position(c, pos) == 0, "position");
    cgmd = rd_kafka_consumer_group_metadata(c);
    REQUIRE(cgmd != NULL, "no consumer group metadata");
    REQUIRE(txn_ok(rd_kafka_send_offsets_to_transaction(tp, pos, cgmd, WAIT_MS),
                   "send_offsets_to_transaction"),
            "send_offsets_to_transaction failed");
    REQUIRE(txn_ok(rd_kafka_commit_transaction(tp, WAIT_MS), "commit_transaction"),
            "commit failed");
    committed_str(c, topic[T_TXIN], committed, sizeof committed);
    CHECK_STR(committed, "2,2,2,2"); /* the offsets went through the transaction */

    /* An aborted transaction whose messages reached the log, then a committed one. */
    REQUIRE(txn_ok(rd_kafka_begin_transaction(tp), "begin_transaction"), "begin failed");
    for (int i = 0; i < 5; i++) {
        snprintf(v, sizeof v, "aborted-%d", i);
        REQUIRE(produce(tp, topic[T_TXOUT], i % 4, NULL, v, NULL) == 0, "producev");
    }
    err = rd_kafka_flush(tp, WAIT_MS); /* written to the log before the abort */
    REQUIRE(err == RD_KAFKA_RESP_ERR_NO_ERROR, "flush: %s", rd_kafka_err2str(err));
    REQUIRE(txn_ok(rd_kafka_abort_transaction(tp, WAIT_MS), "abort_transaction"),
            "abort failed");
    REQUIRE(txn_ok(rd_kafka_begin_transaction(tp), "begin_transaction"), "begin failed");
    for (int i = 0; i < 4; i++) {
        snprintf(v, sizeof v, "after-abort-%d", i);
        REQUIRE(produce(tp, topic[T_TXOUT], i, NULL, v, NULL) == 0, "producev");
    }
    REQUIRE(txn_ok(rd_kafka_commit_transaction(tp, WAIT_MS), "commit_transaction"),
            "commit failed");

    rc = txn_reader("kc-txout-rc", topic[T_TXOUT], 4, true);
    ru = txn_reader("kc-txout-ru", topic[T_TXOUT], 4, false);
    consume_until(rc, &outc, 12, WAIT_MS);
    consume_until(ru, &outu, 17, WAIT_MS);
    consume_for(rc, &outc, 300);
    consume_for(ru, &outu, 1);
    CHECK_EQ(outc.n, 12);
    CHECK_EQ(count_prefix(&outc, "out-in-"), 8);
    CHECK_EQ(count_prefix(&outc, "after-abort-"), 4);
    CHECK_EQ(count_prefix(&outc, "aborted-"), 0); /* the mock cluster cannot do this one */
    CHECK_EQ(outu.n, 17);
    CHECK_EQ(count_prefix(&outu, "aborted-"), 5);
    CHECK_EQ(count_prefix(&outu, "after-abort-"), 4);
    printf("  txn: %.1f s\n", (now_ms() - t0) / 1000.0);
out:
    if (cgmd)
        rd_kafka_consumer_group_metadata_destroy(cgmd);
    if (pos)
        rd_kafka_topic_partition_list_destroy(pos);
    recs_free(&in);
    recs_free(&outc);
    recs_free(&outu);
    consumer_done(&c);
    consumer_done(&rc);
    consumer_done(&ru);
    producer_done(&tp);
    producer_done(&p);
}

/* (5) Interleaved committed and aborted transactions from two producers on one partition. */
static void scenario_interleave(void)
{
    enum { ROUNDS = 4, PER = 3 };
    char txid1[64], txid2[64], v[64];
    char expect_c[ROUNDS * PER + 2][64], expect_u[ROUNDS * PER * 2][64];
    size_t nc = 0, nu = 0;
    rd_kafka_t *t[2] = {NULL, NULL}, *rc = NULL, *ru = NULL;
    recs_t outc = {0}, outu = {0};
    rd_kafka_resp_err_t err;
    const char *T = topic[T_INTER];
    int64_t t0 = now_ms();

    snprintf(txid1, sizeof txid1, "%s-t1", prefix);
    snprintf(txid2, sizeof txid2, "%s-t2", prefix);
    t[0] = txn_producer("kc-t1", txid1);
    t[1] = txn_producer("kc-t2", txid2);
    for (int j = 0; j < 2; j++)
        REQUIRE(txn_ok(rd_kafka_init_transactions(t[j], WAIT_MS), "init_transactions"),
                "init_transactions failed");

    for (int r = 0; r < ROUNDS; r++) {
        int winner = r % 2; /* t1 commits in even rounds, t2 in odd ones */
        for (int j = 0; j < 2; j++)
            REQUIRE(txn_ok(rd_kafka_begin_transaction(t[j]), "begin_transaction"),
                    "begin failed");
        for (int i = 0; i < PER; i++)
            for (int j = 0; j < 2; j++) {
                snprintf(v, sizeof v, "r%d-t%d-%d-%s", r, j + 1, i, j == winner ? "c" : "a");
                REQUIRE(produce(t[j], T, 0, NULL, v, NULL) == 0, "producev");
                err = rd_kafka_flush(t[j], WAIT_MS); /* fixes the interleaving in the log */
                REQUIRE(err == RD_KAFKA_RESP_ERR_NO_ERROR, "flush: %s", rd_kafka_err2str(err));
                snprintf(expect_u[nu++], sizeof expect_u[0], "%s", v);
                if (j == winner)
                    snprintf(expect_c[nc++], sizeof expect_c[0], "%s", v);
            }
        REQUIRE(txn_ok(rd_kafka_abort_transaction(t[!winner], WAIT_MS), "abort_transaction"),
                "abort failed");
        REQUIRE(txn_ok(rd_kafka_commit_transaction(t[winner], WAIT_MS), "commit_transaction"),
                "commit failed");
    }

    rc = txn_reader("kc-inter-rc", T, 1, true);
    ru = txn_reader("kc-inter-ru", T, 1, false);
    consume_until(rc, &outc, nc, WAIT_MS);
    consume_until(ru, &outu, nu, WAIT_MS);
    consume_for(rc, &outc, 300);
    CHECK_EQ(outc.n, nc);
    CHECK_EQ(outu.n, nu);
    int in_order = outc.n == nc;
    for (size_t i = 0; in_order && i < nc; i++)
        in_order = strcmp(outc.v[i].value, expect_c[i]) == 0;
    CHECK(in_order);
    for (size_t i = 0; i < outc.n && i < nc; i++)
        if (strcmp(outc.v[i].value, expect_c[i]) != 0)
            fprintf(stderr, "  read_committed #%zu: got %s, want %s\n", i, outc.v[i].value,
                    expect_c[i]);
    int u_order = outu.n == nu;
    for (size_t i = 0; u_order && i < nu; i++)
        u_order = strcmp(outu.v[i].value, expect_u[i]) == 0;
    CHECK(u_order);
    for (size_t i = 1; i < outc.n; i++)
        CHECK(outc.v[i].offset > outc.v[i - 1].offset);

    /* An open transaction holds read_committed readers at the last stable offset: t2's
     * later, committed message stays invisible until t1 ends. */
    size_t before = outc.n;
    REQUIRE(txn_ok(rd_kafka_begin_transaction(t[0]), "begin_transaction"), "begin failed");
    REQUIRE(produce(t[0], T, 0, NULL, "hold-t1", NULL) == 0, "producev");
    err = rd_kafka_flush(t[0], WAIT_MS);
    REQUIRE(err == RD_KAFKA_RESP_ERR_NO_ERROR, "flush: %s", rd_kafka_err2str(err));
    REQUIRE(txn_ok(rd_kafka_begin_transaction(t[1]), "begin_transaction"), "begin failed");
    REQUIRE(produce(t[1], T, 0, NULL, "late-t2", NULL) == 0, "producev");
    REQUIRE(txn_ok(rd_kafka_commit_transaction(t[1], WAIT_MS), "commit_transaction"),
            "commit failed");
    consume_until(ru, &outu, nu + 2, WAIT_MS);
    CHECK_EQ(outu.n, nu + 2); /* read_uncommitted sees both at once */
    consume_for(rc, &outc, 1000);
    CHECK_EQ(outc.n, before); /* read_committed sees neither */
    REQUIRE(txn_ok(rd_kafka_commit_transaction(t[0], WAIT_MS), "commit_transaction"),
            "commit failed");
    int64_t t_commit = now_ms();
    consume_until(rc, &outc, before + 2, WAIT_MS);
    printf("  interleave: read_committed saw the held messages %d ms after commit\n",
           (int)(now_ms() - t_commit));
    REQUIRE(outc.n == before + 2, "read_committed got %zu after the hold, want 2",
            outc.n - before);
    CHECK_STR(outc.v[before].value, "hold-t1");
    CHECK_STR(outc.v[before + 1].value, "late-t2");
    printf("  interleave: %.1f s\n", (now_ms() - t0) / 1000.0);
out:
    recs_free(&outc);
    recs_free(&outu);
    consumer_done(&rc);
    consumer_done(&ru);
    producer_done(&t[0]);
    producer_done(&t[1]);
}

int main(void)
{
    brokers = getenv("ROOMCAST_TEST_BROKERS");
    if (!brokers || !*brokers) {
        printf("skipped: ROOMCAST_TEST_BROKERS not set\n");
        return 77;
    }
    debug_ctx = getenv("ROOMCAST_TEST_KAFKA_DEBUG");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(prefix, sizeof prefix, "kc%x%04x", (unsigned)getpid(),
             (unsigned)(ts.tv_nsec ^ ts.tv_sec) & 0xffff);
    for (int i = 0; i < T_N; i++)
        tname(topic[i], sizeof topic[i], t_suffix[i]);
    snprintf(assign_group, sizeof assign_group, "%s-assign", prefix);
    printf("librdkafka %s, broker %s, topics %s.*\n", rd_kafka_version_str(), brokers, prefix);

    int64_t t0 = now_ms(), t;
    rd_kafka_t *admin = client(RD_KAFKA_PRODUCER, "kc-admin", NULL, NULL);
    /* Every wait is bounded by WAIT_MS; past 60 s in all (a broker gone bad), stop. */
#define RUN(name, call)                                                                \
    do {                                                                               \
        int f0 = check__failed;                                                        \
        t = now_ms();                                                                  \
        if (t - t0 > 60000) {                                                          \
            check__failed++;                                                           \
            printf("FAIL %s: not run, the test is past 60 s\n", name);                \
            break;                                                                     \
        }                                                                              \
        call;                                                                          \
        printf("%s %s (%.1f s)\n", check__failed == f0 ? "ok  " : "FAIL", name,        \
               (now_ms() - t) / 1000.0);                                               \
        fflush(stdout);                                                                \
    } while (0)
    int f_admin = check__failed;
    RUN("admin: CreateTopics", scenario_admin(admin));
    if (check__failed == f_admin) {
        RUN("idempotent produce, headers, keyed partitions", scenario_produce());
        RUN("compression: gzip, snappy, lz4, zstd", scenario_codecs());
        RUN("assign all partitions: live end and beginning", scenario_assign());
        RUN("consumer group: two members, commit, restart", scenario_group());
        RUN("consumer group: regex picks up a new topic", scenario_regex(admin));
        RUN("transactions: offsets in txn, abort hidden", scenario_txn());
        RUN("transactions: interleaved commit/abort, LSO", scenario_interleave());
    }

    const char *names[T_N + 1];
    int n = 0;
    for (int i = 0; i < T_N; i++)
        names[n++] = topic[i];
    if (domain_b_created)
        names[n++] = topic_domain_b;
    RUN("admin: DeleteTopics", CHECK(delete_topics(admin, names, n)));
    rd_kafka_destroy(admin);

    CHECK_EQ(atomic_load(&fatal_errors), 0);
    printf("librdkafka warnings logged: %d; total %.1f s\n", atomic_load(&log_warnings),
           (now_ms() - t0) / 1000.0);
    CHECK_DONE();
}
