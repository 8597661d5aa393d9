/* test_dedup.c: the gateway's set of seen room events (gateway/dedup.h): later copies of
 * a (room, id) are found with the place of the first, entries leave after their window
 * or, past the bound, oldest first (counted), and the table stays whole through growth
 * and a long run of evictions (checked against a plain array). */
#include <stdlib.h>

#include "check.h"
#include "gateway/dedup.h"

static uint64_t key_of(const char *room, const char *id)
{
    return gw_dedup_key(room, strlen(room), id, strlen(id));
}

static void test_first_copy_wins(void)
{
    gw_dedup *d = gw_dedup_new(1024, 60000);
    gw_dedup_pos first = {0}, at = {0};
    CHECK_EQ(gw_dedup_add(d, key_of("user-u1", "e1"), (gw_dedup_pos){2, 10}, 1000, NULL), 1);
    CHECK_EQ(gw_dedup_add(d, key_of("user-u1", "e1"), (gw_dedup_pos){2, 57}, 2000, &first), 0);
    CHECK_EQ(first.partition, 2);
    CHECK_EQ(first.offset, 10);
    /* the same id for another room is another event copy */
    CHECK_EQ(gw_dedup_add(d, key_of("user-u2", "e1"), (gw_dedup_pos){1, 11}, 2000, NULL), 1);
    /* room and id are not simply concatenated */
    CHECK(key_of("user-u1", "e1") != key_of("user-u", "1e1"));
    CHECK_EQ(gw_dedup_find(d, key_of("user-u2", "e1"), &at), 1);
    CHECK_EQ(at.offset, 11);
    CHECK_EQ(gw_dedup_find(d, key_of("user-u3", "e1"), &at), 0);
    CHECK_EQ(gw_dedup_size(d), 2);
    gw_dedup_clear(d);
    CHECK_EQ(gw_dedup_size(d), 0);
    CHECK_EQ(gw_dedup_find(d, key_of("user-u1", "e1"), &at), 0);
    gw_dedup_free(d);
}

static void test_window(void)
{
    gw_dedup *d = gw_dedup_new(1024, 5000);
    CHECK_EQ(gw_dedup_add(d, key_of("r", "a"), (gw_dedup_pos){0, 1}, 1000, NULL), 1);
    CHECK_EQ(gw_dedup_add(d, key_of("r", "b"), (gw_dedup_pos){0, 2}, 4000, NULL), 1);
    /* at 6000 + 1, "a" (added at 1000) is past its 5 s; "b" is not */
    CHECK_EQ(gw_dedup_add(d, key_of("r", "c"), (gw_dedup_pos){0, 3}, 6001, NULL), 1);
    CHECK_EQ(gw_dedup_add(d, key_of("r", "a"), (gw_dedup_pos){0, 9}, 6001, NULL), 1);
    CHECK_EQ(gw_dedup_add(d, key_of("r", "b"), (gw_dedup_pos){0, 9}, 6001, NULL), 0);
    CHECK_EQ(gw_dedup_evicted_early(d), 0);
    gw_dedup_free(d);
}

/* Many keys through a small bound: every key added in the last `max` is found, none
 * older is, and the early evictions are counted; checked against the obvious model. */
static void test_bound_and_growth(void)
{
    const size_t max = 4096;
    gw_dedup *d = gw_dedup_new(max, 1000000);
    char id[32];
    int bad_recent = 0, bad_old = 0;
    for (int i = 0; i < 50000; i++) {
        snprintf(id, sizeof id, "ev-%d", i);
        if (gw_dedup_add(d, key_of("chat-c1", id), (gw_dedup_pos){0, i}, 1, NULL) != 1)
            bad_recent++;
        if (i % 997 == 0) { /* spot checks while evicting */
            for (int j = i; j >= 0 && j > i - 200; j -= 7) {
                snprintf(id, sizeof id, "ev-%d", j);
                gw_dedup_pos at;
                if (!gw_dedup_find(d, key_of("chat-c1", id), &at) || at.offset != j)
                    bad_recent++;
            }
        }
    }
    for (int j = 0; j < 50000; j++) {
        snprintf(id, sizeof id, "ev-%d", j);
        gw_dedup_pos at;
        int found = gw_dedup_find(d, key_of("chat-c1", id), &at);
        if (j >= 50000 - (int)max && (!found || at.offset != j))
            bad_recent++;
        if (j < 50000 - (int)max && found)
            bad_old++;
    }
    CHECK_EQ(bad_recent, 0);
    CHECK_EQ(bad_old, 0);
    CHECK_EQ(gw_dedup_size(d), max);
    CHECK_EQ(gw_dedup_evicted_early(d), 50000 - max);
    CHECK(gw_dedup_bytes(d) <= 40 * max + 256);
    gw_dedup_free(d);
}

int main(void)
{
    test_first_copy_wins();
    test_window();
    test_bound_and_growth();
    CHECK_DONE();
}
