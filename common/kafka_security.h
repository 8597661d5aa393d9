/* kafka_security.h: how every Kafka client of a roomcast process reaches a secured
 * cluster (TLS, SASL, any other librdkafka property), and what it says when the cluster
 * refuses it.
 *
 * Settings, the same in the gateway, the fanout and the CLI:
 *   ROOMCAST_KAFKA_SECURITY_PROTOCOL   PLAINTEXT (default), SSL, SASL_PLAINTEXT, SASL_SSL
 *   ROOMCAST_KAFKA_SASL_MECHANISM      PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
 *   ROOMCAST_KAFKA_SASL_USERNAME       and ROOMCAST_KAFKA_SASL_PASSWORD, or
 *                                      ROOMCAST_KAFKA_SASL_PASSWORD_FILE (a mounted secret)
 *   ROOMCAST_KAFKA_SSL_CA_FILE         PEM CA bundle (default: the system's)
 *   ROOMCAST_KAFKA_SSL_CERT_FILE       client certificate (mutual TLS), with ..._KEY_FILE
 *   ROOMCAST_KAFKA_SSL_KEY_PASSWORD    or ..._KEY_PASSWORD_FILE, for an encrypted key
 *   ROOMCAST_KAFKA_PROPERTIES_FILE     name=value lines: any librdkafka property
 *   ROOMCAST_KAFKA_PROPERTY_<NAME>     one librdkafka property (environment only). NAME is
 *                                      lower-cased and "_" becomes ".", "__" "_" and "___"
 *                                      "-", as Confluent's images map KAFKA_*:
 *                                      ROOMCAST_KAFKA_PROPERTY_SOCKET_TIMEOUT_MS=30000
 *
 * rc_ksec_load checks them once, in the settings step of main(): the combination, the
 * secret files, every property against librdkafka, then one trial client (which is what
 * opens the CA, certificate and key files), and installs the result as the process's
 * Kafka profile. rc_kafka_conf_new applies the profile to every client it makes, so no
 * rd_kafka_t of the process can miss it. Properties roomcast decides itself
 * (bootstrap.servers, group.id, transactional.id, enable.idempotence, isolation.level,
 * partitioner, ...) are refused in the passthrough, as is one property given twice.
 *
 * Refusals: librdkafka retries a refused connection forever. Every SASL authentication
 * failure and TLS handshake failure it reports is counted (rc_ksec_failures); the log
 * gets one line for the first, then at most one "still failing" line a minute; the
 * readiness reason says why (rc_ksec_failing).
 *
 * Threads: load, install and reset run in main() before and after any Kafka client
 * lives. The failure functions are safe from any thread (librdkafka's callbacks). */
#ifndef RC_KAFKA_SECURITY_H
#define RC_KAFKA_SECURITY_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"

typedef struct {
    char *protocol;  /* ROOMCAST_KAFKA_SECURITY_PROTOCOL, as listed in the table */
    char *mechanism; /* NULL when unset */
    char *username;
    char *password;
    char *password_file;
    char *ca_file;
    char *cert_file;
    char *key_file;
    char *key_password;
    char *key_password_file;
    char *properties_file;
} rc_ksec_settings;

#define RC_KSEC_ITEMS 11

/* The settings' rows for a service's table, pointing into s. */
void rc_ksec_items(rc_ksec_settings *s, rc_cfg_item items[RC_KSEC_ITEMS]);

/* Checks s (after rc_config_load filled it) with the ROOMCAST_KAFKA_PROPERTY_*
 * variables of the environment and installs the profile. Returns 0, or RC_EINVAL with
 * one line in errstr naming the setting, e.g.
 *   ROOMCAST_KAFKA_PROPERTY_SOCKET_TIMEOUT_MS: librdkafka refuses socket.timeout.ms=abc: ...
 * On failure the profile is left as it was. */
int rc_ksec_load(const rc_ksec_settings *s, char *errstr, size_t errlen);
/* Applies the installed profile to conf (rc_kafka_conf_new calls this). */
void rc_ksec_apply(rd_kafka_conf_t *conf);
/* Forgets the installed profile and the failure state (end of main, tests). */
void rc_ksec_reset(void);

/* "LINGER_MS" -> "linger.ms" (see above) into buf; returns buf, or NULL if the result
 * does not fit or NAME is empty. Pure. */
char *rc_ksec_property_name(const char *env_suffix, char *buf, size_t len);

/* What kind of refusal a librdkafka error is: "sasl" (authentication failed), "tls"
 * (handshake failed, or the broker refused our certificate), or NULL for any other
 * error (a transport error librdkafka simply retries). Pure. */
const char *rc_ksec_classify(int err, const char *reason);

/* Called from the log callback of every client (kafka.c): counts and logs refusals (see
 * above); other errors are ignored. client is the rd_kafka_name; err 0 when unknown. */
void rc_ksec_note_error(const char *client, int err, const char *reason);
/* Refusals so far. */
uint64_t rc_ksec_failures(void);
/* 1 when the cluster refused us within the last RC_KSEC_FAILING_SECONDS, with one
 * sentence in reason (len bytes), e.g.
 *   Kafka authentication failed (SASL_SSL, SCRAM-SHA-512 as "roomcast"): ...
 * 0 otherwise, reason untouched. */
int rc_ksec_failing(char *reason, size_t len);
#define RC_KSEC_FAILING_SECONDS 30

/* Registers <prefix>_kafka_auth_failures_total (the refusals above) in reg. */
struct rc_metrics;
void rc_ksec_metrics(struct rc_metrics *reg, const char *prefix);

#endif
