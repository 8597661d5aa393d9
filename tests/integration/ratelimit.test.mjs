// Issue 12 item 9: client events are rate limited per socket, and one socket's share of
// the upstream queue is bounded. The attack of the issue: one 1 MB long-polling POST of
// 125 000 tiny events (it became 100 001 Kafka messages, then "queue full" for everyone).
// Now the bucket's burst goes through, the rest is dropped, and past
// ROOMCAST_CLIENT_EVENT_DISCONNECT_AFTER refusals the socket is disconnected; another
// socket's events keep flowing meanwhile.
import { test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import {
  baseEnv, createTopics, metric, newPrefix, startGateway, stopAll, token, waitFor,
} from "./lib/harness.mjs";

const SEP = "\x1e";

// A raw Engine.IO long-polling session, connected to the namespace with tok.
async function pollingSocket(url, tok) {
  const base = `${url}/socket.io/?EIO=4&transport=polling`;
  const open = await (await fetch(base)).text();
  const { sid } = JSON.parse(open.slice(1));
  const at = `${base}&sid=${sid}`;
  const post = async (body) => (await fetch(at, { method: "POST", body })).status;
  assert.equal(await post(`40${JSON.stringify({ token: tok })}`), 200);
  const connected = await (await fetch(at)).text();
  assert.match(connected, /^40\{"sid"/, connected);
  return { sid, post, get: async () => (await fetch(at)).text() };
}

test("one 1 MB POST of 125 000 events: the burst is produced, the rest dropped, the sender disconnected; others unharmed", async () => {
  const env = baseEnv(newPrefix("rate"));
  await createTopics(env);
  const gw = await startGateway(env);
  const victim = io(gw.url, { auth: { token: await token(env, "victim", "buyer") }, transports: ["websocket"], reconnection: false });
  try {
    await new Promise((resolve, reject) => { victim.once("connect", resolve); victim.once("connect_error", reject); });
    const attacker = await pollingSocket(gw.url, await token(env, "attacker", "buyer"));
    const packets = Array.from({ length: 125000 }, () => '42["a"]');
    const body = packets.join(SEP);
    assert.ok(body.length <= 1000000, `${body.length} bytes, within maxPayload`);
    const t0 = Date.now();
    const posted = attacker.post(body);
    // meanwhile, and after: the victim's events go through at once, acknowledged by Kafka
    for (let i = 0; i < 5; i++)
      assert.deepEqual(await victim.timeout(10000).emitWithAck("hello", { i }), { ok: true });
    await posted;
    await waitFor("the attacker disconnected",
      async () => (await metric(gw.adminPort, "roomcast_gateway_rate_limit_disconnects_total")) === 1, 15000);
    const after = await attacker.get();
    assert.match(after, /(^|\x1e)41|Session ID unknown/, `the attacker's session is over: ${after.slice(0, 80)}`);
    assert.deepEqual(await victim.timeout(10000).emitWithAck("hello", { after: true }), { ok: true });
    const produced = await metric(gw.adminPort, "roomcast_gateway_client_events_total");
    assert.ok(produced <= 100 + 6 + 5, `produced ${produced}: the burst (100) and the victim's 6, not the flood`);
    const dropped = await metric(gw.adminPort, "roomcast_gateway_rate_limited_events_total", 'action="dropped"');
    assert.ok(dropped >= 999 && dropped < 2000, `dropped ${dropped}, then disconnected at the 1000th refusal`);
    assert.equal(await metric(gw.adminPort, "roomcast_gateway_upstream_events_total", 'result="queue_full"'), 0);
    assert.ok(victim.connected);
    assert.ok(Date.now() - t0 < 20000);
  } finally {
    victim.close();
    await stopAll([gw]);
  }
});

test("past the bucket an acknowledged event gets rate_limited; past its upstream share, busy; the socket stays", async () => {
  const env = baseEnv(newPrefix("rate2"));
  await createTopics(env);
  const gw = await startGateway(env, {
    ROOMCAST_CLIENT_EVENT_RATE: "5", ROOMCAST_CLIENT_EVENT_BURST: "20", ROOMCAST_UPSTREAM_PENDING_PER_SOCKET: "4" });
  // long-polling: emits of one tick leave in one POST, so all of them reach the gateway
  // before Kafka has acknowledged any
  const s = io(gw.url, { auth: { token: await token(env, "burst", "buyer") }, transports: ["polling"], reconnection: false });
  try {
    await new Promise((resolve, reject) => { s.once("connect", resolve); s.once("connect_error", reject); });
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => s.timeout(15000).emitWithAck("burst", { i })));
    const count = (want) => answers.filter((a) => JSON.stringify(a) === JSON.stringify(want)).length;
    assert.equal(count({ ok: false, error: "rate_limited" }), 10, JSON.stringify(answers));
    assert.equal(count({ ok: true }), 4, "the socket's upstream share");
    assert.equal(count({ ok: false, error: "busy" }), 16);
    assert.equal(await metric(gw.adminPort, "roomcast_gateway_rate_limited_events_total", 'action="refused"'), 10);
    assert.equal(await metric(gw.adminPort, "roomcast_gateway_refusals_total", 'reason="upstream_busy"'), 16);
    // a refill later, and the share given back: it goes through again
    await waitFor("a token back", async () => JSON.stringify(await s.timeout(5000).emitWithAck("later", {})) === '{"ok":true}', 10000, 300);
    assert.ok(s.connected);
  } finally {
    s.close();
    await stopAll([gw]);
  }
});
