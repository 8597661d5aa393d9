// cluster.mjs: scenario 6, "the cluster" (issue 16). Several gateways on this machine, one
// fanout, the real broker, and one roomcast-loadgen process per gateway (each process,
// like each gateway, can hold at most ~19 000 descriptors here), all clients authenticated
// and in three rooms (their user room and two chats, scenario 2's shape).
//
//   sweep      gateways are added 1, 2, 4, 6 (plan.steps), each with plan.per_gateway
//              clients; at each size: memory per connection of the new gateways, idle CPU,
//              then scenario 2's marketplace traffic at plan.rate through the fanout:
//              p50/p99 per gateway and overall (histograms merged exactly, bench/hist.mjs),
//              deliveries / expected, CPU per gateway, each gateway's room events by fate
//              (delivered / already_delivered / no_local_member: dropped by key, unread),
//              and the broker's CPU, requests and bytes out;
//              Then a flood of room events for rooms nobody joined, read by every gateway:
//              each gateway's CPU per event dropped by key;
//   broker     the same flood written to a topic nobody reads (the broker's CPU to take
//              it in), then read whole by 1, 3 and 6 readers with the gateway's consumer
//              settings and nothing else running (its CPU and bytes per event per reader):
//              the costs that grow with gateways × the cluster's rate;
//   broadcast  at the full size, a broadcast to every socket (room "*"), closed loop with
//              plan.windows events in flight, as scenario 1;
//   kill       marketplace traffic again (audited: each client knows what it is owed),
//              gateway 0 SIGKILLed in the middle; its clients reconnect with the stock
//              client's backoff to the others (the balancer's live backends) with their
//              pid and offset; recovered / not recovered, reconnect time, and per client
//              the events lost, duplicated or unexpected.
// Results go to docs/benchmarks/cluster[-quick].json (bench.mjs), read by cluster-report.mjs.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFile, execFileSync } from "node:child_process";
import { Child, cpuSeconds, freePort, httpText, memoryKiB, sleep, waitFor } from "./lib.mjs";
import { SECRET } from "./systems.mjs";
import { libsDir, requestDelta } from "./broker.mjs";
import { mergeHists, withoutBuckets } from "./hist.mjs";

// The plan: about 95 000 connections over six gateways, so that the five that survive
// the kill (each then holding 6/5 of its share) stay under the open-files limit.
export function clusterPlan(quick, nofile) {
  const gateways = 6, fit = Math.floor((nofile - 600) / (1 + 1 / (gateways - 1)));
  return quick
    ? { steps: [1, 2, 4, 6], per_gateway: Math.min(2000, fit), rate: 2000, seconds: 4, idle_seconds: 2,
      windows: [1, 8], broadcast_seconds: 3, kill_seconds: 12, kill_at: 4, partitions: 4, flood: 200000, connect_seconds: 3 }
    : { steps: [1, 2, 4, 6], per_gateway: Math.min(15833, fit), rate: 2000, seconds: 10, idle_seconds: 5,
      windows: [1, 8], broadcast_seconds: 8, kill_seconds: 20, kill_at: 6, partitions: 4, flood: 1000000, connect_seconds: 26 };
}

const GW_METRICS = {
  delivered: ['roomcast_gateway_room_events_total', 'result="delivered"'],
  no_local_member: ['roomcast_gateway_room_events_total', 'result="no_local_member"'],
  already_delivered: ['roomcast_gateway_room_events_total', 'result="already_delivered"'],
  duplicate: ['roomcast_gateway_room_events_total', 'result="duplicate"'],
  deliveries: ['roomcast_gateway_deliveries_total', ''],
  sockets: ['roomcast_gateway_sockets', ''],
  recovered: ['roomcast_gateway_recoveries_total', 'result="recovered"'],
  recovery_new: ['roomcast_gateway_recoveries_total', 'result="new"'],
  recovery_expired: ['roomcast_gateway_recoveries_total', 'result="expired"'],
  recovery_invalid: ['roomcast_gateway_recoveries_total', 'result="invalid"'],
  recovery_failed: ['roomcast_gateway_recoveries_total', 'result="replay_failed"'],
  replayed: ['roomcast_gateway_replayed_events_total', ''],
};

// One scrape (on the gateway's event loop, so it waits its turn under load; slow ones are
// noted in the results).
const slowScrapes = [];
async function gatewayMetrics(admin) {
  const t0 = Date.now(), ac = new AbortController(), timer = setTimeout(() => ac.abort(), 30000);
  let body;
  try {
    body = await (await fetch(`http://127.0.0.1:${admin}/metrics`, { signal: ac.signal })).text();
  } finally { clearTimeout(timer); }
  if (Date.now() - t0 > 1000) slowScrapes.push({ at: new Date().toISOString(), ms: Date.now() - t0 });
  const out = {};
  for (const [k, [name, labels]] of Object.entries(GW_METRICS)) {
    const want = labels ? `${name}{${labels}} ` : `${name} `;
    const line = body.split("\n").find((l) => l.startsWith(want));
    out[k] = line ? Number(line.slice(want.length)) : 0;
  }
  return out;
}

const delta = (a, b) => Object.fromEntries(Object.keys(b).map((k) => [k, b[k] - (a[k] ?? 0)]));
const r3 = (x) => +x.toFixed(3);

// The broker's requests by type and bytes in/out by topic, in one JmxTool run (a JVM
// start: taken outside every CPU window).
function brokerSnapshot(root, jmxPort) {
  if (!jmxPort) return Promise.resolve(null);
  const args = ["-cp", `${libsDir(root)}/*`, "org.apache.kafka.tools.JmxTool",
    "--jmx-url", `service:jmx:rmi:///jndi/rmi://127.0.0.1:${jmxPort}/jmxrmi`,
    "--object-name", "kafka.network:type=RequestMetrics,name=RequestsPerSec,request=*,version=*",
    "--object-name", "kafka.server:type=BrokerTopicMetrics,name=BytesOutPerSec,topic=*",
    "--object-name", "kafka.server:type=BrokerTopicMetrics,name=BytesInPerSec,topic=*",
    "--attributes", "Count", "--one-time", "true", "--report-format", "properties"];
  return new Promise((resolve) => {
    execFile("java", args, { timeout: 30000, maxBuffer: 1 << 22 }, (err, stdout) => {
      if (err) return resolve(null);
      const out = { requests: {}, bytes_out: {}, bytes_in: {} };
      for (const line of stdout.split("\n")) {
        let m = line.match(/request=([A-Za-z]+),version=\d+:Count=(\d+)/);
        if (m && m[1] !== "FetchConsumer" && m[1] !== "FetchFollower") out.requests[m[1]] = (out.requests[m[1]] || 0) + Number(m[2]);
        m = line.match(/name=Bytes(Out|In)PerSec,topic=([^:]+):Count=(\d+)/);
        if (m) out[m[1] === "Out" ? "bytes_out" : "bytes_in"][m[2]] = Number(m[3]);
      }
      resolve(out);
    });
  });
}

function brokerDelta(a, b, roomsTopic) {
  if (!a || !b) return null;
  const d = (x, y) => Object.fromEntries(Object.keys(y).map((k) => [k, y[k] - (x[k] || 0)]).filter(([, v]) => v > 0));
  const out = d(a.bytes_out, b.bytes_out), inn = d(a.bytes_in, b.bytes_in);
  return { requests: requestDelta(a.requests, b.requests), bytes_out_rooms: out[roomsTopic] ?? 0,
    bytes_out_all: Object.values(out).reduce((s, v) => s + v, 0), bytes_in_rooms: inn[roomsTopic] ?? 0,
    bytes_in_all: Object.values(inn).reduce((s, v) => s + v, 0) };
}

export class Cluster {
  constructor(ctx, rc, plan) {
    this.ctx = ctx; // bench.mjs's ctx: bin, sources, root (via rc)
    this.rc = rc;   // systems.mjs's Roomcast: env(), bin(), broker
    this.plan = plan;
    this.gateways = []; // {k, port, admin, child, pid, lg, baseline, memory, alive}
    this.users = plan.per_gateway * Math.max(...plan.steps);
  }

  async start() {
    const rc = this.rc;
    rc.prefix = `b${process.pid}-c${Date.now() % 1e6}.`;
    execFileSync(rc.bin("roomcast"), ["topics", "create", "--partitions", "4", "--rooms-partitions", String(this.plan.partitions)],
      { env: rc.env(), stdio: ["ignore", "ignore", "pipe"] });
    this.roomsTopic = `${rc.prefix}roomcast.rooms`;
    this.fanoutAdmin = await freePort();
    this.fanout = new Child("fanout", rc.bin("roomcast-fanout"), [], {
      env: rc.env({ ROOMCAST_ADMIN_LISTEN: `127.0.0.1:${this.fanoutAdmin}`, ROOMCAST_FANOUT_GROUP: `${rc.prefix}fanout` }) });
    await waitFor("fanout ready", async () => (await httpText(`http://127.0.0.1:${this.fanoutAdmin}/readyz`)).status === 200, 60000);
    this.prod = rc.producer();
    // the same topics under another prefix, read by nobody: what a flood costs the broker
    // to take in, apart from what readers cost it
    this.scratchPrefix = `${rc.prefix}scratch.`;
    execFileSync(rc.bin("roomcast"), ["topics", "create", "--partitions", "1", "--rooms-partitions", String(this.plan.partitions)],
      { env: rc.env({ ROOMCAST_TOPIC_PREFIX: this.scratchPrefix }), stdio: ["ignore", "ignore", "pipe"] });
    this.scratch = new Child("kproduce-scratch", rc.bin("roomcast-kproduce"), ["--brokers", rc.ctx.brokers, "--prefix", this.scratchPrefix], { env: rc.env() });
    this.caster = new Child("kproduce*", rc.bin("roomcast-kproduce"), ["--brokers", rc.ctx.brokers, "--prefix", rc.prefix, "--room", "*"], { env: rc.env() });
  }

  live() { return this.gateways.filter((g) => g.alive); }

  async addGateway(k) {
    const rc = this.rc, port = await freePort(), admin = await freePort();
    const child = new Child(`gateway${k}`, rc.bin("roomcast-gateway"), [], {
      env: rc.env({ ROOMCAST_LISTEN: `127.0.0.1:${port}`, ROOMCAST_ADMIN_LISTEN: `127.0.0.1:${admin}`,
        ROOMCAST_ROOM_POLICY: "open", ROOMCAST_GATEWAY_ID: `bench-g${k}` }) });
    await waitFor("gateway ready", async () => (await httpText(`http://127.0.0.1:${admin}/readyz`)).status === 200, 60000);
    await sleep(500);
    const lg = new Child(`loadgen${k}`, path.join(this.ctx.bin, "roomcast-loadgen"), ["--port", String(port), "--secret", SECRET,
      "--sources", String(this.ctx.sources), "--ring", String(this.users), "--first", String(k * this.plan.per_gateway),
      "--recover", "--concurrency", "256"], {});
    const g = { k, port, admin, child, pid: child.pid, lg, alive: true, baseline: memoryKiB(child.pid) };
    this.gateways.push(g);
    return g;
  }

  // Opens each new gateway's clients (its own load generator), spread over a little more
  // than one ping interval, as connections arriving over time are: opened at once, their
  // pings would come in one burst every 25 s and land in some measurement windows and not
  // others. Then measures what they cost the gateway in memory once settled.
  async connect(fresh) {
    const n = this.plan.per_gateway;
    const res = await Promise.all(fresh.map(async (g) => {
      g.lg.send(`connect ${n} ${this.plan.connect_seconds ?? 0}`);
      return g.lg.nextType("connected", 300000);
    }));
    res.forEach((r, i) => {
      if (r.failed) throw new Error(`loadgen${fresh[i].k}: ${r.failed} of ${n} clients failed: ${JSON.stringify(r.failures)}`);
    });
    await sleep(2000);
    return fresh.map((g, i) => {
      const m = memoryKiB(g.pid), per = (f) => Math.round(((m[f] - g.baseline[f]) * 1024) / n);
      g.memory = { gateway: g.k, connections: n, baseline_kib: g.baseline, kib: m,
        bytes_per_conn: { rss: per("rss"), pss: per("pss"), private: per("private") } };
      return { ...g.memory, connects_per_s: Math.round(res[i].connects_per_s), connect_seconds: res[i].seconds };
    });
  }

  cpu() {
    const out = { gateways: {}, fanout: cpuSeconds(this.fanout.pid), bus: cpuSeconds(this.rc.ctx.kafkaPid) };
    for (const g of this.live()) out.gateways[g.k] = cpuSeconds(g.pid);
    return out;
  }

  async reports(gws = this.live()) {
    return Promise.all(gws.map(async (g) => { g.lg.send("report"); return g.lg.nextType("report"); }));
  }

  async resetAll(gws = this.live()) {
    for (const g of gws) g.lg.send("reset");
    await Promise.all(gws.map((g) => g.lg.nextType("reset")));
  }

  async idle(seconds) {
    const c0 = this.cpu();
    await sleep(seconds * 1000);
    const c1 = this.cpu();
    return { seconds, per_gateway: this.live().map((g) => ({ gateway: g.k, connections: this.plan.per_gateway,
      cpu_s: r3(c1.gateways[g.k] - c0.gateways[g.k]) })) };
  }

  // Scenario 2's traffic at `rate` for `seconds` over every client present: per gateway
  // and overall latency, what each gateway did with the room topic, and what it all cost.
  async marketplace(rate, seconds) {
    const gws = this.live(), chats = gws.length * this.plan.per_gateway;
    await this.resetAll(gws);
    const q0 = await brokerSnapshot(this.rc.ctx.root, this.rc.ctx.jmxPort);
    const m0 = await Promise.all(gws.map((g) => gatewayMetrics(g.admin)));
    const c0 = this.cpu(), t0 = Date.now();
    this.prod.send(`rate ${rate} ${seconds} ${chats}`);
    const done = await this.prod.nextType("done", (seconds + 120) * 1000);
    const expected = done.produced * 2;
    let reps;
    await waitFor("all deliveries", async () => {
      reps = await this.reports(gws);
      return reps.reduce((s, r) => s + r.deliveries, 0) >= expected;
    }, 15000, 250).catch(() => {});
    const c1 = this.cpu(), wall = (Date.now() - t0) / 1000;
    const m1 = await Promise.all(gws.map((g) => gatewayMetrics(g.admin)));
    const q1 = await brokerSnapshot(this.rc.ctx.root, this.rc.ctx.jmxPort);
    const per = gws.map((g, i) => {
      const m = delta(m0[i], m1[i]), cpu = c1.gateways[g.k] - c0.gateways[g.k];
      const read = m.delivered + m.no_local_member + m.already_delivered + m.duplicate;
      return { gateway: g.k, connections: this.plan.per_gateway, deliveries: reps[i].deliveries,
        latency: reps[i].latency, cpu_s: r3(cpu), cpu_share: r3(cpu / wall),
        cpu_us_per_domain_event: +((cpu / done.produced) * 1e6).toFixed(1),
        room_events: { read, delivered: m.delivered, no_local_member: m.no_local_member,
          already_delivered: m.already_delivered, duplicate: m.duplicate },
        discarded_share: read ? +(m.no_local_member / read).toFixed(4) : null,
        discarded_per_s: Math.round(m.no_local_member / wall), loadgen_cpu_s: reps[i].cpu_s };
    });
    const deliveries = per.reduce((s, x) => s + x.deliveries, 0);
    const gwCpu = per.reduce((s, x) => s + x.cpu_s, 0), fanout = c1.fanout - c0.fanout, bus = c1.bus - c0.bus;
    return { gateways: gws.length, connections: chats, rate, seconds, wall_seconds: r3(wall), produced: done.produced,
      achieved_rate: Math.round(done.per_s), expected, deliveries, delivered_share: +(deliveries / expected).toFixed(4),
      latency: mergeHists(per.map((x) => x.latency)), per_gateway: per,
      cpu_s: { gateways: r3(gwCpu), fanout: r3(fanout), bus: r3(bus) },
      cpu_us_per_domain_event: { gateways: +((gwCpu / done.produced) * 1e6).toFixed(1),
        fanout: +((fanout / done.produced) * 1e6).toFixed(1), bus: +((bus / done.produced) * 1e6).toFixed(1) },
      broker: brokerDelta(q0, q1, this.roomsTopic) };
  }

  // The broker's side of gateways × rate: `events` room events written to the scratch
  // topic, then read whole by each count of readers in turn (roomcast-kproduce `read`,
  // the gateway's consumer settings), nothing else producing meanwhile.
  async broker(events, counts) {
    const out = { written: await this.flood(events, true), reads: [] };
    for (const n of counts) {
      const rs = Array.from({ length: n }, (_, i) => new Child(`reader${i}`, this.rc.bin("roomcast-kproduce"),
        ["--brokers", this.rc.ctx.brokers, "--prefix", this.scratchPrefix], { env: this.rc.env() }));
      try {
        await sleep(300);
        const q0 = await brokerSnapshot(this.rc.ctx.root, this.rc.ctx.jmxPort);
        const b0 = cpuSeconds(this.rc.ctx.kafkaPid), t0 = Date.now();
        for (const r of rs) r.send(`read ${events} ${this.plan.partitions}`);
        const done = await Promise.all(rs.map((r) => r.nextType("done", 300000)));
        const b1 = cpuSeconds(this.rc.ctx.kafkaPid), wall = (Date.now() - t0) / 1000;
        const q1 = await brokerSnapshot(this.rc.ctx.root, this.rc.ctx.jmxPort);
        out.reads.push({ readers: n, events, wall_seconds: r3(wall), bus_cpu_s: r3(b1 - b0),
          consumed: done.reduce((a, d) => a + d.consumed, 0), bytes_consumed: done.reduce((a, d) => a + d.bytes, 0),
          broker: brokerDelta(q0, q1, `${this.scratchPrefix}roomcast.rooms`) });
      } finally {
        for (const r of rs) { r.send("quit"); await r.stop("SIGTERM"); }
      }
    }
    return out;
  }

  // `events` room events for 1 000 rooms nobody is in, as fast as the producer goes, to
  // the room topic (every gateway reads and drops them by key) or, with scratch, to a
  // topic nobody reads. CPU from the first produce to the last gateway's last drop.
  async flood(events, scratch = false) {
    const gws = scratch ? [] : this.live(), prod = scratch ? this.scratch : this.prod;
    const d0 = await Promise.all(gws.map((g) => gatewayMetrics(g.admin)));
    const q0 = await brokerSnapshot(this.rc.ctx.root, this.rc.ctx.jmxPort);
    const c0 = this.cpu(), t0 = Date.now();
    prod.send(`flood ${events} 1000`);
    const done = await prod.nextType("done", 300000);
    const c1 = [];
    await waitFor("every gateway dropped the flood", async () => {
      for (const [i, g] of gws.entries())
        if (c1[i] === undefined && (await gatewayMetrics(g.admin)).no_local_member - d0[i].no_local_member >= events)
          c1[i] = [cpuSeconds(g.pid), Date.now()];
      return c1.filter((x) => x).length === gws.length;
    }, 120000, 100).catch(() => {});
    const cb = this.cpu(), wall = (Date.now() - t0) / 1000;
    const q1 = await brokerSnapshot(this.rc.ctx.root, this.rc.ctx.jmxPort);
    const d1 = await Promise.all(gws.map((g) => gatewayMetrics(g.admin)));
    return { events, readers: gws.length, produce_seconds: done.seconds, wall_seconds: r3(wall),
      bus_cpu_s: r3(cb.bus - c0.bus), broker: brokerDelta(q0, q1, scratch ? `${this.scratchPrefix}roomcast.rooms` : this.roomsTopic),
      per_gateway: gws.map((g, i) => ({ gateway: g.k, dropped: d1[i].no_local_member - d0[i].no_local_member,
        cpu_s: c1[i] ? r3(c1[i][0] - c0.gateways[g.k]) : null, seconds: c1[i] ? r3((c1[i][1] - t0) / 1000) : null })) };
  }

  // A broadcast to every socket, closed loop: `window` events in flight, one more sent each
  // time every socket has received one (scenario 1's method, over all load generators).
  async broadcast(window, seconds) {
    const gws = this.live(), sockets = gws.length * this.plan.per_gateway;
    const recv = new Map();
    let sent = 0, pacing = false;
    const total = () => [...recv.values()].reduce((s, v) => s + v, 0);
    const credit = () => {
      const want = Math.floor(total() / sockets) + window - sent;
      if (want > 0 && pacing) { this.caster.send(`credit ${want}`); sent += want; }
    };
    for (const g of gws) g.lg.onLine = (v) => {
      if (v.type !== "progress") return false;
      recv.set(g.k, v.deliveries);
      credit();
      return true;
    };
    const run = async (ms) => {
      await this.resetAll(gws);
      recv.clear(); sent = 0;
      for (const g of gws) g.lg.send("progress 10");
      pacing = true;
      credit();
      await sleep(ms);
      pacing = false;
      await waitFor("broadcast drain", () => total() >= sent * sockets, 30000, 20).catch(() => {});
    };
    try {
      await run(1000); // warm-up
      const c0 = this.cpu(), t0 = Date.now();
      await run(seconds * 1000);
      const c1 = this.cpu(), wall = (Date.now() - t0) / 1000;
      for (const g of gws) g.lg.send("progress 0");
      const reps = await this.reports(gws);
      const per = gws.map((g, i) => ({ gateway: g.k, sockets: this.plan.per_gateway, deliveries: reps[i].deliveries,
        dropped: reps[i].dropped, latency: reps[i].latency, cpu_s: r3(c1.gateways[g.k] - c0.gateways[g.k]),
        loadgen_cpu_s: reps[i].cpu_s }));
      const deliveries = per.reduce((s, x) => s + x.deliveries, 0), secs = reps[0].seconds;
      const gwCpu = per.reduce((s, x) => s + x.cpu_s, 0);
      return { window, sockets, events: sent, expected: sent * sockets, deliveries,
        delivered_share: +(deliveries / (sent * sockets)).toFixed(4), seconds: secs,
        deliveries_per_s: Math.round(deliveries / secs), latency: mergeHists(per.map((x) => x.latency)), per_gateway: per,
        cpu_s: { gateways: r3(gwCpu), bus: r3(c1.bus - c0.bus) },
        deliveries_per_gateway_cpu_s: Math.round(deliveries / gwCpu), wall_seconds: r3(wall) };
    } finally {
      for (const g of gws) { g.lg.send("progress 0"); g.lg.onLine = null; }
    }
  }

  // Marketplace traffic (audited) with gateway `victim` SIGKILLed `killAt` seconds in.
  async kill(victim, rate, seconds, killAt) {
    const gws = this.live(), chats = gws.length * this.plan.per_gateway, v = gws.find((g) => g.k === victim);
    const series = new Map(gws.map((g) => [g.k, []]));
    for (const g of gws) {
      g.lg.send("track");
      await g.lg.nextType("track");
      g.lg.onLine = (x) => {
        if (x.type !== "progress") return false;
        series.get(g.k).push([x.t_us, x.deliveries, x.ready]);
        return true;
      };
    }
    await this.resetAll(gws);
    for (const g of gws) g.lg.send("progress 100");
    const others = gws.filter((g) => g !== v);
    const m0 = await Promise.all(others.map((g) => gatewayMetrics(g.admin)));
    const c0 = this.cpu(), t0 = Date.now();
    this.prod.send(`rate ${rate} ${seconds} ${chats} audit`);
    await sleep(killAt * 1000);
    // the balancer's health check takes the lost gateway out: reconnections go to the others
    for (const g of gws) g.lg.send(`ports ${others.map((o) => o.port).join(",")}`);
    const killUs = Date.now() * 1000;
    v.child.child.kill("SIGKILL");
    v.alive = false;
    const done = await this.prod.nextType("done", (seconds + 120) * 1000);
    const c1 = this.cpu(), cpuWindow = (Date.now() - t0) / 1000;
    // a marker after the audited range: once every client has its share of it, whatever
    // the range owed them has had its chance to arrive
    this.prod.send(`rate ${rate} 2 ${chats} audit`);
    const marker = await this.prod.nextType("done", 130000);
    const audits = async (d) => Promise.all(gws.map(async (g) => {
      g.lg.send(`audit ${d.first_seq} ${d.last_seq} ${chats}`);
      return g.lg.nextType("audit", 60000);
    }));
    await waitFor("every client back with the marker", async () => (await audits(marker)).every((a) => a.all.lost === 0),
      90000, 500).catch(() => {});
    const audit = await audits(done);
    for (const g of gws) { g.lg.send("progress 0"); g.lg.onLine = null; }
    const reps = await this.reports(gws);
    const m1 = await Promise.all(others.map((g) => gatewayMetrics(g.admin)));
    const sum = (list, f) => list.reduce((s, x) => s + f(x), 0);
    const tally = (k) => Object.fromEntries(Object.keys(audit[0][k] ?? audit[0].all).map((f) => [f, sum(audit, (a) => (a[k] ?? a.all)[f])]));
    const byOutcome = Object.fromEntries(Object.keys(audit[0].by_outcome).map((o) =>
      [o, Object.fromEntries(Object.keys(audit[0].by_outcome[o]).map((f) => [f, sum(audit, (a) => a.by_outcome[o][f])]))]));
    const rec = reps[gws.indexOf(v)].recovery;
    const loadgenCpu = Object.fromEntries(gws.map((g, i) => [g.k, reps[i].cpu_s]));
    return {
      gateways: gws.length, connections: chats, victim, killed_at_s: killAt, rate, seconds, produced: done.produced,
      victim_clients: this.plan.per_gateway,
      recovery: { ...rec, reconnect_time: withoutBuckets(rec.reconnect_time), reconnect_time_hist: rec.reconnect_time,
        handshake_time: withoutBuckets(rec.handshake_time) },
      audit: { all: tally("all"), by_outcome: byOutcome },
      survivors: others.map((g, i) => ({ gateway: g.k, ...delta(m0[i], m1[i]), sockets: m1[i].sockets,
        cpu_s: r3(c1.gateways[g.k] - c0.gateways[g.k]) })), // over cpu_window_seconds
      latency: mergeHists(reps.map((r) => r.latency)),
      latency_victims: reps[gws.indexOf(v)].latency,
      loadgen_cpu_s: loadgenCpu, phase_seconds: reps[0].seconds, cpu_window_seconds: r3(cpuWindow),
      series: killSeries(series, killUs),
    };
  }

  async stop() {
    for (const g of this.gateways) { g.lg.send("quit"); }
    await Promise.all(this.gateways.map((g) => g.lg.stop("SIGTERM")));
    for (const c of [this.prod, this.caster, this.scratch]) { c?.send("quit"); await c?.stop("SIGTERM"); }
    await Promise.all(this.gateways.map((g) => g.child.stop("SIGKILL")));
    await this.fanout?.stop("SIGINT");
  }
}

// Deliveries per second and connected clients (ready: connected, and joined or
// recovered) over all load generators, in 0.5 s buckets from the kill (negative before
// it): [t_s, deliveries_per_s, ready]. Each load generator's counts are taken at its last
// sample in each bucket; one busy past a bucket's end carries its last counts over.
function killSeries(series, killUs) {
  const step = 0.5, at = (t) => Math.floor((t - killUs) / 1e6 / step);
  const per = [...series.values()].map((pts) => new Map(pts.map((p) => [at(p[0]), p])));
  const keys = [...new Set(per.flatMap((m) => [...m.keys()]))].sort((x, y) => x - y);
  const last = per.map(() => null), out = [];
  let before = null;
  for (const k of keys) {
    per.forEach((m, i) => { if (m.has(k)) last[i] = m.get(k); });
    if (last.some((p) => !p)) continue;
    const delivered = last.reduce((s, p) => s + p[1], 0), ready = last.reduce((s, p) => s + p[2], 0);
    if (before !== null) out.push([+(k * step).toFixed(1), Math.round((delivered - before) / step), ready]);
    before = delivered;
  }
  return out;
}

// Scenario 6, run by bench.mjs for roomcast only.
export async function cluster(ctx, rc, plan) {
  const c = new Cluster(ctx, rc, plan);
  const out = { plan, load_before: os.loadavg().map((x) => +x.toFixed(2)), steps: [] };
  try {
    await c.start();
    for (const n of plan.steps) {
      const fresh = [];
      while (c.gateways.length < n) fresh.push(await c.addGateway(c.gateways.length));
      const memory = await c.connect(fresh);
      if (!out.steps.length) { // the fanout's group join, JIT, caches: a warm-up first
        c.prod.send(`rate 1000 2 ${n * plan.per_gateway}`);
        await c.prod.nextType("done", 60000);
        await sleep(1000);
      }
      const idle = await c.idle(plan.idle_seconds);
      process.stderr.write(`bench: s6 ${n} gateways: marketplace at ${plan.rate}/s\n`);
      const marketplace = await c.marketplace(plan.rate, plan.seconds);
      const flood = plan.flood ? await c.flood(plan.flood) : null;
      out.steps.push({ gateways: n, connections: n * plan.per_gateway, memory_new: memory, idle, marketplace, flood });
    }
    out.memory = c.gateways.map((g) => g.memory);
    if (plan.flood) {
      process.stderr.write("bench: s6 broker: a flood written, then read by 1, 3, 6 readers\n");
      out.broker = await c.broker(plan.flood, [1, 3, 6]);
    }
    out.broadcast = [];
    for (const w of plan.windows) {
      process.stderr.write(`bench: s6 broadcast, window ${w}\n`);
      out.broadcast.push(await c.broadcast(w, plan.broadcast_seconds));
    }
    process.stderr.write("bench: s6 kill\n");
    out.kill = await c.kill(0, plan.rate, plan.kill_seconds, plan.kill_at);
    out.load_after = os.loadavg().map((x) => +x.toFixed(2));
    out.slow_scrapes = slowScrapes;
    return out;
  } finally {
    await c.stop();
  }
}
