/* Settings: a bad value names its variable; flags override the environment. */
#include <stdlib.h>

#include "check.h"
#include "common/alloc.h"
#include "common/config.h"

int main(void)
{
    rc_addr listen;
    long window = 0;
    char *policy = NULL, *brokers = NULL;
    rc_cfg_item items[] = {
        {"ROOMCAST_LISTEN", RC_CFG_ADDR, "0.0.0.0:3000", &listen, 0, 0, NULL, "listener"},
        {"ROOMCAST_RECOVERY_WINDOW", RC_CFG_INT, "120", &window, 0, 86400, NULL, "seconds"},
        {"ROOMCAST_ROOM_POLICY", RC_CFG_ENUM, "strict", &policy, 0, 0, "strict,open", "policy"},
        {"ROOMCAST_KAFKA_BROKERS", RC_CFG_HOSTPORTS, "localhost:9092", &brokers, 0, 0, NULL, "b"},
    };
    char err[RC_ERRSTR_LEN];
    char *argv_ok[] = {"x", "--listen=127.0.0.1:3001", "--room-policy", "open", NULL};

    unsetenv("ROOMCAST_LISTEN");
    CHECK_EQ(rc_config_load(items, 4, 1, argv_ok, err, sizeof err), RC_OK);
    CHECK_STR(listen.host, "0.0.0.0");
    CHECK_EQ(listen.port, 3000);
    CHECK_EQ(window, 120);
    CHECK_STR(policy, "strict");

    CHECK_EQ(rc_config_load(items, 4, 4, argv_ok, err, sizeof err), RC_OK);
    CHECK_STR(listen.host, "127.0.0.1");
    CHECK_EQ(listen.port, 3001);
    CHECK_STR(policy, "open");

    setenv("ROOMCAST_LISTEN", "nonsense", 1);
    CHECK_EQ(rc_config_load(items, 4, 1, argv_ok, err, sizeof err), RC_EINVAL);
    CHECK_STR(err, "ROOMCAST_LISTEN: \"nonsense\" is not HOST:PORT");
    unsetenv("ROOMCAST_LISTEN");

    setenv("ROOMCAST_RECOVERY_WINDOW", "-5", 1);
    CHECK_EQ(rc_config_load(items, 4, 1, argv_ok, err, sizeof err), RC_EINVAL);
    CHECK_STR(err, "ROOMCAST_RECOVERY_WINDOW: \"-5\" is not a whole number from 0 to 86400");
    unsetenv("ROOMCAST_RECOVERY_WINDOW");

    setenv("ROOMCAST_ROOM_POLICY", "lax", 1);
    CHECK_EQ(rc_config_load(items, 4, 1, argv_ok, err, sizeof err), RC_EINVAL);
    CHECK_STR(err, "ROOMCAST_ROOM_POLICY: \"lax\" is not one of strict,open");
    unsetenv("ROOMCAST_ROOM_POLICY");

    setenv("ROOMCAST_KAFKA_BROKERS", "a:1,b", 1);
    CHECK_EQ(rc_config_load(items, 4, 1, argv_ok, err, sizeof err), RC_EINVAL);
    unsetenv("ROOMCAST_KAFKA_BROKERS");

    char *argv_bad[] = {"x", "--no-such=1", NULL};
    CHECK_EQ(rc_config_load(items, 4, 2, argv_bad, err, sizeof err), RC_EINVAL);
    CHECK_STR(err, "unknown flag \"--no-such\" (try --help)");

    rc_addr a;
    CHECK_EQ(rc_addr_parse("[::1]:80", &a), RC_OK);
    CHECK_STR(a.host, "::1");
    CHECK_EQ(rc_addr_parse("::1:80", &a), RC_EINVAL);
    CHECK_EQ(rc_addr_parse("host:70000", &a), RC_EINVAL);
    CHECK_EQ(rc_addr_parse(":80", &a), RC_EINVAL);

    rc_config_free_strings(items, 4);
    CHECK_DONE();
}
