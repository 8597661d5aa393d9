// Bytes from Kafka are input too (issue 12): what fuzz/fuzz_room_event.c found, against
// the real gateway and the stock client. A room event whose name is not UTF-8 went out raw
// in a WebSocket text frame, and the client closed its connection (1007); one with an
// empty binary attachment made the gateway memcpy from NULL. Now both reach the client
// as frames it can parse, and the next event follows. Bytes that are no room event at all
// are counted (roomcast_gateway_room_events_total{result="invalid"}) and skipped.
import { test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import {
  baseEnv, createTopics, encodeRoomEvent, metric, newPrefix, produceLines, startGateway, stopAll, token, waitFor,
  withoutOffset,
} from "./lib/harness.mjs";

test("a room event named in bytes that are not UTF-8, or with an empty attachment, disconnects no one", async () => {
  const env = baseEnv(newPrefix("kafka-input"));
  await createTopics(env);
  const gw = await startGateway(env);
  const s = io(gw.url, { auth: { token: await token(env, "k1", "buyer") }, transports: ["websocket"], reconnection: false });
  const got = [];
  s.onAny((event, ...args) => got.push({ event, args }));
  let closed = null;
  s.on("disconnect", (reason) => { closed = reason; });
  try {
    await new Promise((resolve, reject) => { s.once("connect", resolve); s.once("connect_error", reject); });
    const badName = encodeRoomEvent({ id: "bad-1", room: "user-k1", event: "x", args: [1] });
    const i = badName.indexOf(Buffer.from([0x22, 1, 0x78])); // field 4 (event), length 1, "x"
    badName[i + 2] = 0x8d; // a lone continuation byte
    // an empty attachment: field 9, length 0, after args with its placeholder
    const emptyAttachment = Buffer.concat([
      encodeRoomEvent({ id: "bad-2", room: "user-k1", event: "file", args: [{ _placeholder: true, num: 0 }] }),
      Buffer.from([0x4a, 0]),
    ]);
    const good = encodeRoomEvent({ id: "good-1", room: "user-k1", event: "after", args: [{ ok: true }] });
    await produceLines(env, "roomcast.rooms", [
      { key: "user-k1", value: badName }, { key: "user-k1", value: emptyAttachment }, { key: "user-k1", value: good }]);
    await waitFor("the event after them", () => got.some((e) => e.event === "after"), 15000);
    assert.equal(closed, null, "still connected");
    assert.deepEqual(got.map((e) => e.event), ["\ufffd", "file", "after"]);
    const file = got.find((e) => e.event === "file").args[0];
    assert.equal(Buffer.from(file).length, 0, "the empty attachment arrives empty");
  } finally {
    s.close();
    await stopAll([gw]);
  }
});

test("a room event that does not decode, or breaks the rules, is counted as invalid and skipped; the next is delivered", async () => {
  const env = baseEnv(newPrefix("kafka-invalid"));
  await createTopics(env, 1); // one partition: the good event comes after the bad ones
  const gw = await startGateway(env);
  const s = io(gw.url, { auth: { token: await token(env, "k2", "buyer") }, transports: ["websocket"], reconnection: false });
  const got = [];
  s.onAny((event, ...args) => got.push({ event, args: withoutOffset(args) }));
  let closed = null;
  s.on("disconnect", (reason) => { closed = reason; });
  try {
    await new Promise((resolve, reject) => { s.once("connect", resolve); s.once("connect_error", reject); });
    const invalid = () => metric(gw.adminPort, "roomcast_gateway_room_events_total", 'result="invalid"');
    const before = await invalid();
    const field = (no, text) => Buffer.concat([Buffer.from([(no << 3) | 2, Buffer.byteLength(text)]), Buffer.from(text)]);
    const withArgs = (id, json) => Buffer.concat([field(1, id), field(2, "user-k2"), field(4, "note"), field(5, json)]);
    const bad = [
      Buffer.from([0x0a, 0x7f, 0x61]),                                          // not protobuf: a length past the end
      encodeRoomEvent({ id: "", room: "user-k2", event: "note", args: [1] }),   // no id
      encodeRoomEvent({ id: "b3", room: "user-k2", event: "connect", args: [1] }), // a name Socket.IO reserves
      withArgs("b4", "{not json"),                                              // arguments that are not JSON
      withArgs("b5", '{"a":1}'),                                                // nor an array
    ];
    const good = encodeRoomEvent({ id: "g1", room: "user-k2", event: "after", args: [{ ok: true }] });
    await produceLines(env, "roomcast.rooms", [...bad.map((value) => ({ key: "user-k2", value })), { key: "user-k2", value: good }]);
    await waitFor("the good event after them", () => got.length >= 1, 15000);
    assert.deepEqual(got, [{ event: "after", args: [{ ok: true }] }]);
    assert.equal(closed, null, "still connected");
    assert.equal(await invalid() - before, bad.length);
    assert.match(gw.logs(), /"msg":"invalid room event skipped"/);
  } finally {
    s.close();
    await stopAll([gw]);
  }
});
