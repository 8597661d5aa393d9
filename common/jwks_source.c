/* jwks_source.c: fetching and refreshing a JWK Set over HTTPS on libevent (see
 * jwks_source.h).
 *
 * Each fetch is a new evhttp connection over a new bufferevent_openssl: fetches are
 * minutes apart, and libevent 2.1 cannot reconnect an evhttp connection whose TLS session
 * has ended. A finished connection is freed from a separate event, never inside its own
 * request callback. Host names are resolved with evdns, so nothing here blocks. */
#include "common/jwks_source.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "common/kafka.h" /* rc_now_us */
#include "common/log.h"

#define URL_SETTING "ROOMCAST_JWT_JWKS_URL"

struct rc_jwks_source {
    struct event_base *base;
    struct evdns_base *dns; /* NULL when the host is an IP address */
    SSL_CTX *ssl;
    char *url, *host, *path;
    int port, host_is_ip;
    rc_jwks_config cfg; /* timings; the strings above are the copies */
    rc_jwks *set;       /* NULL until the first set loads */
    struct evhttp_connection *conn, *done_conn; /* in flight; finished, to be freed */
    struct bufferevent *bev;                   /* conn's, for its TLS error */
    struct event *timer, *reap;
    int64_t last_start_us, next_at_us;
    char error[256]; /* why the last fetch failed, "" after a success */
    rc_counter *ok, *failed;
    rc_gauge *keys, *last_success;
};

/* ---- the URL ------------------------------------------------------------------------------ */

/* host without IPv6 brackets, port (443 unless given) and the request path with query. */
static int jwks__parse_url(const char *url, char **host, int *port, char **path)
{
    struct evhttp_uri *u = evhttp_uri_parse(url);
    const char *scheme = u ? evhttp_uri_get_scheme(u) : NULL;
    const char *h = u ? evhttp_uri_get_host(u) : NULL;
    if (!scheme || strcasecmp(scheme, "https") != 0 || !h || !*h || evhttp_uri_get_userinfo(u)) {
        if (u)
            evhttp_uri_free(u);
        return RC_EINVAL;
    }
    size_t hl = strlen(h);
    if (h[0] == '[' && hl > 2 && h[hl - 1] == ']')
        *host = rc_strndup(h + 1, hl - 2);
    else
        *host = rc_strdup(h);
    *port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : 443;
    const char *p = evhttp_uri_get_path(u), *q = evhttp_uri_get_query(u);
    size_t n = strlen(p && *p ? p : "/") + (q ? strlen(q) + 1 : 0) + 1;
    *path = rc_malloc(n);
    snprintf(*path, n, "%s%s%s", p && *p ? p : "/", q ? "?" : "", q ? q : "");
    evhttp_uri_free(u);
    return RC_OK;
}

int rc_jwks_url_check(const char *url, char *errstr, size_t errlen)
{
    char *host = NULL, *path = NULL;
    int port;
    if (jwks__parse_url(url, &host, &port, &path) != RC_OK) {
        snprintf(errstr, errlen, URL_SETTING ": \"%.150s\" is not an https:// URL with a host",
                 url);
        return RC_EINVAL;
    }
    rc_free(host);
    rc_free(path);
    return RC_OK;
}

/* ---- TLS ------------------------------------------------------------------------------------- */

static SSL_CTX *jwks__ssl_ctx(const char *ca_file, char *errstr, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    int ok = ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
                     : SSL_CTX_set_default_verify_paths(ctx);
    ERR_clear_error();
    if (ok != 1) {
        snprintf(errstr, errlen, "ROOMCAST_JWT_JWKS_CA_FILE: \"%.150s\" holds no PEM certificate",
                 ca_file ? ca_file : "(system)");
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* One connection's TLS object: SNI and the name (or address) its certificate must have. */
static SSL *jwks__ssl(rc_jwks_source *s)
{
    SSL *ssl = SSL_new(s->ssl);
    if (s->host_is_ip) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), s->host);
    } else {
        SSL_set_tlsext_host_name(ssl, s->host);
        SSL_set1_host(ssl, s->host);
    }
    return ssl;
}

/* ---- fetching -------------------------------------------------------------------------------- */

static void jwks__schedule(rc_jwks_source *s, int64_t at_us)
{
    int64_t now = rc_now_us(), d = at_us > now ? at_us - now : 0;
    struct timeval tv = {(time_t)(d / 1000000), (suseconds_t)(d % 1000000)};
    s->next_at_us = at_us;
    event_add(s->timer, &tv);
}

/* Hands the finished connection to the reaper; the next fetch after delay_s. */
static void jwks__finish(rc_jwks_source *s, long delay_s)
{
    if (s->done_conn) /* an older one the reaper has not reached: its callbacks are over */
        evhttp_connection_free(s->done_conn);
    s->done_conn = s->conn;
    s->conn = NULL;
    s->bev = NULL;
    event_active(s->reap, 0, 0);
    jwks__schedule(s, rc_now_us() + (int64_t)delay_s * 1000000);
}

static void jwks__failed(rc_jwks_source *s, const char *why)
{
    snprintf(s->error, sizeof s->error, "%s", why);
    rc_counter_inc(s->failed);
    rc_log_warn("JWKS fetch failed", "{s:s,s:s,s:i,s:I}", "url", s->url, "error", why,
                "keys_kept", (int)rc_jwks_count(s->set), "retry_seconds",
                (json_int_t)s->cfg.min_refresh_seconds);
    jwks__finish(s, s->cfg.min_refresh_seconds);
}

static void jwks__loaded(rc_jwks_source *s, rc_jwks *set, size_t skipped)
{
    rc_jwks_free(s->set);
    s->set = set;
    s->error[0] = '\0';
    rc_counter_inc(s->ok);
    rc_gauge_set(s->keys, (double)rc_jwks_count(set));
    rc_gauge_set(s->last_success, (double)rc_now_us() / 1e6);
    json_t *kids = json_array();
    for (size_t i = 0; i < rc_jwks_count(set); i++)
        json_array_append_new(kids, json_string(rc_jwks_kid(set, i)));
    rc_log_info("JWKS loaded", "{s:s,s:i,s:o,s:i}", "url", s->url, "keys", (int)rc_jwks_count(set),
                "kids", kids, "skipped", (int)skipped);
    jwks__finish(s, s->cfg.refresh_seconds);
}

static void jwks__done(struct evhttp_request *req, void *arg)
{
    rc_jwks_source *s = arg;
    if (!s->conn)
        return; /* already failed through the error callback */
    int code = req ? evhttp_request_get_response_code(req) : 0;
    if (code != 200) {
        char why[64];
        snprintf(why, sizeof why, code ? "HTTP status %d" : "no answer", code);
        jwks__failed(s, why);
        return;
    }
    struct evbuffer *body = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(body);
    rc_jwks *set = NULL;
    size_t skipped = 0;
    char err[160], why[200];
    if (rc_jwks_parse((const char *)evbuffer_pullup(body, -1), len, &set, &skipped, err,
                      sizeof err) != RC_OK) {
        snprintf(why, sizeof why, "not a usable JWK Set: %s", err);
        jwks__failed(s, why);
        return;
    }
    jwks__loaded(s, set, skipped);
}

static void jwks__error(enum evhttp_request_error e, void *arg)
{
    rc_jwks_source *s = arg;
    char why[200];
    unsigned long tls = s->bev ? bufferevent_get_openssl_error(s->bev) : 0;
    if (tls) {
        char buf[160];
        ERR_error_string_n(tls, buf, sizeof buf);
        snprintf(why, sizeof why, "TLS: %s", buf);
    } else {
        snprintf(why, sizeof why, "%s",
                 e == EVREQ_HTTP_TIMEOUT ? "timed out"
                 : e == EVREQ_HTTP_DATA_TOO_LONG ? "the answer is too large"
                 : e == EVREQ_HTTP_EOF ? "connection closed (refused, or TLS failed)"
                 : e == EVREQ_HTTP_INVALID_HEADER ? "malformed HTTP answer" : "request failed");
    }
    jwks__failed(s, why);
}

static void jwks__start(rc_jwks_source *s)
{
    if (s->conn)
        return;
    s->last_start_us = rc_now_us();
    s->bev = bufferevent_openssl_socket_new(s->base, -1, jwks__ssl(s), BUFFEREVENT_SSL_CONNECTING,
                                            BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    s->conn = evhttp_connection_base_bufferevent_new(s->base, s->dns, s->bev, s->host,
                                                     (unsigned short)s->port);
    struct timeval tv = {s->cfg.timeout_ms / 1000, (s->cfg.timeout_ms % 1000) * 1000};
    evhttp_connection_set_timeout_tv(s->conn, &tv);
    evhttp_connection_set_retries(s->conn, 0);
    evhttp_connection_set_max_body_size(s->conn, RC_JWKS_MAX_BYTES);
    struct evhttp_request *req = evhttp_request_new(jwks__done, s);
    evhttp_request_set_error_cb(req, jwks__error);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", s->host);
    evhttp_add_header(h, "Accept", "application/jwk-set+json, application/json");
    evhttp_add_header(h, "User-Agent", "roomcast");
    if (evhttp_make_request(s->conn, req, EVHTTP_REQ_GET, s->path) != 0)
        jwks__failed(s, "could not send the request");
}

static void jwks__timer_cb(evutil_socket_t fd, short what, void *arg)
{
    jwks__start(arg);
}

static void jwks__reap_cb(evutil_socket_t fd, short what, void *arg)
{
    rc_jwks_source *s = arg;
    if (s->done_conn)
        evhttp_connection_free(s->done_conn);
    s->done_conn = NULL;
}

/* ---- the source ------------------------------------------------------------------------------ */

static void jwks__metrics(rc_jwks_source *s, rc_metrics *reg, const char *prefix)
{
    char name[128];
    snprintf(name, sizeof name, "%s_jwks_refreshes_total", prefix);
    rc_counter_family *f = rc_counter_family_new(reg, name, "JWKS fetches by outcome", "result");
    s->ok = rc_counter_get(f, "ok");
    s->failed = rc_counter_get(f, "failed");
    snprintf(name, sizeof name, "%s_jwks_keys", prefix);
    s->keys = rc_gauge_new(reg, name, "RS256/ES256 keys in the JWK Set in use");
    snprintf(name, sizeof name, "%s_jwks_last_success_timestamp_seconds", prefix);
    s->last_success = rc_gauge_new(reg, name, "When the JWK Set was last fetched and loaded");
}

int rc_jwks_source_new(struct event_base *base, const rc_jwks_config *cfg, rc_metrics *reg,
                       const char *prefix, rc_jwks_source **out, char *errstr, size_t errlen)
{
    if (rc_jwks_url_check(cfg->url, errstr, errlen) != RC_OK)
        return RC_EINVAL;
    rc_jwks_source *s = rc_calloc(1, sizeof *s);
    s->base = base;
    s->cfg = *cfg;
    s->url = rc_strdup(cfg->url);
    jwks__parse_url(cfg->url, &s->host, &s->port, &s->path);
    unsigned char addr[16];
    s->host_is_ip = inet_pton(AF_INET, s->host, addr) == 1 || inet_pton(AF_INET6, s->host, addr) == 1;
    if (!(s->ssl = jwks__ssl_ctx(cfg->ca_file, errstr, errlen)) ||
        (!s->host_is_ip && !(s->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS)))) {
        if (s->ssl)
            snprintf(errstr, errlen, URL_SETTING ": no DNS configuration to resolve %s", s->host);
        rc_jwks_source_free(s);
        return RC_EINVAL;
    }
    snprintf(s->error, sizeof s->error, "the first fetch has not finished");
    s->timer = evtimer_new(base, jwks__timer_cb, s);
    s->reap = event_new(base, -1, 0, jwks__reap_cb, s);
    jwks__metrics(s, reg, prefix);
    jwks__schedule(s, rc_now_us()); /* now, from the loop */
    *out = s;
    return RC_OK;
}

void rc_jwks_source_free(rc_jwks_source *s)
{
    if (!s)
        return;
    if (s->conn)
        evhttp_connection_free(s->conn);
    if (s->done_conn)
        evhttp_connection_free(s->done_conn);
    if (s->timer)
        event_free(s->timer);
    if (s->reap)
        event_free(s->reap);
    if (s->dns)
        evdns_base_free(s->dns, 0);
    if (s->ssl)
        SSL_CTX_free(s->ssl);
    rc_jwks_free(s->set);
    rc_free(s->url);
    rc_free(s->host);
    rc_free(s->path);
    rc_free(s);
}

/* A token named a kid we do not have: fetch as soon as the rate bound allows. */
static void jwks__want_refresh(rc_jwks_source *s)
{
    if (s->conn)
        return; /* the fetch in flight may well bring it */
    int64_t earliest = s->last_start_us + (int64_t)s->cfg.min_refresh_seconds * 1000000;
    if (earliest < s->next_at_us)
        jwks__schedule(s, earliest);
}

struct evp_pkey_st *rc_jwks_source_lookup(void *ctx, const char *kid, size_t kidlen,
                                          const char *alg)
{
    rc_jwks_source *s = ctx;
    EVP_PKEY *key = NULL;
    rc_jwks_alg a = strcmp(alg, "ES256") == 0 ? RC_JWKS_ES256 : RC_JWKS_RS256;
    int r = rc_jwks_find(s->set, kid, kidlen, a, &key);
    if (r == RC_ENOENT)
        jwks__want_refresh(s);
    return r == RC_OK ? key : NULL;
}

int rc_jwks_source_ready(const rc_jwks_source *s, char *reason, size_t len)
{
    if (s->set)
        return 0;
    snprintf(reason, len, "JWKS not loaded yet from %s: %s", s->url, s->error);
    return -1;
}
