/* kstats.h: reads what the fanout needs from librdkafka's statistics JSON (emitted every
 * statistics.interval.ms): whether any broker connection is up, for /readyz, and each
 * partition's offsets, for the consumer-lag gauges. Pure: text in, callbacks out. */
#ifndef FANOUT_KSTATS_H
#define FANOUT_KSTATS_H

#include <stddef.h>
#include <stdint.h>

/* One fetched partition: offsets are -1 when librdkafka does not know them yet. */
typedef void (*fanout_kstats_partition_fn)(void *ctx, const char *topic, int32_t partition,
                                           int64_t ls_offset, int64_t hi_offset,
                                           int64_t committed_offset);

/* Returns how many brokers are in state "UP" (0 or more) after calling fn (which may be
 * NULL) for every real partition (not the internal -1); RC_EINVAL when json is not
 * librdkafka statistics. */
int fanout_kstats_parse(const char *json, size_t len, fanout_kstats_partition_fn fn, void *ctx);

#endif
