// The local topology watched by Debian's Prometheus, as scripts/up runs it: a fanout, two
// gateways and HAProxy (with its exporter) on loopback, the real broker, and Prometheus
// with the config deploy/prometheus/local-config generates. Every target must be up,
// every roomcast /metrics must pass `promtool check metrics`, every query of the Grafana
// dashboard must be valid PromQL against the scraped data, and a delivery made through
// HAProxy must show up in Prometheus. Also runs the images' health-check script against
// the live processes, and creates the topics with the compose file's own arguments.
// Skips when Debian's prometheus package is not installed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { io } from "socket.io-client";
import { baseEnv, cli, httpGet, newPrefix, root, token, waitFor } from "./lib/harness.mjs";
import { run, startPrometheus, startTopology } from "./lib/deploy.mjs";
import { loadCompose, read, releaseVersion } from "./lib/manifests.mjs";

const havePrometheus = existsSync("/usr/bin/prometheus") && existsSync("/usr/bin/promtool");

test("Prometheus scrapes the local topology: targets up, promtool-clean metrics, the dashboard's queries",
  { skip: !havePrometheus && "Debian's prometheus is not installed (scripts/setup installs it)" }, async () => {
    const env = baseEnv(newPrefix("prom"));
    // the topics as docker-compose.yml's one-shot creates them, with its very arguments
    const { entrypoint, command } = (await loadCompose()).services.topics;
    assert.equal(entrypoint[0], "roomcast");
    const made = await cli([...entrypoint.slice(1), ...command], env);
    assert.equal(made.code, 0, made.stderr);
    const topo = await startTopology(env);
    let prom, socket;
    try {
      const [a, b] = topo.gateways;
      const admin = (p) => `127.0.0.1:${p}`;
      const gen = await run(path.join(root, "deploy/prometheus/local-config"), [
        "--gateways", `${admin(a.adminPort)},${admin(b.adminPort)}`, "--fanouts", admin(topo.fanout.adminPort),
        "--haproxy", admin(topo.lb.metricsPort), "--interval", "1s"]);
      assert.equal(gen.code, 0, gen.stderr);
      prom = await startPrometheus(gen.stdout);

      // every roomcast /metrics passes promtool's checks
      for (const port of [a.adminPort, b.adminPort, topo.fanout.adminPort]) {
        const body = (await httpGet(`http://127.0.0.1:${port}/metrics`)).body;
        const r = await run("promtool", ["check", "metrics"], { input: body });
        assert.equal(r.code, 0, `promtool check metrics on :${port}: ${r.stdout}${r.stderr}`);
      }
      // the images' health check, against the live processes
      for (const [port, p, want] of [[a.adminPort, "/healthz", 0], [topo.fanout.adminPort, "/readyz", 0], [a.adminPort, "/nope", 1]]) {
        const r = await run(path.join(root, "deploy/docker/healthcheck"), [p],
          { env: { PATH: process.env.PATH, ROOMCAST_ADMIN_LISTEN: `0.0.0.0:${port}` } });
        assert.equal(r.code, want, `healthcheck ${p} on :${port}: ${r.stderr}`);
      }

      // one delivery through HAProxy, so the counters and histograms have data
      socket = io(topo.lb.url, { auth: { token: await token(env, "pb1", "buyer") }, transports: ["websocket"], reconnection: false });
      await new Promise((resolve, reject) => { socket.once("connect", resolve); socket.once("connect_error", reject); });
      const got = [];
      socket.on("payment:completed", (p) => got.push(p));
      const r = await cli(["publish", "payment.completed", '{"paymentId":"p1","buyerId":"pb1","sellerId":"ps1"}'], env);
      assert.equal(r.code, 0, r.stderr);
      await waitFor("the delivery", () => got.length === 1, 20000);

      // every target up
      const targets = await waitFor("every target up", async () => {
        const t = (await prom.api("targets")).data.activeTargets;
        return t.length === 4 && t.every((x) => x.health === "up") && t;
      }, 20000, 250).catch(async (e) => {
        throw new Error(`${e.message}: ${JSON.stringify((await prom.api("targets")).data.activeTargets.map((x) => [x.scrapeUrl, x.health, x.lastError]))}`);
      });
      assert.deepEqual(targets.map((t) => t.labels.job).sort(), ["haproxy", "roomcast-fanout", "roomcast-gateway", "roomcast-gateway"]);

      // the delivery is in Prometheus
      const q = async (expr) => (await prom.api(`query?query=${encodeURIComponent(expr)}`));
      await waitFor("the delivery in Prometheus", async () => {
        const v = (await q("sum(roomcast_gateway_deliveries_total)")).data.result;
        return v.length === 1 && Number(v[0].value[1]) >= 1;
      }, 15000, 250);
      await waitFor("the fanout's event in Prometheus", async () => {
        const v = (await q('sum(roomcast_fanout_events_total{type="payment.completed"})')).data.result;
        return v.length === 1 && Number(v[0].value[1]) >= 1;
      }, 15000, 250);
      // every query of the Grafana dashboard is valid against these data
      const dash = JSON.parse(await read("deploy/grafana/dashboards/roomcast.json"));
      // (the variables as Grafana fills them in with these jobs)
      const fill = (e) => e.replaceAll("$gateway_job", "roomcast-gateway").replaceAll("$fanout_job", "roomcast-fanout");
      for (const p of dash.panels) {
        for (const t of p.targets) {
          const res = await q(fill(t.expr));
          assert.equal(res.status, "success", `${p.title}: ${t.expr}: ${res.error}`);
        }
      }
      // and the panels that need no rate window show data already
      for (const expr of ["sum(roomcast_gateway_sockets)", "sum by (instance) (roomcast_gateway_connections)",
        "max by (instance) (roomcast_gateway_consumer_lag_messages)", 'sum(up{job=~"roomcast-.*"})'])
        assert.ok((await q(expr)).data.result.length > 0, `no data for ${expr}`);
      assert.equal(Number((await q('sum(up{job=~"roomcast-.*"})')).data.result[0].value[1]), 3);
      // the release of each process, as the dashboard's Versions panel shows it
      const info = (await q("roomcast_build_info")).data.result;
      assert.equal(info.length, 3);
      for (const x of info) assert.equal(x.metric.version, await releaseVersion());
      // the alerts are loaded and every rule evaluates against these real series without error
      const nAlerts = (await read("deploy/prometheus/alerts.yml")).match(/^\s+- alert: /gm).length;
      await waitFor("every alert rule evaluated", async () => {
        const rules = (await prom.api("rules")).data.groups.flatMap((g) => g.rules);
        return rules.length === nAlerts && rules.every((x) => x.health === "ok" && x.lastEvaluation !== "0001-01-01T00:00:00Z");
      }, 20000, 250).catch(async (e) => {
        throw new Error(`${e.message}: ${JSON.stringify((await prom.api("rules")).data.groups.flatMap((g) => g.rules).map((x) => [x.name, x.health, x.lastError]))}`);
      });
    } finally {
      socket?.close();
      if (prom) await prom.stop();
      await topo.stop();
    }
  });
