/* The Kafka security profile: environment names map to librdkafka properties as
 * documented; bad combinations, files and properties are refused with one line naming
 * the setting; a refusal is classified, counted and reported for readiness; the profile
 * reaches every conf rc_kafka_conf_new makes. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "common/kafka.h"
#include "common/kafka_security.h"
#include "common/log.h"

static char dir[] = "/tmp/roomcast-ksec-XXXXXX";

static char *file(const char *name, const char *text)
{
    static char path[4][128];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, 128, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
    return p;
}

static void names(void)
{
    char b[64];
    CHECK_STR(rc_ksec_property_name("SOCKET_TIMEOUT_MS", b, sizeof b), "socket.timeout.ms");
    CHECK_STR(rc_ksec_property_name("LOG__LEVEL", b, sizeof b), "log_level");
    CHECK_STR(rc_ksec_property_name("SSL_ENDPOINT_IDENTIFICATION_ALGORITHM", b, sizeof b),
              "ssl.endpoint.identification.algorithm");
    CHECK_STR(rc_ksec_property_name("A___B", b, sizeof b), "a-b");
    CHECK(rc_ksec_property_name("A____B", b, sizeof b) == NULL);
    CHECK(rc_ksec_property_name("", b, sizeof b) == NULL);
    CHECK(rc_ksec_property_name("TOO_LONG_FOR_THE_BUFFER", b, 8) == NULL);
}

static void classify(void)
{
    CHECK_STR(rc_ksec_classify(RD_KAFKA_RESP_ERR__AUTHENTICATION, "x"), "sasl");
    CHECK_STR(rc_ksec_classify(RD_KAFKA_RESP_ERR__SSL, "x"), "tls");
    CHECK_STR(rc_ksec_classify(RD_KAFKA_RESP_ERR__TRANSPORT,
                               "Receive failed: ...: sslv3 alert bad certificate: SSL alert number 42"),
              "tls");
    CHECK_STR(rc_ksec_classify(0, "b/bootstrap: SASL authentication error: Invalid username"),
              "sasl");
    CHECK(rc_ksec_classify(RD_KAFKA_RESP_ERR__TRANSPORT, "Connection refused") == NULL);
    CHECK(rc_ksec_classify(RD_KAFKA_RESP_ERR__TRANSPORT, NULL) == NULL);
    CHECK(rc_ksec_classify(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, "SSL alert number 1") == NULL);
}

/* Loads s with the defaults of the table; returns what rc_ksec_load says. */
static int load(rc_ksec_settings *s, char *err, size_t len)
{
    if (!s->protocol)
        s->protocol = "PLAINTEXT";
    return rc_ksec_load(s, err, len);
}

static void combinations(void)
{
    char err[RC_ERRSTR_LEN];
    rc_ksec_settings s = {.protocol = "SSL", .cert_file = "/etc/hostname"};
    CHECK_EQ(load(&s, err, sizeof err), RC_EINVAL);
    CHECK_STR(err, "ROOMCAST_KAFKA_SSL_CERT_FILE and ROOMCAST_KAFKA_SSL_KEY_FILE go together");

    s = (rc_ksec_settings){.protocol = "SASL_SSL", .mechanism = "PLAIN", .username = "u",
                           .password = "p", .password_file = "/etc/hostname"};
    CHECK_EQ(load(&s, err, sizeof err), RC_EINVAL);
    CHECK_STR(err, "set ROOMCAST_KAFKA_SASL_PASSWORD or ROOMCAST_KAFKA_SASL_PASSWORD_FILE, not both");

    s = (rc_ksec_settings){.protocol = "SASL_PLAINTEXT", .ca_file = "/etc/hostname"};
    CHECK_EQ(load(&s, err, sizeof err), RC_EINVAL);
    CHECK_STR(err, "ROOMCAST_KAFKA_SSL_CA_FILE is set but ROOMCAST_KAFKA_SECURITY_PROTOCOL is "
                   "SASL_PLAINTEXT (TLS needs SSL or SASL_SSL)");

    s = (rc_ksec_settings){.protocol = "SASL_SSL", .mechanism = "SCRAM-SHA-512", .username = "u",
                           .password_file = file("empty", "")};
    CHECK_EQ(load(&s, err, sizeof err), RC_EINVAL);
    CHECK(strstr(err, "ROOMCAST_KAFKA_SASL_PASSWORD_FILE: ") == err && strstr(err, " is empty"));
}

/* A SASL_SSL profile with the password from a file, a properties file and one variable:
 * every conf rc_kafka_conf_new makes carries all of it. */
static void profile(void)
{
    char err[RC_ERRSTR_LEN], v[256];
    size_t vl;
    setenv("ROOMCAST_KAFKA_PROPERTY_SOCKET_TIMEOUT_MS", "12345", 1);
    rc_ksec_settings s = {
        .protocol = "SASL_SSL", .mechanism = "SCRAM-SHA-256", .username = "svc",
        .password_file = file("pw", "s3cret\n"),
        .properties_file = file("p.properties", "# comment\n! also\n\n  linger.ms = 7 \nclient.rack: r1\n"),
    };
    CHECK_EQ(load(&s, err, sizeof err), RC_OK);
    rd_kafka_conf_t *conf = rc_kafka_conf_new("127.0.0.1:9", "t");
    const struct {
        const char *name, *want;
    } want[] = {{"security.protocol", "sasl_ssl"}, {"sasl.mechanisms", "SCRAM-SHA-256"},
                {"sasl.username", "svc"},          {"sasl.password", "s3cret"},
                {"linger.ms", "7"},                {"client.rack", "r1"},
                {"socket.timeout.ms", "12345"},    {"bootstrap.servers", "127.0.0.1:9"}};
    for (size_t i = 0; i < RC_ARRAY_LEN(want); i++) {
        vl = sizeof v;
        CHECK_EQ(rd_kafka_conf_get(conf, want[i].name, v, &vl), RD_KAFKA_CONF_OK);
        CHECK_STR(v, want[i].want);
    }
    rd_kafka_conf_destroy(conf);

    /* a property twice, or one roomcast decides, is refused and the profile kept */
    setenv("ROOMCAST_KAFKA_PROPERTY_LINGER_MS", "8", 1);
    CHECK_EQ(load(&s, err, sizeof err), RC_EINVAL);
    CHECK_STR(err, "ROOMCAST_KAFKA_PROPERTY_LINGER_MS: linger.ms is already set by "
                   "ROOMCAST_KAFKA_PROPERTIES_FILE line 4");
    unsetenv("ROOMCAST_KAFKA_PROPERTY_LINGER_MS");
    setenv("ROOMCAST_KAFKA_PROPERTY_ENABLE_IDEMPOTENCE", "false", 1);
    CHECK_EQ(load(&s, err, sizeof err), RC_EINVAL);
    CHECK(strstr(err, "enable.idempotence is not for the passthrough") != NULL);
    unsetenv("ROOMCAST_KAFKA_PROPERTY_ENABLE_IDEMPOTENCE");
    setenv("ROOMCAST_KAFKA_PROPERTY_SASL_OAUTHBEARER_CLIENT_SECRET", "hidden-value", 1);
    s.mechanism = NULL;
    s.username = NULL;
    s.password_file = NULL;
    s.protocol = "PLAINTEXT";
    s.properties_file = NULL;
    CHECK_EQ(load(&s, err, sizeof err), RC_EINVAL); /* unknown in 2.0.2, or refused */
    CHECK(strstr(err, "hidden-value") == NULL);     /* a secret is never printed */
    unsetenv("ROOMCAST_KAFKA_PROPERTY_SASL_OAUTHBEARER_CLIENT_SECRET");
    unsetenv("ROOMCAST_KAFKA_PROPERTY_SOCKET_TIMEOUT_MS");

    conf = rc_kafka_conf_new("127.0.0.1:9", "t"); /* still the SASL_SSL profile */
    vl = sizeof v;
    rd_kafka_conf_get(conf, "security.protocol", v, &vl);
    CHECK_STR(v, "sasl_ssl");
    rd_kafka_conf_destroy(conf);
}

static void properties_file_errors(void)
{
    char err[RC_ERRSTR_LEN];
    rc_ksec_settings s = {.properties_file = file("bad", "linger.ms=1\nno value here\n")};
    CHECK_EQ(load(&s, err, sizeof err), RC_EINVAL);
    CHECK_STR(err, "ROOMCAST_KAFKA_PROPERTIES_FILE line 2: want name=value (no line "
                   "continuations, at most 4 KiB)");
    s.properties_file = file("bad2", "a.b=1 \\\n");
    CHECK_EQ(load(&s, err, sizeof err), RC_EINVAL);
    s.properties_file = file("bad3", "bootstrap.servers=x:1\n");
    CHECK_EQ(load(&s, err, sizeof err), RC_EINVAL);
    CHECK_STR(err, "ROOMCAST_KAFKA_PROPERTIES_FILE line 1: bootstrap.servers is not for the "
                   "passthrough (set ROOMCAST_KAFKA_BROKERS)");
}

static void refusals(void)
{
    char reason[512] = "";
    rc_ksec_reset();
    CHECK_EQ(rc_ksec_failing(reason, sizeof reason), 0);
    rc_ksec_note_error("c", RD_KAFKA_RESP_ERR__TRANSPORT, "Connection refused");
    CHECK_EQ(rc_ksec_failures(), 0);
    for (int i = 0; i < 5; i++)
        rc_ksec_note_error("c", RD_KAFKA_RESP_ERR__AUTHENTICATION, "bad password");
    CHECK_EQ(rc_ksec_failures(), 5);
    CHECK_EQ(rc_ksec_failing(reason, sizeof reason), 1);
    CHECK_STR(reason, "Kafka authentication failed (PLAINTEXT): bad password");
    rc_ksec_note_error("c", RD_KAFKA_RESP_ERR__SSL, "certificate verify failed");
    CHECK_EQ(rc_ksec_failing(reason, sizeof reason), 1);
    CHECK_STR(reason, "Kafka TLS handshake failed (PLAINTEXT): certificate verify failed");
    rc_ksec_reset();
}

int main(void)
{
    rc_log_init("test", RC_LOG_ERROR);
    if (!mkdtemp(dir))
        return 1;
    names();
    classify();
    combinations();
    profile();
    properties_file_errors();
    refusals();
    rc_ksec_reset();
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_EQ(system(cmd), 0);
    CHECK_DONE();
}
