/* The trial broker front's Kafka wire pieces: frame lengths, request headers, and the
 * Metadata / FindCoordinator rewrites, on answers laid out byte for byte as librdkafka
 * 2.0.2's mock cluster writes them (ControllerId 0 with brokers numbered from 1). */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "cli/kafka_wire.h"
#include "common/rc.h"

typedef struct {
    uint8_t b[512];
    size_t n;
} buf;

static void put16(buf *x, int v)
{
    x->b[x->n++] = (uint8_t)(v >> 8);
    x->b[x->n++] = (uint8_t)v;
}
static void put32(buf *x, int32_t v)
{
    for (int s = 24; s >= 0; s -= 8)
        x->b[x->n++] = (uint8_t)((uint32_t)v >> s);
}
static void putstr(buf *x, const char *s) /* NULL: a null string */
{
    put16(x, s ? (int)strlen(s) : -1);
    if (s) {
        memcpy(x->b + x->n, s, strlen(s));
        x->n += strlen(s);
    }
}
static int32_t get32(const buf *x, size_t at)
{
    return (int32_t)((uint32_t)x->b[at] << 24 | (uint32_t)x->b[at + 1] << 16 |
                     (uint32_t)x->b[at + 2] << 8 | x->b[at + 3]);
}
/* Fills in the frame's size once the body is written. */
static void seal(buf *x)
{
    int32_t size = (int32_t)x->n - 4;
    for (int i = 0; i < 4; i++)
        x->b[i] = (uint8_t)((uint32_t)size >> (24 - 8 * i));
}

/* A Metadata answer: brokers (id, port) on 127.0.0.1, the controller, one topic. Records
 * where each port and the controller sit. */
static buf metadata(int version, int nb, const int32_t *ids, int32_t controller, size_t *ports,
                    size_t *ctl)
{
    buf x = {.n = 0};
    put32(&x, 0);  /* size */
    put32(&x, 7);  /* correlation id */
    put32(&x, nb);
    for (int i = 0; i < nb; i++) {
        put32(&x, ids[i]);
        putstr(&x, "127.0.0.1");
        ports[i] = x.n;
        put32(&x, 40000 + i);
        if (version >= 1)
            putstr(&x, i ? "rack-b" : NULL);
    }
    if (version >= 2)
        putstr(&x, "mockCluster1");
    *ctl = x.n;
    if (version >= 1)
        put32(&x, controller);
    put32(&x, 1); /* topics: one, not parsed by the rewrite */
    put16(&x, 0);
    putstr(&x, "roomcast.rooms");
    seal(&x);
    return x;
}

static void test_frames(void)
{
    uint8_t f[8] = {0, 0, 0, 4, 1, 2, 3, 4};
    CHECK_EQ(kw_frame_len(f, 3, 100), 0);
    CHECK_EQ(kw_frame_len(f, 4, 100), 8);
    CHECK_EQ(kw_frame_len(f, 8, 100), 8);
    uint8_t big[4] = {0, 0, 1, 0};
    CHECK_EQ(kw_frame_len(big, 4, 100), RC_ETOOBIG);
    uint8_t small[4] = {0, 0, 0, 3};
    CHECK_EQ(kw_frame_len(small, 4, 100), RC_EINVAL);
    uint8_t neg[4] = {0xff, 0xff, 0xff, 0xff};
    CHECK_EQ(kw_frame_len(neg, 4, 100), RC_EINVAL);

    uint8_t req[14] = {0, 0, 0, 10, 0, 3, 0, 2, 0, 0, 1, 2, 0, 0};
    kw_request r;
    CHECK_EQ(kw_request_header(req, sizeof req, &r), 0);
    CHECK_EQ(r.api_key, 3);
    CHECK_EQ(r.api_version, 2);
    CHECK_EQ(r.correlation_id, 258);
    CHECK_EQ(kw_request_header(req, 11, &r), RC_EINVAL);
    int32_t corr;
    CHECK_EQ(kw_response_correlation(req, 8, &corr), 0);
    CHECK_EQ(corr, 0x00030002);
    CHECK_EQ(kw_response_correlation(req, 7, &corr), RC_EINVAL);
}

static void test_metadata(void)
{
    int32_t ids[2] = {1, 2};
    size_t ports[2], ctl;
    for (int v = 0; v <= 2; v++) {
        buf x = metadata(v, 2, ids, 0, ports, &ctl);
        CHECK_EQ(kw_rewrite_metadata(x.b, x.n, (int16_t)v, 9092), 0);
        CHECK_EQ(get32(&x, ports[0]), 9092);
        CHECK_EQ(get32(&x, ports[1]), 9092);
        if (v >= 1)
            CHECK_EQ(get32(&x, ctl), 1); /* the mock's 0 becomes a broker that exists */
    }
    /* a controller that exists is kept */
    buf x = metadata(2, 2, ids, 2, ports, &ctl);
    CHECK_EQ(kw_rewrite_metadata(x.b, x.n, 2, 9092), 0);
    CHECK_EQ(get32(&x, ctl), 2);
    /* versions the mock does not serve pass untouched */
    x = metadata(2, 2, ids, 0, ports, &ctl);
    CHECK_EQ(kw_rewrite_metadata(x.b, x.n, 3, 9092), RC_ENOENT);
    CHECK_EQ(get32(&x, ctl), 0);
    /* a cut answer is left exactly as it was */
    for (size_t cut = 8; cut < ctl + 4; cut++) {
        x = metadata(2, 2, ids, 0, ports, &ctl);
        buf before = x;
        CHECK_EQ(kw_rewrite_metadata(x.b, cut, 2, 9092), RC_EINVAL);
        CHECK(memcmp(x.b, before.b, x.n) == 0);
    }
    /* no brokers: nothing to point the controller at */
    x = metadata(1, 0, ids, 0, ports, &ctl);
    CHECK_EQ(kw_rewrite_metadata(x.b, x.n, 1, 9092), 0);
    CHECK_EQ(get32(&x, ctl), 0);
    /* a broker count past the bound is refused */
    x = metadata(1, 0, ids, 0, ports, &ctl);
    x.b[8] = 0x7f;
    CHECK_EQ(kw_rewrite_metadata(x.b, x.n, 1, 9092), RC_EINVAL);
}

static void test_find_coordinator(void)
{
    for (int v = 0; v <= 2; v++) {
        buf x = {.n = 0};
        put32(&x, 0);
        put32(&x, 9);
        if (v >= 1)
            put32(&x, 0); /* throttle */
        put16(&x, 0);
        if (v >= 1)
            putstr(&x, v == 2 ? "NONE" : NULL);
        put32(&x, 1);
        putstr(&x, "127.0.0.1");
        size_t at = x.n;
        put32(&x, 40000);
        seal(&x);
        CHECK_EQ(kw_rewrite_find_coordinator(x.b, x.n, (int16_t)v, 9092), 0);
        CHECK_EQ(get32(&x, at), 9092);
        CHECK_EQ(kw_rewrite_find_coordinator(x.b, at + 2, (int16_t)v, 1), RC_EINVAL);
        CHECK_EQ(get32(&x, at), 9092);
    }
}

int main(void)
{
    test_frames();
    test_metadata();
    test_find_coordinator();
    CHECK_DONE();
}
