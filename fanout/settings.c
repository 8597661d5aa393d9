/* settings.c: roomcast-fanout's settings table and what derives from it. */
#include "fanout/settings.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/kafka.h"

#define FANOUT_OWN_SETTINGS 14
#define FANOUT_SETTINGS_N (FANOUT_OWN_SETTINGS + RC_KSEC_ITEMS)

/* The table points into s, so it is rebuilt for each use rather than kept. */
static void settings__items(fanout_settings *s, rc_cfg_item items[FANOUT_SETTINGS_N])
{
    const rc_cfg_item tmpl[FANOUT_OWN_SETTINGS] = {
        {"ROOMCAST_KAFKA_BROKERS", RC_CFG_HOSTPORTS, "localhost:9092", &s->brokers, 0, 0, NULL,
         "Kafka bootstrap servers"},
        {"ROOMCAST_ADMIN_LISTEN", RC_CFG_ADDR, "0.0.0.0:9101", &s->admin_listen, 0, 0, NULL,
         "/metrics, /healthz, /readyz"},
        {"ROOMCAST_ROUTES_FILE", RC_CFG_FILE, NULL, &s->routes_file, 0, 0, NULL,
         "routing table (JSON); unset for the shipped table"},
        {"ROOMCAST_TOPIC_PREFIX", RC_CFG_STRING, "", &s->topic_prefix, 0, 0, NULL,
         "prepended to every topic name"},
        {"ROOMCAST_LOG_LEVEL", RC_CFG_ENUM, "info", &s->log_level, 0, 0, "debug,info,warn,error",
         "least severe log level written"},
        {"ROOMCAST_FANOUT_GROUP", RC_CFG_STRING, "roomcast-fanout", &s->group, 0, 0, NULL,
         "consumer group shared by every fanout instance"},
        {"ROOMCAST_FANOUT_MODE", RC_CFG_ENUM, "idempotent", &s->mode, 0, 0,
         "idempotent,transactional",
         "idempotent: offsets committed after delivery, duplicates dropped by id; "
         "transactional: Kafka transactions (read_committed)"},
        {"ROOMCAST_FANOUT_INSTANCE_ID", RC_CFG_STRING, NULL, &s->instance_id, 0, 0, NULL,
         "stable name of this instance (StatefulSet pod name, compose service and index): "
         "the consumer group's static member id, and the transactional.id"},
        {"ROOMCAST_FANOUT_TRANSACTIONAL_ID", RC_CFG_STRING, NULL, &s->transactional_id, 0, 0,
         NULL, "older name of ROOMCAST_FANOUT_INSTANCE_ID"},
        {"ROOMCAST_FANOUT_BATCH", RC_CFG_INT, "500", &s->batch, 1, 100000, NULL,
         "transactional mode: domain events per transaction at most"},
        {"ROOMCAST_FANOUT_COMMIT_INTERVAL_MS", RC_CFG_INT, "100", &s->commit_interval_ms, 10,
         60000, NULL, "idempotent mode: how often delivered offsets are committed"},
        {"ROOMCAST_FANOUT_LINGER_MS", RC_CFG_INT, "2", &s->linger_ms, 0, 1000, NULL,
         "how long a write to the room topic waits for more room events (Kafka linger.ms)"},
        {"ROOMCAST_FANOUT_TRANSACTION_TIMEOUT_MS", RC_CFG_INT, "10000", &s->txn_timeout_ms, 1000,
         900000, NULL, "transactional mode: Kafka transaction.timeout.ms"},
        {"ROOMCAST_FANOUT_SESSION_TIMEOUT_MS", RC_CFG_INT, "10000", &s->session_timeout_ms, 1000,
         1800000, NULL, "how long the group waits for a silent instance before moving its partitions"},
    };
    memcpy(items, tmpl, sizeof tmpl);
    rc_ksec_items(&s->kafka_security, items + FANOUT_OWN_SETTINGS); /* shared Kafka rows */
}

int fanout_settings_pattern(const char *prefix, char *buf, size_t len)
{
    /* Topic prefixes hold only [A-Za-z0-9._-] (rc_kafka_prefix_valid), and of those only
     * '.' means something in a regex; escaping '-' or '_' would be undefined in POSIX ERE. */
    size_t o = 0;
    const char *head = "^", *tail = "domain\\..*";
    for (const char *p = head; *p && o + 1 < len; p++)
        buf[o++] = *p;
    for (const char *p = prefix; *p; p++) {
        if (*p == '.' && o + 1 < len)
            buf[o++] = '\\';
        if (o + 1 < len)
            buf[o++] = *p;
    }
    for (const char *p = tail; *p && o + 1 < len; p++)
        buf[o++] = *p;
    if (len == 0)
        return RC_ETOOBIG;
    buf[o] = '\0';
    return o + 1 < len ? RC_OK : RC_ETOOBIG;
}

/* A transactional.id no other process will use: a restarted fanout is a new producer, and
 * zombie fencing comes from the consumer group generation (KIP-447), not from the id. */
static void settings__generate_txid(fanout_settings *s)
{
    char host[64] = "host", uuid[37];
    if (gethostname(host, sizeof host) != 0)
        strcpy(host, "host");
    host[sizeof host - 1] = '\0';
    rc_uuid4(uuid);
    size_t n = strlen(s->group) + strlen(host) + sizeof uuid + 3;
    s->transactional_id = rc_malloc(n);
    snprintf(s->transactional_id, n, "%s-%s-%s", s->group, host, uuid);
    s->transactional_id_generated = 1;
}

static int settings__derive(fanout_settings *s, char *errstr, size_t errlen)
{
    if (!rc_kafka_prefix_valid(s->topic_prefix)) {
        snprintf(errstr, errlen,
                 "ROOMCAST_TOPIC_PREFIX: \"%.100s\" has characters Kafka does not allow in topic "
                 "names (use letters, digits, . _ -, at most 180)",
                 s->topic_prefix);
        return RC_EINVAL;
    }
    if (!s->group[0] || strlen(s->group) > 200) {
        snprintf(errstr, errlen, "ROOMCAST_FANOUT_GROUP: \"%.100s\" is not 1 to 200 bytes", s->group);
        return RC_EINVAL;
    }
    const char *id_env = s->instance_id ? "ROOMCAST_FANOUT_INSTANCE_ID" : "ROOMCAST_FANOUT_TRANSACTIONAL_ID";
    if (s->instance_id && s->transactional_id && strcmp(s->instance_id, s->transactional_id)) {
        snprintf(errstr, errlen, "ROOMCAST_FANOUT_TRANSACTIONAL_ID: \"%.100s\" differs from "
                 "ROOMCAST_FANOUT_INSTANCE_ID; set only ROOMCAST_FANOUT_INSTANCE_ID", s->transactional_id);
        return RC_EINVAL;
    }
    if (!s->instance_id) /* the older name */
        s->instance_id = s->transactional_id;
    else
        rc_free(s->transactional_id);
    s->transactional_id = NULL;
    if (s->instance_id && (!s->instance_id[0] || strlen(s->instance_id) > 200)) {
        snprintf(errstr, errlen, "%s: \"%.100s\" is not 1 to 200 bytes", id_env, s->instance_id);
        return RC_EINVAL;
    }
    s->transactional = !strcmp(s->mode, "transactional");
    s->group_instance_id = s->instance_id;
    if (s->instance_id)
        s->transactional_id = rc_strdup(s->instance_id);
    else
        settings__generate_txid(s);
    s->log_min = (rc_log_level)rc_log_level_parse(s->log_level);
    rc_kafka_topic(s->topic_prefix, RC_TOPIC_ROOMS, s->rooms_topic, sizeof s->rooms_topic);
    rc_kafka_topic(s->topic_prefix, RC_TOPIC_DLQ, s->dlq_topic, sizeof s->dlq_topic);
    return fanout_settings_pattern(s->topic_prefix, s->pattern, sizeof s->pattern);
}

int fanout_settings_load(fanout_settings *s, int argc, char **argv, char *errstr, size_t errlen)
{
    memset(s, 0, sizeof *s);
    rc_cfg_item items[FANOUT_SETTINGS_N];
    settings__items(s, items);
    int rc = rc_config_load(items, FANOUT_SETTINGS_N, argc, argv, errstr, errlen);
    if (rc != RC_OK)
        return rc;
    if (rc_ksec_load(&s->kafka_security, errstr, errlen) != RC_OK)
        return RC_EINVAL;
    return settings__derive(s, errstr, errlen);
}

void fanout_settings_usage(void)
{
    fanout_settings s;
    rc_cfg_item items[FANOUT_SETTINGS_N];
    memset(&s, 0, sizeof s);
    settings__items(&s, items);
    rc_config_usage("roomcast-fanout", items, FANOUT_SETTINGS_N);
}

void fanout_settings_free(fanout_settings *s)
{
    rc_cfg_item items[FANOUT_SETTINGS_N];
    settings__items(s, items);
    rc_config_free_strings(items, FANOUT_SETTINGS_N);
    rc_ksec_reset();
}
