/* cmd_produce.c: `roomcast produce TOPIC [KEY]` writes the bytes read from stdin as one
 * message to TOPIC (prefixed), unchanged: how an operator replays a dead letter, and how
 * tests write bytes that `publish` would refuse. With --lines, every stdin line
 * "KEY<TAB>HEX" is one message, produced in a batch (fast, idempotent, all acknowledged
 * before it exits). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/alloc.h"
#include "common/kafka.h"

static int cli__hex(const char *s, size_t n, uint8_t *out)
{
    if (n % 2)
        return -1;
    for (size_t i = 0; i < n; i += 2) {
        int v = 0;
        for (int k = 0; k < 2; k++) {
            char c = (char)tolower((unsigned char)s[i + k]);
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (d < 0)
                return -1;
            v = v * 16 + d;
        }
        out[i / 2] = (uint8_t)v;
    }
    return 0;
}

static long g_failed;
static void cli__lines_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    if (m->err) {
        if (!g_failed)
            fprintf(stderr, "roomcast: %s\n", rd_kafka_err2str(m->err));
        g_failed++;
    }
}

static int cli__produce_lines(const cli_settings *s, const char *topic)
{
    rd_kafka_t *rk = cli_producer_new(s, "5", cli__lines_dr);
    if (!rk)
        return 1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long count = 0, lineno = 0;
    int rc = 0;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        lineno++;
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        char *tab = strchr(line, '\t');
        if (!tab) {
            fprintf(stderr, "roomcast: line %ld: want KEY<TAB>HEX\n", lineno);
            rc = 2;
            break;
        }
        size_t hexlen = (size_t)(line + n - (tab + 1));
        uint8_t *val = rc_malloc(hexlen / 2 + 1);
        if (cli__hex(tab + 1, hexlen, val)) {
            fprintf(stderr, "roomcast: line %ld: the value is not hex\n", lineno);
            rc_free(val);
            rc = 2;
            break;
        }
        rd_kafka_resp_err_t err;
        while ((err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
                                        RD_KAFKA_V_KEY(line, (size_t)(tab - line)),
                                        RD_KAFKA_V_VALUE(val, hexlen / 2),
                                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE), RD_KAFKA_V_END)) ==
               RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(rk, 50);
        if (err) {
            fprintf(stderr, "roomcast: %s\n", rd_kafka_err2str(err));
            rc_free(val);
            rc = 1;
            break;
        }
        count++;
        rd_kafka_poll(rk, 0);
    }
    free(line);
    rd_kafka_flush(rk, 60000);
    if (rd_kafka_outq_len(rk) > 0 && !rc) {
        fprintf(stderr, "roomcast: %d messages were not acknowledged within 60 s\n",
                rd_kafka_outq_len(rk));
        rc = 1;
    }
    rd_kafka_destroy(rk);
    if (g_failed && !rc)
        rc = 1;
    printf("{\"topic\":\"%s\",\"produced\":%ld,\"failed\":%ld}\n", topic, count, g_failed);
    return rc;
}

int cli_cmd_produce(const cli_settings *s, int argc, char **argv)
{
    static const char *const bools[] = {"lines", NULL};
    cli_flags f;
    if (cli_flags_parse(argc, argv, NULL, bools, &f))
        return 2;
    int lines = cli_flag(&f, "lines") != NULL;
    if (f.npositional < 1 || f.npositional > (lines ? 1 : 2)) {
        fprintf(stderr, "usage: roomcast produce TOPIC [KEY] < VALUE\n"
                        "       roomcast produce TOPIC --lines < KEY<TAB>HEX lines\n");
        return 2;
    }
    char topic[256];
    rc_kafka_topic(s->topic_prefix, f.positional[0], topic, sizeof topic);
    if (lines)
        return cli__produce_lines(s, topic);
    size_t cap = 1 << 16, len = 0, n;
    uint8_t *buf = rc_malloc(cap);
    while ((n = fread(buf + len, 1, cap - len, stdin)) > 0) {
        len += n;
        if (len == cap) {
            if (cap >= (64u << 20)) {
                fprintf(stderr, "roomcast: the value is larger than 64 MiB\n");
                rc_free(buf);
                return 2;
            }
            buf = rc_realloc(buf, cap *= 2);
        }
    }
    int rc = cli_produce_one(s, topic, f.npositional > 1 ? f.positional[1] : NULL, buf, len, NULL);
    rc_free(buf);
    return rc;
}
