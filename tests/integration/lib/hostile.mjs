// Tools for attacking a gateway the way a hostile client would (tests/integration/
// hostile*.test.mjs and tests/attacks/run): raw TCP connections that write what they like
// and read only when told to, hand-made WebSocket frames, and the gateway's memory and
// CPU read from /proc.
import fs from "node:fs";
import net from "node:net";
import crypto from "node:crypto";

// Resident memory of a process in bytes (VmRSS of /proc/PID/status).
export function rss(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m[1]) * 1024;
}

// User + system CPU seconds of a process so far (/proc/PID/stat, in clock ticks of 1/100 s).
export function cpuSeconds(pid) {
  const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

export function openFds(pid) {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

export const MB = 1 << 20;

// A TCP connection that keeps what it reads in .buf, until pause() stops reading.
export class RawConn {
  static async open(port, host = "127.0.0.1") {
    const c = new RawConn();
    c.sock = net.connect(port, host);
    c.buf = Buffer.alloc(0);
    c.waiters = [];
    c.isClosed = false;
    c.closed = new Promise((resolve) => c.sock.on("close", () => { c.isClosed = true; c.wake(); resolve(); }));
    c.sock.on("error", () => {});
    c.sock.on("data", (d) => { c.buf = Buffer.concat([c.buf, d]); c.wake(); });
    await new Promise((resolve, reject) => { c.sock.once("connect", resolve); c.sock.once("error", reject); });
    return c;
  }
  wake() { const w = this.waiters; this.waiters = []; w.forEach((f) => f()); }
  write(data) { this.sock.write(data); }
  pause() { this.sock.pause(); }
  destroy() { this.sock.destroy(); }
  // Resolves once pred(buf) is truthy (its value), or rejects at the timeout or on close.
  until(pred, timeoutMs = 5000) {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out; got ${JSON.stringify(this.buf.toString().slice(0, 300))}`)), timeoutMs);
      const check = () => {
        const v = pred(this.buf);
        if (v) { clearTimeout(t); resolve(v); return; }
        if (this.isClosed) { clearTimeout(t); reject(new Error(`closed; got ${JSON.stringify(this.buf.toString().slice(0, 300))}`)); return; }
        this.waiters.push(check);
      };
      check();
    });
  }
  // Reads one HTTP response with a Content-Length body: {status, headers, body}.
  async response(timeoutMs = 5000) {
    const r = await this.until((b) => parseResponse(b), timeoutMs);
    this.buf = this.buf.subarray(r.size);
    return r;
  }
}

function parseResponse(b) {
  const i = b.indexOf("\r\n\r\n");
  if (i < 0) return null;
  const lines = b.subarray(0, i).toString().split("\r\n");
  const status = Number(lines[0].split(" ")[1]);
  const headers = {};
  for (const l of lines.slice(1)) {
    const k = l.indexOf(":");
    headers[l.slice(0, k).toLowerCase()] = l.slice(k + 1).trim();
  }
  const len = Number(headers["content-length"] ?? 0);
  if (b.length < i + 4 + len) return null;
  return { status, headers, body: b.subarray(i + 4, i + 4 + len).toString(), size: i + 4 + len };
}

export const handshakeRequest = (extra = "") =>
  `GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;

// A polling handshake on conn: the new session's id.
export async function pollingHandshake(conn, extra = "") {
  conn.write(handshakeRequest(extra));
  const r = await conn.response();
  if (r.status !== 200) throw new Error(`handshake: ${r.status} ${r.body}`);
  return JSON.parse(r.body.slice(1)).sid;
}

// A client's (masked) WebSocket frame.
export function wsFrame(op, payload) {
  const p = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const head = [0x80 | op];
  if (p.length < 126) head.push(0x80 | p.length);
  else if (p.length < 65536) head.push(0x80 | 126, p.length >> 8, p.length & 255);
  else { head.push(0x80 | 127); const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(p.length)); head.push(...b); }
  const key = crypto.randomBytes(4);
  const body = Buffer.from(p);
  for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
  return Buffer.concat([Buffer.from(head), key, body]);
}

// Opens a WebSocket on path (a raw connection past the 101), or throws with the answer.
export async function wsOpen(port, path, extraHeaders = "") {
  const c = await RawConn.open(port);
  const key = crypto.randomBytes(16).toString("base64");
  c.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extraHeaders}\r\n`);
  const i = await c.until((b) => { const k = b.indexOf("\r\n\r\n"); return k < 0 ? null : k + 1; });
  const head = c.buf.subarray(0, i - 1).toString();
  c.buf = c.buf.subarray(i + 3);
  if (!head.startsWith("HTTP/1.1 101")) { c.destroy(); throw new Error(`no upgrade: ${head}`); }
  return c;
}

// Writes `total` bytes of chunks from make(i) as fast as the peer takes them. Resolves
// {written, outcome}: "done", "closed" (the peer closed), or "stalled" (the peer stopped
// reading: no drain for stallMs).
export function pump(sock, total, make, stallMs = 1500) {
  return new Promise((resolve) => {
    let written = 0, i = 0, finished = false;
    const finish = (outcome) => {
      if (finished) return;
      finished = true;
      sock.off("drain", more);
      resolve({ written, outcome });
    };
    sock.once("close", () => finish("closed"));
    const more = () => {
      while (!finished && written < total) {
        if (sock.destroyed) return finish("closed");
        const chunk = make(i++);
        written += chunk.length;
        if (!sock.write(chunk)) {
          const t = setTimeout(() => finish("stalled"), stallMs);
          sock.once("drain", () => { clearTimeout(t); more(); });
          return;
        }
      }
      if (!finished && written >= total) finish("done");
    };
    more();
  });
}
