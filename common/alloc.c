/* alloc.c: allocation that aborts on out-of-memory (see alloc.h). */
#include "common/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void rc__oom(size_t n)
{
    fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"out of memory\",\"bytes\":%zu}\n", n);
    abort();
}

void *rc_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        rc__oom(n);
    return p;
}

void *rc_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        rc__oom(count * size);
    return p;
}

void *rc_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        rc__oom(n);
    return q;
}

char *rc_strdup(const char *s)
{
    return rc_memdup(s, strlen(s) + 1);
}

char *rc_strndup(const char *s, size_t n)
{
    char *p = rc_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void *rc_memdup(const void *p, size_t n)
{
    void *q = rc_malloc(n);
    if (n)
        memcpy(q, p, n);
    return q;
}

void *rc_try_malloc(size_t n)
{
    return malloc(n ? n : 1);
}

void rc_free(void *p)
{
    free(p);
}
