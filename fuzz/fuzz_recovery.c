/* libFuzzer: recovery tokens and session ids come from clients; decoding any bytes must
 * neither crash nor accept what the key did not sign. */
#include <stdint.h>
#include <string.h>

#include "gateway/engine_int.h"
#include "gateway/recovery.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static gw_recovery_key k;
    static int init;
    if (!init) {
        gw_recovery_key_init(&k, "fuzz", 4);
        init = 1;
    }
    char tok[4096];
    size_t n = size < sizeof tok - 1 ? size : sizeof tok - 1;
    memcpy(tok, data, n);
    tok[n] = '\0';
    gw_vector v;
    gw_pid p;
    gw_stamp st;
    static char buf[GW_STAMP_MAX_ENTRIES * 210];
    if (gw_vector_decode(&k, tok, n, &v) == 0 && v.n > GW_RECOVERY_MAX_PARTITIONS)
        __builtin_trap();
    gw_pid_decode(&k, tok, n, &p);
    if (gw_stamp_decode(&k, tok, n, &st, buf, sizeof buf) == 0 && st.n > GW_STAMP_MAX_ENTRIES)
        __builtin_trap();
    uint8_t key[32] = {7};
    gw_engine e = {0};
    e.cfg.cluster_key = key;
    e.cfg.advertise = "127.0.0.1:3000";
    char owner[128];
    gw__sid_owner(&e, tok, owner, sizeof owner);
    /* and a round trip of what the input says, when it is a valid vector */
    if (size >= 2) {
        gw_vector w = {.at_ms = data[0], .n = data[1] % 16};
        for (uint32_t i = 0; i < w.n; i++)
            w.pos[i] = (int64_t)i * data[0];
        char t[1024];
        int m = gw_vector_encode(&k, &w, t, sizeof t);
        gw_vector r;
        if (m <= 0 || gw_vector_decode(&k, t, (size_t)m, &r) != 0 || r.n != w.n)
            __builtin_trap();
    }
    return 0;
}
