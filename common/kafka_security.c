/* kafka_security.c: the Kafka security profile and what a refusal looks like (see
 * kafka_security.h).
 *
 * The profile is a list of librdkafka properties, each with where it came from (the
 * setting, the properties file's line, the environment variable) so that any refusal
 * names what the operator wrote. It is built once, tried on a conf and on one client,
 * then installed; after that it is only read (by rc_kafka_conf_new). */
#include "common/kafka_security.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/log.h"
#include "common/metrics.h"

#define KSEC__ENV_PREFIX "ROOMCAST_KAFKA_PROPERTY_"
#define KSEC__SECRET_MAX (64 * 1024)
#define KSEC__STILL_SECONDS 60 /* at most one "still failing" line this often */
#define KSEC__SCRAM_FIXED 0x020601ff /* librdkafka 2.6.1: the SCRAM nonce fix */

extern char **environ;

typedef struct {
    char *name, *value;
    char origin[112]; /* "ROOMCAST_KAFKA_SASL_PASSWORD", "ROOMCAST_KAFKA_PROPERTIES_FILE line 3" */
    int secret;       /* never printed */
} ksec__prop;

typedef struct {
    ksec__prop *v;
    size_t n, cap;
    char desc[200]; /* "SASL_SSL, SCRAM-SHA-512 as \"roomcast\"": for refusals */
    int scram;
} ksec__profile;

static ksec__profile g_profile;

static struct {
    pthread_mutex_t lock;
    const char *kind; /* NULL: no refusal yet */
    char reason[400];
    time_t at, logged_at;
    unsigned long held;
} g_fail = {PTHREAD_MUTEX_INITIALIZER, NULL, "", 0, 0, 0};
static _Atomic uint64_t g_failures;

/* ---- the settings ------------------------------------------------------------------------- */

void rc_ksec_items(rc_ksec_settings *s, rc_cfg_item items[RC_KSEC_ITEMS])
{
    const rc_cfg_item t[RC_KSEC_ITEMS] = {
        {"ROOMCAST_KAFKA_SECURITY_PROTOCOL", RC_CFG_ENUM, "PLAINTEXT", &s->protocol, 0, 0,
         "PLAINTEXT,SSL,SASL_PLAINTEXT,SASL_SSL", "how Kafka clients connect"},
        {"ROOMCAST_KAFKA_SASL_MECHANISM", RC_CFG_ENUM, NULL, &s->mechanism, 0, 0,
         "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512", "SASL mechanism (with SASL_SSL / SASL_PLAINTEXT)"},
        {"ROOMCAST_KAFKA_SASL_USERNAME", RC_CFG_STRING, NULL, &s->username, 0, 0, NULL,
         "SASL user name"},
        {"ROOMCAST_KAFKA_SASL_PASSWORD", RC_CFG_STRING, NULL, &s->password, 0, 0, NULL,
         "SASL password (or ROOMCAST_KAFKA_SASL_PASSWORD_FILE)"},
        {"ROOMCAST_KAFKA_SASL_PASSWORD_FILE", RC_CFG_FILE, NULL, &s->password_file, 0, 0, NULL,
         "file holding the SASL password (a mounted secret; one trailing newline is dropped)"},
        {"ROOMCAST_KAFKA_SSL_CA_FILE", RC_CFG_FILE, NULL, &s->ca_file, 0, 0, NULL,
         "PEM CA certificates that sign the brokers' certificates (default: the system's)"},
        {"ROOMCAST_KAFKA_SSL_CERT_FILE", RC_CFG_FILE, NULL, &s->cert_file, 0, 0, NULL,
         "PEM client certificate for mutual TLS (with ROOMCAST_KAFKA_SSL_KEY_FILE)"},
        {"ROOMCAST_KAFKA_SSL_KEY_FILE", RC_CFG_FILE, NULL, &s->key_file, 0, 0, NULL,
         "PEM private key of the client certificate"},
        {"ROOMCAST_KAFKA_SSL_KEY_PASSWORD", RC_CFG_STRING, NULL, &s->key_password, 0, 0, NULL,
         "password of an encrypted key (or ROOMCAST_KAFKA_SSL_KEY_PASSWORD_FILE)"},
        {"ROOMCAST_KAFKA_SSL_KEY_PASSWORD_FILE", RC_CFG_FILE, NULL, &s->key_password_file, 0, 0,
         NULL, "file holding the key's password"},
        {"ROOMCAST_KAFKA_PROPERTIES_FILE", RC_CFG_FILE, NULL, &s->properties_file, 0, 0, NULL,
         "librdkafka properties, name=value a line; one property also as "
         "ROOMCAST_KAFKA_PROPERTY_<NAME> (SOCKET_TIMEOUT_MS: socket.timeout.ms)"},
    };
    memcpy(items, t, sizeof t);
}

/* ---- the property list ---------------------------------------------------------------- */

static void ksec__free(ksec__profile *p)
{
    for (size_t i = 0; i < p->n; i++) {
        if (p->v[i].secret)
            OPENSSL_cleanse(p->v[i].value, strlen(p->v[i].value));
        rc_free(p->v[i].name);
        rc_free(p->v[i].value);
    }
    rc_free(p->v);
    memset(p, 0, sizeof *p);
}

/* Properties roomcast decides for each client: a user's value would break a promise
 * (ordering, exactly-once, partitioning) or has its own setting. */
static const char *ksec__reserved(const char *name)
{
    static const struct {
        const char *name, *why;
    } r[] = {
        {"bootstrap.servers", "set ROOMCAST_KAFKA_BROKERS"},
        {"metadata.broker.list", "set ROOMCAST_KAFKA_BROKERS"},
        {"client.id", "roomcast names each client"},
        {"group.id", "set ROOMCAST_FANOUT_GROUP"},
        {"transactional.id", "set ROOMCAST_FANOUT_TRANSACTIONAL_ID"},
        {"enable.idempotence", "roomcast's producers are idempotent"},
        {"isolation.level", "roomcast reads committed transactions only"},
        {"partitioner", "roomcast partitions as the Java client does"},
        {"enable.auto.commit", "roomcast commits its offsets itself"},
        {"enable.auto.offset.store", "roomcast stores its offsets itself"},
    };
    for (size_t i = 0; i < RC_ARRAY_LEN(r); i++)
        if (strcmp(name, r[i].name) == 0)
            return r[i].why;
    return NULL;
}

static int ksec__secret_name(const char *name)
{
    return strstr(name, "password") || strstr(name, "secret") || strstr(name, ".pem") ||
           strstr(name, "sasl.jaas");
}

/* Adds name=value from origin; refuses a reserved name or one already given. */
static int ksec__add(ksec__profile *p, const char *name, const char *value, const char *origin,
                     char *errstr, size_t errlen)
{
    const char *why = ksec__reserved(name);
    if (why) {
        snprintf(errstr, errlen, "%s: %s is not for the passthrough (%s)", origin, name, why);
        return RC_EINVAL;
    }
    for (size_t i = 0; i < p->n; i++) {
        /* sasl.mechanism and sasl.mechanisms are one property */
        int same = strcmp(p->v[i].name, name) == 0 ||
                   (strncmp(name, "sasl.mechanism", 14) == 0 &&
                    strncmp(p->v[i].name, "sasl.mechanism", 14) == 0);
        if (same) {
            snprintf(errstr, errlen, "%s: %s is already set by %s", origin, name, p->v[i].origin);
            return RC_EINVAL;
        }
    }
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 16;
        p->v = rc_realloc(p->v, p->cap * sizeof *p->v);
    }
    ksec__prop *e = &p->v[p->n++];
    e->name = rc_strdup(name);
    e->value = rc_strdup(value);
    snprintf(e->origin, sizeof e->origin, "%s", origin);
    e->secret = ksec__secret_name(name);
    return RC_OK;
}

static const char *ksec__get(const ksec__profile *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i].name, name) == 0)
            return p->v[i].value;
    return NULL;
}

/* ---- secrets in files, the properties file, the environment ------------------------------ */

/* The whole file, less one trailing newline (what `echo pw > file` and Kubernetes
 * secrets written by hand leave). NULL with errstr set. */
static char *ksec__read_secret(const char *setting, const char *path, char *errstr,
                               size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(errstr, errlen, "%s: cannot open %s: %s", setting, path, strerror(errno));
        return NULL;
    }
    char *buf = rc_malloc(KSEC__SECRET_MAX + 1);
    size_t n = fread(buf, 1, KSEC__SECRET_MAX + 1, f);
    fclose(f);
    if (n > KSEC__SECRET_MAX || memchr(buf, '\0', n)) {
        snprintf(errstr, errlen, "%s: %s is not a password file (binary, or over 64 KiB)",
                 setting, path);
        OPENSSL_cleanse(buf, n);
        rc_free(buf);
        return NULL;
    }
    if (n && buf[n - 1] == '\n')
        n--;
    if (n && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    if (n == 0) {
        snprintf(errstr, errlen, "%s: %s is empty", setting, path);
        rc_free(buf);
        return NULL;
    }
    return buf;
}

static char *ksec__trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Java-properties lines: name=value (or name: value), '#' and '!' comments, blank lines.
 * Line continuations are refused rather than misread. */
static int ksec__load_file(ksec__profile *p, const char *path, char *errstr, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(errstr, errlen, "ROOMCAST_KAFKA_PROPERTIES_FILE: cannot open %s: %s", path,
                 strerror(errno));
        return RC_EINVAL;
    }
    char line[4096], origin[112];
    int no = 0, rc = RC_OK;
    while (rc == RC_OK && fgets(line, sizeof line, f)) {
        no++;
        snprintf(origin, sizeof origin, "ROOMCAST_KAFKA_PROPERTIES_FILE line %d", no);
        size_t len = strlen(line);
        char *s = ksec__trim(line);
        if (!*s || *s == '#' || *s == '!')
            continue;
        char *eq = strpbrk(s, "=:");
        if (len == sizeof line - 1 || !eq || s[strlen(s) - 1] == '\\') {
            snprintf(errstr, errlen, "%s: want name=value (no line continuations, at most 4 KiB)",
                     origin);
            rc = RC_EINVAL;
            break;
        }
        *eq = '\0';
        char *name = ksec__trim(s), *value = ksec__trim(eq + 1);
        if (!*name) {
            snprintf(errstr, errlen, "%s: the property has no name", origin);
            rc = RC_EINVAL;
            break;
        }
        rc = ksec__add(p, name, value, origin, errstr, errlen);
    }
    OPENSSL_cleanse(line, sizeof line);
    fclose(f);
    return rc;
}

char *rc_ksec_property_name(const char *suffix, char *buf, size_t len)
{
    static const char runs[] = {'.', '_', '-'}; /* "_", "__", "___" */
    size_t o = 0;
    for (const char *c = suffix; *c; c++) {
        char ch = (char)tolower((unsigned char)*c);
        if (*c == '_') {
            size_t run = strspn(c, "_");
            if (run > 3)
                return NULL;
            ch = runs[run - 1];
            c += run - 1;
        }
        if (o + 1 >= len)
            return NULL;
        buf[o++] = ch;
    }
    if (o == 0)
        return NULL;
    buf[o] = '\0';
    return buf;
}

static int ksec__load_env(ksec__profile *p, char *errstr, size_t errlen)
{
    const size_t plen = strlen(KSEC__ENV_PREFIX);
    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, KSEC__ENV_PREFIX, plen) != 0)
            continue;
        const char *eq = strchr(*e, '=');
        char var[112], name[128];
        snprintf(var, sizeof var, "%.*s", eq ? (int)(eq - *e) : 0, *e);
        if (!eq || !rc_ksec_property_name(var + plen, name, sizeof name)) {
            snprintf(errstr, errlen, "%s: not a property name", var);
            return RC_EINVAL;
        }
        if (ksec__add(p, name, eq + 1, var, errstr, errlen) != RC_OK)
            return RC_EINVAL;
    }
    return RC_OK;
}

/* ---- the dedicated settings ------------------------------------------------------------ */

/* What makes sense together: SASL settings only with a SASL protocol, TLS files only
 * with a TLS one, a secret given once, a certificate with its key. */
static int ksec__check(const rc_ksec_settings *s, char *errstr, size_t errlen)
{
    int sasl = strncmp(s->protocol, "SASL_", 5) == 0;
    int tls = strcmp(s->protocol, "SSL") == 0 || strcmp(s->protocol, "SASL_SSL") == 0;
    const char *sasl_set = s->mechanism ? "ROOMCAST_KAFKA_SASL_MECHANISM"
                         : s->username ? "ROOMCAST_KAFKA_SASL_USERNAME"
                         : s->password ? "ROOMCAST_KAFKA_SASL_PASSWORD"
                         : s->password_file ? "ROOMCAST_KAFKA_SASL_PASSWORD_FILE" : NULL;
    const char *tls_set = s->ca_file ? "ROOMCAST_KAFKA_SSL_CA_FILE"
                        : s->cert_file ? "ROOMCAST_KAFKA_SSL_CERT_FILE"
                        : s->key_file ? "ROOMCAST_KAFKA_SSL_KEY_FILE"
                        : s->key_password ? "ROOMCAST_KAFKA_SSL_KEY_PASSWORD"
                        : s->key_password_file ? "ROOMCAST_KAFKA_SSL_KEY_PASSWORD_FILE" : NULL;
    if (!sasl && sasl_set)
        snprintf(errstr, errlen, "%s is set but ROOMCAST_KAFKA_SECURITY_PROTOCOL is %s (SASL "
                 "needs SASL_SSL or SASL_PLAINTEXT)", sasl_set, s->protocol);
    else if (!tls && tls_set)
        snprintf(errstr, errlen, "%s is set but ROOMCAST_KAFKA_SECURITY_PROTOCOL is %s (TLS "
                 "needs SSL or SASL_SSL)", tls_set, s->protocol);
    else if (s->password && s->password_file)
        snprintf(errstr, errlen, "set ROOMCAST_KAFKA_SASL_PASSWORD or "
                 "ROOMCAST_KAFKA_SASL_PASSWORD_FILE, not both");
    else if (s->key_password && s->key_password_file)
        snprintf(errstr, errlen, "set ROOMCAST_KAFKA_SSL_KEY_PASSWORD or "
                 "ROOMCAST_KAFKA_SSL_KEY_PASSWORD_FILE, not both");
    else if (!s->cert_file != !s->key_file)
        snprintf(errstr, errlen, "ROOMCAST_KAFKA_SSL_CERT_FILE and ROOMCAST_KAFKA_SSL_KEY_FILE "
                 "go together");
    else if ((s->key_password || s->key_password_file) && !s->key_file)
        snprintf(errstr, errlen, "a key password is set but ROOMCAST_KAFKA_SSL_KEY_FILE is not");
    else if (s->mechanism && (!s->username || !(s->password || s->password_file)))
        snprintf(errstr, errlen, "ROOMCAST_KAFKA_SASL_MECHANISM %s needs "
                 "ROOMCAST_KAFKA_SASL_USERNAME and ROOMCAST_KAFKA_SASL_PASSWORD (or _FILE)",
                 s->mechanism);
    else
        return RC_OK;
    return RC_EINVAL;
}

/* A secret from its setting or from its _FILE twin into p, as a secret property. */
static int ksec__add_secret(ksec__profile *p, const char *prop, const char *value,
                            const char *file, const char *setting, char *errstr, size_t errlen)
{
    if (!value && !file)
        return RC_OK;
    char file_setting[64];
    snprintf(file_setting, sizeof file_setting, "%s_FILE", setting);
    char *read = file ? ksec__read_secret(file_setting, file, errstr, errlen) : NULL;
    if (file && !read)
        return RC_EINVAL;
    int rc = ksec__add(p, prop, read ? read : value, read ? file_setting : setting, errstr,
                       errlen);
    if (read) {
        OPENSSL_cleanse(read, strlen(read));
        rc_free(read);
    }
    return rc;
}

static int ksec__from_settings(ksec__profile *p, const rc_ksec_settings *s, char *errstr,
                               size_t errlen)
{
    const struct {
        const char *prop, *value, *setting;
    } plain[] = {
        {"sasl.mechanism", s->mechanism, "ROOMCAST_KAFKA_SASL_MECHANISM"},
        {"sasl.username", s->username, "ROOMCAST_KAFKA_SASL_USERNAME"},
        {"ssl.ca.location", s->ca_file, "ROOMCAST_KAFKA_SSL_CA_FILE"},
        {"ssl.certificate.location", s->cert_file, "ROOMCAST_KAFKA_SSL_CERT_FILE"},
        {"ssl.key.location", s->key_file, "ROOMCAST_KAFKA_SSL_KEY_FILE"},
    };
    char proto[32];
    snprintf(proto, sizeof proto, "%s", s->protocol);
    for (char *c = proto; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    if (ksec__add(p, "security.protocol", proto, "ROOMCAST_KAFKA_SECURITY_PROTOCOL", errstr,
                  errlen) != RC_OK)
        return RC_EINVAL;
    for (size_t i = 0; i < RC_ARRAY_LEN(plain); i++)
        if (plain[i].value && ksec__add(p, plain[i].prop, plain[i].value, plain[i].setting,
                                        errstr, errlen) != RC_OK)
            return RC_EINVAL;
    if (ksec__add_secret(p, "sasl.password", s->password, s->password_file,
                         "ROOMCAST_KAFKA_SASL_PASSWORD", errstr, errlen) != RC_OK ||
        ksec__add_secret(p, "ssl.key.password", s->key_password, s->key_password_file,
                         "ROOMCAST_KAFKA_SSL_KEY_PASSWORD", errstr, errlen) != RC_OK)
        return RC_EINVAL;
    return RC_OK;
}

/* ---- trying the profile ------------------------------------------------------------------- */

static void ksec__quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    RC_UNUSED(rk), RC_UNUSED(level), RC_UNUSED(fac), RC_UNUSED(buf);
}

/* text with every occurrence of secret cut out, in place. */
static const char *ksec__redact(char *text, const char *secret)
{
    size_t sl = strlen(secret);
    char *at;
    while (sl && (at = strstr(text, secret)))
        memmove(at, at + sl, strlen(at + sl) + 1);
    return text;
}

/* Sets every property; the first librdkafka refuses names its origin. */
static int ksec__set_all(const ksec__profile *p, rd_kafka_conf_t *conf, char *errstr,
                         size_t errlen)
{
    char why[512];
    for (size_t i = 0; i < p->n; i++) {
        const ksec__prop *e = &p->v[i];
        if (rd_kafka_conf_set(conf, e->name, e->value, why, sizeof why) == RD_KAFKA_CONF_OK)
            continue;
        if (e->secret) /* librdkafka's message may quote the value: never print it */
            snprintf(errstr, errlen, "%s: librdkafka refuses the value of %s: %s", e->origin,
                     e->name, ksec__redact(why, e->value));
        else
            snprintf(errstr, errlen, "%s: librdkafka refuses %s=%s: %s", e->origin, e->name,
                     e->value, why);
        return RC_EINVAL;
    }
    return RC_OK;
}

/* One client with the profile and no brokers: rd_kafka_new is where librdkafka reads the
 * CA, certificate and key files and checks the SASL settings together. Its complaint
 * starts with the property's name ("ssl.key.location failed: ..."): name our setting. */
static int ksec__try_client(const ksec__profile *p, char *errstr, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, ksec__quiet_log);
    if (ksec__set_all(p, conf, errstr, errlen) != RC_OK) {
        rd_kafka_conf_destroy(conf);
        return RC_EINVAL;
    }
    char why[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
    if (rk) {
        rd_kafka_destroy(rk);
        return RC_OK;
    }
    rd_kafka_conf_destroy(conf);
    const char *origin = "Kafka security settings";
    for (size_t i = 0; i < p->n; i++)
        if (strncmp(why, p->v[i].name, strlen(p->v[i].name)) == 0)
            origin = p->v[i].origin;
    snprintf(errstr, errlen, "%s: %s", origin, why);
    return RC_EINVAL;
}

static void ksec__describe(ksec__profile *p, const rc_ksec_settings *s)
{
    const char *mech = ksec__get(p, "sasl.mechanism");
    const char *mechs = ksec__get(p, "sasl.mechanisms");
    mech = mech ? mech : mechs;
    const char *user = ksec__get(p, "sasl.username");
    if (strncmp(s->protocol, "SASL_", 5) == 0)
        snprintf(p->desc, sizeof p->desc, "%s, %.32s as \"%.64s\"", s->protocol,
                 mech ? mech : "GSSAPI", user ? user : "");
    else
        snprintf(p->desc, sizeof p->desc, "%s", s->protocol);
    p->scram = mech && strncmp(mech, "SCRAM-", 6) == 0;
}

int rc_ksec_load(const rc_ksec_settings *s, char *errstr, size_t errlen)
{
    ksec__profile p = {0};
    int rc = ksec__check(s, errstr, errlen);
    if (rc == RC_OK)
        rc = ksec__from_settings(&p, s, errstr, errlen);
    if (rc == RC_OK && s->properties_file)
        rc = ksec__load_file(&p, s->properties_file, errstr, errlen);
    if (rc == RC_OK)
        rc = ksec__load_env(&p, errstr, errlen);
    if (rc == RC_OK && strncmp(s->protocol, "SASL_", 5) == 0 && !ksec__get(&p, "sasl.mechanism") &&
        !ksec__get(&p, "sasl.mechanisms")) {
        snprintf(errstr, errlen, "ROOMCAST_KAFKA_SECURITY_PROTOCOL %s needs "
                 "ROOMCAST_KAFKA_SASL_MECHANISM", s->protocol);
        rc = RC_EINVAL;
    }
    if (rc == RC_OK)
        rc = ksec__try_client(&p, errstr, errlen);
    if (rc != RC_OK) {
        ksec__free(&p);
        return rc;
    }
    ksec__describe(&p, s);
    ksec__free(&g_profile);
    g_profile = p;
    return RC_OK;
}

void rc_ksec_apply(rd_kafka_conf_t *conf)
{
    for (size_t i = 0; i < g_profile.n; i++) {
        char why[512];
        /* every property was tried on a conf at load: a refusal now is a bug */
        if (rd_kafka_conf_set(conf, g_profile.v[i].name, g_profile.v[i].value, why,
                              sizeof why) != RD_KAFKA_CONF_OK) {
            rc_log_error("Kafka profile property refused", "{s:s,s:s}", "name",
                         g_profile.v[i].name, "error", why);
            abort();
        }
    }
}

void rc_ksec_reset(void)
{
    ksec__free(&g_profile);
    pthread_mutex_lock(&g_fail.lock);
    g_fail.kind = NULL;
    g_fail.reason[0] = '\0';
    g_fail.at = g_fail.logged_at = 0;
    g_fail.held = 0;
    pthread_mutex_unlock(&g_fail.lock);
    atomic_store(&g_failures, 0);
}

/* ---- refusals ---------------------------------------------------------------------------------- */

const char *rc_ksec_classify(int err, const char *reason)
{
    if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION ||
        err == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED)
        return "sasl";
    if (err == RD_KAFKA_RESP_ERR__SSL)
        return "tls";
    if (!reason || (err != RD_KAFKA_RESP_ERR__TRANSPORT && err != 0))
        return NULL;
    /* A broker refusing our certificate answers with a TLS alert that librdkafka reports
     * as a transport error; the log callback gives no code at all. */
    if (strstr(reason, "SSL alert number") || strstr(reason, "SSL handshake failed"))
        return "tls";
    if (err == 0 && strstr(reason, "SASL authentication error"))
        return "sasl";
    return NULL;
}

static const char *ksec__hint(const char *kind)
{
    if (strcmp(kind, "tls") == 0)
        return "check ROOMCAST_KAFKA_SSL_CA_FILE (the CA of the brokers' certificates) and, "
               "where the brokers want client certificates, ROOMCAST_KAFKA_SSL_CERT_FILE and "
               "ROOMCAST_KAFKA_SSL_KEY_FILE";
    if (g_profile.scram && rd_kafka_version() < KSEC__SCRAM_FIXED)
        return "check ROOMCAST_KAFKA_SASL_USERNAME, ROOMCAST_KAFKA_SASL_PASSWORD and "
               "ROOMCAST_KAFKA_SASL_MECHANISM; and note that librdkafka before 2.6.1 cannot do "
               "SCRAM with brokers fixed for CVE-2024-56128 (Kafka 3.7.2, 3.8.1, 3.9 and 4.x "
               "refuse its proof): use PLAIN over SASL_SSL there, or a newer librdkafka";
    return "check ROOMCAST_KAFKA_SASL_USERNAME, ROOMCAST_KAFKA_SASL_PASSWORD and "
           "ROOMCAST_KAFKA_SASL_MECHANISM";
}

void rc_ksec_note_error(const char *client, int err, const char *reason)
{
    const char *kind = rc_ksec_classify(err, reason);
    if (!kind)
        return;
    atomic_fetch_add(&g_failures, 1);
    time_t now = time(NULL);
    int first = 0, still = 0;
    unsigned long held = 0;
    pthread_mutex_lock(&g_fail.lock);
    if (!g_fail.kind || strcmp(g_fail.kind, kind) != 0 || now - g_fail.at > RC_KSEC_FAILING_SECONDS) {
        first = 1;
        g_fail.logged_at = now;
        g_fail.held = 0;
    } else if (now - g_fail.logged_at >= KSEC__STILL_SECONDS) {
        still = 1;
        held = g_fail.held;
        g_fail.logged_at = now;
        g_fail.held = 0;
    } else {
        g_fail.held++;
    }
    g_fail.kind = kind;
    g_fail.at = now;
    snprintf(g_fail.reason, sizeof g_fail.reason, "%s", reason ? reason : "");
    pthread_mutex_unlock(&g_fail.lock);
    const char *msg = strcmp(kind, "tls") == 0 ? "Kafka TLS handshake failed"
                                               : "Kafka authentication failed";
    if (first)
        rc_log_error(msg, "{s:s,s:s,s:s,s:s,s:s}", "client", client, "security",
                     g_profile.desc[0] ? g_profile.desc : "PLAINTEXT", "kind", kind, "detail",
                     reason ? reason : "", "hint", ksec__hint(kind));
    else if (still)
        rc_log_error("Kafka still refuses the connection", "{s:s,s:s,s:I,s:i}", "kind", kind,
                     "detail", reason ? reason : "", "refusals_since_last_line",
                     (json_int_t)held + 1, "seconds", KSEC__STILL_SECONDS);
}

uint64_t rc_ksec_failures(void)
{
    return atomic_load(&g_failures);
}

int rc_ksec_failing(char *reason, size_t len)
{
    int yes = 0;
    pthread_mutex_lock(&g_fail.lock);
    if (g_fail.kind && time(NULL) - g_fail.at <= RC_KSEC_FAILING_SECONDS) {
        yes = 1;
        snprintf(reason, len, "%s (%s): %s",
                 strcmp(g_fail.kind, "tls") == 0 ? "Kafka TLS handshake failed"
                                                 : "Kafka authentication failed",
                 g_profile.desc[0] ? g_profile.desc : "PLAINTEXT", g_fail.reason);
    }
    pthread_mutex_unlock(&g_fail.lock);
    return yes;
}

static double ksec__failures_fn(void *ctx)
{
    RC_UNUSED(ctx);
    return (double)rc_ksec_failures();
}

void rc_ksec_metrics(rc_metrics *reg, const char *prefix)
{
    char name[128];
    snprintf(name, sizeof name, "%s_kafka_auth_failures_total", prefix);
    rc_counter_fn_new(reg, name,
                      "Connections Kafka refused (SASL authentication or TLS handshake), as "
                      "librdkafka reports them: it retries, and reports a repeated refusal of "
                      "one connection at most twice a minute; /readyz says why",
                      ksec__failures_fn, NULL);
}
