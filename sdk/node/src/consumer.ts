// The backend's side of client events: what sockets emit that roomcast does not handle
// itself reaches roomcast.client-events (CONTRACT §5, keyed by user id) with the sender's
// identity from its token. This consumer reads them in a consumer group (each event to
// one member of the group) and calls the handler registered for the event's name with
// its arguments, binary ones back as Buffers.
import { fromBinary } from "@bufbuild/protobuf";
import type { Consumer } from "kafkajs";

import { ClientEventSchema } from "./gen/roomcast/v1/events_pb.js";
import { kafkaClient, type KafkaOptions } from "./kafka.js";
import { checkTopicPrefix, CLIENT_EVENTS_TOPIC } from "./records.js";

/** Who sent a client event, and through which gateway. */
export interface ClientEventInfo {
  id: string;
  event: string;
  /** From the sender's token, never from the client. */
  userId: string;
  role: string;
  /** The sender's Socket.IO id. */
  sid: string;
  gateway: string;
  receivedAt: Date;
  /** Where it was read: for logs. */
  partition: number;
  offset: string;
}

/** Maps event names to their argument tuples, e.g. `{ "offer:draft": [{ price: number }] }`. */
export type ClientEvents = Record<string, unknown[]>;

export type ClientEventHandler<Args extends unknown[]> = (args: Args, info: ClientEventInfo) => unknown;

export interface ClientEventConsumerOptions extends KafkaOptions {
  /** The consumer group: every service that handles client events has its own. */
  groupId: string;
  topicPrefix?: string;
  /** Read from the oldest event the topic keeps when the group has no position yet (default: only new ones). */
  fromBeginning?: boolean;
  /** A handler that throws, or a record that does not decode, is reported here and skipped
   * (default: a line on stderr); handle retries in the handler. */
  onError?: (error: unknown, info: Partial<ClientEventInfo>) => void;
}

export interface ClientEventConsumer<E extends ClientEvents> {
  /** Handles one event name (one handler each; a later call replaces it). */
  on<K extends keyof E & string>(event: K, handler: ClientEventHandler<E[K]>): this;
  /** Every event without a handler of its own. */
  onAny(handler: (event: string, args: unknown[], info: ClientEventInfo) => unknown): this;
  /** Joins the group and starts handling; resolves once it runs. */
  start(): Promise<void>;
  /** Leaves the group after the event being handled. */
  stop(): Promise<void>;
}

/** Puts the Buffers of a Socket.IO binary event back where its placeholders are. */
function withAttachments(v: unknown, att: Uint8Array[]): unknown {
  if (Array.isArray(v)) return v.map((x) => withAttachments(x, att));
  if (typeof v !== "object" || v === null) return v;
  const o = v as Record<string, unknown>;
  if (o._placeholder === true && typeof o.num === "number" && att[o.num]) return Buffer.from(att[o.num]!);
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, withAttachments(x, att)]));
}

export function createClientEventConsumer<E extends ClientEvents = ClientEvents>(
  options: ClientEventConsumerOptions,
): ClientEventConsumer<E> {
  const prefix = options.topicPrefix ?? process.env.ROOMCAST_TOPIC_PREFIX ?? "";
  checkTopicPrefix(prefix);
  const handlers = new Map<string, ClientEventHandler<unknown[]>>();
  let any: ((event: string, args: unknown[], info: ClientEventInfo) => unknown) | null = null;
  const onError = options.onError ?? ((e, info) =>
    console.error(`@roomcast/emitter: client event ${info.event ?? "?"} ${info.id ?? ""} failed: ${(e as Error)?.message ?? String(e)}`));
  let consumer: Consumer | null = null;

  const api: ClientEventConsumer<E> = {
    on(event, handler) {
      handlers.set(event, handler as ClientEventHandler<unknown[]>);
      return this;
    },
    onAny(handler) {
      any = handler;
      return this;
    },
    async start() {
      if (consumer) return;
      consumer = kafkaClient(options, "roomcast-client-events").consumer({ groupId: options.groupId });
      await consumer.connect();
      await consumer.subscribe({ topic: prefix + CLIENT_EVENTS_TOPIC, fromBeginning: options.fromBeginning ?? false });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          const where = { partition, offset: message.offset };
          let info: ClientEventInfo;
          let args: unknown[];
          try {
            const m = fromBinary(ClientEventSchema, message.value ?? new Uint8Array());
            const parsed: unknown = JSON.parse(m.argsJson || "[]");
            if (!Array.isArray(parsed)) throw new Error("args_json is not a JSON array");
            args = withAttachments(parsed, m.attachments) as unknown[];
            info = { id: m.id, event: m.event, userId: m.userId, role: m.role, sid: m.sid, gateway: m.gateway,
              receivedAt: new Date(Number(m.receivedAtUs / 1000n)), ...where };
          } catch (e) {
            onError(e, where);
            return;
          }
          const h = handlers.get(info.event);
          try {
            if (h) await h(args, info);
            else if (any) await any(info.event, args, info);
          } catch (e) {
            onError(e, info);
          }
        },
      });
    },
    async stop() {
      const c = consumer;
      consumer = null;
      await c?.disconnect();
    },
  };
  return api;
}
