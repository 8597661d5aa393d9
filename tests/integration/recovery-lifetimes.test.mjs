// Issue 12 item 4: recovery tokens have lifetimes. Before, the window was checked against
// the offset's vector only, and a vector is shared by every socket that got the same
// event: an old pid and rooms token with a fresh vector taken from another user's event
// recovered a chat room whose grant had expired. Now the window is counted from the
// socket's own stamp, a vector must be from the stamp's time, and recovered request-* /
// chat-* rooms are checked again: the grant's expiry the stamp carries, or the
// authorization URL.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { io } from "socket.io-client";
import {
  JWT_SECRET, authzServer, baseEnv, cli, createTopics, metric, newPrefix, startGateway, stopAll, token, waitFor,
  withoutOffset,
} from "./lib/harness.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
function grant(sub, room, ttl) {
  const now = Math.floor(Date.now() / 1000);
  const head = `${b64({ alg: "HS256", typ: "roomcast-grant+jwt" })}.${b64({ sub, room, iat: now, exp: now + ttl })}`;
  return `${head}.${createHmac("sha256", JWT_SECRET).update(head).digest("base64url")}`;
}

// A stock client; auth may carry a pid and offset of an earlier session, as the client
// itself sends them on a reconnect.
async function connect(url, auth) {
  const s = io(url, { auth, transports: ["websocket"], reconnection: false, forceNew: true });
  s.got = [];
  s.onAny((event, ...args) => s.got.push({ event, arg: withoutOffset(args)[0] }));
  await new Promise((resolve, reject) => { s.once("connect", resolve); s.once("connect_error", reject); });
  return s;
}

async function emit(env, room, arg) {
  const r = await cli(["emit", room, "note", JSON.stringify(arg)], env);
  assert.equal(r.code, 0, r.stderr);
}

// Emits `arg` to each room, then a marker to the user's own room; resolves the notes s got
// up to the marker (a negative check ends on a positive one).
async function notesUpTo(env, s, user, rooms, tag) {
  for (const room of rooms) await emit(env, room, { tag, room });
  await emit(env, `user-${user}`, { tag, marker: true });
  await waitFor(`marker ${tag}`, () => s.got.some((e) => e.arg?.tag === tag && e.arg.marker), 15000);
  return s.got.filter((e) => e.arg?.tag === tag && !e.arg.marker).map((e) => e.arg.room);
}

test("a vector from another user's event does not extend an old session's window", async () => {
  const env = baseEnv(newPrefix("lifetime"));
  await createTopics(env);
  const gw = await startGateway(env, { ROOMCAST_RECOVERY_WINDOW: "3" });
  try {
    const alice = await connect(gw.url, { token: await token(env, "alice", "buyer") });
    await emit(env, "user-alice", { n: 1 });
    await waitFor("alice's event", () => alice.got.length === 1);
    const old = { sid: alice.id, pid: alice._pid, offset: alice._lastOffset };
    alice.close();
    await sleep(3500); // past alice's window
    const bob = await connect(gw.url, { token: await token(env, "bob", "buyer") });
    await emit(env, "user-bob", { n: 1 });
    await waitFor("bob's event", () => bob.got.length === 1);
    const fresh = bob._lastOffset.split(".")[0]; // bob's vector: minutes younger than alice's stamp
    const forged = [fresh, `${fresh}.${old.offset.split(".").slice(1).join(".")}`];
    for (const offset of forged) {
      const again = await connect(gw.url, { token: await token(env, "alice", "buyer"), pid: old.pid, offset });
      assert.notEqual(again.id, old.sid, `recovered with offset ${offset.slice(0, 20)}…`);
      again.close();
    }
    assert.equal(await metric(gw.adminPort, "roomcast_gateway_recoveries_total", 'result="recovered"'), 0);
    assert.equal(await metric(gw.adminPort, "roomcast_gateway_recoveries_total", 'result="foreign_vector"'), 1);
    assert.equal(await metric(gw.adminPort, "roomcast_gateway_recoveries_total", 'result="invalid"'), 1);
    // her own offset, within the window, still recovers
    await emit(env, "user-bob", { n: 2 });
    const carol = await connect(gw.url, { token: await token(env, "carol", "buyer") });
    await emit(env, "user-carol", { n: 1 });
    await waitFor("carol's event", () => carol.got.length === 1);
    const mine = { sid: carol.id, pid: carol._pid, offset: carol._lastOffset };
    carol.close();
    const back = await connect(gw.url, { token: await token(env, "carol", "buyer"), pid: mine.pid, offset: mine.offset });
    assert.equal(back.id, mine.sid, "recovered");
    back.close();
    bob.close();
  } finally {
    await stopAll([gw]);
  }
});

test("recovered entity rooms: an expired grant is not given back, a live one is; the authorization URL is asked again", async () => {
  let revoked = false;
  let keepAsked = 0;
  const authz = await authzServer((q) => {
    const allow = q.room === "request-keep" || (q.room === "request-revoked" && !revoked);
    // the second question about request-keep takes a while: events meanwhile must not be lost
    const slow = q.room === "request-keep" && ++keepAsked > 1;
    return { status: allow ? 204 : 403, afterMs: slow ? 600 : 0 };
  });
  const asked = authz.asked;
  const env = baseEnv(newPrefix("regrant"));
  await createTopics(env);
  const gw = await startGateway(env, {
    ROOMCAST_RECOVERY_WINDOW: "60", ROOMCAST_JWT_LEEWAY_SECONDS: "0", ROOMCAST_AUTHZ_CACHE_SECONDS: "0",
    ROOMCAST_AUTHZ_URL: authz.url });
  try {
    const tok = await token(env, "u7", "buyer");
    const s = await connect(gw.url, { token: tok });
    const ok = { ok: true };
    assert.deepEqual(await s.emitWithAck("join-chat-room", "7", grant("u7", "chat-7", 2)), ok);      // expires soon
    assert.deepEqual(await s.emitWithAck("join-chat-room", "8", grant("u7", "chat-8", 600)), ok);    // stays valid
    assert.deepEqual(await s.emitWithAck("join-request-room", "keep"), ok);                         // by the URL
    assert.deepEqual(await s.emitWithAck("join-request-room", "revoked"), ok);                      // by the URL
    const rooms = ["chat-7", "chat-8", "request-keep", "request-revoked"];
    assert.deepEqual((await notesUpTo(env, s, "u7", rooms, "before")).sort(), rooms.sort());
    const old = { sid: s.id, pid: s._pid, offset: s._lastOffset };
    s.close();
    await sleep(2500); // chat-7's grant is over; the URL changes its mind about request-revoked
    revoked = true;
    await emit(env, "request-keep", { tag: "missed", room: "request-keep" });
    const back = await connect(gw.url, { token: tok, pid: old.pid, offset: old.offset });
    assert.equal(back.id, old.sid, "the session is recovered");
    // while the URL is asked about request-keep (600 ms), an event for it goes by
    await emit(env, "request-keep", { tag: "during", room: "request-keep" });
    const after = await notesUpTo(env, back, "u7", rooms, "after");
    assert.deepEqual(after.sort(), ["chat-8", "request-keep"]);
    const missed = back.got.filter((e) => e.arg?.tag === "missed" || e.arg?.tag === "during").map((e) => e.arg.tag);
    assert.deepEqual(missed, ["missed", "during"], "missed events replayed once, in order, none lost to the check");
    assert.equal(await metric(gw.adminPort, "roomcast_gateway_refusals_total", 'reason="recovery_room_refused"'), 2);
    // asked again: the rooms it allowed, and the one whose grant expired (it may allow it)
    assert.deepEqual(asked.slice(2).sort(), ["chat-7", "request-keep", "request-revoked"]);
    back.close();
  } finally {
    await stopAll([gw]);
    authz.close();
  }
});
