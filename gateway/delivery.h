/* delivery.h: roomcast.rooms -> local sockets. Every gateway reads every partition of the
 * room topic, with no consumer group, from the live end (a partition that appears later
 * is read from its beginning), read_committed only, on the gateway's event loop: a
 * librdkafka queue wakes the loop through a pipe, so all socket work stays on one thread.
 *
 * The topic is read read_committed, which costs nothing while no writer uses
 * transactions (the default fanout does not: the last stable offset is then the high
 * watermark) and keeps a transactional fanout's aborted batches out. A room event can be
 * on the topic twice (see dedup.h); the copy read first is delivered and later ones are
 * dropped, so a socket gets each (room, id) once.
 *
 * Each room event is decoded and checked once (a bad one is counted, logged and
 * skipped), framed once when its first local recipient is found, and handed to the
 * deliver callback, which writes the shared frame to the sockets of its room. */
#ifndef GW_DELIVERY_H
#define GW_DELIVERY_H

#include <stddef.h>
#include <stdint.h>

#include "common/metrics.h"
#include "gateway/frame.h"
#include "gateway/dedup.h"
#include "gateway/recovery.h"
#include "roomcast/v1/events.pb-c.h"

struct event_base;
typedef struct gw_delivery gw_delivery;

/* One room event as the gateway delivers it. Valid during the callback. */
typedef struct {
    const char *id;
    const char *room;         /* this copy's room; "*" = every socket */
    const char *const *rooms; /* all target rooms, in order */
    size_t nrooms;
    size_t room_index;        /* position of room in rooms */
    const char *except_sid;   /* "" for none */
    int64_t produced_at_us;
    int32_t partition;
    int64_t offset;
    uint64_t key; /* gw_dedup_key(room, id) */
    /* The frame, built on first use by gw_delivery_frame. */
    void *_ev;
} gw_room_event;

/* Delivers ev to local sockets; returns how many sockets it was written to. */
typedef size_t (*gw_deliver_fn)(gw_delivery *d, const gw_room_event *ev, void *ctx);

typedef struct {
    const char *brokers;
    const char *topic;  /* the prefixed room topic */
    const char *client_id;
    const gw_recovery_key *recovery; /* NULL: no connection state recovery, no offsets */
    size_t dedup_max;        /* ROOMCAST_DEDUP_MAX_EVENTS */
    int64_t dedup_window_ms; /* ROOMCAST_DEDUP_WINDOW_SECONDS */
} gw_delivery_config;

gw_delivery *gw_delivery_new(struct event_base *base, const gw_delivery_config *cfg,
                             rc_metrics *metrics, gw_deliver_fn fn, void *ctx, char *errstr,
                             size_t errlen);
void gw_delivery_free(gw_delivery *d);
/* Says whether any local socket is in room[0..len) ("*": any socket at all). Room events
 * are keyed by their room (CONTRACT §5), so with a filter set an event whose key names a
 * room with no local member is counted as no_local_member and dropped before it is
 * decoded: most events, once there are many gateways. One whose local members all had it
 * through an earlier room of the same event is counted as already_delivered. */
typedef int (*gw_member_fn)(void *ctx, const char *room, size_t len);
void gw_delivery_set_filter(gw_delivery *d, gw_member_fn fn);
/* A control record (RoomEvent.control set, gateway/control.h) goes to fn instead of being
 * delivered; without fn it is dropped. */
typedef void (*gw_control_fn)(void *ctx, const gw_room_event *ev,
                              const Roomcast__V1__RoomControl *control);
void gw_delivery_set_control(gw_delivery *d, gw_control_fn fn, void *ctx);
/* The shared frame of the event being delivered (built once, owned by the delivery).
 * With recovery on it is an open frame ending in `,"<vector>`: each socket completes it
 * with its tail (gw_frame_add_ws_tail). */
gw_frame *gw_delivery_frame(gw_delivery *d, const gw_room_event *ev);
/* The room topic's positions now: everything below them has been delivered. */
void gw_delivery_position(const gw_delivery *d, gw_vector *out);
/* Whether the broker still holds every position of v (nothing was deleted past it). */
int gw_delivery_still_held(const gw_delivery *d, const gw_vector *v);
const char *gw_delivery_topic(const gw_delivery *d);

/* The room events seen for local members, by (room, id): a second copy of one is
 * dropped (counted as result="duplicate"). The replay checks against it too. */
const gw_dedup *gw_delivery_seen(const gw_delivery *d);

/* Shared with the replay: decodes and checks a room event message; NULL if invalid
 * (the caller frees with roomcast__v1__room_event__free_unpacked). */
Roomcast__V1__RoomEvent *gw_room_event_decode(const void *buf, size_t len, size_t *room_index);
/* The event's frame: closed, or open ending in `,"<vector>` when vector is given. */
gw_frame *gw_room_event_frame(const Roomcast__V1__RoomEvent *m, const char *vector);
/* 1 when a broker is up and every partition of the topic is assigned. reason says why not. */
int gw_delivery_ready(const gw_delivery *d, char *reason, size_t len);

#endif
