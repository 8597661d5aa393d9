// Hostile clients against the transport (issue 12 items 1, 2, 7, 8): each test runs the
// attack against the real gateway and checks the bound that stops it, from /proc (memory)
// and /metrics, while an ordinary client's events keep flowing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { io } from "socket.io-client";
import {
  baseEnv, cli, createTopics, metric, newPrefix, startGateway, stopAll, token, waitFor,
} from "./lib/harness.mjs";
import {
  MB, RawConn, cpuSeconds, handshakeRequest, pollingHandshake, pump, rss, wsFrame, wsOpen,
} from "./lib/hostile.mjs";

let env;
before(async () => {
  // ASan keeps freed memory in a quarantine (256 MB by default), which would count as the
  // gateway's resident memory: a small one makes VmRSS follow what the gateway holds.
  env = baseEnv(newPrefix("hostile"), { ASAN_OPTIONS: "detect_leaks=1:abort_on_error=0:quarantine_size_mb=4" });
  await createTopics(env);
});

// An ordinary client in room user-<sub>, and a check that an event still reaches it.
async function bystander(gw, sub) {
  const s = io(gw.url, { auth: { token: await token(env, sub, "buyer") }, transports: ["websocket"], reconnection: false });
  await new Promise((resolve, reject) => { s.once("connect", resolve); s.once("connect_error", reject); });
  let n = 0;
  s.stillReceives = async () => {
    const got = new Promise((resolve) => s.once("ping:bystander", resolve));
    const r = await cli(["emit", `user-${sub}`, "ping:bystander", JSON.stringify({ n: ++n })], env);
    assert.equal(r.code, 0, r.stderr);
    await Promise.race([got, new Promise((_, rej) => setTimeout(() => rej(new Error("bystander got no event")), 10000))]);
    assert.ok(s.connected);
  };
  await s.stillReceives();
  return s;
}

const junk = (size) => () => Buffer.alloc(size, 0x78);

test("1. bytes piped behind a held long-polling GET are not buffered: the connection is cut at the bound", async () => {
  const gw = await startGateway(env);
  const other = await bystander(gw, "h1-bystander");
  try {
    const c = await RawConn.open(gw.port);
    const sid = await pollingHandshake(c);
    c.write(`GET /socket.io/?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await waitFor("the GET held", async () => (await metric(gw.adminPort, "roomcast_gateway_sessions_polling")) === 1);
    const before = rss(gw.child.pid);
    const r = await pump(c.sock, 48 * MB, junk(MB));
    const grew = rss(gw.child.pid) - before;
    assert.ok(grew < 16 * MB, `the gateway grew by ${(grew / MB).toFixed(1)} MB for 48 MB piped (${r.outcome})`);
    assert.notEqual(r.outcome, "done", "the gateway stopped taking the bytes");
    await waitFor("counted", async () =>
      (await metric(gw.adminPort, "roomcast_gateway_input_limited_total", 'state="held_get"')) >= 1);
    await other.stillReceives();
    c.destroy();
  } finally {
    other.close();
    await stopAll([gw]);
  }
});

test("2. WebSocket pings from a client that reads nothing: pongs count against the outbound bound", async () => {
  const gw = await startGateway(env, { ROOMCAST_MAX_OUTBOUND_BYTES: String(MB), ROOMCAST_CLOSE_TIMEOUT_MS: "1000" });
  const other = await bystander(gw, "h2-bystander");
  try {
    // no token needed: an Engine.IO session that never sends CONNECT
    const c = await wsOpen(gw.port, "/socket.io/?EIO=4&transport=websocket");
    c.pause();
    const before = rss(gw.child.pid);
    const ping = wsFrame(9, Buffer.alloc(125, 0x70));
    const batch = Buffer.concat(Array.from({ length: 8192 }, () => ping)); // ~1 MB
    const r = await pump(c.sock, 40 * MB, () => batch);
    const grew = rss(gw.child.pid) - before;
    assert.ok(grew < 16 * MB, `the gateway grew by ${(grew / MB).toFixed(1)} MB for 40 MB of pings (${r.outcome})`);
    assert.ok(await metric(gw.adminPort, "roomcast_gateway_slow_client_disconnects_total") >= 1);
    // it never reads: the connection is still dropped, at the close deadline
    await waitFor("the connection dropped", async () =>
      (await metric(gw.adminPort, "roomcast_gateway_connections")) === 1, 8000);
    await other.stillReceives();
    c.destroy();
  } finally {
    other.close();
    await stopAll([gw]);
  }
});

test("2. a closing WebSocket whose client reads nothing is dropped at ROOMCAST_CLOSE_TIMEOUT_MS", async () => {
  const gw = await startGateway(env, {
    ROOMCAST_PING_INTERVAL_MS: "300", ROOMCAST_PING_TIMEOUT_MS: "300", ROOMCAST_CLOSE_TIMEOUT_MS: "1000" });
  try {
    const c = await wsOpen(gw.port, "/socket.io/?EIO=4&transport=websocket");
    c.pause();
    // 6 MB of pongs: the kernel's buffers for a client that reads nothing take about 4 MB
    // (the sender's, autotuned on loopback), the rest waits in the gateway's output (under
    // the 8 MB bound); then it misses a ping
    const ping = wsFrame(9, Buffer.alloc(125, 0x70));
    await pump(c.sock, 6 * MB, () => Buffer.concat(Array.from({ length: 1024 }, () => ping)));
    await waitFor("the session ended by ping timeout", async () =>
      (await metric(gw.adminPort, "roomcast_gateway_ping_timeouts_total")) >= 1, 5000);
    await waitFor("the closing connection dropped", async () =>
      (await metric(gw.adminPort, "roomcast_gateway_connections")) === 0, 5000);
    assert.ok(await metric(gw.adminPort, "roomcast_gateway_connection_timeouts_total", 'phase="closing"') >= 1);
    c.destroy();
  } finally {
    await stopAll([gw]);
  }
});

test("7. slowloris: a request head sent a byte at a time is cut at the handshake deadline", async () => {
  const gw = await startGateway(env, { ROOMCAST_HANDSHAKE_TIMEOUT_MS: "1000" });
  try {
    const c = await RawConn.open(gw.port);
    const t0 = Date.now();
    c.write("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nX-Slow: ");
    const drip = setInterval(() => { if (!c.isClosed) c.write("a"); }, 200);
    await Promise.race([c.closed, new Promise((r) => setTimeout(r, 5000))]);
    clearInterval(drip);
    assert.ok(c.isClosed, "still open after 5 s of one byte every 200 ms");
    const took = Date.now() - t0;
    assert.ok(took >= 900 && took < 3000, `cut after ${took} ms`);
    assert.ok(await metric(gw.adminPort, "roomcast_gateway_connection_timeouts_total", 'phase="request"') >= 1);
  } finally {
    await stopAll([gw]);
  }
});

test("7. a held polling GET lives until the ping interval: polling clients keep their session", async () => {
  const gw = await startGateway(env, {
    ROOMCAST_HANDSHAKE_TIMEOUT_MS: "500", ROOMCAST_PING_INTERVAL_MS: "1500", ROOMCAST_PING_TIMEOUT_MS: "1000" });
  const s = io(gw.url, { auth: { token: await token(env, "h7-poll", "buyer") }, transports: ["polling"], reconnection: false });
  try {
    await new Promise((resolve, reject) => { s.once("connect", resolve); s.once("connect_error", reject); });
    const sid = s.io.engine.id;
    const reasons = [];
    s.on("disconnect", (r) => reasons.push(r));
    let pings = 0;
    s.io.engine.on("ping", () => pings++);
    await waitFor("three pings over one session", () => pings >= 3 || reasons.length, 10000);
    assert.deepEqual(reasons, []);
    assert.equal(s.io.engine.id, sid);
    assert.equal(await metric(gw.adminPort, "roomcast_gateway_connection_timeouts_total", 'phase="request"'), 0);
  } finally {
    s.close();
    await stopAll([gw]);
  }
});

test("8. pipelined handshakes on one connection: a few sessions, then refused", async () => {
  const gw = await startGateway(env);
  try {
    const c = await RawConn.open(gw.port);
    c.pause(); // reads no reply
    c.write(handshakeRequest().repeat(5000));
    await waitFor("refused", async () =>
      (await metric(gw.adminPort, "roomcast_gateway_sessions_refused_total", 'reason="connection"')) >= 1, 5000);
    const sessions = await metric(gw.adminPort, "roomcast_gateway_sessions_polling");
    assert.ok(sessions <= 4, `${sessions} sessions from one connection`);
    c.destroy();
  } finally {
    await stopAll([gw]);
  }
});

test("8. pipelined requests are parsed only as their replies are read", async () => {
  const gw = await startGateway(env);
  try {
    const c = await RawConn.open(gw.port);
    c.pause();
    const before = rss(gw.child.pid);
    const req = Buffer.from("GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n");
    const batch = Buffer.concat(Array.from({ length: 30000 }, () => req)); // ~1 MB, 30 000 replies
    const r = await pump(c.sock, 40 * MB, () => batch);
    const grew = rss(gw.child.pid) - before;
    assert.ok(grew < 16 * MB, `the gateway grew by ${(grew / MB).toFixed(1)} MB (${r.outcome})`);
    assert.notEqual(r.outcome, "done");
    c.destroy();
  } finally {
    await stopAll([gw]);
  }
});

test("8. sessions per source address: past the bound, 429; a trusted proxy's X-Forwarded-For names the client", async () => {
  const gw = await startGateway(env, { ROOMCAST_MAX_SESSIONS_PER_ADDRESS: "5" });
  const proxied = await startGateway(env, { ROOMCAST_MAX_SESSIONS_PER_ADDRESS: "5", ROOMCAST_TRUSTED_PROXIES: "127.0.0.1" });
  try {
    const answers = [];
    for (let i = 0; i < 7; i++) {
      const r = await fetch(`${gw.url}/socket.io/?EIO=4&transport=polling`);
      answers.push({ status: r.status, body: await r.text() });
    }
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200, 429, 429]);
    await assert.rejects(wsOpen(gw.port, "/socket.io/?EIO=4&transport=websocket"), /429/);
    assert.equal(await metric(gw.adminPort, "roomcast_gateway_sessions_refused_total", 'reason="address"'), 3);
    const spoofed = await fetch(`${gw.url}/socket.io/?EIO=4&transport=polling`, { headers: { "X-Forwarded-For": "10.0.0.1" } });
    assert.equal(spoofed.status, 429, "X-Forwarded-For from an untrusted peer is not believed");
    // a session that ends (the client's close packet) frees its place
    const sid = JSON.parse(answers[0].body.slice(1)).sid;
    const bye = await fetch(`${gw.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: "POST", body: "1" });
    assert.equal(bye.status, 200);
    await waitFor("a place again", async () =>
      (await fetch(`${gw.url}/socket.io/?EIO=4&transport=polling`)).status === 200, 5000);
    const ok = [];
    for (let i = 0; i < 7; i++)
      ok.push((await fetch(`${proxied.url}/socket.io/?EIO=4&transport=polling`,
        { headers: { "X-Forwarded-For": `203.0.113.${i % 2}, 10.0.0.${i}` } })).status);
    assert.deepEqual(ok, [200, 200, 200, 200, 200, 200, 200], "each client behind the proxy has its own bound");
  } finally {
    await stopAll([gw, proxied]);
  }
});

test("13. out of file descriptors: accepting pauses, the log stays small, the CPU idle, delivery goes on", async () => {
  // 80 descriptors: about 40 left for clients once Kafka, the admin port and the rest are open
  const gw = await startGateway(env, { ROOMCAST_MAX_CONNECTIONS: "1000" }, { wrap: ["prlimit", "--nofile=80:80", "--"] });
  const other = await bystander(gw, "h13-bystander");
  const flood = [];
  try {
    const linesBefore = gw.lines.length;
    const cpuBefore = cpuSeconds(gw.child.pid);
    const t0 = Date.now();
    for (let i = 0; i < 300; i++) {
      const s = net.connect(gw.port, "127.0.0.1");
      s.on("error", () => {});
      flood.push(s);
    }
    await waitFor("accepting paused", async () => (await metric(gw.adminPort, "roomcast_gateway_accept_paused_total")) >= 1, 5000);
    await other.stillReceives();
    await new Promise((r) => setTimeout(r, 2000));
    const cpu = cpuSeconds(gw.child.pid) - cpuBefore, secs = (Date.now() - t0) / 1000;
    assert.ok(cpu / secs < 0.25, `the gateway used ${(100 * cpu / secs).toFixed(0)} % of a CPU while out of descriptors`);
    const lines = gw.lines.slice(linesBefore);
    assert.ok(lines.length < 20, `${lines.length} log lines: ${lines.slice(0, 5).join("\n")}`);
    for (const l of lines) assert.doesNotThrow(() => JSON.parse(l), `not JSON: ${l}`);
    assert.match(gw.logs(), /ROOMCAST_MAX_CONNECTIONS does not fit in the open-file limit/);
    // the descriptors come back: the waiting connections are served
    flood.forEach((s) => s.destroy());
    await waitFor("a new client served", async () => {
      const late = await RawConn.open(gw.port);
      try { return await pollingHandshake(late); } finally { late.destroy(); }
    }, 15000);
  } finally {
    flood.forEach((s) => s.destroy());
    other.close();
    await stopAll([gw]);
  }
});
