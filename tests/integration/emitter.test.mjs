// @roomcast/emitter (sdk/node, issue 14) end to end: a TypeScript backend publishes and
// emits through Kafka, the fanout routes, two gateways deliver to the stock
// socket.io-client. Also: refused payloads (the same verdict and words as roomcast
// publish, nothing written), server-side disconnect, per-room order across the three
// writers of the room topic, the partition each writer picks for a key, client events.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { io } from "socket.io-client";
import {
  baseEnv, cli, createTopics, newPrefix, root, startFanout, startGateway, stopAll, token, waitFor,
  withoutOffset,
} from "./lib/harness.mjs";
import { catalog } from "./lib/catalog.mjs";
import { domainTopics, sdk, sdkDir, startReader, writtenTo } from "./lib/emitter.mjs";

const env = baseEnv(newPrefix("emitter"));
let fanout, gwA, gwB, reader, em;
const sockets = [];

before(async () => {
  await createTopics(env, 8);
  [fanout, gwA, gwB] = await Promise.all([startFanout(env), startGateway(env), startGateway(env)]);
  reader = await startReader(env, ["roomcast.rooms"]);
  em = sdk.createEmitter({ brokers: env.ROOMCAST_KAFKA_BROKERS, topicPrefix: env.ROOMCAST_TOPIC_PREFIX });
});

after(async () => {
  sockets.forEach((s) => s.close());
  await em?.close();
  await reader?.stop();
  await stopAll([gwA, gwB, fanout]);
});

async function connect(gw, sub, role, opts = {}) {
  const s = io(gw.url, { auth: { token: await token(env, sub, role) }, transports: ["websocket"], forceNew: true,
    reconnectionDelay: 100, reconnectionDelayMax: 300, ...opts });
  s.got = [];
  s.connects = 0;
  s.disconnects = [];
  s.on("connect", () => s.connects++);
  s.on("disconnect", (reason) => s.disconnects.push({ at: Date.now(), reason }));
  s.onAny((event, ...args) => s.got.push({ event, args: withoutOffset(args) }));
  sockets.push(s);
  await waitFor(`${sub} connected`, () => s.connected);
  return s;
}

async function grant(s, sub, room) {
  const kind = room.startsWith("chat-") ? "join-chat-room" : "join-request-room";
  const res = await s.emitWithAck(kind, room.slice(room.indexOf("-") + 1), await token(env, sub, null, ["--room", room]));
  assert.deepEqual(res, { ok: true }, `${sub} joins ${room}`);
}

const run = (file, extraEnv) => new Promise((resolve) => execFile(process.execPath, [file],
  { env: { ...env, ...extraEnv }, timeout: 60000 }, (err, stdout, stderr) => resolve({ code: err ? err.code ?? 1 : 0, stdout, stderr })));

test("a TypeScript program sends every catalog type and every helper: the right sockets on two gateways get each once", async () => {
  const people = { b1: ["buyer", gwA], s1: ["seller", gwB], s2: ["seller", gwA], adm: ["admin", gwB], b2: ["buyer", gwB] };
  const s = {};
  for (const [id, [role, gw]] of Object.entries(people)) s[id] = await connect(gw, id, role);
  for (const [id, room] of [["b1", "request-r1"], ["s1", "request-r1"], ["b1", "chat-c1"], ["s1", "chat-c1"]]) await grant(s[id], id, room);

  const r = await run(path.join(sdkDir, "dist/test/programs/send-all.js"),
    { ROOMCAST_CATALOG_MODULE: path.join(root, "tests/integration/lib/catalog.mjs") });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim().split("\n").length, catalog.length + 7);

  const members = {
    "user-b1": ["b1"], "user-s1": ["s1"], "seller-s1": ["s1"], sellers: ["s1", "s2"], buyers: ["b1", "b2"],
    "user-adm": ["adm"], "request-r1": ["b1", "s1"], "chat-c1": ["b1", "s1"], admin: ["adm"], "*": Object.keys(s),
  };
  const rows = [...catalog.map((c) => ({ rooms: c.rooms, event: c.event, args: [c.delivered] })),
    { rooms: ["request-r1"], event: "helper:room", args: [{ n: 1 }] },
    { rooms: ["user-b1"], event: "helper:user", args: [{ n: 2 }] },
    { rooms: ["sellers"], event: "helper:sellers", args: [{ n: 3 }] },
    { rooms: ["buyers"], event: "helper:buyers", args: [{ n: 4 }] },
    { rooms: ["*"], event: "helper:global", args: [{ n: 5 }] },
    { rooms: ["sellers", "seller-s1", "user-adm"], event: "helper:to", args: [{ n: 6 }, "two"] },
    { rooms: ["*"], event: "test:done", args: [{}] }];
  const expected = Object.fromEntries(Object.keys(s).map((id) => [id, []]));
  for (const row of rows)
    for (const id of new Set(row.rooms.flatMap((room) => members[room] ?? []))) expected[id].push({ event: row.event, args: row.args });
  await waitFor("every expected delivery and the marker", () => Object.entries(s).every(([id, x]) =>
    x.got.length >= expected[id].length && x.got.some((e) => e.event === "test:done")), 30000).catch((e) => {
    throw new Error(`${e.message}: ${JSON.stringify(Object.fromEntries(Object.entries(s).map(([k, x]) => [k, x.got.map((g) => g.event)])))}`);
  });
  const byEvent = (l) => [...l].sort((x, y) => x.event.localeCompare(y.event));
  for (const [id, x] of Object.entries(s)) assert.deepEqual(byEvent(x.got), byEvent(expected[id]), `socket ${id}`);
});

// Every catalog row with each field that matters broken in turn (removed, or given a
// value of another kind): the fields of the payload, and the ids inside its objects.
function brokenPayloads() {
  const kinds = [{}, 1.5, "", true, [1], null];
  const out = [];
  for (const row of catalog) {
    const paths = [];
    for (const [k, v] of Object.entries(row.payload)) {
      paths.push([k]);
      if (v && typeof v === "object" && !Array.isArray(v))
        for (const kk of Object.keys(v)) if (/Ids?$/.test(kk)) paths.push([k, kk]);
    }
    for (const p of paths) {
      const at = (o) => p.slice(0, -1).reduce((x, k) => x[k], o);
      const del = structuredClone(row.payload);
      delete at(del)[p.at(-1)];
      const bad = structuredClone(row.payload);
      at(bad)[p.at(-1)] = kinds[out.length % kinds.length];
      out.push([row.type, del], [row.type, bad]);
    }
  }
  return out;
}

test("a payload the fanout would refuse throws naming the field, in roomcast publish's words, and nothing is written", async () => {
  const cases = brokenPayloads();
  const judge = sdk.createMemoryEmitter(); // the same checks, writing nothing
  const verdicts = cases.map(([type, payload]) => {
    try {
      judge.publish(type, payload);
      return { type, payload, err: null };
    } catch (err) {
      return { type, payload, err };
    }
  });
  const refused = verdicts.filter((v) => v.err);
  assert.ok(refused.length >= 50, `${refused.length} of ${cases.length} refused`);
  const before = await writtenTo(env, domainTopics);
  for (const v of refused) {
    assert.throws(() => em.publish(v.type, v.payload), (e) => e instanceof sdk.RoutingError && e.message === v.err.message);
    assert.match(v.err.message, /^[a-z._]+: (missing \S|\S+ is |no room)/, v.err.message);
  }
  assert.equal(await writtenTo(env, domainTopics), before, "nothing written");
  // the fanout's own table (C, through roomcast publish) says the same of every case
  for (let i = 0; i < verdicts.length; i += 6)
    await Promise.all(verdicts.slice(i, i + 6).map(async (v) => {
      const r = await cli(["publish", v.type, JSON.stringify(v.payload)], env);
      const what = `${v.type} ${JSON.stringify(v.payload)}`;
      if (v.err) assert.equal(r.stderr.trim(), `roomcast: ${v.err.message}`, what);
      assert.equal(r.code, v.err ? 2 : 0, `${what}: ${r.stderr}`);
    }));
  // by name, as a developer meets it
  assert.throws(() => em.publish("payment.status_updated", { paymentId: "p1", status: "ok", providerPaymentId: "x", buyerId: "b1" }),
    { name: "RoutingError", message: /^payment\.status_updated: missing sellerId \(the event wants/ });
  assert.throws(() => em.publish("offer.accepted", { offerId: "o1", sellerId: 3.5, buyerId: "b1" }),
    { name: "RoutingError", message: /^offer\.accepted: sellerId is a fractional number, not a string or integer/ });
});

test("in(user).disconnectSockets(): every socket of the user on both gateways within a second, no reconnect, others untouched", async () => {
  const u1 = [await connect(gwA, "dc-u1", "buyer"), await connect(gwB, "dc-u1", "buyer")];
  const u2 = [await connect(gwA, "dc-u2", "seller"), await connect(gwB, "dc-u2", "seller")];
  const ids = u2.map((x) => x.id);
  await em.in("user-dc-u1").disconnectSockets();
  const written = Date.now();
  await waitFor("u1's sockets disconnected", () => u1.every((x) => x.disconnects.length === 1), 5000);
  for (const x of u1) {
    assert.equal(x.disconnects[0].reason, "io server disconnect");
    assert.ok(x.disconnects[0].at - written < 1000, `${x.disconnects[0].at - written} ms`);
  }
  // told "io server disconnect", the client gave up reconnecting (active false) at once
  assert.deepEqual(u1.map((x) => x.active), [false, false]);
  await em.emitToUser("dc-u2", "marker", 1);
  await waitFor("u2's marker", () => u2.every((x) => x.got.some((e) => e.event === "marker")));
  assert.deepEqual(u1.map((x) => [x.connected, x.active, x.connects]), [[false, false, 1], [false, false, 1]]);
  assert.deepEqual(u2.map((x) => [x.connected, x.id, x.disconnects.length]), [[true, ids[0], 0], [true, ids[1], 0]]);
});

test("one room's events from the emitter, the fanout and a gateway relay arrive in the order they were written", async () => {
  const b = await connect(gwA, "ord-b", "buyer");
  const s = await connect(gwB, "ord-s", "seller");
  await grant(b, "ord-b", "chat-ord");
  await grant(s, "ord-s", "chat-ord");
  const writes = [];
  for (let i = 0; i < 12; i++) {
    if (i % 3 === 0) writes.push(em.to("chat-ord").emit("chat:note", { i }));
    else if (i % 3 === 1) writes.push(em.publish("chat.message_read", { chatId: "ord", messageId: `m${i}`, userId: "ord-s", readAt: `t${i}` }));
    else b.emit("chat:typing", { chatId: "ord" });
  }
  await Promise.all(writes);
  const fromKafka = () => reader.records.filter((r) => r.key === "chat-ord");
  await waitFor("12 records in the room topic", () => fromKafka().length === 12);
  await waitFor("12 events at the receiver", () => s.got.length === 12);
  const recs = fromKafka();
  assert.equal(new Set(recs.map((r) => r.partition)).size, 1, "one partition for the room, whoever wrote");
  assert.deepEqual(new Set(recs.map((r) => r.message.event)), new Set(["chat:note", "chat:message-read", "chat:typing"]));
  const written = [...recs].sort((x, y) => x.offset - y.offset).map((r) => ({ event: r.message.event, args: r.args }));
  assert.deepEqual(s.got, written);
});

test("a room's key lands on one partition whoever writes it: the emitter, roomcast emit, the fanout, a gateway", async () => {
  const ids = ["1", "42", "r-9", "x".repeat(60), "héllo", "日本", "emoji-🎉", "a b", "ZZ", "0", "-1", "req_77", "kk",
    "v.1", "last"];
  const rooms = ids.map((x) => `request-${x}`);
  const sdkParts = Object.fromEntries((await em.to(rooms).emit("p", 1)).records.map((r) => [r.key, r.partition]));
  const cliParts = {};
  for (let i = 0; i < rooms.length; i += 5)
    await Promise.all(rooms.slice(i, i + 5).map(async (room) => {
      const r = await cli(["emit", room, "p", "2"], env);
      assert.equal(r.code, 0, r.stderr);
      cliParts[room] = JSON.parse(r.stdout).partition;
    }));
  for (const x of ids) em.publish("request.status_updated", { requestId: x, status: "p3" });
  // a gateway's relay: chat rooms
  const relayer = await connect(gwA, "part-b", "buyer");
  const chats = ["c-1", "c-héllo", "c-99"];
  for (const c of chats) await grant(relayer, "part-b", `chat-${c}`);
  const chatSdk = Object.fromEntries((await em.to(chats.map((c) => `chat-${c}`)).emit("p", 1)).records.map((r) => [r.key, r.partition]));
  for (const c of chats) relayer.emit("chat:typing", { chatId: c });
  const fromKafka = (key, event) => reader.records.find((r) => r.key === key && r.message.event === event);
  await waitFor("the fanout's and the gateway's records", () => rooms.every((room) => fromKafka(room, "request:status-updated")) &&
    chats.every((c) => fromKafka(`chat-${c}`, "chat:typing")));
  for (const room of rooms) {
    assert.equal(cliParts[room], sdkParts[room], `${room}: roomcast emit`);
    assert.equal(fromKafka(room, "request:status-updated").partition, sdkParts[room], `${room}: the fanout`);
  }
  for (const c of chats) assert.equal(fromKafka(`chat-${c}`, "chat:typing").partition, chatSdk[`chat-${c}`], `chat-${c}: a gateway`);
  assert.ok(new Set(Object.values(sdkParts)).size >= 4, "the keys spread over the partitions");
});

test("client events reach a consumer group's typed handler with the sender's identity", async () => {
  const got = [];
  const consumer = sdk.createClientEventConsumer({ brokers: env.ROOMCAST_KAFKA_BROKERS, topicPrefix: env.ROOMCAST_TOPIC_PREFIX,
    groupId: `${env.ROOMCAST_TOPIC_PREFIX}backend`, fromBeginning: true })
    .on("offer:draft", (args, info) => { got.push({ args, info }); })
    .onAny((event, args, info) => { got.push({ event, args, info }); });
  await consumer.start();
  try {
    const s = await connect(gwB, "ce-u1", "seller");
    assert.deepEqual(await s.timeout(10000).emitWithAck("offer:draft", { price: 10 }, Buffer.from([1, 2, 3])), { ok: true });
    s.emit("something:else", "x");
    await waitFor("both events", () => got.length === 2, 30000);
    const draft = got.find((g) => !g.event);
    assert.deepEqual(draft.args, [{ price: 10 }, Buffer.from([1, 2, 3])]);
    assert.deepEqual([draft.info.event, draft.info.userId, draft.info.role, draft.info.sid], ["offer:draft", "ce-u1", "seller", s.id]);
    assert.ok(Date.now() - draft.info.receivedAt.getTime() < 60000);
    const other = got.find((g) => g.event);
    assert.deepEqual([other.event, other.args], ["something:else", ["x"]]);
  } finally {
    await consumer.stop();
  }
});
