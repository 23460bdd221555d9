// state:store → first-party cookies, identity:result → the in-memory ECID (edge-protocol.md §1.5, §4.1).
import assert from "node:assert/strict";
import { test } from "node:test";
import { createInstance } from "../dist/esm/index.js";
import { installBrowser, installFetch } from "./support/env.mjs";
import { identityCookieValue, identityHandles } from "./support/mock-edge.mjs";

const config = { datastreamId: "ds-luma", orgId: "LUMA123@AdobeOrg", edgeDomain: "edge.luma.test" };
const ECID = "52815286440582716171370361733432581330";
const KEY = "kndctr_LUMA123_AdobeOrg_identity";

test("state:store items become JS-readable cookies on the apex domain with path, max-age and SameSite=Lax", async () => {
  const jar = installBrowser({ url: "http://www.luma.test/" });
  installFetch(() => ({
    body: {
      handle: [
        ...identityHandles(ECID),
        { type: "state:store", payload: [{ key: "kndctr_LUMA123_AdobeOrg_consent", value: "general=in", maxAge: 15552000 }] },
      ],
    },
  }));
  await createInstance(config).sendEvent({});

  const identity = jar.get(KEY);
  assert.ok(identity, "identity cookie written");
  assert.equal(identity.value, identityCookieValue(ECID));
  assert.equal(identity.domain, "luma.test");
  assert.equal(identity.path, "/");
  assert.equal(identity.sameSite, "Lax");
  assert.match(identity.raw, /; max-age=34128000(;|$)/);
  assert.doesNotMatch(identity.raw, /httponly/i);
  assert.equal(jar.get("kndctr_LUMA123_AdobeOrg_consent").value, "general=in");
  assert.equal(jar.get("edgecdp_probe"), undefined, "the apex probe cookie is removed");
  assert.match(document.cookie, new RegExp(`${KEY}=${identityCookieValue(ECID).replace(/[+=]/g, "\\$&")}`));
});

test("SameSite=None is applied (with Secure) only on https pages; elsewhere the cookie is still written, Lax", async () => {
  for (const [url, expected] of [["https://www.luma.test/", "None"], ["http://www.luma.test/", "Lax"]]) {
    const jar = installBrowser({ url });
    installFetch(() => ({
      body: { handle: [{ type: "state:store", payload: [{ key: "kndctr_LUMA123_AdobeOrg_x", value: "1", maxAge: 60, attrs: { SameSite: "None" } }] }] },
    }));
    await createInstance(config).sendEvent({});
    const cookie = jar.get("kndctr_LUMA123_AdobeOrg_x");
    assert.ok(cookie, `written on ${url}`);
    assert.equal(cookie.sameSite, expected, url);
    assert.equal(cookie.secure, expected === "None", url);
  }
});

test("maxAge 0 deletes, no maxAge makes a session cookie, unsafe values are encoded and read back, bad keys are ignored", async () => {
  const jar = installBrowser({ url: "https://shop.luma.test/" });
  jar.cookie = "kndctr_LUMA123_AdobeOrg_old=1; path=/; domain=luma.test";
  const requests = installFetch(() => ({
    body: {
      handle: [
        {
          type: "state:store",
          payload: [
            { key: "kndctr_LUMA123_AdobeOrg_old", value: "", maxAge: 0 },
            { key: "kndctr_LUMA123_AdobeOrg_session", value: "a b;c=d,é" },
            { key: "bad; domain=evil.example", value: "x", maxAge: 60 },
            null,
          ],
        },
      ],
    },
  }));
  const sdk = createInstance(config);
  await sdk.sendEvent({});
  assert.equal(jar.get("kndctr_LUMA123_AdobeOrg_old"), undefined);
  const session = jar.get("kndctr_LUMA123_AdobeOrg_session");
  assert.doesNotMatch(session.raw, /max-age/i);
  assert.equal(session.value, "a%20b%3Bc=d%2C%C3%A9");
  assert.equal(jar.writes.some((w) => w.startsWith("bad")), false);

  await sdk.sendEvent({});
  assert.deepEqual(requests[1].body.meta.state.entries, [{ key: "kndctr_LUMA123_AdobeOrg_session", value: "a b;c=d,é" }]);
});

test("cookieDomain overrides the apex; localhost gets host-only cookies", async () => {
  let jar = installBrowser({ url: "https://a.b.luma.test/" });
  installFetch(() => ({ body: { handle: identityHandles(ECID) } }));
  await createInstance({ ...config, cookieDomain: "b.luma.test" }).sendEvent({});
  assert.equal(jar.get(KEY).domain, "b.luma.test");

  jar = installBrowser({ url: "http://localhost:8080/" });
  await createInstance(config).sendEvent({});
  assert.equal(jar.get(KEY).domain, null);
  assert.doesNotMatch(jar.get(KEY).raw, /domain=/);
});

test("sendEvent resolves with the raw handles, the flattened propositions and the identity", async () => {
  installBrowser();
  const decisions = [
    { type: "personalization:decisions", payload: [{ id: "p1", scope: "__view__", items: [] }] },
    { type: "personalization:decisions", payload: [{ id: "p2", scope: "hero" }] },
  ];
  const handle = [...identityHandles(ECID), ...decisions, { type: "locationHint:result", payload: [{ scope: "EdgeNetwork", hint: "x" }] }];
  installFetch(() => ({ body: { requestId: "server-side", handle, warnings: [{ code: "W1", title: "careful" }] } }));
  const result = await createInstance(config).sendEvent({});
  assert.deepEqual(result.handle, handle);
  assert.deepEqual(result.propositions.map((p) => p.id), ["p1", "p2"]);
  assert.deepEqual(result.identity, { ECID });
  assert.deepEqual(result.warnings, [{ code: "W1", title: "careful" }]);
  assert.equal(result.errors, undefined);
  assert.notEqual(result.requestId, "server-side", "the requestId is the one the SDK sent");
});

test("getIdentity answers from memory after a response gave the ECID: no network call", async () => {
  installBrowser();
  const requests = installFetch(() => ({ body: { handle: identityHandles(ECID) } }));
  const sdk = createInstance(config);
  await sdk.sendEvent({});
  assert.equal(requests.length, 1);
  assert.deepEqual(await sdk.getIdentity(), { ECID });
  assert.deepEqual(await sdk.getIdentity(), { ECID });
  assert.equal(requests.length, 1);
});

test("getIdentity waits for a request in flight instead of acquiring", async () => {
  installBrowser();
  let release;
  const requests = installFetch(() => new Promise((r) => (release = () => r({ body: { handle: identityHandles(ECID) } }))));
  const sdk = createInstance(config);
  const sent = sdk.sendEvent({});
  const identity = sdk.getIdentity();
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(requests.length, 1);
  release();
  assert.deepEqual(await identity, { ECID });
  await sent;
  assert.deepEqual(requests.map((r) => r.action), ["interact"]);
});

test("getIdentity with no ECID, no cookie and nothing in flight POSTs /v1/identity/acquire", async () => {
  installBrowser();
  const requests = installFetch(() => ({ body: { handle: identityHandles(ECID) } }));
  const sdk = createInstance(config);
  const [a, b] = await Promise.all([sdk.getIdentity(), sdk.getIdentity()]);
  assert.deepEqual(a, { ECID });
  assert.deepEqual(b, { ECID });
  assert.equal(requests.length, 1, "one acquire for concurrent calls");
  const [{ url, body, init }] = requests;
  assert.equal(url.pathname, "/ee/v1/identity/acquire");
  assert.equal(url.searchParams.get("configId"), "ds-luma");
  assert.equal(init.headers["Content-Type"], "text/plain; charset=UTF-8");
  assert.deepEqual(body, { query: { identity: { fetch: ["ECID"] } }, meta: { state: { domain: "luma.test", cookiesEnabled: true } } });
});

test("getIdentity rejects when the edge returns no ECID", async () => {
  installBrowser();
  installFetch(() => ({ body: { handle: [] } }));
  await assert.rejects(createInstance(config).getIdentity(), /returned no ECID/);
});

test("malformed handles are skipped, not fatal", async () => {
  installBrowser();
  const handle = [null, { type: "state:store" }, { type: "personalization:decisions", payload: "x" }, { type: "identity:result", payload: [null, { id: ECID }] }, ...identityHandles(ECID)];
  installFetch(() => ({ body: { handle } }));
  const result = await createInstance(config).sendEvent({});
  assert.deepEqual(result.propositions, []);
  assert.deepEqual(result.identity, { ECID });
});
