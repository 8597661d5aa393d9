/* fuzz_room_event: the bytes of a room event come from Kafka, where anything with the
 * rights to produce to roomcast.rooms (a compromised service, a bad `roomcast produce`)
 * can put anything. gw_room_event_decode (gateway/delivery.c) must never crash, leak or
 * read outside them, and what it accepts must become frames every client can parse.
 *
 * For each input: decode it; when accepted, check what the decoder promises (an id, an
 * event name that is not reserved, a room of at most 200 bytes, at most
 * SIO_MAX_ATTACHMENTS attachments, the room's index in the room list), build the frame
 * every delivery builds, plain and with a recovery vector completed by a socket's tail,
 * and decode each frame's packet again with the Socket.IO codec: it must be an EVENT
 * (BINARY_EVENT with the attachments) named as the event, with the vector last when one
 * was added. (The first run found two bugs: an empty attachment made frame.c memcpy from
 * NULL, and an event name that is not UTF-8 went out raw in a WebSocket text frame,
 * which browsers answer by closing the connection.)
 *
 * A control record (RoomEvent.control set, gateway/control.h) has no event and is never
 * framed: the decoder promises it an id, a room and the room's index, and control.c's
 * check must give a verdict on any order it holds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/control.h"
#include "gateway/delivery.h"
#include "gateway/frame.h"
#include "gateway/socketio.h"

#define VECTOR "AbN11PChNAQBAAEAMWqu"
#define TAIL ".c3RhbXA\"]"

/* The packet of a frame (its text after the Engine.IO digit), decoded; 0 when it is an
 * event named `event` with `attachments` binary parts whose last argument is `last` (NULL:
 * anything). */
static int fuzz_check_frame(const gw_frame *f, const char *event, size_t attachments,
                            const char *last)
{
    sio_packet p;
    if (sio_decode((const uint8_t *)f->text, f->text_len, &p) != 0)
        return -1;
    /* a name that is not UTF-8 arrives with U+FFFD for its bad bytes (socketio.c) */
    json_t *utf8 = json_string(event);
    int ok = (p.type == SIO_EVENT || p.type == SIO_BINARY_EVENT) &&
             (size_t)p.attachments == attachments && json_is_array(p.data) &&
             json_is_string(json_array_get(p.data, 0)) &&
             (!utf8 || !strcmp(json_string_value(json_array_get(p.data, 0)), event));
    json_decref(utf8);
    if (ok && last) {
        const json_t *l = json_array_get(p.data, json_array_size(p.data) - 1);
        ok = json_is_string(l) && !strcmp(json_string_value(l), last);
    }
    sio_packet_clear(&p);
    return ok ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a private copy of exactly size bytes, so ASan catches any read past them */
    uint8_t *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    size_t idx = 99;
    Roomcast__V1__RoomEvent *m = gw_room_event_decode(buf, size, &idx);
    free(buf);
    if (!m)
        return 0;
    if (m->control) {
        if (!*m->id || !*m->room || strlen(m->room) > 200 ||
            (m->n_rooms ? idx >= m->n_rooms || strcmp(m->rooms[idx], m->room) : idx != 0))
            __builtin_trap();
        (void)gw_control_check(m->control);
        roomcast__v1__room_event__free_unpacked(m, NULL);
        return 0;
    }
    if (!*m->id || !*m->event || !*m->room || strlen(m->room) > 200 ||
        sio_is_reserved_event(m->event) || m->n_attachments > SIO_MAX_ATTACHMENTS ||
        (m->n_rooms ? idx >= m->n_rooms || strcmp(m->rooms[idx], m->room) : idx != 0))
        __builtin_trap();

    /* Arguments with numbers jansson cannot hold (1e616: JSON.parse, the client's parser,
       takes them, so the gateway does, jsonvalid.h) are beyond the codec the frames are
       decoded with here; fuzz_jsonvalid holds that check to jansson. Their frames are
       still built and freed. */
    json_t *args = json_loads(m->args_json, 0, NULL);
    int decodable = args != NULL;
    json_decref(args);

    gw_frame *plain = gw_room_event_frame(m, NULL);
    if (decodable && fuzz_check_frame(plain, m->event, m->n_attachments, NULL) != 0)
        __builtin_trap();
    size_t plen;
    if (!gw_frame_poll(plain, &plen) || plen == 0)
        __builtin_trap();
    gw_frame_unref(plain);

    /* with recovery: an open frame ending in ,"<vector>, which a socket completes */
    gw_frame *open = gw_room_event_frame(m, VECTOR);
    gw_frame *closed = gw_frame_close(open, TAIL, strlen(TAIL));
    if (decodable && fuzz_check_frame(closed, m->event, m->n_attachments, VECTOR ".c3RhbXA") != 0)
        __builtin_trap();
    gw_frame *shared = gw_frame_close(open, GW_FRAME_PLAIN_TAIL, 2);
    if (decodable && fuzz_check_frame(shared, m->event, m->n_attachments, VECTOR) != 0)
        __builtin_trap();
    gw_frame_unref(shared);
    gw_frame_unref(closed);
    gw_frame_unref(open);
    roomcast__v1__room_event__free_unpacked(m, NULL);
    return 0;
}
