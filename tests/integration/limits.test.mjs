// The gateway's guards as an operator configures them: the room-join authorization URL
// (allow, deny, a timeout that refuses, decisions cached), the Origin allow-list, the
// connection limit and the handshake timeout.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { io } from "socket.io-client";
import WebSocket from "ws";
import {
  baseEnv, createTopics, metric, newPrefix, startGateway, stopAll, token, waitFor,
} from "./lib/harness.mjs";

async function connected(url, tok, opts = {}) {
  const s = io(url, { auth: { token: tok }, transports: ["websocket"], reconnection: false, ...opts });
  await new Promise((resolve, reject) => { s.once("connect", resolve); s.once("connect_error", reject); });
  return s;
}

test("ROOMCAST_AUTHZ_URL decides entity-room joins; a timeout refuses; answers are cached", async () => {
  const asked = [];
  let slow = null; // the answer about request-slow, held until the join has been refused
  const authz = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const q = JSON.parse(body);
      asked.push(q);
      if (q.room === "request-slow") return void (slow = res);
      res.writeHead(q.room === "request-mine" && q.userId === "az-1" && q.role === "buyer" ? 204 : 403);
      res.end();
    });
  });
  await new Promise((r) => authz.listen(0, "127.0.0.1", r));
  const env = baseEnv(newPrefix("authz"));
  await createTopics(env);
  const gw = await startGateway(env, {
    ROOMCAST_AUTHZ_URL: `http://127.0.0.1:${authz.address().port}/authorize`,
    ROOMCAST_AUTHZ_TIMEOUT_MS: "500", ROOMCAST_AUTHZ_CACHE_SECONDS: "30" });
  const s = await connected(gw.url, await token(env, "az-1", "buyer"));
  try {
    assert.deepEqual(await s.emitWithAck("join-request-room", "mine"), { ok: true });
    assert.deepEqual(await s.emitWithAck("join-request-room", "theirs"), { ok: false, error: "forbidden" });
    const t0 = Date.now();
    assert.deepEqual(await s.emitWithAck("join-request-room", "slow"), { ok: false, error: "forbidden" });
    const waited = Date.now() - t0;
    assert.ok(slow && !slow.writableEnded && waited >= 450,
      `refused at the 500 ms timeout (after ${waited} ms), while the URL had not answered`);
    slow.writeHead(200);
    slow.end();
    assert.deepEqual(await s.emitWithAck("leave-request-room", "mine"), { ok: true });
    assert.deepEqual(await s.emitWithAck("join-request-room", "mine"), { ok: true });   // cached
    assert.deepEqual(await s.emitWithAck("join-request-room", "theirs"), { ok: false, error: "forbidden" }); // cached
    assert.deepEqual(asked.map((q) => q.room), ["request-mine", "request-theirs", "request-slow"]);
    assert.deepEqual(asked[0], { userId: "az-1", role: "buyer", room: "request-mine" });
    assert.equal(await metric(gw.adminPort, "roomcast_gateway_authz_decisions_total", 'result="timeout"'), 1);
    assert.equal(await metric(gw.adminPort, "roomcast_gateway_authz_decisions_total", 'result="cached"'), 2);
  } finally {
    s.close();
    await stopAll([gw]);
    authz.close();
  }
});

test("ROOMCAST_ALLOWED_ORIGINS refuses other sites; the connection limit and handshake timeout hold", async () => {
  const env = baseEnv(newPrefix("limits"));
  await createTopics(env);
  const gw = await startGateway(env, {
    ROOMCAST_ALLOWED_ORIGINS: "https://shop.example, http://localhost:8080",
    ROOMCAST_MAX_CONNECTIONS: "4", ROOMCAST_HANDSHAKE_TIMEOUT_MS: "500" });
  const open = [];
  try {
    const tok = await token(env, "o-1", "buyer");
    const ok = await connected(gw.url, tok, { extraHeaders: { Origin: "https://shop.example" } });
    open.push(ok);
    const status = await new Promise((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/socket.io/?EIO=4&transport=websocket`,
        { headers: { Origin: "https://evil.example" } });
      ws.on("unexpected-response", (req, res) => resolve(res.statusCode));
      ws.on("open", () => resolve("opened"));
      ws.on("error", () => {});
    });
    assert.equal(status, 403);
    const poll = await fetch(`${gw.url}/socket.io/?EIO=4&transport=polling`, { headers: { Origin: "https://evil.example" } });
    assert.equal(poll.status, 403);

    // a connection that says nothing is closed at the handshake timeout
    const idle = net.connect(gw.port, "127.0.0.1");
    const t0 = Date.now();
    await new Promise((resolve) => idle.on("close", resolve));
    assert.ok(Date.now() - t0 < 3000);

    // 4 connections at most: the fifth is closed at once and counted
    for (let i = 0; i < 3; i++) open.push(await connected(gw.url, tok));
    const fifth = io(gw.url, { auth: { token: tok }, transports: ["websocket"], reconnection: false });
    open.push(fifth);
    await new Promise((resolve) => fifth.once("connect_error", resolve));
    assert.ok(await metric(gw.adminPort, "roomcast_gateway_connections_refused_total") >= 1);
    assert.ok(open.slice(0, 4).every((s) => s.connected));
  } finally {
    open.forEach((s) => s.close());
    await stopAll([gw]);
  }
});
