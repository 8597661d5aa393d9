// Issue 12 item 12, the token policy, against the real gateway and the stock client:
// a token without exp is refused (ROOMCAST_JWT_REQUIRE_EXP, on by default), so is one that
// lives longer than ROOMCAST_JWT_MAX_LIFETIME_SECONDS; a room grant is never a login token
// and a login token never a grant (grants carry "typ":"roomcast-grant+jwt", and
// `roomcast token --room` mints them so); the leeway is ROOMCAST_JWT_LEEWAY_SECONDS.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { io } from "socket.io-client";
import {
  JWT_SECRET, baseEnv, createTopics, metric, newPrefix, startGateway, stopAll, token, waitFor,
} from "./lib/harness.mjs";

const now = () => Math.floor(Date.now() / 1000);
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
function sign(header, payload) {
  const head = `${b64(header)}.${b64(payload)}`;
  return `${head}.${createHmac("sha256", JWT_SECRET).update(head).digest("base64url")}`;
}
const LOGIN = { alg: "HS256", typ: "JWT" };
const GRANT = { alg: "HS256", typ: "roomcast-grant+jwt" };

// Connects; resolves the socket once connected, or the connect_error's message.
function attempt(url, tok) {
  const s = io(url, { auth: { token: tok }, transports: ["websocket"], reconnection: false });
  return new Promise((resolve) => {
    s.once("connect", () => resolve({ s, ok: true }));
    s.once("connect_error", (e) => { s.close(); resolve({ ok: false, message: e.message }); });
  });
}

async function refusedAs(gw, tok, reason) {
  const before = await metric(gw.adminPort, "roomcast_gateway_refusals_total", `reason="${reason}"`);
  const r = await attempt(gw.url, tok);
  if (r.ok) r.s.close();
  assert.equal(r.ok, false, `connected with a token the policy refuses (${reason})`);
  assert.equal(r.message, "unauthorized");
  assert.equal(await metric(gw.adminPort, "roomcast_gateway_refusals_total", `reason="${reason}"`), before + 1, reason);
}

test("login tokens: exp required, lifetime bounded, grants refused, leeway a setting", async () => {
  const env = baseEnv(newPrefix("tokens"));
  await createTopics(env);
  const [gw, strictLeeway, lenient] = await Promise.all([
    startGateway(env),
    startGateway(env, { ROOMCAST_JWT_LEEWAY_SECONDS: "0" }),
    startGateway(env, { ROOMCAST_JWT_REQUIRE_EXP: "false", ROOMCAST_JWT_MAX_LIFETIME_SECONDS: "3" }),
  ]);
  const open = [];
  try {
    const t = now();
    // an admin token that never expires: the attack of the issue
    await refusedAs(gw, sign(LOGIN, { sub: "root", role: "admin" }), "token_no_exp");
    // a year-long token, with or without iat
    await refusedAs(gw, sign(LOGIN, { sub: "u1", role: "buyer", iat: t, exp: t + 365 * 86400 }), "token_lifetime_too_long");
    await refusedAs(gw, sign(LOGIN, { sub: "u1", role: "buyer", exp: t + 2 * 86400 }), "token_lifetime_too_long");
    // a room grant, old form and new, as a login token
    await refusedAs(gw, sign(LOGIN, { sub: "u1", room: "chat-7", exp: t + 600 }), "token_wrong_type");
    await refusedAs(gw, sign(GRANT, { sub: "u1", room: "chat-7", exp: t + 600 }), "token_wrong_type");
    const minted = await token(env, "u1", null, ["--room", "chat-7"]);
    await refusedAs(gw, minted, "token_wrong_type");
    // what the policy accepts: a day-long token with its iat, and the CLI's default hour
    for (const tok of [sign(LOGIN, { sub: "u2", role: "buyer", iat: t, exp: t + 86400 }), await token(env, "u3", "seller")]) {
      const r = await attempt(gw.url, tok);
      assert.ok(r.ok, r.message);
      open.push(r.s);
    }

    // the leeway: 10 s past exp is forgiven by default (30 s), not with 0
    const late = sign(LOGIN, { sub: "u4", role: "buyer", iat: t - 600, exp: t - 10 });
    const forgiven = await attempt(gw.url, late);
    assert.ok(forgiven.ok, forgiven.message);
    open.push(forgiven.s);
    await refusedAs(strictLeeway, late, "token_expired");

    // exp made optional: accepted, and cut at the maximum lifetime from the connect
    const r = await attempt(lenient.url, sign(LOGIN, { sub: "u5", role: "buyer" }));
    assert.ok(r.ok, r.message);
    open.push(r.s);
    const reason = await new Promise((resolve) => r.s.once("disconnect", resolve));
    assert.equal(reason, "io server disconnect");
    assert.equal(await metric(lenient.adminPort, "roomcast_gateway_token_expiries_total"), 1);
  } finally {
    open.forEach((s) => s.close());
    await stopAll([gw, strictLeeway, lenient]);
  }
});

test("room grants: only the grant type opens a room; `roomcast token --room` mints it", async () => {
  const env = baseEnv(newPrefix("grants"));
  await createTopics(env);
  const gw = await startGateway(env);
  const r = await attempt(gw.url, await token(env, "g1", "buyer"));
  assert.ok(r.ok, r.message);
  const s = r.s;
  const no = { ok: false, error: "forbidden" };
  try {
    const t = now();
    // a login token of the same user, naming the room or not, is no grant
    assert.deepEqual(await s.emitWithAck("join-chat-room", "c1", await token(env, "g1", "buyer")), no);
    assert.deepEqual(await s.emitWithAck("join-chat-room", "c1", sign(LOGIN, { sub: "g1", room: "chat-c1", exp: t + 60 })), no);
    // a grant without exp, or longer-lived than the maximum
    assert.deepEqual(await s.emitWithAck("join-chat-room", "c1", sign(GRANT, { sub: "g1", room: "chat-c1" })), no);
    assert.deepEqual(await s.emitWithAck("join-chat-room", "c1", sign(GRANT, { sub: "g1", room: "chat-c1", iat: t, exp: t + 90000 })), no);
    for (const reason of ["grant_wrong_type", "grant_no_exp", "grant_lifetime_too_long"])
      assert.ok(await metric(gw.adminPort, "roomcast_gateway_refusals_total", `reason="${reason}"`) >= 1, reason);
    // the new form, by hand and from the CLI
    assert.deepEqual(await s.emitWithAck("join-chat-room", "c1", sign(GRANT, { sub: "g1", room: "chat-c1", exp: t + 60 })), { ok: true });
    const minted = await token(env, "g1", null, ["--room", "request-r1"]);
    assert.equal(JSON.parse(Buffer.from(minted.split(".")[0], "base64url")).typ, "roomcast-grant+jwt");
    assert.deepEqual(await s.emitWithAck("join-request-room", "r1", minted), { ok: true });
  } finally {
    s.close();
    await stopAll([gw]);
  }
});
