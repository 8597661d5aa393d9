// IPv6 as Kubernetes gives it (issue 15): a gateway listening on "[::]:PORT" takes IPv4 and
// IPv6 clients alike (dual-stack, IPV6_V6ONLY off), and ROOMCAST_ADVERTISE_ADDR set to a
// bare pod IP ("$(POD_IP)", IPv4 or IPv6) gets the listen port and, for IPv6, brackets, so
// other gateways' relays reach it. The wildcard listener runs inside a private network
// namespace made for the test (`unshare -n`, only its own loopback), so nothing binds
// beyond loopback; that part is skipped, saying why, where namespaces cannot be made.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { baseEnv, bin, createTopics, freePort, httpGet, metric, newPrefix, startGateway, stopAll } from "./lib/harness.mjs";

const canUnshare = (() => {
  try { execFileSync("unshare", ["-n", "true"], { stdio: "ignore" }); return true; } catch { return false; }
})();

// The owner a signed session id names (sid.h: 9 random bytes, 4 of issue time, owner, 8-byte tag).
const ownerOf = (sid) => { const b = Buffer.from(sid, "base64url"); return b.subarray(13, b.length - 8).toString(); };
const handshake = async (url) => {
  const r = await httpGet(`${url}/socket.io/?EIO=4&transport=polling`);
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body.slice(1)).sid;
};

test("[::]:PORT serves IPv4 and IPv6 clients, client and admin listeners (private network namespace)",
  { skip: !canUnshare && "cannot make a network namespace here (unshare -n needs root)" }, async () => {
    // fixed ports: the namespace is the test's own
    const script = `
      set -u
      ip link set lo up
      "$GW" > "$LOG" 2>&1 & pid=$!
      for i in $(seq 200); do curl -s -o /dev/null -g "http://[::1]:9100/healthz" && break; sleep 0.05; done
      for u in "http://127.0.0.1:3000" "http://[::1]:3000"; do
        echo "client $u $(curl -s -g "$u/socket.io/?EIO=4&transport=polling")"
      done
      for u in "http://127.0.0.1:9100" "http://[::1]:9100"; do
        echo "admin $u $(curl -s -g -o /dev/null -w '%{http_code}' "$u/healthz")"
      done
      kill -TERM $pid; wait $pid; echo "exit $?"`;
    const log = `/tmp/roomcast-dualstack-${process.pid}.log`;
    const env = baseEnv(newPrefix("ds"), {
      GW: bin("roomcast-gateway"), LOG: log, ROOMCAST_KAFKA_BROKERS: "127.0.0.1:9",
      ROOMCAST_LISTEN: "[::]:3000", ROOMCAST_ADMIN_LISTEN: "[::]:9100", ROOMCAST_DRAIN_SECONDS: "0",
      ROOMCAST_ADVERTISE_ADDR: "fd00::1" });
    const r = spawnSync("unshare", ["-n", "bash", "-c", script], { env, encoding: "utf8", timeout: 60000 });
    const out = r.stdout;
    const client = [...out.matchAll(/^client (\S+) 0(\{.*\})$/gm)].map((m) => [m[1], JSON.parse(m[2])]);
    assert.deepEqual(client.map((c) => c[0]), ["http://127.0.0.1:3000", "http://[::1]:3000"], out + r.stderr);
    // both sessions are owned by the bracketed advertise address the bare IPv6 became
    for (const [, open] of client) assert.equal(ownerOf(open.sid), "[fd00::1]:3000");
    assert.match(out, /^admin http:\/\/127\.0\.0\.1:9100 200$/m);
    assert.match(out, /^admin http:\/\/\[::1\]:9100 200$/m);
    assert.match(out, /^exit 0$/m, out);
  });

test("a bare ROOMCAST_ADVERTISE_ADDR gets the listen port (IPv6 in brackets) and relays reach it over IPv6", async () => {
  const env = baseEnv(newPrefix("adv"));
  await createTopics(env);
  const [pa, pb, pc] = [await freePort(), await freePort(), await freePort()];
  // two gateways on IPv6 loopback, each advertising the bare address "::1"
  const a = await startGateway(env, { ROOMCAST_LISTEN: `[::1]:${pa}`, ROOMCAST_ADVERTISE_ADDR: "::1" });
  const b = await startGateway(env, { ROOMCAST_LISTEN: `[::1]:${pb}`, ROOMCAST_ADVERTISE_ADDR: "::1" });
  const c = await startGateway(env, { ROOMCAST_LISTEN: `127.0.0.1:${pc}`, ROOMCAST_ADVERTISE_ADDR: "10.1.2.3" });
  try {
    const sid = await handshake(`http://[::1]:${pa}`);
    assert.equal(ownerOf(sid), `[::1]:${pa}`);
    assert.equal(ownerOf(await handshake(`http://127.0.0.1:${pc}`)), `10.1.2.3:${pc}`);
    // a polling POST for a's session sent to b is relayed to a at [::1]:pa
    const r = await fetch(`http://[::1]:${pb}/socket.io/?EIO=4&transport=polling&sid=${sid}`,
      { method: "POST", body: "1", headers: { "content-type": "text/plain;charset=UTF-8" } });
    assert.equal(r.status, 200);
    assert.equal(await r.text(), "ok");
    assert.equal(await metric(b.adminPort, "roomcast_gateway_forwarded_polling_total"), 1);
    assert.equal(await metric(b.adminPort, "roomcast_gateway_forward_owner_gone_total"), 0);
  } finally {
    await stopAll([a, b, c]);
  }
});
