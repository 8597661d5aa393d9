// The transport attacks of issue 12 (items 1, 2, 8, and the relay of 2 and 5) at ten times
// the size the issue reports, run once by hand, not in CI (they take minutes):
//   tests/kafka/kafka start /tmp/k && ROOMCAST_TEST_BROKERS=$(cat /tmp/k/bootstrap) \
//     ROOMCAST_BIN_DIR=build/bin node tests/attacks/transport.mjs [name...]
// Each attack runs against a fresh gateway with its default bounds while a victim on it
// receives a room event and sends an acknowledged event every 100 ms (lib.mjs), and prints
// one JSON line: resident memory before, at its peak (VmHWM) and after, what the attacker
// achieved, the victim's numbers, and the metrics that count the bound.
//
// An attacker does not stop when the gateway closes its connection: it opens another and
// goes on until it has offered the whole size, from several connections at once.
import { MB, RawConn, handshakeRequest, pollingHandshake, pump, wsFrame, wsOpen } from "../integration/lib/hostile.mjs";
import { run } from "./lib.mjs";

const GB = 1024 * MB;
const PARALLEL = 4;
const chunk = (size, byte) => { const b = Buffer.alloc(size, byte); return () => b; };
const pings = (() => {
  const ping = wsFrame(9, Buffer.alloc(125, 0x70));
  const b = Buffer.concat(Array.from({ length: 8192 }, () => ping)); // ~1 MB of pings
  return () => b;
})();

// Runs `cycle` from PARALLEL connections at once until `total` bytes were offered; each
// cycle returns the bytes it offered. Returns {offered, cycles, outcomes}.
async function flood(total, cycle) {
  const st = { offered: 0, cycles: 0, outcomes: {} };
  await Promise.all(Array.from({ length: PARALLEL }, async () => {
    while (st.offered < total) {
      const { written, outcome } = await cycle(Math.min(256 * MB, total - st.offered));
      st.offered += written;
      st.cycles++;
      st.outcomes[outcome] = (st.outcomes[outcome] ?? 0) + 1;
    }
  }));
  return { offeredMB: Math.round(st.offered / MB), cycles: st.cycles, outcomes: st.outcomes };
}

const attacks = {
  // item 1 x10: 3 GB piped behind held long-polling GETs (the issue: 300 MB, +309 MB)
  async heldGet() {
    await run("held-get", {}, async (env, gw) => flood(3 * GB, async (size) => {
      const c = await RawConn.open(gw.port);
      const sid = await pollingHandshake(c);
      c.write(`GET /socket.io/?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\nHost: x\r\n\r\n`);
      const r = await pump(c.sock, size, chunk(MB, 0x78), 2000);
      c.destroy();
      return r;
    }), [["roomcast_gateway_input_limited_total", 'state="held_get"'], ["roomcast_gateway_connections"]]);
  },
  // item 2 x10: 2 GB of WebSocket pings from clients that read nothing (the issue: 200 MB,
  // +240 MB, 120 MB still held 55 s later); settles past ROOMCAST_CLOSE_TIMEOUT_MS
  async pings() {
    await run("pings", {}, async (env, gw) => flood(2 * GB, async (size) => {
      const c = await wsOpen(gw.port, "/socket.io/?EIO=4&transport=websocket");
      c.pause();
      const r = await pump(c.sock, size, pings, 2000);
      await Promise.race([c.closed, new Promise((res) => setTimeout(res, 8000))]);
      c.destroy();
      return r;
    }), [["roomcast_gateway_slow_client_disconnects_total"], ["roomcast_gateway_connection_timeouts_total", 'phase="closing"'],
      ["roomcast_gateway_connections"]], { settleMs: 7000 });
  },
  // item 8 x10: 500 000 pipelined polling handshakes, read by nobody (the issue: 50 000
  // on one connection made 50 002 sessions, +37 MB): 100 connections of 5 000 each
  async pipelined() {
    const five = Buffer.from(handshakeRequest().repeat(5000));
    await run("pipelined", {}, async (env, gw) => {
      let conns = 0;
      await Promise.all(Array.from({ length: PARALLEL }, async () => {
        while (conns < 100) {
          conns++;
          const c = await RawConn.open(gw.port);
          c.pause();
          c.write(five);
          await Promise.race([c.closed, new Promise((res) => setTimeout(res, 3000))]);
          c.destroy();
        }
      }));
      return { handshakesOffered: conns * 5000, connections: conns };
    }, [["roomcast_gateway_sessions_refused_total", 'reason="connection"'], ["roomcast_gateway_sessions_refused_total", 'reason="address"'],
      ["roomcast_gateway_sessions_polling"]]);
  },
  // item 2 (relay) x10: 2 GB of pings through a relayed WebSocket whose client reads
  // nothing; the victim and the relaying gateway are gw, the session's owner the peer
  async relay() {
    await run("relay", {}, async (env, gw, [owner]) => flood(2 * GB, async (size) => {
      const c = await RawConn.open(owner.port);
      const sid = await pollingHandshake(c);
      c.destroy();
      const ws = await wsOpen(gw.port, `/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
      ws.pause();
      const r = await pump(ws.sock, size, pings, 2000);
      await Promise.race([ws.closed, new Promise((res) => setTimeout(res, 8000))]);
      ws.destroy();
      return r;
    }), [["roomcast_gateway_input_limited_total", 'state="relay"'], ["roomcast_gateway_forwarded_websocket_total"],
      ["roomcast_gateway_slow_client_disconnects_total", "", 1]], { peers: 1, settleMs: 7000 });
  },
};

const names = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(attacks);
for (const n of names) await attacks[n]();
