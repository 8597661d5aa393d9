// Failures a production cluster meets every week (issue 13), under steady traffic, with
// the real broker, fanout, gateways and the stock client:
//   - a fanout SIGKILLed and restarted at once under its stable instance id: the longest
//     gap in delivery, and the gap when it does not come back (its partitions move to the
//     other instance after the session timeout);
//   - a fanout paused (SIGSTOP) past its session timeout, its partitions taken over, then
//     resumed: a zombie, whose late writes no socket sees twice;
//   - the broker SIGKILLed and restarted: nothing acknowledged is lost or doubled.
// Every check is on what sockets receive: each event once, none missing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { io } from "socket.io-client";
import {
  baseEnv, createTopics, metric, newPrefix, root, startFanout, startGateway,
  stopAll, token, waitFor, withoutOffset,
} from "./lib/harness.mjs";
import { sdk } from "./lib/emitter.mjs";

// A backend writing payment.completed events at a steady rate to domain.payment through
// the TypeScript emitter (@roomcast/emitter, kafkajs), each for buyer u<i mod users> and
// seller s0, its index in the payment id. An event counts as acknowledged when its publish
// resolved; one that failed (Kafka away past the client's retries) may or may not be in.
function stream(env, { perSecond, users }) {
  const emitter = sdk.createEmitter({ brokers: env.ROOMCAST_KAFKA_BROKERS, topicPrefix: env.ROOMCAST_TOPIC_PREFIX,
    kafka: { logLevel: 0, retry: { retries: 60, initialRetryTime: 100, maxRetryTime: 1000 } }, onError: () => {} });
  let n = 0;
  const pending = [], acked = new Set(), failed = new Set();
  const batch = Math.max(1, Math.round(perSecond / 50));
  const timer = setInterval(() => {
    for (let k = 0; k < batch; k++, n++) {
      const i = n;
      pending.push(emitter.publish("payment.completed", { paymentId: `p${i}`, buyerId: `u${i % users}`, sellerId: "s0" })
        .then(() => acked.add(i), () => failed.add(i)));
    }
  }, 20);
  return {
    sent: () => n,
    acked,
    failed,
    async stop() {
      clearInterval(timer);
      await Promise.all(pending);
      await emitter.close();
      return n;
    },
  };
}

// One client per user u0..u(users-1) on the gateways in turn; each records the payment
// ids it receives with their arrival times.
async function clients(env, gateways, users) {
  const socks = [];
  for (let i = 0; i < users; i++) {
    const s = io(gateways[i % gateways.length].url, { auth: { token: await token(env, `u${i}`, "buyer") },
      transports: ["websocket"], reconnectionDelay: 100, reconnectionDelayMax: 500, randomizationFactor: 0 });
    s.got = [];
    s.on("payment:completed", (...args) => s.got.push({ n: Number(withoutOffset(args)[0].paymentId.slice(1)), at: Date.now() }));
    socks.push(s);
  }
  await waitFor("clients connected", () => socks.every((s) => s.connected), 30000);
  return socks;
}

// Per socket: every event i with i mod users == its index, once (an event that was not
// acknowledged, in `unsure`, may be missing but never twice).
function exactlyOnce(socks, total, unsure = new Set()) {
  const users = socks.length, missing = [], dup = [];
  socks.forEach((s, u) => {
    const seen = new Map();
    for (const g of s.got) seen.set(g.n, (seen.get(g.n) ?? 0) + 1);
    for (let i = u; i < total; i += users) if (!seen.has(i) && !unsure.has(i)) missing.push(`u${u}:${i}`);
    for (const [i, c] of seen) if (c > 1) dup.push(`u${u}:${i} x${c}`);
  });
  return { missing, dup };
}

// The longest time with no delivery at all, across every socket, between from and to (ms).
function longestGap(socks, from, to) {
  const times = socks.flatMap((s) => s.got.map((g) => g.at)).filter((t) => t >= from && t <= to).sort((a, b) => a - b);
  let gap = 0;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i] - times[i - 1]);
  return gap;
}

const delivered = (socks) => socks.reduce((n, s) => n + s.got.length, 0);
const deliveredAll = (socks, total) => delivered(socks) >= total;

test("a fanout SIGKILLed and restarted at once under its instance id: delivery pauses under 2 s, nothing lost or doubled", { timeout: 180000 }, async () => {
  const env = baseEnv(newPrefix("fail-restart"));
  await createTopics(env);
  const id = { ROOMCAST_FANOUT_INSTANCE_ID: `${env.ROOMCAST_TOPIC_PREFIX}fanout-0` };
  const gw = await startGateway(env);
  let fanout = await startFanout(env, id);
  const socks = await clients(env, [gw], 20);
  const s = stream(env, { perSecond: 200, users: 20 });
  try {
    await waitFor("steady delivery", () => deliveredAll(socks, 300), 30000);
    const killedAt = Date.now();
    await fanout.stop("SIGKILL");
    fanout = await startFanout(env, id);
    const restartedIn = Date.now() - killedAt;
    const until = s.sent() + 400;
    await waitFor("delivery after the restart", () => s.sent() >= until, 30000);
    const total = await s.stop();
    await waitFor(`all ${total} events`, () => deliveredAll(socks, total), 60000);
    const gap = longestGap(socks, killedAt - 1000, Date.now());
    const r = exactlyOnce(socks, total);
    console.log(JSON.stringify({ events: total, restartedInMs: restartedIn, longestGapMs: gap, missing: r.missing.length, dup: r.dup.length,
      duplicatesDropped: await metric(gw.adminPort, "roomcast_gateway_room_events_total", 'result="duplicate"') }));
    assert.deepEqual(r.missing.slice(0, 10), [], "lost");
    assert.deepEqual(r.dup.slice(0, 10), [], "doubled");
    assert.ok(gap <= 2000, `the longest gap in delivery was ${gap} ms`);
  } finally {
    await s.stop().catch(() => {});
    for (const c of socks) c.close();
    await stopAll([gw, fanout]);
  }
});

// A gateway, 20 clients, two fanout instances with a 6 s session timeout (a and b) and a
// stream of perSecond events, once both instances hold partitions and delivery is steady.
async function twoInstances(env, perSecond) {
  const session = { ROOMCAST_FANOUT_SESSION_TIMEOUT_MS: "6000" };
  const gw = await startGateway(env);
  const a = await startFanout(env, { ...session, ROOMCAST_FANOUT_INSTANCE_ID: `${env.ROOMCAST_TOPIC_PREFIX}fanout-a` });
  const b = await startFanout(env, { ...session, ROOMCAST_FANOUT_INSTANCE_ID: `${env.ROOMCAST_TOPIC_PREFIX}fanout-b` });
  const socks = await clients(env, [gw], 20);
  const s = stream(env, { perSecond, users: 20 });
  try {
    await waitFor("both instances assigned", async () =>
      await metric(a.adminPort, "roomcast_fanout_assigned_partitions") > 0 && await metric(b.adminPort, "roomcast_fanout_assigned_partitions") > 0, 30000);
    await waitFor("steady delivery", () => deliveredAll(socks, 300), 30000);
  } catch (e) {
    await s.stop().catch(() => {});
    for (const c of socks) c.close();
    await stopAll([gw, a, b]);
    throw e;
  }
  return { gw, a, b, socks, s };
}

test("a fanout SIGKILLed for good: the other instance takes its partitions after the session timeout, nothing lost", { timeout: 180000 }, async () => {
  const env = baseEnv(newPrefix("fail-gone"));
  await createTopics(env);
  const { gw, a, b, socks, s } = await twoInstances(env, 200);
  try {
    const killedAt = Date.now();
    await a.stop("SIGKILL");
    await waitFor("b owns every partition", async () => await metric(b.adminPort, "roomcast_fanout_assigned_partitions") === 14, 30000);
    const until = s.sent() + 400;
    await waitFor("delivery after the takeover", () => s.sent() >= until, 30000);
    const total = await s.stop();
    await waitFor(`all ${total} events`, () => deliveredAll(socks, total), 60000);
    // events of the dead instance's partitions wait for the session timeout; the others flow
    const gap = Math.max(...socks.map((c) => longestGap([c], killedAt - 1000, Date.now())));
    const r = exactlyOnce(socks, total);
    console.log(JSON.stringify({ events: total, sessionTimeoutMs: 6000, longestGapForOneUserMs: gap, missing: r.missing.length, dup: r.dup.length }));
    assert.deepEqual(r.missing.slice(0, 10), [], "lost");
    assert.deepEqual(r.dup.slice(0, 10), [], "doubled");
    assert.ok(gap < 6000 + 5000, `a user waited ${gap} ms`);
  } finally {
    await s.stop().catch(() => {});
    for (const c of socks) c.close();
    await stopAll([gw, b]);
  }
});

test("a fanout paused past its session timeout and resumed (a zombie): no socket sees an event twice or misses one", { timeout: 180000 }, async () => {
  const env = baseEnv(newPrefix("fail-zombie"));
  await createTopics(env);
  const { gw, a, b, socks, s } = await twoInstances(env, 300);
  try {
    a.child.kill("SIGSTOP");
    await waitFor("b owns every partition", async () => await metric(b.adminPort, "roomcast_fanout_assigned_partitions") === 14, 30000);
    const before = s.sent();
    await waitFor("b at work", () => s.sent() >= before + 300, 30000);
    a.child.kill("SIGCONT");
    // the zombie finds its assignment lost; the group settles with both again
    await waitFor("a back in the group", async () => await metric(a.adminPort, "roomcast_fanout_assigned_partitions") > 0, 60000);
    const until = s.sent() + 300;
    await waitFor("delivery after the zombie's return", () => s.sent() >= until, 30000);
    const total = await s.stop();
    await waitFor(`all ${total} events`, () => deliveredAll(socks, total), 60000);
    const r = exactlyOnce(socks, total);
    console.log(JSON.stringify({ events: total, missing: r.missing.length, dup: r.dup.length,
      lostByA: (a.logs().match(/"msg":"partitions lost"/g) ?? []).length,
      duplicatesDropped: await metric(gw.adminPort, "roomcast_gateway_room_events_total", 'result="duplicate"') }));
    assert.match(a.logs(), /"msg":"partitions lost"/);
    assert.deepEqual(r.missing.slice(0, 10), [], "lost");
    assert.deepEqual(r.dup.slice(0, 10), [], "doubled");
  } finally {
    a.child.kill("SIGCONT");
    await s.stop().catch(() => {});
    for (const c of socks) c.close();
    await stopAll([gw, a, b]);
  }
});

const kafka = async (...args) =>
  (await promisify(execFile)(path.join(root, "tests/kafka/kafka"), args, { encoding: "utf8" })).stdout.trim();

test("the broker SIGKILLed under load and restarted: nothing acknowledged is lost or doubled", { timeout: 240000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "roomcast-brokerkill-"));
  const brokers = await kafka("start", dir);
  const env = { ...baseEnv(newPrefix("fail-broker")), ROOMCAST_KAFKA_BROKERS: brokers };
  let a, b, fanout, s, socks = [];
  try {
    await createTopics(env);
    [a, b] = [await startGateway(env), await startGateway(env)];
    fanout = await startFanout(env);
    socks = await clients(env, [a, b], 200);
    s = stream(env, { perSecond: 200, users: 200 });
    await waitFor("steady delivery", () => deliveredAll(socks, 300), 30000);
    const pid = Number(fs.readFileSync(path.join(dir, "pid"), "utf8"));
    process.kill(pid, "SIGKILL");
    const killedAt = Date.now();
    await waitFor("the broker gone", () => { try { process.kill(pid, 0); return false; } catch { return true; } }, 10000);
    await new Promise((r) => setTimeout(r, 1000)); // the producer keeps writing into its queue
    await kafka("start", dir);
    const restartedAt = Date.now();
    const until = s.sent() + 400;
    await waitFor("traffic after the restart", () => s.sent() >= until, 30000);
    const total = await s.stop();
    assert.ok(s.acked.size > total - 1000, `${s.acked.size} of ${total} acknowledged`);
    // every acknowledged event reaches its socket (and those not acknowledged at most once)
    const ackedIn = () => socks.every((c, u) => { const got = new Set(c.got.map((g) => g.n));
      for (const i of s.acked) if (i % socks.length === u && !got.has(i)) return false; return true; });
    await waitFor(`all ${s.acked.size} acknowledged events`, ackedIn, 120000, 200);
    const fullAt = Date.now();
    const r = exactlyOnce(socks, total, s.failed);
    console.log(JSON.stringify({ events: total, acknowledged: s.acked.size, notAcknowledged: s.failed.size,
      brokerDownMs: restartedAt - killedAt, fullDeliveryAfterRestartMs: fullAt - restartedAt,
      longestGapMs: longestGap(socks, killedAt - 1000, fullAt), missing: r.missing.length, dup: r.dup.length,
      dropped: (await metric(a.adminPort, "roomcast_gateway_room_events_total", 'result="duplicate"')) +
        (await metric(b.adminPort, "roomcast_gateway_room_events_total", 'result="duplicate"')) }));
    assert.deepEqual(r.missing.slice(0, 10), [], "lost");
    assert.deepEqual(r.dup.slice(0, 10), [], "doubled");
  } finally {
    await s?.stop().catch(() => {});
    for (const c of socks) c.close();
    await stopAll([a, b, fanout].filter(Boolean));
    await kafka("stop", dir);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
