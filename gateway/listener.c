/* listener.c: the engine's accept path. Binds the client listener, refuses connections
 * past max_connections, and survives running out of file descriptors: on EMFILE/ENFILE
 * (or ENOBUFS/ENOMEM) accepting pauses for GW_ACCEPT_PAUSE_MS, the pending connections
 * wait in the kernel's backlog, the pause is counted (roomcast_gateway_accept_paused_total)
 * and logged at most once per GW_ACCEPT_LOG_S seconds, so a gateway short of
 * descriptors neither spins on accept() nor floods its log, and keeps serving the
 * connections it has. At listen, the open-file soft limit is raised to the hard one,
 * and a ROOMCAST_MAX_CONNECTIONS that cannot fit in it is said once (nginx's way:
 * warn and run; past the limit, the pause above). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/kafka.h"
#include "common/listen.h"
#include "common/log.h"
#include "common/metrics.h"
#include "gateway/engine_int.h"

#define GW_ACCEPT_PAUSE_MS 250
#define GW_ACCEPT_LOG_S 10
/* Descriptors a gateway needs besides its clients: Kafka, the admin port, DNS, logs. */
#define GW_FD_RESERVE 64

static void gw__accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                          int socklen, void *arg)
{
    gw_engine *e = arg;
    if (e->stats.connections >= e->cfg.max_connections) {
        e->stats.connections_refused++;
        rc_log_limited(RC_LOG_WARN, "connection refused: at the connection limit", "{s:I}",
                       "max_connections", (json_int_t)e->cfg.max_connections);
        evutil_closesocket(fd);
        return;
    }
    gw__conn_accepted(e, fd, sa);
}

static void gw__accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
    gw_engine *e = arg;
    if (e->listener)
        evconnlistener_enable(e->listener);
}

static void gw__accept_error_cb(struct evconnlistener *l, void *arg)
{
    gw_engine *e = arg;
    int err = EVUTIL_SOCKET_ERROR();
    int out_of_fds = err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
    if (out_of_fds) {
        rc_counter_inc(e->k.accept_paused);
        evconnlistener_disable(l);
        struct timeval tv = {0, GW_ACCEPT_PAUSE_MS * 1000};
        evtimer_add(e->accept_resume, &tv);
    }
    int64_t now = rc_now_us();
    if (out_of_fds && e->accept_logged_us &&
        now - e->accept_logged_us < GW_ACCEPT_LOG_S * 1000000LL)
        return;
    if (out_of_fds)
        e->accept_logged_us = now;
    rc_log_limited(RC_LOG_WARN,
                   out_of_fds ? "accepting paused: no file descriptor left" : "accept failed",
                   "{s:s,s:I,s:i,s:I}", "error", strerror(err), "pauses_since_last_line",
                   (json_int_t)(rc_counter_value(e->k.accept_paused) - e->accept_logged_pauses), "pause_ms",
                   out_of_fds ? GW_ACCEPT_PAUSE_MS : 0, "connections",
                   (json_int_t)e->stats.connections);
    e->accept_logged_pauses = rc_counter_value(e->k.accept_paused);
}

/* Raises the soft open-file limit to the hard one; says so if max_connections cannot
   fit in it. */
static void gw__fd_limit(const gw_engine *e)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit want = {rl.rlim_max, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &want) == 0)
            rl = want;
    }
    if (rl.rlim_cur == RLIM_INFINITY || e->cfg.max_connections + GW_FD_RESERVE <= rl.rlim_cur)
        return;
    rc_log_warn("ROOMCAST_MAX_CONNECTIONS does not fit in the open-file limit: past the "
                "limit, accepting pauses until descriptors free up (raise ulimit -n, or "
                "lower ROOMCAST_MAX_CONNECTIONS)",
                "{s:I,s:I,s:i}", "max_connections", (json_int_t)e->cfg.max_connections,
                "open_file_limit", (json_int_t)rl.rlim_cur, "reserved", GW_FD_RESERVE);
}

int gw_engine_listen(gw_engine *e, const rc_addr *addr, char *errstr, size_t errlen)
{
    gw__fd_limit(e);
    /* rc_listen_tcp makes "[::]:PORT" dual-stack (IPV6_V6ONLY off) */
    int fd = rc_listen_tcp(addr, "ROOMCAST_LISTEN", 4096, &e->port, errstr, errlen);
    if (fd < 0)
        return RC_EIO;
    e->listener = evconnlistener_new(e->base, gw__accept_cb, e, LEV_OPT_CLOSE_ON_FREE, 0, fd);
    if (!e->listener) {
        close(fd);
        snprintf(errstr, errlen, "ROOMCAST_LISTEN: cannot listen");
        return RC_EIO;
    }
    evconnlistener_set_error_cb(e->listener, gw__accept_error_cb);
    if (!e->accept_resume)
        e->accept_resume = evtimer_new(e->base, gw__accept_resume_cb, e);
    return RC_OK;
}

int gw_engine_port(const gw_engine *e)
{
    return e->port;
}

void gw_engine_stop_listening(gw_engine *e)
{
    if (e->listener) {
        evconnlistener_free(e->listener);
        e->listener = NULL;
    }
    if (e->accept_resume)
        evtimer_del(e->accept_resume);
}
