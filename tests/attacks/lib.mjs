// What the attack scripts share (tenfold.mjs, transport.mjs): a gateway's memory from /proc,
// a victim socket that receives a room event and sends an acknowledged event every 100 ms
// while an attack runs, and run(), which starts fresh gateways (the release build: ASan's
// own memory would hide the gateway's), runs one attack and prints one JSON line.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { io } from "socket.io-client";
import {
  baseEnv, bin, createTopics, encodeRoomEvent, metric, newPrefix, startGateway, stopAll, token,
} from "../integration/lib/harness.mjs";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function memory(pid) {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k) => Number(s.match(new RegExp(`${k}:\\s+(\\d+)`))[1]);
  return { rssMB: +(kb("VmRSS") / 1024).toFixed(1), peakMB: +(kb("VmHWM") / 1024).toFixed(1) };
}

export async function pollingSocket(url, tok) {
  const base = `${url}/socket.io/?EIO=4&transport=polling`;
  const { sid } = JSON.parse((await (await fetch(base)).text()).slice(1));
  const at = `${base}&sid=${sid}`;
  const post = async (body) => (await fetch(at, { method: "POST", body })).status;
  await post(`40${JSON.stringify({ token: tok })}`);
  await (await fetch(at)).text();
  return { post };
}

// The victim: events to its room every 100 ms through Kafka, acked emits every 100 ms.
export async function victim(env, gw) {
  const s = io(gw.url, { auth: { token: await token(env, "victim", "buyer") }, transports: ["websocket"], reconnection: false });
  await new Promise((resolve, reject) => { s.once("connect", resolve); s.once("connect_error", reject); });
  const v = { received: 0, sent: 0, acks: 0, ackFailures: 0, slowestAckMs: 0, running: true };
  s.on("tick", () => v.received++);
  const producer = spawn(bin("roomcast"), ["produce", "roomcast.rooms", "--lines"], { env, stdio: ["pipe", "ignore", "ignore"] });
  const ticker = setInterval(() => {
    const value = encodeRoomEvent({ id: `tick-${v.sent}`, room: "user-victim", event: "tick", args: [v.sent] });
    producer.stdin.write(`user-victim\t${value.toString("hex")}\n`);
    v.sent++;
  }, 100);
  const pinger = (async () => {
    while (v.running) {
      const t0 = Date.now();
      try {
        const a = await s.timeout(10000).emitWithAck("hello", {});
        if (a.ok) v.acks++; else v.ackFailures++;
      } catch { v.ackFailures++; }
      v.slowestAckMs = Math.max(v.slowestAckMs, Date.now() - t0);
      await sleep(100);
    }
  })();
  v.stop = async () => {
    clearInterval(ticker);
    producer.stdin.end();
    await new Promise((r) => producer.on("exit", r));
    await sleep(2000); // the last ticks arrive
    v.running = false;
    await pinger;
    s.close();
    const { running, stop, ...rest } = v;
    return { connected: s.connected || rest.received > 0, ...rest };
  };
  return v;
}

// Runs attack(env, gw, others) against a fresh gateway (and `peers` more beside it, for
// relays), with the victim on gw; prints memory before, at the peak (VmHWM) and settleMs
// after, what the attack achieved, the victim's numbers and the given metrics of gw.
export async function run(name, extra, attack, metrics, { peers = 0, settleMs = 3000 } = {}) {
  const env = baseEnv(newPrefix(`tenfold-${name}`), { ROOMCAST_LOG_LEVEL: "warn" });
  await createTopics(env);
  const gws = await Promise.all(Array.from({ length: peers + 1 }, () => startGateway(env, extra)));
  const [gw, ...others] = gws;
  const pid = gw.child.pid;
  try {
    const v = await victim(env, gw);
    await sleep(1500);
    v.slowestAckMs = 0; /* from the attack on: the first ack also waited for the producer */
    const before = memory(pid);
    const t0 = Date.now();
    const othersBefore = others.map((o) => memory(o.child.pid));
    const achieved = await attack(env, gw, others);
    const seconds = +((Date.now() - t0) / 1000).toFixed(1);
    await sleep(settleMs);
    const after = memory(pid);
    const othersMem = others.map((o, i) => ({ rssBeforeMB: othersBefore[i].rssMB, ...memory(o.child.pid) }));
    const vic = await v.stop();
    const m = {};
    for (const [k, labels, which = 0] of metrics)
      m[`${which ? `peer${which}:` : ""}${k}${labels ? `{${labels}}` : ""}`] = await metric(gws[which].adminPort, k, labels);
    console.log(JSON.stringify({ attack: name, seconds, rssBeforeMB: before.rssMB, peakMB: after.peakMB,
      rssAfterMB: after.rssMB, ...(others.length ? { peers: othersMem } : {}), achieved, victim: vic, metrics: m }));
  } finally {
    await stopAll(gws);
  }
}

