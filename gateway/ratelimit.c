/* ratelimit.c: the per-socket token bucket (see ratelimit.h). */
#include "gateway/ratelimit.h"

void gw_bucket_init(gw_bucket *b, const gw_rate_config *cfg, uint32_t now_ms)
{
    b->tokens = (float)cfg->burst;
    b->last_ms = now_ms;
    b->window_ms = now_ms;
    b->refused = 0;
}

gw_rate_result gw_bucket_take(gw_bucket *b, const gw_rate_config *cfg, uint32_t now_ms)
{
    uint32_t dt = now_ms - b->last_ms; /* unsigned: right across a wrap of the origin */
    if (dt) {
        double t = b->tokens + (double)dt * cfg->rate / 1000.0;
        b->tokens = (float)(t > cfg->burst ? cfg->burst : t);
        b->last_ms = now_ms;
    }
    if (b->tokens >= 1.0f) {
        b->tokens -= 1.0f;
        return GW_RATE_OK;
    }
    if (now_ms - b->window_ms >= GW_RATE_WINDOW_MS) {
        b->window_ms = now_ms;
        b->refused = 0;
    }
    if (b->refused < UINT32_MAX)
        b->refused++;
    return cfg->abuse_refusals && b->refused >= cfg->abuse_refusals ? GW_RATE_ABUSE
                                                                     : GW_RATE_REFUSED;
}
