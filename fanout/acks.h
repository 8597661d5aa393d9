/* acks.h: which consumed offsets the idempotent pipeline may commit.
 *
 * In idempotent mode a domain message's room events (or its dead letter) are produced
 * with no transaction, and its offset may be committed only once every one of them has
 * been acknowledged by Kafka (its delivery report), and every message before it in its
 * partition too; otherwise a crash could skip it. Each consumed message gets a ticket
 * that each produced copy carries as its opaque; the delivery reports count the ticket
 * down, and a partition's committable offset moves past every finished ticket at the
 * head of its queue, in offset order.
 *
 * A crash or a lost assignment re-processes from the last committed offset, so room
 * events may be written twice; they carry the same id, and gateways deliver a room's
 * event id once (gateway/dedup.h).
 *
 * Threads: the main thread only (delivery reports are served by rd_kafka_poll there).
 * Ownership: a queue is owned by the partition table entry that created it; when the
 * partition is released with tickets still out, the queue goes on the table's orphan list
 * and is freed by its last delivery report, or at exit by fanout_ackq_reap. Tickets
 * belong to their queue. */
#ifndef FANOUT_ACKS_H
#define FANOUT_ACKS_H

#include <stddef.h>
#include <stdint.h>

typedef struct fanout_ackq fanout_ackq;
typedef struct fanout_ticket fanout_ticket;

/* What a finished ticket reports, in offset order, once it can be committed. */
typedef void (*fanout_acked_fn)(void *ctx, void *payload);

fanout_ackq *fanout_ackq_new(size_t payload_size);
/* Releases q: frees it now when no ticket is out, else puts it on *orphans until the
 * last one finishes (finished tickets are then dropped, not reported). */
void fanout_ackq_release(fanout_ackq *q, fanout_ackq **orphans);
/* Frees every queue still on *orphans: at exit, when no report will come any more. */
void fanout_ackq_reap(fanout_ackq **orphans);

/* A ticket for the message at offset, expecting copies delivery reports. Its payload
 * (payload_size bytes, zeroed) is the caller's to fill. */
fanout_ticket *fanout_ackq_ticket(fanout_ackq *q, int64_t offset, int copies, void **payload);
/* One delivery report for t; err non-zero marks it failed. Returns 1 when t failed (the
 * caller must not commit past it: fanout_ackq_failed then says so). */
int fanout_ticket_delivered(fanout_ticket *t, int err);
/* A copy that was never produced after all: as a report, without failing. */
void fanout_ticket_cancel(fanout_ticket *t);

/* Pops the finished tickets at the head of q, reporting each to fn. Returns the offset
 * to commit (the next one to consume) or -1 when nothing finished since the last call. */
int64_t fanout_ackq_advance(fanout_ackq *q, fanout_acked_fn fn, void *ctx);
/* The offset of the oldest ticket not yet popped (where a redo starts), or -1. */
int64_t fanout_ackq_first(const fanout_ackq *q);
/* Tickets still waiting for reports. */
size_t fanout_ackq_outstanding(const fanout_ackq *q);
/* Whether a ticket failed (its copies could not all be written). */
int fanout_ackq_failed(const fanout_ackq *q);

#endif
