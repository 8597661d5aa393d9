// Reading the deployment files the way their tools would, for deploy.test.mjs (no container
// engine or cluster runs here): docker-compose.yml with YAML merge keys, the kustomization
// with its resources, the Dockerfile's stages, and the settings the binaries know.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";

// the repository (not harness.mjs's: this module also runs without a broker, as a script)
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

export const read = (rel) => readFile(path.join(root, rel), "utf8");

export async function loadCompose() {
  return YAML.parse(await read("docker-compose.yml"), { merge: true });
}

// Every object the kustomization lists, in order, as [{file, obj}].
export async function loadKustomize(dir = "deploy/k8s") {
  const k = YAML.parse(await read(`${dir}/kustomization.yaml`));
  const objects = [];
  for (const file of k.resources) {
    for (const doc of YAML.parseAllDocuments(await read(`${dir}/${file}`))) {
      if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0].message}`);
      const obj = doc.toJS();
      if (obj) objects.push({ file, obj });
    }
  }
  return { kustomization: k, objects };
}

// The ROOMCAST_* names the gateway, the fanout and the CLI read (their settings tables).
export async function knownSettings() {
  const names = new Set();
  for (const f of ["gateway/settings.c", "fanout/settings.c", "cli/common.c", "cli/main.c"]) {
    const text = await read(f).catch(() => "");
    for (const m of text.matchAll(/"(ROOMCAST_[A-Z0-9_]+)"/g)) names.add(m[1]);
  }
  return names;
}

// Every Prometheus metric name the binaries register.
export async function knownMetrics() {
  const { readdir } = await import("node:fs/promises");
  const names = new Set();
  for (const dir of ["gateway", "fanout", "common"]) {
    for (const f of await readdir(path.join(root, dir))) {
      if (!f.endsWith(".c")) continue;
      for (const m of (await read(`${dir}/${f}`)).matchAll(/"(roomcast_[a-z0-9_]+)"/g)) names.add(m[1]);
    }
  }
  return names;
}

// The Dockerfile as stages: [{name, from, lines: [{instr, args}]}], continuations joined.
export async function loadDockerfile(rel = "deploy/docker/Dockerfile") {
  const text = (await read(rel)).replace(/\\\n/g, " ");
  const stages = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const [, instr, args] = line.match(/^(\S+)\s*(.*)$/);
    if (instr.toUpperCase() === "FROM") {
      const m = args.match(/^(\S+)(?:\s+AS\s+(\S+))?$/i);
      stages.push({ from: m[1], name: m[2], lines: [] });
    } else if (stages.length) {
      stages.at(-1).lines.push({ instr: instr.toUpperCase(), args });
    }
  }
  return stages;
}

// "0.0.0.0:9100" -> 9100
export const portOf = (addr) => Number(String(addr).slice(String(addr).lastIndexOf(":") + 1));

// deploy/k8s/monitoring/prometheusrule.yaml as it must read: deploy/prometheus/alerts.yml's
// groups wrapped in a PrometheusRule (the one source of the alerts is alerts.yml).
// `node tests/integration/lib/manifests.mjs prometheusrule` writes it.
export async function prometheusRuleText() {
  const alerts = YAML.parse(await read("deploy/prometheus/alerts.yml"));
  const rule = {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: { name: "roomcast", labels: { "app.kubernetes.io/name": "roomcast" } },
    spec: { groups: alerts.groups },
  };
  return "# GENERATED from deploy/prometheus/alerts.yml (the alerts' one source) by\n" +
    "#   node tests/integration/lib/manifests.mjs prometheusrule\n" +
    "# tests/integration/deploy.test.mjs fails when the two differ.\n" +
    YAML.stringify(rule, { lineWidth: 0 });
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === "prometheusrule") {
  const { writeFile } = await import("node:fs/promises");
  await writeFile(path.join(root, "deploy/k8s/monitoring/prometheusrule.yaml"), await prometheusRuleText());
}

// The release, as CMakeLists.txt's project(roomcast VERSION x.y.z) sets it.
export async function releaseVersion() {
  return (await read("CMakeLists.txt")).match(/^project\(roomcast VERSION ([0-9.]+)/m)[1];
}
