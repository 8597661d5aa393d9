// scenarios.mjs: the benchmark's scenarios (issues 5 and 11). Each takes a system (systems.mjs) and a
// size, starts a fresh server, drives it with roomcast-loadgen and the system's own
// backend producer, and returns plain numbers; bench.mjs runs each against both systems.
import path from "node:path";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { Child, cpuSeconds, memoryKiB, sleep, waitFor } from "./lib.mjs";
import { SECRET } from "./systems.mjs";
import { requestDelta } from "./broker.mjs";

function loadgen(ctx, sys, args = []) {
  return new Child("loadgen", path.join(ctx.bin, "roomcast-loadgen"),
    ["--port", String(sys.port), "--secret", SECRET, "--sources", String(ctx.sources), ...args], {});
}

function cpuOf(pids) {
  const out = {};
  for (const [k, pid] of Object.entries(pids)) out[k] = cpuSeconds(pid);
  return out;
}
function cpuDelta(a, b) {
  const out = {};
  let total = 0;
  for (const k of Object.keys(a)) { out[k] = +(b[k] - a[k]).toFixed(3); total += b[k] - a[k]; }
  out.total = +total.toFixed(3);
  return out;
}

// With ctx.perf (a directory), records a call-graph profile of each server process
// during the measured part of a scenario: perf.data files named scenario-system-process.
function perfStart(ctx, key, sys) {
  if (!ctx.perf) return [];
  return Object.entries(sys.serverPids()).map(([proc, pid]) => {
    const child = spawn("perf", ["record", "-g", "-F", "499", "-p", String(pid), "-o",
      path.join(ctx.perf, `${key}-${sys.name}-${proc}.perf.data`)], { stdio: "ignore" });
    return { child, exited: once(child, "exit") };
  });
}
async function perfStop(recs) {
  for (const r of recs) r.child.kill("SIGINT");
  await Promise.all(recs.map((r) => r.exited));
}

async function connect(lg, n) {
  lg.send(`connect ${n}`);
  const r = await lg.nextType("connected", 300000);
  if (r.failed) throw new Error(`loadgen: ${r.failed} of ${n} clients failed: ${JSON.stringify(r.failures)}`);
  return r;
}

async function report(lg) {
  lg.send("report");
  return lg.nextType("report");
}

// ---- 1. broadcast fan-out ------------------------------------------------------------------
// N sockets in one room; events produced as fast as the clients receive them: a window of
// W events in flight, one more credited as each is received by every socket. One server
// and one set of connections serve every window in `windows`, each measured on its own.
export async function broadcast(ctx, sys, { sockets, seconds, windows }) {
  await sys.start();
  const lg = loadgen(ctx, sys, ["--join", "bench"]);
  const prod = sys.producer();
  try {
    await connect(lg, sockets);
    const out = {};
    for (const window of windows) out[`w${window}`] = await broadcastWindow(ctx, sys, lg, prod, { sockets, seconds, window });
    return out;
  } finally {
    lg.send("quit");
    prod.send("quit");
    await Promise.all([lg.stop("SIGTERM"), prod.stop("SIGTERM")]);
    await sys.stop();
  }
}

async function broadcastWindow(ctx, sys, lg, prod, { sockets, seconds, window }) {
  let received = 0, sent = 0, series = [], last = null, pacing = true;
  const credit = () => {
    const want = Math.floor(received / sockets) + window - sent;
    if (want > 0 && pacing) { prod.send(`credit ${want}`); sent += want; }
  };
  lg.onLine = (v) => {
    if (v.type !== "progress") return false;
    received = v.deliveries;
    if (last && v.t_us - last.t_us > 0) series.push([v.t_us, (v.deliveries - last.deliveries) / ((v.t_us - last.t_us) / 1e6)]);
    last = v;
    credit();
    return true;
  };
  // warm up: one window end to end, then start counting from zero
  lg.send("reset");
  await lg.nextType("reset");
  lg.send("progress 10");
  credit();
  await waitFor("warm-up", () => received >= window * sockets, 60000, 20);
  pacing = false;
  await waitFor("warm-up drain", () => received >= sent * sockets, 60000, 20);
  lg.send("reset");
  await lg.nextType("reset");
  received = sent = 0; series = []; last = null;
  const perf = perfStart(ctx, `s1-w${window}`, sys);
  const c0 = cpuOf(sys.serverPids()), b0 = cpuSeconds(sys.busPid());
  pacing = true;
  credit();
  await sleep(seconds * 1000);
  pacing = false;
  await waitFor("drain", () => received >= sent * sockets, 20000, 20).catch(() => {});
  const c1 = cpuOf(sys.serverPids()), b1 = cpuSeconds(sys.busPid());
  await perfStop(perf);
  lg.send("progress 0");
  lg.onLine = null;
  const r = await report(lg);
  const cpu = cpuDelta(c0, c1);
  return {
    sockets, window, events: sent, deliveries: r.deliveries, expected: sent * sockets, dropped_sockets: r.dropped,
    seconds: r.seconds, deliveries_per_s: Math.round(r.deliveries / r.seconds),
    server_cpu_s: cpu, bus_cpu_s: +(b1 - b0).toFixed(3),
    server_cpu_s_per_million: +(cpu.total / (r.deliveries / 1e6)).toFixed(3),
    deliveries_per_server_cpu_s: Math.round(r.deliveries / cpu.total),
    loadgen_cpu_s: r.cpu_s, loadgen_cpu_share: r.cpu_share,
    latency: r.latency, series: downsample(series, 0.25),
  };
}

// Averages a [[t_us, per_s], ...] series into buckets of `step` seconds from its start.
function downsample(series, step) {
  if (!series.length) return [];
  const t0 = series[0][0], out = new Map();
  for (const [t, v] of series) {
    const k = Math.floor((t - t0) / 1e6 / step);
    const e = out.get(k) || [0, 0];
    out.set(k, [e[0] + v, e[1] + 1]);
  }
  return [...out.entries()].map(([k, [s, n]]) => [+(k * step).toFixed(2), Math.round(s / n)]);
}

// ---- 2. rooms at marketplace shape ---------------------------------------------------------
// N sockets, socket i = user u(i) in user-u(i) and chats c(i), c(i-1): N two-person chats.
// chat.message_created at a fixed rate on random chats: chat room + both user rooms, so
// each event reaches its two participants once each. Open loop: each event is stamped with
// the time it was due, so latency includes any time the producer was held up.
// One server and one set of connections serve every rate in `rates`, lowest first; a
// rate's backlog drains (or times out) before the next starts.
// direct: the backend writes the fanout's RoomEvents itself (the emitter, `roomcast emit`):
// one hop through Kafka instead of two. Only for roomcast (Socket.IO's emitter is direct).
export async function marketplace(ctx, sys, { sockets, rates, seconds, direct = false }) {
  await sys.start({ fanout: !direct });
  const lg = loadgen(ctx, sys, ["--ring", String(sockets)]);
  const prod = sys.producer();
  try {
    await connect(lg, sockets);
    const how = direct ? " direct" : "";
    prod.send(`rate ${Math.min(rates[0], 2000)} 2 ${sockets}${how}`); // warm-up (group join, JIT, caches)
    await prod.nextType("done", 60000);
    await sleep(1000);
    const out = {};
    for (const rate of rates) out[`r${rate}`] = await marketplaceRate(ctx, sys, lg, prod, { sockets, rate, seconds, how });
    return out;
  } finally {
    lg.send("quit");
    prod.send("quit");
    await Promise.all([lg.stop("SIGTERM"), prod.stop("SIGTERM")]);
    await sys.stop();
  }
}

async function marketplaceRate(ctx, sys, lg, prod, { sockets, rate, seconds, how }) {
  lg.send("reset");
  await lg.nextType("reset");
  const perf = perfStart(ctx, `s2${how ? "d" : ""}-r${rate}`, sys);
  const q0 = await sys.busRequests();
  const c0 = cpuOf(sys.serverPids()), b0 = cpuSeconds(sys.busPid());
  prod.send(`rate ${rate} ${seconds} ${sockets}${how}`);
  const done = await prod.nextType("done", (seconds + 120) * 1000);
  let r;
  const expected = done.produced * 2;
  await waitFor("all deliveries", async () => (r = await report(lg)).deliveries >= expected, 15000, 250).catch(() => {});
  const c1 = cpuOf(sys.serverPids()), b1 = cpuSeconds(sys.busPid());
  const q1 = await sys.busRequests();
  await perfStop(perf);
  await sleep(500); // let stragglers of an overloaded rate land before the next one
  const cpu = cpuDelta(c0, c1), bus = +(b1 - b0).toFixed(3);
  const us = (x) => +((x / done.produced) * 1e6).toFixed(1);
  const per_event_us = {};
  for (const [k, v] of Object.entries(cpu)) per_event_us[k === "total" ? "server" : k] = us(v);
  per_event_us.bus = us(bus);
  per_event_us.server_and_bus = us(cpu.total + bus);
  const requests = requestDelta(q0, q1);
  return {
    sockets, rate, seconds, produced: done.produced, produce_seconds: done.seconds,
    achieved_rate: Math.round(done.per_s), expected, deliveries: r.deliveries,
    delivered_share: +(r.deliveries / expected).toFixed(4),
    server_cpu_s: cpu, bus_cpu_s: bus, cpu_us_per_event: per_event_us,
    bus_requests: requests, bus_requests_per_event: requests && perEvent(requests, done.produced),
    loadgen_cpu_s: r.cpu_s, latency: r.latency,
  };
}

function perEvent(counts, n) {
  const out = {};
  for (const [k, v] of Object.entries(counts)) out[k] = +(v / n).toFixed(3);
  out.all = +(Object.values(counts).reduce((a, b) => a + b, 0) / n).toFixed(3);
  return out;
}

// ---- 3. idle memory --------------------------------------------------------------------------
// Memory of the server process before any client, then after each step of idle,
// authenticated connections (each in its user room), settled for a few seconds.
export async function idleMemory(ctx, sys, { steps, settleMs = 3000 }) {
  await sys.start();
  const lg = loadgen(ctx, sys, ["--concurrency", "512"]);
  try {
    await sleep(1000);
    const pid = Object.values(sys.serverPids())[0];
    const base = memoryKiB(pid);
    const points = [];
    let have = 0;
    for (const n of steps) {
      await connect(lg, n - have);
      have = n;
      await sleep(settleMs);
      const m = memoryKiB(pid);
      const per = (k) => +(((m[k] - base[k]) * 1024) / n).toFixed(0);
      const point = { connections: n, rss_kib: m.rss, pss_kib: m.pss, private_kib: m.private,
        bytes_per_conn: { rss: per("rss"), pss: per("pss"), private: per("private") } };
      if (sys.stats) {
        point.heap_used_bytes_per_conn = Math.round(((await sys.stats()).memory.heapUsed) / n);
        // Node's memory right after a full garbage collection, as well as without one:
        // what the connections hold, not what the collector has yet to take back.
        const after = await sys.stats({ gc: true });
        const g = memoryKiB(pid);
        const perGc = (k) => +(((g[k] - base[k]) * 1024) / n).toFixed(0);
        point.bytes_per_conn_after_gc = { rss: perGc("rss"), pss: perGc("pss"), private: perGc("private") };
        point.heap_used_bytes_per_conn_after_gc = Math.round(after.memory.heapUsed / n);
      }
      points.push(point);
    }
    return { baseline_kib: base, points };
  } finally {
    lg.send("quit");
    await lg.stop("SIGTERM");
    await sys.stop();
  }
}

// ---- 4. connection storm ----------------------------------------------------------------------
// Authenticated connects as fast as they go (a window of handshakes in flight) until the
// first refusal or `target` connections.
export async function storm(ctx, sys, { target, concurrency }) {
  await sys.start();
  const lg = loadgen(ctx, sys, ["--concurrency", String(concurrency), "--timeout", "10"]);
  try {
    await sleep(500);
    const c0 = cpuOf(sys.serverPids());
    lg.send(`storm ${target}`);
    const r = await lg.nextType("storm", 300000);
    const c1 = cpuOf(sys.serverPids());
    return { target, concurrency, ok: r.ok, failed: r.failed, first_failure: r.first_failure || null,
      ok_before_first_failure: r.ok_before_first_failure, seconds: r.seconds, connects_per_s: Math.round(r.connects_per_s),
      server_cpu_s: cpuDelta(c0, c1), loadgen_cpu_s: r.cpu_s, connect_latency: stripBuckets(r.connect_latency) };
  } finally {
    lg.send("quit");
    await lg.stop("SIGTERM");
    await sys.stop();
  }
}

function stripBuckets(h) {
  const { buckets, ...rest } = h;
  return rest;
}

// ---- 5. traffic with no local member -----------------------------------------------------------
// A server with no client reads room events for rooms nobody joined, and drops them.
export async function noMember(ctx, sys, { events, rooms = 1000 }) {
  await sys.start();
  const prod = sys.producer();
  try {
    await sleep(500);
    const pids = sys.serverPids();
    const pid = pids.gateway || pids.server;
    const d0 = await sys.discarded();
    const perf = perfStart(ctx, "s5", sys);
    const c0 = cpuSeconds(pid), t0 = Date.now();
    prod.send(`flood ${events} ${rooms}`);
    const done = await prod.nextType("done", 300000);
    let got = 0;
    await waitFor("all discarded", async () => (got = (await sys.discarded()) - d0) >= events, 120000, 100)
      .catch(() => {});
    const cpu = cpuSeconds(pid) - c0;
    await perfStop(perf);
    return { events, rooms, discarded: got, produce_per_s: Math.round(done.per_s), seconds: (Date.now() - t0) / 1000,
      server_cpu_s: +cpu.toFixed(3), discarded_per_cpu_s: Math.round(got / cpu) };
  } finally {
    prod.send("quit");
    await prod.stop("SIGTERM");
    await sys.stop();
  }
}
