/* fuzz_socketio: decode arbitrary text; for every packet accepted, encode it again and
 * decode that, which must give the same packet (numbers compared by value, as JavaScript
 * holds them). Events also go through the room fast path, which must agree. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
/* The codec is compiled into this target, not taken from the gateway library, so that
 * libFuzzer sees its coverage: the library itself is built without instrumentation. */
#include "gateway/socketio.c"

/* Equality as JSON.parse sees it: every number is a double, so 1 and 1.0 are the same. */
static int fuzz__js_equal(const json_t *a, const json_t *b)
{
    const char *key;
    json_t *va;
    size_t i;

    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    if (json_typeof(a) != json_typeof(b))
        return 0;
    switch (json_typeof(a)) {
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b))
            return 0;
        json_array_foreach(a, i, va)
        {
            if (!fuzz__js_equal(va, json_array_get(b, i)))
                return 0;
        }
        return 1;
    case JSON_OBJECT:
        if (json_object_size(a) != json_object_size(b))
            return 0;
        json_object_foreach((json_t *)a, key, va)
        {
            const json_t *vb = json_object_get(b, key);
            if (!vb || !fuzz__js_equal(va, vb))
                return 0;
        }
        return 1;
    default:
        return json_equal(a, b);
    }
}

static void fuzz__same(const sio_packet *a, const sio_packet *b)
{
    if (a->type != b->type || a->nsp_len != b->nsp_len || memcmp(a->nsp, b->nsp, a->nsp_len) ||
        a->has_id != b->has_id || a->id != b->id || a->attachments != b->attachments)
        abort();
    if ((a->data == NULL) != (b->data == NULL))
        abort();
    if (a->data && !fuzz__js_equal(a->data, b->data))
        abort();
}

/* An event without an ack id re-encoded through sio_encode_event_raw decodes the same. */
static void fuzz__event_raw(const sio_packet *p)
{
    sio_buf args = {0}, out = {0};
    sio_packet q;
    json_t *rest;

    if ((p->type != SIO_EVENT && p->type != SIO_BINARY_EVENT) || p->has_id ||
        p->nsp_len != 1 || !json_is_string(json_array_get(p->data, 0)) ||
        strlen(json_string_value(json_array_get(p->data, 0))) !=
            json_string_length(json_array_get(p->data, 0)))
        return;
    rest = json_copy(p->data);
    json_array_remove(rest, 0);
    sio_json_append(&args, rest);
    if (sio_encode_event_raw(&out, json_string_value(json_array_get(p->data, 0)), args.data,
                             args.len, p->attachments) != 0)
        abort();
    if (sio_decode((const uint8_t *)out.data, out.len, &q) != 0)
        abort();
    /* With nothing attached the fast path writes a plain EVENT, "2[". */
    if (p->type == SIO_BINARY_EVENT && p->attachments == 0 && q.type == SIO_EVENT)
        q.type = SIO_BINARY_EVENT;
    fuzz__same(p, &q);
    sio_packet_clear(&q);
    json_decref(rest);
    sio_buf_free(&args);
    sio_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sio_packet p, q;
    sio_buf out = {0};
    char *nsp;

    if (sio_decode(data, size, &p) != 0) {
        if (p.data != NULL)
            abort();
        return 0;
    }
    nsp = rc_strndup(p.nsp, p.nsp_len);
    sio_encode(&out, p.type, nsp, p.has_id, p.id, p.attachments, p.data);
    if (sio_decode((const uint8_t *)out.data, out.len, &q) != 0)
        abort();
    fuzz__same(&p, &q);
    fuzz__event_raw(&p);
    sio_packet_clear(&q);
    sio_packet_clear(&p);
    sio_buf_free(&out);
    rc_free(nsp);
    return 0;
}
