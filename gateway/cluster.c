/* cluster.c: the cluster secret (see cluster.h). */
#include "gateway/cluster.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/secret.h"

#define ROOT_LABEL "roomcast cluster root v2"

static void gw__cluster_root(gw_cluster_key *out, const char *secret)
{
    unsigned int n = sizeof out->root;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)ROOT_LABEL,
         strlen(ROOT_LABEL), out->root, &n);
    out->set = 1;
}

/* The configured value: the new name, else the deprecated one. */
static const char *gw__cluster_secret(const gw_settings *s, char *errstr, size_t errlen)
{
    if (s->cluster_secret && s->recovery_secret && strcmp(s->cluster_secret, s->recovery_secret)) {
        snprintf(errstr, errlen, "ROOMCAST_RECOVERY_SECRET: differs from ROOMCAST_CLUSTER_SECRET; "
                 "it is the deprecated name of the same key: set only ROOMCAST_CLUSTER_SECRET");
        return NULL;
    }
    if (s->cluster_secret)
        return s->cluster_secret;
    if (s->recovery_secret)
        rc_log_warn("ROOMCAST_RECOVERY_SECRET is deprecated: rename it ROOMCAST_CLUSTER_SECRET", NULL);
    return s->recovery_secret;
}

int gw_cluster_key_load(const gw_settings *s, gw_cluster_key *out, char *errstr, size_t errlen)
{
    int open = !strcmp(s->room_policy, "open");
    memset(out, 0, sizeof *out);
    *errstr = '\0';
    const char *secret = gw__cluster_secret(s, errstr, errlen);
    if (*errstr)
        return RC_EINVAL;
    if (!secret) {
        if (!open) {
            snprintf(errstr, errlen, "ROOMCAST_CLUSTER_SECRET: required, the same on every gateway "
                     "and unlike ROOMCAST_JWT_SECRET (32 or more random bytes, e.g. `openssl rand "
                     "-hex 32`); ROOMCAST_ROOM_POLICY=open derives one for development");
            return RC_EINVAL;
        }
        if (!s->jwt_secret) {
            rc_log_warn("no ROOMCAST_CLUSTER_SECRET: connection state recovery and relays between "
                        "gateways are off", NULL);
            return RC_OK;
        }
        rc_log_warn("no ROOMCAST_CLUSTER_SECRET: derived from ROOMCAST_JWT_SECRET under "
                    "ROOMCAST_ROOM_POLICY=open (development only)", NULL);
        gw__cluster_root(out, s->jwt_secret);
        return RC_OK;
    }
    const char *name = s->cluster_secret ? "ROOMCAST_CLUSTER_SECRET" : "ROOMCAST_RECOVERY_SECRET";
    if (rc_secret_check(name, secret, open, errstr, errlen) != RC_OK)
        return RC_EINVAL;
    if (s->jwt_secret && !strcmp(secret, s->jwt_secret)) {
        if (!open) {
            snprintf(errstr, errlen, "%s: refused, equal to ROOMCAST_JWT_SECRET (the cluster "
                     "secret must be a key of its own)", name);
            return RC_EINVAL;
        }
        rc_log_warn("the cluster secret equals ROOMCAST_JWT_SECRET (development only)", NULL);
    }
    gw__cluster_root(out, secret);
    return RC_OK;
}

void gw_cluster_key_derive(const gw_cluster_key *k, const char *purpose, uint8_t out[32])
{
    unsigned int n = 32;
    HMAC(EVP_sha256(), k->root, sizeof k->root, (const unsigned char *)purpose, strlen(purpose),
         out, &n);
}
