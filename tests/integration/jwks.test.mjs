// ROOMCAST_JWT_JWKS_URL: the gateway verifies tokens with the keys an identity provider
// publishes, picked by kid. Against a local HTTPS JWKS server (node's https module, with a
// CA openssl makes here) and the stock client:
//   - a key rotation while clients stay connected: old-kid tokens keep working while the
//     old key is published, new-kid tokens work as soon as the new key is, without restart;
//     sockets connected with the old key stay connected after it is withdrawn;
//   - a flood of made-up kids costs the JWKS server at most one request a
//     ROOMCAST_JWT_JWKS_MIN_REFRESH_SECONDS;
//   - "none", HS256 (with the public key as the secret) and a kid of the other algorithm
//     are refused;
//   - until the first set loads /readyz says why; a failing server keeps the keys;
//   - the fetch is HTTPS only and verifies the server's certificate.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { io } from "socket.io-client";
import {
  Proc, baseEnv, bin, cli, createTopics, freePort, httpGet, metric, newPrefix, startGateway,
  stopAll, waitFor,
} from "./lib/harness.mjs";

let tmp, ca, server, jwksPort, env;
const state = { keys: [], status: 200, requests: 0 };

const rsa = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
const jwk = (pair, kid, alg) => ({ ...pair.publicKey.export({ format: "jwk" }), kid, alg, use: "sig" });
const A = jwk(rsa, "rsa-2026-01", "RS256");
const B = jwk(ec, "ec-2026-02", "ES256");

const b64u = (x) => Buffer.from(x).toString("base64url");
function jwt(header, claims, key) {
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`;
  let sig = Buffer.alloc(0);
  if (header.alg === "RS256") sig = crypto.sign("sha256", Buffer.from(input), key);
  if (header.alg === "ES256") sig = crypto.sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" });
  if (header.alg === "HS256") sig = crypto.createHmac("sha256", key).update(input).digest();
  return `${input}.${b64u(sig)}`;
}
const claims = (sub) => ({ sub, role: "buyer", iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 600 });
const tokA = (sub) => jwt({ alg: "RS256", typ: "JWT", kid: A.kid }, claims(sub), rsa.privateKey);
const tokB = (sub, kid = B.kid) => jwt({ alg: "ES256", typ: "JWT", kid }, claims(sub), ec.privateKey);

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "roomcast-jwks-"));
  const f = (n) => path.join(tmp, n);
  const run = (args) => execFileSync("openssl", args, { stdio: "ignore" });
  run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f("ca.key"),
    "-out", f("ca.pem"), "-days", "1", "-subj", "/CN=roomcast test IdP CA"]);
  run(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f("idp.key"),
    "-out", f("idp.csr"), "-subj", "/CN=127.0.0.1"]);
  fs.writeFileSync(f("idp.ext"), "subjectAltName=IP:127.0.0.1\n");
  run(["x509", "-req", "-in", f("idp.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca.key"), "-CAcreateserial",
    "-days", "1", "-extfile", f("idp.ext"), "-out", f("idp.pem")]);
  ca = f("ca.pem");
  server = https.createServer({ key: fs.readFileSync(f("idp.key")), cert: fs.readFileSync(f("idp.pem")) }, (req, res) => {
    state.requests++;
    if (req.url !== "/.well-known/jwks.json" || state.status !== 200) {
      res.writeHead(req.url === "/.well-known/jwks.json" ? state.status : 404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/jwk-set+json" }).end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  jwksPort = server.address().port;
  env = baseEnv(newPrefix("jwks"), { ROOMCAST_JWT_SECRET: "" });
  await createTopics(env);
});

after(() => {
  server?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const jwksEnv = (extra = {}) => ({
  ...env, ROOMCAST_JWT_JWKS_URL: `https://127.0.0.1:${jwksPort}/.well-known/jwks.json`,
  ROOMCAST_JWT_JWKS_CA_FILE: ca, ROOMCAST_JWT_JWKS_REFRESH_SECONDS: "3",
  ROOMCAST_JWT_JWKS_MIN_REFRESH_SECONDS: "1", ...extra,
});

// Resolves the connected socket, or rejects with the connect_error.
function connect(gw, token) {
  const s = io(gw.url, { auth: { token }, transports: ["websocket"], reconnection: false, forceNew: true });
  return new Promise((resolve, reject) => {
    s.once("connect", () => resolve(s));
    s.once("connect_error", (e) => { s.close(); reject(e); });
  });
}
const refused = async (gw, token) => connect(gw, token).then((s) => { s.close(); return false; }, () => true);

async function emitTo(user, payload) {
  const r = await cli(["emit", `user-${user}`, "notification:received", JSON.stringify(payload)], env);
  assert.equal(r.code, 0, r.stderr);
}
const next = (s, ev) => new Promise((resolve) => s.once(ev, resolve));

test("a key rotation while clients stay connected, and a flood of unknown kids", async () => {
  state.keys = [A];
  state.status = 200;
  const gw = await startGateway(jwksEnv());
  const sockets = [];
  try {
    // before the rotation: RS256 tokens of key A
    const a1 = await connect(gw, tokA("alice"));
    sockets.push(a1);
    let got = next(a1, "notification:received");
    await emitTo("alice", { n: 1 });
    assert.deepEqual(await got, { n: 1 });
    assert.ok(await refused(gw, tokB("bob")), "key B is not published yet");

    // the provider publishes key B beside A: a B token works without a restart (its
    // unknown kid asks for a fetch), A tokens still work, alice stays connected
    state.keys = [B, A];
    const b1 = await waitFor("a token of the new key to be accepted",
      () => connect(gw, tokB("bob")).catch(() => null), 10000, 200);
    sockets.push(b1);
    sockets.push(await connect(gw, tokA("carol")));
    got = next(a1, "notification:received");
    const gotB = next(b1, "notification:received");
    await emitTo("alice", { n: 2 });
    await emitTo("bob", { n: 3 });
    assert.deepEqual(await got, { n: 2 });
    assert.deepEqual(await gotB, { n: 3 });

    // A is withdrawn: new A tokens are refused after the next scheduled fetch; sockets
    // already connected with A stay connected
    state.keys = [B];
    await waitFor("key A to be withdrawn", () => refused(gw, tokA("dave")), 10000, 300);
    got = next(a1, "notification:received");
    await emitTo("alice", { n: 4 });
    assert.deepEqual(await got, { n: 4 });
    assert.ok(a1.connected);

    // tokens with made-up kids, 20 at a time for at least 2.5 s: all refused, and the JWKS
    // server sees at most one request a second (MIN_REFRESH_SECONDS=1), the schedule's included
    const before = state.requests, t0 = Date.now();
    let attempts = 0;
    for (let round = 0; round < 100 && (round < 10 || Date.now() - t0 < 2500); round++, attempts += 20) {
      const r = await Promise.all(Array.from({ length: 20 }, (_, i) => refused(gw, tokB("eve", `made-up-${round}-${i}`))));
      assert.ok(r.every(Boolean));
    }
    const seconds = (Date.now() - t0) / 1000;
    // the marker after the flood: a good token still works, so the gateway kept up
    sockets.push(await connect(gw, tokB("frank")));
    const fetched = state.requests - before;
    assert.ok(fetched <= Math.ceil(seconds) + 1, `${fetched} JWKS requests in ${seconds.toFixed(1)} s`);
    assert.ok(await metric(gw.adminPort, "roomcast_gateway_refusals_total", 'reason="token_unknown_key"') >= attempts);
    assert.equal(await metric(gw.adminPort, "roomcast_gateway_jwks_keys"), 1);
    assert.ok(await metric(gw.adminPort, "roomcast_gateway_jwks_refreshes_total", 'result="ok"') >= 3);
    const page = (await httpGet(`http://127.0.0.1:${gw.adminPort}/metrics`)).body;
    const lint = spawnSync("promtool", ["check", "metrics"], { input: page, encoding: "utf8" });
    assert.equal(lint.status, 0, lint.stdout + lint.stderr);
  } finally {
    sockets.forEach((s) => s.close());
    await stopAll([gw]);
  }
});

test("alg none, HS256 with the public key as secret and a kid of the other algorithm are refused", async () => {
  state.keys = [A, B];
  const gw = await startGateway(jwksEnv());
  try {
    const pem = rsa.publicKey.export({ type: "spki", format: "pem" });
    const attacks = {
      token_bad_alg: [
        jwt({ alg: "none", kid: A.kid }, claims("mallory"), null),
        jwt({ alg: "HS256", kid: A.kid }, claims("mallory"), pem),
        jwt({ alg: "RS384", kid: A.kid }, claims("mallory"), null),
      ],
      // RS256 naming the EC key: no RS256 key has that kid
      token_unknown_key: [jwt({ alg: "RS256", kid: B.kid }, claims("mallory"), rsa.privateKey)],
      token_bad_signature: [jwt({ alg: "ES256", kid: B.kid }, claims("mallory"), crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey)],
    };
    for (const [reason, tokens] of Object.entries(attacks)) {
      for (const t of tokens) assert.ok(await refused(gw, t), `${reason}: ${t.split(".")[0]}`);
      assert.equal(await metric(gw.adminPort, "roomcast_gateway_refusals_total", `reason="${reason}"`), tokens.length, reason);
    }
    // the marker: a good token of each key works on the same gateway
    (await connect(gw, tokA("ok-a"))).close();
    (await connect(gw, tokB("ok-b"))).close();
  } finally {
    await stopAll([gw]);
  }
});

test("until the first set loads /readyz says why; a failing server keeps the keys", async () => {
  state.keys = [B];
  state.status = 503;
  const [port, adminPort] = [await freePort(), await freePort()];
  const gw = new Proc("roomcast-gateway", [], { ...jwksEnv({ ROOMCAST_JWT_JWKS_REFRESH_SECONDS: "1" }),
    ROOMCAST_LISTEN: `127.0.0.1:${port}`, ROOMCAST_ADMIN_LISTEN: `127.0.0.1:${adminPort}` });
  gw.url = `http://127.0.0.1:${port}`;
  // a gateway that does not trust the server's CA cannot load it either
  const [p2, a2] = [await freePort(), await freePort()];
  const untrusting = new Proc("roomcast-gateway", [], { ...jwksEnv({ ROOMCAST_JWT_JWKS_CA_FILE: "" }),
    ROOMCAST_LISTEN: `127.0.0.1:${p2}`, ROOMCAST_ADMIN_LISTEN: `127.0.0.1:${a2}` });
  try {
    const reason = async (admin) => {
      const r = await httpGet(`http://127.0.0.1:${admin}/readyz`);
      return r.status === 503 ? JSON.parse(r.body).reason : null;
    };
    await waitFor("the 503 to show", async () => /^JWKS not loaded yet from https:.*: HTTP status 503$/.test(await reason(adminPort) ?? ""), 10000);
    await waitFor("the TLS failure to show", async () => /^JWKS not loaded yet from .*: TLS: .*certificate verify failed/.test(await reason(a2) ?? ""), 10000);
    assert.ok(await metric(adminPort, "roomcast_gateway_jwks_refreshes_total", 'result="failed"') >= 1);
    state.status = 200;
    await waitFor("ready once the server answers", async () => (await httpGet(`http://127.0.0.1:${adminPort}/readyz`)).status === 200, 10000);
    // the server fails again: the keys stay, tokens keep working
    state.status = 500;
    const failed = await metric(adminPort, "roomcast_gateway_jwks_refreshes_total", 'result="failed"');
    await waitFor("a failed refresh", async () => (await metric(adminPort, "roomcast_gateway_jwks_refreshes_total", 'result="failed"')) > failed, 10000);
    (await connect(gw, tokB("grace"))).close();
    assert.equal((await httpGet(`http://127.0.0.1:${adminPort}/readyz`)).status, 200);
  } finally {
    state.status = 200;
    await stopAll([gw, untrusting]);
  }
});

test("ROOMCAST_JWT_JWKS_URL settings: https only, one key source, bad values stop the gateway", () => {
  const cases = [
    [{ ROOMCAST_JWT_JWKS_URL: "http://127.0.0.1:1/jwks.json" }, /^ROOMCAST_JWT_JWKS_URL: "http:\/\/127\.0\.0\.1:1\/jwks\.json" is not an https:\/\/ URL with a host$/],
    [{ ROOMCAST_JWT_JWKS_URL: "https://idp/jwks", ROOMCAST_JWT_SECRET: "s".repeat(40) }, /^set exactly one of ROOMCAST_JWT_SECRET, ROOMCAST_JWT_PUBLIC_KEY_FILE and ROOMCAST_JWT_JWKS_URL$/],
    [{ ROOMCAST_JWT_JWKS_URL: "https://idp/jwks", ROOMCAST_JWT_JWKS_MIN_REFRESH_SECONDS: "0" }, /^ROOMCAST_JWT_JWKS_MIN_REFRESH_SECONDS: "0" is not a whole number from 1 to 3600$/],
    [{ ROOMCAST_JWT_JWKS_URL: "https://127.0.0.1:1/j", ROOMCAST_JWT_JWKS_CA_FILE: bin("roomcast-gateway") }, /^ROOMCAST_JWT_JWKS_CA_FILE: ".*" holds no PEM certificate$/],
  ];
  for (const [extra, want] of cases) {
    const r = spawnSync(bin("roomcast-gateway"), [], { env: { ...env, ...extra }, encoding: "utf8", timeout: 10000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr.trim().replace(/^roomcast-gateway: /, ""), want);
  }
});
