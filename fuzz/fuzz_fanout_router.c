/* libFuzzer: the fanout's router takes whatever bytes backend services put on the domain
 * topics. Any input routes or dead-letters, never crashes, and a routed event's copies
 * each name one of the event's rooms and carry the full list. */
#include <stdint.h>
#include <string.h>

#include "common/routes.h"
#include "fanout/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static rc_routes *routes;
    if (!routes) {
        char err[256];
        if (rc_routes_load(rc_routes_embedded, rc_routes_embedded_len, NULL, &routes, err,
                           sizeof err) != 0)
            __builtin_trap();
    }
    fanout_routed r;
    memset(&r, 0, sizeof r);
    int rc = fanout_router_route(routes, data, size, 1, &r);
    if (rc == 0) {
        if (r.nevents == 0 || r.reason)
            __builtin_trap();
        for (size_t i = 0; i < r.nevents; i++) {
            const Roomcast__V1__RoomEvent *e = &r.events[i];
            if (e->n_rooms != r.nevents || strcmp(e->room, e->rooms[i]) != 0)
                __builtin_trap();
        }
    } else if (!r.reason || r.nevents) {
        __builtin_trap();
    }
    fanout_router_clear(&r);
    return 0;
}
