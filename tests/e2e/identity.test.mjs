// The identity service end to end, on both hosts (Luma steps 1–2 and 6 of DESIGN.md):
// anonymous browsing mints ECID A; Sarah logs in on A and the edge answers with her known
// identities at once (her loyalty number comes from the loyalty data at the origin); her phone
// (ECID B) opens the email link and is stitched; the origin shows one person
// {A, B, Email, CRMID, LoyaltyID}. Bob then logs in on the laptop: A moves to him, Sarah keeps
// her history. Finally Sarah is deleted and every edge forgets her.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { admin, eventually, launchBrowser, openLumaPage, startOrigin, startWorker, visitorEvents, lumaUrl } from "./support.mjs";

const SARAH = { email: "sarah.rose@example.com", crmid: "crm-1042", loyalty: "LY-778" };
const BOB = { email: "bob.carter@example.com", crmid: "crm-2077" };

/** The identities the page shows (from the SDK's result), as `ns:id` strings. */
async function pageIdentities(page) {
  const json = await page.evaluate(() => document.documentElement.dataset.identities);
  return Object.entries(JSON.parse(json)).map(([ns, id]) => `${ns}:${id}`).sort();
}

async function login(page, who) {
  const result = await page.evaluate(([email, crmid]) => window.lumaLogin(email, crmid).then((r) => r.identity), [who.email, who.crmid]);
  return Object.entries(result).map(([ns, id]) => `${ns}:${id}`).sort();
}

async function graphOf(origin, ns, id) {
  return admin(origin, "GET", `/api/identities/graph?ns=${ns}&id=${encodeURIComponent(id)}`);
}

const members = (graph) => graph.body.identities.map((m) => `${m.key.ns}:${m.key.id}`).sort();

for (const host of ["native", "worker"]) {
  describe(`identity service, ${host} edge`, () => {
    let origin;
    let worker;
    const url = (path, params) => lumaUrl(origin, worker, path, params);

    before(async () => {
      origin = await startOrigin();
      if (host === "worker") worker = await startWorker(origin.url);
    });
    after(async () => {
      await worker?.stop();
      await origin?.stop();
    });

    test("login stitching, cross-device, a shared laptop, and the right to be forgotten", async () => {
      // The loyalty system's data: Sarah's CRM id and loyalty number.
      const loyalty = await admin(origin, "POST", "/api/identities/links", {
        source: "loyalty",
        records: [
          { at: "2026-01-01T00:00:00Z", identities: [{ ns: "CRMID", id: SARAH.crmid }, { ns: "LoyaltyID", id: SARAH.loyalty }] },
          { at: "2026-01-01T00:00:00Z", identities: [{ ns: "CRMID", id: "null" }, { ns: "LoyaltyID", id: "LY-1" }] },
        ],
      });
      assert.equal(loyalty.status, 200);
      assert.equal(loyalty.body.added, 1);
      assert.equal(loyalty.body.rejected[0].index, 1, "the bad row is rejected with its reasons, the good one kept");
      assert.equal(loyalty.body.rejected[0].errors[0].code, "blocked_value");

      const laptop = await launchBrowser();
      const phone = await launchBrowser();
      try {
        // 1. Anonymous browsing on the laptop mints ECID A.
        const { page: home, ecid: a } = await openLumaPage(laptop.context, url("/"));
        assert.deepEqual(await pageIdentities(home), [`ECID:${a}`]);
        await openLumaPage(laptop.context, url("/men.html"));

        // 2. Sarah logs in: the answer already names her, loyalty number included.
        const atLogin = await login(home, SARAH);
        assert.deepEqual(atLogin, [`CRMID:${SARAH.crmid}`, `ECID:${a}`, `Email:${SARAH.email}`, `LoyaltyID:${SARAH.loyalty}`]);
        // Later page views on A are hers without any identityMap.
        const { page: again } = await openLumaPage(laptop.context, url("/"));
        assert.ok((await pageIdentities(again)).includes(`CRMID:${SARAH.crmid}`));

        // 6. Her phone opens the email link (Email, ambiguous): ECID B is stitched to her.
        const { page: mobile, ecid: b } = await openLumaPage(phone.context, url("/", { em: SARAH.email }));
        assert.notEqual(b, a);
        assert.ok((await pageIdentities(mobile)).includes(`CRMID:${SARAH.crmid}`), "the phone is Sarah's at once");

        // The origin shows one person with every identity.
        const sarah = await eventually(async () => {
          const g = await graphOf(origin, "Email", SARAH.email);
          return g.status === 200 && members(g).length === 5 && g;
        }, "Sarah's five identities at the origin");
        assert.deepEqual(members(sarah), [`CRMID:${SARAH.crmid}`, `ECID:${a}`, `ECID:${b}`, `Email:${SARAH.email}`, `LoyaltyID:${SARAH.loyalty}`].sort());
        assert.deepEqual(sarah.body.person, { ns: "CRMID", id: SARAH.crmid });

        // A second person logs in on the laptop: it is theirs now; Sarah keeps her history.
        const bobIds = await login(again, BOB);
        assert.deepEqual(bobIds, [`CRMID:${BOB.crmid}`, `ECID:${a}`, `Email:${BOB.email}`]);
        const { page: bobPage } = await openLumaPage(laptop.context, url("/men.html"));
        assert.ok((await pageIdentities(bobPage)).includes(`CRMID:${BOB.crmid}`));
        await eventually(async () => {
          const g = await graphOf(origin, "ECID", a);
          return g.status === 200 && g.body.person.id === BOB.crmid;
        }, "browser A in Bob's graph");
        const sarahNow = await graphOf(origin, "CRMID", SARAH.crmid);
        assert.deepEqual(members(sarahNow), [`CRMID:${SARAH.crmid}`, `ECID:${b}`, `Email:${SARAH.email}`, `LoyaltyID:${SARAH.loyalty}`].sort());
        const history = await eventually(async () => {
          const r = await admin(origin, "GET", `/api/profiles/events?ns=CRMID&id=${SARAH.crmid}`);
          const events = visitorEvents(r.body.events);
          return events.length === 5 && events;
        }, "Sarah's five events (besides the personalization notifications)");
        const kinds = history.map((e) => `${e.ecid === a ? "A" : "B"}:${e.eventType}`).sort();
        assert.deepEqual(kinds, ["A:userAccount.login", "A:web.webpagedetails.pageViews", "A:web.webpagedetails.pageViews", "A:web.webpagedetails.pageViews", "B:web.webpagedetails.pageViews"],
          "her anonymous browsing before login, her login and page view on A, and her phone");
        const bob = await admin(origin, "GET", `/api/profiles/events?ns=CRMID&id=${BOB.crmid}`);
        assert.deepEqual(visitorEvents(bob.body.events).map((e) => e.eventType).sort(), ["userAccount.login", "web.webpagedetails.pageViews"]);

        // Right to be forgotten: Sarah is deleted; the edge forgets her, B starts afresh.
        const deleted = await admin(origin, "DELETE", `/api/profiles?ns=Email&id=${encodeURIComponent(SARAH.email)}`);
        assert.equal(deleted.status, 200);
        assert.equal(deleted.body.identities.length, 4);
        assert.ok(deleted.body.events >= 5, `her five events and their notifications: ${deleted.body.events}`);
        assert.equal((await graphOf(origin, "CRMID", SARAH.crmid)).status, 404);
        const fresh = await eventually(async () => {
          const { page, ecid } = await openLumaPage(phone.context, url("/"));
          const ids = await pageIdentities(page);
          await page.close();
          return ids.length === 1 && { ecid, ids };
        }, "the phone anonymous again", 15_000);
        assert.equal(fresh.ecid, b, "the old ECID stays, with a fresh anonymous profile");
        const bobAfter = (await admin(origin, "GET", `/api/profiles/events?ns=CRMID&id=${BOB.crmid}`)).body.events;
        assert.equal(visitorEvents(bobAfter).length, 2, "Bob's data is untouched");
      } finally {
        await laptop.close();
        await phone.close();
      }
    });
  });
}
