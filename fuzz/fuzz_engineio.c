/* fuzz_engineio: the Engine.IO codec on arbitrary bytes. The input is read as a polling
 * payload, as a WebSocket text frame and as base64; every packet must point inside the
 * input or the scratch buffer, and base64 must round-trip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The codec is compiled into this target, not taken from the gateway library, so that
 * libFuzzer sees its coverage: the library itself is built without instrumentation. */
#include "gateway/engineio.c"

static void fuzz__payload(const uint8_t *data, size_t size)
{
    uint8_t *scratch = malloc(size + 1);
    size_t pos = 0, count = 0;
    eio_packet p;
    int rc;

    while ((rc = eio_payload_next(data, size, &pos, scratch, size, &p)) == 1) {
        const uint8_t *lo = p.binary ? scratch : data;
        if (p.data < lo || p.data + p.len > lo + size || p.type > EIO_NOOP)
            abort();
        /* Every record costs at least one byte, so the loop must end. */
        if (++count > size)
            abort();
    }
    if (rc != 0 && rc != -22)
        abort();
    free(scratch);
}

static void fuzz__base64(const uint8_t *data, size_t size)
{
    uint8_t *dec = malloc(size + 1), *again = malloc(size + 1);
    char *enc = malloc(eio_base64_len(size) + 1);
    int n = eio_base64_decode((const char *)data, size, dec, size);

    if (n >= 0) {
        /* Decoding is lenient about unused trailing bits, so compare on the bytes. */
        size_t e = eio_base64_encode(dec, (size_t)n, enc);
        if (e != size || eio_base64_decode(enc, e, again, size) != n ||
            memcmp(dec, again, (size_t)n))
            abort();
    }
    size_t e = eio_base64_encode(data, size, enc);
    if (e != eio_base64_len(size) || eio_base64_decode(enc, e, again, size) != (int)size ||
        (size && memcmp(data, again, size)))
        abort();
    free(dec);
    free(again);
    free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    eio_packet p;

    fuzz__payload(data, size);
    if (eio_decode_ws_text(data, size, &p) == 0 && (p.data != data + 1 || p.len != size - 1))
        abort();
    if (size < 65536)
        fuzz__base64(data, size);
    return 0;
}
