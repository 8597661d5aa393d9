/* engineio.c: the Engine.IO v4 packet codec. Everything here is a pure function over the
 * caller's buffers; see engineio.h for who owns what. */
#include "gateway/engineio.h"

#include <stdio.h>
#include <string.h>

#include "common/rc.h"
#include "common/utf8.h"

static int eio__type_from_char(uint8_t c, eio_type *type)
{
    if (c < '0' || c > '6')
        return RC_EINVAL;
    *type = (eio_type)(c - '0');
    return 0;
}

int eio_decode_ws_text(const uint8_t *buf, size_t len, eio_packet *out)
{
    eio_type type;

    if (len == 0 || eio__type_from_char(buf[0], &type) < 0)
        return RC_EINVAL;
    out->type = type;
    out->binary = 0;
    out->data = buf + 1;
    out->len = len - 1;
    return 0;
}

void eio_decode_ws_binary(const uint8_t *buf, size_t len, eio_packet *out)
{
    out->type = EIO_MESSAGE;
    out->binary = 1;
    out->data = buf;
    out->len = len;
}

/* Polling bodies are text that never went through the WebSocket layer's UTF-8 check, so
 * text records are checked here: everything above then sees valid UTF-8 only, and an
 * echoed record can go out in a WebSocket text frame unchanged. Overlong forms,
 * surrogates and code points past U+10FFFF are refused, as RFC 3629 requires. */
static int eio__utf8_valid(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = rc_utf8_seq(s + i, s + n);
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

int eio_payload_next(const uint8_t *buf, size_t len, size_t *pos, uint8_t *scratch,
                     size_t scratch_len, eio_packet *out)
{
    size_t start = *pos, end;
    const uint8_t *sep;
    int n;

    /* *pos == len + 1 marks "the last record had no separator after it": the end. A
     * separator at the very end leaves *pos == len, so the next call sees an empty
     * record and refuses it, as the reference does for "4a\x1e". */
    if (start > len)
        return 0;
    if (scratch_len < len)
        return RC_ETOOBIG;
    sep = start < len ? memchr(buf + start, EIO_RECORD_SEPARATOR, len - start) : NULL;
    end = sep ? (size_t)(sep - buf) : len;
    if (end == start)
        return RC_EINVAL;
    *pos = sep ? end + 1 : len + 1;

    if (buf[start] == 'b') {
        /* The decoded bytes are fewer than the record's, so writing them at the record's
         * own offset keeps every binary record of the payload in a region of its own. */
        n = eio_base64_decode((const char *)buf + start + 1, end - start - 1, scratch + start,
                              end - start);
        if (n < 0)
            return RC_EINVAL;
        out->type = EIO_MESSAGE;
        out->binary = 1;
        out->data = scratch + start;
        out->len = (size_t)n;
        return 1;
    }
    if (!eio__utf8_valid(buf + start, end - start))
        return RC_EINVAL;
    if (eio_decode_ws_text(buf + start, end - start, out) < 0)
        return RC_EINVAL;
    return 1;
}

int eio_encode_open(char *out, size_t outlen, const char *sid, int upgrade_websocket,
                    long ping_interval_ms, long ping_timeout_ms, long max_payload)
{
    int n;

    for (const char *p = sid; *p; p++) {
        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
            return RC_EINVAL;
    }
    n = snprintf(out, outlen,
                 "0{\"sid\":\"%s\",\"upgrades\":[%s],\"pingInterval\":%ld,\"pingTimeout\":%ld,"
                 "\"maxPayload\":%ld}",
                 sid, upgrade_websocket ? "\"websocket\"" : "", ping_interval_ms, ping_timeout_ms,
                 max_payload);
    if (n < 0 || (size_t)n >= outlen)
        return RC_ETOOBIG;
    return n;
}

static const char eio__b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t eio_base64_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

size_t eio_base64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t i = 0, o = 0;

    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = eio__b64[v >> 18];
        out[o++] = eio__b64[(v >> 12) & 63];
        out[o++] = eio__b64[(v >> 6) & 63];
        out[o++] = eio__b64[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = eio__b64[v >> 18];
        out[o++] = eio__b64[(v >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = eio__b64[v >> 18];
        out[o++] = eio__b64[(v >> 12) & 63];
        out[o++] = eio__b64[(v >> 6) & 63];
        out[o++] = '=';
    }
    return o;
}

static int eio__b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int eio_base64_decode(const char *in, size_t n, uint8_t *out, size_t outlen)
{
    size_t pad = 0, o = 0, need;

    if (n % 4 != 0)
        return RC_EINVAL;
    if (n > 0 && in[n - 1] == '=')
        pad = (n > 1 && in[n - 2] == '=') ? 2 : 1;
    need = n / 4 * 3 - pad;
    if (need > outlen)
        return RC_ETOOBIG;
    if (need > INT32_MAX)
        return RC_ETOOBIG;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        size_t chars = (i + 4 == n) ? 4 - pad : 4;
        uint32_t w = 0;

        for (size_t k = 0; k < 4; k++) {
            v[k] = k < chars ? eio__b64_value(in[i + k]) : 0;
            if (v[k] < 0)
                return RC_EINVAL;
            w = w << 6 | (uint32_t)v[k];
        }
        out[o++] = (uint8_t)(w >> 16);
        if (chars > 2)
            out[o++] = (uint8_t)(w >> 8);
        if (chars > 3)
            out[o++] = (uint8_t)w;
    }
    return (int)o;
}
