/* router.h: one domain event's bytes in, its room events or a dead letter out. Pure: no
 * Kafka, no clock (the caller passes produced_at_us), no globals, so every outcome is a
 * unit test and a fuzz target away.
 *
 * For a routed event there is one RoomEvent per target room, in routing order. Every copy
 * has id = source_event_id = the DomainEvent's id (so a redone transaction writes the same
 * ids again, and a gateway recognises the copies of one event), room = that copy's room,
 * rooms = the full target list, and the route's event name and args_json.
 *
 * Anything else is a dead letter with a reason that is also its metrics label:
 *   "undecodable"   the bytes are not a DomainEvent, or it has an empty type or id
 *   "no_route", "bad_json", "missing_field", "bad_field"   from rc_routes_apply
 * and a one-line printable detail saying why (it ends up in a Kafka header).
 *
 * Ownership: a fanout_routed belongs to the caller, who releases it with
 * fanout_router_clear; every string the RoomEvents point to lives inside it. The rc_routes
 * is borrowed and must outlive the call. */
#ifndef FANOUT_ROUTER_H
#define FANOUT_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "common/routes.h"
#include "roomcast/v1/events.pb-c.h"

#define FANOUT_REASON_UNDECODABLE "undecodable"
#define FANOUT_DETAIL_MAX 256

typedef struct {
    /* Routed: events[0..nevents) are ready to pack; nevents is 0 for a dead letter. */
    Roomcast__V1__RoomEvent *events;
    size_t nevents;

    /* Dead letter: reason is a static string, NULL when routed. */
    const char *reason;
    char detail[FANOUT_DETAIL_MAX];

    /* Known as soon as the bytes decode (possibly empty): type for the DLQ header. */
    const char *type;
    /* Whether the routing table has a route for type; only then is type a metrics label,
     * so made-up types cannot grow the label set without bound. */
    int has_route;

    /* Storage the pointers above borrow from. */
    Roomcast__V1__DomainEvent *_domain;
    rc_routed _routed;
} fanout_routed;

/* Routes len bytes of a DomainEvent. Returns 0 with out->events filled, or RC_EINVAL with
 * out->reason and out->detail set; in both cases out must be cleared afterwards. */
int fanout_router_route(const rc_routes *routes, const uint8_t *buf, size_t len,
                        int64_t produced_at_us, fanout_routed *out);

/* Frees what out holds and zeroes it; safe on a zeroed or already cleared value. */
void fanout_router_clear(fanout_routed *out);

/* The metrics label for an event's type: the type when it has a route, else "unrouted". */
const char *fanout_router_type_label(const fanout_routed *r);

#endif
