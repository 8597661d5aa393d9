/* cluster.h: the cluster secret (ROOMCAST_CLUSTER_SECRET), the key every gateway of one
 * deployment shares to sign what a client carries from one gateway to another: connection
 * state recovery tokens, session ids that name their owner, relays between gateways.
 * Independent of the JWT key: knowing one gives nothing of the other, and rotating the
 * JWT key does not break sessions (nor the reverse).
 *
 * This is the one accessor for it: gw_cluster_key_load reads it from the settings once
 * (main), gw_cluster_key_derive gives each use a key of its own, so that a token made for
 * one purpose never verifies as another's. Callers keep the derived 32 bytes; nothing
 * here is global.
 *
 * Unset: refused at start under ROOMCAST_ROOM_POLICY=strict (the default); under `open`
 * (development) it is derived from ROOMCAST_JWT_SECRET with a warning, or left unset with
 * public-key tokens (then recovery and relays are off). ROOMCAST_RECOVERY_SECRET is its
 * deprecated former name, still read (with a warning) when the new one is unset. */
#ifndef GW_CLUSTER_H
#define GW_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/settings.h"

typedef struct {
    int set;          /* 0: no cluster secret (development with public-key tokens only) */
    uint8_t root[32]; /* never used as a key itself: only through gw_cluster_key_derive */
} gw_cluster_key;

/* Purposes in use (each a distinct label; a new use takes a new label). */
#define GW_CLUSTER_PURPOSE_RECOVERY "roomcast recovery v2"
/* v3: ids carry their issue time (sid.h); an id of the other layout never verifies */
#define GW_CLUSTER_PURPOSE_SESSION_IDS "roomcast session ids v3"
#define GW_CLUSTER_PURPOSE_RELAYS "roomcast relays v1" /* forward.c: both ways of a relay */
#define GW_CLUSTER_PURPOSE_PEERS "roomcast peers v1"   /* peers.c: gateway announcements */

/* Reads ROOMCAST_CLUSTER_SECRET (or its deprecated alias) from s and checks it: at least
 * 32 bytes, not a published sample value, not equal to ROOMCAST_JWT_SECRET (all three
 * only warned about under the open policy). Returns RC_OK with *out filled (out->set may
 * be 0 under the open policy), or RC_EINVAL with one line in errstr naming the setting. */
int gw_cluster_key_load(const gw_settings *s, gw_cluster_key *out, char *errstr, size_t errlen);

/* out = HMAC-SHA256(root, purpose): the key for one use. k->set must be 1. */
void gw_cluster_key_derive(const gw_cluster_key *k, const char *purpose, uint8_t out[32]);

#endif
