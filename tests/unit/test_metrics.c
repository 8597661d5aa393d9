/* Metrics: the exact text a Prometheus scrape sees, escaping, process metrics read from
 * /proc, exact sums under concurrent updates, and aborts on programmer errors. */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "common/alloc.h"
#include "common/metrics.h"

static double lag_fn(void *ctx)
{
    return *(double *)ctx;
}

static void test_exposition(void)
{
    rc_metrics *reg = rc_metrics_new();
    double lag = 42;
    static const double bounds[] = {0.25, 0.5, 1};

    rc_counter_family *events =
        rc_counter_family_new(reg, "rc_test_events_total", "Events seen.", "room,kind");
    rc_gauge *sockets = rc_gauge_new(reg, "rc_test_sockets", "Open sockets.");
    rc_gauge_fn_new(reg, "rc_test_lag", "Consumer lag.", lag_fn, &lag);
    rc_histogram_family *latency = rc_histogram_family_new(
        reg, "rc_test_latency_seconds", "Delivery latency.", "route", bounds, 3);
    rc_counter *idle = rc_counter_new(reg, "rc_test_idle_total", "Never incremented.");
    rc_counter_family_new(reg, "rc_test_unused_total", "No child yet.", "reason");

    rc_counter *ax = rc_counter_get(events, "a", "x");
    rc_counter_inc(ax);
    rc_counter_inc(rc_counter_get(events, "a", "x"));
    rc_counter_add(rc_counter_get(events, "b", "y"), 5);
    CHECK(ax == rc_counter_get(events, "a", "x")); /* children are cached */
    CHECK_EQ(rc_counter_value(ax), 2);
    CHECK_EQ(rc_counter_value(idle), 0);

    rc_gauge_set(sockets, 3);
    rc_gauge_inc(sockets);
    rc_gauge_dec(sockets);
    rc_gauge_add(sockets, 0.5);

    /* Observations equal to a bound count in that bucket (le is "less or equal"). */
    rc_histogram *h = rc_histogram_get(latency, "deliver");
    rc_histogram_observe(h, 0.25);
    rc_histogram_observe(h, 0.5);
    rc_histogram_observe(h, 0.125);
    rc_histogram_observe(h, 2);
    CHECK_EQ(rc_histogram_count(h), 4);
    lag = 7.5; /* read at scrape time, not at registration */

    size_t len;
    char *text = rc_metrics_render(reg, &len);
    const char *want =
        "# HELP rc_test_events_total Events seen.\n"
        "# TYPE rc_test_events_total counter\n"
        "rc_test_events_total{room=\"a\",kind=\"x\"} 2\n"
        "rc_test_events_total{room=\"b\",kind=\"y\"} 5\n"
        "# HELP rc_test_sockets Open sockets.\n"
        "# TYPE rc_test_sockets gauge\n"
        "rc_test_sockets 3.5\n"
        "# HELP rc_test_lag Consumer lag.\n"
        "# TYPE rc_test_lag gauge\n"
        "rc_test_lag 7.5\n"
        "# HELP rc_test_latency_seconds Delivery latency.\n"
        "# TYPE rc_test_latency_seconds histogram\n"
        "rc_test_latency_seconds_bucket{route=\"deliver\",le=\"0.25\"} 2\n"
        "rc_test_latency_seconds_bucket{route=\"deliver\",le=\"0.5\"} 3\n"
        "rc_test_latency_seconds_bucket{route=\"deliver\",le=\"1\"} 3\n"
        "rc_test_latency_seconds_bucket{route=\"deliver\",le=\"+Inf\"} 4\n"
        "rc_test_latency_seconds_sum{route=\"deliver\"} 2.875\n"
        "rc_test_latency_seconds_count{route=\"deliver\"} 4\n"
        "# HELP rc_test_idle_total Never incremented.\n"
        "# TYPE rc_test_idle_total counter\n"
        "rc_test_idle_total 0\n"
        "# HELP rc_test_unused_total No child yet.\n"
        "# TYPE rc_test_unused_total counter\n";
    CHECK_STR(text, want);
    CHECK_EQ(len, strlen(want));
    rc_free(text);
    rc_metrics_free(reg);
}

static void test_unlabeled_histogram_and_values(void)
{
    rc_metrics *reg = rc_metrics_new();
    rc_histogram *h = rc_histogram_new(reg, "rc_test_seconds", "Default buckets.", NULL, 0);
    rc_gauge_family *g = rc_gauge_family_new(reg, "rc_test_ratio", "Ratios.", "k");
    rc_histogram_observe(h, 0.0005);
    rc_histogram_observe(h, 10);
    rc_histogram_observe(h, 11);
    rc_gauge_set(rc_gauge_get(g, "tenth"), 0.1);
    rc_gauge_set(rc_gauge_get(g, "inf"), INFINITY);
    rc_gauge_set(rc_gauge_get(g, "neg"), -2e-7);

    char *text = rc_metrics_render(reg, NULL);
    CHECK(strstr(text, "rc_test_seconds_bucket{le=\"0.0005\"} 1\n") != NULL);
    CHECK(strstr(text, "rc_test_seconds_bucket{le=\"0.001\"} 1\n") != NULL);
    CHECK(strstr(text, "rc_test_seconds_bucket{le=\"2.5\"} 1\n") != NULL);
    CHECK(strstr(text, "rc_test_seconds_bucket{le=\"10\"} 2\n") != NULL);
    CHECK(strstr(text, "rc_test_seconds_bucket{le=\"+Inf\"} 3\n") != NULL);
    CHECK(strstr(text, "rc_test_seconds_count 3\n") != NULL);
    CHECK(strstr(text, "rc_test_ratio{k=\"tenth\"} 0.1\n") != NULL);
    CHECK(strstr(text, "rc_test_ratio{k=\"inf\"} +Inf\n") != NULL);
    CHECK(strstr(text, "rc_test_ratio{k=\"neg\"} -2e-07\n") != NULL);
    if (!strstr(text, "rc_test_ratio{k=\"tenth\"} 0.1\n"))
        fprintf(stderr, "%s", text);
    rc_free(text);
    CHECK_EQ(rc_metrics_latency_buckets_n, 14);
    CHECK(rc_metrics_latency_buckets[0] == 0.0005);
    CHECK(rc_metrics_latency_buckets[13] == 10);

    rc_metrics *empty = rc_metrics_new();
    size_t len = 99;
    text = rc_metrics_render(empty, &len);
    CHECK_STR(text, "");
    CHECK_EQ(len, 0);
    rc_free(text);
    rc_metrics_free(empty);
    rc_metrics_free(reg);
}

static void test_escaping(void)
{
    rc_metrics *reg = rc_metrics_new();
    rc_counter_family *f = rc_counter_family_new(
        reg, "rc_test_escaped_total", "Help with \\ backslash,\nnewline and \"quotes\".", "v");
    rc_counter_inc(rc_counter_get(f, "a\\b\"c\nd"));
    rc_counter_inc(rc_counter_get(f, ""));
    char *text = rc_metrics_render(reg, NULL);
    CHECK_STR(text,
              "# HELP rc_test_escaped_total Help with \\\\ backslash,\\nnewline and "
              "\"quotes\".\n"
              "# TYPE rc_test_escaped_total counter\n"
              "rc_test_escaped_total{v=\"a\\\\b\\\"c\\nd\"} 1\n"
              "rc_test_escaped_total{v=\"\"} 1\n");
    rc_free(text);
    rc_metrics_free(reg);
}

/* The value after "name " on its own line, or NAN when the line is missing. */
static double sample(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, name, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return NAN;
}

static void test_process(void)
{
    rc_metrics *reg = rc_metrics_new();
    rc_metrics_add_process(reg);
    char *text = rc_metrics_render(reg, NULL);
    CHECK(strstr(text, "# TYPE process_cpu_seconds_total counter\n") != NULL);
    CHECK(strstr(text, "# TYPE process_resident_memory_bytes gauge\n") != NULL);
    CHECK(sample(text, "process_resident_memory_bytes") > 1024 * 1024);
    CHECK(sample(text, "process_virtual_memory_bytes") >=
          sample(text, "process_resident_memory_bytes"));
    CHECK(sample(text, "process_cpu_seconds_total") >= 0);
    /* stdin, stdout and stderr at least; the /proc directory's own fd is not counted. */
    CHECK(sample(text, "process_open_fds") >= 3);
    CHECK(sample(text, "process_max_fds") >= sample(text, "process_open_fds"));
    double start = sample(text, "process_start_time_seconds");
    double now = (double)time(NULL);
    CHECK(start > now - 86400 && start <= now + 1);
    if (!(start > now - 86400 && start <= now + 1))
        fprintf(stderr, "start %f now %f\n%s", start, now, text);
    rc_free(text);
    rc_metrics_free(reg);
}

#define THREADS 4
#define ROUNDS 100000

typedef struct {
    rc_counter *counter;
    rc_counter_family *family;
    rc_gauge *gauge;
    rc_histogram *histogram;
} shared;

static void *hammer(void *arg)
{
    shared *s = arg;
    static const char *const rooms[] = {"r0", "r1", "r2", "r3", "r4",
                                        "r5", "r6", "r7", "r8", "r9"};
    for (int i = 0; i < ROUNDS; i++) {
        rc_counter_inc(s->counter);
        rc_gauge_inc(s->gauge);
        rc_histogram_observe(s->histogram, (i % 4) * 0.25);
        /* Children are looked up and created concurrently too. */
        rc_counter_inc(rc_counter_get(s->family, rooms[i % 10]));
    }
    return NULL;
}

static void test_threads(void)
{
    rc_metrics *reg = rc_metrics_new();
    shared s = {
        rc_counter_new(reg, "rc_test_hits_total", "Hits."),
        rc_counter_family_new(reg, "rc_test_room_hits_total", "Hits per room.", "room"),
        rc_gauge_new(reg, "rc_test_level", "Level."),
        rc_histogram_new(reg, "rc_test_obs", "Observations.", NULL, 0),
    };
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, hammer, &s);
    char *during = rc_metrics_render(reg, NULL); /* a scrape racing the writers */
    rc_free(during);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);

    CHECK_EQ(rc_counter_value(s.counter), THREADS * ROUNDS);
    CHECK(rc_gauge_value(s.gauge) == THREADS * ROUNDS);
    CHECK_EQ(rc_histogram_count(s.histogram), THREADS * ROUNDS);
    char *text = rc_metrics_render(reg, NULL);
    CHECK_EQ(sample(text, "rc_test_room_hits_total{room=\"r3\"}"), THREADS * ROUNDS / 10);
    /* (0 + 0.25 + 0.5 + 0.75) per 4 observations, exact in binary. */
    CHECK_EQ(sample(text, "rc_test_obs_sum"), THREADS * ROUNDS / 4 * 1.5);
    int children = 0;
    for (const char *p = text; (p = strstr(p, "rc_test_room_hits_total{")); p++)
        children++;
    CHECK_EQ(children, 10);
    rc_free(text);
    rc_metrics_free(reg);
}

/* Runs fn in a child process and reports whether it aborted. The child leaves by abort()
 * or _exit(), neither of which runs the leak checker, so its leaks are not reported. */
static int aborts(void (*fn)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        fn();
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void bad_counter_suffix(void)
{
    rc_counter_new(rc_metrics_new(), "rc_test_hits", "No _total.");
}
static void bad_metric_name(void)
{
    rc_gauge_new(rc_metrics_new(), "9lives", "Starts with a digit.");
}
static void bad_label_count(void)
{
    rc_counter_family *f = rc_counter_family_new(rc_metrics_new(), "a_total", "A.", "x,y");
    rc_counter_get(f, "only-one");
}
static void bad_duplicate(void)
{
    rc_metrics *reg = rc_metrics_new();
    rc_gauge_new(reg, "same", "A.");
    rc_gauge_new(reg, "same", "B.");
}
static void bad_le_label(void)
{
    rc_histogram_family_new(rc_metrics_new(), "h", "H.", "le", NULL, 0);
}
static void good_counter(void)
{
    rc_metrics *reg = rc_metrics_new();
    rc_counter_new(reg, "ns:ok_total", "Colons are allowed.");
    rc_metrics_free(reg);
}

static void test_programmer_errors(void)
{
    CHECK(aborts(bad_counter_suffix));
    CHECK(aborts(bad_metric_name));
    CHECK(aborts(bad_label_count));
    CHECK(aborts(bad_duplicate));
    CHECK(aborts(bad_le_label));
    CHECK(!aborts(good_counter));
}

int main(void)
{
    test_exposition();
    test_unlabeled_histogram_and_values();
    test_escaping();
    test_process();
    test_threads();
    test_programmer_errors();
    CHECK_DONE();
}
