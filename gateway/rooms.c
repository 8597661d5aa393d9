/* rooms.c: room membership (see rooms.h). */
#include "gateway/rooms.h"

#include <string.h>

#include "common/alloc.h"
#include "common/map.h"

struct gw_room {
    size_t len;
    gw_member **members;
    uint32_t n, cap;
    char name[]; /* NUL-terminated: one allocation per room (most have one member) */
};

struct gw_rooms {
    rc_map *by_name;
};

gw_rooms *gw_rooms_new(void)
{
    gw_rooms *r = rc_calloc(1, sizeof *r);
    r->by_name = rc_map_new();
    return r;
}

static void gw__room_free_cb(const char *key, size_t len, void *value, void *ctx)
{
    gw_room *room = value;
    rc_free(room->members);
    rc_free(room);
}

void gw_rooms_free(gw_rooms *r)
{
    if (!r)
        return;
    rc_map_each(r->by_name, gw__room_free_cb, NULL);
    rc_map_free(r->by_name);
    rc_free(r);
}

gw_room *gw_rooms_find(const gw_rooms *r, const char *room, size_t len)
{
    return rc_map_get(r->by_name, room, len);
}

int gw_member_in(const gw_member *m, const char *room, size_t len)
{
    for (size_t i = 0; i < m->nin; i++)
        if (m->in[i].room->len == len && !memcmp(m->in[i].room->name, room, len))
            return 1;
    return 0;
}

int gw_rooms_join(gw_rooms *r, gw_member *m, const char *name, size_t len)
{
    if (gw_member_in(m, name, len))
        return 0;
    gw_room *room = rc_map_get(r->by_name, name, len);
    if (!room) {
        room = rc_calloc(1, sizeof *room + len + 1);
        memcpy(room->name, name, len);
        room->len = len;
        rc_map_put(r->by_name, room->name, len, room);
    }
    if (room->n == room->cap) {
        room->cap = room->cap ? room->cap * 2 : 1; /* most rooms (user-{id}) have one member */
        room->members = rc_realloc(room->members, room->cap * sizeof *room->members);
    }
    if (m->nin == m->capin) {
        m->capin = m->capin ? m->capin * 2 : 4;
        m->in = rc_realloc(m->in, m->capin * sizeof *m->in);
    }
    room->members[room->n] = m;
    m->in[m->nin].room = room;
    m->in[m->nin].slot = room->n;
    room->n++;
    m->nin++;
    return 1;
}

/* Removes membership i of m, keeping both arrays dense. */
static void gw__rooms_remove(gw_rooms *r, gw_member *m, size_t i)
{
    gw_room *room = m->in[i].room;
    size_t slot = m->in[i].slot;
    gw_member *last = room->members[room->n - 1];
    room->members[slot] = last;
    room->n--;
    if (last != m) /* the moved member's membership now points to slot */
        for (size_t k = 0; k < last->nin; k++)
            if (last->in[k].room == room) {
                last->in[k].slot = slot;
                break;
            }
    m->in[i] = m->in[m->nin - 1];
    m->nin--;
    if (room->n == 0) {
        rc_map_del(r->by_name, room->name, room->len);
        rc_free(room->members);
        rc_free(room);
    }
}

int gw_rooms_leave(gw_rooms *r, gw_member *m, const char *name, size_t len)
{
    for (size_t i = 0; i < m->nin; i++)
        if (m->in[i].room->len == len && !memcmp(m->in[i].room->name, name, len)) {
            gw__rooms_remove(r, m, i);
            return 1;
        }
    return 0;
}

void gw_rooms_leave_all(gw_rooms *r, gw_member *m)
{
    while (m->nin)
        gw__rooms_remove(r, m, m->nin - 1);
    rc_free(m->in);
    m->in = NULL;
    m->capin = 0;
}

size_t gw_room_size(const gw_room *room)
{
    return room->n;
}

gw_member *gw_room_member(const gw_room *room, size_t i)
{
    return room->members[i];
}

const char *gw_room_name(const gw_room *room)
{
    return room->name;
}

size_t gw_rooms_count(const gw_rooms *r)
{
    return rc_map_size(r->by_name);
}
