/* replay.h: what a recovering socket missed. A second consumer of the room topic reads,
 * for each recovering socket, the range [from, to) of every partition: from = the vector
 * the client sent back (its last event), to = the live delivery's position when it
 * reconnected (live events from there on wait in the socket's queue). Recoveries that
 * arrive together share one pass over the topic, reading from the smallest `from`; one
 * that arrives while a pass is under way joins it when the pass has not gone past where
 * it starts.
 * Replayed events reach the app in partition order, so in order per room; the app
 * decides per socket, as for live events, whether the socket gets them. A pass reads the
 * whole topic from the oldest `from`, but with each_waiting set it decodes only the events
 * of rooms a waiting socket is in, and offers each to those sockets alone: a wave of
 * thousands of recoveries over minutes of traffic costs what their own rooms carried.
 *
 * Duplicates (dedup.h): of the copies of a (room, id) only the first is replayed: the
 * first in this pass, unless the live delivery saw an earlier one (delivered then, or
 * before the socket's vector). */
#ifndef GW_REPLAY_H
#define GW_REPLAY_H

#include <stddef.h>

#include "common/metrics.h"
#include "gateway/dedup.h"
#include "gateway/recovery.h"
#include "roomcast/v1/events.pb-c.h"

struct event_base;
typedef struct gw_replay gw_replay;

typedef struct {
    /* A replayed event for the socket sid; vector is the event's offset for that socket. */
    void (*event)(void *ctx, const char *sid, const Roomcast__V1__RoomEvent *m, size_t room_index,
                  const gw_vector *vector);
    /* The replay of sid, up to `to`, is complete (ok) or failed (timeout, offsets gone). */
    void (*done)(void *ctx, const char *sid, int ok, size_t replayed, const gw_vector *to);
    /* Optional: calls fn(sid, arg) for each local socket in room[0..len) ("*": every
     * socket) that is waiting for its replay and returns how many; with fn NULL it may
     * stop at the first. NULL: every socket of the pass is offered every event. */
    size_t (*each_waiting)(void *ctx, const char *room, size_t len,
                           void (*fn)(const char *sid, void *arg), void *arg);
} gw_replay_handlers;

/* live: the live delivery's seen set (delivery.h), or NULL. max_jobs: replays queued or
 * under way at most (ROOMCAST_REPLAY_MAX_JOBS); see gw_replay_busy. */
gw_replay *gw_replay_new(struct event_base *base, const char *brokers, const char *topic,
                         const char *client_id, const gw_dedup *live, size_t max_jobs,
                         const gw_replay_handlers *h, void *ctx, rc_metrics *metrics,
                         char *errstr, size_t errlen);
/* Whether max_jobs replays are queued or under way: a recovery asked for now is refused
 * (the client starts a new session) rather than queued without bound. */
int gw_replay_busy(const gw_replay *r);
/* Whether the pass now ending met a copy of key below `to` (a job's end): a live event
 * held for a replaying socket is dropped when its replay covered an earlier copy. Valid
 * in the done callback. */
int gw_replay_replayed(const gw_replay *r, uint64_t key, const gw_vector *to);
void gw_replay_free(gw_replay *r);
/* Queues a replay of [from, to) for sid. */
void gw_replay_start(gw_replay *r, const char *sid, const gw_vector *from, const gw_vector *to);

#endif
