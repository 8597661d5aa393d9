/* recovery.c: signed, compact recovery tokens (see recovery.h). Bodies are varints. */
#include "gateway/recovery.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "common/b64url.h"
#include "common/hmac.h"
#include "common/rc.h"

#define TAG 8
#define V_VECTOR 0x01
#define V_PID 0x04   /* v2: with its issue time (0x02, without, is refused) */
#define V_STAMP 0x05 /* replaces the rooms token (0x03), which had no issue time */
#define MAX_BODY 12288

void gw_recovery_key_init(gw_recovery_key *k, const void *secret, size_t len)
{
    unsigned int n = sizeof k->key;
    HMAC(EVP_sha256(), secret, (int)len, (const unsigned char *)"roomcast recovery v1", 20, k->key,
         &n);
}

/* ---- bytes ------------------------------------------------------------------------------ */

typedef struct {
    uint8_t b[MAX_BODY];
    size_t n;
    int bad;
} gw__w;

static void w_byte(gw__w *w, uint8_t c)
{
    if (w->n < sizeof w->b)
        w->b[w->n++] = c;
    else
        w->bad = 1;
}

static void w_varint(gw__w *w, uint64_t v)
{
    while (v >= 0x80) {
        w_byte(w, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    w_byte(w, (uint8_t)v);
}

static void w_str(gw__w *w, const char *s)
{
    size_t l = strlen(s);
    w_varint(w, l);
    for (size_t i = 0; i < l; i++)
        w_byte(w, (uint8_t)s[i]);
}

typedef struct {
    const uint8_t *p, *end;
    int bad;
} gw__r;

static uint64_t r_varint(gw__r *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) {
            r->bad = 1;
            return 0;
        }
        uint8_t c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return v;
    }
    r->bad = 1;
    return 0;
}

/* Reads a string into out (cap bytes with the NUL); bad when it does not fit. */
static void r_str(gw__r *r, char *out, size_t cap)
{
    uint64_t l = r_varint(r);
    if (r->bad || l >= cap || (uint64_t)(r->end - r->p) < l) {
        r->bad = 1;
        return;
    }
    memcpy(out, r->p, l);
    out[l] = '\0';
    r->p += l;
}

/* ---- base64url + tag ------------------------------------------------------------------------ */

/* Signs body and writes base64url(body || tag). */
static int gw__seal(const gw_recovery_key *k, gw__w *w, char *out, size_t len)
{
    if (w->bad)
        return RC_ETOOBIG;
    unsigned char mac[32];
    rc_hmac_sha256(k->key, sizeof k->key, w->b, w->n, mac);
    for (int i = 0; i < TAG; i++)
        w_byte(w, mac[i]);
    size_t need = rc_b64url_len(w->n) + 1;
    if (w->bad || need > len)
        return RC_ETOOBIG;
    char *end = rc_b64url_encode(w->b, w->n, out);
    *end = '\0';
    return (int)(end - out);
}

/* Decodes and checks the tag; body is left in buf, its length returned (or -1). */
static int gw__open(const gw_recovery_key *k, const char *tok, size_t len, uint8_t *buf, size_t cap)
{
    if (len > cap * 4 / 3)
        return -1;
    long n = rc_b64url_decode(tok, len, buf);
    if (n <= TAG)
        return -1;
    unsigned char mac[32];
    rc_hmac_sha256(k->key, sizeof k->key, buf, (size_t)n - TAG, mac);
    if (CRYPTO_memcmp(mac, buf + n - TAG, TAG) != 0)
        return -1;
    return (int)(n - TAG);
}

/* ---- tokens ---------------------------------------------------------------------------------- */

static void w_vector(gw__w *w, const gw_vector *v)
{
    w_varint(w, (uint64_t)v->at_ms);
    w_varint(w, v->n);
    for (uint32_t i = 0; i < v->n; i++)
        w_varint(w, (uint64_t)(v->pos[i] < 0 ? 0 : v->pos[i]));
}

static void r_vector(gw__r *r, gw_vector *v)
{
    v->at_ms = (int64_t)r_varint(r);
    uint64_t n = r_varint(r);
    if (n > GW_RECOVERY_MAX_PARTITIONS) {
        r->bad = 1;
        return;
    }
    v->n = (uint32_t)n;
    for (uint32_t i = 0; i < v->n && !r->bad; i++)
        v->pos[i] = (int64_t)r_varint(r);
}

int gw_vector_encode(const gw_recovery_key *k, const gw_vector *v, char *out, size_t len)
{
    gw__w w; /* not = {0}: that would clear the whole body, kilobytes, for every token */
    w.n = 0;
    w.bad = 0;
    w_byte(&w, V_VECTOR);
    w_vector(&w, v);
    return gw__seal(k, &w, out, len);
}

int gw_vector_decode(const gw_recovery_key *k, const char *tok, size_t len, gw_vector *v)
{
    uint8_t buf[MAX_BODY + TAG];
    int n = gw__open(k, tok, len, buf, sizeof buf);
    if (n < 1 || buf[0] != V_VECTOR)
        return RC_EINVAL;
    gw__r r = {buf + 1, buf + n, 0};
    r_vector(&r, v);
    return r.bad || r.p != r.end ? RC_EINVAL : RC_OK;
}

int gw_pid_encode(const gw_recovery_key *k, const gw_pid *p, char *out, size_t len)
{
    gw__w w; /* not = {0}: that would clear the whole body, kilobytes, for every token */
    w.n = 0;
    w.bad = 0;
    w_byte(&w, V_PID);
    w_str(&w, p->sid);
    w_str(&w, p->user_id);
    w_varint(&w, (uint64_t)p->role);
    w_varint(&w, (uint64_t)(p->iat_ms < 0 ? 0 : p->iat_ms));
    w_vector(&w, &p->v);
    return gw__seal(k, &w, out, len);
}

int gw_pid_decode(const gw_recovery_key *k, const char *tok, size_t len, gw_pid *p)
{
    uint8_t buf[MAX_BODY + TAG];
    int n = gw__open(k, tok, len, buf, sizeof buf);
    if (n < 1 || buf[0] != V_PID)
        return RC_EINVAL;
    gw__r r = {buf + 1, buf + n, 0};
    r_str(&r, p->sid, sizeof p->sid);
    r_str(&r, p->user_id, sizeof p->user_id);
    p->role = (int)r_varint(&r);
    p->iat_ms = (int64_t)(r_varint(&r) & INT64_MAX);
    r_vector(&r, &p->v);
    return r.bad || r.p != r.end ? RC_EINVAL : RC_OK;
}

int gw_stamp_encode(const gw_recovery_key *k, const char *sid, int64_t iat_ms,
                    const gw_stamp_room *rooms, size_t n, char *out, size_t len)
{
    gw__w w; /* not = {0}: that would clear the whole body, kilobytes, for every token */
    w.n = 0;
    w.bad = 0;
    if (n > GW_STAMP_MAX_ENTRIES)
        return RC_ETOOBIG;
    w_byte(&w, V_STAMP);
    w_str(&w, sid);
    w_varint(&w, (uint64_t)(iat_ms < 0 ? 0 : iat_ms));
    w_varint(&w, n);
    for (size_t i = 0; i < n; i++) {
        w_str(&w, rooms[i].name);
        w_varint(&w, (uint64_t)(rooms[i].grant_exp < 0 ? 0 : rooms[i].grant_exp));
    }
    return gw__seal(k, &w, out, len);
}

int gw_stamp_decode(const gw_recovery_key *k, const char *tok, size_t len, gw_stamp *st,
                    char *buf, size_t buflen)
{
    uint8_t body[MAX_BODY + TAG];
    int n = gw__open(k, tok, len, body, sizeof body);
    if (n < 1 || body[0] != V_STAMP)
        return RC_EINVAL;
    gw__r r = {body + 1, body + n, 0};
    r_str(&r, st->sid, sizeof st->sid);
    st->iat_ms = (int64_t)(r_varint(&r) & INT64_MAX);
    uint64_t cnt = r_varint(&r);
    if (r.bad || cnt > GW_STAMP_MAX_ENTRIES)
        return RC_EINVAL;
    size_t used = 0;
    for (uint64_t i = 0; i < cnt && !r.bad; i++) {
        st->rooms[i].name = buf + used;
        r_str(&r, buf + used, buflen - used);
        if (!r.bad)
            used += strlen(buf + used) + 1;
        st->rooms[i].grant_exp = (int64_t)(r_varint(&r) & INT64_MAX);
    }
    st->n = (size_t)cnt;
    return r.bad || r.p != r.end ? RC_EINVAL : RC_OK;
}
