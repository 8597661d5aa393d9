/* cmd_token.c: `roomcast token --sub ID --role ROLE [--exp SECONDS] [--room ROOM]` prints a
 * JWT signed with the configured key: ROOMCAST_JWT_SECRET (HS256), or
 * ROOMCAST_JWT_PRIVATE_KEY_FILE (RS256 / ES256; the gateway holds only the public key).
 * With --room it is a room grant, typed as one ("typ": "roomcast-grant+jwt", token.h),
 * which the gateway never takes for a login token. Every token has an exp (default an
 * hour): the gateway refuses tokens without one, or longer-lived than its maximum. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/alloc.h"
#include "common/kafka.h"
#include "common/token.h"

int cli_cmd_token(const cli_settings *s, int argc, char **argv)
{
    static const char *const spec[] = {"sub", "role", "exp", "room", NULL};
    cli_flags f;
    if (cli_flags_parse(argc, argv, spec, NULL, &f))
        return 2;
    const char *sub = cli_flag(&f, "sub"), *role = cli_flag(&f, "role");
    if (!sub || !*sub || f.npositional) {
        fprintf(stderr, "usage: roomcast token --sub ID [--role buyer|seller|admin] "
                        "[--exp SECONDS] [--room ROOM]\n"
                        "  --room ROOM  a room grant for ROOM (request-*, chat-*) instead of a "
                        "login token\n");
        return 2;
    }
    if (role && rc_role_parse(role) == RC_ROLE_NONE) {
        fprintf(stderr, "roomcast: --role: \"%s\" is not buyer, seller or admin\n", role);
        return 2;
    }
    long exp;
    if (cli_flag_long(&f, "exp", 3600, 1, 10L * 365 * 86400, &exp))
        return 2;
    if (!s->jwt_secret && !s->jwt_private_key_file) {
        fprintf(stderr, "roomcast: set ROOMCAST_JWT_SECRET (HS256) or "
                        "ROOMCAST_JWT_PRIVATE_KEY_FILE (RS256/ES256) to sign tokens\n");
        return 2;
    }
    char err[RC_ERRSTR_LEN];
    rc_token_keys *keys;
    if (rc_token_keys_new(s->jwt_private_key_file ? NULL : s->jwt_secret, s->jwt_private_key_file,
                          s->jwt_issuer, s->jwt_audience, &keys, err, sizeof err) != 0) {
        fprintf(stderr, "roomcast: %s\n", err);
        return 2;
    }
    char *tok = rc_token_sign(keys, sub, role, cli_flag(&f, "room"), rc_now_us() / 1000000, exp,
                              err, sizeof err);
    rc_token_keys_free(keys);
    if (!tok) {
        fprintf(stderr, "roomcast: %s\n", err);
        return 1;
    }
    printf("%s\n", tok);
    rc_free(tok);
    return 0;
}
