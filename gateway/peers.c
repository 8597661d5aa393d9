/* peers.c: discovery of the cluster's gateways over Kafka (see peers.h).
 *
 * An announcement is `<json>.<mac>`: compact JSON {"v":1,"advertise","gateway","boot",
 * "state":"up"|"down"} and base64url HMAC-SHA256 of the JSON with the peers key. Its time
 * is the message's broker timestamp (LogAppendTime on a topic `roomcast topics create`
 * made; the producer's clock otherwise). The peer table keeps each address's latest
 * announcement, GW_PEERS_MAX addresses at most. A deployment older than the topic gets
 * it from its first gateway, if the gateway's Kafka user may create topics; else the
 * gateways stay unready and say why. */
#include "gateway/peers.h"

#include <event2/event.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/b64url.h"
#include "common/hmac.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/map.h"
#include "gateway/engine.h"
#include "gateway/kwake.h"
#include "gateway/sid.h"

#define GW_PEERS_TAIL 1000   /* announcements read back per partition at start */
#define GW_PEERS_BATCH 256   /* announcements handled per wake-up */
#define GW_PEERS_MAX 10000   /* addresses remembered at most */
#define GW_PEERS_MAC 43      /* base64url of 32 bytes */

typedef struct {
    char advertise[GW_SID_OWNER_MAX + 1]; /* the map's key */
    int64_t at_ms;                        /* its latest announcement's time */
    int up;
} gw_peer;

struct gw_peers {
    gw_upstream *up;
    rd_kafka_t *rk;
    rd_kafka_queue_t *q;
    gw_kwake *wake;
    struct event *tick;
    char *topic, *advertise, *gateway_id;
    uint8_t key[32];
    char boot[24];
    long interval_ms;
    int assigned;
    int missing_logged;
    rd_kafka_queue_t *create_q; /* a CreateTopics of the missing topic, in flight */
    int self_seen;
    int64_t newest_ms; /* the newest announcement read */
    rc_map *peers;
    rc_counter *valid, *invalid;
};

static int64_t gw__peers_ttl(const gw_peers *p)
{
    return 3 * (int64_t)p->interval_ms + 1000;
}

static void gw__peers_mac(const gw_peers *p, const char *json, size_t len, char out[GW_PEERS_MAC + 1])
{
    uint8_t mac[32];
    rc_hmac_sha256(p->key, 32, json, len, mac);
    *rc_b64url_encode(mac, sizeof mac, out) = '\0';
}

static void gw__peers_announce(gw_peers *p, const char *state)
{
    json_t *o = json_pack("{s:i,s:s,s:s,s:s,s:s}", "v", 1, "advertise", p->advertise, "gateway",
                          p->gateway_id, "boot", p->boot, "state", state);
    char *json = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    size_t jl = strlen(json);
    uint8_t *value = rc_malloc(jl + 1 + GW_PEERS_MAC + 1);
    memcpy(value, json, jl);
    value[jl] = '.';
    gw__peers_mac(p, json, jl, (char *)value + jl + 1);
    free(json);
    gw_upstream_send(p->up, p->topic, p->advertise, value, jl + 1 + GW_PEERS_MAC, NULL, NULL);
}

/* ---- reading ------------------------------------------------------------------------------ */

static void gw__peers_oldest(const char *key, size_t len, void *value, void *ctx)
{
    gw_peer *peer = value, **oldest = ctx;
    if (!*oldest || peer->at_ms < (*oldest)->at_ms)
        *oldest = peer;
}

static void gw__peers_record(gw_peers *p, const char *advertise, int up, int64_t at_ms)
{
    gw_peer *peer = rc_map_get(p->peers, advertise, strlen(advertise));
    if (!peer) {
        if (rc_map_size(p->peers) >= GW_PEERS_MAX) { /* forget the longest silent */
            gw_peer *oldest = NULL;
            rc_map_each(p->peers, gw__peers_oldest, &oldest);
            rc_map_del(p->peers, oldest->advertise, strlen(oldest->advertise));
            rc_free(oldest);
        }
        peer = rc_calloc(1, sizeof *peer);
        snprintf(peer->advertise, sizeof peer->advertise, "%s", advertise);
        rc_map_put(p->peers, peer->advertise, strlen(peer->advertise), peer);
    }
    if (at_ms >= peer->at_ms) {
        peer->at_ms = at_ms;
        peer->up = up;
    }
}

static void gw__peers_message(gw_peers *p, const rd_kafka_message_t *m)
{
    const char *v = m->payload;
    const char *dot = v && m->len > GW_PEERS_MAC ? v + m->len - GW_PEERS_MAC - 1 : NULL;
    char mac[GW_PEERS_MAC + 1];
    json_t *o = NULL;
    if (dot && *dot == '.') {
        gw__peers_mac(p, v, (size_t)(dot - v), mac);
        if (CRYPTO_memcmp(mac, dot + 1, GW_PEERS_MAC) == 0)
            o = json_loadb(v, (size_t)(dot - v), 0, NULL);
    }
    const char *adv = NULL, *boot = NULL, *state = NULL;
    if (!o || json_unpack(o, "{s:s,s:s,s:s}", "advertise", &adv, "boot", &boot, "state", &state) ||
        strlen(adv) > GW_SID_OWNER_MAX) {
        rc_counter_inc(p->invalid);
        rc_log_limited(RC_LOG_WARN, "peer announcement refused: not signed with this cluster's key",
                       "{s:s}", "topic", p->topic);
        json_decref(o);
        return;
    }
    rc_counter_inc(p->valid);
    rd_kafka_timestamp_type_t tt;
    int64_t at = rd_kafka_message_timestamp(m, &tt);
    if (at < 0)
        at = rc_now_us() / 1000;
    if (at > p->newest_ms)
        p->newest_ms = at;
    gw__peers_record(p, adv, !strcmp(state, "up"), at);
    if (!strcmp(boot, p->boot) && !p->self_seen) {
        p->self_seen = 1;
        rc_log_info("peers known", "{s:s,s:I}", "topic", p->topic, "addresses",
                    (json_int_t)rc_map_size(p->peers));
    }
    json_decref(o);
}

static void gw__peers_wake(void *arg)
{
    gw_peers *p = arg;
    rd_kafka_message_t *batch[GW_PEERS_BATCH];
    ssize_t n = rd_kafka_consume_batch_queue(p->q, 0, batch, GW_PEERS_BATCH);
    for (ssize_t i = 0; i < n; i++) {
        if (!batch[i]->err)
            gw__peers_message(p, batch[i]);
        else if (batch[i]->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            rc_log_limited(RC_LOG_WARN, "peers topic consume error", "{s:s}", "error",
                           rd_kafka_message_errstr(batch[i]));
        rd_kafka_message_destroy(batch[i]);
    }
    if (n == GW_PEERS_BATCH)
        gw_kwake_again(p->wake);
}

/* Assigns every partition of the topic from its last announcements; only until it is
   found (a metadata request on the loop thread, with a short timeout). */
static void gw__peers_assign(gw_peers *p)
{
    const struct rd_kafka_metadata *md;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(p->rk, p->topic, NULL);
    rd_kafka_resp_err_t err = rd_kafka_metadata(p->rk, 0, rkt, &md, 300);
    rd_kafka_topic_destroy(rkt);
    if (err)
        return;
    if (md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > 0) {
        int32_t n = md->topics[0].partition_cnt;
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(n);
        for (int32_t i = 0; i < n; i++)
            rd_kafka_topic_partition_list_add(parts, p->topic, i)->offset =
                RD_KAFKA_OFFSET_TAIL(GW_PEERS_TAIL);
        if (!rd_kafka_assign(p->rk, parts))
            p->assigned = n;
        rd_kafka_topic_partition_list_destroy(parts);
    } else if (!p->missing_logged) {
        /* a deployment older than the topic: make it, as `roomcast topics create` would
           (the broker's replication factor), if the gateway's Kafka user may */
        p->missing_logged = 1;
        rc_log_warn("peers topic not found: creating it (relays between gateways wait for it)",
                    "{s:s}", "topic", p->topic);
        char why[256];
        rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(p->topic, 1, -1, why, sizeof why);
        if (nt) {
            rd_kafka_NewTopic_set_config(nt, "message.timestamp.type", "LogAppendTime");
            rd_kafka_NewTopic_set_config(nt, "retention.ms", "3600000");
            p->create_q = rd_kafka_queue_new(p->rk);
            rd_kafka_CreateTopics(p->rk, &nt, 1, NULL, p->create_q);
            rd_kafka_NewTopic_destroy(nt);
        }
    }
    rd_kafka_metadata_destroy(md);
}

/* The answer to gw__peers_assign's CreateTopics, when it has come. */
static void gw__peers_created(gw_peers *p)
{
    rd_kafka_event_t *ev = p->create_q ? rd_kafka_queue_poll(p->create_q, 0) : NULL;
    if (!ev)
        return;
    size_t n = 0;
    const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
    const rd_kafka_topic_result_t **t = res ? rd_kafka_CreateTopics_result_topics(res, &n) : NULL;
    rd_kafka_resp_err_t err = rd_kafka_event_error(ev) ? rd_kafka_event_error(ev)
                              : n                     ? rd_kafka_topic_result_error(t[0])
                                                      : RD_KAFKA_RESP_ERR_NO_ERROR;
    if (err && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        rc_log_error("peers topic could not be created: run roomcast topics create", "{s:s,s:s}",
                     "topic", p->topic, "error", rd_kafka_err2str(err));
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(p->create_q);
    p->create_q = NULL;
}

static void gw__peers_tick(evutil_socket_t fd, short what, void *arg)
{
    gw_peers *p = arg;
    rd_kafka_poll(p->rk, 0);
    gw__peers_created(p);
    if (!p->assigned)
        gw__peers_assign(p);
    gw__peers_announce(p, "up");
}

/* ---- the table ----------------------------------------------------------------------------- */

int gw_peers_known(void *ctx, const char *advertise)
{
    gw_peers *p = ctx;
    gw_peer *peer = rc_map_get(p->peers, advertise, strlen(advertise));
    return peer && peer->up && peer->at_ms >= p->newest_ms - gw__peers_ttl(p);
}

int gw_peers_ready(const gw_peers *p, char *reason, size_t len)
{
    if (p->self_seen)
        return 1;
    snprintf(reason, len, "peers topic %s: this gateway's announcement not read back yet%s",
             p->topic, p->assigned ? "" : " (does the topic exist?)");
    return 0;
}

typedef struct {
    const gw_peers *p;
    double n;
} gw__count;

static void gw__peers_count_one(const char *k, size_t l, void *v, void *ctx)
{
    gw__count *c = ctx;
    c->n += gw_peers_known((void *)c->p, ((gw_peer *)v)->advertise);
}

static double gw__peers_count(void *ctx)
{
    gw__count c = {ctx, 0};
    rc_map_each(((gw_peers *)ctx)->peers, gw__peers_count_one, &c);
    return c.n;
}

gw_peers *gw_peers_new(struct event_base *base, const gw_peers_config *cfg, gw_upstream *up,
                       rc_metrics *metrics, char *errstr, size_t errlen)
{
    gw_peers *p = rc_calloc(1, sizeof *p);
    rd_kafka_conf_t *conf = rc_kafka_reader_conf_new(cfg->brokers, cfg->client_id);
    rc_kafka_set(conf, "fetch.wait.max.ms", "100");
    p->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errlen);
    if (!p->rk) {
        rd_kafka_conf_destroy(conf);
        rc_free(p);
        return NULL;
    }
    p->up = up;
    p->topic = rc_strdup(cfg->topic);
    p->advertise = rc_strdup(cfg->advertise);
    p->gateway_id = rc_strdup(cfg->gateway_id);
    memcpy(p->key, cfg->key, 32);
    p->interval_ms = cfg->interval_ms;
    gw_random_id(p->boot);
    p->peers = rc_map_new();
    p->q = rd_kafka_queue_get_consumer(p->rk);
    p->wake = gw_kwake_new(base, p->q, gw__peers_wake, p);
    rc_counter_family *ann = rc_counter_family_new(
        metrics, "roomcast_gateway_peer_announcements_total",
        "Gateway announcements read from the peers topic, valid or refused (not signed with "
        "this cluster's key)",
        "result");
    p->valid = rc_counter_get(ann, "valid");
    p->invalid = rc_counter_get(ann, "invalid");
    rc_gauge_fn_new(metrics, "roomcast_gateway_peers",
                    "Gateways of this cluster known now (relays go only to them), this one included",
                    gw__peers_count, p);
    p->tick = event_new(base, -1, EV_PERSIST, gw__peers_tick, p);
    struct timeval tv = {cfg->interval_ms / 1000, (cfg->interval_ms % 1000) * 1000};
    event_add(p->tick, &tv);
    gw__peers_assign(p);
    gw__peers_announce(p, "up");
    return p;
}

static void gw__peers_free_one(const char *k, size_t l, void *v, void *ctx)
{
    rc_free(v);
}

void gw_peers_free(gw_peers *p)
{
    if (!p)
        return;
    gw__peers_announce(p, "down");
    gw_kwake_free(p->wake);
    event_free(p->tick);
    if (p->create_q)
        rd_kafka_queue_destroy(p->create_q);
    rd_kafka_queue_destroy(p->q);
    rd_kafka_consumer_close(p->rk);
    rd_kafka_destroy(p->rk);
    rc_map_each(p->peers, gw__peers_free_one, NULL);
    rc_map_free(p->peers);
    rc_free(p->topic);
    rc_free(p->advertise);
    rc_free(p->gateway_id);
    rc_free(p);
}
