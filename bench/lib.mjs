// lib.mjs: process plumbing for bench/bench.mjs — spawning the tools and servers, reading
// their JSON lines, and measuring a process from /proc (CPU: utime+stime of all its
// threads; memory: VmRSS, and Pss / Private from smaps_rollup).
import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import net from "node:net";

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux x86-64

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

// CPU seconds (user + system, every thread) a process has used so far.
export function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // fields 14 and 15 of stat(5)
}

// Memory in KiB: rss (VmRSS), pss and private (Private_Clean + Private_Dirty) of smaps_rollup.
export function memoryKiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const field = (text, name) => Number((text.match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m")) || [0, 0])[1]);
  return {
    rss: field(status, "VmRSS"),
    pss: field(rollup, "Pss"),
    private: field(rollup, "Private_Clean") + field(rollup, "Private_Dirty"),
  };
}

// The soft limit on open files this process (and so its children) got from bench/run.
export function openFilesLimit() {
  const limits = fs.readFileSync("/proc/self/limits", "utf8");
  return Number(limits.match(/^Max open files\s+(\d+)/m)[1]);
}

// A child whose stdout is JSON lines. next(pred) resolves with the first line (from now
// on, or already queued) that pred accepts.
export class Child {
  constructor(name, cmd, args, opts = {}) {
    this.name = name;
    this.log = [];
    this.waiters = [];
    this.queue = [];
    this.onLine = null;
    this.child = spawn(cmd, args, { stdio: opts.ipc ? ["pipe", "pipe", "pipe", "ipc"] : ["pipe", "pipe", "pipe"], ...opts });
    this.pid = this.child.pid;
    this.exited = once(this.child, "exit");
    let buf = "";
    this.child.stdout.setEncoding("utf8").on("data", (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        let v;
        try { v = JSON.parse(line); } catch { this.log.push(line); continue; }
        this.deliver(v);
      }
    });
    this.child.stderr.setEncoding("utf8").on("data", (d) => {
      this.log.push(d);
      if (this.log.length > 400) this.log.splice(0, 200);
      if (process.env.ROOMCAST_BENCH_VERBOSE) process.stderr.write(`[${name}] ${d}`);
    });
    this.child.stdin.on("error", () => {});
  }
  deliver(v) {
    if (this.onLine && this.onLine(v)) return;
    const w = this.waiters.findIndex((x) => x.pred(v));
    if (w >= 0) {
      const [x] = this.waiters.splice(w, 1);
      clearTimeout(x.timer);
      x.resolve(v);
    } else {
      this.queue.push(v);
      if (this.queue.length > 1000) this.queue.shift();
    }
  }
  next(pred, timeoutMs = 120000) {
    const q = this.queue.findIndex(pred);
    if (q >= 0) return Promise.resolve(this.queue.splice(q, 1)[0]);
    return new Promise((resolve, reject) => {
      const x = { pred, resolve };
      x.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(x), 1);
        reject(new Error(`${this.name}: timed out waiting; its log: ${this.log.join("").slice(-2000)}`));
      }, timeoutMs);
      this.waiters.push(x);
    });
  }
  nextType(type, timeoutMs) { return this.next((v) => v.type === type, timeoutMs); }
  send(line) { this.child.stdin.write(`${line}\n`); }
  async stop(signal = "SIGTERM", timeoutMs = 10000) {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill(signal);
    const t = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    await this.exited;
    clearTimeout(t);
  }
}

export async function waitFor(what, fn, timeoutMs = 30000, everyMs = 50) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) { last = e; }
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
}

export async function httpText(url) {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), 3000);
  try {
    const r = await fetch(url, { signal: ac.signal });
    return { status: r.status, body: await r.text() };
  } finally { clearTimeout(t); }
}

// One sample of a Prometheus page, 0 when absent.
export async function metric(adminPort, name, labels = "") {
  const r = await httpText(`http://127.0.0.1:${adminPort}/metrics`);
  const want = labels ? `${name}{${labels}} ` : `${name} `;
  const line = r.body.split("\n").find((l) => l.startsWith(want));
  return line ? Number(line.slice(want.length)) : 0;
}
