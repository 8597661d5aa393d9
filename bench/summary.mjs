// summary.mjs: the headline numbers of a benchmark run and the goals they are held to
// (issues 5 and 11), computed from the results object alone, so that bench.mjs and the
// report (which regenerates the docs from a committed results file) agree.
const ratio = (a, b) => (a && b ? +(a / b).toFixed(3) : null);

// The highest rate whose p99 is at most ms, with every delivery made (null if none).
export function highestRate(byRate, ms) {
  let best = null;
  for (const r of Object.values(byRate ?? {}))
    if (r?.latency && r.latency.p99_ms <= ms && r.delivered_share >= 0.999 && (best === null || r.rate > best)) best = r.rate;
  return best;
}

// The headline numbers, each with the goal it is held to (issues 5 and 11).
export function summarize(r) {
  const s = r.scenarios, rc = (k) => s[k]?.roomcast, io = (k) => s[k]?.socketio;
  const memAt = (k) => k?.points?.[k.points.length - 1];
  const m1 = memAt(rc("s3")), m2 = memAt(io("s3"));
  const at = (k, sys, rate) => s[k]?.[sys]?.[`r${rate}`];
  const sum = {
    s1_ratio_w8: ratio(rc("s1")?.w8?.deliveries_per_server_cpu_s, io("s1")?.w8?.deliveries_per_server_cpu_s),
    s1_ratio_w32: ratio(rc("s1")?.w32?.deliveries_per_server_cpu_s, io("s1")?.w32?.deliveries_per_server_cpu_s),
    memory_ratio: ratio(m1?.bytes_per_conn.rss, m2?.bytes_per_conn.rss),
    memory_ratio_after_gc: ratio(m1?.bytes_per_conn.rss, m2?.bytes_per_conn_after_gc?.rss),
    connects_per_s: rc("s4")?.connects_per_s ?? null,
    discarded_per_cpu_s: rc("s5")?.discarded_per_cpu_s ?? null,
    s2_highest_rate_p99_50ms: { roomcast: highestRate(rc("s2"), 50), roomcast_direct: highestRate(rc("s2d"), 50),
      socketio: highestRate(io("s2"), 50) },
    s2: {},
  };
  for (const rate of [1000, 2000, 5000, 10000, 20000]) {
    const a = at("s2", "roomcast", rate), d = at("s2d", "roomcast", rate), b = at("s2", "socketio", rate);
    if (!a && !b && !d) continue;
    const lat = (x) => x?.latency ? { p50: x.latency.p50_ms, p99: x.latency.p99_ms, p999: x.latency.p999_ms, delivered: x.delivered_share } : null;
    sum.s2[rate] = { roomcast: lat(a), roomcast_direct: lat(d), socketio: lat(b),
      cpu_us_per_event: { roomcast: a?.cpu_us_per_event ?? null, roomcast_direct: d?.cpu_us_per_event ?? null, socketio: b?.cpu_us_per_event ?? null } };
  }
  const a2 = (rate) => at("s2", "roomcast", rate), b5 = at("s2", "socketio", 5000), a5 = a2(5000);
  const latOk = (x) => x?.latency ? x.latency.p99_ms <= 25 && x.latency.p50_ms <= 10 && x.delivered_share >= 0.999 : null;
  const hr = sum.s2_highest_rate_p99_50ms;
  sum.goals = {
    s1_10x_w8: sum.s1_ratio_w8 != null ? sum.s1_ratio_w8 >= 10 : null,
    s1_10x_w32: sum.s1_ratio_w32 != null ? sum.s1_ratio_w32 >= 10 : null,
    s2_latency_2000: latOk(a2(2000)),
    s2_latency_5000: latOk(a5),
    s2_server_cpu_third_5000: a5 && b5 ? a5.cpu_us_per_event.server <= b5.cpu_us_per_event.server / 3 : null,
    s2_server_bus_1_5x_5000: a5 && b5 ? a5.cpu_us_per_event.server_and_bus <= 1.5 * b5.cpu_us_per_event.server_and_bus : null,
    // both systems must have run: a rate of null is also "none with p99 ≤ 50 ms"
    s2_highest_rate_vs_socketio: rc("s2") && io("s2") ? (hr.roomcast ?? 0) >= (hr.socketio ?? 0) : null,
    s3_fifth: sum.memory_ratio != null ? sum.memory_ratio <= 0.2 : null,
    s4_10k_per_s: sum.connects_per_s != null ? sum.connects_per_s >= 10000 : null,
    s5_2m_per_cpu_s: sum.discarded_per_cpu_s != null ? sum.discarded_per_cpu_s >= 2e6 : null,
  };
  return sum;
}

