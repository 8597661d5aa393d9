// The whole path for every row of the event catalog (CONTRACT §6): `roomcast publish`
// -> Kafka -> roomcast-fanout -> Kafka -> two gateways -> the stock socket.io-client.
// Each event must reach exactly the sockets in its rooms, once each (also a socket in
// several of its rooms), with exactly the table's payload.
import { test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import {
  baseEnv, cli, createTopics, newPrefix, startFanout, startGateway, stopAll, token, waitFor,
  withoutOffset,
} from "./lib/harness.mjs";
import { catalog } from "./lib/catalog.mjs";

test("every catalog row reaches exactly the right sockets, once, with the table's payload", async () => {
  const env = baseEnv(newPrefix("catalog"));
  await createTopics(env, 1); // one room partition: a marker sent last comes after everything
  const fanout = await startFanout(env);
  const [a, b] = await Promise.all([startGateway(env), startGateway(env)]);
  const sockets = {};
  try {
    const people = [
      ["b1", "buyer", a], ["s1", "seller", b], ["s2", "seller", a], ["adm", "admin", b], ["b2", "buyer", b],
    ];
    for (const [id, role, gw] of people) {
      const s = io(gw.url, { auth: { token: await token(env, id, role) }, transports: ["websocket"], reconnection: false });
      await new Promise((resolve, reject) => { s.once("connect", resolve); s.once("connect_error", reject); });
      s.got = [];
      s.onAny((event, ...args) => s.got.push({ event, args: withoutOffset(args) }));
      sockets[id] = s;
    }
    // entity rooms with grants: b1 and s1 in request-r1 and chat-c1
    for (const [id, room, arg] of [["b1", "request-r1", "r1"], ["s1", "request-r1", "r1"], ["b1", "chat-c1", "c1"], ["s1", "chat-c1", "c1"]]) {
      const grant = await token(env, id, null, ["--room", room]);
      const kind = room.startsWith("chat") ? "join-chat-room" : "join-request-room";
      assert.deepEqual(await sockets[id].emitWithAck(kind, arg, grant), { ok: true });
    }
    const members = {
      "user-b1": ["b1"], "user-s1": ["s1"], "seller-s1": ["s1"], sellers: ["s1", "s2"],
      "request-r1": ["b1", "s1"], "chat-c1": ["b1", "s1"], admin: ["adm"], "*": Object.keys(sockets),
    };
    for (const row of catalog) {
      const r = await cli(["publish", row.type, JSON.stringify(row.payload)], env);
      assert.equal(r.code, 0, `${row.type}: ${r.stderr}`);
    }
    const expected = {};
    for (const id of Object.keys(sockets)) expected[id] = [];
    for (const row of catalog) {
      const to = new Set(row.rooms.flatMap((room) => members[room] ?? []));
      for (const id of to) expected[id].push({ event: row.event, args: [row.delivered] });
    }
    const total = Object.values(expected).reduce((n, l) => n + l.length, 0);
    await waitFor(`${total} deliveries`, () =>
      Object.values(sockets).reduce((n, s) => n + s.got.length, 0) >= total, 30000).catch((e) => {
      throw new Error(`${e.message}; got ${JSON.stringify(Object.fromEntries(Object.entries(sockets).map(([k, s]) => [k, s.got.map((g) => g.event)])))}`);
    });
    // nothing more may come: every room event of the rows is in the room topic by now,
    // so a broadcast published now comes after all of them, and ends each socket's list
    const r = await cli(["publish", "system.announcement", JSON.stringify({ message: "marker" })], env);
    assert.equal(r.code, 0, r.stderr);
    const isMarker = (e) => e.event === "system:announcement" && e.args[0].message === "marker";
    await waitFor("the marker at every socket", () => Object.values(sockets).every((s) => s.got.some(isMarker)), 30000);
    const byEvent = (l) => [...l].sort((x, y) => x.event.localeCompare(y.event));
    for (const [id, s] of Object.entries(sockets))
      assert.deepEqual(byEvent(s.got.filter((e) => !isMarker(e))), byEvent(expected[id]), `socket ${id}`);
  } finally {
    Object.values(sockets).forEach((s) => s.close());
    await stopAll([a, b, fanout]);
  }
});
