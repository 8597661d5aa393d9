/* HTTP request heads: what socket.io-client really sends parses, every prefix of it asks
 * for more, pipelined requests split where they should, and each kind of malformed or
 * oversized head is refused with the right code. */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "common/rc.h"
#include "gateway/http.h"

#define MAX_HEAD 8192

static int parse(const char *s, http_request *req)
{
    return http_parse_request(s, strlen(s), MAX_HEAD, req);
}

static int parse_max(const char *s, size_t max)
{
    http_request req;
    return http_parse_request(s, strlen(s), max, &req);
}

static void check_header(const http_request *req, const char *name, const char *want)
{
    size_t n = 0;
    const char *v = http_header_get(req, name, &n);
    if (v == NULL) {
        CHECK__FAIL("header %s missing, want \"%s\"", name, want);
        return;
    }
    CHECK_MEM(v, n, want, strlen(want));
}

/* Every strict prefix of a complete head is "need more", never an error. */
static void check_prefixes(const char *s)
{
    size_t n = strlen(s);
    http_request req;
    int failed = check__failed;
    for (size_t i = 0; i < n; i++) {
        int rc = http_parse_request(s, i, MAX_HEAD, &req);
        if (rc != 0)
            CHECK__FAIL("prefix of %zu bytes: %d, want 0", i, rc);
    }
    if (failed == check__failed)
        check__passed++;
}

/* What the Node socket.io-client 4.8 sends to upgrade straight to WebSocket. */
static const char UPGRADE[] =
    "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Connection: Upgrade\r\n"
    "Upgrade: websocket\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    "Host: localhost:3000\r\n"
    "\r\n";

/* And what a browser sends for the same thing. */
static const char BROWSER[] =
    "GET /socket.io/?EIO=4&transport=websocket&sid=Xk2c1lP0aZbQ7rWnAAAB HTTP/1.1\r\n"
    "Host: rooms.example.com\r\n"
    "Connection: keep-alive, Upgrade\r\n"
    "Pragma: no-cache\r\n"
    "Cache-Control: no-cache\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36\r\n"
    "Upgrade: websocket\r\n"
    "Origin: https://app.example.com\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Accept-Encoding: gzip, deflate, br, zstd\r\n"
    "Accept-Language: en-GB,en;q=0.9,fr;q=0.8\r\n"
    "Cookie: io=Xk2c1lP0aZbQ7rWnAAAB; theme=dark\r\n"
    "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    "\r\n";

static void test_upgrade(void)
{
    http_request req;
    CHECK_EQ(parse(UPGRADE, &req), strlen(UPGRADE));
    CHECK_MEM(req.method, req.method_len, "GET", 3);
    CHECK_MEM(req.target, req.target_len, "/socket.io/?EIO=4&transport=websocket", 37);
    CHECK_EQ(req.minor_version, 1);
    CHECK_EQ(req.num_headers, 6);
    check_header(&req, "upgrade", "websocket");
    check_header(&req, "SEC-WEBSOCKET-KEY", "dGhlIHNhbXBsZSBub25jZQ==");
    check_header(&req, "Host", "localhost:3000");
    CHECK(http_header_get(&req, "Origin", NULL) == NULL);
    size_t n;
    const char *conn = http_header_get(&req, "connection", &n);
    CHECK(conn && http_header_has_token(conn, n, "upgrade"));
    CHECK_EQ(http_path_len(req.target, req.target_len), 11);
    char v[32];
    CHECK_EQ(http_query_get(req.target, req.target_len, "EIO", v, sizeof v), 1);
    CHECK_STR(v, "4");
    CHECK_EQ(http_query_get(req.target, req.target_len, "transport", v, sizeof v), 9);
    CHECK_STR(v, "websocket");
    CHECK_EQ(http_query_get(req.target, req.target_len, "sid", v, sizeof v), RC_ENOENT);
    check_prefixes(UPGRADE);

    CHECK_EQ(parse(BROWSER, &req), strlen(BROWSER));
    CHECK_EQ(req.num_headers, 13);
    conn = http_header_get(&req, "Connection", &n);
    CHECK(conn && http_header_has_token(conn, n, "Upgrade"));
    CHECK(conn && http_header_has_token(conn, n, "keep-alive"));
    check_header(&req, "origin", "https://app.example.com");
    CHECK_EQ(http_query_get(req.target, req.target_len, "sid", v, sizeof v), 20);
    CHECK_STR(v, "Xk2c1lP0aZbQ7rWnAAAB");
    CHECK_EQ(http_content_length(&req, &(uint64_t){0}), RC_ENOENT);
    CHECK(!http_request_is_chunked(&req));
    check_prefixes(BROWSER);
}

/* Long-polling: a GET that waits for packets and a POST that carries them, back to back
 * on one keep-alive connection. */
static void test_polling_pipelined(void)
{
    static const char get[] =
        "GET /socket.io/?EIO=4&transport=polling&t=PZx1a2b&sid=abc-123_x HTTP/1.1\r\n"
        "Host: localhost:3000\r\n"
        "Accept: */*\r\n"
        "\r\n";
    static const char post[] =
        "POST /socket.io/?EIO=4&transport=polling&t=PZx1a3c&sid=abc-123_x HTTP/1.1\r\n"
        "Host: localhost:3000\r\n"
        "Content-Type: text/plain;charset=UTF-8\r\n"
        "Content-Length: 26\r\n"
        "\r\n";
    static const char body[] = "40{\"token\":\"abc\"}\x1e" "42[\"hi\"]";
    char buf[1024];
    snprintf(buf, sizeof buf, "%s%s%s%s", get, post, body, get);
    size_t len = strlen(buf);

    http_request req;
    int n1 = http_parse_request(buf, len, MAX_HEAD, &req);
    CHECK_EQ(n1, strlen(get));
    CHECK_MEM(req.method, req.method_len, "GET", 3);
    char v[64];
    CHECK_EQ(http_query_get(req.target, req.target_len, "t", v, sizeof v), 7);
    CHECK_STR(v, "PZx1a2b");
    uint64_t cl = 99;
    CHECK_EQ(http_content_length(&req, &cl), RC_ENOENT);

    int n2 = http_parse_request(buf + n1, len - (size_t)n1, MAX_HEAD, &req);
    CHECK_EQ(n2, strlen(post));
    CHECK_MEM(req.method, req.method_len, "POST", 4);
    CHECK_EQ(http_content_length(&req, &cl), 0);
    CHECK_EQ(cl, strlen(body));
    CHECK_MEM(buf + n1 + n2, (size_t)cl, body, strlen(body));
    CHECK_EQ(http_query_get(req.target, req.target_len, "sid", v, sizeof v), 9);
    CHECK_STR(v, "abc-123_x");

    size_t at = (size_t)n1 + (size_t)n2 + (size_t)cl;
    CHECK_EQ(http_parse_request(buf + at, len - at, MAX_HEAD, &req), strlen(get));
    /* A second request that has only partly arrived asks for more. */
    CHECK_EQ(http_parse_request(buf + at, 30, MAX_HEAD, &req), 0);
}

static void test_tolerated(void)
{
    http_request req;
    /* Empty lines before the request line are skipped; bare LF ends lines. */
    const char *s = "\r\n\nGET / HTTP/1.0\nHost: a\n\n";
    CHECK_EQ(parse(s, &req), strlen(s));
    CHECK_EQ(req.minor_version, 0);
    check_header(&req, "host", "a");
    /* Values lose surrounding white space but keep inner; empty values are values. */
    s = "GET / HTTP/1.1\r\nX-A:   a b \t\r\nX-Empty:\r\nX-Spaces:   \r\n"
        "X-Utf8: caf\xc3\xa9\r\n\r\n";
    CHECK_EQ(parse(s, &req), strlen(s));
    check_header(&req, "x-a", "a b");
    check_header(&req, "x-empty", "");
    check_header(&req, "x-spaces", "");
    check_header(&req, "x-utf8", "caf\xc3\xa9");
    /* The first of repeated headers is the one returned. */
    s = "GET / HTTP/1.1\r\nX: 1\r\nx: 2\r\n\r\n";
    CHECK_EQ(parse(s, &req), strlen(s));
    check_header(&req, "X", "1");
    CHECK_EQ(http_parse_request(NULL, 0, MAX_HEAD, &req), 0); /* nothing read yet */
    /* Any token is a method; the target may be absolute or '*'. */
    s = "M-SEARCH * HTTP/1.1\r\n\r\n";
    CHECK_EQ(parse(s, &req), strlen(s));
    CHECK_EQ(req.num_headers, 0);
    CHECK_MEM(req.target, req.target_len, "*", 1);
}

static void test_malformed(void)
{
    static const char *bad[] = {
        " GET / HTTP/1.1\r\n\r\n",          /* leading space */
        "G(T / HTTP/1.1\r\n\r\n",           /* not a token */
        "GET  / HTTP/1.1\r\n\r\n",          /* empty target */
        "GET\t/ HTTP/1.1\r\n\r\n",          /* tab as separator */
        "GET / HTTP/2.0\r\n\r\n",
        "GET / HTTP/1.x\r\n\r\n",
        "GET / http/1.1\r\n\r\n",
        "GET / HTTP/1.1 \r\n\r\n",          /* trailing space */
        "GET / HTTP/1.11\r\n\r\n",
        "GET /a\x01 HTTP/1.1\r\n\r\n",      /* control in target */
        "GET /\x7f HTTP/1.1\r\n\r\n",
        "GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n", /* raw UTF-8 in target */
        "GET / HTTP/1.1\rX\r\n\r\n",        /* CR without LF */
        "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n\r\r\n",
        "GET / HTTP/1.1\r\nHost localhost\r\n\r\n", /* no colon */
        "GET / HTTP/1.1\r\nHost : a\r\n\r\n",       /* space before colon */
        "GET / HTTP/1.1\r\n: a\r\n\r\n",            /* empty name */
        "GET / HTTP/1.1\r\nX-(a): a\r\n\r\n",       /* not a token */
        "GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n", /* obsolete folding */
        "GET / HTTP/1.1\r\nX: a\r\n\tfolded\r\n\r\n",
        "GET / HTTP/1.1\r\n Host: a\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\x01\x62\r\n\r\n",   /* control in value */
        "GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\x00\r\n\r\n",
        "\r\rGET / HTTP/1.1\r\n\r\n",
    };
    http_request req;
    for (size_t i = 0; i < RC_ARRAY_LEN(bad); i++) {
        /* Measured up to the last LF, since one case holds a NUL. */
        size_t n = strlen(bad[i]);
        if (i == RC_ARRAY_LEN(bad) - 2)
            n = sizeof "GET / HTTP/1.1\r\nX: a\x00\r\n\r\n" - 1;
        int rc = http_parse_request(bad[i], n, MAX_HEAD, &req);
        if (rc != RC_EINVAL)
            CHECK__FAIL("malformed #%zu: %d, want %d", i, rc, RC_EINVAL);
        else
            check__passed++;
    }
    /* Refused as soon as the bad byte is in, without waiting for the rest. */
    CHECK_EQ(parse_max("GE(", MAX_HEAD), RC_EINVAL);
    CHECK_EQ(parse_max("GET / HTTP/1.1\r\nBad Name", MAX_HEAD), RC_EINVAL);
    CHECK_EQ(parse_max("GET / HTTP/3", MAX_HEAD), RC_EINVAL);
}

static void test_limits(void)
{
    char buf[4096];
    /* max_head bounds the whole head, complete or not. */
    snprintf(buf, sizeof buf, "GET /%0200d HTTP/1.1\r\nHost: a\r\n\r\n", 0);
    size_t n = strlen(buf);
    CHECK_EQ(parse_max(buf, n), n);
    CHECK_EQ(parse_max(buf, n - 1), RC_ETOOBIG);
    CHECK_EQ(parse_max(buf, 100), RC_ETOOBIG);
    http_request req;
    CHECK_EQ(http_parse_request(buf, 100, 100, &req), 0); /* might still fit */
    CHECK_EQ(http_parse_request(buf, 101, 100, &req), RC_ETOOBIG);
    /* A bad byte inside the limit is still reported as such. */
    CHECK_EQ(parse_max("GE(T / HTTP/1.1\r\n\r\n", 10), RC_EINVAL);

    /* 32 headers fit, 33 do not. */
    size_t at = (size_t)sprintf(buf, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < HTTP_MAX_HEADERS; i++)
        at += (size_t)sprintf(buf + at, "X-%d: %d\r\n", i, i);
    strcpy(buf + at, "\r\n");
    CHECK_EQ(parse(buf, &req), at + 2);
    CHECK_EQ(req.num_headers, HTTP_MAX_HEADERS);
    check_header(&req, "x-31", "31");
    sprintf(buf + at, "X-last: 1\r\n\r\n");
    CHECK_EQ(parse(buf, &req), RC_ETOOBIG);
}

static void test_tokens(void)
{
    static const struct {
        const char *value, *token;
        int want;
    } cases[] = {
        {"Upgrade", "upgrade", 1},
        {"keep-alive, Upgrade", "upgrade", 1},
        {"keep-alive,Upgrade", "UPGRADE", 1},
        {" , ,upgrade\t, ", "upgrade", 1},
        {"keep-alive", "upgrade", 0},
        {"Upgrade2", "upgrade", 0},
        {"Upgrad", "upgrade", 0},
        {"keep-alive; Upgrade", "upgrade", 0},
        {"", "upgrade", 0},
    };
    for (size_t i = 0; i < RC_ARRAY_LEN(cases); i++) {
        int got = http_header_has_token(cases[i].value, strlen(cases[i].value), cases[i].token);
        if (got != cases[i].want)
            CHECK__FAIL("has_token(\"%s\", \"%s\") = %d", cases[i].value, cases[i].token, got);
        else
            check__passed++;
    }
}

static int q(const char *target, const char *key, char *out, size_t outlen)
{
    return http_query_get(target, strlen(target), key, out, outlen);
}

static void test_query(void)
{
    char v[16];
    CHECK_EQ(q("/p?a=1&b=x%20y%2Bz+w&c", "b", v, sizeof v), 7);
    CHECK_STR(v, "x y+z w");
    CHECK_EQ(q("/p?a=1&b=2&c", "c", v, sizeof v), 0); /* present, empty */
    CHECK_STR(v, "");
    CHECK_EQ(q("/p?a=1&b=2&c=", "c", v, sizeof v), 0);
    CHECK_EQ(q("/p?a=1&a=2", "a", v, sizeof v), 1); /* first wins */
    CHECK_STR(v, "1");
    CHECK_EQ(q("/p?%61=%e2%82%ac", "a", v, sizeof v), 3); /* keys decoded, lower hex */
    CHECK_STR(v, "\xe2\x82\xac");
    CHECK_EQ(q("/p?&&a=1&&", "a", v, sizeof v), 1);
    CHECK_EQ(q("/p?ab=1", "a", v, sizeof v), RC_ENOENT);
    CHECK_EQ(q("/p?a=1", "ab", v, sizeof v), RC_ENOENT);
    CHECK_EQ(q("/p?x=1#a=2", "a", v, sizeof v), RC_ENOENT); /* a fragment is not query */
    CHECK_EQ(q("/p#?a=1", "a", v, sizeof v), RC_ENOENT);
    CHECK_EQ(q("/p", "a", v, sizeof v), RC_ENOENT);
    CHECK_EQ(q("/p?", "a", v, sizeof v), RC_ENOENT);
    CHECK_EQ(q("/p?a=b=c", "a", v, sizeof v), 3);
    CHECK_STR(v, "b=c");
    /* Bad escapes in the value asked for are errors; elsewhere they are ignored. */
    CHECK_EQ(q("/p?a=%4", "a", v, sizeof v), RC_EINVAL);
    CHECK_EQ(q("/p?a=%", "a", v, sizeof v), RC_EINVAL);
    CHECK_EQ(q("/p?a=%zz", "a", v, sizeof v), RC_EINVAL);
    CHECK_EQ(q("/p?a=x%00y", "a", v, sizeof v), RC_EINVAL);
    CHECK_EQ(q("/p?b=%zz&a=ok", "a", v, sizeof v), 2);
    CHECK_EQ(q("/p?%zz=1&a=ok", "a", v, sizeof v), 2);
    /* Room for the value and its NUL, exactly. */
    CHECK_EQ(q("/p?a=123456789", "a", v, 10), 9);
    CHECK_STR(v, "123456789");
    CHECK_EQ(q("/p?a=1234567890", "a", v, 10), RC_ETOOBIG);
    CHECK_EQ(q("/p?a=", "a", v, 0), RC_ETOOBIG);
    /* Only the target's length counts, not a NUL. */
    CHECK_EQ(http_query_get("/p?a=12345", 8, "a", v, sizeof v), 3);
    CHECK_STR(v, "123");

    CHECK_EQ(http_path_len("/socket.io/?EIO=4", 17), 11);
    CHECK_EQ(http_path_len("/socket.io/", 11), 11);
    CHECK_EQ(http_path_len("/a#b?c", 6), 2);
    CHECK_EQ(http_path_len("?x", 2), 0);
}

static int content_length(const char *headers, uint64_t *out)
{
    char buf[512];
    snprintf(buf, sizeof buf, "POST / HTTP/1.1\r\n%s\r\n", headers);
    http_request req;
    int rc = parse(buf, &req);
    if (rc <= 0)
        return 1000 + rc; /* visible as a mismatch, never as a parse result */
    return http_content_length(&req, out);
}

static void test_content_length(void)
{
    uint64_t n = 7;
    CHECK_EQ(content_length("Content-Length: 0\r\n", &n), 0);
    CHECK_EQ(n, 0);
    CHECK_EQ(content_length("content-length:  123 \r\n", &n), 0);
    CHECK_EQ(n, 123);
    CHECK_EQ(content_length("Content-Length: 007\r\n", &n), 0);
    CHECK_EQ(n, 7);
    CHECK_EQ(content_length("Content-Length: 18446744073709551615\r\n", &n), 0);
    CHECK(n == UINT64_MAX);
    CHECK_EQ(content_length("Content-Length: 5\r\nContent-Length: 5\r\n", &n), 0);
    CHECK_EQ(n, 5);

    static const char *bad[] = {
        "Content-Length: 18446744073709551616\r\n",
        "Content-Length: 99999999999999999999999\r\n",
        "Content-Length: +5\r\n", "Content-Length: -1\r\n", "Content-Length: 1 2\r\n",
        "Content-Length: 0x10\r\n", "Content-Length: 5,5\r\n", "Content-Length:\r\n",
        "Content-Length: 5\r\nContent-Length: 6\r\n",
    };
    for (size_t i = 0; i < RC_ARRAY_LEN(bad); i++) {
        int rc = content_length(bad[i], &n);
        if (rc != RC_EINVAL)
            CHECK__FAIL("\"%s\": %d, want %d", bad[i], rc, RC_EINVAL);
        else
            check__passed++;
    }
    CHECK_EQ(content_length("Host: a\r\n", &n), RC_ENOENT);

    http_request req;
    const char *s = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    CHECK_EQ(parse(s, &req), strlen(s));
    CHECK(http_request_is_chunked(&req));
    s = "POST / HTTP/1.1\r\ntransfer-encoding: gzip\r\nContent-Length: 3\r\n\r\n";
    CHECK_EQ(parse(s, &req), strlen(s));
    CHECK(http_request_is_chunked(&req));
}

/* Response heads, as a relaying gateway reads its peer's answer. */
static void test_response(void)
{
    http_response res;
    const char *s = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    "X-Roomcast-Relay-Proof: abc\r\n\r\nframes";
    CHECK_EQ(http_parse_response(s, strlen(s), MAX_HEAD, &res), strlen(s) - 6);
    CHECK_EQ(res.status, 101);
    CHECK_EQ(res.minor_version, 1);
    size_t n;
    const char *v = http_response_header_get(&res, "x-roomcast-relay-proof", &n);
    CHECK(v && n == 3 && !memcmp(v, "abc", 3));
    CHECK(http_response_header_get(&res, "content-length", NULL) == NULL);
    s = "HTTP/1.0 200\r\nContent-Length: 2\r\n\r\nok"; /* no reason, no space */
    CHECK_EQ(http_parse_response(s, strlen(s), MAX_HEAD, &res), strlen(s) - 2);
    CHECK_EQ(res.status, 200);
    s = "HTTP/1.1 400 \n\n";
    CHECK_EQ(http_parse_response(s, strlen(s), MAX_HEAD, &res), strlen(s));
    /* every prefix asks for more */
    s = "HTTP/1.1 200 OK\r\nA: b\r\n\r\n";
    for (size_t i = 0; i < strlen(s); i++)
        if (http_parse_response(s, i, MAX_HEAD, &res) != 0)
            CHECK__FAIL("response prefix of %zu bytes", i);
    const char *bad[] = {"HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 099 x\r\n\r\n",
                         "HTTP/1.1 200OK\r\n\r\n", "HTTP/1.1  200 OK\r\n\r\n", "GET / HTTP/1.1\r\n\r\n",
                         "HTTP/1.1 200 O\x01K\r\n\r\n", "HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n"};
    for (size_t i = 0; i < RC_ARRAY_LEN(bad); i++) {
        int rc = http_parse_response(bad[i], strlen(bad[i]), MAX_HEAD, &res);
        if (rc != RC_EINVAL)
            CHECK__FAIL("\"%s\": %d, want %d", bad[i], rc, RC_EINVAL);
        else
            check__passed++;
    }
    s = "HTTP/1.1 200 OK\r\nA: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    CHECK_EQ(http_parse_response(s, strlen(s), 20, &res), RC_ETOOBIG);
}

int main(void)
{
    test_response();
    test_upgrade();
    test_polling_pipelined();
    test_tolerated();
    test_malformed();
    test_limits();
    test_tokens();
    test_query();
    test_content_length();
    CHECK_DONE();
}
