// The seed's manual smoke test, automated in a real browser: Debian's Chromium, driven by
// playwright-core, opens the demo page (deploy/demo) twice, through HAProxy in front of two
// gateways, logs in as a buyer and as a seller, the buyer accepts an offer (the demo
// backend publishes offer.accepted), and both pages show offer:accepted. Run twice: with
// the page's options (WebSocket only) and with the client's defaults (long-polling first,
// then the upgrade, relayed between gateways). Screenshots of each page are saved under
// test-output/browser/. Skips when Chromium is not installed.
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { baseEnv, createTopics, freePort, metric, newPrefix, waitFor } from "./lib/harness.mjs";
import { ensureDir, haveChromium, launchChromium, outputDir, startDemo, startTopology } from "./lib/deploy.mjs";

const skip = !haveChromium() && "Debian's chromium is not installed (scripts/setup installs it)";

async function login(page, url, user, role) {
  await page.goto(url);
  await page.waitForSelector("body[data-ready=true]");
  await page.fill("#user", user);
  await page.selectOption("#role", role);
  await page.click("#login");
  await page.waitForSelector('#state[data-state="connected"]', { timeout: 15000 });
}

// name: the screenshots' prefix; clientOptions: undefined for the page's own
async function smoke(name, clientOptions) {
  // the page polls the balancer from another origin: the gateways allow that one only,
  // as scripts/up does for its demo
  const demoPort = await freePort();
  const env = baseEnv(newPrefix(`browser-${name}`), { ROOMCAST_ALLOWED_ORIGINS: `http://127.0.0.1:${demoPort}` });
  await createTopics(env);
  const topo = await startTopology(env);
  let demo, chromium;
  try {
    demo = await startDemo(env, topo.lb.url, clientOptions, `127.0.0.1:${demoPort}`);
    chromium = await launchChromium();
    // two contexts: two tabs that share nothing, as two people's browsers
    const buyer = await (await chromium.browser.newContext()).newPage();
    const seller = await (await chromium.browser.newContext()).newPage();
    const pageErrors = [];
    for (const p of [buyer, seller]) p.on("pageerror", (e) => pageErrors.push(e.message));

    await login(buyer, demo.url, "b1", "buyer");
    await login(seller, demo.url, "s1", "seller");
    // both end on WebSocket (with the defaults, after the upgrade)
    for (const p of [buyer, seller])
      await p.waitForSelector("#detail:has-text('over websocket')", { timeout: 15000 });
    // round-robin spreads the handshakes; with WebSocket only that is one socket on each
    // gateway, so the event crosses gateways via Kafka; with the defaults the session
    // lives where its first request landed, and the rest is relayed there
    const [a, b] = topo.gateways;
    const sockets = async () => [await metric(a.adminPort, "roomcast_gateway_sockets"),
      await metric(b.adminPort, "roomcast_gateway_sockets")];
    await waitFor("both sockets on the gateways", async () => {
      const [x, y] = await sockets();
      return clientOptions ? x === 1 && y === 1 : x + y === 2;
    }, 10000);
    if (!clientOptions) {
      let relayed = 0;
      for (const g of topo.gateways) relayed += await metric(g.adminPort, "roomcast_gateway_forwarded_polling_total");
      let upgrades = 0;
      for (const g of topo.gateways) upgrades += await metric(g.adminPort, "roomcast_gateway_upgrades_total");
      assert.equal(upgrades, 2, "both pages upgraded from polling");
      assert.ok(relayed >= 1, `polling requests were relayed to their session's owner (${relayed})`);
    }

    // the buyer accepts the seller's offer
    await buyer.fill("#peer", "s1");
    await buyer.click('#types button[data-type="offer.accepted"]');
    assert.deepEqual(JSON.parse(await buyer.inputValue("#payload")), { offerId: "o1", sellerId: "s1", buyerId: "b1" });
    await buyer.click("#publish");
    await buyer.waitForSelector("#result:has-text('published')", { timeout: 15000 });

    for (const [who, page] of [["buyer", buyer], ["seller", seller]]) {
      const item = page.locator('#events li[data-event="offer:accepted"]');
      await item.first().waitFor({ timeout: 20000 });
      assert.equal(await item.count(), 1, `${who} got offer:accepted once`);
      const shown = await item.locator("code").textContent();
      assert.deepEqual(JSON.parse(shown), { offerId: "o1" }, `${who} saw ${shown}`);
      assert.equal(await page.locator("#events li").count(), 1, `${who} got nothing else`);
    }
    const dir = await ensureDir(outputDir("browser"));
    await buyer.screenshot({ path: path.join(dir, `${name}-buyer.png`), fullPage: true });
    await seller.screenshot({ path: path.join(dir, `${name}-seller.png`), fullPage: true });
    assert.deepEqual(pageErrors, []);
  } finally {
    if (chromium) await chromium.close();
    if (demo) await demo.stop();
    await topo.stop();
  }
}

test("two tabs, buyer and seller, the page's options (the client's defaults: polling, then upgrade): both see offer:accepted",
  { skip }, () => smoke("defaults"));

test("two tabs, buyer and seller, WebSocket only: both see offer:accepted",
  { skip }, () => smoke("websocket", { transports: ["websocket"] }));
