/* admission.c: whether a request may open an Engine.IO session. Three bounds, each
 * counted when it refuses (roomcast_gateway_sessions_refused_total{reason}):
 *   connection  live sessions opened by requests on one TCP connection
 *               (max_sessions_per_conn): a browser opens one per connection, a second
 *               while reconnecting; 50 000 pipelined handshakes on one connection are
 *               an attack. A connection from a trusted proxy carries many clients' requests
 *               (Envoy, nginx with upstream keep-alive), so this bound skips it.
 *   address     live sessions of one client address (max_sessions_per_addr, 0: none),
 *               the address being the peer's, or X-Forwarded-For's behind a trusted proxy.
 *   total       sessions at once (max_connections): a polling session holds no
 *               connection between its requests, yet costs what a connection costs.
 * A refused request gets 429 with an Engine.IO error body and its connection is closed;
 * the stock client retries later with its reconnection backoff.
 *
 * Ownership: a session points at its connection (opener) until either goes; the
 * connection lists the sessions it opened, so whichever goes first unlinks the other.
 * An address's count lives in engine->addrs while a session of it lives. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"
#include "common/metrics.h"
#include "gateway/engine_int.h"
#include "gateway/netaddr.h"

typedef struct gw_addr_count {
    char ip[GW_NET_IP_LEN]; /* the map's key */
    size_t n;
} gw_addr_count;

static int gw__from_trusted_proxy(const gw_conn *c)
{
    const gw_net_list *t = c->e->cfg.trusted_proxies;
    if (!t || !t->n)
        return 0;
    char peer[GW_NET_IP_LEN];
    uint8_t ip[16];
    gw_net_host_of(c->remote, peer);
    return gw_net_parse_ip(peer, strlen(peer), ip) == 0 && gw_net_list_has(t, ip);
}

static int gw__refuse(gw_conn *c, rc_counter *counter, const char *reason, const char *ip)
{
    rc_counter_inc(counter);
    rc_log_limited(RC_LOG_WARN, "session refused at a bound", "{s:s,s:s,s:s}", "reason", reason,
                   "client", ip, "remote", c->remote);
    gw__conn_eio_error(c, 429, 3, "Too many sessions");
    return 0;
}

int gw__admit(gw_conn *c, const http_request *req, char *ip)
{
    gw_engine *e = c->e;
    char peer[GW_NET_IP_LEN];
    gw_net_host_of(c->remote, peer);
    gw_net_client_ip(req, peer, e->cfg.trusted_proxies, ip);
    if (e->stats.sessions >= e->cfg.max_connections)
        return gw__refuse(c, e->k.refused_total, "total", ip);
    if ((size_t)c->nsessions >= e->cfg.max_sessions_per_conn && !gw__from_trusted_proxy(c))
        return gw__refuse(c, e->k.refused_conn, "connection", ip);
    if (e->cfg.max_sessions_per_addr) {
        gw_addr_count *a = rc_map_get(e->addrs, ip, strlen(ip));
        if (a && a->n >= e->cfg.max_sessions_per_addr)
            return gw__refuse(c, e->k.refused_addr, "address", ip);
    }
    return 1;
}

void gw__admitted(gw_session *s, gw_conn *c, const char *ip)
{
    gw_engine *e = s->e;
    s->opener = c;
    LIST_INSERT_HEAD(&c->opened, s, opener_link);
    c->nsessions++;
    if (!e->cfg.max_sessions_per_addr)
        return;
    gw_addr_count *a = rc_map_get(e->addrs, ip, strlen(ip));
    if (!a) {
        a = rc_calloc(1, sizeof *a);
        snprintf(a->ip, sizeof a->ip, "%s", ip);
        rc_map_put(e->addrs, a->ip, strlen(a->ip), a);
    }
    a->n++;
    s->addr = a;
}

void gw__admission_release(gw_session *s)
{
    if (s->opener) {
        LIST_REMOVE(s, opener_link);
        s->opener->nsessions--;
        s->opener = NULL;
    }
    gw_addr_count *a = s->addr;
    if (a && --a->n == 0) {
        rc_map_del(s->e->addrs, a->ip, strlen(a->ip));
        rc_free(a);
    }
    s->addr = NULL;
}

void gw__admission_conn_gone(gw_conn *c)
{
    gw_session *s;
    while ((s = LIST_FIRST(&c->opened))) {
        LIST_REMOVE(s, opener_link);
        s->opener = NULL;
    }
    c->nsessions = 0;
}
