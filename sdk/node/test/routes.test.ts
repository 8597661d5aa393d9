// The routing table in TypeScript, on the rules the fanout applies (common/routes.h):
// the integration tests compare its verdicts with the C table's on the whole catalog;
// these cover the rules a catalog sample does not reach.
import assert from "node:assert/strict";
import { test } from "node:test";

import { RoutingTable, RoutingError } from "@roomcast/emitter";

const table = new RoutingTable({
  version: 1,
  routes: {
    "chat.message_created": { event: "chat:new-message", rooms: ["chat-{message.chatId}", "user-{message.participantIds[]}"], payload: "message" },
    "thing.done": { event: "thing:done", rooms: ["t-{a}-{b}", "all"], payload: ["a"] },
    "only.list": { event: "x", rooms: ["u-{ids[]}"], payload: ["ids"] },
    "every.one": { event: "y", rooms: ["*"], payload: ["m"] },
  },
});

const refuse = (type: string, payload: unknown, reason: string, message: string) =>
  assert.throws(() => table.apply(type, payload), (e: unknown) => {
    assert.ok(e instanceof RoutingError);
    assert.equal(e.reason, reason);
    assert.equal(e.message.replace(/ \(the event wants .*\)$/, ""), message);
    return true;
  });

test("rooms: templates, lists, integers, de-duplication in order, every socket", () => {
  assert.deepEqual(table.apply("chat.message_created", { message: { chatId: "c1", participantIds: ["u1", 7, "u1"], x: 0.1 } }),
    { event: "chat:new-message", rooms: ["chat-c1", "user-u1", "user-7"], delivered: { chatId: "c1", participantIds: ["u1", 7, "u1"], x: 0.1 } });
  assert.deepEqual(table.apply("thing.done", { a: 1, b: "z", extra: true }).rooms, ["t-1-z", "all"]);
  assert.deepEqual(table.apply("thing.done", { a: 1, b: "z" }).delivered, { a: 1 });
  assert.deepEqual(table.apply("every.one", { m: null }).rooms, ["*"]);
  assert.deepEqual(table.apply("chat.message_created", { message: { chatId: "c1", participantIds: [] } }).rooms, ["chat-c1"]);
  assert.deepEqual(table.apply("thing.done", { a: 2 ** 62, b: -3 }).rooms, ["t-4611686018427387904--3", "all"]);
});

test("refusals, with the fanout's reason and words", () => {
  refuse("nope", {}, "no_route", "nope: no route for this type");
  refuse("thing.done", [1], "bad_json", "thing.done: payload is a list, not a JSON object");
  refuse("thing.done", "text", "bad_json", "thing.done: payload is a string, not a JSON object");
  refuse("thing.done", { a: 1, b: 10n }, "bad_json", "thing.done: payload is not JSON: Do not know how to serialize a BigInt");
  refuse("thing.done", { a: 1, b: 2 ** 64 }, "bad_json", "thing.done: payload is not JSON: too big integer");
  refuse("thing.done", { a: "\ud800", b: 1 }, "bad_json", "thing.done: payload is not JSON: invalid Unicode (a lone surrogate)");
  refuse("thing.done", {}, "missing_field", "thing.done: missing a, b");
  refuse("thing.done", { a: undefined, b: null }, "missing_field", "thing.done: missing a, b");
  refuse("thing.done", { a: 1, b: "" }, "bad_field", "thing.done: b is an empty string");
  refuse("thing.done", { a: 1, b: "x\ty" }, "bad_field", "thing.done: b has a control character");
  refuse("thing.done", { a: 1, b: "é".repeat(101) }, "bad_field", "thing.done: b is longer than a room may be (200 bytes)");
  refuse("thing.done", { a: "x".repeat(100), b: "y".repeat(100) }, "bad_field", 'thing.done: the room from "t-{a}-{b}" is longer than 200 bytes');
  refuse("thing.done", { a: 1.5, b: 1e21 }, "bad_field", "thing.done: a is a fractional number, not a string or integer");
  refuse("chat.message_created", { message: null }, "missing_field", "chat.message_created: missing message");
  refuse("chat.message_created", { message: { participantIds: "u1" } }, "missing_field",
    "chat.message_created: missing message.chatId; message.participantIds is a string, not a list");
  refuse("chat.message_created", { message: [] }, "bad_field", "chat.message_created: message is a list, not an object");
  refuse("only.list", { ids: [] }, "bad_field", 'only.list: no room to deliver to ("u-{ids[]}" is empty)');
  refuse("only.list", { ids: Array.from({ length: 1001 }, (_, i) => i) }, "bad_field", "only.list: ids has more than 1000 elements");
  refuse("only.list", { ids: [1, { a: 1 }] }, "bad_field", "only.list: ids[1] is an object, not a string or integer");
  refuse("thing.dône", {}, "no_route", "thing.d??ne: no route for this type");
});

test("describe: what a type wants, as roomcast publish says it", () => {
  assert.equal(table.describe("chat.message_created"), "{message} (message has chatId, participantIds[])");
  assert.equal(table.describe("thing.done"), "{a, b}");
  assert.equal(table.describe("nope"), undefined);
});

test("loading refuses a broken table, naming the route and the field", () => {
  const bad: Array<[unknown, RegExp]> = [
    [{ version: 2, routes: {} }, /"version" must be 1/],
    [{ version: 1, routes: { "a.b": { event: "e", rooms: ["x-{y"], payload: ["y"] } } }, /route "a.b": rooms\[0\] "x-\{y": unclosed "\{"/],
    [{ version: 1, routes: { "a.b": { event: "e", rooms: ["*", "x"], payload: ["y"] } } }, /"\*" \(every socket\) must be the route's only room/],
    [{ version: 1, routes: { "a.b": { event: "e", rooms: ["x"], payload: ["y"], extra: 1 } } }, /unknown key "extra"/],
    [{ version: 1, routes: { "a.b": { event: "e", rooms: ["{a[]}-{b[]}"], payload: ["y"] } } }, /two list placeholders/],
    ["{", /not JSON/],
  ];
  for (const [json, msg] of bad) assert.throws(() => new RoutingTable(json as never), msg);
});
