// The integration tests' harness: runs roomcast's real binaries against the real Kafka
// broker that scripts/test started (ROOMCAST_TEST_BROKERS), each test file with its own
// topic prefix so files never see each other's events.
import { spawn, execFile } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createHmac, randomBytes } from "node:crypto";
import WebSocket from "ws";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const bin = (name) => path.join(root, process.env.ROOMCAST_BIN_DIR || "build-asan/bin", name);
export const brokers = process.env.ROOMCAST_TEST_BROKERS;
if (!brokers) throw new Error("ROOMCAST_TEST_BROKERS is not set: run the tests with scripts/test");

// Fresh secrets for each test process: the gateway refuses every sample value the
// repository ever published (common/secret.c), this file's old constant among them.
export const JWT_SECRET = randomBytes(32).toString("base64url");
export const CLUSTER_SECRET = randomBytes(32).toString("base64url");

// Each call gives a new prefix: topics of one test never reach another.
export function newPrefix(name) {
  return `t-${name}-${randomBytes(3).toString("hex")}.`;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

export function baseEnv(prefix, extra = {}) {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ASAN_OPTIONS: "detect_leaks=1:abort_on_error=0",
    UBSAN_OPTIONS: "print_stacktrace=1:halt_on_error=1",
    ROOMCAST_KAFKA_BROKERS: brokers,
    ROOMCAST_TOPIC_PREFIX: prefix,
    ROOMCAST_JWT_SECRET: JWT_SECRET,
    ROOMCAST_CLUSTER_SECRET: CLUSTER_SECRET,
    // fits this machine's open-file limit (20 000): past it the gateway warns at start
    ROOMCAST_MAX_CONNECTIONS: "10000",
    ...extra,
  };
}

// Runs the CLI to completion. Resolves {code, stdout, stderr}; never rejects on status.
export function cli(args, env, { timeout = 30000, input } = {}) {
  return new Promise((resolve) => {
    const child = execFile(bin("roomcast"), args, { env, timeout, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }));
    if (input !== undefined) child.stdin.end(input);
  });
}

export async function createTopics(env, roomsPartitions = 4) {
  const r = await cli(["topics", "create", "--partitions", "2", "--rooms-partitions", String(roomsPartitions)], env);
  if (r.code !== 0) throw new Error(`topics create failed: ${r.stderr}`);
}

export async function token(env, sub, role, extra = []) {
  const args = ["token", "--sub", sub, ...extra];
  if (role) args.push("--role", role);
  const r = await cli(args, env);
  if (r.code !== 0) throw new Error(`token failed: ${r.stderr}`);
  return r.stdout.trim();
}

// What `roomcast token --sub SUB [--role ROLE] [--room ROOM]` prints with env's HS256
// key (a login token, or a room grant with a room; an hour), made here without a
// process: for tests that connect hundreds of clients. `token` stays the CLI's.
export function signToken(env, sub, role, { room, ttl = 3600 } = {}) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const iat = Math.floor(Date.now() / 1000);
  const head = b64({ alg: "HS256", typ: room ? "roomcast-grant+jwt" : "JWT" });
  const claims = room ? { sub, room, iat, exp: iat + ttl } : { sub, ...(role ? { role } : {}), iat, exp: iat + ttl };
  const body = `${head}.${b64(claims)}`;
  return `${body}.${createHmac("sha256", env.ROOMCAST_JWT_SECRET).update(body).digest("base64url")}`;
}

// A long-running roomcast process whose JSON log lines are kept for assertions. wrap is a
// command that execs the binary (e.g. ["prlimit", "--nofile=80:80", "--"]), so the pid stays.
export class Proc {
  constructor(name, args, env, wrap = []) {
    this.name = name;
    this.lines = [];
    const argv = [...wrap.slice(1), bin(name), ...args];
    this.child = wrap.length ? spawn(wrap[0], argv, { env, stdio: ["ignore", "pipe", "pipe"] })
      : spawn(bin(name), args, { env, stdio: ["ignore", "pipe", "pipe"] });
    this.exited = once(this.child, "exit");
    let buf = "";
    const onData = (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        this.lines.push(line);
        if (process.env.ROOMCAST_TEST_VERBOSE) process.stderr.write(`[${name}] ${line}\n`);
      }
    };
    this.child.stdout.setEncoding("utf8").on("data", onData);
    this.child.stderr.setEncoding("utf8").on("data", onData);
  }
  logs() { return this.lines.join("\n"); }
  async stop(signal = "SIGTERM", timeoutMs = 15000) {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exitStatus();
    this.child.kill(signal);
    const t = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    await this.exited;
    clearTimeout(t);
    return this.exitStatus();
  }
  exitStatus() { return { code: this.child.exitCode, signal: this.child.signalCode }; }
  // Sanitizer reports mean a memory bug or leak: a test that stops a process checks this.
  sanitizerReport() {
    const l = this.logs();
    const i = l.search(/ERROR: (Address|Leak)Sanitizer|runtime error:/);
    return i < 0 ? null : l.slice(i, i + 4000);
  }
}

export async function httpGet(url, timeoutMs = 2000) {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), timeoutMs);
  try {
    const r = await fetch(url, { signal: ac.signal });
    return { status: r.status, body: await r.text(), headers: r.headers };
  } finally {
    clearTimeout(t);
  }
}

export async function waitFor(what, fn, timeoutMs = 20000, everyMs = 100) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
}

export async function waitReady(adminPort, timeoutMs = 30000) {
  return waitFor(`readyz on ${adminPort}`, async () =>
    (await httpGet(`http://127.0.0.1:${adminPort}/readyz`)).status === 200, timeoutMs);
}

// Reads `roomcast tail` output: starts tailing and resolves once it is positioned.
export async function startTail(env, args) {
  const child = spawn(bin("roomcast"), ["tail", ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  const events = [];
  let out = "", err = "";
  child.stdout.setEncoding("utf8").on("data", (d) => {
    out += d;
    let i;
    while ((i = out.indexOf("\n")) >= 0) {
      events.push(JSON.parse(out.slice(0, i)));
      out = out.slice(i + 1);
    }
  });
  child.stderr.setEncoding("utf8").on("data", (d) => { err += d; });
  await waitFor("tail to start", () => err.includes('"tailing"'), 20000, 50).catch((e) => {
    child.kill();
    throw new Error(`${e.message}; stderr: ${err}`);
  });
  const exited = once(child, "exit");
  return { child, events, stop: () => { child.kill(); return exited; } };
}

// Starts a gateway on free ports; resolves once /readyz says ready.
export async function startGateway(env, extra = {}, { wrap } = {}) {
  const [port, adminPort] = [await freePort(), await freePort()];
  const p = new Proc("roomcast-gateway", [], {
    ...env, ROOMCAST_LISTEN: `127.0.0.1:${port}`, ROOMCAST_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
    ROOMCAST_GATEWAY_ID: `gw-${port}`, ...extra }, wrap);
  p.port = port;
  p.adminPort = adminPort;
  p.url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(adminPort);
  } catch (e) {
    await p.stop("SIGKILL");
    throw new Error(`${e.message}\n${p.logs().slice(-3000)}`);
  }
  return p;
}

export async function startFanout(env, extra = {}) {
  const adminPort = await freePort();
  const p = new Proc("roomcast-fanout", [], {
    ...env, ROOMCAST_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
    ROOMCAST_FANOUT_GROUP: `${env.ROOMCAST_TOPIC_PREFIX}fanout`, ...extra });
  p.adminPort = adminPort;
  await waitReady(adminPort);
  return p;
}

// The value of one sample in a /metrics page, 0 when absent.
export async function metric(adminPort, name, labels = "") {
  const r = await httpGet(`http://127.0.0.1:${adminPort}/metrics`);
  const want = labels ? `${name}{${labels}} ` : `${name} `;
  const line = r.body.split("\n").find((l) => l.startsWith(want));
  return line ? Number(line.slice(want.length)) : 0;
}

// Stops every process and fails on any sanitizer report.
export async function stopAll(procs, signal = "SIGINT") {
  const reports = [];
  for (const p of procs) {
    if (!p) continue;
    await p.stop(signal);
    const r = p.sanitizerReport();
    if (r) reports.push(`${p.name}: ${r}`);
  }
  if (reports.length) throw new Error(reports.join("\n"));
}

// ---- protobuf by hand: the few proto3 fields tests write (proto/roomcast/v1/events.proto)
function varint(n) {
  let v = BigInt(n);
  const out = [];
  while (v >= 0x80n) { out.push(Number(v & 0x7fn) | 0x80); v >>= 7n; }
  out.push(Number(v));
  return Buffer.from(out);
}
function bytesField(no, b) {
  return Buffer.concat([varint((no << 3) | 2), varint(b.length), b]);
}
function strField(no, s) {
  return s ? bytesField(no, Buffer.from(s, "utf8")) : Buffer.alloc(0);
}
function intField(no, n) {
  return n ? Buffer.concat([varint(no << 3), varint(n)]) : Buffer.alloc(0);
}

// A RoomEvent: one copy, for `room`, of an event aimed at `rooms`.
export function encodeRoomEvent({ id, room, rooms = [room], event, args, producedAtUs = Date.now() * 1000, exceptSid = "" }) {
  return Buffer.concat([
    strField(1, id), strField(2, room), ...rooms.map((r) => strField(3, r)), strField(4, event),
    strField(5, JSON.stringify(args)), intField(6, producedAtUs), strField(8, exceptSid),
  ]);
}

// A DomainEvent, default values left out as proto3 does.
export function encodeDomainEvent({ id, type, aggregateId = "", occurredAtMs = Date.now(), payload, producer = "test" }) {
  const text = typeof payload === "string" ? payload : JSON.stringify(payload);
  return Buffer.concat([
    strField(1, id), strField(2, type), strField(3, aggregateId), intField(4, occurredAtMs),
    strField(5, text), strField(6, producer),
  ]);
}

// Produces many messages in one `roomcast produce TOPIC --lines` run: [{key, value}];
// fails unless every one was acknowledged.
export async function produceLines(env, topic, lines) {
  const input = lines.map((l) => `${l.key}\t${l.value.toString("hex")}\n`).join("");
  const r = await cli(["produce", topic, "--lines"], env, { input, timeout: 120000 });
  if (r.code !== 0) throw new Error(`roomcast produce ${topic}: ${r.stderr}`);
  const out = JSON.parse(r.stdout);
  if (out.produced !== lines.length)
    throw new Error(`roomcast produce ${topic}: ${out.produced} of ${lines.length} produced`);
  return out;
}

// Runs Debian's HAProxy with cfg and env until stop(); resolves once it listens on port.
async function runHaproxy(cfg, port, env, cleanup = () => {}) {
  const child = spawn("haproxy", ["-db", "-f", cfg], {
    env: { PATH: process.env.PATH, LISTEN: `127.0.0.1:${port}`, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const exited = once(child, "exit");
  await waitFor("haproxy to listen", () => new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1", () => { s.destroy(); resolve(true); });
    s.on("error", () => resolve(false));
  }), 10000).catch((e) => { child.kill(); cleanup(); throw new Error(`${e.message}: ${log}`); });
  return {
    port, url: `http://127.0.0.1:${port}`, log: () => log,
    stop: async () => { child.kill(); await exited; cleanup(); },
  };
}

// HAProxy in front of two gateways, with the project's config file as it ships.
export async function startHaproxy(gateways) {
  return runHaproxy(path.join(root, "deploy/haproxy/haproxy.cfg"), await freePort(), {
    GATEWAY1: `127.0.0.1:${gateways[0].port}`, GATEWAY1_ADMIN_PORT: String(gateways[0].adminPort),
    GATEWAY2: `127.0.0.1:${gateways[1].port}`, GATEWAY2_ADMIN_PORT: String(gateways[1].adminPort),
  });
}

// Room events carry Socket.IO's recovery offset as their last argument (the client keeps
// it for a reconnect). Returns the arguments without it, and fails if it is missing.
export function withoutOffset(args) {
  const last = args[args.length - 1];
  if (typeof last !== "string" || !/^[A-Za-z0-9_-]{8,}(\.[A-Za-z0-9_-]+)?$/.test(last))
    throw new Error(`no recovery offset at the end of ${JSON.stringify(args)}`);
  return args.slice(0, -1);
}

// A TCP proxy whose target can be switched and whose connections can be cut: a client
// "moves" to another gateway the way it would behind a balancer after its gateway died.
export async function startSwitchProxy(targetPort) {
  let target = targetPort;
  const conns = new Set();
  const server = net.createServer((c) => {
    const up = net.connect(target, "127.0.0.1");
    conns.add(c); conns.add(up);
    c.pipe(up); up.pipe(c);
    const end = () => { c.destroy(); up.destroy(); conns.delete(c); conns.delete(up); };
    c.on("error", end); up.on("error", end); c.on("close", end); up.on("close", end);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    port, url: `http://127.0.0.1:${port}`,
    switchTo(p) { target = p; },
    cut() { for (const c of conns) c.destroy(); conns.clear(); },
    close() { for (const c of conns) c.destroy(); return new Promise((r) => server.close(r)); },
  };
}

// HAProxy over any number of gateways: the project's config with one server line each.
export async function startHaproxyN(gateways) {
  const base = fs.readFileSync(path.join(root, "deploy/haproxy/haproxy.cfg"), "utf8")
    .split("\n").filter((l) => !/^\s*server gw/.test(l)).join("\n");
  const servers = gateways.map((g, i) =>
    `    server gw${i + 1} 127.0.0.1:${g.port} check port ${g.adminPort} inter 1s fall 2 rise 1`).join("\n");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "roomcast-haproxy-"));
  const cfg = path.join(dir, "haproxy.cfg");
  fs.writeFileSync(cfg, `${base.trimEnd()}\n${servers}\n`);
  return runHaproxy(cfg, await freePort(), {}, () => fs.rmSync(dir, { recursive: true, force: true }));
}

// A ROOMCAST_AUTHZ_URL on a free port: decide(q) -> {status, afterMs} (afterMs Infinity:
// held until releaseAll(status), if ever); `asked` lists the rooms asked about, in order;
// held() counts the requests held now.
export async function authzServer(decide) {
  const asked = [];
  const hanging = new Set();
  const { createServer } = await import("node:http");
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const q = JSON.parse(body);
      asked.push(q.room);
      const { status, afterMs = 0 } = decide(q);
      if (afterMs === Infinity) return hanging.add(res);
      setTimeout(() => { res.writeHead(status); res.end(); }, afterMs);
    });
  });
  server.keepAliveTimeout = 60000;
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${server.address().port}/authorize`, asked,
    held: () => hanging.size,
    releaseAll: (status) => { hanging.forEach((r) => { r.writeHead(status); r.end(); }); hanging.clear(); },
    close: () => { hanging.forEach((r) => r.destroy()); server.closeAllConnections(); server.close(); },
  };
}

// Deletes every record of topic's partitions below their end, as retention does to old
// events (Kafka's DeleteRecords, as kafka-delete-records.sh runs it: DeleteRecordsCommand
// is in kafka-tools, which tests/kafka/pom.xml fetches beside the broker).
export async function deleteRecords(env, topic, partitions) {
  const version = fs.readFileSync(path.join(root, "tests/kafka/pom.xml"), "utf8")
    .match(/<kafka\.version>(.*)<\/kafka\.version>/)[1];
  const libs = path.join(process.env.ROOMCAST_CACHE || path.join(os.homedir(), ".cache/roomcast"),
    `kafka-${version}`, "libs");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "roomcast-delete-"));
  const file = path.join(dir, "offsets.json");
  fs.writeFileSync(file, JSON.stringify({ version: 1,
    partitions: partitions.map((partition) => ({ topic: `${env.ROOMCAST_TOPIC_PREFIX}${topic}`, partition, offset: -1 })) }));
  try {
    return await new Promise((resolve, reject) => execFile("java",
      ["-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp", `${libs}/*`, "org.apache.kafka.tools.DeleteRecordsCommand",
        "--bootstrap-server", env.ROOMCAST_KAFKA_BROKERS, "--offset-json-file", file],
      { timeout: 120000 }, (err, stdout, stderr) => (err ? reject(new Error(`DeleteRecordsCommand: ${stderr || err.message}`)) : resolve(stdout))));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// A bare Engine.IO v4 session over "websocket" or "polling", below the stock client: it
// answers pings and stays open whatever Socket.IO says (a refused CONNECT, a DISCONNECT),
// so a test sees what the gateway still sends such a session. packets: every packet
// received but pings; closed: true once the gateway ended the session.
export async function engineSession(port, transport) {
  const base = `127.0.0.1:${port}/socket.io/?EIO=4&transport=${transport}`;
  const s = { packets: [], closed: false };
  const onPacket = (p) => {
    if (p === "2") return s.send("3");
    s.packets.push(p);
    if (p === "1") s.closed = true;
  };
  if (transport === "websocket") {
    const ws = new WebSocket(`ws://${base}`);
    ws.on("message", (d) => onPacket(d.toString()));
    ws.on("close", () => { s.closed = true; });
    ws.on("error", () => {});
    await once(ws, "open");
    s.send = (p) => { if (ws.readyState === WebSocket.OPEN) ws.send(p); };
    s.close = () => ws.terminate();
    await waitFor("the open packet", () => s.packets.length > 0, 20000, 10);
  } else {
    const open = await (await fetch(`http://${base}`)).text();
    s.packets.push(open);
    const url = `http://${base}&sid=${JSON.parse(open.slice(1)).sid}`;
    const ac = new AbortController();
    let posting = Promise.resolve(); // one POST at a time, as the protocol wants
    s.send = (p) => { posting = posting.then(() => fetch(url, { method: "POST", body: p, signal: ac.signal })
      .then((r) => r.text(), () => {})); };
    s.close = () => ac.abort();
    (async () => {
      while (!s.closed && !ac.signal.aborted) {
        try {
          const r = await fetch(url, { signal: ac.signal });
          const body = await r.text();
          if (r.status !== 200) { s.closed = true; break; }
          body.split("\x1e").forEach(onPacket);
        } catch { s.closed = true; }
      }
    })();
  }
  // Socket.IO on namespace "/": resolves the answer, "40{...}" (connected) or "44{...}"
  s.connect = async (auth) => {
    const from = s.packets.length;
    s.send(`40${JSON.stringify(auth)}`);
    return waitFor("the CONNECT answer", () => s.packets.slice(from).find((p) => /^4[04]/.test(p)), 20000, 10);
  };
  // the events received, as [name, ...args] (a recovery offset included)
  s.events = () => s.packets.filter((p) => p.startsWith("42")).map((p) => JSON.parse(p.slice(2)));
  return s;
}

// A benchmark tool (roomcast-loadgen, roomcast-kproduce) driven by commands on stdin and
// answering with JSON lines: send(cmd), take(type) the next line of that type, ask(cmd, type).
export function benchTool(name, args, env = {}) {
  const child = spawn(bin(name), args, { stdio: ["pipe", "pipe", "pipe"],
    env: { PATH: process.env.PATH, ASAN_OPTIONS: "detect_leaks=1", ...env } });
  const lines = [];
  let buf = "", err = "";
  child.stdout.setEncoding("utf8").on("data", (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) { lines.push(JSON.parse(buf.slice(0, i))); buf = buf.slice(i + 1); }
  });
  child.stderr.setEncoding("utf8").on("data", (d) => { err += d; });
  const send = (cmd) => child.stdin.write(`${cmd}\n`);
  const take = (type, ms = 20000) => waitFor(`${name} ${type}`, () => {
    const i = lines.findIndex((l) => l.type === type);
    return i >= 0 ? lines.splice(i, 1)[0] : null;
  }, ms, 20).catch((e) => { throw new Error(`${e.message}; stderr: ${err}`); });
  const ask = async (cmd, type) => { send(cmd); return take(type); };
  return { child, send, take, ask, stderr: () => err };
}
