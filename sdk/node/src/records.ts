// The Kafka records the emitter writes, built exactly as roomcast's own writers build
// them (CONTRACT §5): a DomainEvent per publish on domain.<family> keyed by aggregate id
// (`roomcast publish`); a RoomEvent copy per target room on roomcast.rooms keyed by that
// room, all copies with one id and the full room list (the fanout, `roomcast emit`); a
// control record the same way with RoomEvent.control set (`roomcast sockets`). Pure:
// every check happens here, before anything is handed to Kafka.
import { randomUUID } from "node:crypto";
import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";

import {
  DomainEventSchema,
  RoomControl_Action,
  RoomControlSchema,
  RoomEventSchema,
} from "./gen/roomcast/v1/events_pb.js";
import { jsonOutOfReach, ROOM_MAX } from "./routes.js";

export const ROOMS_TOPIC = "roomcast.rooms";
export const CLIENT_EVENTS_TOPIC = "roomcast.client-events";
/** Rooms one control record may make sockets join or leave (gateway/control.h). */
export const CONTROL_MAX_ROOMS = 64;
/** Binary arguments one event may carry (the gateway's limit, as Socket.IO's parser). */
export const MAX_ATTACHMENTS = 10;
/** Socket.IO's reserved event names, which no server may emit. */
export const RESERVED_EVENTS = ["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"];
const ROOMS_MAX = 1000;

/** One record to write: topic (with the prefix), key and value bytes. */
export interface OutRecord {
  topic: string;
  key: string;
  value: Uint8Array;
}

/** A call refused before anything was written: bad room, event name or arguments. */
export class EmitError extends Error {
  override readonly name = "EmitError";
}

const utf8 = new TextEncoder();
// eslint-disable-next-line no-control-regex
const CTL = /[\u0000-\u001f\u007f]/;

/** Checks a topic prefix as the binaries do (ROOMCAST_TOPIC_PREFIX). */
export function checkTopicPrefix(prefix: string): void {
  if (!/^[A-Za-z0-9._-]*$/.test(prefix) || prefix.length > 180)
    throw new EmitError(`topicPrefix "${prefix}" has characters Kafka does not allow in topic names (use letters, digits, . _ -)`);
}

/** The domain topic of a type: its family before the first dot ("offer.created" ->
 * "domain.offer"), except that payouts travel with payments. */
export function domainTopicForType(type: string): string {
  const dot = type.indexOf(".");
  if (dot <= 0) throw new EmitError(`"${type}" has no family (the part before its first dot)`);
  const family = type.slice(0, dot);
  return `domain.${family === "payout" ? "payment" : family}`;
}

/** A room name as a target or a room to join: 1 to 200 bytes, no control character. */
export function checkRoom(room: unknown, what = "room"): string {
  if (typeof room !== "string" || room === "" || utf8.encode(room).length > ROOM_MAX || CTL.test(room))
    throw new EmitError(`${what} ${JSON.stringify(room)} must be 1 to ${ROOM_MAX} bytes with no control character`);
  return room;
}

/** Target rooms, de-duplicated in order. */
export function checkRooms(rooms: readonly unknown[], what: string, max: number): string[] {
  const out: string[] = [];
  for (const r of rooms) {
    const room = checkRoom(r, what);
    if (!out.includes(room)) out.push(room);
  }
  if (out.length === 0) throw new EmitError(`no ${what} given`);
  if (out.length > max) throw new EmitError(`more than ${max} ${what}s`);
  return out;
}

export function checkEventName(event: unknown): string {
  if (typeof event !== "string" || event === "")
    throw new EmitError(`the event name must be a non-empty string, not ${JSON.stringify(event)}`);
  if (RESERVED_EVENTS.includes(event)) throw new EmitError(`"${event}" is a reserved Socket.IO event name`);
  return event;
}

const isBinary = (v: unknown): v is Uint8Array | ArrayBuffer =>
  v instanceof Uint8Array || v instanceof ArrayBuffer;

/** Arguments as Socket.IO sends them: binary values become placeholders and travel as
 * attachments; the rest is JSON. Throws for what the gateway would refuse. */
export function encodeArgs(args: readonly unknown[]): { json: string; attachments: Uint8Array[] } {
  const attachments: Uint8Array[] = [];
  const seen = new Set<unknown>();
  const walk = (v: unknown): unknown => {
    if (isBinary(v)) {
      if (attachments.length === MAX_ATTACHMENTS) throw new EmitError(`more than ${MAX_ATTACHMENTS} binary arguments`);
      attachments.push(v instanceof ArrayBuffer ? new Uint8Array(v) : v);
      return { _placeholder: true, num: attachments.length - 1 };
    }
    if (typeof v === "function") throw new EmitError("acknowledgements are not supported by an emitter");
    if (typeof v !== "object" || v === null) return v;
    if (typeof (v as { toJSON?: unknown }).toJSON === "function") return v;
    if (seen.has(v)) throw new EmitError("an argument refers to itself");
    seen.add(v);
    const out = Array.isArray(v) ? v.map(walk) : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    seen.delete(v);
    return out;
  };
  let json: string;
  try {
    json = JSON.stringify(args.map(walk));
  } catch (e) {
    if (e instanceof EmitError) throw e;
    throw new EmitError(`the arguments are not JSON: ${(e as Error).message}`);
  }
  const why = jsonOutOfReach(JSON.parse(json));
  if (why) throw new EmitError(`the arguments hold what the gateway cannot read: ${why}`);
  return { json, attachments };
}

const nowUs = (): bigint => BigInt(Date.now()) * 1000n;

/** One copy per target room, each keyed by its room, one id for all. */
function roomCopies(
  prefix: string, id: string, rooms: readonly string[],
  fields: MessageInitShape<typeof RoomEventSchema>,
): OutRecord[] {
  const producedAtUs = nowUs();
  return rooms.map((room) => ({
    topic: prefix + ROOMS_TOPIC,
    key: room,
    value: toBinary(RoomEventSchema, create(RoomEventSchema, { ...fields, id, room, rooms: [...rooms], producedAtUs })),
  }));
}

/** Records that carry one id (the copies of an event or a control record). */
export interface Copies {
  id: string;
  records: OutRecord[];
}

/** The RoomEvents of `to(rooms).emit(event, ...args)`. */
export function roomEventRecords(prefix: string, rooms: readonly string[], event: string, args: readonly unknown[],
  id: string = randomUUID()): Copies {
  const { json, attachments } = encodeArgs(args);
  return { id, records: roomCopies(prefix, id, rooms, { event, argsJson: json, attachments }) };
}

export type ControlAction = "join" | "leave" | "disconnect";
const ACTIONS: Record<ControlAction, RoomControl_Action> = {
  join: RoomControl_Action.JOIN,
  leave: RoomControl_Action.LEAVE,
  disconnect: RoomControl_Action.DISCONNECT,
};

/** The control records of `in(rooms).socketsJoin(r)`, `socketsLeave(r)`, `disconnectSockets(close)`. */
export function controlRecords(prefix: string, targets: readonly string[], action: ControlAction,
  rooms: readonly string[], close = false, id: string = randomUUID()): Copies {
  const control = create(RoomControlSchema, { action: ACTIONS[action], rooms: [...rooms], close });
  return { id, records: roomCopies(prefix, id, targets, { control }) };
}

/** The Kafka key of a domain event: the option, else the payload's first top-level
 * "...Id" string, else the id of its first object field (a nested entity), else the event
 * id: as `roomcast publish` picks it. */
export function aggregateId(payload: Record<string, unknown>, eventId: string): string {
  for (const [k, v] of Object.entries(payload)) if (k.length > 2 && k.endsWith("Id") && typeof v === "string") return v;
  for (const v of Object.values(payload))
    if (typeof v === "object" && v !== null && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const id = "id" in o ? o.id : o._id;
      if (typeof id === "string") return id;
    }
  return eventId;
}

export interface DomainOptions {
  /** The event id (default: a new UUID); becomes the room events' source id. */
  id?: string;
  /** The Kafka key (default: see aggregateId). */
  key?: string;
  /** When it happened (default: now). */
  occurredAt?: Date;
}

/** The DomainEvent of `publish(type, payload)`; the payload has passed the routing table. */
export function domainRecord(prefix: string, type: string, payloadJson: string, payload: Record<string, unknown>,
  producer: string, opts: DomainOptions = {}): OutRecord & { id: string } {
  const id = opts.id ?? randomUUID();
  if (!/^[A-Za-z0-9._:-]{1,36}$/.test(id)) throw new EmitError(`id "${id}" is not 1 to 36 characters of A-Z a-z 0-9 . _ : -`);
  const key = opts.key ?? aggregateId(payload, id);
  const ev = create(DomainEventSchema, {
    id, type, aggregateId: key, payloadJson, producer,
    occurredAtMs: BigInt((opts.occurredAt ?? new Date()).getTime()),
  });
  return { id, topic: prefix + domainTopicForType(type), key, value: toBinary(DomainEventSchema, ev) };
}
