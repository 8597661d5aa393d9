// The Kafka emitter passes the interface test against a real broker (scripts/test's,
// ROOMCAST_TEST_BROKERS): the records are read back from Kafka. Also: sends during an
// outage are bounded and refused past maxQueued, and a broker that does not answer makes
// a call fail rather than hang forever; ssl and sasl reach kafkajs as given (the broker's
// secured listeners, ROOMCAST_TEST_KAFKA_SECURE).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { Kafka, logLevel } from "kafkajs";

import { createEmitter, decodeRecord, QueueFullError, type SentRecord } from "@roomcast/emitter";
import { interfaceSuite } from "./interface.js";

const brokers = process.env.ROOMCAST_TEST_BROKERS;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Creates roomcast's topics under a fresh prefix, as `roomcast topics create` does. */
export async function freshTopics(name: string): Promise<string> {
  const prefix = `t-${name}-${randomBytes(3).toString("hex")}.`;
  const admin = new Kafka({ brokers: [brokers!], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const names = ["payment", "offer", "request", "chat", "notification", "dispute", "system"].map((f) => `domain.${f}`);
  await admin.createTopics({
    waitForLeaders: true,
    topics: [...names.map((t) => ({ topic: prefix + t, numPartitions: 2 })),
      { topic: `${prefix}roomcast.rooms`, numPartitions: 4 }, { topic: `${prefix}roomcast.client-events`, numPartitions: 2 }],
  });
  await admin.disconnect();
  return prefix;
}

if (!brokers) {
  test("kafka emitter (skipped: ROOMCAST_TEST_BROKERS is not set; scripts/test sets it)", { skip: true }, () => {});
} else {
  interfaceSuite("kafka emitter", async () => {
    const prefix = await freshTopics("sdk");
    const emitter = createEmitter({ brokers, topicPrefix: prefix });
    const seen: SentRecord[] = [];
    const consumer = new Kafka({ brokers: [brokers], logLevel: logLevel.NOTHING }).consumer({ groupId: `${prefix}reader` });
    await consumer.connect();
    await consumer.subscribe({ topics: [new RegExp(`^${prefix.replace(/\./g, "\\.")}`)], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ topic, message }) => {
      seen.push(decodeRecord(topic, message.key!.toString(), message.value!));
    } });
    const waitFor = async (what: string, ok: () => boolean) => {
      for (const end = Date.now() + 20000; Date.now() < end; await sleep(20)) if (ok()) return;
      throw new Error(`timed out waiting for ${what}`);
    };
    return {
      emitter,
      prefix,
      recordsOf: async (id, count) => {
        await waitFor(`${count} records of ${id}`, () => seen.filter((r) => r.message.id === id).length >= count);
        return seen.filter((r) => r.message.id === id);
      },
      all: async () => {
        await sleep(300); // anything written that should not have been would show by now
        return [...seen];
      },
      close: async () => {
        await emitter.close();
        await consumer.disconnect();
      },
    };
  });

  test("kafka emitter: past maxQueued a call is refused at once; a dead broker fails the call", async () => {
    const errors: unknown[] = [];
    const em = createEmitter({
      brokers: "127.0.0.1:1", topicPrefix: "t-dead.", maxQueued: 3, onError: (e) => errors.push(e),
      kafka: { connectionTimeout: 200, retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 }, logLevel: logLevel.NOTHING },
    });
    const pending = [em.emitToUser("u1", "a", 1), em.to(["user-u1", "user-u2"]).emit("b", 2)];
    await assert.rejects(em.emitToUser("u1", "c", 3), QueueFullError);
    const results = await Promise.allSettled(pending);
    assert.deepEqual(results.map((r) => r.status), ["rejected", "rejected"]);
    assert.ok(errors.length >= 2, "onError saw the failed writes");
    await em.close().catch(() => undefined);
  });

  const secureFile = process.env.ROOMCAST_TEST_KAFKA_SECURE;
  test("kafka emitter over SASL_SSL (SCRAM-SHA-512) and over mutual TLS: ssl and sasl as kafkajs takes them",
    { skip: secureFile ? false : "ROOMCAST_TEST_KAFKA_SECURE is not set (scripts/test sets it)" }, async () => {
      const secure = JSON.parse(readFileSync(secureFile!, "utf8")) as {
        sasl_ssl: string; ssl: string; ca: string; client_cert: string; client_key: string; users: Record<string, [string, string]>;
      };
      const prefix = await freshTopics("sdksec");
      const ca = [readFileSync(secure.ca)];
      const [username, password] = secure.users["SCRAM-SHA-512"]!;
      const quiet = { logLevel: logLevel.NOTHING };
      const sasl = createEmitter({ brokers: secure.sasl_ssl, topicPrefix: prefix, ssl: { ca },
        sasl: { mechanism: "scram-sha-512", username, password }, kafka: quiet });
      const mtls = createEmitter({ brokers: secure.ssl, topicPrefix: prefix, kafka: quiet,
        ssl: { ca, cert: readFileSync(secure.client_cert), key: readFileSync(secure.client_key) } });
      const wrong = createEmitter({ brokers: secure.sasl_ssl, topicPrefix: prefix, ssl: { ca }, onError: () => {},
        sasl: { mechanism: "scram-sha-512", username, password: "not-the-password" },
        kafka: { ...quiet, retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 } } });
      try {
        const a = await sasl.emitToUser("u1", "x", 1);
        const b = await mtls.emitToUser("u1", "y", 2);
        assert.equal(a.records[0]!.partition, b.records[0]!.partition);
        assert.equal(BigInt(b.records[0]!.offset), BigInt(a.records[0]!.offset) + 1n, "both written, one after the other");
        await assert.rejects(wrong.emitToUser("u1", "z", 3), /SASL|[Aa]uthentication/);
      } finally {
        await Promise.all([sasl.close(), mtls.close(), wrong.close().catch(() => undefined)]);
      }
    });
}
