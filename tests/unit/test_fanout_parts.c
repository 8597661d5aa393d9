/* The fanout's bookkeeping around a transaction: which offsets are committed with it and
 * where an abort rewinds to; the subscription pattern for a topic prefix; the settings'
 * one-line errors; and what is read from librdkafka's statistics for /readyz and lag. */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fanout/kstats.h"
#include "fanout/partitions.h"
#include "fanout/settings.h"

static int64_t offset_of(const rd_kafka_topic_partition_list_t *l, const char *topic, int32_t p)
{
    rd_kafka_topic_partition_t *e = rd_kafka_topic_partition_list_find(l, topic, p);
    return e ? e->offset : -999;
}

static void test_transaction_offsets(void)
{
    fanout_parts t = {0};
    fanout_parts_get(&t, "d.chat", 0);
    fanout_parts_get(&t, "d.chat", 1);
    fanout_parts_get(&t, "d.pay", 0);
    CHECK_EQ(t.n, 3);
    CHECK(fanout_parts_get(&t, "d.chat", 1) == &t.v[1]); /* no duplicate */
    CHECK_EQ(fanout_parts_in_txn(&t), 0);

    fanout_parts_consumed(fanout_parts_find(&t, "d.chat", 1), 10);
    fanout_parts_consumed(fanout_parts_find(&t, "d.chat", 1), 11);
    fanout_parts_consumed(fanout_parts_find(&t, "d.chat", 1), 14); /* a gap: a txn marker */
    fanout_parts_consumed(fanout_parts_find(&t, "d.pay", 0), 0);
    CHECK_EQ(fanout_parts_in_txn(&t), 1);

    /* Commit the next offset to read; an untouched partition is left alone. */
    rd_kafka_topic_partition_list_t *c = fanout_parts_commit_list(&t);
    CHECK_EQ(c->cnt, 2);
    CHECK_EQ(offset_of(c, "d.chat", 1), 15);
    CHECK_EQ(offset_of(c, "d.pay", 0), 1);
    CHECK_EQ(offset_of(c, "d.chat", 0), -999);
    rd_kafka_topic_partition_list_destroy(c);

    /* An abort rewinds to the first message of the transaction. */
    rd_kafka_topic_partition_list_t *w = fanout_parts_rewind_list(&t);
    CHECK_EQ(w->cnt, 2);
    CHECK_EQ(offset_of(w, "d.chat", 1), 10);
    CHECK_EQ(offset_of(w, "d.pay", 0), 0);
    rd_kafka_topic_partition_list_destroy(w);

    fanout_parts_txn_end(&t, 0); /* aborted: nothing committed */
    CHECK_EQ(fanout_parts_in_txn(&t), 0);
    CHECK_EQ(fanout_parts_find(&t, "d.chat", 1)->committed, -1);

    fanout_parts_consumed(fanout_parts_find(&t, "d.chat", 1), 10);
    fanout_parts_txn_end(&t, 1);
    CHECK_EQ(fanout_parts_find(&t, "d.chat", 1)->committed, 11);
    CHECK_EQ(fanout_parts_find(&t, "d.pay", 0)->committed, -1);
    c = fanout_parts_commit_list(&t);
    CHECK_EQ(c->cnt, 0); /* a new transaction starts empty */
    rd_kafka_topic_partition_list_destroy(c);

    fanout_parts_clear(&t);
    CHECK_EQ(t.n, 0);
    CHECK(fanout_parts_find(&t, "d.chat", 1) == NULL);
    fanout_parts_free(&t);
}

static int matches(const char *pattern, const char *topic)
{
    regex_t re;
    if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
        return -1;
    int m = regexec(&re, topic, 0, NULL, 0) == 0;
    regfree(&re);
    return m;
}

static void test_pattern(void)
{
    char buf[128];
    CHECK_EQ(fanout_settings_pattern("", buf, sizeof buf), 0);
    CHECK_STR(buf, "^domain\\..*");
    CHECK_EQ(fanout_settings_pattern("t-x.y_", buf, sizeof buf), 0);
    CHECK_STR(buf, "^t-x\\.y_domain\\..*");
    /* The dot of the prefix is literal: "t-xAy_domain.chat" is somebody else's topic. */
    CHECK_EQ(matches(buf, "t-x.y_domain.chat"), 1);
    CHECK_EQ(matches(buf, "t-x.y_domain.new-family"), 1);
    CHECK_EQ(matches(buf, "t-xAy_domain.chat"), 0);
    CHECK_EQ(matches(buf, "t-x.y_roomcast.dlq"), 0);
    CHECK_EQ(matches(buf, "other.t-x.y_domain.chat"), 0);
    CHECK_EQ(fanout_settings_pattern("a.b.c", buf, 8), RC_ETOOBIG);
}

static void test_settings(void)
{
    fanout_settings s;
    char err[RC_ERRSTR_LEN];
    char *argv[] = {"roomcast-fanout", "--fanout-batch=20", "--admin-listen", "127.0.0.1:0", NULL};
    unsetenv("ROOMCAST_FANOUT_TRANSACTIONAL_ID");
    setenv("ROOMCAST_TOPIC_PREFIX", "p1.", 1);
    CHECK_EQ(fanout_settings_load(&s, 4, argv, err, sizeof err), 0);
    CHECK_EQ(s.batch, 20);
    CHECK_EQ(s.admin_listen.port, 0);
    CHECK_STR(s.rooms_topic, "p1.roomcast.rooms");
    CHECK_STR(s.dlq_topic, "p1.roomcast.dlq");
    CHECK_STR(s.pattern, "^p1\\.domain\\..*");
    CHECK_STR(s.group, "roomcast-fanout");
    CHECK(s.transactional_id_generated);
    CHECK(strncmp(s.transactional_id, "roomcast-fanout-", 16) == 0);
    char first[256];
    snprintf(first, sizeof first, "%s", s.transactional_id);
    fanout_settings_free(&s);
    CHECK_EQ(fanout_settings_load(&s, 1, argv, err, sizeof err), 0);
    CHECK(strcmp(first, s.transactional_id) != 0); /* unique per process */
    CHECK_EQ(s.batch, 500);
    fanout_settings_free(&s);

    setenv("ROOMCAST_FANOUT_TRANSACTIONAL_ID", "fanout-0", 1);
    CHECK_EQ(fanout_settings_load(&s, 1, argv, err, sizeof err), 0);
    CHECK_STR(s.transactional_id, "fanout-0");
    CHECK(!s.transactional_id_generated);
    fanout_settings_free(&s);
    unsetenv("ROOMCAST_FANOUT_TRANSACTIONAL_ID");

    setenv("ROOMCAST_TOPIC_PREFIX", "bad prefix/", 1);
    CHECK_EQ(fanout_settings_load(&s, 1, argv, err, sizeof err), RC_EINVAL);
    CHECK(strncmp(err, "ROOMCAST_TOPIC_PREFIX: \"bad prefix/\" has characters", 50) == 0);
    fanout_settings_free(&s);
    unsetenv("ROOMCAST_TOPIC_PREFIX");

    setenv("ROOMCAST_FANOUT_BATCH", "0", 1);
    CHECK_EQ(fanout_settings_load(&s, 1, argv, err, sizeof err), RC_EINVAL);
    CHECK_STR(err, "ROOMCAST_FANOUT_BATCH: \"0\" is not a whole number from 1 to 100000");
    fanout_settings_free(&s);
    unsetenv("ROOMCAST_FANOUT_BATCH");
}

typedef struct {
    int calls;
    int64_t ls, hi, committed;
} lag_seen;

static void on_partition(void *ctx, const char *topic, int32_t partition, int64_t ls, int64_t hi,
                         int64_t committed)
{
    lag_seen *s = ctx;
    s->calls++;
    if (!strcmp(topic, "p.domain.chat") && partition == 1) {
        s->ls = ls;
        s->hi = hi;
        s->committed = committed;
    }
}

static void test_kstats(void)
{
    const char *stats =
        "{\"name\":\"c#consumer-1\",\"type\":\"consumer\",\"brokers\":{"
        "\"127.0.0.1:9092/bootstrap\":{\"state\":\"INIT\",\"nodeid\":-1},"
        "\"127.0.0.1:9092/1\":{\"state\":\"UP\",\"nodeid\":1}},"
        "\"topics\":{\"p.domain.chat\":{\"partitions\":{"
        "\"1\":{\"partition\":1,\"ls_offset\":120,\"hi_offset\":125,\"committed_offset\":100},"
        "\"-1\":{\"partition\":-1,\"ls_offset\":-1,\"hi_offset\":-1,\"committed_offset\":-1}}}}}";
    lag_seen s = {0};
    CHECK_EQ(fanout_kstats_parse(stats, strlen(stats), on_partition, &s), 1);
    CHECK_EQ(s.calls, 1); /* the internal -1 partition is skipped */
    CHECK_EQ(s.ls, 120);
    CHECK_EQ(s.hi, 125);
    CHECK_EQ(s.committed, 100);

    const char *down = "{\"brokers\":{\"b/1\":{\"state\":\"TRY_CONNECT\"},\"b/2\":{\"state\":\"DOWN\"}}}";
    CHECK_EQ(fanout_kstats_parse(down, strlen(down), NULL, NULL), 0);
    CHECK_EQ(fanout_kstats_parse("{", 1, NULL, NULL), RC_EINVAL);
    CHECK_EQ(fanout_kstats_parse("[]", 2, NULL, NULL), RC_EINVAL);
}

int main(void)
{
    test_transaction_offsets();
    test_pattern();
    test_settings();
    test_kstats();
    CHECK_DONE();
}
