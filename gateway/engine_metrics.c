/* engine_metrics.c: the counters of the engine's bounds, as Prometheus families with a
 * label saying which bound or phase (docs/security.md lists them). Other engine totals
 * are plain fields of gw_engine_stats, rendered by main(). The engine registers these
 * in cfg.metrics, or in a registry of its own when it has none (the protocol test
 * server), so that counting never needs a NULL check. */
#include "common/metrics.h"
#include "gateway/engine_int.h"

void gw__engine_counters_init(gw_engine *e)
{
    rc_metrics *m = e->cfg.metrics;
    if (!m)
        m = e->own_metrics = rc_metrics_new();
    gw_engine_counters *k = &e->k;
    rc_counter_family *refused = rc_counter_family_new(
        m, "roomcast_gateway_sessions_refused_total",
        "Engine.IO sessions refused at a bound: per connection, per client address, in all",
        "reason");
    k->refused_conn = rc_counter_get(refused, "connection");
    k->refused_addr = rc_counter_get(refused, "address");
    k->refused_total = rc_counter_get(refused, "total");
    rc_counter_family *input = rc_counter_family_new(
        m, "roomcast_gateway_input_limited_total",
        "Connections that reached their input bound: reading paused (request, relay) or "
        "the connection closed (held_get)",
        "state");
    k->input_request = rc_counter_get(input, "request");
    k->input_held_get = rc_counter_get(input, "held_get");
    k->input_relay = rc_counter_get(input, "relay");
    rc_counter_family *timeouts = rc_counter_family_new(
        m, "roomcast_gateway_connection_timeouts_total",
        "Connections dropped at a deadline: the request's, an answer taking no progress "
        "(write), a closing connection's",
        "phase");
    k->timeout_request = rc_counter_get(timeouts, "request");
    k->timeout_write = rc_counter_get(timeouts, "write");
    k->timeout_closing = rc_counter_get(timeouts, "closing");
    rc_counter_family *denied = rc_counter_family_new(
        m, "roomcast_gateway_forward_denied_total",
        "Requests for another gateway's session not relayed: not an Engine.IO request a relay "
        "carries, an id past its life, an owner that is not a known gateway, an answer "
        "without the cluster's relay proof",
        "reason");
    k->denied_request = rc_counter_get(denied, "request");
    k->denied_expired = rc_counter_get(denied, "expired");
    k->denied_unknown_peer = rc_counter_get(denied, "unknown_peer");
    k->denied_unproven = rc_counter_get(denied, "unproven");
    k->accept_paused = rc_counter_new(
        m, "roomcast_gateway_accept_paused_total",
        "Times accepting paused for want of file descriptors (EMFILE, ENFILE)");
}

void gw__engine_counters_free(gw_engine *e)
{
    if (e->own_metrics)
        rc_metrics_free(e->own_metrics);
}
