/* dedup.c: seen room events by (room, id) (see dedup.h).
 *
 * Entries sit in a ring in the order they were added (oldest at head), so expiry and
 * eviction take from the head; an open-addressing table (linear probing, backward-shift
 * deletion) maps a key to its ring position. Both grow by doubling up to the bound, so
 * an idle gateway holds a few kilobytes. */
#include "gateway/dedup.h"

#include <string.h>

#include "common/alloc.h"

#define DEDUP_MIN_CAP 1024

typedef struct {
    uint64_t key;
    int64_t offset;
    int64_t at_ms;
    int32_t partition;
} dedup_entry;

struct gw_dedup {
    dedup_entry *ring;
    size_t cap, head, n; /* cap is a power of two */
    uint32_t *slots;     /* ring index + 1, 0 = empty; 2 × cap of them */
    size_t max;
    int64_t window_ms;
    uint64_t evicted_early;
};

uint64_t gw_dedup_key(const char *room, size_t room_len, const char *id, size_t id_len)
{
    /* FNV-1a over room, a separator and id, then splitmix64's finaliser so that every
     * bit of the key is mixed (the table indexes with the low bits). */
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < room_len; i++)
        h = (h ^ (uint8_t)room[i]) * 0x100000001b3ULL;
    h = (h ^ 0xff) * 0x100000001b3ULL; /* 0xff is in no UTF-8 text */
    for (size_t i = 0; i < id_len; i++)
        h = (h ^ (uint8_t)id[i]) * 0x100000001b3ULL;
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

static size_t dedup__mask(const gw_dedup *d)
{
    return 2 * d->cap - 1;
}

/* The slot holding key, or the empty slot where it would go. */
static size_t dedup__slot(const gw_dedup *d, uint64_t key)
{
    size_t mask = dedup__mask(d), i = (size_t)key & mask;
    while (d->slots[i] && d->ring[d->slots[i] - 1].key != key)
        i = (i + 1) & mask;
    return i;
}

static void dedup__alloc(gw_dedup *d, size_t cap)
{
    d->cap = cap;
    d->ring = rc_calloc(cap, sizeof *d->ring);
    d->slots = rc_calloc(2 * cap, sizeof *d->slots);
}

gw_dedup *gw_dedup_new(size_t max, int64_t window_ms)
{
    gw_dedup *d = rc_calloc(1, sizeof *d);
    d->max = max < DEDUP_MIN_CAP ? DEDUP_MIN_CAP : max;
    d->window_ms = window_ms;
    dedup__alloc(d, DEDUP_MIN_CAP);
    return d;
}

void gw_dedup_free(gw_dedup *d)
{
    if (!d)
        return;
    rc_free(d->ring);
    rc_free(d->slots);
    rc_free(d);
}

void gw_dedup_clear(gw_dedup *d)
{
    memset(d->slots, 0, 2 * d->cap * sizeof *d->slots);
    d->head = d->n = 0;
}

/* Doubles the ring (oldest first at 0) and rebuilds the table. */
static void dedup__grow(gw_dedup *d)
{
    dedup_entry *old = d->ring;
    size_t oldcap = d->cap, head = d->head, n = d->n;
    rc_free(d->slots);
    dedup__alloc(d, oldcap * 2);
    for (size_t i = 0; i < n; i++) {
        d->ring[i] = old[(head + i) & (oldcap - 1)];
        d->slots[dedup__slot(d, d->ring[i].key)] = (uint32_t)(i + 1);
    }
    d->head = 0;
    rc_free(old);
}

/* Removes the oldest entry (backward-shift deletion keeps every probe chain whole). */
static void dedup__pop(gw_dedup *d)
{
    size_t mask = dedup__mask(d);
    size_t i = dedup__slot(d, d->ring[d->head].key);
    d->slots[i] = 0;
    for (size_t j = (i + 1) & mask; d->slots[j]; j = (j + 1) & mask) {
        size_t home = (size_t)d->ring[d->slots[j] - 1].key & mask;
        /* the entry at j may move to the hole at i unless its home lies in (i, j] */
        int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            d->slots[i] = d->slots[j];
            d->slots[j] = 0;
            i = j;
        }
    }
    d->head = (d->head + 1) & (d->cap - 1);
    d->n--;
}

int gw_dedup_find(const gw_dedup *d, uint64_t key, gw_dedup_pos *at)
{
    size_t i = dedup__slot(d, key);
    if (!d->slots[i])
        return 0;
    const dedup_entry *e = &d->ring[d->slots[i] - 1];
    at->partition = e->partition;
    at->offset = e->offset;
    return 1;
}

int gw_dedup_add(gw_dedup *d, uint64_t key, gw_dedup_pos pos, int64_t now_ms, gw_dedup_pos *first)
{
    while (d->n && d->ring[d->head].at_ms + d->window_ms < now_ms)
        dedup__pop(d);
    size_t i = dedup__slot(d, key);
    if (d->slots[i]) {
        if (first) {
            first->partition = d->ring[d->slots[i] - 1].partition;
            first->offset = d->ring[d->slots[i] - 1].offset;
        }
        return 0;
    }
    if (d->n == d->cap) {
        if (d->cap * 2 <= d->max) {
            dedup__grow(d);
        } else {
            dedup__pop(d);
            d->evicted_early++;
        }
        i = dedup__slot(d, key);
    }
    size_t at = (d->head + d->n) & (d->cap - 1);
    d->ring[at] = (dedup_entry){.key = key, .offset = pos.offset, .at_ms = now_ms,
                                .partition = pos.partition};
    d->slots[i] = (uint32_t)(at + 1);
    d->n++;
    return 1;
}

size_t gw_dedup_size(const gw_dedup *d)
{
    return d->n;
}

uint64_t gw_dedup_evicted_early(const gw_dedup *d)
{
    return d->evicted_early;
}

size_t gw_dedup_bytes(const gw_dedup *d)
{
    return sizeof *d + d->cap * sizeof *d->ring + 2 * d->cap * sizeof *d->slots;
}
