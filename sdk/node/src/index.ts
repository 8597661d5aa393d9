// @roomcast/emitter: publish to roomcast from Node/TypeScript (see README.md).
import type { CatalogPayloads } from "./gen/routes.js";
import { EmitterCore, emitterOver, type Emitter, type EmitterOptions } from "./emitter.js";
import { KafkaSink, type KafkaOptions } from "./kafka.js";

export type { BroadcastOperator, Call, Emitter, EmitterOptions, PublishResult, SendResult, SocketsOperations } from "./emitter.js";
export type { CatalogPayloads, DomainType, Present, RoomId } from "./gen/routes.js";
export type { KafkaOptions, Written } from "./kafka.js";
export { QueueFullError } from "./kafka.js";
export { EmitError, domainTopicForType, CONTROL_MAX_ROOMS, MAX_ATTACHMENTS, ROOMS_TOPIC, CLIENT_EVENTS_TOPIC } from "./records.js";
export type { DomainOptions } from "./records.js";
export { RoutingError, RoutingTable, type RouteFailure, type Routed, type RoutesJson } from "./routes.js";
export { createMemoryEmitter, decodeRecord, type MemoryEmitter, type SentRecord } from "./memory.js";
export {
  createClientEventConsumer, type ClientEventConsumer, type ClientEventConsumerOptions, type ClientEventHandler,
  type ClientEventInfo, type ClientEvents,
} from "./consumer.js";
export {
  ClientEventSchema, DomainEventSchema, RoomControlSchema, RoomControl_Action, RoomEventSchema,
  type ClientEvent, type DomainEvent, type RoomControl, type RoomEvent,
} from "./gen/roomcast/v1/events_pb.js";

/** Options of createEmitter: Kafka's (brokers, ssl, sasl...) and the emitter's. */
export type CreateEmitterOptions = KafkaOptions & EmitterOptions;

/** An emitter that writes to Kafka. Nothing connects until the first call. */
export function createEmitter<Catalog extends object = CatalogPayloads>(
  options: CreateEmitterOptions = {},
): Emitter<Catalog> {
  return emitterOver<Catalog>(new EmitterCore(new KafkaSink(options), options));
}
