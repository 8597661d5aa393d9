/* routes.h: the routing table (CONTRACT §6) as data, shared by the fanout, which applies
 * it to every domain event, and the CLI, which checks `roomcast publish TYPE JSON` against
 * it before producing anything. The shipped table is fanout/routes.json, compiled into
 * every binary; ROOMCAST_ROUTES_FILE replaces it.
 *
 * Table format (JSON; unknown keys anywhere are an error, so a typo cannot pass silently):
 *   {"version": 1, "routes": {
 *     "payment.status_updated": {"event": "payment:status-updated",
 *                                "rooms": ["user-{buyerId}", "user-{sellerId}"],
 *                                "payload": ["paymentId", "status", "providerPaymentId"]},
 *     "chat.message_created": {"event": "chat:new-message", "payload": "message",
 *                              "rooms": ["chat-{message.chatId}",
 *                                        "user-{message.participantIds[]}"]}, ...}}
 *
 *   rooms    Templates: literal text with {path} placeholders. A path is dotted field names
 *            (identifiers) into the payload object. `path[]` is a list: one room per
 *            element; at most one list placeholder per template. "*" alone is every socket
 *            and must be the route's only room. Paths used here are the routing fields.
 *   payload  A string: that one field, delivered as it is; it must be a JSON object.
 *            An array of field names: a new object of exactly those fields, in the listed
 *            order. Every listed field must be present (null is allowed), so a backend
 *            that forgot one is caught at the fanout instead of by the browser.
 *
 * Applying a route to a payload (rc_routes_apply):
 *   - A routing field must be present and a non-empty string or an integer (rendered in
 *     decimal); null counts as missing. List elements follow the same rule.
 *   - An empty list gives no room; that is fine as long as the event still has one room
 *     (chat-{chatId} for a chat with no participants listed), otherwise it is bad_field.
 *   - A room is at most RC_ROUTES_ROOM_MAX bytes with no control characters.
 *   - Rooms are de-duplicated keeping the first, in template order; more than 1000
 *     distinct rooms, or a list of more than 1000 elements, is bad_field.
 *   - Delivered values are the input's bytes with insignificant whitespace removed: numbers,
 *     string escapes, UTF-8 and the key order of nested objects reach the client exactly
 *     as the backend wrote them (re-encoding would turn 0.1 into 0.10000000000000001).
 *   - Payloads with duplicate keys, a raw NUL byte, or integers outside int64 are bad_json.
 *
 * Ownership: an rc_routes is immutable after loading and may be shared by threads; the
 * caller frees it with rc_routes_free. Strings it hands out live as long as it does. An
 * rc_routed belongs to the caller, who releases it with rc_routed_clear. */
#ifndef RC_ROUTES_H
#define RC_ROUTES_H

#include <stddef.h>

#include "common/rc.h"

#define RC_ROUTES_ROOM_MAX 200
/* A table file larger than this is refused: the shipped one is about 3 KB. */
#define RC_ROUTES_FILE_MAX (1024 * 1024)

typedef struct rc_routes rc_routes;

/* The shipped table, generated from fanout/routes.json by the build. */
extern const char rc_routes_embedded[];
extern const size_t rc_routes_embedded_len;

/* Loads and validates a table from JSON text. On failure returns RC_EINVAL and errstr gets
 * one line naming the source, the route and the field, e.g.
 *   routes.json: route "payment.status_updated": rooms[1] "user-{buyerId": unclosed "{"
 * source_name may be NULL (no prefix). On success *out is the caller's. */
int rc_routes_load(const char *json_text, size_t len, const char *source_name, rc_routes **out,
                   char *errstr, size_t errlen);

/* Loads the file at path, or the shipped table when path is NULL or empty. RC_EIO when the
 * file cannot be read (errstr says why), RC_ETOOBIG past RC_ROUTES_FILE_MAX, else as
 * rc_routes_load with the path as the source name. */
int rc_routes_load_file_or_default(const char *path_or_null, rc_routes **out, char *errstr,
                                   size_t errlen);

void rc_routes_free(rc_routes *r);

/* The routes in type order, for listings. type_at returns NULL past the end. */
size_t rc_routes_count(const rc_routes *r);
const char *rc_routes_type_at(const rc_routes *r, size_t i);
/* The socket event name for type, or NULL when the table has no route for it. */
const char *rc_routes_event_of(const rc_routes *r, const char *type);

/* The result of routing one event. All of it belongs to the caller. */
typedef struct {
    char *event;     /* socket event name, "payment:status-updated" */
    char **rooms;    /* target rooms in routing order; {"*"} for every socket */
    size_t nrooms;   /* at least 1 on success */
    char *args_json; /* "[payload]", compact, ready for RoomEvent.args_json */
} rc_routed;

typedef enum {
    RC_ROUTE_OK = 0,
    RC_ROUTE_NO_ROUTE = -200, /* the type has no route */
    RC_ROUTE_BAD_JSON,        /* the payload is not a JSON object */
    RC_ROUTE_MISSING_FIELD,   /* a routing or payload field is absent (or a null routing field) */
    RC_ROUTE_BAD_FIELD        /* a field is there but of the wrong kind, or makes a bad room */
} rc_route_result;

/* "ok", "no_route", "bad_json", "missing_field", "bad_field" ("unknown" otherwise): the
 * dead-letter reason and the metrics label. */
const char *rc_route_result_name(int r);

/* Applies the route for type to the payload (JSON object text of len bytes). Returns
 * RC_ROUTE_OK and fills *out, or a negative rc_route_result and leaves *out empty. On
 * failure why (may be NULL) gets one line naming the type and every missing field, e.g.
 *   payment.status_updated: missing buyerId, sellerId
 * or the first field of the wrong kind:
 *   chat.message_created: message.participantIds[1] is an object, not a string or integer */
int rc_routes_apply(const rc_routes *r, const char *type, const char *payload_json, size_t len,
                    rc_routed *out, char *why, size_t whylen);

/* Frees what *x holds and zeroes it; safe on a zeroed or already cleared value. */
void rc_routed_clear(rc_routed *x);

/* What a type's payload must hold, for the CLI's help and errors: delivered fields first,
 * then routing fields, with the inner fields of objects after them, e.g.
 *   {paymentId, status, providerPaymentId, buyerId, sellerId}
 *   {message} (message has chatId, participantIds[])
 * Returns 0, RC_ENOENT for an unknown type, RC_ETOOBIG when buf was too small (it then
 * holds a truncated, terminated text). */
int rc_routes_describe(const rc_routes *r, const char *type, char *buf, size_t len);

#endif
