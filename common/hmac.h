/* hmac.h: HMAC-SHA256 for the keys a process uses over and over (the cluster key, the
 * JWT secret): OpenSSL's one-shot HMAC() looks the algorithm up, allocates and keys a
 * context on every call, which cost a gateway more than framing the event it signs. The
 * key's context is made once (per thread, eight keys at most: a gateway signs with its JWT
 * secret, recovery, session-id, relay and peers keys) and re-armed per call.
 * Thread-safe; the caller keeps ownership of every buffer. */
#ifndef RC_HMAC_H
#define RC_HMAC_H

#include <stddef.h>
#include <stdint.h>

/* out = HMAC-SHA256(key, data). */
void rc_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n, uint8_t out[32]);

#endif
