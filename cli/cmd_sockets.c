/* cmd_sockets.c: `roomcast sockets join|leave ROOM ROOMS...` and
 * `roomcast sockets disconnect ROOM... [--close]`: server-side control of live sockets on
 * every gateway (gateway/control.h), as Socket.IO's `io.in(ROOM).socketsJoin(ROOMS)`,
 * `socketsLeave(ROOMS)` and `io.in(ROOM).disconnectSockets(close)`. Each writes one
 * control record per target room on the room topic, keyed by that room, with the same
 * id and the full target list, as an event for those rooms would be. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/alloc.h"
#include "common/events.h"
#include "common/kafka.h"

#define CLI_CONTROL_MAX_ROOMS 64 /* gateway/control.h's GW_CONTROL_MAX_ROOMS */

static int cli__room_ok(const char *what, const char *room)
{
    size_t n = strlen(room);
    int ok = n > 0 && n <= 200;
    for (size_t i = 0; ok && i < n; i++)
        ok = (unsigned char)room[i] >= 0x20 && room[i] != 0x7f;
    if (!ok)
        fprintf(stderr, "roomcast: %s \"%s\" must be 1 to 200 bytes with no control character\n",
                what, room);
    return ok;
}

static int cli__sockets_usage(void)
{
    fprintf(stderr, "usage: roomcast sockets join ROOM ROOMS...       sockets in ROOM join ROOMS\n"
                    "       roomcast sockets leave ROOM ROOMS...      sockets in ROOM leave ROOMS\n"
                    "       roomcast sockets disconnect ROOM... [--close]\n"
                    "                                                 disconnect sockets in any ROOM\n"
                    "ROOM \"*\" is every socket. Options: --id ID.\n");
    return 2;
}

/* Writes the record once per target room; prints one line per copy. */
static int cli__sockets_write(const cli_settings *s, const char *id, char **targets, size_t ntargets,
                              Roomcast__V1__RoomControl *ctl)
{
    char topic[256];
    rc_kafka_topic(s->topic_prefix, RC_TOPIC_ROOMS, topic, sizeof topic);
    int64_t now = rc_now_us();
    for (size_t i = 0; i < ntargets; i++) {
        Roomcast__V1__RoomEvent ev = ROOMCAST__V1__ROOM_EVENT__INIT;
        ev.id = (char *)id;
        ev.room = targets[i];
        ev.n_rooms = ntargets;
        ev.rooms = targets;
        ev.produced_at_us = now;
        ev.control = ctl;
        size_t len;
        uint8_t *bytes = rc_events_pack_room(&ev, &len);
        char extra[64];
        snprintf(extra, sizeof extra, "\"id\":\"%s\"", id); /* a UUID: JSON-safe */
        int rc = cli_produce_one(s, topic, targets[i], bytes, len, extra);
        rc_free(bytes);
        if (rc)
            return rc;
    }
    return 0;
}

int cli_cmd_sockets(const cli_settings *s, int argc, char **argv)
{
    static const char *const spec[] = {"id", NULL};
    static const char *const bools[] = {"close", NULL};
    cli_flags f;
    if (cli_flags_parse(argc, argv, spec, bools, &f))
        return 2;
    if (f.npositional < 2)
        return cli__sockets_usage();
    const char *verb = f.positional[0];
    Roomcast__V1__RoomControl ctl = ROOMCAST__V1__ROOM_CONTROL__INIT;
    int disconnect = !strcmp(verb, "disconnect");
    if (!strcmp(verb, "join"))
        ctl.action = ROOMCAST__V1__ROOM_CONTROL__ACTION__ACTION_JOIN;
    else if (!strcmp(verb, "leave"))
        ctl.action = ROOMCAST__V1__ROOM_CONTROL__ACTION__ACTION_LEAVE;
    else if (disconnect)
        ctl.action = ROOMCAST__V1__ROOM_CONTROL__ACTION__ACTION_DISCONNECT;
    else
        return cli__sockets_usage();
    if ((!disconnect && f.npositional < 3) || (!disconnect && cli_flag(&f, "close")))
        return cli__sockets_usage();
    /* disconnect: every positional is a target; join/leave: one target, then the rooms */
    char **targets = (char **)f.positional + 1;
    size_t ntargets = disconnect ? (size_t)f.npositional - 1 : 1;
    ctl.rooms = disconnect ? NULL : (char **)f.positional + 2;
    ctl.n_rooms = disconnect ? 0 : (size_t)f.npositional - 2;
    ctl.close = cli_flag(&f, "close") != NULL;
    if (ctl.n_rooms > CLI_CONTROL_MAX_ROOMS)
        return cli__sockets_usage();
    for (size_t i = 0; i < ntargets; i++)
        if (!cli__room_ok("ROOM", targets[i]))
            return 2;
    for (size_t i = 0; i < ctl.n_rooms; i++)
        if (!cli__room_ok("room", ctl.rooms[i]))
            return 2;
    char id[37];
    if (cli_event_id(&f, id))
        return 2;
    return cli__sockets_write(s, id, targets, ntargets, &ctl);
}
