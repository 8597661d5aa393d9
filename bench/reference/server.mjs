// server.mjs: the reference system for the benchmark — stock socket.io 4.8 with
// @socket.io/redis-adapter on redis-server, websocket transport only, configured as the
// seed's socketService.ts would be when scaled out (its own plan), with the same rules as
// roomcast's gateway: a HS256 JWT in auth.token (else connect_error "unauthorized"), the
// socket joins user-{id} (and role rooms), and join-chat-room answers its ack {ok:true}.
//
// The tunings of Socket.IO's own performance page are applied, so the comparison is with
// Socket.IO at its documented best: the initial HTTP request is not kept per connection,
// and ws's native add-ons bufferutil and utf-8-validate are installed (package.json).
//
//   node bench/reference/server.mjs PORT REDIS_URL SECRET
// Prints {"type":"listening"} when ready. Over the IPC channel (spawned with "ipc") it
// answers "stats" with its counters: broadcasts the adapter received from Redis, sockets.
import http from "node:http";
import { createHmac, timingSafeEqual } from "node:crypto";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";

const [port, redisUrl, secret] = process.argv.slice(2);

function b64urlJson(s) {
  return JSON.parse(Buffer.from(s, "base64url").toString("utf8"));
}

// HS256 verification, as a jsonwebtoken.verify(token, secret, {algorithms:["HS256"]}).
function verify(token) {
  if (typeof token !== "string") return null;
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    if (b64urlJson(parts[0]).alg !== "HS256") return null;
    const want = createHmac("sha256", secret).update(`${parts[0]}.${parts[1]}`).digest();
    const got = Buffer.from(parts[2], "base64url");
    if (got.length !== want.length || !timingSafeEqual(got, want)) return null;
    const claims = b64urlJson(parts[1]);
    if (claims.exp && claims.exp * 1000 < Date.now()) return null;
    const id = claims.sub ?? claims.id ?? claims.userId;
    return id === undefined ? null : { id: String(id), role: claims.role };
  } catch {
    return null;
  }
}

const pub = createClient({ url: redisUrl });
const sub = pub.duplicate();
await Promise.all([pub.connect(), sub.connect()]);

const httpServer = http.createServer();
const io = new Server(httpServer, { transports: ["websocket"], serveClient: false, adapter: createAdapter(pub, sub) });
io.engine.on("connection", (rawSocket) => { rawSocket.request = null; });

io.use((socket, next) => {
  const user = verify(socket.handshake.auth?.token);
  if (!user) return next(new Error("unauthorized"));
  socket.data.user = user;
  next();
});

io.on("connection", (socket) => {
  const { id, role } = socket.data.user;
  socket.join(`user-${id}`);
  if (role === "buyer") socket.join([`buyer-${id}`, "buyers"]);
  else if (role === "seller") socket.join([`seller-${id}`, "sellers"]);
  else if (role === "admin") socket.join("admin");
  socket.on("join-chat-room", (chatId, ack) => {
    if (typeof chatId === "string" && chatId) socket.join(`chat-${chatId}`);
    if (typeof ack === "function") ack({ ok: true });
  });
  socket.on("leave-chat-room", (chatId, ack) => {
    socket.leave(`chat-${chatId}`);
    if (typeof ack === "function") ack({ ok: true });
  });
});

// Count what the adapter reads from Redis (every broadcast of every node reaches it).
let fromRedis = 0;
const adapter = io.of("/").adapter;
const onmessage = adapter.onmessage.bind(adapter);
adapter.onmessage = (pattern, channel, msg) => { fromRedis++; return onmessage(pattern, channel, msg); };

process.on("message", (m) => {
  if (m === "gc-stats" && global.gc) global.gc(); // node --expose-gc
  if (m === "stats" || m === "gc-stats")
    process.send({ fromRedis, sockets: io.engine.clientsCount, memory: process.memoryUsage() });
});

httpServer.listen(Number(port), "127.0.0.1", () => {
  console.log(JSON.stringify({ type: "listening", port: Number(port), pid: process.pid }));
});
