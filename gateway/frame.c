/* frame.c: shared, pre-framed outbound packets (see frame.h). */
#include "gateway/frame.h"

#include <event2/buffer.h>
#include <string.h>

#include "common/alloc.h"
#include "gateway/engineio.h"
#include "gateway/websocket.h"

static void gw__frame_release(const void *data, size_t len, void *arg);

gw_frame *gw_frame_new(char eio_digit, const char *text, size_t len, size_t nattach,
                       const uint8_t *const *attach, const size_t *attach_len)
{
    gw_frame *f = rc_calloc(1, sizeof *f);
    f->refcnt = 1;
    f->engine_type = eio_digit;
    size_t total = WS_MAX_HEADER + 1 + len;
    for (size_t i = 0; i < nattach; i++)
        total += WS_MAX_HEADER + attach_len[i];
    f->ws = rc_malloc(total);
    size_t n = ws_frame_header(f->ws, 1, WS_OP_TEXT, len + 1);
    f->ws[n++] = (uint8_t)eio_digit;
    memcpy(f->ws + n, text, len);
    n += len;
    for (size_t i = 0; i < nattach; i++) {
        n += ws_frame_header(f->ws + n, 1, WS_OP_BINARY, attach_len[i]);
        if (attach_len[i]) /* an empty bytes field decodes to NULL: memcpy(NULL, 0) is UB */
            memcpy(f->ws + n, attach[i], attach_len[i]);
        n += attach_len[i];
    }
    f->ws_len = n;
    f->text = rc_memdup(text, len);
    f->text_len = len;
    if (nattach) {
        f->nattach = nattach;
        f->attach = rc_calloc(nattach, sizeof *f->attach);
        f->attach_len = rc_calloc(nattach, sizeof *f->attach_len);
        for (size_t i = 0; i < nattach; i++) {
            f->attach[i] = rc_memdup(attach[i], attach_len[i]);
            f->attach_len[i] = attach_len[i];
        }
    }
    return f;
}

gw_frame *gw_frame_new_open(char eio_digit, const char *text, size_t len, size_t nattach,
                            const uint8_t *const *attach, const size_t *attach_len)
{
    gw_frame *f = gw_frame_new(eio_digit, text, len, nattach, attach, attach_len);
    /* re-lay ws without the text frame's header: [digit text][attachment frames] */
    uint8_t hdr[WS_MAX_HEADER];
    size_t hl = ws_frame_header(hdr, 1, WS_OP_TEXT, 1 + len);
    memmove(f->ws, f->ws + hl, f->ws_len - hl);
    f->ws_len -= hl;
    f->att_off = 1 + len;
    f->open = 1;
    /* the plain completion, in one piece */
    size_t plen = f->att_off + 2;
    f->plain_ws = rc_malloc(WS_MAX_HEADER + plen + (f->ws_len - f->att_off));
    size_t n = ws_frame_header(f->plain_ws, 1, WS_OP_TEXT, plen);
    memcpy(f->plain_ws + n, f->ws, f->att_off);
    n += f->att_off;
    memcpy(f->plain_ws + n, GW_FRAME_PLAIN_TAIL, 2);
    n += 2;
    memcpy(f->plain_ws + n, f->ws + f->att_off, f->ws_len - f->att_off);
    f->plain_ws_len = n + (f->ws_len - f->att_off);
    return f;
}

#define GW_FRAME_COPY_MAX 1024

void gw_frame_add_ws_tail(gw_frame *f, const char *tail, size_t tlen, struct evbuffer *out)
{
    if (tlen == 2 && !memcmp(tail, GW_FRAME_PLAIN_TAIL, 2)) {
        gw_frame_ref(f);
        evbuffer_add_reference(out, f->plain_ws, f->plain_ws_len, gw__frame_release, f);
        return;
    }
    uint8_t hdr[WS_MAX_HEADER + GW_FRAME_COPY_MAX];
    size_t hl = ws_frame_header(hdr, 1, WS_OP_TEXT, f->att_off + tlen);
    if (f->att_off + tlen <= GW_FRAME_COPY_MAX) {
        /* small: one copy into the output's own chain costs less than a borrowed chain
           (an allocation and a release callback per socket) */
        memcpy(hdr + hl, f->ws, f->att_off);
        memcpy(hdr + hl + f->att_off, tail, tlen);
        evbuffer_add(out, hdr, hl + f->att_off + tlen);
    } else {
        evbuffer_add(out, hdr, hl);
        gw_frame_ref(f);
        evbuffer_add_reference(out, f->ws, f->att_off, gw__frame_release, f);
        evbuffer_add(out, tail, tlen);
    }
    if (f->ws_len > f->att_off) {
        gw_frame_ref(f);
        evbuffer_add_reference(out, f->ws + f->att_off, f->ws_len - f->att_off, gw__frame_release,
                               f);
    }
}

gw_frame *gw_frame_close(gw_frame *f, const char *tail, size_t tlen)
{
    int plain = tlen == 2 && !memcmp(tail, GW_FRAME_PLAIN_TAIL, 2);
    if (plain && f->plain_closed)
        return gw_frame_ref(f->plain_closed);
    char *text = rc_malloc(f->text_len + tlen);
    memcpy(text, f->text, f->text_len);
    memcpy(text + f->text_len, tail, tlen);
    gw_frame *c = gw_frame_new((char)f->engine_type, text, f->text_len + tlen, f->nattach,
                               (const uint8_t *const *)f->attach, f->attach_len);
    rc_free(text);
    if (plain) /* kept for the next polling socket; released with f */
        f->plain_closed = gw_frame_ref(c);
    return c;
}

gw_frame *gw_frame_new_binary(const uint8_t *data, size_t len)
{
    gw_frame *f = rc_calloc(1, sizeof *f);
    f->refcnt = 1;
    f->engine_type = 'b';
    f->ws = rc_malloc(WS_MAX_HEADER + len);
    size_t n = ws_frame_header(f->ws, 1, WS_OP_BINARY, len);
    memcpy(f->ws + n, data, len);
    f->ws_len = n + len;
    f->poll_len = 1 + eio_base64_len(len);
    f->poll = rc_malloc(f->poll_len);
    f->poll[0] = 'b';
    eio_base64_encode(data, len, f->poll + 1);
    return f;
}

gw_frame *gw_frame_ref(gw_frame *f)
{
    f->refcnt++;
    return f;
}

void gw_frame_unref(gw_frame *f)
{
    if (!f || --f->refcnt > 0)
        return;
    for (size_t i = 0; i < f->nattach; i++)
        rc_free(f->attach[i]);
    rc_free(f->attach);
    rc_free(f->attach_len);
    rc_free(f->text);
    rc_free(f->ws);
    rc_free(f->poll);
    rc_free(f->plain_ws);
    gw_frame_unref(f->plain_closed);
    rc_free(f);
}

static void gw__frame_release(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    gw_frame_unref(arg);
}

void gw_frame_add_ws(gw_frame *f, struct evbuffer *out)
{
    gw_frame_ref(f);
    evbuffer_add_reference(out, f->ws, f->ws_len, gw__frame_release, f);
}

const char *gw_frame_poll(gw_frame *f, size_t *len)
{
    if (!f->poll) {
        size_t total = 1 + f->text_len;
        for (size_t i = 0; i < f->nattach; i++)
            total += 2 + eio_base64_len(f->attach_len[i]);
        f->poll = rc_malloc(total);
        size_t n = 0;
        f->poll[n++] = (char)f->engine_type;
        memcpy(f->poll + n, f->text, f->text_len);
        n += f->text_len;
        for (size_t i = 0; i < f->nattach; i++) {
            f->poll[n++] = EIO_RECORD_SEPARATOR;
            f->poll[n++] = 'b';
            n += eio_base64_encode(f->attach[i], f->attach_len[i], f->poll + n);
        }
        f->poll_len = n;
    }
    *len = f->poll_len;
    return f->poll;
}
