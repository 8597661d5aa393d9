/* The fanout's router: DomainEvent bytes through the shipped routing table become one
 * RoomEvent per target room (same id in every copy, the full room list in each), or a
 * dead letter whose reason is the DLQ header and metrics label. Built under ASan, so a
 * leak in any path fails the run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/alloc.h"
#include "common/events.h"
#include "common/routes.h"
#include "fanout/router.h"

static rc_routes *g_routes;

/* A DomainEvent's bytes (rc_free them). */
static uint8_t *domain(const char *id, const char *type, const char *payload, size_t *len)
{
    Roomcast__V1__DomainEvent ev = ROOMCAST__V1__DOMAIN_EVENT__INIT;
    ev.id = (char *)id;
    ev.type = (char *)type;
    ev.aggregate_id = "agg-1";
    ev.occurred_at_ms = 1700000000000;
    ev.payload_json = (char *)payload;
    ev.producer = "test";
    return rc_events_pack_domain(&ev, len);
}

/* Routes an event built from its fields; the caller clears out. */
static int route(const char *id, const char *type, const char *payload, fanout_routed *out)
{
    size_t len;
    uint8_t *buf = domain(id, type, payload, &len);
    int rc = fanout_router_route(g_routes, buf, len, 42, out);
    rc_free(buf);
    return rc;
}

/* "room1 room2" from an event's room list. */
static const char *join(char **v, size_t n)
{
    static char buf[1024];
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t o = strlen(buf);
        snprintf(buf + o, sizeof buf - o, "%s%s", i ? " " : "", v[i]);
    }
    return buf;
}

static void test_two_rooms(void)
{
    fanout_routed r;
    CHECK_EQ(route("ev-1", "payment.status_updated",
                   "{\"paymentId\":\"p1\",\"status\":\"paid\",\"providerPaymentId\":\"pp\","
                   "\"buyerId\":\"b1\",\"sellerId\":\"s1\"}",
                   &r),
             0);
    CHECK(r.reason == NULL);
    CHECK_EQ(r.nevents, 2);
    CHECK_STR(fanout_router_type_label(&r), "payment.status_updated");
    const char *want_rooms[] = {"user-b1", "user-s1"};
    for (size_t i = 0; i < r.nevents && i < 2; i++) {
        Roomcast__V1__RoomEvent *ev = &r.events[i];
        CHECK_STR(ev->id, "ev-1");
        CHECK_STR(ev->source_event_id, "ev-1");
        CHECK_STR(ev->room, want_rooms[i]);
        CHECK_STR(join(ev->rooms, ev->n_rooms), "user-b1 user-s1");
        CHECK_STR(ev->event, "payment:status-updated");
        /* Routing fields are not delivered; the delivered fields keep the table's order. */
        CHECK_STR(ev->args_json, "[{\"paymentId\":\"p1\",\"status\":\"paid\",\"providerPaymentId\":\"pp\"}]");
        CHECK_EQ(ev->produced_at_us, 42);
        CHECK_STR(ev->except_sid, "");
    }
    /* A copy packs into bytes a gateway decodes back to the same event. */
    size_t len;
    uint8_t *bytes = rc_events_pack_room(&r.events[1], &len);
    Roomcast__V1__RoomEvent *back = roomcast__v1__room_event__unpack(NULL, len, bytes);
    CHECK(back != NULL);
    if (back) {
        CHECK_STR(back->room, "user-s1");
        CHECK_EQ(back->n_rooms, 2);
        CHECK_STR(back->id, "ev-1");
        roomcast__v1__room_event__free_unpacked(back, NULL);
    }
    rc_free(bytes);
    fanout_router_clear(&r);
    CHECK(r.events == NULL && r.nevents == 0);
    fanout_router_clear(&r); /* clearing twice is harmless */
}

static void test_many_rooms(void)
{
    fanout_routed r;
    /* A participant listed twice (and the chat room) get one copy each, in routing order. */
    CHECK_EQ(route("ev-2", "chat.message_created",
                   "{\"message\":{\"chatId\":\"c9\",\"participantIds\":[\"u1\",\"u2\",\"u1\",7],"
                   "\"text\":\"hi 0.1\"}}",
                   &r),
             0);
    CHECK_EQ(r.nevents, 4);
    for (size_t i = 0; i < r.nevents; i++) {
        CHECK_STR(r.events[i].id, "ev-2");
        CHECK_STR(join(r.events[i].rooms, r.events[i].n_rooms), "chat-c9 user-u1 user-u2 user-7");
    }
    CHECK_STR(r.events[0].room, "chat-c9");
    CHECK_STR(r.events[3].room, "user-7");
    /* The payload reaches clients as the backend wrote it. */
    CHECK_STR(r.events[2].args_json,
              "[{\"chatId\":\"c9\",\"participantIds\":[\"u1\",\"u2\",\"u1\",7],\"text\":\"hi 0.1\"}]");
    fanout_router_clear(&r);

    CHECK_EQ(route("ev-3", "dispute.resolved",
                   "{\"disputeId\":\"d1\",\"resolution\":\"refund\",\"requestId\":\"r1\","
                   "\"buyerId\":\"b1\",\"sellerId\":\"s1\"}",
                   &r),
             0);
    CHECK_EQ(r.nevents, 3);
    if (r.nevents == 3)
        CHECK_STR(join((char *[]){r.events[0].room, r.events[1].room, r.events[2].room}, 3),
                  "request-r1 user-b1 user-s1");
    CHECK_STR(r.events[0].args_json, "[{\"disputeId\":\"d1\",\"resolution\":\"refund\"}]");
    fanout_router_clear(&r);

    /* A broadcast is one copy for room "*". */
    CHECK_EQ(route("ev-4", "system.announcement", "{\"message\":\"bye\"}", &r), 0);
    CHECK_EQ(r.nevents, 1);
    CHECK_STR(r.events[0].room, "*");
    CHECK_STR(join(r.events[0].rooms, r.events[0].n_rooms), "*");
    fanout_router_clear(&r);
}

static void check_dead(const char *label, int rc, fanout_routed *r, const char *reason,
                       const char *detail_part, const char *type_label)
{
    CHECK_EQ(rc, RC_EINVAL);
    CHECK_EQ(r->nevents, 0);
    CHECK_STR(r->reason, reason);
    if (!strstr(r->detail, detail_part))
        CHECK__FAIL("%s: detail \"%s\" does not mention \"%s\"", label, r->detail, detail_part);
    CHECK_STR(fanout_router_type_label(r), type_label);
    for (const char *c = r->detail; *c; c++)
        if (*c < 0x20 || *c > 0x7e)
            CHECK__FAIL("%s: detail has byte 0x%02x", label, (unsigned char)*c);
    fanout_router_clear(r);
}

static void test_undecodable(void)
{
    fanout_routed r;
    /* Not protobuf at all (a truncated length-delimited field). */
    const uint8_t garbage[] = {0x0a, 0x50, 'x', 'y'};
    check_dead("garbage", fanout_router_route(g_routes, garbage, sizeof garbage, 1, &r), &r,
               "undecodable", "4 bytes that are not a protobuf DomainEvent", "unrouted");
    CHECK(r.type == NULL);
    /* Bytes that happen to parse as unknown protobuf fields (13 and 14, varints) have no
     * type: "h\x01p\x02" is what short garbage often looks like to a decoder. */
    const uint8_t unknown[] = {0x68, 0x01, 0x70, 0x02};
    check_dead("unknown fields", fanout_router_route(g_routes, unknown, sizeof unknown, 1, &r), &r,
               "undecodable", "a DomainEvent with no type", "unrouted");
    check_dead("empty", fanout_router_route(g_routes, (const uint8_t *)"", 0, 1, &r), &r,
               "undecodable", "no type", "unrouted");
    check_dead("no type", route("ev-5", "", "{}", &r), &r, "undecodable", "no type", "unrouted");
    /* Without an id the copies could not be recognised as one event. */
    int rc = route("", "payment.completed", "{\"paymentId\":\"p\",\"buyerId\":\"b\",\"sellerId\":\"s\"}", &r);
    CHECK_STR(r.type, "payment.completed");
    check_dead("no id", rc, &r, "undecodable", "payment.completed: a DomainEvent with no id",
               "payment.completed");
}

static void test_route_failures(void)
{
    fanout_routed r;
    int rc = route("ev-6", "payment.refunded", "{\"paymentId\":\"p\"}", &r);
    CHECK_STR(r.type, "payment.refunded"); /* still known, for the DLQ's type header */
    CHECK_EQ(r.has_route, 0);
    check_dead("no route", rc, &r, "no_route", "payment.refunded: no route", "unrouted");

    check_dead("bad json", route("ev-7", "payment.completed", "{\"paymentId\":", &r), &r,
               "bad_json", "payment.completed: payload is not JSON", "payment.completed");
    check_dead("not object", route("ev-8", "payment.completed", "[1,2]", &r), &r, "bad_json",
               "not a JSON object", "payment.completed");
    check_dead("missing", route("ev-9", "payment.status_updated",
                                "{\"paymentId\":\"p\",\"status\":\"s\",\"providerPaymentId\":null,"
                                "\"buyerId\":\"b\"}",
                                &r),
               &r, "missing_field", "missing sellerId", "payment.status_updated");
    check_dead("nested missing", route("ev-10", "notification.created", "{\"notification\":{}}", &r),
               &r, "missing_field", "notification.recipientId", "notification.created");
    check_dead("bad field", route("ev-11", "chat.message_created",
                                  "{\"message\":{\"chatId\":\"c\",\"participantIds\":[{}]}}", &r),
               &r, "bad_field", "participantIds[0]", "chat.message_created");
}

int main(void)
{
    char err[RC_ERRSTR_LEN];
    CHECK_EQ(rc_routes_load_file_or_default(NULL, &g_routes, err, sizeof err), 0);
    if (!g_routes) {
        fprintf(stderr, "shipped table: %s\n", err);
        return 1;
    }
    test_two_rooms();
    test_many_rooms();
    test_undecodable();
    test_route_failures();
    rc_routes_free(g_routes);
    CHECK_DONE();
}
