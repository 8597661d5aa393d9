// Duplicate suppression (issue 11): a room event that reaches the room topic twice with
// the same id (a backend that retries a domain event, a fanout that re-processes after a
// crash) reaches each socket once, on every gateway, live and after a recovery. The
// stock client and the real broker, fanout and gateways.
import { test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import {
  Proc, baseEnv, cli, createTopics, encodeRoomEvent, metric, newPrefix, produceLines, startFanout,
  startGateway, stopAll, token, waitFor, withoutOffset,
} from "./lib/harness.mjs";

function connect(url, tok) {
  const s = io(url, { auth: { token: tok }, transports: ["websocket"], reconnectionDelay: 100,
    reconnectionDelayMax: 400, randomizationFactor: 0 });
  s.got = [];
  s.onAny((event, ...args) => s.got.push({ event, arg: withoutOffset(args)[0] }));
  return s;
}

const ids = (s, event) => s.got.filter((g) => g.event === event).map((g) => g.arg.paymentId ?? g.arg.n);

async function publish(env, type, payload, id) {
  const r = await cli(["publish", type, JSON.stringify(payload), "--id", id], env);
  assert.equal(r.code, 0, r.stderr);
}

test("a domain event published twice with the same id reaches each socket once, on two gateways", async () => {
  const env = baseEnv(newPrefix("dedup-domain"));
  await createTopics(env);
  const fanout = await startFanout(env);
  const a = await startGateway(env);
  const b = await startGateway(env);
  const socks = [];
  try {
    // the buyer on both gateways, the seller on one
    socks.push(connect(a.url, await token(env, "b1", "buyer")), connect(b.url, await token(env, "b1", "buyer")),
      connect(b.url, await token(env, "s1", "seller")));
    await waitFor("connected", () => socks.every((s) => s.connected));
    const pay = (paymentId) => ({ paymentId, buyerId: "b1", sellerId: "s1" });
    // The backend retries: the same id twice, then once more after another event.
    await publish(env, "payment.completed", pay("p-1"), "dup-1");
    await publish(env, "payment.completed", pay("p-1"), "dup-1");
    await publish(env, "payment.completed", pay("p-2"), "once-2");
    await publish(env, "payment.completed", pay("p-1"), "dup-1");
    await publish(env, "payment.completed", pay("p-3"), "once-3");
    // p-3 is the last one published: once it is in, every copy of dup-1 came before it
    await waitFor("the last event everywhere", () => socks.every((s) => ids(s, "payment:completed").includes("p-3")));
    for (const s of socks) assert.deepEqual(ids(s, "payment:completed"), ["p-1", "p-2", "p-3"]);
    // three copies of each room event on the topic, two of them dropped by each gateway
    for (const g of [a, b])
      assert.ok(await metric(g.adminPort, "roomcast_gateway_room_events_total", 'result="duplicate"') >= 2);
    // the fanout counts an event once Kafka acknowledged its room events (a moment later)
    await waitFor("the fanout counted all five", async () =>
      await metric(fanout.adminPort, "roomcast_fanout_events_total", 'type="payment.completed"') === 5);
  } finally {
    for (const s of socks) s.close();
    await stopAll([a, b, fanout]);
  }
});

test("room events written twice reach a socket once, and a socket in several target rooms once", async () => {
  const env = baseEnv(newPrefix("dedup-room"));
  await createTopics(env);
  const g = await startGateway(env, { ROOMCAST_ROOM_POLICY: "open" });
  const s = connect(g.url, await token(env, "u7", "buyer"));
  try {
    await waitFor("connected", () => s.connected);
    assert.deepEqual(await s.emitWithAck("join-chat-room", "c7"), { ok: true });
    const copy = (id, room, n) => ({ key: room, value: encodeRoomEvent({ id, room, rooms: ["chat-c7", "user-u7"], event: "chat:new-message", args: [{ n }] }) });
    // e1: both copies twice (a re-processed batch); e2 once; e3 marks the end
    await produceLines(env, "roomcast.rooms", [copy("e1", "chat-c7", 1), copy("e1", "user-u7", 1), copy("e1", "chat-c7", 1),
      copy("e1", "user-u7", 1), copy("e2", "chat-c7", 2), copy("e2", "user-u7", 2)]);
    await produceLines(env, "roomcast.rooms", [copy("e1", "user-u7", 1), copy("e3", "user-u7", 3), copy("e3", "chat-c7", 3)]);
    await waitFor("e3", () => ids(s, "chat:new-message").includes(3));
    assert.deepEqual(ids(s, "chat:new-message"), [1, 2, 3]);
  } finally {
    s.close();
    await stopAll([g]);
  }
});

test("the set of seen ids is bounded: past ROOMCAST_DEDUP_MAX_EVENTS the oldest go, counted", async () => {
  const env = baseEnv(newPrefix("dedup-bound"));
  await createTopics(env);
  const g = await startGateway(env, { ROOMCAST_DEDUP_MAX_EVENTS: "1024" });
  const s = connect(g.url, await token(env, "u8", "buyer"));
  try {
    await waitFor("connected", () => s.connected);
    const ev = (i) => ({ key: "user-u8", value: encodeRoomEvent({ id: `b-${i}`, room: "user-u8", event: "n", args: [{ n: i }] }) });
    await produceLines(env, "roomcast.rooms", Array.from({ length: 3000 }, (_, i) => ev(i)));
    await waitFor("3000 events", () => ids(s, "n").length === 3000, 30000);
    assert.equal(await metric(g.adminPort, "roomcast_gateway_dedup_entries"), 1024);
    assert.equal(await metric(g.adminPort, "roomcast_gateway_dedup_evicted_early_total"), 3000 - 1024);
    // the newest ids are still known, so their copies are dropped; the oldest are not
    await produceLines(env, "roomcast.rooms", [ev(2999), ev(0), ev(3000)]);
    await waitFor("the marker", () => ids(s, "n").includes(3000));
    assert.deepEqual(ids(s, "n").slice(3000), [0, 3000]);
  } finally {
    s.close();
    await stopAll([g]);
  }
});

test("a bad dedup setting stops the gateway with one line naming it", async () => {
  const env = baseEnv(newPrefix("dedup-settings"));
  for (const [k, v] of [["ROOMCAST_DEDUP_MAX_EVENTS", "12"], ["ROOMCAST_DEDUP_WINDOW_SECONDS", "0"]]) {
    const p = new Proc("roomcast-gateway", [], { ...env, [k]: v });
    await p.exited;
    assert.equal(p.exitStatus().code, 2, p.logs());
    assert.match(p.logs().trim(), new RegExp(`^roomcast-gateway: ${k}: "${v}"`));
  }
});
