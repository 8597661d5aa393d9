/* kproduce.c: roomcast-kproduce, the benchmark's backend for roomcast: writes the events
 * of each scenario to Kafka as a backend service (or `roomcast emit`) would, stamping
 * each with its produce time (Unix µs, in the payload as "t" and in RoomEvent
 * produced_at_us) so the load generator can measure produce -> receipt.
 *
 * Commands on stdin, one per line:
 *   credit N         N RoomEvents for room chat-<--room> on the room topic, at once
 *                    (scenario 1, paced by the caller: it gives credit as the clients
 *                    receive); --room '*' sends them to every socket (scenario 6)
 *   rate R S CHATS [direct] [audit]
 *                    chat.message_created DomainEvents on domain.chat at R a second for
 *                    S seconds, on chats c0..c(CHATS-1) picked at random, participants
 *                    u(j) and u(j+1 mod CHATS) (scenario 2, through the fanout); with
 *                    `direct`, the RoomEvents the fanout would make of each (chat-c(j),
 *                    user-u(j), user-u(j+1), each with the full room list) written straight
 *                    to the room topic, as the backend emitter and `roomcast emit` do.
 *                    Open loop: event i is due at start + i/R, and "t" is that due time,
 *                    not the send time, so a producer held up by the system under test
 *                    shows as latency (no coordinated omission). With `audit`, event
 *                    m<seq> goes to chat bench_chat_of(seq, CHATS) (bench/chat.h), so
 *                    the load generator can tell which events each client was owed
 *                    (scenario 6); "done" names the first and last seq either way.
 *   flood N ROOMS    N RoomEvents for rooms nobody-0..ROOMS-1 as fast as librdkafka takes
 *                    them (scenario 5: rooms with no member on the gateway)
 *   read N PARTS     consume N room events from the start of the room topic's PARTS
 *                    partitions with the gateway's consumer settings, and nothing else
 *                    (scenario 6: what one more reading gateway costs the broker)
 *   quit             (or end of input) flush and exit
 * rate and flood answer with one JSON line {"type":"done",...} once every message is
 * acknowledged by the broker; read once it has consumed N. */
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/chat.h"
#include "common/kafka.h"
#include "roomcast/v1/events.pb-c.h"

static struct {
    const char *brokers, *prefix, *room;
    rd_kafka_t *rk;
    char rooms_topic[256], chat_topic[256];
    long failed, seq;
} P;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    if (m->err && !P.failed++)
        fprintf(stderr, "roomcast-kproduce: %s\n", rd_kafka_err2str(m->err));
}

/* Produces, waiting for queue room if librdkafka's buffer is full. */
static void send_msg(const char *topic, const char *key, const void *val, size_t len)
{
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            P.rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
            RD_KAFKA_V_VALUE((void *)val, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_END);
        if (!err)
            return;
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            fprintf(stderr, "roomcast-kproduce: %s\n", rd_kafka_err2str(err));
            exit(1);
        }
        rd_kafka_poll(P.rk, 5);
    }
}

/* One RoomEvent copy for room (one of rooms[0..nrooms)), keyed by it. */
static void room_copy(const char *id, const char *room, char **rooms, size_t nrooms,
                      const char *event, const char *args)
{
    Roomcast__V1__RoomEvent m = ROOMCAST__V1__ROOM_EVENT__INIT;
    m.id = (char *)id;
    m.room = (char *)room;
    m.rooms = rooms;
    m.n_rooms = nrooms;
    m.event = (char *)event;
    m.args_json = (char *)args;
    m.produced_at_us = now_us();
    uint8_t buf[2048];
    size_t n = roomcast__v1__room_event__get_packed_size(&m);
    if (n > sizeof buf)
        abort();
    roomcast__v1__room_event__pack(&m, buf);
    send_msg(P.rooms_topic, room, buf, n);
}

static void room_event(const char *room, const char *event, const char *args)
{
    char id[32];
    snprintf(id, sizeof id, "b%ld", P.seq++);
    char *rooms[1] = {(char *)room};
    room_copy(id, room, rooms, 1, event, args);
}

static void cmd_credit(long n)
{
    char args[256];
    for (long i = 0; i < n; i++) {
        snprintf(args, sizeof args,
                 "[{\"chatId\":\"%s\",\"text\":\"hello from the benchmark\",\"t\":%lld}]", P.room,
                 (long long)now_us());
        char room[128];
        snprintf(room, sizeof room, strcmp(P.room, "*") ? "chat-%s" : "%s", P.room);
        room_event(room, "chat:new-message", args);
    }
    rd_kafka_poll(P.rk, 0);
}

/* One chat message on chat c(j) of chats, stamped t (its due time): a DomainEvent for
 * the fanout, or with direct the fanout's three RoomEvents. */
static void chat_event(long chats, int64_t t, int direct, int audit)
{
    long j = audit ? (long)bench_chat_of((uint64_t)P.seq, (uint64_t)chats) : random() % chats;
    char id[32], chat[32], payload[512];
    snprintf(id, sizeof id, "m%ld", P.seq++);
    snprintf(chat, sizeof chat, "c%ld", j);
    if (direct) {
        char r0[40], r1[40], r2[40], args[512];
        snprintf(r0, sizeof r0, "chat-c%ld", j);
        snprintf(r1, sizeof r1, "user-u%ld", j);
        snprintf(r2, sizeof r2, "user-u%ld", (j + 1) % chats);
        char *rooms[3] = {r0, r1, r2};
        snprintf(args, sizeof args,
                 "[{\"id\":\"%s\",\"chatId\":\"%s\",\"participantIds\":[\"u%ld\",\"u%ld\"],"
                 "\"text\":\"hello from the benchmark\",\"t\":%lld}]",
                 id, chat, j, (j + 1) % chats, (long long)t);
        for (int k = 0; k < 3; k++)
            room_copy(id, rooms[k], rooms, 3, "chat:new-message", args);
        return;
    }
    snprintf(payload, sizeof payload,
             "{\"message\":{\"id\":\"%s\",\"chatId\":\"%s\",\"participantIds\":[\"u%ld\",\"u%ld\"],"
             "\"text\":\"hello from the benchmark\",\"t\":%lld}}",
             id, chat, j, (j + 1) % chats, (long long)t);
    Roomcast__V1__DomainEvent m = ROOMCAST__V1__DOMAIN_EVENT__INIT;
    m.id = id;
    m.type = "chat.message_created";
    m.aggregate_id = chat;
    m.occurred_at_ms = t / 1000;
    m.payload_json = payload;
    m.producer = "roomcast-kproduce";
    uint8_t buf[2048];
    size_t n = roomcast__v1__domain_event__get_packed_size(&m);
    roomcast__v1__domain_event__pack(&m, buf);
    send_msg(P.chat_topic, chat, buf, n);
}

/* After n events numbered up to P.seq - 1. */
static void done(const char *what, long n, int64_t start)
{
    rd_kafka_flush(P.rk, 60000);
    double secs = (double)(now_us() - start) / 1e6;
    printf("{\"type\":\"done\",\"what\":\"%s\",\"produced\":%ld,\"failed\":%ld,\"seconds\":%.3f,"
           "\"per_s\":%.1f,\"first_seq\":%ld,\"last_seq\":%ld}\n",
           what, n, P.failed, secs, secs > 0 ? (double)n / secs : 0, P.seq - n, P.seq - 1);
    fflush(stdout);
}

/* Paced by the wall clock: event i is due at start + i/R seconds. */
static void cmd_rate(long rate, long secs, long chats, int direct, int audit)
{
    int64_t start = now_us();
    long total = rate * secs;
    for (long i = 0; i < total; i++) {
        int64_t due = start + (int64_t)((double)i * 1e6 / (double)rate);
        int64_t wait = due - now_us();
        if (wait > 200) {
            rd_kafka_poll(P.rk, 0);
            struct timespec ts = {0, (long)wait * 1000};
            nanosleep(&ts, NULL);
        }
        chat_event(chats, due, direct, audit);
    }
    done("rate", total, start);
}

static void cmd_flood(long n, long rooms)
{
    int64_t start = now_us();
    char room[64];
    for (long i = 0; i < n; i++) {
        snprintf(room, sizeof room, "nobody-%ld", i % rooms);
        room_event(room, "chat:new-message", "[{\"chatId\":\"x\",\"text\":\"nobody is here\"}]");
        if (i % 1000 == 0)
            rd_kafka_poll(P.rk, 0);
    }
    done("flood", n, start);
}

static void cmd_read(long n, int parts)
{
    char err[512];
    rd_kafka_conf_t *conf = rc_kafka_reader_conf_new(P.brokers, "roomcast-kproduce-reader");
    rc_kafka_set(conf, "fetch.wait.max.ms", "100"); /* as gateway/delivery.c */
    rc_kafka_set(conf, "queued.max.messages.kbytes", "65536");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "roomcast-kproduce: %s\n", err);
        exit(1);
    }
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(parts);
    for (int p = 0; p < parts; p++)
        rd_kafka_topic_partition_list_add(list, P.rooms_topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    int64_t start = now_us();
    long got = 0, bytes = 0;
    while (got < n) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 1000);
        if (!m)
            continue;
        if (!m->err) {
            got++;
            bytes += (long)m->len;
        }
        rd_kafka_message_destroy(m);
    }
    double secs = (double)(now_us() - start) / 1e6;
    printf("{\"type\":\"done\",\"what\":\"read\",\"consumed\":%ld,\"bytes\":%ld,\"seconds\":%.3f}\n", got,
           bytes, secs);
    fflush(stdout);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"brokers", 1, 0, 'b'},
                                         {"prefix", 1, 0, 'p'},
                                         {"room", 1, 0, 'r'},
                                         {"linger", 1, 0, 'l'},
                                         {0, 0, 0, 0}};
    const char *linger = "1";
    int o;
    P.prefix = "";
    P.room = "bench";
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'b': P.brokers = optarg; break;
        case 'p': P.prefix = optarg; break;
        case 'r': P.room = optarg; break;
        case 'l': linger = optarg; break;
        default:
            fprintf(stderr, "usage: roomcast-kproduce --brokers B [--prefix P] [--room R] "
                            "[--linger MS] (commands on stdin)\n");
            return 2;
        }
    }
    if (!P.brokers)
        P.brokers = "localhost:9092";
    rd_kafka_conf_t *conf = rc_kafka_conf_new(P.brokers, "roomcast-kproduce");
    rc_kafka_producer_defaults(conf);
    rc_kafka_set(conf, "linger.ms", linger);
    rc_kafka_set(conf, "queue.buffering.max.messages", "1000000");
    rc_kafka_set(conf, "batch.num.messages", "10000");
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    char err[512];
    P.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!P.rk) {
        fprintf(stderr, "roomcast-kproduce: %s\n", err);
        return 1;
    }
    rc_kafka_topic(P.prefix, RC_TOPIC_ROOMS, P.rooms_topic, sizeof P.rooms_topic);
    rc_kafka_topic(P.prefix, "domain.chat", P.chat_topic, sizeof P.chat_topic);
    srandom(42);
    char line[256];
    long a, b, c;
    while (fgets(line, sizeof line, stdin)) {
        if (sscanf(line, "credit %ld", &a) == 1)
            cmd_credit(a);
        else if (sscanf(line, "rate %ld %ld %ld", &a, &b, &c) == 3 && a > 0 && c > 1)
            cmd_rate(a, b, c, strstr(line, "direct") != NULL, strstr(line, "audit") != NULL);
        else if (sscanf(line, "flood %ld %ld", &a, &b) == 2 && b > 0)
            cmd_flood(a, b);
        else if (sscanf(line, "read %ld %ld", &a, &b) == 2 && b > 0 && b <= 1024)
            cmd_read(a, (int)b);
        else if (!strncmp(line, "quit", 4))
            break;
    }
    rd_kafka_flush(P.rk, 30000);
    rd_kafka_destroy(P.rk);
    return P.failed ? 1 : 0;
}
