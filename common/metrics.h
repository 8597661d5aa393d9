/* metrics.h: a small Prometheus registry (text exposition format 0.0.4) shared by the
 * gateway and the fanout. There is no global registry: main() creates one with
 * rc_metrics_new, hands it to whoever counts, and frees it last.
 *
 * A family has a name, a help text, a type and up to RC_METRICS_MAX_LABELS label names.
 * A child is one label-value tuple of a family; it is created on first use, kept until
 * the registry is freed, and the pointer returned for it stays valid that long, so hot
 * paths look a child up once and keep the pointer.
 *
 * Threads: updating a child (rc_counter_inc, rc_gauge_set, rc_histogram_observe) is a
 * few C11 atomic operations and safe from any thread, librdkafka's included. Looking a
 * child up takes no lock when it exists; creating families and children takes the
 * registry's mutex. rc_metrics_render may run on any thread, concurrently with all of
 * the above.
 *
 * Programmer errors (a bad metric or label name, a counter not ending in _total, a
 * duplicate family, the wrong number of label values) log one line and abort: they are
 * fixed in the source, never at run time. Label values come from anywhere and are
 * escaped when rendered. */
#ifndef RC_METRICS_H
#define RC_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "common/rc.h"

#define RC_METRICS_MAX_LABELS 4
#define RC_METRICS_MAX_BUCKETS 32

typedef struct rc_metrics rc_metrics;
typedef struct rc_counter rc_counter;
typedef struct rc_gauge rc_gauge;
typedef struct rc_histogram rc_histogram;
typedef struct rc_counter_family rc_counter_family;
typedef struct rc_gauge_family rc_gauge_family;
typedef struct rc_histogram_family rc_histogram_family;

/* Computes a value at scrape time, on the thread calling rc_metrics_render. It must not
 * block for long; NaN renders as NaN. */
typedef double (*rc_metrics_fn)(void *ctx);

/* Latency buckets in seconds, 0.0005 to 10, for request and delivery times. */
extern const double rc_metrics_latency_buckets[];
extern const size_t rc_metrics_latency_buckets_n;

rc_metrics *rc_metrics_new(void);
/* Frees the registry with every family and child; no pointer into it survives. The
 * caller makes sure no other thread still updates a child. */
void rc_metrics_free(rc_metrics *reg);

/* Registers the standard process collector (read from /proc when scraped):
 * process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
 * process_open_fds, process_max_fds, process_start_time_seconds. */
void rc_metrics_add_process(rc_metrics *reg);

/* The text exposition of every family, in creation order, each with its # HELP and
 * # TYPE once; children in creation order. Returns a NUL-terminated string the caller
 * frees with rc_free; *len (if not NULL) gets its length. */
char *rc_metrics_render(rc_metrics *reg, size_t *len);

/* ---- counters: monotonically increasing integers; names end in _total ---------------- */

/* An unlabeled counter, rendered as 0 until first incremented. Owned by reg. */
rc_counter *rc_counter_new(rc_metrics *reg, const char *name, const char *help);
/* labels is a comma list of label names, e.g. "reason,topic". Owned by reg. */
rc_counter_family *rc_counter_family_new(rc_metrics *reg, const char *name, const char *help,
                                         const char *labels);
/* A counter whose value is fn(ctx) at scrape time (for totals another library keeps).
 * ctx must outlive the registry. */
void rc_counter_fn_new(rc_metrics *reg, const char *name, const char *help, rc_metrics_fn fn,
                       void *ctx);
/* The child for these label values, one per label name, in order:
 *   rc_counter_inc(rc_counter_get(dlq, "undecodable", "domain.chat")); */
#define rc_counter_get(fam, ...)                                                         \
    rc_counter_family_get((fam), (const char *const[]){__VA_ARGS__, NULL})
/* values is NULL-terminated and has exactly as many entries as the family has labels. */
rc_counter *rc_counter_family_get(rc_counter_family *fam, const char *const *values);
void rc_counter_inc(rc_counter *c);
void rc_counter_add(rc_counter *c, uint64_t n);
uint64_t rc_counter_value(const rc_counter *c);

/* ---- gauges: doubles that go up and down ------------------------------------------------ */

rc_gauge *rc_gauge_new(rc_metrics *reg, const char *name, const char *help);
rc_gauge_family *rc_gauge_family_new(rc_metrics *reg, const char *name, const char *help,
                                     const char *labels);
/* A gauge whose value is fn(ctx) at scrape time (live connections, consumer lag).
 * ctx must outlive the registry. */
void rc_gauge_fn_new(rc_metrics *reg, const char *name, const char *help, rc_metrics_fn fn,
                     void *ctx);
#define rc_gauge_get(fam, ...)                                                           \
    rc_gauge_family_get((fam), (const char *const[]){__VA_ARGS__, NULL})
rc_gauge *rc_gauge_family_get(rc_gauge_family *fam, const char *const *values);
void rc_gauge_set(rc_gauge *g, double v);
void rc_gauge_add(rc_gauge *g, double d);
void rc_gauge_inc(rc_gauge *g);
void rc_gauge_dec(rc_gauge *g);
double rc_gauge_value(const rc_gauge *g);

/* ---- histograms: observations counted into fixed buckets ------------------------------ */

/* bounds are the buckets' inclusive upper bounds, strictly increasing, at most
 * RC_METRICS_MAX_BUCKETS; +Inf is implicit. bounds NULL means the latency buckets. The
 * bounds are copied. */
rc_histogram *rc_histogram_new(rc_metrics *reg, const char *name, const char *help,
                               const double *bounds, size_t nbounds);
rc_histogram_family *rc_histogram_family_new(rc_metrics *reg, const char *name,
                                             const char *help, const char *labels,
                                             const double *bounds, size_t nbounds);
#define rc_histogram_get(fam, ...)                                                       \
    rc_histogram_family_get((fam), (const char *const[]){__VA_ARGS__, NULL})
rc_histogram *rc_histogram_family_get(rc_histogram_family *fam, const char *const *values);
void rc_histogram_observe(rc_histogram *h, double v);
/* How many observations h has had. */
uint64_t rc_histogram_count(const rc_histogram *h);

#endif
