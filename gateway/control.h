/* control.h: server-side control of live sockets through Kafka (Socket.IO's
 * `io.in(room).socketsJoin(rooms)`, `socketsLeave(rooms)` and `disconnectSockets(close)`,
 * across every gateway). The backend writes a control record: a RoomEvent whose
 * `control` is set (proto/roomcast/v1/events.proto), on the room topic, keyed by its
 * target room like any room event, so it takes effect in the order it was written
 * relative to the events of that room. Every gateway applies it to its local sockets in
 * the room ("*": every socket); a record for several rooms acts once per socket.
 *
 *   join        the sockets join the record's rooms: they count as the socket's own
 *               rooms, so connection state recovery brings them back (rooms token)
 *   leave       the sockets leave them
 *   disconnect  Socket.IO DISCONNECT from the server ("io server disconnect": the stock
 *               client does not reconnect by itself); with close, the connection too
 *
 * While a socket recovers, the records it missed are replayed to it like events: join
 * and leave act on it, so its rooms are what they would have been; disconnect does not
 * (as in Socket.IO, disconnectSockets reaches the sockets connected at that moment, and
 * a client that reconnects after being disconnected must not be disconnected again by
 * the same record). Rooms a socket already had when it last received an event come back
 * at once with the rest of its rooms (the rooms token); only a room joined by a record it
 * had not yet seen an event after comes back when the replay reaches that record, so a
 * live event of that room in the replay's few hundred milliseconds finds no member.
 * Live records that arrive during a socket's replay act at once.
 *
 * A record that breaks the rules (unknown action; join or leave without 1 to
 * GW_CONTROL_MAX_ROOMS rooms of 1 to 200 bytes with no control character; disconnect
 * with rooms) is counted as invalid, logged (rate-limited) and skipped. Runs on the
 * event loop thread. Owns nothing of the app's; borrows the app for its life. */
#ifndef GW_CONTROL_H
#define GW_CONTROL_H

#include "common/metrics.h"
#include "gateway/app.h"
#include "gateway/delivery.h"
#include "roomcast/v1/events.pb-c.h"

#define GW_CONTROL_MAX_ROOMS 64
/* The grant expiry a recovery stamp carries for a room a control record joined (Unix
 * seconds, far off): the room comes back with the socket until the socket leaves it, as
 * the rooms a client opened with a grant come back until the grant expires. The stamp is
 * signed with the cluster secret, so no client can claim one. */
#define GW_CONTROL_GRANT_EXP ((int64_t)1 << 40)

typedef struct gw_control gw_control;
struct gw_client;

/* Makes the app's control (the app keeps a pointer for the recovery replay). */
gw_control *gw_control_new(gw_app *app, rc_metrics *metrics);
void gw_control_free(gw_control *ctl);

/* A gw_control_fn (gateway/delivery.h), ctx being the gw_control: applies a live record
 * to the local sockets of ev's room. */
void gw_control_apply(void *ctx, const gw_room_event *ev, const Roomcast__V1__RoomControl *rc);

/* A record replayed to one recovering socket that wants it (in the room, not reached
 * through an earlier room): join and leave act on it, disconnect does not. */
void gw_control_replayed(gw_control *ctl, struct gw_client *c, const Roomcast__V1__RoomControl *rc);

/* NULL when rc follows the rules above, else why not (a static string). */
const char *gw_control_check(const Roomcast__V1__RoomControl *rc);

#endif
