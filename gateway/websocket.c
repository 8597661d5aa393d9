/* websocket.c: RFC 6455 framing, the handshake key and the UTF-8 check.
 *
 * The reader is a small state machine over three facts: whether a data message is in
 * progress (_in_message, after a non-final frame or while a frame is streaming in),
 * whether a data frame's payload is still arriving (_in_frame, _left bytes to come), and
 * whether the reassembly buffer holds a message delivered by the previous call
 * (_delivered). Frames are checked as soon as their first two bytes are present, so a
 * bad frame is refused before its payload is read. */
#include "gateway/websocket.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "common/alloc.h"
#include "common/rc.h"

/* A reassembly buffer larger than this is released after its message is delivered, so an
 * idle connection costs little even after it once received a large message. */
#define WS__KEEP_BUFFER 4096

static const char ws__guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* ---- handshake ------------------------------------------------------------------ */

static int ws__is_b64(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

int ws_accept_key(const char *client_key, size_t len, char out[29])
{
    /* 16 bytes encode as 22 base64 characters and two '=' of padding. */
    if (client_key == NULL || len != 24 || client_key[22] != '=' || client_key[23] != '=')
        return RC_EINVAL;
    for (size_t i = 0; i < 22; i++)
        if (!ws__is_b64(client_key[i]))
            return RC_EINVAL;

    unsigned char joined[24 + sizeof ws__guid - 1];
    unsigned char digest[SHA_DIGEST_LENGTH];
    memcpy(joined, client_key, 24);
    memcpy(joined + 24, ws__guid, sizeof ws__guid - 1);
    SHA1(joined, sizeof joined, digest);
    EVP_EncodeBlock((unsigned char *)out, digest, SHA_DIGEST_LENGTH); /* 28 chars + NUL */
    return RC_OK;
}

/* ---- encoding ------------------------------------------------------------------- */

static size_t ws__put_header(uint8_t out[14], int fin, int opcode, uint64_t len, uint8_t mask_bit)
{
    out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0F));
    if (len < 126) {
        out[1] = (uint8_t)(mask_bit | len);
        return 2;
    }
    if (len <= 0xFFFF) {
        out[1] = (uint8_t)(mask_bit | 126);
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = (uint8_t)(mask_bit | 127);
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

size_t ws_frame_header(uint8_t out[14], int fin, int opcode, uint64_t payload_len)
{
    return ws__put_header(out, fin, opcode, payload_len, 0);
}

size_t ws_frame_header_masked(uint8_t out[14], int fin, int opcode, uint64_t len,
                              const uint8_t mask[4])
{
    size_t n = ws__put_header(out, fin, opcode, len, 0x80);
    memcpy(out + n, mask, 4);
    return n + 4;
}

void ws_mask(uint8_t *p, size_t n, const uint8_t mask[4], size_t offset)
{
    /* Rotate the mask so that word-sized steps from p line up with the payload. */
    uint8_t m[8];
    for (int i = 0; i < 8; i++)
        m[i] = mask[(offset + (size_t)i) & 3];
    uint64_t w;
    memcpy(&w, m, 8);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        v ^= w;
        memcpy(p + i, &v, 8);
    }
    for (; i < n; i++)
        p[i] ^= m[i & 7];
}

size_t ws_close_payload(uint8_t out[125], uint16_t code, const char *reason)
{
    if (code == 0 || code == WS_CLOSE_NO_STATUS)
        return 0;
    out[0] = (uint8_t)(code >> 8);
    out[1] = (uint8_t)code;
    size_t n = reason ? strlen(reason) : 0;
    if (n > WS_MAX_CONTROL - 2) {
        /* Cut before the character that straddles the limit, so the peer, which must
           fail a close reason that is not UTF-8, still accepts it. */
        n = WS_MAX_CONTROL - 2;
        while (n > 0 && ((unsigned char)reason[n] & 0xC0) == 0x80)
            n--;
    }
    if (n)
        memcpy(out + 2, reason, n);
    return 2 + n;
}

/* ---- UTF-8 ---------------------------------------------------------------------- */

/* States of the validator. Past a lead byte the state says how many continuation bytes
 * remain and, for the four lead bytes whose next byte has a narrower range (E0, ED, F0,
 * F4: overlongs, surrogates, past U+10FFFF), which range that is. */
enum {
    WS__U_ACCEPT = WS_UTF8_ACCEPT,
    WS__U_REJECT,
    WS__U_TAIL1,  /* one 80..BF to come */
    WS__U_TAIL2,  /* two */
    WS__U_TAIL3,  /* three */
    WS__U_E0,     /* A0..BF then one */
    WS__U_ED,     /* 80..9F then one */
    WS__U_F0,     /* 90..BF then two */
    WS__U_F4,     /* 80..8F then two */
};

static uint32_t ws__utf8_lead(uint8_t c)
{
    if (c < 0x80)
        return WS__U_ACCEPT;
    if (c < 0xC2)
        return WS__U_REJECT; /* a stray continuation, or an overlong 2-byte form */
    if (c < 0xE0)
        return WS__U_TAIL1;
    if (c == 0xE0)
        return WS__U_E0;
    if (c == 0xED)
        return WS__U_ED;
    if (c < 0xF0)
        return WS__U_TAIL2;
    if (c == 0xF0)
        return WS__U_F0;
    if (c < 0xF4)
        return WS__U_TAIL3;
    if (c == 0xF4)
        return WS__U_F4;
    return WS__U_REJECT;
}

static uint32_t ws__utf8_step(uint32_t s, uint8_t c)
{
    switch (s) {
    case WS__U_ACCEPT:
        return ws__utf8_lead(c);
    case WS__U_TAIL1:
        return (c & 0xC0) == 0x80 ? WS__U_ACCEPT : WS__U_REJECT;
    case WS__U_TAIL2:
        return (c & 0xC0) == 0x80 ? WS__U_TAIL1 : WS__U_REJECT;
    case WS__U_TAIL3:
        return (c & 0xC0) == 0x80 ? WS__U_TAIL2 : WS__U_REJECT;
    case WS__U_E0:
        return c >= 0xA0 && c <= 0xBF ? WS__U_TAIL1 : WS__U_REJECT;
    case WS__U_ED:
        return c >= 0x80 && c <= 0x9F ? WS__U_TAIL1 : WS__U_REJECT;
    case WS__U_F0:
        return c >= 0x90 && c <= 0xBF ? WS__U_TAIL2 : WS__U_REJECT;
    case WS__U_F4:
        return c >= 0x80 && c <= 0x8F ? WS__U_TAIL2 : WS__U_REJECT;
    default:
        return WS__U_REJECT;
    }
}

int ws_utf8_check(uint32_t *state, const uint8_t *p, size_t n)
{
    uint32_t s = *state;
    size_t i = 0;
    while (i < n) {
        if (s == WS__U_REJECT)
            break;
        /* Most text is ASCII: step over it a word at a time between characters. */
        if (s == WS__U_ACCEPT) {
            while (i + 8 <= n) {
                uint64_t w;
                memcpy(&w, p + i, 8);
                if (w & 0x8080808080808080ull)
                    break;
                i += 8;
            }
            if (i == n)
                break;
        }
        s = ws__utf8_step(s, p[i++]);
    }
    *state = s;
    return s == WS__U_REJECT ? RC_EINVAL : RC_OK;
}

int ws_utf8_complete(uint32_t state)
{
    return state == WS__U_ACCEPT;
}

/* ---- decoding ------------------------------------------------------------------- */

typedef struct {
    int fin;
    int opcode;
    int masked;
    uint8_t mask[4];
    uint64_t len;
    size_t hlen;
} ws__frame;

void ws_reader_init(ws_reader *r, size_t max_message, int expect_masked)
{
    memset(r, 0, sizeof *r);
    r->_max_message = max_message;
    r->_expect_masked = expect_masked ? 1 : 0;
}

void ws_reader_free(ws_reader *r)
{
    rc_free(r->_buf);
    r->_buf = NULL;
    r->_cap = r->_len = 0;
}

static int ws__fail(uint16_t *close_code, uint16_t code)
{
    *close_code = code;
    return code == WS_CLOSE_TOO_BIG ? RC_ETOOBIG : RC_EINVAL;
}

/* Checks what the first two bytes of a header decide, before any length is read. */
static int ws__check_start(const ws_reader *r, uint8_t b0, uint8_t b1, uint16_t *code)
{
    int opcode = b0 & 0x0F;
    int control = (opcode & 0x08) != 0;
    if (b0 & 0x70) /* RSV1-3: no extension is ever negotiated */
        return ws__fail(code, WS_CLOSE_PROTOCOL_ERROR);
    if (opcode != WS_OP_CONT && opcode != WS_OP_TEXT && opcode != WS_OP_BINARY &&
        opcode != WS_OP_CLOSE && opcode != WS_OP_PING && opcode != WS_OP_PONG)
        return ws__fail(code, WS_CLOSE_PROTOCOL_ERROR);
    if (((b1 & 0x80) != 0) != r->_expect_masked)
        return ws__fail(code, WS_CLOSE_PROTOCOL_ERROR);
    if (control && (!(b0 & 0x80) || (b1 & 0x7F) > WS_MAX_CONTROL))
        return ws__fail(code, WS_CLOSE_PROTOCOL_ERROR);
    if (opcode == WS_OP_CONT && !r->_in_message)
        return ws__fail(code, WS_CLOSE_PROTOCOL_ERROR);
    if ((opcode == WS_OP_TEXT || opcode == WS_OP_BINARY) && r->_in_message)
        return ws__fail(code, WS_CLOSE_PROTOCOL_ERROR);
    return RC_OK;
}

/* Parses a frame header at p. Returns its length once complete, 0 when more bytes are
 * needed, or a negative code with *code set. */
static int ws__parse_header(const ws_reader *r, const uint8_t *p, size_t n, ws__frame *f,
                            uint16_t *code)
{
    if (n < 2)
        return 0;
    int rc = ws__check_start(r, p[0], p[1], code);
    if (rc < 0)
        return rc;
    f->fin = (p[0] & 0x80) != 0;
    f->opcode = p[0] & 0x0F;
    f->masked = (p[1] & 0x80) != 0;
    size_t ext = (p[1] & 0x7F) == 126 ? 2 : (p[1] & 0x7F) == 127 ? 8 : 0;
    size_t hlen = 2 + ext + (f->masked ? 4 : 0);
    if (ext == 0) {
        f->len = p[1] & 0x7F;
    } else {
        /* The length is checked before the mask arrives, to refuse a huge frame early. */
        if (n < 2 + ext)
            return 0;
        f->len = 0;
        for (size_t i = 0; i < ext; i++)
            f->len = (f->len << 8) | p[2 + i];
        if (f->len >> 63)
            return ws__fail(code, WS_CLOSE_PROTOCOL_ERROR);
    }
    if (!(f->opcode & 0x08)) {
        uint64_t before = f->opcode == WS_OP_CONT ? r->_len : 0;
        if (f->len > r->_max_message || before > r->_max_message - f->len)
            return ws__fail(code, WS_CLOSE_TOO_BIG);
    }
    if (n < hlen)
        return 0;
    if (f->masked)
        memcpy(f->mask, p + 2 + ext, 4);
    f->hlen = hlen;
    return (int)hlen;
}

static int ws__close_code_ok(unsigned c)
{
    /* 1004-1006 and 1015 are reserved and never sent; 1012-1014 are registered with IANA;
       3000-4999 belong to libraries and applications. */
    return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}

/* Fills ev from a complete, unmasked control frame payload. */
static int ws__control(int opcode, const uint8_t *p, size_t n, ws_event *ev, uint16_t *code)
{
    ev->data = p;
    ev->len = n;
    if (opcode == WS_OP_PING) {
        ev->kind = WS_EV_PING;
        return RC_OK;
    }
    if (opcode == WS_OP_PONG) {
        ev->kind = WS_EV_PONG;
        return RC_OK;
    }
    ev->kind = WS_EV_CLOSE;
    ev->close_code = WS_CLOSE_NO_STATUS;
    if (n == 0)
        return RC_OK;
    if (n == 1)
        return ws__fail(code, WS_CLOSE_PROTOCOL_ERROR);
    unsigned c = (unsigned)p[0] << 8 | p[1];
    if (!ws__close_code_ok(c))
        return ws__fail(code, WS_CLOSE_PROTOCOL_ERROR);
    uint32_t u = WS_UTF8_ACCEPT;
    if (ws_utf8_check(&u, p + 2, n - 2) < 0 || !ws_utf8_complete(u))
        return ws__fail(code, WS_CLOSE_INVALID_DATA);
    ev->close_code = (uint16_t)c;
    ev->data = p + 2;
    ev->len = n - 2;
    return RC_OK;
}

static void ws__reserve(ws_reader *r, size_t need)
{
    if (need <= r->_cap)
        return;
    size_t cap = r->_cap ? r->_cap : 256;
    while (cap < need && cap <= r->_max_message / 2)
        cap *= 2;
    if (cap < need || cap > r->_max_message)
        cap = need > r->_max_message ? need : r->_max_message;
    r->_buf = rc_realloc(r->_buf, cap);
    r->_cap = cap;
}

static void ws__deliver(ws_reader *r, ws_event *ev)
{
    ev->kind = r->_text ? WS_EV_TEXT : WS_EV_BINARY;
    ev->data = r->_buf ? r->_buf : (const uint8_t *)"";
    ev->len = r->_len;
    r->_in_message = 0;
    r->_delivered = 1;
}

/* Copies up to the rest of the current frame's payload from p into the reassembly
 * buffer, unmasking and validating it there. Returns the bytes taken, or a negative
 * code. Sets ev when the frame ends a message. */
static ssize_t ws__stream(ws_reader *r, const uint8_t *p, size_t n, ws_event *ev,
                          uint16_t *code)
{
    size_t take = r->_left < n ? (size_t)r->_left : n;
    if (take) {
        ws__reserve(r, r->_len + take);
        uint8_t *dst = r->_buf + r->_len;
        memcpy(dst, p, take);
        if (r->_masked)
            ws_mask(dst, take, r->_mask, r->_mask_off);
        if (r->_text && ws_utf8_check(&r->_utf8, dst, take) < 0)
            return ws__fail(code, WS_CLOSE_INVALID_DATA);
        r->_mask_off += take;
        r->_len += take;
        r->_left -= take;
    }
    if (r->_left == 0) {
        r->_in_frame = 0;
        if (r->_fin) {
            if (r->_text && !ws_utf8_complete(r->_utf8))
                return ws__fail(code, WS_CLOSE_INVALID_DATA);
            ws__deliver(r, ev);
        }
    }
    return (ssize_t)take;
}

/* Handles a data frame whose header f is at p: either the whole unfragmented frame is
 * there and is returned in place, or the frame is opened for streaming. Returns the
 * bytes consumed. */
static ssize_t ws__data_frame(ws_reader *r, uint8_t *p, size_t n, const ws__frame *f,
                              ws_event *ev, uint16_t *code)
{
    if (!r->_in_message && f->fin && f->len <= n - f->hlen) {
        uint8_t *payload = p + f->hlen;
        size_t len = (size_t)f->len;
        if (f->masked)
            ws_mask(payload, len, f->mask, 0);
        if (f->opcode == WS_OP_TEXT) {
            uint32_t u = WS_UTF8_ACCEPT;
            if (ws_utf8_check(&u, payload, len) < 0 || !ws_utf8_complete(u))
                return ws__fail(code, WS_CLOSE_INVALID_DATA);
        }
        ev->kind = f->opcode == WS_OP_TEXT ? WS_EV_TEXT : WS_EV_BINARY;
        ev->data = payload;
        ev->len = len;
        return (ssize_t)(f->hlen + len);
    }
    if (f->opcode != WS_OP_CONT) {
        r->_in_message = 1;
        r->_text = f->opcode == WS_OP_TEXT;
        r->_utf8 = WS_UTF8_ACCEPT;
        r->_len = 0;
    }
    r->_in_frame = 1;
    r->_fin = f->fin;
    r->_masked = f->masked;
    memcpy(r->_mask, f->mask, 4);
    r->_left = f->len;
    r->_mask_off = 0;
    return (ssize_t)f->hlen;
}

ssize_t ws_reader_feed(ws_reader *r, uint8_t *buf, size_t len, ws_event *ev,
                       uint16_t *close_code)
{
    size_t used = 0;
    uint8_t none;
    memset(ev, 0, sizeof *ev);
    if (buf == NULL) { /* an empty evbuffer pulls up to NULL; NULL + 0 is not C */
        buf = &none;
        len = 0;
    }
    if (r->_delivered) {
        r->_delivered = 0;
        r->_len = 0;
        if (r->_cap > WS__KEEP_BUFFER) {
            ws_reader_free(r);
        }
    }
    for (;;) {
        ssize_t n;
        if (r->_in_frame) {
            n = ws__stream(r, buf + used, len - used, ev, close_code);
            if (n < 0)
                return n;
            used += (size_t)n;
            if (ev->kind != WS_EV_NONE || r->_in_frame)
                return (ssize_t)used;
            continue;
        }
        ws__frame f = {0};
        int hl = ws__parse_header(r, buf + used, len - used, &f, close_code);
        if (hl < 0)
            return hl;
        if (hl == 0)
            return (ssize_t)used;
        if (f.opcode & 0x08) {
            /* Control frames are at most 131 bytes: wait until one is whole. */
            if (f.len > len - used - f.hlen)
                return (ssize_t)used;
            uint8_t *payload = buf + used + f.hlen;
            if (f.masked)
                ws_mask(payload, (size_t)f.len, f.mask, 0);
            int rc = ws__control(f.opcode, payload, (size_t)f.len, ev, close_code);
            if (rc < 0)
                return rc;
            return (ssize_t)(used + f.hlen + f.len);
        }
        n = ws__data_frame(r, buf + used, len - used, &f, ev, close_code);
        if (n < 0)
            return n;
        used += (size_t)n;
        if (ev->kind != WS_EV_NONE)
            return (ssize_t)used;
    }
}
