// The Luma demo in headless Chromium against the mock edge: the script-tag build, the snippet,
// page views, identity continuity across pages, ?edge= and ?debug=1, sign-in and the email link
// (?em=). Skipped without Chromium.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { DEMO_PEOPLE, startServer } from "./support/mock-edge.mjs";

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
    assert.deepEqual(skus, ["MS-CRW-01", "MS-HOD-01", "MS-RUN-01", "MS-RUN-02"]);
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

/** The identities the page shows for tests (`data-identities`), parsed. */
const identitiesOf = (page) => page.evaluate(() => JSON.parse(document.documentElement.dataset.identities || "null"));

/** Waits for the login started on the page; returns its `data-login`. */
async function loginDone(page) {
  await page.waitForFunction(() => document.documentElement.dataset.login, null, { timeout: 15000 });
  return page.evaluate(() => document.documentElement.dataset.login);
}

test("Sign in: the dialog sends an authenticated Email + CRMID login, greets Sarah, shows her identities; the next page keeps them", { skip }, async () => {
  edgeLog.length = 0;
  await browse(async (page, { consoleLines }) => {
    await page.goto(`${site.origin}/`);
    const ecid = await pageView(page);
    assert.deepEqual(await identitiesOf(page), { ECID: ecid }, "anonymous: the ECID alone");
    assert.equal((await page.textContent("#identities")).trim(), "nobody yet (anonymous)");

    await page.getByRole("button", { name: "Sign in" }).click();
    const dialog = page.getByRole("dialog", { name: "Sign in to Luma" });
    assert.ok(await dialog.isVisible());
    assert.equal(await page.inputValue("#sign-in-email"), "sarah.rose@example.com", "prefilled with Sarah's demo account");
    assert.equal(await page.inputValue("#sign-in-crmid"), "crm-1042");
    await page.getByLabel("Bob Carter").check();
    assert.equal(await page.getByLabel("Email").inputValue(), "bob.carter@example.com");
    assert.equal(await page.getByLabel("Customer number").inputValue(), "crm-2077");
    await page.getByLabel("Sarah Rose").check();
    await dialog.getByRole("button", { name: "Sign in" }).click();

    assert.equal(await loginDone(page), "done");
    assert.equal(await dialog.isVisible(), false, "the dialog closes");
    const login = edgeLog.at(-1).body.events[0].xdm;
    assert.equal(login.eventType, "userAccount.login");
    assert.deepEqual(login.identityMap, {
      Email: [{ id: "sarah.rose@example.com", authenticatedState: "authenticated", primary: true }],
      CRMID: [{ id: "crm-1042", authenticatedState: "authenticated" }],
    });
    assert.match(await page.textContent("#greeting"), /\bHi Sarah\b/);
    assert.deepEqual(await identitiesOf(page), { ECID: ecid, ...DEMO_PEOPLE.sarah });
    const footer = await page.textContent("#identities");
    for (const id of Object.values(DEMO_PEOPLE.sarah)) assert.ok(footer.includes(id), `footer shows ${id}: ${footer}`);
    assert.equal(await page.textContent("#ecid"), ecid, "next to the ECID");
    assert.equal(await page.getAttribute("#sign-in", "aria-label"), "Signed in as Sarah: switch account");

    await Promise.all([page.waitForURL("**/men.html"), page.click('nav a[href="/men.html"]')]);
    assert.equal(await pageView(page), ecid);
    assert.equal(edgeLog.at(-1).body.events[0].xdm.identityMap, undefined, "a page view names no one");
    assert.deepEqual(await identitiesOf(page), { ECID: ecid, ...DEMO_PEOPLE.sarah }, "the edge still knows her");
    assert.ok((await page.textContent("#identities")).includes("crm-1042"));
    assert.equal((await page.textContent("#account-label")).trim(), "Sarah");
    assert.deepEqual(consoleLines.filter((l) => /^(error|pageerror)/.test(l)), []);
  });
});

test("window.lumaLogin resolves with the result; a second person's login replaces the identities; a failed login is reported", { skip }, async () => {
  await browse(async (page) => {
    await page.goto(`${site.origin}/men.html`);
    const ecid = await pageView(page);
    const sarah = await page.evaluate(() => window.lumaLogin("Sarah.Rose@Example.com", "crm-1042").then((r) => r.identity));
    assert.deepEqual(sarah, { ECID: ecid, ...DEMO_PEOPLE.sarah }, "the edge's normalized email");
    assert.equal(await loginDone(page), "done");

    const bob = await page.evaluate(() => window.lumaLogin("bob.carter@example.com", "crm-2077").then((r) => r.identity));
    assert.deepEqual(bob, { ECID: ecid, ...DEMO_PEOPLE.bob });
    assert.equal(await loginDone(page), "done");
    assert.deepEqual(await identitiesOf(page), bob, "Sarah's LoyaltyID is gone");
    assert.doesNotMatch(await page.textContent("#identities"), /LY-778|sarah/);
    assert.match(await page.textContent("#greeting"), /\bHi Bob\b/);

    await page.route("**/ee/v1/interact?**", (route) =>
      route.fulfill({
        status: 400,
        contentType: "application/json",
        body: JSON.stringify({ type: "https://ns.adobe.com/aep/errors/EXEG-0104-422", status: 400, title: "Invalid identity", detail: "xdm.identityMap.Email[0].id is not an email address." }),
      }),
    );
    const rejected = await page.evaluate(() => window.lumaLogin("nope", "crm-1").then(() => "resolved", (e) => e.name));
    assert.equal(rejected, "EdgeError");
    assert.match(await loginDone(page), /^error:.*Invalid identity/);
    assert.deepEqual(await identitiesOf(page), bob, "a failed login changes nothing");
  });
});

test("?em= (the email link): the page view names the email as ambiguous, links a new browser to Sarah, and leaves no trace in URLs", { skip }, async () => {
  edgeLog.length = 0;
  await browse(async (page) => {
    await page.goto(`${site.origin}/?em=sarah.rose%40example.com&debug=1`);
    const ecid = await pageView(page);
    const [{ body }] = edgeLog;
    assert.deepEqual(body.events[0].xdm.identityMap, { Email: [{ id: "sarah.rose@example.com", authenticatedState: "ambiguous" }] });
    assert.doesNotMatch(body.events[0].xdm.web.webPageDetails.URL, /em=|sarah/, "the email is not in the page URL sent");
    assert.deepEqual(await identitiesOf(page), { ECID: ecid, ...DEMO_PEOPLE.sarah });
    assert.equal(new URL(page.url()).search, "?debug=1", "em is dropped from the address bar, debug kept");
    const hrefs = await page.$$eval('a[href^="/"]', (as) => as.map((a) => a.getAttribute("href")));
    assert.ok(hrefs.every((h) => !h.includes("em=")), hrefs.join(" "));
    assert.ok(hrefs.length && hrefs.every((h) => h.includes("debug=1")), hrefs.join(" "));
    assert.equal((await page.textContent("#account-label")).trim(), "Sign in", "recognized is not signed in");

    await page.goto(`${site.origin}/?em=not-an-email`);
    await pageView(page);
    assert.equal(edgeLog.at(-1).body.events[0].xdm.identityMap, undefined, "a malformed em is not sent");
  });
});
