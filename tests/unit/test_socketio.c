/* Socket.IO v5 codec: every example of docs/socket.io-protocol/v5-current.md, the invalid
 * packets the official v5 test suite sends (the server must close on them), and the
 * encoder's output compared byte for byte with what JSON.stringify / socket.io-parser
 * produce (expected strings were taken from Node 20). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/alloc.h"
#include "common/rc.h"
#include "gateway/engineio.h"
#include "gateway/socketio.h"

/* Decodes s and re-encodes it, so one string shows type, nsp, id, attachments and data. */
static char *redecode(const char *s, int *rc)
{
    sio_packet p;
    sio_buf b = {0};
    char nsp[256];

    *rc = sio_decode((const uint8_t *)s, strlen(s), &p);
    if (*rc < 0)
        return NULL;
    snprintf(nsp, sizeof nsp, "%.*s", (int)p.nsp_len, p.nsp);
    sio_encode(&b, p.type, nsp, p.has_id, p.id, p.attachments, p.data);
    sio_packet_clear(&p);
    return b.data;
}

/* Decoding and re-encoding gives back the same text: the reference format is canonical. */
#define CHECK_CANONICAL(s)                                                             \
    do {                                                                               \
        int rc__;                                                                      \
        char *got__ = redecode((s), &rc__);                                            \
        CHECK_EQ(rc__, 0);                                                             \
        CHECK_STR(got__, (s));                                                         \
        rc_free(got__);                                                                \
    } while (0)

#define CHECK_INVALID(s) CHECK_EQ(decode_rc(s), RC_EINVAL)

static int decode_rc(const char *s)
{
    sio_packet p;
    int rc = sio_decode((const uint8_t *)s, strlen(s), &p);
    sio_packet_clear(&p);
    return rc;
}

static void test_spec_examples(void)
{
    sio_packet p;
    char *dumped;

    CHECK_EQ(sio_decode((const uint8_t *)"2[\"foo\"]", 8, &p), 0);
    CHECK_EQ(p.type, SIO_EVENT);
    CHECK_MEM(p.nsp, p.nsp_len, "/", 1);
    CHECK_EQ(p.has_id, 0);
    CHECK_STR(json_string_value(json_array_get(p.data, 0)), "foo");
    sio_packet_clear(&p);

    CHECK_EQ(sio_decode((const uint8_t *)"212[\"foo\"]", 10, &p), 0);
    CHECK_EQ(p.has_id, 1);
    CHECK_EQ(p.id, 12);
    sio_packet_clear(&p);

    CHECK_EQ(sio_decode((const uint8_t *)"3/admin,13[\"bar\"]", 17, &p), 0);
    CHECK_EQ(p.type, SIO_ACK);
    CHECK_MEM(p.nsp, p.nsp_len, "/admin", 6);
    CHECK_EQ(p.id, 13);
    sio_packet_clear(&p);

    const char *bin = "51-[\"baz\",{\"_placeholder\":true,\"num\":0}]";
    CHECK_EQ(sio_decode((const uint8_t *)bin, strlen(bin), &p), 0);
    CHECK_EQ(p.type, SIO_BINARY_EVENT);
    CHECK_EQ(p.attachments, 1);
    CHECK_EQ(sio_placeholder_num(json_array_get(p.data, 1)), 0);
    sio_packet_clear(&p);

    CHECK_EQ(sio_decode((const uint8_t *)"0{\"token\":\"123\"}", 16, &p), 0);
    CHECK_EQ(p.type, SIO_CONNECT);
    CHECK_STR(json_string_value(json_object_get(p.data, "token")), "123");
    sio_packet_clear(&p);

    /* The suite's "40/custom": a namespace with no trailing comma and no data. */
    CHECK_EQ(sio_decode((const uint8_t *)"0/custom", 8, &p), 0);
    CHECK_EQ(p.type, SIO_CONNECT);
    CHECK_MEM(p.nsp, p.nsp_len, "/custom", 7);
    CHECK(p.data == NULL);
    sio_packet_clear(&p);
    sio_packet_clear(&p); /* twice is harmless */

    CHECK_EQ(sio_decode((const uint8_t *)"0", 1, &p), 0);
    CHECK_EQ(p.type, SIO_CONNECT);
    CHECK(p.data == NULL);

    CHECK_EQ(sio_decode((const uint8_t *)"1", 1, &p), 0);
    CHECK_EQ(p.type, SIO_DISCONNECT);
    CHECK_EQ(sio_decode((const uint8_t *)"1/admin,", 8, &p), 0);
    CHECK_MEM(p.nsp, p.nsp_len, "/admin", 6);

    CHECK_CANONICAL("2[\"foo\"]");
    CHECK_CANONICAL("212[\"foo\"]");
    CHECK_CANONICAL("312[\"bar\"]");
    CHECK_CANONICAL("2/admin,[\"bar\"]");
    CHECK_CANONICAL("3/admin,13[\"bar\"]");
    CHECK_CANONICAL("51-[\"baz\",{\"_placeholder\":true,\"num\":0}]");
    CHECK_CANONICAL("61-15[{\"_placeholder\":true,\"num\":0}]");
    CHECK_CANONICAL("0{\"token\":\"123\"}");
    CHECK_CANONICAL("0/admin,{\"token\":\"abc\"}");
    CHECK_CANONICAL("0/custom,");
    CHECK_CANONICAL("0{\"sid\":\"oSO0OpakMV_3jnilAAAA\"}");
    CHECK_CANONICAL("4{\"message\":\"Invalid namespace\"}");
    CHECK_CANONICAL("4/random,{\"message\":\"Invalid namespace\"}");
    CHECK_CANONICAL("4\"not authorized\"");
    CHECK_CANONICAL("1/admin,");
    CHECK_CANONICAL("2[\"message\",1,\"2\",{\"3\":[true]}]");
    CHECK_CANONICAL("2456[\"message-with-ack\",1,\"2\",{\"3\":[false]}]");
    CHECK_CANONICAL("3456[1,\"2\",{\"3\":[false]}]");
    CHECK_CANONICAL("52-[\"message\",{\"_placeholder\":true,\"num\":0},"
                    "{\"_placeholder\":true,\"num\":1}]");
    CHECK_CANONICAL("62-789[{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]");
    CHECK_CANONICAL("50-[\"no-binary-after-all\"]");
    CHECK_CANONICAL("2[42,\"a number is a valid event name\"]");
    CHECK_CANONICAL("3[]");
    CHECK_CANONICAL("20[\"ack id zero\"]");

    /* "/" written out is the default namespace, which the encoder omits. */
    dumped = redecode("2/,[\"x\"]", &(int){0});
    CHECK_STR(dumped, "2[\"x\"]");
    rc_free(dumped);
    dumped = redecode("0/custom", &(int){0});
    CHECK_STR(dumped, "0/custom,");
    rc_free(dumped);
    dumped = redecode("2[ \"a\" , 1 ]", &(int){0});
    CHECK_STR(dumped, "2[\"a\",1]");
    rc_free(dumped);
}

static void test_invalid(void)
{
    /* The v5 suite's "should close the connection" cases, without the Engine.IO '4'. */
    CHECK_INVALID("abc");
    CHECK_INVALID("2{}");
    CHECK_INVALID("2abc[\"message-with-ack\",1,\"2\",{\"3\":[false]}]");

    CHECK_INVALID("");
    CHECK_INVALID("7[\"x\"]");
    CHECK_INVALID("x");
    CHECK_INVALID("2");                 /* EVENT without data */
    CHECK_INVALID("2[]");               /* no event name */
    CHECK_INVALID("2[null]");
    CHECK_INVALID("2[{\"a\":1}]");
    CHECK_INVALID("2\"foo\"");
    CHECK_INVALID("3{}");               /* ACK data must be an array */
    CHECK_INVALID("3");
    CHECK_INVALID("0[]");               /* CONNECT data must be an object */
    CHECK_INVALID("0\"token\"");
    CHECK_INVALID("0null");
    CHECK_INVALID("1{}");               /* DISCONNECT carries nothing */
    CHECK_INVALID("1x");
    CHECK_INVALID("4[]");               /* CONNECT_ERROR: string or object */
    CHECK_INVALID("4");

    CHECK_INVALID("2[\"foo\"]x");       /* trailing garbage */
    CHECK_INVALID("2[\"foo\"][1]");
    CHECK_INVALID("2[\"foo\"");
    CHECK_INVALID("2 [\"foo\"]");       /* the reference would read the space as an id */
    CHECK_INVALID("2[\"\\u0000\"]");

    static const char *const reserved[] = {"connect", "connect_error", "disconnect",
                                           "disconnecting", "newListener", "removeListener"};
    for (size_t i = 0; i < RC_ARRAY_LEN(reserved); i++) {
        char s[64];
        snprintf(s, sizeof s, "2[\"%s\",1]", reserved[i]);
        CHECK_INVALID(s);
        CHECK_EQ(sio_is_reserved_event(reserved[i]), 1);
    }
    CHECK_EQ(sio_is_reserved_event("connected"), 0);
    CHECK_EQ(sio_is_reserved_event("chat:typing"), 0);
    CHECK_EQ(decode_rc("2[\"connected\"]"), 0);
    CHECK_EQ(decode_rc("3[\"connect\"]"), 0); /* an ACK may carry anything */

    /* Attachments: digits then '-', at most SIO_MAX_ATTACHMENTS, each one named. */
    CHECK_INVALID("5[\"x\"]");
    CHECK_INVALID("5-[\"x\"]");
    CHECK_INVALID("5a-[\"x\"]");
    CHECK_INVALID("51[\"x\"]");
    CHECK_INVALID("511-[\"x\"]");
    CHECK_INVALID("599999999999999999999-[\"x\"]");
    CHECK_INVALID("51-[\"x\"]");                                        /* never named */
    CHECK_INVALID("51-[\"x\",{\"_placeholder\":true,\"num\":1}]");       /* out of range */
    CHECK_INVALID("51-[\"x\",{\"_placeholder\":true,\"num\":-1}]");
    CHECK_INVALID("51-[\"x\",{\"_placeholder\":true,\"num\":\"0\"}]");
    CHECK_INVALID("61-[{\"_placeholder\":true}]");
    CHECK_EQ(decode_rc("510-[\"x\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,"
                       "\"num\":1},{\"_placeholder\":true,\"num\":2},{\"_placeholder\":true,"
                       "\"num\":3},{\"_placeholder\":true,\"num\":4},{\"_placeholder\":true,"
                       "\"num\":5},{\"_placeholder\":true,\"num\":6},{\"_placeholder\":true,"
                       "\"num\":7},{\"_placeholder\":true,\"num\":8},{\"_placeholder\":true,"
                       "\"num\":9}]"),
             0);
    CHECK_EQ(decode_rc("501-[\"x\",{\"deep\":[{\"_placeholder\":true,\"num\":0}]}]"), 0);
    /* An integer past int64 makes jansson read every number as a real, "num" too. */
    CHECK_EQ(decode_rc("51-[\"x\",{\"_placeholder\":true,\"num\":0},10000000000000000000]"), 0);
    CHECK_EQ(decode_rc("51-[\"x\",{\"_placeholder\":true,\"num\":0.0}]"), 0);
    CHECK_INVALID("51-[\"x\",{\"_placeholder\":true,\"num\":0.5}]");
    /* "_placeholder":false is plain data, not an attachment. */
    CHECK_EQ(decode_rc("50-[\"x\",{\"_placeholder\":false,\"num\":0}]"), 0);

    /* Ack ids must fit in uint64. */
    CHECK_EQ(decode_rc("218446744073709551615[\"x\"]"), 0);
    CHECK_INVALID("218446744073709551616[\"x\"]");
    CHECK_INVALID("2999999999999999999999999[\"x\"]");

    {
        const uint8_t nul[] = {'0', '/', 'a', 0, 'b', ','};
        sio_packet p;
        CHECK_EQ(sio_decode(nul, sizeof nul, &p), RC_EINVAL);
    }
}

/* The suite's frames as they arrive: a valid Engine.IO MESSAGE carrying an invalid
 * Socket.IO packet, which is what makes the server close the connection. */
static void test_suite_frames(void)
{
    static const char *const bad[] = {"4abc", "42{}",
                                      "42abc[\"message-with-ack\",1,\"2\",{\"3\":[false]}]"};
    eio_packet e;
    sio_packet p;

    for (size_t i = 0; i < RC_ARRAY_LEN(bad); i++) {
        CHECK_EQ(eio_decode_ws_text((const uint8_t *)bad[i], strlen(bad[i]), &e), 0);
        CHECK_EQ(e.type, EIO_MESSAGE);
        CHECK_EQ(sio_decode(e.data, e.len, &p), RC_EINVAL);
    }
    const char *good = "42[\"message\",\"message to main namespace\"]";
    CHECK_EQ(eio_decode_ws_text((const uint8_t *)good, strlen(good), &e), 0);
    CHECK_EQ(sio_decode(e.data, e.len, &p), 0);
    CHECK_EQ(p.type, SIO_EVENT);
    CHECK_STR(json_string_value(json_array_get(p.data, 1)), "message to main namespace");
    sio_packet_clear(&p);
}

static void test_limits(void)
{
    /* jansson refuses nesting past its depth limit instead of recursing without bound. */
    size_t depth = 5000, n = 0;
    char *s = rc_malloc(2 * depth + 16);
    sio_packet p;

    n += (size_t)sprintf(s, "3[");
    for (size_t i = 0; i < depth; i++)
        s[n++] = '[';
    for (size_t i = 0; i < depth; i++)
        s[n++] = ']';
    s[n++] = ']';
    CHECK_EQ(sio_decode((const uint8_t *)s, n, &p), RC_EINVAL);
    rc_free(s);

    s = rc_malloc(SIO_MAX_PACKET_LEN + 1);
    memset(s, ' ', SIO_MAX_PACKET_LEN + 1);
    CHECK_EQ(sio_decode((const uint8_t *)s, SIO_MAX_PACKET_LEN + 1, &p), RC_ETOOBIG);
    rc_free(s);
}

static void test_json_like_javascript(void)
{
    /* Inputs and outputs of JSON.stringify(JSON.parse(x)) in Node 20. */
    static const struct {
        const char *in, *out;
    } v[] = {
        {"3[0.1,1.5,-0.0,1e21,1e20,123456789.125,1e-6,1e-7,1.2345e-7]",
         "3[0.1,1.5,0,1e+21,100000000000000000000,123456789.125,0.000001,1e-7,1.2345e-7]"},
        {"3[5e-324,1.7976931348623157e308,0.000001234,100.0,2.5e25,-3.14159,123e-20,1e300]",
         "3[5e-324,1.7976931348623157e+308,0.000001234,100,2.5e+25,-3.14159,1.23e-18,1e+300]"},
        {"3[4.35,0.3,-1E-7,1.0e2,0.1e1]", "3[4.35,0.3,-1e-7,100,1]"},
        /* Past int64 JSON.parse rounds to a double; so do we. */
        {"3[123456789012345678901234]", "3[1.2345678901234569e+23]"},
        /* Deliberately unlike JavaScript: within int64 an integer stays exact. */
        {"3[-9223372036854775808,9223372036854775807]",
         "3[-9223372036854775808,9223372036854775807]"},
        /* Strings: '/', DEL, U+2028 and non-ASCII stay raw; controls are lowercase \u. */
        {"3[\"a\\/b\\u0001\\u001F\\u007f\\n\\t\\\"\\\\\\u00e9\\ud83d\\ude00\\u2028\\b\\f\\r\"]",
         "3[\"a/b\\u0001\\u001f\x7f\\n\\t\\\"\\\\\xc3\xa9\xf0\x9f\x98\x80\xe2\x80\xa8\\b\\f\\r\"]"},
        {"3[{\"b\":1,\"a\":2,\"b\":3}]", "3[{\"b\":3,\"a\":2}]"},
        {"3[true,false,null,{},[],\"\"]", "3[true,false,null,{},[],\"\"]"},
    };
    for (size_t i = 0; i < RC_ARRAY_LEN(v); i++) {
        int rc;
        char *got = redecode(v[i].in, &rc);
        CHECK_EQ(rc, 0);
        CHECK_STR(got, v[i].out);
        rc_free(got);
    }
    CHECK_INVALID("3[1e400]"); /* Infinity would become null: refuse rather than change it */

    /* Raw UTF-8 round-trips byte for byte. */
    CHECK_CANONICAL("2[\"caf\xc3\xa9\",\"\xf0\x9f\x98\x80\xf0\x9f\x91\x8d\","
                    "\"\xe4\xb8\xad\xe6\x96\x87\","
                    "{\"\xc3\xbc\":\"\xe2\x82\xac\"}]");
}

static void test_encode(void)
{
    sio_buf b = {0};
    json_t *d;

    d = json_pack("{s:s}", "sid", "abc");
    sio_encode(&b, SIO_CONNECT, "/", 0, 0, 0, d);
    CHECK_STR(b.data, "0{\"sid\":\"abc\"}");
    json_decref(d);

    b.len = 0;
    d = json_pack("{s:s}", "message", "Invalid namespace");
    sio_encode(&b, SIO_CONNECT_ERROR, "/random", 0, 0, 0, d);
    CHECK_STR(b.data, "4/random,{\"message\":\"Invalid namespace\"}");
    json_decref(d);

    b.len = 0;
    sio_encode(&b, SIO_DISCONNECT, NULL, 0, 0, 0, NULL);
    CHECK_STR(b.data, "1");

    b.len = 0;
    d = json_pack("[{s:b}]", "ok", 1);
    sio_encode(&b, SIO_ACK, "/", 1, 7, 0, d);
    CHECK_STR(b.data, "37[{\"ok\":true}]");
    json_decref(d);

    b.len = 0;
    sio_encode(&b, SIO_EVENT, "/", 0, 0, 0, json_null());
    CHECK_STR(b.data, "2");

    b.len = 0;
    d = json_pack("[s,{s:b,s:i}]", "hey", "_placeholder", 1, "num", 0);
    sio_encode(&b, SIO_BINARY_EVENT, "/", 1, UINT64_MAX, 1, d);
    CHECK_STR(b.data, "51-18446744073709551615[\"hey\",{\"_placeholder\":true,\"num\":0}]");
    CHECK_EQ(sio_placeholders_valid(d, 1), 1);
    CHECK_EQ(sio_placeholders_valid(d, 2), 0);
    CHECK_EQ(sio_placeholders_valid(d, 0), 0);
    CHECK_EQ(sio_placeholders_valid(d, 11), 0);
    json_decref(d);

    /* A string the gateway built with an embedded NUL is escaped, not cut short. */
    b.len = 0;
    d = json_pack("[s%]", "a\0b", (size_t)3);
    sio_json_append(&b, d);
    CHECK_MEM(b.data, b.len, "[\"a\\u0000b\"]", 12);
    json_decref(d);
    sio_buf_free(&b);
    CHECK(b.data == NULL);
}

static void test_event_raw(void)
{
    sio_buf b = {0};
    const char *args = "[{\"requestId\":\"r1\",\"offer\":{\"price\":12.5}}]";

    CHECK_EQ(sio_encode_event_raw(&b, "request:offer-received", args, strlen(args), 0), 0);
    CHECK_STR(b.data,
              "2[\"request:offer-received\",{\"requestId\":\"r1\",\"offer\":{\"price\":12.5}}]");

    b.len = 0;
    CHECK_EQ(sio_encode_event_raw(&b, "ping", "[]", 2, 0), 0);
    CHECK_STR(b.data, "2[\"ping\"]");
    b.len = 0;
    CHECK_EQ(sio_encode_event_raw(&b, "ping", " [ \n] ", 6, 0), 0);
    CHECK_STR(b.data, "2[\"ping\"]");

    b.len = 0;
    CHECK_EQ(sio_encode_event_raw(&b, "a\"b/\xc3\xa9", " [1, \"x\"]\n", 10, 0), 0);
    CHECK_STR(b.data, "2[\"a\\\"b/\xc3\xa9\",1, \"x\"]");

    /* a name that is not UTF-8 (a room event from Kafka) goes out with U+FFFD for each bad
       byte, never raw: browsers close a WebSocket on a text frame that is not UTF-8 */
    static const struct { const char *in, *out; } bad[] = {
        {"sys\x8dm", "2[\"sys\xef\xbf\xbdm\"]"},                      /* a lone continuation */
        {"\xc0\xaf", "2[\"\xef\xbf\xbd\xef\xbf\xbd\"]"},                /* overlong '/' */
        {"\xed\xa0\x80x", "2[\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx\"]"}, /* a surrogate */
        {"\xf4\x90\x80\x80", "2[\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"]"}, /* > U+10FFFF */
        {"\xe2\x82", "2[\"\xef\xbf\xbd\xef\xbf\xbd\"]"},                /* cut short */
        {"\xf0\x9f\x98\x80", "2[\"\xf0\x9f\x98\x80\"]"},                  /* a real 4-byte one */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        b.len = 0;
        CHECK_EQ(sio_encode_event_raw(&b, bad[i].in, "[]", 2, 0), 0);
        CHECK_STR(b.data, bad[i].out);
    }

    b.len = 0;
    CHECK_EQ(sio_encode_event_raw(&b, "file", "[{\"_placeholder\":true,\"num\":0}]", 31, 1), 0);
    CHECK_STR(b.data, "51-[\"file\",{\"_placeholder\":true,\"num\":0}]");

    /* What it writes decodes as the event it announces. */
    {
        sio_packet p;
        b.len = 0;
        CHECK_EQ(sio_encode_event_raw(&b, "chat:new-message", "[{\"id\":1},2]", 12, 0), 0);
        CHECK_EQ(sio_decode((const uint8_t *)b.data, b.len, &p), 0);
        CHECK_EQ(p.type, SIO_EVENT);
        CHECK_STR(json_string_value(json_array_get(p.data, 0)), "chat:new-message");
        CHECK_EQ(json_array_size(p.data), 3);
        sio_packet_clear(&p);
    }

    b.len = 0;
    CHECK_EQ(sio_encode_event_raw(&b, "x", "{}", 2, 0), RC_EINVAL);
    CHECK_EQ(sio_encode_event_raw(&b, "x", "", 0, 0), RC_EINVAL);
    CHECK_EQ(sio_encode_event_raw(&b, "x", "[", 1, 0), RC_EINVAL);
    CHECK_EQ(sio_encode_event_raw(&b, "x", "1]", 2, 0), RC_EINVAL);
    CHECK_EQ(b.len, 0);
    sio_buf_free(&b);
}

int main(void)
{
    test_spec_examples();
    test_invalid();
    test_suite_frames();
    test_limits();
    test_json_like_javascript();
    test_encode();
    test_event_raw();
    CHECK_DONE();
}
