/* websocket.h: the RFC 6455 codec, pure (no I/O, no globals). The gateway uses it as
 * a server; a load generator or conformance client can use it as a client.
 *
 * Promises:
 *  - ws_reader_feed turns a byte stream into whole messages and control frames, and
 *    fails a connection as early as the bytes allow (bad framing at the second header
 *    byte, bad UTF-8 at the first byte that cannot be part of a valid text message, an
 *    oversized message at its first header), telling the caller which close code to send.
 *  - A message that arrives as one complete, unfragmented frame is returned pointing
 *    into the caller's buffer (unmasked in place, no copy). Only fragmented messages and
 *    frames that arrive split across reads are copied into the reader's reassembly
 *    buffer, which never grows past max_message bytes.
 *
 * Ownership: the reader owns its reassembly buffer (released by ws_reader_free). The
 * caller owns the input buffer; the reader only unmasks bytes in it and never keeps a
 * pointer into it across calls. Encoders write into arrays the caller provides. */
#ifndef RC_GATEWAY_WEBSOCKET_H
#define RC_GATEWAY_WEBSOCKET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum {
    WS_OP_CONT = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xA,
};

/* Close codes this module produces or needs to name (RFC 6455 section 7.4.1). */
enum {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,
    WS_CLOSE_PROTOCOL_ERROR = 1002,
    WS_CLOSE_NO_STATUS = 1005, /* never sent: what a CLOSE without a code reports */
    WS_CLOSE_INVALID_DATA = 1007,
    WS_CLOSE_POLICY = 1008,
    WS_CLOSE_TOO_BIG = 1009,
    WS_CLOSE_INTERNAL = 1011,
};

/* The longest frame header: 2 bytes, 8 of extended length, 4 of mask. */
#define WS_MAX_HEADER 14
/* A control frame's payload limit, and so the largest close payload. */
#define WS_MAX_CONTROL 125

/* ---- handshake ------------------------------------------------------------------ */

/* Computes Sec-WebSocket-Accept for the client's Sec-WebSocket-Key (len bytes, not
 * NUL-terminated) into out as a NUL-terminated 28-character string. The key must be 24
 * characters of base64 that decode to 16 bytes (22 base64 characters then "=="); any
 * other key is RC_EINVAL and out is left untouched. */
int ws_accept_key(const char *client_key, size_t len, char out[29]);

/* ---- encoding ------------------------------------------------------------------- */

/* Writes an unmasked (server) frame header for a payload of payload_len bytes and
 * returns its length (2, 4 or 10). fin is 0 or 1; opcode is a WS_OP_* value. */
size_t ws_frame_header(uint8_t out[14], int fin, int opcode, uint64_t payload_len);

/* As ws_frame_header, for a client: sets the MASK bit and appends the 4-byte mask.
 * Returns 6, 8 or 14. The caller then masks the payload with ws_mask(..., 0). */
size_t ws_frame_header_masked(uint8_t out[14], int fin, int opcode, uint64_t len,
                              const uint8_t mask[4]);

/* XORs n bytes at p with the mask, in place. offset is the position of p[0] within the
 * frame's payload, so a payload can be masked or unmasked in pieces. */
void ws_mask(uint8_t *p, size_t n, const uint8_t mask[4], size_t offset);

/* Writes a CLOSE payload: the code in network order, then as much of reason (may be
 * NULL) as fits in 123 bytes, cut at a UTF-8 character boundary. Returns its length.
 * code 0 or 1005 means "no status" and gives an empty payload. */
size_t ws_close_payload(uint8_t out[125], uint16_t code, const char *reason);

/* ---- UTF-8 ---------------------------------------------------------------------- */

/* Incremental UTF-8 validation (Hoehrmann's DFA): rejects overlong forms, surrogates
 * and code points past U+10FFFF at the first byte that proves them. Start with
 * *state = WS_UTF8_ACCEPT and pass pieces in order. Returns 0 while the input is valid
 * so far and RC_EINVAL once it is not (the state then stays rejecting). */
#define WS_UTF8_ACCEPT 0u
int ws_utf8_check(uint32_t *state, const uint8_t *p, size_t n);
/* 1 when state sits at a character boundary, i.e. the text may end here. */
int ws_utf8_complete(uint32_t state);

/* ---- decoding ------------------------------------------------------------------- */

typedef enum {
    WS_EV_NONE,
    WS_EV_TEXT,
    WS_EV_BINARY,
    WS_EV_PING,
    WS_EV_PONG,
    WS_EV_CLOSE
} ws_event_kind;

typedef struct {
    ws_event_kind kind;
    const uint8_t *data; /* TEXT/BINARY: the message; PING/PONG: the payload;
                            CLOSE: the reason (UTF-8, not NUL-terminated) */
    size_t len;
    uint16_t close_code; /* CLOSE: the peer's code, 1005 if none given */
} ws_event;

/* Defined here so a connection can embed it; the fields are private. */
typedef struct ws_reader {
    size_t _max_message;
    /* The reassembly buffer: the message being assembled, or the one last delivered
       from it (_delivered), which is dropped at the start of the next call. */
    uint8_t *_buf;
    size_t _len, _cap;
    /* A data frame's header has been consumed and _left payload bytes are to come. */
    uint64_t _left;
    size_t _mask_off;
    uint32_t _utf8;
    uint8_t _mask[4];
    /* Flags, a byte each: a reader is embedded in every connection. */
    uint8_t _expect_masked;
    uint8_t _delivered;
    uint8_t _in_message; /* a data message has begun and its final frame has not been read */
    uint8_t _text;
    uint8_t _in_frame;
    uint8_t _fin;
    uint8_t _masked;
} ws_reader;

/* max_message bounds a whole data message (all its fragments); control frames are
 * bounded by the protocol at 125 bytes whatever it is.
 * expect_masked is 1 for a server (client frames must be masked), 0 for a client. */
void ws_reader_init(ws_reader *r, size_t max_message, int expect_masked);
/* Releases the reassembly buffer; the reader may be initialised again afterwards. */
void ws_reader_free(ws_reader *r);

/* Parses from buf and returns how many bytes it consumed; the caller drops them from
 * its input and keeps the rest for the next call. It may modify buf (masked payloads are
 * unmasked in place).
 *
 * At most one event per call: when a message or control frame is complete, *ev->kind is
 * not WS_EV_NONE and there may be more input left to parse, so call again. ev->data
 * points either into buf (a complete unfragmented frame: read it before dropping the
 * consumed bytes) or into the reader, and is valid until the next call.
 *
 * When *ev is WS_EV_NONE, everything parseable has been consumed: wait for more bytes.
 * Consumption is incremental for data frames: once a data frame's header is complete,
 * the header and whatever payload is present are consumed (payload copied into the
 * reassembly buffer and, for text, validated at once). An incomplete header, or a
 * control frame whose payload is incomplete (at most 131 bytes in all), is left
 * unconsumed. So the caller never has to hold more than 131 bytes of a frame.
 *
 * A protocol violation returns a negative RC code (RC_EINVAL, or RC_ETOOBIG for size)
 * and sets *close_code to the code to close with: 1002 (bad framing or close payload),
 * 1007 (invalid UTF-8 in a text message or close reason) or 1009 (message past
 * max_message). After that the reader only accepts ws_reader_free. */
ssize_t ws_reader_feed(ws_reader *r, uint8_t *buf, size_t len, ws_event *ev,
                       uint16_t *close_code);

#endif
