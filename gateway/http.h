/* http.h: a pure HTTP/1.1 request-head parser in the manner of picohttpparser, and the
 * few helpers the gateway needs to read a parsed head (headers, tokens, query, length).
 * No I/O, no allocation, no globals.
 *
 * Ownership: every pointer in an http_request points into the buffer that was parsed;
 * nothing is copied, so the request is valid only while that buffer is unchanged.
 *
 * Strictness: the request line is METHOD SP TARGET SP HTTP/1.x; the method is a token,
 * the target printable ASCII without spaces, header names are tokens followed directly
 * by ':', values are trimmed of surrounding spaces and tabs and may not hold control
 * characters. Lines end in CRLF or a bare LF (RFC 9112 section 2.2); a CR not followed
 * by LF, obsolete line folding and anything else unexpected is RC_EINVAL. Empty lines
 * before the request line are skipped, as RFC 9112 section 2.2 suggests. */
#ifndef RC_GATEWAY_HTTP_H
#define RC_GATEWAY_HTTP_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} http_header;

#define HTTP_MAX_HEADERS 32

typedef struct {
    const char *method;
    size_t method_len;
    const char *target; /* path + query as sent */
    size_t target_len;
    int minor_version;
    http_header headers[HTTP_MAX_HEADERS];
    size_t num_headers;
} http_request;

/* Parses the request head at buf. Returns the bytes of the head consumed (through the
 * blank line, so a body or a pipelined request starts there) when it is complete; 0 when
 * it is incomplete so far (RC_AGAIN semantics: call again with more bytes); RC_EINVAL
 * when what is there is malformed, even if incomplete; RC_ETOOBIG when the head is longer
 * than max_head bytes or has more than HTTP_MAX_HEADERS headers. req's contents mean
 * something only when the return is positive. */
int http_parse_request(const char *buf, size_t len, size_t max_head, http_request *req);

/* A response head, as a relaying gateway reads the owner's answer. */
typedef struct {
    int minor_version;
    int status;
    http_header headers[HTTP_MAX_HEADERS];
    size_t num_headers;
} http_response;

/* Parses a response head ("HTTP/1.x SSS reason" and headers) as http_parse_request parses
 * a request: the head's length, 0 for more, RC_EINVAL, or RC_ETOOBIG past max_head. */
int http_parse_response(const char *buf, size_t len, size_t max_head, http_response *res);
/* As http_header_get, for a response. */
const char *http_response_header_get(const http_response *res, const char *name, size_t *len);

/* The value of the first header named name (case-insensitive), with its length in *len
 * (may be NULL); NULL when there is none. */
const char *http_header_get(const http_request *req, const char *name, size_t *len);

/* 1 when the comma-separated list in value holds token (case-insensitive, spaces around
 * elements ignored), as in "Connection: keep-alive, Upgrade"; else 0. */
int http_header_has_token(const char *value, size_t len, const char *token);

/* Finds key in the target's query string (after '?', up to any '#') and percent-decodes
 * its value into out ('+' as a space), NUL-terminated. Keys are compared after
 * decoding; the first match wins; "key" without '=' has the empty value. Returns the
 * decoded length; RC_ENOENT if absent; RC_ETOOBIG if the value and its NUL do not fit in
 * outlen; RC_EINVAL on a bad escape or a NUL byte (raw or %00), which no caller of a
 * C string wants. */
int http_query_get(const char *target, size_t target_len, const char *key, char *out,
                   size_t outlen);

/* The length of the path: the target up to its '?' (or '#'), or all of it. */
size_t http_path_len(const char *target, size_t target_len);

/* Content-Length as a strict decimal (digits only, no sign, no inner spaces, overflow
 * checked). Repeated Content-Length headers must agree. Returns 0 and sets *out;
 * RC_ENOENT if absent; RC_EINVAL otherwise. */
int http_content_length(const http_request *req, uint64_t *out);

/* 1 when the request has a Transfer-Encoding header (of any coding), which the gateway
 * refuses: it only reads Content-Length bodies. Else 0. */
int http_request_is_chunked(const http_request *req);

#endif
