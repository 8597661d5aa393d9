/* fuzz_routes: the shipped routing table applied to fuzzer-chosen (type, payload) pairs.
 *
 * Input: the first byte picks a route of the table, so that every route's rooms and
 * payload get deep coverage; a byte past the last route means the type is the text up to
 * the first newline instead. The rest is the payload, copied to a buffer of exactly its
 * size so that ASan sees any read past len.
 *
 * On success it checks what routes.h promises: one to 1000 distinct rooms, each 1 to 200
 * bytes with no control character, "*" only alone; args_json a JSON array of one value
 * equal (as JSON) to what the payload held, which catches the byte scanner cutting a value
 * wrong. On failure: a known code, a printable reason, nothing left in the result. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/routes.h"

extern const char rc_routes_embedded[];
extern const size_t rc_routes_embedded_len;

static rc_routes *fuzz_table;

static void fuzz_check_rooms(const rc_routed *x)
{
    if (x->nrooms == 0 || x->nrooms > 1000)
        abort();
    for (size_t i = 0; i < x->nrooms; i++) {
        size_t n = strlen(x->rooms[i]);
        if (n == 0 || n > RC_ROUTES_ROOM_MAX)
            abort();
        for (size_t k = 0; k < n; k++)
            if ((unsigned char)x->rooms[i][k] < 0x20 || x->rooms[i][k] == 0x7f)
                abort();
        if (strcmp(x->rooms[i], "*") == 0 && x->nrooms != 1)
            abort();
        for (size_t j = 0; j < i; j++)
            if (strcmp(x->rooms[i], x->rooms[j]) == 0)
                abort();
    }
}

/* The delivered value is either one member of the payload, or an object whose every
 * member equals the payload's member of that name. */
static void fuzz_check_args(const rc_routed *x, const char *payload, size_t len)
{
    json_t *args = json_loads(x->args_json, JSON_ALLOW_NUL, NULL);
    json_t *root = json_loadb(payload, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!args || !root || !json_is_array(args) || json_array_size(args) != 1)
        abort();
    json_t *v = json_array_get(args, 0), *m;
    const char *k;
    int found = 0;
    json_object_foreach (root, k, m) {
        found |= json_equal(m, v);
    }
    if (!found) {
        if (!json_is_object(v) || json_object_size(v) == 0)
            abort();
        json_object_foreach (v, k, m) {
            json_t *in = json_object_get(root, k);
            if (!in || !json_equal(in, m))
                abort();
        }
    }
    json_decref(args);
    json_decref(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[RC_ERRSTR_LEN], type[160], why[256];

    if (!fuzz_table &&
        rc_routes_load(rc_routes_embedded, rc_routes_embedded_len, "embedded", &fuzz_table, err,
                       sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        abort();
    }
    if (size == 0)
        return 0;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    if (data[0] < rc_routes_count(fuzz_table)) {
        snprintf(type, sizeof type, "%s", rc_routes_type_at(fuzz_table, data[0]));
    } else {
        const char *nl = memchr(p, '\n', n);
        size_t tl = nl ? (size_t)(nl - p) : 0;
        snprintf(type, sizeof type, "%.*s", (int)(tl < sizeof type ? tl : sizeof type - 1), p);
        if (nl) {
            n -= tl + 1;
            p = nl + 1;
        }
    }
    char *payload = malloc(n ? n : 1);
    memcpy(payload, p, n);

    rc_routed x;
    int rc = rc_routes_apply(fuzz_table, type, payload, n, &x, why, sizeof why);
    if (rc == RC_ROUTE_OK) {
        if (!x.event || !x.args_json || why[0])
            abort();
        fuzz_check_rooms(&x);
        fuzz_check_args(&x, payload, n);
    } else {
        if (strcmp(rc_route_result_name(rc), "unknown") == 0 || !why[0] || x.rooms || x.args_json)
            abort();
        for (const char *c = why; *c; c++)
            if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
                abort();
    }
    rc_routed_clear(&x);
    free(payload);

    char desc[64];
    rc_routes_describe(fuzz_table, type, desc, sizeof desc);
    return 0;
}
