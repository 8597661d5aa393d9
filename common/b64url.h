/* b64url.h: base64url (RFC 4648 section 5) without padding, as JWS uses it, and as the
 * gateway's recovery tokens and session ids do. Decoding is strict: every byte string
 * has exactly one accepted encoding (no padding, no other alphabet, no leftover bits),
 * so a signed token cannot be altered without changing what was signed. Pure. */
#ifndef RC_B64URL_H
#define RC_B64URL_H

#include <stddef.h>

/* The encoded length of n bytes. */
size_t rc_b64url_len(size_t n);
/* Writes the encoding of src[0..n) at dst (rc_b64url_len(n) bytes, no NUL) and returns
 * the position after it. */
char *rc_b64url_encode(const unsigned char *src, size_t n, char *dst);
/* Decodes src[0..len) into dst, which has room for len * 3 / 4 bytes. Returns the length,
 * or -1 for anything not in the one accepted encoding. */
long rc_b64url_decode(const char *src, size_t len, unsigned char *dst);

#endif
