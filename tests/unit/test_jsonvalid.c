/* test_jsonvalid.c: the allocation-free JSON recogniser (common/jsonvalid.h) accepts what
 * jansson accepts and refuses what it refuses, on the cases that matter for room event
 * arguments, and checks each answer against jansson itself where the two must agree. */
#include <jansson.h>
#include <stdlib.h>

#include "check.h"
#include "common/jsonvalid.h"

static int jansson_ok(const char *s)
{
    json_error_t e;
    json_t *v = json_loadb(s, strlen(s), JSON_DECODE_ANY, &e);
    json_decref(v);
    return v != NULL;
}

#define VALID(s)                                                                       \
    do {                                                                               \
        CHECK_EQ(rc_json_valid(s, strlen(s)), 1);                                      \
        CHECK_EQ(jansson_ok(s), 1);                                                    \
    } while (0)
#define INVALID(s)                                                                     \
    do {                                                                               \
        CHECK_EQ(rc_json_valid(s, strlen(s)), 0);                                      \
        CHECK_EQ(jansson_ok(s), 0);                                                    \
    } while (0)

int main(void)
{
    VALID("[]");
    VALID(" [ 1 , -0.5e+3, \"x\", true, false, null, {}, {\"a\": [ {\"b\":\"\"} ]} ] \n");
    VALID("[{\"chatId\":\"c1\",\"text\":\"h\\u00e9llo \\ud83d\\ude00 \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\",\"t\":1700000000000000}]");
    VALID("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"");
    VALID("0");
    VALID("-0");
    VALID("1E5");
    INVALID("");
    INVALID("  ");
    INVALID("[");
    INVALID("[1,]");
    INVALID("[,1]");
    INVALID("{\"a\"}");
    INVALID("{\"a\":1,}");
    INVALID("{1:2}");
    INVALID("[01]");
    INVALID("[1.]");
    INVALID("[.5]");
    INVALID("[1e]");
    INVALID("[-]");
    INVALID("[+1]");
    INVALID("[tru]");
    INVALID("[nul]");
    INVALID("[\"a]");
    INVALID("[\"\\x\"]");
    INVALID("[\"\\u12\"]");
    INVALID("[\"\\u0000\"]");          /* jansson without JSON_ALLOW_NUL */
    INVALID("[\"\\udc00\"]");          /* a low surrogate alone */
    INVALID("[\"\\ud800\"]");          /* a high one alone */
    INVALID("[\"\\ud800\\u0041\"]");   /* a high one followed by no low one */
    INVALID("[\"\t\"]");               /* a raw control character */
    INVALID("[\"\xc0\xaf\"]");         /* overlong */
    INVALID("[\"\xed\xa0\x80\"]");     /* a surrogate in UTF-8 */
    INVALID("[\"\xf4\x90\x80\x80\"]"); /* past U+10FFFF */
    INVALID("[\"\x80\"]");             /* a stray continuation byte */
    INVALID("[\"\xe2\x82\"]");         /* cut short */
    INVALID("[1] [2]");
    INVALID("[1] x");

    /* only arrays at the top for room event arguments */
    CHECK_EQ(rc_json_valid_array("  [1]", 5), 1);
    CHECK_EQ(rc_json_valid_array("{}", 2), 0);
    CHECK_EQ(rc_json_valid_array("\"[1]\"", 5), 0);
    /* exactly n bytes are read: the same text cut short is refused */
    CHECK_EQ(rc_json_valid_array("[1,2]", 4), 0);

    /* numbers JavaScript reads but jansson refuses: accepted (see jsonvalid.h) */
    CHECK_EQ(rc_json_valid("[123456789012345678901234567890]", 32), 1);
    CHECK_EQ(rc_json_valid("[1e400]", 7), 1);

    /* nesting: as deep as jansson goes, and no deeper */
    size_t n = RC_JSON_MAX_DEPTH + 1;
    char *deep = malloc(2 * n + 1);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = '\0';
    CHECK_EQ(rc_json_valid(deep + 1, 2 * (n - 1)), 1);
    CHECK_EQ(jansson_ok(deep) , 0);
    CHECK_EQ(rc_json_valid(deep, 2 * n), 0);
    free(deep);
    CHECK_DONE();
}
