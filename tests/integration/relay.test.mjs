// Relays between gateways against hostile clients and reused addresses (issue 12 items 2
// and 5): a relay goes only to a gateway of this cluster that proves it, carries only the
// Engine.IO requests it must, refuses session ids past their life, and holds a bounded
// number of bytes each way.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { io } from "socket.io-client";
import {
  baseEnv, createTopics, metric, newPrefix, startGateway, stopAll, token, waitFor,
} from "./lib/harness.mjs";
import { MB, RawConn, pollingHandshake, pump, rss, wsFrame, wsOpen } from "./lib/hostile.mjs";

let env;
before(async () => {
  env = baseEnv(newPrefix("relay"), { ASAN_OPTIONS: "detect_leaks=1:abort_on_error=0:quarantine_size_mb=4" });
  await createTopics(env);
});

// A plain TCP server where a gateway used to listen: what a reused pod IP may hold.
async function impostor(port) {
  const got = [];
  const server = net.createServer((s) => {
    let data = "";
    s.on("error", () => {});
    s.on("data", (d) => {
      data += d;
      if (!data.includes("\r\n\r\n")) return;
      got.push(data);
      if (/^upgrade: websocket/im.test(data)) {
        s.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
        s.write("a raw two-way pipe");
      } else {
        s.end("HTTP/1.1 200 OK\r\nContent-Length: 16\r\nConnection: close\r\n\r\nnot a gateway...");
      }
      data = "";
    });
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { got, close: () => new Promise((r) => server.close(r)) };
}

// A polling session on a, once b knows a as a peer: its id.
async function sessionOf(a, b) {
  const c = await RawConn.open(a.port);
  const sid = await pollingHandshake(c);
  c.destroy();
  await waitFor("b knows a", async () => (await metric(b.adminPort, "roomcast_gateway_peers")) === 2);
  return sid;
}

const poll = (gw, sid, init) => fetch(`${gw.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, init);

test("5. a relay reaches only a gateway of this cluster: not what listens at a dead one's address", async () => {
  const fast = { ROOMCAST_PEER_ANNOUNCE_MS: "300" };
  const [a, b] = await Promise.all([startGateway(env, fast), startGateway(env, fast)]);
  let fake;
  try {
    const sid = await sessionOf(a, b);
    assert.equal((await poll(b, sid, { method: "POST", body: "40{}" })).status, 200, "relayed to its owner");
    assert.equal(await metric(b.adminPort, "roomcast_gateway_forwarded_polling_total"), 1);

    await a.stop("SIGKILL");
    fake = await impostor(a.port);
    // while a is still a known peer, the relay reaches the impostor but its answer is refused
    const r = await poll(b, sid, { headers: { Cookie: "session=secret", Authorization: "Bearer secret" } });
    assert.equal(r.status, 400);
    assert.deepEqual(await r.json(), { code: 1, message: "Session ID unknown" });
    assert.equal(fake.got.length, 1);
    const [line, ...headers] = fake.got[0].split("\r\n");
    assert.equal(line, `GET /socket.io/?EIO=4&transport=polling&sid=${sid} HTTP/1.1`);
    assert.ok(!/cookie|authorization/i.test(headers.join("\n")), "the client's credentials stay home");
    assert.match(fake.got[0], /^X-Roomcast-Relay: /m);
    assert.equal(await metric(b.adminPort, "roomcast_gateway_forward_denied_total", 'reason="unproven"'), 1);
    // nor does an upgrade become a raw pipe to it
    await assert.rejects(wsOpen(b.port, `/socket.io/?EIO=4&transport=websocket&sid=${sid}`), /400/);
    assert.equal(await metric(b.adminPort, "roomcast_gateway_forward_denied_total", 'reason="unproven"'), 2);
    // once a has been silent for three announcements, nothing even connects there
    await waitFor("b forgets a", async () => (await metric(b.adminPort, "roomcast_gateway_peers")) === 1, 10000);
    const seen = fake.got.length;
    assert.equal((await poll(b, sid)).status, 400);
    assert.equal(fake.got.length, seen);
    assert.equal(await metric(b.adminPort, "roomcast_gateway_forward_denied_total", 'reason="unknown_peer"'), 1);
  } finally {
    await fake?.close();
    await stopAll([a, b]);
  }
});

test("5. only the Engine.IO requests a relay must carry are relayed", async () => {
  const [a, b] = await Promise.all([startGateway(env), startGateway(env)]);
  try {
    const sid = await sessionOf(a, b);
    assert.equal((await poll(b, sid, { method: "PUT", body: "x" })).status, 400);
    assert.equal((await poll(b, sid, { method: "DELETE" })).status, 400);
    const ws = await fetch(`${b.url}/socket.io/?EIO=4&transport=websocket&sid=${sid}`); // no Upgrade
    assert.equal(ws.status, 400);
    assert.equal(await metric(b.adminPort, "roomcast_gateway_forward_denied_total", 'reason="request"'), 3);
    assert.equal(await metric(b.adminPort, "roomcast_gateway_forwarded_polling_total"), 0);
    assert.equal((await poll(b, sid, { method: "POST", body: "40{}" })).status, 200);
    assert.equal(await metric(b.adminPort, "roomcast_gateway_forwarded_polling_total"), 1);
  } finally {
    await stopAll([a, b]);
  }
});

test("5. relays at once are bounded by ROOMCAST_MAX_RELAYS", async () => {
  const [a, b] = await Promise.all([startGateway(env), startGateway(env, { ROOMCAST_MAX_RELAYS: "1" })]);
  try {
    const sid = await sessionOf(a, b);
    const tunnel = await wsOpen(b.port, `/socket.io/?EIO=4&transport=websocket&sid=${sid}`); // held open
    const r = await poll(b, sid, { method: "POST", body: "3" });
    assert.equal(r.status, 400);
    assert.deepEqual(await r.json(), { code: 1, message: "Session ID unknown" });
    assert.equal(await metric(b.adminPort, "roomcast_gateway_forward_refused_total"), 1);
    tunnel.destroy();
    await waitFor("the tunnel's place free", async () => (await metric(b.adminPort, "roomcast_gateway_forwards")) === 0);
    assert.equal((await poll(b, sid, { method: "POST", body: "3" })).status, 200);
  } finally {
    await stopAll([a, b]);
  }
});

test("5. session ids carry their issue time: past ROOMCAST_SESSION_MAX_AGE_SECONDS they are not relayed, and the session ends", async () => {
  const short = { ROOMCAST_SESSION_MAX_AGE_SECONDS: "2", ROOMCAST_PING_INTERVAL_MS: "500", ROOMCAST_PING_TIMEOUT_MS: "2000" };
  const [a, b] = await Promise.all([startGateway(env, short), startGateway(env, short)]);
  const s = io(a.url, { auth: { token: await token(env, "age-1", "buyer") }, transports: ["polling"], reconnection: false });
  const connected = new Promise((resolve, reject) => { s.once("connect", resolve); s.once("connect_error", reject); });
  const ended = new Promise((resolve) => s.once("disconnect", resolve));
  try {
    const sid = await sessionOf(a, b);
    assert.equal((await poll(b, sid, { method: "POST", body: "3" })).status, 200, "young: relayed");
    await connected;
    const t0 = Date.now();
    const reason = await ended;
    assert.ok(Date.now() - t0 >= 900, "the polling session ended at its age");
    assert.equal(reason, "transport close");
    // the raw session's id is past its life too: refused without relaying
    await waitFor("refused as expired", async () => {
      assert.equal((await poll(b, sid, { method: "POST", body: "3" })).status, 400);
      return (await metric(b.adminPort, "roomcast_gateway_forward_denied_total", 'reason="expired"')) >= 1;
    }, 5000);
  } finally {
    s.close();
    await stopAll([a, b]);
  }
});

test("2. a relayed WebSocket whose client reads nothing holds at most ROOMCAST_RELAY_BUFFER_BYTES on the relaying gateway", async () => {
  const [a, b] = await Promise.all([
    startGateway(env, { ROOMCAST_MAX_OUTBOUND_BYTES: String(2 * MB) }), startGateway(env)]);
  try {
    const sid = await sessionOf(a, b);
    const ws = await wsOpen(b.port, `/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
    assert.equal(await metric(b.adminPort, "roomcast_gateway_forwarded_websocket_total"), 1);
    ws.pause();
    const before = rss(b.child.pid);
    const ping = wsFrame(9, Buffer.alloc(125, 0x70));
    const batch = Buffer.concat(Array.from({ length: 8192 }, () => ping));
    const r = await pump(ws.sock, 40 * MB, () => batch);
    const grew = rss(b.child.pid) - before;
    assert.ok(grew < 16 * MB, `the relaying gateway grew by ${(grew / MB).toFixed(1)} MB (${r.outcome})`);
    assert.ok(await metric(b.adminPort, "roomcast_gateway_input_limited_total", 'state="relay"') >= 1);
    // the owner's own outbound bound ends it
    await waitFor("the owner dropped the slow client", async () =>
      (await metric(a.adminPort, "roomcast_gateway_slow_client_disconnects_total")) >= 1, 10000);
    ws.destroy();
  } finally {
    await stopAll([a, b]);
  }
});
