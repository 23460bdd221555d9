// Profiles end to end, on both hosts: the Luma CRM and loyalty data are imported at the origin
// (through the datasets API, as a nightly export would be); Sarah logs in and the same interact
// response carries her profile fragment (first name, loyalty tier Bronze, preferences); the
// origin's 360° view shows web, CRM and loyalty values, each with its source.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { admin, eventually, launchBrowser, openLumaPage, startOrigin, startWorker, uploadDemoData } from "./support.mjs";

for (const host of ["native", "worker"]) {
  describe(`profiles, ${host} edge`, () => {
    let origin;
    let worker;
    const url = (path) => origin.url + path + (worker ? `?edge=${encodeURIComponent(worker.url)}` : "");

    before(async () => {
      origin = await startOrigin();
      if (host === "worker") worker = await startWorker(origin.url);
      await uploadDemoData(origin, "crm-contacts", "crm-contacts.csv");
      await uploadDemoData(origin, "loyalty", "loyalty.csv");
    });
    after(async () => {
      await worker?.stop();
      await origin?.stop();
    });

    test("the login answer carries Sarah's fragment; the 360° view names each value's source", async () => {
      const browser = await launchBrowser();
      try {
        const { page, ecid } = await openLumaPage(browser.context, url("/"));
        const profile = await page.evaluate(() =>
          window.lumaLogin("sarah.rose@example.com", "crm-1042").then((r) => r.profile),
        );
        assert.ok(profile, "the interact response of the login has the edgecdp:profile handle");
        assert.equal(profile.person, "CRMID:crm-1042");
        assert.equal(profile.attributes.person.name.firstName, "Sarah");
        assert.equal(profile.attributes.loyalty.tier, "Bronze");
        assert.equal(profile.attributes._luma.preferences.size, "S");

        const view = await eventually(async () => {
          const r = await admin(origin, "GET", "/api/profiles?ns=Email&id=sarah.rose%40example.com&limit=5");
          return r.status === 200 && r.body.attributes["web.lastSeen"] && r.body;
        }, "the 360° view with the web fragment");
        const source = (path) => view.attributes[path] && `${view.attributes[path].dataset}:${view.attributes[path].value}`;
        assert.equal(source("person.name.firstName"), "crm-contacts:Sarah");
        assert.equal(source("loyalty.tier"), "loyalty:Bronze");
        assert.equal(view.attributes["web.lastSeen"].dataset, "web");
        assert.deepEqual(view.attributes["web.lastSeen"].identity, { ns: "ECID", id: ecid });
        const datasets = [...new Set(view.fragments.map((f) => f.dataset))].sort();
        assert.deepEqual(datasets, ["crm-contacts", "loyalty", "web"]);
        assert.ok(view.events.length >= 2 && view.events.length <= 5, "a page of her events, newest first");
        assert.ok(view.events[0].timestamp >= view.events[view.events.length - 1].timestamp);
        assert.deepEqual(
          view.memberships.filter((m) => m.status !== "exited").map((m) => m.segmentId),
          ["loyalty-members"],
          "a Bronze member (the demo's segments)",
        );
      } finally {
        await browser.close();
      }
    });
  });
}
