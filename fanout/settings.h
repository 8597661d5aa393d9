/* settings.h: roomcast-fanout's settings (CONTRACT §2), read once in main() from the
 * environment and kebab-case flags through common/config.h, checked, and completed with
 * what derives from them (topic names, the subscription pattern, a transactional.id).
 * After fanout_settings_load the struct is treated as const; its strings belong to it
 * and go with fanout_settings_free. */
#ifndef FANOUT_SETTINGS_H
#define FANOUT_SETTINGS_H

#include <stddef.h>

#include "common/config.h"
#include "common/kafka_security.h"
#include "common/log.h"

#define FANOUT_TOPIC_MAX 256

typedef struct {
    char *brokers;          /* ROOMCAST_KAFKA_BROKERS */
    rc_ksec_settings kafka_security; /* ROOMCAST_KAFKA_SECURITY_PROTOCOL, SASL, TLS, ... */
    rc_addr admin_listen;   /* ROOMCAST_ADMIN_LISTEN */
    char *routes_file;      /* ROOMCAST_ROUTES_FILE, NULL for the shipped table */
    char *topic_prefix;     /* ROOMCAST_TOPIC_PREFIX, "" when unset */
    char *log_level;        /* ROOMCAST_LOG_LEVEL */
    char *group;            /* ROOMCAST_FANOUT_GROUP */
    char *mode;             /* ROOMCAST_FANOUT_MODE: "idempotent" or "transactional" */
    char *instance_id;      /* ROOMCAST_FANOUT_INSTANCE_ID: stable identity, or NULL */
    char *transactional_id; /* ROOMCAST_FANOUT_TRANSACTIONAL_ID (older name of the above) */
    long batch;             /* ROOMCAST_FANOUT_BATCH: messages per transaction at most */
    long commit_interval_ms; /* ROOMCAST_FANOUT_COMMIT_INTERVAL_MS (idempotent mode) */
    long linger_ms;         /* ROOMCAST_FANOUT_LINGER_MS: the producer's linger.ms */
    long txn_timeout_ms;    /* ROOMCAST_FANOUT_TRANSACTION_TIMEOUT_MS (transactional mode) */
    long session_timeout_ms; /* ROOMCAST_FANOUT_SESSION_TIMEOUT_MS */

    /* Derived. */
    rc_log_level log_min;
    int transactional;      /* mode is "transactional" */
    /* The consumer group's static member id (group.instance.id): the instance id when
     * one was given, else NULL (a dynamic member). */
    const char *group_instance_id;
    int transactional_id_generated;
    char rooms_topic[FANOUT_TOPIC_MAX];
    char dlq_topic[FANOUT_TOPIC_MAX];
    char pattern[2 * FANOUT_TOPIC_MAX]; /* "^<escaped prefix>domain\..*" */
} fanout_settings;

/* Loads and checks every setting. Returns 0; RC_EINVAL with one line in errstr naming the
 * setting (main prints it and exits 2); or RC_ENOENT when --help was asked for. */
int fanout_settings_load(fanout_settings *s, int argc, char **argv, char *errstr, size_t errlen);
/* Prints the settings with their flags and defaults. */
void fanout_settings_usage(void);
void fanout_settings_free(fanout_settings *s);

/* Writes the subscription regex for prefix into buf: "^" + prefix with '.' escaped +
 * "domain\..*". Returns RC_ETOOBIG when buf is too small. */
int fanout_settings_pattern(const char *prefix, char *buf, size_t len);

#endif
