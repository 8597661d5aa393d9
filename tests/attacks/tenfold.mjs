// The attacks of issue 12 (items 6, 9, 10) at ten times the size the issue reports, run
// once by hand, not in CI (they take minutes):
//   tests/kafka/kafka start /tmp/k && ROOMCAST_TEST_BROKERS=$(cat /tmp/k/bootstrap) \
//     ROOMCAST_BIN_DIR=build/bin node tests/attacks/tenfold.mjs [name...]
// Each attack gets a fresh gateway (the release build: ASan's own memory would hide the
// gateway's). Meanwhile a victim socket on the same gateway receives a room event every
// 100 ms and sends an acknowledged client event every 100 ms. Printed per attack, one JSON
// line: the gateway's resident memory before, at its peak (VmHWM) and after, what the
// attack achieved, the victim's events received of those sent, its slowest ack, and the
// refusal metrics.
import { io } from "socket.io-client";
import { authzServer, token } from "../integration/lib/harness.mjs";
import { pollingSocket, run, sleep } from "./lib.mjs";

const attacks = {
  // item 9 x10: ten 1 MB POSTs of 125 000 events each, at once (1.25 M events)
  async events() {
    await run("events", {}, async (env, gw) => {
      const body = Array.from({ length: 125000 }, () => '42["a"]').join("\x1e");
      const socks = await Promise.all(Array.from({ length: 10 }, async (_, i) => pollingSocket(gw.url, await token(env, `flood-${i}`, "buyer"))));
      const status = await Promise.all(socks.map((s) => s.post(body)));
      return { posts: status.length, eventsSent: 10 * 125000, postStatus: [...new Set(status)] };
    }, [["roomcast_gateway_client_events_total"], ["roomcast_gateway_rate_limited_events_total", 'action="dropped"'],
      ["roomcast_gateway_rate_limit_disconnects_total"], ["roomcast_gateway_upstream_events_total", 'result="queue_full"']]);
  },
  // item 10 x10: ten POSTs of 20 000 joins each (200 000), defaults, then with the rate
  // limit lifted so that the room bound alone meets them
  async rooms() {
    for (const [label, extra] of [["rooms-defaults", {}], ["rooms-no-rate-limit",
      { ROOMCAST_CLIENT_EVENT_RATE: "1000000", ROOMCAST_CLIENT_EVENT_BURST: "1000000" }]]) {
      await run(label, { ROOMCAST_ROOM_POLICY: "open", ...extra }, async (env, gw) => {
        const body = Array.from({ length: 20000 }, (_, i) => `42${i}["join-chat-room","c${i}"]`).join("\x1e");
        const socks = await Promise.all(Array.from({ length: 10 }, async (_, i) => pollingSocket(gw.url, await token(env, `joiner-${i}`, "buyer"))));
        await Promise.all(socks.map((s) => s.post(body)));
        return { joinsSent: 200000 };
      }, [["roomcast_gateway_room_joins_total"], ["roomcast_gateway_refusals_total", 'reason="too_many_rooms"'],
        ["roomcast_gateway_rate_limit_disconnects_total"], ["roomcast_gateway_rooms"]]);
    }
  },
  // item 6 x10: 400 slow joins (ten sockets, 40 each) against a URL that takes 1.5 s, and
  // the victim's own join
  async authz() {
    const az = await authzServer((q) => q.room === "request-victim" ? { status: 204 } : { status: 200, afterMs: 1500 });
    try {
      await run("authz", { ROOMCAST_AUTHZ_URL: az.url }, async (env, gw) => {
        const socks = [];
        for (let i = 0; i < 10; i++) {
          const s = io(gw.url, { auth: { token: await token(env, `slow-${i}`, "buyer") }, transports: ["websocket"], reconnection: false });
          await new Promise((r) => s.once("connect", r));
          socks.push(s);
        }
        const flood = socks.flatMap((s) => Array.from({ length: 40 }, (_, k) => s.timeout(30000).emitWithAck("join-request-room", `slow-${k}`)));
        await sleep(100);
        const me = io(gw.url, { auth: { token: await token(env, "victim2", "buyer") }, transports: ["websocket"], reconnection: false });
        await new Promise((r) => me.once("connect", r));
        const t0 = Date.now();
        const mine = await me.timeout(30000).emitWithAck("join-request-room", "victim");
        const victimJoinMs = Date.now() - t0;
        const res = await Promise.all(flood);
        socks.forEach((s) => s.close());
        me.close();
        const count = (f) => res.filter(f).length;
        return { joinsSent: 400, victimJoin: mine, victimJoinMs, allowed: count((a) => a.ok),
          tooManyPending: count((a) => a.error === "too_many_pending"), asked: az.asked.length };
      }, [["roomcast_gateway_authz_pending"], ["roomcast_gateway_authz_decisions_total", 'result="timeout"']]);
    } finally {
      az.close();
    }
  },
  // item 6 (cache) x10: 200 000 denials from 50 sockets, then the victim's cached decision
  async cache() {
    const az = await authzServer((q) => ({ status: q.room === "request-mine" ? 204 : 403 }));
    try {
      await run("authz-cache", { ROOMCAST_AUTHZ_URL: az.url, ROOMCAST_AUTHZ_CACHE_SECONDS: "600", ROOMCAST_CLIENT_EVENT_RATE: "1000000",
        ROOMCAST_CLIENT_EVENT_BURST: "1000000" }, async (env, gw) => {
        const owner = io(gw.url, { auth: { token: await token(env, "owner", "buyer") }, transports: ["websocket"], reconnection: false });
        await new Promise((r) => owner.once("connect", r));
        await owner.emitWithAck("join-request-room", "mine");
        await owner.emitWithAck("leave-request-room", "mine");
        const socks = [];
        for (let i = 0; i < 50; i++) {
          const s = io(gw.url, { auth: { token: await token(env, `deny-${i}`, "buyer") }, transports: ["websocket"], reconnection: false });
          await new Promise((r) => s.once("connect", r));
          socks.push(s);
        }
        await Promise.all(socks.map(async (s, i) => {
          for (let k = 0; k < 4000; k += 4)
            await Promise.all([0, 1, 2, 3].map((j) => s.timeout(60000).emitWithAck("join-request-room", `d${i}-${k + j}`)));
        }));
        const again = await owner.emitWithAck("join-request-room", "mine");
        socks.forEach((s) => s.close());
        owner.close();
        return { denials: 200000, ownerRejoin: again, ownerAskedTimes: az.asked.filter((r) => r === "request-mine").length };
      }, [["roomcast_gateway_authz_cache_entries", 'cache="denied"'], ["roomcast_gateway_authz_cache_entries", 'cache="allowed"'],
        ["roomcast_gateway_authz_cache_evictions_total", 'cache="denied"'], ["roomcast_gateway_authz_cache_evictions_total", 'cache="allowed"']]);
    } finally {
      az.close();
    }
  },
};

const names = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(attacks);
for (const n of names) await attacks[n]();
