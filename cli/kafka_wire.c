/* kafka_wire.c: frames, headers and the two answers the trial broker's front rewrites
 * (see kafka_wire.h). Every rewrite parses first and writes only once the whole part it
 * touches has parsed, so a malformed answer passes through untouched. */
#include "cli/kafka_wire.h"

#include "common/rc.h"

static int32_t kw__i32(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

static int16_t kw__i16(const uint8_t *p)
{
    return (int16_t)((uint16_t)p[0] << 8 | p[1]);
}

static void kw__put_i32(uint8_t *p, int32_t v)
{
    uint32_t u = (uint32_t)v;
    p[0] = (uint8_t)(u >> 24);
    p[1] = (uint8_t)(u >> 16);
    p[2] = (uint8_t)(u >> 8);
    p[3] = (uint8_t)u;
}

long kw_frame_len(const uint8_t *buf, size_t len, size_t max)
{
    if (len < 4)
        return 0;
    int32_t size = kw__i32(buf);
    if (size < 4)
        return RC_EINVAL;
    if ((size_t)size > max)
        return RC_ETOOBIG;
    return 4 + (long)size;
}

int kw_request_header(const uint8_t *frame, size_t len, kw_request *out)
{
    if (len < 12)
        return RC_EINVAL;
    out->api_key = kw__i16(frame + 4);
    out->api_version = kw__i16(frame + 6);
    out->correlation_id = kw__i32(frame + 8);
    return 0;
}

int kw_response_correlation(const uint8_t *frame, size_t len, int32_t *out)
{
    if (len < 8)
        return RC_EINVAL;
    *out = kw__i32(frame + 4);
    return 0;
}

/* A cursor over a response body; any read past the end sets bad. */
typedef struct {
    const uint8_t *p;
    size_t off, len;
    int bad;
} kw__cur;

static int32_t kw__take_i32(kw__cur *c)
{
    if (c->bad || c->len - c->off < 4) {
        c->bad = 1;
        return 0;
    }
    c->off += 4;
    return kw__i32(c->p + c->off - 4);
}

static int16_t kw__take_i16(kw__cur *c)
{
    if (c->bad || c->len - c->off < 2) {
        c->bad = 1;
        return 0;
    }
    c->off += 2;
    return kw__i16(c->p + c->off - 2);
}

/* Skips a string; a nullable one may have length -1. */
static void kw__skip_str(kw__cur *c, int nullable)
{
    int16_t n = kw__take_i16(c);
    if (c->bad || (n == -1 && nullable))
        return;
    if (n < 0 || c->len - c->off < (size_t)n) {
        c->bad = 1;
        return;
    }
    c->off += (size_t)n;
}

int kw_rewrite_metadata(uint8_t *frame, size_t len, int16_t version, int32_t port)
{
    if (version < 0 || version > 2)
        return RC_ENOENT;
    kw__cur c = {frame, 8, len, len < 8};
    int32_t n = kw__take_i32(&c);
    if (c.bad || n < 0 || n > KW_MAX_BROKERS)
        return RC_EINVAL;
    size_t ports[KW_MAX_BROKERS];
    int32_t ids[KW_MAX_BROKERS];
    for (int32_t i = 0; i < n; i++) {
        ids[i] = kw__take_i32(&c);
        kw__skip_str(&c, 0); /* host */
        ports[i] = c.off;
        kw__take_i32(&c);
        if (version >= 1)
            kw__skip_str(&c, 1); /* rack */
    }
    if (version >= 2)
        kw__skip_str(&c, 1); /* cluster id */
    size_t controller = c.off;
    if (version >= 1)
        kw__take_i32(&c);
    if (c.bad)
        return RC_EINVAL;
    for (int32_t i = 0; i < n; i++)
        kw__put_i32(frame + ports[i], port);
    if (version >= 1 && n > 0) {
        int32_t id = kw__i32(frame + controller);
        int known = 0;
        for (int32_t i = 0; i < n; i++)
            known |= ids[i] == id;
        if (!known)
            kw__put_i32(frame + controller, ids[0]);
    }
    return 0;
}

int kw_rewrite_find_coordinator(uint8_t *frame, size_t len, int16_t version, int32_t port)
{
    if (version < 0 || version > 2)
        return RC_ENOENT;
    kw__cur c = {frame, 8, len, len < 8};
    if (version >= 1)
        kw__take_i32(&c); /* throttle time */
    kw__take_i16(&c);     /* error code */
    if (version >= 1)
        kw__skip_str(&c, 1); /* error message */
    kw__take_i32(&c);        /* node id */
    kw__skip_str(&c, 0);     /* host */
    size_t at = c.off;
    kw__take_i32(&c);
    if (c.bad)
        return RC_EINVAL;
    kw__put_i32(frame + at, port);
    return 0;
}
