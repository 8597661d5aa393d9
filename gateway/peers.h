/* peers.h: the gateways of this cluster, as each gateway learns them from Kafka, so that
 * a relay goes only to an address a gateway of this cluster announced lately (never to
 * whatever now listens where a dead gateway used to: pod IPs are reused).
 *
 * Every gateway announces itself on the peers topic (roomcast.gateways) at start, every
 * interval, and "down" when it stops: its advertised address, its id, a random boot id,
 * signed with the cluster's peers key (gateway/cluster.h), so nothing without the
 * cluster secret can announce a peer. Every gateway reads the topic from a little before
 * its start (the last announcements of every partition), and knows a peer while the
 * peer's latest announcement says "up" and is at most 3 intervals older than the newest
 * announcement read: the broker's timestamps (the topic is created with
 * LogAppendTime) make that one clock, and while Kafka is unreachable nobody expires.
 *
 * Knowing a peer is not enough to trust what answers at its address: the relay itself is
 * signed both ways (forward.c). Everything runs on the loop thread. */
#ifndef GW_PEERS_H
#define GW_PEERS_H

#include <stddef.h>
#include <stdint.h>

#include "common/metrics.h"
#include "gateway/upstream.h"

struct event_base;
typedef struct gw_peers gw_peers;

typedef struct {
    const char *brokers;
    const char *topic;     /* the prefixed peers topic */
    const char *client_id;
    const char *advertise; /* this gateway's ROOMCAST_ADVERTISE_ADDR */
    const char *gateway_id;
    const uint8_t *key;    /* 32 bytes: GW_CLUSTER_PURPOSE_PEERS */
    long interval_ms;      /* ROOMCAST_PEER_ANNOUNCE_MS */
} gw_peers_config;

/* Announces through up (which must outlive the peers) and reads the topic. NULL with
 * errstr when the consumer cannot be made. */
gw_peers *gw_peers_new(struct event_base *base, const gw_peers_config *cfg, gw_upstream *up,
                       rc_metrics *metrics, char *errstr, size_t errlen);
/* Announces "down" (delivered when the producer is flushed) and stops reading. */
void gw_peers_free(gw_peers *p);
/* 1 when advertise (host:port) is a gateway of this cluster now. ctx is the gw_peers. */
int gw_peers_known(void *ctx, const char *advertise);
/* 1 once this gateway has read its own first announcement back (so it has read every
 * announcement made before); else 0 with the reason. */
int gw_peers_ready(const gw_peers *p, char *reason, size_t len);

#endif
