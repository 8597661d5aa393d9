// The TypeScript emitter (sdk/node, built by scripts/setup) for the integration tests,
// and a reader that sees what lands on a topic with its partition and offset (kafkajs,
// from the emitter's own dependencies: what a backend would have).
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import path from "node:path";
import { brokers, root, waitFor } from "./harness.mjs";

export const sdkDir = path.join(root, "sdk/node");
const entry = path.join(sdkDir, "dist/src/index.js");
if (!existsSync(entry))
  throw new Error("sdk/node is not built: run scripts/setup, or npm ci && npm run build in sdk/node");
export const sdk = await import(entry);
const { Kafka, logLevel } = createRequire(path.join(sdkDir, "package.json"))("kafkajs");

// Reads every record of the topics (prefixed names) from their beginning, decoded by the
// emitter's decodeRecord, with partition and offset: {topic, partition, offset, key,
// kind, message, args|payload}. Resolves once it is reading.
export async function startReader(env, topics) {
  const prefix = env.ROOMCAST_TOPIC_PREFIX;
  const kafka = new Kafka({ brokers: [env.ROOMCAST_KAFKA_BROKERS], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `${prefix}reader-${Math.random().toString(16).slice(2)}` });
  const records = [];
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, () => { joined = true; });
  await consumer.connect();
  await consumer.subscribe({ topics: topics.map((t) => prefix + t), fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      records.push({ ...sdk.decodeRecord(topic, message.key.toString(), message.value), partition,
        offset: Number(message.offset) });
    },
  });
  await waitFor("the reader to join its group", () => joined, 30000);
  return { records, stop: () => consumer.disconnect() };
}

// The end offsets of the topics (prefixed names), summed: what was ever written to them.
export async function writtenTo(env, topics) {
  const admin = new Kafka({ brokers: [env.ROOMCAST_KAFKA_BROKERS], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    let n = 0;
    for (const t of topics)
      for (const p of await admin.fetchTopicOffsets(env.ROOMCAST_TOPIC_PREFIX + t)) n += Number(p.high);
    return n;
  } finally {
    await admin.disconnect();
  }
}

export const domainTopics = ["payment", "offer", "request", "chat", "notification", "dispute", "system"].map((f) => `domain.${f}`);

export { brokers };
