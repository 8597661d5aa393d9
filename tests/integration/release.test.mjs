// Releases: one version (CMakeLists.txt) reported by every binary's --version and every
// /metrics (roomcast_build_info), `cmake --install` putting the binaries, data, docs and
// units where they belong, and the Debian package from CPack declaring its libraries and
// installing with apt on a clean Debian 12 (a container from the debootstrapped base
// image), where roomcast-gateway --version runs and a gateway answers /healthz. The
// package part is skipped, saying why, only where podman cannot run a container.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, mkdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { CLUSTER_SECRET, JWT_SECRET, baseEnv, bin, brokers, createTopics, freePort, httpGet, newPrefix, root, startFanout, startGateway, stopAll, waitFor } from "./lib/harness.mjs";
import { run } from "./lib/deploy.mjs";
import { releaseVersion } from "./lib/manifests.mjs";
import { BASE_IMAGE, envArgs, podman, podmanUnavailable, startContainer } from "./lib/podman.mjs";

const version = await releaseVersion();
const head = (await run("git", ["-C", root, "rev-parse", "--short=12", "HEAD"])).stdout.trim();
const versionLine = (name) => new RegExp(`^${name} ${version.replaceAll(".", "\\.")} \\(commit ([0-9a-f]{12}|unknown)\\)\\n$`);

test("--version on every binary and roomcast_build_info on every /metrics name the release and the commit", async () => {
  for (const name of ["roomcast-gateway", "roomcast-fanout", "roomcast"]) {
    const r = await run(bin(name), ["--version"], { env: { PATH: process.env.PATH } }); // no settings needed
    assert.equal(r.code, 0, r.stderr);
    const m = r.stdout.match(versionLine(name));
    assert.ok(m, `${name} --version: ${r.stdout}`);
    if (head) assert.equal(m[1], head, `${name} was built from this commit`);
  }
  const env = baseEnv(newPrefix("rel"));
  await createTopics(env);
  const [gw, fo] = [await startGateway(env), await startFanout(env)];
  try {
    for (const p of [gw, fo]) {
      const body = (await httpGet(`http://127.0.0.1:${p.adminPort}/metrics`)).body;
      assert.match(body, /^# TYPE roomcast_build_info gauge$/m);
      const m = body.match(/^roomcast_build_info\{version="([^"]+)",commit="([^"]+)"\} 1$/m);
      assert.ok(m, body.slice(0, 400));
      assert.equal(m[1], version);
      if (head) assert.equal(m[2], head);
    }
  } finally {
    await stopAll([gw, fo]);
  }
});

test("cmake --install puts the binaries, the routing table, the schema, docs, license and units under the prefix", async () => {
  const prefix = await mkdtemp(path.join(os.tmpdir(), "roomcast-install-"));
  try {
    const r = await run("cmake", ["--install", path.join(root, "build"), "--prefix", prefix]);
    assert.equal(r.code, 0, r.stderr);
    for (const f of ["bin/roomcast-gateway", "bin/roomcast-fanout", "bin/roomcast", "share/roomcast/routes.json",
      "share/roomcast/proto/roomcast/v1/events.proto", "share/doc/roomcast/README.md", "share/doc/roomcast/CHANGELOG.md",
      "share/doc/roomcast/operations.md", "share/doc/roomcast/copyright", "lib/systemd/system/roomcast-gateway.service",
      "lib/systemd/system/roomcast-fanout.service"])
      assert.ok(existsSync(path.join(prefix, f)), f);
    assert.deepEqual(readdirSync(path.join(prefix, "bin")).sort(), ["roomcast", "roomcast-fanout", "roomcast-gateway"], "no test or bench tools");
    const v = await run(path.join(prefix, "bin/roomcast-gateway"), ["--version"]);
    assert.match(v.stdout, versionLine("roomcast-gateway"));
  } finally {
    await rm(prefix, { recursive: true, force: true });
  }
});

const unavailable = await podmanUnavailable();

test("the .deb from CPack declares its libraries, installs with apt on a clean Debian 12 and starts",
  { skip: unavailable ? `podman cannot run containers here: ${unavailable}` : false, timeout: 600000 }, async (t) => {
    const out = await mkdtemp(path.join(os.tmpdir(), "roomcast-deb-"));
    let c;
    try {
      const pack = await run("cpack", ["-G", "DEB", "--config", path.join(root, "build/CPackConfig.cmake"), "-B", out], { timeout: 120000 });
      assert.equal(pack.code, 0, pack.stdout + pack.stderr);
      const deb = `roomcast_${version}_amd64.deb`;
      assert.ok(existsSync(path.join(out, deb)), readdirSync(out).join());
      const info = await run("dpkg-deb", ["-f", path.join(out, deb), "Package", "Version", "Depends"]);
      assert.match(info.stdout, new RegExp(`^Version: ${version.replaceAll(".", "\\.")}$`, "m"));
      const depends = info.stdout.match(/^Depends: (.*)$/m)[1].split(/,\s*/).map((d) => d.split(" ")[0]);
      for (const lib of ["libevent-2.1-7", "libevent-openssl-2.1-7", "librdkafka1", "libprotobuf-c1", "libjansson4", "libssl3", "libc6"])
        assert.ok(depends.includes(lib), `Depends lists ${lib}: ${depends.join(", ")}`);
      t.diagnostic(`${deb}: Depends: ${depends.join(", ")}`);

      // a clean Debian 12 (the debootstrapped base image, nothing of roomcast's libraries in
      // it): apt resolves the dependencies from Debian; downloaded packages are kept in a
      // cache directory between runs
      const apt = path.join(process.env.HOME, ".cache/roomcast/apt-archives");
      await mkdir(path.join(apt, "partial"), { recursive: true });
      const [port, admin] = [await freePort(), await freePort()];
      const prefix = newPrefix("deb");
      await createTopics(baseEnv(prefix));
      const script = [
        "set -e",
        "apt-get update -qq",
        `DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends /deb/${deb} >/tmp/apt.log || { cat /tmp/apt.log; exit 1; }`,
        "echo installed: $(dpkg-query -W -f='${Package} ${Version} ${Status}' roomcast)",
        "roomcast-gateway --version",
        "exec roomcast-gateway",
      ].join("\n");
      c = await startContainer("roomcast-deb", ["-v", `${out}:/deb:ro`, "-v", `${apt}:/var/cache/apt/archives`,
        ...envArgs({ ROOMCAST_KAFKA_BROKERS: brokers, ROOMCAST_TOPIC_PREFIX: prefix, ROOMCAST_JWT_SECRET: JWT_SECRET,
          ROOMCAST_CLUSTER_SECRET: CLUSTER_SECRET, ROOMCAST_LISTEN: `127.0.0.1:${port}`, ROOMCAST_ADMIN_LISTEN: `127.0.0.1:${admin}` }),
        "--entrypoint", "bash", BASE_IMAGE, "-c", script]);
      await waitFor("the installed gateway's /healthz", async () =>
        (await httpGet(`http://127.0.0.1:${admin}/healthz`).catch(() => ({}))).status === 200, 300000, 500)
        .catch(async (e) => { throw new Error(`${e.message}\n${await c.logs()}`); });
      const logs = await c.logs();
      assert.match(logs, new RegExp(`^installed: roomcast ${version.replaceAll(".", "\\.")} install ok installed$`, "m"), logs);
      assert.match(logs, /^roomcast-gateway \S+ \(commit [0-9a-f]{12}\)$/m);
      const hs = await httpGet(`http://127.0.0.1:${port}/socket.io/?EIO=4&transport=polling`);
      assert.equal(hs.status, 200);
      assert.match(hs.body, /^0\{"sid":/);
      t.diagnostic(logs.split("\n").filter((l) => /^(installed|roomcast-gateway )/.test(l)).join(" | "));
    } finally {
      await c?.remove();
      await rm(out, { recursive: true, force: true });
    }
  });
