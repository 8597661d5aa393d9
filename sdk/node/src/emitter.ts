// The emitter: what a backend calls instead of socketService.ts. Every call is checked
// first (the routing table for publish; rooms, event names and arguments for the rest)
// and throws at once when something is wrong, before anything is written; then it writes
// through a sink (Kafka, or memory for tests) and returns a promise of where the records
// went. A caller may ignore that promise as Socket.IO's emit is ignored: a failed write
// then goes to onError (by default one line on stderr) instead of an unhandled rejection.
import { shippedRoutesJson, type CatalogPayloads } from "./gen/routes.js";
import type { Sink, Written } from "./kafka.js";
import {
  checkEventName, checkRoom, checkRooms, checkTopicPrefix, CONTROL_MAX_ROOMS, controlRecords,
  domainRecord, roomEventRecords, type ControlAction, type Copies, type DomainOptions,
} from "./records.js";
import { RoutingTable, type RoutesJson } from "./routes.js";

/** Where the records of one call went. */
export interface SendResult {
  /** The id of the event or control record (the same in every copy). */
  id: string;
  /** One entry per record: topic, key, partition and offset (-1 from the memory emitter). */
  records: Written[];
}

/** What publish wrote, and what the fanout will make of it. */
export interface PublishResult extends SendResult {
  /** The socket event the fanout will emit. */
  event: string;
  /** The rooms it will reach. */
  rooms: string[];
}

type Rooms = string | readonly string[];

/** What can be done to the sockets of some rooms, on every gateway. */
export interface SocketsOperations {
  /** Emits event with args to every socket in the rooms (a socket in several of them gets it once). */
  emit(event: string, ...args: unknown[]): Promise<SendResult>;
  /** The sockets in the rooms join rooms (1 to 64). */
  socketsJoin(rooms: Rooms): Promise<SendResult>;
  /** The sockets in the rooms leave rooms (1 to 64). */
  socketsLeave(rooms: Rooms): Promise<SendResult>;
  /** Disconnects the sockets in the rooms ("io server disconnect": the stock client does
   * not reconnect by itself); close: the connection is closed too. */
  disconnectSockets(close?: boolean): Promise<SendResult>;
}

/** Socket.IO-emitter style targeting: `to(room).emit(...)`, `in(room).socketsJoin(...)`. */
export interface BroadcastOperator extends SocketsOperations {
  /** Adds target rooms. */
  to(room: Rooms): BroadcastOperator;
  in(room: Rooms): BroadcastOperator;
}

/** The emitter. Catalog maps each domain type to its payload (the shipped catalog by
 * default). Its own emit, socketsJoin, socketsLeave and disconnectSockets reach every
 * socket, as Socket.IO's `io.emit`... (room "*"). */
export interface Emitter<Catalog extends object = CatalogPayloads> extends SocketsOperations {
  /** Publishes a domain event; the fanout routes it (CONTRACT §6). Throws a RoutingError
   * naming the field when the fanout would refuse the payload. */
  publish<T extends keyof Catalog & string>(type: T, payload: Catalog[T], options?: DomainOptions): Promise<PublishResult>;
  /** The seed's helpers (socketService.ts), same names and arguments. */
  emitToRoom(room: string, event: string, payload: unknown): Promise<SendResult>;
  emitToUser(userId: string, event: string, payload: unknown): Promise<SendResult>;
  emitToSellers(event: string, payload: unknown): Promise<SendResult>;
  emitToBuyers(event: string, payload: unknown): Promise<SendResult>;
  emitGlobalEvent(event: string, payload: unknown): Promise<SendResult>;
  to(room: Rooms): BroadcastOperator;
  in(room: Rooms): BroadcastOperator;
  /** Waits for every pending write, then disconnects; later calls throw. */
  close(): Promise<void>;
}

export interface EmitterOptions {
  /** Prepended to every topic name (default: ROOMCAST_TOPIC_PREFIX, else empty). */
  topicPrefix?: string;
  /** A routing table other than the shipped one (ROOMCAST_ROUTES_FILE's JSON). */
  routes?: string | RoutesJson;
  /** DomainEvent.producer: who wrote it (default "roomcast-emitter"). */
  producer?: string;
  /** Called with every failed write (the call's promise rejects too). Default: a line on stderr. */
  onError?: (error: unknown, call: { method: string; id: string }) => void;
}

const shipped = new RoutingTable(shippedRoutesJson, "shipped routes.json");
const list = (r: Rooms): readonly unknown[] => (Array.isArray(r) ? r : [r]);

/** A call as the memory emitter records it: the method, the target rooms for the
 * room-scoped ones (`to(...)`/`in(...)`, or ["*"] for the emitter's own emit, socketsJoin,
 * socketsLeave and disconnectSockets), and the arguments as given. Only calls that passed
 * their checks are recorded: they are what a real emitter would have written. */
export interface Call {
  method: string;
  rooms?: string[];
  args: unknown[];
}

export class EmitterCore {
  readonly prefix: string;
  readonly routes: RoutingTable;
  private readonly producer: string;
  private readonly onError: NonNullable<EmitterOptions["onError"]>;
  private closed = false;

  constructor(private readonly sink: Sink, opts: EmitterOptions, private readonly record?: (c: Call) => void) {
    this.prefix = opts.topicPrefix ?? process.env.ROOMCAST_TOPIC_PREFIX ?? "";
    checkTopicPrefix(this.prefix);
    this.routes = opts.routes === undefined ? shipped : new RoutingTable(opts.routes, "routes");
    this.producer = opts.producer ?? "roomcast-emitter";
    this.onError = opts.onError ?? ((e, c) =>
      console.error(`@roomcast/emitter: ${c.method} ${c.id} failed: ${(e as Error)?.message ?? String(e)}`));
  }

  /** Records the call and writes its records (checked already). The promise is watched,
   * so a caller may ignore it. */
  private send<R extends SendResult>(call: Call, copies: Copies, extra: Omit<R, keyof SendResult>): Promise<R> {
    if (this.closed) throw new Error("@roomcast/emitter: the emitter is closed");
    this.record?.(call);
    const p = this.sink.write(copies.records).then((records) => ({ id: copies.id, records, ...extra }) as R);
    p.catch((e) => this.onError(e, { method: call.method, id: copies.id }));
    return p;
  }

  publish(call: Call, type: string, payload: unknown, options?: DomainOptions): Promise<PublishResult> {
    const routed = this.routes.apply(type, payload); // throws RoutingError
    const rec = domainRecord(this.prefix, type, JSON.stringify(payload), payload as Record<string, unknown>,
      this.producer, options);
    return this.send<PublishResult>(call, { id: rec.id, records: [rec] }, { event: routed.event, rooms: routed.rooms });
  }

  emit(call: Call, rooms: readonly string[], event: string, args: readonly unknown[]): Promise<SendResult> {
    return this.send(call, roomEventRecords(this.prefix, rooms, checkEventName(event), args), {});
  }

  control(call: Call, targets: readonly string[], action: ControlAction, rooms: Rooms | null, close = false): Promise<SendResult> {
    const names = rooms === null ? [] : checkRooms(list(rooms), `room to ${action}`, CONTROL_MAX_ROOMS);
    if (typeof close !== "boolean") throw new TypeError("disconnectSockets(close): close must be a boolean");
    return this.send(call, controlRecords(this.prefix, targets, action, names, close), {});
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.record?.({ method: "close", args: [] });
    await this.sink.close();
  }
}

const targets = (r: Rooms): string[] => checkRooms(list(r), "target room", 1000);

class Operator implements BroadcastOperator {
  constructor(private readonly core: EmitterCore, private readonly rooms: readonly string[]) {}
  to(room: Rooms): BroadcastOperator {
    return new Operator(this.core, checkRooms([...this.rooms, ...list(room)], "target room", 1000));
  }
  in(room: Rooms): BroadcastOperator {
    return this.to(room);
  }
  private call(method: string, args: unknown[]): Call {
    return { method, rooms: [...this.rooms], args };
  }
  emit(event: string, ...args: unknown[]): Promise<SendResult> {
    return this.core.emit(this.call("emit", [event, ...args]), this.rooms, event, args);
  }
  socketsJoin(rooms: Rooms): Promise<SendResult> {
    return this.core.control(this.call("socketsJoin", [rooms]), this.rooms, "join", rooms);
  }
  socketsLeave(rooms: Rooms): Promise<SendResult> {
    return this.core.control(this.call("socketsLeave", [rooms]), this.rooms, "leave", rooms);
  }
  disconnectSockets(close = false): Promise<SendResult> {
    return this.core.control(this.call("disconnectSockets", [close]), this.rooms, "disconnect", null, close);
  }
}

/** Builds the public emitter over a core. */
export function emitterOver<Catalog extends object>(core: EmitterCore): Emitter<Catalog> {
  const all = new Operator(core, ["*"]);
  const helper = (method: string, args: unknown[], room: unknown, event: string, payload: unknown) =>
    core.emit({ method, args }, [checkRoom(room, "room")], event, [payload]);
  return {
    publish: (type, payload, options) =>
      core.publish({ method: "publish", args: options ? [type, payload, options] : [type, payload] }, type, payload, options),
    emitToRoom: (room, event, payload) => helper("emitToRoom", [room, event, payload], room, event, payload),
    emitToUser: (userId, event, payload) =>
      helper("emitToUser", [userId, event, payload], typeof userId === "string" || typeof userId === "number" ? `user-${userId}` : userId, event, payload),
    emitToSellers: (event, payload) => helper("emitToSellers", [event, payload], "sellers", event, payload),
    emitToBuyers: (event, payload) => helper("emitToBuyers", [event, payload], "buyers", event, payload),
    emitGlobalEvent: (event, payload) => helper("emitGlobalEvent", [event, payload], "*", event, payload),
    to: (room) => new Operator(core, targets(room)),
    in: (room) => new Operator(core, targets(room)),
    emit: (event, ...args) => all.emit(event, ...args),
    socketsJoin: (rooms) => all.socketsJoin(rooms),
    socketsLeave: (rooms) => all.socketsLeave(rooms),
    disconnectSockets: (close) => all.disconnectSockets(close),
    close: () => core.close(),
  };
}
