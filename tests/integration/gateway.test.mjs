// The gateway (issue 3) with the stock socket.io-client and the real broker: connecting
// over both transports, refusing bad tokens, the room rules of CONTRACT §4 on two
// gateways, delivery once per socket, slow clients, the drain, and bad input.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import WebSocket from "ws";
import { createHmac } from "node:crypto";
import {
  JWT_SECRET, baseEnv, cli, createTopics, encodeRoomEvent, metric, newPrefix, produceLines,
  startGateway, stopAll, token, waitFor, withoutOffset,
} from "./lib/harness.mjs";

const FAST = { ROOMCAST_PING_INTERVAL_MS: "300", ROOMCAST_PING_TIMEOUT_MS: "200" };
let env, gwA, gwB;
const sockets = [];

before(async () => {
  env = baseEnv(newPrefix("gateway"));
  await createTopics(env);
  [gwA, gwB] = await Promise.all([startGateway(env, FAST), startGateway(env, FAST)]);
});

after(async () => {
  for (const s of sockets) s.close();
  await stopAll([gwA, gwB]);
});

function connect(url, auth, opts = {}) {
  const s = io(url, { auth, reconnection: false, transports: ["websocket"], ...opts });
  sockets.push(s);
  return s;
}

function connected(s) {
  return new Promise((resolve, reject) => {
    s.once("connect", () => resolve(s));
    s.once("connect_error", (e) => reject(e));
  });
}

async function client(url, sub, role, opts) {
  return connected(connect(url, { token: await token(env, sub, role) }, opts));
}

// Collects every event a socket receives, by name.
function record(s) {
  const got = [];
  s.onAny((event, ...args) => got.push({ event, args: withoutOffset(args) }));
  return got;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Emits with `roomcast emit` and waits until the expected sockets have it.
async function emit(room, event, payload) {
  const r = await cli(["emit", room, event, JSON.stringify(payload)], env);
  assert.equal(r.code, 0, r.stderr);
}

test("the stock client connects over WebSocket and with its defaults (polling, then upgrade)", async () => {
  const ws = await client(gwA.url, "conn-1", "buyer");
  assert.equal(ws.io.engine.transport.name, "websocket");
  const dflt = connect(gwB.url, { token: await token(env, "conn-2", "seller") }, { transports: undefined });
  const upgraded = new Promise((resolve) => dflt.io.engine.once("upgrade", (t) => resolve(t.name)));
  await connected(dflt);
  assert.equal(await upgraded, "websocket");
  // several ping intervals (300 ms + 200 ms) later both are still connected
  const drops = [];
  ws.on("disconnect", (r) => drops.push(r));
  dflt.on("disconnect", (r) => drops.push(r));
  await sleep(1600);
  assert.deepEqual(drops, []);
  assert.ok(ws.connected && dflt.connected);
});

function forge(header, payload, secret = JWT_SECRET) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const head = `${b64(header)}.${b64(payload)}`;
  const sig = secret === null ? "" : createHmac("sha256", secret).update(head).digest("base64url");
  return `${head}.${sig}`;
}

test("each bad token gets connect_error 'unauthorized' and no event", async () => {
  const now = Math.floor(Date.now() / 1000);
  const bad = {
    missing: {},
    garbage: { token: "not.a.jwt" },
    expired: { token: forge({ alg: "HS256", typ: "JWT" }, { sub: "u-exp", exp: now - 120 }) },
    badSignature: { token: forge({ alg: "HS256", typ: "JWT" }, { sub: "u-sig" }, "another-secret") },
    algNone: { token: forge({ alg: "none", typ: "JWT" }, { sub: "u-none" }, null) },
  };
  const results = {};
  const gotEvents = [];
  for (const [name, auth] of Object.entries(bad)) {
    const s = connect(gwA.url, auth);
    s.onAny((e) => gotEvents.push(e));
    results[name] = await new Promise((resolve) => {
      s.once("connect", () => resolve("connected"));
      s.once("connect_error", (e) => resolve(e.message));
    });
    assert.equal(s.active, false, `${name}: the client must not retry on its own`);
  }
  await emit("*", "system:announcement", { message: "to everyone" });
  await sleep(500);
  assert.deepEqual(results, {
    missing: "unauthorized", garbage: "unauthorized", expired: "unauthorized",
    badSignature: "unauthorized", algNone: "unauthorized",
  });
  assert.deepEqual(gotEvents, []);
  assert.ok(await metric(gwA.adminPort, "roomcast_gateway_refusals_total", 'reason="token_expired"') >= 1);
  assert.ok(await metric(gwA.adminPort, "roomcast_gateway_refusals_total", 'reason="token_bad_alg"') >= 1);
});

test("every room rule of CONTRACT §4, allowed and refused, on two gateways", async () => {
  const buyer = await client(gwA.url, "b-rules", "buyer");
  const seller = await client(gwB.url, "s-rules", "seller");
  const ack = (s, ...args) => s.timeout(5000).emitWithAck(...args);
  const ok = { ok: true }, no = { ok: false, error: "forbidden" };
  const grant = await token(env, "b-rules", null, ["--room", "request-r9"]);
  const wrongGrant = await token(env, "someone-else", null, ["--room", "request-r9"]);
  const rows = [
    [buyer, ["join-user-room", "b-rules"], ok],
    [buyer, ["join-user-room", "s-rules"], no],
    [seller, ["join-seller-room", "s-rules"], ok],
    [buyer, ["join-seller-room", "b-rules"], no],      // a buyer is no seller
    [seller, ["join-seller-room", "b-rules"], no],     // not its own id
    [buyer, ["join-buyer-room", "b-rules"], ok],
    [seller, ["join-buyer-room", "s-rules"], no],
    [buyer, ["join-request-room", "r9"], no],          // strict: no grant, no authz URL
    [buyer, ["join-request-room", "r9", wrongGrant], no],
    [buyer, ["join-request-room", "r9", grant], ok],
    [buyer, ["join-request-room", "r10", grant], no],  // a grant names one room
    [seller, ["join-chat-room", "c9"], no],
    [seller, ["leave-chat-room", "c9"], ok],           // leaving is always allowed
    [buyer, ["leave-request-room", "r9"], ok],
    [buyer, ["leave-buyer-room", "b-rules"], ok],
    [seller, ["leave-seller-room", "s-rules"], ok],
  ];
  for (const [s, args, want] of rows)
    assert.deepEqual(await ack(s, ...args), want, `${s === buyer ? "buyer" : "seller"} ${args.slice(0, 2).join(" ")}`);
  assert.ok(await metric(gwA.adminPort, "roomcast_gateway_refusals_total", 'reason="forbidden_room"') >= 4);
});

test("`roomcast emit` reaches exactly the right sockets on both gateways, once each; * reaches all", async () => {
  const u1a = await client(gwA.url, "e-u1", "buyer");
  const u1b = await client(gwB.url, "e-u1", "buyer");  // the same user on the other gateway
  const u2 = await client(gwA.url, "e-u2", "seller");
  const u3 = await client(gwB.url, "e-u3", "admin");
  const rec = [u1a, u1b, u2, u3].map(record);
  await emit("user-e-u1", "payment:completed", { paymentId: "p-1" });
  await emit("sellers", "request:created", { _id: "r-1" });
  await emit("admin", "dispute:opened", { _id: "d-1" });
  await emit("buyer-e-u1", "offer:accepted", { offerId: "o-1" });
  await emit("*", "system:maintenance", { message: "soon", startsAt: "x" });
  await waitFor("the expected deliveries", () =>
    rec[0].length >= 3 && rec[1].length >= 3 && rec[2].length >= 2 && rec[3].length >= 2, 20000);
  await sleep(500); // and nothing more
  const names = (r) => r.map((e) => e.event).sort();
  assert.deepEqual(names(rec[0]), ["offer:accepted", "payment:completed", "system:maintenance"]);
  assert.deepEqual(names(rec[1]), ["offer:accepted", "payment:completed", "system:maintenance"]);
  assert.deepEqual(names(rec[2]), ["request:created", "system:maintenance"]);
  assert.deepEqual(names(rec[3]), ["dispute:opened", "system:maintenance"]);
  assert.deepEqual(rec[0].find((e) => e.event === "payment:completed").args, [{ paymentId: "p-1" }]);
});

test("chat typing reaches the other sockets of the chat on every gateway, with the token's user id", async () => {
  const grantA = await token(env, "t-a", null, ["--room", "chat-c77"]);
  const grantB = await token(env, "t-b", null, ["--room", "chat-c77"]);
  const a = await client(gwA.url, "t-a", "buyer");
  const b = await client(gwB.url, "t-b", "seller");
  const outsider = await client(gwB.url, "t-c", "seller");
  assert.deepEqual(await a.emitWithAck("join-chat-room", "c77", grantA), { ok: true });
  assert.deepEqual(await b.emitWithAck("join-chat-room", "c77", grantB), { ok: true });
  const [ra, rb, ro] = [a, b, outsider].map(record);
  a.emit("chat:typing", { chatId: "c77", userId: "forged" });
  const refused = await outsider.emitWithAck("chat:typing", { chatId: "c77" });
  await waitFor("the relay at the other gateway", () => rb.length >= 1, 20000);
  await sleep(500); // and nothing more
  assert.deepEqual(rb, [{ event: "chat:typing", args: [{ chatId: "c77", userId: "t-a" }] }]);
  assert.deepEqual(ra, []);  // not echoed to the sender
  assert.deepEqual(ro, []);
  assert.deepEqual(refused, { ok: false, error: "forbidden" });
});

test("other client events go to roomcast.client-events with the sender's identity; the ack follows Kafka", async () => {
  const s = await client(gwA.url, "up-1", "buyer");
  const res = await s.timeout(10000).emitWithAck("offer:draft", { price: 10, note: "héllo" });
  assert.deepEqual(res, { ok: true });
  const r = await cli(["tail", "--topic", "roomcast.client-events", "--from-beginning", "--count", "1",
    "--timeout-ms", "15000"], env);
  assert.equal(r.code, 0, r.stderr);
  const ev = JSON.parse(r.stdout.trim().split("\n")[0]);
  assert.equal(ev.userId, "up-1");
  assert.equal(ev.role, "buyer");
  assert.equal(ev.event, "offer:draft");
  assert.deepEqual(ev.args, [{ price: 10, note: "héllo" }]);
  assert.equal(ev.sid, s.id);
});

test("a socket is disconnected when its token expires", async () => {
  const t = (await cli(["token", "--sub", "exp-1", "--exp", "2"], env)).stdout.trim();
  const s = await connected(connect(gwA.url, { token: t }));
  const reason = await new Promise((resolve) => s.once("disconnect", resolve));
  assert.equal(reason, "io server disconnect");
});

test("a client that stops reading is disconnected at the bound while others keep receiving", async () => {
  // default heartbeat: building 40 MB of test input blocks this process longer than 500 ms
  const gw = await startGateway(env, { ROOMCAST_SLOW_CLIENT_BYTES: "65536", ROOMCAST_SLOW_CLIENT_MS: "1000" });
  try {
    const good = await client(gw.url, "slow-good", "buyer");
    const rec = record(good);
    // a raw WebSocket client that completes the handshake, then never reads again
    const tok = await token(env, "slow-bad", "buyer");
    const raw = new WebSocket(`ws://127.0.0.1:${gw.port}/socket.io/?EIO=4&transport=websocket`);
    await new Promise((resolve) => raw.once("open", resolve));
    raw.send(`40${JSON.stringify({ token: tok })}`);
    await new Promise((resolve) => raw.once("message", resolve)); // open packet
    await new Promise((r) => setTimeout(r, 300));
    raw._socket.pause(); // stop reading: the kernel buffers fill, then the gateway's
    // 20 MB in all, more than the kernel's socket buffers hold, in paced batches a reading
    // client keeps up with; the one that does not read passes the soft bound and stays there
    const big = "x".repeat(10000);
    for (let b = 0; b < 10; b++) {
      await produceLines(env, "roomcast.rooms", Array.from({ length: 200 }, (_, k) => {
        const i = b * 200 + k;
        return { key: "buyers",
          value: encodeRoomEvent({ id: `slow-${i}`, room: "buyers", event: "request:created", args: [{ i, big }] }) };
      }));
      await sleep(300);
    }
    await waitFor("all 2000 events at the reading client",
      () => rec.filter((e) => e.event === "request:created").length >= 2000, 30000).catch((e) => {
      throw new Error(`${e.message}: got ${rec.filter((x) => x.event === "request:created").length}; ${gw.logs().slice(-2000)}`);
    });
    const slow = await metric(gw.adminPort, "roomcast_gateway_slow_client_disconnects_total");
    assert.ok(slow >= 1, `slow client disconnects: ${slow}`);
    assert.equal(rec.filter((e) => e.event === "request:created").length, 2000);
    assert.ok(good.connected, "the reading client is still connected");
    raw.terminate();
  } finally {
    await stopAll([gw]);
  }
});
