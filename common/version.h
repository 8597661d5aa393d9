/* version.h: what release and commit a binary was built from.
 *
 * The version is CMakeLists.txt's project(... VERSION x.y.z), the one place it is set;
 * the commit is the git commit of the build (cmake/commit.cmake), "unknown" when the
 * source had no .git and none was passed in. Every binary answers --version with
 *   roomcast-gateway 0.1.0 (commit 0123456789ab)
 * and every /metrics carries roomcast_build_info{version,commit} 1, so dashboards and
 * alerts can tell which release each process runs. */
#ifndef RC_VERSION_H
#define RC_VERSION_H

#include "common/metrics.h"

/* Static strings, valid for the program's life. */
const char *rc_version(void);
const char *rc_commit(void);

/* Prints "PROGRAM VERSION (commit C)" and a newline to stdout. */
void rc_version_print(const char *program);
/* When argv[1..] holds "--version", prints it (rc_version_print) and returns 1 (main()
 * then exits 0); otherwise returns 0. */
int rc_version_requested(const char *program, int argc, char **argv);

/* Registers the gauge roomcast_build_info{version,commit}, always 1. */
void rc_version_register(rc_metrics *reg);

#endif
