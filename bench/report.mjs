// report.mjs: turns a results object (bench.mjs) into the markdown table and the PNG
// plots under docs/benchmarks/, the plots drawn by Debian's gnuplot.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync } from "node:child_process";

const fmt = (v, d = 0) => (v == null || Number.isNaN(v) ? "—" : Number(v).toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }));
const ratio = (a, b, d = 2) => (a && b ? `${fmt(a / b, d)}×` : "—");

function rows(r) {
  const s = r.scenarios, out = [];
  const add = (scenario, metric, a, b, d, goal) => out.push([scenario, metric, fmt(a, d), fmt(b, d), ratio(a, b), goal]);
  const g = (k, n) => s[k]?.[n];
  if (s.s1) {
    const [a, b] = [g("s1", "roomcast"), g("s1", "socketio")];
    add(`1. broadcast, ${a?.sockets ?? b?.sockets} sockets in one room`, "deliveries / s", a?.deliveries_per_s, b?.deliveries_per_s, 0, "");
    add("", "deliveries / server CPU-s", a?.deliveries_per_server_cpu_s, b?.deliveries_per_server_cpu_s, 0, "≥ 10× Socket.IO");
    add("", "server CPU-s / million deliveries", a?.server_cpu_s_per_million, b?.server_cpu_s_per_million, 2, "");
    add("", "produce → receipt p99 (ms)", a?.latency?.p99_ms, b?.latency?.p99_ms, 1, "");
    add("", "load generator CPU share", a?.loadgen_cpu_share, b?.loadgen_cpu_share, 2, "");
  }
  if (s.s2) {
    const [a, b] = [g("s2", "roomcast"), g("s2", "socketio")];
    add(`2. marketplace, ${a?.sockets ?? b?.sockets} sockets, ${fmt(a?.rate ?? b?.rate)} events/s`, "achieved events / s", a?.achieved_rate, b?.achieved_rate, 0, "20 000");
    for (const p of ["p50", "p99", "p999"])
      add("", `produce → receipt ${p.replace("p999", "p99.9")} (ms)`, a?.latency?.[`${p}_ms`], b?.latency?.[`${p}_ms`], 1, p === "p99" ? "≤ 25 ms" : "");
    add("", "deliveries / expected", a ? a.deliveries / a.expected : null, b ? b.deliveries / b.expected : null, 4, "1");
    add("", "server CPU-s (gateway + fanout / node)", a?.server_cpu_s?.total, b?.server_cpu_s?.total, 2, "");
    add("", "bus CPU-s (Kafka JVM / redis-server)", a?.bus_cpu_s, b?.bus_cpu_s, 2, "");
  }
  if (s.s3) {
    const [a, b] = [g("s3", "roomcast"), g("s3", "socketio")];
    const pts = (a?.points ?? b?.points ?? []).map((p) => p.connections);
    for (const n of pts) {
      const pa = a?.points?.find((p) => p.connections === n), pb = b?.points?.find((p) => p.connections === n);
      add(`3. idle memory, ${fmt(n)} connections`, "RSS bytes / connection", pa?.bytes_per_conn.rss, pb?.bytes_per_conn.rss, 0, "≤ 1/5 of Socket.IO");
      add("", "PSS bytes / connection", pa?.bytes_per_conn.pss, pb?.bytes_per_conn.pss, 0, "");
      add("", "private bytes / connection", pa?.bytes_per_conn.private, pb?.bytes_per_conn.private, 0, "≤ 4 096 (gateway)");
    }
  }
  if (s.s4) {
    const [a, b] = [g("s4", "roomcast"), g("s4", "socketio")];
    add("4. connection storm", "authenticated connects / s", a?.connects_per_s, b?.connects_per_s, 0, "≥ 10 000");
    add("", "connects before first refusal", a?.ok_before_first_failure, b?.ok_before_first_failure, 0, "");
  }
  if (s.s5) {
    const [a, b] = [g("s5", "roomcast"), g("s5", "socketio")];
    add("5. no local member", "discarded room events / server CPU-s", a?.discarded_per_cpu_s, b?.discarded_per_cpu_s, 0, "≥ 2 000 000");
  }
  return out;
}

export function markdown(r) {
  const lines = [
    `# roomcast vs Socket.IO ${r.versions["socket.io"]} + Redis adapter (${r.tag})`, "",
    `Run ${r.started} on ${r.machine.cpus} × ${r.machine.cpu_model}, ${r.machine.memory_gib} GiB, Linux ${r.machine.kernel}, Node ${r.machine.node}; open-files limit ${fmt(r.machine.open_files_limit)}.`,
    "Both systems in the same invocation, same load generator (`roomcast-loadgen`), same machine. Ratio = roomcast / Socket.IO.", "",
    "| scenario | metric | roomcast | Socket.IO | ratio | goal |", "|---|---|---:|---:|---:|---|",
    ...rows(r).map((c) => `| ${c.join(" | ")} |`), "",
  ];
  for (const [k, v] of Object.entries(r.scenarios))
    for (const [name, res] of Object.entries(v))
      if (res?.error) lines.push(`- ${k} ${name} failed: ${res.error.split("\n")[0]}`);
  lines.push("", "Summary: `" + JSON.stringify({ ...r.summary, roomcast: undefined, socketio: undefined }) + "`", "");
  return lines.join("\n");
}

// CDF points [ms, fraction] of a loadgen histogram's buckets.
function cdf(h) {
  if (!h?.buckets?.length) return [];
  let seen = 0;
  return h.buckets.map(([lo, n]) => { seen += n; return [lo / 1000, seen / h.n]; });
}

function plot(out, name, script, data) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "roomcast-plot-"));
  try {
    const files = {};
    for (const [k, pts] of Object.entries(data)) {
      files[k] = path.join(dir, `${k}.dat`);
      fs.writeFileSync(files[k], pts.length ? pts.map((p) => p.join(" ")).join("\n") + "\n" : "0 0\n");
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
  const latency = (k, title) => plot(out, `${tag}-latency-${k}.png`,
    `set title "${title}"\nset xlabel "produce → receipt (ms, log scale)"\nset ylabel "fraction of deliveries"\n` +
    `set logscale x\nset key top left\nset grid\nset yrange [0:1.02]\n` +
    `plot @rc with steps lw 2 title "roomcast (Kafka${k === "s2" ? " + fanout" : ""})", @io with steps lw 2 title "Socket.IO + Redis adapter"\n`,
    { rc: cdf(s[k]?.roomcast?.latency), io: cdf(s[k]?.socketio?.latency) });
  if (s.s1) {
    latency("s1", `Scenario 1: broadcast latency, ${s.s1.roomcast?.sockets ?? ""} sockets in one room (closed loop)`);
    plot(out, `${tag}-deliveries-s1.png`,
      `set title "Scenario 1: deliveries per second, one room"\nset xlabel "seconds"\nset ylabel "deliveries / s"\n` +
      `set key top right\nset grid\nset yrange [0:*]\nset format y "%.0s%c"\n` +
      `plot @rc with lines lw 2 title "roomcast", @io with lines lw 2 title "Socket.IO + Redis adapter"\n`,
      { rc: s.s1.roomcast?.series ?? [], io: s.s1.socketio?.series ?? [] });
  }
  if (s.s2) latency("s2", `Scenario 2: marketplace latency at ${s.s2.roomcast?.rate ?? ""} events/s`);
}

export function writeReport(r, out, tag) {
  fs.writeFileSync(path.join(out, `${tag}.md`), markdown(r));
  plots(r, out, tag);
}
