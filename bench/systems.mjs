// systems.mjs: the two systems under test, behind one shape so every scenario runs the
// same way against both:
//   start({ fanout })  a fresh server (roomcast: a gateway, plus the fanout when asked;
//                      reference: one socket.io 4.8 process with the Redis adapter)
//   serverPids()       the processes whose CPU and memory count as "the server"
//   busPid()           Kafka's JVM or redis-server (reported, never in the ratios)
//   producer()         the backend writing events (roomcast-kproduce / redis-emitter)
//   discarded()        room events read and dropped for want of a local member
//   stop()
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { Child, freePort, httpText, metric, waitFor } from "./lib.mjs";
import { brokerRequests } from "./broker.mjs";

// Fresh per run: the gateway refuses the sample values the repository published.
export const SECRET = randomBytes(32).toString("hex");
const CLUSTER_SECRET = randomBytes(32).toString("hex");

// The ROOMCAST_* settings of the benchmark's own environment (bench-only ones excluded).
export function passedSettings() {
  return Object.fromEntries(Object.entries(process.env)
    .filter(([k]) => k.startsWith("ROOMCAST_") && !k.startsWith("ROOMCAST_BENCH_") && !k.startsWith("ROOMCAST_KAFKA_JVM") && k !== "ROOMCAST_KAFKA_JMX_PORT"));
}

export class Roomcast {
  constructor(ctx) {
    this.name = "roomcast";
    this.ctx = ctx; // { root, bin, brokers, kafkaPid, tmp }
    this.seq = 0;
  }
  bin(name) { return path.join(this.ctx.bin, name); }
  env(extra = {}) {
    // Other ROOMCAST_* settings pass through from the benchmark's environment, to measure
    // what one costs (ROOMCAST_RECOVERY_WINDOW=0: recovery off, ...); results record them.
    // Every load-generator connection comes from 127.0.0.1: no bound on sessions per address.
    return { PATH: process.env.PATH, HOME: process.env.HOME, ROOMCAST_MAX_SESSIONS_PER_ADDRESS: "0",
      ...passedSettings(),
      ROOMCAST_KAFKA_BROKERS: this.ctx.brokers, ROOMCAST_TOPIC_PREFIX: this.prefix,
      ROOMCAST_JWT_SECRET: SECRET, ROOMCAST_CLUSTER_SECRET: CLUSTER_SECRET, ROOMCAST_LOG_LEVEL: "warn", ...extra };
  }
  async start({ fanout = false, gatewayBin } = {}) {
    // Fresh topics for every scenario: nothing a previous one left behind is read again.
    this.prefix = `b${process.pid}-${++this.seq}.`;
    execFileSync(this.bin("roomcast"), ["topics", "create", "--partitions", "4", "--rooms-partitions", "4"],
      { env: this.env(), stdio: ["ignore", "ignore", "pipe"] });
    this.port = await freePort();
    this.adminPort = await freePort();
    this.gateway = new Child("gateway", gatewayBin || this.bin("roomcast-gateway"), [], {
      env: this.env({ ROOMCAST_LISTEN: `127.0.0.1:${this.port}`, ROOMCAST_ADMIN_LISTEN: `127.0.0.1:${this.adminPort}`,
        ROOMCAST_ROOM_POLICY: "open", ROOMCAST_GATEWAY_ID: `bench-${this.port}` }) });
    await waitFor("gateway ready", async () => (await httpText(`http://127.0.0.1:${this.adminPort}/readyz`)).status === 200);
    if (fanout) {
      this.fanoutAdmin = await freePort();
      this.fanout = new Child("fanout", this.bin("roomcast-fanout"), [], {
        env: this.env({ ROOMCAST_ADMIN_LISTEN: `127.0.0.1:${this.fanoutAdmin}`, ROOMCAST_FANOUT_GROUP: `${this.prefix}fanout` }) });
      await waitFor("fanout ready", async () => (await httpText(`http://127.0.0.1:${this.fanoutAdmin}/readyz`)).status === 200, 60000);
    }
  }
  serverPids() { return { gateway: this.gateway.pid, ...(this.fanout ? { fanout: this.fanout.pid } : {}) }; }
  busPid() { return this.ctx.kafkaPid; }
  // Requests the broker has served so far, by type (JMX; null without it).
  busRequests() { return brokerRequests(this.ctx.root, this.ctx.jmxPort); }
  producer() {
    return new Child("kproduce", this.bin("roomcast-kproduce"), ["--brokers", this.ctx.brokers, "--prefix", this.prefix], { env: this.env() });
  }
  async discarded() {
    return metric(this.adminPort, "roomcast_gateway_room_events_total", 'result="no_local_member"');
  }
  async stop() {
    if (this.fanout) await this.fanout.stop("SIGINT");
    if (this.gateway) await this.gateway.stop("SIGINT");
    this.fanout = this.gateway = null;
  }
}

export class SocketIO {
  constructor(ctx) {
    this.name = "socketio";
    this.ctx = ctx; // { root, redisUrl, redisPid }
  }
  async start() {
    this.port = await freePort();
    this.server = new Child("socket.io", process.execPath,
      ["--expose-gc", path.join(this.ctx.root, "bench/reference/server.mjs"), String(this.port), this.ctx.redisUrl, SECRET],
      { ipc: true, cwd: this.ctx.root, env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: "production" } });
    await this.server.nextType("listening", 30000);
  }
  serverPids() { return { server: this.server.pid }; }
  busPid() { return this.ctx.redisPid; }
  // Commands redis-server has served so far, by command (INFO commandstats).
  busRequests() { return redisCommands(this.ctx.redisUrl); }
  producer() {
    return new Child("emitter", process.execPath, [path.join(this.ctx.root, "bench/reference/emitter.mjs"), this.ctx.redisUrl],
      { cwd: this.ctx.root });
  }
  // The server's counters and memory; with gc, after a full garbage collection.
  stats({ gc = false } = {}) {
    return new Promise((resolve) => {
      this.server.child.once("message", resolve);
      this.server.child.send(gc ? "gc-stats" : "stats");
    });
  }
  async discarded() { return (await this.stats()).fromRedis; }
  async stop() {
    if (this.server) await this.server.stop("SIGKILL");
    this.server = null;
  }
}

// Starts the shared buses once per run: a real Kafka node and a redis-server.
// The broker runs with the JVM settings of Kafka's own start script (full JIT, a fixed
// 1 GiB heap, G1 with Kafka's pause target) rather than the tests' quick-start ones, and
// with JMX on loopback so each scenario can count the requests it cost.
export const KAFKA_JVM_OPTS = "-Xms1g -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 " +
  "-XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15";
export async function startKafka(root, dir) {
  const jmxPort = await freePort();
  const out = execFileSync(path.join(root, "tests/kafka/kafka"), ["start", dir], { encoding: "utf8",
    env: { ...process.env, ROOMCAST_KAFKA_JVM_OPTS: KAFKA_JVM_OPTS, ROOMCAST_KAFKA_JMX_PORT: String(jmxPort) } }).trim();
  return { brokers: out.split("\n").pop(), pid: Number(fs.readFileSync(path.join(dir, "pid"), "utf8")), jmxPort };
}

export function stopKafka(root, dir) {
  try { execFileSync(path.join(root, "tests/kafka/kafka"), ["stop", dir], { stdio: "ignore" }); } catch { /* gone */ }
}

export async function startRedis(dir) {
  const port = await freePort();
  const child = new Child("redis", "redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "",
    "--appendonly", "no", "--dir", dir, "--maxclients", "10000"], {});
  await waitFor("redis", () => child.log.join("").includes("Ready to accept connections"), 20000);
  return { url: `redis://127.0.0.1:${port}`, pid: child.pid, child };
}

export function redisCommands(url) {
  const port = new URL(url).port;
  return new Promise((resolve) => {
    execFile("redis-cli", ["-p", port, "info", "commandstats"], { timeout: 10000 }, (err, stdout) => {
      if (err) return resolve(null);
      const out = {};
      for (const m of stdout.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) out[m[1]] = Number(m[2]);
      resolve(out);
    });
  });
}
