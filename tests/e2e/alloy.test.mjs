// Adobe Web SDK conformance: the unmodified `@adobe/alloy` 2.33.1 (`dist/alloy.min.js`, pinned in
// package.json) in headless Chromium against both of our edges — `edgecdp serve` with its own TLS
// listener and the worker in workerd (Miniflare serving https).
//
// The topology is the one ../shared/reference/edge-protocol.md verified: the page is
// https://www.luma.test (a small https server of this file, serving alloy unmodified), alloy's
// `edgeDomain` is edge.luma.test, and Chromium's resolver maps both names (port included) to the
// loopback listeners; every other name fails (`MAP * ~NOTFOUND`). Page and edge share the apex
// luma.test, so cookies travel in the Cookie header as on a real first-party deployment. The
// certificate is self-signed, made by this test. Each check uses a fresh browser profile: alloy
// keeps consent hashes in localStorage and the identity in cookies.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { X509Certificate, createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import https from "node:https";
import net from "node:net";
import { join } from "node:path";
import {
  CHROMIUM, ORG_COOKIE, ROOT, admin, eventually, makeCertificate, startOrigin, startWorker, storedEvents, tempDir,
} from "./support.mjs";

const ALLOY = join(ROOT, "node_modules/@adobe/alloy/dist/alloy.min.js");
const ALLOY_VERSION = "2.33.1";
const PAGE_HOST = "www.luma.test";
const EDGE_HOST = "edge.luma.test";
const CONSENT_COOKIE = "kndctr_LUMA123_AdobeOrg_consent";
/** The demo's offer for visitors who are not loyalty members (crates/origin/demo.toml). */
const FIRST_ORDER = /^New to Luma\?Take 10% off your first order with code WELCOME10\./;

/**
 * The test page: alloy's command queue (the documented base-code protocol: `__alloyNS` names the
 * global, commands queue as `[resolve, reject, args]`), alloy.min.js itself, the elements the demo
 * offers target, and `configure`. The test sends the commands.
 */
function testPage(datastream) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Luma (Adobe Web SDK)</title>
<script>
  window.__alloyNS = ["alloy"];
  window.alloy = function () {
    var args = arguments;
    return new Promise(function (resolve, reject) { window.alloy.q.push([resolve, reject, args]); });
  };
  window.alloy.q = [];
</script>
<script src="/alloy.min.js" async></script>
</head><body>
<article id="shipping-offer"><h2>Free shipping</h2><p>On orders over $50.</p></article>
<p><a id="rewards-cta" href="/#offers">Join Luma Rewards</a></p>
<p><a id="leave" href="/next.html">Men's running</a></p>
<script>
  alloy("configure", {
    datastreamId: ${JSON.stringify(datastream)},
    orgId: "LUMA123@AdobeOrg",
    edgeDomain: ${JSON.stringify(EDGE_HOST)},
    thirdPartyCookiesEnabled: false,
    debugEnabled: true
  });
</script>
</body></html>`;
}

/** The https server for www.luma.test: the test page (`?ds=` picks the datastream) and alloy. */
async function startPageServer(tls) {
  const alloy = readFileSync(ALLOY);
  const server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const url = new URL(req.url, `https://${PAGE_HOST}`);
    if (url.pathname === "/alloy.min.js") {
      res.writeHead(200, { "content-type": "text/javascript" }).end(alloy);
    } else if (url.pathname === "/" || url.pathname.endsWith(".html")) {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(testPage(url.searchParams.get("ds") || "ds-luma"));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return { port: server.address().port, stop: () => new Promise((ok) => server.close(ok)) };
}

/** A port nothing listens on (for now). */
async function freePort() {
  const s = net.createServer();
  await new Promise((ok) => s.listen(0, "127.0.0.1", ok));
  const { port } = s.address();
  await new Promise((ok) => s.close(ok));
  return port;
}

/** The ECID in an identity cookie: field 1 of the protobuf message (base64url, URI-encoded). */
function ecidOfCookie(value) {
  const bytes = Buffer.from(decodeURIComponent(value).replace(/-/g, "+").replace(/_/g, "/"), "base64");
  let i = 0;
  const varint = () => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[i++];
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
  };
  while (i < bytes.length) {
    const key = varint();
    if ((key & 7) === 2) {
      const len = varint();
      const field = bytes.subarray(i, i + len);
      i += len;
      if (key >> 3 === 1) return field.toString("utf8");
    } else if ((key & 7) === 0) varint();
    else if ((key & 7) === 1) i += 8;
    else if ((key & 7) === 5) i += 4;
    else throw new Error(`identity cookie: unexpected wire type ${key & 7}`);
  }
  throw new Error("identity cookie: no field 1");
}

/**
 * Headless Chromium (fresh profile) whose resolver sends www.luma.test to the page server and
 * edge.luma.test to the edge. Records every request the browser makes, the edge's answers
 * (status, body) and anything sent towards demdex.
 */
async function openBrowser(env) {
  const { chromium } = await import("playwright-core");
  const profile = tempDir("alloy");
  const context = await chromium.launchPersistentContext(profile.dir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 720 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      // Trusts the test's certificate by its key (no TLS error, no click-through).
      `--ignore-certificate-errors-spki-list=${env.spki}`,
      `--host-resolver-rules=MAP ${PAGE_HOST} 127.0.0.1:${env.pagePort},MAP ${EDGE_HOST} 127.0.0.1:${env.edgePort},MAP * ~NOTFOUND`],
  });
  const b = { context, requests: [], edge: [], demdex: [], console: [], reads: [] };
  context.on("request", (r) => b.requests.push(r.url()));
  await context.route(/demdex\.net/, (route) => {
    b.demdex.push(route.request().url());
    return route.abort("connectionrefused");
  });
  context.on("response", async (r) => {
    if (new URL(r.url()).hostname !== EDGE_HOST) return;
    const entry = { url: r.url(), status: r.status(), headers: r.headers(), request: r.request().postData(), body: null };
    b.edge.push(entry);
    b.reads.push(r.text().then((t) => { entry.body = t; }, () => {}));
  });
  b.open = async (path = "/") => {
    const page = await context.newPage();
    page.on("console", (m) => b.console.push(`${m.type()}: ${m.text()}`));
    await page.goto(`https://${PAGE_HOST}${path}`);
    return page;
  };
  b.close = async () => {
    await context.close();
    profile.remove();
  };
  b.cookie = async (name) => (await context.cookies(`https://${PAGE_HOST}/`)).find((c) => c.name === name)?.value;
  /** The edge's JSON answers to `action` (interact, set-consent, …) so far, bodies read. */
  b.answers = async (action) => {
    await Promise.all(b.reads);
    return b.edge.filter((e) => e.url.includes(`/v1/${action}?`) && e.body).map((e) => ({ ...e, json: JSON.parse(e.body) }));
  };
  return b;
}

/** Runs an alloy command in the page; resolves `{ ok, value }` or `{ ok: false, error }`. */
function alloy(page, command, options) {
  return page.evaluate(([c, o]) => window.alloy(c, o).then(
    (value) => ({ ok: true, value: JSON.parse(JSON.stringify(value ?? null)) }),
    (e) => ({ ok: false, error: String(e && e.message) }),
  ), [command, options]);
}

function handles(json, type) {
  return json.handle.filter((h) => h.type === type).flatMap((h) => h.payload);
}

const pageView = (extra = {}) => ({ renderDecisions: true, xdm: { eventType: "web.webpagedetails.pageViews", ...extra } });

/** Fails with the page's console when alloy's command failed. */
function assertOk(result, b, what) {
  assert.ok(result.ok, `${what}: ${result.error}\nconsole:\n${b.console.slice(-20).join("\n")}`);
  return result.value;
}

for (const host of ["native", "worker"]) {
  describe(`Adobe Web SDK ${ALLOY_VERSION} conformance, ${host} edge`, () => {
    let tls;
    let origin;
    let worker;
    let pages;
    const env = {};
    const open = [];
    const database = () => origin.database;

    before(async () => {
      tls = makeCertificate();
      pages = await startPageServer(tls);
      env.pagePort = pages.port;
      env.spki = createHash("sha256").update(new X509Certificate(tls.cert).publicKey.export({ type: "spki", format: "der" })).digest("base64");
      if (host === "native") {
        origin = await startOrigin({ tls });
        env.edgePort = origin.port;
      } else {
        origin = await startOrigin();
        worker = await startWorker(origin.url, {}, { httpsKey: tls.key, httpsCert: tls.cert });
        env.edgePort = Number(new URL(worker.url).port);
      }
    });
    after(async () => {
      for (const b of open) await b.close().catch(() => {});
      await worker?.stop();
      await origin?.stop();
      await pages?.stop();
      tls?.remove();
    });

    async function browser() {
      const b = await openBrowser(env);
      open.push(b);
      return b;
    }

    /** The events the origin stored for `ecid` (the worker ships them after answering). */
    const stored = (ecid) => storedEvents(database(), ecid);

    test("1. sendEvent resolves; one ECID in identity:result, the cookie, getIdentity, across requests and a reload; parallel once the cookie exists", async () => {
      const b = await browser();
      // Logs when the page's fetches start ("s") and settle ("e"); alloy captures `fetch` when
      // it loads, so this is in place first.
      await b.context.addInitScript(() => {
        const original = window.fetch;
        window.__fetchLog = [];
        window.fetch = function (...args) {
          window.__fetchLog.push("s");
          return original.apply(this, args).finally(() => window.__fetchLog.push("e"));
        };
      });
      const page = await b.open();
      const log = () => page.evaluate(() => window.__fetchLog.splice(0).join(""));
      // Without the identity cookie alloy sends one request and holds the others until it is
      // answered, so the log tells serialised from parallel.
      const first = await page.evaluate(() => Promise.all([1, 2, 3].map((n) => window.alloy("sendEvent", { xdm: { eventType: "conformance.first", _id: `c1-first-${n}-${Math.random()}` } }).then(() => null, (e) => String(e)))));
      assert.deepEqual(first, [null, null, null], "every sendEvent resolves");
      assert.match(await log(), /^se/, "before the identity cookie exists, alloy holds the others until the first is answered");

      const cookie = await b.cookie(ORG_COOKIE);
      assert.ok(cookie, "alloy wrote the identity cookie from our state:store");
      const ecid = ecidOfCookie(cookie);
      assert.match(ecid, /^\d{38}$/, "a 38-digit ECID");
      // Credentialed CORS for the exact page origin, cached per origin, Retry-After readable.
      const { headers } = b.edge[0];
      assert.equal(headers["access-control-allow-origin"], `https://${PAGE_HOST}`);
      assert.equal(headers["access-control-allow-credentials"], "true");
      assert.match(headers.vary, /\bOrigin\b/);
      assert.match(headers["access-control-expose-headers"], /Retry-After/);
      const results = (await b.answers("interact")).flatMap((a) => handles(a.json, "identity:result")).filter((r) => r.namespace.code === "ECID");
      assert.equal(results.length, 3);
      assert.ok(results.every((r) => r.id === ecid), `identity:result ${JSON.stringify(results)} equals the cookie's ECID ${ecid}`);

      // getIdentity answers from what alloy holds: no request.
      const sent = b.requests.length;
      const identity = assertOk(await alloy(page, "getIdentity", { namespaces: ["ECID"] }), b, "getIdentity");
      assert.equal(identity.identity.ECID, ecid);
      assert.equal(b.requests.length, sent, "getIdentity made no network call");

      // Now the cookie exists: three sendEvents go out together.
      const parallel = await page.evaluate(() => Promise.all([1, 2, 3].map((n) => window.alloy("sendEvent", { xdm: { eventType: "conformance.parallel", _id: `c1-par-${n}-${Math.random()}` } }).then(() => null, (e) => String(e)))));
      assert.deepEqual(parallel, [null, null, null]);
      assert.match(await log(), /^ss/, "with the identity cookie, concurrent sendEvents start before the first is answered");

      // A reload keeps the ECID (the browser sends our cookie; the edge reads it back).
      await page.reload();
      assertOk(await alloy(page, "sendEvent", { xdm: { eventType: "conformance.reload" } }), b, "sendEvent after reload");
      const last = (await b.answers("interact")).at(-1);
      assert.deepEqual(handles(last.json, "identity:result").find((r) => r.namespace.code === "ECID").id, ecid);
      assert.equal(ecidOfCookie(await b.cookie(ORG_COOKIE)), ecid);
      assert.equal(assertOk(await alloy(page, "getIdentity", { namespaces: ["ECID"] }), b, "getIdentity").identity.ECID, ecid);
      assert.deepEqual(b.demdex, [], "nothing went to demdex");

      // Every event reached the origin under that one ECID.
      await eventually(() => stored(ecid).filter((e) => String(e.eventType).startsWith("conformance.")).length === 7,
        "seven events stored under one ECID");
    });

    test("1b. a location hint in the path (alloy's kndctr cluster cookie) is served like any other", async () => {
      const b = await browser();
      await b.context.addCookies([{ name: "kndctr_LUMA123_AdobeOrg_cluster", value: "or2", domain: ".luma.test", path: "/", secure: true }]);
      const page = await b.open();
      assertOk(await alloy(page, "sendEvent", { xdm: { eventType: "conformance.hint" } }), b, "sendEvent");
      const answer = (await b.answers("interact")).at(-1);
      assert.match(new URL(answer.url).pathname, /^\/ee\/or2\/v1\/interact$/);
      assert.equal(answer.status, 200);
      assert.ok(await b.cookie(ORG_COOKIE));
    });

    test("1c. getIdentity before any event acquires the ECID at /v1/identity/acquire", async () => {
      const b = await browser();
      const page = await b.open();
      const identity = assertOk(await alloy(page, "getIdentity", { namespaces: ["ECID"] }), b, "getIdentity");
      const acquired = (await b.answers("identity/acquire")).at(-1);
      assert.ok(acquired, `alloy asked /v1/identity/acquire: ${b.requests.join("\n")}`);
      assert.equal(acquired.status, 200);
      assert.equal(identity.identity.ECID, ecidOfCookie(await b.cookie(ORG_COOKIE)));
      assert.equal(handles(acquired.json, "identity:result")[0].id, identity.identity.ECID);
      // The events that follow are that visitor's.
      assertOk(await alloy(page, "sendEvent", { xdm: { eventType: "conformance.acquired" } }), b, "sendEvent");
      await eventually(() => stored(identity.identity.ECID).some((e) => e.eventType === "conformance.acquired"), "the event stored under the acquired ECID");
    });

    test("2. renderDecisions applies the demo's page-scope setHtml offer; the display notification is recorded", async () => {
      const b = await browser();
      const page = await b.open();
      const result = assertOk(await alloy(page, "sendEvent", pageView()), b, "page view");
      const rendered = result.propositions.filter((p) => p.renderAttempted);
      const offer = rendered.find((p) => p.scopeDetails.activity.id === "new-visitors");
      assert.ok(offer, `the first-order offer was rendered: ${JSON.stringify(result.propositions)}`);
      assert.match(await page.textContent("#shipping-offer"), FIRST_ORDER);

      // alloy's own display notification reaches the edge, with the proposition it rendered ...
      const ecid = ecidOfCookie(await b.cookie(ORG_COOKIE));
      const display = await eventually(() => b.edge.find((e) => e.status === 200 && e.request?.includes("decisioning.propositionDisplay")),
        "the display notification", 10_000);
      const sent = JSON.parse(display.request).events[0].xdm._experience.decisioning;
      assert.ok(sent.propositions.some((p) => p.id === offer.id));
      // ... and is recorded: stored with the visitor's events and counted for the experience.
      await eventually(() => stored(ecid).some((e) => e.eventType === "decisioning.propositionDisplay"
        && e.xdm._experience.decisioning.propositions.some((p) => p.id === offer.id)), "the display stored", 15_000);
      await eventually(async () => {
        const r = await admin(origin, "GET", "/api/activities/new-visitors");
        return r.body.experiences.some((x) => x.experience === "first-order" && x.displays >= 1);
      }, "the display counted for the experience", 15_000);
    });

    test("3. setConsent out stops collection at the edge, in resumes it; the consent cookie is the edge's", async () => {
      const b = await browser();
      const page = await b.open();
      assertOk(await alloy(page, "sendEvent", { xdm: { eventType: "conformance.consent", _id: "before-out" } }), b, "sendEvent");
      const ecid = ecidOfCookie(await b.cookie(ORG_COOKIE));

      assertOk(await alloy(page, "setConsent", { consent: [{ standard: "Adobe", version: "1.0", value: { general: "out" } }] }), b, "consent out");
      const out = (await b.answers("privacy/set-consent")).at(-1);
      const set = handles(out.json, "state:store").find((s) => s.key === CONSENT_COOKIE);
      assert.equal(set?.value, "general=out", "the edge answers the consent cookie");
      assert.equal(await b.cookie(CONSENT_COOKIE), set.value, "the browser holds what the edge set");

      // alloy itself sends nothing now (it resolves `{}`) ...
      const requests = b.edge.length;
      assert.deepEqual(assertOk(await alloy(page, "sendEvent", { xdm: { eventType: "conformance.consent", _id: "while-out-sdk" } }), b, "sendEvent"), {});
      assert.equal(b.edge.length, requests, "alloy sent nothing while consent is out");
      // ... and the edge refuses to collect even if a request comes (the browser's cookies only).
      const direct = await page.evaluate(async (edge) => {
        const r = await fetch(`https://${edge}/ee/v1/interact?configId=ds-luma&requestId=${crypto.randomUUID()}`, {
          method: "POST", credentials: "include", body: JSON.stringify({ events: [{ xdm: { eventType: "conformance.consent", _id: "while-out-direct" } }] }),
        });
        return { status: r.status, body: await r.json() };
      }, EDGE_HOST);
      assert.equal(direct.status, 200);
      assert.ok(direct.body.warnings?.some((w) => /consent is out/.test(w.detail)), JSON.stringify(direct.body));

      assertOk(await alloy(page, "setConsent", { consent: [{ standard: "Adobe", version: "1.0", value: { general: "in" } }] }), b, "consent in");
      assert.equal(await b.cookie(CONSENT_COOKIE), "general=in");
      assertOk(await alloy(page, "sendEvent", { xdm: { eventType: "conformance.consent", _id: "after-in" } }), b, "sendEvent");
      const ids = await eventually(() => {
        const got = stored(ecid).filter((e) => e.eventType === "conformance.consent").map((e) => e.xdm._id);
        return got.includes("after-in") && got;
      }, "the event after consent in", 15_000);
      assert.deepEqual(ids.sort(), ["after-in", "before-out"], "nothing was stored while consent was out");
    });

    test("4. a login event with an authenticated Email identityMap stitches the ECID to the person", async () => {
      const b = await browser();
      const page = await b.open();
      assertOk(await alloy(page, "sendEvent", pageView()), b, "page view");
      const ecid = ecidOfCookie(await b.cookie(ORG_COOKIE));
      const email = `alloy.${host}.${Date.now()}@example.com`;
      const login = assertOk(await alloy(page, "sendEvent", {
        xdm: { eventType: "userAccount.login", identityMap: { Email: [{ id: email, authenticatedState: "authenticated", primary: true }] } },
      }), b, "login");
      assert.ok(login, "the login resolves");
      const graph = await eventually(async () => {
        const g = await admin(origin, "GET", `/api/identities/graph?ns=Email&id=${encodeURIComponent(email)}`);
        return g.status === 200 && g.body.identities.some((m) => m.key.ns === "ECID" && m.key.id === ecid) && g.body;
      }, "the ECID stitched to the Email at the origin", 15_000);
      assert.deepEqual(graph.identities.map((m) => `${m.key.ns}:${m.key.id}`).sort(), [`ECID:${ecid}`, `Email:${email}`]);
    });

    test("5a. a bad request through alloy rejects with our Adobe-format error body", async () => {
      const b = await browser();
      const page = await b.open("/?ds=ds-unknown");
      const result = await alloy(page, "sendEvent", pageView());
      assert.equal(result.ok, false, "sendEvent rejects");
      assert.match(result.error, /status code 400/);
      const body = JSON.parse(result.error.slice(result.error.indexOf("{")));
      assert.equal(body.status, 400);
      assert.equal(body.type, "https://ns.edgecdp.dev/errors/ECDP-0004-400");
      assert.equal(body.title, "Invalid datastream ID");
      assert.match(body.detail, /ds-unknown/);
      assert.equal(body.report.requestId, new URL(b.edge.at(-1).url).searchParams.get("requestId"));
    });

    test("5b. a 503 from the edge is retried by alloy with the same requestId and stored once", { timeout: 120_000 }, async () => {
      const b = await browser();
      if (host === "native") {
        const page = await b.open();
        assertOk(await alloy(page, "sendEvent", { xdm: { eventType: "conformance.first" } }), b, "sendEvent");
        const ecid = ecidOfCookie(await b.cookie(ORG_COOKIE));
        // Another process holds SQLite's write lock (a backup, a migration) past the store's 5 s
        // busy timeout: the edge cannot store the request and answers 503 + Retry-After: 1.
        const locker = holdWriteLock(database(), 6.5);
        await locker.locked;
        const sent = await alloy(page, "sendEvent", { xdm: { eventType: "conformance.retry", _id: "retried-native" } });
        await locker.done;
        assertOk(sent, b, "sendEvent across a 503");
        checkRetried(b);
        await eventually(() => stored(ecid).some((e) => e.xdm._id === "retried-native"), "the retried event stored");
        assert.equal(stored(ecid).filter((e) => e.xdm._id === "retried-native").length, 1, "stored once");
      } else {
        // A fresh worker whose origin is down has no configuration yet: it answers 503 with
        // Retry-After. The origin comes up on the first 503; alloy's retry then succeeds.
        const port = await freePort();
        const data = tempDir("alloy-503");
        const cold = await startWorker(`http://127.0.0.1:${port}`, {}, { httpsKey: tls.key, httpsCert: tls.cert });
        let late;
        try {
          const b2 = await openBrowser({ ...env, edgePort: Number(new URL(cold.url).port) });
          open.push(b2);
          const page = await b2.open();
          const started = eventually(() => b2.edge.some((e) => e.status === 503), "the first 503", 20_000)
            .then(async () => { late = await startOrigin({ port, database: join(data.dir, "late.sqlite") }); });
          const sent = await alloy(page, "sendEvent", { xdm: { eventType: "conformance.retry", _id: "retried-worker" } });
          await started;
          assertOk(sent, b2, "sendEvent across a 503");
          checkRetried(b2);
          const ecid = ecidOfCookie(await b2.cookie(ORG_COOKIE));
          await eventually(() => storedEvents(late.database, ecid).some((e) => e.xdm._id === "retried-worker"), "the retried event stored", 20_000);
          assert.equal(storedEvents(late.database, ecid).filter((e) => e.xdm._id === "retried-worker").length, 1, "stored once");
        } finally {
          await cold.stop();
          await late?.stop();
          data.remove();
        }
      }
    });

    test("6. no request leaves for any host but the page and the edge (a whole visit: render, consent, identity, link click)", async () => {
      const b = await browser();
      const page = await b.open();
      assertOk(await alloy(page, "sendEvent", pageView()), b, "page view");
      assertOk(await alloy(page, "getIdentity", { namespaces: ["ECID"] }), b, "getIdentity");
      assertOk(await alloy(page, "setConsent", { consent: [{ standard: "Adobe", version: "2.0", value: { collect: { val: "y" } } }] }), b, "consent");
      const ecid = ecidOfCookie(await b.cookie(ORG_COOKIE));
      // Leaving the page by a link: alloy's click collection sends a beacon to /v1/collect.
      await Promise.all([page.waitForURL(/next\.html/), page.click("#leave")]);
      await eventually(() => stored(ecid).some((e) => e.eventType === "web.webinteraction.linkClicks"), "the link click (beacon) stored", 15_000);
      assert.ok(b.requests.some((u) => /\/ee\/v1\/collect\?/.test(u)), "the click went as a /v1/collect beacon");
      const hosts = [...new Set(b.requests.map((u) => new URL(u).hostname))].sort();
      assert.deepEqual(hosts, [EDGE_HOST, PAGE_HOST].sort(), `requests: ${b.requests.join("\n")}`);
      assert.deepEqual(b.demdex, []);
    });
  });
}

/** The edge answered 503 with Retry-After, and alloy retried the same requestId until it got 200. */
function checkRetried(b) {
  const failed = b.edge.find((e) => e.status === 503);
  assert.ok(failed, `the edge answered 503: ${b.edge.map((e) => e.status).join(",")}`);
  assert.equal(JSON.parse(failed.body).status, 503);
  const id = new URL(failed.url).searchParams.get("requestId");
  const same = b.edge.filter((e) => new URL(e.url).searchParams.get("requestId") === id);
  assert.ok(same.length >= 2 && same.at(-1).status === 200, `retried with requestId ${id}: ${same.map((e) => e.status).join(",")}`);
}

/**
 * Holds SQLite's write lock on `database` for `seconds` from another process (Python's sqlite3);
 * `locked` resolves once held, `done` when released.
 */
function holdWriteLock(database, seconds) {
  const script = `import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
c.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
c.execute("ROLLBACK")`;
  const child = spawn("python3", ["-c", script, database, String(seconds)], { stdio: ["ignore", "pipe", "inherit"] });
  const locked = new Promise((ok, fail) => {
    child.stdout.on("data", (d) => String(d).includes("locked") && ok());
    child.once("error", (e) => fail(new Error(`python3 is needed to hold the lock: ${e.message}`)));
    child.once("exit", (code) => fail(new Error(`the lock holder exited (${code}) before locking`)));
  });
  const done = new Promise((ok) => child.once("exit", ok));
  return { locked, done };
}
