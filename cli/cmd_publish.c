/* cmd_publish.c: `roomcast publish TYPE JSON` and `roomcast emit ROOM EVENT JSON`.
 * publish checks the event against the routing table first, so a backend developer
 * learns at the command line what the fanout would otherwise dead-letter. */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/alloc.h"
#include "common/events.h"
#include "common/kafka.h"
#include "common/routes.h"

/* The Kafka key: --key, else the payload's first top-level "...Id" string, else the
 * "id" of its first object field (a nested entity such as "payment"), else the event id. */
static char *cli__aggregate_id(const json_t *payload, const char *key_flag, const char *event_id)
{
    if (key_flag)
        return rc_strdup(key_flag);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)payload, k, v)
    {
        size_t kl = strlen(k);
        if (kl > 2 && strcmp(k + kl - 2, "Id") == 0 && json_is_string(v))
            return rc_strdup(json_string_value(v));
    }
    json_object_foreach((json_t *)payload, k, v)
    {
        json_t *id = json_is_object(v) ? json_object_get(v, "id") : NULL;
        if (!id && json_is_object(v))
            id = json_object_get(v, "_id");
        if (json_is_string(id))
            return rc_strdup(json_string_value(id));
    }
    return rc_strdup(event_id);
}

int cli_cmd_publish(const cli_settings *s, int argc, char **argv)
{
    static const char *const spec[] = {"id", "key", NULL};
    cli_flags f;
    if (cli_flags_parse(argc, argv, spec, NULL, &f))
        return 2;
    if (f.npositional != 2) {
        fprintf(stderr, "usage: roomcast publish TYPE JSON [--id ID] [--key KEY]\n");
        return 2;
    }
    const char *type = f.positional[0], *text = f.positional[1];
    json_error_t jerr;
    json_t *payload = json_loads(text, 0, &jerr);
    if (!payload || !json_is_object(payload)) {
        fprintf(stderr, "roomcast: %s: the payload is not a JSON object (%s)\n", type,
                payload ? "got another JSON value" : jerr.text);
        json_decref(payload);
        return 2;
    }

    char err[RC_ERRSTR_LEN], why[RC_ERRSTR_LEN];
    rc_routes *routes;
    if (rc_routes_load_file_or_default(s->routes_file, &routes, err, sizeof err) != RC_OK) {
        fprintf(stderr, "roomcast: %s\n", err);
        json_decref(payload);
        return 2;
    }
    char *compact = rc_json_dump(payload);
    rc_routed routed;
    int r = rc_routes_apply(routes, type, compact, strlen(compact), &routed, why, sizeof why);
    if (r != RC_ROUTE_OK) {
        char wants[512] = "";
        if (r != RC_ROUTE_NO_ROUTE && rc_routes_describe(routes, type, wants, sizeof wants) == 0)
            fprintf(stderr, "roomcast: %s (the event wants %s)\n", why, wants);
        else
            fprintf(stderr, "roomcast: %s\n", why);
        rc_routes_free(routes);
        rc_free(compact);
        json_decref(payload);
        return 2;
    }
    rc_routed_clear(&routed);
    rc_routes_free(routes);

    char id[37], topic[256], logical[200];
    if (cli_event_id(&f, id)) {
        rc_free(compact);
        json_decref(payload);
        return 2;
    }
    char *key = cli__aggregate_id(payload, cli_flag(&f, "key"), id);
    rc_kafka_domain_topic_for_type(type, logical, sizeof logical);
    rc_kafka_topic(s->topic_prefix, logical, topic, sizeof topic);

    Roomcast__V1__DomainEvent ev = ROOMCAST__V1__DOMAIN_EVENT__INIT;
    ev.id = id;
    ev.type = (char *)type;
    ev.aggregate_id = key;
    ev.occurred_at_ms = rc_now_us() / 1000;
    ev.payload_json = compact;
    ev.producer = "roomcast-cli";
    size_t len;
    uint8_t *bytes = rc_events_pack_domain(&ev, &len);
    json_t *extra_j = json_pack("{s:s,s:s}", "id", id, "key", key);
    char *extra = rc_json_dump(extra_j);
    extra[strlen(extra) - 1] = '\0'; /* the fields without their braces */
    int rc = cli_produce_one(s, topic, key, bytes, len, extra + 1);
    json_decref(extra_j);
    rc_free(extra);
    rc_free(bytes);
    rc_free(key);
    rc_free(compact);
    json_decref(payload);
    return rc;
}

int cli_cmd_emit(const cli_settings *s, int argc, char **argv)
{
    cli_flags f;
    static const char *const spec[] = {"id", NULL};
    if (cli_flags_parse(argc, argv, spec, NULL, &f))
        return 2;
    if (f.npositional != 3) {
        fprintf(stderr, "usage: roomcast emit ROOM EVENT JSON\n");
        return 2;
    }
    const char *room = f.positional[0], *event = f.positional[1];
    if (!*room || strlen(room) > 200) {
        fprintf(stderr, "roomcast: ROOM must be 1 to 200 bytes\n");
        return 2;
    }
    if (!*event) {
        fprintf(stderr, "roomcast: EVENT must not be empty\n");
        return 2;
    }
    json_error_t jerr;
    json_t *arg = json_loads(f.positional[2], JSON_DECODE_ANY, &jerr);
    if (!arg) {
        fprintf(stderr, "roomcast: JSON: %s\n", jerr.text);
        return 2;
    }
    json_t *args = json_pack("[o]", arg);
    char *args_text = rc_json_dump(args);
    json_decref(args);

    char id[37], topic[256];
    if (cli_event_id(&f, id))
        return 2;
    char *rooms[1] = {(char *)room};
    Roomcast__V1__RoomEvent ev = ROOMCAST__V1__ROOM_EVENT__INIT;
    ev.id = id;
    ev.room = (char *)room;
    ev.n_rooms = 1;
    ev.rooms = rooms;
    ev.event = (char *)event;
    ev.args_json = args_text;
    ev.produced_at_us = rc_now_us();
    size_t len;
    uint8_t *bytes = rc_events_pack_room(&ev, &len);
    rc_kafka_topic(s->topic_prefix, RC_TOPIC_ROOMS, topic, sizeof topic);
    char extra[64];
    snprintf(extra, sizeof extra, "\"id\":\"%s\"", id); /* cli_event_id keeps it JSON-safe */
    int rc = cli_produce_one(s, topic, room, bytes, len, extra);
    rc_free(bytes);
    rc_free(args_text);
    return rc;
}
