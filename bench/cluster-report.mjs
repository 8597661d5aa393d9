// cluster-report.mjs: scenario 6's results (bench/cluster.mjs, in docs/benchmarks/
// cluster[-quick].json) made readable, so that no figure is copied by hand:
//   OUT/<tag>.md                       every number of the run
//   OUT/<tag>-sweep.png                per-gateway CPU and discards as gateways are added
//   OUT/<tag>-kill.png                 deliveries and connections around the SIGKILL
//   OUT/<tag>-latency.png              marketplace latency per gateway (CDF), full size
//   docs/benchmarks/README.md's <!-- bench:<tag>:... --> section, and docs/scaling.md's
//   generated sections (bench/scaling.mjs: the capacity model fed by this file)
// report.mjs calls writeClusterReport for a results object whose kind is "cluster", so
// `node bench/report.mjs docs/benchmarks/cluster.json` regenerates all of it.
import fs from "node:fs";
import path from "node:path";
import { fmt, plot, replaceSection, table } from "./report.mjs";
import { writeScaling } from "./scaling.mjs";

const ms = (h, q) => fmt(h?.[`${q}_ms`], 2);
const pct = (x) => (x == null ? "—" : `${fmt(100 * x, 1)} %`);
const yes = (v) => (v == null ? "not run" : v ? "**met**" : "**missed**");
const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

function s6(r) { return r.scenarios?.s6?.roomcast; }

// The headline numbers (bench.mjs prints them; the README section shows them).
export function clusterSummary(r) {
  const s = s6(r);
  if (!s || s.error) return { error: s?.error ?? "scenario 6 did not run" };
  const full = s.steps.at(-1), m = full.marketplace, k = s.kill, a = k?.audit?.all;
  const rss = (s.memory ?? []).map((x) => x.bytes_per_conn.rss);
  return {
    gateways: full.gateways, connections: full.connections,
    marketplace: { rate: m.rate, p50_ms: m.latency.p50_ms, p99_ms: m.latency.p99_ms, delivered_share: m.delivered_share,
      per_gateway_p99_ms: m.per_gateway.map((g) => g.latency.p99_ms) },
    broadcast: (s.broadcast ?? []).map((b) => ({ window: b.window, deliveries_per_s: b.deliveries_per_s,
      p50_ms: b.latency.p50_ms, p99_ms: b.latency.p99_ms, delivered_share: b.delivered_share })),
    memory_rss_bytes_per_conn: rss.length ? { mean: Math.round(mean(rss)), min: Math.min(...rss), max: Math.max(...rss) } : null,
    discard: s.steps.map((st) => ({ gateways: st.gateways,
      discarded_per_s_per_gateway: Math.round(mean(st.marketplace.per_gateway.map((g) => g.discarded_per_s))),
      cpu_share_per_gateway: +mean(st.marketplace.per_gateway.map((g) => g.cpu_share)).toFixed(4),
      broker_bytes_out_rooms_per_s: st.marketplace.broker ? Math.round(st.marketplace.broker.bytes_out_rooms / st.marketplace.wall_seconds) : null })),
    kill: k && { victim_clients: k.victim_clients, recovered: k.recovery.recovered, not_recovered: k.recovery.not_recovered,
      down: k.recovery.down, reconnect_p50_ms: k.recovery.reconnect_time.p50_ms, reconnect_p99_ms: k.recovery.reconnect_time.p99_ms,
      owed: a.owed, lost: a.lost, duplicated: a.duplicated, unexpected: a.unexpected },
    checks: checks(s),
    load: { before: s.load_before, after: s.load_after },
  };
}

// What the issue holds the cluster to; missed ones show as missed.
function checks(s) {
  const full = s.steps.at(-1).marketplace, k = s.kill, a = k?.audit?.all;
  const every = s.steps.every((st) => st.marketplace.delivered_share === 1);
  return {
    marketplace_delivered_exactly_1: every,
    broadcast_delivered_exactly_1: (s.broadcast ?? []).length ? s.broadcast.every((b) => b.delivered_share === 1) : null,
    marketplace_p99_25ms_at_full_size: full.latency.p99_ms <= 25,
    kill_all_recovered: k ? k.recovery.recovered === k.victim_clients && k.recovery.down === 0 : null,
    kill_nothing_lost: a ? a.lost === 0 : null,
    kill_nothing_duplicated: a ? a.duplicated === 0 && a.unexpected === 0 : null,
  };
}

function checkRows(s) {
  const c = checks(s), full = s.steps.at(-1).marketplace, k = s.kill, a = k?.audit?.all;
  return table(["check", "measured", ""], [
    ["marketplace traffic: deliveries / expected exactly 1 at every size", s.steps.map((st) => fmt(st.marketplace.delivered_share, 4)).join(", "), yes(c.marketplace_delivered_exactly_1)],
    ["broadcast: deliveries / expected exactly 1", (s.broadcast ?? []).map((b) => fmt(b.delivered_share, 4)).join(", "), yes(c.broadcast_delivered_exactly_1)],
    [`marketplace p99 ≤ 25 ms at ${fmt(full.connections)} connections (issue 11's goal)`, `${ms(full.latency, "p99")} ms`, yes(c.marketplace_p99_25ms_at_full_size)],
    ["SIGKILLed gateway: every client recovered on the others", k ? `${fmt(k.recovery.recovered)} of ${fmt(k.victim_clients)}` : "—", yes(c.kill_all_recovered)],
    ["SIGKILLed gateway: no event lost", a ? `${fmt(a.lost)} of ${fmt(a.owed)} owed` : "—", yes(c.kill_nothing_lost)],
    ["SIGKILLed gateway: no event duplicated (or unowed)", a ? `${fmt(a.duplicated)} duplicated, ${fmt(a.unexpected)} unowed` : "—", yes(c.kill_nothing_duplicated)],
  ]);
}

function machineLine(r) {
  const s = s6(r);
  return `Run ${r.started} (\`${r.tag}\`) on ${r.machine.cpus} × ${r.machine.cpu_model}, ${r.machine.memory_gib} GiB, Linux ${r.machine.kernel}, ` +
    `Node ${r.machine.node}; open-files limit ${fmt(r.machine.open_files_limit)} per process. Load average (1, 5, 15 min) ` +
    `${s?.load_before?.join(", ") ?? "—"} before the scenario, ${s?.load_after?.join(", ") ?? "—"} after. Kafka's JVM: \`${r.versions?.kafka_jvm_opts ?? "—"}\`.`;
}

function sweepTable(s) {
  const rows = s.steps.map((st) => {
    const m = st.marketplace, g = m.per_gateway, b = m.broker;
    const perS = (x) => (b ? fmt(x / m.wall_seconds) : "—");
    return [fmt(st.gateways), fmt(st.connections), `${ms(m.latency, "p50")} / ${ms(m.latency, "p99")}`, fmt(m.delivered_share, 4),
      fmt(mean(g.map((x) => x.cpu_share * 1000)), 1), fmt(mean(g.map((x) => x.room_events.read / m.wall_seconds))),
      fmt(mean(g.map((x) => x.discarded_per_s))), pct(mean(g.map((x) => x.discarded_share))),
      fmt(mean(g.map((x) => (x.room_events.already_delivered ?? 0) / m.wall_seconds))),
      fmt(m.cpu_us_per_domain_event.gateways, 1), fmt(m.cpu_us_per_domain_event.fanout, 1), fmt(m.cpu_us_per_domain_event.bus, 1),
      perS(b?.bytes_out_rooms), b?.requests ? fmt((b.requests.Fetch ?? 0) / m.wall_seconds) : "—"];
  });
  return table(["gateways", "connections", "p50 / p99 ms", "delivered / expected", "CPU per gateway (ms/s)",
    "room events read / s per gateway", "dropped by key / s per gateway", "dropped share",
    "decoded, already delivered / s per gateway", "all gateways µs / event",
    "fanout µs / event", "broker µs / event", "broker bytes out / s (room topic)", "broker Fetch requests / s"], rows);
}

function perGatewayTable(m) {
  return table(["gateway", "connections", "p50 ms", "p99 ms", "p99.9 ms", "deliveries", "CPU (ms/s)", "µs / domain event",
    "room events read", "dropped by key", "dropped share"], m.per_gateway.map((g) => [String(g.gateway), fmt(g.connections),
    ms(g.latency, "p50"), ms(g.latency, "p99"), ms(g.latency, "p999"), fmt(g.deliveries), fmt(g.cpu_share * 1000, 1),
    fmt(g.cpu_us_per_domain_event, 1), fmt(g.room_events.read), fmt(g.room_events.no_local_member), pct(g.discarded_share)])
    .concat([["all", fmt(m.connections), ms(m.latency, "p50"), ms(m.latency, "p99"), ms(m.latency, "p999"), fmt(m.deliveries),
      fmt(m.per_gateway.reduce((a, g) => a + g.cpu_share * 1000, 0), 1), fmt(m.cpu_us_per_domain_event.gateways, 1), "", "", ""]]));
}

// What a room event costs a gateway that drops it, and the broker per reader.
function costSection(s) {
  const out = [];
  const fl = s.steps.filter((st) => st.flood);
  if (fl.length) out.push(`A flood of ${fmt(s.plan.flood)} room events for 1 000 rooms nobody is in, read by every gateway ` +
    "(with its clients connected): each gateway's CPU from the first produce to its last drop.", "",
  ...table(["gateways", "per gateway: CPU-s", "per gateway: µs per dropped event", "per gateway: seconds", "broker CPU-s", "broker bytes out (room topic)"],
    fl.map((st) => [fmt(st.gateways), st.flood.per_gateway.map((g) => fmt(g.cpu_s, 2)).join(" · "),
      st.flood.per_gateway.map((g) => fmt((g.cpu_s / g.dropped) * 1e6, 2)).join(" · "),
      fmt(mean(st.flood.per_gateway.map((g) => g.seconds)), 2), fmt(st.flood.bus_cpu_s, 2), fmt(st.flood.broker?.bytes_out_rooms)])), "");
  const b = s.broker;
  if (b) out.push(`The broker alone: ${fmt(b.written.events)} room events written to a topic nobody reads ` +
    `(${fmt(b.written.bus_cpu_s, 2)} broker CPU-s, ${fmt(b.written.broker?.bytes_in_rooms)} bytes in), then read whole by ` +
    "1, 3 and 6 readers at once with the gateway's consumer settings, nothing else producing:", "",
  ...table(["readers", "broker CPU-s", "µs per event per reader", "bytes out", "bytes out per event per reader", "Fetch requests", "seconds"],
    b.reads.map((x) => [fmt(x.readers), fmt(x.bus_cpu_s, 2), fmt((x.bus_cpu_s / (x.readers * x.events)) * 1e6, 3),
      fmt(x.broker?.bytes_out_rooms), fmt(x.broker ? x.broker.bytes_out_rooms / (x.readers * x.events) : null, 1),
      fmt(x.broker?.requests?.Fetch), fmt(x.wall_seconds, 2)])), "");
  return out;
}

function memoryTable(s) {
  return table(["gateway", "connections", "RSS before clients (KiB)", "RSS after (KiB)", "RSS bytes / connection",
    "private bytes / connection"], (s.memory ?? []).map((x) => [String(x.gateway), fmt(x.connections), fmt(x.baseline_kib.rss),
    fmt(x.kib.rss), fmt(x.bytes_per_conn.rss), fmt(x.bytes_per_conn.private)]));
}

function broadcastTable(s) {
  return table(["window", "sockets", "broadcasts", "delivered / expected", "deliveries / s", "p50 ms", "p99 ms",
    "p99 per gateway (ms)", "deliveries / gateway CPU-s", "CPU-s: gateways / load generators"], (s.broadcast ?? []).map((b) => [fmt(b.window), fmt(b.sockets),
    fmt(b.events), fmt(b.delivered_share, 4), fmt(b.deliveries_per_s), ms(b.latency, "p50"), ms(b.latency, "p99"),
    b.per_gateway.map((g) => fmt(g.latency?.p99_ms, 1)).join(" · "), fmt(b.deliveries_per_gateway_cpu_s),
    `${fmt(b.cpu_s.gateways, 2)} / ${fmt(b.per_gateway.reduce((a, g) => a + g.loadgen_cpu_s, 0), 2)} in ${fmt(b.seconds, 1)} s`]));
}

function killSection(s) {
  const k = s.kill;
  if (!k) return [];
  const rec = k.recovery, a = k.audit.all, o = k.audit.by_outcome;
  const out = [`Gateway ${k.victim} (${fmt(k.victim_clients)} clients) SIGKILLed ${k.killed_at_s} s into ${k.seconds} s of ` +
    `marketplace traffic at ${fmt(k.rate)} events/s over ${fmt(k.connections)} clients. Its clients reconnect as the stock ` +
    "`socket.io-client` does (1 s ± 50 % backoff, doubling) to the other gateways in turn (a balancer's live backends), " +
    "with `auth: {token, pid, offset}`; every client then checks the events it was owed against those it received.", "",
    ...table(["", "value"], [
      ["clients dropped", fmt(rec.drops)], ["recovered (`socket.recovered`)", fmt(rec.recovered)],
      ["not recovered (new session)", fmt(rec.not_recovered)], ["still down at the end", fmt(rec.down)],
      ["reconnection attempts", `${fmt(rec.attempts)} (failed: ${Object.entries(rec.failed_attempts).filter(([, v]) => v).map(([w, v]) => `${w} ${fmt(v)}`).join(", ") || "none"})`],
      ["drop → CONNECT reply, p50 / p99 / max", `${ms(rec.reconnect_time, "p50")} / ${ms(rec.reconnect_time, "p99")} / ${ms(rec.reconnect_time, "max")} ms`],
      ["of which the last attempt (TCP connect → CONNECT reply), p50 / p99 / max", rec.handshake_time ?
        `${ms(rec.handshake_time, "p50")} / ${ms(rec.handshake_time, "p99")} / ${ms(rec.handshake_time, "max")} ms` : "—"],
      ["events owed to all clients (audited range)", fmt(a.owed)], ["received", fmt(a.received)],
      ["lost", `${fmt(a.lost)} (clients with a loss: ${fmt(a.clients_with_loss)})`],
      ["duplicated", `${fmt(a.duplicated)} (clients: ${fmt(a.clients_with_duplicates)})`], ["received but not owed", fmt(a.unexpected)],
      ["lost / duplicated among the recovered clients", `${fmt(o.recovered?.lost)} / ${fmt(o.recovered?.duplicated)} of ${fmt(o.recovered?.owed)} owed`],
      ["lost / duplicated among the other gateways' clients", `${fmt(o.never_dropped?.lost)} / ${fmt(o.never_dropped?.duplicated)} of ${fmt(o.never_dropped?.owed)} owed`],
      ["latency over the whole phase, p50 / p99 / max (replays included)", `${ms(k.latency, "p50")} / ${ms(k.latency, "p99")} / ${ms(k.latency, "max")} ms`],
      ["latency of the killed gateway's clients, p50 / p99 / max", `${ms(k.latency_victims, "p50")} / ${ms(k.latency_victims, "p99")} / ${ms(k.latency_victims, "max")} ms`],
      ["load generators' CPU-s over the phase (the killed gateway's clients; the others)", k.loadgen_cpu_s ?
        `${fmt(k.loadgen_cpu_s[k.victim], 2)}; ${Object.entries(k.loadgen_cpu_s).filter(([g]) => Number(g) !== k.victim).map(([, v]) => fmt(v, 2)).join(" · ")} (in ${fmt(k.phase_seconds, 1)} s)` : "—"],
    ]), "", "What the surviving gateways saw (their metrics over the phase):", "",
    ...table(["gateway", "recovered", "new sessions", "expired / invalid / replay failed", "events replayed", "sockets after",
      "CPU-s in the phase"], k.survivors.map((g) => [String(g.gateway), fmt(g.recovered), fmt(g.recovery_new),
      `${fmt(g.recovery_expired)} / ${fmt(g.recovery_invalid)} / ${fmt(g.recovery_failed)}`, fmt(g.replayed), fmt(g.sockets), fmt(g.cpu_s, 2)]))];
  return out;
}

export function clusterMarkdown(r) {
  const s = s6(r);
  const lines = [`# Scenario 6: the cluster (${r.tag})`, "", machineLine(r),
    "Generated by `bench/cluster-report.mjs` from `" + `${r.tag}.json` + "`; do not edit by hand. Method: `bench/cluster.mjs`.", ""];
  if (!s || s.error) return lines.concat([`Scenario 6 failed: ${(s?.error ?? "not run").split("\n")[0]}`, ""]).join("\n");
  const full = s.steps.at(-1), m = full.marketplace;
  lines.push("## Checks", "", ...checkRows(s), "",
    `## Marketplace traffic at ${fmt(m.rate)} events/s, ${fmt(full.gateways)} gateways, ${fmt(full.connections)} connections`, "",
    "Scenario 2's shape (each user in its user room and two chats; `chat.message_created` to a chat and both participants' user rooms), " +
    "through the fanout, open loop, latency from each event's scheduled time. One load generator per gateway; " +
    "the overall row merges their histograms bucket by bucket.", "", ...perGatewayTable(m), "",
    `![latency per gateway](${r.tag}-latency.png)`, "",
    "## Adding gateways at a fixed event rate", "",
    `Gateways added ${s.steps.map((x) => x.gateways).join(", ")}, each with ${fmt(s.plan.per_gateway)} clients; ` +
    `${fmt(m.rate)} domain events/s (3 room events each) over all clients at every size. Every gateway reads the whole room ` +
    "topic: what it reads grows with the cluster's rate, what it delivers shrinks as 1/gateways, the rest it drops by " +
    "its key before decoding it (`roomcast_gateway_room_events_total{result=\"no_local_member\"}`). A room event whose local " +
    "members all had the event through an earlier room of it (the fanout writes one copy per target room: chat, then each " +
    "user) is decoded for nothing (`result=\"already_delivered\"`): that cost comes with the 3 copies, not with the cluster. " +
    "CPU is utime + stime of each process over the window.", "",
    ...sweepTable(s), "", `![discards as gateways are added](${r.tag}-sweep.png)`, "",
    "Idle CPU (no traffic, connections held, pings every 25 s): " +
    s.steps.map((st) => `${st.gateways} gateways ${fmt(mean(st.idle.per_gateway.map((g) => g.cpu_s / st.idle.seconds * 1000)), 1)} ms/s each`).join("; ") + ".", "",
    "## What a room event costs: each gateway dropping it, the broker per reader", "", ...costSection(s),
    "## Memory per connection", "", "Each gateway's memory before its clients and 2 s after they all connected " +
    "(authenticated, three rooms each).", "", ...memoryTable(s), "",
    "## Broadcast to every socket", "", "Room `*` (`system.announcement`'s route), closed loop: `window` broadcasts in flight, " +
    "one more each time every socket has the oldest (scenario 1's method, over all load generators).", "", ...broadcastTable(s), "",
    "## A gateway SIGKILLed under load", "", ...killSection(s), "", `![around the SIGKILL](${r.tag}-kill.png)`, "");
  return lines.join("\n");
}

function plots(r, out, tag) {
  const s = s6(r);
  if (!s || s.error) return;
  const pts = s.steps.map((st) => {
    const g = st.marketplace.per_gateway, w = st.marketplace.wall_seconds;
    return [st.gateways, mean(g.map((x) => x.discarded_per_s)), mean(g.map((x) => x.cpu_share * 1000)),
      st.marketplace.broker ? st.marketplace.broker.bytes_out_rooms / w / 1e6 : 0];
  });
  plot(out, `${tag}-sweep.png`,
    `set title "Scenario 6: each gateway at ${s.plan.rate} domain events/s as gateways are added"\nset xlabel "gateways"\n` +
    `set ylabel "room events dropped / s, per gateway"\nset y2label "CPU per gateway (ms/s); broker MB out / s"\nset ytics nomirror\nset y2tics\n` +
    `set key top left\nset grid\nset xrange [0:*]\nset yrange [0:*]\nset y2range [0:*]\nset xtics (${s.steps.map((x) => x.gateways).join(", ")})\n` +
    `plot @a using 1:2 with linespoints lw 2 pt 7 title "discarded (no local member) / s", ` +
    `@a using 1:3 axes x1y2 with linespoints lw 2 pt 5 title "gateway CPU, ms per s", ` +
    `@a using 1:4 axes x1y2 with linespoints lw 2 pt 9 title "broker bytes out, room topic, MB/s"\n`, { a: pts });
  if (s.kill?.series?.length)
    plot(out, `${tag}-kill.png`,
      `set title "Scenario 6: gateway ${s.kill.victim} SIGKILLed at t = 0 (${s.kill.rate} events/s)"\nset xlabel "seconds from the SIGKILL"\n` +
      `set ylabel "deliveries / s (all clients)"\nset y2label "connected clients"\nset ytics nomirror\nset y2tics\nset key bottom right\nset grid\n` +
      `set yrange [0:*]\nset y2range [0:*]\nset arrow from 0, graph 0 to 0, graph 1 nohead dt 2 lc rgb "red"\n` +
      `plot @k using 1:2 with lines lw 2 title "deliveries / s", @k using 1:3 axes x1y2 with lines lw 2 title "connected clients (joined or recovered)"\n`,
      { k: s.kill.series });
  const m = s.steps.at(-1).marketplace, cdf = (h) => {
    let seen = 0;
    return (h?.buckets ?? []).map(([lo, n]) => { seen += n; return [lo / 1000, seen / h.n]; });
  };
  const data = Object.fromEntries(m.per_gateway.map((g) => [`g${g.gateway}`, cdf(g.latency)]));
  plot(out, `${tag}-latency.png`,
    `set title "Scenario 6: marketplace latency per gateway, ${m.gateways} gateways, ${m.rate} events/s"\n` +
    `set xlabel "scheduled send → receipt (ms, log scale)"\nset ylabel "fraction of deliveries"\nset logscale x\nset key bottom right\nset grid\nset yrange [0:1.02]\n` +
    `plot ${m.per_gateway.map((g) => `@g${g.gateway} with steps lw 2 title "gateway ${g.gateway}"`).join(", ")}\n`, data);
}

// The short form for docs/benchmarks/README.md's marked section.
export function summaryMarkdown(r) {
  const s = s6(r);
  if (!s || s.error) return `Scenario 6 failed in \`${r.tag}.json\`.`;
  const sum = clusterSummary(r), m = s.steps.at(-1).marketplace;
  return [machineLine(r), "", ...table(["", "measured"], [
    ["gateways, connections", `${fmt(sum.gateways)}, ${fmt(sum.connections)}`],
    [`marketplace at ${fmt(m.rate)}/s: p50 / p99 overall`, `${ms(m.latency, "p50")} / ${ms(m.latency, "p99")} ms, delivered / expected ${fmt(m.delivered_share, 4)}`],
    ["marketplace p99 per gateway", m.per_gateway.map((g) => `${fmt(g.latency.p99_ms, 1)} ms`).join(" · ")],
    ...sum.broadcast.map((b) => [`broadcast to every socket, window ${b.window}`, `${fmt(b.deliveries_per_s)} deliveries/s, p50 / p99 ${fmt(b.p50_ms, 1)} / ${fmt(b.p99_ms, 1)} ms, delivered / expected ${fmt(b.delivered_share, 4)}`]),
    ["RSS per connection (mean of gateways)", sum.memory_rss_bytes_per_conn ? `${fmt(sum.memory_rss_bytes_per_conn.mean)} bytes` : "—"],
    ["discarded / s per gateway at 1, 2, 4, 6 gateways", sum.discard.map((d) => fmt(d.discarded_per_s_per_gateway)).join(" · ")],
    ["SIGKILLed gateway: recovered / not / down", sum.kill ? `${fmt(sum.kill.recovered)} / ${fmt(sum.kill.not_recovered)} / ${fmt(sum.kill.down)} of ${fmt(sum.kill.victim_clients)}` : "—"],
    ["SIGKILLed gateway: lost / duplicated events", sum.kill ? `${fmt(sum.kill.lost)} / ${fmt(sum.kill.duplicated)} of ${fmt(sum.kill.owed)} owed` : "—"],
  ]), "", `Everything else: [${r.tag}.md](${r.tag}.md).`].join("\n");
}

export function writeClusterReport(r, out, tag, root) {
  fs.writeFileSync(path.join(out, `${tag}.md`), clusterMarkdown(r));
  plots(r, out, tag);
  // the docs follow the committed results only: a run written elsewhere, or under
  // another tag, leaves them alone
  if (root && !r.quick && tag === "cluster" && path.resolve(out) === path.join(root, "docs/benchmarks")) {
    replaceSection(path.join(root, "docs/benchmarks/README.md"), tag, summaryMarkdown(r));
    try {
      writeScaling(root, r);
    } catch (e) {
      process.stderr.write(`bench: docs/scaling.md not regenerated: ${e.message}\n`);
    }
  }
}
