/* Session ids: they name their owner and their issue time, and nothing but the cluster's
 * key makes one that reads back. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "common/rc.h"
#include "gateway/sid.h"

int main(void)
{
    uint8_t key[32] = {1, 2, 3}, other[32] = {1, 2, 4};
    char sid[GW_SID_LEN];
    gw_sid_info info;
    gw_sid_new(key, "10.0.0.7:3000", 1700000000, sid);
    CHECK(strlen(sid) < 60);
    CHECK(strspn(sid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
          strlen(sid));
    CHECK_EQ(gw_sid_parse(key, sid, strlen(sid), &info), 0);
    CHECK_STR(info.owner, "10.0.0.7:3000");
    CHECK_EQ(info.issued_s, 1700000000);

    /* two ids for the same owner and second differ */
    char sid2[GW_SID_LEN];
    gw_sid_new(key, "10.0.0.7:3000", 1700000000, sid2);
    CHECK(strcmp(sid, sid2) != 0);

    /* another key, any altered character, a cut: refused */
    CHECK_EQ(gw_sid_parse(other, sid, strlen(sid), &info), RC_EINVAL);
    for (size_t i = 0; i < strlen(sid); i++) {
        char forged[GW_SID_LEN];
        memcpy(forged, sid, strlen(sid) + 1);
        forged[i] = forged[i] == 'x' ? 'y' : 'x';
        if (gw_sid_parse(key, forged, strlen(forged), &info) != RC_EINVAL)
            CHECK__FAIL("altered at %zu: accepted", i);
        else
            check__passed++;
    }
    CHECK_EQ(gw_sid_parse(key, sid, strlen(sid) - 1, &info), RC_EINVAL);
    CHECK_EQ(gw_sid_parse(key, "", 0, &info), RC_EINVAL);
    CHECK_EQ(gw_sid_parse(key, "plainrandomid1234567", 20, &info), RC_EINVAL);
    char big[400];
    memset(big, 'A', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK_EQ(gw_sid_parse(key, big, strlen(big), &info), RC_EINVAL);

    /* the longest owner fits; a longer one is cut to it */
    char owner[80];
    memset(owner, 'h', sizeof owner - 1);
    owner[sizeof owner - 1] = '\0';
    gw_sid_new(key, owner, 5, sid);
    CHECK(strlen(sid) < GW_SID_LEN);
    CHECK_EQ(gw_sid_parse(key, sid, strlen(sid), &info), 0);
    CHECK_EQ(strlen(info.owner), GW_SID_OWNER_MAX);
    CHECK_EQ(info.issued_s, 5);
    CHECK_DONE();
}
