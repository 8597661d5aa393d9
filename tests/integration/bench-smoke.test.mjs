// The benchmark's load generator (bench/loadgen.c) against a real gateway, small: 200
// authenticated clients join one chat room, a few room events go through Kafka, and the
// tool must count exactly one delivery per client per event, each with a latency, and its
// own CPU time as the kernel does. Keeps
// the benchmark tool from rotting silently; the benchmark itself is bench/run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import fs from "node:fs";
import {
  JWT_SECRET, baseEnv, benchTool, createTopics, encodeRoomEvent, newPrefix, produceLines, startGateway,
  stopAll, waitFor,
} from "./lib/harness.mjs";

function loadgen(port) {
  return benchTool("roomcast-loadgen",
    ["--port", String(port), "--secret", JWT_SECRET, "--join", "smoke", "--sources", "4", "--concurrency", "64"]);
}

// The loadgen's CPU time as the kernel counts it: utime + stime in /proc/PID/stat, in s.
function procCpu(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in ticks of 1/100 s
}

test("the load generator counts one delivery per client per event", { timeout: 60000 }, async () => {
  const prefix = newPrefix("bench");
  const env = baseEnv(prefix);
  await createTopics(env, 1); // one partition: the last event comes after all the others
  const gw = await startGateway(env, { ROOMCAST_ROOM_POLICY: "open" });
  const lg = loadgen(gw.port);
  try {
    lg.send("connect 200");
    const c = await lg.take("connected");
    assert.equal(c.ok, 200, JSON.stringify(c));
    assert.equal(c.failed, 0);
    lg.send("reset");
    await lg.take("reset");
    const cpu0 = procCpu(lg.child.pid);
    const now = Date.now() * 1000;
    const message = (i) => ({
      key: "chat-smoke",
      value: encodeRoomEvent({ id: `e${i}`, room: "chat-smoke", event: "chat:new-message",
        args: [{ chatId: "smoke", text: `m${i}`, t: now }], producedAtUs: now }),
    });
    // five events, one for a room no client joined (it must not be counted), and a sixth
    // last: once every client has it, nothing of the others can still come
    const events = [0, 1, 2, 3, 4].map(message);
    events.push({ key: "chat-other", value: encodeRoomEvent({ id: "x", room: "chat-other", event: "chat:new-message", args: [{}] }) });
    events.push(message(5));
    await produceLines(env, "roomcast.rooms", events);
    let r;
    await waitFor("1200 deliveries", async () => {
      lg.send("report");
      r = await lg.take("report");
      return r.deliveries >= 1200;
    }, 30000, 100);
    const cpu1 = procCpu(lg.child.pid);
    assert.equal(r.deliveries, 1200, JSON.stringify({ ...r, latency: undefined }));
    assert.equal(r.stamped, 1200);
    assert.equal(r.latency.n, 1200);
    assert.ok(r.latency.p50_ms > 0 && r.latency.p50_ms < 10000, `p50 ${r.latency.p50_ms}`);
    assert.equal(r.open, 200);
    assert.equal(r.dropped, 0);
    // its own CPU since the reset: some, no more than one core's worth of the time, and what
    // the kernel counted (to its 10 ms ticks)
    assert.ok(r.cpu_s > 0 && r.cpu_s <= r.seconds + 0.01, `cpu_s ${r.cpu_s} in ${r.seconds} s`);
    assert.ok(Math.abs(r.cpu_s - (cpu1 - cpu0)) <= 0.03, `cpu_s ${r.cpu_s}, the kernel says ${cpu1 - cpu0}`);
  } finally {
    lg.send("quit");
    await once(lg.child, "exit");
    await stopAll([gw]);
  }
  assert.equal(lg.child.exitCode, 0, lg.stderr());
  assert.doesNotMatch(lg.stderr(), /Sanitizer|runtime error/);
});
