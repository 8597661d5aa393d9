/* router.c: DomainEvent bytes -> RoomEvents or a dead letter (see router.h).
 *
 * The RoomEvents are built as protobuf-c structs whose strings point into the unpacked
 * DomainEvent and the rc_routed result, so routing copies nothing but the room list
 * itself; the pipeline packs each copy once, straight into the producer's buffer. */
#include "fanout/router.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"

static int router__dead(fanout_routed *out, const char *reason, const char *fmt, const char *arg)
{
    out->reason = reason;
    snprintf(out->detail, sizeof out->detail, fmt, arg);
    /* The detail goes into a Kafka header and a log line: keep it one printable line. */
    for (char *c = out->detail; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
            *c = '?';
    return RC_EINVAL;
}

/* Fills one RoomEvent per room, all borrowing the same strings. */
static void router__build(fanout_routed *out, int64_t produced_at_us)
{
    const rc_routed *rt = &out->_routed;
    Roomcast__V1__DomainEvent *d = out->_domain;
    out->events = rc_calloc(rt->nrooms, sizeof *out->events);
    out->nevents = rt->nrooms;
    for (size_t i = 0; i < rt->nrooms; i++) {
        Roomcast__V1__RoomEvent *ev = &out->events[i];
        roomcast__v1__room_event__init(ev);
        ev->id = d->id;
        ev->room = rt->rooms[i];
        ev->n_rooms = rt->nrooms;
        ev->rooms = rt->rooms;
        ev->event = rt->event;
        ev->args_json = rt->args_json;
        ev->produced_at_us = produced_at_us;
        ev->source_event_id = d->id;
    }
}

int fanout_router_route(const rc_routes *routes, const uint8_t *buf, size_t len,
                        int64_t produced_at_us, fanout_routed *out)
{
    memset(out, 0, sizeof *out);
    char lenbuf[32];
    snprintf(lenbuf, sizeof lenbuf, "%zu", len);
    out->_domain = roomcast__v1__domain_event__unpack(NULL, len, buf);
    if (!out->_domain)
        return router__dead(out, FANOUT_REASON_UNDECODABLE,
                            "%s bytes that are not a protobuf DomainEvent", lenbuf);
    Roomcast__V1__DomainEvent *d = out->_domain;
    out->type = d->type;
    if (!d->type[0])
        /* Random bytes often parse as a message of unknown fields: no type means garbage. */
        return router__dead(out, FANOUT_REASON_UNDECODABLE, "%s bytes: a DomainEvent with no type",
                            lenbuf);
    out->has_route = rc_routes_event_of(routes, d->type) != NULL;
    if (!d->id[0])
        /* Room event ids are the domain event's id; without one a client cannot tell a
         * redelivery from a new event, so the event is refused rather than guessed at. */
        return router__dead(out, FANOUT_REASON_UNDECODABLE, "%.128s: a DomainEvent with no id",
                            d->type);
    char why[FANOUT_DETAIL_MAX];
    int r = rc_routes_apply(routes, d->type, d->payload_json, strlen(d->payload_json),
                            &out->_routed, why, sizeof why);
    if (r != RC_ROUTE_OK)
        return router__dead(out, rc_route_result_name(r), "%s", why);
    router__build(out, produced_at_us);
    return 0;
}

void fanout_router_clear(fanout_routed *out)
{
    rc_free(out->events);
    rc_routed_clear(&out->_routed);
    if (out->_domain)
        roomcast__v1__domain_event__free_unpacked(out->_domain, NULL);
    memset(out, 0, sizeof *out);
}

const char *fanout_router_type_label(const fanout_routed *r)
{
    return r->has_route ? r->type : "unrouted";
}
