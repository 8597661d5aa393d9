// Bytes from Kafka are input too (issue 12): what fuzz/fuzz_room_event.c found, against
// the real gateway and the stock client. A room event whose name is not UTF-8 went out raw
// in a WebSocket text frame, and the client closed its connection (1007); one with an
// empty binary attachment made the gateway memcpy from NULL. Now both reach the client
// as frames it can parse, and the next event follows.
import { test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import {
  baseEnv, createTopics, encodeRoomEvent, newPrefix, produceLines, startGateway, stopAll, token, waitFor,
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
