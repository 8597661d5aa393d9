// Helpers for the deployment and browser tests (deploy.test.mjs, browser.test.mjs): the
// local topology as plain processes (fanout, two gateways, HAProxy with its metrics
// exporter), the demo backend, Debian's Prometheus and Debian's Chromium through
// playwright-core. Everything binds 127.0.0.1 on free ports and is stopped by the caller.
import { spawn, execFile } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import os from "node:os";
import net from "node:net";
import path from "node:path";
import { bin, freePort, httpGet, root, startFanout, startGateway, stopAll, waitFor } from "./harness.mjs";

// test-output/ (gitignored) keeps what a test leaves for people to look at: screenshots.
export const outputDir = (name) => path.join(root, "test-output", name);

// Runs a command to completion: {code, stdout, stderr}; `input` is written to its stdin.
export function run(cmd, args, { input, ...opts } = {}) {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { maxBuffer: 16 << 20, timeout: 30000, ...opts }, (err, stdout, stderr) =>
      resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }));
    child.stdin.on("error", () => {});
    child.stdin.end(input ?? "");
  });
}

function portOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1", () => { s.destroy(); resolve(true); });
    s.on("error", () => resolve(false));
  });
}

// A background process with its output kept: {child, log(), stop()}.
function background(cmd, args, env) {
  const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout.setEncoding("utf8").on("data", (d) => { log += d; });
  child.stderr.setEncoding("utf8").on("data", (d) => { log += d; });
  const exited = once(child, "exit");
  return {
    child,
    log: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const t = setTimeout(() => child.kill("SIGKILL"), 10000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

// deploy/haproxy/haproxy.cfg as scripts/up runs it, with the Prometheus exporter on.
export async function startHaproxyWithMetrics(gateways) {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const p = background("haproxy", ["-db", "-f", path.join(root, "deploy/haproxy/haproxy.cfg")], {
    PATH: process.env.PATH, LISTEN: `127.0.0.1:${port}`, METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
    GATEWAY1: `127.0.0.1:${gateways[0].port}`, GATEWAY1_ADMIN_PORT: String(gateways[0].adminPort),
    GATEWAY2: `127.0.0.1:${gateways[1].port}`, GATEWAY2_ADMIN_PORT: String(gateways[1].adminPort),
  });
  await waitFor("haproxy to listen", () => portOpen(port), 10000).catch((e) => { throw new Error(`${e.message}: ${p.log()}`); });
  return { ...p, port, metricsPort, url: `http://127.0.0.1:${port}` };
}

// scripts/up's topology: one fanout, two gateways, HAProxy in front (topics must exist).
export async function startTopology(env) {
  const t = { fanout: null, gateways: [], lb: null };
  t.stop = async () => {
    if (t.lb) await t.lb.stop();
    await stopAll([...t.gateways, t.fanout]);
  };
  try {
    t.fanout = await startFanout(env);
    t.gateways = await Promise.all([startGateway(env), startGateway(env)]);
    t.lb = await startHaproxyWithMetrics(t.gateways);
    return t;
  } catch (e) {
    await t.stop().catch(() => {});
    throw e;
  }
}

// deploy/demo/server.mjs on a free port (or `listen`), running the CLI of the build under
// test. clientOptions, when given, replace the page's socket.io-client options.
export async function startDemo(env, gatewayUrl, clientOptions, listen = "127.0.0.1:0") {
  const p = background(process.execPath, [path.join(root, "deploy/demo/server.mjs")], {
    ...env, ROOMCAST_DEMO_LISTEN: listen, ROOMCAST_DEMO_GATEWAY_URL: gatewayUrl, ROOMCAST_CLI: bin("roomcast"),
    ...(clientOptions ? { ROOMCAST_DEMO_CLIENT_OPTIONS: JSON.stringify(clientOptions) } : {}),
  });
  const m = await waitFor("the demo backend to listen", () => p.log().match(/"listening":"([^"]+)"/), 10000, 50)
    .catch((e) => { throw new Error(`${e.message}: ${p.log()}`); });
  return { ...p, url: m[1] };
}

// Debian's Prometheus as a plain process with the given config text; data in a temp dir.
export async function startPrometheus(config) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "roomcast-prom-"));
  const port = await freePort();
  await writeFile(path.join(dir, "prometheus.yml"), config);
  const p = background("prometheus", [
    `--config.file=${path.join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${path.join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn",
  ], { PATH: process.env.PATH, HOME: dir });
  const url = `http://127.0.0.1:${port}`;
  await waitFor("prometheus to be ready", async () => (await httpGet(`${url}/-/ready`)).status === 200, 30000, 200)
    .catch((e) => { throw new Error(`${e.message}: ${p.log()}`); });
  const api = async (q) => JSON.parse((await httpGet(`${url}/api/v1/${q}`, 5000)).body);
  return { ...p, port, url, api, stop: async () => { await p.stop(); await rm(dir, { recursive: true, force: true }); } };
}

export const chromiumPath = "/usr/bin/chromium";
export const haveChromium = () => existsSync(chromiumPath);

// Debian's Chromium through playwright-core, with the flags this machine needs (no
// network beyond loopback). Playwright gives each launch a fresh, empty profile of its own
// (it refuses --user-data-dir in args). Resolves {browser, close()}.
export async function launchChromium() {
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  return { browser, close: () => browser.close() };
}

export async function ensureDir(dir) {
  await mkdir(dir, { recursive: true });
  return dir;
}
