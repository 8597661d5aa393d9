/* upstream.c: the gateway's Kafka producer (see upstream.h). */
#include "gateway/upstream.h"

#include <event2/event.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/kafka.h"
#include "common/log.h"
#include "gateway/kwake.h"

struct gw_upstream {
    rd_kafka_t *rk;
    rd_kafka_queue_t *main_q;
    gw_kwake *wake;
    struct event *tick;
    rc_counter *sent, *failed, *queue_full;
};

typedef struct {
    gw_upstream_done_fn done;
    void *arg;
} gw__ticket;

static void gw__dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    gw_upstream *u = opaque;
    gw__ticket *t = m->_private;
    if (m->err) {
        rc_counter_inc(u->failed);
        rc_log_limited(RC_LOG_WARN, "upstream event not delivered", "{s:s,s:s}", "topic",
                       rd_kafka_topic_name(m->rkt), "error", rd_kafka_err2str(m->err));
    } else {
        rc_counter_inc(u->sent);
    }
    if (t) {
        if (t->done)
            t->done(t->arg, m->err ? rd_kafka_err2str(m->err) : NULL);
        rc_free(t);
    }
}

static void gw__up_wake(void *arg)
{
    gw_upstream *u = arg;
    rd_kafka_poll(u->rk, 0);
}

static void gw__up_tick(evutil_socket_t fd, short what, void *arg)
{
    gw__up_wake(arg);
}

gw_upstream *gw_upstream_new(struct event_base *base, const char *brokers, const char *client_id,
                             const gw_upstream_limits *lim, rc_metrics *metrics, char *errstr,
                             size_t errlen)
{
    gw_upstream *u = rc_calloc(1, sizeof *u);
    rd_kafka_conf_t *conf = rc_kafka_conf_new(brokers, client_id);
    rc_kafka_producer_defaults(conf);
    rc_kafka_set(conf, "linger.ms", "2");
    rc_kafka_set(conf, "message.timeout.ms", "10000");
    char n[32];
    snprintf(n, sizeof n, "%ld", lim->queue_messages);
    rc_kafka_set(conf, "queue.buffering.max.messages", n);
    snprintf(n, sizeof n, "%ld", (lim->queue_bytes + 1023) / 1024);
    rc_kafka_set(conf, "queue.buffering.max.kbytes", n);
    rd_kafka_conf_set_dr_msg_cb(conf, gw__dr_cb);
    rd_kafka_conf_set_opaque(conf, u);
    u->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errlen);
    if (!u->rk) {
        rd_kafka_conf_destroy(conf);
        rc_free(u);
        return NULL;
    }
    u->main_q = rd_kafka_queue_get_main(u->rk);
    u->wake = gw_kwake_new(base, u->main_q, gw__up_wake, u);
    /* rd_kafka_poll serves a bounded number of events: a slow tick catches anything left */
    u->tick = event_new(base, -1, EV_PERSIST, gw__up_tick, u);
    struct timeval tv = {0, 250000};
    event_add(u->tick, &tv);
    rc_counter_family *f = rc_counter_family_new(metrics, "roomcast_gateway_upstream_events_total",
                                                 "Events the gateway produced to Kafka", "result");
    u->sent = rc_counter_get(f, "delivered");
    u->failed = rc_counter_get(f, "failed");
    u->queue_full = rc_counter_get(f, "queue_full");
    return u;
}

int gw_upstream_send(gw_upstream *u, const char *topic, const char *key, uint8_t *bytes,
                     size_t len, gw_upstream_done_fn done, void *arg)
{
    gw__ticket *t = NULL;
    if (done) {
        t = rc_malloc(sizeof *t);
        t->done = done;
        t->arg = arg;
    }
    rd_kafka_resp_err_t err = rd_kafka_producev(
        u->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
        RD_KAFKA_V_VALUE(bytes, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE),
        RD_KAFKA_V_OPAQUE(t), RD_KAFKA_V_END);
    if (err) {
        rc_counter_inc(err == RD_KAFKA_RESP_ERR__QUEUE_FULL ? u->queue_full : u->failed);
        rc_free(bytes);
        if (t) {
            done(arg, rd_kafka_err2str(err));
            rc_free(t);
        }
        return RC_EIO;
    }
    return 0;
}

void gw_upstream_free(gw_upstream *u)
{
    if (!u)
        return;
    rd_kafka_flush(u->rk, 3000);
    gw_kwake_free(u->wake);
    rd_kafka_poll(u->rk, 0);
    event_free(u->tick);
    rd_kafka_queue_destroy(u->main_q);
    rd_kafka_destroy(u->rk);
    rc_free(u);
}
