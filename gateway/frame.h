/* frame.h: encode once, send many. A gw_frame is one outbound Socket.IO packet (its text
 * and any binary attachments) already framed for both transports:
 *   - ws:   the WebSocket frames (a text frame "4<packet>" then one binary frame per
 *           attachment), concatenated, ready to be written as they are;
 *   - poll: the long-polling records ("4<packet>", then "b<base64>" per attachment)
 *           joined by 0x1e, built on first use only, since most sockets are WebSockets.
 * A frame is reference counted: every socket's output buffer borrows the same bytes
 * (evbuffer_add_reference) and the frame is freed when the last write completes.
 * Frames are created and released on the event loop thread only. */
#ifndef GW_FRAME_H
#define GW_FRAME_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

typedef struct gw_frame {
    int refcnt;
    int engine_type; /* the Engine.IO packet type of the first record ('4' message, '2' ping...) */
    int open;        /* gw_frame_new_open: ws holds the text frame's payload without header,
                        then att_ws the attachments' frames */
    size_t att_off;  /* open frames: where the attachment frames start in ws */
    /* Open frames: the whole frame completed with the plain tail `"]`, which most sockets
       use; built with the frame so those sockets borrow it in one piece, and its closed
       form for long-polling, built on first use. */
    uint8_t *plain_ws;
    size_t plain_ws_len;
    struct gw_frame *plain_closed;
    uint8_t *ws;
    size_t ws_len;
    char *poll; /* NULL until gw_frame_poll asks for it */
    size_t poll_len;
    /* The packet text and attachments as given, kept to build the polling form lazily. */
    char *text;
    size_t text_len;
    size_t nattach;
    uint8_t **attach;
    size_t *attach_len;
} gw_frame;

/* A frame for an Engine.IO packet of type eio_digit ('4' for a Socket.IO packet) whose
 * data is text[0..len), followed by nattach binary attachments. Copies everything; the
 * caller owns one reference. */
gw_frame *gw_frame_new(char eio_digit, const char *text, size_t len, size_t nattach,
                       const uint8_t *const *attach, const size_t *attach_len);
/* An open frame: a packet whose text each socket completes with a tail of its own (the
 * recovery offset's per-socket part and the closing characters). The shared part is the
 * Engine.IO digit and text; each socket's WebSocket header is written at send time,
 * since the length differs. gw_frame_add_ws_tail writes it; gw_frame_close makes a
 * closed frame of it for one socket (long-polling, queues). */
gw_frame *gw_frame_new_open(char eio_digit, const char *text, size_t len, size_t nattach,
                            const uint8_t *const *attach, const size_t *attach_len);
/* The tail of a socket with nothing of its own to add. */
#define GW_FRAME_PLAIN_TAIL "\"]"
void gw_frame_add_ws_tail(gw_frame *f, const char *tail, size_t tlen, struct evbuffer *out);
gw_frame *gw_frame_close(gw_frame *f, const char *tail, size_t tlen);

/* A lone binary Engine.IO MESSAGE (a raw binary frame; "b<base64>" over polling). */
gw_frame *gw_frame_new_binary(const uint8_t *data, size_t len);
gw_frame *gw_frame_ref(gw_frame *f);
void gw_frame_unref(gw_frame *f);

/* Appends the WebSocket bytes to out without copying; the frame stays alive until out
 * has written them. */
void gw_frame_add_ws(gw_frame *f, struct evbuffer *out);
/* The polling records (built once), for a GET response. */
const char *gw_frame_poll(gw_frame *f, size_t *len);

/* Bytes a socket's output holds because of this frame, for the slow-client bound. */
static inline size_t gw_frame_ws_size(const gw_frame *f)
{
    return f->ws_len;
}

#endif
