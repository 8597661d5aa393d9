/* b64url.c: strict, unpadded base64url (see b64url.h). */
#include "common/b64url.h"

#include <stdint.h>

static int rc__b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Decodes src[0..len) into dst, which has room for len * 3 / 4 bytes. Returns the decoded
 * length, or -1 for a character outside the alphabet (padding included), an impossible
 * length, or non-zero leftover bits: so every byte string has exactly one accepted
 * encoding and a token cannot be altered without changing what is signed. */
long rc_b64url_decode(const char *src, size_t len, unsigned char *dst)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    if (len % 4 == 1)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int v = rc__b64_value((unsigned char)src[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            dst[o++] = (unsigned char)(acc >> bits);
        }
    }
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
        return -1;
    return (long)o;
}

size_t rc_b64url_len(size_t n)
{
    return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

/* Writes the encoding of src[0..n) at dst (rc_b64url_len(n) bytes, no NUL) and
 * returns the position after it. */
char *rc_b64url_encode(const unsigned char *src, size_t n, char *dst)
{
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 | src[i + 2];
        *dst++ = abc[v >> 18];
        *dst++ = abc[(v >> 12) & 63];
        *dst++ = abc[(v >> 6) & 63];
        *dst++ = abc[v & 63];
    }
    if (n - i == 1) {
        *dst++ = abc[src[i] >> 2];
        *dst++ = abc[(src[i] & 3) << 4];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)src[i] << 8 | src[i + 1];
        *dst++ = abc[v >> 10];
        *dst++ = abc[(v >> 4) & 63];
        *dst++ = abc[(v & 15) << 2];
    }
    return dst;
}
