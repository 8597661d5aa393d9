/* events.c: protobuf <-> JSON forms of roomcast's Kafka messages (see events.h). */
#include "common/events.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"

char *rc_json_dump(const json_t *j)
{
    char *s = json_dumps(j, RC_JSON_FLAGS);
    if (!s)
        abort();
    char *copy = rc_strdup(s);
    free(s);
    return copy;
}

#define RC__PACK(fn, type, pfx)                                                                    \
    uint8_t *fn(const type *msg, size_t *len)                                                      \
    {                                                                                              \
        *len = pfx##__get_packed_size(msg);                                                        \
        uint8_t *buf = rc_malloc(*len);                                                            \
        pfx##__pack(msg, buf);                                                                     \
        return buf;                                                                                \
    }

RC__PACK(rc_events_pack_domain, Roomcast__V1__DomainEvent, roomcast__v1__domain_event)
RC__PACK(rc_events_pack_room, Roomcast__V1__RoomEvent, roomcast__v1__room_event)
RC__PACK(rc_events_pack_client, Roomcast__V1__ClientEvent, roomcast__v1__client_event)

/* Parses JSON text held in a string field; NULL if it is not valid JSON. */
static json_t *rc__events_embedded(const char *text)
{
    if (!text || !*text)
        return json_null();
    return json_loads(text, JSON_DECODE_ANY, NULL);
}

static json_t *rc__events_attachments(size_t n, const ProtobufCBinaryData *att)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_integer((json_int_t)att[i].len));
    return arr;
}

/* A control record's order: {"action": "join"|"leave"|"disconnect"|"unspecified"|N,
 * "rooms": [...], "close": bool}. */
static json_t *rc__events_control(const Roomcast__V1__RoomControl *c)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&roomcast__v1__room_control__action__descriptor, c->action);
    json_t *action = v ? json_string(v->name + strlen("ACTION_")) : json_integer(c->action);
    if (v) { /* "JOIN" -> "join" */
        char low[32];
        snprintf(low, sizeof low, "%s", json_string_value(action));
        for (char *p = low; *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
        json_string_set(action, low);
    }
    json_t *rooms = json_array();
    for (size_t i = 0; i < c->n_rooms; i++)
        json_array_append_new(rooms, json_string(c->rooms[i]));
    return json_pack("{s:o,s:o,s:b}", "action", action, "rooms", rooms, "close", c->close);
}

json_t *rc_events_domain_to_json(const uint8_t *buf, size_t len)
{
    Roomcast__V1__DomainEvent *m = roomcast__v1__domain_event__unpack(NULL, len, buf);
    if (!m)
        return NULL;
    json_t *payload = rc__events_embedded(m->payload_json);
    json_t *j = NULL;
    if (payload)
        j = json_pack("{s:s,s:s,s:s,s:I,s:o,s:s}", "id", m->id, "type", m->type, "aggregateId",
                      m->aggregate_id, "occurredAtMs", (json_int_t)m->occurred_at_ms, "payload",
                      payload, "producer", m->producer);
    roomcast__v1__domain_event__free_unpacked(m, NULL);
    return j;
}

json_t *rc_events_room_to_json(const uint8_t *buf, size_t len)
{
    Roomcast__V1__RoomEvent *m = roomcast__v1__room_event__unpack(NULL, len, buf);
    if (!m)
        return NULL;
    json_t *args = rc__events_embedded(m->args_json);
    json_t *j = NULL;
    if (args) {
        json_t *rooms = json_array();
        for (size_t i = 0; i < m->n_rooms; i++)
            json_array_append_new(rooms, json_string(m->rooms[i]));
        j = json_pack("{s:s,s:s,s:o,s:s,s:o,s:I,s:s,s:s,s:o}", "id", m->id, "room", m->room,
                      "rooms", rooms, "event", m->event, "args", args, "producedAtUs",
                      (json_int_t)m->produced_at_us, "sourceEventId", m->source_event_id,
                      "exceptSid", m->except_sid, "attachments",
                      rc__events_attachments(m->n_attachments, m->attachments));
        if (j && m->control)
            json_object_set_new(j, "control", rc__events_control(m->control));
    }
    roomcast__v1__room_event__free_unpacked(m, NULL);
    return j;
}

json_t *rc_events_client_to_json(const uint8_t *buf, size_t len)
{
    Roomcast__V1__ClientEvent *m = roomcast__v1__client_event__unpack(NULL, len, buf);
    if (!m)
        return NULL;
    json_t *args = rc__events_embedded(m->args_json);
    json_t *j = NULL;
    if (args)
        j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:I,s:o}", "id", m->id, "userId", m->user_id,
                      "role", m->role, "sid", m->sid, "gateway", m->gateway, "event", m->event,
                      "args", args, "receivedAtUs", (json_int_t)m->received_at_us, "attachments",
                      rc__events_attachments(m->n_attachments, m->attachments));
    roomcast__v1__client_event__free_unpacked(m, NULL);
    return j;
}
