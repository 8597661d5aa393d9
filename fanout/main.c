/* roomcast-fanout: domain events in, room events out (CONTRACT §1, §5, §6; pipeline.h).
 *
 * main() reads and checks the settings and the routing table (a bad one stops the
 * process with one line and status 2), starts the admin endpoint on its own thread,
 * then runs the Kafka pipeline on this thread until SIGTERM/SIGINT (status 0, after what
 * was produced is committed and the consumer has left its group) or a fatal Kafka
 * error (status 1, for the orchestrator to restart it). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/metrics.h"
#include "common/routes.h"
#include "common/version.h"
#include "fanout/admin_thread.h"
#include "fanout/pipeline.h"
#include "fanout/settings.h"
#include "fanout/telemetry.h"

static volatile sig_atomic_t g_stop;
static fanout_telemetry *g_tm;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
    if (g_tm)
        atomic_store(&g_tm->stopping, 1); /* lock-free, so safe in a handler */
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Settings and routing table; returns 0, or the exit status after printing why. */
static int load(fanout_settings *cfg, rc_routes **routes, int argc, char **argv)
{
    char err[RC_ERRSTR_LEN];
    int rc = fanout_settings_load(cfg, argc, argv, err, sizeof err);
    if (rc == RC_ENOENT) {
        fanout_settings_usage();
        return 0;
    }
    if (rc != 0) {
        fprintf(stderr, "roomcast-fanout: %s\n", err);
        return 2;
    }
    if (rc_routes_load_file_or_default(cfg->routes_file, routes, err, sizeof err) != 0) {
        fprintf(stderr, "roomcast-fanout: ROOMCAST_ROUTES_FILE: %s\n", err);
        return 2;
    }
    return -1;
}

static int run(const fanout_settings *cfg, const rc_routes *routes, fanout_telemetry *tm)
{
    char err[RC_ERRSTR_LEN];
    fanout_admin *admin = NULL;
    if (fanout_admin_start(&cfg->admin_listen, tm->reg, fanout_telemetry_ready, tm, &admin, err,
                           sizeof err) != 0) {
        fprintf(stderr, "roomcast-fanout: %s\n", err);
        return 1;
    }
    fanout_pipeline *p = NULL;
    int rc = fanout_pipeline_new(cfg, routes, tm, &g_stop, &p, err, sizeof err);
    if (rc == RC_AGAIN) {
        rc = 0; /* stopped before Kafka answered */
    } else if (rc != 0) {
        rc_log_error("cannot start", "{s:s}", "error", err);
        rc = 1;
    } else {
        rc = fanout_pipeline_run(p) == 0 ? 0 : 1;
    }
    atomic_store(&tm->stopping, 1);
    fanout_pipeline_free(p);
    fanout_admin_stop(admin);
    return rc;
}

int main(int argc, char **argv)
{
    if (rc_version_requested("roomcast-fanout", argc, argv))
        return 0;
    fanout_settings cfg;
    rc_routes *routes = NULL;
    int status = load(&cfg, &routes, argc, argv);
    if (status >= 0) {
        fanout_settings_free(&cfg);
        return status;
    }
    rc_log_init("fanout", cfg.log_min);
    install_signals();
    rc_metrics *reg = rc_metrics_new();
    rc_metrics_add_process(reg);
    rc_version_register(reg);
    fanout_telemetry tm;
    fanout_telemetry_init(&tm, reg, cfg.brokers, cfg.group);
    g_tm = &tm;
    rc_log_info("starting", "{s:s,s:s,s:s,s:s,s:s,s:s}", "brokers", cfg.brokers, "group", cfg.group,
                "pattern", cfg.pattern, "mode", cfg.mode, "instance_id",
                cfg.instance_id ? cfg.instance_id : "(none: a dynamic group member)", "routes",
                cfg.routes_file ? cfg.routes_file : "(shipped)");
    status = run(&cfg, routes, &tm);
    rc_log_info("stopped", "{s:i}", "status", status);
    g_tm = NULL;
    rc_metrics_free(reg);
    rc_routes_free(routes);
    fanout_settings_free(&cfg);
    return status;
}
