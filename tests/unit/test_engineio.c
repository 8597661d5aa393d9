/* Engine.IO v4 codec: the spec's examples (docs/engine.io-protocol/v4-current.md) and the
 * payloads the official v4 test suite sends, decoded as the reference decodes them. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/rc.h"
#include "gateway/engineio.h"

#define U8(s) ((const uint8_t *)(s))

static void test_ws_text(void)
{
    eio_packet p;

    CHECK_EQ(eio_decode_ws_text(U8("4hello"), 6, &p), 0);
    CHECK_EQ(p.type, EIO_MESSAGE);
    CHECK_EQ(p.binary, 0);
    CHECK_MEM(p.data, p.len, "hello", 5);

    CHECK_EQ(eio_decode_ws_text(U8("2probe"), 6, &p), 0);
    CHECK_EQ(p.type, EIO_PING);
    CHECK_MEM(p.data, p.len, "probe", 5);

    CHECK_EQ(eio_decode_ws_text(U8("3"), 1, &p), 0);
    CHECK_EQ(p.type, EIO_PONG);
    CHECK_EQ(p.len, 0);
    CHECK_EQ(eio_decode_ws_text(U8("5"), 1, &p), 0);
    CHECK_EQ(p.type, EIO_UPGRADE);
    CHECK_EQ(eio_decode_ws_text(U8("6"), 1, &p), 0);
    CHECK_EQ(p.type, EIO_NOOP);
    CHECK_EQ(eio_decode_ws_text(U8("1"), 1, &p), 0);
    CHECK_EQ(p.type, EIO_CLOSE);
    CHECK_EQ(eio_decode_ws_text(U8("0{}"), 3, &p), 0);
    CHECK_EQ(p.type, EIO_OPEN);

    /* An unknown type digit is the reference's error packet; so is nothing at all. */
    CHECK_EQ(eio_decode_ws_text(U8(""), 0, &p), RC_EINVAL);
    CHECK_EQ(eio_decode_ws_text(U8("7"), 1, &p), RC_EINVAL);
    CHECK_EQ(eio_decode_ws_text(U8("abc"), 3, &p), RC_EINVAL);
    CHECK_EQ(eio_decode_ws_text(U8("/4"), 2, &p), RC_EINVAL);
}

static void test_ws_binary(void)
{
    const uint8_t bytes[] = {1, 2, 3, 4};
    eio_packet p;

    /* No type byte: the first byte 0x01 is data, not "close". */
    eio_decode_ws_binary(bytes, sizeof bytes, &p);
    CHECK_EQ(p.type, EIO_MESSAGE);
    CHECK_EQ(p.binary, 1);
    CHECK_MEM(p.data, p.len, bytes, sizeof bytes);
}

/* Runs the payload iterator to its end, writing "T:data|" per packet (binary data in hex)
 * into out; returns the iterator's last result (0 at a clean end). */
static int payload_dump(const char *body, size_t len, char *out, size_t outlen)
{
    uint8_t *scratch = malloc(len + 1);
    size_t pos = 0, o = 0;
    eio_packet p;
    int rc;

    out[0] = '\0';
    while ((rc = eio_payload_next(U8(body), len, &pos, scratch, len, &p)) == 1) {
        o += (size_t)snprintf(out + o, outlen - o, "%d%s:", (int)p.type, p.binary ? "b" : "");
        for (size_t i = 0; i < p.len; i++) {
            if (p.binary)
                o += (size_t)snprintf(out + o, outlen - o, "%02x", p.data[i]);
            else
                o += (size_t)snprintf(out + o, outlen - o, "%c", p.data[i]);
        }
        o += (size_t)snprintf(out + o, outlen - o, "|");
    }
    free(scratch);
    return rc;
}

static void test_payload(void)
{
    char out[256];

    /* The v4 suite's mixed payload: a text message then 'b' + base64 of 01 02 03 04. */
    CHECK_EQ(payload_dump("4hello\x1e" "bAQIDBA==", 16, out, sizeof out), 0);
    CHECK_STR(out, "4:hello|4b:01020304|");

    CHECK_EQ(payload_dump("4hello\x1e" "2\x1e" "4world", 15, out, sizeof out), 0);
    CHECK_STR(out, "4:hello|2:|4:world|");

    CHECK_EQ(payload_dump("40", 2, out, sizeof out), 0);
    CHECK_STR(out, "4:0|");
    CHECK_EQ(payload_dump("1", 1, out, sizeof out), 0);
    CHECK_STR(out, "1:|");

    /* Non-ASCII text survives untouched. */
    CHECK_EQ(payload_dump("4\xc3\xa9\xf0\x9f\x98\x80", 7, out, sizeof out), 0);
    CHECK_STR(out, "4:\xc3\xa9\xf0\x9f\x98\x80|");

    /* Two binary records both stay readable: each decodes into its own scratch region. */
    {
        const char *body = "bAQID\x1e" "bBAUG";
        uint8_t scratch[16];
        size_t pos = 0;
        eio_packet a, b, end;
        CHECK_EQ(eio_payload_next(U8(body), 11, &pos, scratch, sizeof scratch, &a), 1);
        CHECK_EQ(eio_payload_next(U8(body), 11, &pos, scratch, sizeof scratch, &b), 1);
        CHECK_EQ(eio_payload_next(U8(body), 11, &pos, scratch, sizeof scratch, &end), 0);
        CHECK_MEM(a.data, a.len, "\x01\x02\x03", 3);
        CHECK_MEM(b.data, b.len, "\x04\x05\x06", 3);
    }

    /* 'b' alone is an empty binary message, as Buffer.from("", "base64"). */
    CHECK_EQ(payload_dump("b", 1, out, sizeof out), 0);
    CHECK_STR(out, "4b:|");

    /* Malformed: the reference stops at the first error packet, and so do we. */
    CHECK_EQ(payload_dump("", 0, out, sizeof out), RC_EINVAL);
    CHECK_EQ(payload_dump("4a\x1e", 3, out, sizeof out), RC_EINVAL);
    CHECK_STR(out, "4:a|");
    CHECK_EQ(payload_dump("\x1e" "4a", 3, out, sizeof out), RC_EINVAL);
    CHECK_EQ(payload_dump("4a\x1e\x1e" "4b", 6, out, sizeof out), RC_EINVAL);
    CHECK_EQ(payload_dump("4a\x1e" "9", 4, out, sizeof out), RC_EINVAL);
    CHECK_EQ(payload_dump("bAQI", 4, out, sizeof out), RC_EINVAL);
    CHECK_EQ(payload_dump("bA*ID", 5, out, sizeof out), RC_EINVAL);
    CHECK_EQ(payload_dump("4\xff", 2, out, sizeof out), RC_EINVAL);
    CHECK_EQ(payload_dump("4\xed\xa0\x80", 4, out, sizeof out), RC_EINVAL); /* surrogate */
    CHECK_EQ(payload_dump("4\xc0\xaf", 3, out, sizeof out), RC_EINVAL);     /* overlong */
    CHECK_EQ(payload_dump("4\xe2\x82", 3, out, sizeof out), RC_EINVAL);     /* truncated */

    {
        uint8_t scratch[2];
        size_t pos = 0;
        eio_packet p;
        CHECK_EQ(eio_payload_next(U8("4abc"), 4, &pos, scratch, sizeof scratch, &p), RC_ETOOBIG);
    }
}

static void test_open(void)
{
    char out[256];
    int n;

    n = eio_encode_open(out, sizeof out, "lv_VI97HAXpY6yYWAAAC", 1, 25000, 20000, 1000000);
    CHECK_STR(out, "0{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[\"websocket\"],"
                   "\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}");
    CHECK_EQ(n, (int)strlen(out));

    n = eio_encode_open(out, sizeof out, "abc", 0, 300, 200, 1000000);
    CHECK_STR(out, "0{\"sid\":\"abc\",\"upgrades\":[],\"pingInterval\":300,\"pingTimeout\":200,"
                   "\"maxPayload\":1000000}");
    CHECK_EQ(n, (int)strlen(out));

    CHECK_EQ(eio_encode_open(out, 20, "abc", 0, 300, 200, 1000000), RC_ETOOBIG);
    CHECK_EQ(eio_encode_open(out, sizeof out, "a\"b", 0, 300, 200, 1000000), RC_EINVAL);
}

static void test_base64(void)
{
    static const struct {
        const char *raw, *b64;
    } v[] = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}, {"\x01\x02\x03\x04", "AQIDBA=="},
        {"\xfb\xff\xbf", "+/+/"},
    };
    char enc[64];
    uint8_t dec[64];

    for (size_t i = 0; i < RC_ARRAY_LEN(v); i++) {
        size_t n = strlen(v[i].raw);
        CHECK_EQ(eio_base64_len(n), strlen(v[i].b64));
        CHECK_EQ(eio_base64_encode(U8(v[i].raw), n, enc), strlen(v[i].b64));
        CHECK_MEM(enc, strlen(v[i].b64), v[i].b64, strlen(v[i].b64));
        CHECK_EQ(eio_base64_decode(v[i].b64, strlen(v[i].b64), dec, sizeof dec), (int)n);
        CHECK_MEM(dec, n, v[i].raw, n);
    }
    /* Every byte value survives a round trip. */
    {
        uint8_t all[256], back[256];
        char text[344];
        for (int i = 0; i < 256; i++)
            all[i] = (uint8_t)i;
        size_t n = eio_base64_encode(all, 256, text);
        CHECK_EQ(n, 344);
        CHECK_EQ(eio_base64_decode(text, n, back, sizeof back), 256);
        CHECK_MEM(back, 256, all, 256);
    }
    CHECK_EQ(eio_base64_decode("Zg=", 3, dec, sizeof dec), RC_EINVAL);
    CHECK_EQ(eio_base64_decode("Z===", 4, dec, sizeof dec), RC_EINVAL);
    CHECK_EQ(eio_base64_decode("====", 4, dec, sizeof dec), RC_EINVAL);
    CHECK_EQ(eio_base64_decode("Zg==Zg==", 8, dec, sizeof dec), RC_EINVAL);
    CHECK_EQ(eio_base64_decode("Zm9-", 4, dec, sizeof dec), RC_EINVAL);
    CHECK_EQ(eio_base64_decode("Zm9v", 4, dec, 2), RC_ETOOBIG);
}

int main(void)
{
    test_ws_text();
    test_ws_binary();
    test_payload();
    test_open();
    test_base64();
    CHECK_DONE();
}
