/* cmd_tail.c: `roomcast tail [ROOM]` prints room events as they pass, one JSON object a
 * line. It reads every partition without a consumer group (like a gateway), starting at
 * the end as measured before it prints {"tailing":...} on stderr, so whatever is produced
 * after that line is seen. --topic reads another roomcast topic (domain.*, client-events,
 * dlq) and decodes it by its kind; --from-beginning reads what the broker still has. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/alloc.h"
#include "common/events.h"
#include "common/kafka.h"

static volatile sig_atomic_t g_stop;
static void cli__on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static json_t *cli__dlq_json(const rd_kafka_message_t *m)
{
    json_t *j = json_object();
    json_object_set_new(j, "key", m->key ? json_stringn(m->key, m->key_len) : json_null());
    json_object_set_new(j, "bytes", json_integer((json_int_t)m->len));
    rd_kafka_headers_t *hdrs = NULL;
    json_t *h = json_object();
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char *name;
        const void *val;
        size_t sz;
        for (size_t i = 0; !rd_kafka_header_get_all(hdrs, i, &name, &val, &sz); i++)
            json_object_set_new(h, name, json_stringn(val ? val : "", val ? sz : 0));
    }
    json_object_set_new(j, "headers", h);
    return j;
}

static json_t *cli__decode(const char *logical, const rd_kafka_message_t *m)
{
    if (!strcmp(logical, RC_TOPIC_ROOMS))
        return rc_events_room_to_json(m->payload, m->len);
    if (!strcmp(logical, RC_TOPIC_CLIENT_EVENTS))
        return rc_events_client_to_json(m->payload, m->len);
    if (!strcmp(logical, RC_TOPIC_DLQ))
        return cli__dlq_json(m);
    return rc_events_domain_to_json(m->payload, m->len);
}

/* Assigns every partition of topic at its current high watermark (or the beginning). */
static int cli__assign_all(rd_kafka_t *rk, const char *topic, int from_beginning)
{
    const struct rd_kafka_metadata *md;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
    rd_kafka_topic_destroy(rkt);
    if (err || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "roomcast: topic %s: %s\n", topic,
                rd_kafka_err2str(err ? err : md->topic_cnt ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
        if (!err)
            rd_kafka_metadata_destroy(md);
        return -1;
    }
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
    for (int i = 0; i < md->topics[0].partition_cnt; i++) {
        int32_t p = md->topics[0].partitions[i].id;
        int64_t lo = 0, hi = 0;
        if (!from_beginning &&
            rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
            hi = RD_KAFKA_OFFSET_END;
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset =
            from_beginning ? RD_KAFKA_OFFSET_BEGINNING : hi;
    }
    rd_kafka_metadata_destroy(md);
    err = rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    return err ? -1 : 0;
}

int cli_cmd_tail(const cli_settings *s, int argc, char **argv)
{
    static const char *const spec[] = {"topic", "count", "timeout-ms", NULL};
    static const char *const bools[] = {"from-beginning", NULL};
    cli_flags f;
    if (cli_flags_parse(argc, argv, spec, bools, &f))
        return 2;
    long count, timeout_ms;
    if (f.npositional > 1 || cli_flag_long(&f, "count", 0, 0, 1L << 40, &count) ||
        cli_flag_long(&f, "timeout-ms", 0, 0, 1L << 40, &timeout_ms)) {
        fprintf(stderr, "usage: roomcast tail [ROOM] [--topic NAME] [--from-beginning] "
                        "[--count N] [--timeout-ms N]\n");
        return 2;
    }
    const char *room = f.npositional ? f.positional[0] : NULL;
    const char *logical = cli_flag(&f, "topic") ? cli_flag(&f, "topic") : RC_TOPIC_ROOMS;
    char topic[256], errstr[512];
    rc_kafka_topic(s->topic_prefix, logical, topic, sizeof topic);

    rd_kafka_conf_t *conf = rc_kafka_conf_new(s->brokers, "roomcast-tail");
    rc_kafka_set(conf, "group.id", "roomcast-tail-unused"); /* required by the API; never joined */
    rc_kafka_set(conf, "enable.auto.commit", "false");
    rc_kafka_set(conf, "isolation.level", "read_committed");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "roomcast: %s\n", errstr);
        return 1;
    }
    if (cli__assign_all(rk, topic, cli_flag(&f, "from-beginning") != NULL) != 0) {
        rd_kafka_destroy(rk);
        return 1;
    }
    fprintf(stderr, "{\"tailing\":\"%s\"}\n", topic);
    signal(SIGINT, cli__on_signal);
    signal(SIGTERM, cli__on_signal);
    int64_t deadline = timeout_ms ? rc_now_us() + timeout_ms * 1000 : 0;
    long printed = 0;
    int rc = 0;
    while (!g_stop && (!count || printed < count)) {
        if (deadline && rc_now_us() > deadline) {
            rc = count ? 1 : 0;
            break;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                fprintf(stderr, "roomcast: %s\n", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        json_t *j = cli__decode(logical, m);
        if (!j)
            j = json_pack("{s:s,s:I}", "undecodable", "bytes", (json_int_t)m->len);
        const char *r = json_string_value(json_object_get(j, "room"));
        if (!room || (r && !strcmp(r, room))) {
            char *line = rc_json_dump(j);
            printf("%s\n", line);
            fflush(stdout);
            rc_free(line);
            printed++;
        }
        json_decref(j);
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}
