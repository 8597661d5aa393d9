// podman for the image and package tests (images.test.mjs, release.test.mjs): the project's
// settings (deploy/podman/containers.conf), whether containers can run here at all, the
// release's image names, and containers that are always removed. Containers use the host's
// network, so the roomcast processes in them bind 127.0.0.1 like every test server.
import path from "node:path";
import { randomBytes } from "node:crypto";
import { root } from "./harness.mjs";
import { run } from "./deploy.mjs";
import { releaseVersion } from "./manifests.mjs";

const env = { PATH: process.env.PATH, HOME: process.env.HOME, CONTAINERS_CONF: path.join(root, "deploy/podman/containers.conf") };
export const BASE_IMAGE = "docker.io/library/debian:bookworm";

export const podman = (args, opts = {}) => run("podman", args, { env, timeout: 120000, ...opts });
export const images = (args, timeout = 900000) => run(path.join(root, "scripts/images"), args, { env, timeout });

// null when podman can run a container here, else why not (scripts/images check)
export async function podmanUnavailable() {
  const r = await images(["check"]);
  return r.code === 0 ? null : (r.stdout + r.stderr).trim() || "podman cannot run a container here";
}

export async function imageName(kind) {
  return `ghcr.io/roomcast/${kind}:${await releaseVersion()}`;
}

// Builds the images when they are missing (scripts/test builds them first, timing it).
export async function ensureImages() {
  for (const kind of ["gateway", "fanout"]) {
    if ((await podman(["image", "exists", await imageName(kind)])).code !== 0) {
      const r = await images(["build"]);
      if (r.code !== 0) throw new Error(`scripts/images build: ${r.stderr}`);
      return;
    }
  }
}

// A detached container; remove() always cleans up.
export async function startContainer(name, args) {
  const id = `${name}-${randomBytes(3).toString("hex")}`;
  // --health-interval disable: no systemd here to run the checks on a timer; the tests run
  // them with `podman healthcheck run`
  const r = await podman(["run", "-d", "--name", id, "--network", "host", "--health-interval", "disable", ...args]);
  if (r.code !== 0) throw new Error(`podman run ${name}: ${r.stderr}`);
  const c = {
    id,
    inspect: async (fmt) => (await podman(["inspect", "--format", fmt, id])).stdout.trim(),
    logs: async () => { const l = await podman(["logs", id]); return l.stdout + l.stderr; },
    remove: () => podman(["rm", "-f", "-t", "0", id]),
  };
  return c;
}

// "-e NAME=VALUE" pairs for podman run
export const envArgs = (vars) => Object.entries(vars).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
