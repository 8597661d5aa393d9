// Issue 12 item 10: rooms per socket are bounded (ROOMCAST_MAX_ROOMS_PER_SOCKET, 64: what
// connection state recovery carries), and a join costs the same however many rooms the
// socket is in. Before: 20 000 joins in one POST were all accepted, each re-signing the
// whole room list (the event loop blocked for seconds), and past 64 rooms rooms silently
// fell out of recovery.
import { test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import {
  baseEnv, cli, createTopics, metric, newPrefix, startGateway, stopAll, token, waitFor, withoutOffset,
} from "./lib/harness.mjs";

async function connect(url, opts) {
  const s = io(url, { reconnection: false, forceNew: true, ...opts });
  s.got = [];
  s.onAny((event, ...args) => s.got.push({ event, arg: withoutOffset(args)[0] }));
  await new Promise((resolve, reject) => { s.once("connect", resolve); s.once("connect_error", reject); });
  return s;
}

test("20 000 joins in one POST: 61 joined (64 with the automatic rooms), the rest refused, the loop not blocked; recovery carries all 64", async () => {
  const env = baseEnv(newPrefix("rooms"));
  await createTopics(env);
  // the open policy lets any chat room be joined; the rate limit is raised so that the
  // room bound is what the flood meets
  const gw = await startGateway(env, { ROOMCAST_ROOM_POLICY: "open", ROOMCAST_CLIENT_EVENT_RATE: "1000000",
    ROOMCAST_CLIENT_EVENT_BURST: "1000000" });
  const tok = await token(env, "many", "buyer"); // user-many, buyer-many, buyers
  // long-polling: the 20 000 emits of one tick leave in one POST
  const s = await connect(gw.url, { auth: { token: tok }, transports: ["polling"] });
  const other = await connect(gw.url, { auth: { token: await token(env, "other", "seller") }, transports: ["websocket"] });
  try {
    const answers = Array.from({ length: 20000 }, (_, i) => s.timeout(60000).emitWithAck("join-chat-room", `c${i}`));
    // meanwhile another socket's round trip through the gateway's loop stays short
    const rtts = [];
    const all = Promise.all(answers);
    let done = false;
    all.finally(() => { done = true; });
    while (!done) {
      const t0 = Date.now();
      await other.timeout(20000).emitWithAck("join-user-room", "other");
      rtts.push(Date.now() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
    const res = await all;
    const ok = res.filter((a) => a.ok).length;
    const refused = res.filter((a) => a.error === "too_many_rooms").length;
    assert.equal(ok, 61, "64 rooms with the three automatic ones");
    assert.equal(refused, 20000 - 61);
    assert.ok(res.slice(0, 61).every((a) => a.ok), "the first 61 in order");
    assert.ok(Math.max(...rtts) < 1000, `another socket waited ${Math.max(...rtts)} ms`);
    assert.ok(await metric(gw.adminPort, "roomcast_gateway_refusals_total", 'reason="too_many_rooms"') >= 20000 - 61);

    // every one of the 64 is in the recovery offset: an event to the last room joined, then
    // the session drops and comes back, and the next event to it arrives
    const emit = async (room, arg) => assert.equal((await cli(["emit", room, "note", JSON.stringify(arg)], env)).code, 0);
    await emit("chat-c60", { n: 1 });
    await waitFor("the event to the 61st room", () => s.got.some((e) => e.arg?.n === 1));
    const old = { sid: s.id, pid: s._pid, offset: s._lastOffset };
    s.close();
    const back = await connect(gw.url, { auth: { token: tok, pid: old.pid, offset: old.offset }, transports: ["websocket"] });
    assert.equal(back.id, old.sid, "recovered");
    for (const room of ["chat-c0", "chat-c60"]) await emit(room, { room });
    await waitFor("events in the first and the last room", () => back.got.filter((e) => e.arg?.room).length === 2);
    // a join past the bound is refused on the recovered socket too
    assert.deepEqual(await back.emitWithAck("join-chat-room", "c99999"), { ok: false, error: "too_many_rooms" });
    back.close();
  } finally {
    s.close();
    other.close();
    await stopAll([gw]);
  }
});
