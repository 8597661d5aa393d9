// The demo page's logic: the stock socket.io-client (window.io, the browser bundle), a
// dev token from the demo backend, the connection state as the client reports it, every
// event as it arrives, and publishing the catalog's domain events through the backend.
// The client's options come from /api/config (server.mjs), where switching from
// WebSocket-only to the client's defaults is one line.
"use strict";
const $ = (id) => document.getElementById(id);
let config, socket, me;

// A sample payload for each domain type of the catalog (CONTRACT §6), addressed to the
// logged-in user and "the other party" so both see what the routing table sends them.
function sample(type, self, role, peer) {
  const buyer = role === "seller" ? peer : self;
  const seller = role === "seller" ? self : peer;
  const now = new Date().toISOString();
  const id = (p) => `${p}${Math.floor(Math.random() * 1000)}`;
  const samples = {
    "notification.created": { notification: { _id: id("n"), recipientId: self, title: "Hello", read: false } },
    "notification.read": { id: "n1", userId: self, readAt: now },
    "request.created": { request: { _id: "r1", buyerId: buyer, title: "Desk lamp", budget: 40 } },
    "offer.created": { requestId: "r1", buyerId: buyer, offer: { _id: "o1", sellerId: seller, price: 38 } },
    "request.status_updated": { requestId: "r1", status: "accepted" },
    "offer.countered": { offerId: "o1", requestId: "r1", message: "35?" },
    "offer.accepted": { offerId: "o1", sellerId: seller, buyerId: buyer },
    "payment.created": { payment: { _id: "p1", buyerId: buyer, sellerId: seller, amount: "38.00" } },
    "payment.status_updated": { paymentId: "p1", status: "confirmed", providerPaymentId: "x1", buyerId: buyer, sellerId: seller },
    "payment.completed": { paymentId: "p1", buyerId: buyer, sellerId: seller },
    "payout.created": { payout: { _id: "po1", sellerId: seller, amount: "36.10" } },
    "payout.completed": { payoutId: "po1", txHash: "0xabc", sellerId: seller },
    "chat.message_created": { message: { _id: id("m"), chatId: "c1", senderId: self, participantIds: [self, peer], text: "hi" } },
    "chat.message_read": { chatId: "c1", messageId: "m1", userId: self, readAt: now },
    "dispute.opened": { dispute: { _id: "d1", requestId: "r1", reason: "not as described" } },
    "dispute.evidence_added": { disputeId: "d1", requestId: "r1", evidence: { url: "https://example.com/e.png" } },
    "dispute.resolved": { disputeId: "d1", resolution: "refund", requestId: "r1", buyerId: buyer, sellerId: seller },
    "system.maintenance": { message: "Maintenance tonight", startsAt: now },
    "system.announcement": { message: "Hello, everyone" },
  };
  return samples[type] ?? {};
}

async function post(path, body) {
  const r = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const out = await r.json();
  if (!r.ok) throw new Error(out.error || r.statusText);
  return out;
}

function setState(state, detail = "") {
  $("state").dataset.state = state;
  $("state").textContent = state;
  $("detail").textContent = detail;
}

function addEvent(event, args) {
  const li = document.createElement("li");
  li.dataset.event = event;
  const time = document.createElement("time");
  time.textContent = new Date().toLocaleTimeString();
  const name = document.createElement("b");
  name.textContent = event;
  // Catalog events carry one payload. With connection state recovery the server adds the
  // event's offset as a last string argument (as the stock Socket.IO server does): shown apart.
  const payload = document.createElement("code");
  payload.textContent = JSON.stringify(args[0]);
  li.append(time, name, payload);
  if (args.length > 1) {
    const rest = document.createElement("small");
    rest.className = "extra";
    rest.textContent = ` + ${args.slice(1).map((a) => JSON.stringify(a)).join(", ")}`;
    li.append(rest);
  }
  $("events").prepend(li);
  $("count").textContent = String($("events").children.length);
}

function choose(type) {
  $("type").textContent = type;
  $("payload").value = JSON.stringify(sample(type, me.user, me.role, $("peer").value), null, 2);
}

async function login() {
  const user = $("user").value.trim();
  const role = $("role").value;
  const { token } = await post("/api/token", { sub: user, role });
  me = { user, role };
  $("who").textContent = `${user} (${role})`;
  $("peer").value = role === "seller" ? "b1" : "s1";
  $("login-panel").classList.add("hidden");
  $("session").classList.remove("hidden");
  $("publish-panel").classList.remove("hidden");
  choose($("type").textContent);

  setState("connecting");
  socket = io(config.gatewayUrl, { ...config.clientOptions, auth: { token } });
  socket.on("connect", () => {
    const engine = socket.io.engine;
    setState("connected", `sid ${socket.id} over ${engine.transport.name}`);
    engine.once("upgrade", (t) => setState("connected", `sid ${socket.id} over ${t.name}`));
  });
  socket.on("disconnect", (reason) => setState(socket.active ? "reconnecting" : "disconnected", reason));
  socket.on("connect_error", (err) => setState(socket.active ? "reconnecting" : "error", err.message));
  socket.onAny((event, ...args) => addEvent(event, args));
}

function logout() {
  socket?.close();
  socket = null;
  setState("disconnected");
  $("session").classList.add("hidden");
  $("publish-panel").classList.add("hidden");
  $("login-panel").classList.remove("hidden");
}

async function join(kind, id) {
  const room = `${kind}-${id}`;
  try {
    const { token: grant } = await post("/api/token", { sub: me.user, room });
    const ack = await socket.timeout(5000).emitWithAck(`join-${kind}-room`, id, grant);
    $("join-result").textContent = `${room}: ${JSON.stringify(ack)}`;
  } catch (e) {
    $("join-result").textContent = `${room}: ${e.message}`;
  }
}

async function publish() {
  $("result").textContent = "…";
  try {
    const out = await post("/api/publish", { type: $("type").textContent, payload: JSON.parse($("payload").value) });
    $("result").textContent = `published ${out.result}`;
  } catch (e) {
    $("result").textContent = `failed: ${e.message}`;
  }
}

(async () => {
  config = await (await fetch("/api/config")).json();
  for (const type of config.types) {
    const b = document.createElement("button");
    b.textContent = type;
    b.dataset.type = type;
    b.addEventListener("click", () => choose(type));
    $("types").append(b);
  }
  $("login").addEventListener("click", () => login().catch((e) => setState("error", e.message)));
  $("logout").addEventListener("click", logout);
  $("publish").addEventListener("click", publish);
  $("join-request").addEventListener("click", () => join("request", $("request").value.trim()));
  $("join-chat").addEventListener("click", () => join("chat", $("chat").value.trim()));
  $("peer").addEventListener("change", () => choose($("type").textContent));
  document.body.dataset.ready = "true";
})();
