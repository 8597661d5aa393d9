/* map.h: a string-keyed hash map for the gateway's sessions and rooms. Keys are
 * borrowed, not copied: an entry's key must stay valid (usually it lives in the value,
 * e.g. room->name) until the entry is removed. Values are borrowed too. Single-threaded.
 * Grows by doubling at a load factor of 1; never shrinks below its start size. */
#ifndef RC_MAP_H
#define RC_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct rc_map rc_map;

rc_map *rc_map_new(void);
/* Frees the map's nodes; keys and values are the caller's. */
void rc_map_free(rc_map *m);
void *rc_map_get(const rc_map *m, const char *key, size_t len);
/* Inserts or replaces; returns the previous value or NULL. */
void *rc_map_put(rc_map *m, const char *key, size_t len, void *value);
/* Removes; returns the value or NULL. */
void *rc_map_del(rc_map *m, const char *key, size_t len);
size_t rc_map_size(const rc_map *m);
/* Calls fn for every entry; fn must not change the map. */
void rc_map_each(const rc_map *m, void (*fn)(const char *key, size_t len, void *value, void *ctx),
                 void *ctx);
uint64_t rc_hash(const char *p, size_t n);

#endif
