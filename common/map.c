/* map.c: chained hash map with borrowed keys (see map.h). */
#include "common/map.h"

#include <string.h>

#include "common/alloc.h"

typedef struct rc_map_node {
    struct rc_map_node *next;
    const char *key;
    size_t len;
    uint64_t hash;
    void *value;
} rc_map_node;

struct rc_map {
    rc_map_node **buckets;
    size_t nbuckets; /* a power of two */
    size_t size;
};

uint64_t rc_hash(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

rc_map *rc_map_new(void)
{
    rc_map *m = rc_calloc(1, sizeof *m);
    m->nbuckets = 16;
    m->buckets = rc_calloc(m->nbuckets, sizeof *m->buckets);
    return m;
}

void rc_map_free(rc_map *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nbuckets; i++) {
        rc_map_node *n = m->buckets[i];
        while (n) {
            rc_map_node *next = n->next;
            rc_free(n);
            n = next;
        }
    }
    rc_free(m->buckets);
    rc_free(m);
}

static rc_map_node **rc__map_find(const rc_map *m, const char *key, size_t len, uint64_t h)
{
    rc_map_node **pp = &m->buckets[h & (m->nbuckets - 1)];
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->hash == h && (*pp)->len == len && memcmp((*pp)->key, key, len) == 0)
            return pp;
    return pp;
}

void *rc_map_get(const rc_map *m, const char *key, size_t len)
{
    rc_map_node **pp = rc__map_find(m, key, len, rc_hash(key, len));
    return *pp ? (*pp)->value : NULL;
}

static void rc__map_grow(rc_map *m)
{
    size_t nb = m->nbuckets * 2;
    rc_map_node **b = rc_calloc(nb, sizeof *b);
    for (size_t i = 0; i < m->nbuckets; i++) {
        rc_map_node *n = m->buckets[i];
        while (n) {
            rc_map_node *next = n->next;
            n->next = b[n->hash & (nb - 1)];
            b[n->hash & (nb - 1)] = n;
            n = next;
        }
    }
    rc_free(m->buckets);
    m->buckets = b;
    m->nbuckets = nb;
}

void *rc_map_put(rc_map *m, const char *key, size_t len, void *value)
{
    uint64_t h = rc_hash(key, len);
    rc_map_node **pp = rc__map_find(m, key, len, h);
    if (*pp) {
        void *old = (*pp)->value;
        (*pp)->value = value;
        (*pp)->key = key;
        return old;
    }
    rc_map_node *n = rc_malloc(sizeof *n);
    n->next = NULL;
    n->key = key;
    n->len = len;
    n->hash = h;
    n->value = value;
    *pp = n;
    if (++m->size > m->nbuckets)
        rc__map_grow(m);
    return NULL;
}

void *rc_map_del(rc_map *m, const char *key, size_t len)
{
    rc_map_node **pp = rc__map_find(m, key, len, rc_hash(key, len));
    rc_map_node *n = *pp;
    if (!n)
        return NULL;
    *pp = n->next;
    void *v = n->value;
    rc_free(n);
    m->size--;
    return v;
}

size_t rc_map_size(const rc_map *m)
{
    return m->size;
}

void rc_map_each(const rc_map *m, void (*fn)(const char *, size_t, void *, void *), void *ctx)
{
    for (size_t i = 0; i < m->nbuckets; i++)
        for (rc_map_node *n = m->buckets[i]; n; n = n->next)
            fn(n->key, n->len, n->value, ctx);
}
