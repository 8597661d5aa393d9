/* ratelimit.h: the token bucket that bounds how many events one socket may send
 * (ROOMCAST_CLIENT_EVENT_RATE per second, bursts of ROOMCAST_CLIENT_EVENT_BURST), and the
 * count of what it refused, from which an abuser is told apart from a client that merely
 * went a little too fast (ROOMCAST_CLIENT_EVENT_DISCONNECT_AFTER refusals within
 * GW_RATE_WINDOW_MS).
 *
 * Pure: no clock (the caller passes now in milliseconds, from any fixed origin, never
 * going back), no allocation, a dozen bytes per socket. */
#ifndef GW_RATELIMIT_H
#define GW_RATELIMIT_H

#include <stdint.h>

#define GW_RATE_WINDOW_MS 10000

typedef struct {
    double rate;             /* tokens per second */
    double burst;            /* the bucket's size */
    uint32_t abuse_refusals; /* refusals within the window that make an abuser; 0: never */
} gw_rate_config;

typedef struct {
    float tokens;
    uint32_t last_ms;     /* when tokens was last brought up to date */
    uint32_t window_ms;   /* start of the current refusal window */
    uint32_t refused;     /* refusals in it */
} gw_bucket;

typedef enum { GW_RATE_OK = 0, GW_RATE_REFUSED = 1, GW_RATE_ABUSE = 2 } gw_rate_result;

/* A full bucket at now_ms. */
void gw_bucket_init(gw_bucket *b, const gw_rate_config *cfg, uint32_t now_ms);
/* Takes one token: GW_RATE_OK, else GW_RATE_REFUSED, or GW_RATE_ABUSE from the refusal
 * that reaches cfg->abuse_refusals within one window (and for every one after it). */
gw_rate_result gw_bucket_take(gw_bucket *b, const gw_rate_config *cfg, uint32_t now_ms);

#endif
