/* acks.c: committable offsets of the idempotent pipeline (see acks.h). */
#include "fanout/acks.h"

#include <string.h>

#include "common/alloc.h"

struct fanout_ticket {
    fanout_ticket *next; /* FIFO, in offset order */
    fanout_ackq *q;
    int64_t offset;
    int remaining; /* delivery reports still to come */
    int failed;
    /* the caller's payload follows */
};

struct fanout_ackq {
    fanout_ticket *head, *tail;
    size_t payload_size;
    size_t tickets;  /* in the FIFO */
    size_t waiting;  /* with reports still to come */
    int released;
    int failed;
    fanout_ackq *next_orphan, **prev_orphan; /* on the orphan list while released */
};

#define TICKET_PAYLOAD(t) ((void *)((t) + 1))

fanout_ackq *fanout_ackq_new(size_t payload_size)
{
    fanout_ackq *q = rc_calloc(1, sizeof *q);
    q->payload_size = payload_size;
    return q;
}

static void ackq__free(fanout_ackq *q)
{
    while (q->head) {
        fanout_ticket *t = q->head;
        q->head = t->next;
        rc_free(t);
    }
    rc_free(q);
}

void fanout_ackq_release(fanout_ackq *q, fanout_ackq **orphans)
{
    if (!q)
        return;
    if (q->waiting == 0) {
        ackq__free(q);
        return;
    }
    q->released = 1;
    q->next_orphan = *orphans;
    if (*orphans)
        (*orphans)->prev_orphan = &q->next_orphan;
    q->prev_orphan = orphans;
    *orphans = q;
}

static void ackq__unlink(fanout_ackq *q)
{
    *q->prev_orphan = q->next_orphan;
    if (q->next_orphan)
        q->next_orphan->prev_orphan = q->prev_orphan;
}

void fanout_ackq_reap(fanout_ackq **orphans)
{
    while (*orphans) {
        fanout_ackq *q = *orphans;
        ackq__unlink(q);
        ackq__free(q);
    }
}

fanout_ticket *fanout_ackq_ticket(fanout_ackq *q, int64_t offset, int copies, void **payload)
{
    fanout_ticket *t = rc_calloc(1, sizeof *t + q->payload_size);
    t->q = q;
    t->offset = offset;
    t->remaining = copies;
    if (q->tail)
        q->tail->next = t;
    else
        q->head = t;
    q->tail = t;
    q->tickets++;
    if (copies > 0)
        q->waiting++;
    *payload = TICKET_PAYLOAD(t);
    return t;
}

static void ticket__report(fanout_ticket *t)
{
    fanout_ackq *q = t->q;
    if (--t->remaining > 0)
        return;
    q->waiting--;
    if (q->released && q->waiting == 0) { /* nobody commits for it any more */
        ackq__unlink(q);
        ackq__free(q);
    }
}

int fanout_ticket_delivered(fanout_ticket *t, int err)
{
    int failed = 0;
    if (err) {
        t->failed = t->q->failed = 1;
        failed = 1;
    }
    ticket__report(t);
    return failed;
}

void fanout_ticket_cancel(fanout_ticket *t)
{
    ticket__report(t);
}

int64_t fanout_ackq_advance(fanout_ackq *q, fanout_acked_fn fn, void *ctx)
{
    int64_t next = -1;
    while (q->head && q->head->remaining <= 0 && !q->head->failed) {
        fanout_ticket *t = q->head;
        q->head = t->next;
        if (!q->head)
            q->tail = NULL;
        q->tickets--;
        next = t->offset + 1;
        if (fn)
            fn(ctx, TICKET_PAYLOAD(t));
        rc_free(t);
    }
    return next;
}

int64_t fanout_ackq_first(const fanout_ackq *q)
{
    return q->head ? q->head->offset : -1;
}

size_t fanout_ackq_outstanding(const fanout_ackq *q)
{
    return q->waiting;
}

int fanout_ackq_failed(const fanout_ackq *q)
{
    return q->failed;
}
