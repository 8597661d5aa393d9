/* roomcast-gateway: holds client connections (Socket.IO over WebSocket or long-polling),
 * authenticates them, keeps their rooms, and delivers room events from Kafka.
 * main() reads the settings once, wires the modules together on one event loop, and
 * runs the drain on SIGTERM: /readyz turns 503, the listener closes, and the sockets are
 * closed a few at a time across ROOMCAST_DRAIN_SECONDS so that clients reconnect
 * elsewhere without a stampede. */
#include <event2/event.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "common/admin.h"
#include "common/alloc.h"
#include "common/jwks_source.h"
#include "common/kafka.h"
#include "common/kafka_security.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/token.h"
#include "common/secret.h"
#include "common/version.h"
#include "gateway/app.h"
#include "gateway/peers.h"
#include "gateway/cluster.h"
#include "gateway/control.h"
#include "gateway/settings.h"

typedef struct {
    struct event_base *base;
    gw_settings cfg;
    rc_metrics *metrics;
    gw_engine *engine;
    gw_app *app;
    gw_delivery *delivery;
    rc_jwks_source *jwks; /* NULL unless ROOMCAST_JWT_JWKS_URL */
    gw_peers *peers;
    int draining;
    int64_t drain_deadline_us;
    struct event *drain_tick;
} gateway;

/* Kafka as this gateway sees it: 1 when a broker is up and the room topic is assigned;
 * otherwise 0 with why in reason (a refused login says more than "not reachable"). */
static int kafka_up(const gateway *g, char *reason, size_t len)
{
    if (gw_delivery_ready(g->delivery, reason, len))
        return 1;
    rc_ksec_failing(reason, len);
    return 0;
}

/* Ready means "send me clients". A gateway that has never reached Kafka is not (its
 * settings are unproven: a wrong address or password, a missing topic). Once it has, a
 * Kafka outage leaves it ready: it keeps its clients, accepts new ones and delivers
 * what they missed when Kafka returns, so an outage does not pull every gateway out of
 * the balancer at once. /healthz and roomcast_gateway_kafka_up say Kafka is down. */
static int ready_fn(void *ctx, char *reason, size_t len)
{
    gateway *g = ctx;
    if (g->draining) {
        snprintf(reason, len, "draining: shutting down");
        return -1;
    }
    if (g->jwks && rc_jwks_source_ready(g->jwks, reason, len) != 0)
        return -1; /* no key yet: every client would be refused */
    if (!kafka_up(g, reason, len)) {
        gw_vector v;
        gw_delivery_position(g->delivery, &v);
        if (v.n == 0) /* v.n: partitions assigned so far, never fewer */
            return -1;
    }
    /* relays need the peer table: ready once this gateway read its own announcement
       back (it stays so: a Kafka outage expires no peer) */
    return g->peers && !gw_peers_ready(g->peers, reason, len) ? -1 : 0;
}

/* /healthz and /readyz detail: {"kafka":{"up":true}} or {"kafka":{"up":false,"reason":..}} */
static void health_detail(void *ctx, void *body)
{
    char reason[RC_ERRSTR_LEN] = "";
    int up = kafka_up(ctx, reason, sizeof reason);
    json_t *k = json_pack("{s:b}", "up", up);
    if (!up)
        json_object_set_new(k, "reason", json_string(reason)); /* NULL (not UTF-8): left out */
    json_object_set_new(body, "kafka", k);
}

static double st_kafka_up(void *ctx)
{
    char reason[RC_ERRSTR_LEN];
    return kafka_up(ctx, reason, sizeof reason);
}

#define STAT_FN(name, field)                                                                      \
    static double name(void *ctx)                                                                 \
    {                                                                                             \
        return (double)gw_engine_get_stats(((gateway *)ctx)->engine)->field;                      \
    }
STAT_FN(st_connections, connections)
STAT_FN(st_sessions_ws, sessions_ws)
STAT_FN(st_sessions_polling, sessions_polling)
STAT_FN(st_accepted, connections_accepted)
STAT_FN(st_refused, connections_refused)
STAT_FN(st_slow, slow_clients)
STAT_FN(st_bad_requests, bad_requests)
STAT_FN(st_bad_frames, bad_frames)
STAT_FN(st_bad_packets, bad_packets)
STAT_FN(st_ping_timeouts, ping_timeouts)
STAT_FN(st_upgrades, upgrades)
STAT_FN(st_frames_out, frames_out)
STAT_FN(st_bytes_out, bytes_out)
STAT_FN(st_fwd_polling, forwarded_polling)
STAT_FN(st_fwd_ws, forwarded_websocket)
STAT_FN(st_fwd_gone, forward_owner_gone)
STAT_FN(st_fwd_forged, forward_forged)
STAT_FN(st_fwd_refused, forward_refused)
STAT_FN(st_fwd_open, forwards)

static double st_sockets(void *ctx)
{
    return (double)gw_app_sockets(((gateway *)ctx)->app);
}

static double st_rooms(void *ctx)
{
    return (double)gw_app_rooms(((gateway *)ctx)->app);
}

static void register_metrics(gateway *g)
{
    rc_metrics *m = g->metrics;
    rc_metrics_add_process(m);
    rc_ksec_metrics(m, "roomcast_gateway");
    rc_version_register(m);
    rc_gauge_fn_new(m, "roomcast_gateway_connections", "Open client TCP connections",
                    st_connections, g);
    rc_gauge_fn_new(m, "roomcast_gateway_sessions_websocket", "Engine.IO sessions on WebSocket",
                    st_sessions_ws, g);
    rc_gauge_fn_new(m, "roomcast_gateway_sessions_polling", "Engine.IO sessions on long-polling",
                    st_sessions_polling, g);
    rc_gauge_fn_new(m, "roomcast_gateway_sockets", "Connected Socket.IO sockets", st_sockets, g);
    rc_gauge_fn_new(m, "roomcast_gateway_rooms", "Rooms with at least one local member", st_rooms, g);
    rc_counter_fn_new(m, "roomcast_gateway_connections_accepted_total", "TCP connections accepted",
                      st_accepted, g);
    rc_counter_fn_new(m, "roomcast_gateway_connections_refused_total",
                      "TCP connections refused at ROOMCAST_MAX_CONNECTIONS", st_refused, g);
    rc_counter_fn_new(m, "roomcast_gateway_slow_client_disconnects_total",
                      "Clients dropped for letting their outbound buffer pass the bound", st_slow, g);
    rc_counter_fn_new(m, "roomcast_gateway_bad_requests_total", "Malformed HTTP requests refused",
                      st_bad_requests, g);
    rc_counter_fn_new(m, "roomcast_gateway_bad_frames_total",
                      "Malformed WebSocket frames (connection closed)", st_bad_frames, g);
    rc_counter_fn_new(m, "roomcast_gateway_bad_packets_total",
                      "Malformed Engine.IO / Socket.IO packets (session closed)", st_bad_packets, g);
    rc_counter_fn_new(m, "roomcast_gateway_ping_timeouts_total", "Sessions closed by ping timeout",
                      st_ping_timeouts, g);
    rc_counter_fn_new(m, "roomcast_gateway_upgrades_total", "Long-polling sessions upgraded",
                      st_upgrades, g);
    rc_counter_fn_new(m, "roomcast_gateway_frames_out_total", "Packets written to clients",
                      st_frames_out, g);
    rc_counter_fn_new(m, "roomcast_gateway_bytes_out_total", "Bytes written to clients",
                      st_bytes_out, g);
    rc_counter_fn_new(m, "roomcast_gateway_forwarded_polling_total",
                      "Long-polling requests relayed to the gateway owning their session",
                      st_fwd_polling, g);
    rc_counter_fn_new(m, "roomcast_gateway_forwarded_websocket_total",
                      "WebSocket upgrades tunnelled to the gateway owning their session", st_fwd_ws,
                      g);
    rc_counter_fn_new(m, "roomcast_gateway_forward_owner_gone_total",
                      "Relayed requests whose owner did not answer (the client starts anew)",
                      st_fwd_gone, g);
    rc_counter_fn_new(m, "roomcast_gateway_forged_session_ids_total",
                      "Requests naming a session id whose signature does not verify", st_fwd_forged,
                      g);
    rc_counter_fn_new(m, "roomcast_gateway_forward_refused_total",
                      "Relays refused at the bound on relays at once", st_fwd_refused, g);
    rc_gauge_fn_new(m, "roomcast_gateway_forwards", "Relays open now", st_fwd_open, g);
    rc_gauge_fn_new(m, "roomcast_gateway_kafka_up",
                    "1 when a Kafka broker is reachable and the room topic assigned (the "
                    "gateway stays ready without: it keeps its clients)",
                    st_kafka_up, g);
}

/* Closes a share of the remaining sessions each tick so all are gone by the deadline. */
static void drain_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    gateway *g = arg;
    size_t left = gw_engine_get_stats(g->engine)->sessions;
    int64_t remaining_us = g->drain_deadline_us - rc_now_us();
    if (left == 0 || remaining_us <= 0) {
        gw_engine_close_all(g->engine, "server shutting down");
        event_base_loopexit(g->base, NULL);
        return;
    }
    size_t ticks = (size_t)(remaining_us / 100000) + 1;
    size_t n = (left + ticks - 1) / ticks;
    gw_engine_close_some(g->engine, n, "server shutting down");
}

static void on_sigterm(evutil_socket_t sig, short what, void *arg)
{
    gateway *g = arg;
    if (g->draining) {
        event_base_loopexit(g->base, NULL);
        return;
    }
    g->draining = 1;
    gw_engine_stop_listening(g->engine);
    g->drain_deadline_us = rc_now_us() + g->cfg.drain_seconds * 1000000;
    rc_log_info("draining", "{s:I,s:I}", "sessions",
                (json_int_t)gw_engine_get_stats(g->engine)->sessions, "seconds",
                (json_int_t)g->cfg.drain_seconds);
    g->drain_tick = event_new(g->base, -1, EV_PERSIST, drain_tick_cb, g);
    struct timeval tv = {0, 100000};
    event_add(g->drain_tick, &tv);
}

static void on_sigint(evutil_socket_t sig, short what, void *arg)
{
    event_base_loopexit(((gateway *)arg)->base, NULL);
}

static SSL_CTX *tls_ctx(const gw_settings *cfg, char *err, size_t len)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert_file) != 1) {
        snprintf(err, len, "ROOMCAST_TLS_CERT_FILE: \"%s\" is not a PEM certificate chain",
                 cfg->tls_cert_file);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, len, "ROOMCAST_TLS_KEY_FILE: \"%s\" is not the certificate's PEM key",
                 cfg->tls_key_file);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* Token keys from the identity provider's JWK Set, fetched on the loop (jwks_source.h). */
static int jwks_keys(gateway *g, rc_token_keys **keys, char *err, size_t len)
{
    rc_jwks_config jc = {g->cfg.jwt_jwks_url, g->cfg.jwt_jwks_ca_file,
                         g->cfg.jwt_jwks_refresh_seconds, g->cfg.jwt_jwks_min_refresh_seconds,
                         g->cfg.jwt_jwks_timeout_ms};
    if (rc_jwks_source_new(g->base, &jc, g->metrics, "roomcast_gateway", &g->jwks, err, len) != 0)
        return -1;
    return rc_token_keys_new_lookup(rc_jwks_source_lookup, g->jwks, g->cfg.jwt_issuer,
                                    g->cfg.jwt_audience, keys);
}

int main(int argc, char **argv)
{
    gateway g = {0};
    char err[RC_ERRSTR_LEN] = "";
    int status = 0;
    rc_token_keys *keys = NULL;
    SSL_CTX *tls = NULL;
    gw_authz *authz = NULL;
    gw_upstream *up = NULL;
    gw_control *control = NULL;
    rc_admin *admin = NULL;
    struct event *sigterm = NULL, *sigint = NULL;
    char topic[256], client_id[200];

    if (rc_version_requested("roomcast-gateway", argc, argv))
        return 0;
    int r = gw_settings_load(&g.cfg, argc, argv, err, sizeof err);
    if (r == RC_ENOENT)
        goto out;
    if (r != RC_OK) {
        status = 2;
        goto out;
    }
    rc_log_init("gateway", (rc_log_level)rc_log_level_parse(g.cfg.log_level));
    int open_policy = !strcmp(g.cfg.room_policy, "open");
    gw_cluster_key ck;
    if ((g.cfg.jwt_secret &&
         rc_secret_check("ROOMCAST_JWT_SECRET", g.cfg.jwt_secret, open_policy, err, sizeof err)) ||
        gw_cluster_key_load(&g.cfg, &ck, err, sizeof err) != RC_OK) {
        status = 2;
        goto out;
    }
    rc_log_route_libevent();
    if ((!g.cfg.jwt_jwks_url && /* JWKS keys come with the event loop, below */
         rc_token_keys_new(g.cfg.jwt_secret, g.cfg.jwt_public_key_file, g.cfg.jwt_issuer,
                           g.cfg.jwt_audience, &keys, err, sizeof err) != 0) ||
        (g.cfg.tls_cert_file && !(tls = tls_ctx(&g.cfg, err, sizeof err)))) {
        status = 2;
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    g.base = event_base_new();
    g.metrics = rc_metrics_new();
    if (g.cfg.jwt_jwks_url && jwks_keys(&g, &keys, err, sizeof err) != 0) {
        status = 2;
        goto out;
    }
    rc_token_policy policy = {g.cfg.jwt_require_exp, g.cfg.jwt_max_lifetime, g.cfg.jwt_leeway};
    rc_token_keys_set_policy(keys, &policy);
    gw_authz_config ac = {g.cfg.authz_url, (int)g.cfg.authz_timeout_ms,
                          (int)g.cfg.authz_cache_seconds, g.cfg.authz_cache_entries,
                          g.cfg.authz_max_pending};
    if (g.cfg.authz_url && gw_authz_new(g.base, &ac, g.metrics, &authz, err, sizeof err) != 0) {
        status = 2;
        goto out;
    }
    /* the cluster secret signs session ids (and what relays carry) across gateways */
    uint8_t session_key[32], relay_key[32], peers_key[32];
    if (ck.set) {
        gw_cluster_key_derive(&ck, GW_CLUSTER_PURPOSE_SESSION_IDS, session_key);
        gw_cluster_key_derive(&ck, GW_CLUSTER_PURPOSE_RELAYS, relay_key);
        gw_cluster_key_derive(&ck, GW_CLUSTER_PURPOSE_PEERS, peers_key);
    }
    gw_engine_config ec = {
        .ping_interval_ms = g.cfg.ping_interval_ms,
        .ping_timeout_ms = g.cfg.ping_timeout_ms,
        .upgrade_timeout_ms = 10000,
        .handshake_timeout_ms = g.cfg.handshake_timeout_ms,
        .close_timeout_ms = g.cfg.close_timeout_ms,
        .max_sessions_per_conn = (size_t)g.cfg.max_sessions_per_conn,
        .max_sessions_per_addr = (size_t)g.cfg.max_sessions_per_addr,
        .trusted_proxies = &g.cfg.trusted_proxies,
        .metrics = g.metrics,
        .max_payload = (size_t)g.cfg.max_payload,
        .max_connections = (size_t)g.cfg.max_connections,
        .out_limit = (size_t)g.cfg.max_outbound_bytes,
        .out_soft_limit = (size_t)g.cfg.slow_client_bytes,
        .out_soft_ms = g.cfg.slow_client_ms,
        .allowed_origins = g.cfg.allowed_origins,
        .tls = tls,
        .cluster_key = ck.set ? session_key : NULL,
        .relay_key = ck.set ? relay_key : NULL,
        .advertise = g.cfg.advertise_addr,
        .max_forwards = (size_t)g.cfg.max_relays,
        .forward_seconds = rc_histogram_new(g.metrics, "roomcast_gateway_forward_seconds",
                                            "Time a polling request relayed to its session's "
                                            "owner took, to the end of the answer",
                                            NULL, 0),
        .relay_buffer = (size_t)g.cfg.relay_buffer_bytes,
        .session_max_age_s = g.cfg.session_max_age_s,
    };
    g.engine = gw_engine_new(g.base, &ec);
    snprintf(client_id, sizeof client_id, "roomcast-gateway-%s", g.cfg.gateway_id);
    gw_upstream_limits ul = {g.cfg.upstream_queue_messages, g.cfg.upstream_queue_bytes};
    if (!(up = gw_upstream_new(g.base, g.cfg.kafka_brokers, client_id, &ul, g.metrics, err,
                               sizeof err))) {
        status = 1;
        goto out;
    }
    char ptopic[256];
    gw_peers_config pc = {g.cfg.kafka_brokers,
                          rc_kafka_topic(g.cfg.topic_prefix, RC_TOPIC_GATEWAYS, ptopic, sizeof ptopic),
                          client_id, g.cfg.advertise_addr, g.cfg.gateway_id, peers_key,
                          g.cfg.peer_announce_ms};
    if (ck.set) { /* relays need the cluster secret: without it there are none */
        if (!(g.peers = gw_peers_new(g.base, &pc, up, g.metrics, err, sizeof err))) {
            status = 1;
            goto out;
        }
        gw_engine_set_peers(g.engine, gw_peers_known, g.peers);
    }
    g.app = gw_app_new(g.base, &g.cfg, g.engine, g.metrics, keys, up, authz);
    gw_recovery_key rkey;
    int recovery = g.cfg.recovery_window > 0 && ck.set;
    if (recovery)
        gw_cluster_key_derive(&ck, GW_CLUSTER_PURPOSE_RECOVERY, rkey.key);
    gw_delivery_config dc = {g.cfg.kafka_brokers,
                             rc_kafka_topic(g.cfg.topic_prefix, RC_TOPIC_ROOMS, topic, sizeof topic),
                             client_id, recovery ? &rkey : NULL,
                             (size_t)g.cfg.dedup_max_events, g.cfg.dedup_window_seconds * 1000};
    if (!(g.delivery = gw_delivery_new(g.base, &dc, g.metrics, gw_app_deliver, g.app, err,
                                       sizeof err))) {
        status = 1;
        goto out;
    }
    gw_delivery_set_filter(g.delivery, gw_app_has_member);
    control = gw_control_new(g.app, g.metrics);
    gw_delivery_set_control(g.delivery, gw_control_apply, control);
    if (recovery)
        gw_app_enable_recovery(g.app, &rkey, g.delivery, g.metrics);
    register_metrics(&g);
    if (rc_admin_start(g.base, &g.cfg.admin_listen, g.metrics, ready_fn, &g, &admin, err,
                       sizeof err) != 0 ||
        gw_engine_listen(g.engine, &g.cfg.listen, err, sizeof err) != 0) {
        status = 1;
        goto out;
    }
    rc_admin_set_detail(admin, health_detail, &g);
    char a1[300], a2[300];
    rc_log_info("listening", "{s:s,s:i,s:s,s:i,s:s,s:s,s:s,s:s}", "listen",
                rc_addr_format(&g.cfg.listen, a1, sizeof a1), "port", gw_engine_port(g.engine),
                "admin", rc_addr_format(&g.cfg.admin_listen, a2, sizeof a2), "admin_port",
                rc_admin_port(admin), "kafka", g.cfg.kafka_brokers, "topic", topic, "jwt_alg",
                rc_token_keys_alg(keys), "gateway", g.cfg.gateway_id);
    sigterm = evsignal_new(g.base, SIGTERM, on_sigterm, &g);
    sigint = evsignal_new(g.base, SIGINT, on_sigint, &g);
    evsignal_add(sigterm, NULL);
    evsignal_add(sigint, NULL);

    event_base_dispatch(g.base);
    rc_log_info("stopping", NULL);

out:
    if (*err)
        fprintf(stderr, "roomcast-gateway: %s\n", err);
    if (g.drain_tick)
        event_free(g.drain_tick);
    if (sigterm)
        event_free(sigterm);
    if (sigint)
        event_free(sigint);
    if (g.engine) {
        gw_engine_stop_listening(g.engine);
        gw_engine_close_all(g.engine, "server shutting down");
    }
    gw_delivery_free(g.delivery);
    gw_control_free(control);
    rc_admin_free(admin);
    gw_engine_free(g.engine);
    /* both answer what is pending, to the app: before it goes */
    gw_authz_free(authz);
    gw_peers_free(g.peers); /* its "down" announcement goes out with the upstream's flush */
    gw_upstream_free(up);
    gw_app_free(g.app);
    if (g.metrics)
        rc_metrics_free(g.metrics);
    rc_token_keys_free(keys);
    rc_jwks_source_free(g.jwks); /* after the keys that look up in it, before the base */
    if (tls)
        SSL_CTX_free(tls);
    if (g.base)
        event_base_free(g.base);
    gw_settings_free(&g.cfg);
    return status;
}
