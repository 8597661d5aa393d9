// report.mjs: turns a results object (bench.mjs) into what people read, so that no figure
// is ever copied by hand:
//   OUT/<tag>.md          every scenario, both systems, every number of the run
//   OUT/<tag>-*.png       the plots (Debian's gnuplot)
//   the marked sections of README.md and docs/benchmarks/README.md
//     (<!-- bench:<tag>:start --> ... <!-- bench:<tag>:end -->), rewritten in place.
// bench.mjs calls writeReport after a run; `node bench/report.mjs docs/benchmarks/results.json`
// regenerates all of it from a committed results file (tests check the docs match).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { highestRate, summarize } from "./summary.mjs";
import { clusterSummary, writeClusterReport } from "./cluster-report.mjs";

export const fmt = (v, d = 0) => (v == null || Number.isNaN(v) ? "—" : Number(v).toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }));
const ratio = (a, b, d = 2) => (a && b ? `${fmt(a / b, d)}×` : "—");
export const table = (head, rows) => [`| ${head.join(" | ")} |`, `|${head.map((h, i) => (i ? "---:" : "---")).join("|")}|`,
  ...rows.map((r) => `| ${r.join(" | ")} |`)];
const RATES = [1000, 2000, 5000, 10000, 20000];

// ---- scenario tables --------------------------------------------------------------------

function s1Table(s1) {
  const rows = [];
  for (const w of ["w8", "w32"]) {
    const a = s1?.roomcast?.[w], b = s1?.socketio?.[w];
    if (!a && !b) continue;
    const win = (a ?? b).window;
    rows.push([`window ${win}: deliveries / s`, fmt(a?.deliveries_per_s), fmt(b?.deliveries_per_s), ratio(a?.deliveries_per_s, b?.deliveries_per_s)]);
    rows.push([`window ${win}: deliveries / server CPU-s`, fmt(a?.deliveries_per_server_cpu_s), fmt(b?.deliveries_per_server_cpu_s),
      ratio(a?.deliveries_per_server_cpu_s, b?.deliveries_per_server_cpu_s)]);
    rows.push([`window ${win}: bus CPU-s (Kafka / Redis)`, fmt(a?.bus_cpu_s, 2), fmt(b?.bus_cpu_s, 2), ""]);
    rows.push([`window ${win}: produce → receipt p99 (ms)`, fmt(a?.latency?.p99_ms, 1), fmt(b?.latency?.p99_ms, 1), ""]);
    rows.push([`window ${win}: load generator CPU share`, fmt(a?.loadgen_cpu_share, 2), fmt(b?.loadgen_cpu_share, 2), ""]);
  }
  return rows.length ? table(["scenario 1: broadcast", "roomcast", "Socket.IO", "ratio"], rows) : [];
}

const SYS2 = [["roomcast", "s2", "roomcast (fanout)"], ["roomcast", "s2d", "roomcast (direct)"], ["socketio", "s2", "Socket.IO + Redis"]];

function s2Tables(s) {
  const lat = [], cpu = [], req = [];
  for (const rate of RATES)
    for (const [sys, key, label] of SYS2) {
      const x = s[key]?.[sys]?.[`r${rate}`];
      if (!x) continue;
      const l = x.latency ?? {}, c = x.cpu_us_per_event ?? {};
      lat.push([fmt(rate), label, fmt(x.achieved_rate), fmt(l.p50_ms, 2), fmt(l.p99_ms, 2), fmt(l.p999_ms, 2), fmt(x.delivered_share, 4)]);
      cpu.push([fmt(rate), label, fmt(c.gateway ?? c.server, 1), fmt(c.fanout, 1), fmt(c.server, 1), fmt(c.bus, 1), fmt(c.server_and_bus, 1)]);
      const q = x.bus_requests_per_event;
      if (q) {
        const top = Object.entries(q).filter(([k]) => k !== "all").sort((m, n) => n[1] - m[1]).slice(0, 5)
          .map(([k, v]) => `${k} ${fmt(v, 2)}`).join(", ");
        req.push([fmt(rate), label, fmt(q.all, 2), top]);
      }
    }
  const out = [];
  if (lat.length) out.push(...table(["events/s", "system", "achieved/s", "p50 ms", "p99 ms", "p99.9 ms", "delivered / expected"], lat), "");
  if (cpu.length) out.push("CPU per domain event (µs; server = gateway + fanout for roomcast, the Node process for Socket.IO; bus = Kafka's JVM or redis-server):", "",
    ...table(["events/s", "system", "gateway", "fanout", "server", "bus", "server + bus"], cpu), "");
  if (req.length) out.push("Bus requests per domain event (Kafka: broker requests by API over JMX; Redis: commands from INFO commandstats):", "",
    ...table(["events/s", "system", "all", "largest"], req), "");
  return out;
}

function s3Rows(s3) {
  const a = s3?.roomcast, b = s3?.socketio, rows = [];
  for (const n of (a?.points ?? b?.points ?? []).map((p) => p.connections)) {
    const pa = a?.points?.find((p) => p.connections === n), pb = b?.points?.find((p) => p.connections === n);
    rows.push([`${fmt(n)} connections: RSS bytes / connection`, fmt(pa?.bytes_per_conn.rss), fmt(pb?.bytes_per_conn.rss), ratio(pa?.bytes_per_conn.rss, pb?.bytes_per_conn.rss)]);
    rows.push([`${fmt(n)} connections: RSS bytes / connection after a forced GC`, fmt(pa?.bytes_per_conn.rss), fmt(pb?.bytes_per_conn_after_gc?.rss),
      ratio(pa?.bytes_per_conn.rss, pb?.bytes_per_conn_after_gc?.rss)]);
    rows.push([`${fmt(n)} connections: private bytes / connection`, fmt(pa?.bytes_per_conn.private), fmt(pb?.bytes_per_conn.private), ""]);
  }
  return rows;
}

function otherTable(s) {
  const rows = [...s3Rows(s.s3)];
  const [a4, b4] = [s.s4?.roomcast, s.s4?.socketio];
  if (a4 || b4) rows.push(["scenario 4: authenticated connects / s", fmt(a4?.connects_per_s), fmt(b4?.connects_per_s), ratio(a4?.connects_per_s, b4?.connects_per_s)]);
  const [a5, b5] = [s.s5?.roomcast, s.s5?.socketio];
  if (a5 || b5) rows.push(["scenario 5: discarded room events / server CPU-s", fmt(a5?.discarded_per_cpu_s), fmt(b5?.discarded_per_cpu_s), ratio(a5?.discarded_per_cpu_s, b5?.discarded_per_cpu_s)]);
  return rows.length ? table(["scenarios 3–5", "roomcast", "Socket.IO", "ratio"], rows) : [];
}

// ---- goals ----------------------------------------------------------------------------------

function goalRows(r) {
  const sum = r.summary ?? summarize(r), g = sum.goals, s = r.scenarios;
  const yes = (v) => (v == null ? "not run" : v ? "**met**" : "**missed**");
  const at = (key, sys, rate) => s[key]?.[sys]?.[`r${rate}`];
  const rows = [];
  const s2lat = (rate) => {
    const x = at("s2", "roomcast", rate)?.latency;
    return x ? `p50 ${fmt(x.p50_ms, 1)} ms, p99 ${fmt(x.p99_ms, 1)} ms` : "—";
  };
  rows.push(["scenario 2 at 2 000/s: p50 ≤ 10 ms, p99 ≤ 25 ms (through the fanout)", s2lat(2000), yes(g.s2_latency_2000)]);
  rows.push(["scenario 2 at 5 000/s: p50 ≤ 10 ms, p99 ≤ 25 ms (through the fanout)", s2lat(5000), yes(g.s2_latency_5000)]);
  const a5 = at("s2", "roomcast", 5000)?.cpu_us_per_event, b5 = at("s2", "socketio", 5000)?.cpu_us_per_event;
  rows.push(["gateway + fanout CPU per event ≤ 1/3 of Socket.IO's, 5 000/s",
    a5 && b5 ? `${fmt(a5.server, 1)} µs vs ${fmt(b5.server, 1)} µs = ${fmt(a5.server / b5.server, 2)}×` : "—", yes(g.s2_server_cpu_third_5000)]);
  rows.push(["server + bus CPU per event ≤ 1.5× Socket.IO + Redis's, 5 000/s",
    a5 && b5 ? `${fmt(a5.server_and_bus, 1)} µs vs ${fmt(b5.server_and_bus, 1)} µs = ${fmt(a5.server_and_bus / b5.server_and_bus, 2)}×` : "—", yes(g.s2_server_bus_1_5x_5000)]);
  const hr = sum.s2_highest_rate_p99_50ms;
  rows.push(["highest rate with p99 ≤ 50 ms ≥ Socket.IO's",
    `${fmt(hr.roomcast)} (direct ${fmt(hr.roomcast_direct)}) vs ${fmt(hr.socketio)} events/s`, yes(g.s2_highest_rate_vs_socketio)]);
  rows.push(["scenario 1: ≥ 10× Socket.IO's deliveries per server CPU-s, window 8", `${fmt(sum.s1_ratio_w8, 2)}×`, yes(g.s1_10x_w8)]);
  rows.push(["scenario 1: ≥ 10× Socket.IO's deliveries per server CPU-s, window 32", `${fmt(sum.s1_ratio_w32, 2)}×`, yes(g.s1_10x_w32)]);
  rows.push(["scenario 3: ≤ 1/5 of Socket.IO's memory per connection",
    `${fmt(sum.memory_ratio, 2)} (${fmt(sum.memory_ratio_after_gc, 2)} against Socket.IO after a forced GC)`, yes(g.s3_fifth)]);
  rows.push(["scenario 4: ≥ 10 000 authenticated connects/s", fmt(sum.connects_per_s), yes(g.s4_10k_per_s)]);
  rows.push(["scenario 5: ≥ 2 M discarded room events per gateway CPU-s", fmt(sum.discarded_per_cpu_s), yes(g.s5_2m_per_cpu_s)]);
  return table(["goal", "measured", ""], rows);
}

// ---- the documents ----------------------------------------------------------------------------

function machineLine(r) {
  return `Run ${r.started} (\`${r.tag}\`) on ${r.machine.cpus} × ${r.machine.cpu_model}, ${r.machine.memory_gib} GiB, Linux ${r.machine.kernel}, ` +
    `Node ${r.machine.node}; open-files limit ${fmt(r.machine.open_files_limit)}; socket.io ${r.versions["socket.io"]}` +
    `${r.versions.bufferutil ? ` with bufferutil ${r.versions.bufferutil} and utf-8-validate ${r.versions["utf-8-validate"]}` : ""}.`;
}

export function markdown(r) {
  const s = r.scenarios;
  const lines = [`# roomcast vs Socket.IO ${r.versions["socket.io"]} + Redis adapter (${r.tag})`, "",
    machineLine(r), "Both systems in the same invocation, same load generator (`roomcast-loadgen`), same machine. Ratio = roomcast / Socket.IO.",
    "Generated by `bench/report.mjs` from `" + `${r.tag}.json` + "`; do not edit by hand.", "",
    "## Goals", "", ...goalRows(r), ""];
  const any2 = [s.s2?.roomcast, s.s2?.socketio, s.s2d?.roomcast].flatMap((x) => Object.values(x ?? {})).find((x) => x?.sockets);
  if (s.s2 || s.s2d) lines.push("## Scenario 2: marketplace traffic, latency against rate", "",
    `${fmt(any2?.sockets)} sockets, each user in its user room and two chats; each event goes to a chat and its two ` +
    "participants. Open loop: latency from each event's scheduled send time.", "", ...s2Tables(s),
    `![p99 against rate](${r.tag}-p99-s2.png)`, "");
  if (s.s1) lines.push("## Scenario 1: broadcast to one room", "", ...s1Table(s.s1), "", `![deliveries per second](${r.tag}-deliveries-s1.png)`, "");
  const other = otherTable(s);
  if (other.length) lines.push("## Scenarios 3, 4, 5", "", ...other, "");
  for (const [k, v] of Object.entries(s))
    for (const [name, res] of Object.entries(v))
      if (res?.error) lines.push(`- ${k} ${name} failed: ${res.error.split("\n")[0]}`);
  return lines.join("\n") + "\n";
}

// The short form for README.md and docs/benchmarks/README.md.
export function summaryMarkdown(r) {
  const s = r.scenarios, rows = [];
  for (const rate of RATES) {
    const cell = (x) => (x?.latency ? `${fmt(x.latency.p50_ms, 1)} / ${fmt(x.latency.p99_ms, 1)}` : "—");
    const [a, d, b] = SYS2.map(([sys, key]) => s[key]?.[sys]?.[`r${rate}`]);
    if (!a && !b && !d) continue;
    const cpu = (x) => (x?.cpu_us_per_event ? `${fmt(x.cpu_us_per_event.server, 0)} + ${fmt(x.cpu_us_per_event.bus, 0)}` : "—");
    rows.push([fmt(rate), cell(a), cell(d), cell(b), cpu(a), cpu(b)]);
  }
  const out = [machineLine(r), ""];
  if (rows.length) out.push("Scenario 2 (marketplace traffic: one event to a chat and its two participants), p50 / p99 ms " +
    "from the scheduled send time, and CPU µs per event as server + bus:", "",
    ...table(["events/s", "roomcast via fanout", "roomcast direct", "Socket.IO + Redis", "roomcast CPU", "Socket.IO CPU"], rows), "");
  out.push(...goalRows(r));
  return out.join("\n");
}

function cdf(h) {
  if (!h?.buckets?.length) return [];
  let seen = 0;
  return h.buckets.map(([lo, n]) => { seen += n; return [lo / 1000, seen / h.n]; });
}

export function plot(out, name, script, data) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "roomcast-plot-"));
  try {
    const files = {};
    for (const [k, pts] of Object.entries(data)) {
      files[k] = path.join(dir, `${k}.dat`);
      fs.writeFileSync(files[k], pts.length ? pts.map((p) => p.join(" ")).join("\n") + "\n" : "\n");
    }
    const text = `set terminal pngcairo size 960,540 font "DejaVu Sans,11"\nset output "${path.join(out, name)}"\n` +
      script.replace(/@(\w+)/g, (_, k) => `"${files[k]}"`);
    execFileSync("gnuplot", [], { input: text, stdio: ["pipe", "ignore", "pipe"] });
  } catch (e) {
    process.stderr.write(`bench: plot ${name} failed: ${e.message}\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function plots(r, out, tag) {
  const s = r.scenarios;
  if (s.s2 || s.s2d) {
    const pts = (key, sys) => RATES.map((x) => s[key]?.[sys]?.[`r${x}`]).filter((x) => x?.latency).map((x) => [x.rate, x.latency.p99_ms]);
    plot(out, `${tag}-p99-s2.png`,
      `set title "Scenario 2: p99 produce → receipt against rate (open loop)"\nset xlabel "domain events / s"\nset ylabel "p99 (ms, log scale)"\n` +
      `set logscale xy\nset key top left\nset grid\nset xtics (1000, 2000, 5000, 10000, 20000)\n` +
      `set arrow from graph 0, first 50 to graph 1, first 50 nohead dt 2 lc rgb "gray"\n` +
      `plot @a with linespoints lw 2 pt 7 title "roomcast (Kafka + fanout)", @d with linespoints lw 2 pt 5 title "roomcast (direct to the room topic)", ` +
      `@b with linespoints lw 2 pt 9 title "Socket.IO 4.8 + Redis adapter"\n`,
      { a: pts("s2", "roomcast"), d: pts("s2d", "roomcast"), b: pts("s2", "socketio") });
    const at = (key, sys) => s[key]?.[sys]?.r5000?.latency;
    if (at("s2", "roomcast") || at("s2", "socketio"))
      plot(out, `${tag}-latency-s2.png`,
        `set title "Scenario 2 at 5 000 events/s: latency distribution"\nset xlabel "produce → receipt (ms, log scale)"\nset ylabel "fraction of deliveries"\n` +
        `set logscale x\nset key bottom right\nset grid\nset yrange [0:1.02]\n` +
        `plot @a with steps lw 2 title "roomcast (Kafka + fanout)", @d with steps lw 2 title "roomcast (direct)", @b with steps lw 2 title "Socket.IO + Redis adapter"\n`,
        { a: cdf(at("s2", "roomcast")), d: cdf(at("s2d", "roomcast")), b: cdf(at("s2", "socketio")) });
  }
  if (s.s1) {
    const w = s.s1.roomcast?.w32 ? "w32" : "w8";
    plot(out, `${tag}-deliveries-s1.png`,
      `set title "Scenario 1: deliveries per second, one room (window ${w.slice(1)})"\nset xlabel "seconds"\nset ylabel "deliveries / s"\n` +
      `set key top right\nset grid\nset yrange [0:*]\nset format y "%.0s%c"\n` +
      `plot @rc with lines lw 2 title "roomcast", @io with lines lw 2 title "Socket.IO + Redis adapter"\n`,
      { rc: s.s1.roomcast?.[w]?.series ?? [], io: s.s1.socketio?.[w]?.series ?? [] });
  }
}

// Replaces the text between <!-- bench:TAG:start --> and <!-- bench:TAG:end --> in file.
export function replaceSection(file, tag, body) {
  if (!fs.existsSync(file)) return false;
  const text = fs.readFileSync(file, "utf8");
  const a = `<!-- bench:${tag}:start -->`, b = `<!-- bench:${tag}:end -->`;
  const i = text.indexOf(a), j = text.indexOf(b);
  if (i < 0 || j < i) return false;
  fs.writeFileSync(file, `${text.slice(0, i + a.length)}\n${body}\n${text.slice(j)}`);
  return true;
}

export function writeReport(r, out, tag, root) {
  if (r.kind === "cluster") return writeClusterReport(r, out, tag, root); // scenario 6
  fs.writeFileSync(path.join(out, `${tag}.md`), markdown(r));
  plots(r, out, tag);
  // only a run written to the committed results updates the docs: a run with --out
  // elsewhere (a comparison, a check) leaves them alone
  if (root && !r.quick && path.resolve(out) === path.join(root, "docs/benchmarks"))
    for (const f of ["README.md", "docs/benchmarks/README.md"]) replaceSection(path.join(root, f), tag, summaryMarkdown(r));
}

// Scenario 2 of several runs side by side (the same rates, each run labelled by its tag):
// how two designs or settings compare, for docs/design.
export function compareMarkdown(runs) {
  const lat = [], cpu = [];
  for (const rate of RATES)
    for (const r of runs) {
      const x = r.scenarios.s2?.roomcast?.[`r${rate}`];
      if (!x) continue;
      const l = x.latency ?? {}, c = x.cpu_us_per_event ?? {}, q = x.bus_requests_per_event ?? {};
      lat.push([fmt(rate), `\`${r.tag}\``, fmt(l.p50_ms, 2), fmt(l.p99_ms, 2), fmt(l.p999_ms, 2), fmt(x.delivered_share, 4)]);
      const top = Object.entries(q).filter(([k]) => k !== "all").sort((m, n) => n[1] - m[1]).slice(0, 4)
        .map(([k, v]) => `${k} ${fmt(v, 2)}`).join(", ");
      cpu.push([fmt(rate), `\`${r.tag}\``, fmt(c.gateway, 1), fmt(c.fanout, 1), fmt(c.bus, 1), fmt(c.server_and_bus, 1), fmt(q.all, 2),
        q.all ? fmt(c.bus / q.all, 0) : "—", q.EndTxn ? fmt(c.bus / q.EndTxn, 0) : "—", q.EndTxn ? fmt(1 / q.EndTxn, 1) : "—", top]);
    }
  return [runs.map((r) => machineLine(r)).join("\n"), "",
    ...table(["events/s", "run", "p50 ms", "p99 ms", "p99.9 ms", "delivered / expected"], lat), "",
    "CPU per domain event (µs), the broker's requests per event, and what the bus spends per request and per transaction:", "",
    ...table(["events/s", "run", "gateway µs", "fanout µs", "bus µs", "all µs", "bus requests", "bus µs / request",
      "bus µs / transaction", "events / transaction", "largest request kinds per event"], cpu)].join("\n");
}

// node bench/report.mjs RESULTS.json: regenerates the report and the docs from a results file.
// node bench/report.mjs --compare FILE SECTION A.json B.json ...: writes the comparison of
// those runs into FILE's marked section SECTION.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  const args = process.argv.slice(2);
  if (args[0] === "--compare") {
    const [, file, section, ...inputs] = args;
    const runs = inputs.map((f) => JSON.parse(fs.readFileSync(path.resolve(f), "utf8")));
    if (!replaceSection(path.resolve(file), section, compareMarkdown(runs)))
      throw new Error(`${file}: no <!-- bench:${section}:start/end --> section`);
  } else {
    const file = path.resolve(args[0] ?? "docs/benchmarks/results.json");
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    r.summary = r.kind === "cluster" ? clusterSummary(r) : summarize(r);
    writeReport(r, path.dirname(file), r.tag, root);
    process.stdout.write(JSON.stringify(r.summary) + "\n");
  }
}

export { highestRate };
