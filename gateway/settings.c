/* settings.c: the gateway's settings table (see settings.h). */
#include "gateway/settings.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/jwks_source.h"
#include "common/kafka.h"

static rc_cfg_item *gw__items(gw_settings *s, size_t *n)
{
    static rc_cfg_item items[96];
    rc_cfg_item t[] = {
        {"ROOMCAST_KAFKA_BROKERS", RC_CFG_HOSTPORTS, "localhost:9092", &s->kafka_brokers, 0, 0, NULL,
         "Kafka bootstrap servers"},
        {"ROOMCAST_LISTEN", RC_CFG_ADDR, "0.0.0.0:3000", &s->listen, 0, 0, NULL,
         "client listener (HTTP + WebSocket, path /socket.io/)"},
        {"ROOMCAST_ADMIN_LISTEN", RC_CFG_ADDR, "127.0.0.1:9100", &s->admin_listen, 0, 0, NULL,
         "/metrics, /healthz, /readyz (loopback unless set: containers set 0.0.0.0:9100)"},
        {"ROOMCAST_JWT_SECRET", RC_CFG_STRING, NULL, &s->jwt_secret, 0, 0, NULL, "HS256 key"},
        {"ROOMCAST_JWT_PUBLIC_KEY_FILE", RC_CFG_FILE, NULL, &s->jwt_public_key_file, 0, 0, NULL,
         "PEM key for RS256 / ES256"},
        {"ROOMCAST_JWT_JWKS_URL", RC_CFG_STRING, NULL, &s->jwt_jwks_url, 0, 0, NULL,
         "https:// URL of the identity provider's JWK Set: RS256/ES256 keys picked by the "
         "token's kid"},
        {"ROOMCAST_JWT_JWKS_CA_FILE", RC_CFG_FILE, NULL, &s->jwt_jwks_ca_file, 0, 0, NULL,
         "PEM CAs that sign the JWKS server's certificate (default: the system's)"},
        {"ROOMCAST_JWT_JWKS_REFRESH_SECONDS", RC_CFG_INT, "300", &s->jwt_jwks_refresh_seconds, 1,
         86400, NULL, "how often the JWK Set is fetched again"},
        {"ROOMCAST_JWT_JWKS_MIN_REFRESH_SECONDS", RC_CFG_INT, "30",
         &s->jwt_jwks_min_refresh_seconds, 1, 3600, NULL,
         "least time between two fetches: bounds the fetches that unknown kids and failures ask for"},
        {"ROOMCAST_JWT_JWKS_TIMEOUT_MS", RC_CFG_INT, "5000", &s->jwt_jwks_timeout_ms, 100, 60000,
         NULL, "one JWK Set fetch, connect to last byte"},
        {"ROOMCAST_JWT_ISSUER", RC_CFG_STRING, NULL, &s->jwt_issuer, 0, 0, NULL, "checked when set"},
        {"ROOMCAST_JWT_AUDIENCE", RC_CFG_STRING, NULL, &s->jwt_audience, 0, 0, NULL,
         "checked when set"},
        {"ROOMCAST_AUTHZ_URL", RC_CFG_STRING, NULL, &s->authz_url, 0, 0, NULL,
         "room-join authorization endpoint"},
        {"ROOMCAST_ROOM_POLICY", RC_CFG_ENUM, "strict", &s->room_policy, 0, 0, "strict,open",
         "open lets any authenticated socket join entity rooms (development only)"},
        {"ROOMCAST_ALLOWED_ORIGINS", RC_CFG_STRING, NULL, &s->allowed_origins, 0, 0, NULL,
         "comma list of sites (scheme://host[:port]) allowed by the Origin header, answered with "
         "CORS headers and credentials; * for any site with CORS headers without credentials; "
         "unset: any site over WebSocket, no CORS headers for long-polling"},
        {"ROOMCAST_TLS_CERT_FILE", RC_CFG_FILE, NULL, &s->tls_cert_file, 0, 0, NULL,
         "serve wss:// and https://"},
        {"ROOMCAST_TLS_KEY_FILE", RC_CFG_FILE, NULL, &s->tls_key_file, 0, 0, NULL,
         "the certificate's key"},
        {"ROOMCAST_TOPIC_PREFIX", RC_CFG_STRING, "", &s->topic_prefix, 0, 0, NULL,
         "prepended to every topic name"},
        {"ROOMCAST_RECOVERY_WINDOW", RC_CFG_INT, "120", &s->recovery_window, 0, 86400, NULL,
         "seconds within which a reconnecting client gets what it missed (0: recovery off)"},
        {"ROOMCAST_CLUSTER_SECRET", RC_CFG_STRING, NULL, &s->cluster_secret, 0, 0, NULL,
         "the gateways' shared key for recovery tokens, session ids and relays: 32+ random "
         "bytes, the same on every gateway, unlike ROOMCAST_JWT_SECRET (required unless "
         "ROOMCAST_ROOM_POLICY=open)"},
        {"ROOMCAST_RECOVERY_SECRET", RC_CFG_STRING, NULL, &s->recovery_secret, 0, 0, NULL,
         "deprecated name of ROOMCAST_CLUSTER_SECRET"},
        {"ROOMCAST_DRAIN_SECONDS", RC_CFG_INT, "20", &s->drain_seconds, 0, 3600, NULL,
         "how long SIGTERM takes to move sockets elsewhere"},
        {"ROOMCAST_LOG_LEVEL", RC_CFG_ENUM, "info", &s->log_level, 0, 0, "debug,info,warn,error",
         "lowest level logged"},
        {"ROOMCAST_GATEWAY_ID", RC_CFG_STRING, NULL, &s->gateway_id, 0, 0, NULL,
         "this gateway's name in logs and client events (default: host name and port)"},
        {"ROOMCAST_ADVERTISE_ADDR", RC_CFG_STRING, NULL, &s->advertise_addr, 0, 0, NULL,
         "host:port at which other gateways reach this one's client listener, for long-polling "
         "sessions behind a balancer with no stickiness; a bare host or IPv4/IPv6 address gets "
         "the listen port (and IPv6 its brackets) (default: host name and listen port; in "
         "Kubernetes the pod IP)"},
        {"ROOMCAST_PING_INTERVAL_MS", RC_CFG_INT, "25000", &s->ping_interval_ms, 100, 600000, NULL,
         "Engine.IO pingInterval"},
        {"ROOMCAST_PING_TIMEOUT_MS", RC_CFG_INT, "20000", &s->ping_timeout_ms, 100, 600000, NULL,
         "Engine.IO pingTimeout"},
        {"ROOMCAST_CONNECT_TIMEOUT_MS", RC_CFG_INT, "45000", &s->connect_timeout_ms, 100, 600000,
         NULL, "a session must connect a namespace within this"},
        {"ROOMCAST_HANDSHAKE_TIMEOUT_MS", RC_CFG_INT, "10000", &s->handshake_timeout_ms, 100,
         600000, NULL, "a connection must send each request (head and body) within this, "
         "from its start or from the previous answer; bytes trickling in do not extend it"},
        {"ROOMCAST_CLOSE_TIMEOUT_MS", RC_CFG_INT, "5000", &s->close_timeout_ms, 100, 600000,
         NULL, "a closing connection's time to take its last bytes (and, over HTTP, to close its "
               "side while what it still sends is dropped); then it is dropped"},
        {"ROOMCAST_MAX_SESSIONS_PER_CONNECTION", RC_CFG_INT, "4", &s->max_sessions_per_conn, 1,
         1000000, NULL, "live sessions opened over one TCP connection (not applied to "
         "ROOMCAST_TRUSTED_PROXIES); past it: 429"},
        {"ROOMCAST_MAX_SESSIONS_PER_ADDRESS", RC_CFG_INT, "256", &s->max_sessions_per_addr, 0,
         10000000, NULL, "live sessions of one client address; past it: 429 (0: no bound)"},
        {"ROOMCAST_RELAY_BUFFER_BYTES", RC_CFG_INT, "262144", &s->relay_buffer_bytes, 16384,
         67108864, NULL, "bytes a relay to another gateway holds each way; past it the "
         "sending side is not read until the other takes them"},
        {"ROOMCAST_MAX_RELAYS", RC_CFG_INT, "10000", &s->max_relays, 1, 10000000, NULL,
         "relays to other gateways at once; more are answered \"Session ID unknown\""},
        {"ROOMCAST_SESSION_MAX_AGE_SECONDS", RC_CFG_INT, "86400", &s->session_max_age_s, 1,
         31536000, NULL, "a session id's life: older ids are not relayed, and a long-polling "
         "session is closed at this age (the client reconnects and recovers)"},
        {"ROOMCAST_PEER_ANNOUNCE_MS", RC_CFG_INT, "5000", &s->peer_announce_ms, 100, 600000, NULL,
         "how often a gateway announces itself on roomcast.gateways; a peer silent for 3 of "
         "these is no longer relayed to"},
        {"ROOMCAST_TRUSTED_PROXIES", RC_CFG_STRING, NULL, &s->trusted_proxies_spec, 0, 0, NULL,
         "comma list of proxy addresses or CIDR ranges whose X-Forwarded-For names the "
         "client (unset: none; the TCP peer is the client)"},
        {"ROOMCAST_MAX_CONNECTIONS", RC_CFG_INT, "100000", &s->max_connections, 1, 10000000, NULL,
         "client connections at once; more are refused"},
        {"ROOMCAST_MAX_PAYLOAD", RC_CFG_INT, "1000000", &s->max_payload, 1024, 100000000, NULL,
         "largest message, frame or POST body (Engine.IO maxPayload)"},
        {"ROOMCAST_MAX_OUTBOUND_BYTES", RC_CFG_INT, "8388608", &s->max_outbound_bytes, 4096,
         1073741824, NULL, "hard bound: a client with more bytes queued is dropped at once"},
        {"ROOMCAST_SLOW_CLIENT_BYTES", RC_CFG_INT, "1048576", &s->slow_client_bytes, 1024,
         1073741824, NULL, "soft bound: a client above it for ROOMCAST_SLOW_CLIENT_MS is dropped"},
        {"ROOMCAST_SLOW_CLIENT_MS", RC_CFG_INT, "10000", &s->slow_client_ms, 100, 3600000, NULL,
         "how long a client may stay above the soft bound"},
        {"ROOMCAST_AUTHZ_TIMEOUT_MS", RC_CFG_INT, "2000", &s->authz_timeout_ms, 10, 60000, NULL,
         "the authorization URL's answer time; past it the join is refused"},
        {"ROOMCAST_AUTHZ_CACHE_SECONDS", RC_CFG_INT, "30", &s->authz_cache_seconds, 0, 86400, NULL,
         "how long authorization decisions are remembered"},
        {"ROOMCAST_AUTHZ_MAX_PENDING_PER_SOCKET", RC_CFG_INT, "4", &s->authz_max_pending_per_socket,
         1, 1000, NULL, "authorization checks one socket may wait for at once; more are refused "
         "(\"too_many_pending\")"},
        {"ROOMCAST_AUTHZ_MAX_PENDING", RC_CFG_INT, "1000", &s->authz_max_pending, 1, 1000000, NULL,
         "authorization checks in flight on this gateway; more are refused (\"busy\")"},
        {"ROOMCAST_AUTHZ_CACHE_ENTRIES", RC_CFG_INT, "20000", &s->authz_cache_entries, 1, 10000000,
         NULL, "entries of each decision cache (allowed and denied apart, least recently used "
         "evicted)"},
        {"ROOMCAST_JWT_REQUIRE_EXP", RC_CFG_BOOL, "true", &s->jwt_require_exp, 0, 0, NULL,
         "refuse tokens without exp"},
        {"ROOMCAST_JWT_MAX_LIFETIME_SECONDS", RC_CFG_INT, "86400", &s->jwt_max_lifetime, 0,
         315360000, NULL, "longest token lifetime accepted (exp - iat, or exp - now without "
         "iat); 0: any"},
        {"ROOMCAST_JWT_LEEWAY_SECONDS", RC_CFG_INT, "30", &s->jwt_leeway, 0, 600, NULL,
         "clock skew forgiven on exp, nbf and iat"},
        {"ROOMCAST_CLIENT_EVENT_RATE", RC_CFG_INT, "50", &s->event_rate, 1, 1000000, NULL,
         "client events (emits) per second per socket (token bucket refill)"},
        {"ROOMCAST_CLIENT_EVENT_BURST", RC_CFG_INT, "100", &s->event_burst, 1, 1000000, NULL,
         "client events a socket may send at once (token bucket size)"},
        {"ROOMCAST_CLIENT_EVENT_DISCONNECT_AFTER", RC_CFG_INT, "1000", &s->event_disconnect_after,
         0, 100000000, NULL, "rate-limited events within 10 s after which the socket is "
         "disconnected (0: never)"},
        {"ROOMCAST_UPSTREAM_PENDING_PER_SOCKET", RC_CFG_INT, "100", &s->upstream_pending_per_socket,
         1, 1000000, NULL, "client events of one socket waiting for Kafka; more are refused "
         "(\"busy\")"},
        {"ROOMCAST_UPSTREAM_PENDING_BYTES_PER_SOCKET", RC_CFG_INT, "4194304",
         &s->upstream_pending_bytes_per_socket, 1024, 1073741824, NULL,
         "bytes of one socket's client events waiting for Kafka; more are refused (\"busy\")"},
        {"ROOMCAST_UPSTREAM_QUEUE_MESSAGES", RC_CFG_INT, "100000", &s->upstream_queue_messages, 1,
         10000000, NULL, "client events waiting for Kafka on this gateway"},
        {"ROOMCAST_UPSTREAM_QUEUE_BYTES", RC_CFG_INT, "67108864", &s->upstream_queue_bytes, 1048576,
         2147483647, NULL, "bytes of client events waiting for Kafka on this gateway"},
        {"ROOMCAST_MAX_ROOMS_PER_SOCKET", RC_CFG_INT, "64", &s->max_rooms_per_socket, 4, 64, NULL,
         "rooms one socket may be in (its automatic ones included); joins past it are refused "
         "(\"too_many_rooms\"); at most 64, what connection state recovery carries"},
        {"ROOMCAST_DEDUP_WINDOW_SECONDS", RC_CFG_INT, "60", &s->dedup_window_seconds, 1, 86400,
         NULL, "how long a room event's id is remembered, so a second copy of it is dropped"},
        {"ROOMCAST_DEDUP_MAX_EVENTS", RC_CFG_INT, "1048576", &s->dedup_max_events, 1024, 67108864,
         NULL, "room event ids remembered at most (40 bytes each); past it the oldest go first"},
        {"ROOMCAST_REPLAY_MAX_JOBS", RC_CFG_INT, "4096", &s->replay_max_jobs, 1, 1000000, NULL,
         "recovery replays queued or under way at most (about 4 KB each); past it a "
         "reconnecting client gets a new session instead"},
    };
    _Static_assert(RC_ARRAY_LEN(t) + RC_KSEC_ITEMS <= RC_ARRAY_LEN(items), "grow items");
    memcpy(items, t, sizeof t);
    *n = sizeof t / sizeof t[0];
    rc_ksec_items(&s->kafka_security, items + *n); /* the Kafka security rows, shared */
    *n += RC_KSEC_ITEMS;
    return items;
}

/* ROOMCAST_ADVERTISE_ADDR may be a bare host or address (Kubernetes: "$(POD_IP)", which is
 * IPv4 or IPv6 depending on the cluster): it gets the listen port, and an IPv6 address
 * its brackets ("fd00::1" -> "[fd00::1]:3000"). A string that parses as an IPv6 address is
 * always an address, never "address:port" ("fd00::1:3000" is the address fd00::1:3000). */
static void gw__advertise_complete(gw_settings *s)
{
    const char *a = s->advertise_addr;
    struct in6_addr v6;
    char buf[128];
    if (inet_pton(AF_INET6, a, &v6) == 1)
        snprintf(buf, sizeof buf, "[%.60s]:%d", a, s->listen.port);
    else if (!strchr(a, ':') && *a)
        snprintf(buf, sizeof buf, "%.60s:%d", a, s->listen.port);
    else
        return;
    rc_free(s->advertise_addr);
    s->advertise_addr = rc_strdup(buf);
}

int gw_settings_load(gw_settings *s, int argc, char **argv, char *errstr, size_t errlen)
{
    memset(s, 0, sizeof *s);
    size_t n;
    rc_cfg_item *items = gw__items(s, &n);
    int r = rc_config_load(items, n, argc, argv, errstr, errlen);
    if (r == RC_ENOENT) {
        rc_config_usage("roomcast-gateway", items, n);
        return r;
    }
    if (r != RC_OK)
        return r;
    if (rc_ksec_load(&s->kafka_security, errstr, errlen) != RC_OK)
        return RC_EINVAL;
    if (!rc_kafka_prefix_valid(s->topic_prefix)) {
        snprintf(errstr, errlen, "ROOMCAST_TOPIC_PREFIX: \"%s\" has characters Kafka does not allow "
                 "in topic names (use letters, digits, . _ -)", s->topic_prefix);
        return RC_EINVAL;
    }
    if (!!s->jwt_secret + !!s->jwt_public_key_file + !!s->jwt_jwks_url != 1) {
        snprintf(errstr, errlen, "set exactly one of ROOMCAST_JWT_SECRET, "
                 "ROOMCAST_JWT_PUBLIC_KEY_FILE and ROOMCAST_JWT_JWKS_URL");
        return RC_EINVAL;
    }
    if (s->jwt_jwks_url && rc_jwks_url_check(s->jwt_jwks_url, errstr, errlen) != RC_OK)
        return RC_EINVAL;
    if (s->jwt_jwks_ca_file && !s->jwt_jwks_url) {
        snprintf(errstr, errlen, "ROOMCAST_JWT_JWKS_CA_FILE is set but ROOMCAST_JWT_JWKS_URL is not");
        return RC_EINVAL;
    }
    char nerr[200];
    if (s->trusted_proxies_spec &&
        gw_net_list_parse(s->trusted_proxies_spec, &s->trusted_proxies, nerr, sizeof nerr) != 0) {
        snprintf(errstr, errlen, "ROOMCAST_TRUSTED_PROXIES: %s", nerr);
        return RC_EINVAL;
    }
    if (!s->tls_cert_file != !s->tls_key_file) {
        snprintf(errstr, errlen, "ROOMCAST_TLS_CERT_FILE and ROOMCAST_TLS_KEY_FILE go together");
        return RC_EINVAL;
    }
    if (s->advertise_addr) {
        rc_addr a;
        gw__advertise_complete(s);
        if (rc_addr_parse(s->advertise_addr, &a) != RC_OK || a.port == 0 ||
            strlen(s->advertise_addr) > 64) {
            snprintf(errstr, errlen, "ROOMCAST_ADVERTISE_ADDR: \"%s\" is not HOST:PORT (at most 64 "
                     "characters)", s->advertise_addr);
            return RC_EINVAL;
        }
    } else {
        char host[100] = "localhost", adv[128];
        if (strcmp(s->listen.host, "0.0.0.0") && strcmp(s->listen.host, "::"))
            snprintf(host, sizeof host, "%.50s", s->listen.host);
        else
            gethostname(host, sizeof host - 1);
        snprintf(adv, sizeof adv, "%.50s:%d", host, s->listen.port);
        s->advertise_addr = rc_strdup(adv);
    }
    if (!s->gateway_id) {
        char host[128] = "gateway";
        gethostname(host, sizeof host - 1);
        char id[160];
        snprintf(id, sizeof id, "%s:%d", host, s->listen.port);
        s->gateway_id = rc_strdup(id);
    }
    return RC_OK;
}

void gw_settings_free(gw_settings *s)
{
    size_t n;
    rc_cfg_item *items = gw__items(s, &n);
    rc_config_free_strings(items, n);
    rc_ksec_reset();
}
