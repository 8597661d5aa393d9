/* app.c: roomcast's Socket.IO application (see app.h). */
#include "gateway/app.h"
#include "gateway/app_int.h"

#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>

#include "common/alloc.h"
#include "common/events.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/map.h"
#include "gateway/rooms.h"
#include "gateway/sio_server.h"

/* ---- small helpers -------------------------------------------------------------------------- */

static void gw__refuse(gw_app *app, const char *reason, const gw_client *c, const char *detail)
{
    rc_counter_inc(rc_counter_get(app->refusals, reason));
    rc_log_limited(RC_LOG_INFO, "refused", "{s:s,s:s,s:s,s:s}", "reason", reason, "user",
                   c ? c->user_id : "", "sid", c ? c->sid : "", "detail", detail ? detail : "");
}

static void gw__ack(gw_client *c, const sio_packet *p, int ok, const char *error)
{
    if (!p->has_id)
        return;
    json_t *res = ok ? json_pack("[{s:b}]", "ok", 1) : json_pack("[{s:b,s:s}]", "ok", 0, "error", error);
    gw_socket_ack(c->sock, p->id, res);
    json_decref(res);
}

/* An id argument: a string of 1..127 bytes without control characters, or an integer. */
static int gw__id_arg(const json_t *v, char *out, size_t len)
{
    if (json_is_integer(v)) {
        snprintf(out, len, "%lld", (long long)json_integer_value(v));
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (n == 0 || n >= len || n >= GW_ID_MAX)
        return -1;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return -1;
    memcpy(out, s, n + 1);
    return 0;
}

int gw__app_join(gw_client *c, const char *room)
{
    if (c->member.nin >= (size_t)c->app->cfg->max_rooms_per_socket &&
        !gw_member_in(&c->member, room, strlen(room))) {
        gw__refuse(c->app, "too_many_rooms", c, room);
        return GW__TOO_MANY_ROOMS;
    }
    int r = gw_rooms_join(c->app->rooms, &c->member, room, strlen(room));
    if (r) {
        rc_counter_inc(c->app->joins);
        if (c->app->rkey)
            gw__recovery_rooms_changed(c);
    }
    return r;
}

void gw__app_leave(gw_client *c, const char *room)
{
    if (gw_rooms_leave(c->app->rooms, &c->member, room, strlen(room))) {
        rc_counter_inc(c->app->leaves);
        if (c->app->rkey) {
            gw__recovery_left(c, room);
            gw__recovery_rooms_changed(c);
        }
    }
}

/* The rules of the own-room emitters (gw__own_room), as a question about a room name. */
int gw__app_may_own(const gw_client *c, const char *room)
{
    static const struct {
        const char *prefix;
        rc_role role; /* RC_ROLE_NONE: any */
    } own[] = {{"user-", RC_ROLE_NONE}, {"seller-", RC_ROLE_SELLER}, {"buyer-", RC_ROLE_BUYER}};
    for (size_t i = 0; i < RC_ARRAY_LEN(own); i++) {
        size_t n = strlen(own[i].prefix);
        if (!strncmp(room, own[i].prefix, n))
            return !strcmp(room + n, c->user_id) && (own[i].role == RC_ROLE_NONE || own[i].role == c->role);
    }
    return (!strcmp(room, "sellers") && c->role == RC_ROLE_SELLER) ||
           (!strcmp(room, "buyers") && c->role == RC_ROLE_BUYER) ||
           (!strcmp(room, "admin") && c->role == RC_ROLE_ADMIN);
}

int gw__app_authz(gw_client *c, const char *room, void (*fn)(void *, int, const char *), void *arg)
{
    if (!c->app->authz)
        return -1;
    gw_authz_check(c->app->authz, c->user_id, rc_role_name(c->role), room, fn, arg);
    return 0;
}

/* ---- connect and disconnect ------------------------------------------------------------------ */

/* One timer for all sockets rather than one each (a struct event is about as big as the
 * rest of a client): at most a second late, which a token's expiry can afford. */
static void gw__exp_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    gw_app *app = arg;
    int64_t now = rc_now_us() / 1000000;
    gw_client *c, *next;
    for (c = LIST_FIRST(&app->clients); c; c = next) {
        next = LIST_NEXT(c, link); /* the disconnect below unlinks c only */
        if (c->exp && c->exp <= now) {
            rc_counter_inc(app->expired);
            rc_log_info("token expired: socket disconnected", "{s:s,s:s}", "user", c->user_id,
                        "sid", c->sid);
            gw_socket_disconnect(c->sock, 1);
        }
    }
}

void gw__app_auto_join(gw_client *c)
{
    char room[GW_ID_MAX + 16];
    snprintf(room, sizeof room, "user-%s", c->user_id);
    gw__app_join(c, room);
    if (c->role == RC_ROLE_BUYER) {
        snprintf(room, sizeof room, "buyer-%s", c->user_id);
        gw__app_join(c, room);
        gw__app_join(c, "buyers");
    } else if (c->role == RC_ROLE_SELLER) {
        snprintf(room, sizeof room, "seller-%s", c->user_id);
        gw__app_join(c, room);
        gw__app_join(c, "sellers");
    } else if (c->role == RC_ROLE_ADMIN) {
        gw__app_join(c, "admin");
    }
}

static int gw__nsp_allowed(const char *nsp, size_t len, void *ctx)
{
    return len == 1 && nsp[0] == '/';
}

static int gw__on_connect(gw_socket *s, const json_t *auth, json_t *reply, json_t **error,
                          void *ctx)
{
    gw_app *app = ctx;
    json_t *tok = json_object_get(auth, "token");
    rc_token_claims claims;
    int r = json_is_string(tok)
                ? rc_token_verify(app->keys, RC_TOKEN_LOGIN, json_string_value(tok),
                                  json_string_length(tok), rc_now_us() / 1000000, &claims)
                : RC_TOKEN_MALFORMED;
    if (r != RC_TOKEN_OK) {
        const char *why = tok ? rc_token_result_name(r) : "missing";
        rc_counter_inc(rc_counter_get(app->connects, "unauthorized"));
        char reason[64];
        snprintf(reason, sizeof reason, "token_%s", why);
        gw__refuse(app, reason, NULL, gw_session_remote(gw_socket_session(s)));
        *error = json_pack("{s:s}", "message", "unauthorized");
        return -1;
    }
    gw_client *c = rc_calloc(1, sizeof *c);
    c->app = app;
    c->sock = s;
    c->member.owner = c;
    c->user_id = rc_strdup(claims.user_id);
    c->role = claims.role;
    c->gen = ++app->next_gen;
    gw_bucket_init(&c->bucket, &app->rate, (uint32_t)((rc_now_us() - app->t0_us) / 1000));
    int recovered = app->rkey && gw__recovery_try(app, s, auth, c, reply);
    if (!recovered)
        snprintf(c->sid, sizeof c->sid, "%s", gw_socket_id(s));
    gw_client *stale = rc_map_get(app->by_sid, c->sid, strlen(c->sid));
    if (stale) /* the same session still open here on a dead transport: it goes */
        gw_session_close(gw_socket_session(stale->sock), "transport close");
    gw_socket_set_data(s, c);
    rc_map_put(app->by_sid, c->sid, strlen(c->sid), c);
    LIST_INSERT_HEAD(&app->clients, c, link);
    app->nclients++;
    if (recovered) {
        gw__recovery_begin(c);
    } else {
        gw__app_auto_join(c);
        if (app->rkey)
            gw__recovery_new_pid(app, c, reply);
    }
    /* a token without exp (ROOMCAST_JWT_REQUIRE_EXP=false) lives the maximum lifetime */
    c->exp = claims.exp ? claims.exp
             : app->cfg->jwt_max_lifetime ? rc_now_us() / 1000000 + app->cfg->jwt_max_lifetime : 0;
    rc_counter_inc(rc_counter_get(app->connects, "ok"));
    return 0;
}

static void gw__on_disconnect(gw_socket *s, const char *reason, void *ctx)
{
    gw_app *app = ctx;
    gw_client *c = gw_socket_data(s);
    if (!c)
        return;
    gw_rooms_leave_all(app->rooms, &c->member);
    if (rc_map_get(app->by_sid, c->sid, strlen(c->sid)) == c) /* not if a recovery took the sid */
        rc_map_del(app->by_sid, c->sid, strlen(c->sid));
    if (app->rkey)
        gw__recovery_client_gone(c);
    LIST_REMOVE(c, link);
    app->nclients--;
    gw_socket_set_data(s, NULL);
    rc_free(c->user_id);
    rc_free(c);
}

/* ---- asynchronous answers (authorization, Kafka acks) ----------------------------------------- */

/* A pending answer names its socket by sid, never by pointer: the socket may be gone. */
typedef struct {
    gw_app *app;
    char sid[24];
    int has_ack;
    uint64_t ack_id;
    uint32_t bytes; /* upstream: what the socket's share holds for it */
    char room[GW_ID_MAX + 16];
} gw__ticket;

static gw__ticket *gw__ticket_new(gw_client *c, const sio_packet *p, const char *room)
{
    gw__ticket *t = rc_calloc(1, sizeof *t);
    t->app = c->app;
    memcpy(t->sid, c->sid, sizeof t->sid);
    t->has_ack = p->has_id;
    t->ack_id = p->id;
    if (room)
        snprintf(t->room, sizeof t->room, "%s", room);
    return t;
}

static void gw__ticket_ack(gw__ticket *t, gw_client *c, int ok, const char *error)
{
    sio_packet p = {.has_id = t->has_ack, .id = t->ack_id};
    gw__ack(c, &p, ok, error);
}

static void gw__authz_answer(void *arg, int allowed, const char *reason)
{
    gw__ticket *t = arg;
    gw_client *c = rc_map_get(t->app->by_sid, t->sid, strlen(t->sid));
    if (c) {
        c->authz_pending -= c->authz_pending ? 1 : 0;
        const char *error = !strcmp(reason, "busy") ? "busy" : "forbidden";
        if (allowed && gw__app_join(c, t->room) == GW__TOO_MANY_ROOMS)
            allowed = 0, error = "too_many_rooms";
        else if (!allowed)
            gw__refuse(c->app, !strcmp(reason, "busy") ? "authz_busy" : "forbidden_room", c, t->room);
        gw__ticket_ack(t, c, allowed, error);
    }
    rc_free(t);
}

/* Asks the authorization URL, within the socket's bound on checks in flight
 * (ROOMCAST_AUTHZ_MAX_PENDING_PER_SOCKET: past it, "too_many_pending" at once); the
 * bound on all checks is the authz module's ("busy"). */
static void gw__authz_ask(gw_client *c, const sio_packet *p, const char *room)
{
    if (c->authz_pending >= (uint16_t)c->app->cfg->authz_max_pending_per_socket) {
        gw__refuse(c->app, "too_many_pending", c, room);
        return gw__ack(c, p, 0, "too_many_pending");
    }
    c->authz_pending++;
    gw_authz_check(c->app->authz, c->user_id, rc_role_name(c->role), room, gw__authz_answer,
                   gw__ticket_new(c, p, room));
}

/* Kafka's answer for an upstream event: its share goes back to the socket (if the
 * session is still here: a recovered one starts with an empty share), its ack goes out. */
static void gw__upstream_answer(void *arg, const char *error)
{
    gw__ticket *t = arg;
    gw_client *c = rc_map_get(t->app->by_sid, t->sid, strlen(t->sid));
    if (c) {
        c->up_pending -= c->up_pending ? 1 : 0;
        c->up_pending_bytes -= c->up_pending_bytes < t->bytes ? c->up_pending_bytes : t->bytes;
        gw__ticket_ack(t, c, error == NULL, error);
    }
    rc_free(t);
}

/* Produces bytes for c within its share of the upstream queue
 * (ROOMCAST_UPSTREAM_PENDING_PER_SOCKET, ..._BYTES_PER_SOCKET), so that one socket cannot
 * fill the queue everyone's events go through; past it the event is refused ("busy"). */
static void gw__upstream_send(gw_client *c, const sio_packet *p, const char *topic,
                              const char *key, uint8_t *bytes, size_t len)
{
    gw_app *app = c->app;
    if (c->up_pending >= (uint32_t)app->cfg->upstream_pending_per_socket ||
        c->up_pending_bytes + len > (size_t)app->cfg->upstream_pending_bytes_per_socket) {
        rc_free(bytes);
        gw__refuse(app, "upstream_busy", c, topic);
        return gw__ack(c, p, 0, "busy");
    }
    gw__ticket *t = gw__ticket_new(c, p, NULL);
    t->bytes = (uint32_t)len;
    c->up_pending++;
    c->up_pending_bytes += (uint32_t)len;
    gw_upstream_send(app->up, topic, key, bytes, len, gw__upstream_answer, t);
}

/* ---- room emitters ------------------------------------------------------------------------------- */

/* join-user-room, join/leave-seller-room, join/leave-buyer-room: the id must be the
 * token's user, and the role must match for seller and buyer rooms. */
static void gw__own_room(gw_client *c, const sio_packet *p, const char *kind, int join)
{
    char id[GW_ID_MAX], room[GW_ID_MAX + 16];
    if (gw__id_arg(json_array_get(p->data, 1), id, sizeof id) != 0) {
        gw__refuse(c->app, "bad_argument", c, kind);
        return gw__ack(c, p, 0, "forbidden");
    }
    rc_role need = !strcmp(kind, "seller") ? RC_ROLE_SELLER
                   : !strcmp(kind, "buyer") ? RC_ROLE_BUYER : RC_ROLE_NONE;
    if (strcmp(id, c->user_id) != 0 || (need != RC_ROLE_NONE && c->role != need)) {
        if (!join) /* leaving is always allowed */
            return gw__ack(c, p, 1, NULL);
        gw__refuse(c->app, "forbidden_room", c, kind);
        return gw__ack(c, p, 0, "forbidden");
    }
    snprintf(room, sizeof room, "%s-%s", kind, id);
    if (join) {
        if (gw__app_join(c, room) == GW__TOO_MANY_ROOMS ||
            (need != RC_ROLE_NONE &&
             gw__app_join(c, need == RC_ROLE_SELLER ? "sellers" : "buyers") == GW__TOO_MANY_ROOMS))
            return gw__ack(c, p, 0, "too_many_rooms");
    } else {
        gw__app_leave(c, room);
        if (need != RC_ROLE_NONE)
            gw__app_leave(c, need == RC_ROLE_SELLER ? "sellers" : "buyers");
    }
    gw__ack(c, p, 1, NULL);
}

/* A room grant: a token signed with the connection key, typed as a grant (token.h),
 * sub = the user, room = the room. Returns its exp (> 0) when it opens room, else 0. */
static int64_t gw__grant_ok(gw_client *c, const json_t *grant, const char *room)
{
    if (!json_is_string(grant))
        return 0;
    rc_token_claims g;
    int r = rc_token_verify(c->app->keys, RC_TOKEN_GRANT, json_string_value(grant),
                            json_string_length(grant), rc_now_us() / 1000000, &g);
    if (r != RC_TOKEN_OK) {
        char reason[64];
        snprintf(reason, sizeof reason, "grant_%s", rc_token_result_name(r));
        gw__refuse(c->app, reason, c, room);
        return 0;
    }
    return !strcmp(g.user_id, c->user_id) && !strcmp(g.room, room) ? g.exp : 0;
}

/* join/leave-request-room and join/leave-chat-room. */
static void gw__entity_room(gw_client *c, const sio_packet *p, const char *kind, int join)
{
    char id[GW_ID_MAX], room[GW_ID_MAX + 16];
    if (gw__id_arg(json_array_get(p->data, 1), id, sizeof id) != 0) {
        gw__refuse(c->app, "bad_argument", c, kind);
        return gw__ack(c, p, 0, "forbidden");
    }
    snprintf(room, sizeof room, "%s-%s", kind, id);
    if (!join) {
        gw__app_leave(c, room);
        return gw__ack(c, p, 1, NULL);
    }
    if (gw_member_in(&c->member, room, strlen(room)))
        return gw__ack(c, p, 1, NULL);
    if (c->member.nin >= (size_t)c->app->cfg->max_rooms_per_socket) { /* before any authz */
        gw__refuse(c->app, "too_many_rooms", c, room);
        return gw__ack(c, p, 0, "too_many_rooms");
    }
    int64_t grant_exp = gw__grant_ok(c, json_array_get(p->data, 2), room);
    if (grant_exp || c->app->open_policy) {
        if (gw__app_join(c, room) == 1 && grant_exp && c->app->rkey)
            gw__recovery_granted(c, room, grant_exp); /* the stamp carries it */
        return gw__ack(c, p, 1, NULL);
    }
    if (c->app->authz)
        return gw__authz_ask(c, p, room);
    gw__refuse(c->app, "forbidden_room", c, room);
    gw__ack(c, p, 0, "forbidden");
}

/* ---- relays and upstream events ------------------------------------------------------------------- */

/* chat:typing / chat:stopped-typing {chatId}: to the other sockets of chat-{chatId} on
 * every gateway, as {chatId, userId} with the user id from the token. */
static void gw__typing(gw_client *c, const sio_packet *p, const char *event)
{
    json_t *arg = json_array_get(p->data, 1);
    char id[GW_ID_MAX], room[GW_ID_MAX + 16];
    if (!json_is_object(arg) || gw__id_arg(json_object_get(arg, "chatId"), id, sizeof id) != 0) {
        gw__refuse(c->app, "bad_argument", c, event);
        return gw__ack(c, p, 0, "forbidden");
    }
    snprintf(room, sizeof room, "chat-%s", id);
    if (!gw_member_in(&c->member, room, strlen(room))) {
        gw__refuse(c->app, "not_in_room", c, room);
        return gw__ack(c, p, 0, "forbidden");
    }
    json_t *args = json_pack("[{s:O,s:s}]", "chatId", json_object_get(arg, "chatId"), "userId",
                             c->user_id);
    char *args_text = rc_json_dump(args);
    json_decref(args);
    char uid[37];
    rc_uuid4(uid);
    char *rooms[1] = {room};
    Roomcast__V1__RoomEvent ev = ROOMCAST__V1__ROOM_EVENT__INIT;
    ev.id = uid;
    ev.room = room;
    ev.n_rooms = 1;
    ev.rooms = rooms;
    ev.event = (char *)event;
    ev.args_json = args_text;
    ev.produced_at_us = rc_now_us();
    ev.except_sid = c->sid;
    size_t len;
    uint8_t *bytes = rc_events_pack_room(&ev, &len);
    rc_free(args_text);
    rc_counter_inc(c->app->relays);
    gw__upstream_send(c, p, c->app->rooms_topic, room, bytes, len);
}

static void gw__upstream(gw_client *c, const sio_packet *p, const gw_attachments *att,
                         const char *event)
{
    json_t *args = json_deep_copy(p->data);
    json_array_remove(args, 0);
    char *args_text = rc_json_dump(args);
    json_decref(args);
    char uid[37];
    rc_uuid4(uid);
    ProtobufCBinaryData bins[SIO_MAX_ATTACHMENTS];
    for (size_t i = 0; i < att->count; i++) {
        bins[i].data = (uint8_t *)att->data[i];
        bins[i].len = att->len[i];
    }
    Roomcast__V1__ClientEvent ev = ROOMCAST__V1__CLIENT_EVENT__INIT;
    ev.id = uid;
    ev.user_id = c->user_id;
    ev.role = (char *)rc_role_name(c->role);
    ev.sid = c->sid;
    ev.gateway = c->app->cfg->gateway_id;
    ev.event = (char *)event;
    ev.args_json = args_text;
    ev.received_at_us = rc_now_us();
    ev.n_attachments = att->count;
    ev.attachments = bins;
    size_t len;
    uint8_t *bytes = rc_events_pack_client(&ev, &len);
    rc_free(args_text);
    rc_counter_inc(c->app->upstream_in);
    gw__upstream_send(c, p, c->app->client_topic, c->user_id, bytes, len);
}

/* ROOMCAST_CLIENT_EVENT_RATE / _BURST: an event past the bucket is refused with
 * {"ok":false,"error":"rate_limited"} when it asks for an ack, else dropped (counted
 * either way); ROOMCAST_CLIENT_EVENT_DISCONNECT_AFTER refusals within 10 s disconnect the
 * socket (DISCONNECT, then its session closes: the stock client does not reconnect on
 * its own after a server disconnect). Returns 0 when the event may go on; else the
 * socket may be gone. */
static int gw__rate_limit(gw_client *c, const sio_packet *p)
{
    gw_app *app = c->app;
    uint32_t now_ms = (uint32_t)((rc_now_us() - app->t0_us) / 1000);
    gw_rate_result r = gw_bucket_take(&c->bucket, &app->rate, now_ms);
    if (r == GW_RATE_OK)
        return 0;
    if (r == GW_RATE_ABUSE) {
        rc_counter_inc(app->rate_disconnects);
        rc_log_limited(RC_LOG_WARN, "socket disconnected: client events far past the rate limit",
                       "{s:s,s:s}", "user", c->user_id, "sid", c->sid);
        gw_socket_disconnect(c->sock, 1); /* c is gone */
        return -1;
    }
    rc_counter_inc(p->has_id ? app->rate_refused : app->rate_dropped);
    gw__ack(c, p, 0, "rate_limited");
    return -1;
}

static void gw__on_event(gw_socket *s, const sio_packet *p, const gw_attachments *att, void *ctx)
{
    gw_client *c = gw_socket_data(s);
    if (c && gw__rate_limit(c, p) != 0)
        return;
    const char *name = json_string_value(json_array_get(p->data, 0));
    if (!c || !name) { /* a number as the event name: nothing of ours, pass it up */
        if (c)
            gw__upstream(c, p, att, "");
        return;
    }
    static const struct {
        const char *name;
        const char *kind;
        int join, entity;
    } emitters[] = {
        {"join-user-room", "user", 1, 0},       {"join-seller-room", "seller", 1, 0},
        {"leave-seller-room", "seller", 0, 0},  {"join-buyer-room", "buyer", 1, 0},
        {"leave-buyer-room", "buyer", 0, 0},    {"join-request-room", "request", 1, 1},
        {"leave-request-room", "request", 0, 1}, {"join-chat-room", "chat", 1, 1},
        {"leave-chat-room", "chat", 0, 1},
    };
    for (size_t i = 0; i < sizeof emitters / sizeof emitters[0]; i++)
        if (!strcmp(name, emitters[i].name)) {
            if (emitters[i].entity)
                gw__entity_room(c, p, emitters[i].kind, emitters[i].join);
            else
                gw__own_room(c, p, emitters[i].kind, emitters[i].join);
            return;
        }
    if (!strcmp(name, "chat:typing") || !strcmp(name, "chat:stopped-typing"))
        return gw__typing(c, p, name);
    gw__upstream(c, p, att, name);
}

/* ---- delivery ---------------------------------------------------------------------------------------- */

/* Whether m already gets this event through a room listed before index. */
static int gw__earlier(const gw_room_event *ev, const gw_member *m)
{
    for (size_t j = 0; j < ev->room_index; j++)
        if (!strcmp(ev->rooms[j], "*") || gw_member_in(m, ev->rooms[j], strlen(ev->rooms[j])))
            return 1;
    return 0;
}

int gw__app_wants(const gw_room_event *ev, const gw_client *c)
{
    if (*ev->except_sid && !strcmp(ev->except_sid, c->sid))
        return 0;
    if (strcmp(ev->room, "*") && !gw_member_in(&c->member, ev->room, strlen(ev->room)))
        return 0;
    return !(ev->room_index && gw__earlier(ev, &c->member));
}

size_t gw__app_deliver_to(gw_delivery *d, const gw_room_event *ev, gw_client *c)
{
    if (*ev->except_sid && !strcmp(ev->except_sid, c->sid))
        return 0;
    if (ev->room_index && gw__earlier(ev, &c->member))
        return 0;
    gw_frame *f = gw_delivery_frame(d, ev);
    if (c->app->rkey)
        return gw__recovery_send(c, f, ev->key) ? 1 : 0;
    return gw_socket_send_frame(c->sock, f) ? 1 : 0;
}

size_t gw_app_deliver(gw_delivery *d, const gw_room_event *ev, void *ctx)
{
    gw_app *app = ctx;
    size_t n = 0;
    if (!strcmp(ev->room, "*")) {
        gw_client *c, *next;
        for (c = LIST_FIRST(&app->clients); c; c = next) {
            next = LIST_NEXT(c, link); /* a slow client may be dropped on the way */
            n += gw__app_deliver_to(d, ev, c);
        }
        return n;
    }
    gw_room *room = gw_rooms_find(app->rooms, ev->room, strlen(ev->room));
    /* Sending never removes a member at once (closes are deferred), so indexes hold. */
    for (size_t i = 0; room && i < gw_room_size(room); i++)
        n += gw__app_deliver_to(d, ev, gw_room_member(room, i)->owner);
    return n;
}

/* ---- life ---------------------------------------------------------------------------------------------- */

gw_app *gw_app_new(struct event_base *base, const gw_settings *cfg, gw_engine *engine,
                   rc_metrics *metrics, const rc_token_keys *keys, gw_upstream *up,
                   gw_authz *authz)
{
    gw_app *app = rc_calloc(1, sizeof *app);
    app->base = base;
    app->cfg = cfg;
    app->keys = keys;
    app->up = up;
    app->authz = authz;
    app->open_policy = !strcmp(cfg->room_policy, "open");
    app->rooms = gw_rooms_new();
    app->by_sid = rc_map_new();
    LIST_INIT(&app->clients);
    rc_kafka_topic(cfg->topic_prefix, RC_TOPIC_ROOMS, app->rooms_topic, sizeof app->rooms_topic);
    rc_kafka_topic(cfg->topic_prefix, RC_TOPIC_CLIENT_EVENTS, app->client_topic,
                   sizeof app->client_topic);
    app->connects = rc_counter_family_new(metrics, "roomcast_gateway_connects_total",
                                          "Socket.IO connects, by result", "result");
    app->refusals = rc_counter_family_new(metrics, "roomcast_gateway_refusals_total",
                                          "Refused connects, joins and relays, by reason", "reason");
    app->joins = rc_counter_new(metrics, "roomcast_gateway_room_joins_total", "Rooms joined");
    app->leaves = rc_counter_new(metrics, "roomcast_gateway_room_leaves_total", "Rooms left");
    app->relays = rc_counter_new(metrics, "roomcast_gateway_relays_total",
                                 "Client relays (chat typing) sent to other gateways");
    app->upstream_in = rc_counter_new(metrics, "roomcast_gateway_client_events_total",
                                      "Client events forwarded to roomcast.client-events");
    app->expired = rc_counter_new(metrics, "roomcast_gateway_token_expiries_total",
                                  "Sockets disconnected because their token expired");
    app->rate = (gw_rate_config){(double)cfg->event_rate, (double)cfg->event_burst,
                                 (uint32_t)cfg->event_disconnect_after};
    app->t0_us = rc_now_us();
    rc_counter_family *rl = rc_counter_family_new(
        metrics, "roomcast_gateway_rate_limited_events_total",
        "Client events past the per-socket rate limit: refused (ack rate_limited) or dropped "
        "(no ack asked)", "action");
    app->rate_refused = rc_counter_get(rl, "refused");
    app->rate_dropped = rc_counter_get(rl, "dropped");
    app->rate_disconnects = rc_counter_new(
        metrics, "roomcast_gateway_rate_limit_disconnects_total",
        "Sockets disconnected for sending far past the rate limit");
    app->exp_sweep = event_new(base, -1, EV_PERSIST, gw__exp_sweep_cb, app);
    struct timeval second = {1, 0};
    event_add(app->exp_sweep, &second);
    gw_sio_handlers h = {gw__nsp_allowed, gw__on_connect, gw__on_event, gw__on_disconnect};
    app->sio = gw_sio_new(engine, "/socket.io/", cfg->connect_timeout_ms, &h, app);
    return app;
}

void gw_app_enable_recovery(gw_app *app, const gw_recovery_key *key, gw_delivery *d,
                            rc_metrics *metrics)
{
    app->rkey = key;
    app->delivery = d;
    gw__recovery_setup(app, metrics);
}

void gw_app_free(gw_app *app)
{
    if (!app)
        return;
    gw_replay_free(app->replay);
    event_free(app->exp_sweep);
    gw_sio_free(app->sio);
    gw_rooms_free(app->rooms);
    rc_map_free(app->by_sid);
    rc_free(app);
}

size_t gw_app_sockets(const gw_app *app)
{
    return app->nclients;
}

int gw_app_has_member(void *ctx, const char *room, size_t len)
{
    gw_app *app = ctx;
    if (len == 1 && room[0] == '*')
        return app->nclients > 0;
    return gw_rooms_find(app->rooms, room, len) != NULL;
}

size_t gw_app_rooms(const gw_app *app)
{
    return gw_rooms_count(app->rooms);
}
