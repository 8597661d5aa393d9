/* log.h: structured logs, one JSON object a line on stderr:
 *   {"ts":"2026-11-27T02:40:00.123Z","level":"info","service":"gateway","msg":"listening","addr":"0.0.0.0:3000"}
 * Extra fields are given as a jansson json_pack() format for an object and its values:
 *   rc_log(RC_LOG_INFO, "listening", "{s:s}", "addr", addr);
 * Pass NULL as the format for no extra fields. Safe to call from any thread.
 *
 * Bad client input is logged through rc_log_limited, which writes at most a few lines
 * per second per message and then one summary of how many it held back, so a flood of
 * malformed frames cannot flood the log (they are still counted in the metrics). */
#ifndef RC_LOG_H
#define RC_LOG_H

typedef enum { RC_LOG_DEBUG = 0, RC_LOG_INFO, RC_LOG_WARN, RC_LOG_ERROR } rc_log_level;

/* service names every line; min drops lines below it. Call once from main(). */
void rc_log_init(const char *service, rc_log_level min);
/* "debug", "info", "warn" or "error"; returns -1 for anything else. */
int rc_log_level_parse(const char *s);

/* Routes libevent's own log messages through rc_log_limited (one JSON line each, at most
 * a few a second). Call once from main(). */
void rc_log_route_libevent(void);

void rc_log(rc_log_level level, const char *msg, const char *fmt, ...);
void rc_log_limited(rc_log_level level, const char *msg, const char *fmt, ...);

#define rc_log_debug(msg, ...) rc_log(RC_LOG_DEBUG, msg, __VA_ARGS__)
#define rc_log_info(msg, ...) rc_log(RC_LOG_INFO, msg, __VA_ARGS__)
#define rc_log_warn(msg, ...) rc_log(RC_LOG_WARN, msg, __VA_ARGS__)
#define rc_log_error(msg, ...) rc_log(RC_LOG_ERROR, msg, __VA_ARGS__)

#endif
