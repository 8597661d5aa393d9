/* dedup.h: which room events a gateway has already seen, by (room, event id), so that a
 * room event written to Kafka twice reaches each socket once.
 *
 * Room events can be written twice: the fanout commits its offsets after Kafka
 * acknowledged what it produced, so after a crash or a lost assignment it produces the
 * last few events again; a paused fanout that resumes may send what it had queued; and a
 * backend that retries may publish the same domain event id twice. Every copy carries
 * the same id (a domain event's id becomes its room events' id), so the gateway keeps,
 * for each room event it read for a room with a local member, the first place it saw it
 * (partition and offset), and drops any later copy.
 *
 * Bounds: an entry lives `window_ms` (ROOMCAST_DEDUP_WINDOW_SECONDS) and the set holds
 * at most `max` entries (ROOMCAST_DEDUP_MAX_EVENTS); past that the oldest go first and
 * are counted, as the window then is shorter than configured. Memory grows with the
 * traffic actually seen, 40 bytes an entry, up to 40 × max.
 *
 * Keys are 64-bit hashes of room and id: two different events collide with probability
 * about n / 2^64 for n entries (the later one would be dropped as a duplicate).
 * Not thread-safe; one owner. */
#ifndef GW_DEDUP_H
#define GW_DEDUP_H

#include <stddef.h>
#include <stdint.h>

typedef struct gw_dedup gw_dedup;

typedef struct {
    int32_t partition;
    int64_t offset;
} gw_dedup_pos;

gw_dedup *gw_dedup_new(size_t max, int64_t window_ms);
void gw_dedup_free(gw_dedup *d);
/* Forgets every entry (keeps the memory). */
void gw_dedup_clear(gw_dedup *d);

uint64_t gw_dedup_key(const char *room, size_t room_len, const char *id, size_t id_len);

/* Where key was first seen, or 0 with *at untouched when it was not (or has expired). */
int gw_dedup_find(const gw_dedup *d, uint64_t key, gw_dedup_pos *at);
/* Records key as seen at pos (now_ms) unless it already is. Returns 1 when it was new,
 * 0 when it was already there (*first, when given, says where). */
int gw_dedup_add(gw_dedup *d, uint64_t key, gw_dedup_pos pos, int64_t now_ms, gw_dedup_pos *first);

size_t gw_dedup_size(const gw_dedup *d);
/* Entries dropped before their window was over, because the set was full. */
uint64_t gw_dedup_evicted_early(const gw_dedup *d);
/* Bytes the set holds now. */
size_t gw_dedup_bytes(const gw_dedup *d);

#endif
