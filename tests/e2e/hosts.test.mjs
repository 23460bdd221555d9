// Browser → edge → origin store, on both hosts: the native edge inside `edgecdp serve`, and the
// worker in workerd (Miniflare) syncing to the origin over /v1/sync. Real Chromium, real SQLite.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  ORG_COOKIE, decodeCookie, eventually, identityCookie, launchBrowser, openLumaPage, startOrigin,
  startWorker, storedEvents, visitorEvents,
} from "./support.mjs";

/** An ECID nobody was given, in Adobe's unsigned cookie form (protobuf field 1 only). */
const FORGED_ECID = "52815286440582716171370361733432581330";
const FORGED_COOKIE = "CiY1MjgxNTI4NjQ0MDU4MjcxNjE3MTM3MDM2MTczMzQzMjU4MTMzMA==";

for (const host of ["native", "worker"]) {
  describe(`${host} edge`, () => {
    let origin;
    let worker;
    /** The storefront URL of a page, pointed at this host's edge. */
    const pageUrl = (path) => origin.url + path + (worker ? `?edge=${encodeURIComponent(worker.url)}` : "");

    before(async () => {
      origin = await startOrigin();
      if (host === "worker") worker = await startWorker(origin.url);
    });
    after(async () => {
      await worker?.stop();
      await origin?.stop();
    });

    test("the page gets a signed ECID cookie, its view lands in SQLite under that ECID, and the next page reuses it", async () => {
      const browser = await launchBrowser();
      try {
        const { ecid } = await openLumaPage(browser.context, pageUrl("/"));
        assert.match(ecid, /^\d{38}$/);
        const cookie = await identityCookie(browser.context, origin.url);
        assert.ok(cookie, `the ${ORG_COOKIE} cookie is set`);
        assert.equal(cookie.httpOnly, false, "the Web SDK must read it");
        assert.deepEqual(await decodeCookie(cookie.value), { ecid, signed: true });

        // (Besides the display notification of what the edge decided for the page.)
        const first = await eventually(() => {
          const events = visitorEvents(storedEvents(origin.database, ecid));
          return events.length === 1 && events;
        }, "the first page view in SQLite");
        assert.equal(first[0].eventType, "web.webpagedetails.pageViews");
        assert.equal(first[0].xdm.web.webPageDetails.name, "home");
        assert.equal(first[0].source, host === "worker" ? "worker-e2e" : "native-demo");
        assert.deepEqual(first[0].xdm.identityMap.ECID[0].id, ecid);

        const { ecid: again } = await openLumaPage(browser.context, pageUrl("/men.html"));
        assert.equal(again, ecid, "the second page view reuses the ECID");
        const both = await eventually(() => {
          const events = visitorEvents(storedEvents(origin.database, ecid));
          return events.length === 2 && events;
        }, "the second page view in SQLite");
        assert.deepEqual(both.map((e) => e.xdm.web.webPageDetails.name).sort(), ["home", "men-sweatshirts"]);
        const unexpected = browser.requests.filter((u) => !u.startsWith(origin.url) && !(worker && u.startsWith(worker.url)));
        assert.deepEqual(unexpected, [], "no request leaves for another host");
      } finally {
        await browser.close();
      }
    });

    test("a forged identity cookie is replaced by a fresh ECID, not trusted", async () => {
      const browser = await launchBrowser();
      try {
        await browser.context.addCookies([{ name: ORG_COOKIE, value: FORGED_COOKIE, url: origin.url }]);
        const { ecid } = await openLumaPage(browser.context, pageUrl("/"));
        assert.notEqual(ecid, FORGED_ECID);
        const cookie = await identityCookie(browser.context, origin.url);
        assert.deepEqual(await decodeCookie(cookie.value), { ecid, signed: true }, "the cookie now carries the fresh, signed ECID");
        await eventually(() => visitorEvents(storedEvents(origin.database, ecid)).length === 1, "the page view under the fresh ECID");
        assert.deepEqual(storedEvents(origin.database, FORGED_ECID), [], "nothing is stored under the forged ECID");
      } finally {
        await browser.close();
      }
    });

    test("bad input gets 4xx Adobe-format errors naming the problem, and the edge keeps serving", async () => {
      const edge = worker ? worker.url : origin.url;
      const post = (query, body, init = {}) =>
        fetch(`${edge}/ee/v1/interact?${query}`, { method: "POST", body, headers: { "content-type": "text/plain", ...init.headers }, ...init });
      const ids = Array.from({ length: 21 }, (_, i) => ({ id: `crm-${i}` }));
      const cases = [
        ["malformed JSON", () => post("configId=ds-luma", "{\"events\": ["), 400, "not valid JSON"],
        ["wrong types", () => post("configId=ds-luma", JSON.stringify({ events: [{ xdm: { eventType: 1 } }] })), 400, "events[0].xdm.eventType: expected a string"],
        ["a body over 64 KB", () => post("configId=ds-luma", "x".repeat(65 * 1024)), 413, "65536 bytes"],
        ["an event over 10 KB", () => post("configId=ds-luma", JSON.stringify({ events: [{ xdm: { _luma: { n: "x".repeat(10_400) } } }] })), 400, "over the limit of 10240 bytes"],
        ["more than 20 identities", () => post("configId=ds-luma", JSON.stringify({ events: [{ xdm: { identityMap: { CRMID: ids } } }] })), 400, "21 identities"],
        ["an unknown configId", () => post("configId=ds-nope", "{}"), 400, "'ds-nope'"],
        ["a GET", () => fetch(`${edge}/ee/v1/interact?configId=ds-luma`), 405, "GET"],
        ["an unknown path", () => fetch(`${edge}/ee/v2/interact?configId=ds-luma`, { method: "POST", body: "{}" }), 404, "/ee/v2/interact"],
        ["garbage cookies", () => post("configId=ds-luma", JSON.stringify({ events: [{ xdm: {} }] }), { headers: { cookie: `${ORG_COOKIE}=%%%zz; ;=; \u00ff=x` } }), 200, null],
      ];
      for (const [name, send, status, detail] of cases) {
        const r = await send();
        assert.equal(r.status, status, name);
        const body = await r.json();
        if (detail) {
          assert.match(body.type, /^https:\/\/ns\.edgecdp\.dev\/errors\/ECDP-\d{4}-\d{3}$/, name);
          assert.equal(body.status, status, name);
          assert.ok(body.title && body.detail.includes(detail), `${name}: ${body.detail}`);
        } else {
          assert.ok(Array.isArray(body.handle), name);
        }
      }
      const ok = await post("configId=ds-luma", JSON.stringify({ events: [{ xdm: { eventType: "still.serving" } }] }));
      assert.equal(ok.status, 200);
    });
  });
}
