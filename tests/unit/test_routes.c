/* The routing table: every row of CONTRACT §6 through the shipped table, the rules a
 * backend will trip over (missing, null and wrongly typed fields, lists, duplicates), the
 * exact bytes delivered, and the loader's message for each kind of broken table.
 *
 * JSON in this file is written with ' for " (q() swaps them) so that it reads as JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "common/rc.h"
#include "common/routes.h"

/* Returns s with every ' turned into "; four rotating buffers, so a check can use several. */
static const char *q(const char *s)
{
    static char bufs[4][2048];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "%s", s);
    for (char *c = b; *c; c++)
        if (*c == '\'')
            *c = '"';
    return b;
}

/* One application's outcome as text: rooms joined by spaces. */
typedef struct {
    int rc;
    char event[64];
    char rooms[1024];
    char args[2048];
    char why[256];
} outcome;

static outcome run_raw(const rc_routes *r, const char *type, const char *payload)
{
    outcome o;
    rc_routed x;
    memset(&o, 0, sizeof o);
    o.rc = rc_routes_apply(r, type, payload, strlen(payload), &x, o.why, sizeof o.why);
    if (o.rc == RC_ROUTE_OK) {
        snprintf(o.event, sizeof o.event, "%s", x.event);
        snprintf(o.args, sizeof o.args, "%s", x.args_json);
        for (size_t i = 0; i < x.nrooms; i++) {
            size_t n = strlen(o.rooms);
            snprintf(o.rooms + n, sizeof o.rooms - n, "%s%s", i ? " " : "", x.rooms[i]);
        }
    } else if (x.event || x.rooms || x.nrooms || x.args_json) {
        snprintf(o.why, sizeof o.why, "failure left a result behind");
        o.rc = 1;
    }
    rc_routed_clear(&x);
    return o;
}

static outcome run(const rc_routes *r, const char *type, const char *payload)
{
    return run_raw(r, type, q(payload));
}

#define EXPECT_ROUTED(r, type, payload, ev, rooms_, args_)                                  \
    do {                                                                                   \
        outcome o_ = run((r), (type), (payload));                                          \
        CHECK_EQ(o_.rc, RC_ROUTE_OK);                                                      \
        CHECK_STR(o_.why, "");                                                             \
        CHECK_STR(o_.event, (ev));                                                         \
        CHECK_STR(o_.rooms, (rooms_));                                                     \
        CHECK_STR(o_.args, q(args_));                                                      \
    } while (0)

#define EXPECT_FAIL(r, type, payload, rc_, why_)                                           \
    do {                                                                                   \
        outcome o_ = run((r), (type), (payload));                                          \
        CHECK_EQ(o_.rc, (rc_));                                                            \
        CHECK_STR(o_.why, (why_));                                                         \
    } while (0)

/* CONTRACT §6, one row after another, in the table's order. */
static void test_catalog(const rc_routes *t)
{
    EXPECT_ROUTED(t, "notification.created",
                  "{'notification':{'id':'n1','recipientId':'u1','title':'Hi','read':false}}",
                  "notification:received", "user-u1",
                  "[{'id':'n1','recipientId':'u1','title':'Hi','read':false}]");
    EXPECT_ROUTED(t, "notification.read", "{'id':'n1','userId':'u1','readAt':'2026-05-23T10:00:00Z'}",
                  "notification:read", "user-u1", "[{'id':'n1','readAt':'2026-05-23T10:00:00Z'}]");
    EXPECT_ROUTED(t, "request.created", "{'request':{'id':'r1','buyerId':'b1','title':'Lamp'}}",
                  "request:created", "sellers", "[{'id':'r1','buyerId':'b1','title':'Lamp'}]");
    EXPECT_ROUTED(t, "offer.created",
                  "{'requestId':'r1','buyerId':'b1','offer':{'id':'o1','price':12.5}}",
                  "request:offer-received", "user-b1 request-r1",
                  "[{'requestId':'r1','offer':{'id':'o1','price':12.5}}]");
    EXPECT_ROUTED(t, "request.status_updated", "{'requestId':'r1','status':'closed'}",
                  "request:status-updated", "request-r1", "[{'requestId':'r1','status':'closed'}]");
    EXPECT_ROUTED(t, "offer.countered", "{'offerId':'o1','requestId':'r1','message':'How about 10?'}",
                  "offer:negotiation-update", "request-r1",
                  "[{'offerId':'o1','message':'How about 10?'}]");
    EXPECT_ROUTED(t, "offer.accepted", "{'offerId':'o1','sellerId':'s1','buyerId':'b1'}",
                  "offer:accepted", "seller-s1 user-b1", "[{'offerId':'o1'}]");
    EXPECT_ROUTED(t, "payment.created",
                  "{'payment':{'id':'p1','buyerId':'b1','sellerId':'s1','amount':'10.00'}}",
                  "payment:created", "user-b1 user-s1",
                  "[{'id':'p1','buyerId':'b1','sellerId':'s1','amount':'10.00'}]");
    EXPECT_ROUTED(t, "payment.status_updated",
                  "{'paymentId':'p1','status':'paid','providerPaymentId':'sk-9','buyerId':'b1','sellerId':'s1'}",
                  "payment:status-updated", "user-b1 user-s1",
                  "[{'paymentId':'p1','status':'paid','providerPaymentId':'sk-9'}]");
    EXPECT_ROUTED(t, "payment.completed", "{'paymentId':'p1','buyerId':'b1','sellerId':'s1'}",
                  "payment:completed", "user-b1 user-s1", "[{'paymentId':'p1'}]");
    EXPECT_ROUTED(t, "payout.created", "{'payout':{'id':'po1','sellerId':'s1','amount':5}}",
                  "payout:created", "user-s1", "[{'id':'po1','sellerId':'s1','amount':5}]");
    EXPECT_ROUTED(t, "payout.completed", "{'payoutId':'po1','txHash':'0xabc','sellerId':'s1'}",
                  "payout:completed", "user-s1", "[{'payoutId':'po1','txHash':'0xabc'}]");
    EXPECT_ROUTED(t, "chat.message_created",
                  "{'message':{'id':'m1','chatId':'c1','participantIds':['u1','u2'],'text':'hey'}}",
                  "chat:new-message", "chat-c1 user-u1 user-u2",
                  "[{'id':'m1','chatId':'c1','participantIds':['u1','u2'],'text':'hey'}]");
    EXPECT_ROUTED(t, "chat.message_read", "{'chatId':'c1','messageId':'m1','userId':'u2','readAt':'t1'}",
                  "chat:message-read", "chat-c1",
                  "[{'chatId':'c1','messageId':'m1','userId':'u2','readAt':'t1'}]");
    EXPECT_ROUTED(t, "dispute.opened", "{'dispute':{'id':'d1','requestId':'r1','reason':'late'}}",
                  "dispute:opened", "request-r1 admin",
                  "[{'id':'d1','requestId':'r1','reason':'late'}]");
    EXPECT_ROUTED(t, "dispute.evidence_added",
                  "{'disputeId':'d1','requestId':'r1','evidence':{'url':'https://x.test/e.png'}}",
                  "dispute:evidence-added", "request-r1",
                  "[{'disputeId':'d1','evidence':{'url':'https://x.test/e.png'}}]");
    EXPECT_ROUTED(t, "dispute.resolved",
                  "{'disputeId':'d1','resolution':'refund','requestId':'r1','buyerId':'b1','sellerId':'s1'}",
                  "dispute:resolved", "request-r1 user-b1 user-s1",
                  "[{'disputeId':'d1','resolution':'refund'}]");
    EXPECT_ROUTED(t, "system.maintenance", "{'message':'down at 2','startsAt':'2026-06-01T02:00:00Z'}",
                  "system:maintenance", "*",
                  "[{'message':'down at 2','startsAt':'2026-06-01T02:00:00Z'}]");
    EXPECT_ROUTED(t, "system.announcement", "{'message':'hello'}", "system:announcement", "*",
                  "[{'message':'hello'}]");

    CHECK_EQ(rc_routes_count(t), 19);
    CHECK_STR(rc_routes_type_at(t, 0), "chat.message_created");
    CHECK(rc_routes_type_at(t, 19) == NULL);
    CHECK_STR(rc_routes_event_of(t, "offer.created"), "request:offer-received");
    CHECK(rc_routes_event_of(t, "offer.created.x") == NULL);
}

/* Rooms: lists, duplicates, integers, and what a socket in two rooms would see twice. */
static void test_rooms(const rc_routes *t)
{
    EXPECT_ROUTED(t, "payment.completed", "{'paymentId':'p1','buyerId':'u1','sellerId':'u1'}",
                  "payment:completed", "user-u1", "[{'paymentId':'p1'}]");
    EXPECT_ROUTED(t, "chat.message_created",
                  "{'message':{'chatId':'c1','participantIds':['u2','u1','u2']}}", "chat:new-message",
                  "chat-c1 user-u2 user-u1", "[{'chatId':'c1','participantIds':['u2','u1','u2']}]");
    /* A chat with nobody listed still reaches the chat room. */
    EXPECT_ROUTED(t, "chat.message_created", "{'message':{'chatId':'c1','participantIds':[]}}",
                  "chat:new-message", "chat-c1", "[{'chatId':'c1','participantIds':[]}]");
    /* Ids may be integers, rendered in decimal. */
    EXPECT_ROUTED(t, "payment.completed", "{'paymentId':7,'buyerId':42,'sellerId':9007199254740993}",
                  "payment:completed", "user-42 user-9007199254740993", "[{'paymentId':7}]");
    EXPECT_ROUTED(t, "chat.message_created", "{'message':{'chatId':3,'participantIds':[1,-2]}}",
                  "chat:new-message", "chat-3 user-1 user--2",
                  "[{'chatId':3,'participantIds':[1,-2]}]");
    /* Unicode ids are kept as they are. */
    EXPECT_ROUTED(t, "payout.completed", "{'payoutId':1,'txHash':null,'sellerId':'s\xc3\xa9'}",
                  "payout:completed", "user-s\xc3\xa9", "[{'payoutId':1,'txHash':null}]");

    char id[256], payload[512], room[300];
    memset(id, 'a', 195);
    id[195] = '\0';
    snprintf(payload, sizeof payload, "{'payoutId':1,'txHash':'x','sellerId':'%s'}", id);
    snprintf(room, sizeof room, "user-%s", id);
    outcome o = run(t, "payout.completed", payload); /* exactly 200 bytes */
    CHECK_EQ(o.rc, RC_ROUTE_OK);
    CHECK_STR(o.rooms, room);
    snprintf(payload, sizeof payload, "{'payoutId':1,'txHash':'x','sellerId':'%sa'}", id);
    EXPECT_FAIL(t, "payout.completed", payload, RC_ROUTE_BAD_FIELD,
                "payout.completed: the room from \"user-{sellerId}\" is longer than 200 bytes");
}

/* A chat message for participants "0" .. "n-1", then "0" again when dup is set. */
static const char *chat_of(size_t n, int dup)
{
    static char p[16000];
    size_t len = (size_t)snprintf(p, sizeof p, "{\"message\":{\"chatId\":\"c\",\"participantIds\":[");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(p + len, sizeof p - len, "%s\"%zu\"", i ? "," : "", i);
    snprintf(p + len, sizeof p - len, "%s]}}", dup ? ",\"0\"" : "");
    return p;
}

/* Past 1000 distinct rooms, or 1000 list elements, an event is refused rather than
 * fanned out without bound; duplicates do not count against the rooms. */
static void test_room_cap(const rc_routes *t)
{
    outcome o = run_raw(t, "chat.message_created", chat_of(999, 1));
    CHECK_EQ(o.rc, RC_ROUTE_OK);
    CHECK_EQ(strlen(o.rooms) > 0, 1);
    rc_routed x;
    const char *p = chat_of(999, 0);
    CHECK_EQ(rc_routes_apply(t, "chat.message_created", p, strlen(p), &x, NULL, 0), 0);
    CHECK_EQ(x.nrooms, 1000);
    rc_routed_clear(&x);

    o = run_raw(t, "chat.message_created", chat_of(1000, 0));
    CHECK_EQ(o.rc, RC_ROUTE_BAD_FIELD);
    CHECK_STR(o.why, "chat.message_created: more than 1000 rooms");
    o = run_raw(t, "chat.message_created", chat_of(1000, 1));
    CHECK_EQ(o.rc, RC_ROUTE_BAD_FIELD);
    CHECK_STR(o.why, "chat.message_created: message.participantIds has more than 1000 elements");
}

/* What reaches the browser is what the backend wrote, less the whitespace. */
static void test_bytes(const rc_routes *t)
{
    outcome o = run_raw(t, "notification.read",
                        "{ \"readAt\" : { \"z\" : 0.1 , \"a\" : [ 1e2, -0, 1.50 ] } ,\n"
                        "  \"userId\":\"u1\", \"id\": \"caf\xc3\xa9 \\u00e9 \\/ \\\" x\" }");
    CHECK_EQ(o.rc, RC_ROUTE_OK);
    CHECK_STR(o.args, "[{\"id\":\"caf\xc3\xa9 \\u00e9 \\/ \\\" x\",\"readAt\":{\"z\":0.1,\"a\":[1e2,-0,1.50]}}]");

    /* A key written with escapes is the same key. */
    o = run_raw(t, "notification.read", "{\"\\u0069d\":\"n1\",\"userId\":\"u1\",\"readAt\":1}");
    CHECK_EQ(o.rc, RC_ROUTE_OK);
    CHECK_STR(o.args, "[{\"id\":\"n1\",\"readAt\":1}]");

    /* A NUL inside a delivered string is fine; inside a room it is not. */
    o = run_raw(t, "system.announcement", "{\"message\":\"a\\u0000b\"}");
    CHECK_EQ(o.rc, RC_ROUTE_OK);
    CHECK_STR(o.args, "[{\"message\":\"a\\u0000b\"}]");
    EXPECT_FAIL(t, "notification.read", "{'id':1,'readAt':1,'userId':'u\\u0000'}", RC_ROUTE_BAD_FIELD,
                "notification.read: userId has a control character");
}

static void test_missing_and_bad(const rc_routes *t)
{
    EXPECT_FAIL(t, "payment.status_updated", "{'paymentId':'p1','status':'paid','providerPaymentId':null}",
                RC_ROUTE_MISSING_FIELD, "payment.status_updated: missing buyerId, sellerId");
    EXPECT_FAIL(t, "payment.status_updated", "{'paymentId':'p1','buyerId':'b1','sellerId':'s1'}",
                RC_ROUTE_MISSING_FIELD, "payment.status_updated: missing status, providerPaymentId");
    EXPECT_FAIL(t, "notification.created", "{'notification':{'id':'n1'}}", RC_ROUTE_MISSING_FIELD,
                "notification.created: missing notification.recipientId");
    EXPECT_FAIL(t, "notification.created", "{}", RC_ROUTE_MISSING_FIELD,
                "notification.created: missing notification");
    EXPECT_FAIL(t, "notification.created", "{'notification':null}", RC_ROUTE_MISSING_FIELD,
                "notification.created: missing notification");
    EXPECT_FAIL(t, "offer.accepted", "{'offerId':'o1','sellerId':null,'buyerId':'b1'}",
                RC_ROUTE_MISSING_FIELD, "offer.accepted: missing sellerId");
    EXPECT_FAIL(t, "chat.message_created", "{'message':{'chatId':'c1'}}", RC_ROUTE_MISSING_FIELD,
                "chat.message_created: missing message.participantIds");
    EXPECT_FAIL(t, "payment.completed", "{'paymentId':'p1','buyerId':true}", RC_ROUTE_MISSING_FIELD,
                "payment.completed: missing sellerId; buyerId is a boolean, not a string or integer");

    EXPECT_FAIL(t, "payment.completed", "{'paymentId':'p1','buyerId':true,'sellerId':'s1'}",
                RC_ROUTE_BAD_FIELD, "payment.completed: buyerId is a boolean, not a string or integer");
    EXPECT_FAIL(t, "payment.completed", "{'paymentId':'p1','buyerId':'','sellerId':'s1'}",
                RC_ROUTE_BAD_FIELD, "payment.completed: buyerId is an empty string");
    EXPECT_FAIL(t, "payment.completed", "{'paymentId':'p1','buyerId':1.5,'sellerId':'s1'}",
                RC_ROUTE_BAD_FIELD, "payment.completed: buyerId is a fractional number, not a string or integer");
    EXPECT_FAIL(t, "payment.completed", "{'paymentId':'p1','buyerId':'b\\n1','sellerId':'s1'}",
                RC_ROUTE_BAD_FIELD, "payment.completed: buyerId has a control character");
    EXPECT_FAIL(t, "notification.created", "{'notification':'n1'}", RC_ROUTE_BAD_FIELD,
                "notification.created: notification is a string, not an object");
    EXPECT_FAIL(t, "chat.message_created", "{'message':{'chatId':'c1','participantIds':'u1'}}",
                RC_ROUTE_BAD_FIELD, "chat.message_created: message.participantIds is a string, not a list");
    EXPECT_FAIL(t, "chat.message_created", "{'message':{'chatId':'c1','participantIds':['u1',{}]}}",
                RC_ROUTE_BAD_FIELD,
                "chat.message_created: message.participantIds[1] is an object, not a string or integer");
    EXPECT_FAIL(t, "chat.message_created", "{'message':{'chatId':'c1','participantIds':['u1',null]}}",
                RC_ROUTE_BAD_FIELD,
                "chat.message_created: message.participantIds[1] is null, not a string or integer");
}

static void test_bad_payloads(const rc_routes *t)
{
    EXPECT_FAIL(t, "payment.refunded", "{}", RC_ROUTE_NO_ROUTE,
                "payment.refunded: no route for this type");
    EXPECT_FAIL(t, "", "{}", RC_ROUTE_NO_ROUTE, ": no route for this type");
    EXPECT_FAIL(t, "payment.completed", "['p1']", RC_ROUTE_BAD_JSON,
                "payment.completed: payload is a list, not a JSON object");
    EXPECT_FAIL(t, "payment.completed", "'p1'", RC_ROUTE_BAD_JSON,
                "payment.completed: payload is a string, not a JSON object");
    EXPECT_FAIL(t, "payment.completed", "{'paymentId':'p1','buyerId':'b1','sellerId':'s1','buyerId':'x'}",
                RC_ROUTE_BAD_JSON,
                "payment.completed: payload is not JSON: duplicate object key near '\"buyerId\"'");

    outcome o = run(t, "payment.completed", "{'paymentId':");
    CHECK_EQ(o.rc, RC_ROUTE_BAD_JSON);
    CHECK(strncmp(o.why, "payment.completed: payload is not JSON: ", 40) == 0);

    /* jansson would let a raw NUL after a number pass; the table does not. */
    CHECK_EQ(rc_routes_apply(t, "system.announcement", "{\"message\":1\0}", 14, &(rc_routed){0},
                             NULL, 0), RC_ROUTE_BAD_JSON);

    /* Untrusted bytes never reach the reason as anything but printable ASCII. */
    o = run(t, "pay\n\xc3\xa9", "{}");
    CHECK_EQ(o.rc, RC_ROUTE_NO_ROUTE);
    CHECK_STR(o.why, "pay???: no route for this type");

    /* why is optional, and the payload need not be NUL-terminated. */
    rc_routed x;
    const char *p = "{\"message\":\"hi\"}garbage";
    CHECK_EQ(rc_routes_apply(t, "system.announcement", p, 16, &x, NULL, 0), RC_ROUTE_OK);
    CHECK_STR(x.args_json, "[{\"message\":\"hi\"}]");
    rc_routed_clear(&x);
    rc_routed_clear(&x);
    CHECK_EQ(rc_routes_apply(t, "nope", "{}", 2, &x, NULL, 0), RC_ROUTE_NO_ROUTE);

    CHECK_STR(rc_route_result_name(RC_ROUTE_OK), "ok");
    CHECK_STR(rc_route_result_name(RC_ROUTE_NO_ROUTE), "no_route");
    CHECK_STR(rc_route_result_name(RC_ROUTE_BAD_JSON), "bad_json");
    CHECK_STR(rc_route_result_name(RC_ROUTE_MISSING_FIELD), "missing_field");
    CHECK_STR(rc_route_result_name(RC_ROUTE_BAD_FIELD), "bad_field");
    CHECK_STR(rc_route_result_name(-1), "unknown");
}

static void test_describe(const rc_routes *t)
{
    char buf[256];
    CHECK_EQ(rc_routes_describe(t, "payment.status_updated", buf, sizeof buf), 0);
    CHECK_STR(buf, "{paymentId, status, providerPaymentId, buyerId, sellerId}");
    CHECK_EQ(rc_routes_describe(t, "chat.message_created", buf, sizeof buf), 0);
    CHECK_STR(buf, "{message} (message has chatId, participantIds[])");
    CHECK_EQ(rc_routes_describe(t, "payment.created", buf, sizeof buf), 0);
    CHECK_STR(buf, "{payment} (payment has buyerId, sellerId)");
    CHECK_EQ(rc_routes_describe(t, "offer.countered", buf, sizeof buf), 0);
    CHECK_STR(buf, "{offerId, message, requestId}");
    CHECK_EQ(rc_routes_describe(t, "system.announcement", buf, sizeof buf), 0);
    CHECK_STR(buf, "{message}");
    CHECK_EQ(rc_routes_describe(t, "nope", buf, sizeof buf), RC_ENOENT);
    CHECK_STR(buf, "");
    CHECK_EQ(rc_routes_describe(t, "payment.status_updated", buf, 10), RC_ETOOBIG);
    CHECK_STR(buf, "{paymentI");
}

/* A table of one route "t" given its body; returns the load result, errstr in err. */
static int load_one(const char *route, char *err, size_t errlen)
{
    char text[1024];
    rc_routes *r = NULL;
    snprintf(text, sizeof text, "{'version':1,'routes':{'t':%s}}", route);
    int rc = rc_routes_load(q(text), strlen(text), "t.json", &r, err, errlen);
    CHECK(rc == 0 ? r != NULL : r == NULL);
    rc_routes_free(r);
    return rc;
}

#define EXPECT_TABLE_ERR(route, msg)                                                       \
    do {                                                                                   \
        char e_[RC_ERRSTR_LEN] = "";                                                       \
        CHECK_EQ(load_one((route), e_, sizeof e_), RC_EINVAL);                             \
        CHECK_STR(e_, (msg));                                                              \
    } while (0)

static void test_loader_errors(void)
{
    char err[RC_ERRSTR_LEN];
    CHECK_EQ(load_one("{'event':'e','rooms':['a-{x}','b'],'payload':['x']}", err, sizeof err), 0);

    EXPECT_TABLE_ERR("{'event':'e','rooms':['user-{a}','user-{buyerId'],'payload':'p'}",
                     "t.json: route \"t\": rooms[1] \"user-{buyerId\": unclosed \"{\"");
    EXPECT_TABLE_ERR("{'event':'e','rooms':['x-{a[]}-{b[]}'],'payload':'p'}",
                     "t.json: route \"t\": rooms[0] \"x-{a[]}-{b[]}\": two list placeholders (at most one a room)");
    EXPECT_TABLE_ERR("{'event':'e','roms':['a'],'payload':'p'}",
                     "t.json: route \"t\": unknown key \"roms\" (expected event, rooms, payload)");
    EXPECT_TABLE_ERR("{'event':'e','rooms':[],'payload':'p'}",
                     "t.json: route \"t\": \"rooms\" is empty: a route needs a room");
    EXPECT_TABLE_ERR("{'event':'e','rooms':'a','payload':'p'}",
                     "t.json: route \"t\": \"rooms\" must be a list of room templates");
    EXPECT_TABLE_ERR("{'event':'e','rooms':['a'],'payload':5}",
                     "t.json: route \"t\": \"payload\" must be a field name or a list of field names");
    EXPECT_TABLE_ERR("{'event':'e','rooms':['a'],'payload':[]}",
                     "t.json: route \"t\": \"payload\" must be a field name or a list of field names");
    EXPECT_TABLE_ERR("{'event':'e','rooms':['a'],'payload':['a',1]}",
                     "t.json: route \"t\": payload[1] is not a string");
    EXPECT_TABLE_ERR("{'event':'e','rooms':['a'],'payload':['a','a']}",
                     "t.json: route \"t\": payload lists \"a\" twice");
    EXPECT_TABLE_ERR("{'event':'e','rooms':['a'],'payload':'a.b'}",
                     "t.json: route \"t\": payload field \"a.b\" is not a field name (letters, digits, _)");
    EXPECT_TABLE_ERR("{'event':'e','rooms':['a}'],'payload':'p'}",
                     "t.json: route \"t\": rooms[0] \"a}\": \"}\" without \"{\"");
    EXPECT_TABLE_ERR("{'event':'e','rooms':['a-{}'],'payload':'p'}",
                     "t.json: route \"t\": rooms[0] \"a-{}\": empty placeholder \"{}\"");
    EXPECT_TABLE_ERR("{'event':'e','rooms':['a-{x..y}'],'payload':'p'}",
                     "t.json: route \"t\": rooms[0] \"a-{x..y}\": a placeholder is a dotted path of field names (letters, digits, _)");
    EXPECT_TABLE_ERR("{'event':'e','rooms':['a-{x[].y}'],'payload':'p'}",
                     "t.json: route \"t\": rooms[0] \"a-{x[].y}\": \"[]\" may only end a placeholder's path");
    EXPECT_TABLE_ERR("{'event':'e','rooms':['a-{x{y}}'],'payload':'p'}",
                     "t.json: route \"t\": rooms[0] \"a-{x{y}}\": \"{\" inside a placeholder");
    EXPECT_TABLE_ERR("{'event':'e','rooms':['*','admin'],'payload':'p'}",
                     "t.json: route \"t\": \"*\" (every socket) must be the route's only room");
    EXPECT_TABLE_ERR("{'event':'e','rooms':['a','a'],'payload':'p'}",
                     "t.json: route \"t\": rooms[1] repeats rooms[0]");
    EXPECT_TABLE_ERR("{'event':'e','rooms':[''],'payload':'p'}",
                     "t.json: route \"t\": rooms[0] is empty or has a control character");
    EXPECT_TABLE_ERR("{'rooms':['a'],'payload':'p'}", "t.json: route \"t\": missing \"event\"");
    EXPECT_TABLE_ERR("{'event':'','rooms':['a'],'payload':'p'}",
                     "t.json: route \"t\": \"event\" must be a socket event name (1 to 200 bytes, no control characters)");
    EXPECT_TABLE_ERR("['e']", "t.json: route \"t\": must be an object {event, rooms, payload}");

    rc_routes *r = (rc_routes *)1;
    const char *bad[][2] = {
        {"{'version':1,'routes':{},'extra':1}", "x: unknown key \"extra\" (expected version, routes)"},
        {"{'version':2,'routes':{}}", "x: \"version\" must be 1"},
        {"{'version':1,'routes':{}}", "x: \"routes\" must be a non-empty object of type: route"},
        {"{'version':1,'routes':{'a b':{}}}",
         "x: route \"a b\": a type is 1 to 128 letters, digits, '.', '_' or '-'"},
        {"[]", "x: the table must be a JSON object"},
        {"{'version':1,'routes':{'a':1,'a':2}}",
         "x: not JSON: duplicate object key near '\"a\"' (line 1, column 32)"},
    };
    for (size_t i = 0; i < RC_ARRAY_LEN(bad); i++) {
        const char *text = q(bad[i][0]);
        CHECK_EQ(rc_routes_load(text, strlen(text), "x", &r, err, sizeof err), RC_EINVAL);
        CHECK_STR(err, bad[i][1]);
        CHECK(r == NULL);
    }
    /* With no source name there is no prefix. */
    CHECK_EQ(rc_routes_load("[]", 2, NULL, &r, err, sizeof err), RC_EINVAL);
    CHECK_STR(err, "the table must be a JSON object");
}

/* A table whose only room comes from a list: an empty list leaves nowhere to deliver. */
static void test_list_only(void)
{
    const char *text = q("{'version':1,'routes':{'team.ping':{'event':'ping',"
                         "'rooms':['user-{team.members[]}'],'payload':['team']}}}");
    char err[RC_ERRSTR_LEN];
    rc_routes *r = NULL;
    CHECK_EQ(rc_routes_load(text, strlen(text), "team.json", &r, err, sizeof err), 0);
    if (!r)
        return;
    EXPECT_ROUTED(r, "team.ping", "{'team':{'members':['a','b']}}", "ping", "user-a user-b",
                  "[{'team':{'members':['a','b']}}]");
    EXPECT_FAIL(r, "team.ping", "{'team':{'members':[]}}", RC_ROUTE_BAD_FIELD,
                "team.ping: no room to deliver to (\"user-{team.members[]}\" is empty)");
    EXPECT_FAIL(r, "team.ping", "{'team':[]}", RC_ROUTE_BAD_FIELD,
                "team.ping: team is a list, not an object");
    char buf[128];
    CHECK_EQ(rc_routes_describe(r, "team.ping", buf, sizeof buf), 0);
    CHECK_STR(buf, "{team} (team has members[])");
    rc_routes_free(r);
}

static void test_files(void)
{
    char err[RC_ERRSTR_LEN];
    rc_routes *r = NULL;

    /* Tests run from the source tree: the file on disk is the table that is embedded. */
    CHECK_EQ(rc_routes_load_file_or_default("fanout/routes.json", &r, err, sizeof err), 0);
    CHECK_EQ(r ? rc_routes_count(r) : 0, 19);
    rc_routes_free(r);
    CHECK_EQ(rc_routes_load_file_or_default("", &r, err, sizeof err), 0);
    rc_routes_free(r);

    CHECK_EQ(rc_routes_load_file_or_default("/nonexistent/routes.json", &r, err, sizeof err), RC_EIO);
    CHECK_STR(err, "/nonexistent/routes.json: No such file or directory");

    char path[] = "/tmp/test_routes_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(q("{'version':1,'routes':{'a.b':{'event':'e','rooms':['x-{id'],'payload':'p'}}}"), f);
    fclose(f);
    char want[RC_ERRSTR_LEN];
    snprintf(want, sizeof want, "%s: route \"a.b\": rooms[0] \"x-{id\": unclosed \"{\"", path);
    CHECK_EQ(rc_routes_load_file_or_default(path, &r, err, sizeof err), RC_EINVAL);
    CHECK_STR(err, want);
    unlink(path);
}

int main(void)
{
    char err[RC_ERRSTR_LEN] = "";
    rc_routes *t = NULL;

    CHECK_EQ(rc_routes_load_file_or_default(NULL, &t, err, sizeof err), 0);
    CHECK_STR(err, "");
    if (!t)
        CHECK_DONE();
    test_catalog(t);
    test_rooms(t);
    test_room_cap(t);
    test_bytes(t);
    test_missing_and_bad(t);
    test_bad_payloads(t);
    test_describe(t);
    test_loader_errors();
    test_list_only();
    test_files();
    rc_routes_free(t);
    CHECK_DONE();
}
