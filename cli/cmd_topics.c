/* cmd_topics.c: `roomcast topics create` makes every topic of CONTRACT §5 with the
 * configured prefix. Topics that exist already are left as they are, so it is safe to
 * run at every start (docker-compose runs it as a one-shot service). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/kafka.h"
#include "common/kafka_security.h"

int cli_cmd_topics(const cli_settings *s, int argc, char **argv)
{
    static const char *const spec[] = {"partitions", "rooms-partitions", "replication-factor",
                                       "timeout-ms", NULL};
    cli_flags f;
    if (cli_flags_parse(argc, argv, spec, NULL, &f))
        return 2;
    if (f.npositional != 1 || strcmp(f.positional[0], "create") != 0) {
        fprintf(stderr, "usage: roomcast topics create [--partitions N] [--rooms-partitions N] "
                        "[--replication-factor N]\n");
        return 2;
    }
    long parts, room_parts, rf, timeout;
    if (cli_flag_long(&f, "partitions", 6, 1, 10000, &parts) ||
        cli_flag_long(&f, "rooms-partitions", 12, 1, 10000, &room_parts) ||
        cli_flag_long(&f, "replication-factor", 1, 1, 32, &rf) ||
        cli_flag_long(&f, "timeout-ms", 30000, 100, 600000, &timeout))
        return 2;

    const char *logical[16];
    int n = 0;
    for (int i = 0; rc_domain_topics[i]; i++)
        logical[n++] = rc_domain_topics[i];
    logical[n++] = RC_TOPIC_ROOMS;
    logical[n++] = RC_TOPIC_CLIENT_EVENTS;
    logical[n++] = RC_TOPIC_DLQ;
    logical[n++] = RC_TOPIC_GATEWAYS;

    char errstr[512];
    rd_kafka_conf_t *conf = rc_kafka_conf_new(s->brokers, "roomcast-cli");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "roomcast: %s\n", errstr);
        return 1;
    }
    rd_kafka_NewTopic_t *nt[16];
    char names[16][256];
    for (int i = 0; i < n; i++) {
        rc_kafka_topic(s->topic_prefix, logical[i], names[i], sizeof names[i]);
        int gateways = strcmp(logical[i], RC_TOPIC_GATEWAYS) == 0;
        int p = strcmp(logical[i], RC_TOPIC_ROOMS) == 0 ? (int)room_parts
                : gateways                             ? 1
                                                       : (int)parts;
        nt[i] = rd_kafka_NewTopic_new(names[i], p, (int)rf, errstr, sizeof errstr);
        if (gateways) { /* announcements: one clock (the broker's), kept an hour */
            rd_kafka_NewTopic_set_config(nt[i], "message.timestamp.type", "LogAppendTime");
            rd_kafka_NewTopic_set_config(nt[i], "retention.ms", "3600000");
        }
    }
    rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(opt, (int)timeout, errstr, sizeof errstr);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, nt, (size_t)n, opt, q);
    /* in slices, so that a refusal of our credentials (logged once) ends the wait */
    rd_kafka_event_t *ev = NULL;
    char refused[512];
    int refusal = 0;
    for (long waited = 0; !ev && waited < timeout + 5000; waited += 100)
        if (!(ev = rd_kafka_queue_poll(q, 100)) &&
            (refusal = rc_ksec_failing(refused, sizeof refused)))
            break;
    int rc = 0;
    if (refusal) {
        fprintf(stderr, "roomcast: creating topics: Kafka refused the connection (see above)\n");
        rc = 1;
    } else if (!ev) {
        fprintf(stderr, "roomcast: no answer from Kafka at %s within %ld ms\n", s->brokers, timeout);
        rc = 1;
    } else if (rd_kafka_event_error(ev)) {
        fprintf(stderr, "roomcast: creating topics: %s\n", rd_kafka_event_error_string(ev));
        rc = 1;
    } else {
        size_t cnt;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
        for (size_t i = 0; i < cnt; i++) {
            rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
            const char *name = rd_kafka_topic_result_name(res[i]);
            if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
                printf("{\"topic\":\"%s\",\"result\":\"created\"}\n", name);
            else if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                printf("{\"topic\":\"%s\",\"result\":\"exists\"}\n", name);
            else {
                fprintf(stderr, "roomcast: %s: %s\n", name, rd_kafka_topic_result_error_string(res[i]));
                rc = 1;
            }
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_NewTopic_destroy_array(nt, (size_t)n);
    rd_kafka_destroy(rk);
    return rc;
}
