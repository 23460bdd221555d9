// Proxy mode, on both hosts: the edge personalizes the storefront's HTML before it reaches the
// browser. The native host does it for the pages it serves (`--personalize-pages`); the worker
// stands in front of the storefront (`EDGECDP_UPSTREAM_URL`). The offer is in the markup (a page
// without JavaScript shows it), the identity cookie comes with the page, the edge's answer is
// inlined, and sdk-js uses it instead of asking the edge again.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { CHROMIUM, ORG_COOKIE, eventually, launchBrowser, startOrigin, startWorker, storedEvents, uploadDemoData } from "./support.mjs";

const SARAH = { email: "sarah.rose@example.com", crmid: "crm-1042" };

/** `name=value` pairs of a response's Set-Cookie headers, for the next request's Cookie header. */
function cookiesOf(response) {
  return response.headers.getSetCookie().map((c) => c.split(";")[0]);
}

for (const host of ["native", "worker"]) {
  describe(`pages personalized at the edge, ${host}`, () => {
    let origin;
    let worker;
    const site = () => worker?.url || origin.url;

    before(async () => {
      if (host === "native") {
        origin = await startOrigin({ args: ["--personalize-pages"] });
      } else {
        origin = await startOrigin();
        worker = await startWorker(origin.url, { EDGECDP_UPSTREAM_URL: origin.url });
      }
      await uploadDemoData(origin, "crm-contacts", "crm-contacts.csv");
      await uploadDemoData(origin, "loyalty", "loyalty.csv");
    });
    after(async () => {
      await worker?.stop();
      await origin?.stop();
    });

    test("the page arrives with the offer in its markup, the edge's answer inlined and the visitor's cookie", async () => {
      const first = await fetch(`${site()}/`);
      assert.equal(first.status, 200);
      assert.match(first.headers.get("content-type"), /^text\/html/);
      assert.equal(first.headers.get("cache-control"), "private, no-store");
      const cookies = cookiesOf(first);
      assert.ok(cookies.some((c) => c.startsWith(`${ORG_COOKIE}=`)), `the identity cookie comes with the page: ${cookies}`);
      const html = await first.text();
      const inlined = html.match(/<script type="application\/json" id="edgecdp-response">(.*?)<\/script>/s);
      assert.ok(inlined, "the edge's answer is inlined");
      const answer = JSON.parse(inlined[1]);
      const ecid = answer.handle.find((h) => h.type === "identity:result").payload[0].id;
      // The rewards A/B test decided for this new visitor, applied in the markup.
      const ab = answer.handle.find((h) => h.type === "personalization:decisions").payload
        .find((p) => p.scopeDetails.activity.id === "rewards-cta-test");
      if (ab.scopeDetails.experience.id === "b") {
        assert.match(html, new RegExp(`<a class="button small" id="rewards-cta" href="/#offers" data-edgecdp-interact-id="${ab.id}">Start earning points</a>`));
      } else {
        assert.match(html, /id="rewards-cta" href="\/#offers">Join Luma Rewards<\/a>/);
      }
      // Static files pass through untouched.
      const script = await fetch(`${site()}/assets/luma.js`);
      assert.equal(script.status, 200);
      assert.doesNotMatch(await script.text(), /edgecdp-response/);

      // Sarah logs in on this browser (through the edge), then loads the home page again.
      const login = await fetch(`${site()}/ee/v1/interact?configId=ds-luma`, {
        method: "POST",
        headers: { origin: site(), cookie: cookies.join("; "), "content-type": "text/plain" },
        body: JSON.stringify({ events: [{ xdm: { eventType: "userAccount.login", identityMap: {
          Email: [{ id: SARAH.email, authenticatedState: "authenticated", primary: true }],
          CRMID: [{ id: SARAH.crmid, authenticatedState: "authenticated" }] } } }] }),
      });
      assert.equal(login.status, 200);
      const again = await fetch(`${site()}/`, { headers: { cookie: cookies.join("; ") } });
      const page = await again.text();
      assert.match(page, /Welcome back, Sarah: you are a <strong>Bronze<\/strong> member with 1240 points/);
      const inlinedAgain = JSON.parse(page.match(/id="edgecdp-response">(.*?)<\/script>/s)[1]);
      assert.equal(inlinedAgain.handle.find((h) => h.type === "identity:result").payload[0].id, ecid, "the same visitor");
    });

    test("in a browser, sdk-js uses the inlined answer: no second page view, nothing applied twice, the display counted", async () => {
      const browser = await launchBrowser();
      try {
        const page = await browser.context.newPage();
        const interacts = [];
        page.on("request", (r) => {
          if (r.url().includes("/v1/interact")) interacts.push(JSON.parse(r.postData() || "{}").events?.[0]?.xdm?.eventType);
        });
        await page.goto(`${site()}/`);
        await page.waitForFunction(() => document.documentElement.dataset.pageview, null, { timeout: 15_000 });
        assert.equal(await page.evaluate(() => document.documentElement.dataset.pageview), "sent");
        assert.ok(!interacts.includes("web.webpagedetails.pageViews"), `the page view was not sent again: ${interacts}`);
        const ctas = await page.$$eval("#rewards-cta", (els) => els.map((e) => e.textContent));
        assert.equal(ctas.length, 1);
        assert.ok(["Start earning points", "Join Luma Rewards"].includes(ctas[0]), ctas[0]);
        // The display notification still goes out: caps and reporting count what the edge rendered.
        const ecid = await page.evaluate(() => document.documentElement.dataset.ecid);
        await eventually(() => storedEvents(origin.database, ecid).some((e) => e.eventType === "decisioning.propositionDisplay"),
          "the display notification at the origin", 15_000);
        const types = storedEvents(origin.database, ecid).map((e) => e.eventType);
        assert.equal(types.filter((t) => t === "web.webpagedetails.pageViews").length, 1, `one page view: ${types}`);
      } finally {
        await browser.close();
      }
    });

    test("a page without JavaScript is personalized too", async () => {
      const { chromium } = await import("playwright-core");
      const b = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
      try {
        const context = await b.newContext({ javaScriptEnabled: false });
        const page = await context.newPage();
        await page.goto(`${site()}/`);
        const cta = await page.textContent("#rewards-cta");
        const cookies = await context.cookies(site());
        assert.ok(cookies.some((c) => c.name === ORG_COOKIE), "the visitor's cookie was set by the page itself");
        const html = await page.content();
        const answer = JSON.parse(html.match(/id="edgecdp-response">(.*?)<\/script>/s)[1]);
        const ab = answer.handle.find((h) => h.type === "personalization:decisions").payload
          .find((p) => p.scopeDetails.activity.id === "rewards-cta-test");
        assert.equal(cta, ab.scopeDetails.experience.id === "b" ? "Start earning points" : "Join Luma Rewards");
        // The next page knows the visitor (the cookie came with the first).
        await page.goto(`${site()}/men.html`);
        const next = JSON.parse((await page.content()).match(/id="edgecdp-response">(.*?)<\/script>/s)[1]);
        assert.equal(next.handle.find((h) => h.type === "identity:result").payload[0].id,
          answer.handle.find((h) => h.type === "identity:result").payload[0].id);
      } finally {
        await b.close();
      }
    });
  });
}
