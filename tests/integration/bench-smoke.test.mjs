// The benchmark's load generator (bench/loadgen.c) against a real gateway, small: 200
// authenticated clients join one chat room, a few room events go through Kafka, and the
// tool must count exactly one delivery per client per event, each with a latency. Keeps
// the benchmark tool from rotting silently; the benchmark itself is bench/run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import {
  JWT_SECRET, baseEnv, bin, createTopics, encodeRoomEvent, newPrefix, produceLines, startGateway,
  stopAll, waitFor,
} from "./lib/harness.mjs";

function loadgen(port) {
  const child = spawn(bin("roomcast-loadgen"),
    ["--port", String(port), "--secret", JWT_SECRET, "--join", "smoke", "--sources", "4", "--concurrency", "64"],
    { stdio: ["pipe", "pipe", "pipe"], env: { PATH: process.env.PATH, ASAN_OPTIONS: "detect_leaks=1" } });
  const lines = [];
  let buf = "", err = "";
  child.stdout.setEncoding("utf8").on("data", (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) { lines.push(JSON.parse(buf.slice(0, i))); buf = buf.slice(i + 1); }
  });
  child.stderr.setEncoding("utf8").on("data", (d) => { err += d; });
  const send = (cmd) => child.stdin.write(`${cmd}\n`);
  const take = (type) => waitFor(`loadgen ${type}`, () => {
    const i = lines.findIndex((l) => l.type === type);
    return i >= 0 ? lines.splice(i, 1)[0] : null;
  }, 10000, 20).catch((e) => { throw new Error(`${e.message}; stderr: ${err}`); });
  return { child, send, take, stderr: () => err };
}

test("the load generator counts one delivery per client per event", { timeout: 15000 }, async () => {
  const prefix = newPrefix("bench");
  const env = baseEnv(prefix);
  await createTopics(env);
  const gw = await startGateway(env, { ROOMCAST_ROOM_POLICY: "open" });
  const lg = loadgen(gw.port);
  try {
    lg.send("connect 200");
    const c = await lg.take("connected");
    assert.equal(c.ok, 200, JSON.stringify(c));
    assert.equal(c.failed, 0);
    lg.send("reset");
    await lg.take("reset");
    const now = Date.now() * 1000;
    const events = [0, 1, 2, 3, 4].map((i) => ({
      key: "chat-smoke",
      value: encodeRoomEvent({ id: `e${i}`, room: "chat-smoke", event: "chat:new-message",
        args: [{ chatId: "smoke", text: `m${i}`, t: now }], producedAtUs: now }),
    }));
    // and one event for a room no client joined: it must not be counted
    events.push({ key: "chat-other", value: encodeRoomEvent({ id: "x", room: "chat-other", event: "chat:new-message", args: [{}] }) });
    await produceLines(env, "roomcast.rooms", events);
    let r;
    await waitFor("1000 deliveries", async () => {
      lg.send("report");
      r = await lg.take("report");
      return r.deliveries >= 1000;
    }, 10000, 100);
    await new Promise((res) => setTimeout(res, 300)); // nothing more may arrive
    lg.send("report");
    r = await lg.take("report");
    assert.equal(r.deliveries, 1000, JSON.stringify({ ...r, latency: undefined }));
    assert.equal(r.stamped, 1000);
    assert.equal(r.latency.n, 1000);
    assert.ok(r.latency.p50_ms > 0 && r.latency.p50_ms < 10000, `p50 ${r.latency.p50_ms}`);
    assert.equal(r.open, 200);
    assert.equal(r.dropped, 0);
    assert.ok(r.cpu_s >= 0);
  } finally {
    lg.send("quit");
    await once(lg.child, "exit");
    await stopAll([gw]);
  }
  assert.equal(lg.child.exitCode, 0, lg.stderr());
  assert.doesNotMatch(lg.stderr(), /Sanitizer|runtime error/);
});
