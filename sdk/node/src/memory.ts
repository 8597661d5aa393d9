// createMemoryEmitter: the emitter for a backend's unit tests (the seed's §9: tests mock
// the emitter through the indirection layer). It is the real emitter over a sink that
// keeps what it would have written instead of writing it: the same checks throw the same
// errors, and `records` holds the exact Kafka records, decoded, while `calls` holds the
// calls that passed their checks.
import { fromBinary } from "@bufbuild/protobuf";

import { DomainEventSchema, RoomEventSchema, type DomainEvent, type RoomEvent } from "./gen/roomcast/v1/events_pb.js";
import type { CatalogPayloads } from "./gen/routes.js";
import { EmitterCore, emitterOver, type Call, type Emitter, type EmitterOptions } from "./emitter.js";
import type { Sink, Written } from "./kafka.js";
import { ROOMS_TOPIC, type OutRecord } from "./records.js";

/** A record as written, decoded: a DomainEvent (domain.* topics) or a RoomEvent (the room
 * topic, events and control records), with its JSON fields parsed. */
export type SentRecord =
  | { topic: string; key: string; kind: "domain"; message: DomainEvent; payload: unknown }
  | { topic: string; key: string; kind: "room"; message: RoomEvent; args: unknown[] };

/** Decodes a record of a roomcast topic (the room topic is told by its name). */
export function decodeRecord(topic: string, key: string, value: Uint8Array): SentRecord {
  if (topic.endsWith(ROOMS_TOPIC)) {
    const message = fromBinary(RoomEventSchema, value);
    return { topic, key, kind: "room", message, args: message.argsJson ? (JSON.parse(message.argsJson) as unknown[]) : [] };
  }
  const message = fromBinary(DomainEventSchema, value);
  return { topic, key, kind: "domain", message, payload: JSON.parse(message.payloadJson) };
}

export interface MemoryEmitter<Catalog extends object = CatalogPayloads> extends Emitter<Catalog> {
  /** The calls made, in order (only those that passed their checks). */
  readonly calls: readonly Call[];
  /** The records a real emitter would have written, in order, decoded. */
  readonly records: readonly SentRecord[];
  /** Forgets calls and records. */
  reset(): void;
}

class MemorySink implements Sink {
  readonly records: SentRecord[] = [];
  write(records: OutRecord[]): Promise<Written[]> {
    for (const r of records) this.records.push(decodeRecord(r.topic, r.key, r.value));
    return Promise.resolve(records.map((r) => ({ topic: r.topic, key: r.key, partition: -1, offset: "-1" })));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A test double with the emitter's interface; options as createEmitter's (no Kafka). */
export function createMemoryEmitter<Catalog extends object = CatalogPayloads>(
  options: EmitterOptions = {},
): MemoryEmitter<Catalog> {
  const sink = new MemorySink();
  const calls: Call[] = [];
  const core = new EmitterCore(sink, { topicPrefix: "", ...options }, (c) => calls.push(c));
  return Object.assign(emitterOver<Catalog>(core), {
    calls,
    records: sink.records as readonly SentRecord[],
    reset() {
      calls.length = 0;
      sink.records.length = 0;
    },
  });
}
