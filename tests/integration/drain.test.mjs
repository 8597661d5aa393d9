// SIGTERM drains a gateway: /readyz turns 503, the listener closes, its sockets are
// closed over ROOMCAST_DRAIN_SECONDS, and the stock client reconnects through the
// balancer to the other gateway, where it keeps receiving.
import { test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import {
  baseEnv, cli, createTopics, httpGet, metric, newPrefix, startGateway, startHaproxy, stopAll,
  token, waitFor,
} from "./lib/harness.mjs";

test("SIGTERM: clients move to the other gateway within the drain deadline", async () => {
  const env = baseEnv(newPrefix("drain"));
  await createTopics(env);
  const a = await startGateway(env, { ROOMCAST_DRAIN_SECONDS: "3" });
  const b = await startGateway(env, { ROOMCAST_DRAIN_SECONDS: "3" });
  const lb = await startHaproxy([a, b]);
  const clients = [];
  try {
    for (let i = 0; i < 20; i++) {
      const s = io(lb.url, {
        auth: { token: await token(env, `d-${i}`, "buyer") }, transports: ["websocket"],
        reconnectionDelay: 100, reconnectionDelayMax: 500,
      });
      clients.push(s);
    }
    await waitFor("20 clients connected", () => clients.every((s) => s.connected), 20000);
    const onA = await metric(a.adminPort, "roomcast_gateway_sockets");
    assert.ok(onA >= 5 && onA <= 15, `round-robin put ${onA} of 20 on the first gateway`);
    const reasons = [];
    clients.forEach((s) => s.on("disconnect", (r) => reasons.push(r)));

    const t0 = Date.now();
    a.child.kill("SIGTERM");
    await waitFor("/readyz 503 while draining", async () => {
      try { return (await httpGet(`http://127.0.0.1:${a.adminPort}/readyz`)).status === 503; }
      catch { return true; } // already gone
    }, 5000, 20);
    const st = await a.stop("SIGTERM", 15000);
    const took = Date.now() - t0;
    assert.deepEqual(st, { code: 0, signal: null });
    assert.ok(took < 6000, `the drain took ${took} ms (deadline 3 s)`);
    assert.equal(a.sanitizerReport(), null);
    await waitFor("every client back, on the other gateway", async () =>
      clients.every((s) => s.connected) && (await metric(b.adminPort, "roomcast_gateway_sockets")) === 20, 15000);
    assert.equal(reasons.length, onA);
    assert.ok(reasons.every((r) => r === "transport close"), reasons.join());
    // and they receive there
    const got = clients.map(() => 0);
    clients.forEach((s, i) => s.on("system:announcement", () => got[i]++));
    const r = await cli(["emit", "*", "system:announcement", '{"message":"after the drain"}'], env);
    assert.equal(r.code, 0);
    await waitFor("all 20 receive", () => got.every((n) => n === 1), 10000);
  } finally {
    clients.forEach((s) => s.close());
    await lb.stop();
    await stopAll([a, b]);
  }
});
