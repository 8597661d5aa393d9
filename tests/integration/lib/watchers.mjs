// watchers.mjs: exactly-once as a user sees it. A set of stock socket.io-clients that
// between them are in every room a test's events go to, each recording which events it
// received; `check` then says, per socket, what it missed and what it got twice.
//
//   const w = await startWatchers(env, gatewayUrl, rooms, idOf)
//     rooms: the room names events go to: "user-X" gets its own socket (a token for X);
//            the other rooms are joined by shared sockets, 40 rooms each (the gateway
//            must run with ROOMCAST_ROOM_POLICY=open)
//     idOf(event, arg) -> the event's id, from its payload
//   w.count()                      events received so far, all sockets
//   w.check(expected)              expected: Map "id room" -> true (as tests build it);
//                                  -> { missing: ["id room"], dup: ["id room xN"] }
//   await w.close()
import { io } from "socket.io-client";
import { token, waitFor, withoutOffset } from "./harness.mjs";

export async function startWatchers(env, url, rooms, idOf, { roomOf } = {}) {
  const users = [...new Set(rooms.filter((r) => r.startsWith("user-")))];
  const others = [...new Set(rooms.filter((r) => !r.startsWith("user-")))];
  const sockets = [];
  const open = (tok, rs) => {
    const s = io(url, { auth: { token: tok }, transports: ["websocket"], reconnectionDelay: 100,
      reconnectionDelayMax: 500, randomizationFactor: 0 });
    s.rooms = rs;
    s.got = new Map(); // id -> times
    s.n = 0;
    s.onAny((event, ...args) => {
      const id = idOf(event, withoutOffset(args)[0]);
      s.got.set(id, (s.got.get(id) ?? 0) + 1);
      s.n++;
    });
    sockets.push(s);
    return s;
  };
  try {
    for (const u of users) open(await token(env, u.slice("user-".length)), [u]);
    // the other rooms shared out, 40 a socket (a socket may be in 64 rooms at most)
    const shared = [];
    for (let i = 0; i < others.length; i += 40)
      shared.push(open(await token(env, `watcher${i / 40}`), others.slice(i, i + 40)));
    await waitFor("watchers connected", () => sockets.every((s) => s.connected), 30000);
    for (const s of shared)
      for (const r of s.rooms) {
        const dash = r.indexOf("-");
        const ack = await s.emitWithAck(`join-${r.slice(0, dash)}-room`, r.slice(dash + 1));
        if (!ack?.ok) throw new Error(`could not join ${r}: ${JSON.stringify(ack)}`);
      }
  } catch (e) {
    for (const s of sockets) s.close(); // or they keep the test process alive
    throw e;
  }
  const byRoom = new Map();
  for (const s of sockets) for (const r of s.rooms) byRoom.set(r, s);
  return {
    sockets,
    count: () => sockets.reduce((n, s) => n + s.n, 0),
    check(expected) {
      // what each socket should have: the ids of the events aimed at its rooms (once)
      const want = new Map(sockets.map((s) => [s, new Set()]));
      for (const k of expected.keys()) {
        const [id, room] = k.split(" ");
        const s = byRoom.get(roomOf ? roomOf(room) : room);
        if (s) want.get(s).add(id);
      }
      const missing = [], dup = [], extra = [];
      for (const s of sockets) {
        const w = want.get(s);
        for (const id of w) if (!s.got.has(id)) missing.push(`${id} ${s.rooms.length > 1 ? "(shared)" : s.rooms[0]}`);
        for (const [id, n] of s.got) {
          if (n > 1) dup.push(`${id} ${s.rooms.length > 1 ? "(shared)" : s.rooms[0]} x${n}`);
          if (!w.has(id)) extra.push(id);
        }
      }
      return { missing, dup, extra };
    },
    expectedCount(expected) {
      let n = 0;
      for (const k of expected.keys()) if (byRoom.has(k.split(" ")[1])) n++;
      return n;
    },
    async close() { for (const s of sockets) s.close(); },
  };
}
