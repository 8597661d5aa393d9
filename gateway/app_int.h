/* app_int.h: the gateway application's structures, shared by app.c (connect, rooms,
 * emitters, delivery) and app_recovery.c (connection state recovery). Not for other
 * modules. */
#ifndef GW_APP_INT_H
#define GW_APP_INT_H

#include <sys/queue.h>

#include "common/map.h"
#include "gateway/app.h"
#include "gateway/ratelimit.h"
#include "gateway/recovery.h"
#include "gateway/replay.h"
#include "gateway/rooms.h"
#include "gateway/sio_server.h"

#define GW_ID_MAX 128

typedef struct gw_client {
    gw_app *app;
    gw_socket *sock;
    gw_member member;
    char sid[24];
    char *user_id; /* heap: ids are short, and this struct is per connection */
    rc_role role;
    uint32_t gen;         /* tells this socket from a later one with the same sid */
    int64_t exp; /* the token's exp (Unix seconds), 0 for none: the sweep disconnects at it */
    LIST_ENTRY(gw_client) link;
    /* the bounds of issue 12 (docs/security.md) */
    gw_bucket bucket;          /* events per second */
    uint32_t up_pending;       /* client events produced, Kafka's answer not yet back */
    uint32_t up_pending_bytes;
    uint16_t authz_pending;    /* authorization checks asked, not yet answered */
    /* recovery (gateway/recovery.h); the small fields first, with no holes: this struct
       is per connection */
    uint16_t checks;      /* recovered rooms the authorization URL is asked about */
    uint8_t stamp_dirty;
    uint8_t replaying;    /* GW__LIVE, GW__REPLAYING, GW__CHECKING */
    uint8_t ngrants;
    /* what completes each room event's frame: `.<stamp>"]`, the socket's own part of the
       offset; re-signed lazily (stamp_dirty after a join or leave, or older than the
       refresh period), so a join costs the same however many rooms the socket is in */
    char *tail;
    size_t tail_len;
    int64_t stamp_ms;     /* when the stamp in tail was issued (Unix ms) */
    struct gw__grant *grants; /* rooms a grant opened, with its expiry: the stamp carries it */
    struct gw__resume *resume; /* while GW__CHECKING: where the replay starts */
    gw_frame **held;
    uint64_t *held_keys; /* each held event's (room, id) key (dedup.h) */
    size_t nheld;
} gw_client;

#define GW__LIVE 0
#define GW__REPLAYING 1 /* missed events are being replayed; live ones wait in `held` */
#define GW__CHECKING 2  /* recovered rooms are being checked; live events are dropped, the
                           replay that follows the checks covers them */

struct gw_app {
    struct event_base *base;
    const gw_settings *cfg;
    const rc_token_keys *keys;
    gw_sio *sio;
    gw_rooms *rooms;
    rc_map *by_sid;
    LIST_HEAD(, gw_client) clients;
    size_t nclients;
    gw_upstream *up;
    gw_authz *authz;
    int open_policy;
    char rooms_topic[256], client_topic[256];
    struct event *exp_sweep; /* once a second: sockets whose token has expired */
    rc_counter_family *connects, *refusals;
    rc_counter *joins, *leaves, *relays, *upstream_in, *expired;
    gw_rate_config rate;
    int64_t t0_us;           /* the origin of the buckets' milliseconds */
    rc_counter *rate_refused, *rate_dropped, *rate_disconnects;
    /* recovery (NULL rkey: off) */
    const gw_recovery_key *rkey;
    gw_delivery *delivery;
    gw_replay *replay;
    rc_counter_family *recoveries;
    int64_t stamp_refresh_ms;
    uint32_t next_gen;
    struct gw_control *control; /* control records (control.h); NULL: none applied */
};

/* app.c */
/* Whether c's token lets it be in an own room (user-, seller-, buyer-, sellers, buyers,
 * admin) by the rules of the room emitters. */
int gw__app_may_own(const gw_client *c, const char *room);
/* Asks the authorization URL about room for c outside any request of the client (a
 * recovered room): fn(arg, allowed, reason) as gw_authz_fn. 0 when asked, -1 without an
 * authorization URL. */
int gw__app_authz(gw_client *c, const char *room, void (*fn)(void *, int, const char *),
                  void *arg);
/* Joins room: 1 if newly joined, 0 if already in it, GW__TOO_MANY_ROOMS (counted) at the
 * bound on rooms per socket. */
#define GW__TOO_MANY_ROOMS (-1)
int gw__app_join(gw_client *c, const char *room);
void gw__app_leave(gw_client *c, const char *room);
void gw__app_auto_join(gw_client *c);
/* Whether c gets ev: in its room, not the sender, not already through an earlier room. */
int gw__app_wants(const gw_room_event *ev, const gw_client *c);
size_t gw__app_deliver_to(gw_delivery *d, const gw_room_event *ev, gw_client *c);
/* app_recovery.c */
/* Tries to recover the session named by auth's pid/offset for a socket whose token says
 * user/role. Returns 1 when recovered (client set up with its old sid and rooms, replay
 * started, reply filled), 0 otherwise (reason counted). */
int gw__recovery_try(gw_app *app, gw_socket *s, const json_t *auth, gw_client *c, json_t *reply);
/* Once a recovered c is registered (by sid): asks the authorization URL about the rooms
 * that need it, then starts the replay (at once when none does). */
void gw__recovery_begin(gw_client *c);
/* A new session's pid into reply. */
void gw__recovery_new_pid(gw_app *app, gw_client *c, json_t *reply);
/* The socket's rooms changed: its stamp is re-signed before the next event it gets. */
void gw__recovery_rooms_changed(gw_client *c);
/* room was opened by a grant that expires at exp (the stamp carries it), or was left. */
void gw__recovery_granted(gw_client *c, const char *room, int64_t exp);
void gw__recovery_left(gw_client *c, const char *room);
/* Sends a live room event to c, or holds it while c is replaying. key: its dedup key. */
int gw__recovery_send(gw_client *c, gw_frame *f, uint64_t key);
void gw__recovery_client_gone(gw_client *c);
void gw__recovery_setup(gw_app *app, rc_metrics *metrics);

#endif


