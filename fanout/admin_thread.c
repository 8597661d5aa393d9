/* admin_thread.c: the admin endpoint's thread (see admin_thread.h). */
#include "fanout/admin_thread.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"

struct fanout_admin {
    struct event_base *base;
    rc_admin *admin;
    struct event *stop_ev;
    pthread_t thread;
};

/* Activated from the main thread: event_active is thread-safe and, unlike a loopbreak
 * issued before the loop starts, is not forgotten when the loop begins. */
static void admin__stop_cb(evutil_socket_t fd, short what, void *arg)
{
    fanout_admin *a = arg;
    event_base_loopbreak(a->base);
}

static void *admin__main(void *arg)
{
    fanout_admin *a = arg;
    event_base_dispatch(a->base);
    return NULL;
}

int fanout_admin_start(const rc_addr *addr, rc_metrics *reg, rc_admin_ready_fn ready, void *ctx,
                       fanout_admin **out, char *errstr, size_t errlen)
{
    /* Needed before the base exists, so the main thread may break its loop. */
    if (evthread_use_pthreads() != 0) {
        snprintf(errstr, errlen, "libevent has no pthreads support");
        return RC_EIO;
    }
    fanout_admin *a = rc_calloc(1, sizeof *a);
    a->base = event_base_new();
    if (!a->base) {
        snprintf(errstr, errlen, "could not create an event base");
        rc_free(a);
        return RC_EIO;
    }
    int rc = rc_admin_start(a->base, addr, reg, ready, ctx, &a->admin, errstr, errlen);
    if (rc != 0) {
        event_base_free(a->base);
        rc_free(a);
        return rc;
    }
    a->stop_ev = event_new(a->base, -1, 0, admin__stop_cb, a);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int err = pthread_create(&a->thread, NULL, admin__main, a);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        snprintf(errstr, errlen, "could not start the admin thread: %s", strerror(err));
        event_free(a->stop_ev);
        rc_admin_free(a->admin);
        event_base_free(a->base);
        rc_free(a);
        return RC_EIO;
    }
    *out = a;
    return 0;
}

int fanout_admin_port(const fanout_admin *a)
{
    return rc_admin_port(a->admin);
}

void fanout_admin_stop(fanout_admin *a)
{
    if (!a)
        return;
    event_active(a->stop_ev, EV_READ, 0);
    pthread_join(a->thread, NULL);
    event_free(a->stop_ev);
    rc_admin_free(a->admin);
    event_base_free(a->base);
    rc_free(a);
}
