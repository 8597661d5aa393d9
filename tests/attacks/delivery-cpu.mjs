// The gateway's CPU per million deliveries with connection state recovery on (every room
// event carries each socket's own stamp): N loadgen buyers, E events of ~250 bytes to
// "buyers". A by-hand measurement to compare two builds, not the benchmark (bench/run):
//   ROOMCAST_TEST_BROKERS=... ROOMCAST_BIN_DIR=build/bin node tests/attacks/delivery-cpu.mjs 4000 300
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { JWT_SECRET, baseEnv, bin, createTopics, encodeRoomEvent, newPrefix, produceLines, startGateway, stopAll, waitFor } from "../integration/lib/harness.mjs";
const [N, E] = [Number(process.argv[2] || 5000), Number(process.argv[3] || 400)];
const cpu = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" "); return (Number(f[11]) + Number(f[12])) / 100; };
const env = baseEnv(newPrefix("perf"));
await createTopics(env);
const gw = await startGateway(env, { ROOMCAST_ROOM_POLICY: "open", ROOMCAST_LOG_LEVEL: "warn" });
const lg = spawn(bin("roomcast-loadgen"), ["--port", String(gw.port), "--secret", JWT_SECRET, "--role", "buyer", "--sources", "8", "--concurrency", "256"], { stdio: ["pipe", "pipe", "inherit"] });
const lines = []; let buf = "";
lg.stdout.setEncoding("utf8").on("data", (d) => { buf += d; let i; while ((i = buf.indexOf("\n")) >= 0) { lines.push(JSON.parse(buf.slice(0, i))); buf = buf.slice(i + 1); } });
const take = (t) => waitFor(t, () => { const i = lines.findIndex((l) => l.type === t); return i >= 0 ? lines.splice(i, 1)[0] : null; }, 120000, 20);
lg.stdin.write(`connect ${N}\n`); const c = await take("connected");
lg.stdin.write("reset\n"); await take("reset");
const big = "x".repeat(200);
const events = Array.from({ length: E }, (_, i) => ({ key: "buyers", value: encodeRoomEvent({ id: `p${i}`, room: "buyers", event: "chat:new-message", args: [{ i, big }] }) }));
const c0 = cpu(gw.child.pid);
await produceLines(env, "roomcast.rooms", events);
let r;
await waitFor("all", async () => { lg.stdin.write("report\n"); r = await take("report"); return r.deliveries >= N * E; }, 300000, 200);
const c1 = cpu(gw.child.pid);
console.log(JSON.stringify({ bin: process.env.ROOMCAST_BIN_DIR, connected: c.ok, deliveries: r.deliveries, gatewayCpuS: +(c1 - c0).toFixed(2), perMillionDeliveriesCpuS: +((c1 - c0) / (r.deliveries / 1e6)).toFixed(2), p50: r.latency.p50_ms }));
lg.stdin.write("quit\n");
await stopAll([gw]);
