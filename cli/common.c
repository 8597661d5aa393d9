/* common.c: settings, flags and the one-message producer shared by the subcommands. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/alloc.h"
#include "common/config.h"
#include "common/kafka.h"

static rc_cfg_item *cli__items(cli_settings *s, size_t *n)
{
    static rc_cfg_item items[8 + RC_KSEC_ITEMS];
    rc_cfg_item tmpl[] = {
        {"ROOMCAST_KAFKA_BROKERS", RC_CFG_HOSTPORTS, "localhost:9092", &s->brokers, 0, 0, NULL,
         "Kafka bootstrap servers"},
        {"ROOMCAST_TOPIC_PREFIX", RC_CFG_STRING, "", &s->topic_prefix, 0, 0, NULL,
         "prepended to every topic name"},
        {"ROOMCAST_JWT_SECRET", RC_CFG_STRING, NULL, &s->jwt_secret, 0, 0, NULL, "HS256 key"},
        {"ROOMCAST_JWT_PUBLIC_KEY_FILE", RC_CFG_FILE, NULL, &s->jwt_public_key_file, 0, 0, NULL,
         "PEM public key (RS256/ES256)"},
        {"ROOMCAST_JWT_PRIVATE_KEY_FILE", RC_CFG_FILE, NULL, &s->jwt_private_key_file, 0, 0, NULL,
         "PEM private key for `roomcast token` (RS256/ES256)"},
        {"ROOMCAST_JWT_ISSUER", RC_CFG_STRING, NULL, &s->jwt_issuer, 0, 0, NULL, "iss"},
        {"ROOMCAST_JWT_AUDIENCE", RC_CFG_STRING, NULL, &s->jwt_audience, 0, 0, NULL, "aud"},
        {"ROOMCAST_ROUTES_FILE", RC_CFG_FILE, NULL, &s->routes_file, 0, 0, NULL, "routing table"},
    };
    _Static_assert(RC_ARRAY_LEN(tmpl) + RC_KSEC_ITEMS <= RC_ARRAY_LEN(items), "grow items");
    memcpy(items, tmpl, sizeof tmpl);
    *n = sizeof tmpl / sizeof tmpl[0];
    rc_ksec_items(&s->kafka_security, items + *n); /* the Kafka security rows, shared */
    *n += RC_KSEC_ITEMS;
    return items;
}

int cli_settings_load(cli_settings *s)
{
    memset(s, 0, sizeof *s);
    size_t n;
    rc_cfg_item *items = cli__items(s, &n);
    char err[RC_ERRSTR_LEN];
    char *argv0[] = {"roomcast", NULL};
    if (rc_config_load(items, n, 1, argv0, err, sizeof err) != RC_OK ||
        rc_ksec_load(&s->kafka_security, err, sizeof err) != RC_OK) {
        fprintf(stderr, "roomcast: %s\n", err);
        return 2;
    }
    if (!rc_kafka_prefix_valid(s->topic_prefix)) {
        fprintf(stderr, "roomcast: ROOMCAST_TOPIC_PREFIX: \"%s\" has characters Kafka does not allow "
                        "in topic names (use letters, digits, . _ -)\n", s->topic_prefix);
        return 2;
    }
    return 0;
}

void cli_settings_free(cli_settings *s)
{
    size_t n;
    rc_cfg_item *items = cli__items(s, &n);
    rc_config_free_strings(items, n);
    rc_ksec_reset();
}

static int cli__in(const char *const *list, const char *name, size_t len)
{
    for (; list && *list; list++)
        if (strlen(*list) == len && strncmp(*list, name, len) == 0)
            return 1;
    return 0;
}

int cli_flags_parse(int argc, char **argv, const char *const *spec, const char *const *bool_flags,
                    cli_flags *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            if (out->npositional == (int)RC_ARRAY_LEN(out->positional)) {
                fprintf(stderr, "roomcast: too many arguments\n");
                return 2;
            }
            out->positional[out->npositional++] = a;
            continue;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t nl = eq ? (size_t)(eq - name) : strlen(name);
        int is_bool = cli__in(bool_flags, name, nl);
        if (!is_bool && !cli__in(spec, name, nl)) {
            fprintf(stderr, "roomcast: unknown flag --%.*s\n", (int)nl, name);
            return 2;
        }
        const char *v = "";
        if (!is_bool) {
            v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v) {
                fprintf(stderr, "roomcast: --%.*s needs a value\n", (int)nl, name);
                return 2;
            }
        }
        if (out->count == 16)
            return 2;
        out->names[out->count] = name;
        out->values[out->count++] = v;
    }
    return 0;
}

const char *cli_flag(const cli_flags *f, const char *name)
{
    size_t nl = strlen(name);
    for (int i = 0; i < f->count; i++)
        if (strncmp(f->names[i], name, nl) == 0 && (f->names[i][nl] == '\0' || f->names[i][nl] == '='))
            return f->values[i];
    return NULL;
}

int cli_flag_long(const cli_flags *f, const char *name, long def, long min, long max, long *out)
{
    const char *v = cli_flag(f, name);
    if (!v) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < min || n > max) {
        fprintf(stderr, "roomcast: --%s: \"%s\" is not a whole number from %ld to %ld\n", name, v,
                min, max);
        return -1;
    }
    *out = n;
    return 0;
}

typedef struct {
    int done;
    rd_kafka_resp_err_t err;
    int32_t partition;
    int64_t offset;
} cli__dr;

static void cli__dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    cli__dr *dr = m->_private;
    dr->done = 1;
    dr->err = m->err;
    dr->partition = m->partition;
    dr->offset = m->offset;
}

rd_kafka_t *cli_producer_new(const cli_settings *s, const char *linger_ms,
                             void (*dr)(rd_kafka_t *, const rd_kafka_message_t *, void *))
{
    rd_kafka_conf_t *conf = rc_kafka_conf_new(s->brokers, "roomcast-cli");
    rc_kafka_producer_defaults(conf);
    rc_kafka_set(conf, "message.timeout.ms", "15000");
    rc_kafka_set(conf, "linger.ms", linger_ms);
    rd_kafka_conf_set_dr_msg_cb(conf, dr);
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "roomcast: %s\n", errstr);
    }
    return rk;
}

int cli_produce_one(const cli_settings *s, const char *topic, const char *key, const void *value,
                    size_t len, const char *extra)
{
    rd_kafka_t *rk = cli_producer_new(s, "0", cli__dr_cb);
    if (!rk)
        return 1;
    cli__dr dr = {0};
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
        RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_OPAQUE(&dr), RD_KAFKA_V_END);
    if (err) {
        fprintf(stderr, "roomcast: produce to %s: %s\n", topic, rd_kafka_err2str(err));
        rd_kafka_destroy(rk);
        return 1;
    }
    char refused[512];
    int refusal = 0;
    /* a refusal of our credentials is not going away by itself: say so now rather than at
       message.timeout.ms (the reason was logged once already) */
    while (!dr.done && !(refusal = rc_ksec_failing(refused, sizeof refused)))
        rd_kafka_poll(rk, 100);
    rd_kafka_destroy(rk);
    if (refusal) {
        fprintf(stderr, "roomcast: %s: not produced: Kafka refused the connection (see above)\n",
                topic);
        return 1;
    }
    if (dr.err) {
        fprintf(stderr, "roomcast: %s: %s\n", topic, rd_kafka_err2str(dr.err));
        return 1;
    }
    printf("{\"topic\":\"%s\",\"partition\":%d,\"offset\":%lld%s%s}\n", topic, (int)dr.partition,
           (long long)dr.offset, extra ? "," : "", extra ? extra : "");
    return 0;
}

/* --id, checked to be 1 to 36 characters of [A-Za-z0-9._:-], or a new UUID. */
int cli_event_id(const cli_flags *f, char id[37])
{
    const char *v = cli_flag(f, "id");
    if (!v) {
        rc_uuid4(id);
        return 0;
    }
    size_t n = strlen(v);
    int ok = n > 0 && n <= 36;
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)v[i]) || strchr("._:-", v[i]);
    if (!ok) {
        fprintf(stderr, "roomcast: --id: \"%s\" is not 1 to 36 characters of A-Z a-z 0-9 . _ : -\n", v);
        return 2;
    }
    memcpy(id, v, n + 1);
    return 0;
}
