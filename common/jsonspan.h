/* jsonspan.h: finding and compacting raw JSON values inside a text, without re-encoding
 * them, so that what a producer wrote (number spelling, string escapes, key order) reaches
 * a consumer byte for byte. jansson would turn 0.1 into 0.10000000000000001.
 *
 * These are pure functions over a buffer: no allocation, no globals. They do not judge
 * the text: the caller first has it accepted by a real parser (jansson) and then uses
 * these to find where its values lie. On text that is not valid JSON they still stay
 * inside the buffer but their answer means nothing. The caller owns every buffer. */
#ifndef RC_JSONSPAN_H
#define RC_JSONSPAN_H

#include <stddef.h>

/* Finds the value of the top-level member name of the object in text[0, n): sets *off and
 * *len to its bytes and returns 0, or returns -1 when the object has no such member (or
 * the text is not an object). Keys written with escapes ("\u0069d") match too. If keys
 * repeat, the first wins: parse with JSON_REJECT_DUPLICATES to rule that out. */
int rc_jsonspan_member(const char *text, size_t n, const char *name, size_t *off, size_t *len);

/* Copies the value in src[0, n) to dst without whitespace between tokens; strings are
 * copied untouched. dst needs n bytes (no terminator is written). Returns bytes written. */
size_t rc_jsonspan_compact(const char *src, size_t n, char *dst);

#endif
