/* fuzz_http: arbitrary bytes through http_parse_request and the helpers that read a
 * parsed head.
 *
 * Input: byte 0 picks max_head, the rest is the head (copied to an exact-size buffer so
 * any over-read is caught). Invariants: a complete head is at most len and max_head bytes
 * and everything it points to lies inside it; names are non-empty and values hold no
 * line breaks; a prefix of the input never parses to anything but "need more" or the
 * full input's result; query values decode to NUL-free strings that fit; the helpers
 * never crash on arbitrary bytes. X-Forwarded-For (netaddr.c) names the peer or an
 * address it holds, and a list of ranges either parses or is refused. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/rc.h"
/* The codec is compiled into this file, not linked from the library, so that it gets
 * the fuzzer's coverage instrumentation (the libraries are built without it). */
#include "gateway/http.c"
#include "gateway/netaddr.c"

#define REQUIRE(c)                                                                     \
    do {                                                                               \
        if (!(c))                                                                      \
            abort();                                                                   \
    } while (0)

static int inside(const char *p, size_t n, const char *base, size_t len)
{
    return p >= base && p <= base + len && n <= (size_t)(base + len - p);
}

static void check_query(const char *target, size_t len, const char *key)
{
    char out[24];
    int rc = http_query_get(target, len, key, out, sizeof out);
    REQUIRE(rc == RC_ENOENT || rc == RC_ETOOBIG || rc == RC_EINVAL || rc >= 0);
    if (rc >= 0) {
        REQUIRE((size_t)rc < sizeof out);
        REQUIRE(out[rc] == '\0' && strlen(out) == (size_t)rc);
    }
    REQUIRE(http_path_len(target, len) <= len);
}

static void check_request(const http_request *req, const char *buf, int rc)
{
    size_t n = (size_t)rc;
    REQUIRE(req->method_len > 0 && inside(req->method, req->method_len, buf, n));
    REQUIRE(req->target_len > 0 && inside(req->target, req->target_len, buf, n));
    REQUIRE(req->minor_version >= 0 && req->minor_version <= 9);
    REQUIRE(req->num_headers <= HTTP_MAX_HEADERS);
    for (size_t i = 0; i < req->num_headers; i++) {
        const http_header *h = &req->headers[i];
        REQUIRE(h->name_len > 0 && inside(h->name, h->name_len, buf, n));
        REQUIRE(inside(h->value, h->value_len, buf, n));
        REQUIRE(memchr(h->value, '\r', h->value_len) == NULL);
        REQUIRE(memchr(h->value, '\n', h->value_len) == NULL);
        char name[64];
        if (h->name_len < sizeof name) {
            memcpy(name, h->name, h->name_len);
            name[h->name_len] = '\0';
            REQUIRE(http_header_get(req, name, NULL) != NULL);
            check_query(req->target, req->target_len, name);
        }
        http_header_has_token(h->value, h->value_len, "upgrade");
    }
    uint64_t cl;
    int c = http_content_length(req, &cl);
    REQUIRE(c == 0 || c == RC_ENOENT || c == RC_EINVAL);
    http_request_is_chunked(req);
    check_query(req->target, req->target_len, "EIO");
    check_query(req->target, req->target_len, "sid");

    static gw_net_list trusted;
    if (!trusted.n) {
        char err[128];
        REQUIRE(gw_net_list_parse("127.0.0.0/8, ::1, 10.0.0.0/8", &trusted, err, sizeof err) == 0);
    }
    char ip[GW_NET_IP_LEN];
    uint8_t a[16];
    gw_net_client_ip(req, "127.0.0.1", &trusted, ip);
    REQUIRE(strlen(ip) < GW_NET_IP_LEN && gw_net_parse_ip(ip, strlen(ip), a) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t limits[] = {16, 64, 256, 1024, 8192, 65536, 1, 0};
    if (size < 1)
        return 0;
    size_t max = limits[data[0] & 7];
    size_t len = size - 1;
    char *buf = malloc(len ? len : 1);
    memcpy(buf, data + 1, len);

    http_request req;
    int rc = http_parse_request(buf, len, max, &req);
    REQUIRE(rc >= 0 || rc == RC_EINVAL || rc == RC_ETOOBIG);
    if (rc > 0) {
        REQUIRE((size_t)rc <= len && (size_t)rc <= max);
        check_request(&req, buf, rc);
    }
    if (rc == 0)
        REQUIRE(len <= max);

    /* The same bytes as a response head (what a relaying gateway reads from its peer). */
    http_response res;
    int rrc = http_parse_response(buf, len, max, &res);
    REQUIRE(rrc >= 0 || rrc == RC_EINVAL || rrc == RC_ETOOBIG);
    if (rrc > 0) {
        REQUIRE((size_t)rrc <= len && (size_t)rrc <= max);
        REQUIRE(res.status >= 100 && res.status <= 999 && res.num_headers <= HTTP_MAX_HEADERS);
        for (size_t i = 0; i < res.num_headers; i++)
            REQUIRE(inside(res.headers[i].value, res.headers[i].value_len, buf, (size_t)rrc));
        http_response_header_get(&res, "x-roomcast-relay-proof", NULL);
    }

    /* Prefixes: all of them for short inputs, a spread of them for long ones. */
    size_t step = len / 64 + 1;
    for (size_t p = 0; p < len; p += step) {
        http_request pre;
        int prc = http_parse_request(buf, p, max, &pre);
        if (rc > 0)
            REQUIRE(prc == ((int)p >= rc ? rc : 0));
        else
            REQUIRE(prc == 0 || prc == rc);
    }

    /* The helpers on raw bytes, as if the whole input were a target or a value. */
    check_query(buf, len, "a");
    check_query(buf, len, "");
    http_header_has_token(buf, len, "keep-alive");
    char spec[512], err[128];
    size_t sl = len < sizeof spec - 1 ? len : sizeof spec - 1;
    memcpy(spec, buf, sl);
    spec[sl] = '\0';
    gw_net_list list;
    int lr = gw_net_list_parse(spec, &list, err, sizeof err);
    REQUIRE(lr == 0 || lr == RC_EINVAL);
    REQUIRE(lr != 0 || list.n <= GW_NET_MAX_RANGES);
    free(buf);
    return 0;
}
