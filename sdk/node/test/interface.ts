// The emitter's interface, tested the same way against any emitter: the Kafka one (the
// records read back from a real broker) and the memory one (the records it keeps). What
// is checked is what lands on Kafka: topics, keys, every field of every record, the
// copies of a multi-room call, control records, and that a refused call writes nothing.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  EmitError, RoomControl_Action, RoutingError, type Emitter, type SentRecord,
} from "@roomcast/emitter";

export interface Harness {
  emitter: Emitter;
  prefix: string;
  /** The records written with this id (waits until count of them are there). */
  recordsOf(id: string, count: number): Promise<SentRecord[]>;
  /** Every record written so far (after a short settle for a real broker). */
  all(): Promise<SentRecord[]>;
  close(): Promise<void>;
}

const idOf = (r: SentRecord) => r.message.id;

export function interfaceSuite(name: string, open: () => Promise<Harness>): void {
  test(`${name}: the emitter's interface`, async (t) => {
    const h = await open();
    const em = h.emitter;
    const room = (r: SentRecord) => {
      assert.equal(r.kind, "room");
      return r as Extract<SentRecord, { kind: "room" }>;
    };
    let expected = 0;
    try {
      await t.test("publish writes one DomainEvent on the type's domain topic, keyed by its aggregate id", async () => {
        const before = Date.now();
        const res = await em.publish("payout.completed", { payoutId: "po1", txHash: "0xab", sellerId: "s1" });
        assert.equal(res.event, "payout:completed");
        assert.deepEqual(res.rooms, ["user-s1"]);
        assert.equal(res.records.length, 1);
        const [r] = await h.recordsOf(res.id, 1);
        expected += 1;
        assert.equal(r!.topic, `${h.prefix}domain.payment`, "payouts travel with payments");
        assert.equal(r!.key, "po1");
        assert.equal(r!.kind, "domain");
        const m = (r as Extract<SentRecord, { kind: "domain" }>).message;
        assert.deepEqual([m.id, m.type, m.aggregateId, m.producer], [res.id, "payout.completed", "po1", "roomcast-emitter"]);
        assert.ok(Number(m.occurredAtMs) >= before && Number(m.occurredAtMs) <= Date.now() + 1);
        assert.deepEqual(JSON.parse(m.payloadJson), { payoutId: "po1", txHash: "0xab", sellerId: "s1" });

        const opts = await em.publish("offer.accepted", { offerId: "o1", sellerId: "s1", buyerId: "b1" },
          { id: "evt-1", key: "offer-o1", occurredAt: new Date(1700000000000) });
        const [o] = await h.recordsOf("evt-1", 1);
        expected += 1;
        assert.equal(opts.id, "evt-1");
        assert.equal(o!.key, "offer-o1");
        assert.equal(o!.topic, `${h.prefix}domain.offer`);
        assert.equal((o as Extract<SentRecord, { kind: "domain" }>).message.occurredAtMs, 1700000000000n);
      });

      await t.test("a refused payload throws naming the field, at the call, and writes nothing", () => {
        const bad: Array<[string, unknown, string, RegExp]> = [
          ["payment.status_updated", { paymentId: "p1", status: "ok", providerPaymentId: null, sellerId: "s1" }, "missing_field", /missing buyerId/],
          ["payment.status_updated", { paymentId: "p1", status: "ok", providerPaymentId: "x", buyerId: { id: 1 }, sellerId: "s1" }, "bad_field", /buyerId is an object, not a string or integer/],
          ["notification.created", { notification: { recipientId: null } }, "missing_field", /missing notification\.recipientId/],
          ["chat.message_created", { message: { chatId: "c1", participantIds: ["u1", 2.5] } }, "bad_field", /message\.participantIds\[1\] is a fractional number/],
          ["request.created", { request: "r1" }, "bad_field", /request is a string, not an object/],
          ["no.such_type", {}, "no_route", /no route/],
        ];
        for (const [type, payload, reason, message] of bad) {
          assert.throws(() => em.publish(type as never, payload as never), (e: unknown) => {
            assert.ok(e instanceof RoutingError, String(e));
            assert.equal(e.reason, reason);
            assert.match(e.message, message);
            return true;
          });
        }
      });

      await t.test("the seed's helpers write RoomEvents as roomcast emit does", async () => {
        const cases: Array<[Promise<{ id: string }>, string, string, unknown]> = [
          [em.emitToRoom("request-r1", "request:status-updated", { requestId: "r1", status: "open" }), "request-r1", "request:status-updated", { requestId: "r1", status: "open" }],
          [em.emitToUser("u1", "notification:received", { _id: "n1" }), "user-u1", "notification:received", { _id: "n1" }],
          [em.emitToSellers("request:created", { _id: "r2" }), "sellers", "request:created", { _id: "r2" }],
          [em.emitToBuyers("system:announcement", { message: "hi" }), "buyers", "system:announcement", { message: "hi" }],
          [em.emitGlobalEvent("system:maintenance", { message: "m", startsAt: "soon" }), "*", "system:maintenance", { message: "m", startsAt: "soon" }],
        ];
        for (const [p, key, event, payload] of cases) {
          const res = await p;
          const [r] = await h.recordsOf(res.id, 1);
          expected += 1;
          const m = room(r!).message;
          assert.equal(r!.topic, `${h.prefix}roomcast.rooms`);
          assert.equal(r!.key, key);
          assert.deepEqual([m.room, m.rooms, m.event, m.argsJson, m.sourceEventId, m.exceptSid, m.control],
            [key, [key], event, JSON.stringify([payload]), "", "", undefined]);
          assert.ok(m.producedAtUs > 0n);
        }
      });

      await t.test("to(rooms).emit writes one copy per room, same id, full list; binary arguments as attachments", async () => {
        const res = await em.to("user-u1").to(["request-r1", "user-u1"]).in("chat-c1").emit("note", 1, "two", { three: [3] }, Buffer.from([0, 255]));
        assert.equal(res.records.length, 3);
        const copies = await h.recordsOf(res.id, 3);
        expected += 3;
        assert.deepEqual(copies.map((c) => c.key).sort(), ["chat-c1", "request-r1", "user-u1"]);
        for (const c of copies) {
          const m = room(c).message;
          assert.equal(m.room, c.key);
          assert.deepEqual(m.rooms, ["user-u1", "request-r1", "chat-c1"]);
          assert.deepEqual(JSON.parse(m.argsJson), [1, "two", { three: [3] }, { _placeholder: true, num: 0 }]);
          assert.deepEqual(m.attachments.map((a) => [...a]), [[0, 255]]);
        }
        const all = await em.emit("system:announcement", { message: "everyone" });
        const [g] = await h.recordsOf(all.id, 1);
        expected += 1;
        assert.equal(g!.key, "*");
      });

      await t.test("socketsJoin, socketsLeave and disconnectSockets write control records", async () => {
        const join = await em.in("user-u1").socketsJoin("request-r9");
        const leave = await em.in(["user-u1", "user-u2"]).socketsLeave(["request-r9", "chat-c1"]);
        const off = await em.in("user-u1").disconnectSockets();
        const close = await em.in("user-u3").disconnectSockets(true);
        const everyone = await em.socketsJoin("announcements");
        const check = async (id: string, keys: string[], action: RoomControl_Action, rooms: string[], closeFlag: boolean) => {
          const recs = await h.recordsOf(id, keys.length);
          expected += keys.length;
          assert.deepEqual(recs.map((r) => r.key).sort(), [...keys].sort());
          for (const r of recs) {
            const m = room(r).message;
            assert.deepEqual([m.room, m.rooms, m.event, m.argsJson, m.attachments.length], [r.key, keys, "", "", 0]);
            assert.deepEqual([m.control?.action, m.control?.rooms, m.control?.close], [action, rooms, closeFlag]);
          }
        };
        await check(join.id, ["user-u1"], RoomControl_Action.JOIN, ["request-r9"], false);
        await check(leave.id, ["user-u1", "user-u2"], RoomControl_Action.LEAVE, ["request-r9", "chat-c1"], false);
        await check(off.id, ["user-u1"], RoomControl_Action.DISCONNECT, [], false);
        await check(close.id, ["user-u3"], RoomControl_Action.DISCONNECT, [], true);
        await check(everyone.id, ["*"], RoomControl_Action.JOIN, ["announcements"], false);
      });

      await t.test("bad rooms, event names and arguments throw EmitError at the call", () => {
        const refused: Array<() => unknown> = [
          () => em.emitToRoom("", "e", 1),
          () => em.emitToRoom("x".repeat(201), "e", 1),
          () => em.to("bad\nroom").emit("e"),
          () => em.to([]).emit("e"),
          () => em.emitToUser("u1", "disconnect", {}),
          () => em.emitToUser("u1", "", {}),
          () => em.to("user-u1").emit("e", () => 1),
          () => em.to("user-u1").emit("e", 2 ** 64),
          () => em.to("user-u1").emit("e", ...Array.from({ length: 11 }, () => Buffer.alloc(1))),
          () => em.in("user-u1").socketsJoin([]),
          () => em.in("user-u1").socketsJoin(Array.from({ length: 65 }, (_, i) => `r${i}`)),
          () => em.in("user-u1").socketsLeave("with\u0000nul"),
        ];
        refused.forEach((f, i) => assert.throws(f, EmitError, `case ${i}`));
      });

      await t.test("nothing but the accepted calls was written", async () => {
        const all = await h.all();
        assert.equal(all.length, expected, JSON.stringify(all.map((r) => [r.key, idOf(r)])));
      });
    } finally {
      await h.close();
    }
    await assert.rejects(async () => em.emitToUser("u1", "late", 1), /closed/);
  });
}
