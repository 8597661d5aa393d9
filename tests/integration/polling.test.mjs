// The seed's frontend unchanged on many gateways (issue 8): the stock client with its
// default options (long-polling first, then the upgrade) through a round-robin balancer
// with no stickiness. A request for a session another gateway owns is relayed to the
// owner, whose address the signed session id names.
import { test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import {
  baseEnv, createTopics, encodeRoomEvent, httpGet, metric, newPrefix, produceLines, signToken,
  startGateway, startHaproxyN, stopAll, waitFor, withoutOffset,
} from "./lib/harness.mjs";

test("300 default-option clients through round-robin over three gateways: no 400, upgraded, every event", async () => {
  const env = baseEnv(newPrefix("polling"));
  await createTopics(env);
  // every test client is 127.0.0.1: lift the bound on sessions per client address
  const many = { ROOMCAST_MAX_SESSIONS_PER_ADDRESS: "0" };
  const gws = await Promise.all([startGateway(env, many), startGateway(env, many), startGateway(env, many)]);
  const lb = await startHaproxyN(gws);
  const N = 300;
  const clients = [];
  try {
    for (let i = 0; i < N; i++) {
      const s = io(lb.url, { auth: { token: signToken(env, `p-${i}`, "buyer") } });
      s.errors = [];
      s.upgraded = new Promise((resolve) => s.io.engine.once("upgrade", (t) => resolve(t.name)));
      s.on("connect_error", (e) => s.errors.push(e.message));
      s.io.on("reconnect_attempt", () => s.errors.push("reconnect"));
      s.got = [];
      s.onAny((event, ...args) => s.got.push({ event, arg: withoutOffset(args)[0] }));
      clients.push(s);
    }
    await waitFor("300 connected", () => clients.every((s) => s.connected), 60000);
    assert.deepEqual(await Promise.all(clients.map((s) => s.upgraded)), clients.map(() => "websocket"));
    const grant = (i) => signToken(env, `p-${i}`, null, { room: `request-r${i % 10}` });
    for (let i = 0; i < N; i++)
      assert.deepEqual(await clients[i].emitWithAck("join-request-room", `r${i % 10}`, grant(i)), { ok: true });
    // one event per user room, one per request room, one broadcast
    const lines = [];
    for (let i = 0; i < N; i++)
      lines.push({ key: `user-p-${i}`, value: encodeRoomEvent({ id: `u${i}`, room: `user-p-${i}`, event: "mine", args: [{ i }] }) });
    for (let r = 0; r < 10; r++)
      lines.push({ key: `request-r${r}`, value: encodeRoomEvent({ id: `r${r}`, room: `request-r${r}`, event: "request:status-updated", args: [{ requestId: `r${r}` }] }) });
    lines.push({ key: "buyers", value: encodeRoomEvent({ id: "b", room: "buyers", event: "all", args: [{}] }) });
    await produceLines(env, "roomcast.rooms", lines);
    await waitFor("every client has its three events", () => clients.every((s) => s.got.length >= 3), 30000);
    clients.forEach((s, i) => {
      assert.deepEqual(s.got.map((e) => e.event).sort(), ["all", "mine", "request:status-updated"], `client ${i}`);
      assert.deepEqual(s.got.find((e) => e.event === "mine").arg, { i });
      assert.deepEqual(s.errors, [], `client ${i}: no connect error and no reconnect`);
    });
    let relayed = 0;
    for (const g of gws) relayed += await metric(g.adminPort, "roomcast_gateway_forwarded_polling_total");
    assert.ok(relayed > N / 2, `${relayed} polling requests were relayed to their owner`);
    // every completed relay is timed in the histogram (count ≤ relays: some are still held)
    let timed = 0;
    for (const g of gws) timed += await metric(g.adminPort, "roomcast_gateway_forward_seconds_count");
    assert.ok(timed > 0 && timed <= relayed, `${timed} of ${relayed} relays timed in roomcast_gateway_forward_seconds`);
    let tunnels = 0;
    for (const g of gws) tunnels += await metric(g.adminPort, "roomcast_gateway_forwarded_websocket_total");
    assert.ok(tunnels > N / 3, `${tunnels} upgrades were tunnelled to their owner`);
  } finally {
    clients.forEach((s) => s.close());
    await lb.stop();
    await stopAll(gws);
  }
});

test("a forged session id is refused and nothing is relayed; an owner that is gone ends cleanly", async () => {
  const env = baseEnv(newPrefix("polling2"));
  await createTopics(env);
  const [a, b] = await Promise.all([startGateway(env), startGateway(env)]);
  try {
    const open = await httpGet(`${a.url}/socket.io/?EIO=4&transport=polling`);
    const sid = JSON.parse(open.body.slice(1)).sid;
    // the genuine id works from the other gateway, relayed to its owner
    const post = await fetch(`${b.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: "POST", body: "40{}" });
    assert.equal(post.status, 200);
    assert.equal(await metric(b.adminPort, "roomcast_gateway_forwarded_polling_total"), 1);
    // one altered character: refused at once, counted, not relayed
    const forged = sid.slice(0, 5) + (sid[5] === "A" ? "B" : "A") + sid.slice(6);
    const r = await httpGet(`${b.url}/socket.io/?EIO=4&transport=polling&sid=${forged}`);
    assert.equal(r.status, 400);
    assert.deepEqual(JSON.parse(r.body), { code: 1, message: "Session ID unknown" });
    assert.equal(await metric(b.adminPort, "roomcast_gateway_forged_session_ids_total"), 1);
    assert.equal(await metric(b.adminPort, "roomcast_gateway_forwarded_polling_total"), 1);
    // the owner dies: its sessions end with "Session ID unknown", and the client starts anew
    await a.stop("SIGKILL");
    const gone = await httpGet(`${b.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, 10000);
    assert.equal(gone.status, 400);
    assert.equal(JSON.parse(gone.body).message, "Session ID unknown");
    assert.equal(await metric(b.adminPort, "roomcast_gateway_forward_owner_gone_total"), 1);
  } finally {
    await stopAll([b]);
  }
});
