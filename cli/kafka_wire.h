/* kafka_wire.h: the few pieces of the Kafka wire protocol that the trial broker's front
 * (cmd_broker.c) reads and rewrites. Pure functions over a buffer: no I/O, no allocation.
 *
 * Why a front at all: librdkafka 2.0.2's mock cluster numbers its brokers from 1 but
 * answers Metadata v1+ with ControllerId 0, a broker that does not exist. Clients that
 * ask the controller for something (kafkajs's idempotent producer asks it for a producer
 * id; its admin client sends everything there) fail with "Broker 0 not found". The front
 * relays every byte unchanged except two answers: Metadata, whose ControllerId becomes a
 * real broker, and Metadata and FindCoordinator, whose broker ports become the front's
 * own, so that clients keep talking through it after the bootstrap.
 *
 * A frame is a 4-byte big-endian size followed by that many bytes. A request starts with
 * api_key, api_version (int16) and correlation_id (int32); a response with the
 * correlation_id. Only the non-flexible versions the mock serves (Metadata v0-v2,
 * FindCoordinator v0-v2) are rewritten; anything else passes as it is. */
#ifndef RC_KAFKA_WIRE_H
#define RC_KAFKA_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define KW_API_METADATA 3
#define KW_API_FIND_COORDINATOR 10
/* Most brokers a Metadata answer may list for the front to rewrite it. */
#define KW_MAX_BROKERS 64

/* The whole length (4 + size) of the frame that starts at buf, read from its first four
 * bytes: the caller waits until it holds that many. 0 when len < 4; RC_EINVAL for a size
 * below 4 (no header fits) or RC_ETOOBIG above max: the stream is then beyond repair. */
long kw_frame_len(const uint8_t *buf, size_t len, size_t max);

typedef struct {
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
} kw_request;

/* Reads a request frame's header; 0 or RC_EINVAL when the frame is too short. */
int kw_request_header(const uint8_t *frame, size_t len, kw_request *out);
/* A response frame's correlation id; RC_EINVAL (as the return) when it is too short. */
int kw_response_correlation(const uint8_t *frame, size_t len, int32_t *out);

/* Rewrites a whole Metadata response frame of the given version in place: every broker's
 * port becomes port; a ControllerId (v1+) that names none of the listed brokers becomes
 * the first one's. Returns 0, RC_ENOENT for a version it does not rewrite, RC_EINVAL when
 * the body does not parse (the frame is then left exactly as it was). */
int kw_rewrite_metadata(uint8_t *frame, size_t len, int16_t version, int32_t port);
/* The same for a FindCoordinator response: the coordinator's port becomes port. */
int kw_rewrite_find_coordinator(uint8_t *frame, size_t len, int16_t version, int32_t port);

#endif
