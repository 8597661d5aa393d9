/* pipeline.h: the consume-transform-produce loop of roomcast-fanout.
 *
 * A consumer in the fanout group subscribes to "^<prefix>domain\..*". Consumed domain
 * events are routed (router.h) and their room events, or dead letters, produced keyed by
 * room. Two modes (ROOMCAST_FANOUT_MODE):
 *
 * idempotent (the default): an idempotent producer, no transactions. A domain event's
 * offset is committed once Kafka has acknowledged everything produced for it and for
 * every earlier message of its partition (acks.h), every ROOMCAST_FANOUT_COMMIT_INTERVAL_MS
 * and before partitions are released. After a crash or a lost assignment the next owner
 * re-processes from the last committed offset, so some room events are written twice;
 * each copy carries the domain event's id and gateways deliver a (room, id) once. A write
 * Kafka refuses is redone from the partition's oldest unacknowledged message.
 *
 * transactional: the room events and the consumed offsets go in one Kafka transaction
 * (send_offsets_to_transaction, KIP-447), so a room event is visible to read_committed
 * readers if and only if its domain event's offset is committed. A transaction is
 * committed as soon as the consumer has nothing more to hand over (group commit), or at
 * settings.batch messages or FANOUT_BATCH_US. A retriable error is retried; an abortable
 * one aborts and rewinds the consumer to where the transaction started; a fatal one (the
 * producer was fenced) ends fanout_pipeline_run with RC_EIO and the process exits
 * non-zero to be restarted. A SIGKILLed instance's open transaction holds back every
 * read_committed reader of the partitions it wrote until it is aborted: at once when a
 * process with the same ROOMCAST_FANOUT_INSTANCE_ID starts, else after the transaction
 * timeout.
 *
 * Rebalances use the eager protocol; before revoked partitions are released what was
 * produced is acknowledged and committed (idempotent) or the open transaction committed
 * (transactional; aborted if the partitions were lost). With ROOMCAST_FANOUT_INSTANCE_ID
 * the instance is a static group member: restarted under the same id it takes its
 * partitions back at once, with no rebalance.
 *
 * Threads: everything here runs on the caller's (main) thread; librdkafka callbacks are
 * served from rd_kafka_consumer_poll / rd_kafka_poll on it. Ownership: the pipeline
 * borrows settings, routes and telemetry, which must outlive it. */
#ifndef FANOUT_PIPELINE_H
#define FANOUT_PIPELINE_H

#include <signal.h>
#include <stddef.h>

#include "common/routes.h"
#include "fanout/settings.h"
#include "fanout/telemetry.h"

/* Transactional mode: the longest a transaction stays open collecting messages. */
#define FANOUT_BATCH_US (50 * 1000)

typedef struct fanout_pipeline fanout_pipeline;

/* Creates the producer (transactional mode: and initialises transactions, waiting for
 * Kafka while *stop is 0), then the consumer and its subscription. Returns 0 with *out set;
 * RC_AGAIN when *stop was raised while waiting; RC_EIO with errstr set on failure. */
int fanout_pipeline_new(const fanout_settings *cfg, const rc_routes *routes, fanout_telemetry *tm,
                        volatile sig_atomic_t *stop, fanout_pipeline **out, char *errstr,
                        size_t errlen);

/* Consumes, routes and commits until *stop is raised (then what was produced is
 * committed and 0 returned) or a fatal error (RC_EIO, already logged). */
int fanout_pipeline_run(fanout_pipeline *p);

/* Closes the consumer (leaving the group, so its partitions move at once) and the
 * producer, and frees p. NULL is ignored. */
void fanout_pipeline_free(fanout_pipeline *p);

#endif
