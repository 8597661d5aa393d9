/* app_recovery.c: Socket.IO connection state recovery on any gateway (see recovery.h for
 * the tokens and replay.h for the replay). A recovered socket keeps its sid and pid (so
 * the stock client reports `socket.recovered`), gets its rooms back from what it carries,
 * receives what it missed in order per room, exactly once, and then the live events that
 * arrived meanwhile. */
#include <event2/event.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/token.h"
#include "gateway/app_int.h"

#define GW_HELD_MAX 20000 /* live events held for one replaying socket */

static void gw__count(gw_app *app, const char *result)
{
    rc_counter_inc(rc_counter_get(app->recoveries, result));
}

/* The rooms a user and role get on connect, as gw__app_auto_join gives them. */
static size_t gw__auto_rooms(const gw_client *c, char names[4][160])
{
    size_t n = 0;
    snprintf(names[n++], 160, "user-%s", c->user_id);
    if (c->role == RC_ROLE_BUYER) {
        snprintf(names[n++], 160, "buyer-%s", c->user_id);
        snprintf(names[n++], 160, "buyers");
    } else if (c->role == RC_ROLE_SELLER) {
        snprintf(names[n++], 160, "seller-%s", c->user_id);
        snprintf(names[n++], 160, "sellers");
    } else if (c->role == RC_ROLE_ADMIN) {
        snprintf(names[n++], 160, "admin");
    }
    return n;
}

#define GW_PLAIN_TAIL GW_FRAME_PLAIN_TAIL

static const char *gw__tail(const gw_client *c, size_t *len)
{
    *len = c->tail ? c->tail_len : 2;
    return c->tail ? c->tail : GW_PLAIN_TAIL;
}

void gw__recovery_rooms_changed(gw_client *c)
{
    char autos[4][160];
    size_t na = gw__auto_rooms(c, autos);
    const char *list[GW_RECOVERY_MAX_ROOMS];
    char *owned[GW_RECOVERY_MAX_ROOMS];
    size_t n = 0;
    for (size_t i = 0; i < c->member.nin && n < GW_RECOVERY_MAX_ROOMS; i++) {
        const char *room = gw_room_name(c->member.in[i].room);
        int is_auto = 0;
        for (size_t k = 0; k < na; k++)
            is_auto |= !strcmp(autos[k], room);
        if (!is_auto) {
            owned[n] = rc_malloc(strlen(room) + 2);
            sprintf(owned[n], "+%s", room);
            list[n] = owned[n];
            n++;
        }
    }
    for (size_t k = 0; k < na && n < GW_RECOVERY_MAX_ROOMS; k++)
        if (!gw_member_in(&c->member, autos[k], strlen(autos[k]))) {
            owned[n] = rc_malloc(strlen(autos[k]) + 2);
            sprintf(owned[n], "-%s", autos[k]);
            list[n] = owned[n];
            n++;
        }
    rc_free(c->tail);
    c->tail = NULL;
    if (n) {
        char tok[2048];
        int tl = gw_rooms_token_encode(c->app->rkey, c->sid, list, n, tok + 1, sizeof tok - 3);
        if (tl > 0) {
            tok[0] = '.';
            memcpy(tok + 1 + tl, GW_PLAIN_TAIL, 3);
            c->tail = rc_strdup(tok);
            c->tail_len = (size_t)tl + 3;
        }
    }
    for (size_t i = 0; i < n; i++)
        rc_free(owned[i]);
}

void gw__recovery_new_pid(gw_app *app, gw_client *c, json_t *reply)
{
    gw_pid pid = {.role = (int)c->role};
    snprintf(pid.sid, sizeof pid.sid, "%s", c->sid);
    snprintf(pid.user_id, sizeof pid.user_id, "%s", c->user_id);
    gw_delivery_position(app->delivery, &pid.v);
    char tok[GW_RECOVERY_MAX_PARTITIONS * 10 + 512];
    if (gw_pid_encode(app->rkey, &pid, tok, sizeof tok) > 0)
        json_object_set_new(reply, "pid", json_string(tok));
    gw__recovery_rooms_changed(c);
    gw__count(app, "new");
}

/* Splits "<vector>[.<rooms>]" and checks both parts; 0 when valid. */
static int gw__parse_offset(gw_app *app, const char *sid, const char *off, gw_vector *v,
                            char *buf, size_t buflen, const char **rooms, int *nrooms)
{
    const char *dot = strchr(off, '.');
    size_t vl = dot ? (size_t)(dot - off) : strlen(off);
    if (gw_vector_decode(app->rkey, off, vl, v) != 0)
        return -1;
    *nrooms = 0;
    if (dot) {
        *nrooms = gw_rooms_token_decode(app->rkey, sid, dot + 1, strlen(dot + 1), buf, buflen,
                                        rooms, GW_RECOVERY_MAX_ROOMS);
        if (*nrooms < 0)
            return -1;
    }
    return 0;
}

int gw__recovery_try(gw_app *app, gw_socket *s, const json_t *auth, gw_client *c, json_t *reply)
{
    const char *pid_tok = json_string_value(json_object_get(auth, "pid"));
    const char *off = json_string_value(json_object_get(auth, "offset"));
    if (!pid_tok) {
        gw__count(app, "none");
        return 0;
    }
    gw_pid pid;
    gw_vector v;
    char buf[GW_RECOVERY_MAX_ROOMS * 210];
    const char *rooms[GW_RECOVERY_MAX_ROOMS];
    int nrooms = 0;
    if (gw_pid_decode(app->rkey, pid_tok, strlen(pid_tok), &pid) != 0 ||
        strcmp(pid.user_id, c->user_id) != 0 || pid.role != (int)c->role ||
        (off && gw__parse_offset(app, pid.sid, off, &v, buf, sizeof buf, rooms, &nrooms) != 0)) {
        gw__count(app, "invalid");
        rc_log_limited(RC_LOG_INFO, "recovery refused: invalid token", "{s:s}", "user", c->user_id);
        return 0;
    }
    if (!off)
        v = pid.v; /* no event received yet: everything since it connected */
    if (rc_now_us() / 1000 - v.at_ms > app->cfg->recovery_window * 1000) {
        gw__count(app, "expired");
        return 0;
    }
    if (!gw_delivery_still_held(app->delivery, &v)) {
        gw__count(app, "offset_gone");
        return 0;
    }
    snprintf(c->sid, sizeof c->sid, "%s", pid.sid);
    gw_socket_set_id(s, pid.sid);
    json_object_set_new(reply, "pid", json_string(pid_tok));
    gw__app_auto_join(c);
    for (int i = 0; i < nrooms; i++) {
        if (rooms[i][0] == '+')
            gw__app_join(c, rooms[i] + 1);
        else
            gw__app_leave(c, rooms[i] + 1);
    }
    gw__recovery_rooms_changed(c);
    gw_vector now;
    gw_delivery_position(app->delivery, &now);
    c->replaying = 1;
    gw_replay_start(app->replay, c->sid, &v, &now);
    gw__count(app, "recovered");
    return 1;
}

int gw__recovery_send(gw_client *c, gw_frame *f)
{
    size_t tl;
    const char *tail = gw__tail(c, &tl);
    if (!c->replaying)
        return gw_socket_send_frame_tail(c->sock, f, tail, tl);
    if (c->nheld == GW_HELD_MAX) {
        gw_session_close(gw_socket_session(c->sock), "slow client");
        return 0;
    }
    c->held = rc_realloc(c->held, (c->nheld + 1) * sizeof *c->held);
    c->held[c->nheld++] = gw_frame_close(f, tail, tl);
    return 1;
}

void gw__recovery_client_gone(gw_client *c)
{
    for (size_t i = 0; i < c->nheld; i++)
        gw_frame_unref(c->held[i]);
    rc_free(c->held);
    rc_free(c->tail);
}

/* ---- the replay's callbacks ----------------------------------------------------------------- */

static void gw__replayed(void *ctx, const char *sid, const Roomcast__V1__RoomEvent *m,
                         size_t room_index, const gw_vector *vector)
{
    gw_app *app = ctx;
    gw_client *c = rc_map_get(app->by_sid, sid, strlen(sid));
    if (!c || !c->replaying)
        return;
    const char *single[1] = {m->room};
    gw_room_event ev = {
        .id = m->id, .room = m->room,
        .rooms = m->n_rooms ? (const char *const *)m->rooms : single,
        .nrooms = m->n_rooms ? m->n_rooms : 1, .room_index = room_index,
        .except_sid = m->except_sid,
    };
    if (!gw__app_wants(&ev, c))
        return;
    char vec[GW_RECOVERY_MAX_PARTITIONS * 10 + 64];
    if (gw_vector_encode(app->rkey, vector, vec, sizeof vec) < 0)
        return;
    gw_frame *f = gw_room_event_frame(m, vec);
    size_t tl;
    const char *tail = gw__tail(c, &tl);
    gw_socket_send_frame_tail(c->sock, f, tail, tl);
    gw_frame_unref(f);
}

static void gw__replay_done(void *ctx, const char *sid, int ok, size_t replayed)
{
    gw_app *app = ctx;
    gw_client *c = rc_map_get(app->by_sid, sid, strlen(sid));
    if (!c)
        return;
    c->replaying = 0;
    if (!ok) { /* the client reconnects and tries again */
        gw__count(app, "replay_failed");
        gw_session_close(gw_socket_session(c->sock), "transport error");
        return;
    }
    for (size_t i = 0; i < c->nheld; i++) {
        gw_socket_send_frame(c->sock, c->held[i]);
        gw_frame_unref(c->held[i]);
    }
    rc_free(c->held);
    c->held = NULL;
    c->nheld = 0;
    rc_log_debug("recovered", "{s:s,s:s,s:I}", "sid", sid, "user", c->user_id, "replayed",
                 (json_int_t)replayed);
}

void gw__recovery_setup(gw_app *app, rc_metrics *metrics)
{
    app->recoveries = rc_counter_family_new(
        metrics, "roomcast_gateway_recoveries_total",
        "Connects by connection state recovery result: new (no pid), recovered, expired "
        "(past the window), offset_gone (Kafka no longer has it), invalid, replay_failed",
        "result");
    gw_replay_handlers h = {gw__replayed, gw__replay_done};
    char err[RC_ERRSTR_LEN], client_id[200];
    snprintf(client_id, sizeof client_id, "roomcast-gateway-%s", app->cfg->gateway_id);
    app->replay = gw_replay_new(app->base, app->cfg->kafka_brokers, gw_delivery_topic(app->delivery),
                                client_id, &h, app, metrics, err, sizeof err);
    if (!app->replay) {
        rc_log_error("recovery off: no replay consumer", "{s:s}", "error", err);
        app->rkey = NULL;
    }
}
