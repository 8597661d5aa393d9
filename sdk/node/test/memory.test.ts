// The memory emitter passes the interface test of the real one, and records the calls a
// backend's unit tests assert on.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createMemoryEmitter } from "@roomcast/emitter";
import { interfaceSuite } from "./interface.js";

interfaceSuite("memory emitter", async () => {
  const em = createMemoryEmitter();
  return {
    emitter: em,
    prefix: "",
    recordsOf: async (id, count) => {
      const recs = em.records.filter((r) => r.message.id === id);
      assert.equal(recs.length, count);
      return recs;
    },
    all: async () => [...em.records],
    close: () => em.close(),
  };
});

test("memory emitter: calls as made, records as a real one would write them", async () => {
  const em = createMemoryEmitter({ topicPrefix: "staging." });
  await em.emitToUser("u1", "notification:received", { _id: "n1" });
  em.to(["request-r1", "user-b1"]).emit("request:offer-received", { requestId: "r1" });
  void em.in("user-u1").disconnectSockets();
  const res = await em.publish("request.status_updated", { requestId: "r1", status: "accepted" });
  assert.throws(() => em.publish("request.status_updated", { requestId: "r1" } as never), /missing status/);
  assert.deepEqual(em.calls, [
    { method: "emitToUser", args: ["u1", "notification:received", { _id: "n1" }] },
    { method: "emit", rooms: ["request-r1", "user-b1"], args: ["request:offer-received", { requestId: "r1" }] },
    { method: "disconnectSockets", rooms: ["user-u1"], args: [false] },
    { method: "publish", args: ["request.status_updated", { requestId: "r1", status: "accepted" }] },
  ]);
  assert.deepEqual(res.rooms, ["request-r1"]);
  assert.deepEqual(em.records.map((r) => [r.topic, r.key]), [
    ["staging.roomcast.rooms", "user-u1"],
    ["staging.roomcast.rooms", "request-r1"],
    ["staging.roomcast.rooms", "user-b1"],
    ["staging.roomcast.rooms", "user-u1"],
    ["staging.domain.request", "r1"],
  ]);
  em.reset();
  assert.deepEqual([em.calls.length, em.records.length], [0, 0]);
});
