// roomcast-fanout against the real broker: every row of the event catalog (CONTRACT §6)
// comes out as room events with exactly the table's rooms and payload; bad input goes to
// the dead-letter topic with its reason and stops nothing; 10 000 events survive two
// SIGKILLs exactly once; two instances share the partitions and a SIGTERM loses nothing.
//
// Run with a broker: tests/kafka/kafka start DIR, then
//   ROOMCAST_TEST_BROKERS=<addr> ROOMCAST_BIN_DIR=build-fanout/bin node --test tests/integration/fanout.test.mjs
//
// The dead-letter and bulk tests write raw bytes with `roomcast produce TOPIC [KEY]`
// (stdin = the value) and `roomcast produce TOPIC --lines` (stdin = KEY<TAB>HEX lines).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Proc, baseEnv, cli, createTopics, encodeDomainEvent, freePort, httpGet, metric, newPrefix,
  produceLines, startGateway, startTail, stopAll, waitFor, waitReady,
} from "./lib/harness.mjs";
import { startWatchers } from "./lib/watchers.mjs";

// ---- helpers -------------------------------------------------------------------------

// Each test gets its own topics and its own consumer group.
function fanoutEnv(name) {
  const prefix = newPrefix(name);
  return baseEnv(prefix, { ROOMCAST_FANOUT_GROUP: `${prefix}fanout`, ROOMCAST_LOG_LEVEL: "info" });
}

async function startFanout(env, extra = {}) {
  const adminPort = await freePort();
  const p = new Proc("roomcast-fanout", [], { ...env, ROOMCAST_ADMIN_LISTEN: `127.0.0.1:${adminPort}`, ...extra });
  p.adminPort = adminPort;
  return p;
}


// Stops a `roomcast tail` (harness startTail) unless it has exited already.
async function stopTail(t) {
  if (t.child.exitCode === null && t.child.signalCode === null) await t.stop();
}

// Stops p with signal and checks that it exited as expected without sanitizer reports.
async function stopClean(p, signal = "SIGTERM") {
  const st = await p.stop(signal);
  assert.equal(p.sanitizerReport(), null, p.sanitizerReport() ?? "");
  if (signal === "SIGTERM") assert.deepEqual(st, { code: 0, signal: null }, p.logs().slice(-3000));
  return st;
}

async function produceRaw(env, topic, key, value) {
  const r = await cli(["produce", topic, key], env, { input: value });
  assert.equal(r.code, 0, `roomcast produce ${topic}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

// Reads the whole rooms topic (read_committed) and returns its events. Asking for one more
// than expected proves there is nothing beyond: tail then gives up at its timeout.
async function readAllRooms(env, expected, timeoutMs) {
  const r = await cli(["tail", "--topic", "roomcast.rooms", "--from-beginning", "--count", String(expected + 1),
    "--timeout-ms", String(timeoutMs)], env, { timeout: timeoutMs + 30000 });
  return r.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

// Counts room events per "id room"; returns the ones missing and duplicated.
function exactlyOnce(events, expected /* Map "id room" -> true */) {
  const seen = new Map();
  for (const e of events) {
    const k = `${e.id} ${e.room}`;
    seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  const missing = [...expected.keys()].filter((k) => !seen.has(k));
  const dup = [...seen].filter(([, n]) => n > 1).map(([k, n]) => `${k} x${n}`);
  const extra = [...seen.keys()].filter((k) => !expected.has(k));
  return { missing, dup, extra };
}

// ---- the catalog ----------------------------------------------------------------------

// CONTRACT §6, row by row: the domain payload, and what a client must receive.
const catalog = [
  { type: "notification.created", payload: { notification: { id: "n1", recipientId: "u1", title: "Hi", n: 0.1 } },
    event: "notification:received", args: { id: "n1", recipientId: "u1", title: "Hi", n: 0.1 }, rooms: ["user-u1"] },
  { type: "notification.read", payload: { id: "n2", userId: "u2", readAt: "2026-01-01T00:00:00Z" },
    event: "notification:read", args: { id: "n2", readAt: "2026-01-01T00:00:00Z" }, rooms: ["user-u2"] },
  { type: "request.created", payload: { request: { id: "r1", title: "Fix roof", budget: 100 } },
    event: "request:created", args: { id: "r1", title: "Fix roof", budget: 100 }, rooms: ["sellers"] },
  { type: "offer.created", payload: { requestId: "r2", buyerId: "b2", offer: { id: "o1", price: 5 } },
    event: "request:offer-received", args: { requestId: "r2", offer: { id: "o1", price: 5 } }, rooms: ["user-b2", "request-r2"] },
  { type: "request.status_updated", payload: { requestId: "r3", status: "closed" },
    event: "request:status-updated", args: { requestId: "r3", status: "closed" }, rooms: ["request-r3"] },
  { type: "offer.countered", payload: { offerId: "o2", requestId: "r4", message: "lower?" },
    event: "offer:negotiation-update", args: { offerId: "o2", message: "lower?" }, rooms: ["request-r4"] },
  { type: "offer.accepted", payload: { offerId: "o3", sellerId: "s3", buyerId: "b3" },
    event: "offer:accepted", args: { offerId: "o3" }, rooms: ["seller-s3", "user-b3"] },
  { type: "payment.created", payload: { payment: { id: "p1", buyerId: "b4", sellerId: "s4", amount: 12.5 } },
    event: "payment:created", args: { id: "p1", buyerId: "b4", sellerId: "s4", amount: 12.5 }, rooms: ["user-b4", "user-s4"] },
  { type: "payment.status_updated", payload: { paymentId: "p2", status: "paid", providerPaymentId: "pp2", buyerId: "b5", sellerId: "s5" },
    event: "payment:status-updated", args: { paymentId: "p2", status: "paid", providerPaymentId: "pp2" }, rooms: ["user-b5", "user-s5"] },
  { type: "payment.completed", payload: { paymentId: "p3", buyerId: "b6", sellerId: "s6" },
    event: "payment:completed", args: { paymentId: "p3" }, rooms: ["user-b6", "user-s6"] },
  { type: "payout.created", payload: { payout: { id: "po1", sellerId: "s7", amount: 3 } },
    event: "payout:created", args: { id: "po1", sellerId: "s7", amount: 3 }, rooms: ["user-s7"] },
  { type: "payout.completed", payload: { payoutId: "po2", txHash: "0xabc", sellerId: "s8" },
    event: "payout:completed", args: { payoutId: "po2", txHash: "0xabc" }, rooms: ["user-s8"] },
  { type: "chat.message_created", payload: { message: { id: "m1", chatId: "c1", participantIds: ["u3", "u4"], text: "héllo" } },
    event: "chat:new-message", args: { id: "m1", chatId: "c1", participantIds: ["u3", "u4"], text: "héllo" }, rooms: ["chat-c1", "user-u3", "user-u4"] },
  { type: "chat.message_read", payload: { chatId: "c2", messageId: "m2", userId: "u5", readAt: "t" },
    event: "chat:message-read", args: { chatId: "c2", messageId: "m2", userId: "u5", readAt: "t" }, rooms: ["chat-c2"] },
  { type: "dispute.opened", payload: { dispute: { id: "d1", requestId: "r5", reason: "late" } },
    event: "dispute:opened", args: { id: "d1", requestId: "r5", reason: "late" }, rooms: ["request-r5", "admin"] },
  { type: "dispute.evidence_added", payload: { disputeId: "d2", requestId: "r6", evidence: { url: "https://x/y" } },
    event: "dispute:evidence-added", args: { disputeId: "d2", evidence: { url: "https://x/y" } }, rooms: ["request-r6"] },
  { type: "dispute.resolved", payload: { disputeId: "d3", resolution: "refund", requestId: "r7", buyerId: "b7", sellerId: "s9" },
    event: "dispute:resolved", args: { disputeId: "d3", resolution: "refund" }, rooms: ["request-r7", "user-b7", "user-s9"] },
  { type: "system.maintenance", payload: { message: "down at 2", startsAt: "2026-01-02T02:00:00Z" },
    event: "system:maintenance", args: { message: "down at 2", startsAt: "2026-01-02T02:00:00Z" }, rooms: ["*"] },
  { type: "system.announcement", payload: { message: "welcome" },
    event: "system:announcement", args: { message: "welcome" }, rooms: ["*"] },
];

test("every catalog row becomes room events with exactly the table's rooms and payload", async () => {
  const env = fanoutEnv("fanout-catalog");
  await createTopics(env);
  const fanout = await startFanout(env);
  let tail;
  try {
    await waitReady(fanout.adminPort);
    tail = await startTail(env, ["--from-beginning"]);
    const ids = catalog.map((_, i) => `cat-${i}`);
    for (let i = 0; i < catalog.length; i += 4) {
      await Promise.all(catalog.slice(i, i + 4).map(async (row, j) => {
        const r = await cli(["publish", row.type, JSON.stringify(row.payload), "--id", ids[i + j]], env);
        assert.equal(r.code, 0, `${row.type}: ${r.stderr}`);
      }));
    }
    const total = catalog.reduce((n, row) => n + row.rooms.length, 0);
    await waitFor(`${total} room events`, () => tail.events.length >= total, 30000);
    await new Promise((r) => setTimeout(r, 1500)); // anything extra would arrive now
    await stopTail(tail);
    assert.equal(tail.events.length, total, "no room event beyond the table's");

    catalog.forEach((row, i) => {
      const got = tail.events.filter((e) => e.id === ids[i]);
      assert.deepEqual(got.map((e) => e.room).sort(), [...row.rooms].sort(), `${row.type}: rooms`);
      for (const e of got) {
        assert.equal(e.event, row.event, row.type);
        assert.deepEqual(e.rooms, row.rooms, `${row.type}: the full room list, in table order`);
        assert.deepEqual(e.args, [row.args], `${row.type}: payload`);
        assert.deepEqual(Object.keys(e.args[0]), Object.keys(row.args), `${row.type}: field order`);
        assert.equal(e.sourceEventId, ids[i]);
        assert.ok(Math.abs(e.producedAtUs / 1000 - Date.now()) < 60000, "producedAtUs is a recent wall clock");
      }
    });

    const port = fanout.adminPort;
    await waitFor("metrics", async () => await metric(port, "roomcast_fanout_room_events_total") === total);
    assert.equal(await metric(port, "roomcast_fanout_events_total", 'type="dispute.resolved"'), 1);
    assert.equal(await metric(port, "roomcast_fanout_events_total", 'type="system.announcement"'), 1);
    assert.equal(await metric(port, "roomcast_fanout_write_failures_total"), 0);
    assert.ok(await metric(port, "roomcast_fanout_processing_latency_seconds_count") >= catalog.length);
    assert.equal(await metric(port, "roomcast_fanout_assigned_partitions"), 14);
  } finally {
    if (tail) await stopTail(tail);
    await stopClean(fanout);
  }
});

// ---- dead letters -----------------------------------------------------------------------

test("undecodable, unrouted and incomplete events go to the DLQ with their reason, and processing goes on", async () => {
  const env = fanoutEnv("fanout-dlq");
  await createTopics(env);
  const fanout = await startFanout(env);
  try {
    await waitReady(fanout.adminPort);
    const garbage = Buffer.from([0x0a, 0xff, 0x01, 0x02, 0x00, 0x61]);
    const unknownType = encodeDomainEvent({ id: "dl-1", type: "payment.refunded_v9", payload: { paymentId: "p" } });
    const missing = encodeDomainEvent({ id: "dl-2", type: "payment.status_updated",
      payload: { paymentId: "p", status: "paid", providerPaymentId: "x", buyerId: "b1" } });
    const badJson = encodeDomainEvent({ id: "dl-3", type: "payment.completed", payload: "{\"paymentId\":" });
    const noType = encodeDomainEvent({ id: "dl-4", type: "", payload: {} });
    const good = encodeDomainEvent({ id: "dl-ok", type: "payment.completed",
      payload: { paymentId: "p9", buyerId: "b9", sellerId: "s9" } });
    const sent = [];
    for (const [key, value, reason, type] of [
      ["k-garbage", garbage, "undecodable", undefined],
      ["k-unknown", unknownType, "no_route", "payment.refunded_v9"],
      ["k-missing", missing, "missing_field", "payment.status_updated"],
      ["k-badjson", badJson, "bad_json", "payment.completed"],
      ["k-notype", noType, "undecodable", undefined],
      ["k-good", good, null, "payment.completed"],
    ]) {
      const at = await produceRaw(env, "domain.payment", key, value);
      sent.push({ key, value, reason, type, at });
    }

    // The good event after the bad ones still comes out: nothing stopped.
    const rooms = await cli(["tail", "--from-beginning", "--count", "2", "--timeout-ms", "30000"], env, { timeout: 40000 });
    assert.equal(rooms.code, 0, rooms.stderr);
    assert.deepEqual(rooms.stdout.trim().split("\n").map((l) => JSON.parse(l).room).sort(), ["user-b9", "user-s9"]);

    const bad = sent.filter((s) => s.reason);
    const r = await cli(["tail", "--topic", "roomcast.dlq", "--from-beginning", "--count", String(bad.length),
      "--timeout-ms", "30000"], env, { timeout: 40000 });
    assert.equal(r.code, 0, r.stderr);
    const letters = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(letters.length, bad.length);
    for (const s of bad) {
      const l = letters.find((x) => x.key === s.key);
      assert.ok(l, `dead letter for ${s.key}`);
      assert.equal(l.bytes, s.value.length, `${s.key}: the original bytes`);
      assert.equal(l.headers.reason, s.reason, s.key);
      assert.ok(l.headers.detail.length > 5, `${s.key}: a detail saying why`);
      assert.equal(l.headers["source-topic"], s.at.topic);
      assert.equal(l.headers["source-partition"], String(s.at.partition));
      assert.equal(l.headers["source-offset"], String(s.at.offset));
      assert.equal(l.headers.type, s.type, `${s.key}: type header`);
    }
    assert.match(letters.find((x) => x.key === "k-missing").headers.detail, /sellerId/);

    const port = fanout.adminPort;
    await waitFor("dead-letter metrics", async () =>
      await metric(port, "roomcast_fanout_dead_letters_total", 'reason="undecodable"') === 2);
    assert.equal(await metric(port, "roomcast_fanout_dead_letters_total", 'reason="no_route"'), 1);
    assert.equal(await metric(port, "roomcast_fanout_dead_letters_total", 'reason="missing_field"'), 1);
    assert.equal(await metric(port, "roomcast_fanout_dead_letters_total", 'reason="bad_json"'), 1);
    // Unknown types share one label, so a flood of made-up types cannot grow /metrics.
    assert.equal(await metric(port, "roomcast_fanout_events_total", 'type="unrouted"'), 3);
    assert.equal(await metric(port, "roomcast_fanout_events_total", 'type="payment.completed"'), 2);
    assert.doesNotMatch((await httpGet(`http://127.0.0.1:${port}/metrics`)).body, /refunded_v9/);
  } finally {
    await stopClean(fanout);
  }
});

// ---- bulk ------------------------------------------------------------------------------

// n domain events over three topics and their expected room events ("id room" keys).
function bulkEvents(n, tag) {
  const byTopic = { "domain.payment": [], "domain.chat": [], "domain.offer": [] };
  const expected = new Map();
  for (let i = 0; i < n; i++) {
    const id = `${tag}-${i}`;
    let topic, type, payload, rooms;
    if (i % 3 === 0) {
      topic = "domain.payment"; type = "payment.status_updated";
      payload = { paymentId: `p${i}`, status: "paid", providerPaymentId: `pp${i}`, buyerId: `b${i % 97}`, sellerId: `s${i % 89}` };
      rooms = [`user-b${i % 97}`, `user-s${i % 89}`];
    } else if (i % 3 === 1) {
      topic = "domain.chat"; type = "chat.message_read";
      payload = { chatId: `c${i % 50}`, messageId: `m${i}`, userId: `u${i % 7}`, readAt: "t" };
      rooms = [`chat-c${i % 50}`];
    } else {
      topic = "domain.offer"; type = "offer.created";
      payload = { requestId: `r${i % 61}`, buyerId: `b${i % 43}`, offer: { id: `o${i}` } };
      rooms = [`user-b${i % 43}`, `request-r${i % 61}`];
    }
    byTopic[topic].push({ key: payload.paymentId ?? payload.chatId ?? payload.requestId,
      value: encodeDomainEvent({ id, type, payload }) });
    for (const room of rooms) expected.set(`${id} ${room}`, true);
  }
  const rooms = [...new Set([...expected.keys()].map((k) => k.split(" ")[1]))];
  // the event a client received, from its payload (p<i>, m<i> or o<i>)
  const idOf = (event, arg) => `${tag}-${(arg.paymentId ?? arg.messageId ?? arg.offer?.id).slice(1)}`;
  return { n, byTopic, expected, rooms, idOf };
}

// Produces events [from, to) of a bulk set, one `roomcast produce --lines` per topic.
async function produceBulk(env, bulk, from, to) {
  const parts = Object.entries(bulk.byTopic).map(([topic, list]) => [topic, list.filter((_, i) => {
    const idx = i * 3 + { "domain.payment": 0, "domain.chat": 1, "domain.offer": 2 }[topic];
    return idx >= from && idx < to;
  })]);
  await Promise.all(parts.map(([topic, list]) => produceLines(env, topic, list)));
}

// Produces the bulk in three rounds and SIGKILLs the fanout in the middle of the first two
// (once `progress()` passed a round's start by 400), restarting it each time.
async function killTwice(env, bulk, progress, extra = {}) {
  const N = bulk.n, kills = [];
  let fanout = await startFanout(env, extra);
  await waitReady(fanout.adminPort);
  const cuts = [0, Math.round(N / 3), Math.round((2 * N) / 3), N];
  // each round trickles in (200 events per `roomcast produce`), so a kill lands mid-stream
  const trickle = async (from, to) => { for (let i = from; i < to; i += 200) await produceBulk(env, bulk, i, Math.min(to, i + 200)); };
  for (let round = 0; round < 3; round++) {
    const before = progress();
    const producing = trickle(cuts[round], cuts[round + 1]);
    if (round < 2) {
      await waitFor("progress before the kill", () => progress() >= before + 400, 120000, 5);
      await fanout.stop("SIGKILL");
      kills.push({ atKill: progress(), roundStartedAt: before });
      await producing;
      assert.equal(fanout.sanitizerReport(), null);
      fanout = await startFanout(env, extra);
    } else {
      await producing;
    }
  }
  return { fanout, kills };
}

test("10 000 events through two fanout SIGKILLs reach every socket exactly once", { timeout: 600000 }, async () => {
  // The default (idempotent) fanout re-processes what it had not committed: the room topic
  // holds some events twice, and the gateway gives each socket each event once.
  const env = fanoutEnv("fanout-kill");
  await createTopics(env);
  const bulk = bulkEvents(10000, "k");
  const total = bulk.expected.size;
  const started = Date.now();
  const gw = await startGateway(env, { ROOMCAST_ROOM_POLICY: "open" });
  const w = await startWatchers(env, gw.url, bulk.rooms, bulk.idOf);
  const tail = await startTail(env, ["--from-beginning"]);
  let fanout;
  try {
    let kills;
    // Offsets are committed every 20 s here, not every 100 ms: each kill lands seconds after
    // its instance started, before its first commit, so the next instance re-processes what
    // it wrote. (At 100 ms a kill between two trickled batches found everything committed.)
    // 20 s stays well inside the gateway's 60 s duplicate window.
    ({ fanout, kills } = await killTwice(env, bulk, () => tail.events.length,
      { ROOMCAST_FANOUT_COMMIT_INTERVAL_MS: "20000" }));
    await waitFor(`${total} deliveries`, () => w.count() >= total, 300000, 200);
    await waitFor("every room event on the topic", () => exactlyOnce(tail.events, bulk.expected).missing.length === 0, 60000, 500);
    const elapsed = (Date.now() - started) / 1000;
    const r = w.check(bulk.expected);
    const topic = exactlyOnce(tail.events, bulk.expected);
    const dropped = await metric(gw.adminPort, "roomcast_gateway_room_events_total", 'result="duplicate"');
    console.log(JSON.stringify({ events: bulk.n, roomEvents: total, seconds: elapsed, kills, sockets: w.sockets.length,
      delivered: w.count(), missing: r.missing.length, dup: r.dup.length,
      topic: { n: tail.events.length, missing: topic.missing.length, copiesTwice: topic.dup.length }, gatewayDropped: dropped }));
    assert.deepEqual(r.dup.slice(0, 10), [], "a socket got an event twice");
    assert.deepEqual(r.missing.slice(0, 10), [], "a socket missed an event");
    assert.deepEqual(r.extra.slice(0, 10), [], "unexpected");
    assert.deepEqual(topic.missing.slice(0, 10), [], "lost on the topic");
    // the re-processing did write copies twice, and the gateway dropped them
    assert.ok(topic.dup.length > 0 && dropped > 0, "two kills re-process something");
    assert.equal(w.count(), total);
  } finally {
    await stopTail(tail);
    await w.close();
    if (fanout) await stopClean(fanout);
    await stopAll([gw]);
  }
});

test("transactional mode: 6 000 events through two SIGKILLs are on the topic exactly once", { timeout: 600000 }, async () => {
  const env = fanoutEnv("fanout-kill-txn");
  await createTopics(env);
  const bulk = bulkEvents(6000, "kt");
  const total = bulk.expected.size;
  // a stable id: each restarted fanout aborts its predecessor's open transaction at once
  const mode = { ROOMCAST_FANOUT_MODE: "transactional", ROOMCAST_FANOUT_INSTANCE_ID: `${env.ROOMCAST_TOPIC_PREFIX}fanout-0` };
  const tail = await startTail(env, ["--from-beginning"]);
  let fanout;
  try {
    let kills;
    ({ fanout, kills } = await killTwice(env, bulk, () => tail.events.length, mode));
    await waitFor(`${total} room events`, () => tail.events.length >= total, 300000, 200);
    await stopTail(tail);
    // The live read and a fresh read of the whole topic both hold each event once.
    const live = exactlyOnce(tail.events, bulk.expected);
    const all = await readAllRooms(env, total, 10000);
    const fresh = exactlyOnce(all, bulk.expected);
    console.log(JSON.stringify({ events: bulk.n, roomEvents: total, kills,
      live: { n: tail.events.length, missing: live.missing.length, dup: live.dup.length },
      fresh: { n: all.length, missing: fresh.missing.length, dup: fresh.dup.length } }));
    for (const r of [live, fresh]) {
      assert.deepEqual(r.dup.slice(0, 10), [], "duplicates");
      assert.deepEqual(r.missing.slice(0, 10), [], "lost");
      assert.deepEqual(r.extra.slice(0, 10), [], "unexpected");
    }
    assert.equal(all.length, total);
    // Every copy carries the event's full room list.
    const sample = all.find((e) => e.id === "kt-0");
    assert.deepEqual(sample.rooms, ["user-b0", "user-s0"]);
    assert.ok(await metric(fanout.adminPort, "roomcast_fanout_transactions_total", 'result="committed"') >= 1);
  } finally {
    await stopTail(tail);
    if (fanout) await stopClean(fanout);
  }
});

// ---- several instances -------------------------------------------------------------------

test("two instances share the partitions, and stopping one with SIGTERM loses nothing", { timeout: 300000 }, async () => {
  const env = fanoutEnv("fanout-pair");
  await createTopics(env);
  const N = 6000;
  const bulk = bulkEvents(N, "two");
  const total = bulk.expected.size;
  const tail = await startTail(env, ["--from-beginning"]);
  const a = await startFanout(env);
  let b, moveSeconds, producedAtStop;
  // A steady trickle of events (60 per round of `roomcast produce`), so that b joins and a
  // stops while a transaction is collecting messages.
  let next = 0;
  const trickle = (async () => {
    while (next < N) {
      const to = Math.min(N, next + 60);
      await produceBulk(env, bulk, next, to);
      next = to;
    }
  })();
  try {
    await waitReady(a.adminPort);
    await waitFor("a under way", () => tail.events.length >= 200, 60000, 5);
    b = await startFanout(env);
    // Both own some of the 14 domain partitions (7 topics x 2), none twice.
    await waitFor("both instances assigned", async () => {
      const na = await metric(a.adminPort, "roomcast_fanout_assigned_partitions");
      const nb = await metric(b.adminPort, "roomcast_fanout_assigned_partitions");
      return na > 0 && nb > 0 && na + nb === 14;
    }, 30000);
    for (const p of [a, b]) assert.match(p.logs(), /"msg":"partitions assigned".*"count":[1-9]/);

    // SIGTERM while a is at work on its share after the rebalance.
    const written = () => metric(a.adminPort, "roomcast_fanout_room_events_total");
    const base = await written();
    await waitFor("a at work after the rebalance", async () => await written() >= base + 50, 60000, 20);
    producedAtStop = next;
    const stoppedAt = Date.now();
    await stopClean(a, "SIGTERM");
    // a left the group on its way out: b owns everything long before a session timeout.
    await waitFor("b takes every partition", async () =>
      await metric(b.adminPort, "roomcast_fanout_assigned_partitions") === 14, 30000);
    moveSeconds = (Date.now() - stoppedAt) / 1000;
    assert.ok(moveSeconds < 8, `partitions moved after ${moveSeconds} s`);
    assert.match(a.logs(), /"msg":"partitions revoked"/);
    await trickle;

    await waitFor(`${total} room events`, () => tail.events.length >= total, 120000, 100);
    await new Promise((r) => setTimeout(r, 2000));
    const r = exactlyOnce(tail.events, bulk.expected);
    const revokes = (p) => (p.logs().match(/"open_transaction":"[a-z ]+"/g) ?? []).map((x) => x.split(":")[1]).join(" ");
    const stopping = /stopping: committing acknowledged offsets/.test(a.logs());
    console.log(JSON.stringify({ events: N, roomEvents: total, producedAtStop, moveSeconds, got: tail.events.length,
      missing: r.missing.length, dup: r.dup.length, revokesA: revokes(a), revokesB: revokes(b), stoppedWithOpenTxn: stopping }));
    assert.deepEqual(r.dup.slice(0, 10), [], "duplicates");
    assert.deepEqual(r.missing.slice(0, 10), [], "lost");
    assert.equal(tail.events.length, total);
  } finally {
    next = N;
    await trickle.catch(() => {});
    await stopTail(tail);
    await stopClean(a);
    if (b) await stopClean(b);
  }
});

// ---- errors ------------------------------------------------------------------------------

// What happens while the rooms topic does not exist yet, in each mode: writes fail, the
// batch is redone after a growing pause until they succeed, readiness says so, and once
// the topic is there every event comes out.
async function unwritable(mode, failedMetric, failedLabels) {
  const env = fanoutEnv(`fanout-redo-${mode}`);
  const prefix = env.ROOMCAST_TOPIC_PREFIX;
  // Domain topics the fanout's pattern matches ("<prefix>domain.early-domain.payment", ...)
  // but no rooms or DLQ topic yet: every write fails.
  const early = { ...env, ROOMCAST_TOPIC_PREFIX: `${prefix}domain.early-` };
  await createTopics(early);
  const fanout = await startFanout(env, { ROOMCAST_FANOUT_MODE: mode });
  try {
    await waitFor("fanout in its group", async () => /partitions assigned/.test(fanout.logs()), 30000);
    const ids = ["ab-1", "ab-2", "ab-3"];
    for (const id of ids) {
      const r = await cli(["publish", "payment.completed", JSON.stringify({ paymentId: id, buyerId: "b1", sellerId: "s1" }), "--id", id], early);
      assert.equal(r.code, 0, r.stderr);
    }
    const port = fanout.adminPort;
    await waitFor("not ready after repeated failures", async () => {
      const r = await httpGet(`http://127.0.0.1:${port}/readyz`);
      return r.status === 503 && /could not be written to Kafka/.test(JSON.parse(r.body).reason);
    }, 90000, 500);
    assert.ok(await metric(port, failedMetric, failedLabels) >= 2);
    assert.equal(await metric(port, "roomcast_fanout_room_events_total"), 0);

    // The topics appear: the batch goes through, and the new <prefix>domain.* topics are
    // consumed as well (found by the pattern at a metadata refresh).
    await createTopics(env);
    await waitReady(port, 60000);
    const late = await cli(["publish", "payment.completed", JSON.stringify({ paymentId: "late", buyerId: "b2", sellerId: "s2" }), "--id", "ab-late"], env);
    assert.equal(late.code, 0, late.stderr);
    assert.match(late.stdout, new RegExp(`"topic":"${prefix.replace(/\./g, "\\.")}domain\\.payment"`));
    await waitFor("8 room events written", async () => await metric(port, "roomcast_fanout_room_events_total") === 8, 60000, 200);
    const all = await readAllRooms(env, 8, 5000);
    const got = all.map((e) => `${e.id} ${e.room}`).sort();
    assert.deepEqual(got, ["ab-1 user-b1", "ab-1 user-s1", "ab-2 user-b1", "ab-2 user-s1", "ab-3 user-b1", "ab-3 user-s1",
      "ab-late user-b2", "ab-late user-s2"]);
    return fanout;
  } finally {
    await stopClean(fanout);
  }
}

test("writes that fail are redone after a growing pause until they succeed; new domain topics are picked up", { timeout: 300000 }, async () => {
  const f = await unwritable("idempotent", "roomcast_fanout_write_failures_total", "");
  assert.match(f.logs(), /re-processing from the last acknowledged offsets/);
});

test("transactional mode: a batch that cannot be written is aborted and redone until it can, exactly once", { timeout: 300000 }, async () => {
  const f = await unwritable("transactional", "roomcast_fanout_transactions_total", 'result="aborted"');
  assert.match(f.logs(), /consumer rewound to the last committed offsets/);
});

// Two processes started with the same instance id: the newer one fences the older,
// which exits 1; nothing is lost or doubled for the sockets. Idempotent mode: by the
// consumer group's static membership (FENCED_INSTANCE_ID); transactional mode: by the
// transactional.id (and KIP-447's group generation).
async function fenced(mode) {
  const env = fanoutEnv(`fanout-fenced-${mode}`);
  await createTopics(env);
  const id = { ROOMCAST_FANOUT_MODE: mode, ROOMCAST_FANOUT_INSTANCE_ID: `${env.ROOMCAST_TOPIC_PREFIX}fanout-0` };
  const N = 3000;
  const bulk = bulkEvents(N, "fz");
  const total = bulk.expected.size;
  const gw = await startGateway(env, { ROOMCAST_ROOM_POLICY: "open" });
  const w = await startWatchers(env, gw.url, bulk.rooms, bulk.idOf);
  const tail = await startTail(env, ["--from-beginning"]);
  const a = await startFanout(env, id);
  let b;
  let next = 0;
  const trickle = (async () => {
    while (next < N) {
      const to = Math.min(N, next + 60);
      await produceBulk(env, bulk, next, to);
      next = to;
    }
  })();
  try {
    await waitReady(a.adminPort);
    await waitFor("a under way", () => tail.events.length >= 200, 60000, 5);
    b = await startFanout(env, id); // fences a
    await Promise.race([a.exited, new Promise((_, rej) => setTimeout(() => rej(new Error("a was not fenced")), 60000))]);
    assert.deepEqual(a.exitStatus(), { code: 1, signal: null });
    assert.match(a.logs(), /"msg":"fatal Kafka (consumer )?error/);
    assert.equal(a.sanitizerReport(), null, a.sanitizerReport() ?? "");
    await trickle;
    await waitFor(`${total} deliveries`, () => w.count() >= total, 120000, 100);
    const r = w.check(bulk.expected);
    console.log(JSON.stringify({ mode, events: N, roomEvents: total, delivered: w.count(), missing: r.missing.length, dup: r.dup.length }));
    assert.deepEqual(r.dup.slice(0, 10), [], "duplicates");
    assert.deepEqual(r.missing.slice(0, 10), [], "lost");
    assert.equal(w.count(), total);
  } finally {
    next = N;
    await trickle.catch(() => {});
    await stopTail(tail);
    await w.close();
    await a.stop("SIGKILL");
    if (b) await stopClean(b);
    await stopAll([gw]);
  }
}

test("a fenced fanout (same instance id started twice) exits non-zero and no socket loses or doubles an event", { timeout: 300000 }, () => fenced("idempotent"));
test("transactional mode: a fenced fanout (same transactional.id) exits non-zero, nothing lost or doubled", { timeout: 300000 }, () => fenced("transactional"));

// ---- settings and readiness --------------------------------------------------------------

test("a bad setting or routing table stops the fanout at start with one line naming it", async () => {
  const env = fanoutEnv("fanout-settings");
  for (const [extra, want] of [
    [{ ROOMCAST_FANOUT_BATCH: "0" }, /^roomcast-fanout: ROOMCAST_FANOUT_BATCH: "0" is not a whole number/],
    [{ ROOMCAST_FANOUT_MODE: "fast" }, /^roomcast-fanout: ROOMCAST_FANOUT_MODE: "fast" is not one of idempotent,transactional/],
    [{ ROOMCAST_FANOUT_COMMIT_INTERVAL_MS: "5" }, /^roomcast-fanout: ROOMCAST_FANOUT_COMMIT_INTERVAL_MS: "5"/],
    [{ ROOMCAST_FANOUT_INSTANCE_ID: "f-1", ROOMCAST_FANOUT_TRANSACTIONAL_ID: "f-2" },
      /^roomcast-fanout: ROOMCAST_FANOUT_TRANSACTIONAL_ID: "f-2" differs from ROOMCAST_FANOUT_INSTANCE_ID/],
    [{ ROOMCAST_TOPIC_PREFIX: "no spaces" }, /^roomcast-fanout: ROOMCAST_TOPIC_PREFIX: "no spaces"/],
    [{ ROOMCAST_ADMIN_LISTEN: "nowhere" }, /^roomcast-fanout: ROOMCAST_ADMIN_LISTEN: "nowhere" is not HOST:PORT/],
    [{ ROOMCAST_KAFKA_BROKERS: "a:1,b" }, /^roomcast-fanout: ROOMCAST_KAFKA_BROKERS/],
    [{ ROOMCAST_LOG_LEVEL: "loud" }, /^roomcast-fanout: ROOMCAST_LOG_LEVEL/],
    [{ ROOMCAST_ROUTES_FILE: "/nonexistent/routes.json" }, /^roomcast-fanout: ROOMCAST_ROUTES_FILE/],
    [{ ROOMCAST_ROUTES_FILE: "/proc/self/status" }, /^roomcast-fanout: ROOMCAST_ROUTES_FILE: .*status/],
  ]) {
    const p = new Proc("roomcast-fanout", [], { ...env, ...extra });
    await p.exited;
    const st = p.exitStatus();
    assert.equal(st.code, 2, `${JSON.stringify(extra)}: ${p.logs()}`);
    const lines = p.logs().trim().split("\n");
    assert.equal(lines.length, 1, p.logs());
    assert.match(lines[0], want);
  }
});

test("/readyz says why while Kafka is unreachable; SIGTERM still exits 0", async () => {
  const env = fanoutEnv("fanout-ready");
  const fanout = await startFanout(env, { ROOMCAST_KAFKA_BROKERS: "127.0.0.1:1" });
  try {
    await waitFor("admin up", async () => (await httpGet(`http://127.0.0.1:${fanout.adminPort}/healthz`)).status === 200);
    const r = await httpGet(`http://127.0.0.1:${fanout.adminPort}/readyz`);
    assert.equal(r.status, 503);
    assert.match(JSON.parse(r.body).reason, /Kafka \(127\.0\.0\.1:1\) is not reachable/);
  } finally {
    await stopClean(fanout);
  }
});
