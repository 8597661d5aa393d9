/* rooms.h: which local sockets are in which room. A room exists while it has members.
 * Members are opaque pointers (the gateway's client struct) that carry their own small
 * membership list (gw_member), so leaving all rooms on disconnect is O(rooms joined) and
 * removing one member from a room is O(1) (swap with the last).
 *
 * Delivery "once per socket" for an event aimed at rooms R0..Rn: a member of Ri gets the
 * copy of Ri only if it is in none of R0..Ri-1 (gw_member_in_any_of). Single-threaded. */
#ifndef GW_ROOMS_H
#define GW_ROOMS_H

#include <stddef.h>
#include <stdint.h>

typedef struct gw_rooms gw_rooms;
typedef struct gw_room gw_room;

/* Embedded in each client: the rooms it is in, with its slot in each room's array. */
typedef struct {
    gw_room *room;
    size_t slot;
} gw_membership;

typedef struct gw_member {
    void *owner; /* the client */
    gw_membership *in;
    uint32_t nin, capin; /* at most ROOMCAST_MAX_ROOMS_PER_SOCKET (64) */
} gw_member;

gw_rooms *gw_rooms_new(void);
void gw_rooms_free(gw_rooms *r);

/* Joins; returns 1 if newly joined, 0 if already in the room. */
int gw_rooms_join(gw_rooms *r, gw_member *m, const char *room, size_t len);
/* Leaves; returns 1 if it was in the room. */
int gw_rooms_leave(gw_rooms *r, gw_member *m, const char *room, size_t len);
void gw_rooms_leave_all(gw_rooms *r, gw_member *m);
int gw_member_in(const gw_member *m, const char *room, size_t len);

gw_room *gw_rooms_find(const gw_rooms *r, const char *room, size_t len);
size_t gw_room_size(const gw_room *room);
gw_member *gw_room_member(const gw_room *room, size_t i);
const char *gw_room_name(const gw_room *room);
size_t gw_rooms_count(const gw_rooms *r);

#endif
