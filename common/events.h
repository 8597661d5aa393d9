/* events.h: the protobuf messages of proto/roomcast/v1 in and out of their JSON forms,
 * for the CLI (publish, emit, tail) and for logs. The JSON form uses the proto3 JSON
 * mapping's camelCase names; payload_json / args_json appear as the JSON they hold
 * ("payload": {...}, "args": [...]), not as strings.
 *
 * Every function returning json_t* or char* gives the caller a new reference / a string
 * to rc_free. Decoders return NULL for bytes that are not a valid message. */
#ifndef RC_EVENTS_H
#define RC_EVENTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "roomcast/v1/events.pb-c.h"

/* Serialises msg into a new buffer (rc_free) of *len bytes. */
uint8_t *rc_events_pack_domain(const Roomcast__V1__DomainEvent *msg, size_t *len);
uint8_t *rc_events_pack_room(const Roomcast__V1__RoomEvent *msg, size_t *len);
uint8_t *rc_events_pack_client(const Roomcast__V1__ClientEvent *msg, size_t *len);

/* Bytes -> JSON form; NULL when the bytes do not decode or hold invalid JSON text. */
json_t *rc_events_domain_to_json(const uint8_t *buf, size_t len);
json_t *rc_events_room_to_json(const uint8_t *buf, size_t len);
json_t *rc_events_client_to_json(const uint8_t *buf, size_t len);

/* Compact JSON text the way JavaScript's JSON.stringify writes it (UTF-8, no slash escapes). */
char *rc_json_dump(const json_t *j);
#define RC_JSON_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER)

#endif
