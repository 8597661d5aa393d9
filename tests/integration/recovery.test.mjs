// Connection state recovery (issue 7) with the stock client: after its gateway dies, a
// client that lands on another gateway gets its rooms back and every event it missed,
// in order, exactly once, then live events, with socket.recovered true. Nothing is kept
// in any gateway's memory: the client carries signed tokens, Kafka holds the events.
// Each connect is counted once in roomcast_gateway_recoveries_total, by its outcome.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { io } from "socket.io-client";
import {
  baseEnv, bin, cli, createTopics, deleteRecords, encodeRoomEvent, freePort, metric, newPrefix,
  signToken, startGateway, startHaproxy, startSwitchProxy, stopAll, token, waitFor, withoutOffset,
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

async function emitNote(env, room, arg) {
  const r = await cli(["emit", room, "note", JSON.stringify(arg)], env);
  assert.equal(r.code, 0, r.stderr);
}

// The recoveries a gateway counted, by result (a connect counted twice shows here).
async function recoveries(gw) {
  const out = {};
  for (const r of ["new", "none", "recovered", "invalid", "expired", "offset_gone", "foreign_vector", "replay_failed"]) {
    const n = await metric(gw.adminPort, "roomcast_gateway_recoveries_total", `result="${r}"`);
    if (n) out[r] = n;
  }
  return out;
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
    for (let i = 0; i < N; i++) clients.push(connect(lb.url, signToken(env, `rc-${i}`, "buyer")));
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
    const broadcasts = (s) => s.got.filter((e) => e.event === "broadcast").length;
    await waitFor("the stream reaching every client", () => clients.every((s) => broadcasts(s) >= 5), 30000);
    a.child.kill("SIGKILL");
    // the stream goes on until every client of the dead gateway is back, and a while after
    await waitFor("every client of the killed gateway back", () =>
      clients.filter((s) => s.reconnects.length).length === onA && clients.every((s) => s.connected), 30000);
    const back = bseq;
    await waitFor("ten more ticks after that", () => bseq >= back + 10, 30000);
    clearInterval(timer);
    // the end: a last broadcast and a last event per user; nothing of the stream comes after them
    let out = line("buyers", "end", {});
    for (let i = 0; i < N; i++) out += line(`user-rc-${i}`, "end", {});
    producer.stdin.end(out);
    await new Promise((r) => producer.on("exit", r));

    await waitFor("every client has both ends", () => clients.every((s) =>
      s.got.filter((e) => e.event === "end").length === 2), 30000).catch((e) => {
      const short = clients.map((s, i) => [i, broadcasts(s), bseq, s.connected, s.reconnects]).filter((x) => x[1] < bseq).slice(0, 5);
      throw new Error(`${e.message}; first short: ${JSON.stringify(short)}; ${b.logs().slice(-3000)}`);
    });
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

test("a client recovers with no event yet, or with its request and chat rooms; a forged token is not replayed to; past the window none is; each connect counted once", async () => {
  const env = baseEnv(newPrefix("recover2"));
  await createTopics(env);
  const a = await startGateway(env);
  const b = await startGateway(env);
  const short = await startGateway(env, { ROOMCAST_RECOVERY_WINDOW: "1" }); // to see the window pass
  const px = await startSwitchProxy(a.port);
  const nowhere = await freePort(); // while the proxy points here, nobody gets back in
  const quiet = connect(px.url, await token(env, "quiet", "seller"));
  const roomy = connect(px.url, await token(env, "roomy", "buyer"));
  const forged = connect(px.url, await token(env, "forger", "seller"));
  const moving = [quiet, roomy, forged];
  // the forger's own user on b, directly: it shows what b has delivered to that user
  const witness = connect(b.url, await token(env, "forger", "seller"), { reconnection: false });
  const notes = (s) => s.got.map((e) => e.arg.n);
  try {
    await waitFor("connected", () => moving.every((s) => s.connected) && witness.connected);
    for (const [kind, room] of [["join-request-room", "request-r1"], ["join-chat-room", "chat-c1"]]) {
      const grant = await token(env, "roomy", null, ["--room", room]);
      assert.deepEqual(await roomy.timeout(10000).emitWithAck(kind, room.split("-")[1], grant), { ok: true });
    }
    // the rooms a client is in travel with the events it gets: roomy gets one after joining.
    // The forger has had an event, then alters what it carries.
    await emitNote(env, "user-roomy", { n: 0 });
    await emitNote(env, "user-forger", { n: 0 });
    await waitFor("first events", () => roomy.got.length === 1 && forged.got.length === 1 && witness.got.length === 1);
    forged._pid = forged._pid.slice(0, -2) + (forged._pid.endsWith("AA") ? "BB" : "AA");
    // they lose their gateway; they get back in only once b has passed what they missed
    px.switchTo(nowhere);
    px.cut();
    await waitFor("all disconnected", () => moving.every((s) => !s.connected));
    await emitNote(env, "user-quiet", { n: 1 });
    await emitNote(env, "request-r1", { n: 2 });
    await emitNote(env, "chat-c1", { n: 3 });
    await emitNote(env, "user-forger", { n: 1 });
    await waitFor("b delivering the forger's missed event", () => witness.got.length === 2);
    px.switchTo(b.port);
    await waitFor("all back", () => moving.every((s) => s.reconnects.length === 1 && s.connected), 15000);
    assert.deepEqual(moving.map((s) => s.reconnects), [[true], [true], [false]]);
    // after the forger's new session, a marker for it: it gets that, and nothing replayed
    await emitNote(env, "user-forger", { n: 2 });
    await waitFor("the forger's marker", () => forged.got.length >= 2 && witness.got.length === 3);
    assert.deepEqual(notes(forged), [0, 2], "nothing replayed to a forged session");
    // the others got what they missed; roomy's rooms are back: live events reach it there
    await waitFor("the missed events", () => quiet.got.length === 1 && roomy.got.length === 3).catch((e) => {
      throw new Error(`${e.message}: ${JSON.stringify([quiet.got, roomy.got])}`);
    });
    assert.deepEqual(notes(quiet), [1]);
    await emitNote(env, "request-r1", { n: 4 });
    await emitNote(env, "chat-c1", { n: 5 });
    await emitNote(env, "user-roomy", { n: 6 });
    await waitFor("live events in its rooms", () => roomy.got.length >= 6);
    assert.deepEqual(notes(roomy).slice(1, 3).sort(), [2, 3], "missed events, once each");
    assert.deepEqual(notes(roomy).slice(3).sort(), [4, 5, 6], "live events, once each");
    // on b: the witness's connect is new, two recovered, the forged one invalid
    assert.deepEqual(await recoveries(b), { new: 1, recovered: 2, invalid: 1 });
    assert.deepEqual(await recoveries(a), { new: 3 });

    // past the window (1 s where they land now): none recovered, each counted once
    await sleep(1500);
    px.switchTo(short.port);
    px.cut();
    await waitFor("back again", () => moving.every((s) => s.reconnects.length === 2 && s.connected), 15000);
    assert.deepEqual(moving.map((s) => s.reconnects[1]), [false, false, false]);
    assert.deepEqual(await recoveries(short), { expired: 3 });
  } finally {
    moving.forEach((s) => s.close());
    witness.close();
    await px.close();
    await stopAll([a, b, short]);
  }
});

test("when Kafka no longer holds what a client missed, recovery is refused (offset_gone) and it starts anew", async () => {
  const env = baseEnv(newPrefix("recover-gone"));
  await createTopics(env, 1);
  const gw = await startGateway(env);
  const px = await startSwitchProxy(gw.port);
  const nowhere = await freePort();
  const s = connect(px.url, await token(env, "gone-1", "buyer"));
  const witness = connect(gw.url, await token(env, "gone-2", "buyer"), { reconnection: false });
  try {
    await waitFor("connected", () => s.connected && witness.connected);
    await emitNote(env, "user-gone-1", { n: 1 });
    await waitFor("the first event", () => s.got.length === 1);
    px.switchTo(nowhere);
    px.cut();
    await waitFor("disconnected", () => !s.connected);
    await emitNote(env, "user-gone-1", { n: 2 }); // missed, then deleted as retention would
    await deleteRecords(env, "roomcast.rooms", [0]);
    // an event read after the deletion: the gateway has seen the partition's new start
    await emitNote(env, "user-gone-2", { n: 0 });
    await waitFor("the witness's event", () => witness.got.length === 1);
    px.switchTo(gw.port);
    await waitFor("back", () => s.reconnects.length === 1 && s.connected, 15000);
    assert.deepEqual(s.reconnects, [false]);
    await emitNote(env, "user-gone-1", { n: 3 });
    await waitFor("a live event on the new session", () => s.got.length === 2);
    assert.deepEqual(s.got.map((e) => e.arg.n), [1, 3]);
    assert.deepEqual(await recoveries(gw), { new: 2, offset_gone: 1 });
  } finally {
    s.close();
    witness.close();
    await px.close();
    await stopAll([gw]);
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
    assert.deepEqual(await recoveries(gw), { new: 1, recovered: 1 });
  } finally {
    socket.close();
    await stopAll([gw]);
  }
});
