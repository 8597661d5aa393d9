/* Recovery tokens and owner-naming session ids: round trips, and every alteration,
 * truncation or other key refused. */
#include "check.h"
#include "gateway/engine_int.h"
#include "gateway/recovery.h"

static int all_altered_refused(const gw_recovery_key *k, const char *tok, int kind)
{
    char buf[4096];
    size_t n = strlen(tok);
    for (size_t i = 0; i < n; i++) {
        memcpy(buf, tok, n + 1);
        buf[i] = buf[i] == 'A' ? 'B' : 'A';
        gw_vector v;
        gw_pid p;
        int r = kind == 0 ? gw_vector_decode(k, buf, n, &v) : gw_pid_decode(k, buf, n, &p);
        if (r == 0)
            return 0;
    }
    for (size_t cut = 0; cut < n; cut++) {
        gw_vector v;
        if (kind == 0 && gw_vector_decode(k, tok, cut, &v) == 0)
            return 0;
    }
    return 1;
}

int main(void)
{
    gw_recovery_key k, other;
    gw_recovery_key_init(&k, "cluster secret", 14);
    gw_recovery_key_init(&other, "another secret", 14);

    gw_vector v = {.at_ms = 1795746930041, .n = 4, .pos = {0, 17, 300000, 1LL << 40}};
    char tok[2048];
    int n = gw_vector_encode(&k, &v, tok, sizeof tok);
    CHECK(n > 0);
    CHECK(n <= 40); /* compact: 4 partitions, a timestamp, a 64-bit tag */
    gw_vector back;
    CHECK_EQ(gw_vector_decode(&k, tok, (size_t)n, &back), 0);
    CHECK_EQ(back.at_ms, v.at_ms);
    CHECK_EQ(back.n, 4);
    CHECK_EQ(back.pos[3], 1LL << 40);
    CHECK_EQ(gw_vector_decode(&other, tok, (size_t)n, &back), RC_EINVAL);
    CHECK(all_altered_refused(&k, tok, 0));

    gw_pid p = {.sid = "abcdefghij0123456789", .user_id = "u-42", .role = 2,
                .iat_ms = 1795746930000, .v = v};
    n = gw_pid_encode(&k, &p, tok, sizeof tok);
    CHECK(n > 0);
    gw_pid pb;
    CHECK_EQ(gw_pid_decode(&k, tok, (size_t)n, &pb), 0);
    CHECK_STR(pb.sid, p.sid);
    CHECK_STR(pb.user_id, "u-42");
    CHECK_EQ(pb.role, 2);
    CHECK_EQ(pb.iat_ms, 1795746930000);
    CHECK(all_altered_refused(&k, tok, 1));
    /* a pid is not a vector, and the other way round */
    CHECK_EQ(gw_vector_decode(&k, tok, (size_t)n, &back), RC_EINVAL);

    /* a stamp: the socket's sid, when it was issued, its rooms with their grants' expiry */
    const gw_stamp_room rooms[] = {{"+chat-c1", 1795747000}, {"+request-r9", 0}, {"-buyers", 0}};
    n = gw_stamp_encode(&k, "sid-1", 1795746930041, rooms, 3, tok, sizeof tok);
    CHECK(n > 0);
    char buf[1024];
    gw_stamp st;
    CHECK_EQ(gw_stamp_decode(&k, tok, (size_t)n, &st, buf, sizeof buf), 0);
    CHECK_STR(st.sid, "sid-1");
    CHECK_EQ(st.iat_ms, 1795746930041);
    CHECK_EQ(st.n, 3);
    CHECK_STR(st.rooms[0].name, "+chat-c1");
    CHECK_EQ(st.rooms[0].grant_exp, 1795747000);
    CHECK_STR(st.rooms[1].name, "+request-r9");
    CHECK_EQ(st.rooms[1].grant_exp, 0);
    CHECK_STR(st.rooms[2].name, "-buyers");
    CHECK_EQ(gw_stamp_decode(&other, tok, (size_t)n, &st, buf, sizeof buf), RC_EINVAL);
    CHECK_EQ(gw_stamp_decode(&k, tok, (size_t)n, &st, buf, 12), RC_EINVAL); /* no room for names */
    /* none of the three kinds is taken for another */
    CHECK_EQ(gw_vector_decode(&k, tok, (size_t)n, &back), RC_EINVAL);
    CHECK_EQ(gw_pid_decode(&k, tok, (size_t)n, &pb), RC_EINVAL);
    /* the largest stamp fits its buffer: 64 rooms and the automatic ones left, long names */
    gw_stamp_room many[GW_STAMP_MAX_ENTRIES];
    char names[GW_STAMP_MAX_ENTRIES][140];
    for (int i = 0; i < GW_STAMP_MAX_ENTRIES; i++) {
        snprintf(names[i], sizeof names[i], "+request-%0127d", i);
        many[i] = (gw_stamp_room){names[i], INT64_C(1) << 40};
    }
    static char big[GW_STAMP_MAX_LEN];
    n = gw_stamp_encode(&k, "abcdefghij0123456789ab", INT64_C(1) << 42, many, GW_STAMP_MAX_ENTRIES,
                        big, sizeof big);
    CHECK(n > 0);
    static char bigbuf[GW_STAMP_MAX_ENTRIES * 210];
    CHECK_EQ(gw_stamp_decode(&k, big, (size_t)n, &st, bigbuf, sizeof bigbuf), 0);
    CHECK_EQ(st.n, GW_STAMP_MAX_ENTRIES);
    CHECK(gw_stamp_encode(&k, "s", 0, many, GW_STAMP_MAX_ENTRIES + 1, big, sizeof big) < 0);
    CHECK_EQ(gw_vector_decode(&k, "", 0, &back), RC_EINVAL);
    CHECK_EQ(gw_vector_decode(&k, "!!!!", 4, &back), RC_EINVAL);

    /* session ids naming their owner */
    uint8_t key[32] = {1, 2, 3};
    gw_engine e = {0};
    e.cfg.cluster_key = key;
    e.cfg.advertise = "10.0.0.7:3000";
    char sid[128], owner[128];
    gw__sid_new(&e, sid, sizeof sid);
    CHECK(strlen(sid) < 60);
    CHECK_EQ(gw__sid_owner(&e, sid, owner, sizeof owner), 0); /* ours */
    gw_engine peer = e;
    peer.cfg.advertise = "10.0.0.8:3000";
    CHECK_EQ(gw__sid_owner(&peer, sid, owner, sizeof owner), 1);
    CHECK_STR(owner, "10.0.0.7:3000");
    char forged[128];
    memcpy(forged, sid, strlen(sid) + 1);
    forged[12] = forged[12] == 'x' ? 'y' : 'x';
    CHECK_EQ(gw__sid_owner(&peer, forged, owner, sizeof owner), -1);
    CHECK_EQ(gw__sid_owner(&peer, "plainrandomid1234567", owner, sizeof owner), -1);
    CHECK_DONE();
}
