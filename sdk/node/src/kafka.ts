// The Kafka side of the emitter: one kafkajs producer, idempotent (acks from every
// in-sync replica, no duplicates from its retries), with the Java client's murmur2
// partitioner, so a key lands on the partition that librdkafka's murmur2_random (the
// fanout, the gateways, the CLI) picks for it and per-room order holds across writers.
//
// Writes are batched without waiting: while one produce request is in flight, the
// records of every call made meanwhile queue up and leave together in the next one, in
// call order. Only one request is in flight at a time, so calls reach Kafka in order.
import { Kafka, Partitioners, logLevel, type KafkaConfig, type Message, type Producer, type SASLOptions } from "kafkajs";
import type { ConnectionOptions } from "node:tls";

import type { OutRecord } from "./records.js";

/** Where a record went. */
export interface Written {
  topic: string;
  key: string;
  partition: number;
  offset: string;
}

/** What the emitter writes through: Kafka, or memory (createMemoryEmitter). */
export interface Sink {
  write(records: OutRecord[]): Promise<Written[]>;
  close(): Promise<void>;
}

export interface KafkaOptions {
  /** Bootstrap servers: "host:port" or a list (default: ROOMCAST_KAFKA_BROKERS, else localhost:9092). */
  brokers?: string | readonly string[];
  /** Kafka client id (default "roomcast-emitter"). */
  clientId?: string;
  /** TLS: true, or Node's tls.connect options (CA, client certificate...), passed to kafkajs. */
  ssl?: boolean | ConnectionOptions;
  /** SASL (plain, scram-sha-256, scram-sha-512, aws, oauthbearer), passed to kafkajs. */
  sasl?: SASLOptions;
  /** Anything else kafkajs's Kafka constructor takes (timeouts, retry, logCreator...). */
  kafka?: Partial<KafkaConfig>;
  /** Records waiting for Kafka at most; past it a call is refused at once (default 100000). */
  maxQueued?: number;
}

export function brokerList(brokers: string | readonly string[] | undefined): string[] {
  const list = brokers ?? process.env.ROOMCAST_KAFKA_BROKERS ?? "localhost:9092";
  return (typeof list === "string" ? list.split(",") : [...list]).map((b) => b.trim()).filter(Boolean);
}

export function kafkaClient(opts: KafkaOptions, defaultId: string): Kafka {
  return new Kafka({
    clientId: opts.clientId ?? defaultId,
    brokers: brokerList(opts.brokers),
    logLevel: logLevel.WARN,
    ...(opts.ssl !== undefined ? { ssl: opts.ssl } : {}),
    ...(opts.sasl !== undefined ? { sasl: opts.sasl } : {}),
    ...opts.kafka,
  } as KafkaConfig);
}

interface Pending {
  records: OutRecord[];
  resolve: (w: Written[]) => void;
  reject: (e: unknown) => void;
}

/** Thrown when more than maxQueued records wait for Kafka. */
export class QueueFullError extends Error {
  override readonly name = "QueueFullError";
}

export class KafkaSink implements Sink {
  private readonly producer: Producer;
  private readonly chosen = new WeakMap<Message, number>();
  private connecting: Promise<void> | null = null;
  private queue: Pending[] = [];
  private queued = 0;
  private inflight: Promise<void> | null = null;
  private readonly maxQueued: number;

  constructor(opts: KafkaOptions) {
    this.maxQueued = opts.maxQueued ?? 100000;
    const chosen = this.chosen;
    this.producer = kafkaClient(opts, "roomcast-emitter").producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false, // roomcast's topics come from `roomcast topics create`
      createPartitioner: () => {
        const java = Partitioners.DefaultPartitioner(); // murmur2 as the Java client
        return (args) => {
          const p = java(args);
          chosen.set(args.message, p);
          return p;
        };
      },
    });
  }

  write(records: OutRecord[]): Promise<Written[]> {
    if (this.queued + records.length > this.maxQueued)
      return Promise.reject(new QueueFullError(`more than ${this.maxQueued} records wait for Kafka`));
    return new Promise((resolve, reject) => {
      this.queue.push({ records, resolve, reject });
      this.queued += records.length;
      if (!this.inflight) this.inflight = this.drain();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue;
      this.queue = [];
      await this.send(batch);
      for (const p of batch) this.queued -= p.records.length;
    }
    this.inflight = null;
  }

  private async send(batch: Pending[]): Promise<void> {
    const messages = batch.map((p) => p.records.map((r) => ({ key: r.key, value: Buffer.from(r.value) })));
    try {
      this.connecting ??= this.producer.connect();
      await this.connecting.catch((e) => {
        this.connecting = null;
        throw e;
      });
      const byTopic = new Map<string, Message[]>();
      batch.forEach((p, i) => p.records.forEach((r, j) => {
        const list = byTopic.get(r.topic) ?? [];
        list.push(messages[i]![j]!);
        byTopic.set(r.topic, list);
      }));
      const meta = await this.producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, msgs]) => ({ topic, messages: msgs })),
      });
      // a partition's records got consecutive offsets from its base, in the order sent
      const next = new Map(meta.map((m) => [`${m.topicName}/${m.partition}`, BigInt(m.baseOffset ?? "-1")]));
      const where = (r: OutRecord, m: Message): Written => {
        const partition = this.chosen.get(m) ?? -1;
        const at = `${r.topic}/${partition}`;
        const off = next.get(at);
        if (off !== undefined) next.set(at, off + 1n);
        return { topic: r.topic, key: r.key, partition, offset: off === undefined ? "-1" : String(off) };
      };
      batch.forEach((p, i) => p.resolve(p.records.map((r, j) => where(r, messages[i]![j]!))));
    } catch (e) {
      for (const p of batch) p.reject(e);
    }
  }

  async close(): Promise<void> {
    while (this.inflight) await this.inflight;
    if (this.connecting) await this.connecting.catch(() => undefined);
    await this.producer.disconnect();
  }
}
