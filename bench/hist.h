/* hist.h: a log-linear latency histogram for the benchmark tools, header-only because
 * every bench/ .c file becomes its own binary (CMakeLists.txt).
 *
 * Values are microseconds. Below 64 µs each value has its own bucket; above, every power
 * of two is cut into 32 equal buckets, so a bucket's width is at most 1/32 (about 3%) of
 * its value. That is HdrHistogram's idea with a fixed precision, small enough (1 300
 * counters) to keep one per run and dump whole into the JSON for plots. */
#ifndef RC_BENCH_HIST_H
#define RC_BENCH_HIST_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define BH_SUB 32
#define BH_LINEAR 64
#define BH_BUCKETS (BH_LINEAR + (64 - 6) * BH_SUB)

typedef struct {
    uint64_t count[BH_BUCKETS];
    uint64_t n, sum, max;
} bench_hist;

static inline int bh_index(uint64_t v)
{
    if (v < BH_LINEAR)
        return (int)v;
    int e = 63 - __builtin_clzll(v); /* >= 6 */
    int sub = (int)((v >> (e - 5)) & (BH_SUB - 1));
    return BH_LINEAR + (e - 6) * BH_SUB + sub;
}

/* The smallest value that falls in bucket i. */
static inline uint64_t bh_lower(int i)
{
    if (i < BH_LINEAR)
        return (uint64_t)i;
    int e = (i - BH_LINEAR) / BH_SUB + 6;
    uint64_t sub = (uint64_t)((i - BH_LINEAR) % BH_SUB);
    return (1ull << e) + (sub << (e - 5));
}

static inline void bh_add(bench_hist *h, uint64_t v)
{
    h->count[bh_index(v)]++;
    h->n++;
    h->sum += v;
    if (v > h->max)
        h->max = v;
}

static inline void bh_reset(bench_hist *h)
{
    memset(h, 0, sizeof *h);
}

/* The value at quantile q (0..1): the midpoint of the bucket holding it. */
static inline double bh_quantile(const bench_hist *h, double q)
{
    if (!h->n)
        return 0;
    uint64_t want = (uint64_t)(q * (double)h->n);
    if (want >= h->n)
        want = h->n - 1;
    uint64_t seen = 0;
    for (int i = 0; i < BH_BUCKETS; i++) {
        seen += h->count[i];
        if (seen > want) {
            double lo = (double)bh_lower(i);
            double hi = i + 1 < BH_BUCKETS ? (double)bh_lower(i + 1) : lo;
            double mid = (lo + hi) / 2;
            return mid > (double)h->max ? (double)h->max : mid;
        }
    }
    return (double)h->max;
}

/* Writes the summary as JSON members (no braces), values in milliseconds:
 * "n":..,"mean_ms":..,"p50_ms":..,"p90_ms":..,"p99_ms":..,"p999_ms":..,"max_ms":..,
 * "buckets":[[lower_us,count],...] (non-empty buckets only). */
static inline void bh_json(FILE *f, const bench_hist *h)
{
    fprintf(f, "\"n\":%llu,\"mean_ms\":%.3f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,"
               "\"p999_ms\":%.3f,\"max_ms\":%.3f,\"buckets\":[",
            (unsigned long long)h->n, h->n ? (double)h->sum / (double)h->n / 1000 : 0,
            bh_quantile(h, 0.5) / 1000, bh_quantile(h, 0.9) / 1000, bh_quantile(h, 0.99) / 1000,
            bh_quantile(h, 0.999) / 1000, (double)h->max / 1000);
    int first = 1;
    for (int i = 0; i < BH_BUCKETS; i++) {
        if (!h->count[i])
            continue;
        fprintf(f, "%s[%llu,%llu]", first ? "" : ",", (unsigned long long)bh_lower(i),
                (unsigned long long)h->count[i]);
        first = 0;
    }
    fputc(']', f);
}

#endif
