/* socketio.h: the Socket.IO v5 packet codec (docs/socket.io-protocol/v5-current.md),
 * validating as socket.io-parser 4.2.6 does, so a packet the reference would refuse is
 * refused here too and the gateway closes the connection as the reference server does.
 *
 * Pure: no I/O, no globals. A decoded sio_packet owns its json_t data (released by
 * sio_packet_clear) and borrows its namespace from the input buffer. Encoders append to a
 * caller-owned sio_buf and serialise JSON exactly as JavaScript's JSON.stringify does
 * (compact, '/' and non-ASCII unescaped, shortest round-trip numbers), so what we send is
 * byte-identical to what a Node server would send for the same values. Two exceptions:
 * integers past 2^53 are written exactly (JavaScript would have rounded them) and object
 * keys keep their order (JavaScript moves integer-like keys such as "3" first).
 *
 * Where this is stricter than the reference (it only matters for hand-made clients):
 *  - the packet text is at most SIO_MAX_PACKET_LEN bytes (RC_ETOOBIG);
 *  - the attachment count and ack id are plain decimal digits; an ack id must fit in
 *    uint64 (the reference turns any digit run into a JavaScript Number, losing precision);
 *  - a namespace may not contain a NUL byte;
 *  - EVENT, ACK, CONNECT_ERROR and BINARY_* must carry data (the stock client always
 *    sends it), and the data may not start with whitespace;
 *  - JSON is parsed by jansson: nesting deeper than 2048 (its JSON_PARSER_MAX_DEPTH),
 *    "\u0000", lone surrogates and numbers past the double range are refused. Integers
 *    past int64 become JSON reals, as JSON.parse makes every number a double, so read
 *    numbers with json_number_value unless you need an integer;
 *  - in BINARY_* packets every placeholder must name an announced attachment and every
 *    attachment must be named (the reference checks only the first half). */
#ifndef RC_SOCKETIO_H
#define RC_SOCKETIO_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    SIO_CONNECT = 0,
    SIO_DISCONNECT,
    SIO_EVENT,
    SIO_ACK,
    SIO_CONNECT_ERROR,
    SIO_BINARY_EVENT,
    SIO_BINARY_ACK
} sio_type;

#define SIO_MAX_ATTACHMENTS 10
#define SIO_MAX_PACKET_LEN (1024 * 1024)

typedef struct {
    sio_type type;
    const char *nsp; /* "/" when omitted; points into the input or a literal, not NUL-terminated */
    size_t nsp_len;
    int has_id;
    uint64_t id;     /* ack id when has_id */
    int attachments; /* BINARY_*: number of binary frames that follow; 0 otherwise */
    json_t *data;    /* owned by the packet, NULL when absent; free with sio_packet_clear */
} sio_packet;

/* Decodes one Socket.IO packet from the payload of an Engine.IO text MESSAGE, which the
 * layers below have already checked to be UTF-8 (the namespace is not checked again):
 *   <type>[<attachments>-][<nsp>,][<ack id>][<json>]
 * Valid data: CONNECT an object or absent; DISCONNECT absent; EVENT and BINARY_EVENT a
 * non-empty array whose first element is a number or a string that is not a reserved
 * name; ACK and BINARY_ACK an array; CONNECT_ERROR a string or an object.
 * Returns 0 with *out filled (call sio_packet_clear afterwards), RC_EINVAL for anything
 * else, RC_ETOOBIG past SIO_MAX_PACKET_LEN. On error *out holds nothing to free. */
int sio_decode(const uint8_t *buf, size_t len, sio_packet *out);
/* Releases p->data and sets it to NULL; safe to call twice. */
void sio_packet_clear(sio_packet *p);

/* A growable byte buffer. Start from {0}; the owner frees data with rc_free (or
 * sio_buf_free). After any append data[len] is a NUL, so data reads as a C string. */
typedef struct {
    char *data;
    size_t len, cap;
} sio_buf;
void sio_buf_append(sio_buf *b, const void *p, size_t n);
void sio_buf_free(sio_buf *b);

/* Appends "<type>[<n>-][<nsp>,][<id>][json]": attachments only for BINARY_*, the
 * namespace omitted when NULL or "/", the id when has_id, data omitted when NULL or JSON
 * null (as the reference's `null != obj.data`). */
void sio_encode(sio_buf *out, sio_type type, const char *nsp, int has_id, uint64_t id,
                int attachments, const json_t *data);

/* Fast path for room events, encoded once for many sockets in namespace "/": appends
 *   2["<event>",<inner of args_json>]     (or 5<n>-[... when attachments > 0)
 * without re-serialising the args; "[]" gives 2["<event>"]. args_json must be an
 * already-validated JSON array text; only its first and last non-space characters are
 * checked ('[' and ']'), RC_EINVAL otherwise (nothing appended). Returns 0. */
int sio_encode_event_raw(sio_buf *out, const char *event, const char *args_json, size_t args_len,
                         int attachments);

/* Appends v serialised as JSON.stringify(v) would. */
void sio_json_append(sio_buf *out, const json_t *v);

/* Binary placeholders. jansson has no binary type, so an attachment stays in the data as
 * its placeholder object {"_placeholder":true,"num":N} and the binary frames travel beside
 * the packet in order; re-emitting the same data with the same frames is enough to echo.
 * sio_placeholder_num: N if v is a placeholder object whose num is a whole number, -1 if
 * it is one with a bad num, -2 if it is not a placeholder (no "_placeholder":true).
 * sio_placeholders_valid: 1 if every placeholder in data has 0 <= num < attachments and
 * each of the attachments (0..SIO_MAX_ATTACHMENTS) is named by at least one, else 0.
 * sio_decode already applies it to BINARY_* packets. */
int sio_placeholder_num(const json_t *v);
int sio_placeholders_valid(const json_t *data, int attachments);

/* 1 if name is reserved (connect, connect_error, disconnect, disconnecting, newListener,
 * removeListener) and may not be used as an event name, else 0. */
int sio_is_reserved_event(const char *name);

#endif
