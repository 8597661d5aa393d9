// bench.mjs: roomcast against Socket.IO 4.8 + Redis adapter, same machine, same load, one
// invocation (issue 5). bench/run sets the limits, installs and builds, then runs this.
//
//   node bench/bench.mjs [--quick] [--only s1,s2,...] [--systems roomcast,socketio]
//                        [--bin DIR] [--out DIR] [--tag NAME] [--perf DIR] [--set s2.rate=N]
// --perf DIR records perf profiles of the servers during scenarios 1, 2 and 5 (bench/profile).
// Writes OUT/results[-quick].json and OUT/results[-quick].md and the PNG plots, and prints
// one JSON line last: throughput_ratio, memory_ratio, p99_ms, connects_per_s and the rest.
// Scenario 6 (the cluster, roomcast only, bench/cluster.mjs) runs only when named
// (--only s6) and has its own files: OUT/cluster[-quick].{json,md} and its plots.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { openFilesLimit } from "./lib.mjs";
import { KAFKA_JVM_OPTS, Roomcast, SocketIO, passedSettings, startKafka, stopKafka, startRedis } from "./systems.mjs";
import * as S from "./scenarios.mjs";
import { writeReport } from "./report.mjs";
import { cluster, clusterPlan } from "./cluster.mjs";
import { clusterSummary } from "./cluster-report.mjs";
import { summarize } from "./summary.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const opt = (name, dflt) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : dflt; };
const quick = argv.includes("--quick");
const only = opt("--only", "s1,s2,s2d,s3,s4,s5").split(",");
const systems = opt("--systems", only.every((k) => k === "s6") ? "roomcast" : "roomcast,socketio").split(",");
const out = path.resolve(opt("--out", path.join(root, "docs/benchmarks")));
const tag = opt("--tag", quick ? "results-quick" : "results");
const bin = path.resolve(opt("--bin", path.join(root, "build/bin")));

// Every server and the load generator hold one descriptor per client: the open-files
// limit caps a single process's connections. Past it, sizes shrink and the results say so.
const nofile = openFilesLimit();
const fit = (n) => Math.min(n, nofile - 600);
const rates = [1000, 2000, 5000, 10000, 20000];
const plan = quick ? {
  s1: { sockets: fit(5000), seconds: 4, windows: [8, 32] },
  s2: { sockets: fit(10000), rates: [2000, 5000, 20000], seconds: 4 },
  s2d: { sockets: fit(10000), rates: [2000, 5000, 20000], seconds: 4, direct: true },
  s3: { steps: [fit(10000)] },
  s4: { target: fit(10000), concurrency: 256 },
  s5: { roomcast: 400000, socketio: 100000 },
} : {
  s1: { sockets: fit(10000), seconds: 10, windows: [8, 32] },
  s2: { sockets: fit(10000), rates, seconds: 8 },
  s2d: { sockets: fit(10000), rates, seconds: 8, direct: true },
  s3: { steps: [10000, 20000, 50000].map(fit).filter((n, i, a) => a.indexOf(n) === i) },
  s4: { target: fit(30000), concurrency: 256 },
  s5: { roomcast: 2000000, socketio: 300000 },
};
plan.s6 = clusterPlan(quick, nofile);

// --set s2.seconds=5 (repeatable) overrides one number of the plan; a list takes "+":
// --set s2.rates=2000+5000
for (let i = 0; i < argv.length; i++)
  if (argv[i] === "--set") {
    const [k, v] = argv[i + 1].split("=");
    const [sc, field] = k.split(".");
    plan[sc][field] = v.includes("+") || Array.isArray(plan[sc][field]) ? v.split("+").map(Number) : Number(v);
  }

const log = (...a) => process.stderr.write(`bench: ${a.join(" ")}\n`);

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "roomcast-bench-"));
  const results = {
    tag, quick, started: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model, memory_gib: Math.round(os.totalmem() / 2 ** 30),
      kernel: os.release(), node: process.version, open_files_limit: nofile },
    versions: versions(), plan, scenarios: {},
  };
  let kafka, redis;
  const sys = {};
  // A run cut short must not leave a broker behind: stop the buses on any signal.
  const cleanup = () => {
    if (kafka && !kafka.reused) stopKafka(root, path.join(tmp, "kafka"));
    if (redis) redis.child.child.kill("SIGKILL");
    for (const x of Object.values(sys)) for (const c of [x.gateway, x.fanout, x.server]) c?.child.kill("SIGKILL");
  };
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => { cleanup(); process.exit(130); });
  try {
    if (systems.includes("roomcast")) {
      // ROOMCAST_BENCH_KAFKA_DIR reuses a node started by tests/kafka/kafka (development)
      const reuse = process.env.ROOMCAST_BENCH_KAFKA_DIR;
      if (reuse) {
        const jmx = path.join(reuse, "jmx-port");
        kafka = { brokers: fs.readFileSync(path.join(reuse, "bootstrap"), "utf8").trim(),
          pid: Number(fs.readFileSync(path.join(reuse, "pid"), "utf8")), reused: true,
          jmxPort: fs.existsSync(jmx) ? Number(fs.readFileSync(jmx, "utf8")) : null };
      } else {
        log("starting Kafka");
        kafka = await startKafka(root, path.join(tmp, "kafka"));
      }
      sys.roomcast = new Roomcast({ root, bin, brokers: kafka.brokers, kafkaPid: kafka.pid, jmxPort: kafka.jmxPort });
    }
    if (systems.includes("socketio")) {
      redis = await startRedis(tmp);
      sys.socketio = new SocketIO({ root, redisUrl: redis.url, redisPid: redis.pid });
    }
    const perfDir = opt("--perf", null);
    if (perfDir) fs.mkdirSync(perfDir, { recursive: true });
    const ctx = { bin, sources: 16, perf: perfDir && path.resolve(perfDir) };
    const run = async (key, fn, sizeFor, onlySystems = systems) => {
      if (!only.includes(key)) return;
      results.scenarios[key] = {};
      for (const name of systems.filter((x) => onlySystems.includes(x))) {
        log(`${key} ${name} ${JSON.stringify(sizeFor(name))}`);
        const t = Date.now();
        try {
          results.scenarios[key][name] = await fn(ctx, sys[name], sizeFor(name));
        } catch (e) {
          log(`${key} ${name} failed: ${e.stack}`);
          results.scenarios[key][name] = { error: String(e.message).slice(0, 2000) };
          await sys[name].stop().catch(() => {});
        }
        log(`${key} ${name} done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
      }
    };
    await run("s1", S.broadcast, () => plan.s1);
    await run("s2", S.marketplace, () => plan.s2);
    await run("s2d", S.marketplace, () => plan.s2d, ["roomcast"]);
    await run("s3", S.idleMemory, () => plan.s3);
    await run("s4", S.storm, () => plan.s4);
    await run("s5", S.noMember, (name) => ({ events: plan.s5[name] }));
    await run("s6", cluster, () => plan.s6, ["roomcast"]);
  } finally {
    if (redis) await redis.child.stop("SIGTERM");
    if (kafka && !kafka.reused) stopKafka(root, path.join(tmp, "kafka"));
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  results.finished = new Date().toISOString();
  fs.mkdirSync(out, { recursive: true });
  const s6 = results.scenarios.s6;
  if (s6) {
    delete results.scenarios.s6;
    const ctag = only.length === 1 && argv.includes("--tag") ? tag : quick ? "cluster-quick" : "cluster";
    const c = { ...results, tag: ctag, kind: "cluster", plan: { s6: plan.s6 }, scenarios: { s6 } };
    fs.writeFileSync(path.join(out, `${ctag}.json`), JSON.stringify(c, null, 1) + "\n");
    writeReport(c, out, ctag, root);
    if (!Object.keys(results.scenarios).length) return process.stdout.write(JSON.stringify(clusterSummary(c)) + "\n");
  }
  results.summary = summarize(results);
  fs.writeFileSync(path.join(out, `${tag}.json`), JSON.stringify(results, null, 1) + "\n");
  writeReport(results, out, tag, root);
  process.stdout.write(JSON.stringify(results.summary) + "\n");
}

function versions() {
  const pkg = (p) => { try { return JSON.parse(fs.readFileSync(path.join(root, "node_modules", p, "package.json"))).version; } catch { return null; } };
  return { "socket.io": pkg("socket.io"), "@socket.io/redis-adapter": pkg("@socket.io/redis-adapter"),
    "@socket.io/redis-emitter": pkg("@socket.io/redis-emitter"), redis: pkg("redis"), ws: pkg("ws"),
    bufferutil: pkg("bufferutil"), "utf-8-validate": pkg("utf-8-validate"), kafka_jvm_opts: KAFKA_JVM_OPTS,
    settings: passedSettings() };
}

main().catch((e) => { log(e.stack); process.exit(1); });
