/* cmd_broker.c: `roomcast broker` runs librdkafka's in-memory mock cluster for a trial on
 * a machine with no Kafka. It keeps nothing, has no transaction markers (read_committed
 * is not honoured) and no admin API, so it creates roomcast's topics itself. Tests and the
 * README's real cluster use a real Apache Kafka broker. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include <librdkafka/rdkafka_mock.h> /* after rdkafka.h, which cli.h includes */
#include "common/kafka.h"
#include "common/log.h"

static volatile sig_atomic_t g_stop;
static void cli__broker_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

int cli_cmd_broker(const cli_settings *s, int argc, char **argv)
{
    static const char *const spec[] = {"port-file", "partitions", NULL};
    cli_flags f;
    if (cli_flags_parse(argc, argv, spec, NULL, &f))
        return 2;
    long parts;
    if (f.npositional || cli_flag_long(&f, "partitions", 4, 1, 64, &parts))
        return 2;
    char errstr[512];
    rd_kafka_conf_t *conf = rc_kafka_conf_new("127.0.0.1:1", "roomcast-broker");
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
    char topic[256];
    for (int i = 0; rc_domain_topics[i]; i++)
        rd_kafka_mock_topic_create(mc, rc_kafka_topic(s->topic_prefix, rc_domain_topics[i], topic,
                                                      sizeof topic), (int)parts, 1);
    const char *others[] = {RC_TOPIC_ROOMS, RC_TOPIC_CLIENT_EVENTS, RC_TOPIC_DLQ};
    for (int i = 0; i < 3; i++)
        rd_kafka_mock_topic_create(mc, rc_kafka_topic(s->topic_prefix, others[i], topic, sizeof topic),
                                   (int)parts, 1);
    const char *boot = rd_kafka_mock_cluster_bootstraps(mc);
    rc_log_init("broker", RC_LOG_INFO);
    rc_log_warn("in-memory trial broker: it keeps nothing and does not honour read_committed; "
                "use a real Kafka for anything but a trial",
                "{s:s}", "bootstrap", boot);
    printf("%s\n", boot);
    fflush(stdout);
    const char *pf = cli_flag(&f, "port-file");
    if (pf) {
        FILE *fp = fopen(pf, "w");
        if (fp) {
            fprintf(fp, "%s\n", boot);
            fclose(fp);
        }
    }
    signal(SIGINT, cli__broker_signal);
    signal(SIGTERM, cli__broker_signal);
    while (!g_stop)
        pause();
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
