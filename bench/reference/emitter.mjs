// emitter.mjs: the benchmark's backend for the reference system: @socket.io/redis-emitter
// publishing to Redis, which is how a backend service emits into a Socket.IO cluster. It
// takes the same stdin commands as bench/kproduce.c (roomcast's backend) and writes the
// same payloads, each stamped (Unix µs) as "t" with its emit time, or for `rate` with
// the time it was due (open loop, as kproduce):
//   credit N | rate R S CHATS | flood N ROOMS | quit
// (see bench/kproduce.c). rate and flood answer {"type":"done",...} when Redis has all.
import readline from "node:readline";
import { Emitter } from "@socket.io/redis-emitter";
import { createClient } from "redis";

const [redisUrl, room = "bench"] = process.argv.slice(2);
const client = createClient({ url: redisUrl });
await client.connect();
const emitter = new Emitter(client);

const nowUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let seq = 0;

function credit(n) {
  for (let i = 0; i < n; i++)
    emitter.to(`chat-${room}`).emit("chat:new-message", { chatId: room, text: "hello from the benchmark", t: nowUs() });
}

// t: the event's due time (open loop: a late emit shows as latency)
function chatEvent(chats, t) {
  const j = Math.floor(Math.random() * chats);
  const message = { id: `m${seq++}`, chatId: `c${j}`, participantIds: [`u${j}`, `u${(j + 1) % chats}`],
    text: "hello from the benchmark", t: Math.round(t) };
  // what the seed's emitToRoom / emitToUser helpers amount to for chat.message_created:
  // the chat room and each participant's user room, each socket once
  emitter.to([`chat-c${j}`, `user-u${j}`, `user-u${(j + 1) % chats}`]).emit("chat:new-message", message);
}

async function done(what, n, start) {
  await client.ping(); // every earlier command has been answered
  const seconds = (nowUs() - start) / 1e6;
  console.log(JSON.stringify({ type: "done", what, produced: n, failed: 0, seconds, per_s: n / seconds }));
}

async function rate(r, s, chats) {
  const start = nowUs();
  const total = r * s;
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1e6) / r;
    const wait = due - nowUs();
    if (wait > 1000) await sleep(wait / 1000);
    chatEvent(chats, due);
  }
  await done("rate", total, start);
}

async function flood(n, rooms) {
  const start = nowUs();
  for (let i = 0; i < n; i++) {
    emitter.to(`nobody-${i % rooms}`).emit("chat:new-message", { chatId: "x", text: "nobody is here" });
    if (i % 1000 === 999) await client.ping();
  }
  await done("flood", n, start);
}

const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
  const w = line.trim().split(/\s+/);
  if (w[0] === "credit") credit(Number(w[1]));
  else if (w[0] === "rate") await rate(Number(w[1]), Number(w[2]), Number(w[3]));
  else if (w[0] === "flood") await flood(Number(w[1]), Number(w[2]));
  else if (w[0] === "quit") break;
}
await client.quit();
