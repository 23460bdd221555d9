// The Luma demo in headless Chromium against the mock edge: the script-tag build, the snippet,
// page views, identity continuity across pages, ?edge= and ?debug=1. Skipped without Chromium.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startServer } from "./support/mock-edge.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} not found (apt-get install chromium): browser tests skipped`;
const wasmBuilt = existsSync(new URL("../dist/wasm/edgecdp_wasm_bg.wasm", import.meta.url));

let chromium;
let site; // page + edge on 127.0.0.1
let edge; // a second server used only as a cross-origin edge
const edgeLog = [];
const crossLog = [];

before(async () => {
  if (skip) return;
  ({ chromium } = await import("playwright-core"));
  site = await startServer({ onEdge: (r) => edgeLog.push(r) });
  edge = await startServer({ onEdge: (r) => crossLog.push(r) });
});
after(async () => {
  await site?.close();
  await edge?.close();
});

/** A fresh browser profile; every request's URL and console message is recorded. */
async function browse(fn) {
  const profile = mkdtempSync(join(tmpdir(), "edgecdp-chromium-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const urls = [];
  const consoleLines = [];
  ctx.on("request", (r) => urls.push(r.url()));
  try {
    const page = ctx.pages()[0] || (await ctx.newPage());
    page.on("console", (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => consoleLines.push(`pageerror: ${e.message}`));
    await fn(page, { urls, consoleLines });
  } finally {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

/** Waits for the page view of the loaded page; returns its ECID. */
async function pageView(page) {
  await page.waitForFunction(() => document.documentElement.dataset.pageview, null, { timeout: 15000 });
  const state = await page.evaluate(() => ({ ...document.documentElement.dataset, shown: document.getElementById("ecid").textContent }));
  assert.equal(state.pageview, "sent", state.pageview);
  assert.match(state.ecid, /^\d{38}$/);
  assert.equal(state.shown, state.ecid, "the footer shows the ECID");
  return state.ecid;
}

test("home: the page view is sent through the script tag, with stable ids for personalization", { skip }, async () => {
  edgeLog.length = 0;
  await browse(async (page, { urls, consoleLines }) => {
    await page.goto(`${site.origin}/`);
    const ecid = await pageView(page);
    for (const id of ["hero", "offers", "greeting", "product-grid"]) assert.ok(await page.$(`#${id}`), `#${id}`);
    const cards = await page.$$eval("#product-grid [data-sku]", (els) => els.map((e) => [e.dataset.sku, e.dataset.category]));
    assert.ok(cards.length >= 4);
    assert.ok(cards.every(([sku, category]) => sku && category));
    assert.equal(edgeLog.length, 1);
    const [{ url, headers, body }] = edgeLog;
    assert.equal(url.pathname, "/ee/v1/interact");
    assert.equal(url.searchParams.get("configId"), "ds-luma");
    assert.match(headers["content-type"], /^text\/plain/);
    const xdm = body.events[0].xdm;
    assert.equal(xdm.eventType, "web.webpagedetails.pageViews");
    assert.equal(xdm.web.webPageDetails.name, "home");
    assert.equal(xdm.web.webPageDetails.URL, `${site.origin}/`);
    assert.deepEqual(body.query, { identity: { fetch: ["ECID"] } });
    assert.ok(urls.every((u) => u.startsWith(site.origin) || u.startsWith("data:")), `only the page's origin: ${urls.join(" ")}`);
    assert.ok(!urls.some((u) => u.includes("edgecdp-core")), "the lazy core is not loaded without debug");
    assert.deepEqual(consoleLines.filter((l) => /^(error|pageerror)/.test(l)), []);
    const cookie = (await page.context().cookies()).find((c) => c.name === "kndctr_LUMA123_AdobeOrg_identity");
    assert.ok(cookie, "identity cookie written by the SDK");
    assert.equal(cookie.httpOnly, false);
    assert.equal(cookie.sameSite, "Lax");
    void ecid;
  });
});

test("men: same ECID on the next page, and product views are collected", { skip }, async () => {
  edgeLog.length = 0;
  await browse(async (page) => {
    await page.goto(`${site.origin}/`);
    const ecid = await pageView(page);
    await Promise.all([page.waitForURL("**/men.html"), page.click('nav a[href="/men.html"]')]);
    assert.equal(await pageView(page), ecid, "identity continuity across pages");
    assert.equal(await page.textContent("h1"), "Men › Sweatshirts");
    const skus = await page.$$eval("#product-grid [data-sku]", (els) => els.map((e) => e.dataset.sku));
    assert.deepEqual(skus, ["MS-RUN-01", "MS-RUN-02"]);
    for (const sku of skus) {
      await page.click(`[data-sku="${sku}"] [data-view-product]`);
      await page.waitForSelector(`[data-sku="${sku}"].viewed`);
    }
    const views = edgeLog.filter((r) => r.body.events[0].xdm.eventType === "commerce.productViews");
    assert.deepEqual(views.map((r) => r.body.events[0].xdm.productListItems[0].SKU), skus);
    assert.equal(edgeLog[1].body.events[0].xdm.web.webPageDetails.name, "men-sweatshirts");
    assert.ok(edgeLog.slice(1).every((r) => r.body.meta.state.entries?.some((e) => e.key === "kndctr_LUMA123_AdobeOrg_identity")));
  });
});

test("?edge= points the page at another origin (credentialed CORS); links keep it; the ECID survives reloads", { skip }, async () => {
  crossLog.length = 0;
  edgeLog.length = 0;
  const pageOrigin = site.origin.replace("127.0.0.1", "localhost");
  await browse(async (page) => {
    await page.goto(`${pageOrigin}/?edge=${encodeURIComponent(edge.origin)}`);
    const ecid = await pageView(page);
    await page.reload();
    assert.equal(await pageView(page), ecid);
    await Promise.all([page.waitForURL("**/men.html?**"), page.click('nav a[href^="/men.html"]')]);
    assert.equal(await pageView(page), ecid);
  });
  assert.equal(edgeLog.length, 0, "nothing went to the page's own origin");
  assert.equal(crossLog.length, 3);
  assert.ok(crossLog.every((r) => r.headers.origin === pageOrigin));
});

test("?debug=1 loads the lazy core next to the script and still sends the page view", { skip }, async () => {
  await browse(async (page, { urls, consoleLines }) => {
    await page.goto(`${site.origin}/?debug=1`);
    await pageView(page);
    assert.ok(urls.includes(`${site.origin}/sdk/edgecdp-core.js`), urls.join(" "));
    const unvalidated = consoleLines.filter((l) => l.includes("the event is sent unvalidated"));
    if (wasmBuilt) {
      assert.ok(urls.includes(`${site.origin}/sdk/wasm/edgecdp_wasm_bg.wasm`));
      assert.deepEqual(unvalidated, [], consoleLines.join("\n"));
      assert.deepEqual(consoleLines.filter((l) => l.includes("invalid event field")), [], "the page view is valid");
    } else {
      assert.equal(unvalidated.length, 1, consoleLines.join("\n"));
    }
    assert.ok(consoleLines.some((l) => l.startsWith("info: [edgecdp] →")), "debug logs the request");
  });
});
