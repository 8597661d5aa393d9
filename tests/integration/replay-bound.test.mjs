// Recovery replays are bounded (issue 12, item 11): a gateway queues at most
// ROOMCAST_REPLAY_MAX_JOBS replays; a client that reconnects past that gets a new session
// (socket.recovered false) instead of a job in a queue with no end, and every client is
// connected again. Recoveries of one wave share passes over the topic.
import { test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import {
  baseEnv, cli, createTopics, metric, newPrefix, startGateway, startSwitchProxy, stopAll, token, waitFor,
} from "./lib/harness.mjs";

test("past ROOMCAST_REPLAY_MAX_JOBS a reconnecting client gets a new session, and all reconnect", async () => {
  const env = baseEnv(newPrefix("replay-bound"));
  await createTopics(env);
  const a = await startGateway(env);
  const b = await startGateway(env, { ROOMCAST_REPLAY_MAX_JOBS: "1" });
  const proxy = await startSwitchProxy(a.port);
  const N = 30;
  const socks = [];
  try {
    for (let i = 0; i < N; i++) {
      const s = io(proxy.url, { auth: { token: await token(env, `rb-${i}`, "buyer") }, transports: ["websocket"],
        reconnectionDelay: 100, reconnectionDelayMax: 100, randomizationFactor: 0 });
      s.got = 0;
      s.reconnected = null;
      s.on("announce", () => s.got++);
      s.on("connect", () => { if (s.got) s.reconnected = s.recovered; });
      socks.push(s);
    }
    await waitFor("connected", () => socks.every((s) => s.connected));
    assert.equal((await cli(["emit", "buyers", "announce", '{"n":1}'], env)).code, 0);
    await waitFor("the event everywhere", () => socks.every((s) => s.got === 1));
    // a's connections drop at once; every client comes back, through the proxy, to b
    proxy.switchTo(b.port);
    proxy.cut();
    await waitFor("every client back", () => socks.every((s) => s.connected && s.reconnected !== null), 30000);
    const recovered = socks.filter((s) => s.reconnected).length;
    const busy = await metric(b.adminPort, "roomcast_gateway_recoveries_total", 'result="busy"');
    console.log(JSON.stringify({ clients: N, recovered, refusedBusy: busy,
      joined: await metric(b.adminPort, "roomcast_gateway_replay_joined_total") }));
    assert.ok(recovered >= 1, "some recovered");
    assert.ok(busy >= 1, "some were refused for want of a replay slot");
    assert.equal(recovered + busy, N);
    await waitFor("no replay left", async () => await metric(b.adminPort, "roomcast_gateway_replay_jobs") === 0);
    // whatever their session, every client still gets what comes next
    assert.equal((await cli(["emit", "buyers", "announce", '{"n":2}'], env)).code, 0);
    await waitFor("the next event everywhere", () => socks.every((s) => s.got === 2));
  } finally {
    for (const s of socks) s.close();
    await proxy.close();
    await stopAll([a, b]);
  }
});
