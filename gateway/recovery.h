/* recovery.h: the tokens of Socket.IO connection state recovery, carried by the client so
 * that any gateway can recover any session (no gateway keeps session state).
 *
 *   pid     sent once in the CONNECT reply: the session (sid, user, role) and the room
 *           topic's position vector when it connected. Client sends it back as auth.pid.
 *   offset  the last argument of every room event: "<vector>" or "<vector>.<rooms>".
 *           vector = the position of every partition of the room topic right after this
 *           event was delivered, and when; shared by every socket receiving the event.
 *           rooms = the socket's rooms beyond those its user and role give it (the
 *           request-* and chat-* rooms it joined, "-room" for an automatic room it left);
 *           absent when there are none; one per socket, re-signed only when they change.
 *
 * Every token is base64url of a compact binary body and a 64-bit HMAC-SHA256 tag with
 * the cluster's recovery key, so a client can neither forge nor alter one. Meaning of a
 * vector: every event of partition p below position[p] that was aimed at the socket had
 * been written to it before this event; so a recovering socket is owed exactly the events
 * at or after the vector. */
#ifndef GW_RECOVERY_H
#define GW_RECOVERY_H

#include <stddef.h>
#include <stdint.h>

#define GW_RECOVERY_MAX_PARTITIONS 256
#define GW_RECOVERY_MAX_ROOMS 64

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
    gw_vector v;
} gw_pid;

/* Derives the key from a secret of any length (HMAC-SHA256 with a fixed label). */
void gw_recovery_key_init(gw_recovery_key *k, const void *secret, size_t len);

/* Each encoder writes a NUL-terminated token into out and returns its length, or
 * RC_ETOOBIG. Each decoder returns 0, or RC_EINVAL for anything malformed, altered or
 * signed with another key. */
int gw_vector_encode(const gw_recovery_key *k, const gw_vector *v, char *out, size_t len);
int gw_vector_decode(const gw_recovery_key *k, const char *tok, size_t len, gw_vector *v);
int gw_pid_encode(const gw_recovery_key *k, const gw_pid *p, char *out, size_t len);
int gw_pid_decode(const gw_recovery_key *k, const char *tok, size_t len, gw_pid *p);
/* rooms: n names, each prefixed '+' (joined) or '-' (an automatic room left). */
int gw_rooms_token_encode(const gw_recovery_key *k, const char *sid, const char *const *rooms,
                          size_t n, char *out, size_t len);
/* Decodes into names (each a NUL-terminated copy in buf, at most nmax); returns count or
 * RC_EINVAL. The token must have been made for sid. */
int gw_rooms_token_decode(const gw_recovery_key *k, const char *sid, const char *tok, size_t len,
                          char *buf, size_t buflen, const char **names, size_t nmax);

#endif
