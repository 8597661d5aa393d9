// Issue 12 item 13: what the gateway exposes by default. Before, with no Origin allow-list
// any Origin was reflected with Access-Control-Allow-Credentials: true (any site's page
// could read the polling answers of a visitor's session), and the admin port listened on
// 0.0.0.0. Now CORS is what Socket.IO's `cors` option does: nothing unless configured;
// "*" is {origin: "*"}; a list is {origin: [...], credentials: true}. The admin port
// defaults to loopback. (Secrets written 0600: secrets.test.mjs.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import net from "node:net";
import { io } from "socket.io-client";
import {
  Proc, baseEnv, bin, createTopics, freePort, newPrefix, startGateway, stopAll, token, waitFor,
} from "./lib/harness.mjs";

const EVIL = "https://evil.example";

async function handshake(url, origin, method = "GET") {
  const r = await fetch(`${url}/socket.io/?EIO=4&transport=polling`, { method, headers: { Origin: origin } });
  await r.text();
  return { status: r.status, allow: r.headers.get("access-control-allow-origin"),
    credentials: r.headers.get("access-control-allow-credentials"), vary: r.headers.get("vary") };
}

test("CORS as Socket.IO's cors option: none by default, * without credentials, a list with them", async () => {
  const env = baseEnv(newPrefix("cors"));
  await createTopics(env);
  const [plain, any, listed] = await Promise.all([
    startGateway(env),
    startGateway(env, { ROOMCAST_ALLOWED_ORIGINS: "*" }),
    startGateway(env, { ROOMCAST_ALLOWED_ORIGINS: "https://shop.example" }),
  ]);
  const sockets = [];
  try {
    // unset: another site's page gets no CORS headers (its script cannot read the answer)
    for (const method of ["GET", "OPTIONS"]) {
      const r = await handshake(plain.url, EVIL, method);
      assert.equal(r.allow, null, `${method}: Access-Control-Allow-Origin ${r.allow}`);
      assert.equal(r.credentials, null, `${method}: credentials`);
    }
    // non-browser clients and WebSocket are not affected (Socket.IO checks no Origin either)
    const s = io(plain.url, { auth: { token: await token(env, "cors-1", "buyer") }, transports: ["websocket"],
      reconnection: false, extraHeaders: { Origin: EVIL } });
    sockets.push(s);
    await new Promise((resolve, reject) => { s.once("connect", resolve); s.once("connect_error", reject); });

    // "*": any site, never with credentials
    const star = await handshake(any.url, EVIL);
    assert.equal(star.status, 200);
    assert.equal(star.allow, "*");
    assert.equal(star.credentials, null);

    // a list: the listed site reflected with credentials; any other refused
    const ok = await handshake(listed.url, "https://shop.example");
    assert.deepEqual([ok.status, ok.allow, ok.credentials, ok.vary], [200, "https://shop.example", "true", "Origin"]);
    assert.equal((await handshake(listed.url, EVIL)).status, 403);
  } finally {
    sockets.forEach((x) => x.close());
    await stopAll([plain, any, listed]);
  }
});

test("the admin port listens on loopback unless told otherwise", async () => {
  const help = spawnSync(bin("roomcast-gateway"), ["--help"], { env: baseEnv("t-x."), encoding: "utf8" });
  assert.match(help.stdout, /ROOMCAST_ADMIN_LISTEN\s+--admin-listen\s+127\.0\.0\.1:9100/);
  // and the process does so: started without ROOMCAST_ADMIN_LISTEN, when 9100 is free here
  const free = await new Promise((resolve) => {
    const srv = net.createServer().once("error", () => resolve(false)).listen(9100, "0.0.0.0", () => srv.close(() => resolve(true)));
  });
  if (!free) return; // someone's gateway has it: --help above said what the default is
  const env = baseEnv(newPrefix("admin"));
  const gw = new Proc("roomcast-gateway", [], { ...env, ROOMCAST_LISTEN: `127.0.0.1:${await freePort()}` });
  try {
    const line = await waitFor("listening", () => gw.lines.find((l) => l.includes('"msg":"listening"')), 20000);
    assert.equal(JSON.parse(line).admin, "127.0.0.1:9100");
  } finally {
    await stopAll([gw]);
  }
});
