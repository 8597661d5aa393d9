// SIGTERM drains a gateway: /readyz turns 503, the listener closes, its sockets are
// closed over ROOMCAST_DRAIN_SECONDS, and the stock client reconnects through the
// balancer to the other gateway, where it recovers its session: events streaming all the
// while reach every client exactly once, in order. A second SIGTERM stops at once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { io } from "socket.io-client";
import {
  baseEnv, bin, createTopics, encodeRoomEvent, httpGet, metric, newPrefix, signToken, startGateway, startHaproxy,
  stopAll, waitFor, withoutOffset,
} from "./lib/harness.mjs";

test("SIGTERM: clients move to the other gateway within the drain deadline and lose no event", async () => {
  const env = baseEnv(newPrefix("drain"));
  await createTopics(env);
  const a = await startGateway(env, { ROOMCAST_DRAIN_SECONDS: "3" });
  const b = await startGateway(env, { ROOMCAST_DRAIN_SECONDS: "3" });
  const lb = await startHaproxy([a, b]);
  const clients = [];
  let producer;
  try {
    for (let i = 0; i < 20; i++) {
      const s = io(lb.url, {
        auth: { token: signToken(env, `d-${i}`, "buyer") }, transports: ["websocket"],
        reconnectionDelay: 100, reconnectionDelayMax: 500,
      });
      s.got = [];
      s.reconnects = [];
      s.on("connect", () => { if (s.got.connectedOnce) s.reconnects.push(s.recovered); s.got.connectedOnce = true; });
      s.onAny((event, ...args) => s.got.push({ event, arg: withoutOffset(args)[0] }));
      clients.push(s);
    }
    await waitFor("20 clients connected", () => clients.every((s) => s.connected), 20000);
    const onA = await metric(a.adminPort, "roomcast_gateway_sockets");
    assert.ok(onA >= 5 && onA <= 15, `round-robin put ${onA} of 20 on the first gateway`);
    const reasons = [];
    clients.forEach((s) => s.on("disconnect", (r) => reasons.push(r)));

    // a steady stream: one broadcast to "buyers" and one event for each user every 50 ms
    producer = spawn(bin("roomcast"), ["produce", "roomcast.rooms", "--lines"], { env, stdio: ["pipe", "ignore", "inherit"] });
    const line = (room, event, arg) =>
      `${room}\t${encodeRoomEvent({ id: `${room}-${event}-${arg.seq}`, room, event, args: [arg] }).toString("hex")}\n`;
    let seq = 0;
    const tick = () => {
      let out = line("buyers", "broadcast", { seq });
      for (let i = 0; i < 20; i++) out += line(`user-d-${i}`, "mine", { seq });
      seq++;
      producer.stdin.write(out);
    };
    const timer = setInterval(tick, 50);
    const count = (s, event) => s.got.filter((e) => e.event === event).length;
    await waitFor("the stream reaching every client", () => clients.every((s) => count(s, "broadcast") >= 3), 20000);

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
    const back = seq;
    await waitFor("ten more ticks after that", () => seq >= back + 10, 20000);
    clearInterval(timer);
    // the end: one more for everyone and each; nothing of the stream comes after it
    let out = line("buyers", "end", { seq: -1 });
    for (let i = 0; i < 20; i++) out += line(`user-d-${i}`, "end", { seq: -1 });
    producer.stdin.end(out);
    await once(producer, "exit");
    await waitFor("both ends at every client", () => clients.every((s) => count(s, "end") === 2), 20000);

    assert.equal(reasons.length, onA);
    assert.ok(reasons.every((r) => r === "transport close"), reasons.join());
    clients.forEach((s, i) => {
      const seqs = (event) => s.got.filter((e) => e.event === event).map((e) => e.arg.seq);
      assert.deepEqual(seqs("broadcast"), [...Array(seq).keys()], `client ${i}: every broadcast once, in order`);
      assert.deepEqual(seqs("mine"), [...Array(seq).keys()], `client ${i}: every own event once, in order`);
      assert.ok(s.reconnects.every((r) => r === true), `client ${i}: recovered (${s.reconnects})`);
    });
    assert.equal(clients.filter((s) => s.reconnects.length).length, onA);
  } finally {
    producer?.kill();
    clients.forEach((s) => s.close());
    await lb.stop();
    await stopAll([a, b]);
  }
});

test("a second SIGTERM during the drain stops the gateway at once", async () => {
  const env = baseEnv(newPrefix("drain2"));
  await createTopics(env);
  const gw = await startGateway(env, { ROOMCAST_DRAIN_SECONDS: "60" });
  const clients = [];
  try {
    for (let i = 0; i < 100; i++) {
      const s = io(gw.url, { auth: { token: signToken(env, `d2-${i}`, "buyer") }, transports: ["websocket"], reconnection: false });
      clients.push(s);
    }
    await waitFor("100 clients connected", () => clients.every((s) => s.connected), 30000);
    gw.child.kill("SIGTERM");
    await waitFor("/readyz 503 while draining", async () =>
      (await httpGet(`http://127.0.0.1:${gw.adminPort}/readyz`)).status === 503, 5000, 20);
    // the drain closes a session every 100 ms at least: what is left would take this long
    const left = await metric(gw.adminPort, "roomcast_gateway_sockets");
    assert.ok(left >= 20, `${left} sockets left: the drain has barely begun`);
    const t0 = Date.now();
    gw.child.kill("SIGTERM");
    await gw.exited;
    const took = Date.now() - t0;
    assert.deepEqual(gw.exitStatus(), { code: 0, signal: null });
    assert.ok(took < left * 100 / 2, `the second SIGTERM took ${took} ms to stop it; the drain had ${left * 100} ms of work left`);
    assert.equal(gw.sanitizerReport(), null);
    await waitFor("every client told", () => clients.every((s) => !s.connected), 5000);
  } finally {
    clients.forEach((s) => s.close());
    await stopAll([gw]);
  }
});
