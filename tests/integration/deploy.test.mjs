// The deployment files, checked against the contract by parsing them and by the real tools
// that read them (no cluster runs here; images are run in images.test.mjs):
// docker-compose.yml through Docker Compose's own loader (compose-go, scripts/tools),
// deploy/docker/Dockerfile (+ .dockerignore), deploy/k8s through kustomize and the
// Kubernetes schema validator kubeconform (strict: unknown fields refused) against two
// Kubernetes releases' schemas, the Prometheus Operator's kinds through the operator's
// own schemas (@kubernetes-models/prometheus-operator), deploy/prometheus through
// `promtool check config`, `check rules` and `test rules` (a unit test of every alert),
// deploy/grafana and deploy/haproxy (`haproxy -c` with compose's environment), and `ldd` +
// `dpkg -S` to check that the runtime image installs every shared library the binaries link.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, realpathSync, statSync } from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { root } from "./lib/harness.mjs";
import { run } from "./lib/deploy.mjs";
import { knownMetrics, knownSettings, loadCompose, loadDockerfile, loadKustomize, portOf, prometheusRuleText, read,
  releaseVersion } from "./lib/manifests.mjs";

const ROOMCAST_SERVICES = ["topics", "fanout", "gateway-1", "gateway-2"];
// the validators scripts/tools makes (cached; built once per machine)
const tools = (await run(path.join(root, "scripts/tools"), [], { timeout: 600000 })).stdout.trim();
const tool = (name) => path.join(tools, "bin", name);
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

  // the roomcast services: known variable names, the broker; the JWT key only where used
  const version = await releaseVersion();
  for (const name of ROOMCAST_SERVICES) {
    const env = s[name].environment;
    for (const v of envNames(env)) assert.ok(settings.has(v), `${name}: ${v} is not a roomcast setting`);
    assert.equal(env.ROOMCAST_KAFKA_BROKERS, "kafka:9092", name);
    assert.equal("ROOMCAST_JWT_SECRET" in env, name.startsWith("gateway-"), `${name}: ROOMCAST_JWT_SECRET only on gateways`);
    // the operator's value or a stop: compose ships no secret
    if (name.startsWith("gateway-"))
      for (const v of ["ROOMCAST_JWT_SECRET", "ROOMCAST_CLUSTER_SECRET"])
        assert.match(env[v], new RegExp(`^\\$\\{${v}:\\?.+\\}$`), `${name}: ${v}`);
    const image = name.startsWith("gateway-") ? "gateway" : "fanout";
    assert.equal(s[name].image, `ghcr.io/roomcast/${image}:\${ROOMCAST_VERSION:-${version}}`, `${name}: the release's image`);
  }
  // the fanout: one stable identity, the service name and index
  assert.equal(s.fanout.environment.ROOMCAST_FANOUT_TRANSACTIONAL_ID, "fanout-1");
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

test("docker-compose.yml passes Docker Compose's own loader (compose-go): schema, interpolation, dependencies", async () => {
  const file = path.join(root, "docker-compose.yml");
  const env = { PATH: process.env.PATH, ROOMCAST_JWT_SECRET: "k", ROOMCAST_CLUSTER_SECRET: "c" };
  const r = await run(tool("compose-config"), [file], { env });
  assert.equal(r.code, 0, r.stderr);
  const model = YAML.parse(r.stdout);
  assert.equal(model.name, "roomcast");
  const version = await releaseVersion();
  assert.equal(model.services["gateway-1"].image, `ghcr.io/roomcast/gateway:${version}`);
  assert.equal(model.services.fanout.image, `ghcr.io/roomcast/fanout:${version}`);
  assert.equal(model.services["gateway-2"].environment.ROOMCAST_JWT_SECRET, "k");
  assert.ok(!("ROOMCAST_JWT_SECRET" in model.services.fanout.environment));
  // the loader can refuse: a missing required variable, and a key Compose does not know
  const missing = await run(tool("compose-config"), [file], { env: { PATH: process.env.PATH } });
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /ROOMCAST_JWT_SECRET/);
  const { mkdtemp, writeFile, rm } = await import("node:fs/promises");
  const dir = await mkdtemp(path.join((await import("node:os")).tmpdir(), "roomcast-compose-"));
  try {
    await writeFile(path.join(dir, "c.yml"), "services:\n  a:\n    image: x\n    restrat: always\n");
    const bad = await run(tool("compose-config"), [path.join(dir, "c.yml")], { env });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /restrat/);
  } finally {
    await rm(dir, { recursive: true });
  }
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

test("Kubernetes (kustomize): objects, probes on the admin port, drain timing, PDBs, HPA, identities, secrets, policies", async () => {
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
  // images: the release's, named as in compose
  const version = await releaseVersion();
  const images = new Map(kustomization.images.map((i) => [i.name, i.newTag]));
  assert.deepEqual([...images.keys()].sort(), ["ghcr.io/roomcast/fanout", "ghcr.io/roomcast/gateway"]);
  for (const tag of images.values()) assert.equal(tag, version, "kustomization's image tags are the release");
  const compose = await loadCompose();
  const composeImages = new Set(Object.values(compose.services).map((s) => s.image?.split(":")[0]));

  function checkContainer(ctr, what) {
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
  const secretRefs = (ctr) => (ctr.envFrom ?? []).filter((f) => f.secretRef).length +
    (ctr.env ?? []).filter((e) => e.valueFrom?.secretKeyRef).length;
  function checkDaemon(kind, name, adminDefault) {
    const d = find(kind, name);
    assert.ok(d, `${kind} ${name}`);
    const pod = d.spec.template;
    assert.deepEqual(d.spec.selector.matchLabels, Object.fromEntries(Object.entries(pod.metadata.labels).filter(([k]) => k in d.spec.selector.matchLabels)));
    assert.equal(pod.spec.securityContext.runAsNonRoot, true);
    assert.equal(pod.spec.securityContext.runAsUser, 10001, "the images' user");
    for (const c of [...pod.spec.containers, ...(pod.spec.initContainers ?? [])]) checkContainer(c, `${name}/${c.name}`);
    const ctr = pod.spec.containers[0];
    const env = Object.fromEntries((ctr.env ?? []).filter((e) => "value" in e).map((e) => [e.name, e.value]));
    // dual-stack listeners: "[::]" takes IPv4 and IPv6 (dualstack.test.mjs)
    assert.match(env.ROOMCAST_ADMIN_LISTEN, /^\[::\]:\d+$/, `${name}: admin listener is dual-stack`);
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
  const gw = checkDaemon("Deployment", "roomcast-gateway", 9100);
  const fo = checkDaemon("StatefulSet", "roomcast-fanout", 9101);

  // gateways: the HPA owns the count, so an apply never resets it
  assert.ok(!("replicas" in gw.d.spec), "no replicas under an HPA");
  const hpa = objects.find((o) => o.obj.kind === "HorizontalPodAutoscaler").obj;
  assert.deepEqual([hpa.spec.scaleTargetRef.kind, hpa.spec.scaleTargetRef.name], ["Deployment", "roomcast-gateway"]);
  assert.ok(hpa.spec.minReplicas >= 2, "at least two gateways, so a drain has somewhere to go");
  // drain: grace > preStop sleep + ROOMCAST_DRAIN_SECONDS
  const drain = Number(gw.env.ROOMCAST_DRAIN_SECONDS ?? cm.data.ROOMCAST_DRAIN_SECONDS ?? 20);
  const cmd = gw.ctr.lifecycle.preStop.exec.command;
  assert.equal(cmd[0], "sleep");
  const preStop = Number(cmd[1]);
  assert.ok(gw.pod.spec.terminationGracePeriodSeconds > drain + preStop,
    `terminationGracePeriodSeconds ${gw.pod.spec.terminationGracePeriodSeconds} > drain ${drain} + preStop ${preStop}`);
  assert.equal(gw.d.spec.strategy.rollingUpdate.maxUnavailable, 0);
  // other gateways reach this pod's client listener at its pod IP, IPv4 or IPv6: the bare
  // address, to which the gateway adds the listen port (and brackets for IPv6)
  const podIp = gw.ctr.env.find((e) => e.name === "POD_IP");
  assert.equal(podIp?.valueFrom.fieldRef.fieldPath, "status.podIP");
  assert.equal(gw.env.ROOMCAST_ADVERTISE_ADDR, "$(POD_IP)");
  assert.match(gw.env.ROOMCAST_LISTEN, /^\[::\]:\d+$/, "client listener is dual-stack");
  // the client Service: no affinity, reaches the client port
  const svc = find("Service", "roomcast-gateway");
  assert.notEqual(svc.spec.sessionAffinity, "ClientIP");
  for (const [k, v] of Object.entries(svc.spec.selector)) assert.equal(gw.pod.metadata.labels[k], v);
  const client = svc.spec.ports.find((p) => p.name === "client");
  const clientPort = gw.ctr.ports.find((p) => p.name === client.targetPort || p.containerPort === client.targetPort).containerPort;
  assert.equal(clientPort, portOf(gw.env.ROOMCAST_LISTEN));

  // fanout: a StatefulSet whose pod name is its transactional id, behind a headless Service
  const txn = fo.ctr.env.find((e) => e.name === "ROOMCAST_FANOUT_TRANSACTIONAL_ID");
  assert.equal(txn?.valueFrom?.fieldRef?.fieldPath, "metadata.name", "stable identity: the pod name");
  assert.ok(fo.d.spec.replicas >= 2);
  assert.equal(find("Service", fo.d.spec.serviceName)?.spec.clusterIP, "None", "the StatefulSet's governing Service is headless");
  // topics: created by an init container (follows a new image on every apply; a Job cannot)
  assert.ok(!objects.some((o) => o.obj.kind === "Job"), "no Job: its pod template is immutable");
  const init = fo.pod.spec.initContainers.find((c) => c.name === "topics");
  assert.deepEqual(init.command.slice(0, 3), ["roomcast", "topics", "create"]);
  // secrets only where used: the gateways verify tokens; the fanout and the topics never do
  assert.ok(secretRefs(gw.ctr) > 0, "gateways get the key");
  for (const c of [fo.ctr, init]) assert.equal(secretRefs(c), 0, `${c.name} gets no secret`);

  // PDBs: one for each, aimed at its pods
  const pdbs = objects.filter((o) => o.obj.kind === "PodDisruptionBudget").map((o) => o.obj);
  for (const { pod } of [gw, fo]) {
    const pdb = pdbs.find((p) => Object.entries(p.spec.selector.matchLabels).every(([k, v]) => pod.metadata.labels[k] === v));
    assert.ok(pdb, `a PDB for ${pod.metadata.labels["app.kubernetes.io/name"]}`);
    assert.equal(pdb.spec.maxUnavailable, 1);
  }
  // NetworkPolicies: default deny, and every port they open is a named port of the pods they select
  const policies = objects.filter((o) => o.obj.kind === "NetworkPolicy").map((o) => o.obj);
  assert.ok(policies.some((p) => Object.keys(p.spec.podSelector).length === 0 && !p.spec.ingress), "default deny ingress");
  for (const p of policies.filter((x) => x.spec.ingress)) {
    const target = [gw, fo].find(({ pod }) => Object.entries(p.spec.podSelector.matchLabels).every(([k, v]) => pod.metadata.labels[k] === v));
    assert.ok(target, `${p.metadata.name} selects roomcast pods`);
    for (const rule of p.spec.ingress) for (const port of rule.ports)
      assert.ok(target.ctr.ports.some((cp) => cp.name === port.port), `${p.metadata.name}: port ${port.port}`);
  }
  const gwPolicy = policies.find((p) => p.metadata.name === "roomcast-gateway");
  assert.ok(gwPolicy.spec.ingress.some((r) => !r.from && r.ports.some((x) => x.port === "client")), "clients reach the client port from anywhere");
});

test("Kubernetes validators: kustomize builds, kubeconform (strict, two releases), the operator's schemas", async () => {
  const schemas = path.join(tools, "k8s-schemas", "{{.NormalizedKubernetesVersion}}-local-strict", "{{.ResourceKind}}{{.KindSuffix}}.json");
  const { mkdtemp, writeFile, rm } = await import("node:fs/promises");
  const dir = await mkdtemp(path.join((await import("node:os")).tmpdir(), "roomcast-k8s-"));
  const kubeconform = (file, version, extra = []) => run(tool("kubeconform"), ["-strict", "-summary", "-output", "json",
    "-kubernetes-version", version, "-schema-location", schemas, ...extra, file]);
  try {
    // the base needs the operator's secret files: without them kustomize stops; a copy
    // with stand-ins builds, and the generated Secret reaches the gateways only
    const { cp, mkdir } = await import("node:fs/promises");
    const base = path.join(dir, "k8s");
    await cp(path.join(root, "deploy/k8s"), base, { recursive: true, filter: (f) => !f.includes("/secrets") && !f.includes("/monitoring") });
    const refused = await run(tool("kustomize"), ["build", base]);
    assert.notEqual(refused.code, 0, "no secret files: kustomize stops");
    const { kustomization } = await loadKustomize();
    await mkdir(path.join(base, "secrets"), { mode: 0o700 });
    for (const f of kustomization.secretGenerator[0].files) await writeFile(path.join(base, f.split("=")[1]), "x".repeat(64), { mode: 0o600 });
    const built = {};
    for (const [k, where] of [["deploy/k8s", base], ["deploy/k8s/monitoring", path.join(root, "deploy/k8s/monitoring")]]) {
      const r = await run(tool("kustomize"), ["build", where]);
      assert.equal(r.code, 0, `kustomize build ${k}: ${r.stderr}`);
      const { objects } = await loadKustomize(k);
      const docs = YAML.parseAllDocuments(r.stdout).map((d) => d.toJS());
      const secrets = docs.filter((d) => d.kind === "Secret");
      assert.equal(docs.length, objects.length + secrets.length, k);
      for (const s of secrets) {
        assert.deepEqual(Object.keys(s.data).sort(), ["ROOMCAST_CLUSTER_SECRET", "ROOMCAST_JWT_SECRET"]);
        const readers = docs.filter((d) => d.spec?.template?.spec?.containers?.some((c) => c.envFrom?.some((f) => f.secretRef?.name === s.metadata.name)));
        assert.deepEqual(readers.map((d) => d.metadata.name), ["roomcast-gateway"], "only the gateways read the secrets");
      }
      assert.ok(docs.every((d) => d.metadata.namespace === "roomcast" || d.kind === "Namespace"), `${k}: every object in the namespace`);
      built[k] = path.join(dir, `${k.replaceAll("/", "_")}.yaml`);
      await writeFile(built[k], r.stdout);
    }
    // core kinds against Kubernetes' own schemas; the operator's kinds are checked below
    // (kubeconform has no schema for CRDs unless given one, and none is reachable here)
    for (const version of ["1.30.0", "1.34.0"]) {
      for (const [k, file] of Object.entries(built)) {
        const r = await kubeconform(file, version, ["-skip", "ServiceMonitor,PrometheusRule"]);
        const sum = JSON.parse(r.stdout).summary;
        assert.equal(r.code, 0, `kubeconform ${k} @${version}: ${r.stdout}${r.stderr}`);
        assert.equal(sum.invalid + sum.errors, 0);
        assert.equal(sum.valid + sum.skipped, YAML.parseAllDocuments(await (await import("node:fs/promises")).readFile(file, "utf8")).length);
        if (k === "deploy/k8s") assert.equal(sum.skipped, 0, "every object of the base is validated");
      }
    }
    // the validator can fail: a misspelt field in a real object is refused
    const broken = (await (await import("node:fs/promises")).readFile(built["deploy/k8s"], "utf8")).replace("terminationGracePeriodSeconds: 35", "terminationGracePeriodSecond: 35");
    await writeFile(path.join(dir, "broken.yaml"), broken);
    const bad = await kubeconform(path.join(dir, "broken.yaml"), "1.30.0");
    assert.notEqual(bad.code, 0);
    assert.match(bad.stdout, /terminationGracePeriodSecond/);
  } finally {
    await rm(dir, { recursive: true });
  }

  // ServiceMonitors and the PrometheusRule: the operator's schemas (types, patterns, required)
  const { objects: mon } = await loadKustomize("deploy/k8s/monitoring");
  const { ServiceMonitor } = await import("@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor");
  const { PrometheusRule } = await import("@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule");
  const kinds = { ServiceMonitor, PrometheusRule };
  for (const { obj } of mon) new kinds[obj.kind](obj).validate();
  assert.throws(() => new ServiceMonitor({ metadata: { name: "x" }, spec: { selector: {}, endpoints: [{ port: "admin", interval: "15 s" }] } }).validate());
  // each ServiceMonitor finds a Service with an admin port, and names its job as the alerts do
  const { objects: base } = await loadKustomize();
  for (const { obj: sm } of mon.filter((o) => o.obj.kind === "ServiceMonitor")) {
    const svcs = base.map((o) => o.obj).filter((o) => o.kind === "Service" &&
      Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => o.metadata.labels?.[k] === v));
    assert.ok(svcs.some((s) => s.spec.ports.some((p) => p.name === sm.spec.endpoints[0].port)), `${sm.metadata.name} scrapes an admin port`);
    assert.equal(svcs[0].metadata.labels[sm.spec.jobLabel], sm.metadata.name, "job label = roomcast-gateway / roomcast-fanout");
  }
  // the PrometheusRule is deploy/prometheus/alerts.yml, wrapped
  assert.equal(await read("deploy/k8s/monitoring/prometheusrule.yaml"), await prometheusRuleText(),
    "prometheusrule.yaml differs from alerts.yml: run node tests/integration/lib/manifests.mjs prometheusrule");
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
  // both load the alerts
  assert.deepEqual(prom.rule_files, ["alerts.yml"]);
  assert.deepEqual(YAML.parse(gen.stdout).rule_files, [path.join(root, "deploy/prometheus/alerts.yml")]);
  assert.ok(compose.services.prometheus.volumes.includes("./deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro"));

  // Grafana: the dashboard picks its data source and jobs (variables); every metric exists
  const dsFile = YAML.parse(await read("deploy/grafana/provisioning/datasources/prometheus.yml"));
  const ds = dsFile.datasources[0];
  assert.equal(ds.url, "http://prometheus:9090");
  const dash = JSON.parse(await read("deploy/grafana/dashboards/roomcast.json"));
  const metrics = await knownMetrics();
  const titles = dash.panels.map((p) => p.title).join(" | ");
  for (const want of [/connections/i, /deliveries\/s/i, /latency/i, /lag/i, /refusals/i]) assert.match(titles, want);
  const vars = Object.fromEntries(dash.templating.list.map((v) => [v.name, v]));
  assert.equal(vars.datasource?.type, "datasource");
  assert.equal(vars.datasource.query, "prometheus");
  for (const v of ["gateway_job", "fanout_job"]) {
    assert.equal(vars[v]?.type, "query", v);
    assert.match(vars[v].query.query, /^label_values\(roomcast_[a-z_]+, job\)$/);
    assert.equal(vars[v].datasource.uid, "${datasource}");
  }
  for (const p of dash.panels) {
    assert.equal(p.datasource.uid, "${datasource}", `${p.title}: no fixed data source`);
    for (const t of p.targets) {
      assert.equal(t.datasource.uid, "${datasource}", p.title);
      // every roomcast series is scoped to the chosen jobs
      for (const m of t.expr.matchAll(/\b(roomcast_(gateway|fanout)_[a-z0-9_]+)(\{[^}]*\})?/g))
        assert.ok(m[3]?.includes(`job=~"$${m[2]}_job"`), `${p.title}: ${m[0]} is not scoped to $${m[2]}_job`);
      for (const m of t.expr.matchAll(/\b(roomcast_[a-z0-9_]+?)(_bucket|_sum|_count)?\b/g))
        assert.ok(metrics.has(m[1]) || metrics.has(m[1] + (m[2] ?? "")), `${p.title}: ${m[1]} is not a roomcast metric`);
    }
  }
});

test("alerts: promtool checks the rules and runs a unit test of every alert; every metric they use exists", async () => {
  const file = path.join(root, "deploy/prometheus/alerts.yml");
  const check = await run("promtool", ["check", "rules", file]);
  assert.equal(check.code, 0, check.stdout + check.stderr);
  const r = await run("promtool", ["test", "rules", path.join(root, "deploy/prometheus/alerts.test.yml")]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS/);
  const rules = YAML.parse(await read("deploy/prometheus/alerts.yml")).groups.flatMap((g) => g.rules);
  const tests = YAML.parse(await read("deploy/prometheus/alerts.test.yml")).tests;
  const checks = tests.flatMap((t) => t.alert_rule_test);
  const metrics = await knownMetrics();
  // the list: consumer lag, dead letters, aborted transactions, delivery stalls,
  // slow-client drops, readiness flapping, targets down
  const names = rules.map((x) => x.alert);
  for (const want of ["RoomcastGatewayConsumerLag", "RoomcastFanoutConsumerLag", "RoomcastDeadLetters",
    "RoomcastFanoutTransactionsAborted", "RoomcastGatewayDeliveryStalled", "RoomcastFanoutStalled",
    "RoomcastSlowClientDrops", "RoomcastReadinessFlapping", "RoomcastTargetDown"]) assert.ok(names.includes(want), want);
  const runbook = await read("docs/operations.md");
  for (const rule of rules) {
    // each alert is seen firing in a test and, at another time or for another series, not
    const mine = checks.filter((c) => c.alertname === rule.alert);
    assert.ok(mine.some((c) => c.exp_alerts.length > 0), `${rule.alert}: a test where it fires`);
    assert.ok(mine.some((c) => c.exp_alerts.length === 0) ||
      tests.some((t) => t.alert_rule_test.some((c) => c.alertname === rule.alert) && t.input_series.length > 1),
      `${rule.alert}: a test where it does not`);
    for (const m of rule.expr.matchAll(/\b(roomcast_[a-z0-9_]+)/g)) assert.ok(metrics.has(m[1]), `${rule.alert}: ${m[1]}`);
    // its runbook exists, under the anchor the annotation links to
    assert.ok(runbook.includes(`### ${rule.alert}\n`), `docs/operations.md has a runbook for ${rule.alert}`);
    assert.ok(rule.annotations.runbook_url.endsWith(`#${rule.alert.toLowerCase()}`));
  }
});
