// @roomcast/emitter against the cluster's life: rooms a backend made a user's sockets join
// survive the death of their gateway (connection state recovery), and the whole path works
// on the trial broker that the README's first command starts (`roomcast broker`, librdkafka's
// mock cluster), whose Metadata answers kafkajs could not use before its front corrected them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import {
  baseEnv, bin, createTopics, newPrefix, Proc, startFanout, startGateway, startSwitchProxy, stopAll, token,
  waitFor, withoutOffset,
} from "./lib/harness.mjs";
import { sdk } from "./lib/emitter.mjs";

function connect(url, tok) {
  const s = io(url, { auth: { token: tok }, transports: ["websocket"], forceNew: true,
    reconnectionDelay: 100, reconnectionDelayMax: 300, randomizationFactor: 0 });
  s.got = [];
  s.recovered_ = [];
  s.disconnects = [];
  s.on("connect", () => s.recovered_.push(s.recovered));
  s.on("disconnect", (reason) => s.disconnects.push(reason));
  s.onAny((event, ...args) => s.got.push({ event, arg: withoutOffset(args)[0] }));
  return s;
}
const notes = (s) => s.got.filter((e) => e.event === "note").map((e) => e.arg);

test("in(user).socketsJoin(room): the user's sockets get the room's events, and still after their gateway dies", async () => {
  const env = baseEnv(newPrefix("emrecover"));
  await createTopics(env);
  const c = await startGateway(env);
  const d = await startGateway(env);
  const px = await startSwitchProxy(c.port);
  const em = sdk.createEmitter({ brokers: env.ROOMCAST_KAFKA_BROKERS, topicPrefix: env.ROOMCAST_TOPIC_PREFIX });
  const u1 = [connect(px.url, await token(env, "u1", "buyer")), connect(d.url, await token(env, "u1", "buyer"))];
  const u2 = connect(px.url, await token(env, "u2", "buyer"));
  try {
    await waitFor("connected", () => u1.every((s) => s.connected) && u2.connected);
    await em.in("user-u1").socketsJoin("request-r9");
    await em.to("request-r9").emit("note", { n: 1 });
    await waitFor("the first event on both of u1's sockets", () => u1.every((s) => notes(s).length === 1));
    px.switchTo(d.port);
    c.child.kill("SIGKILL");
    await em.to("request-r9").emit("note", { n: 2 }); // while the first socket is away
    await waitFor("back on the other gateway", () => u1[0].recovered_.length === 2 && u1[0].connected, 15000);
    assert.deepEqual(u1[0].recovered_, [false, true]);
    await em.to("request-r9").emit("note", { n: 3 });
    await em.emitToUser("u2", "note", { marker: 1 });
    await waitFor("every event", () => u1.every((s) => notes(s).length === 3) && notes(u2).length === 1);
    for (const s of u1) assert.deepEqual(notes(s), [{ n: 1 }, { n: 2 }, { n: 3 }]);
    assert.deepEqual(notes(u2), [{ marker: 1 }], "another user joined nothing");
  } finally {
    [...u1, u2].forEach((s) => s.close());
    await em.close();
    await px.close();
    await stopAll([d]);
    await c.stop("SIGKILL");
  }
});

test("on the trial broker (roomcast broker): emitter -> fanout -> gateway -> socket.io-client, and socket control", async () => {
  const prefix = newPrefix("trial");
  const broker = new Proc("roomcast", ["broker"], { PATH: process.env.PATH, ROOMCAST_TOPIC_PREFIX: prefix,
    ASAN_OPTIONS: "detect_leaks=1:abort_on_error=0" });
  let fanout, gw, em;
  const sockets = [];
  try {
    const addr = await waitFor("the trial broker's address", () => broker.lines.find((l) => /^127\.0\.0\.1:\d+$/.test(l)));
    const env = baseEnv(prefix, { ROOMCAST_KAFKA_BROKERS: addr });
    [fanout, gw] = await Promise.all([startFanout(env), startGateway(env)]);
    em = sdk.createEmitter({ brokers: addr, topicPrefix: prefix }); // idempotent: asks the controller
    const b1 = connect(gw.url, await token(env, "b1", "buyer"));
    const s1 = connect(gw.url, await token(env, "s1", "seller"));
    sockets.push(b1, s1);
    await waitFor("connected", () => b1.connected && s1.connected);
    const pub = await em.publish("offer.accepted", { offerId: "o1", sellerId: "s1", buyerId: "b1" });
    assert.deepEqual(pub.rooms, ["seller-s1", "user-b1"]);
    await em.emitToUser("b1", "note", { direct: 1 });
    await waitFor("both events", () => b1.got.length === 2 && s1.got.length === 1, 20000);
    assert.deepEqual(b1.got.map((e) => e.event).sort(), ["note", "offer:accepted"]);
    assert.deepEqual(s1.got, [{ event: "offer:accepted", arg: { offerId: "o1" } }]);
    await em.in("user-b1").disconnectSockets();
    await waitFor("b1 disconnected by the server", () => b1.disconnects.length === 1);
    assert.equal(b1.disconnects[0], "io server disconnect");
    assert.equal(s1.connected, true);
  } finally {
    sockets.forEach((s) => s.close());
    await em?.close();
    await stopAll([gw, fanout, broker]);
  }
});
