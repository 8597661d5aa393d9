/* kwake.c: librdkafka queue -> libevent wake-ups (see kwake.h). */
#include "gateway/kwake.h"

#include <event2/event.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/alloc.h"

struct gw_kwake {
    rd_kafka_queue_t *q;
    int pipefd[2];
    struct event *ev;
    void (*fn)(void *);
    void *arg;
};

static void gw__kwake_cb(evutil_socket_t fd, short what, void *arg)
{
    gw_kwake *w = arg;
    char buf[64];
    while (read(w->pipefd[0], buf, sizeof buf) > 0)
        ;
    w->fn(w->arg);
}

gw_kwake *gw_kwake_new(struct event_base *base, rd_kafka_queue_t *q, void (*fn)(void *arg),
                       void *arg)
{
    gw_kwake *w = rc_calloc(1, sizeof *w);
    w->q = q;
    w->fn = fn;
    w->arg = arg;
    if (pipe2(w->pipefd, O_NONBLOCK | O_CLOEXEC) != 0)
        abort();
    rd_kafka_queue_io_event_enable(q, w->pipefd[1], "x", 1);
    w->ev = event_new(base, w->pipefd[0], EV_READ | EV_PERSIST, gw__kwake_cb, w);
    event_add(w->ev, NULL);
    return w;
}

void gw_kwake_again(gw_kwake *w)
{
    event_active(w->ev, EV_READ, 0);
}

void gw_kwake_free(gw_kwake *w)
{
    if (!w)
        return;
    rd_kafka_queue_io_event_enable(w->q, -1, NULL, 0);
    event_free(w->ev);
    close(w->pipefd[0]);
    close(w->pipefd[1]);
    rc_free(w);
}
