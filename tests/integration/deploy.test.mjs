// The deployment files, checked against the contract by parsing them (no container engine
// or cluster runs here): docker-compose.yml, deploy/docker/Dockerfile (+ .dockerignore),
// deploy/k8s (kustomize), deploy/prometheus, deploy/grafana and deploy/haproxy. Where a
// real tool exists on Debian it is run too: `haproxy -c` on the config with compose's
// environment, `promtool check config` on the Prometheus configs, `ldd` + `dpkg -S` to
// check that the runtime image installs every shared library the binaries link.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, realpathSync, statSync } from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { root } from "./lib/harness.mjs";
import { run } from "./lib/deploy.mjs";
import { knownMetrics, knownSettings, loadCompose, loadDockerfile, loadKustomize, portOf, read } from "./lib/manifests.mjs";

const ROOMCAST_SERVICES = ["topics", "fanout", "gateway-1", "gateway-2"];
const envNames = (env) => Object.keys(env ?? {});
const argv = (s) => [].concat(s.entrypoint ?? [], s.command ?? []);

test("docker-compose.yml: the topology, its variables, ports and health checks", async () => {
  const c = await loadCompose();
  const settings = await knownSettings();
  const s = c.services;
  for (const name of ["kafka", "topics", "fanout", "gateway-1", "gateway-2", "haproxy", "prometheus", "grafana"])
    assert.ok(s[name], `service ${name}`);

  // Kafka: the official image, one KRaft node that is broker and controller
  const k = s.kafka.environment;
  assert.equal(s.kafka.image, "apache/kafka:4.1.1");
  assert.deepEqual(k.KAFKA_PROCESS_ROLES.split(",").sort(), ["broker", "controller"]);
  assert.match(k.KAFKA_CONTROLLER_QUORUM_VOTERS, new RegExp(`^${k.KAFKA_NODE_ID}@kafka:\\d+$`));
  assert.match(k.KAFKA_ADVERTISED_LISTENERS, /PLAINTEXT:\/\/kafka:9092/);
  assert.equal(k.KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR, 1, "one node: transactions need RF 1");
  assert.equal(k.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR, 1);
  assert.match(k.CLUSTER_ID, /^[A-Za-z0-9_-]{22}$/, "CLUSTER_ID is a base64 UUID");
  assert.ok(s.kafka.healthcheck?.test, "kafka has a health check");

  // the roomcast services: known variable names, the broker, the key
  for (const name of ROOMCAST_SERVICES) {
    const env = s[name].environment;
    for (const v of envNames(env)) assert.ok(settings.has(v), `${name}: ${v} is not a roomcast setting`);
    assert.equal(env.ROOMCAST_KAFKA_BROKERS, "kafka:9092", name);
    // the operator's value or a stop: compose ships no secret
    assert.match(env.ROOMCAST_JWT_SECRET, /^\$\{ROOMCAST_JWT_SECRET:\?.+\}$/, `${name}: ROOMCAST_JWT_SECRET`);
  }
  for (const name of ["gateway-1", "gateway-2"])
    assert.match(s[name].environment.ROOMCAST_CLUSTER_SECRET, /^\$\{ROOMCAST_CLUSTER_SECRET:\?.+\}$/, name);
  assert.deepEqual(argv(s.topics).slice(0, 3), ["roomcast", "topics", "create"]);
  assert.equal(s.topics.restart, "no");
  assert.equal(s.topics.depends_on.kafka.condition, "service_healthy");
  for (const name of ["fanout", "gateway-1", "gateway-2"])
    assert.equal(s[name].depends_on.topics.condition, "service_completed_successfully", name);

  // gateways: client port 3000 behind HAProxy, admin port in the health check, drain
  const h = s.haproxy.environment;
  for (const [i, name] of [[1, "gateway-1"], [2, "gateway-2"]]) {
    const g = s[name];
    assert.equal(g.build.target, "gateway");
    assert.deepEqual(g.healthcheck.test, ["CMD", "roomcast-healthcheck", "/healthz"]);
    assert.equal(h[`GATEWAY${i}`], `${name}:${portOf(g.environment.ROOMCAST_LISTEN)}`);
    // polling sessions are relayed between gateways: each advertises its own reachable address
    assert.equal(g.environment.ROOMCAST_ADVERTISE_ADDR, `${name}:${portOf(g.environment.ROOMCAST_LISTEN)}`);
    assert.equal(Number(h[`GATEWAY${i}_ADMIN_PORT`]), portOf(g.environment.ROOMCAST_ADMIN_LISTEN));
    const drain = Number(g.environment.ROOMCAST_DRAIN_SECONDS ?? 20);
    assert.ok(parseInt(g.stop_grace_period) > drain, `${name}: stop_grace_period ${g.stop_grace_period} > drain ${drain}s`);
    assert.equal(s.haproxy.depends_on[name].condition, "service_healthy");
  }
  assert.equal(s.fanout.build.target, "fanout");
  assert.deepEqual(s.fanout.healthcheck.test, ["CMD", "roomcast-healthcheck", "/healthz"]);
  assert.ok(s.haproxy.ports.some((p) => String(p).endsWith("3000:3000")), "HAProxy publishes :3000");
  assert.ok(s.haproxy.volumes.some((v) => v.startsWith("./deploy/haproxy/haproxy.cfg:")));
  // the compose services that publish ports: only HAProxy to everyone, the rest loopback
  for (const [name, svc] of Object.entries(s))
    for (const p of svc.ports ?? []) if (name !== "haproxy") assert.match(String(p), /^127\.0\.0\.1:/, `${name} ${p}`);
  // every bind-mounted file exists
  for (const svc of Object.values(s))
    for (const v of svc.volumes ?? []) if (v.startsWith("./")) assert.ok(existsSync(path.join(root, v.split(":")[0])), v);
});

test("HAProxy: round-robin with no stickiness, WebSocket timeouts, compose's environment is valid", async () => {
  const cfg = await read("deploy/haproxy/haproxy.cfg");
  const lines = cfg.split("\n").map((l) => l.replace(/#.*/, "").trim()).filter(Boolean);
  assert.ok(lines.includes("balance roundrobin"));
  for (const l of lines) assert.doesNotMatch(l, /^(cookie|stick|stick-table|balance (source|uri|hdr|url_param))\b/, l);
  const seconds = (v) => (v.endsWith("h") ? 3600 : v.endsWith("m") ? 60 : 1) * parseFloat(v);
  const tunnel = lines.find((l) => l.startsWith("timeout tunnel")).split(/\s+/)[2];
  assert.ok(seconds(tunnel) > 25 + 20, `timeout tunnel ${tunnel} outlives a ping interval + timeout`);
  const client = lines.find((l) => l.startsWith("timeout client")).split(/\s+/)[2];
  assert.ok(seconds(client) > 25, `timeout client ${client} > the 25 s ping interval`);
  // every variable the config needs is set by compose, and the result parses
  const c = await loadCompose();
  const env = Object.fromEntries(Object.entries(c.services.haproxy.environment).map(([k, v]) => [k, String(v)]));
  for (const m of cfg.matchAll(/"\$\{([A-Z0-9_]+)\}"/g)) assert.ok(env[m[1]], `compose sets ${m[1]}`);
  env.LISTEN = "127.0.0.1:1"; env.METRICS_LISTEN = "127.0.0.1:2"; // -c binds nothing, but needs valid addresses
  const r = await run("haproxy", ["-c", "-f", path.join(root, "deploy/haproxy/haproxy.cfg")], { env: { PATH: process.env.PATH, ...env } });
  assert.equal(r.code, 0, r.stdout + r.stderr);
});

test("Dockerfile: multi-stage, slim runtime, non-root, health checks, libraries, build context", async () => {
  const stages = await loadDockerfile();
  const byName = Object.fromEntries(stages.map((s) => [s.name, s]));
  const arg = (await read("deploy/docker/Dockerfile")).match(/^ARG DEBIAN_RELEASE=(\S+)/m)[1];
  assert.equal(arg, "bookworm", "Debian 12, as scripts/setup");
  assert.ok(byName.build, "a build stage");
  assert.equal(byName.runtime.from, "debian:${DEBIAN_RELEASE}-slim");
  const c = await loadCompose();
  for (const [target, binary, port, admin] of [["gateway", "roomcast-gateway", 3000, 9100], ["fanout", "roomcast-fanout", null, 9101]]) {
    const st = byName[target];
    assert.ok(st, `target ${target}`);
    assert.equal(st.from, "runtime");
    const get = (i) => st.lines.filter((l) => l.instr === i).map((l) => l.args);
    assert.deepEqual(JSON.parse(get("ENTRYPOINT")[0]), [binary]);
    assert.match(get("HEALTHCHECK")[0], /CMD \["roomcast-healthcheck", "\/healthz"\]/);
    assert.ok(get("ENV").join(" ").includes(`ROOMCAST_ADMIN_LISTEN=0.0.0.0:${admin}`));
    const exposed = get("EXPOSE").join(" ").split(/\s+/).map(Number);
    assert.ok(exposed.includes(admin) && (!port || exposed.includes(port)), `${target} exposes ${exposed}`);
    // compose builds this very target
    assert.ok(Object.values(c.services).some((s) => s.build?.target === target && s.build.dockerfile === "deploy/docker/Dockerfile"));
  }
  // non-root: the runtime stage's USER, inherited by both targets and not overridden
  const users = stages.flatMap((s) => s.lines.filter((l) => l.instr === "USER").map((l) => [s.name, l.args]));
  assert.deepEqual(users, [["runtime", "10001:10001"]]);
  // COPY sources exist and survive .dockerignore
  const ignored = (await read(".dockerignore")).split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  for (const st of stages)
    for (const l of st.lines.filter((x) => x.instr === "COPY" && !x.args.startsWith("--from"))) {
      for (const src of l.args.split(/\s+/).slice(0, -1)) {
        const p = src.replace(/\/$/, "");
        assert.ok(existsSync(path.join(root, p)), `COPY ${src} exists`);
        assert.ok(!ignored.some((ig) => p === ig || p.startsWith(`${ig}/`)), `COPY ${src} is not in .dockerignore`);
      }
    }
  assert.ok(statSync(path.join(root, "deploy/docker/healthcheck")).mode & 0o111, "healthcheck is executable");
  // the runtime's packages provide every library the binaries link (as built here, on Debian 12)
  const runtimeApt = byName.runtime.lines.find((l) => l.instr === "RUN" && l.args.includes("apt-get install")).args;
  const pkgs = new Set(runtimeApt.split(/\s+/).filter((w) => /^[a-z0-9][a-z0-9.+-]+$/.test(w)));
  const needed = new Set();
  for (const b of ["roomcast-gateway", "roomcast-fanout", "roomcast"]) {
    const ldd = await run("ldd", [path.join(root, "build/bin", b)]);
    assert.equal(ldd.code, 0, ldd.stderr);
    for (const m of ldd.stdout.matchAll(/=> (\/\S+)/g)) {
      // dpkg knows a file under the path its package shipped (/lib or /usr/lib, link or target)
      const lib = m[1], real = realpathSync(lib);
      let owner = null;
      for (const f of new Set([lib, real].flatMap((x) => [x, x.replace(/^\/lib\//, "/usr/lib/"), x.replace(/^\/usr\/lib\//, "/lib/")]))) {
        const r = await run("dpkg", ["-S", f]);
        if (r.code === 0) { owner = r.stdout.split(":")[0]; break; }
      }
      assert.ok(owner, `no Debian package owns ${lib}`);
      needed.add(owner);
    }
  }
  // libc6 is in every Debian image; the rest must be installed or pulled in by what is
  const closure = new Set((await run("apt-cache", ["depends", "--recurse", "--no-recommends", "--no-suggests",
    "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", ...pkgs])).stdout
    .split("\n").map((l) => l.trim().replace(/^(Pre)?Depends: /, "")).filter((l) => /^[a-z0-9][a-z0-9.+-]+$/.test(l)));
  const direct = ["libevent-2.1-7", "libevent-openssl-2.1-7", "librdkafka1", "libprotobuf-c1", "libjansson4", "libssl3"];
  for (const p of needed) {
    if (p === "libc6") continue;
    assert.ok(pkgs.has(p) || closure.has(p), `the runtime image lacks ${p} (a linked library)`);
  }
  for (const p of direct) assert.ok(!needed.has(p) || pkgs.has(p), `${p} is installed by name`);
});

test("Kubernetes (kustomize): objects, probes on the admin port, drain timing, PDB, HPA, scrape annotations", async () => {
  const { kustomization, objects } = await loadKustomize();
  const settings = await knownSettings();
  const find = (kind, name) => objects.find((o) => o.obj.kind === kind && o.obj.metadata.name === name)?.obj;
  const cm = objects.find((o) => o.obj.kind === "ConfigMap").obj;
  // the secrets are generated from files the operator provides: no value ships here
  assert.ok(!objects.some((o) => o.obj.kind === "Secret"), "no Secret with a value in deploy/k8s");
  const gen = kustomization.secretGenerator.find((g) => g.name === "roomcast-secrets");
  const secretKeys = gen.files.map((f) => f.split("=")[0]);
  for (const f of gen.files) assert.match(f, /^ROOMCAST_[A-Z_]+=secrets\/[a-z-]+$/, "read from deploy/k8s/secrets/");
  assert.ok((await read(".gitignore")).includes("/deploy/k8s/secrets/"), "the secret files are never committed");
  assert.ok(kustomization.namespace);
  for (const v of Object.keys(cm.data)) assert.ok(settings.has(v), `ConfigMap: ${v}`);
  for (const v of secretKeys) assert.ok(settings.has(v), `Secret: ${v}`);
  assert.deepEqual(secretKeys.sort(), ["ROOMCAST_CLUSTER_SECRET", "ROOMCAST_JWT_SECRET"]);
  assert.ok(cm.data.ROOMCAST_KAFKA_BROKERS);
  const images = new Set(kustomization.images.map((i) => i.name));
  const compose = await loadCompose();
  const composeImages = new Set(Object.values(compose.services).map((s) => s.image?.split(":")[0]));

  function checkPod(spec, what) {
    for (const ctr of spec.containers) {
      assert.ok(images.has(ctr.image) && composeImages.has(ctr.image), `${what}: image ${ctr.image} in kustomization and compose`);
      // roomcast's own names, or a helper that a later ROOMCAST_* value refers to as $(NAME)
      const env = ctr.env ?? [];
      for (const [i, e] of env.entries())
        assert.ok(settings.has(e.name) || env.slice(i + 1).some((l) => String(l.value).includes(`$(${e.name})`)), `${what}: ${e.name}`);
      for (const f of ctr.envFrom ?? []) {
        if (f.configMapRef) assert.equal(f.configMapRef.name, cm.metadata.name);
        if (f.secretRef) assert.equal(f.secretRef.name, gen.name);
      }
      assert.equal(ctr.securityContext.allowPrivilegeEscalation, false);
    }
    assert.equal(spec.securityContext.runAsNonRoot, true);
    assert.ok(spec.securityContext.runAsUser > 0);
  }
  function checkDaemon(name, adminDefault) {
    const d = find("Deployment", name);
    assert.ok(d, name);
    const pod = d.spec.template;
    assert.deepEqual(d.spec.selector.matchLabels, Object.fromEntries(Object.entries(pod.metadata.labels).filter(([k]) => k in d.spec.selector.matchLabels)));
    checkPod(pod.spec, name);
    const ctr = pod.spec.containers[0];
    const env = Object.fromEntries((ctr.env ?? []).filter((e) => "value" in e).map((e) => [e.name, e.value]));
    const admin = portOf(env.ROOMCAST_ADMIN_LISTEN ?? `:${adminDefault}`);
    const portNo = (p) => (typeof p === "number" ? p : ctr.ports.find((x) => x.name === p).containerPort);
    assert.equal(ctr.readinessProbe.httpGet.path, "/readyz");
    assert.equal(portNo(ctr.readinessProbe.httpGet.port), admin);
    assert.equal(ctr.livenessProbe.httpGet.path, "/healthz");
    assert.equal(portNo(ctr.livenessProbe.httpGet.port), admin);
    const ann = pod.metadata.annotations;
    assert.equal(ann["prometheus.io/scrape"], "true");
    assert.equal(Number(ann["prometheus.io/port"]), admin);
    assert.equal(ann["prometheus.io/path"], "/metrics");
    return { d, pod, ctr, env };
  }
  const gw = checkDaemon("roomcast-gateway", 9100);
  checkDaemon("roomcast-fanout", 9101);

  // drain: grace > preStop sleep + ROOMCAST_DRAIN_SECONDS
  const drain = Number(gw.env.ROOMCAST_DRAIN_SECONDS ?? cm.data.ROOMCAST_DRAIN_SECONDS ?? 20);
  const cmd = gw.ctr.lifecycle.preStop.exec.command;
  assert.equal(cmd[0], "sleep");
  const preStop = Number(cmd[1]);
  assert.ok(gw.pod.spec.terminationGracePeriodSeconds > drain + preStop,
    `terminationGracePeriodSeconds ${gw.pod.spec.terminationGracePeriodSeconds} > drain ${drain} + preStop ${preStop}`);
  assert.equal(gw.d.spec.strategy.rollingUpdate.maxUnavailable, 0);
  // other gateways reach this pod's client listener at its pod IP
  const podIp = gw.ctr.env.find((e) => e.name === "POD_IP");
  assert.equal(podIp?.valueFrom.fieldRef.fieldPath, "status.podIP");
  assert.equal(gw.env.ROOMCAST_ADVERTISE_ADDR, `$(POD_IP):${portOf(gw.env.ROOMCAST_LISTEN)}`);
  // the client Service: no affinity, reaches the client port
  const svc = find("Service", "roomcast-gateway");
  assert.notEqual(svc.spec.sessionAffinity, "ClientIP");
  for (const [k, v] of Object.entries(svc.spec.selector)) assert.equal(gw.pod.metadata.labels[k], v);
  const client = svc.spec.ports.find((p) => p.name === "client");
  const clientPort = gw.ctr.ports.find((p) => p.name === client.targetPort || p.containerPort === client.targetPort).containerPort;
  assert.equal(clientPort, portOf(gw.env.ROOMCAST_LISTEN));
  // PDB and HPA aim at the gateways
  const pdb = objects.find((o) => o.obj.kind === "PodDisruptionBudget").obj;
  for (const [k, v] of Object.entries(pdb.spec.selector.matchLabels)) assert.equal(gw.pod.metadata.labels[k], v);
  const hpa = objects.find((o) => o.obj.kind === "HorizontalPodAutoscaler").obj;
  assert.deepEqual([hpa.spec.scaleTargetRef.kind, hpa.spec.scaleTargetRef.name], ["Deployment", "roomcast-gateway"]);
  assert.ok(hpa.spec.minReplicas >= 2, "at least two gateways, so a drain has somewhere to go");
  // the topics Job
  const job = objects.find((o) => o.obj.kind === "Job").obj;
  checkPod(job.spec.template.spec, "topics job");
  assert.deepEqual(job.spec.template.spec.containers[0].command.slice(0, 3), ["roomcast", "topics", "create"]);
  // kustomize itself, where installed: it stops until the operator provides the secrets,
  // then generates the Secret the gateways read
  const { cp, mkdtemp, mkdir, rm, writeFile } = await import("node:fs/promises");
  const os = await import("node:os");
  const tmp = await mkdtemp(path.join(os.tmpdir(), "roomcast-k8s-"));
  try {
    await cp(path.join(root, "deploy/k8s"), tmp, { recursive: true, filter: (f) => !f.includes("/secrets") });
    for (const tool of [["kustomize", ["build"]], ["kubectl", ["kustomize"]]]) {
      const refused = await run(tool[0], [...tool[1], tmp]);
      if (refused.code === "ENOENT") continue;
      assert.notEqual(refused.code, 0, "no secret files: kustomize stops");
      await mkdir(path.join(tmp, "secrets"), { mode: 0o700 });
      for (const f of gen.files) await writeFile(path.join(tmp, f.split("=")[1]), "x".repeat(64), { mode: 0o600 });
      const r = await run(tool[0], [...tool[1], tmp]);
      assert.equal(r.code, 0, r.stderr);
      const built = YAML.parseAllDocuments(r.stdout).map((d) => d.toJS());
      assert.equal(built.length, objects.length + 1);
      const sec = built.find((o) => o.kind === "Secret");
      assert.deepEqual(Object.keys(sec.data).sort(), ["ROOMCAST_CLUSTER_SECRET", "ROOMCAST_JWT_SECRET"]);
      const gwPod = built.find((o) => o.kind === "Deployment" && o.metadata.name === "roomcast-gateway").spec.template.spec;
      assert.ok(gwPod.containers[0].envFrom.some((f) => f.secretRef?.name === sec.metadata.name), "the gateways read it");
      break;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});

test("Prometheus configs pass promtool and scrape every roomcast service; the dashboard uses real metrics", async () => {
  const compose = await loadCompose();
  const r = await run("promtool", ["check", "config", path.join(root, "deploy/prometheus/prometheus.yml")]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const prom = YAML.parse(await read("deploy/prometheus/prometheus.yml"));
  const targets = prom.scrape_configs.flatMap((j) => j.static_configs.flatMap((s) => s.targets));
  for (const name of ["fanout", "gateway-1", "gateway-2"]) {
    const admin = portOf(compose.services[name].environment.ROOMCAST_ADMIN_LISTEN);
    assert.ok(targets.includes(`${name}:${admin}`), `Prometheus scrapes ${name}:${admin}`);
  }
  assert.ok(targets.includes(`haproxy:${portOf(compose.services.haproxy.environment.METRICS_LISTEN)}`));
  // the local generator's output passes too
  const gen = await run(path.join(root, "deploy/prometheus/local-config"),
    ["--gateways", "127.0.0.1:1,127.0.0.1:2", "--fanouts", "127.0.0.1:3", "--haproxy", "127.0.0.1:4", "--self", "127.0.0.1:5"]);
  assert.equal(gen.code, 0, gen.stderr);
  const { writeFile, mkdtemp, rm } = await import("node:fs/promises");
  const dir = await mkdtemp(path.join((await import("node:os")).tmpdir(), "roomcast-promcfg-"));
  await writeFile(path.join(dir, "p.yml"), gen.stdout);
  const r2 = await run("promtool", ["check", "config", path.join(dir, "p.yml")]);
  await rm(dir, { recursive: true });
  assert.equal(r2.code, 0, r2.stdout + r2.stderr);
  assert.deepEqual(YAML.parse(gen.stdout).scrape_configs.map((j) => j.job_name), prom.scrape_configs.map((j) => j.job_name));

  // Grafana: the provisioned datasource is the one the dashboard uses; every metric exists
  const dsFile = YAML.parse(await read("deploy/grafana/provisioning/datasources/prometheus.yml"));
  const ds = dsFile.datasources[0];
  assert.equal(ds.url, "http://prometheus:9090");
  const dash = JSON.parse(await read("deploy/grafana/dashboards/roomcast.json"));
  const metrics = await knownMetrics();
  const titles = dash.panels.map((p) => p.title).join(" | ");
  for (const want of [/connections/i, /deliveries\/s/i, /latency/i, /lag/i, /refusals/i]) assert.match(titles, want);
  for (const p of dash.panels) {
    assert.equal(p.datasource.uid, ds.uid, p.title);
    for (const t of p.targets) {
      for (const m of t.expr.matchAll(/\b(roomcast_[a-z0-9_]+?)(_bucket|_sum|_count)?\b/g))
        assert.ok(metrics.has(m[1]) || metrics.has(m[1] + (m[2] ?? "")), `${p.title}: ${m[1]} is not a roomcast metric`);
    }
  }
});
