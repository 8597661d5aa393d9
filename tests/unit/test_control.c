/* Control records' rules (gateway/control.h): which orders a gateway applies and which
 * it counts as invalid and skips. */
#include <string.h>

#include "check.h"
#include "gateway/control.h"

static const char *check_with(int action, size_t n, char **rooms)
{
    Roomcast__V1__RoomControl c = ROOMCAST__V1__ROOM_CONTROL__INIT;
    c.action = action;
    c.n_rooms = n;
    c.rooms = rooms;
    return gw_control_check(&c);
}

int main(void)
{
    enum {
        JOIN = ROOMCAST__V1__ROOM_CONTROL__ACTION__ACTION_JOIN,
        LEAVE = ROOMCAST__V1__ROOM_CONTROL__ACTION__ACTION_LEAVE,
        DISCONNECT = ROOMCAST__V1__ROOM_CONTROL__ACTION__ACTION_DISCONNECT,
    };
    char *one[] = {"request-r9"};
    CHECK(check_with(JOIN, 1, one) == NULL);
    CHECK(check_with(LEAVE, 1, one) == NULL);
    CHECK(check_with(DISCONNECT, 0, NULL) == NULL);
    CHECK(check_with(0, 1, one) != NULL);  /* unspecified */
    CHECK(check_with(42, 1, one) != NULL); /* unknown */
    CHECK(check_with(JOIN, 0, NULL) != NULL);
    CHECK(check_with(DISCONNECT, 1, one) != NULL);

    char *many[GW_CONTROL_MAX_ROOMS + 1];
    for (size_t i = 0; i <= GW_CONTROL_MAX_ROOMS; i++)
        many[i] = "chat-c1";
    CHECK(check_with(JOIN, GW_CONTROL_MAX_ROOMS, many) == NULL);
    CHECK(check_with(JOIN, GW_CONTROL_MAX_ROOMS + 1, many) != NULL);

    char long_room[202];
    memset(long_room, 'x', 201);
    long_room[201] = '\0';
    char *bad[][1] = {{""}, {"a\x01" "b"}, {"del\x7f"}, {long_room}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(check_with(LEAVE, 1, bad[i]) != NULL);
    long_room[200] = '\0';
    char *edge[] = {long_room, "*", "héllo"};
    CHECK(check_with(JOIN, 3, edge) == NULL);
    CHECK_DONE();
}
