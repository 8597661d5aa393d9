// Issue 12 item 3 and the cluster secret: the gateway refuses a secret anyone could know
// (too short, or a sample value the repository published), unless the room policy is
// `open` (development); the cluster secret is required, a key of its own (not derived
// from the JWT key); scripts/up's secrets are readable by their owner only (item 13).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { io } from "socket.io-client";
import {
  CLUSTER_SECRET, baseEnv, bin, createTopics, metric, newPrefix, root, startGateway,
  startSwitchProxy, stopAll, token, waitFor,
} from "./lib/harness.mjs";

// Values the repository shipped as secrets at one time or another (deploy/k8s/secret.yaml,
// the test harness, the benchmark), and one a byte short of the minimum.
const PUBLISHED = [
  "change-me-to-a-long-random-key",
  "integration-test-secret-0123456789",
  "roomcast-benchmark-secret-0123456789abcdef",
];
const SHORT = "k".repeat(31);

// The gateway's start with these settings: {status, stderr}. A gateway that starts runs
// until the timeout kills it (status null).
function start(extra) {
  const env = { ...baseEnv("t-secrets."), ROOMCAST_LISTEN: "127.0.0.1:0", ROOMCAST_ADMIN_LISTEN: "127.0.0.1:0", ...extra };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const r = spawnSync(bin("roomcast-gateway"), [], { env, timeout: 4000, killSignal: "SIGKILL", encoding: "utf8" });
  return { status: r.status, stderr: r.stderr };
}

function refused(extra, setting, why) {
  const r = start(extra);
  assert.equal(r.status, 2, `${JSON.stringify(extra)}: want refused at start, got status ${r.status}: ${r.stderr.slice(-500)}`);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], new RegExp(`${setting}: refused|${setting}: required`));
  if (why) assert.match(lines[0], why);
}

test("a published or short ROOMCAST_JWT_SECRET stops the gateway, unless ROOMCAST_ROOM_POLICY=open", () => {
  for (const s of PUBLISHED) refused({ ROOMCAST_JWT_SECRET: s }, "ROOMCAST_JWT_SECRET", /sample value/);
  refused({ ROOMCAST_JWT_SECRET: SHORT }, "ROOMCAST_JWT_SECRET", /shorter than 32 bytes/);
  // development: accepted, with a warning
  const dev = start({ ROOMCAST_JWT_SECRET: PUBLISHED[0], ROOMCAST_ROOM_POLICY: "open" });
  assert.equal(dev.status, null, `open policy: the gateway runs (${dev.stderr.slice(-300)})`);
  assert.match(dev.stderr, /weak secret accepted under ROOMCAST_ROOM_POLICY=open/);
});

test("ROOMCAST_CLUSTER_SECRET is required, strong and unlike the JWT key; the old name still works", () => {
  refused({ ROOMCAST_CLUSTER_SECRET: undefined }, "ROOMCAST_CLUSTER_SECRET");
  refused({ ROOMCAST_CLUSTER_SECRET: SHORT }, "ROOMCAST_CLUSTER_SECRET", /shorter than 32 bytes/);
  refused({ ROOMCAST_CLUSTER_SECRET: PUBLISHED[1] }, "ROOMCAST_CLUSTER_SECRET", /sample value/);
  const env = baseEnv("t-secrets.");
  refused({ ROOMCAST_CLUSTER_SECRET: env.ROOMCAST_JWT_SECRET }, "ROOMCAST_CLUSTER_SECRET", /equal to ROOMCAST_JWT_SECRET/);
  // ROOMCAST_RECOVERY_SECRET: the deprecated name, read with a warning
  const old = start({ ROOMCAST_CLUSTER_SECRET: undefined, ROOMCAST_RECOVERY_SECRET: CLUSTER_SECRET });
  assert.equal(old.status, null, old.stderr.slice(-300));
  assert.match(old.stderr, /ROOMCAST_RECOVERY_SECRET is deprecated/);
  // development without one: derived, with a warning
  const dev = start({ ROOMCAST_CLUSTER_SECRET: undefined, ROOMCAST_ROOM_POLICY: "open" });
  assert.equal(dev.status, null, dev.stderr.slice(-300));
  assert.match(dev.stderr, /no ROOMCAST_CLUSTER_SECRET/);
});

test("the cluster secret is the recovery key, not the JWT key: gateways with another one do not recover the session", async () => {
  const env = baseEnv(newPrefix("cluster"));
  await createTopics(env);
  const other = "o".repeat(8) + CLUSTER_SECRET; // same JWT key, another cluster secret
  const a = await startGateway(env);
  const b = await startGateway(env, { ROOMCAST_CLUSTER_SECRET: other });
  const px = await startSwitchProxy(a.port);
  const s = io(px.url, { auth: { token: await token(env, "cs-1", "buyer") }, transports: ["websocket"],
    reconnectionDelay: 100, reconnectionDelayMax: 300, randomizationFactor: 0 });
  const recovered = [];
  s.on("connect", () => recovered.push(s.recovered));
  try {
    await waitFor("connected", () => recovered.length === 1);
    px.switchTo(b.port); // shares the JWT key only
    px.cut();
    await waitFor("reconnected to b", () => recovered.length === 2);
    assert.equal(recovered[1], false, "a gateway with another cluster secret cannot read the pid");
    assert.equal(await metric(b.adminPort, "roomcast_gateway_recoveries_total", 'result="invalid"'), 1);
    px.switchTo(a.port); // and back: b's pid is b's own, a cannot read it either
    px.cut();
    await waitFor("reconnected to a", () => recovered.length === 3);
    assert.equal(recovered[2], false);
    assert.equal(await metric(a.adminPort, "roomcast_gateway_recoveries_total", 'result="invalid"'), 1);
  } finally {
    s.close();
    await px.close();
    await stopAll([a, b]);
  }
});

test("scripts/up's secrets (scripts/dev-secrets) are the owner's only, old ones are fixed, and nothing else writes them", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "roomcast-secrets-"));
  try {
    writeFileSync(path.join(dir, "jwt-secret"), "x".repeat(43));
    chmodSync(path.join(dir, "jwt-secret"), 0o644); // what scripts/up used to leave
    const r = spawnSync(path.join(root, "scripts/dev-secrets"), [dir], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    for (const name of ["jwt-secret", "cluster-secret"]) {
      const st = statSync(path.join(dir, name));
      assert.equal(st.mode & 0o777, 0o600, `${name}: mode ${(st.mode & 0o777).toString(8)}`);
    }
    const cluster = readFileSync(path.join(dir, "cluster-secret"), "utf8");
    assert.match(cluster, /^[0-9a-f]{64}$/);
    assert.equal(readFileSync(path.join(dir, "jwt-secret"), "utf8"), "x".repeat(43), "kept: tokens stay valid");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const up = readFileSync(path.join(root, "scripts/up"), "utf8");
  assert.match(up, /scripts\/dev-secrets "\$run"/);
  assert.doesNotMatch(up, />\s*"\$run\/(jwt|cluster)-secret"/, "scripts/up writes no secret itself");
  assert.match(up, /ROOMCAST_CLUSTER_SECRET=\$\(cat "\$run\/cluster-secret"\)/);
});
