/* WebSocket codec: the RFC 6455 examples, every way a peer can break the protocol and
 * the close code it earns, UTF-8 failing as early as the bytes allow, and the same
 * events whatever the input's chunking. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "common/alloc.h"
#include "common/rc.h"
#include "gateway/websocket.h"

static const uint8_t MASK[4] = {0x37, 0xfa, 0x21, 0x3d}; /* the RFC 5.7 example's */

/* CHECK_MEM for bytes: prints both sides in hex. */
static void hex(char *out, const uint8_t *p, size_t n)
{
    out[0] = '\0';
    for (size_t i = 0; i < n && i < 40; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}
#define CHECK_BYTES(a, alen, b, blen)                                                  \
    do {                                                                               \
        size_t ca_ = (alen), cb_ = (blen);                                             \
        if (ca_ == cb_ && memcmp((a), (b), ca_) == 0) {                                \
            check__passed++;                                                           \
        } else {                                                                       \
            char ha_[96], hb_[96];                                                     \
            hex(ha_, (const uint8_t *)(a), ca_);                                       \
            hex(hb_, (const uint8_t *)(b), cb_);                                       \
            CHECK__FAIL("CHECK_BYTES(%s, %s): %s (%zu) != %s (%zu)", #a, #b, ha_, ca_, hb_, cb_); \
        }                                                                              \
    } while (0)

/* Builds one frame (masked with MASK when masked) into out; returns its size. */
static size_t frame(uint8_t *out, int fin, int op, const void *payload, size_t len, int masked)
{
    size_t h = masked ? ws_frame_header_masked(out, fin, op, len, MASK)
                      : ws_frame_header(out, fin, op, len);
    if (len)
        memcpy(out + h, payload, len);
    if (masked)
        ws_mask(out + h, len, MASK, 0);
    return h + len;
}

static uint32_t fnv(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static void append(char *t, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *t, size_t cap, const char *fmt, ...)
{
    size_t n = strlen(t);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t + n, cap - n, fmt, ap);
    va_end(ap);
}

static void describe(char *t, size_t cap, const ws_event *ev)
{
    static const char *names[] = {"NONE", "TEXT", "BINARY", "PING", "PONG", "CLOSE"};
    append(t, cap, "%s", names[ev->kind]);
    if (ev->kind == WS_EV_CLOSE)
        append(t, cap, "(%u)", ev->close_code);
    if (ev->len <= 32) {
        append(t, cap, ":");
        for (size_t i = 0; i < ev->len; i++)
            if (ev->data[i] >= 0x20 && ev->data[i] < 0x7F)
                append(t, cap, "%c", ev->data[i]);
            else
                append(t, cap, "\\x%02x", ev->data[i]);
    } else {
        append(t, cap, ":%zu#%08x", ev->len, fnv(ev->data, ev->len));
    }
    append(t, cap, "|");
}

/* Feeds in to a fresh reader step bytes at a time (0: all at once) the way a
 * connection does, keeping unconsumed bytes at the front of its buffer, and writes a
 * transcript of events, the error if any, and how many bytes were left unconsumed. */
static void run(const uint8_t *in, size_t n, size_t step, int masked, size_t max, char *t,
                size_t cap)
{
    ws_reader r;
    ws_reader_init(&r, max, masked);
    uint8_t *b = rc_malloc(n + 1);
    size_t have = 0, pos = 0;
    t[0] = '\0';
    for (;;) {
        size_t add = step == 0 ? n - pos : (step < n - pos ? step : n - pos);
        memcpy(b + have, in + pos, add);
        have += add;
        pos += add;
        for (;;) {
            ws_event ev;
            uint16_t code = 0;
            ssize_t used = ws_reader_feed(&r, b, have, &ev, &code);
            if (used < 0) {
                append(t, cap, "ERR(%u)", code);
                goto out;
            }
            if ((size_t)used > have)
                CHECK__FAIL("consumed %zd of %zu bytes", used, have);
            if (ev.kind != WS_EV_NONE)
                describe(t, cap, &ev);
            memmove(b, b + used, have - (size_t)used);
            have -= (size_t)used;
            if (ev.kind == WS_EV_NONE)
                break;
        }
        if (pos == n)
            break;
    }
    if (have)
        append(t, cap, "rest=%zu", have);
out:
    rc_free(b);
    ws_reader_free(&r);
}

static char T[1 << 12];

/* The transcript entry describe() writes for a long payload. */
static const char *hashed(const char *kind, const uint8_t *p, size_t n)
{
    static char w[64];
    snprintf(w, sizeof w, "%s:%zu#%08x|", kind, n, fnv(p, n));
    return w;
}

static const char *once(const void *in, size_t n, int masked, size_t max)
{
    run(in, n, 0, masked, max, T, sizeof T);
    return T;
}

/* The transcript for in, after checking that byte-by-byte and 7-byte chunks agree. */
static const char *chunked(const void *in, size_t n, int masked, size_t max)
{
    static char a[sizeof T], b[sizeof T];
    run(in, n, 1, masked, max, a, sizeof a);
    run(in, n, 7, masked, max, b, sizeof b);
    run(in, n, 0, masked, max, T, sizeof T);
    CHECK_STR(a, T);
    CHECK_STR(b, T);
    return T;
}

static void test_accept_key(void)
{
    char out[29];
    const char *k = "dGhlIHNhbXBsZSBub25jZQ==";
    CHECK_EQ(ws_accept_key(k, 24, out), RC_OK);
    CHECK_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");

    const char *bad[] = {"dGhlIHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25jZQ===",
                         "dGhlIHNhbXBsZSBub25jZQ=A", "dGhlIHNhbXBsZSBub25jZ*==",
                         "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZ===",
                         "                        "};
    for (size_t i = 0; i < RC_ARRAY_LEN(bad); i++)
        CHECK_EQ(ws_accept_key(bad[i], strlen(bad[i]), out), RC_EINVAL);
}

static void test_encoder(void)
{
    uint8_t h[14];
    static const uint8_t hello[] = {0x81, 0x05};
    CHECK_BYTES(h, ws_frame_header(h, 1, WS_OP_TEXT, 5), hello, 2);
    static const uint8_t l256[] = {0x82, 0x7E, 0x01, 0x00};
    CHECK_BYTES(h, ws_frame_header(h, 1, WS_OP_BINARY, 256), l256, 4);
    static const uint8_t l64k[] = {0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0};
    CHECK_BYTES(h, ws_frame_header(h, 1, WS_OP_BINARY, 65536), l64k, 10);
    CHECK_EQ(ws_frame_header(h, 1, WS_OP_BINARY, 125), 2);
    CHECK_EQ(ws_frame_header(h, 1, WS_OP_BINARY, 126), 4);
    CHECK_EQ(ws_frame_header(h, 1, WS_OP_BINARY, 65535), 4);
    static const uint8_t frag[] = {0x01, 0x03};
    CHECK_BYTES(h, ws_frame_header(h, 0, WS_OP_TEXT, 3), frag, 2);

    /* RFC 6455 5.7: a single-frame masked text message "Hello". */
    static const uint8_t masked_hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                           0x7f, 0x9f, 0x4d, 0x51, 0x58};
    uint8_t f[64];
    CHECK_BYTES(f, frame(f, 1, WS_OP_TEXT, "Hello", 5, 1), masked_hello, sizeof masked_hello);
    CHECK_EQ(ws_frame_header_masked(h, 1, WS_OP_BINARY, 65536, MASK), 14);
    CHECK_EQ(h[1], 0xFF);

    /* Masking in pieces at odd offsets equals masking at once, and undoes itself. */
    uint8_t a[37], b[37];
    for (size_t i = 0; i < sizeof a; i++)
        a[i] = b[i] = (uint8_t)(i * 7);
    ws_mask(a, sizeof a, MASK, 0);
    ws_mask(b, 3, MASK, 0);
    ws_mask(b + 3, 9, MASK, 3);
    ws_mask(b + 12, 25, MASK, 12);
    CHECK(memcmp(a, b, sizeof a) == 0);
    ws_mask(a, sizeof a, MASK, 0);
    CHECK_EQ(a[36], (uint8_t)(36 * 7));

    uint8_t c[125];
    static const uint8_t bye[] = {0x03, 0xE8, 'b', 'y', 'e'};
    CHECK_BYTES(c, ws_close_payload(c, 1000, "bye"), bye, sizeof bye);
    CHECK_EQ(ws_close_payload(c, 1005, "ignored"), 0);
    CHECK_EQ(ws_close_payload(c, 1001, NULL), 2);
    /* 122 ASCII bytes then a 2-byte character: the character would straddle the 123-byte
       limit, so it is dropped whole. */
    char reason[200];
    memset(reason, 'a', 122);
    strcpy(reason + 122, "\xC3\xA9zz");
    size_t n = ws_close_payload(c, 1000, reason);
    CHECK_EQ(n, 124);
    uint32_t u = WS_UTF8_ACCEPT;
    CHECK_EQ(ws_utf8_check(&u, c + 2, n - 2), 0);
    CHECK(ws_utf8_complete(u));
    memset(reason, 'a', 150);
    reason[150] = '\0';
    CHECK_EQ(ws_close_payload(c, 1000, reason), 125);
}

static void test_rfc_examples(void)
{
    static const uint8_t hello[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    CHECK_STR(chunked(hello, sizeof hello, 0, 1024), "TEXT:Hello|");
    static const uint8_t masked[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                     0x7f, 0x9f, 0x4d, 0x51, 0x58};
    CHECK_STR(chunked(masked, sizeof masked, 1, 1024), "TEXT:Hello|");
    static const uint8_t frag[] = {0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f};
    CHECK_STR(chunked(frag, sizeof frag, 0, 1024), "TEXT:Hello|");
    static const uint8_t ping[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    CHECK_STR(chunked(ping, sizeof ping, 0, 1024), "PING:Hello|");
    static const uint8_t pong[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                   0x7f, 0x9f, 0x4d, 0x51, 0x58};
    CHECK_STR(chunked(pong, sizeof pong, 1, 1024), "PONG:Hello|");

    /* 256 bytes and 64 KiB of binary data in a single unmasked frame. */
    uint8_t *big = rc_malloc(10 + 65536);
    uint8_t *pay = rc_malloc(65536);
    for (size_t i = 0; i < 65536; i++)
        pay[i] = (uint8_t)(i * 31 + 5);
    char want[64];
    size_t n = frame(big, 1, WS_OP_BINARY, pay, 256, 0);
    CHECK_EQ(big[1], 0x7E);
    snprintf(want, sizeof want, "BINARY:256#%08x|", fnv(pay, 256));
    CHECK_STR(chunked(big, n, 0, 65536), want);
    n = frame(big, 1, WS_OP_BINARY, pay, 65536, 0);
    CHECK_EQ(big[1], 0x7F);
    snprintf(want, sizeof want, "BINARY:65536#%08x|", fnv(pay, 65536));
    CHECK_STR(once(big, n, 0, 65536), want);
    CHECK_STR(chunked(big, n, 0, 65536), want);
    rc_free(big);
    rc_free(pay);
}

/* A whole unfragmented frame comes back pointing into the input: the common case costs
 * no copy. A fragmented one comes from the reader's own buffer. */
static void test_zero_copy(void)
{
    uint8_t in[64];
    size_t n = frame(in, 1, WS_OP_TEXT, "hi there", 8, 1);
    ws_reader r;
    ws_reader_init(&r, 1024, 1);
    ws_event ev;
    uint16_t code = 0;
    CHECK_EQ(ws_reader_feed(&r, in, n, &ev, &code), n);
    CHECK_EQ(ev.kind, WS_EV_TEXT);
    CHECK(ev.data == in + 6);
    CHECK_MEM(ev.data, ev.len, "hi there", 8);

    n = frame(in, 0, WS_OP_BINARY, "ab", 2, 1);
    n += frame(in + n, 1, WS_OP_CONT, "cd", 2, 1);
    CHECK_EQ(ws_reader_feed(&r, in, n, &ev, &code), n);
    CHECK_EQ(ev.kind, WS_EV_BINARY);
    CHECK(ev.data < in || ev.data >= in + sizeof in);
    CHECK_MEM(ev.data, ev.len, "abcd", 4);

    /* Empty messages, and an empty final fragment. */
    n = frame(in, 1, WS_OP_TEXT, "", 0, 1);
    n += frame(in + n, 0, WS_OP_TEXT, "x", 1, 1);
    n += frame(in + n, 1, WS_OP_CONT, "", 0, 1);
    ws_reader_free(&r);
    CHECK_STR(chunked(in, n, 1, 1024), "TEXT:|TEXT:x|");
}

/* Control frames may come between the fragments of a message; the message is intact. */
static void test_interleaved_control(void)
{
    uint8_t in[256];
    size_t n = frame(in, 0, WS_OP_TEXT, "Hel", 3, 1);
    n += frame(in + n, 1, WS_OP_PING, "p1", 2, 1);
    n += frame(in + n, 0, WS_OP_CONT, "lo, ", 4, 1);
    n += frame(in + n, 1, WS_OP_PONG, "", 0, 1);
    n += frame(in + n, 1, WS_OP_CONT, "world", 5, 1);
    n += frame(in + n, 1, WS_OP_BINARY, "\x00\xff", 2, 1);
    n += frame(in + n, 1, WS_OP_CLOSE, "\x03\xe8" "bye", 5, 1);
    CHECK_STR(chunked(in, n, 1, 1024),
              "PING:p1|PONG:|TEXT:Hello, world|BINARY:\\x00\\xff|CLOSE(1000):bye|");
}

/* Partial input: an incomplete header or control frame is left for the caller to keep;
 * a data frame's header and payload so far are taken. */
static void test_partial(void)
{
    uint8_t in[64];
    size_t n = frame(in, 1, WS_OP_PING, "abc", 3, 1);
    ws_reader r;
    ws_reader_init(&r, 1024, 1);
    ws_event ev;
    uint16_t code = 0;
    CHECK_EQ(ws_reader_feed(&r, in, 1, &ev, &code), 0);
    CHECK_EQ(ws_reader_feed(&r, in, n - 1, &ev, &code), 0);
    CHECK_EQ(ev.kind, WS_EV_NONE);
    CHECK_EQ(ws_reader_feed(&r, in, n, &ev, &code), n);
    CHECK_EQ(ev.kind, WS_EV_PING);

    n = frame(in, 1, WS_OP_TEXT, "abcdef", 6, 1);
    CHECK_EQ(ws_reader_feed(&r, in, 5, &ev, &code), 0); /* header needs 6 */
    CHECK_EQ(ws_reader_feed(&r, in, 8, &ev, &code), 8);
    CHECK_EQ(ev.kind, WS_EV_NONE);
    CHECK_EQ(ws_reader_feed(&r, in + 8, n - 8, &ev, &code), n - 8);
    CHECK_EQ(ev.kind, WS_EV_TEXT);
    CHECK_MEM(ev.data, ev.len, "abcdef", 6);
    CHECK_EQ(ws_reader_feed(&r, NULL, 0, &ev, &code), 0); /* an empty evbuffer */
    CHECK_EQ(ev.kind, WS_EV_NONE);
    ws_reader_free(&r);

    CHECK_STR(chunked(in, n - 1, 1, 1024), "");
    CHECK_STR(once(in, 3, 1, 1024), "rest=3");
}

static const char *err_for(const uint8_t *in, size_t n, int masked)
{
    return chunked(in, n, masked, 1024);
}

static void test_protocol_errors(void)
{
    uint8_t in[512];
    size_t n;
    for (int rsv = 0x10; rsv <= 0x40; rsv <<= 1) {
        n = frame(in, 1, WS_OP_TEXT, "a", 1, 1);
        in[0] |= (uint8_t)rsv;
        CHECK_STR(err_for(in, n, 1), "ERR(1002)");
    }
    static const int bad_ops[] = {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF};
    for (size_t i = 0; i < RC_ARRAY_LEN(bad_ops); i++) {
        n = frame(in, 1, bad_ops[i], "a", 1, 1);
        CHECK_STR(err_for(in, n, 1), "ERR(1002)");
    }
    n = frame(in, 1, WS_OP_TEXT, "a", 1, 0);
    CHECK_STR(err_for(in, n, 1), "ERR(1002)"); /* a server refuses unmasked frames */
    n = frame(in, 1, WS_OP_TEXT, "a", 1, 1);
    CHECK_STR(err_for(in, n, 0), "ERR(1002)"); /* a client refuses masked ones */
    n = frame(in, 0, WS_OP_PING, "a", 1, 1);
    CHECK_STR(err_for(in, n, 1), "ERR(1002)"); /* fragmented control frame */
    uint8_t big[200] = {0};
    n = frame(in, 1, WS_OP_PING, big, 126, 1);
    CHECK_STR(err_for(in, 2, 1), "ERR(1002)"); /* decided by the second byte */
    n = frame(in, 1, WS_OP_CLOSE, big, 126, 1);
    CHECK_STR(err_for(in, n, 1), "ERR(1002)");
    n = frame(in, 1, WS_OP_CONT, "a", 1, 1);
    CHECK_STR(err_for(in, n, 1), "ERR(1002)"); /* continuation without a start */
    n = frame(in, 0, WS_OP_TEXT, "a", 1, 1);
    n += frame(in + n, 1, WS_OP_TEXT, "b", 1, 1);
    CHECK_STR(err_for(in, n, 1), "ERR(1002)"); /* new message inside a fragmented one */
    n = frame(in, 0, WS_OP_BINARY, "a", 1, 1);
    n += frame(in + n, 1, WS_OP_BINARY, "b", 1, 1);
    CHECK_STR(err_for(in, n, 1), "ERR(1002)");
    n = frame(in, 1, WS_OP_TEXT, "a", 1, 1);
    n += frame(in + n, 1, WS_OP_CONT, "b", 1, 1);
    CHECK_STR(err_for(in, n, 1), "TEXT:a|ERR(1002)"); /* the message had ended */

    /* A 64-bit length with its top bit set. */
    static const uint8_t huge[] = {0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0};
    CHECK_STR(err_for(huge, sizeof huge, 1), "ERR(1002)");
    static const uint8_t huge_client[] = {0x82, 0x7F, 0xFF, 0, 0, 0, 0, 0, 0, 1};
    CHECK_STR(err_for(huge_client, sizeof huge_client, 0), "ERR(1002)");
}

static const char *close_with(uint16_t code, const char *reason, size_t rlen)
{
    uint8_t p[130], in[140];
    p[0] = (uint8_t)(code >> 8);
    p[1] = (uint8_t)code;
    memcpy(p + 2, reason, rlen);
    return chunked(in, frame(in, 1, WS_OP_CLOSE, p, 2 + rlen, 1), 1, 1024);
}

static void test_close(void)
{
    uint8_t in[16];
    CHECK_STR(chunked(in, frame(in, 1, WS_OP_CLOSE, "", 0, 1), 1, 1024), "CLOSE(1005):|");
    CHECK_STR(chunked(in, frame(in, 1, WS_OP_CLOSE, "\x03", 1, 1), 1, 1024), "ERR(1002)");

    static const uint16_t ok[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010,
                                  1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999};
    char want[32];
    for (size_t i = 0; i < RC_ARRAY_LEN(ok); i++) {
        snprintf(want, sizeof want, "CLOSE(%u):why|", ok[i]);
        CHECK_STR(close_with(ok[i], "why", 3), want);
    }
    static const uint16_t bad[] = {0,    1,    999,  1004, 1005, 1006, 1015,
                                   1016, 1100, 2000, 2999, 5000, 65535};
    for (size_t i = 0; i < RC_ARRAY_LEN(bad); i++) {
        CHECK_STR(close_with(bad[i], "", 0), "ERR(1002)");
        if (strcmp(T, "ERR(1002)") != 0)
            fprintf(stderr, "  (close code %u)\n", bad[i]);
    }
    CHECK_STR(close_with(1000, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 11),
              "CLOSE(1000):\\xce\\xba\\xe1\\xbd\\xb9\\xcf\\x83\\xce\\xbc\\xce\\xb5|");
    CHECK_STR(close_with(1000, "ok\xed\xa0\x80", 5), "ERR(1007)");
    CHECK_STR(close_with(1000, "ok\xce", 3), "ERR(1007)"); /* truncated character */
}

static int utf8_ok(const char *s, size_t n)
{
    uint32_t u = WS_UTF8_ACCEPT;
    return ws_utf8_check(&u, (const uint8_t *)s, n) == 0 && ws_utf8_complete(u);
}

static void test_utf8(void)
{
    /* Autobahn 6.2-6.3: valid text, and the edges of every sequence length. */
    CHECK(utf8_ok("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 11));
    CHECK(utf8_ok("\x7f", 1));
    CHECK(utf8_ok("\xc2\x80", 2));
    CHECK(utf8_ok("\xdf\xbf", 2));
    CHECK(utf8_ok("\xe0\xa0\x80", 3));
    CHECK(utf8_ok("\xef\xbf\xbf", 3));
    CHECK(utf8_ok("\xed\x9f\xbf", 3)); /* U+D7FF, just below the surrogates */
    CHECK(utf8_ok("\xee\x80\x80", 3));
    CHECK(utf8_ok("\xf0\x90\x80\x80", 4));
    CHECK(utf8_ok("\xf4\x8f\xbf\xbf", 4)); /* U+10FFFF */
    CHECK(utf8_ok("", 0));
    CHECK(utf8_ok("plain ASCII text that is longer than a word", 43));

    /* Autobahn 6.5-6.21: overlongs, surrogates, past U+10FFFF, stray and missing
       continuation bytes, bytes that never occur. */
    static const char *bad[] = {
        "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xe0\x9f\xbf", "\xf0\x80\x80\xaf",
        "\xf0\x8f\xbf\xbf", "\xed\xa0\x80", "\xed\xbf\xbf", "\xed\xa0\x80\xed\xb0\x80",
        "\xf4\x90\x80\x80", "\xf7\xbf\xbf\xbf", "\xf8\x88\x80\x80\x80", "\xfc\x84\x80\x80\x80\x80",
        "\xfe", "\xff", "\x80", "\xbf", "a\x80\x62", "\xc2", "\xe1\x80", "\xf1\x80\x80",
        "\xc2\x41", "\xe1\x80\x41", "abcdefgh\xe1\x80",
    };
    for (size_t i = 0; i < RC_ARRAY_LEN(bad); i++) {
        if (utf8_ok(bad[i], strlen(bad[i])))
            CHECK__FAIL("accepted bad UTF-8 #%zu", i);
        else
            check__passed++;
    }

    /* Failing early: the byte that proves a sequence bad is the one refused. */
    uint32_t u = WS_UTF8_ACCEPT;
    CHECK_EQ(ws_utf8_check(&u, (const uint8_t *)"\xf4", 1), 0);
    CHECK(!ws_utf8_complete(u));
    CHECK_EQ(ws_utf8_check(&u, (const uint8_t *)"\x90", 1), RC_EINVAL);
    CHECK_EQ(ws_utf8_check(&u, (const uint8_t *)"a", 1), RC_EINVAL); /* stays failed */
    u = WS_UTF8_ACCEPT;
    CHECK_EQ(ws_utf8_check(&u, (const uint8_t *)"\xed", 1), 0);
    CHECK_EQ(ws_utf8_check(&u, (const uint8_t *)"\xa0", 1), RC_EINVAL);
    /* A character split anywhere is fine. */
    const char *s = "\xf0\x9f\x98\x80";
    for (size_t cut = 0; cut <= 4; cut++) {
        u = WS_UTF8_ACCEPT;
        CHECK_EQ(ws_utf8_check(&u, (const uint8_t *)s, cut), 0);
        CHECK_EQ(ws_utf8_check(&u, (const uint8_t *)s + cut, 4 - cut), 0);
        CHECK(ws_utf8_complete(u));
    }
}

static void test_utf8_messages(void)
{
    uint8_t in[256];
    size_t n;
    /* Invalid in a single frame, and a truncated character at the end. */
    n = frame(in, 1, WS_OP_TEXT, "ok\xc0\xaf", 4, 1);
    CHECK_STR(chunked(in, n, 1, 1024), "ERR(1007)");
    n = frame(in, 1, WS_OP_TEXT, "ok\xe2\x82", 4, 1);
    CHECK_STR(chunked(in, n, 1, 1024), "ERR(1007)");
    /* Binary messages are not text. */
    n = frame(in, 1, WS_OP_BINARY, "ok\xc0\xaf", 4, 1);
    CHECK_STR(chunked(in, n, 1, 1024), "BINARY:ok\\xc0\\xaf|");

    /* A 4-byte character split over three fragments with a ping in between. */
    n = frame(in, 0, WS_OP_TEXT, "a\xf0", 2, 1);
    n += frame(in + n, 0, WS_OP_CONT, "\x9f\x98", 2, 1);
    n += frame(in + n, 1, WS_OP_PING, "", 0, 1);
    n += frame(in + n, 1, WS_OP_CONT, "\x80", 1, 1);
    CHECK_STR(chunked(in, n, 1, 1024), "PING:|TEXT:a\\xf0\\x9f\\x98\\x80|");

    /* Autobahn 6.4.1: the surrogate in the second fragment fails the message before the
       third fragment is even sent. */
    n = frame(in, 0, WS_OP_TEXT, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 11, 1);
    n += frame(in + n, 0, WS_OP_CONT, "\xed\xa0\x80", 3, 1);
    CHECK_STR(chunked(in, n, 1, 1024), "ERR(1007)");
    /* Autobahn 6.4.3: one frame, of which only the part up to the bad byte has arrived. */
    static const char partly_bad[] =
        "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80" "edited";
    n = frame(in, 1, WS_OP_TEXT, partly_bad, 21, 1);
    CHECK_STR(chunked(in, 6 + 13, 1, 1024), "ERR(1007)");
    /* A message that ends mid-character across fragments. */
    n = frame(in, 0, WS_OP_TEXT, "a", 1, 1);
    n += frame(in + n, 1, WS_OP_CONT, "\xce", 1, 1);
    CHECK_STR(chunked(in, n, 1, 1024), "ERR(1007)");
    /* Each new message starts with a clean validator. */
    n = frame(in, 1, WS_OP_TEXT, "\xce\xba", 2, 1);
    n += frame(in + n, 0, WS_OP_TEXT, "b", 1, 1);
    n += frame(in + n, 1, WS_OP_CONT, "c", 1, 1);
    CHECK_STR(chunked(in, n, 1, 1024), "TEXT:\\xce\\xba|TEXT:bc|");
}

static void test_size_limit(void)
{
    uint8_t *in = rc_malloc(4096);
    uint8_t pay[1100] = {0};
    size_t n = frame(in, 1, WS_OP_BINARY, pay, 1000, 1);
    CHECK_STR(chunked(in, n, 1, 1000), hashed("BINARY", pay, 1000));
    n = frame(in, 1, WS_OP_BINARY, pay, 1001, 1);
    CHECK_STR(chunked(in, 4, 1, 1000), "ERR(1009)"); /* refused at the length */

    ws_reader r;
    ws_reader_init(&r, 1000, 1);
    ws_event ev;
    uint16_t code = 0;
    CHECK_EQ(ws_reader_feed(&r, in, 4, &ev, &code), RC_ETOOBIG);
    CHECK_EQ(code, 1009);
    ws_reader_free(&r);

    n = frame(in, 0, WS_OP_TEXT, pay, 600, 1);
    n += frame(in + n, 1, WS_OP_CONT, pay, 400, 1);
    CHECK_STR(chunked(in, n, 1, 1000), hashed("TEXT", pay, 1000));
    n = frame(in, 0, WS_OP_TEXT, pay, 600, 1);
    n += frame(in + n, 1, WS_OP_CONT, pay, 401, 1);
    CHECK_STR(chunked(in, n, 1, 1000), "ERR(1009)");
    /* Control frames do not count against a small limit. */
    n = frame(in, 1, WS_OP_PING, pay, 100, 1);
    CHECK_STR(chunked(in, n, 1, 10), hashed("PING", pay, 100));
    rc_free(in);
}

/* After a large fragmented message the reader gives its buffer back, so an idle
 * connection keeps only a few bytes. */
static void test_buffer_released(void)
{
    size_t big = 100000;
    uint8_t *in = rc_malloc(2 * big + 64);
    uint8_t *pay = rc_calloc(1, big);
    size_t n = frame(in, 0, WS_OP_BINARY, pay, big, 1);
    n += frame(in + n, 1, WS_OP_CONT, pay, big, 1);
    ws_reader r;
    ws_reader_init(&r, 1 << 20, 1);
    ws_event ev;
    uint16_t code = 0;
    CHECK_EQ(ws_reader_feed(&r, in, n, &ev, &code), n);
    CHECK_EQ(ev.len, 2 * big);
    CHECK(r._cap >= 2 * big);
    CHECK_EQ(ws_reader_feed(&r, in, 0, &ev, &code), 0);
    CHECK_EQ(r._cap, 0);
    ws_reader_free(&r);
    rc_free(in);
    rc_free(pay);
}

/* A client reads unmasked server frames built by the encoder. */
static void test_client_side(void)
{
    uint8_t in[512];
    uint8_t cp[125];
    size_t n = frame(in, 1, WS_OP_TEXT, "40", 2, 0);
    n += frame(in + n, 1, WS_OP_CLOSE, cp, ws_close_payload(cp, 1001, "restart"), 0);
    CHECK_STR(chunked(in, n, 0, 1024), "TEXT:40|CLOSE(1001):restart|");
}

int main(void)
{
    test_accept_key();
    test_encoder();
    test_rfc_examples();
    test_zero_copy();
    test_interleaved_control();
    test_partial();
    test_protocol_errors();
    test_close();
    test_utf8();
    test_utf8_messages();
    test_size_limit();
    test_buffer_released();
    test_client_side();
    CHECK_DONE();
}
