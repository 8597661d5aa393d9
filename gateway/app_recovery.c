/* app_recovery.c: Socket.IO connection state recovery on any gateway (see recovery.h for
 * the tokens and replay.h for the replay). A recovered socket keeps its sid and pid (so
 * the stock client reports `socket.recovered`), gets back those of its rooms it may still
 * be in, receives what it missed in order per room, exactly once, and then the live
 * events that arrived meanwhile.
 *
 * Lifetimes (issue 12 item 4): the window is counted from the socket's own stamp (or
 * the pid's issue time before any event), never from the shared vector alone; a recovered
 * request-* / chat-* room is given back only if the grant that opened it has not expired
 * (the stamp carries its expiry), or the open policy holds, or the authorization URL
 * says yes again. While the URL is asked, live events for the socket are dropped and the
 * replay, started once every answer is in, covers them. */
#include <event2/event.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/token.h"
#include "gateway/app_int.h"
#include "gateway/control.h"

#define GW_HELD_MAX 20000 /* live events held for one replaying socket */
#define GW_SKEW_MS 1000   /* vectors and stamps are taken a few ms apart; forgive a second */

struct gw__grant {
    char *room;
    int64_t exp;
};

struct gw__resume {
    gw_vector from;
    size_t nask;               /* recovered rooms to ask the authorization URL about */
    char *ask[GW_STAMP_MAX_ENTRIES];
};

static void gw__count(gw_app *app, const char *result)
{
    rc_counter_inc(rc_counter_get(app->recoveries, result));
}

static int64_t gw__now_ms(void)
{
    return rc_now_us() / 1000;
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

/* ---- grants --------------------------------------------------------------------------------- */

static struct gw__grant *gw__grant_find(const gw_client *c, const char *room)
{
    for (size_t i = 0; i < c->ngrants; i++)
        if (!strcmp(c->grants[i].room, room))
            return &c->grants[i];
    return NULL;
}

void gw__recovery_granted(gw_client *c, const char *room, int64_t exp)
{
    struct gw__grant *g = gw__grant_find(c, room);
    if (!g) {
        if (c->ngrants == GW_RECOVERY_MAX_ROOMS) /* the room bound keeps this from happening */
            return;
        c->grants = rc_realloc(c->grants, (c->ngrants + 1u) * sizeof *c->grants);
        g = &c->grants[c->ngrants++];
        g->room = rc_strdup(room);
    }
    g->exp = exp;
}

void gw__recovery_left(gw_client *c, const char *room)
{
    struct gw__grant *g = gw__grant_find(c, room);
    if (!g)
        return;
    rc_free(g->room);
    *g = c->grants[--c->ngrants];
}

/* ---- the stamp -------------------------------------------------------------------------------- */

#define GW_PLAIN_TAIL GW_FRAME_PLAIN_TAIL

void gw__recovery_rooms_changed(gw_client *c)
{
    c->stamp_dirty = 1;
}

/* Signs c's stamp now: its sid, the time, and its rooms beyond the automatic ones. */
static void gw__stamp_sign(gw_client *c, int64_t now_ms)
{
    char autos[4][160];
    size_t na = gw__auto_rooms(c, autos);
    gw_stamp_room list[GW_STAMP_MAX_ENTRIES];
    char left[4][161];
    size_t n = 0;
    for (size_t i = 0; i < c->member.nin && n < GW_RECOVERY_MAX_ROOMS; i++) {
        const char *room = gw_room_name(c->member.in[i].room);
        int is_auto = 0;
        for (size_t k = 0; k < na; k++)
            is_auto |= !strcmp(autos[k], room);
        if (!is_auto) {
            const struct gw__grant *g = gw__grant_find(c, room);
            list[n++] = (gw_stamp_room){room, g ? g->exp : 0}; /* encoded with its '+' below */
        }
    }
    size_t joined = n;
    for (size_t k = 0; k < na; k++)
        if (!gw_member_in(&c->member, autos[k], strlen(autos[k]))) {
            snprintf(left[k], sizeof left[k], "-%s", autos[k]);
            list[n++] = (gw_stamp_room){left[k], 0};
        }
    /* the joined names need their '+': one buffer for them all */
    char *plus = rc_malloc(GW_RECOVERY_MAX_ROOMS * 210);
    size_t used = 0;
    for (size_t i = 0; i < joined; i++) {
        int w = snprintf(plus + used, 210, "+%.200s", list[i].name);
        list[i].name = plus + used;
        used += (size_t)w + 1;
    }
    char *tok = rc_malloc(GW_STAMP_MAX_LEN + 4);
    int tl = gw_stamp_encode(c->app->rkey, c->sid, now_ms, list, n, tok + 1, GW_STAMP_MAX_LEN);
    rc_free(plus);
    rc_free(c->tail);
    c->tail = NULL;
    if (tl > 0) {
        tok[0] = '.';
        memcpy(tok + 1 + tl, GW_PLAIN_TAIL, 3);
        c->tail = rc_realloc(tok, (size_t)tl + 4);
        c->tail_len = (size_t)tl + 3;
    } else {
        rc_free(tok);
        rc_log_limited(RC_LOG_WARN, "recovery stamp too large: the socket's offsets carry none",
                       "{s:s}", "sid", c->sid);
    }
    c->stamp_ms = now_ms;
    c->stamp_dirty = 0;
}

/* The socket's tail, its stamp re-signed first if its rooms changed or it is due. */
static const char *gw__tail(gw_client *c, size_t *len)
{
    int64_t now = gw__now_ms();
    if (c->stamp_dirty || now - c->stamp_ms >= c->app->stamp_refresh_ms)
        gw__stamp_sign(c, now);
    *len = c->tail ? c->tail_len : 2;
    return c->tail ? c->tail : GW_PLAIN_TAIL;
}

void gw__recovery_new_pid(gw_app *app, gw_client *c, json_t *reply)
{
    gw_pid pid = {.role = (int)c->role, .iat_ms = gw__now_ms()};
    snprintf(pid.sid, sizeof pid.sid, "%s", c->sid);
    snprintf(pid.user_id, sizeof pid.user_id, "%s", c->user_id);
    gw_delivery_position(app->delivery, &pid.v);
    char tok[GW_RECOVERY_MAX_PARTITIONS * 10 + 512];
    if (gw_pid_encode(app->rkey, &pid, tok, sizeof tok) > 0)
        json_object_set_new(reply, "pid", json_string(tok));
    gw__stamp_sign(c, pid.iat_ms);
}

/* ---- recovering -------------------------------------------------------------------------------- */

/* A check of one recovered room, naming its socket by sid and generation. */
typedef struct {
    gw_app *app;
    char sid[24];
    uint32_t gen;
    char room[GW_ID_MAX + 16];
} gw__check;

static void gw__resume_free(struct gw__resume *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nask; i++)
        rc_free(r->ask[i]);
    rc_free(r);
}

static void gw__resume(gw_client *c)
{
    gw_vector now;
    gw_delivery_position(c->app->delivery, &now);
    c->replaying = GW__REPLAYING;
    gw_replay_start(c->app->replay, c->sid, &c->resume->from, &now);
    gw__resume_free(c->resume);
    c->resume = NULL;
}

static void gw__checked(void *arg, int allowed, const char *reason)
{
    gw__check *k = arg;
    gw_client *c = rc_map_get(k->app->by_sid, k->sid, strlen(k->sid));
    if (c && c->gen == k->gen && c->replaying == GW__CHECKING) {
        if (allowed)
            gw__app_join(c, k->room);
        else
            rc_counter_inc(rc_counter_get(k->app->refusals, "recovery_room_refused"));
        if (--c->checks == 0)
            gw__resume(c);
    }
    rc_free(k);
}

static int gw__is_entity_room(const char *room)
{
    return !strncmp(room, "request-", 8) || !strncmp(room, "chat-", 5);
}

/* Gives room back to a recovering c if it may still be in it, or notes it in r to ask
 * the authorization URL about once c is registered (gw__recovery_begin). */
static void gw__regive(gw_client *c, struct gw__resume *r, const char *room, int64_t grant_exp)
{
    gw_app *app = c->app;
    int64_t now = rc_now_us() / 1000000;
    /* a grant: a client's for an entity room, or the server's for any room it joined the
       socket to (control records, gateway/control.h) */
    if (grant_exp && now < grant_exp + app->cfg->jwt_leeway) {
        if (gw__app_join(c, room) == 1)
            gw__recovery_granted(c, room, grant_exp);
        return;
    }
    if (gw__is_entity_room(room)) {
        if (app->open_policy) {
            gw__app_join(c, room);
            return;
        }
        if (app->authz && r->nask < GW_STAMP_MAX_ENTRIES) {
            r->ask[r->nask++] = rc_strdup(room);
            return;
        }
    } else if (gw__app_may_own(c, room)) {
        gw__app_join(c, room);
        return;
    }
    rc_counter_inc(rc_counter_get(app->refusals, "recovery_room_refused"));
    rc_log_limited(RC_LOG_INFO, "recovered room not given back", "{s:s,s:s}", "user", c->user_id,
                   "room", room);
}

void gw__recovery_begin(gw_client *c)
{
    struct gw__resume *r = c->resume;
    c->checks = 1; /* held while asking: answers from the cache come back at once */
    for (size_t i = 0; i < r->nask; i++) {
        gw__check *k = rc_calloc(1, sizeof *k);
        *k = (gw__check){.app = c->app, .gen = c->gen};
        snprintf(k->sid, sizeof k->sid, "%s", c->sid);
        snprintf(k->room, sizeof k->room, "%s", r->ask[i]);
        c->checks++;
        if (gw__app_authz(c, r->ask[i], gw__checked, k) != 0) {
            c->checks--;
            rc_free(k);
        }
    }
    if (--c->checks == 0)
        gw__resume(c);
}

/* Reads "<vector>.<stamp>" into v and st; NULL when valid, else the refusal's result. */
static const char *gw__parse_offset(gw_app *app, const gw_pid *pid, const char *off, gw_vector *v,
                                    gw_stamp *st, char *buf, size_t buflen)
{
    const char *dot = strchr(off, '.');
    if (!dot || gw_vector_decode(app->rkey, off, (size_t)(dot - off), v) != 0 ||
        gw_stamp_decode(app->rkey, dot + 1, strlen(dot + 1), st, buf, buflen) != 0 ||
        strcmp(st->sid, pid->sid) != 0)
        return "invalid";
    /* The vector must be from this stamp's time (a stamp is re-signed when due as an event
       goes out, so the two differ by at most the refresh period): one from a later event,
       someone else's, would extend the window of an old stamp; an older one would replay
       what went out before the socket's rooms were what the stamp says. */
    if (v->at_ms > st->iat_ms + app->stamp_refresh_ms + GW_SKEW_MS ||
        v->at_ms + GW_SKEW_MS < st->iat_ms || v->at_ms + GW_SKEW_MS < pid->iat_ms)
        return "foreign_vector";
    return NULL;
}

/* Checks pid (and the offset when given); fills v (where the replay starts) and st (the
 * rooms). NULL when the session may be recovered, else the refusal's result. */
static const char *gw__recovery_check(gw_app *app, const gw_client *c, const char *pid_tok,
                                      const char *off, gw_pid *pid, gw_vector *v, gw_stamp *st,
                                      char *buf, size_t buflen)
{
    if (gw_pid_decode(app->rkey, pid_tok, strlen(pid_tok), pid) != 0 ||
        strcmp(pid->user_id, c->user_id) != 0 || pid->role != (int)c->role)
        return "invalid";
    st->n = 0;
    int64_t issued = pid->iat_ms; /* no event received yet: counted from the connect */
    if (off) {
        const char *why = gw__parse_offset(app, pid, off, v, st, buf, buflen);
        if (why)
            return why;
        issued = st->iat_ms;
    } else {
        *v = pid->v;
    }
    if (gw__now_ms() - issued > app->cfg->recovery_window * 1000)
        return "expired";
    if (!gw_delivery_still_held(app->delivery, v))
        return "offset_gone";
    if (gw_replay_busy(app->replay))
        return "busy"; /* ROOMCAST_REPLAY_MAX_JOBS replays queued: a new session instead */
    return NULL;
}

int gw__recovery_try(gw_app *app, gw_socket *s, const json_t *auth, gw_client *c, json_t *reply)
{
    const char *pid_tok = json_string_value(json_object_get(auth, "pid"));
    const char *off = json_string_value(json_object_get(auth, "offset"));
    if (!pid_tok) { /* each connect is counted once: here, or with its refusal below */
        gw__count(app, "new");
        return 0;
    }
    gw_pid pid;
    gw_stamp st;
    char *buf = rc_malloc(GW_STAMP_MAX_ENTRIES * 210);
    struct gw__resume *resume = rc_calloc(1, sizeof *resume);
    const char *why = gw__recovery_check(app, c, pid_tok, off, &pid, &resume->from, &st, buf,
                                         GW_STAMP_MAX_ENTRIES * 210);
    if (why) {
        gw__count(app, why);
        rc_log_limited(RC_LOG_INFO, "recovery refused", "{s:s,s:s}", "user", c->user_id, "why", why);
        rc_free(buf);
        rc_free(resume);
        return 0;
    }
    snprintf(c->sid, sizeof c->sid, "%s", pid.sid);
    gw_socket_set_id(s, pid.sid);
    json_object_set_new(reply, "pid", json_string(pid_tok));
    gw__app_auto_join(c);
    c->replaying = GW__CHECKING;
    for (size_t i = 0; i < st.n; i++) {
        if (st.rooms[i].name[0] == '-')
            gw__app_leave(c, st.rooms[i].name + 1);
        else if (st.rooms[i].name[0] == '+')
            gw__regive(c, resume, st.rooms[i].name + 1, st.rooms[i].grant_exp);
    }
    rc_free(buf);
    c->resume = resume; /* gw__recovery_begin asks what must be asked, then replays */
    c->stamp_dirty = 1;
    gw__count(app, "recovered");
    return 1;
}

/* ---- delivery while recovering ------------------------------------------------------------------ */

int gw__recovery_send(gw_client *c, gw_frame *f, uint64_t key)
{
    if (c->replaying == GW__CHECKING)
        return 1; /* the replay after the checks covers it */
    size_t tl;
    const char *tail = gw__tail(c, &tl);
    if (c->replaying == GW__LIVE)
        return gw_socket_send_frame_tail(c->sock, f, tail, tl);
    if (c->nheld == GW_HELD_MAX) {
        gw_session_close(gw_socket_session(c->sock), "slow client");
        return 0;
    }
    c->held = rc_realloc(c->held, (c->nheld + 1) * sizeof *c->held);
    c->held_keys = rc_realloc(c->held_keys, (c->nheld + 1) * sizeof *c->held_keys);
    c->held_keys[c->nheld] = key;
    c->held[c->nheld++] = gw_frame_close(f, tail, tl);
    return 1;
}

void gw__recovery_client_gone(gw_client *c)
{
    for (size_t i = 0; i < c->nheld; i++)
        gw_frame_unref(c->held[i]);
    rc_free(c->held);
    rc_free(c->held_keys);
    rc_free(c->tail);
    gw__resume_free(c->resume);
    for (size_t i = 0; i < c->ngrants; i++)
        rc_free(c->grants[i].room);
    rc_free(c->grants);
}

/* ---- the replay's callbacks ----------------------------------------------------------------- */

static void gw__replayed(void *ctx, const char *sid, const Roomcast__V1__RoomEvent *m,
                         size_t room_index, const gw_vector *vector)
{
    gw_app *app = ctx;
    gw_client *c = rc_map_get(app->by_sid, sid, strlen(sid));
    if (!c || c->replaying != GW__REPLAYING)
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
    if (m->control) { /* a control record: it acts, it is not sent */
        if (app->control)
            gw_control_replayed(app->control, c, m->control);
        return;
    }
    char vec[GW_RECOVERY_MAX_PARTITIONS * 10 + 64];
    if (gw_vector_encode(app->rkey, vector, vec, sizeof vec) < 0)
        return;
    gw_frame *f = gw_room_event_frame(m, vec);
    size_t tl;
    const char *tail = gw__tail(c, &tl);
    gw_socket_send_frame_tail(c->sock, f, tail, tl);
    gw_frame_unref(f);
}

static void gw__replay_done(void *ctx, const char *sid, int ok, size_t replayed,
                            const gw_vector *to)
{
    gw_app *app = ctx;
    gw_client *c = rc_map_get(app->by_sid, sid, strlen(sid));
    if (!c || c->replaying != GW__REPLAYING)
        return;
    c->replaying = GW__LIVE;
    if (!ok) { /* the client reconnects and tries again */
        gw__count(app, "replay_failed");
        gw_session_close(gw_socket_session(c->sock), "transport error");
        return;
    }
    for (size_t i = 0; i < c->nheld; i++) {
        /* a copy of an event the replay already gave it (dedup.h) */
        if (!gw_replay_replayed(app->replay, c->held_keys[i], to))
            gw_socket_send_frame(c->sock, c->held[i]);
        gw_frame_unref(c->held[i]);
    }
    rc_free(c->held);
    rc_free(c->held_keys);
    c->held = NULL;
    c->held_keys = NULL;
    c->nheld = 0;
    rc_log_debug("recovered", "{s:s,s:s,s:I}", "sid", sid, "user", c->user_id, "replayed",
                 (json_int_t)replayed);
}

/* Counts c if it waits for its replay and hands it to fn; 1 when fn is NULL and one
 * waiting socket is all the caller asked to know of. */
static int gw__waiting(gw_client *c, size_t *n, void (*fn)(const char *sid, void *arg), void *arg)
{
    if (c->replaying != GW__REPLAYING)
        return 0;
    (*n)++;
    if (!fn)
        return 1;
    fn(c->sid, arg);
    return 0;
}

/* The sockets of room waiting for their replay (replay.h's each_waiting). */
static size_t gw__each_waiting(void *ctx, const char *room, size_t len,
                               void (*fn)(const char *sid, void *arg), void *arg)
{
    gw_app *app = ctx;
    size_t n = 0;
    if (len == 1 && room[0] == '*') {
        for (gw_client *c = LIST_FIRST(&app->clients); c; c = LIST_NEXT(c, link))
            if (gw__waiting(c, &n, fn, arg))
                break;
        return n;
    }
    gw_room *r = gw_rooms_find(app->rooms, room, len);
    for (size_t i = 0; r && i < gw_room_size(r); i++)
        if (gw__waiting(gw_room_member(r, i)->owner, &n, fn, arg))
            break;
    return n;
}

void gw__recovery_setup(gw_app *app, rc_metrics *metrics)
{
    app->recoveries = rc_counter_family_new(
        metrics, "roomcast_gateway_recoveries_total",
        "Connects by connection state recovery result: new (no pid), recovered, expired "
        "(past the window), offset_gone (Kafka no longer has it), invalid, foreign_vector "
        "(a vector from after the socket's stamp), busy (ROOMCAST_REPLAY_MAX_JOBS replays "
        "queued), replay_failed",
        "result");
    /* a stamp is at most this old when an event carries it: the window loses no more */
    int64_t refresh = app->cfg->recovery_window * 1000 / 8;
    app->stamp_refresh_ms = refresh < 1000 ? 1000
                            : refresh > GW_STAMP_REFRESH_MS_MAX ? GW_STAMP_REFRESH_MS_MAX : refresh;
    gw_replay_handlers h = {gw__replayed, gw__replay_done, gw__each_waiting};
    char err[RC_ERRSTR_LEN], client_id[200];
    snprintf(client_id, sizeof client_id, "roomcast-gateway-%s", app->cfg->gateway_id);
    app->replay = gw_replay_new(app->base, app->cfg->kafka_brokers, gw_delivery_topic(app->delivery),
                                client_id, gw_delivery_seen(app->delivery),
                                (size_t)app->cfg->replay_max_jobs, &h, app, metrics, err, sizeof err);
    if (!app->replay) {
        rc_log_error("recovery off: no replay consumer", "{s:s}", "error", err);
        app->rkey = NULL;
    }
}
