// The container images, built (scripts/images, podman) and run: the gateway and fanout
// images against the test broker, topics made by the image's own CLI, the stock
// socket.io-client (default options: polling, then the upgrade) connecting through the
// gateway container and receiving an event published to Kafka and routed by the fanout
// container; the images' health checks pass, the processes run as uid 10001, and SIGTERM
// drains the gateway within its grace period (exit 0, clients told to go). Reports the
// image sizes. Skipped, saying why, only where podman cannot run a container at all.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { io } from "socket.io-client";
import { CLUSTER_SECRET, JWT_SECRET, brokers, cli, freePort, httpGet, newPrefix, baseEnv, token, waitFor } from "./lib/harness.mjs";
import { envArgs, ensureImages, imageName, images, podman, podmanUnavailable, startContainer } from "./lib/podman.mjs";
import { releaseVersion } from "./lib/manifests.mjs";

const unavailable = await podmanUnavailable();

// Every id of /proc/PID/status's Uid: and Gid: lines (real, effective, saved, filesystem).
function ids(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const line = (k) => status.match(new RegExp(`^${k}:\\s+(.*)$`, "m"))[1].split(/\s+/).map(Number);
  return { uid: line("Uid"), gid: line("Gid"), name: status.match(/^Name:\s+(\S+)/m)[1] };
}

test("the gateway and fanout images run against Kafka: a stock client gets an event; health, uid 10001, drain on SIGTERM",
  { skip: unavailable ? `podman cannot run containers here: ${unavailable}` : false, timeout: 900000 }, async (t) => {
    await ensureImages();
    const [gwImage, foImage] = [await imageName("gateway"), await imageName("fanout")];
    t.diagnostic(`image sizes: ${(await images(["sizes"])).stdout.trim().replaceAll("\n", ", ")}`);
    const version = await releaseVersion();
    for (const [img, bin] of [[gwImage, "roomcast-gateway"], [foImage, "roomcast-fanout"], [foImage, "roomcast"]]) {
      const v = await podman(["run", "--rm", "--network", "none", "--entrypoint", bin, img, "--version"]);
      assert.equal(v.code, 0, v.stderr);
      assert.match(v.stdout, new RegExp(`^${bin} ${version.replaceAll(".", "\\.")} \\(commit [0-9a-f]{12}\\)\\n$`));
    }
    for (const img of [gwImage, foImage])
      assert.match(await (await podman(["image", "inspect", "--format", "{{.Config.Healthcheck.Test}}", img])).stdout, /roomcast-healthcheck \/healthz/);

    const prefix = newPrefix("img");
    const env = baseEnv(prefix);
    const common = { ROOMCAST_KAFKA_BROKERS: brokers, ROOMCAST_TOPIC_PREFIX: prefix };
    // the topics, by the image's CLI (as compose's one-shot service and the k8s init container)
    const topics = await podman(["run", "--rm", "--network", "host", ...envArgs(common), "--entrypoint", "roomcast",
      foImage, "topics", "create", "--partitions", "2", "--rooms-partitions", "4"]);
    assert.equal(topics.code, 0, topics.stderr);

    const [port, gwAdmin, foAdmin] = [await freePort(), await freePort(), await freePort()];
    const drainSeconds = 3, grace = 15;
    const containers = [];
    let socket;
    try {
      containers.push(await startContainer("roomcast-fanout", [...envArgs({ ...common,
        ROOMCAST_ADMIN_LISTEN: `127.0.0.1:${foAdmin}`, ROOMCAST_FANOUT_GROUP: `${prefix}fanout`,
        ROOMCAST_FANOUT_TRANSACTIONAL_ID: `${prefix}fanout-1` }), foImage]));
      containers.push(await startContainer("roomcast-gateway", [...envArgs({ ...common,
        ROOMCAST_LISTEN: `127.0.0.1:${port}`, ROOMCAST_ADMIN_LISTEN: `127.0.0.1:${gwAdmin}`,
        ROOMCAST_JWT_SECRET: JWT_SECRET, ROOMCAST_CLUSTER_SECRET: CLUSTER_SECRET, ROOMCAST_DRAIN_SECONDS: drainSeconds }), gwImage]));
      const [fanout, gateway] = containers;
      for (const admin of [foAdmin, gwAdmin])
        await waitFor(`/readyz on :${admin}`, async () => (await httpGet(`http://127.0.0.1:${admin}/readyz`).catch(() => ({}))).status === 200, 60000, 200)
          .catch(async (e) => { throw new Error(`${e.message}\n${await gateway.logs()}\n${await fanout.logs()}`); });

      // the images' own health checks, run by podman inside the containers
      for (const c of containers) {
        const h = await podman(["healthcheck", "run", c.id]);
        assert.equal(h.code, 0, `${c.id}: ${h.stdout}${h.stderr}`);
      }
      // the processes run as the images' user, 10001, not root
      for (const [c, name] of [[gateway, "roomcast-gatewa"], [fanout, "roomcast-fanout"]]) {
        const p = ids(Number(await c.inspect("{{.State.Pid}}")));
        assert.equal(p.name, name);
        assert.deepEqual(p.uid, [10001, 10001, 10001, 10001], `${name} uid`);
        assert.deepEqual(p.gid, [10001, 10001, 10001, 10001], `${name} gid`);
      }

      // the stock client, default options, through the gateway container
      socket = io(`http://127.0.0.1:${port}`, { auth: { token: await token(env, "ib1", "buyer") }, reconnection: false });
      await new Promise((resolve, reject) => { socket.once("connect", resolve); socket.once("connect_error", reject); });
      const got = [];
      socket.on("payment:completed", (p) => got.push(p));
      await waitFor("the upgrade to WebSocket", () => socket.io.engine.transport.name === "websocket", 20000);
      const r = await cli(["publish", "payment.completed", '{"paymentId":"ip1","buyerId":"ib1","sellerId":"is1"}'], env);
      assert.equal(r.code, 0, r.stderr);
      await waitFor("the event through the fanout and gateway containers", () => got.length === 1, 30000);
      assert.equal(got[0].paymentId, "ip1");

      // SIGTERM (podman stop) drains: the client is told to go, and the gateway exits 0
      // within the grace period rather than being killed at its end
      const disconnected = new Promise((resolve) => socket.once("disconnect", resolve));
      const t0 = Date.now();
      const stop = await podman(["stop", "-t", String(grace), gateway.id], { timeout: (grace + 30) * 1000 });
      const took = (Date.now() - t0) / 1000;
      assert.equal(stop.code, 0, stop.stderr);
      assert.equal(await disconnected, "transport close"); // as drain.test.mjs: the client reconnects elsewhere
      assert.equal(await gateway.inspect("{{.State.ExitCode}}"), "0", await gateway.logs());
      assert.ok(took < grace, `the drain took ${took.toFixed(1)} s, under the ${grace} s grace period`);
      assert.match(await gateway.logs(), /"msg":"draining"/);
      t.diagnostic(`gateway stopped in ${took.toFixed(1)} s (ROOMCAST_DRAIN_SECONDS=${drainSeconds}, grace ${grace} s)`);
      const fstop = await podman(["stop", "-t", String(grace), fanout.id], { timeout: (grace + 30) * 1000 });
      assert.equal(fstop.code, 0, fstop.stderr);
      assert.equal(await fanout.inspect("{{.State.ExitCode}}"), "0", await fanout.logs());
    } finally {
      socket?.close();
      for (const c of containers) await c.remove();
    }
  });
