// A Kafka outage, with a broker of this test's own: client connections stay up while the
// broker restarts, /readyz says it is not ready meanwhile, and delivery resumes from where
// it stopped, with nothing lost that reached the broker.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { io } from "socket.io-client";
import {
  baseEnv, cli, createTopics, httpGet, newPrefix, root, startGateway, stopAll, token, waitFor,
  withoutOffset,
} from "./lib/harness.mjs";

// asynchronous: the test's own client must keep answering pings meanwhile
const kafka = async (...args) =>
  (await promisify(execFile)(path.join(root, "tests/kafka/kafka"), args, { encoding: "utf8" })).stdout.trim();

test("connections survive a broker restart; delivery resumes with nothing lost", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "roomcast-outage-"));
  const brokers = await kafka("start", dir);
  const env = { ...baseEnv(newPrefix("outage")), ROOMCAST_KAFKA_BROKERS: brokers };
  let gw, s;
  try {
    await createTopics(env);
    gw = await startGateway(env, { ROOMCAST_PING_INTERVAL_MS: "500", ROOMCAST_PING_TIMEOUT_MS: "400" });
    s = io(gw.url, { auth: { token: await token(env, "o-1", "buyer") }, transports: ["websocket"], reconnection: false });
    await new Promise((resolve, reject) => { s.once("connect", resolve); s.once("connect_error", reject); });
    const got = [];
    const drops = [];
    s.on("disconnect", (r) => drops.push(r));
    s.onAny((event, ...args) => got.push(withoutOffset(args)[0].n));
    assert.equal((await cli(["emit", "user-o-1", "note", '{"n":1}'], env)).code, 0);
    await waitFor("the first event", () => got.length === 1);

    // acknowledged by the broker, then the broker goes at once: the gateway may not have it yet
    assert.equal((await cli(["emit", "user-o-1", "note", '{"n":2}'], env)).code, 0);
    await kafka("stop", dir);
    await waitFor("/readyz to say Kafka is gone", async () =>
      (await httpGet(`http://127.0.0.1:${gw.adminPort}/readyz`)).status === 503, 15000);
    const nr = await httpGet(`http://127.0.0.1:${gw.adminPort}/readyz`);
    assert.match(JSON.parse(nr.body).reason, /Kafka/);
    await new Promise((r) => setTimeout(r, 2000)); // several heartbeats with no broker
    assert.ok(s.connected, `the client stayed connected while Kafka was down (${drops})`);

    await kafka("start", dir);
    await waitFor("/readyz ready again", async () =>
      (await httpGet(`http://127.0.0.1:${gw.adminPort}/readyz`)).status === 200, 30000);
    for (const n of [3, 4, 5])
      assert.equal((await cli(["emit", "user-o-1", "note", JSON.stringify({ n })], env)).code, 0);
    await waitFor("events after the restart", () => got.length === 5, 20000);
    assert.deepEqual(got, [1, 2, 3, 4, 5]);
    assert.deepEqual(drops, []);
  } finally {
    s?.close();
    await stopAll([gw]);
    await kafka("stop", dir);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
