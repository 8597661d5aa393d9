/* utf8.h: one UTF-8 sequence checked as RFC 3629 requires (no overlong forms, no
 * surrogates, nothing past U+10FFFF). Used where text is validated in one piece: the
 * Engine.IO polling body (gateway/engineio.c) and the JSON validator (jsonvalid.h); the
 * WebSocket layer checks text frames across fragments with its own streaming DFA. */
#ifndef RC_UTF8_H
#define RC_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The length (2 to 4) of the valid multi-byte sequence starting at p, whose first byte
 * is 0x80 or above; 0 when it is not valid or does not end before end. */
size_t rc_utf8_seq(const uint8_t *p, const uint8_t *end);

#endif
