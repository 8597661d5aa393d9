// Kafka security (ROOMCAST_KAFKA_SECURITY_PROTOCOL and friends) against the real broker
// started with `tests/kafka/kafka start DIR --secure`: SASL_SSL and SASL_PLAINTEXT
// listeners (PLAIN, SCRAM-SHA-256/512 users made at format time) and an SSL listener that
// requires client certificates. scripts/test starts its one broker that way and says where
// with ROOMCAST_TEST_KAFKA_SECURE (its secure.json); run alone, this file starts its own.
//
// What a user would notice: the fanout, the gateway and the CLI deliver an event to a
// stock client with every byte to Kafka over SASL_SSL, and over mutual TLS; a wrong
// password or a missing client certificate gives one log line, a /readyz reason and a
// metric, not a line at every retry; a bad setting stops each binary with one line.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { io } from "socket.io-client";
import {
  baseEnv, bin, cli, createTopics, httpGet, metric, newPrefix, root, startFanout, startGateway,
  stopAll, token, waitFor, Proc, freePort,
} from "./lib/harness.mjs";

let secure, ownBroker, tmp;

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "roomcast-kafkasec-"));
  let file = process.env.ROOMCAST_TEST_KAFKA_SECURE;
  if (!file) {
    ownBroker = path.join(tmp, "kafka");
    execFileSync(path.join(root, "tests/kafka/kafka"), ["start", ownBroker, "--secure"], { stdio: ["ignore", "ignore", "inherit"] });
    file = path.join(ownBroker, "secure.json");
  }
  secure = JSON.parse(fs.readFileSync(file, "utf8"));
});

after(() => {
  if (ownBroker) execFileSync(path.join(root, "tests/kafka/kafka"), ["stop", ownBroker]);
  fs.rmSync(tmp, { recursive: true, force: true });
});

function write(name, text) {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, text, { mode: 0o600 });
  return f;
}

// SASL_SSL with PLAIN; the password from a file, as a Kubernetes secret is mounted.
function saslEnv(prefix, extra = {}) {
  const [user, password] = secure.users.PLAIN;
  return baseEnv(prefix, {
    ROOMCAST_KAFKA_BROKERS: secure.sasl_ssl,
    ROOMCAST_KAFKA_SECURITY_PROTOCOL: "SASL_SSL",
    ROOMCAST_KAFKA_SASL_MECHANISM: "PLAIN",
    ROOMCAST_KAFKA_SASL_USERNAME: user,
    ROOMCAST_KAFKA_SASL_PASSWORD_FILE: write(`pw-${prefix}`, `${password}\n`),
    ROOMCAST_KAFKA_SSL_CA_FILE: secure.ca,
    ...extra,
  });
}

function mtlsEnv(prefix, extra = {}) {
  return baseEnv(prefix, {
    ROOMCAST_KAFKA_BROKERS: secure.ssl,
    ROOMCAST_KAFKA_SECURITY_PROTOCOL: "SSL",
    ROOMCAST_KAFKA_SSL_CA_FILE: secure.ca,
    ROOMCAST_KAFKA_SSL_CERT_FILE: secure.client_cert,
    ROOMCAST_KAFKA_SSL_KEY_FILE: secure.client_key,
    ...extra,
  });
}

async function connect(gw, tok) {
  const s = io(gw.url, { auth: { token: tok }, transports: ["websocket"], reconnection: false });
  await new Promise((resolve, reject) => { s.once("connect", resolve); s.once("connect_error", reject); });
  return s;
}

const lines = (p, msg) => p.lines.filter((l) => l.includes(`"msg":"${msg}"`));

test("fanout + gateway + CLI over SASL_SSL deliver a published event to a stock client", async () => {
  const env = saslEnv(newPrefix("sasl"), { ROOMCAST_LOG_LEVEL: "debug" });
  // a properties file and one ROOMCAST_KAFKA_PROPERTY_* reach every client: debug=security
  // makes librdkafka log its SASL handshake, which only happens if the file was applied
  const props = write("client.properties", "# passthrough\ndebug = security\n\nsocket.connection.setup.timeout.ms=20000\n");
  await createTopics(env);
  const procEnv = { ...env, ROOMCAST_KAFKA_PROPERTIES_FILE: props, ROOMCAST_KAFKA_PROPERTY_TOPIC_METADATA_REFRESH_INTERVAL_MS: "60000" };
  const fanout = await startFanout(procEnv);
  const gw = await startGateway(procEnv);
  let sock;
  try {
    sock = await connect(gw, await token(env, "u-sasl", "buyer"));
    const got = new Promise((resolve) => sock.once("payment:completed", resolve));
    const r = await cli(["publish", "payment.completed", '{"paymentId":"p-sasl","buyerId":"u-sasl","sellerId":"s-1"}'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await got, { paymentId: "p-sasl" });
    for (const p of [fanout, gw]) {
      assert.ok(p.lines.some((l) => /"facility":"SASL[A-Z]*"/.test(l) && l.includes("PLAIN")),
        `${p.name} applied the properties file (debug=security)`);
      assert.equal(lines(p, "Kafka authentication failed").length, 0);
    }
    assert.equal(await metric(gw.adminPort, "roomcast_gateway_kafka_auth_failures_total"), 0);
  } finally {
    sock?.close();
    await stopAll([gw, fanout]);
  }
});

test("mutual TLS: the gateway and the CLI reach the SSL listener with a client certificate", async () => {
  // an encrypted copy of the client key, its password from a file
  const key = path.join(tmp, "client-enc.key");
  execFileSync("openssl", ["pkcs8", "-topk8", "-in", secure.client_key, "-out", key, "-v2", "aes-256-cbc",
    "-passout", "pass:key-pass"], { stdio: "ignore" });
  const env = mtlsEnv(newPrefix("mtls"), {
    ROOMCAST_KAFKA_SSL_KEY_FILE: key, ROOMCAST_KAFKA_SSL_KEY_PASSWORD_FILE: write("key-pass", "key-pass\n") });
  await createTopics(env);
  const gw = await startGateway(env);
  let sock;
  try {
    sock = await connect(gw, await token(env, "u-mtls", "buyer"));
    const got = new Promise((resolve) => sock.once("chat:typing", resolve));
    const r = await cli(["emit", "user-u-mtls", "chat:typing", '{"chatId":"c1"}'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await got, { chatId: "c1" });
  } finally {
    sock?.close();
    await stopAll([gw]);
  }
});

// Waits until the process has been refused more than once (librdkafka reports a repeated
// refusal of one connection at most twice a minute), then checks it said so once.
async function refusedOnce(p, adminPort, metricName, msg, reasonRe) {
  await waitFor(`${p.name} to be refused twice`, async () => (await metric(adminPort, metricName)) >= 2, 30000, 200);
  const ready = await httpGet(`http://127.0.0.1:${adminPort}/readyz`);
  assert.equal(ready.status, 503);
  assert.match(JSON.parse(ready.body).reason, reasonRe);
  assert.equal(lines(p, msg).length, 1, p.logs().slice(-3000));
  // no librdkafka line per retry, no "waiting" line per retry either
  assert.equal(p.lines.filter((l) => /"level":"(warn|error)"/.test(l)).length, 1, p.logs().slice(-3000));
}

test("a wrong password: one log line, a /readyz reason and a metric, not a retry storm", async () => {
  const env = saslEnv(newPrefix("badpw"), { ROOMCAST_KAFKA_SASL_PASSWORD_FILE: write("bad-pw", "not-the-password\n") });
  const [gwPort, gwAdmin, foAdmin] = [await freePort(), await freePort(), await freePort()];
  const gw = new Proc("roomcast-gateway", [], { ...env, ROOMCAST_LISTEN: `127.0.0.1:${gwPort}`, ROOMCAST_ADMIN_LISTEN: `127.0.0.1:${gwAdmin}` });
  const fanout = new Proc("roomcast-fanout", [], { ...env, ROOMCAST_ADMIN_LISTEN: `127.0.0.1:${foAdmin}`,
    ROOMCAST_FANOUT_GROUP: `${env.ROOMCAST_TOPIC_PREFIX}fanout` });
  try {
    const why = /^Kafka authentication failed \(SASL_SSL, PLAIN as "roomcast"\): .*Invalid username or password/;
    await refusedOnce(gw, gwAdmin, "roomcast_gateway_kafka_auth_failures_total", "Kafka authentication failed", why);
    await refusedOnce(fanout, foAdmin, "roomcast_fanout_kafka_auth_failures_total", "Kafka authentication failed", why);
    // the CLI fails and says why in one line too
    const r = await cli(["emit", "user-x", "e", "{}"], env);
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.split("\n").filter((l) => l.includes("Kafka authentication failed")).length, 1, r.stderr);
  } finally {
    await stopAll([gw, fanout]);
  }
});

test("a missing client certificate on the mutual-TLS listener says so the same way", async () => {
  const env = mtlsEnv(newPrefix("nocert"), { ROOMCAST_KAFKA_SSL_CERT_FILE: "", ROOMCAST_KAFKA_SSL_KEY_FILE: "" });
  const [gwPort, gwAdmin] = [await freePort(), await freePort()];
  const gw = new Proc("roomcast-gateway", [], { ...env, ROOMCAST_LISTEN: `127.0.0.1:${gwPort}`, ROOMCAST_ADMIN_LISTEN: `127.0.0.1:${gwAdmin}` });
  try {
    await refusedOnce(gw, gwAdmin, "roomcast_gateway_kafka_auth_failures_total", "Kafka TLS handshake failed",
      /^Kafka TLS handshake failed \(SSL\): .*(bad certificate|certificate required)/);
    assert.match(lines(gw, "Kafka TLS handshake failed")[0], /ROOMCAST_KAFKA_SSL_CERT_FILE/);
  } finally {
    await stopAll([gw]);
  }
});

test("SCRAM users made at format time: librdkafka before 2.6.1 is refused, and the line says why", async () => {
  const version = execFileSync("pkg-config", ["--modversion", "rdkafka"], { encoding: "utf8" }).trim();
  const fixed = version.split(".").map(Number).reduce((a, n) => a * 1000 + n, 0) >= 2006001;
  for (const mech of ["SCRAM-SHA-256", "SCRAM-SHA-512"]) {
    const [user, password] = secure.users[mech];
    const env = baseEnv(newPrefix("scram"), {
      ROOMCAST_KAFKA_BROKERS: secure.sasl_ssl, ROOMCAST_KAFKA_SECURITY_PROTOCOL: "SASL_SSL",
      ROOMCAST_KAFKA_SASL_MECHANISM: mech, ROOMCAST_KAFKA_SASL_USERNAME: user,
      ROOMCAST_KAFKA_SASL_PASSWORD: password, ROOMCAST_KAFKA_SSL_CA_FILE: secure.ca });
    const r = await cli(["topics", "create", "--timeout-ms", "3000"], env);
    if (fixed) {
      assert.equal(r.code, 0, r.stderr);
    } else {
      // Kafka 4.x checks the SCRAM nonce strictly (CVE-2024-56128); librdkafka < 2.6.1
      // sends it wrong, so the right password is refused: the line names the cause.
      assert.notEqual(r.code, 0);
      const line = r.stderr.split("\n").find((l) => l.includes("Kafka authentication failed"));
      assert.ok(line, r.stderr);
      assert.match(JSON.parse(line).hint, /librdkafka before 2\.6\.1 cannot do SCRAM .*CVE-2024-56128/);
      assert.match(JSON.parse(line).security, new RegExp(`SASL_SSL, ${mech} as "${user}"`));
    }
  }
});

test("a bad Kafka security setting stops each binary with one line naming it", () => {
  const env = baseEnv(newPrefix("badcfg"));
  const cases = [
    [{ ROOMCAST_KAFKA_SECURITY_PROTOCOL: "TLS" }, /^ROOMCAST_KAFKA_SECURITY_PROTOCOL: "TLS" is not one of PLAINTEXT,SSL,SASL_PLAINTEXT,SASL_SSL$/],
    [{ ROOMCAST_KAFKA_SECURITY_PROTOCOL: "SASL_SSL" }, /^ROOMCAST_KAFKA_SECURITY_PROTOCOL SASL_SSL needs ROOMCAST_KAFKA_SASL_MECHANISM$/],
    [{ ROOMCAST_KAFKA_SASL_USERNAME: "u" }, /^ROOMCAST_KAFKA_SASL_USERNAME is set but ROOMCAST_KAFKA_SECURITY_PROTOCOL is PLAINTEXT/],
    [{ ROOMCAST_KAFKA_SECURITY_PROTOCOL: "sasl_ssl", ROOMCAST_KAFKA_SASL_MECHANISM: "PLAIN", ROOMCAST_KAFKA_SASL_USERNAME: "u" },
      /^ROOMCAST_KAFKA_SASL_MECHANISM PLAIN needs ROOMCAST_KAFKA_SASL_USERNAME and ROOMCAST_KAFKA_SASL_PASSWORD/],
    [{ ROOMCAST_KAFKA_PROPERTY_SOCKET_TIMEOUT_MS: "soon" }, /^ROOMCAST_KAFKA_PROPERTY_SOCKET_TIMEOUT_MS: librdkafka refuses socket\.timeout\.ms=soon: /],
    [{ ROOMCAST_KAFKA_PROPERTY_NO_SUCH_THING: "1" }, /^ROOMCAST_KAFKA_PROPERTY_NO_SUCH_THING: librdkafka refuses no\.such\.thing=1: No such configuration property/],
    [{ ROOMCAST_KAFKA_PROPERTY_TRANSACTIONAL_ID: "x" }, /^ROOMCAST_KAFKA_PROPERTY_TRANSACTIONAL_ID: transactional\.id is not for the passthrough/],
    [{ ROOMCAST_KAFKA_SECURITY_PROTOCOL: "SSL", ROOMCAST_KAFKA_SSL_CA_FILE: path.join(root, "README.md") }, /^ROOMCAST_KAFKA_SSL_CA_FILE: ssl\.ca\.location failed: /],
    [{ ROOMCAST_KAFKA_PROPERTIES_FILE: write("bad.properties", "linger.ms=5\nlinger.ms=6\n") }, /^ROOMCAST_KAFKA_PROPERTIES_FILE line 2: linger\.ms is already set by ROOMCAST_KAFKA_PROPERTIES_FILE line 1$/],
  ];
  for (const [extra, want] of cases) {
    for (const [name, args] of [["roomcast-gateway", []], ["roomcast-fanout", []], ["roomcast", ["topics", "create"]]]) {
      const r = spawnSync(bin(name), args, { env: { ...env, ...extra }, encoding: "utf8", timeout: 20000 });
      assert.equal(r.status, 2, `${name} ${JSON.stringify(extra)}: ${r.stderr}`);
      const out = r.stderr.trim();
      assert.equal(out.split("\n").length, 1, out);
      assert.match(out.replace(/^[a-z-]+: /, ""), want, `${name}: ${out}`);
    }
  }
  // --help lists the settings
  const help = spawnSync(bin("roomcast-gateway"), ["--help"], { encoding: "utf8" }).stdout;
  for (const s of ["ROOMCAST_KAFKA_SECURITY_PROTOCOL", "ROOMCAST_KAFKA_SASL_PASSWORD_FILE", "ROOMCAST_KAFKA_PROPERTIES_FILE"])
    assert.match(help, new RegExp(s));
});
