/* upstream.h: the gateway's producer, for client events (roomcast.client-events) and
 * client relays (chat:typing to roomcast.rooms). Idempotent, acks=all; delivery reports
 * come back on the gateway's event loop (a librdkafka queue wakes it through a pipe), so
 * an upstream event's ack is sent to its socket on the loop thread, after Kafka has it. */
#ifndef GW_UPSTREAM_H
#define GW_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "common/metrics.h"

struct event_base;
typedef struct gw_upstream gw_upstream;

/* error is NULL when Kafka has the message, else a short reason. */
typedef void (*gw_upstream_done_fn)(void *arg, const char *error);

/* The local queue's bounds (ROOMCAST_UPSTREAM_QUEUE_MESSAGES, ..._BYTES): what waits for
 * Kafka on this gateway, all sockets together. Each socket's share of it is the app's
 * business (gateway/app.c). */
typedef struct {
    long queue_messages;
    long queue_bytes;
} gw_upstream_limits;

gw_upstream *gw_upstream_new(struct event_base *base, const char *brokers, const char *client_id,
                             const gw_upstream_limits *lim, rc_metrics *metrics, char *errstr,
                             size_t errlen);
void gw_upstream_free(gw_upstream *u);
/* Produces bytes (taken over: freed by the producer) to topic with key. done (may be
 * NULL) runs once on the loop thread. Returns 0, or a negative code when the local queue
 * refused it (done then runs before the call returns, with the reason). */
int gw_upstream_send(gw_upstream *u, const char *topic, const char *key, uint8_t *bytes,
                     size_t len, gw_upstream_done_fn done, void *arg);

#endif
