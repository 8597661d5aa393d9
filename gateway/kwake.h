/* kwake.h: a librdkafka queue that wakes the gateway's event loop. librdkafka writes to a
 * pipe when the queue goes from empty to not empty; the loop then calls fn, which must
 * take everything the queue holds (or call gw_kwake_again to be called once more), since
 * no further wake-up comes while the queue is not empty. Everything Kafka hands the
 * gateway (room events, replayed events, delivery reports) thus runs on the loop thread. */
#ifndef GW_KWAKE_H
#define GW_KWAKE_H

#include <librdkafka/rdkafka.h>

struct event_base;
typedef struct gw_kwake gw_kwake;

/* Borrows q, which must outlive the gw_kwake. */
gw_kwake *gw_kwake_new(struct event_base *base, rd_kafka_queue_t *q, void (*fn)(void *arg),
                       void *arg);
/* Runs fn again at the next turn of the loop (after sockets had theirs). */
void gw_kwake_again(gw_kwake *w);
void gw_kwake_free(gw_kwake *w);

#endif
