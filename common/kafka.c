/* kafka.c: librdkafka plumbing shared by the gateway, the fanout and the CLI. */
#include "common/kafka.h"

#include <ctype.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "common/kafka_security.h"
#include "common/log.h"

const char *const rc_domain_topics[] = {
    "domain.payment", "domain.offer",   "domain.request", "domain.chat",
    "domain.notification", "domain.dispute", "domain.system", NULL,
};

const char *rc_kafka_topic(const char *prefix, const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s", prefix ? prefix : "", name);
    return buf;
}

const char *rc_kafka_domain_topic_for_type(const char *type, char *buf, size_t len)
{
    const char *dot = strchr(type, '.');
    if (!dot || dot == type)
        return NULL;
    size_t n = (size_t)(dot - type);
    if (n == 6 && strncmp(type, "payout", 6) == 0)
        snprintf(buf, len, "domain.payment");
    else
        snprintf(buf, len, "domain.%.*s", (int)n, type);
    return buf;
}

int rc_kafka_prefix_valid(const char *prefix)
{
    for (const char *p = prefix; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '_' || *p == '-'))
            return 0;
    return strlen(prefix) <= 180;
}

static void rc__kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    /* A refused connection is logged once and counted by kafka_security.c, not at every
       retry. It is caught here rather than in the error callback because this callback
       runs on librdkafka's own threads, while the error callback waits for a poll of the
       main queue that some clients (the CLI's admin calls) never make. */
    if (level <= 4 && strcmp(fac, "FAIL") == 0 && rc_ksec_classify(0, buf)) {
        const char *detail = strncmp(buf, "[thrd:", 6) == 0 ? strstr(buf, "]: ") : NULL;
        rc_ksec_note_error(rd_kafka_name(rk), 0, detail ? detail + 3 : buf);
        return;
    }
    /* syslog levels: 0-3 error, 4 warning, 5-6 info, 7 debug */
    rc_log_level l = level <= 3 ? RC_LOG_ERROR : level == 4 ? RC_LOG_WARN
                   : level <= 6 ? RC_LOG_INFO : RC_LOG_DEBUG;
    rc_log(l, "librdkafka", "{s:s,s:s,s:s}", "client", rd_kafka_name(rk), "facility", fac,
           "detail", buf);
}

static void rc__kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    /* Transport errors are retried by librdkafka; they are warnings until fatal. */
    rd_kafka_resp_err_t e = (rd_kafka_resp_err_t)err;
    int fatal = e == RD_KAFKA_RESP_ERR__FATAL;
    char why[8];
    /* a refusal was logged by the log callback; "all brokers are down" only repeats it */
    if (rc_ksec_classify(err, reason) ||
        (e == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN && rc_ksec_failing(why, sizeof why)))
        return;
    rc_log_limited(fatal ? RC_LOG_ERROR : RC_LOG_WARN, "kafka error", "{s:s,s:s,s:s,s:b}", "client",
                   rd_kafka_name(rk), "error", rd_kafka_err2name(e), "reason", reason, "fatal",
                   fatal);
}

void rc_kafka_set(rd_kafka_conf_t *conf, const char *name, const char *value)
{
    char errstr[512];
    if (rd_kafka_conf_set(conf, name, value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        rc_log_error("bad librdkafka property", "{s:s,s:s,s:s}", "name", name, "value", value,
                     "error", errstr);
        abort();
    }
}

rd_kafka_conf_t *rc_kafka_conf_new(const char *brokers, const char *client_id)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rc_ksec_apply(conf); /* first, so that roomcast's own choices below win */
    rc_kafka_set(conf, "bootstrap.servers", brokers);
    rc_kafka_set(conf, "client.id", client_id);
    rc_kafka_set(conf, "socket.keepalive.enable", "true");
    /* Requests are small and latency counts: Nagle's algorithm would hold one back until
     * the previous is acknowledged (up to the peer's delayed-ACK timer, 40 ms on Linux). */
    rc_kafka_set(conf, "socket.nagle.disable", "true");
    rc_kafka_set(conf, "reconnect.backoff.max.ms", "2000");
    rd_kafka_conf_set_log_cb(conf, rc__kafka_log_cb);
    rd_kafka_conf_set_error_cb(conf, rc__kafka_error_cb);
    return conf;
}

rd_kafka_conf_t *rc_kafka_reader_conf_new(const char *brokers, const char *client_id)
{
    rd_kafka_conf_t *conf = rc_kafka_conf_new(brokers, client_id);
    rc_kafka_set(conf, "group.id", "roomcast-reader-unused");
    rc_kafka_set(conf, "enable.auto.commit", "false");
    rc_kafka_set(conf, "enable.auto.offset.store", "false");
    rc_kafka_set(conf, "isolation.level", "read_committed");
    return conf;
}

void rc_kafka_producer_defaults(rd_kafka_conf_t *conf)
{
    /* the Java client's partitioner, so a key lands on the same partition whichever client
       (a backend service, roomcast publish, the fanout) produced it */
    rc_kafka_set(conf, "partitioner", "murmur2_random");
    rc_kafka_set(conf, "enable.idempotence", "true");
}

int64_t rc_now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

void rc_uuid4(char out[37])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        abort();
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}
