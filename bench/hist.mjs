// hist.mjs: the JavaScript side of bench/hist.h. Load generators report their latency
// histograms as {n, mean_ms, max_ms, buckets: [[lower_us, count], ...]}; several processes'
// histograms are combined here exactly (bucket counts added, never percentiles averaged)
// and summarized the way bh_json does, so a merged p99 is what one process holding every
// client would have printed.
const SUB = 32, LINEAR = 64;

function index(v) {
  if (v < LINEAR) return v;
  let e = 6;
  while (2 ** (e + 1) <= v) e++;
  const sub = Math.floor(v / 2 ** (e - 5)) & (SUB - 1);
  return LINEAR + (e - 6) * SUB + sub;
}

function lower(i) {
  if (i < LINEAR) return i;
  const e = Math.floor((i - LINEAR) / SUB) + 6, sub = (i - LINEAR) % SUB;
  return 2 ** e + sub * 2 ** (e - 5);
}

// The value at quantile q in µs: the midpoint of the bucket holding it, at most the max
// (bh_quantile). buckets: [[lower_us, count]] ascending.
function quantile(buckets, n, maxUs, q) {
  if (!n) return 0;
  let want = Math.floor(q * n);
  if (want >= n) want = n - 1;
  let seen = 0;
  for (const [lo, count] of buckets) {
    seen += count;
    if (seen > want) {
      const mid = (lo + lower(index(lo) + 1)) / 2;
      return mid > maxUs ? maxUs : mid;
    }
  }
  return maxUs;
}

const ms3 = (us) => Math.round(us) / 1000;

// One histogram from several (any may be null or empty), with bh_json's fields.
export function mergeHists(hists) {
  const counts = new Map();
  let n = 0, sumMs = 0, maxMs = 0;
  for (const h of hists) {
    if (!h?.n) continue;
    n += h.n;
    sumMs += h.mean_ms * h.n;
    maxMs = Math.max(maxMs, h.max_ms);
    for (const [lo, c] of h.buckets ?? []) counts.set(lo, (counts.get(lo) ?? 0) + c);
  }
  const buckets = [...counts.entries()].sort((a, b) => a[0] - b[0]);
  const maxUs = maxMs * 1000, at = (q) => ms3(quantile(buckets, n, maxUs, q));
  return { n, mean_ms: n ? +(sumMs / n).toFixed(3) : 0, p50_ms: at(0.5), p90_ms: at(0.9), p99_ms: at(0.99),
    p999_ms: at(0.999), max_ms: maxMs, buckets };
}

// A histogram without its buckets (for tables and summaries).
export function withoutBuckets(h) {
  if (!h) return h;
  const { buckets, ...rest } = h;
  return rest;
}
