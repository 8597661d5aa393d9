/* roomcast: the command line (CONTRACT §5). Each subcommand lives in cli/cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/log.h"
#include "common/version.h"

static void usage(FILE *out)
{
    fputs("usage: roomcast COMMAND [ARGS]\n"
          "  topics create [--partitions N] [--rooms-partitions N] [--replication-factor N]\n"
          "                           create every roomcast topic (with ROOMCAST_TOPIC_PREFIX)\n"
          "  publish TYPE JSON [--id ID] [--key KEY]\n"
          "                           produce one DomainEvent (checked against the routing table)\n"
          "  emit ROOM EVENT JSON     produce one RoomEvent; ROOM \"*\" reaches every socket\n"
          "  token --sub ID [--role buyer|seller|admin] [--exp SECONDS] [--room ROOM]\n"
          "                           print a JWT signed with the configured key\n"
          "  tail [ROOM] [--topic NAME] [--from-beginning] [--count N] [--timeout-ms N]\n"
          "                           print events as they pass, one JSON object a line\n"
          "  produce TOPIC [KEY] < BYTES | produce TOPIC --lines < KEY<TAB>HEX lines\n"
          "                           produce raw bytes (replay a dead letter, tests)\n"
          "  sockets join|leave ROOM ROOMS... | sockets disconnect ROOM... [--close]\n"
          "                           make the sockets in ROOM (\"*\": all) join or leave ROOMS,\n"
          "                           or disconnect them, on every gateway\n"
          "  broker [--port N] [--port-file FILE] [--partitions N]\n"
          "                           run an in-memory trial broker (keeps nothing)\n"
          "  version, --version       print the release and commit\n"
          "Settings come from the environment: ROOMCAST_KAFKA_BROKERS, ROOMCAST_TOPIC_PREFIX,\n"
          "ROOMCAST_KAFKA_SECURITY_PROTOCOL and the other Kafka security settings (README),\n"
          "ROOMCAST_JWT_SECRET / ROOMCAST_JWT_PRIVATE_KEY_FILE, ROOMCAST_ROUTES_FILE.\n",
          out);
}

int main(int argc, char **argv)
{
    rc_log_init("cli", RC_LOG_WARN);
    if (argc >= 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version"))) {
        rc_version_print("roomcast");
        return 0;
    }
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    static const struct {
        const char *name;
        int (*fn)(const cli_settings *, int, char **);
    } cmds[] = {
        {"topics", cli_cmd_topics}, {"publish", cli_cmd_publish}, {"emit", cli_cmd_emit},
        {"token", cli_cmd_token},   {"tail", cli_cmd_tail},       {"broker", cli_cmd_broker},
        {"produce", cli_cmd_produce}, {"sockets", cli_cmd_sockets},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (strcmp(argv[1], cmds[i].name) != 0)
            continue;
        cli_settings s;
        int rc = cli_settings_load(&s);
        if (rc == 0)
            rc = cmds[i].fn(&s, argc - 2, argv + 2);
        cli_settings_free(&s);
        return rc;
    }
    fprintf(stderr, "roomcast: unknown command \"%s\"\n", argv[1]);
    usage(stderr);
    return 2;
}
