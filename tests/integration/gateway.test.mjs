// The gateway (issue 3) with the stock socket.io-client and the real broker: connecting
// over both transports, refusing bad tokens, the room rules of CONTRACT §4 on two
// gateways, delivery once per socket, token expiry, slow clients and bad input.
// A negative check ("no event") always ends on a positive one: a marker sent after it.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import WebSocket from "ws";
import net from "node:net";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createHmac } from "node:crypto";
import {
  JWT_SECRET, baseEnv, bin, cli, createTopics, encodeRoomEvent, engineSession, metric, newPrefix,
  startGateway, stopAll, token, waitFor, withoutOffset,
} from "./lib/harness.mjs";

const FAST = { ROOMCAST_PING_INTERVAL_MS: "300", ROOMCAST_PING_TIMEOUT_MS: "200" };
let env, gwA, gwB;
const sockets = [];

before(async () => {
  env = baseEnv(newPrefix("gateway"));
  // one room partition: every room event is in one order, so a marker sent last shows
  // that everything before it has been delivered
  await createTopics(env, 1);
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
  // several heartbeats (300 ms + 200 ms) later both are still connected
  const drops = [];
  ws.on("disconnect", (r) => drops.push(r));
  dflt.on("disconnect", (r) => drops.push(r));
  const pings = [0, 0];
  ws.io.on("ping", () => pings[0]++);
  dflt.io.on("ping", () => pings[1]++);
  await waitFor("four heartbeats each", () => pings[0] >= 4 && pings[1] >= 4);
  assert.deepEqual(drops, []);
  assert.ok(ws.connected && dflt.connected);
});

function forge(header, payload, secret = JWT_SECRET) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const head = `${b64(header)}.${b64(payload)}`;
  const sig = secret === null ? "" : createHmac("sha256", secret).update(head).digest("base64url");
  return `${head}.${sig}`;
}

test("each bad token gets connect_error 'unauthorized'; its session, still open, gets no event", async () => {
  const now = Math.floor(Date.now() / 1000);
  const bad = {
    missing: {},
    garbage: { token: "not.a.jwt" },
    expired: { token: forge({ alg: "HS256", typ: "JWT" }, { sub: "u-exp", exp: now - 120 }) },
    badSignature: { token: forge({ alg: "HS256", typ: "JWT" }, { sub: "u-sig" }, "another-secret") },
    algNone: { token: forge({ alg: "none", typ: "JWT" }, { sub: "u-none" }, null) },
  };
  const results = {};
  for (const [name, auth] of Object.entries(bad)) {
    const s = connect(gwA.url, auth);
    results[name] = await new Promise((resolve) => {
      s.once("connect", () => resolve("connected"));
      s.once("connect_error", (e) => resolve(e.message));
    });
    assert.equal(s.active, false, `${name}: the client must not retry on its own`);
  }
  assert.deepEqual(results, {
    missing: "unauthorized", garbage: "unauthorized", expired: "unauthorized",
    badSignature: "unauthorized", algNone: "unauthorized",
  });
  // Below the client, on both transports: the Engine.IO session of a refused socket stays
  // open. An event for everyone goes by (a connected socket shows it did), then each
  // session connects with a good token and gets a marker: only the marker.
  const sessions = [];
  for (const transport of ["websocket", "polling"])
    for (const [name, auth] of Object.entries(bad)) {
      const e = await engineSession(gwA.port, transport);
      const answer = await e.connect(auth);
      assert.equal(answer, '44{"message":"unauthorized"}', `${transport} ${name}`);
      sessions.push(e);
    }
  const witness = record(await client(gwA.url, "w-bad", "buyer"));
  await emit("*", "system:announcement", { message: "to everyone" });
  await waitFor("the event at a connected socket", () => witness.length === 1);
  for (const [i, e] of sessions.entries())
    assert.match(await e.connect({ token: await token(env, `u-good-${i}`, "buyer") }), /^40\{"sid"/);
  await emit("*", "system:announcement", { message: "marker" });
  await waitFor("the marker at every session", () => sessions.every((e) => e.events().length >= 1));
  for (const e of sessions)
    assert.deepEqual(e.events().map((ev) => ev[1].message), ["marker"]);
  assert.ok(sessions.every((e) => !e.closed));
  sessions.forEach((e) => e.close());
  assert.ok(await metric(gwA.adminPort, "roomcast_gateway_refusals_total", 'reason="token_expired"') >= 2);
  assert.ok(await metric(gwA.adminPort, "roomcast_gateway_refusals_total", 'reason="token_bad_alg"') >= 2);
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
  await emit("*", "marker", {}); // and nothing more: everything before it was delivered
  await waitFor("the marker at each", () => rec.every((r) => r.some((e) => e.event === "marker")), 20000);
  const names = (r) => r.filter((e) => e.event !== "marker").map((e) => e.event).sort();
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
  assert.deepEqual(refused, { ok: false, error: "forbidden" });
  // Relays of one chat share its partition, in order. Each side answers once it has the
  // other's: an echo to the sender, or the outsider's relay, would come before the answer.
  await waitFor("a's relay at the other gateway", () => rb.length >= 1, 20000);
  b.emit("chat:stopped-typing", { chatId: "c77" });
  await waitFor("b's relay at a", () => ra.length >= 1, 20000);
  a.emit("chat:stopped-typing", { chatId: "c77" });
  await waitFor("a's second relay at b", () => rb.length >= 2, 20000);
  const relay = (event, userId) => ({ event, args: [{ chatId: "c77", userId }] });
  assert.deepEqual(rb, [relay("chat:typing", "t-a"), relay("chat:stopped-typing", "t-a")]);
  assert.deepEqual(ra, [relay("chat:stopped-typing", "t-b")]);
  // the outsider is in no chat room: a marker to its own room shows nothing came before it
  await emit("user-t-c", "marker", {});
  await waitFor("the outsider's marker", () => ro.length >= 1, 20000);
  assert.deepEqual(ro.map((e) => e.event), ["marker"]);
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

test("at its token's exp a socket is disconnected within a second, over WebSocket and polling, and gets nothing after", async (t) => {
  const expiring = async (transport) => {
    const user = `exp-${transport}`;
    const t = (await cli(["token", "--sub", user, "--exp", "3"], env)).stdout.trim();
    const exp = JSON.parse(Buffer.from(t.split(".")[1], "base64url")).exp;
    const e = await engineSession(gwA.port, transport);
    assert.match(await e.connect({ token: t }), /^40/);
    // the stock client with that transport alone: told why, it does not come back by itself
    const stock = await connected(connect(gwA.url, { token: t }, { transports: [transport], reconnection: true,
      reconnectionDelay: 100 }));
    const why = new Promise((resolve) => stock.once("disconnect", resolve));
    // a socket of the same user with a longer token, on the same gateway: it shows what went by
    const witness = record(await client(gwA.url, user, "buyer"));
    await emit(`user-${user}`, "note", { n: 1 });
    await waitFor(`${transport}: an event while the token lives`, () => e.events().length === 1 && witness.length === 1);
    assert.equal(await why, "io server disconnect", `${transport}: the stock client's reason`);
    assert.equal(stock.active, false, `${transport}: the stock client stays out`);
    await waitFor(`${transport}: DISCONNECT`, () => e.packets.includes("41"), 15000).catch((err) => { throw new Error(`${err.message}: ${JSON.stringify(e.packets)} closed ${e.closed}`); });
    await emit(`user-${user}`, "note", { n: 2 });
    await waitFor(`${transport}: the event after, at the witness`, () => witness.length === 2);
    await waitFor(`${transport}: the session closed`, () => e.closed);
    assert.deepEqual(e.events().map((ev) => ev[1].n), [1], `${transport}: nothing after the DISCONNECT`);
    // when the gateway disconnected it, by its own log: at most a second after exp
    const line = gwA.lines.map((l) => { try { return JSON.parse(l); } catch { return {}; } })
      .find((l) => l.msg === "token expired: socket disconnected" && l.user === user);
    const late = Date.parse(line.ts) - exp * 1000;
    e.close();
    return late;
  };
  const late = await Promise.all([expiring("websocket"), expiring("polling")]);
  t.diagnostic(`disconnected after exp: websocket ${late[0]} ms, polling ${late[1]} ms`);
  // the sweep runs once a second; a loaded machine may start it a little late
  assert.ok(late.every((ms) => ms >= 0 && ms < 1500), `disconnected ${late} ms after exp`);
  assert.ok(await metric(gwA.adminPort, "roomcast_gateway_token_expiries_total") >= 2);
});

// One raw HTTP exchange with gateway A: writes each chunk as soon as connected, resolves
// what came back and the connection's error code (null for a clean close).
const exchange = (...chunks) => new Promise((resolve) => {
  const c = net.connect(gwA.port, "127.0.0.1", () => { for (const x of chunks) c.write(x); });
  let got = "", error = null;
  c.setEncoding("latin1").on("data", (d) => { got += d; });
  c.on("error", (e) => { error = e.code; });
  c.on("close", () => resolve({ got, error }));
});

test("an HTTP request past the bounds: 413 for a body over maxPayload, 431 for a head over 8 KB or 32 headers", async () => {
  const ask = async (head) => {
    const { got, error } = await exchange(head);
    if (error) throw new Error(`the connection ended with ${error}`);
    return got;
  };
  const status = (r) => Number(r.split(" ")[1]);
  const before = await metric(gwA.adminPort, "roomcast_gateway_bad_requests_total");
  const path = "/socket.io/?EIO=4&transport=polling";
  const body = await ask(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000001\r\n\r\n`);
  const longHead = await ask(`GET ${path} HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(9000)}\r\n\r\n`);
  const manyHeaders = await ask(`GET ${path} HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 40 }, (_, i) => `X-H${i}: ${i}\r\n`).join("")}\r\n`);
  assert.deepEqual([body, longHead, manyHeaders].map(status), [413, 431, 431]);
  assert.equal(await metric(gwA.adminPort, "roomcast_gateway_bad_requests_total") - before, 3);
  // inside the bounds the size checks pass: exactly maxPayload, 32 headers
  const atBound = await ask(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\nConnection: close\r\n\r\n${"x".repeat(1000000)}`);
  const fewer = await ask(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${Array.from({ length: 30 }, (_, i) => `X-H${i}: ${i}\r\n`).join("")}\r\n`);
  assert.ok(![413, 431].includes(status(atBound)) && status(fewer) === 200, `${status(atBound)} ${status(fewer)}`);
  assert.ok((await client(gwA.url, "after-431", "buyer")).connected, "the gateway goes on");
});

test("a body refused with 413 while the client is still sending it: the client reads the 413 and a clean close, not a reset", async () => {
  // Closing a socket with unread input makes the kernel reset the connection; the gateway
  // shuts its write side after the answer and drops what still comes (a lingering close).
  const upload = () => exchange("POST /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nContent-Length: 4000000\r\n\r\n",
    Buffer.alloc(4000000, 0x78)); // all of it at once, as a browser's upload
  for (let i = 0; i < 5; i++) {
    const { got, error } = await upload();
    assert.equal(got.split(" ")[1], "413", `try ${i}: ${JSON.stringify(got.slice(0, 40))} ${error}`);
    assert.equal(error, null, `try ${i}: the connection ended with ${error}`);
  }
});

// Floods one gateway's "buyers" room with 10 KB events until the raw client that stopped
// reading is dropped. The next batch is produced only once the reading client has the
// whole previous one: what the gateway holds for it never passes one batch (500 KB), so
// no pause of this process on a loaded machine can make it look slow.
async function floodUntilDropped(gw, reader, limitMs = 60000) {
  const producer = spawn(bin("roomcast"), ["produce", "roomcast.rooms", "--lines"], { env, stdio: ["pipe", "ignore", "inherit"] });
  const big = "x".repeat(10000);
  const got = () => reader.filter((e) => e.event === "request:created").length;
  let sent = 0;
  try {
    const t0 = Date.now();
    while (!(await metric(gw.adminPort, "roomcast_gateway_slow_client_disconnects_total"))) {
      assert.ok(Date.now() - t0 < limitMs && sent < 8000, `no drop after ${sent} events (${sent / 100} MB)`);
      let out = "";
      for (let k = 0; k < 50; k++, sent++)
        out += `buyers\t${encodeRoomEvent({ id: `f-${sent}`, room: "buyers", event: "request:created", args: [{ i: sent, big }] }).toString("hex")}\n`;
      producer.stdin.write(out);
      await waitFor(`batch up to ${sent} at the reading client`, () => got() === sent, 30000, 10);
    }
  } finally {
    producer.stdin.end();
  }
  await once(producer, "exit");
  return sent;
}

// A raw WebSocket client that completes the handshake, then never reads again.
async function nonReader(gw, user) {
  const raw = new WebSocket(`ws://127.0.0.1:${gw.port}/socket.io/?EIO=4&transport=websocket`);
  const got = [];
  raw.on("error", () => {});
  raw.on("message", (d) => got.push(d.toString()));
  await once(raw, "open");
  raw.send(`40${JSON.stringify({ token: await token(env, user, "buyer") })}`);
  await waitFor("connected", () => got.some((m) => m.startsWith("40")));
  raw._socket.pause(); // the kernel's buffers fill, then the gateway's
  return raw;
}

// A gateway with these bounds, a reading client and one that stopped reading, flooded
// until that one is dropped: the reader has every event and stays; resolves the drop's
// log line and how many events it took.
async function dropTheNonReader(bounds, user) {
  const gw = await startGateway(env, bounds);
  try {
    const good = await client(gw.url, `${user}-good`, "buyer");
    const rec = record(good);
    const raw = await nonReader(gw, `${user}-bad`);
    const sent = await floodUntilDropped(gw, rec);
    const line = gw.lines.map((l) => { try { return JSON.parse(l); } catch { return {}; } })
      .find((l) => l.msg === "slow client disconnected");
    assert.equal(await metric(gw.adminPort, "roomcast_gateway_slow_client_disconnects_total"), 1);
    assert.deepEqual(rec.filter((e) => e.event === "request:created").map((e) => e.args[0].i), [...Array(sent).keys()]);
    assert.ok(good.connected, "the reading client is still connected");
    raw.terminate();
    return { line, sent };
  } finally {
    await stopAll([gw]);
  }
}

test("a client that stops reading is dropped at the soft bound after its time while a reading one keeps everything", async (t) => {
  // the hard bound out of reach: only the soft one can drop anyone
  const { line, sent } = await dropTheNonReader({ ROOMCAST_SLOW_CLIENT_BYTES: "1048576", ROOMCAST_SLOW_CLIENT_MS: "1000",
    ROOMCAST_MAX_OUTBOUND_BYTES: "268435456" }, "slow");
  t.diagnostic(`dropped with ${line.queued} bytes queued (soft bound 1048576 for 1 s) after ${sent} events of 10 KB`);
  assert.equal(line.limit, "soft", JSON.stringify(line));
  assert.ok(line.queued > 1048576, JSON.stringify(line));
});

test("ROOMCAST_MAX_OUTBOUND_BYTES: a client that stops reading is dropped the moment its queue would pass it", async (t) => {
  const bound = 1048576;
  // the soft bound's time out of reach: only the hard one can drop anyone
  const { line, sent } = await dropTheNonReader({ ROOMCAST_MAX_OUTBOUND_BYTES: String(bound),
    ROOMCAST_SLOW_CLIENT_BYTES: String(bound), ROOMCAST_SLOW_CLIENT_MS: "3600000" }, "hard");
  t.diagnostic(`dropped with ${line.queued} bytes queued (bound ${bound}) after ${sent} events of 10 KB`);
  assert.equal(line.limit, "hard", JSON.stringify(line));
  // queued: what the gateway held plus the frame that would have passed the bound
  assert.ok(line.queued > bound && line.queued <= bound + 11000, `dropped at ${line.queued} bytes (bound ${bound})`);
});
