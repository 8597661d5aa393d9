/* cmd_broker.c: `roomcast broker` runs librdkafka's in-memory mock cluster for a trial on
 * a machine with no Kafka. It keeps nothing, has no transaction markers (read_committed
 * is not honoured) and no admin API, so it creates roomcast's topics itself. Clients
 * reach it through a front (broker_front.h) that corrects the two answers of the mock
 * that some clients cannot use. Tests and the README's real cluster use a real Apache
 * Kafka broker. */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/broker_front.h"
#include "cli/cli.h"
#include <librdkafka/rdkafka_mock.h> /* after rdkafka.h, which cli.h includes */
#include "common/kafka.h"
#include "common/log.h"

static void cli__broker_stop(evutil_socket_t sig, short what, void *base)
{
    event_base_loopbreak(base);
}

/* The port of the mock broker's "host:port" bootstrap list (one broker). */
static int cli__broker_port(const char *boot)
{
    const char *colon = strrchr(boot, ':');
    return colon ? atoi(colon + 1) : 0;
}

static void cli__broker_topics(rd_kafka_mock_cluster_t *mc, const cli_settings *s, int parts)
{
    char topic[256];
    for (int i = 0; rc_domain_topics[i]; i++)
        rd_kafka_mock_topic_create(mc, rc_kafka_topic(s->topic_prefix, rc_domain_topics[i], topic,
                                                      sizeof topic), parts, 1);
    const char *others[] = {RC_TOPIC_ROOMS, RC_TOPIC_CLIENT_EVENTS, RC_TOPIC_DLQ};
    for (int i = 0; i < 3; i++)
        rd_kafka_mock_topic_create(mc, rc_kafka_topic(s->topic_prefix, others[i], topic, sizeof topic),
                                   parts, 1);
}

static void cli__broker_port_file(const char *pf, const char *addr)
{
    FILE *fp = pf ? fopen(pf, "w") : NULL;
    if (fp) {
        fprintf(fp, "%s\n", addr);
        fclose(fp);
    }
}

int cli_cmd_broker(const cli_settings *s, int argc, char **argv)
{
    static const char *const spec[] = {"port-file", "partitions", "port", NULL};
    cli_flags f;
    if (cli_flags_parse(argc, argv, spec, NULL, &f))
        return 2;
    long parts, port;
    if (f.npositional || cli_flag_long(&f, "partitions", 4, 1, 64, &parts) ||
        cli_flag_long(&f, "port", 0, 0, 65535, &port))
        return 2;
    rc_log_init("broker", RC_LOG_INFO);
    char errstr[512];
    /* the handle only hosts the mock cluster: it has no broker of its own to reach */
    rd_kafka_conf_t *conf = rc_kafka_conf_new("", "roomcast-broker");
    rc_kafka_set(conf, "log_level", "4"); /* not the notice that it has no bootstrap */
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "roomcast: %s\n", errstr);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, 1);
    if (!mc) {
        fprintf(stderr, "roomcast: could not start the in-memory broker\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    cli__broker_topics(mc, s, (int)parts);
    struct event_base *base = event_base_new();
    bf_front *front = bf_front_new(base, (int)port,
                                   cli__broker_port(rd_kafka_mock_cluster_bootstraps(mc)), errstr,
                                   sizeof errstr);
    int rc = 0;
    if (!front) {
        fprintf(stderr, "roomcast: --port: %s\n", errstr);
        rc = 1;
    } else {
        char boot[64];
        snprintf(boot, sizeof boot, "127.0.0.1:%d", bf_front_port(front));
        rc_log_warn("in-memory trial broker: it keeps nothing and does not honour "
                    "read_committed; use a real Kafka for anything but a trial",
                    "{s:s}", "bootstrap", boot);
        printf("%s\n", boot);
        fflush(stdout);
        cli__broker_port_file(cli_flag(&f, "port-file"), boot);
        struct event *sigint = evsignal_new(base, SIGINT, cli__broker_stop, base);
        struct event *sigterm = evsignal_new(base, SIGTERM, cli__broker_stop, base);
        event_add(sigint, NULL);
        event_add(sigterm, NULL);
        event_base_dispatch(base);
        event_free(sigint);
        event_free(sigterm);
        bf_front_free(front);
    }
    event_base_free(base);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return rc;
}
