// A Kafka outage, with a broker of this test's own. The gateway stays ready through it
// ("send me clients"): its clients stay connected, a new client is taken in, /readyz
// keeps answering 200 while /healthz and roomcast_gateway_kafka_up say Kafka is down,
// and when the broker returns delivery resumes from where it stopped, with nothing lost
// that reached the broker, to the old client and the new one alike.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { io } from "socket.io-client";
import {
  baseEnv, cli, createTopics, httpGet, metric, newPrefix, root, startGateway, stopAll, token, waitFor,
  withoutOffset,
} from "./lib/harness.mjs";

// asynchronous: the test's own client must keep answering pings meanwhile
const kafka = async (...args) =>
  (await promisify(execFile)(path.join(root, "tests/kafka/kafka"), args, { encoding: "utf8" })).stdout.trim();

const json = async (port, p) => {
  const r = await httpGet(`http://127.0.0.1:${port}${p}`);
  return { status: r.status, body: JSON.parse(r.body) };
};

async function client(env, url, user) {
  const s = io(url, { auth: { token: await token(env, user, "buyer") }, transports: ["websocket"], reconnection: false });
  s.got = [];
  s.drops = [];
  s.pings = 0;
  s.on("disconnect", (r) => s.drops.push(r));
  s.onAny((event, ...args) => s.got.push(withoutOffset(args)[0].n));
  s.io.on("ping", () => s.pings++);
  await new Promise((resolve, reject) => { s.once("connect", resolve); s.once("connect_error", reject); });
  return s;
}

test("through a broker restart the gateway stays ready, keeps and takes clients; delivery resumes with nothing lost", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "roomcast-outage-"));
  const brokers = await kafka("start", dir);
  const env = { ...baseEnv(newPrefix("outage")), ROOMCAST_KAFKA_BROKERS: brokers };
  let gw, s, late;
  try {
    await createTopics(env);
    gw = await startGateway(env, { ROOMCAST_PING_INTERVAL_MS: "500", ROOMCAST_PING_TIMEOUT_MS: "400" });
    // librdkafka's statistics (every second) tell the broker's state
    await waitFor("/healthz to say Kafka is up", async () =>
      (await json(gw.adminPort, "/healthz")).body.kafka.up === true);
    assert.deepEqual((await json(gw.adminPort, "/healthz")).body, { status: "ok", kafka: { up: true } });
    assert.equal(await metric(gw.adminPort, "roomcast_gateway_kafka_up"), 1);
    const changes = await metric(gw.adminPort, "roomcast_readiness_changes_total");
    s = await client(env, gw.url, "o-1");
    assert.equal((await cli(["emit", "user-o-1", "note", '{"n":1}'], env)).code, 0);
    await waitFor("the first event", () => s.got.length === 1);

    // acknowledged by the broker, then the broker goes at once: the gateway may not have it yet
    assert.equal((await cli(["emit", "user-o-1", "note", '{"n":2}'], env)).code, 0);
    await kafka("stop", dir);
    const down = await waitFor("/healthz to say Kafka is down", async () => {
      const h = await json(gw.adminPort, "/healthz");
      return h.status === 200 && h.body.kafka.up === false && h.body;
    }, 15000);
    assert.match(down.kafka.reason, /Kafka/);
    assert.equal(await metric(gw.adminPort, "roomcast_gateway_kafka_up"), 0);
    const ready = await json(gw.adminPort, "/readyz");
    assert.equal(ready.status, 200, JSON.stringify(ready.body));
    assert.equal(ready.body.status, "ready");
    assert.equal(ready.body.kafka.up, false);
    assert.equal(await metric(gw.adminPort, "roomcast_ready"), 1);
    // a new client is taken in; both see four heartbeats go by with no broker
    late = await client(env, gw.url, "o-1");
    const pings = s.pings;
    await waitFor("four heartbeats with no broker", () => late.pings >= 4 && s.pings >= pings + 4, 15000);
    assert.ok(s.connected && late.connected, `clients stayed connected while Kafka was down (${s.drops} ${late.drops})`);
    assert.equal((await json(gw.adminPort, "/readyz")).status, 200);

    await kafka("start", dir);
    await waitFor("/healthz to say Kafka is back", async () =>
      (await json(gw.adminPort, "/healthz")).body.kafka.up === true, 30000);
    assert.equal(await metric(gw.adminPort, "roomcast_gateway_kafka_up"), 1);
    for (const n of [3, 4, 5])
      assert.equal((await cli(["emit", "user-o-1", "note", JSON.stringify({ n })], env)).code, 0);
    await waitFor("events after the restart", () => s.got.length === 5 && late.got.includes(5), 20000);
    assert.deepEqual(s.got, [1, 2, 3, 4, 5]);
    // the late client joined while n=2 may still have been unread: it gets 2 or not, then 3..5
    assert.deepEqual(late.got.filter((n) => n >= 3), [3, 4, 5]);
    assert.deepEqual([s.drops, late.drops], [[], []]);
    assert.equal(await metric(gw.adminPort, "roomcast_readiness_changes_total"), changes, "never unready");
  } finally {
    s?.close();
    late?.close();
    await stopAll([gw]);
    await kafka("stop", dir);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
