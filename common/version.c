/* version.c: the build's version and commit (see version.h). */
#include "common/version.h"

#include <stdio.h>
#include <string.h>

#include "roomcast_commit.h"
#include "roomcast_version.h"

const char *rc_version(void)
{
    return ROOMCAST_VERSION;
}

const char *rc_commit(void)
{
    return ROOMCAST_COMMIT;
}

void rc_version_print(const char *program)
{
    printf("%s %s (commit %s)\n", program, rc_version(), rc_commit());
}

int rc_version_requested(const char *program, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--version") == 0) {
            rc_version_print(program);
            return 1;
        }
    }
    return 0;
}

void rc_version_register(rc_metrics *reg)
{
    rc_gauge_family *f = rc_gauge_family_new(
        reg, "roomcast_build_info", "The release and commit this process was built from (always 1)",
        "version,commit");
    rc_gauge_set(rc_gauge_get(f, rc_version(), rc_commit()), 1);
}
