// On-device decisions in headless Chromium with the real decider (dist/wasm/edgecdp_wasm_device*,
// built by `cargo xtask build-wasm`) and a real client bundle from the mock edge: the hero
// switches at the second running product view while the edge's answers are held, a display
// notification goes out, and the decider is loaded only when a bundle comes. Skipped without
// Chromium or without the decider.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { deferred } from "./support/env.mjs";
import { attempted, PAGE_VIEW, proposition, skip as noChromium, useBrowser } from "./support/browser.mjs";

const built = existsSync(new URL("../dist/wasm/edgecdp_wasm_device_bg.wasm", import.meta.url));
const skip = noChromium || (built ? false : "sdk-js/wasm/edgecdp_wasm_device* is not built (cargo xtask build-wasm): skipped");
const fx = useBrowser();

/** The Luma example's bundle: one on-device activity, the one segment it reads. */
const bundleFor = (ecid) => ({
  version: 1,
  ecid,
  segments: [
    {
      id: "running-interest",
      pql: 'xEvent[eventType = "commerce.productViews" and exists I from productListItems where (exists C from I.productCategories where C.categoryID = "running")].count() >= 2',
    },
  ],
  activities: [{ id: "home-hero", on_device: true, experiences: [{ id: "running", audience: 'inSegment("running-interest")', offers: ["running-hero"] }] }],
  offers: [{ id: "running-hero", items: [{ action: "setHtml", selector: "#hero h1", content: "Run further" }] }],
  attributes: {},
});

const PAGE = {
  body: `<div id="hero"><h1>New season</h1></div>`,
  script: `${PAGE_VIEW}
    window.view = function (category) {
      return edgecdp("sendEvent", { xdm: { eventType: "commerce.productViews", productListItems: [{ SKU: "MS-" + category, productCategories: [{ categoryID: category }] }] } });
    };`,
};
const isProductView = (req) => req.body?.events?.[0]?.xdm?.eventType === "commerce.productViews";
const interacts = () => fx.edgeRequests.filter((r) => r.action === "interact" && !String(r.body.events[0].xdm.eventType).startsWith("decisioning."));

test("on-device: the hero switches at the second running product view without a round trip, and a display notification goes out", { skip }, async () => {
  const bundles = [];
  fx.bundle = (body, ecid) => (bundles.push(ecid), bundleFor(ecid));
  const held = deferred();
  fx.hold = (req) => (isProductView(req) ? held.promise : undefined);
  const url = fx.servePage("/t/device.html", { config: { onDeviceDecisioning: true }, ...PAGE });
  await fx.browse(async (page) => {
    const loaded = [];
    page.on("request", (r) => r.url().includes("edgecdp_wasm_device") && loaded.push(r.url().replace(/^.*\//, "")));
    await page.goto(url);
    const first = await fx.result(page);
    assert.deepEqual(first.propositions, []);
    assert.deepEqual(interacts()[0].body.events[0].query.personalization, {
      decisionScopes: ["__view__"],
      schemas: interacts()[0].body.events[0].query.personalization.schemas,
      onDevice: true,
    });
    assert.equal(bundles.length, 1);

    await page.evaluate(() => {
      window.views = [view("running"), view("men"), view("running")].map((p) => p.then((r) => (window.settled = (window.settled || 0) + 1, r)));
    });
    await page.waitForFunction(() => document.querySelector("#hero h1").textContent === "Run further", null, { timeout: 5000 });
    assert.equal(interacts().filter(isProductView).length, 3, "the product views went to the edge");
    assert.equal(await page.evaluate(() => window.settled), undefined, "the edge has answered none of them");
    assert.deepEqual(loaded, ["edgecdp_wasm_device.js", "edgecdp_wasm_device_bg.wasm"], "the decider was loaded once");
    assert.equal(interacts().filter(isProductView).some((r) => r.body.events[0].query), false, "product views ask the edge for nothing");

    const [display] = await fx.notified("decisioning.propositionDisplay");
    const [shown] = display.xdm._experience.decisioning.propositions;
    assert.equal(shown.scope, "__view__");
    assert.equal(shown.scopeDetails.activity.id, "home-hero");
    assert.equal(shown.scopeDetails.experience.id, "running");
    assert.equal(display.action, "interact");

    held.resolve();
    const results = await page.evaluate(() => Promise.all(window.views));
    assert.deepEqual(results.map(attempted), [{}, {}, { [shown.id]: true }], "the third view's result has the on-device proposition");
    assert.equal(results[2].propositions[0].items[0].data.content, "Run further");

    // Another running view: the same decision, not rendered or notified again.
    await page.evaluate(() => view("running"));
    await page.waitForTimeout(200);
    assert.equal(fx.site.notifications.filter((n) => n.xdm.eventType === "decisioning.propositionDisplay").length, 1);
    assert.equal(await page.$$eval("#hero h1", (els) => els.length), 1);
    assert.deepEqual(fx.errors(), []);
  });
});

test("on-device: off by default; a page that did not opt in asks for no bundle and never loads the decider", { skip }, async () => {
  fx.bundle = (body, ecid) => bundleFor(ecid);
  const url = fx.servePage("/t/device-off.html", PAGE);
  await fx.browse(async (page) => {
    const loaded = [];
    page.on("request", (r) => r.url().includes("edgecdp_wasm_device") && loaded.push(r.url()));
    await page.goto(url);
    await fx.result(page);
    assert.equal(interacts()[0].body.events[0].query.personalization.onDevice, undefined);
    await page.evaluate(() => Promise.all([view("running"), view("running")]));
    await page.waitForTimeout(200);
    assert.equal(await page.textContent("#hero h1"), "New season");
    assert.deepEqual(loaded, []);
  });
});

test("on-device: a decider that does not load is one warning; the edge's decisions still render", { skip }, async () => {
  fx.bundle = (body, ecid) => bundleFor(ecid);
  fx.decide = (body) => (body.events[0].xdm.eventType === "web.webpagedetails.pageViews" ? [proposition("edge", "__view__", [{ type: "setText", selector: "#hero h1", content: "From the edge" }])] : []);
  const url = fx.servePage("/t/device-broken.html", { config: { onDeviceDecisioning: true, deviceWasm: "/nowhere.wasm" }, ...PAGE });
  await fx.browse(async (page) => {
    await page.goto(url);
    const r = await fx.result(page);
    assert.deepEqual(attempted(r), { edge: true });
    assert.equal(await page.textContent("#hero h1"), "From the edge");
    const results = await page.evaluate(() => Promise.all([view("running"), view("running")]));
    assert.deepEqual(results.map((x) => x.propositions), [[], []]);
    await page.waitForTimeout(100);
    const warnings = fx.consoleLines.filter((l) => l.startsWith("warning:") && l.includes("on-device decisions are off"));
    assert.equal(warnings.length, 1, fx.consoleLines.join("\n"));
    assert.equal(await page.textContent("#hero h1"), "From the edge");
  });
});
