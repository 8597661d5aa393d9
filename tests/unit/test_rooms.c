/* Rooms: joins, leaves and the swap-remove keep every member findable. */
#include "check.h"
#include "gateway/rooms.h"

static int has(gw_rooms *r, const char *room, gw_member *m)
{
    gw_room *x = gw_rooms_find(r, room, strlen(room));
    if (!x)
        return 0;
    for (size_t i = 0; i < gw_room_size(x); i++)
        if (gw_room_member(x, i) == m)
            return 1;
    return 0;
}

int main(void)
{
    gw_rooms *r = gw_rooms_new();
    gw_member a = {0}, b = {0}, c = {0};
    CHECK_EQ(gw_rooms_join(r, &a, "user-1", 6), 1);
    CHECK_EQ(gw_rooms_join(r, &a, "user-1", 6), 0);
    CHECK_EQ(gw_rooms_join(r, &b, "user-1", 6), 1);
    CHECK_EQ(gw_rooms_join(r, &c, "user-1", 6), 1);
    CHECK_EQ(gw_rooms_join(r, &c, "sellers", 7), 1);
    CHECK_EQ(gw_room_size(gw_rooms_find(r, "user-1", 6)), 3);
    /* removing the first member moves the last into its slot */
    CHECK_EQ(gw_rooms_leave(r, &a, "user-1", 6), 1);
    CHECK(!has(r, "user-1", &a));
    CHECK(has(r, "user-1", &b));
    CHECK(has(r, "user-1", &c));
    CHECK_EQ(gw_rooms_leave(r, &c, "user-1", 6), 1);
    CHECK(has(r, "user-1", &b));
    CHECK(gw_member_in(&c, "sellers", 7));
    CHECK(!gw_member_in(&c, "user-1", 6));
    CHECK_EQ(gw_rooms_leave(r, &a, "user-1", 6), 0);
    gw_rooms_leave_all(r, &c);
    CHECK(gw_rooms_find(r, "sellers", 7) == NULL); /* an empty room is gone */
    CHECK_EQ(gw_rooms_count(r), 1);
    /* many members, random leaves */
    gw_member many[100] = {{0}};
    for (int i = 0; i < 100; i++)
        gw_rooms_join(r, &many[i], "big", 3);
    for (int i = 0; i < 100; i += 3)
        gw_rooms_leave(r, &many[i], "big", 3);
    int ok = 1;
    for (int i = 0; i < 100; i++)
        ok &= has(r, "big", &many[i]) == (i % 3 != 0);
    CHECK(ok);
    for (int i = 0; i < 100; i++)
        gw_rooms_leave_all(r, &many[i]);
    gw_rooms_leave_all(r, &b);
    gw_rooms_leave_all(r, &a);
    CHECK_EQ(gw_rooms_count(r), 0);
    gw_rooms_free(r);
    CHECK_DONE();
}
