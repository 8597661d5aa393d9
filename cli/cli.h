/* cli.h: the pieces the `roomcast` subcommands share: the settings they read from the
 * environment, a tiny flag parser, and a producer that waits for its delivery report. */
#ifndef RC_CLI_H
#define RC_CLI_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "common/kafka_security.h"

typedef struct {
    char *brokers;
    rc_ksec_settings kafka_security;
    char *topic_prefix;
    char *jwt_secret;
    char *jwt_public_key_file;
    char *jwt_private_key_file;
    char *jwt_issuer;
    char *jwt_audience;
    char *routes_file;
} cli_settings;

/* Reads the environment; on a bad value prints one line naming it and returns 2. */
int cli_settings_load(cli_settings *s);
void cli_settings_free(cli_settings *s);

/* Flags after the subcommand: "--name value" or "--name=value"; positional arguments are
 * collected in order. spec lists the accepted names, e.g. {"partitions", "exp", NULL};
 * bool_flags names those that take no value. Returns 0, or 2 after printing the error. */
typedef struct {
    const char *names[16];
    const char *values[16];
    int count;
    const char *positional[72]; /* sockets join ROOM + up to 64 rooms */
    int npositional;
} cli_flags;
int cli_flags_parse(int argc, char **argv, const char *const *spec, const char *const *bool_flags,
                    cli_flags *out);
const char *cli_flag(const cli_flags *f, const char *name); /* NULL if absent; "" for a bool */
/* A flag as a whole number within [min, max]; prints an error and returns -1 if bad. */
int cli_flag_long(const cli_flags *f, const char *name, long def, long min, long max, long *out);

/* An idempotent producer with the project's defaults, delivery reports to dr; NULL after
 * printing librdkafka's error. The caller destroys it. */
rd_kafka_t *cli_producer_new(const cli_settings *s, const char *linger_ms,
                             void (*dr)(rd_kafka_t *, const rd_kafka_message_t *, void *));

/* Produces one message and waits for its delivery report. Prints
 * {"topic":..,"partition":..,"offset":..} and any extra JSON fields to stdout.
 * Returns 0, or 1 after printing the broker's error. */
int cli_produce_one(const cli_settings *s, const char *topic, const char *key, const void *value,
                    size_t len, const char *extra_json_fields);

/* The event id: --id, checked to be 1 to 36 characters of [A-Za-z0-9._:-] (so it is
 * JSON-safe as it is), or a new UUID. Returns 0, or 2 after printing the error. */
int cli_event_id(const cli_flags *f, char id[37]);

/* Subcommands: each returns the process exit status. */
int cli_cmd_topics(const cli_settings *s, int argc, char **argv);
int cli_cmd_publish(const cli_settings *s, int argc, char **argv);
int cli_cmd_emit(const cli_settings *s, int argc, char **argv);
int cli_cmd_token(const cli_settings *s, int argc, char **argv);
int cli_cmd_tail(const cli_settings *s, int argc, char **argv);
int cli_cmd_produce(const cli_settings *s, int argc, char **argv);
int cli_cmd_broker(const cli_settings *s, int argc, char **argv);
int cli_cmd_sockets(const cli_settings *s, int argc, char **argv);

#endif
