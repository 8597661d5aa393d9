/* fuzz_websocket: arbitrary bytes through ws_reader_feed, in both masking modes.
 *
 * Input: byte 0 picks the mode and max_message, byte 1 seeds the chunk sizes, the rest is
 * the stream. Invariants: never more consumed than given; an event's data lies in the
 * caller's buffer or the reader's and within the size bounds; text and close reasons are
 * valid UTF-8 by an independent decoder; an error carries 1002, 1007 or 1009; and the
 * stream gives the same events and the same error whether it arrives whole or in random
 * chunks. Also: the UTF-8 validator agrees with a reference decoder on the raw input,
 * and frames built by the encoders decode back to their payload. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/rc.h"
/* The codec is compiled into this file, not linked from the library, so that it gets
 * the fuzzer's coverage instrumentation (the libraries are built without it). */
#include "gateway/websocket.c"

#define REQUIRE(c)                                                                     \
    do {                                                                               \
        if (!(c))                                                                      \
            abort();                                                                   \
    } while (0)

/* A plain decoder, written from the Unicode definition rather than as a state machine. */
static int ref_utf8_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        size_t k;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            k = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            k = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (n - i - 1 < k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += k + 1;
    }
    return 1;
}

typedef struct {
    uint64_t hash;
    size_t events;
    int rc;
    uint16_t code;
} outcome;

static void mix(uint64_t *h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        *h = (*h ^ b[i]) * 1099511628211ull;
}

static int within(const uint8_t *p, size_t n, const uint8_t *base, size_t len)
{
    return base && p >= base && p <= base + len && n <= (size_t)(base + len - p);
}

static void check_event(const ws_event *ev, const ws_reader *r, const uint8_t *b, size_t have,
                        size_t max)
{
    REQUIRE(ev->kind >= WS_EV_TEXT && ev->kind <= WS_EV_CLOSE);
    REQUIRE(ev->data != NULL);
    REQUIRE(ev->len == 0 || within(ev->data, ev->len, b, have) ||
            within(ev->data, ev->len, r->_buf, r->_len));
    if (ev->kind == WS_EV_TEXT || ev->kind == WS_EV_BINARY)
        REQUIRE(ev->len <= max);
    else
        REQUIRE(ev->len <= WS_MAX_CONTROL);
    if (ev->kind == WS_EV_TEXT || ev->kind == WS_EV_CLOSE)
        REQUIRE(ref_utf8_valid(ev->data, ev->len));
    if (ev->kind == WS_EV_CLOSE)
        REQUIRE(ev->close_code >= 1000 && ev->close_code <= 4999);
}

/* Feeds the stream in chunks (whole when seed is 0) as a connection would. */
static outcome run(const uint8_t *in, size_t n, int masked, size_t max, uint32_t seed)
{
    outcome o = {14695981039346656037ull, 0, 0, 0};
    ws_reader r;
    ws_reader_init(&r, max, masked);
    uint8_t *b = malloc(n + 1);
    size_t have = 0, pos = 0;
    while (o.rc == 0) {
        size_t add = n - pos;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            size_t step = 1 + (seed >> 16) % 40;
            add = step < add ? step : add;
        }
        memcpy(b + have, in + pos, add);
        have += add;
        pos += add;
        for (;;) {
            ws_event ev;
            uint16_t code = 0;
            ssize_t used = ws_reader_feed(&r, b, have, &ev, &code);
            if (used < 0) {
                REQUIRE(used == RC_EINVAL || used == RC_ETOOBIG);
                REQUIRE(code == 1002 || code == 1007 || code == 1009);
                REQUIRE((used == RC_ETOOBIG) == (code == 1009));
                o.rc = (int)used;
                o.code = code;
                break;
            }
            REQUIRE((size_t)used <= have);
            if (ev.kind == WS_EV_NONE) {
                /* Everything parseable was taken: asking again changes nothing. */
                memmove(b, b + used, have - (size_t)used);
                have -= (size_t)used;
                REQUIRE(ws_reader_feed(&r, b, have, &ev, &code) == 0);
                REQUIRE(ev.kind == WS_EV_NONE);
                break;
            }
            check_event(&ev, &r, b, have, max);
            mix(&o.hash, &ev.kind, sizeof ev.kind);
            mix(&o.hash, &ev.close_code, sizeof ev.close_code);
            mix(&o.hash, &ev.len, sizeof ev.len);
            mix(&o.hash, ev.data, ev.len);
            o.events++;
            memmove(b, b + used, have - (size_t)used);
            have -= (size_t)used;
        }
        if (pos == n)
            break;
    }
    /* Whatever is left unconsumed is at most an unfinished header or control frame. */
    if (o.rc == 0)
        REQUIRE(have < WS_MAX_HEADER + WS_MAX_CONTROL);
    free(b);
    ws_reader_free(&r);
    return o;
}

/* Encodes payload as a message in fragments sized by seed, then decodes it. */
static void roundtrip(const uint8_t *payload, size_t n, int masked, uint32_t seed)
{
    uint8_t *wire = malloc(n * 15 + 16);
    size_t w = 0, at = 0;
    const uint8_t mask[4] = {(uint8_t)seed, (uint8_t)(seed >> 8), 0x5a, 0xa5};
    do {
        seed = seed * 1103515245u + 12345u;
        size_t part = n > at ? 1 + (seed >> 16) % (n - at) : 0;
        int fin = at + part == n;
        int op = at == 0 ? WS_OP_BINARY : WS_OP_CONT;
        w += masked ? ws_frame_header_masked(wire + w, fin, op, part, mask)
                    : ws_frame_header(wire + w, fin, op, part);
        memcpy(wire + w, payload + at, part);
        if (masked)
            ws_mask(wire + w, part, mask, 0);
        w += part;
        at += part;
        if (fin)
            break;
    } while (1);

    ws_reader r;
    ws_reader_init(&r, n, masked);
    ws_event ev;
    uint16_t code = 0;
    ssize_t used = ws_reader_feed(&r, wire, w, &ev, &code);
    REQUIRE(used == (ssize_t)w);
    REQUIRE(ev.kind == WS_EV_BINARY);
    REQUIRE(ev.len == n && memcmp(ev.data, payload, n) == 0);
    ws_reader_free(&r);
    free(wire);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t limits[] = {0, 1, 16, 125, 126, 300, 4096, 1 << 16};
    if (size < 2)
        return 0;
    int masked = data[0] & 1;
    size_t max = limits[(data[0] >> 1) & 7];
    uint32_t seed = data[1] | 0x100u;
    const uint8_t *in = data + 2;
    size_t n = size - 2;

    outcome whole = run(in, n, masked, max, 0);
    outcome parts = run(in, n, masked, max, seed);
    REQUIRE(whole.hash == parts.hash && whole.events == parts.events);
    REQUIRE(whole.rc == parts.rc && whole.code == parts.code);

    uint32_t u = WS_UTF8_ACCEPT;
    int ok = ws_utf8_check(&u, in, n) == 0 && ws_utf8_complete(u);
    REQUIRE(ok == ref_utf8_valid(in, n));

    roundtrip(in, n, masked, seed);
    return 0;
}
