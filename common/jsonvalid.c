/* jsonvalid.c: a recursive-descent recogniser for JSON (see jsonvalid.h). Each function
 * takes the position of what it recognises and returns the position after it, or NULL. */
#include "common/jsonvalid.h"

#include <stdint.h>

typedef struct {
    const unsigned char *end;
} jv;

static const unsigned char *jv_ws(const jv *j, const unsigned char *p)
{
    while (p < j->end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static const unsigned char *jv_lit(const jv *j, const unsigned char *p, const char *w, size_t n)
{
    if ((size_t)(j->end - p) < n)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)w[i])
            return NULL;
    return p + n;
}

static const unsigned char *jv_digits(const jv *j, const unsigned char *p)
{
    const unsigned char *s = p;
    while (p < j->end && *p >= '0' && *p <= '9')
        p++;
    return p == s ? NULL : p;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static const unsigned char *jv_number(const jv *j, const unsigned char *p)
{
    if (p < j->end && *p == '-')
        p++;
    if (p >= j->end)
        return NULL;
    if (*p == '0')
        p++;
    else if (!(p = jv_digits(j, p)))
        return NULL;
    if (p < j->end && *p == '.' && !(p = jv_digits(j, p + 1)))
        return NULL;
    if (p < j->end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < j->end && (*p == '+' || *p == '-'))
            p++;
        if (!(p = jv_digits(j, p)))
            return NULL;
    }
    return p;
}

static int jv_hex4(const jv *j, const unsigned char *p, unsigned *out)
{
    if (j->end - p < 4)
        return 0;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (c | 0x20) - 'a' + 10;
        else
            return 0;
        v = v << 4 | d;
    }
    *out = v;
    return 1;
}

/* One UTF-8 sequence starting with a non-ASCII byte; the position after it or NULL. */
static const unsigned char *jv_utf8(const jv *j, const unsigned char *p)
{
    unsigned c = *p, n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 1;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 2;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 3;
        cp = c & 0x07;
    } else {
        return NULL; /* a continuation byte, an overlong lead (c0, c1) or past f4 */
    }
    if ((size_t)(j->end - p) <= n)
        return NULL;
    for (unsigned i = 1; i <= n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return NULL;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return NULL; /* overlong, too large, or a surrogate */
    return p + n + 1;
}

static const unsigned char *jv_string(const jv *j, const unsigned char *p)
{
    p++; /* the opening quote */
    while (p < j->end) {
        unsigned c = *p;
        if (c == '"')
            return p + 1;
        if (c < 0x20)
            return NULL;
        if (c >= 0x80) {
            if (!(p = jv_utf8(j, p)))
                return NULL;
            continue;
        }
        if (c != '\\') {
            p++;
            continue;
        }
        if (++p >= j->end)
            return NULL;
        switch (*p) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            p++;
            break;
        case 'u': {
            unsigned u, lo;
            if (!jv_hex4(j, p + 1, &u) || u == 0)
                return NULL;
            p += 5;
            if (u >= 0xdc00 && u <= 0xdfff)
                return NULL; /* a low surrogate alone */
            if (u >= 0xd800 && u <= 0xdbff) { /* must be followed by \u and a low one */
                if (j->end - p < 6 || p[0] != '\\' || p[1] != 'u' || !jv_hex4(j, p + 2, &lo) ||
                    lo < 0xdc00 || lo > 0xdfff)
                    return NULL;
                p += 6;
            }
            break;
        }
        default:
            return NULL;
        }
    }
    return NULL; /* unterminated */
}

static const unsigned char *jv_value(const jv *j, const unsigned char *p, int depth);

/* An array or object after its opening bracket: members separated by commas. */
static const unsigned char *jv_container(const jv *j, const unsigned char *p, int depth, int object)
{
    unsigned char close = object ? '}' : ']';
    p = jv_ws(j, p + 1);
    if (p < j->end && *p == close)
        return p + 1;
    for (;;) {
        if (object) {
            if (p >= j->end || *p != '"' || !(p = jv_string(j, p)))
                return NULL;
            p = jv_ws(j, p);
            if (p >= j->end || *p != ':')
                return NULL;
            p++;
        }
        if (!(p = jv_value(j, p, depth)))
            return NULL;
        if (p >= j->end)
            return NULL;
        if (*p == close)
            return p + 1;
        if (*p != ',')
            return NULL;
        p = jv_ws(j, p + 1);
    }
}

/* A value with the whitespace around it, inside depth arrays and objects (jansson
 * counts nesting the same way: only containers). */
static const unsigned char *jv_value(const jv *j, const unsigned char *p, int depth)
{
    p = jv_ws(j, p);
    if (p >= j->end)
        return NULL;
    if ((*p == '{' || *p == '[') && depth + 1 > RC_JSON_MAX_DEPTH)
        return NULL;
    switch (*p) {
    case '{': p = jv_container(j, p, depth + 1, 1); break;
    case '[': p = jv_container(j, p, depth + 1, 0); break;
    case '"': p = jv_string(j, p); break;
    case 't': p = jv_lit(j, p, "true", 4); break;
    case 'f': p = jv_lit(j, p, "false", 5); break;
    case 'n': p = jv_lit(j, p, "null", 4); break;
    default: p = (*p == '-' || (*p >= '0' && *p <= '9')) ? jv_number(j, p) : NULL; break;
    }
    return p ? jv_ws(j, p) : NULL;
}

int rc_json_valid(const char *text, size_t n)
{
    jv j = {(const unsigned char *)text + n};
    const unsigned char *p = jv_value(&j, (const unsigned char *)text, 0);
    return p == j.end;
}

int rc_json_valid_array(const char *text, size_t n)
{
    jv j = {(const unsigned char *)text + n};
    const unsigned char *p = jv_ws(&j, (const unsigned char *)text);
    return p < j.end && *p == '[' && rc_json_valid(text, n);
}
