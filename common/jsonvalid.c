/* jsonvalid.c: a recursive-descent recogniser for JSON (see jsonvalid.h). Each function
 * takes the position of what it recognises and returns the position after it, or NULL. */
#include "common/jsonvalid.h"

#include <stdint.h>

#include "common/utf8.h"

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
            size_t k = rc_utf8_seq(p, j->end);
            if (!k)
                return NULL;
            p += k;
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
