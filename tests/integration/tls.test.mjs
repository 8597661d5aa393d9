// ROOMCAST_TLS_CERT_FILE / _KEY_FILE: the gateway serves wss:// and https:// through
// OpenSSL; the stock client connects over both transports; a bad key file stops the
// gateway at start with one line naming it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { io } from "socket.io-client";
import { baseEnv, bin, cli, createTopics, newPrefix, startGateway, stopAll, token } from "./lib/harness.mjs";

test("the gateway serves wss:// and https:// with the configured certificate", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "roomcast-tls-"));
  const cert = path.join(dir, "cert.pem"), key = path.join(dir, "key.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
    "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
    "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
  const env = baseEnv(newPrefix("tls"));
  await createTopics(env);
  const gw = await startGateway(env, { ROOMCAST_TLS_CERT_FILE: cert, ROOMCAST_TLS_KEY_FILE: key });
  const sockets = [];
  try {
    const url = `https://127.0.0.1:${gw.port}`;
    for (const transports of [["websocket"], ["polling", "websocket"]]) {
      const s = io(url, { auth: { token: await token(env, "tls-1", "buyer") }, transports,
        ca: fs.readFileSync(cert), reconnection: false });
      sockets.push(s);
      await new Promise((resolve, reject) => { s.once("connect", resolve); s.once("connect_error", reject); });
      const got = new Promise((resolve) => s.once("payment:completed", resolve));
      assert.equal((await cli(["emit", "user-tls-1", "payment:completed", '{"paymentId":"tls"}'], env)).code, 0);
      assert.deepEqual(await got, { paymentId: "tls" });
    }
    // a client that does not trust the certificate is refused by its own TLS check
    const untrusting = io(url, { auth: { token: "x" }, transports: ["websocket"], reconnection: false });
    sockets.push(untrusting);
    const err = await new Promise((resolve) => untrusting.once("connect_error", resolve));
    assert.match(String(err.description?.message ?? err.message), /self[- ]signed|certificate|websocket error/i);
  } finally {
    sockets.forEach((s) => s.close());
    await stopAll([gw]);
  }
  const bad = spawnSync(bin("roomcast-gateway"), [], {
    env: { ...env, ROOMCAST_TLS_CERT_FILE: cert, ROOMCAST_TLS_KEY_FILE: cert }, encoding: "utf8", timeout: 10000 });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr.trim(), /^roomcast-gateway: ROOMCAST_TLS_KEY_FILE: /);
  fs.rmSync(dir, { recursive: true });
});
