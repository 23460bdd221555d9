// Decisioning end to end, on both hosts, in headless Chromium: steps 3 and 6 of the Luma
// scenario (after her login the home page greets Sarah as a Bronze member and shows running
// content, prehidden so the default never shows; an hour later her phone, opened from the email
// link, offers gift wrap), display and interact notifications at the origin, caps, an SPA view,
// a named scope placed with applyPropositions, and the A/B split over 10,000 new visitors.
// Screenshots before and after personalization are written to target/e2e-screenshots/.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ROOT, admin, eventually, launchBrowser, openLumaPage, startOrigin, startWorker, storedEvents, uploadDemoData, lumaUrl } from "./support.mjs";

const SARAH = { email: "sarah.rose@example.com", crmid: "crm-1042" };
const DEFAULT_GREETING = "Welcome to Luma. Free returns on every order.";
const SHOTS = join(ROOT, "target/e2e-screenshots");

/**
 * Records, at every animation frame from before the first paint, whether the body is visible and
 * what the greeting and the hero say: what the visitor could have seen.
 */
function recordFrames() {
  const frames = [];
  window.__frames = frames;
  const sample = () => {
    if (document.body) {
      const text = (sel) => document.querySelector(sel)?.textContent.trim() ?? null;
      frames.push({
        visible: getComputedStyle(document.body).opacity !== "0",
        greeting: text("#greeting .wrap"),
        hero: text("#hero h1"),
      });
    }
    if (frames.length < 2000) requestAnimationFrame(sample);
  };
  requestAnimationFrame(sample);
}

async function displays(origin, activity) {
  const r = await admin(origin, "GET", `/api/activities/${activity}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.experiences;
}

for (const host of ["native", "worker"]) {
  describe(`decisions, ${host} edge`, () => {
    let origin;
    let worker;
    const url = (path, params) => lumaUrl(origin, worker, path, params);
    const edge = () => worker?.url || origin.url;

    before(async () => {
      origin = await startOrigin();
      if (host === "worker") worker = await startWorker(origin.url);
      await uploadDemoData(origin, "crm-contacts", "crm-contacts.csv");
      await uploadDemoData(origin, "loyalty", "loyalty.csv");
      await uploadDemoData(origin, "web-history", "web-history.jsonl");
    });
    after(async () => {
      await worker?.stop();
      await origin?.stop();
    });

    test("steps 3 and 6: a Bronze welcome and running content after her login, without flicker; gift wrap on her phone", async (t) => {
      mkdirSync(SHOTS, { recursive: true });
      const browser = await launchBrowser();
      const phone = await launchBrowser();
      try {
        await browser.context.addInitScript(recordFrames);
        // Before: the home page as an anonymous visitor sees it.
        const { page: first, ecid } = await openLumaPage(browser.context, url("/"));
        const before = join(SHOTS, `${host}-before.png`);
        await first.screenshot({ path: before });
        assert.equal(await first.textContent("#greeting .wrap"), DEFAULT_GREETING);
        assert.equal(await first.textContent("#hero h1"), "Sportswear that keeps up.");

        // Step 1–2: two running sweatshirts (and two others) viewed, one added in L, then the login.
        await first.goto(url("/men.html"));
        await first.waitForFunction(() => document.documentElement.dataset.pageview === "sent");
        for (const sku of ["MS-CRW-01", "MS-RUN-01", "MS-HOD-01", "MS-RUN-02"]) {
          await first.click(`[data-sku="${sku}"] [data-view-product]`);
          await first.waitForSelector(`[data-sku="${sku}"].viewed`);
        }
        await first.evaluate(() => window.lumaAddToCart("MS-RUN-01", "L"));
        await first.evaluate((s) => window.lumaLogin(s.email, s.crmid), SARAH);
        // The men's catalog now puts running first (an order:-1 style on the running cards).
        await first.goto(url("/men.html"));
        await first.waitForFunction(() => document.documentElement.dataset.pageview === "sent");
        const order = await first.$$eval("#product-grid [data-sku]", (els) =>
          els.map((e) => [e.dataset.sku, getComputedStyle(e).order]).sort((a, b) => a[1] - b[1]).map((p) => p[0]));
        assert.deepEqual(order.slice(0, 2), ["MS-RUN-01", "MS-RUN-02"], `running first: ${order}`);

        // Step 3: the home page, personalized at the edge and rendered before it is shown.
        const page = await browser.context.newPage();
        await page.goto(url("/"));
        await page.waitForFunction(() => document.documentElement.dataset.pageview === "sent");
        const greeting = await page.textContent("#greeting .wrap");
        assert.match(greeting, /^Welcome back, Sarah: you are a Bronze member with 1240 points\. Earn 1 point for every \$1/);
        assert.equal(await page.textContent("#hero .eyebrow"), "Picked for you · Running");
        assert.equal(await page.textContent("#hero h1"), "Run further in layers that breathe.");
        const afterShot = join(SHOTS, `${host}-after.png`);
        await page.screenshot({ path: afterShot });
        t.diagnostic(`screenshots: ${before} (anonymous), ${afterShot} (Sarah)`);
        const frames = await page.evaluate(() => window.__frames);
        const shown = frames.filter((f) => f.visible);
        assert.ok(shown.length > 0, "the page was shown");
        const flicker = shown.filter((f) => f.greeting === DEFAULT_GREETING || f.hero === "Sportswear that keeps up.");
        assert.deepEqual(flicker, [], `no visible frame with the default content (${frames.length} frames, ${shown.length} visible)`);
        t.diagnostic(`${frames.length} frames recorded, the first ${frames.length - shown.length} hidden, none visible with the default content`);

        // The display notification reaches the origin and counts for the experience.
        await eventually(async () => (await displays(origin, "home-greeting")).some((e) => e.experience === "members" && e.displays >= 1),
          "the greeting's display at the origin", 15_000);
        await eventually(async () => (await displays(origin, "home-hero")).some((e) => e.experience === "running" && e.displays >= 1),
          "the hero's display at the origin", 15_000);
        // A click inside the rendered greeting is an interaction of its proposition.
        assert.ok(await page.$("#greeting .wrap[data-edgecdp-interact-id]"), "rendered content is marked for click tracking");
        await page.click("#greeting .wrap a");
        await eventually(async () => (await displays(origin, "home-greeting")).some((e) => e.experience === "members" && e.interactions >= 1),
          "the greeting's click at the origin", 15_000);
        const stored = storedEvents(origin.database, ecid).filter((e) => e.eventType === "decisioning.propositionInteract");
        assert.ok(stored.length >= 1, "the interaction is stored under the browser's ECID");
        assert.equal(stored[0].xdm._experience.decisioning.propositionAction.label, "bronze-welcome");

        // Step 6: an hour later, her phone opens the email link: gift wrap, decided at the edge.
        assert.equal((await admin(origin, "POST", "/api/clock", { advanceMs: 61 * 60_000 })).status, 200);
        let seen = "";
        await eventually(async () => {
          const { page: mobile } = await openLumaPage(phone.context, url("/", { em: SARAH.email }));
          seen = await mobile.textContent("#greeting .wrap");
          await mobile.close();
          return /^Gift\? Free gift wrap for Bronze members on the items in your cart\./.test(seen);
        }, "gift wrap on the phone", 20_000).catch((e) => {
          throw new Error(`${e.message}; the phone's greeting: ${seen}`);
        });
      } finally {
        await browser.close();
        await phone.close();
      }
    });

    test("caps hold, an SPA view renders its offer, applyPropositions places a named scope", async () => {
      const offers = [
        { id: "e2e-capped", pages: ["/men.html"], cap: { max: 2, window: "1d" },
          items: [{ action: "setText", selector: "#catalog-note", content: "Capped deal" }] },
        { id: "e2e-cart", view: "cart", items: [{ action: "setHtml", selector: "#catalog-note", content: "<em>Your cart view</em>" }] },
        { id: "e2e-banner", scope: "hero-banner", items: [{ action: "html", content: "<b>Banner for {{profile.loyalty.tier}}</b>" }] },
      ];
      for (const o of offers) {
        const r = await admin(origin, "POST", "/api/offers", o);
        assert.equal(r.status, 201, JSON.stringify(r.body));
      }
      const bad = await admin(origin, "POST", "/api/offers", { id: "e2e-bad", items: [{ action: "setStyle", selector: "#x", content: "red" }] });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.code, "invalid_definition");
      assert.equal(bad.body.error.problems[0].field, "items[0].content");
      const activity = await admin(origin, "POST", "/api/activities", {
        id: "e2e-men", pages: ["/men.html"], experiences: [{ id: "all", offers: offers.map((o) => o.id) }],
      });
      assert.equal(activity.status, 201, JSON.stringify(activity.body));
      const inUse = await admin(origin, "DELETE", "/api/offers/e2e-capped");
      assert.equal(inUse.status, 409);

      const browser = await launchBrowser();
      try {
        const note = async () => {
          const { page } = await openLumaPage(browser.context, url("/men.html"));
          await page.waitForLoadState("networkidle");
          const text = await page.textContent("#catalog-note");
          return { page, text };
        };
        // The worker picks the new definitions up with its next snapshot check.
        let { page, text } = await eventually(async () => {
          const r = await note();
          if (r.text === "Capped deal") return r;
          await r.page.close();
          return null;
        }, "the capped offer on the first view", 15_000);
        const ecid = await page.evaluate(() => document.documentElement.dataset.ecid);
        const shownDisplays = () => storedEvents(origin.database, ecid).filter((e) =>
          e.eventType === "decisioning.propositionDisplay" &&
          e.xdm._experience.decisioning.propositions.some((p) => p.scopeDetails.offer.id === "e2e-capped")).length;
        await eventually(() => shownDisplays() === 1, "the first display stored");
        await page.close();
        ({ page, text } = await note());
        assert.equal(text, "Capped deal", "the second view");
        await eventually(() => shownDisplays() === 2, "the second display stored");
        await page.close();
        ({ page, text } = await note());
        assert.equal(text, "", "capped after two displays");

        // The SPA view: rendered from the cache when the view shows, before its own request is answered.
        await page.evaluate(() => edgecdp("sendEvent", { renderDecisions: true, xdm: { web: { webPageDetails: { viewName: "cart" } } } }));
        assert.equal(await page.innerHTML("#catalog-note"), "<em>Your cart view</em>");

        // A named scope is returned, not rendered; the page places it.
        const placed = await page.evaluate(async () => {
          const r = await edgecdp("sendEvent", { personalization: { decisionScopes: ["hero-banner"] } });
          const banner = r.propositions.filter((p) => p.scope === "hero-banner");
          const applied = await edgecdp("applyPropositions", {
            propositions: banner,
            metadata: { "hero-banner": { selector: "#title", actionType: "setHtml" } },
          });
          return { returned: banner.map((p) => p.renderAttempted), applied: applied.propositions.map((p) => p.renderAttempted), html: document.querySelector("#title").innerHTML };
        });
        assert.deepEqual(placed.returned, [false]);
        assert.deepEqual(placed.applied, [true]);
        assert.equal(placed.html, "<b>Banner for </b>", "an anonymous visitor has no tier");
      } finally {
        await browser.close();
        for (const path of ["/api/activities/e2e-men", "/api/offers/e2e-capped", "/api/offers/e2e-cart", "/api/offers/e2e-banner"]) {
          await admin(origin, "DELETE", path);
        }
      }
    });

    test("a search for running puts running first in the men's catalog, on the results page itself", async () => {
      const browser = await launchBrowser();
      try {
        const { page: home } = await openLumaPage(browser.context, url("/"));
        // The header's search box: its results are the men's catalog.
        await Promise.all([home.waitForURL(/men\.html\?/), home.fill(".search input[name=q]", "Trail running").then(() => home.press(".search input[name=q]", "Enter"))]);
        await home.waitForFunction(() => document.documentElement.dataset.pageview === "sent");
        assert.equal(new URL(home.url()).searchParams.get("q"), "Trail running");
        assert.match(await home.textContent("#search-note"), /Trail running/);
        const order = await home.$$eval("#product-grid [data-sku]", (els) =>
          els.map((e) => [e.dataset.sku, getComputedStyle(e).order]).sort((a, b) => a[1] - b[1]).map((p) => p[0]));
        assert.deepEqual(order.slice(0, 2), ["MS-RUN-01", "MS-RUN-02"], `running first: ${order}`);
        assert.ok(JSON.parse(await home.evaluate(() => document.documentElement.dataset.segments)).includes("running-interest"));
        // Another visitor's search for something else leaves the catalog as it is.
        const other = await launchBrowser();
        try {
          const { page } = await openLumaPage(other.context, url("/men.html", { q: "hoodie" }));
          const plain = await page.$$eval("#product-grid [data-sku]", (els) => els.map((e) => getComputedStyle(e).order));
          assert.ok(plain.every((o) => o === "0"), `no re-ordering: ${plain}`);
        } finally {
          await other.close();
        }
      } finally {
        await browser.close();
      }
    });

    test("on-device: the second running product viewed on the home page switches the hero before the edge answers", async () => {
      const browser = await launchBrowser();
      try {
        const { page } = await openLumaPage(browser.context, url("/"));
        assert.equal(await page.textContent("#hero h1"), "Sportswear that keeps up.");
        // From now on every answer of the edge is held for 4 s: what changes sooner was decided in the browser.
        await page.route("**/v1/interact**", async (route) => {
          await new Promise((r) => setTimeout(r, 4000));
          await route.continue();
        });
        const started = Date.now();
        await page.click('[data-sku="MS-RUN-01"] [data-view-product]');
        await page.click('[data-sku="MS-RUN-01"] [data-view-product]');
        await page.waitForFunction(() => document.querySelector("#hero h1").textContent === "Run further in layers that breathe.", null, { timeout: 3000 });
        const ms = Date.now() - started;
        assert.ok(ms < 4000, `switched after ${ms} ms, before any answer`);
        assert.equal(await page.textContent("#hero .eyebrow"), "Picked for you · Running");
      } finally {
        await browser.close();
      }
    });

    test("the A/B test splits 10,000 new visitors within 2 % of its allocation", async (t) => {
      const n = 10_000;
      const counts = {};
      let next = 0;
      const body = JSON.stringify({
        events: [{ xdm: { eventType: "web.webpagedetails.pageViews", web: { webPageDetails: { URL: "https://www.luma.test/" } } },
          query: { personalization: { decisionScopes: ["__view__"] } } }],
      });
      const started = Date.now();
      async function visitor() {
        while (next < n) {
          next += 1;
          const r = await fetch(`${edge()}/ee/v1/interact?configId=ds-luma`, {
            method: "POST", headers: { origin: "https://www.luma.test", "content-type": "text/plain" }, body,
          });
          assert.equal(r.status, 200);
          const handles = (await r.json()).handle.filter((h) => h.type === "personalization:decisions");
          const ab = handles.flatMap((h) => h.payload).filter((p) => p.scopeDetails.activity.id === "rewards-cta-test");
          assert.equal(ab.length, 1, "every new visitor is in the test (traffic 100 %)");
          const experience = ab[0].scopeDetails.experience.id;
          counts[experience] = (counts[experience] || 0) + 1;
        }
      }
      await Promise.all(Array.from({ length: 16 }, visitor));
      t.diagnostic(`A/B split over ${n} new ECIDs: ${JSON.stringify(counts)} (${Date.now() - started} ms)`);
      for (const e of ["a", "b"]) {
        assert.ok(Math.abs(counts[e] / n - 0.5) <= 0.02, `experience ${e}: ${counts[e]} of ${n}`);
      }
    });
  });
}
