/* heartbeat.c: when each session's next heartbeat step is due, without a timer per session.
 *
 * A session waits for one of two things: the moment to send its next ping (ping_interval_ms
 * after the last pong or the open) or the pong to the ping it sent (ping_timeout_ms). Each
 * has one duration for the whole engine, so a session armed later is due later: the engine
 * keeps one list per kind in arming order, which is deadline order, and a single timer for
 * the earliest head. Arming is a move to a list's tail, O(1); a session costs a list link and
 * a deadline (24 bytes) instead of a libevent timer of its own (a 128-byte struct event and
 * its allocation, and a heap operation on every arm).
 *
 * Deadlines are on the monotonic clock, so a step of the wall clock neither fires every
 * heartbeat at once nor holds them back. */
#include <time.h>

#include "gateway/engine_int.h"

static int64_t gw__mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The session due first: the earlier of the lists' heads; NULL when both are empty. */
static gw_session *gw__hb_earliest(gw_engine *e)
{
    gw_session *s = NULL;
    for (int i = 0; i < GW_HB_LISTS; i++) {
        gw_session *h = TAILQ_FIRST(&e->hb[i]);
        if (h && (!s || h->hb_due_ms < s->hb_due_ms))
            s = h;
    }
    return s;
}

/* Puts the engine's timer at the earliest head, or stops it when both lists are empty. */
static void gw__hb_schedule(gw_engine *e, int64_t now)
{
    gw_session *first = gw__hb_earliest(e);
    int64_t due = first ? first->hb_due_ms : 0;
    if (!due) {
        if (e->hb_timer_ms)
            evtimer_del(e->hb_timer);
        e->hb_timer_ms = 0;
        return;
    }
    if (due == e->hb_timer_ms)
        return;
    int64_t ms = due > now ? due - now : 0;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    evtimer_add(e->hb_timer, &tv);
    e->hb_timer_ms = due;
}

static void gw__hb_fire(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    gw_engine *e = arg;
    e->hb_timer_ms = 0;
    int64_t now = gw__mono_ms();
    gw_session *s;
    while ((s = gw__hb_earliest(e)) && s->hb_due_ms <= now) {
        gw__hb_disarm(s);
        /* re-arming puts it at least 1 ms past now: this loop ends */
        gw__session_heartbeat(s);
    }
    gw__hb_schedule(e, now);
}

void gw__hb_init(gw_engine *e)
{
    for (int i = 0; i < GW_HB_LISTS; i++)
        TAILQ_INIT(&e->hb[i]);
    e->hb_timer = evtimer_new(e->base, gw__hb_fire, e);
}

void gw__hb_free(gw_engine *e)
{
    if (e->hb_timer)
        event_free(e->hb_timer);
    e->hb_timer = NULL;
}

void gw__hb_arm(gw_session *s, int list)
{
    gw_engine *e = s->e;
    gw__hb_disarm(s);
    long ms = list == GW_HB_PONG ? e->cfg.ping_timeout_ms : e->cfg.ping_interval_ms;
    int64_t now = gw__mono_ms();
    s->hb_due_ms = now + (ms > 0 ? ms : 1);
    s->hb_list = (uint8_t)list;
    TAILQ_INSERT_TAIL(&e->hb[list - 1], s, hb_link);
    if (!e->hb_timer_ms || s->hb_due_ms < e->hb_timer_ms)
        gw__hb_schedule(e, now);
}

void gw__hb_disarm(gw_session *s)
{
    if (s->hb_list == GW_HB_NONE)
        return;
    /* the engine's timer may now fire with nothing due: it then just moves on */
    TAILQ_REMOVE(&s->e->hb[s->hb_list - 1], s, hb_link);
    s->hb_list = GW_HB_NONE;
}
