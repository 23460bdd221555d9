// What the SDK puts on the wire (edge-protocol.md §1–§2).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { createInstance, VERSION } from "../dist/esm/index.js";
import { installBrowser, installFetch } from "./support/env.mjs";
import { identityHandles, identityCookieValue } from "./support/mock-edge.mjs";

const config = { datastreamId: "ds-luma", orgId: "LUMA123@AdobeOrg", edgeDomain: "edge.luma.test" };
const ECID = "52815286440582716171370361733432581330";
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test("sendEvent POSTs /ee/v1/interact with configId and a v4 requestId, as text/plain with credentials", async () => {
  installBrowser();
  const requests = installFetch(() => ({ body: { handle: identityHandles(ECID) } }));
  const result = await createInstance(config).sendEvent({ xdm: { eventType: "web.webpagedetails.pageViews" } });

  assert.equal(requests.length, 1);
  const [{ url, init }] = requests;
  assert.equal(url.origin + url.pathname, "https://edge.luma.test/ee/v1/interact");
  assert.deepEqual([...url.searchParams.keys()], ["configId", "requestId"]);
  assert.equal(url.searchParams.get("configId"), "ds-luma");
  assert.match(url.searchParams.get("requestId"), UUID_V4);
  assert.equal(init.method, "POST");
  assert.equal(init.credentials, "include");
  assert.equal(init.headers["Content-Type"], "text/plain; charset=UTF-8");
  assert.equal(typeof init.body, "string");
  assert.equal(result.requestId, url.searchParams.get("requestId"));
});

test("the body carries the event with its context, the identity query and meta.state", async () => {
  const jar = installBrowser({ url: "https://www.luma.test/men.html?utm=1", referrer: "https://www.luma.test/" });
  jar.cookie = `kndctr_LUMA123_AdobeOrg_identity=${identityCookieValue(ECID)}; path=/`;
  jar.cookie = "kndctr_LUMA123_AdobeOrg_consent=general=in; path=/";
  jar.cookie = "kndctr_OTHER_AdobeOrg_identity=nope; path=/";
  jar.cookie = "session=abc; path=/";
  const requests = installFetch(() => ({ body: { handle: [] } }));
  const before = Date.now();
  await createInstance(config).sendEvent({
    xdm: { eventType: "commerce.productViews", productListItems: [{ SKU: "MS-RUN-01" }] },
    data: { source: "test" },
  });
  const { body } = requests[0];

  assert.deepEqual(Object.keys(body).sort(), ["events", "meta", "query"]);
  assert.deepEqual(body.query, { identity: { fetch: ["ECID"] } });
  assert.deepEqual(body.meta, {
    state: {
      domain: "luma.test",
      cookiesEnabled: true,
      entries: [
        { key: "kndctr_LUMA123_AdobeOrg_identity", value: identityCookieValue(ECID) },
        { key: "kndctr_LUMA123_AdobeOrg_consent", value: "general=in" },
      ],
    },
  });
  assert.equal(body.events.length, 1);
  const [event] = body.events;
  assert.deepEqual(event.data, { source: "test" });
  assert.equal(event.xdm.eventType, "commerce.productViews");
  assert.deepEqual(event.xdm.productListItems, [{ SKU: "MS-RUN-01" }]);
  assert.deepEqual(event.xdm.web, {
    webPageDetails: { URL: "https://www.luma.test/men.html?utm=1" },
    webReferrer: { URL: "https://www.luma.test/" },
  });
  assert.deepEqual(event.xdm.implementationDetails, { name: "https://edgecdp.dev/sdk-js", version: VERSION, environment: "browser" });
  const ts = Date.parse(event.xdm.timestamp);
  assert.ok(ts >= before - 1 && ts <= Date.now() + 1, "timestamp is now");
  assert.equal(event.xdm.timestamp, new Date(ts).toISOString());
});

test("what the caller gave is never overwritten, nor modified in place", async () => {
  installBrowser();
  const requests = installFetch(() => ({ body: { handle: [] } }));
  const xdm = {
    eventType: "web.webpagedetails.pageViews",
    timestamp: "2026-01-02T03:04:05.000Z",
    web: { webPageDetails: { name: "home", URL: "https://custom.example/" } },
    implementationDetails: { name: "my-wrapper" },
  };
  const copy = structuredClone(xdm);
  await createInstance(config).sendEvent({ xdm, type: "ignored.because.xdm.has.one" });
  const sent = requests[0].body.events[0].xdm;

  assert.deepEqual(xdm, copy, "caller's object untouched");
  assert.equal(sent.eventType, "web.webpagedetails.pageViews");
  assert.equal(sent.timestamp, "2026-01-02T03:04:05.000Z");
  assert.deepEqual(sent.web.webPageDetails, { name: "home", URL: "https://custom.example/" });
  assert.deepEqual(sent.web.webReferrer, { URL: "https://search.example/q" });
  assert.deepEqual(sent.implementationDetails, { name: "my-wrapper", version: VERSION, environment: "browser" });
  assert.equal(requests[0].body.events[0].data, undefined);
});

test("type fills xdm.eventType when the xdm has none", async () => {
  installBrowser();
  const requests = installFetch(() => ({ body: { handle: [] } }));
  await createInstance(config).sendEvent({ type: "web.webinteraction.linkClicks" });
  assert.equal(requests[0].body.events[0].xdm.eventType, "web.webinteraction.linkClicks");
});

test("meta.state has no entries before any state cookie exists", async () => {
  installBrowser();
  const requests = installFetch(() => ({ body: { handle: [] } }));
  await createInstance(config).sendEvent({});
  assert.deepEqual(requests[0].body.meta, { state: { domain: "luma.test", cookiesEnabled: true } });
});

test("edgeDomain: a bare host means https, an origin URL keeps scheme and port, none means the page origin", async () => {
  installBrowser({ url: "http://localhost:3000/index.html" });
  const requests = installFetch(() => ({ body: { handle: [] } }));
  const cases = [
    [{ edgeDomain: "edge.luma.test" }, "https://edge.luma.test/ee/v1/interact"],
    [{ edgeDomain: "http://localhost:8787" }, "http://localhost:8787/ee/v1/interact"],
    [{ edgeDomain: "http://127.0.0.1:8787/" }, "http://127.0.0.1:8787/ee/v1/interact"],
    [{}, "http://localhost:3000/ee/v1/interact"],
    [{ edgeDomain: "" }, "http://localhost:3000/ee/v1/interact"],
    [{ edgeDomain: "pz.shop.example", edgeBasePath: "/api/ee/" }, "https://pz.shop.example/api/ee/v1/interact"],
  ];
  for (const [extra, expected] of cases) {
    await createInstance({ datastreamId: "ds-luma", orgId: "LUMA123@AdobeOrg", ...extra }).sendEvent({});
    const { url } = requests.at(-1);
    assert.equal(url.origin + url.pathname, expected, JSON.stringify(extra));
  }
  assert.equal(requests[3].body.meta.state.domain, "", "localhost has no apex domain");
});

test("createInstance rejects a config without datastreamId or orgId, naming the option", () => {
  installBrowser();
  assert.throws(() => createInstance({ orgId: "LUMA123@AdobeOrg" }), /config\.datastreamId is required/);
  assert.throws(() => createInstance({ datastreamId: "ds-luma", orgId: "" }), /config\.orgId is required/);
});

test("the package metadata matches the build", () => {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  assert.equal(VERSION, pkg.version);
  assert.equal(pkg.sideEffects, false);
  assert.equal(pkg.exports["."].types, "./dist/types/index.d.ts");
});
