// The load generator's recovery mode (bench/loadgen/resume.c, audit.c), small: scenario 6
// of the benchmark counts on it to say how many clients of a SIGKILLed gateway recovered
// on the others and what they lost. 2 × 60 clients on two gateways, chat traffic through
// the fanout; gateway A is SIGKILLed while it flows; its clients must reconnect to B with
// their pid and offset, be recovered, and the audit must find every owed event received
// once. Keeps the tool honest: a client that did not send its pid would not be recovered,
// and one that missed a replay would show a loss.
import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import {
  JWT_SECRET, baseEnv, benchTool, brokers, createTopics, newPrefix, startFanout, startGateway, stopAll, waitFor,
} from "./lib/harness.mjs";

const CLIENTS = 60, USERS = 2 * CLIENTS;

test("loadgen --recover: a SIGKILLed gateway's clients recover on the other, nothing lost or doubled",
  { timeout: 90000 }, async () => {
    const prefix = newPrefix("lgrec");
    const env = baseEnv(prefix, { ROOMCAST_ROOM_POLICY: "open" });
    await createTopics(env, 2);
    const a = await startGateway(env), b = await startGateway(env), fanout = await startFanout(env);
    const lg = [a, b].map((gw, k) => benchTool("roomcast-loadgen", ["--port", String(gw.port), "--secret", JWT_SECRET,
      "--ring", String(USERS), "--first", String(k * CLIENTS), "--recover", "--sources", "2", "--concurrency", "32"]));
    const prod = benchTool("roomcast-kproduce", ["--brokers", brokers, "--prefix", prefix]);
    try {
      for (const l of lg) assert.equal((await l.ask(`connect ${CLIENTS}`, "connected")).ok, CLIENTS);
      // the fanout's group is joined once events flow: a first batch, all received
      prod.send(`rate 100 1 ${USERS} audit`);
      await prod.take("done");
      await waitFor("warm-up deliveries", async () => {
        const [x, y] = await Promise.all(lg.map((l) => l.ask("report", "report")));
        return x.deliveries + y.deliveries >= 200;
      }, 30000, 100);
      for (const l of lg) { await l.ask("track", "track"); l.send("reset"); await l.take("reset"); }
      for (const l of lg) l.send(`ports ${b.port}`); // the balancer's live backends from now on
      prod.send(`rate 100 4 ${USERS} audit`);
      await waitFor("events flowing", async () => (await lg[0].ask("report", "report")).deliveries >= 20, 20000, 50);
      a.child.kill("SIGKILL");
      const done = await prod.take("done", 30000);
      // a marker after the audited range: once it is in, whatever the range brought is in
      prod.send(`rate 100 1 ${USERS} audit`);
      const marker = await prod.take("done", 30000);
      const audit = async (d) => Promise.all(lg.map((l) => l.ask(`audit ${d.first_seq} ${d.last_seq} ${USERS}`, "audit")));
      await waitFor("every client back, the marker in", async () => {
        const m = await audit(marker);
        return m.every((x) => x.all.lost === 0 && x.all.clients === CLIENTS);
      }, 30000, 200);
      const [ra, rb] = await audit(done);
      const rec = (await lg[0].ask("report", "report")).recovery;
      assert.equal(rec.drops, CLIENTS, JSON.stringify(rec));
      assert.equal(rec.recovered, CLIENTS, JSON.stringify(rec));
      assert.equal(rec.not_recovered, 0);
      assert.equal(rec.down, 0);
      assert.equal(ra.by_outcome.recovered.clients, CLIENTS);
      assert.ok(ra.all.owed > 50 && rb.all.owed > 50, `owed ${ra.all.owed} / ${rb.all.owed}`);
      for (const r of [ra, rb]) {
        assert.equal(r.all.lost, 0, JSON.stringify(r));
        assert.equal(r.all.duplicated, 0, JSON.stringify(r));
        assert.equal(r.all.unexpected, 0, JSON.stringify(r));
        assert.equal(r.all.received, r.all.owed);
      }
      assert.equal((await lg[1].ask("report", "report")).recovery.drops, 0);
    } finally {
      for (const l of [...lg, prod]) { l.send("quit"); l.child.stdin.end(); }
      await Promise.all([...lg, prod].map((l) => (l.child.exitCode === null ? once(l.child, "exit") : null)));
      await stopAll([fanout, b]);
      await a.stop("SIGKILL");
    }
    for (const l of [...lg, prod]) assert.doesNotMatch(l.stderr(), /Sanitizer|runtime error/);
    assert.equal(lg[0].child.exitCode, 0, lg[0].stderr());
  });
