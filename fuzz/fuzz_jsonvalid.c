/* fuzz_jsonvalid.c: the allocation-free JSON recogniser (common/jsonvalid.h) against
 * jansson as the oracle, on any bytes: both must accept or refuse alike, except for
 * numbers jansson cannot hold (which the recogniser accepts on purpose). Both get the
 * bytes up to the first NUL, as the gateway gives them a C string (jansson reads a NUL as
 * the end of its input). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonvalid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    size = strnlen(buf, size);
    int mine = rc_json_valid(buf, size);
    int arr = rc_json_valid_array(buf, size);
    json_error_t e;
    json_t *v = json_loadb(buf, size, JSON_DECODE_ANY, &e);
    int theirs = v != NULL;
    json_decref(v);
    free(buf);
    if (arr && !mine)
        __builtin_trap();
    if (mine != theirs) {
        /* jansson refuses numbers out of its range: "too big integer", "real number overflow" */
        if (mine && !theirs && (strstr(e.text, "too big") || strstr(e.text, "overflow")))
            return 0;
        __builtin_trap();
    }
    return 0;
}
