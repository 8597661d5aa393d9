/* alloc.h: the one allocation wrapper. rc_malloc and friends abort the process on
 * out-of-memory, so callers never check for NULL (as Redis' zmalloc). Where a failure
 * must be survived (a client's oversized request) use rc_try_malloc, which returns NULL.
 * Memory from any of these is released with rc_free (plain free is equivalent). */
#ifndef RC_ALLOC_H
#define RC_ALLOC_H

#include <stddef.h>

void *rc_malloc(size_t n);
void *rc_calloc(size_t count, size_t size);
void *rc_realloc(void *p, size_t n);
char *rc_strdup(const char *s);
char *rc_strndup(const char *s, size_t n);
void *rc_memdup(const void *p, size_t n);
void *rc_try_malloc(size_t n);
void rc_free(void *p);

#endif
