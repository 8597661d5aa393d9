/* fuzz_kafka_wire: the trial broker front's Kafka answers rewritten from any bytes.
 *
 * Input: the first byte picks the answer (even: Metadata, odd: FindCoordinator) and its
 * version (0..3, 3 being one the front leaves alone); the rest is the frame, copied to a
 * buffer of exactly its size so that ASan sees any access past it. A rewrite must never
 * change the frame's length, never touch its size and correlation id, and leave a frame
 * it refused exactly as it was. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/kafka_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int metadata = (data[0] & 1) == 0;
    int16_t version = (int16_t)((data[0] >> 1) & 3);
    size_t n = size - 1;
    uint8_t *frame = malloc(n ? n : 1);
    memcpy(frame, data + 1, n);
    kw_request r;
    int32_t corr;
    (void)kw_frame_len(frame, n, 1 << 20);
    (void)kw_request_header(frame, n, &r);
    (void)kw_response_correlation(frame, n, &corr);
    int rc = metadata ? kw_rewrite_metadata(frame, n, version, 9092)
                      : kw_rewrite_find_coordinator(frame, n, version, 9092);
    if (rc != 0 && memcmp(frame, data + 1, n) != 0)
        abort();
    if (rc == 0 && memcmp(frame, data + 1, n < 8 ? n : 8) != 0)
        abort();
    if (rc == 0 && version == 3)
        abort();
    free(frame);
    return 0;
}
