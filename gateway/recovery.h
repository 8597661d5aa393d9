/* recovery.h: the tokens of Socket.IO connection state recovery, carried by the client so
 * that any gateway can recover any session (no gateway keeps session state).
 *
 *   pid     sent once in the CONNECT reply: the session (sid, user, role), when it was
 *           issued, and the room topic's position vector then. Client sends it back as
 *           auth.pid.
 *   offset  the last argument of every room event: "<vector>.<stamp>".
 *           vector = the position of every partition of the room topic right after this
 *           event was delivered, and when; shared by every socket receiving the event.
 *           stamp = the socket's own part: its sid, when the stamp was issued, and its
 *           rooms beyond those its user and role give it (each request-* / chat-* room
 *           with the expiry of the grant that opened it, and "-room" for an automatic
 *           room it left); one per socket, re-signed when its rooms change and at least
 *           every GW_STAMP_REFRESH_MS while events reach it.
 *
 * Lifetimes (issue 12 item 4). A vector is shared, so it proves nothing about whose it
 * is: the window is counted from the stamp, which only its socket receives. Recovery
 * with an offset needs the stamp of the pid's sid, issued within the window, and a vector
 * from no later than the stamp's refresh period after it (a fresher vector taken from
 * someone else's event cannot extend an old stamp); without an offset (no event received
 * yet), the pid's own issue time must be within the window.
 *
 * Every token is base64url of a compact binary body and a 64-bit HMAC-SHA256 tag with
 * the cluster's recovery key (gateway/cluster.h), so a client can neither forge nor alter
 * one. Meaning of a vector: every event of partition p below position[p] that was aimed
 * at the socket had been written to it before this event; so a recovering socket is owed
 * exactly the events at or after the vector. */
#ifndef GW_RECOVERY_H
#define GW_RECOVERY_H

#include <stddef.h>
#include <stdint.h>

#define GW_RECOVERY_MAX_PARTITIONS 256
#define GW_RECOVERY_MAX_ROOMS 64 /* rooms a socket may be in: what a stamp carries */
#define GW_STAMP_MAX_ENTRIES (GW_RECOVERY_MAX_ROOMS + 4) /* its rooms, and automatic ones left */
#define GW_STAMP_REFRESH_MS_MAX 15000 /* a stamp is re-signed at least this often */

typedef struct {
    uint8_t key[32];
} gw_recovery_key;

typedef struct {
    int64_t at_ms;              /* when the vector was taken */
    uint32_t n;                 /* partitions */
    int64_t pos[GW_RECOVERY_MAX_PARTITIONS];
} gw_vector;

typedef struct {
    char sid[24];
    char user_id[128];
    int role; /* rc_role */
    int64_t iat_ms; /* when it was issued (Unix ms) */
    gw_vector v;
} gw_pid;

/* One room a stamp carries: "+name" joined (grant_exp: the Unix time its grant expires,
 * 0 when no grant opened it) or "-name" (an automatic room left; grant_exp 0). */
typedef struct {
    const char *name;
    int64_t grant_exp;
} gw_stamp_room;

typedef struct {
    char sid[24];
    int64_t iat_ms;
    size_t n;
    gw_stamp_room rooms[GW_STAMP_MAX_ENTRIES]; /* names point into the decoder's buf */
} gw_stamp;

#define GW_STAMP_MAX_LEN 16448 /* base64url of the largest stamp, with its NUL */

/* Derives the key from a secret of any length (HMAC-SHA256 with a fixed label). Tests and
 * fuzzing; the gateway takes its key from gateway/cluster.h. */
void gw_recovery_key_init(gw_recovery_key *k, const void *secret, size_t len);

/* Each encoder writes a NUL-terminated token into out and returns its length, or
 * RC_ETOOBIG. Each decoder returns 0, or RC_EINVAL for anything malformed, altered or
 * signed with another key. */
int gw_vector_encode(const gw_recovery_key *k, const gw_vector *v, char *out, size_t len);
int gw_vector_decode(const gw_recovery_key *k, const char *tok, size_t len, gw_vector *v);
int gw_pid_encode(const gw_recovery_key *k, const gw_pid *p, char *out, size_t len);
int gw_pid_decode(const gw_recovery_key *k, const char *tok, size_t len, gw_pid *p);
int gw_stamp_encode(const gw_recovery_key *k, const char *sid, int64_t iat_ms,
                    const gw_stamp_room *rooms, size_t n, char *out, size_t len);
/* Decodes into *st, the names copied NUL-terminated into buf. RC_EINVAL as above, or when
 * it holds more than GW_STAMP_MAX_ENTRIES rooms or buf is too small. */
int gw_stamp_decode(const gw_recovery_key *k, const char *tok, size_t len, gw_stamp *st,
                    char *buf, size_t buflen);

#endif
