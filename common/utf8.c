/* utf8.c: see utf8.h. */
#include "common/utf8.h"

size_t rc_utf8_seq(const uint8_t *p, const uint8_t *end)
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
        return 0; /* a continuation byte, an overlong lead (c0, c1) or past f4 */
    }
    if ((size_t)(end - p) <= n)
        return 0;
    for (unsigned i = 1; i <= n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0; /* overlong, too large, or a surrogate */
    return n + 1;
}
