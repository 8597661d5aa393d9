// The foundation (issue 2) as a user meets it: the CLI's publish writes DomainEvents the
// broker gives back unchanged, bad settings stop a service with one line naming them,
// and both services serve their admin endpoints and are ready only with Kafka.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  Proc, baseEnv, bin, cli, createTopics, freePort, httpGet, newPrefix, startTail, waitFor, waitReady,
} from "./lib/harness.mjs";
import { catalog } from "./lib/catalog.mjs";

test("each catalog type published with `roomcast publish` reads back from Kafka as the same JSON", async () => {
  const env = baseEnv(newPrefix("publish"));
  await createTopics(env);
  const published = [];
  for (const row of catalog) {
    const r = await cli(["publish", row.type, JSON.stringify(row.payload)], env);
    assert.equal(r.code, 0, `${row.type}: ${r.stderr}`);
    const out = JSON.parse(r.stdout);
    assert.match(out.topic, /domain\.(notification|request|offer|payment|chat|dispute|system)$/);
    published.push({ row, out });
  }
  // Read every domain topic back from the beginning and match by event id.
  const topics = [...new Set(published.map((p) => p.out.topic.slice(env.ROOMCAST_TOPIC_PREFIX.length)))];
  const seen = new Map();
  for (const topic of topics) {
    const want = published.filter((p) => p.out.topic.endsWith(topic)).length;
    const r = await cli(["tail", "--topic", topic, "--from-beginning", "--count", String(want),
      "--timeout-ms", "20000"], env);
    assert.equal(r.code, 0, `tail ${topic}: ${r.stderr}`);
    for (const line of r.stdout.trim().split("\n")) {
      const ev = JSON.parse(line);
      seen.set(ev.id, ev);
    }
  }
  for (const { row, out } of published) {
    const ev = seen.get(out.id);
    assert.ok(ev, `${row.type} (${out.id}) was not read back`);
    assert.equal(ev.type, row.type);
    assert.deepEqual(ev.payload, row.payload, row.type);
    assert.equal(ev.aggregateId, out.key);
    assert.equal(ev.producer, "roomcast-cli");
  }
});

test("`roomcast publish` names the missing fields and produces nothing", async () => {
  const env = baseEnv(newPrefix("publish-bad"));
  const r = await cli(["publish", "payment.status_updated", "{}"], env);
  assert.equal(r.code, 2);
  for (const field of ["paymentId", "status", "providerPaymentId", "buyerId", "sellerId"])
    assert.match(r.stderr, new RegExp(field), `stderr should name ${field}: ${r.stderr}`);
  const unknown = await cli(["publish", "payment.teleported", '{"paymentId":"p"}'], env);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /payment\.teleported/);
  const notJson = await cli(["publish", "payment.completed", "{nope"], env);
  assert.equal(notJson.code, 2);
  assert.match(notJson.stderr, /not a JSON object/);
});

test("a malformed setting stops each binary with one line naming it and status 2", () => {
  const cases = [
    ["roomcast-gateway", { ROOMCAST_LISTEN: "nonsense" }, /ROOMCAST_LISTEN/],
    ["roomcast-gateway", { ROOMCAST_RECOVERY_WINDOW: "soon" }, /ROOMCAST_RECOVERY_WINDOW/],
    ["roomcast-gateway", { ROOMCAST_ROOM_POLICY: "lax" }, /ROOMCAST_ROOM_POLICY/],
    ["roomcast-gateway", { ROOMCAST_JWT_SECRET: "" }, /ROOMCAST_JWT_SECRET/],
    ["roomcast-gateway", { ROOMCAST_KAFKA_BROKERS: "a:b:c" }, /ROOMCAST_KAFKA_BROKERS/],
    ["roomcast-fanout", { ROOMCAST_ADMIN_LISTEN: "nowhere" }, /ROOMCAST_ADMIN_LISTEN/],
    ["roomcast-fanout", { ROOMCAST_ROUTES_FILE: "/no/such/routes.json" }, /ROOMCAST_ROUTES_FILE/],
    ["roomcast", { ROOMCAST_TOPIC_PREFIX: "bad prefix!" }, /ROOMCAST_TOPIC_PREFIX/, ["token", "--sub", "x"]],
  ];
  for (const [name, extra, re, args = []] of cases) {
    const env = { ...baseEnv("t-settings."), ...extra };
    const r = spawnSync(bin(name), args, { env, timeout: 10000, encoding: "utf8" });
    assert.equal(r.status, 2, `${name} ${JSON.stringify(extra)}: status ${r.status}, ${r.stderr}`);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, `${name}: want one line, got: ${r.stderr}`);
    assert.match(lines[0], re);
  }
});

test("gateway and fanout serve /healthz, /metrics and /readyz; ready only when Kafka is", async () => {
  const env = baseEnv(newPrefix("admin"));
  await createTopics(env);
  const [gp, ga, fa, deadGa] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const gw = new Proc("roomcast-gateway", [], {
    ...env, ROOMCAST_LISTEN: `127.0.0.1:${gp}`, ROOMCAST_ADMIN_LISTEN: `127.0.0.1:${ga}` });
  const fo = new Proc("roomcast-fanout", [], {
    ...env, ROOMCAST_ADMIN_LISTEN: `127.0.0.1:${fa}`, ROOMCAST_FANOUT_GROUP: `${env.ROOMCAST_TOPIC_PREFIX}g` });
  // A gateway whose Kafka is a closed port: alive, but never ready.
  const deadPort = await freePort();
  const dead = new Proc("roomcast-gateway", [], {
    ...env, ROOMCAST_KAFKA_BROKERS: `127.0.0.1:${deadPort}`, ROOMCAST_LISTEN: `127.0.0.1:${await freePort()}`,
    ROOMCAST_ADMIN_LISTEN: `127.0.0.1:${deadGa}` });
  try {
    await waitReady(ga);
    await waitReady(fa);
    for (const port of [ga, fa]) {
      const h = await httpGet(`http://127.0.0.1:${port}/healthz`);
      assert.equal(h.status, 200);
      const m = await httpGet(`http://127.0.0.1:${port}/metrics`);
      assert.equal(m.status, 200);
      assert.match(m.headers.get("content-type"), /text\/plain; version=0\.0\.4/);
      assert.match(m.body, /^process_resident_memory_bytes \d+/m);
    }
    const gm = (await httpGet(`http://127.0.0.1:${ga}/metrics`)).body;
    for (const name of ["roomcast_gateway_connections", "roomcast_gateway_sockets",
      "roomcast_gateway_delivery_latency_seconds_bucket", "roomcast_gateway_consumer_lag_messages"])
      assert.match(gm, new RegExp(`^${name}`, "m"), name);
    // once it has tried its Kafka and failed (its log says so), it is still not ready
    await waitFor("the dead-Kafka gateway to find no broker", () => /"msg":"kafka error"/.test(dead.logs()));
    const h = await httpGet(`http://127.0.0.1:${deadGa}/healthz`);
    assert.equal(h.status, 200);
    assert.equal(JSON.parse(h.body).kafka.up, false);
    const nr = await httpGet(`http://127.0.0.1:${deadGa}/readyz`);
    assert.equal(nr.status, 503);
    assert.match(JSON.parse(nr.body).reason, /Kafka|topic/);
  } finally {
    for (const p of [gw, fo, dead]) {
      await p.stop("SIGINT");
      assert.equal(p.sanitizerReport(), null, `${p.name}: ${p.sanitizerReport()}`);
    }
  }
});
