/* settings.h: the gateway's settings (CONTRACT §2 and the gateway's own limits), read
 * and validated once in main() by gw_settings_load; afterwards treated as const. */
#ifndef GW_SETTINGS_H
#define GW_SETTINGS_H

#include "common/config.h"
#include "common/kafka_security.h"
#include "gateway/netaddr.h"

typedef struct {
    char *kafka_brokers;
    rc_ksec_settings kafka_security; /* ROOMCAST_KAFKA_SECURITY_PROTOCOL, SASL, TLS, ... */
    rc_addr listen;
    rc_addr admin_listen;
    char *jwt_secret;
    char *jwt_public_key_file;
    char *jwt_jwks_url; /* keys by kid from an identity provider (common/jwks_source.h) */
    char *jwt_jwks_ca_file;
    long jwt_jwks_refresh_seconds;
    long jwt_jwks_min_refresh_seconds;
    long jwt_jwks_timeout_ms;
    char *jwt_issuer;
    char *jwt_audience;
    char *authz_url;
    char *room_policy; /* "strict" or "open" */
    char *allowed_origins;
    char *tls_cert_file;
    char *tls_key_file;
    char *topic_prefix;
    long recovery_window;
    char *recovery_secret;
    long drain_seconds;
    char *log_level;
    char *gateway_id;
    char *advertise_addr;
    long ping_interval_ms;
    long ping_timeout_ms;
    long connect_timeout_ms;
    long handshake_timeout_ms;
    long close_timeout_ms;
    long max_sessions_per_conn;
    long max_sessions_per_addr;
    long relay_buffer_bytes;
    long max_relays;
    long session_max_age_s;
    long peer_announce_ms;
    char *trusted_proxies_spec;
    gw_net_list trusted_proxies; /* parsed from trusted_proxies_spec */
    long max_connections;
    long max_payload;
    long max_outbound_bytes;
    long slow_client_bytes;
    long slow_client_ms;
    long authz_timeout_ms;
    long authz_cache_seconds;
    /* issue 12: tokens, secrets and the bounds a client's requests push against */
    char *cluster_secret;
    int jwt_require_exp;
    long jwt_max_lifetime;
    long jwt_leeway;
    long authz_max_pending_per_socket;
    long authz_max_pending;
    long authz_cache_entries;
    long event_rate;
    long event_burst;
    long event_disconnect_after;
    long upstream_pending_per_socket;
    long upstream_pending_bytes_per_socket;
    long upstream_queue_messages;
    long upstream_queue_bytes;
    long max_rooms_per_socket;
    long dedup_window_seconds;
    long dedup_max_events;
    long replay_max_jobs;
} gw_settings;

/* 0 on success; RC_ENOENT after printing usage (--help); RC_EINVAL with errstr. */
int gw_settings_load(gw_settings *s, int argc, char **argv, char *errstr, size_t errlen);
void gw_settings_free(gw_settings *s);

#endif
