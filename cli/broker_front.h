/* broker_front.h: the trial broker's front door. `roomcast broker` runs librdkafka's mock
 * cluster and puts this relay before it: clients connect here, every request and answer
 * passes unchanged except the Metadata and FindCoordinator answers, which name the front
 * instead of the mock broker and a controller that exists (kafka_wire.h says why). With
 * it, Kafka clients that need the controller (kafkajs: its idempotent producer, hence
 * @roomcast/emitter) work against the trial broker as they do against Apache Kafka.
 *
 * Runs on the caller's libevent base, on loopback only. Bounds: a frame above
 * BF_FRAME_MAX closes that connection (Kafka's own socket.request.max.bytes default);
 * a side stops reading while its peer has more than BF_QUEUE_MAX bytes to write. */
#ifndef RC_BROKER_FRONT_H
#define RC_BROKER_FRONT_H

#include <stddef.h>

#define BF_FRAME_MAX (100u * 1024 * 1024)
#define BF_QUEUE_MAX (8u * 1024 * 1024)

struct event_base;
typedef struct bf_front bf_front;

/* Listens on 127.0.0.1:port (0: any free port) and relays to the broker at
 * 127.0.0.1:upstream_port. NULL with errstr filled when it cannot listen. */
bf_front *bf_front_new(struct event_base *base, int port, int upstream_port, char *errstr,
                       size_t errlen);
/* The port it listens on. */
int bf_front_port(const bf_front *f);
/* Stops listening and closes every relayed connection. */
void bf_front_free(bf_front *f);

#endif
