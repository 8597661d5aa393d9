/* log.c: JSON-lines logging (see log.h). Each line is built in memory and written with
 * one fwrite under the stdio lock, so lines from librdkafka's threads never interleave. */
#include "common/log.h"

#include <event2/event.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LIMIT_SLOTS 64
#define LIMIT_PER_SECOND 5

static const char *g_service = "roomcast";
static rc_log_level g_min = RC_LOG_INFO;
static const char *const g_names[] = {"debug", "info", "warn", "error"};

/* Rate-limit state per message text (pointer identity: messages are literals). */
static struct {
    const char *msg;
    time_t second;
    unsigned in_second;
    unsigned held_back;
} g_limits[LIMIT_SLOTS];
static pthread_mutex_t g_limit_lock = PTHREAD_MUTEX_INITIALIZER;

void rc_log_init(const char *service, rc_log_level min)
{
    g_service = service;
    g_min = min;
}

int rc_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, g_names[i]) == 0)
            return i;
    return -1;
}

static void rc__log_emit(rc_log_level level, const char *msg, json_t *extra, unsigned held_back)
{
    struct timespec ts;
    struct tm tm;
    char when[40];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof(when) - n, ".%03ldZ", ts.tv_nsec / 1000000);

    json_t *line = json_object();
    json_object_set_new(line, "ts", json_string(when));
    json_object_set_new(line, "level", json_string(g_names[level]));
    json_object_set_new(line, "service", json_string(g_service));
    json_object_set_new(line, "msg", json_string(msg));
    if (extra && json_is_object(extra))
        json_object_update(line, extra);
    if (held_back)
        json_object_set_new(line, "suppressed", json_integer(held_back));
    char *text = json_dumps(line, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(line);
    if (!text)
        return;
    size_t len = strlen(text);
    text[len] = '\n'; /* json_dumps leaves room for the NUL we overwrite */
    flockfile(stderr);
    fwrite(text, 1, len + 1, stderr);
    fflush(stderr);
    funlockfile(stderr);
    free(text);
}

static json_t *rc__log_fields(const char *fmt, va_list ap)
{
    if (!fmt)
        return NULL;
    json_error_t err;
    json_t *extra = json_vpack_ex(&err, 0, fmt, ap);
    if (!extra)
        extra = json_pack("{s:s}", "log_format_error", err.text);
    return extra;
}

void rc_log(rc_log_level level, const char *msg, const char *fmt, ...)
{
    if (level < g_min)
        return;
    va_list ap;
    va_start(ap, fmt);
    json_t *extra = rc__log_fields(fmt, ap);
    va_end(ap);
    rc__log_emit(level, msg, extra, 0);
    json_decref(extra);
}

void rc_log_limited(rc_log_level level, const char *msg, const char *fmt, ...)
{
    if (level < g_min)
        return;
    time_t now = time(NULL);
    unsigned held = 0;
    int write_it = 1;
    pthread_mutex_lock(&g_limit_lock);
    size_t slot = ((uintptr_t)msg >> 3) % LIMIT_SLOTS;
    if (g_limits[slot].msg != msg) {
        g_limits[slot].msg = msg;
        g_limits[slot].second = now;
        g_limits[slot].in_second = 0;
        g_limits[slot].held_back = 0;
    }
    if (g_limits[slot].second != now) {
        held = g_limits[slot].held_back;
        g_limits[slot].second = now;
        g_limits[slot].in_second = 0;
        g_limits[slot].held_back = 0;
    }
    if (++g_limits[slot].in_second > LIMIT_PER_SECOND) {
        g_limits[slot].held_back++;
        write_it = 0;
    }
    pthread_mutex_unlock(&g_limit_lock);
    if (!write_it)
        return;
    va_list ap;
    va_start(ap, fmt);
    json_t *extra = rc__log_fields(fmt, ap);
    va_end(ap);
    rc__log_emit(level, msg, extra, held);
    json_decref(extra);
}

/* libevent's own messages ("Error from accept() call: ...") as our JSON lines, limited
   like bad client input since a flood of them is what an overloaded process produces. */
static void rc__libevent_log(int severity, const char *msg)
{
    rc_log_level level = severity == EVENT_LOG_DEBUG ? RC_LOG_DEBUG
                         : severity == EVENT_LOG_MSG ? RC_LOG_INFO
                         : severity == EVENT_LOG_WARN ? RC_LOG_WARN
                                                      : RC_LOG_ERROR;
    rc_log_limited(level, "libevent", "{s:s}", "detail", msg);
}

void rc_log_route_libevent(void)
{
    event_set_log_callback(rc__libevent_log);
}
