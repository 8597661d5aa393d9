// Our own WebSocket conformance client (the Autobahn|Testsuite cannot run here): the
// categories 1-7 and a size-bounded 9 against the gateway's protocol stack, through the
// protocol test server's Engine.IO echo endpoint, plus interop with npm's `ws` and
// Debian's python3-websockets, and the proof that a bad connection harms nobody else.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import crypto from "node:crypto";
import { spawnSync } from "node:child_process";
import WebSocket from "ws";
import { Proc, freePort, waitFor } from "./lib/harness.mjs";

let server, port;

before(async () => {
  port = await freePort();
  server = new Proc("roomcast-protocol-testserver", [], {
    PATH: process.env.PATH, ROOMCAST_LISTEN: `127.0.0.1:${port}`, ASAN_OPTIONS: "detect_leaks=1" });
  await waitFor("the test server", () => server.lines.some((l) => l.startsWith("listening")));
});

after(async () => {
  await server.stop("SIGINT");
  assert.equal(server.sanitizerReport(), null, server.sanitizerReport() ?? "");
});

// A raw client: masked frames written by hand, frames read back as {op, fin, payload}.
class Raw {
  static async open(path = "/engine.io/?EIO=4&transport=websocket") {
    const r = new Raw();
    r.sock = net.connect(port, "127.0.0.1");
    r.buf = Buffer.alloc(0);
    r.frames = [];
    r.waiters = [];
    r.closed = new Promise((resolve) => r.sock.on("close", resolve));
    r.sock.on("error", () => {});
    await new Promise((resolve) => r.sock.once("connect", resolve));
    const key = crypto.randomBytes(16).toString("base64");
    r.sock.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    await new Promise((resolve, reject) => {
      const onData = (d) => {
        r.buf = Buffer.concat([r.buf, d]);
        const i = r.buf.indexOf("\r\n\r\n");
        if (i < 0) return;
        const head = r.buf.subarray(0, i).toString();
        r.buf = r.buf.subarray(i + 4);
        r.sock.off("data", onData);
        if (!head.startsWith("HTTP/1.1 101")) return reject(new Error(head));
        const accept = crypto.createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
        assert.match(head, new RegExp(`Sec-WebSocket-Accept: ${accept.replace(/[+/]/g, "\\$&")}`, "i"));
        r.sock.on("data", (d2) => { r.buf = Buffer.concat([r.buf, d2]); r.parse(); });
        r.parse();
        resolve();
      };
      r.sock.on("data", onData);
    });
    const open = await r.next();
    assert.equal(open.payload.toString()[0], "0"); // the Engine.IO open packet
    return r;
  }
  parse() {
    for (;;) {
      if (this.buf.length < 2) return;
      const fin = !!(this.buf[0] & 0x80), op = this.buf[0] & 0x0f;
      let len = this.buf[1] & 0x7f, off = 2;
      assert.equal(this.buf[1] & 0x80, 0, "server frames are never masked");
      if (len === 126) { if (this.buf.length < 4) return; len = this.buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (this.buf.length < 10) return; len = Number(this.buf.readBigUInt64BE(2)); off = 10; }
      if (this.buf.length < off + len) return;
      const f = { op, fin, payload: Buffer.from(this.buf.subarray(off, off + len)) };
      this.buf = this.buf.subarray(off + len);
      if (this.waiters.length) this.waiters.shift()(f); else this.frames.push(f);
    }
  }
  next(timeout = 3000) {
    if (this.frames.length) return Promise.resolve(this.frames.shift());
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("no frame")), timeout);
      this.waiters.push((f) => { clearTimeout(t); resolve(f); });
    });
  }
  // Skips Engine.IO pings (text "2") the server sends meanwhile; answers them.
  async nextData() {
    for (;;) {
      const f = await this.next();
      if (f.op === 1 && f.payload.toString() === "2") { this.send(1, "3"); continue; }
      return f;
    }
  }
  send(op, payload, { fin = true, rsv = 0, mask = true } = {}) {
    const p = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
    const head = [(fin ? 0x80 : 0) | (rsv << 4) | op];
    const m = mask ? 0x80 : 0;
    if (p.length < 126) head.push(m | p.length);
    else if (p.length < 65536) head.push(m | 126, p.length >> 8, p.length & 255);
    else { head.push(m | 127); const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(p.length)); head.push(...b); }
    const key = crypto.randomBytes(4);
    const body = Buffer.from(p);
    if (mask) for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
    this.sock.write(Buffer.concat([Buffer.from(head), mask ? key : Buffer.alloc(0), body]));
  }
  // Expects the server to close with code; returns it.
  async expectClose(code) {
    let f;
    do { f = await this.next(); } while (f.op !== 8);
    const got = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
    assert.equal(got, code);
    await this.closed;
  }
  close() { this.sock.destroy(); }
}

test("1. framing: text and binary of every length class echo back whole", async () => {
  const r = await Raw.open();
  // text of every length, not one repeated letter: multi-byte UTF-8 and a pattern that
  // shows a byte lost, doubled or moved (the payload is masked, so every key byte counts)
  const chars = [..."abcdefghijklmnopqrstuvwxyz0123456789é€😀"];
  const textOf = (n) => { // n bytes of UTF-8, whole characters
    const out = [];
    for (let bytes = 0, i = 0; bytes < n; i++) {
      const ch = chars[i % chars.length];
      const len = Buffer.byteLength(ch);
      if (bytes + len > n) continue;
      out.push(ch);
      bytes += len;
    }
    return out.join("");
  };
  for (const n of [0, 1, 125, 126, 127, 65535, 65536, 200000]) {
    const text = "4" + textOf(n - 1 < 0 ? 0 : n - 1);
    r.send(1, text);
    const f = await r.nextData();
    assert.equal(f.op, 1);
    assert.ok(f.payload.equals(Buffer.from(text)), `text of ${Buffer.byteLength(text)} bytes`);
    const bin = crypto.randomBytes(n);
    r.send(2, bin);
    const g = await r.nextData();
    assert.equal(g.op, 2);
    assert.ok(g.payload.equals(bin), `binary of ${n}`);
  }
  r.close();
});

test("2. ping/pong: a ping is answered with its payload; an unsolicited pong is ignored", async () => {
  const r = await Raw.open();
  r.send(9, "hello");
  let f = await r.nextData();
  assert.deepEqual([f.op, f.payload.toString()], [10, "hello"]);
  r.send(9, Buffer.alloc(125, 7));
  f = await r.nextData();
  assert.equal(f.payload.length, 125);
  r.send(10, "unsolicited");
  r.send(1, "4after");
  f = await r.nextData();
  assert.equal(f.payload.toString(), "4after");
  r.send(9, Buffer.alloc(126)); // a control frame over 125 bytes
  await r.expectClose(1002);
});

test("3. reserved bits without an extension close with 1002", async () => {
  for (const rsv of [1, 2, 4, 7]) {
    const r = await Raw.open();
    r.send(1, "4x", { rsv });
    await r.expectClose(1002);
  }
});

test("4. reserved opcodes close with 1002", async () => {
  for (const op of [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]) {
    const r = await Raw.open();
    r.send(op, "x");
    await r.expectClose(1002);
  }
});

test("5. fragmentation: fragments make one message, controls may come between, bad sequences fail", async () => {
  const r = await Raw.open();
  r.send(1, "4frag", { fin: false });
  r.send(9, "mid");
  r.send(0, "-men", { fin: false });
  r.send(0, "ted");
  let f = await r.nextData();
  assert.deepEqual([f.op, f.payload.toString()], [10, "mid"]);
  f = await r.nextData();
  assert.equal(f.payload.toString(), "4frag-mented");
  r.close();
  const cases = [
    (x) => x.send(0, "no start"),                                       // continuation first
    (x) => { x.send(1, "4a", { fin: false }); x.send(1, "4b"); },       // new message mid-way
    (x) => x.send(9, "frag", { fin: false }),                           // fragmented control
    (x) => x.send(1, "4unmasked", { mask: false }),                     // clients must mask
  ];
  for (const c of cases) {
    const x = await Raw.open();
    c(x);
    await x.expectClose(1002);
  }
});

test("6. UTF-8: valid text across fragments passes; invalid text closes with 1007", async () => {
  const r = await Raw.open();
  const euro = Buffer.from("4€ and 😀");
  r.send(1, euro.subarray(0, 2), { fin: false }); // split inside a character
  r.send(0, euro.subarray(2));
  const f = await r.nextData();
  assert.ok(f.payload.equals(euro));
  r.close();
  const bad = [
    Buffer.from([0x34, 0xc0, 0xaf]),             // overlong '/'
    Buffer.from([0x34, 0xed, 0xa0, 0x80]),       // a surrogate
    Buffer.from([0x34, 0xf4, 0x90, 0x80, 0x80]), // past U+10FFFF
    Buffer.from([0x34, 0xe2, 0x82]),             // cut short at the end
  ];
  for (const b of bad) {
    const x = await Raw.open();
    x.send(1, b);
    await x.expectClose(1007);
  }
});

test("7. close handling: codes echoed, bad codes and payloads refused", async () => {
  const ok = await Raw.open();
  const p = Buffer.alloc(2); p.writeUInt16BE(1000);
  ok.send(8, p);
  await ok.expectClose(1000);
  const empty = await Raw.open();
  empty.send(8, Buffer.alloc(0));
  await empty.expectClose(1000);
  for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000]) {
    const x = await Raw.open();
    const b = Buffer.alloc(2); b.writeUInt16BE(code);
    x.send(8, b);
    await x.expectClose(1002);
  }
  const one = await Raw.open();
  one.send(8, Buffer.from([3]));
  await one.expectClose(1002);
  const badReason = await Raw.open();
  badReason.send(8, Buffer.from([0x03, 0xe8, 0xc0, 0xaf]));
  await badReason.expectClose(1007);
});

test("9. limits: a message over maxPayload closes with 1009, also when fragmented", async () => {
  const r = await Raw.open();
  r.send(2, Buffer.alloc(1000001));
  await r.expectClose(1009);
  const f = await Raw.open();
  for (let i = 0; i < 3; i++) f.send(i ? 0 : 2, Buffer.alloc(400000), { fin: false });
  await f.expectClose(1009);
});

test("a bad frame closes only its own connection; others keep being served", async () => {
  const good = await Raw.open();
  const bad = await Raw.open();
  bad.send(1, Buffer.from([0x34, 0xff]));
  await bad.expectClose(1007);
  good.send(1, "4still here");
  assert.equal((await good.nextData()).payload.toString(), "4still here");
  // a bad HTTP request and a bad Engine.IO packet too
  const http = net.connect(port, "127.0.0.1");
  const reply = await new Promise((resolve) => {
    let s = ""; http.on("data", (d) => (s += d)); http.on("close", () => resolve(s));
    http.write("GET /engine.io/ HTTP/1.1\r\nBad Header\r\n\r\n");
  });
  assert.match(reply, /^HTTP\/1\.1 400/);
  const badPacket = await Raw.open();
  badPacket.send(1, "9nope");
  await badPacket.expectClose(1002);
  good.send(1, "4and here");
  assert.equal((await good.nextData()).payload.toString(), "4and here");
  good.close();
});

test("interop: npm's ws client", async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/engine.io/?EIO=4&transport=websocket`);
  const msgs = [];
  ws.on("message", (d, isBinary) => msgs.push({ d: Buffer.from(d), isBinary }));
  await new Promise((resolve) => ws.once("open", resolve));
  await waitFor("open packet", () => msgs.length >= 1);
  ws.send("4héllo");
  ws.send(Buffer.from([1, 2, 3]));
  await waitFor("echoes", () => msgs.length >= 3);
  assert.equal(msgs[1].d.toString(), "4héllo");
  assert.deepEqual([...msgs[2].d], [1, 2, 3]);
  assert.equal(msgs[2].isBinary, true);
  const code = await new Promise((resolve) => { ws.once("close", resolve); ws.close(1000); });
  assert.equal(code, 1000);
});

test("interop: Debian's python3-websockets client", () => {
  const py = `
import asyncio, sys, websockets
async def main():
    async with websockets.connect("ws://127.0.0.1:${port}/engine.io/?EIO=4&transport=websocket") as ws:
        assert (await ws.recv()).startswith("0{")
        await ws.send("4py")
        assert await ws.recv() == "4py"
        await ws.send(bytes([9, 8, 7]))
        assert await ws.recv() == bytes([9, 8, 7])
        pong = await ws.ping(b"p")
        await asyncio.wait_for(pong, 3)
    print("ok")
asyncio.run(main())
`;
  const r = spawnSync("/usr/bin/python3", ["-c", py], { encoding: "utf8", timeout: 20000 });
  assert.equal(r.stdout.trim(), "ok", r.stderr);
});
