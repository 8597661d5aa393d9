/* kafka.h: what every roomcast process needs around librdkafka: topic names with the
 * configured prefix, a base configuration whose logs and errors go to our JSON log, and
 * the configuration roomcast's producers and readers share.
 *
 * Ownership follows librdkafka: a conf returned here is consumed by rd_kafka_new on
 * success and must be destroyed by the caller otherwise. */
#ifndef RC_KAFKA_H
#define RC_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stdint.h>

/* Logical topic names (CONTRACT §5); the real name is the prefix + this. */
#define RC_TOPIC_ROOMS "roomcast.rooms"
#define RC_TOPIC_CLIENT_EVENTS "roomcast.client-events"
#define RC_TOPIC_DLQ "roomcast.dlq"
/* The gateways announce themselves here (gateway/peers.h): one partition, broker time. */
#define RC_TOPIC_GATEWAYS "roomcast.gateways"
extern const char *const rc_domain_topics[]; /* "domain.payment", ... NULL-terminated */

/* prefix + name into buf; returns buf. */
const char *rc_kafka_topic(const char *prefix, const char *name, char *buf, size_t len);

/* The logical domain topic of a type: its family before the first dot, "domain.<family>"
 * ("offer.created" -> "domain.offer"), except that payouts travel with payments
 * ("payout.created" -> "domain.payment"). Returns NULL when type has no family. */
const char *rc_kafka_domain_topic_for_type(const char *type, char *buf, size_t len);
/* Whether a topic prefix only uses the characters Kafka allows in topic names. */
int rc_kafka_prefix_valid(const char *prefix);

/* A conf with the process's Kafka security profile (kafka_security.h: TLS, SASL, the
 * operator's librdkafka properties), bootstrap.servers, client.id, our log and error
 * callbacks. Aborts on a property librdkafka refuses: the profile was tried at start and
 * every other property here is ours. */
rd_kafka_conf_t *rc_kafka_conf_new(const char *brokers, const char *client_id);
/* Sets a property or aborts with a log line naming it: for properties roomcast chooses. */
void rc_kafka_set(rd_kafka_conf_t *conf, const char *name, const char *value);

/* A consumer that assign()s partitions itself, never joins a group and never commits
 * (the gateway's readers of the room topic), reading committed transactions only.
 * librdkafka 2.0.2 wants a group.id even so; it is never used. */
rd_kafka_conf_t *rc_kafka_reader_conf_new(const char *brokers, const char *client_id);

/* What every roomcast producer sets: idempotence and the Java client's partitioner
 * (murmur2), so keys map to partitions as other Kafka clients map them. */
void rc_kafka_producer_defaults(rd_kafka_conf_t *conf);


/* Wall clock in microseconds, the unit of RoomEvent.produced_at_us. */
int64_t rc_now_us(void);
/* A random RFC 4122 version-4 UUID, 36 chars + NUL. */
void rc_uuid4(char out[37]);

#endif
