/* metrics.c: the Prometheus registry (see metrics.h).
 *
 * Invariants. Families and children live in append-only singly linked lists whose links
 * are atomic pointers: a writer fills a node completely, then publishes it with a release
 * store under the registry's mutex; readers (lookups and rendering) walk the lists with
 * acquire loads and no lock. Nothing is unlinked before rc_metrics_free, so a pointer
 * handed out stays valid and a reader never sees a half-built node.
 *
 * Values are atomics updated with relaxed ordering: each is an independent statistic,
 * and a scrape only needs every value to be one that really existed. Doubles are kept as
 * their uint64_t bit pattern and updated with compare-and-swap, since C11 has no atomic
 * floating-point add. A histogram's _count is rendered as the sum of its buckets so that
 * it always equals the +Inf bucket, even while observations land during a scrape. */
#include "common/metrics.h"

#include <ctype.h>
#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/log.h"
#include "common/rc.h"

const double rc_metrics_latency_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                             0.025,  0.05,  0.1,    0.25,  0.5,
                                             1,      2.5,   5,      10};
const size_t rc_metrics_latency_buckets_n = RC_ARRAY_LEN(rc_metrics_latency_buckets);

typedef enum { METRICS__COUNTER, METRICS__GAUGE, METRICS__HISTOGRAM } metrics__type;

struct rc_counter {
    _Atomic uint64_t value;
};

struct rc_gauge {
    _Atomic uint64_t bits; /* a double's bit pattern */
};

struct rc_histogram {
    const double *bounds; /* the family's */
    size_t nbounds;
    _Atomic uint64_t sum_bits;
    _Atomic uint64_t counts[RC_METRICS_MAX_BUCKETS + 1]; /* per bucket, not cumulative */
};

typedef struct metrics__child {
    _Atomic(struct metrics__child *) next;
    uint64_t hash;
    char *values[RC_METRICS_MAX_LABELS];
    union {
        struct rc_counter counter;
        struct rc_gauge gauge;
        struct rc_histogram histogram;
    } m;
} metrics__child;

typedef struct metrics__family {
    _Atomic(struct metrics__family *) next;
    rc_metrics *reg;
    metrics__type type;
    char *name, *help;
    size_t nlabels;
    char *labels[RC_METRICS_MAX_LABELS];
    double bounds[RC_METRICS_MAX_BUCKETS];
    size_t nbounds;
    rc_metrics_fn fn; /* set for a callback metric, which has no children */
    void *fn_ctx;
    _Atomic(metrics__child *) head;
    metrics__child *tail; /* guarded by reg->mu */
} metrics__family;

struct rc_counter_family {
    metrics__family base;
};
struct rc_gauge_family {
    metrics__family base;
};
struct rc_histogram_family {
    metrics__family base;
};

struct rc_metrics {
    pthread_mutex_t mu;
    _Atomic(metrics__family *) head;
    metrics__family *tail; /* guarded by mu */
};

static const char *const metrics__type_names[] = {"counter", "gauge", "histogram"};

/* ---- programmer-error checks ---------------------------------------------------------- */

static void metrics__die(const char *why, const char *name)
{
    rc_log(RC_LOG_ERROR, "metrics: programmer error", "{s:s,s:s}", "why", why, "name",
           name ? name : "(null)");
    abort();
}

static int metrics__valid_name(const char *s, int colon_ok)
{
    if (!s || !*s || isdigit((unsigned char)*s))
        return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_' || (colon_ok && *s == ':')))
            return 0;
    return 1;
}

static void metrics__check_name(metrics__type type, const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (!metrics__valid_name(name, 1))
        metrics__die("metric name must match [a-zA-Z_:][a-zA-Z0-9_:]*", name);
    if (type == METRICS__COUNTER && (n < 7 || strcmp(name + n - 6, "_total") != 0))
        metrics__die("counter name must end in _total", name);
}

/* Splits the comma list into fam->labels, checking each name. */
static void metrics__parse_labels(metrics__family *fam, const char *labels)
{
    const char *p = labels;
    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char *label = rc_strndup(p, n);
        if (fam->nlabels == RC_METRICS_MAX_LABELS)
            metrics__die("more than RC_METRICS_MAX_LABELS labels", fam->name);
        if (!metrics__valid_name(label, 0) || strncmp(label, "__", 2) == 0)
            metrics__die("label name must match [a-zA-Z_][a-zA-Z0-9_]* and not start __",
                         label);
        if (fam->type == METRICS__HISTOGRAM && strcmp(label, "le") == 0)
            metrics__die("a histogram cannot have a label named le", fam->name);
        for (size_t i = 0; i < fam->nlabels; i++)
            if (strcmp(fam->labels[i], label) == 0)
                metrics__die("duplicate label name", label);
        fam->labels[fam->nlabels++] = label;
        p = end ? end + 1 : NULL;
    }
}

static void metrics__set_bounds(metrics__family *fam, const double *bounds, size_t n)
{
    if (!bounds) {
        bounds = rc_metrics_latency_buckets;
        n = rc_metrics_latency_buckets_n;
    }
    if (n == 0 || n > RC_METRICS_MAX_BUCKETS)
        metrics__die("a histogram needs 1 to RC_METRICS_MAX_BUCKETS buckets", fam->name);
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1])))
            metrics__die("histogram bounds must be finite and strictly increasing",
                         fam->name);
        fam->bounds[i] = bounds[i];
    }
    fam->nbounds = n;
}

/* ---- families and children ---------------------------------------------------------- */

static metrics__family *metrics__find_family(rc_metrics *reg, const char *name)
{
    metrics__family *f = atomic_load_explicit(&reg->head, memory_order_acquire);
    for (; f; f = atomic_load_explicit(&f->next, memory_order_acquire))
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

/* Fills fam (allocated zeroed by the typed constructor) and publishes it in reg. */
static void metrics__family_init(rc_metrics *reg, metrics__family *fam, metrics__type type,
                                 const char *name, const char *help, const char *labels,
                                 const double *bounds, size_t nbounds)
{
    metrics__check_name(type, name);
    fam->reg = reg;
    fam->type = type;
    fam->name = rc_strdup(name);
    fam->help = rc_strdup(help ? help : "");
    metrics__parse_labels(fam, labels);
    if (type == METRICS__HISTOGRAM)
        metrics__set_bounds(fam, bounds, nbounds);

    pthread_mutex_lock(&reg->mu);
    if (metrics__find_family(reg, name)) {
        pthread_mutex_unlock(&reg->mu);
        metrics__die("duplicate metric family", name);
    }
    if (reg->tail)
        atomic_store_explicit(&reg->tail->next, fam, memory_order_release);
    else
        atomic_store_explicit(&reg->head, fam, memory_order_release);
    reg->tail = fam;
    pthread_mutex_unlock(&reg->mu);
}

/* FNV-1a over the values with a separator byte that cannot appear in a C string, so
 * ("ab","c") and ("a","bc") differ. */
static uint64_t metrics__hash(const char *const *values, size_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++) {
        for (const unsigned char *p = (const unsigned char *)values[i]; *p; p++)
            h = (h ^ *p) * 1099511628211ull;
        h = (h ^ 0x100u) * 1099511628211ull;
    }
    return h;
}

static metrics__child *metrics__find_child(metrics__family *fam, const char *const *values,
                                           uint64_t hash)
{
    metrics__child *c = atomic_load_explicit(&fam->head, memory_order_acquire);
    for (; c; c = atomic_load_explicit(&c->next, memory_order_acquire)) {
        size_t i = 0;
        if (c->hash != hash)
            continue;
        while (i < fam->nlabels && strcmp(c->values[i], values[i]) == 0)
            i++;
        if (i == fam->nlabels)
            return c;
    }
    return NULL;
}

/* The child for values, created on first use. The lookup takes no lock; only a miss
 * takes the mutex, and looks again under it so two threads never create the same. */
static metrics__child *metrics__child_get(metrics__family *fam, const char *const *values)
{
    static const char *const none[] = {NULL};
    size_t n = 0;
    if (!values)
        values = none;
    while (values[n])
        n++;
    if (n != fam->nlabels)
        metrics__die("wrong number of label values", fam->name);

    uint64_t hash = metrics__hash(values, n);
    metrics__child *c = metrics__find_child(fam, values, hash);
    if (c)
        return c;

    pthread_mutex_lock(&fam->reg->mu);
    c = metrics__find_child(fam, values, hash);
    if (!c) {
        c = rc_calloc(1, sizeof *c);
        c->hash = hash;
        for (size_t i = 0; i < n; i++)
            c->values[i] = rc_strdup(values[i]);
        if (fam->type == METRICS__HISTOGRAM) {
            c->m.histogram.bounds = fam->bounds;
            c->m.histogram.nbounds = fam->nbounds;
        }
        if (fam->tail)
            atomic_store_explicit(&fam->tail->next, c, memory_order_release);
        else
            atomic_store_explicit(&fam->head, c, memory_order_release);
        fam->tail = c;
    }
    pthread_mutex_unlock(&fam->reg->mu);
    return c;
}

rc_metrics *rc_metrics_new(void)
{
    rc_metrics *reg = rc_calloc(1, sizeof *reg);
    pthread_mutex_init(&reg->mu, NULL);
    return reg;
}

void rc_metrics_free(rc_metrics *reg)
{
    if (!reg)
        return;
    metrics__family *f = atomic_load(&reg->head);
    while (f) {
        metrics__family *fnext = atomic_load(&f->next);
        metrics__child *c = atomic_load(&f->head);
        while (c) {
            metrics__child *cnext = atomic_load(&c->next);
            for (size_t i = 0; i < f->nlabels; i++)
                rc_free(c->values[i]);
            rc_free(c);
            c = cnext;
        }
        for (size_t i = 0; i < f->nlabels; i++)
            rc_free(f->labels[i]);
        rc_free(f->name);
        rc_free(f->help);
        rc_free(f); /* the typed wrapper starts with the family */
        f = fnext;
    }
    pthread_mutex_destroy(&reg->mu);
    rc_free(reg);
}

/* ---- counters ------------------------------------------------------------------------ */

rc_counter_family *rc_counter_family_new(rc_metrics *reg, const char *name, const char *help,
                                         const char *labels)
{
    rc_counter_family *fam = rc_calloc(1, sizeof *fam);
    metrics__family_init(reg, &fam->base, METRICS__COUNTER, name, help, labels, NULL, 0);
    return fam;
}

rc_counter *rc_counter_new(rc_metrics *reg, const char *name, const char *help)
{
    return rc_counter_family_get(rc_counter_family_new(reg, name, help, NULL), NULL);
}

void rc_counter_fn_new(rc_metrics *reg, const char *name, const char *help, rc_metrics_fn fn,
                       void *ctx)
{
    rc_counter_family *fam = rc_calloc(1, sizeof *fam);
    fam->base.fn = fn;
    fam->base.fn_ctx = ctx;
    metrics__family_init(reg, &fam->base, METRICS__COUNTER, name, help, NULL, NULL, 0);
}

rc_counter *rc_counter_family_get(rc_counter_family *fam, const char *const *values)
{
    return &metrics__child_get(&fam->base, values)->m.counter;
}

void rc_counter_inc(rc_counter *c)
{
    atomic_fetch_add_explicit(&c->value, 1, memory_order_relaxed);
}

void rc_counter_add(rc_counter *c, uint64_t n)
{
    atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
}

uint64_t rc_counter_value(const rc_counter *c)
{
    return atomic_load_explicit(&((rc_counter *)c)->value, memory_order_relaxed);
}

/* ---- gauges --------------------------------------------------------------------------- */

static uint64_t metrics__bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double metrics__double(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* Adds d to the double stored in *bits, retrying while another thread got in between. */
static void metrics__add_double(_Atomic uint64_t *bits, double d)
{
    uint64_t old = atomic_load_explicit(bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(bits, &old,
                                                  metrics__bits(metrics__double(old) + d),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

rc_gauge_family *rc_gauge_family_new(rc_metrics *reg, const char *name, const char *help,
                                     const char *labels)
{
    rc_gauge_family *fam = rc_calloc(1, sizeof *fam);
    metrics__family_init(reg, &fam->base, METRICS__GAUGE, name, help, labels, NULL, 0);
    return fam;
}

rc_gauge *rc_gauge_new(rc_metrics *reg, const char *name, const char *help)
{
    return rc_gauge_family_get(rc_gauge_family_new(reg, name, help, NULL), NULL);
}

void rc_gauge_fn_new(rc_metrics *reg, const char *name, const char *help, rc_metrics_fn fn,
                     void *ctx)
{
    rc_gauge_family *fam = rc_calloc(1, sizeof *fam);
    fam->base.fn = fn;
    fam->base.fn_ctx = ctx;
    metrics__family_init(reg, &fam->base, METRICS__GAUGE, name, help, NULL, NULL, 0);
}

rc_gauge *rc_gauge_family_get(rc_gauge_family *fam, const char *const *values)
{
    return &metrics__child_get(&fam->base, values)->m.gauge;
}

void rc_gauge_set(rc_gauge *g, double v)
{
    atomic_store_explicit(&g->bits, metrics__bits(v), memory_order_relaxed);
}

void rc_gauge_add(rc_gauge *g, double d)
{
    metrics__add_double(&g->bits, d);
}

void rc_gauge_inc(rc_gauge *g)
{
    metrics__add_double(&g->bits, 1);
}

void rc_gauge_dec(rc_gauge *g)
{
    metrics__add_double(&g->bits, -1);
}

double rc_gauge_value(const rc_gauge *g)
{
    return metrics__double(atomic_load_explicit(&((rc_gauge *)g)->bits, memory_order_relaxed));
}

/* ---- histograms ----------------------------------------------------------------------- */

rc_histogram_family *rc_histogram_family_new(rc_metrics *reg, const char *name,
                                             const char *help, const char *labels,
                                             const double *bounds, size_t nbounds)
{
    rc_histogram_family *fam = rc_calloc(1, sizeof *fam);
    metrics__family_init(reg, &fam->base, METRICS__HISTOGRAM, name, help, labels, bounds,
                         nbounds);
    return fam;
}

rc_histogram *rc_histogram_new(rc_metrics *reg, const char *name, const char *help,
                               const double *bounds, size_t nbounds)
{
    rc_histogram_family *fam = rc_histogram_family_new(reg, name, help, NULL, bounds, nbounds);
    return rc_histogram_family_get(fam, NULL);
}

rc_histogram *rc_histogram_family_get(rc_histogram_family *fam, const char *const *values)
{
    return &metrics__child_get(&fam->base, values)->m.histogram;
}

/* Bucket bounds are inclusive (le = "less or equal"), so an observation equal to a bound
 * counts in that bucket. NaN compares false everywhere and lands in +Inf, as in the Go
 * client. */
void rc_histogram_observe(rc_histogram *h, double v)
{
    size_t i = 0;
    while (i < h->nbounds && !(v <= h->bounds[i]))
        i++;
    atomic_fetch_add_explicit(&h->counts[i], 1, memory_order_relaxed);
    metrics__add_double(&h->sum_bits, v);
}

uint64_t rc_histogram_count(const rc_histogram *h)
{
    uint64_t n = 0;
    rc_histogram *m = (rc_histogram *)h;
    for (size_t i = 0; i <= m->nbounds; i++)
        n += atomic_load_explicit(&m->counts[i], memory_order_relaxed);
    return n;
}


/* ---- rendering ------------------------------------------------------------------------ */

typedef struct {
    char *p;
    size_t len, cap;
} metrics__buf;

static void metrics__put(metrics__buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        while (b->len + n + 1 > b->cap)
            b->cap = b->cap ? b->cap * 2 : 4096;
        b->p = rc_realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void metrics__puts(metrics__buf *b, const char *s)
{
    metrics__put(b, s, strlen(s));
}

/* Escapes for a label value (quote too) or a HELP text (backslash and newline only), as
 * the 0.0.4 text format requires. */
static void metrics__put_escaped(metrics__buf *b, const char *s, int quote)
{
    const char *run = s;
    for (; *s; s++) {
        const char *esc = *s == '\\' ? "\\\\" : *s == '\n' ? "\\n"
                        : (quote && *s == '"') ? "\\\"" : NULL;
        if (!esc)
            continue;
        metrics__put(b, run, (size_t)(s - run));
        metrics__puts(b, esc);
        run = s + 1;
    }
    metrics__put(b, run, (size_t)(s - run));
}

/* The shortest decimal that reads back as the same double, as Go's FormatFloat(v, 'g',
 * -1) does, so 0.1 renders "0.1" and not "0.10000000000000001". */
static void metrics__put_double(metrics__buf *b, double v)
{
    char tmp[40];
    if (isnan(v)) {
        metrics__puts(b, "NaN");
        return;
    }
    if (isinf(v)) {
        metrics__puts(b, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    metrics__puts(b, tmp);
}

static void metrics__put_u64(metrics__buf *b, uint64_t v)
{
    char tmp[24];
    snprintf(tmp, sizeof tmp, "%" PRIu64, v);
    metrics__puts(b, tmp);
}

/* name+suffix{labels[,le="bound"]} and a space; the caller writes the value. */
static void metrics__put_series(metrics__buf *b, const metrics__family *f, const char *suffix,
                                const metrics__child *c, const double *le)
{
    int first = 1;
    metrics__puts(b, f->name);
    metrics__puts(b, suffix);
    if (f->nlabels == 0 && !le) {
        metrics__puts(b, " ");
        return;
    }
    metrics__puts(b, "{");
    for (size_t i = 0; i < f->nlabels; i++, first = 0) {
        metrics__puts(b, first ? "" : ",");
        metrics__puts(b, f->labels[i]);
        metrics__puts(b, "=\"");
        metrics__put_escaped(b, c->values[i], 1);
        metrics__puts(b, "\"");
    }
    if (le) {
        metrics__puts(b, first ? "le=\"" : ",le=\"");
        metrics__put_double(b, *le);
        metrics__puts(b, "\"");
    }
    metrics__puts(b, "} ");
}

static void metrics__render_histogram(metrics__buf *b, const metrics__family *f,
                                      metrics__child *c)
{
    rc_histogram *h = &c->m.histogram;
    uint64_t cumulative = 0;
    double inf = INFINITY;
    for (size_t i = 0; i <= h->nbounds; i++) {
        cumulative += atomic_load_explicit(&h->counts[i], memory_order_relaxed);
        metrics__put_series(b, f, "_bucket", c, i < h->nbounds ? &h->bounds[i] : &inf);
        metrics__put_u64(b, cumulative);
        metrics__puts(b, "\n");
    }
    metrics__put_series(b, f, "_sum", c, NULL);
    metrics__put_double(b, metrics__double(atomic_load_explicit(&h->sum_bits,
                                                                memory_order_relaxed)));
    metrics__puts(b, "\n");
    metrics__put_series(b, f, "_count", c, NULL);
    metrics__put_u64(b, cumulative);
    metrics__puts(b, "\n");
}

static void metrics__render_family(metrics__buf *b, const metrics__family *f)
{
    metrics__puts(b, "# HELP ");
    metrics__puts(b, f->name);
    metrics__puts(b, " ");
    metrics__put_escaped(b, f->help, 0);
    metrics__puts(b, "\n# TYPE ");
    metrics__puts(b, f->name);
    metrics__puts(b, " ");
    metrics__puts(b, metrics__type_names[f->type]);
    metrics__puts(b, "\n");

    if (f->fn) {
        metrics__puts(b, f->name);
        metrics__puts(b, " ");
        metrics__put_double(b, f->fn(f->fn_ctx));
        metrics__puts(b, "\n");
        return;
    }
    metrics__child *c = atomic_load_explicit(&((metrics__family *)f)->head, memory_order_acquire);
    for (; c; c = atomic_load_explicit(&c->next, memory_order_acquire)) {
        if (f->type == METRICS__HISTOGRAM) {
            metrics__render_histogram(b, f, c);
            continue;
        }
        metrics__put_series(b, f, "", c, NULL);
        if (f->type == METRICS__COUNTER)
            metrics__put_u64(b, rc_counter_value(&c->m.counter));
        else
            metrics__put_double(b, rc_gauge_value(&c->m.gauge));
        metrics__puts(b, "\n");
    }
}

char *rc_metrics_render(rc_metrics *reg, size_t *len)
{
    metrics__buf b = {0};
    metrics__put(&b, "", 0); /* an empty registry still renders "" rather than NULL */
    metrics__family *f = atomic_load_explicit(&reg->head, memory_order_acquire);
    for (; f; f = atomic_load_explicit(&f->next, memory_order_acquire))
        metrics__render_family(&b, f);
    if (len)
        *len = b.len;
    return b.p;
}

/* ---- process metrics, read from /proc at scrape time ---------------------------------- */

enum { PROC__CPU, PROC__VSIZE, PROC__RSS, PROC__START };

/* The system boot time in seconds since the epoch, from /proc/stat's btime line. */
static double metrics__boot_time(void)
{
    char line[256];
    double btime = NAN;
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return NAN;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "btime ", 6) == 0) {
            btime = strtod(line + 6, NULL);
            break;
        }
    fclose(f);
    return btime;
}

/* One figure from /proc/self/stat (proc(5)). The fields are counted from after the
 * command name's closing parenthesis, since the name itself may hold spaces. */
static double metrics__proc_stat(void *ctx)
{
    int which = (int)(intptr_t)ctx;
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f)
        return NAN;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p)
        return NAN;

    /* Field 3 (state) follows ") "; we want 14 utime, 15 stime, 22 starttime, 23 vsize,
     * 24 rss. */
    double field[25] = {0};
    char *save = NULL;
    int i = 3;
    for (char *tok = strtok_r(p + 1, " ", &save); tok && i < 25;
         tok = strtok_r(NULL, " ", &save), i++)
        field[i] = strtod(tok, NULL);
    if (i < 25)
        return NAN;

    double ticks = (double)sysconf(_SC_CLK_TCK);
    switch (which) {
    case PROC__CPU:
        return (field[14] + field[15]) / ticks;
    case PROC__VSIZE:
        return field[23];
    case PROC__RSS:
        return field[24] * (double)sysconf(_SC_PAGESIZE);
    default:
        return metrics__boot_time() + field[22] / ticks;
    }
}

static double metrics__open_fds(void *ctx)
{
    DIR *d = opendir("/proc/self/fd");
    double n = 0;
    if (!d)
        return NAN;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d))
            n++;
    closedir(d);
    return n;
}

static double metrics__max_fds(void *ctx)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return NAN;
    return rl.rlim_cur == RLIM_INFINITY ? INFINITY : (double)rl.rlim_cur;
}

void rc_metrics_add_process(rc_metrics *reg)
{
    rc_counter_fn_new(reg, "process_cpu_seconds_total",
                      "Total user and system CPU time spent in seconds.", metrics__proc_stat,
                      (void *)(intptr_t)PROC__CPU);
    rc_gauge_fn_new(reg, "process_open_fds", "Number of open file descriptors.",
                    metrics__open_fds, NULL);
    rc_gauge_fn_new(reg, "process_max_fds", "Maximum number of open file descriptors.",
                    metrics__max_fds, NULL);
    rc_gauge_fn_new(reg, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
                    metrics__proc_stat, (void *)(intptr_t)PROC__VSIZE);
    rc_gauge_fn_new(reg, "process_resident_memory_bytes", "Resident memory size in bytes.",
                    metrics__proc_stat, (void *)(intptr_t)PROC__RSS);
    rc_gauge_fn_new(reg, "process_start_time_seconds",
                    "Start time of the process since unix epoch in seconds.",
                    metrics__proc_stat, (void *)(intptr_t)PROC__START);
}
