// Server-side control of live sockets (issue 14): `roomcast sockets join|leave|disconnect`
// writes a control record on the room topic, and every gateway applies it to its local
// sockets in the room, as Socket.IO's socketsJoin / socketsLeave / disconnectSockets do
// across nodes with the Redis adapter. Stock socket.io-client, two gateways, real Kafka.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import {
  baseEnv, cli, createTopics, encodeRoomEvent, metric, newPrefix, produceLines, startGateway,
  startSwitchProxy, startTail, stopAll, token, waitFor, withoutOffset,
} from "./lib/harness.mjs";

const env = baseEnv(newPrefix("control"));
let gwA, gwB;
const sockets = [];

before(async () => {
  await createTopics(env);
  [gwA, gwB] = await Promise.all([startGateway(env), startGateway(env)]);
});

after(async () => {
  sockets.forEach((s) => s.close());
  await stopAll([gwA, gwB]);
});

// A client that records events (without the recovery offset), connects and disconnects.
function connect(url, tok) {
  const s = io(url, { auth: { token: tok }, transports: ["websocket"], forceNew: true,
    reconnectionDelay: 100, reconnectionDelayMax: 300, randomizationFactor: 0 });
  s.got = [];
  s.connects = [];
  s.disconnects = [];
  s.on("connect", () => s.connects.push({ at: Date.now(), recovered: s.recovered }));
  s.on("disconnect", (reason) => s.disconnects.push({ at: Date.now(), reason }));
  s.onAny((event, ...args) => s.got.push({ event, arg: withoutOffset(args)[0] }));
  sockets.push(s);
  return s;
}

async function user(url, sub, role = "buyer") {
  const s = connect(url, await token(env, sub, role));
  await waitFor(`${sub} connected`, () => s.connected);
  return s;
}

async function run(args) {
  const r = await cli(args, env);
  assert.equal(r.code, 0, `roomcast ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim().split("\n").map((l) => JSON.parse(l));
}

const emit = (room, arg) => run(["emit", room, "note", JSON.stringify(arg)]);
const notes = (s) => s.got.filter((e) => e.event === "note").map((e) => e.arg);

test("disconnect: every socket of the user on both gateways, within a second, no reconnect; others untouched", async () => {
  const [u1a, u1b, u2a, u2b] = [await user(gwA.url, "d-u1"), await user(gwB.url, "d-u1"),
    await user(gwA.url, "d-u2"), await user(gwB.url, "d-u2")];
  const ids = [u2a.id, u2b.id];
  const [written] = await run(["sockets", "disconnect", "user-d-u1"]);
  const acked = Date.now();
  assert.match(written.id, /^[0-9a-f-]{36}$/);
  await waitFor("u1's sockets disconnected", () => u1a.disconnects.length && u1b.disconnects.length, 5000);
  for (const s of [u1a, u1b]) {
    assert.equal(s.disconnects[0].reason, "io server disconnect");
    assert.ok(s.disconnects[0].at - acked < 1000, `disconnected ${s.disconnects[0].at - acked} ms after the record`);
  }
  // told "io server disconnect", the client gave up reconnecting (active false) at once;
  // the marker: an event for u2 written after the record
  assert.deepEqual([u1a.active, u1b.active], [false, false]);
  await emit("user-d-u2", { marker: 1 });
  await waitFor("u2's marker", () => notes(u2a).length === 1 && notes(u2b).length === 1);
  assert.deepEqual([u1a.connected, u1b.connected, u1a.active, u1b.active], [false, false, false, false]);
  assert.equal(u1a.connects.length + u1b.connects.length, 2, "no reconnect");
  assert.deepEqual([u2a.connected, u2b.connected, u2a.id, u2b.id], [true, true, ...ids]);
  assert.deepEqual([u2a.disconnects, u2b.disconnects], [[], []]);
  assert.equal(await metric(gwA.adminPort, "roomcast_gateway_control_sockets_total", 'action="disconnect"'), 1);
  assert.equal(await metric(gwB.adminPort, "roomcast_gateway_control_sockets_total", 'action="disconnect"'), 1);
});

test("join and leave: the user's sockets on both gateways get the room's events, then stop", async () => {
  const [a, b, other] = [await user(gwA.url, "j-u3"), await user(gwB.url, "j-u3"), await user(gwB.url, "j-u4")];
  await run(["sockets", "join", "user-j-u3", "request-r9", "chat-c9"]);
  await emit("request-r9", { n: 1 });
  await emit("chat-c9", { n: 2 });
  await waitFor("both sockets got both", () => notes(a).length === 2 && notes(b).length === 2);
  assert.deepEqual(notes(a), [{ n: 1 }, { n: 2 }]);
  assert.deepEqual(notes(b), [{ n: 1 }, { n: 2 }]);
  await run(["sockets", "leave", "user-j-u3", "request-r9"]);
  await emit("request-r9", { n: 3 });
  await emit("chat-c9", { n: 4 });
  await emit("user-j-u4", { marker: 1 });
  await waitFor("the chat event and the marker", () => notes(a).length === 3 && notes(b).length === 3 && notes(other).length === 1);
  assert.deepEqual(notes(a), [{ n: 1 }, { n: 2 }, { n: 4 }], "request-r9 left, chat-c9 kept");
  assert.deepEqual(notes(other), [{ marker: 1 }], "another user joined nothing");
});

test("a record for several rooms, or for every socket, acts once per socket", async () => {
  const s = await user(gwA.url, "m-u5", "seller"); // in user-m-u5, seller-m-u5 and sellers
  const t = await user(gwB.url, "m-u6", "buyer");
  await run(["sockets", "join", "*", "announcements"]);
  await emit("announcements", { n: 1 });
  await waitFor("both got it", () => notes(s).length === 1 && notes(t).length === 1);
  const before = await metric(gwA.adminPort, "roomcast_gateway_control_sockets_total", 'action="disconnect"');
  await run(["sockets", "disconnect", "sellers", "user-m-u5", "seller-m-u5", "--close"]);
  await waitFor("the seller disconnected", () => s.disconnects.length === 1);
  assert.equal(s.disconnects[0].reason, "io server disconnect");
  await emit("user-m-u6", { marker: 1 });
  await waitFor("the buyer's marker", () => notes(t).length === 2);
  assert.equal(t.connected, true);
  assert.equal(await metric(gwA.adminPort, "roomcast_gateway_control_sockets_total", 'action="disconnect"') - before, 1,
    "three copies of the record, one socket acted on");
});

test("rooms joined by a record survive a gateway's death: recovery brings them back", async () => {
  const c = await startGateway(env);
  const d = await startGateway(env);
  const px = await startSwitchProxy(c.port);
  try {
    // seen: gets an event of the joined room before the gateway dies (its offset then
    // carries the room); quiet: gets nothing between the join and the death (the replay
    // of the record gives the room back)
    const seen = await user(px.url, "r-u7");
    const quiet = await user(px.url, "r-u8");
    await run(["sockets", "join", "user-r-u7", "request-r9", "lounge"]); // an entity room, and any room
    await run(["sockets", "join", "user-r-u8", "request-r8"]);
    await emit("request-r9", { n: 1 });
    await waitFor("seen got the first", () => notes(seen).length === 1);
    px.switchTo(d.port);
    c.child.kill("SIGKILL");
    await emit("request-r9", { n: 2 }); // while the clients are away
    await waitFor("both back", () => seen.connects.length === 2 && quiet.connects.length === 2 &&
      seen.connected && quiet.connected, 15000);
    assert.deepEqual([seen.connects[1].recovered, quiet.connects[1].recovered], [true, true]);
    // quiet's room comes back when the replay reaches the record: live events of that
    // room that pass before then find no member (control.h says so); wait for it
    await waitFor("the replayed join", async () =>
      await metric(d.adminPort, "roomcast_gateway_control_sockets_total", 'action="join"') === 1);
    await emit("request-r9", { n: 3 });
    await emit("request-r8", { n: 4 });
    await emit("lounge", { n: 5 });
    await waitFor("live events of the joined rooms", () => notes(seen).length === 4 && notes(quiet).length === 1)
      .catch((e) => { throw new Error(`${e.message}: ${JSON.stringify([notes(seen), notes(quiet)])}`); });
    assert.deepEqual(notes(seen), [{ n: 1 }, { n: 2 }, { n: 3 }, { n: 5 }]);
    assert.deepEqual(notes(quiet), [{ n: 4 }]);
  } finally {
    await px.close();
    await stopAll([d]);
    await c.stop("SIGKILL");
  }
});

test("an invalid record is counted and skipped; tail shows records; the CLI checks its arguments", async () => {
  const s = await user(gwA.url, "i-u9");
  // action unspecified (RoomControl {} as field 10): invalid
  const bad = Buffer.concat([encodeRoomEvent({ id: "bad-1", room: "user-i-u9", event: "", args: [] }), Buffer.from([0x52, 0x00])]);
  const tail = await startTail(env, ["user-i-u9"]);
  try {
    await produceLines(env, "roomcast.rooms", [{ key: "user-i-u9", value: bad }]);
    await run(["sockets", "join", "user-i-u9", "chat-c1"]);
    await emit("chat-c1", { after: 1 });
    await waitFor("the event after the bad record", () => notes(s).length === 1);
    assert.equal(await metric(gwA.adminPort, "roomcast_gateway_control_records_total", 'action="invalid"'), 1);
    assert.equal(s.connected, true);
    await waitFor("tail saw both records", () => tail.events.length >= 2);
    assert.deepEqual(tail.events[1].control, { action: "join", rooms: ["chat-c1"], close: false });
    assert.equal(tail.events[1].event, "");
  } finally {
    await tail.stop();
  }
  for (const args of [["sockets", "join", "user-x"], ["sockets", "kick", "user-x"], ["sockets", "leave", "user-x", ""],
    ["sockets", "join", "user-x", "a", "--close"], ["sockets", "disconnect", "bad\u0001room"]]) {
    const r = await cli(args, env);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
  }
});
