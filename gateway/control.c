/* control.c: control records from the room topic applied to local sockets (see control.h). */
#include "gateway/control.h"

#include <string.h>

#include "common/alloc.h"
#include "common/log.h"
#include "gateway/app_int.h"

struct gw_control {
    gw_app *app;
    rc_counter_family *records, *sockets;
};

static const char *gw__control_action_name(int action)
{
    switch (action) {
    case ROOMCAST__V1__ROOM_CONTROL__ACTION__ACTION_JOIN: return "join";
    case ROOMCAST__V1__ROOM_CONTROL__ACTION__ACTION_LEAVE: return "leave";
    case ROOMCAST__V1__ROOM_CONTROL__ACTION__ACTION_DISCONNECT: return "disconnect";
    default: return "invalid";
    }
}

static int gw__control_room_ok(const char *room)
{
    size_t n = strlen(room);
    if (n == 0 || n > 200)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)room[i] < 0x20 || room[i] == 0x7f)
            return 0;
    return 1;
}

const char *gw_control_check(const Roomcast__V1__RoomControl *rc)
{
    switch (rc->action) {
    case ROOMCAST__V1__ROOM_CONTROL__ACTION__ACTION_JOIN:
    case ROOMCAST__V1__ROOM_CONTROL__ACTION__ACTION_LEAVE:
        if (rc->n_rooms == 0 || rc->n_rooms > GW_CONTROL_MAX_ROOMS)
            return "join and leave need 1 to 64 rooms";
        for (size_t i = 0; i < rc->n_rooms; i++)
            if (!gw__control_room_ok(rc->rooms[i]))
                return "a room is empty, longer than 200 bytes or has a control character";
        return NULL;
    case ROOMCAST__V1__ROOM_CONTROL__ACTION__ACTION_DISCONNECT:
        return rc->n_rooms ? "disconnect takes no rooms" : NULL;
    default:
        return "unknown action";
    }
}

/* Join or leave: what the app does for a client's own room emitters, so the rooms token
 * that recovery reads is re-signed too. */
static void gw__control_rooms(gw_client *c, const Roomcast__V1__RoomControl *rc)
{
    for (size_t i = 0; i < rc->n_rooms; i++) {
        if (rc->action != ROOMCAST__V1__ROOM_CONTROL__ACTION__ACTION_JOIN)
            gw__app_leave(c, rc->rooms[i]);
        else if (gw__app_join(c, rc->rooms[i]) >= 0 && c->app->rkey) /* not past the room bound */
            gw__recovery_granted(c, rc->rooms[i], GW_CONTROL_GRANT_EXP);
    }
}

/* The local sockets a live record reaches, taken before acting: leaving or disconnecting
 * changes the very room being walked. The caller frees the list. */
static gw_client **gw__control_targets(gw_app *app, const gw_room_event *ev, size_t *n)
{
    *n = 0;
    gw_client **list;
    if (!strcmp(ev->room, "*")) {
        list = rc_malloc((app->nclients ? app->nclients : 1) * sizeof *list);
        gw_client *c;
        LIST_FOREACH(c, &app->clients, link)
        if (gw__app_wants(ev, c))
            list[(*n)++] = c;
        return list;
    }
    gw_room *room = gw_rooms_find(app->rooms, ev->room, strlen(ev->room));
    size_t size = room ? gw_room_size(room) : 0;
    list = rc_malloc((size ? size : 1) * sizeof *list);
    for (size_t i = 0; i < size; i++) {
        gw_client *c = gw_room_member(room, i)->owner;
        if (gw__app_wants(ev, c))
            list[(*n)++] = c;
    }
    return list;
}

void gw_control_apply(void *ctx, const gw_room_event *ev, const Roomcast__V1__RoomControl *rc)
{
    gw_control *ctl = ctx;
    const char *why = gw_control_check(rc);
    const char *action = why ? "invalid" : gw__control_action_name(rc->action);
    rc_counter_inc(rc_counter_get(ctl->records, action));
    if (why) {
        rc_log_limited(RC_LOG_WARN, "invalid control record skipped", "{s:s,s:s,s:s}", "id",
                       ev->id, "room", ev->room, "why", why);
        return;
    }
    size_t n;
    gw_client **list = gw__control_targets(ctl->app, ev, &n);
    for (size_t i = 0; i < n; i++) {
        if (rc->action == ROOMCAST__V1__ROOM_CONTROL__ACTION__ACTION_DISCONNECT)
            gw_socket_disconnect(list[i]->sock, rc->close); /* frees list[i] */
        else
            gw__control_rooms(list[i], rc);
    }
    rc_free(list);
    rc_counter_add(rc_counter_get(ctl->sockets, action), n);
    if (n)
        rc_log_limited(RC_LOG_INFO, "control record applied", "{s:s,s:s,s:s,s:I}", "id", ev->id,
                       "room", ev->room, "action", action, "sockets", (json_int_t)n);
}

void gw_control_replayed(gw_control *ctl, gw_client *c, const Roomcast__V1__RoomControl *rc)
{
    if (gw_control_check(rc) || rc->action == ROOMCAST__V1__ROOM_CONTROL__ACTION__ACTION_DISCONNECT)
        return;
    gw__control_rooms(c, rc);
    rc_counter_inc(rc_counter_get(ctl->sockets, gw__control_action_name(rc->action)));
}

gw_control *gw_control_new(gw_app *app, rc_metrics *metrics)
{
    gw_control *ctl = rc_calloc(1, sizeof *ctl);
    ctl->app = app;
    ctl->records = rc_counter_family_new(
        metrics, "roomcast_gateway_control_records_total",
        "Control records (socketsJoin, socketsLeave, disconnectSockets) read from the room "
        "topic for a room with a local socket, by action; invalid ones are skipped",
        "action");
    ctl->sockets = rc_counter_family_new(metrics, "roomcast_gateway_control_sockets_total",
                                         "Local sockets a control record acted on, by action "
                                         "(join and leave include replays to recovering sockets)",
                                         "action");
    static const char *const actions[] = {"join", "leave", "disconnect"};
    for (size_t i = 0; i < RC_ARRAY_LEN(actions); i++) { /* every series from the start */
        rc_counter_get(ctl->records, actions[i]);
        rc_counter_get(ctl->sockets, actions[i]);
    }
    rc_counter_get(ctl->records, "invalid");
    app->control = ctl;
    return ctl;
}

void gw_control_free(gw_control *ctl)
{
    if (!ctl)
        return;
    ctl->app->control = NULL;
    rc_free(ctl);
}
