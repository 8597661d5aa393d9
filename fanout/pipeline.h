/* pipeline.h: the consume-transform-produce loop of roomcast-fanout, exactly once.
 *
 * A consumer in the fanout group subscribes to "^<prefix>domain\..*". Consumed domain
 * events are routed (router.h) and their room events, or dead letters, are produced by a
 * transactional producer; the consumed offsets are committed in the same transaction
 * (send_offsets_to_transaction with the consumer's group metadata, KIP-447), so a room
 * event becomes visible to read_committed readers if and only if the offset of the
 * domain event it came from is committed. A transaction holds up to settings.batch
 * messages and lasts at most FANOUT_BATCH_US.
 *
 * Errors: a retriable transactional error is retried; an abortable one aborts the
 * transaction and rewinds the consumer to where the transaction started (the last
 * committed offsets), so the batch is redone; a fatal one (the producer was fenced) ends
 * fanout_pipeline_run with RC_EIO and the process exits non-zero to be restarted.
 * Rebalances use the eager protocol: before revoked partitions are released the open
 * transaction is committed (aborted if the partitions were lost), so no transaction
 * spans a revoke.
 *
 * Threads: everything here runs on the caller's (main) thread; librdkafka callbacks are
 * served from rd_kafka_consumer_poll on it. Ownership: the pipeline borrows settings,
 * routes and telemetry, which must outlive it. */
#ifndef FANOUT_PIPELINE_H
#define FANOUT_PIPELINE_H

#include <signal.h>
#include <stddef.h>

#include "common/routes.h"
#include "fanout/settings.h"
#include "fanout/telemetry.h"

/* The longest a transaction stays open collecting messages. */
#define FANOUT_BATCH_US (50 * 1000)

typedef struct fanout_pipeline fanout_pipeline;

/* Creates the transactional producer and initialises transactions (waiting for Kafka
 * while *stop is 0), then the consumer and its subscription. Returns 0 with *out set;
 * RC_AGAIN when *stop was raised while waiting; RC_EIO with errstr set on failure. */
int fanout_pipeline_new(const fanout_settings *cfg, const rc_routes *routes, fanout_telemetry *tm,
                        volatile sig_atomic_t *stop, fanout_pipeline **out, char *errstr,
                        size_t errlen);

/* Consumes, routes and commits until *stop is raised (then the open transaction is
 * committed and 0 returned) or a fatal error (RC_EIO, already logged). */
int fanout_pipeline_run(fanout_pipeline *p);

/* Closes the consumer (leaving the group, so its partitions move at once) and the
 * producer, and frees p. NULL is ignored. */
void fanout_pipeline_free(fanout_pipeline *p);

#endif
