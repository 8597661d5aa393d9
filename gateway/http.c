/* http.c: the request-head parser and its helpers.
 *
 * The parser walks the head once with a cursor and never looks past the first max_head
 * bytes, so a slow or hostile client costs at most max_head bytes of scanning per call.
 * Each step returns a positive count when it advanced, 0 when the input ended first
 * ("need more") and RC_EINVAL as soon as a byte cannot belong to a valid head. */
#include "gateway/http.h"

#include <limits.h>
#include <string.h>

#include "common/rc.h"

typedef struct {
    const char *p;
    const char *end;
} http__cur;

/* tchar from RFC 9110 section 5.6.2: the characters of a method or a header name. */
static int http__is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int http__lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int http__ieq(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    if (alen != blen)
        return 0;
    for (size_t i = 0; i < alen; i++)
        if (http__lower((unsigned char)a[i]) != http__lower((unsigned char)b[i]))
            return 0;
    return 1;
}

/* Consumes a line ending: CRLF or a bare LF. */
static int http__eol(http__cur *c)
{
    if (c->p == c->end)
        return 0;
    if (*c->p == '\n') {
        c->p++;
        return 1;
    }
    if (*c->p != '\r')
        return RC_EINVAL;
    if (c->p + 1 == c->end)
        return 0;
    if (c->p[1] != '\n')
        return RC_EINVAL;
    c->p += 2;
    return 1;
}

/* Consumes a run of tchar ended by stop; the run may not be empty. */
static int http__token(http__cur *c, char stop, const char **tok, size_t *tok_len)
{
    const char *start = c->p;
    while (c->p < c->end && http__is_tchar((unsigned char)*c->p))
        c->p++;
    if (c->p == c->end)
        return 0;
    if (*c->p != stop || c->p == start)
        return RC_EINVAL;
    *tok = start;
    *tok_len = (size_t)(c->p - start);
    c->p++;
    return 1;
}

/* Consumes "HTTP/1.x" into *minor. */
static int http__version(http__cur *c, int *minor)
{
    static const char version[] = "HTTP/1.";
    for (size_t i = 0; i < sizeof version - 1; i++, c->p++) {
        if (c->p == c->end)
            return 0;
        if (*c->p != version[i])
            return RC_EINVAL;
    }
    if (c->p == c->end)
        return 0;
    if (*c->p < '0' || *c->p > '9')
        return RC_EINVAL;
    *minor = *c->p++ - '0';
    return 1;
}

static int http__request_line(http__cur *c, http_request *req)
{
    int rc = http__token(c, ' ', &req->method, &req->method_len);
    if (rc <= 0)
        return rc;

    /* The target is printable ASCII: clients percent-encode everything else. */
    const char *t = c->p;
    while (c->p < c->end && *c->p > 0x20 && *c->p < 0x7F)
        c->p++;
    if (c->p == c->end)
        return 0;
    if (*c->p != ' ' || c->p == t)
        return RC_EINVAL;
    req->target = t;
    req->target_len = (size_t)(c->p - t);
    c->p++;

    int rc2 = http__version(c, &req->minor_version);
    return rc2 <= 0 ? rc2 : http__eol(c);
}

/* Parses one "name: value" line into h. */
static int http__header_line(http__cur *c, http_header *h)
{
    /* A line that starts with white space is obsolete folding (or junk before the first
       header); RFC 9112 section 5.2 lets a server reject it, and we do. */
    if (*c->p == ' ' || *c->p == '\t')
        return RC_EINVAL;
    int rc = http__token(c, ':', &h->name, &h->name_len);
    if (rc <= 0)
        return rc;
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
    const char *v = c->p;
    for (; c->p < c->end; c->p++) {
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '\r' || ch == '\n')
            break;
        if ((ch < 0x20 && ch != '\t') || ch == 0x7F)
            return RC_EINVAL;
    }
    if (c->p == c->end)
        return 0;
    const char *ve = c->p;
    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
        ve--;
    h->value = v;
    h->value_len = (size_t)(ve - v);
    return http__eol(c);
}

/* Parses header lines up to the blank line; returns 1, 0 for incomplete, or a negative code. */
static int http__headers(http__cur *c, http_header *hs, size_t *n)
{
    *n = 0;
    for (;;) {
        if (c->p == c->end)
            return 0;
        if (*c->p == '\r' || *c->p == '\n')
            return http__eol(c);
        http_header h;
        int rc = http__header_line(c, &h);
        if (rc <= 0)
            return rc;
        if (*n == HTTP_MAX_HEADERS)
            return RC_ETOOBIG;
        hs[(*n)++] = h;
    }
}

/* Parses within c; returns the head's end, 0 for incomplete, or a negative code. */
static int http__parse(http__cur *c, const char *start, http_request *req)
{
    /* Skip empty lines a client may leave after a previous request's body. */
    while (c->p < c->end && (*c->p == '\r' || *c->p == '\n')) {
        int rc = http__eol(c);
        if (rc <= 0)
            return rc;
    }
    if (c->p == c->end)
        return 0;
    int rc = http__request_line(c, req);
    if (rc <= 0)
        return rc;
    rc = http__headers(c, req->headers, &req->num_headers);
    return rc <= 0 ? rc : (int)(c->p - start);
}

int http_parse_request(const char *buf, size_t len, size_t max_head, http_request *req)
{
    if (len == 0)
        return 0; /* buf may then be NULL, which admits no arithmetic */
    if (max_head > INT_MAX)
        max_head = INT_MAX;
    http__cur c = {buf, buf + (len < max_head ? len : max_head)};
    int rc = http__parse(&c, buf, req);
    if (rc == 0 && len > max_head)
        return RC_ETOOBIG;
    return rc;
}

static const char *http__find(const http_header *hs, size_t n, const char *name, size_t *len);

/* "HTTP/1.x SSS reason": the reason may be empty, and so may its space. */
static int http__status_line(http__cur *c, http_response *res)
{
    int rc = http__version(c, &res->minor_version);
    if (rc <= 0)
        return rc;
    int status = 0;
    for (int i = -1; i < 3; i++, c->p++) { /* a space, three digits */
        if (c->p == c->end)
            return 0;
        if (i < 0 ? *c->p != ' ' : (*c->p < '0' || *c->p > '9'))
            return RC_EINVAL;
        if (i >= 0)
            status = status * 10 + (*c->p - '0');
    }
    if (status < 100)
        return RC_EINVAL;
    res->status = status;
    if (c->p < c->end && *c->p == ' ')
        for (c->p++; c->p < c->end && *c->p != '\r' && *c->p != '\n'; c->p++)
            if ((unsigned char)*c->p < 0x20 && *c->p != '\t')
                return RC_EINVAL;
    return http__eol(c);
}

int http_parse_response(const char *buf, size_t len, size_t max_head, http_response *res)
{
    if (len == 0)
        return 0;
    if (max_head > INT_MAX)
        max_head = INT_MAX;
    http__cur c = {buf, buf + (len < max_head ? len : max_head)};
    int rc = http__status_line(&c, res);
    if (rc > 0)
        rc = http__headers(&c, res->headers, &res->num_headers);
    if (rc > 0)
        return (int)(c.p - buf);
    if (rc == 0 && len > max_head)
        return RC_ETOOBIG;
    return rc;
}

const char *http_response_header_get(const http_response *res, const char *name, size_t *len)
{
    return http__find(res->headers, res->num_headers, name, len);
}

static const char *http__find(const http_header *hs, size_t n, const char *name, size_t *len)
{
    for (size_t i = 0; i < n; i++) {
        const http_header *h = &hs[i];
        if (http__ieq(h->name, h->name_len, name)) {
            if (len)
                *len = h->value_len;
            return h->value;
        }
    }
    return NULL;
}

const char *http_header_get(const http_request *req, const char *name, size_t *len)
{
    return http__find(req->headers, req->num_headers, name, len);
}

int http_header_has_token(const char *value, size_t len, const char *token)
{
    size_t i = 0;
    if (value == NULL)
        return 0;
    while (i <= len) {
        size_t s = i;
        while (i < len && value[i] != ',')
            i++;
        size_t e = i;
        while (s < e && (value[s] == ' ' || value[s] == '\t'))
            s++;
        while (e > s && (value[e - 1] == ' ' || value[e - 1] == '\t'))
            e--;
        if (http__ieq(value + s, e - s, token))
            return 1;
        i++; /* past the comma, or past the end */
    }
    return 0;
}

static int http__hex(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (unsigned char)http__lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decodes the character of s (n bytes) at *i and advances *i past it: "%XX" is a byte,
 * '+' a space. Returns the byte, or RC_EINVAL for a bad escape or a NUL (escaped or not),
 * which would cut the C string short. */
static int http__unescape(const char *s, size_t n, size_t *i)
{
    unsigned char ch = (unsigned char)s[*i];
    if (ch == '+') {
        (*i)++;
        return ' ';
    }
    if (ch != '%') {
        (*i)++;
        return ch == '\0' ? RC_EINVAL : ch;
    }
    if (n - *i < 3)
        return RC_EINVAL;
    int hi = http__hex((unsigned char)s[*i + 1]), lo = http__hex((unsigned char)s[*i + 2]);
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
        return RC_EINVAL;
    *i += 3;
    return hi << 4 | lo;
}

/* 1 when s (n bytes, still escaped) decodes to key; a bad escape simply does not match,
 * since an unrelated malformed parameter should not hide the one asked for. */
static int http__key_eq(const char *s, size_t n, const char *key)
{
    size_t i = 0, k = 0;
    while (i < n) {
        int ch = http__unescape(s, n, &i);
        if (ch < 0 || key[k] == '\0' || (unsigned char)key[k] != ch)
            return 0;
        k++;
    }
    return key[k] == '\0';
}

static int http__decode_into(const char *s, size_t n, char *out, size_t outlen)
{
    size_t i = 0, o = 0;
    while (i < n) {
        int ch = http__unescape(s, n, &i);
        if (ch < 0)
            return ch;
        if (o + 1 >= outlen)
            return RC_ETOOBIG;
        out[o++] = (char)ch;
    }
    if (outlen == 0)
        return RC_ETOOBIG;
    out[o] = '\0';
    return o > INT_MAX ? RC_ETOOBIG : (int)o;
}

int http_query_get(const char *target, size_t target_len, const char *key, char *out,
                   size_t outlen)
{
    size_t q = http_path_len(target, target_len);
    if (q == target_len || target[q] != '?')
        return RC_ENOENT;
    size_t end = q + 1;
    while (end < target_len && target[end] != '#')
        end++;
    for (size_t i = q + 1; i < end;) {
        size_t s = i;
        while (i < end && target[i] != '&')
            i++;
        size_t eq = s;
        while (eq < i && target[eq] != '=')
            eq++;
        if (i > s && http__key_eq(target + s, eq - s, key)) {
            size_t v = eq < i ? eq + 1 : i;
            return http__decode_into(target + v, i - v, out, outlen);
        }
        i++;
    }
    return RC_ENOENT;
}

size_t http_path_len(const char *target, size_t target_len)
{
    size_t i = 0;
    while (i < target_len && target[i] != '?' && target[i] != '#')
        i++;
    return i;
}

static int http__parse_decimal(const char *s, size_t n, uint64_t *out)
{
    if (n == 0)
        return RC_EINVAL;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return RC_EINVAL;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return RC_EINVAL;
        v = v * 10 + d;
    }
    *out = v;
    return RC_OK;
}

int http_content_length(const http_request *req, uint64_t *out)
{
    int found = 0;
    uint64_t first = 0;
    for (size_t i = 0; i < req->num_headers; i++) {
        const http_header *h = &req->headers[i];
        if (!http__ieq(h->name, h->name_len, "content-length"))
            continue;
        uint64_t v;
        if (http__parse_decimal(h->value, h->value_len, &v) < 0)
            return RC_EINVAL;
        /* Disagreeing lengths are the stuff of request smuggling: refuse them. */
        if (found && v != first)
            return RC_EINVAL;
        first = v;
        found = 1;
    }
    if (!found)
        return RC_ENOENT;
    *out = first;
    return RC_OK;
}

int http_request_is_chunked(const http_request *req)
{
    return http_header_get(req, "transfer-encoding", NULL) != NULL;
}
