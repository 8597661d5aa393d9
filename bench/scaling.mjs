// scaling.mjs: the capacity model of docs/scaling.md (issue 16), every input measured by
// scenario 6 (docs/benchmarks/cluster.json, bench/cluster.mjs) and named with the field it
// comes from, and a simulation of the design past the point where every gateway reading
// the whole room topic stops being cheap. Writes docs/scaling.md's generated sections:
//   node bench/scaling.mjs [docs/benchmarks/cluster.json]
// (cluster-report.mjs calls writeScaling after each full run of scenario 6.)
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { fmt, replaceSection, table } from "./report.mjs";

const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const S6 = "scenarios.s6.roomcast";

// ---- the measured inputs ------------------------------------------------------------------

// Each input: value, unit, and where it comes from (a field of cluster.json).
export function modelInputs(cluster, results = null) {
  const s = cluster.scenarios.s6.roomcast, steps = s.steps, first = steps[0], last = steps.at(-1);
  const idleRate = (st) => mean(st.idle.per_gateway.map((g) => g.cpu_s)) / st.idle.seconds; // CPU-s per s per gateway
  const conns = s.plan.per_gateway;
  const out = {};
  const put = (k, value, unit, from, what) => { out[k] = { value, unit, from, what }; };
  put("mem_per_conn", mean(s.memory.map((m) => m.bytes_per_conn.rss)), "bytes",
    `${S6}.memory[].bytes_per_conn.rss (mean)`, "gateway memory per authenticated connection in three rooms");
  put("idle_per_conn", (mean(steps.map(idleRate)) / conns) * 1e6, "µs CPU per connection per second",
    `${S6}.steps[].idle.per_gateway[].cpu_s / idle.seconds / plan.per_gateway (mean)`, "what holding a connection costs (pings, timers)");
  const m1 = first.marketplace, g1 = m1.per_gateway[0];
  put("own_per_event", ((g1.cpu_s - idleRate(first) * m1.wall_seconds) / m1.produced) * 1e6, "µs gateway CPU per domain event",
    `${S6}.steps[0].marketplace: (per_gateway[0].cpu_s − idle × wall_seconds) / produced`,
    "one gateway serving every client: decode the 3 copies, 2 deliveries (a cluster splits this work, it does not add to it)");
  const floods = steps.filter((st) => st.flood).flatMap((st) => st.flood.per_gateway
    .filter((g) => g.cpu_s != null && g.dropped > 0).map((g) => (g.cpu_s - idleRate(st) * g.seconds) / g.dropped));
  put("drop_per_room_event", mean(floods) * 1e6, "µs gateway CPU per room event dropped by key",
    `${S6}.steps[].flood.per_gateway[]: (cpu_s − idle × seconds) / dropped (mean)`, "reading and dropping another gateway's room event");
  const b = s.broker;
  put("broker_in_per_room_event", (b.written.bus_cpu_s / b.written.events) * 1e6, "µs broker CPU per room event written",
    `${S6}.broker.written: bus_cpu_s / events`, "the broker taking in a room event (nobody reading)");
  put("broker_out_per_room_event", mean(b.reads.map((x) => x.bus_cpu_s / (x.readers * x.events))) * 1e6,
    "µs broker CPU per room event per reader", `${S6}.broker.reads[]: bus_cpu_s / (readers × events) (mean)`,
    "the broker serving one more reading gateway one room event");
  const bytes = steps.map((st) => st.marketplace.broker.bytes_out_rooms / st.marketplace.per_gateway.reduce((a, g) => a + g.room_events.read, 0));
  put("bytes_per_room_event", mean(bytes), "bytes fetched per room event per reader",
    `${S6}.steps[].marketplace.broker.bytes_out_rooms / Σ per_gateway[].room_events.read (mean)`, "a chat message's room event as the broker sends it (batch framing included)");
  put("room_events_per_event", mean(steps.map((st) => st.marketplace.per_gateway[0].room_events.read / st.marketplace.produced)),
    "room events per domain event", `${S6}.steps[].marketplace.per_gateway[0].room_events.read / produced`, "the fanout's copies: chat room + two user rooms");
  put("deliveries_per_event", mean(steps.map((st) => st.marketplace.deliveries / st.marketplace.produced)), "deliveries per domain event",
    `${S6}.steps[].marketplace.deliveries / produced`, "sockets reached per chat message");
  put("fanout_per_event", mean(steps.map((st) => st.marketplace.cpu_us_per_domain_event.fanout)), "µs fanout CPU per domain event",
    `${S6}.steps[].marketplace.cpu_us_per_domain_event.fanout (mean)`, "routing a domain event into its room events");
  // the router is priced as the fanout (consume, route, produce) at the highest rate the
  // lead's scenario 2 delivered in full, per room event written; else scenario 6's own
  const s2 = Object.values(results?.scenarios?.s2?.roomcast ?? {}).filter((x) => x?.cpu_us_per_event?.fanout && x.delivered_share >= 0.999)
    .sort((a, b) => b.rate - a.rate)[0];
  if (s2)
    put("router_per_room_event", s2.cpu_us_per_event.fanout / out.room_events_per_event.value, "µs CPU per room event routed",
      `results.json: scenarios.s2.roomcast.r${s2.rate}.cpu_us_per_event.fanout / room_events_per_event`,
      `the fanout's cost per room event written at ${fmt(s2.rate)} events/s (the router does the same work: consume, look up, produce)`);
  else
    put("router_per_room_event", out.fanout_per_event.value / out.room_events_per_event.value, "µs CPU per room event routed",
      `${S6}.steps[].marketplace.cpu_us_per_domain_event.fanout / room_events_per_event`,
      "the fanout's cost per room event written at 2 000 events/s (an overestimate at a router's rates)");
  const s5 = results?.scenarios?.s5?.roomcast?.discarded_per_cpu_s;
  if (s5)
    put("drop_per_room_event_s5", 1e6 / s5, "µs gateway CPU per room event dropped by key",
      "results.json: 1 / scenarios.s5.roomcast.discarded_per_cpu_s", "scenario 5 (one gateway, no clients): a cross-check, not used");
  const k = s.kill;
  if (k) {
    const normal = mean(last.marketplace.per_gateway.map((g) => g.cpu_share));
    const extra = k.survivors.reduce((a, g) => a + g.cpu_s - normal * k.cpu_window_seconds, 0);
    put("recover_per_client", (extra / Math.max(1, k.recovery.recovered)) * 1e6, "µs survivor CPU per recovered client",
      `${S6}.kill: (Σ survivors[].cpu_s − steps[-1] per-gateway CPU share × cpu_window_seconds) / recovery.recovered`,
      "reconnect, authenticate, recover, replay (on top of the traffic)");
    put("reconnect_p99", k.recovery.reconnect_time.p99_ms, "ms", `${S6}.kill.recovery.reconnect_time.p99_ms`,
      "drop → CONNECT reply for the clients of a SIGKILLed gateway (stock client backoff included)");
  }
  return out;
}

// ---- the model ------------------------------------------------------------------------------

// The traffic: lambda domain events per connection per second, each with the chat
// message's shape (k room events, d deliveries), over C connections and G gateways.
const CORE = 1e6; // µs of CPU in one core-second
const LOOP = 0.8; // a gateway's event loop is one thread: this much of a core, with room for bursts

// Users have DEVICES sockets on average (tabs, phone), each on a gateway picked at random
// (a round-robin balancer): the share of a chat message's room events that have a local
// member on a given gateway (chat room: both users' sockets; user rooms: one user's).
const DEVICES = 1.3;
function localShare(G) {
  const p = (m) => 1 - (1 - 1 / G) ** m;
  return (p(2 * DEVICES) + 2 * p(DEVICES)) / 3;
}

// Every gateway reads the whole room topic (today's design).
export function wholeTopic(inp, { C, G, lambda }) {
  const v = (k) => inp[k].value, R = lambda * C, Rr = R * v("room_events_per_event");
  const perGw = C / G;
  const own = (perGw * v("idle_per_conn") + (R / G) * v("own_per_event")) / CORE; // cores
  const drop = (Rr * (1 - localShare(G)) * v("drop_per_room_event")) / CORE;
  const egress = G * Rr * v("bytes_per_room_event"); // bytes/s out of the brokers
  const broker = (Rr * v("broker_in_per_room_event") + G * Rr * v("broker_out_per_room_event")) / CORE;
  return { C, G, lambda, R, Rr, perGw, mem: perGw * v("mem_per_conn"), own, drop, gwCores: own + drop,
    ingressPerGw: Rr * v("bytes_per_room_event"), egress, broker, fanout: (R * v("fanout_per_event")) / CORE };
}

// The number of gateways past which each spends more CPU dropping other gateways' room
// events than serving its own clients: k·R·c_drop = (C/G)·c_idle + (R/G)·c_own, R = λC.
export function crossover(inp, lambda) {
  const v = (k) => inp[k].value;
  return (v("idle_per_conn") / lambda + v("own_per_event")) / (v("room_events_per_event") * v("drop_per_room_event"));
}

// ---- the routed design, simulated ------------------------------------------------------------

// A small deterministic PRNG (mulberry32), so the doc's numbers are the same every run.
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Gateways publish "gateway g has members in room r" to a compacted topic keyed by room;
// a router group, co-partitioned with the room topic, copies each room event to the
// topic of every gateway holding a member (rooms with members nearly everywhere, `*`,
// `sellers`, stay on a shared topic every gateway reads). Sampled: users on gateways
// uniformly at random (what a round-robin balancer does), each user with `devices`
// sockets, each chat message between two random users; counts what the router writes per
// domain event and how even the per-gateway topics are.
export function routed(inp, { C, G, lambda }, { samples = 200000, devices = DEVICES, sessionSeconds = 1800, roomsPerSocket = 3 } = {}) {
  const v = (k) => inp[k].value, rand = rng(G * 7919 + Math.round(C / 1000));
  const R = lambda * C, k = v("room_events_per_event"), users = C / devices;
  const perGw = new Float64Array(G), S = Math.min(SHARDS, G), perShard = new Float64Array(S);
  let writes = 0, shardWrites = 0;
  const socketsOf = () => { // gateways of one user's sockets
    const n = rand() < devices - 1 ? 2 : 1, out = new Set();
    for (let i = 0; i < n; i++) out.add(Math.floor(rand() * G));
    return out;
  };
  for (let i = 0; i < samples; i++) {
    const a = socketsOf(), b = socketsOf(), chat = new Set([...a, ...b]);
    for (const set of [chat, a, b]) {
      for (const g of set) { perGw[g]++; writes++; }
      for (const sh of new Set([...set].map((g) => g % S))) { perShard[sh]++; shardWrites++; }
    }
  }
  const perEvent = writes / samples, rates = [...perGw].map((n) => (n / samples) * R);
  const meanRate = mean(rates), maxRate = Math.max(...rates);
  const Rr = R * k, bytes = v("bytes_per_room_event");
  // the shared room topic stays (written once; read by the router group, and on demand
  // for recoveries and join catch-up); the per-gateway topics are written and read once
  const egress = (Rr + R * perEvent) * bytes;
  const broker = (Rr * (v("broker_in_per_room_event") + v("broker_out_per_room_event")) +
    R * perEvent * (v("broker_in_per_room_event") + v("broker_out_per_room_event"))) / CORE;
  // membership: a socket's rooms change owner-gateway state when it is the first or last
  // local member (nearly always, for user and chat rooms); one record per change
  const membership = { entries: C * roomsPerSocket, recordsPerS: (2 * C * roomsPerSocket) / sessionSeconds };
  // shards: gateway g reads shard g mod S, so its shard's traffic for G/S gateways
  const gwPerShard = G / S, shardRate = (shardWrites / samples) * R / S;
  const shard = { S, writesPerEvent: shardWrites / samples, ingressPerGw: shardRate * bytes,
    egress: (Rr + shardRate * S * gwPerShard) * bytes };
  // the router: consumes each room event once and produces its copies: priced as the
  // fanout (one consume, a few produces, a small lookup) per room event
  const router = (Rr * v("router_per_room_event")) / CORE;
  const own = (C / G) * v("idle_per_conn") / CORE + (R / G) * v("own_per_event") / CORE;
  return { C, G, lambda, R, Rr, writesPerEvent: perEvent, gwTopicRate: meanRate, gwTopicMax: maxRate,
    ingressPerGw: (meanRate * bytes), egress, broker, membership, router, gwCores: own, shard };
}

// ---- the document -----------------------------------------------------------------------------

const GIB = 2 ** 30, MB = 1e6;
export const CONFIGS = [10, 100, 1000].flatMap((G) => [1e6, 3e6, 10e6].map((C) => ({ G, C })));
export const LAMBDAS = [0.005, 0.02, 0.1];
export const REALISTIC = 0.02;
const SHARDS = 32;

function inputsTable(inp) {
  return table(["input", "value", "unit", "what", "from (docs/benchmarks/cluster.json)"],
    Object.entries(inp).map(([k, x]) => [`\`${k}\``, fmt(x.value, x.value < 10 ? 3 : x.value < 1000 ? 1 : 0), x.unit, x.what, `\`${x.from}\``]));
}

function wholeTable(inp, lambda) {
  return table(["gateways", "connections", "per gateway", "domain events / s", "room events / s (each gateway reads all)",
    "gateway memory", "gateway CPU: own clients", "gateway CPU: dropping others'", "dropping share", "fits one event loop",
    "bytes in / s per gateway", "broker egress / s", "broker CPU (cores)"],
  CONFIGS.map((c) => {
    const m = wholeTopic(inp, { ...c, lambda });
    return [fmt(c.G), fmt(c.C), fmt(m.perGw), fmt(m.R), fmt(m.Rr), `${fmt(m.mem / GIB, 2)} GiB`, `${fmt(m.own, 3)} core`,
      `${fmt(m.drop, 3)} core`, `${fmt((100 * m.drop) / m.gwCores, 0)} %`, m.gwCores <= LOOP ? "yes" : "**no**", `${fmt(m.ingressPerGw / MB, 1)} MB`,
      `${fmt(m.egress / MB, 0)} MB`, fmt(m.broker, 1)];
  }));
}

function routedTable(inp, lambda) {
  return table(["gateways", "connections", "router writes / domain event", "per-gateway topic: mean / busiest (events/s)",
    "bytes in / s per gateway", "broker egress / s", "broker CPU (cores)", "router CPU (cores)", "membership entries", "membership records / s",
    `${SHARDS} shard topics instead: bytes in / s per gateway, broker egress / s`, "whole topic: broker egress / s"],
  CONFIGS.map((c) => {
    const m = routed(inp, { ...c, lambda }), w = wholeTopic(inp, { ...c, lambda });
    return [fmt(c.G), fmt(c.C), fmt(m.writesPerEvent, 2), `${fmt(m.gwTopicRate)} / ${fmt(m.gwTopicMax)}`, `${fmt(m.ingressPerGw / MB, 2)} MB`,
      `${fmt(m.egress / MB, 0)} MB`, fmt(m.broker, 1), fmt(m.router, 2), fmt(m.membership.entries), fmt(m.membership.recordsPerS),
      `${fmt(m.shard.ingressPerGw / MB, 2)} MB, ${fmt(m.shard.egress / MB, 0)} MB`, `${fmt(w.egress / MB, 0)} MB`];
  }));
}

function crossoverTable(inp) {
  return table(["events per connection per second (λ)", "gateways past which each drops more than it serves"],
    LAMBDAS.map((l) => [`${l}${l === REALISTIC ? " (realistic, below)" : ""}`, fmt(crossover(inp, l))]));
}

// "Cheap", for the verdict: dropping costs each gateway under 5 % of a core, and the
// brokers' egress fits three 10 Gbit/s links (a three-broker cluster's network).
const cheap = (m) => m.drop < 0.05 && (m.egress * 8) / 10e9 <= 3;
const links = (bytes) => fmt((bytes * 8) / 10e9, 1);
const rate = (b) => (b >= GIB ? `${fmt(b / GIB, b < 10 * GIB ? 1 : 0)} GiB/s` : `${fmt(b / MB, 0)} MB/s`);

// The verdict, in sentences made from the numbers.
function verdict(inp) {
  const l = REALISTIC, gx = crossover(inp, l);
  const at = (G, C) => wholeTopic(inp, { G, C, lambda: l });
  const line = (G, C) => {
    const m = at(G, C), rt = routed(inp, { G, C, lambda: l });
    return `${fmt(C)} connections on ${fmt(G)} gateways of ${fmt(C / G)}: each gateway drops ` +
      `${fmt(m.Rr * (1 - localShare(G)))} room events/s for ${fmt(100 * m.drop, 1)} % of a core (${fmt((100 * m.drop) / m.gwCores, 0)} % ` +
      `of its CPU${m.gwCores > LOOP ? "; more than its event loop can give" : ""}) and takes in ${fmt(m.ingressPerGw / MB, 1)} MB/s; ` +
      `the brokers send ${rate(m.egress)} (${links(m.egress)} links of 10 Gbit/s, ${fmt(m.broker, 1)} broker cores). ` +
      (cheap(m) ? "Cheap." : `Not cheap: routed by membership, ${rate(rt.egress)} (${links(rt.egress)} links, ` +
        `${fmt(rt.broker, 1)} broker cores, ${fmt(rt.router, 1)} router cores).`);
  };
  return [
    `At λ = ${l} (each connection receives a chat-shaped event every ${fmt(1 / (l * inp.deliveries_per_event.value), 0)} s on average), ` +
    `a gateway spends more CPU dropping other gateways' room events than serving its own clients once there are more than ` +
    `**${fmt(gx)} gateways**, whatever the number of connections: both grow with it.`,
    line(100, 1e6), line(100, 10e6), line(1000, 1e6), line(1000, 10e6),
  ];
}

// A realistic marketplace (the doc says why): 100 times the one Socket.IO process the
// seed runs, on gateways of REALISTIC_PER_GW connections, at λ = REALISTIC.
export const REALISTIC_C = 1e6, REALISTIC_PER_GW = 20000;
function decision(inp) {
  const G = REALISTIC_C / REALISTIC_PER_GW, m = wholeTopic(inp, { C: REALISTIC_C, G, lambda: REALISTIC });
  const gx = crossover(inp, REALISTIC), needed = G >= gx / 2;
  return [`${fmt(REALISTIC_C)} connections at λ = ${REALISTIC} on ${fmt(G)} gateways of ${fmt(REALISTIC_PER_GW)}: ` +
    `each gateway drops ${fmt(m.Rr * (1 - localShare(G)))} room events/s for ${fmt(100 * m.drop, 1)} % of a core ` +
    `(${fmt((100 * m.drop) / m.gwCores, 0)} % of its CPU, the rest ${fmt(100 * m.own, 1)} % for its own clients), takes in ` +
    `${fmt(m.ingressPerGw / MB, 1)} MB/s, and the brokers send ${fmt(m.egress / MB, 0)} MB/s in all ` +
    `(${fmt(m.egress * 8 / 10e9, 1)} links of 10 Gbit/s; ${fmt(m.broker, 1)} broker cores). ${fmt(G)} gateways is ` +
    `${needed ? "not far below" : "well below"} the crossover of ${fmt(gx)}.`,
    needed ? "**The model says such a marketplace is close to needing routing by membership.**"
      : "**The model says a realistic marketplace does not need routing by membership: it is not built.**"].join("\n\n");
}

export function scalingSections(cluster, results) {
  const inp = modelInputs(cluster, results);
  return {
    "scaling:inputs": [`From \`docs/benchmarks/cluster.json\` (run ${cluster.started}, \`${cluster.tag}\`). ` +
      "Regenerated by `node bench/scaling.mjs` (and by every full run of scenario 6); do not edit by hand.", "", ...inputsTable(inp)].join("\n"),
    "scaling:crossover": crossoverTable(inp).join("\n"),
    "scaling:whole": LAMBDAS.map((l) => [`**λ = ${l}** domain events per connection per second${l === REALISTIC ? " (realistic)" : ""}:`, "",
      ...wholeTable(inp, l), ""].join("\n")).join("\n"),
    "scaling:routed": [`**λ = ${REALISTIC}** (realistic), devices per user 1.3, sessions of 30 min, 3 rooms per socket, 200 000 sampled chat messages per row:`, "",
      ...routedTable(inp, REALISTIC)].join("\n"),
    "scaling:verdict": verdict(inp).map((x) => `- ${x}`).join("\n"),
    "scaling:decision": decision(inp),
  };
}

export function writeScaling(root, cluster) {
  const file = path.join(root, "docs/scaling.md"), rfile = path.join(root, "docs/benchmarks/results.json");
  if (!fs.existsSync(file) || cluster.quick) return;
  const results = fs.existsSync(rfile) ? JSON.parse(fs.readFileSync(rfile, "utf8")) : null;
  for (const [tag, body] of Object.entries(scalingSections(cluster, results)))
    if (!replaceSection(file, tag, body)) throw new Error(`docs/scaling.md: no <!-- bench:${tag}:start/end --> section`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  const file = path.resolve(process.argv[2] ?? path.join(root, "docs/benchmarks/cluster.json"));
  writeScaling(root, JSON.parse(fs.readFileSync(file, "utf8")));
}
