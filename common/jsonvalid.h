/* jsonvalid.h: does a text hold one well-formed JSON value, without building it.
 *
 * The gateway checks every room event's arguments before any client sees them (a client
 * given malformed JSON closes its connection); building the value with jansson only to
 * throw it away cost more than everything else the gateway does with an event. This is a
 * pure function over a buffer: no allocation, no globals.
 *
 * It accepts what RFC 8259 calls a JSON text, as jansson's json_loads does with these
 * choices, which are jansson's: strings must be UTF-8 (no overlong forms, no surrogates
 * encoded in UTF-8, nothing above U+10FFFF) with no raw control characters; a \u escape of
 * a surrogate must be a high one followed by a low one; \u0000 is refused; nesting stops
 * at RC_JSON_MAX_DEPTH. Unlike jansson it does not refuse numbers that do not fit a 64-bit
 * integer or a double: JavaScript's JSON.parse, the client's parser, takes them. */
#ifndef RC_JSONVALID_H
#define RC_JSONVALID_H

#include <stddef.h>

#define RC_JSON_MAX_DEPTH 2048

/* 1 when text[0, n) is exactly one JSON value (whitespace around it allowed) whose
 * outermost is an array; 0 otherwise. */
int rc_json_valid_array(const char *text, size_t n);
/* The same for any value at the top. */
int rc_json_valid(const char *text, size_t n);

#endif
