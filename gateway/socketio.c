/* socketio.c: the Socket.IO v5 packet codec. The decoder follows socket.io-parser 4.2.6's
 * decodeString and isPayloadValid; the encoder follows its encodeAsString, with a JSON
 * writer that reproduces JSON.stringify byte for byte so a client sees exactly what a
 * Node server would have sent. See socketio.h for the deliberate differences. */
#include "gateway/socketio.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/rc.h"

static const char *const sio__reserved[] = {
    "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
};

/* --- growable buffer ------------------------------------------------------------------ */

void sio_buf_append(sio_buf *b, const void *p, size_t n)
{
    if (b->cap - b->len <= n || b->data == NULL) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap - b->len <= n)
            cap *= 2;
        b->data = rc_realloc(b->data, cap);
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void sio_buf_free(sio_buf *b)
{
    rc_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static void sio__puts(sio_buf *b, const char *s)
{
    sio_buf_append(b, s, strlen(s));
}

/* --- JSON.stringify ------------------------------------------------------------------- */

/* Escapes as JSON.stringify's QuoteJSONString: the two mandatory escapes, the five short
 * forms, other control characters as lowercase \u00xx; '/', DEL and non-ASCII stay as they
 * are (jansson would write \u001F in uppercase, which is why we do not use json_dumps). */
/* Pairs of (character, letter after the backslash), searched with strchr. */
static const char sio__short_escapes[] = "\"\"\\\\\bb\ff\nn\rr\tt";

/* The length of the well-formed UTF-8 sequence at s[0..n) (RFC 3629: no overlong forms,
 * no surrogates, nothing past U+10FFFF), or 0. */
static size_t sio__utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
               : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (!len || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) || (c == 0xf0 && s[1] < 0x90) ||
        (c == 0xf4 && s[1] > 0x8f))
        return 0;
    return len;
}

/* A string that is not UTF-8 (an event name from a room event on Kafka: protobuf-c does
 * not check) is written with U+FFFD for each bad byte, as a JavaScript string would hold
 * it: a WebSocket text frame that is not UTF-8 makes every browser close the connection
 * (1007), which one bad event would otherwise do to every socket it reaches. */
static void sio__append_string(sio_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;

    sio_buf_append(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
        size_t elen = 2;

        if (c >= 0x80) {
            size_t u = sio__utf8_len((const unsigned char *)s + i, n - i);
            if (u) {
                i += u - 1;
                continue;
            }
            sio_buf_append(b, s + run, i - run);
            sio_buf_append(b, "\xef\xbf\xbd", 3);
            run = i + 1;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        sio_buf_append(b, s + run, i - run);
        run = i + 1;
        const char *shortform = c ? strchr(sio__short_escapes, c) : NULL;
        if (shortform) {
            esc[1] = shortform[1];
        } else {
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            elen = 6;
        }
        sio_buf_append(b, esc, elen);
    }
    sio_buf_append(b, s + run, n - run);
    sio_buf_append(b, "\"", 1);
}

/* Number::toString(x) from ECMA-262: the shortest digit string that reads back as x, laid
 * out in plain notation for exponents -7 < n <= 21 and in d.ddde+n form outside. printf's
 * "%.*e" is correctly rounded in glibc, so the first precision that round-trips through
 * strtod gives those shortest digits. */
static void sio__append_number(sio_buf *b, double x)
{
    char tmp[40], digits[20], out[48];
    int k = 0, n, o = 0;

    if (!isfinite(x)) {
        sio__puts(b, "null");
        return;
    }
    if (x == 0) {
        sio__puts(b, "0");
        return;
    }
    if (x < 0) {
        out[o++] = '-';
        x = -x;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, x);
        if (strtod(tmp, NULL) == x)
            break;
    }
    /* tmp is "d[.ddd]e[+-]xx": collect the digits, then the exponent. */
    char *e = strchr(tmp, 'e');
    for (char *p = tmp; p < e; p++) {
        if (*p >= '0' && *p <= '9')
            digits[k++] = *p;
    }
    while (k > 1 && digits[k - 1] == '0')
        k--;
    n = atoi(e + 1) + 1;

    if (k <= n && n <= 21) {
        memcpy(out + o, digits, (size_t)k);
        o += k;
        for (int z = 0; z < n - k; z++)
            out[o++] = '0';
    } else if (0 < n && n <= 21) {
        memcpy(out + o, digits, (size_t)n);
        o += n;
        out[o++] = '.';
        memcpy(out + o, digits + n, (size_t)(k - n));
        o += k - n;
    } else if (-6 < n && n <= 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int z = 0; z < -n; z++)
            out[o++] = '0';
        memcpy(out + o, digits, (size_t)k);
        o += k;
    } else {
        out[o++] = digits[0];
        if (k > 1) {
            out[o++] = '.';
            memcpy(out + o, digits + 1, (size_t)(k - 1));
            o += k - 1;
        }
        o += snprintf(out + o, sizeof out - (size_t)o, "e%c%d", n - 1 < 0 ? '-' : '+',
                      abs(n - 1));
    }
    sio_buf_append(b, out, (size_t)o);
}

void sio_json_append(sio_buf *out, const json_t *v)
{
    char tmp[32];
    const char *key;
    size_t key_len, i;
    json_t *item;

    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        int first = 1;
        sio_buf_append(out, "{", 1);
        json_object_keylen_foreach((json_t *)v, key, key_len, item)
        {
            if (!first)
                sio_buf_append(out, ",", 1);
            first = 0;
            sio__append_string(out, key, key_len);
            sio_buf_append(out, ":", 1);
            sio_json_append(out, item);
        }
        sio_buf_append(out, "}", 1);
        break;
    }
    case JSON_ARRAY:
        sio_buf_append(out, "[", 1);
        json_array_foreach(v, i, item)
        {
            if (i)
                sio_buf_append(out, ",", 1);
            sio_json_append(out, item);
        }
        sio_buf_append(out, "]", 1);
        break;
    case JSON_STRING:
        sio__append_string(out, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        snprintf(tmp, sizeof tmp, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        sio__puts(out, tmp);
        break;
    case JSON_REAL:
        sio__append_number(out, json_real_value(v));
        break;
    case JSON_TRUE:
        sio__puts(out, "true");
        break;
    case JSON_FALSE:
        sio__puts(out, "false");
        break;
    case JSON_NULL:
        sio__puts(out, "null");
        break;
    }
}

/* --- encoders ------------------------------------------------------------------------- */

void sio_encode(sio_buf *out, sio_type type, const char *nsp, int has_id, uint64_t id,
                int attachments, const json_t *data)
{
    char tmp[32];
    int n;

    n = snprintf(tmp, sizeof tmp, "%d", (int)type);
    if (type == SIO_BINARY_EVENT || type == SIO_BINARY_ACK)
        n += snprintf(tmp + n, sizeof tmp - (size_t)n, "%d-", attachments);
    sio_buf_append(out, tmp, (size_t)n);
    if (nsp && nsp[0] && strcmp(nsp, "/") != 0) {
        sio__puts(out, nsp);
        sio_buf_append(out, ",", 1);
    }
    if (has_id) {
        n = snprintf(tmp, sizeof tmp, "%" PRIu64, id);
        sio_buf_append(out, tmp, (size_t)n);
    }
    if (data && !json_is_null(data))
        sio_json_append(out, data);
}

static int sio__is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int sio_encode_event_raw(sio_buf *out, const char *event, const char *args_json, size_t args_len,
                         int attachments)
{
    size_t first = 0, last = args_len;
    char tmp[32];

    while (first < args_len && sio__is_space(args_json[first]))
        first++;
    while (last > first && sio__is_space(args_json[last - 1]))
        last--;
    if (last - first < 2 || args_json[first] != '[' || args_json[last - 1] != ']')
        return RC_EINVAL;
    /* The inner text, trimmed, so "[ ]" counts as empty and gets no comma. */
    first++;
    last--;
    while (first < last && sio__is_space(args_json[first]))
        first++;
    while (last > first && sio__is_space(args_json[last - 1]))
        last--;

    if (attachments > 0) {
        int n = snprintf(tmp, sizeof tmp, "%d%d-[", SIO_BINARY_EVENT, attachments);
        sio_buf_append(out, tmp, (size_t)n);
    } else {
        sio_buf_append(out, "2[", 2);
    }
    sio__append_string(out, event, strlen(event));
    if (last > first) {
        sio_buf_append(out, ",", 1);
        sio_buf_append(out, args_json + first, last - first);
    }
    sio_buf_append(out, "]", 1);
    return 0;
}

/* --- placeholders --------------------------------------------------------------------- */

int sio_placeholder_num(const json_t *v)
{
    const json_t *num;
    double n;

    if (!json_is_object(v) || !json_is_true(json_object_get(v, "_placeholder")))
        return -2;
    /* A real is accepted too: JavaScript has one number type, and a packet holding an
     * integer past int64 is parsed with every integer as a real. */
    num = json_object_get(v, "num");
    if (!json_is_number(num))
        return -1;
    n = json_number_value(num);
    return n >= 0 && n <= INT_MAX && n == floor(n) ? (int)n : -1;
}

/* Marks each attachment a placeholder names in *seen; 0 on a placeholder out of range.
 * A placeholder is a leaf, as in the reference's reconstructPacket, which replaces it
 * whole and does not look inside. */
static int sio__placeholders_walk(const json_t *v, int attachments, unsigned *seen)
{
    const char *key;
    size_t i;
    json_t *item;
    int num;

    if (json_is_array(v)) {
        json_array_foreach(v, i, item)
        {
            if (!sio__placeholders_walk(item, attachments, seen))
                return 0;
        }
        return 1;
    }
    if (!json_is_object(v))
        return 1;
    num = sio_placeholder_num(v);
    if (num == -1 || num >= attachments)
        return 0;
    if (num >= 0) {
        *seen |= 1u << num;
        return 1;
    }
    json_object_foreach((json_t *)v, key, item)
    {
        if (!sio__placeholders_walk(item, attachments, seen))
            return 0;
    }
    return 1;
}

int sio_placeholders_valid(const json_t *data, int attachments)
{
    unsigned seen = 0;

    if (attachments < 0 || attachments > SIO_MAX_ATTACHMENTS)
        return 0;
    if (data && !sio__placeholders_walk(data, attachments, &seen))
        return 0;
    return seen == (1u << attachments) - 1;
}

/* --- decoder -------------------------------------------------------------------------- */

static int sio__is_reserved_n(const char *name, size_t n)
{
    for (size_t i = 0; i < RC_ARRAY_LEN(sio__reserved); i++) {
        if (strlen(sio__reserved[i]) == n && memcmp(sio__reserved[i], name, n) == 0)
            return 1;
    }
    return 0;
}

int sio_is_reserved_event(const char *name)
{
    return sio__is_reserved_n(name, strlen(name));
}

/* isPayloadValid, with data required wherever the stock client always sends it. */
static int sio__payload_valid(sio_type type, const json_t *data, int attachments)
{
    const json_t *first;

    switch (type) {
    case SIO_CONNECT:
        return data == NULL || json_is_object(data);
    case SIO_DISCONNECT:
        return data == NULL;
    case SIO_CONNECT_ERROR:
        return json_is_string(data) || json_is_object(data);
    case SIO_EVENT:
    case SIO_BINARY_EVENT:
        first = json_array_get(data, 0);
        if (!json_is_number(first) &&
            !(json_is_string(first) &&
              !sio__is_reserved_n(json_string_value(first), json_string_length(first))))
            return 0;
        break;
    case SIO_ACK:
    case SIO_BINARY_ACK:
        if (!json_is_array(data))
            return 0;
        break;
    }
    if (type == SIO_BINARY_EVENT || type == SIO_BINARY_ACK)
        return sio_placeholders_valid(data, attachments);
    return 1;
}

/* Parses the JSON part. Integers past int64 are read again as doubles, which is what
 * JSON.parse makes of them; numbers past the double range stay refused. */
static json_t *sio__parse_json(const uint8_t *p, size_t n)
{
    json_error_t err;
    json_t *v;

    v = json_loadb((const char *)p, n, JSON_DECODE_ANY, &err);
    if (v == NULL && json_error_code(&err) == json_error_numeric_overflow)
        v = json_loadb((const char *)p, n, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &err);
    return v;
}

/* Reads "[<digits>-]" for BINARY_* packets; the running value is capped so leading zeros
 * are fine and a long digit run cannot overflow. */
static int sio__parse_attachments(const uint8_t *buf, size_t len, size_t *i, int *out)
{
    size_t start = *i;
    int n = 0;

    while (*i < len && buf[*i] >= '0' && buf[*i] <= '9') {
        n = n * 10 + (buf[*i] - '0');
        if (n > SIO_MAX_ATTACHMENTS)
            return RC_EINVAL;
        (*i)++;
    }
    if (*i == start || *i >= len || buf[*i] != '-')
        return RC_EINVAL;
    (*i)++;
    *out = n;
    return 0;
}

static int sio__parse_id(const uint8_t *buf, size_t len, size_t *i, uint64_t *out)
{
    uint64_t id = 0;

    while (*i < len && buf[*i] >= '0' && buf[*i] <= '9') {
        unsigned d = (unsigned)(buf[*i] - '0');
        if (id > (UINT64_MAX - d) / 10)
            return RC_EINVAL;
        id = id * 10 + d;
        (*i)++;
    }
    *out = id;
    return 0;
}

int sio_decode(const uint8_t *buf, size_t len, sio_packet *out)
{
    size_t i = 1;

    memset(out, 0, sizeof *out);
    out->nsp = "/";
    out->nsp_len = 1;
    if (len > SIO_MAX_PACKET_LEN)
        return RC_ETOOBIG;
    if (len == 0 || buf[0] < '0' || buf[0] > '6')
        return RC_EINVAL;
    out->type = (sio_type)(buf[0] - '0');

    if (out->type == SIO_BINARY_EVENT || out->type == SIO_BINARY_ACK) {
        if (sio__parse_attachments(buf, len, &i, &out->attachments) < 0)
            return RC_EINVAL;
    }
    if (i < len && buf[i] == '/') {
        const uint8_t *comma = memchr(buf + i, ',', len - i);
        size_t end = comma ? (size_t)(comma - buf) : len;

        /* A NUL would cut the name short for every C string API above us. */
        if (memchr(buf + i, '\0', end - i))
            return RC_EINVAL;
        out->nsp = (const char *)buf + i;
        out->nsp_len = end - i;
        i = comma ? end + 1 : len;
    }
    if (i < len && buf[i] >= '0' && buf[i] <= '9') {
        if (sio__parse_id(buf, len, &i, &out->id) < 0)
            return RC_EINVAL;
        out->has_id = 1;
    }
    if (i < len) {
        /* The reference would read whitespace here as part of an ack id; nothing
         * legitimate sends it, so refuse rather than guess. */
        if (sio__is_space((char)buf[i]))
            return RC_EINVAL;
        out->data = sio__parse_json(buf + i, len - i);
        if (out->data == NULL)
            return RC_EINVAL;
    }
    if (!sio__payload_valid(out->type, out->data, out->attachments)) {
        sio_packet_clear(out);
        return RC_EINVAL;
    }
    return 0;
}

void sio_packet_clear(sio_packet *p)
{
    json_decref(p->data);
    p->data = NULL;
}
