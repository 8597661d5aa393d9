/* jsonspan.c: raw JSON value boundaries (see jsonspan.h). Every loop is bounded by n, so
 * even text that is not JSON cannot make these read past the buffer. */
#include "common/jsonspan.h"

#include <jansson.h>
#include <string.h>

static int jsonspan__ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t jsonspan__skip_ws(const char *p, size_t i, size_t n)
{
    while (i < n && jsonspan__ws(p[i]))
        i++;
    return i;
}

/* i is at an opening quote; returns the index just past the closing one. */
static size_t jsonspan__string(const char *p, size_t i, size_t n)
{
    for (i++; i < n; i++) {
        if (p[i] == '\\')
            i++;
        else if (p[i] == '"')
            return i + 1;
    }
    return n;
}

static size_t jsonspan__value(const char *p, size_t i, size_t n)
{
    if (i < n && p[i] == '"')
        return jsonspan__string(p, i, n);
    if (i < n && (p[i] == '{' || p[i] == '[')) {
        size_t depth = 0;
        while (i < n) {
            if (p[i] == '"') {
                i = jsonspan__string(p, i, n);
                continue;
            }
            if (p[i] == '{' || p[i] == '[')
                depth++;
            else if ((p[i] == '}' || p[i] == ']') && --depth == 0)
                return i + 1;
            i++;
        }
        return n;
    }
    while (i < n && p[i] != ',' && p[i] != '}' && p[i] != ']' && !jsonspan__ws(p[i]))
        i++;
    return i;
}

/* Whether the key at [i, e) (quotes included) spells name. Escaped keys are rare, so only
 * they pay for a decode. */
static int jsonspan__key_is(const char *p, size_t i, size_t e, const char *name)
{
    if (e < i + 2)
        return 0;
    size_t n = e - i - 2;
    if (!memchr(p + i + 1, '\\', n))
        return strlen(name) == n && memcmp(p + i + 1, name, n) == 0;
    json_t *k = json_loadb(p + i, e - i, JSON_DECODE_ANY, NULL);
    int same = json_is_string(k) && strcmp(json_string_value(k), name) == 0;
    json_decref(k);
    return same;
}

int rc_jsonspan_member(const char *p, size_t n, const char *name, size_t *off, size_t *len)
{
    size_t i = jsonspan__skip_ws(p, 0, n);
    if (i >= n || p[i] != '{')
        return -1;
    for (i++;; i++) {
        i = jsonspan__skip_ws(p, i, n);
        if (i >= n || p[i] != '"')
            return -1;
        size_t ks = i, ke = jsonspan__string(p, i, n);
        i = jsonspan__skip_ws(p, ke, n);
        if (i >= n || p[i] != ':')
            return -1;
        size_t vs = jsonspan__skip_ws(p, i + 1, n);
        i = jsonspan__value(p, vs, n);
        if (jsonspan__key_is(p, ks, ke, name)) {
            *off = vs;
            *len = i - vs;
            return 0;
        }
        i = jsonspan__skip_ws(p, i, n);
        if (i >= n || p[i] != ',')
            return -1;
    }
}

size_t rc_jsonspan_compact(const char *src, size_t n, char *dst)
{
    size_t out = 0, run = 0;
    for (size_t i = 0; i < n;) {
        if (src[i] == '"') {
            i = jsonspan__string(src, i, n);
        } else if (jsonspan__ws(src[i])) {
            memcpy(dst + out, src + run, i - run);
            out += i - run;
            run = ++i;
        } else {
            i++;
        }
    }
    memcpy(dst + out, src + run, n - run);
    return out + n - run;
}
