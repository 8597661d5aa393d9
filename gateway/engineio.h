/* engineio.h: the Engine.IO v4 packet codec (docs/engine.io-protocol/v4-current.md).
 *
 * Pure functions over caller buffers: no I/O, no allocation, no globals. A decoded
 * eio_packet never owns memory; its data points into the input buffer (text) or into the
 * caller's scratch buffer (base64 binary records of a polling payload), so it is valid
 * only as long as those buffers are.
 *
 * On a WebSocket each packet is one frame: a text frame is "<type digit><data>", a binary
 * frame is a binary MESSAGE with no type byte. Over HTTP long-polling, packets are joined
 * with the 0x1e record separator and a binary message is written as 'b' + base64. */
#ifndef RC_ENGINEIO_H
#define RC_ENGINEIO_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    EIO_OPEN = 0,
    EIO_CLOSE,
    EIO_PING,
    EIO_PONG,
    EIO_MESSAGE,
    EIO_UPGRADE,
    EIO_NOOP
} eio_type;

#define EIO_RECORD_SEPARATOR 0x1e

typedef struct {
    eio_type type;
    int binary;          /* 1 for a binary MESSAGE (raw frame or base64 record) */
    const uint8_t *data; /* the bytes after the type digit; borrowed, see above */
    size_t len;
} eio_packet;

/* A WebSocket text frame "<digit><data>" -> packet; out->data points into buf (len 0 when
 * the frame is the digit alone). RC_EINVAL for empty input or an unknown type digit. The
 * WebSocket layer has already checked the frame is UTF-8, as RFC 6455 requires. Unlike the
 * reference parser this does not accept a 'b' + base64 text frame: clients only send that
 * over polling. */
int eio_decode_ws_text(const uint8_t *buf, size_t len, eio_packet *out);

/* A WebSocket binary frame is always a binary MESSAGE with no type byte. */
void eio_decode_ws_binary(const uint8_t *buf, size_t len, eio_packet *out);

/* Iterates over a long-polling payload (a POST body): records separated by 0x1e; a record
 * starting with 'b' is a base64 binary message. *pos starts at 0 and is otherwise opaque.
 * Returns 1 with *out set, 0 at the end, RC_EINVAL on a malformed record (an empty record,
 * so also an empty body or a trailing separator; an unknown type; bad base64; a text
 * record that is not UTF-8) and RC_ETOOBIG if scratch_len < len.
 * scratch is caller-owned, at least len bytes. Each binary record is decoded into its own
 * region of scratch (at the record's offset), so every packet returned by one iteration
 * stays valid together until buf or scratch is reused. Text records point into buf. */
int eio_payload_next(const uint8_t *buf, size_t len, size_t *pos, uint8_t *scratch,
                     size_t scratch_len, eio_packet *out);

/* Writes the open packet, NUL-terminated, into out:
 *   0{"sid":"..","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,
 *     "maxPayload":1000000}   (on one line)
 * with "upgrades":[] when upgrade_websocket is 0 (a session opened on the WebSocket).
 * Returns the length without the NUL, RC_ETOOBIG if out is too small, RC_EINVAL if sid
 * holds a character that would need JSON escaping (a sid is base64url-like). */
int eio_encode_open(char *out, size_t outlen, const char *sid, int upgrade_websocket,
                    long ping_interval_ms, long ping_timeout_ms, long max_payload);

/* Standard base64 with '=' padding, as the reference's Buffer.toString("base64").
 * eio_base64_len(n) is the encoded length of n bytes (no NUL); eio_base64_encode writes
 * exactly that many characters (no NUL) and returns the count. */
size_t eio_base64_len(size_t n);
size_t eio_base64_encode(const uint8_t *in, size_t n, char *out);
/* Decodes strict padded base64 (length a multiple of 4). Returns the byte count, or
 * RC_EINVAL for a bad character, bad padding or length, RC_ETOOBIG if outlen is short. */
int eio_base64_decode(const char *in, size_t n, uint8_t *out, size_t outlen);

#endif
