/* sid.h: Engine.IO session ids that name their owner gateway and when they were issued,
 * so that any gateway can tell where a session lives, refuse a forged id without asking
 * anyone, and refuse an id older than any session can be.
 *
 *   id = base64url( random[9] | issued[4] | owner | tag[8] )
 *
 * random: unguessable; issued: seconds since the epoch, big-endian; owner: the owner's
 * advertised host:port (at most GW_SID_OWNER_MAX bytes); tag: the first 8 bytes of
 * HMAC-SHA256 with the session-id key (gateway/cluster.h) over everything before it.
 * Pure: no I/O, no globals; the caller passes the key and the clock. */
#ifndef GW_SID_H
#define GW_SID_H

#include <stddef.h>
#include <stdint.h>

#define GW_SID_OWNER_MAX 64 /* ROOMCAST_ADVERTISE_ADDR's limit */
#define GW_SID_LEN 120      /* the longest id (114 characters) and its NUL */

typedef struct gw_sid_info_s {
    char owner[GW_SID_OWNER_MAX + 1];
    int64_t issued_s;
} gw_sid_info;

/* Writes a new id for owner, issued at now_s, into out (GW_SID_LEN bytes). */
void gw_sid_new(const uint8_t key[32], const char *owner, int64_t now_s, char out[GW_SID_LEN]);
/* Reads an id: 0 with info filled, or RC_EINVAL for anything not made with key (forged,
 * altered, truncated, of another format). */
int gw_sid_parse(const uint8_t key[32], const char *sid, size_t len, gw_sid_info *info);

#endif
