// broker.mjs: what the Kafka broker did during a scenario, read over JMX with Kafka's own
// JmxTool (tests/kafka/pom.xml fetches it with the broker): requests by type, so a result
// can say how many Produce, Fetch, EndTxn, ... requests each event cost the bus.
//
//   const snap = await brokerRequests(root, jmxPort)   // { Produce: n, Fetch: n, ... }
//   requestDelta(before, after)                        // the requests in between, by type
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFile } from "node:child_process";

export function libsDir(root) {
  const pom = fs.readFileSync(path.join(root, "tests/kafka/pom.xml"), "utf8");
  const version = pom.match(/<kafka.version>(.*)<\/kafka.version>/)[1];
  const cache = process.env.ROOMCAST_CACHE || path.join(os.homedir(), ".cache/roomcast");
  return path.join(cache, `kafka-${version}`, "libs");
}

// Request counts by API name (all versions summed), or null when JMX is not reachable.
export function brokerRequests(root, jmxPort) {
  if (!jmxPort) return Promise.resolve(null);
  const args = ["-cp", `${libsDir(root)}/*`, "org.apache.kafka.tools.JmxTool",
    "--jmx-url", `service:jmx:rmi:///jndi/rmi://127.0.0.1:${jmxPort}/jmxrmi`,
    "--object-name", "kafka.network:type=RequestMetrics,name=RequestsPerSec,request=*,version=*",
    "--attributes", "Count", "--one-time", "true", "--report-format", "properties"];
  return new Promise((resolve) => {
    execFile("java", args, { timeout: 30000, maxBuffer: 1 << 22 }, (err, stdout) => {
      if (err) return resolve(null);
      const out = {};
      for (const line of stdout.split("\n")) {
        const m = line.match(/request=([A-Za-z]+),version=\d+:Count=(\d+)/);
        // FetchConsumer and FetchFollower are Fetch again, split by who asked
        if (m && m[1] !== "FetchConsumer" && m[1] !== "FetchFollower") out[m[1]] = (out[m[1]] || 0) + Number(m[2]);
      }
      resolve(out);
    });
  });
}

export function requestDelta(a, b) {
  if (!a || !b) return null;
  const out = {};
  for (const [k, v] of Object.entries(b)) {
    const d = v - (a[k] || 0);
    if (d > 0) out[k] = d;
  }
  return out;
}
