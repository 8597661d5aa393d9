// roomcast's demo backend: a development tool, never for production, and off unless
// started explicitly (scripts/up starts it on 127.0.0.1:8080; nothing in the images or in
// deploy/k8s does). It serves the demo page (index.html, demo.js) and the stock
// socket.io-client browser bundle from node_modules, and stands in for the marketplace's
// backend in two ways: it hands out dev tokens (`roomcast token`) and publishes the
// catalog's domain events (`roomcast publish`), both by running the CLI with this
// process's environment (ROOMCAST_KAFKA_BROKERS, ROOMCAST_TOPIC_PREFIX, ROOMCAST_JWT_SECRET).
// Only node built-ins; requests are checked before the CLI sees them (execFile, no shell).
//
// Settings (environment):
//   ROOMCAST_DEMO_LISTEN       host:port to bind (default 127.0.0.1:8080; port 0 = any free
//                              one, printed on stdout as {"listening":"http://..."})
//   ROOMCAST_DEMO_GATEWAY_URL  where the page's client connects (default http://127.0.0.1:3000,
//                              HAProxy in front of the gateways)
//   ROOMCAST_CLI               the roomcast binary (default build/bin/roomcast)
//   ROOMCAST_DEMO_CLIENT_OPTIONS  the socket.io-client options as JSON (default below)
import http from "node:http";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const cliPath = process.env.ROOMCAST_CLI || path.join(root, "build/bin/roomcast");
const gatewayUrl = process.env.ROOMCAST_DEMO_GATEWAY_URL || "http://127.0.0.1:3000";
const listen = process.env.ROOMCAST_DEMO_LISTEN || "127.0.0.1:8080";

// The client's options: its defaults, as the seed's frontend uses them (long-polling
// first, then the upgrade, which the gateways relay between them behind a balancer with no
// stickiness). ROOMCAST_DEMO_CLIENT_OPTIONS (JSON) overrides them for a run, e.g.
// '{"transports":["websocket"]}'.
const clientOptions = process.env.ROOMCAST_DEMO_CLIENT_OPTIONS
  ? JSON.parse(process.env.ROOMCAST_DEMO_CLIENT_OPTIONS)
  : {};

// The domain types the page may publish: the shipped routing table's, read at start.
const routes = JSON.parse(await readFile(path.join(root, "fanout/routes.json"), "utf8")).routes;
const publishable = new Set(Object.keys(routes));

const ID = /^[A-Za-z0-9._-]{1,64}$/;
const ROLES = new Set(["buyer", "seller", "admin"]);
const ROOM = /^(request|chat)-[A-Za-z0-9._-]{1,64}$/;

const files = {
  "/": [path.join(here, "index.html"), "text/html; charset=utf-8"],
  "/demo.js": [path.join(here, "demo.js"), "text/javascript; charset=utf-8"],
  "/socket.io.min.js": [path.join(root, "node_modules/socket.io-client/dist/socket.io.min.js"), "text/javascript; charset=utf-8"],
  "/socket.io.min.js.map": [path.join(root, "node_modules/socket.io-client/dist/socket.io.min.js.map"), "application/json"],
};

function runCli(args) {
  return new Promise((resolve) => {
    execFile(cliPath, args, { env: process.env, timeout: 20000 }, (err, stdout, stderr) =>
      resolve({ ok: !err, stdout: stdout.trim(), stderr: stderr.trim() }));
  });
}

function send(res, status, body, type = "application/json") {
  const data = type === "application/json" ? JSON.stringify(body) : body;
  res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff" });
  res.end(data);
}

async function readJson(req, limit = 64 * 1024) {
  let size = 0;
  const chunks = [];
  for await (const c of req) {
    size += c.length;
    if (size > limit) throw new Error("body too large");
    chunks.push(c);
  }
  return JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
}

// POST /api/token {sub, role} -> {token}; {sub, room} -> {token} (a room grant)
async function apiToken(body) {
  if (!ID.test(String(body.sub))) return [400, { error: "sub: 1 to 64 of A-Z a-z 0-9 . _ -" }];
  const args = ["token", "--sub", body.sub, "--exp", "3600"];
  if (body.room !== undefined) {
    if (!ROOM.test(String(body.room))) return [400, { error: "room: request-ID or chat-ID" }];
    args.push("--room", body.room);
  } else {
    if (!ROLES.has(body.role)) return [400, { error: "role: buyer, seller or admin" }];
    args.push("--role", body.role);
  }
  const r = await runCli(args);
  return r.ok ? [200, { token: r.stdout }] : [502, { error: r.stderr || "roomcast token failed" }];
}

// POST /api/publish {type, payload} -> {ok, result}
async function apiPublish(body) {
  if (!publishable.has(body.type)) return [400, { error: `type: one of ${[...publishable].join(", ")}` }];
  if (typeof body.payload !== "object" || body.payload === null) return [400, { error: "payload: a JSON object" }];
  const r = await runCli(["publish", body.type, JSON.stringify(body.payload)]);
  return r.ok ? [200, { ok: true, result: r.stdout }] : [502, { error: r.stderr || "roomcast publish failed" }];
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, "http://demo");
  try {
    if (req.method === "GET" && files[url.pathname]) {
      const [file, type] = files[url.pathname];
      return send(res, 200, await readFile(file), type);
    }
    if (req.method === "GET" && url.pathname === "/api/config")
      return send(res, 200, { gatewayUrl, clientOptions, types: [...publishable] });
    if (req.method === "POST" && (url.pathname === "/api/token" || url.pathname === "/api/publish")) {
      // Same-origin JSON only: a page elsewhere cannot make this one mint tokens.
      if (!String(req.headers["content-type"]).startsWith("application/json"))
        return send(res, 415, { error: "application/json only" });
      const body = await readJson(req);
      const [status, out] = url.pathname === "/api/token" ? await apiToken(body) : await apiPublish(body);
      return send(res, status, out);
    }
    send(res, 404, { error: "not found" });
  } catch (e) {
    send(res, 400, { error: e.message });
  }
});

const i = listen.lastIndexOf(":");
server.listen(Number(listen.slice(i + 1)), listen.slice(0, i), () => {
  const { address, port } = server.address();
  process.stderr.write("roomcast demo backend: for development only, never run it in production\n");
  process.stdout.write(JSON.stringify({ listening: `http://${address}:${port}`, gatewayUrl }) + "\n");
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
