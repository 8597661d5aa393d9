// Connection state recovery (issue 7) with the stock client: after its gateway dies, a
// client that lands on another gateway gets its rooms back and every event it missed,
// in order, exactly once, then live events, with socket.recovered true. Nothing is kept
// in any gateway's memory: the client carries signed tokens, Kafka holds the events.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { io } from "socket.io-client";
import {
  baseEnv, bin, cli, createTopics, encodeRoomEvent, metric, newPrefix, produceLines,
  startGateway, startHaproxy, startSwitchProxy, stopAll, token, waitFor, withoutOffset,
} from "./lib/harness.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function connect(url, tok, extra = {}) {
  const s = io(url, { auth: { token: tok }, transports: ["websocket"], reconnectionDelay: 100,
    reconnectionDelayMax: 400, randomizationFactor: 0, ...extra });
  s.got = [];
  s.reconnects = [];
  let first = true;
  s.on("connect", () => { if (!first) s.reconnects.push(s.recovered); first = false; });
  s.onAny((event, ...args) => s.got.push({ event, arg: withoutOffset(args)[0] }));
  return s;
}

test("200 clients, one of two gateways SIGKILLed: every event exactly once, all recovered", async () => {
  const env = baseEnv(newPrefix("recover"));
  await createTopics(env);
  const a = await startGateway(env);
  const b = await startGateway(env);
  const lb = await startHaproxy([a, b]);
  const N = 200;
  const clients = [];
  let producer;
  try {
    for (let i = 0; i < N; i++) clients.push(connect(lb.url, await token(env, `rc-${i}`, "buyer")));
    await waitFor("200 connected", () => clients.every((s) => s.connected), 30000);
    const onA = await metric(a.adminPort, "roomcast_gateway_sockets");
    assert.ok(onA > 20, `${onA} clients on the gateway to be killed`);

    // a steady stream: one broadcast to "buyers" and ten user-room events every 50 ms
    producer = spawn(bin("roomcast"), ["produce", "roomcast.rooms", "--lines"], { env, stdio: ["pipe", "ignore", "inherit"] });
    let bseq = 0, useq = 0;
    const perUser = new Map();
    const line = (room, event, arg) => `${room}\t${encodeRoomEvent({ id: `${room}-${event}-${JSON.stringify(arg)}`, room, event, args: [arg] }).toString("hex")}\n`;
    const tick = () => {
      let out = line("buyers", "broadcast", { seq: bseq++ });
      for (let k = 0; k < 10; k++, useq++) {
        const u = `rc-${useq % N}`;
        const seq = perUser.get(u) ?? 0;
        perUser.set(u, seq + 1);
        out += line(`user-${u}`, "mine", { seq });
      }
      producer.stdin.write(out);
    };
    const timer = setInterval(tick, 50);
    await sleep(2000);
    a.child.kill("SIGKILL");
    await sleep(3000);
    clearInterval(timer);
    producer.stdin.end();
    await new Promise((r) => producer.on("exit", r));

    await waitFor("every client has every event", () => clients.every((s, i) =>
      s.got.filter((e) => e.event === "broadcast").length >= bseq &&
      s.got.filter((e) => e.event === "mine").length >= (perUser.get(`rc-${i}`) ?? 0)), 30000).catch((e) => {
      const short = clients.map((s, i) => [i, s.got.filter((x) => x.event === "broadcast").length, bseq, s.connected, s.reconnects]).filter((x) => x[1] < bseq).slice(0, 5);
      throw new Error(`${e.message}; first short: ${JSON.stringify(short)}; ${b.logs().slice(-3000)}`);
    });
    await sleep(500);
    let moved = 0;
    clients.forEach((s, i) => {
      const bc = s.got.filter((e) => e.event === "broadcast").map((e) => e.arg.seq);
      assert.deepEqual(bc, [...Array(bseq).keys()], `client ${i}: broadcasts in order, once`);
      const mine = s.got.filter((e) => e.event === "mine").map((e) => e.arg.seq);
      assert.deepEqual(mine, [...Array(perUser.get(`rc-${i}`) ?? 0).keys()], `client ${i}: own events in order, once`);
      if (s.reconnects.length) moved++;
      assert.ok(s.reconnects.every((r) => r === true), `client ${i}: recovered on every reconnect (${s.reconnects})`);
      assert.ok(s.connected);
    });
    assert.equal(moved, onA, "every client of the killed gateway reconnected");
    assert.ok(await metric(b.adminPort, "roomcast_gateway_recoveries_total", 'result="recovered"') >= onA);
  } finally {
    producer?.kill();
    clients.forEach((s) => s.close());
    await lb.stop();
    await stopAll([b]);
    await a.stop("SIGKILL");
  }
});

test("a client that had received no event yet recovers too; a forged or expired token does not", async () => {
  const env = baseEnv(newPrefix("recover2"));
  await createTopics(env);
  const a = await startGateway(env, { ROOMCAST_RECOVERY_WINDOW: "3" });
  const b = await startGateway(env, { ROOMCAST_RECOVERY_WINDOW: "3" });
  const px = await startSwitchProxy(a.port);
  const emit = async (room, arg) => {
    const r = await cli(["emit", room, "note", JSON.stringify(arg)], env);
    assert.equal(r.code, 0, r.stderr);
  };
  const quiet = connect(px.url, await token(env, "quiet", "seller"));
  const forged = connect(px.url, await token(env, "forger", "seller"));
  try {
    await waitFor("connected", () => quiet.connected && forged.connected);
    // the forger has had an event, then alters what it carries
    await emit("user-forger", { n: 0 });
    await waitFor("first event", () => forged.got.length === 1);
    forged._pid = forged._pid.slice(0, -2) + (forged._pid.endsWith("AA") ? "BB" : "AA");
    // both lose their gateway while events for them pass
    px.switchTo(b.port);
    px.cut();
    await emit("user-quiet", { n: 1 });
    await emit("user-forger", { n: 1 });
    await waitFor("both back", () => quiet.reconnects.length === 1 && forged.reconnects.length === 1 &&
      quiet.connected && forged.connected, 15000);
    assert.deepEqual(quiet.reconnects, [true]);
    await waitFor("the missed event", () => quiet.got.length === 1);
    assert.deepEqual(quiet.got, [{ event: "note", arg: { n: 1 } }]);
    assert.deepEqual(forged.reconnects, [false]);
    await sleep(500);
    assert.deepEqual(forged.got, [{ event: "note", arg: { n: 0 } }], "nothing replayed to a forged session");
    assert.ok(await metric(b.adminPort, "roomcast_gateway_recoveries_total", 'result="invalid"') >= 1);
    // past the window: not recovered, counted
    await sleep(3500);
    px.switchTo(a.port);
    px.cut();
    await waitFor("back again", () => quiet.reconnects.length === 2 && quiet.connected, 15000);
    assert.deepEqual(quiet.reconnects, [true, false]);
    assert.ok(await metric(a.adminPort, "roomcast_gateway_recoveries_total", 'result="expired"') >= 1);
  } finally {
    quiet.close();
    forged.close();
    await px.close();
    await stopAll([a, b]);
  }
});

// The stock client's own test (socket.io-client test/connection-state-recovery.ts), with
// what differs here: a token, and a room event from Kafka where its server echoes "hi".
test("socket.io-client's own recovery test, with its default transports", async () => {
  const env = baseEnv(newPrefix("recover3"));
  await createTopics(env);
  const gw = await startGateway(env);
  const socket = io(gw.url, { forceNew: true, reconnectionDelay: 10, auth: { token: await token(env, "hi-1", "buyer") } });
  try {
    assert.equal(socket.recovered, false);
    await new Promise((resolve) => socket.once("connect", resolve));
    const hi = new Promise((resolve) => socket.once("hi", resolve));
    assert.equal((await cli(["emit", "user-hi-1", "hi", "{}"], env)).code, 0); // init the offset
    await hi;
    const id = socket.id;
    const back = new Promise((resolve) => socket.once("connect", resolve));
    socket.io.engine.close();
    await back;
    assert.equal(socket.id, id);
    assert.equal(socket.recovered, true);
  } finally {
    socket.close();
    await stopAll([gw]);
  }
});
