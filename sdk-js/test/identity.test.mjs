// Identities from identity:result: every namespace of the latest response, replaced as a whole,
// and answered by getIdentity without a request (edge-protocol.md §3.3, §4.2; README "Login and identities").
import assert from "node:assert/strict";
import { test } from "node:test";
import { createInstance } from "../dist/esm/index.js";
import { installBrowser, installFetch } from "./support/env.mjs";
import { createDirectory, DEMO_PEOPLE, handleEdge, identityHandles } from "./support/mock-edge.mjs";

const config = { datastreamId: "ds-luma", orgId: "LUMA123@AdobeOrg", edgeDomain: "edge.luma.test" };
const ECID = "52815286440582716171370361733432581330";
const SARAH = { CRMID: "crm-1042", Email: "sarah.rose@example.com", LoyaltyID: "LY-778" };
const BOB = { CRMID: "crm-2077", Email: "bob.carter@example.com" };

/** The identityMap of a login, as the Luma demo sends it. */
const login = (email, crmid) => ({
  xdm: {
    eventType: "userAccount.login",
    identityMap: {
      Email: [{ id: email, authenticatedState: "authenticated", primary: true }],
      CRMID: [{ id: crmid, authenticatedState: "authenticated" }],
    },
  },
});

/** `fetch` answered by the mock edge (one identity directory for the whole test), through the cookie jar. */
function mockEdge() {
  const directory = createDirectory();
  const requests = installFetch((req) => {
    const out = handleEdge({ pathname: req.url.pathname, searchParams: req.url.searchParams, body: req.body }, directory);
    return { status: out.status, body: out.json };
  });
  return { requests, directory };
}

test("every namespace of identity:result is kept: sendEvent resolves with all of them, ECID first", async () => {
  installBrowser();
  installFetch(() => ({ body: { handle: identityHandles(ECID, undefined, SARAH) } }));
  const result = await createInstance(config).sendEvent(login("Sarah.Rose@example.com", "crm-1042"));
  assert.deepEqual(result.identity, { ECID, ...SARAH });
  assert.deepEqual(Object.keys(result.identity), ["ECID", "CRMID", "Email", "LoyaltyID"]);
  assert.equal(result.identity.Email, "sarah.rose@example.com", "the edge's normalized value, not what was sent");
});

test("getIdentity returns the same identities without a request once a response gave them", async () => {
  installBrowser();
  const requests = installFetch(() => ({ body: { handle: identityHandles(ECID, undefined, SARAH) } }));
  const sdk = createInstance(config);
  const result = await sdk.sendEvent(login("sarah.rose@example.com", "crm-1042"));
  assert.equal(requests.length, 1);
  assert.deepEqual(await sdk.getIdentity(), { ECID, ...SARAH });
  assert.deepEqual(await sdk.getIdentity(), result.identity);
  assert.equal(requests.length, 1, "no identity/acquire");
});

test("getIdentity during the first request waits for it and gets every identity it brings", async () => {
  installBrowser();
  let release;
  const requests = installFetch(() => new Promise((r) => (release = () => r({ body: { handle: identityHandles(ECID, undefined, SARAH) } }))));
  const sdk = createInstance(config);
  const sent = sdk.sendEvent(login("sarah.rose@example.com", "crm-1042"));
  const identity = sdk.getIdentity();
  await new Promise((r) => setTimeout(r, 5));
  release();
  assert.deepEqual(await identity, { ECID, ...SARAH });
  await sent;
  assert.deepEqual(requests.map((r) => r.action), ["interact"]);
});

test("an anonymous visitor's identity is the ECID alone", async () => {
  installBrowser();
  const requests = installFetch(() => ({ body: { handle: identityHandles(ECID) } }));
  const sdk = createInstance(config);
  assert.deepEqual((await sdk.sendEvent({})).identity, { ECID });
  assert.deepEqual(await sdk.getIdentity(), { ECID });
  assert.equal(requests.length, 1);
});

test("a later identity:result replaces the set wholesale: another person's login, then an anonymous answer", async () => {
  installBrowser();
  const answers = [identityHandles(ECID, undefined, SARAH), identityHandles(ECID, undefined, BOB), identityHandles(ECID)];
  installFetch((_req, n) => ({ body: { handle: answers[n - 1] } }));
  const sdk = createInstance(config);

  assert.deepEqual((await sdk.sendEvent(login("sarah.rose@example.com", "crm-1042"))).identity, { ECID, ...SARAH });
  const bob = (await sdk.sendEvent(login("bob.carter@example.com", "crm-2077"))).identity;
  assert.deepEqual(bob, { ECID, ...BOB }, "Sarah's LoyaltyID does not linger");
  assert.deepEqual(await sdk.getIdentity(), { ECID, ...BOB });
  assert.deepEqual((await sdk.sendEvent({})).identity, { ECID });
  assert.deepEqual(await sdk.getIdentity(), { ECID });
});

test("a response without identity:result keeps the identities; one without an ECID keeps the ECID", async () => {
  installBrowser();
  const answers = [
    identityHandles(ECID, undefined, SARAH),
    [{ type: "personalization:decisions", payload: [] }],
    [{ type: "identity:result", payload: [{ id: "crm-2077", namespace: { code: "CRMID" } }] }],
  ];
  installFetch((_req, n) => ({ body: { handle: answers[n - 1] } }));
  const sdk = createInstance(config);
  await sdk.sendEvent({});
  assert.deepEqual((await sdk.sendEvent({})).identity, { ECID, ...SARAH });
  assert.deepEqual((await sdk.sendEvent({})).identity, { ECID, CRMID: "crm-2077" });
});

test("the first id per namespace wins, across repeated identity:result handles; malformed items are skipped", async () => {
  installBrowser();
  const handle = [
    {
      type: "identity:result",
      payload: [
        { id: ECID, namespace: { code: "ECID" } },
        { id: "crm-1042", namespace: { code: "CRMID" } },
        { id: "crm-9999", namespace: { code: "CRMID" } },
        null,
        { id: "", namespace: { code: "Phone" } },
        { id: 42, namespace: { code: "Phone" } },
        { id: "x", namespace: {} },
        { id: "y" },
      ],
    },
    { type: "identity:result", payload: [{ id: "1".repeat(38), namespace: { code: "ECID" } }, { id: "LY-778", namespace: { code: "LoyaltyID" } }] },
    { type: "identity:result", payload: [{ id: "proto", namespace: { code: "__proto__" } }, { id: "ts", namespace: { code: "toString" } }] },
  ];
  installFetch(() => ({ body: { handle } }));
  const { identity } = await createInstance(config).sendEvent({});
  assert.equal(Object.getPrototypeOf(identity), Object.prototype, "a plain object");
  assert.equal(identity.ECID, ECID);
  assert.equal(identity.CRMID, "crm-1042");
  assert.equal(identity.LoyaltyID, "LY-778");
  assert.equal(identity.toString, "ts", "a namespace named like an Object method is still kept");
  assert.equal(Object.hasOwn(identity, "Phone"), false);
  assert.deepEqual(Object.keys(identity), ["ECID", "CRMID", "LoyaltyID", "__proto__", "toString"]);
});

test("the identities handed out are copies: changing them changes nothing in the SDK", async () => {
  installBrowser();
  installFetch(() => ({ body: { handle: identityHandles(ECID, undefined, SARAH) } }));
  const sdk = createInstance(config);
  const { identity } = await sdk.sendEvent({});
  identity.CRMID = "tampered";
  delete identity.Email;
  const again = await sdk.getIdentity();
  again.ECID = "0";
  assert.deepEqual(await sdk.getIdentity(), { ECID, ...SARAH });
});

test("against the mock edge: login links the browser, later requests name the person, a second login moves the browser", async () => {
  installBrowser();
  const { requests } = mockEdge();
  const sdk = createInstance(config);

  const anonymous = await sdk.sendEvent({ type: "web.webpagedetails.pageViews" });
  assert.deepEqual(Object.keys(anonymous.identity), ["ECID"]);
  const ecid = anonymous.identity.ECID;

  const sarah = await sdk.sendEvent(login("  Sarah.Rose@Example.com ", "crm-1042"));
  assert.deepEqual(sarah.identity, { ECID: ecid, ...DEMO_PEOPLE.sarah });
  assert.deepEqual(requests[1].body.events[0].xdm.identityMap.Email, [{ id: "  Sarah.Rose@Example.com ", authenticatedState: "authenticated", primary: true }]);

  const later = await sdk.sendEvent({ type: "web.webpagedetails.pageViews" });
  assert.equal(later.handle[0].payload.length, 4, "no identityMap sent, the person still comes back");
  assert.deepEqual(later.identity, sarah.identity);

  const bob = await sdk.sendEvent(login("bob.carter@example.com", "crm-2077"));
  assert.deepEqual(bob.identity, { ECID: ecid, ...DEMO_PEOPLE.bob });
  assert.deepEqual(await sdk.getIdentity(), bob.identity);
  assert.equal(requests.length, 4);
});

test("against the mock edge: an ambiguous email links a fresh browser, not one a person logged in on", async () => {
  const ambiguous = { xdm: { identityMap: { Email: [{ id: "sarah.rose@example.com", authenticatedState: "ambiguous" }] } } };

  installBrowser();
  mockEdge();
  const phone = await createInstance(config).sendEvent(ambiguous);
  assert.deepEqual(phone.identity, { ECID: phone.identity.ECID, ...DEMO_PEOPLE.sarah });

  installBrowser();
  mockEdge();
  const shared = createInstance(config);
  await shared.sendEvent(login("bob.carter@example.com", "crm-2077"));
  assert.equal((await shared.sendEvent(ambiguous)).identity.CRMID, "crm-2077", "Bob owns this browser");

  installBrowser();
  mockEdge();
  const out = createInstance(config);
  const loggedOut = await out.sendEvent({ xdm: { identityMap: { CRMID: [{ id: "crm-1042", authenticatedState: "loggedOut" }] } } });
  assert.deepEqual(Object.keys(loggedOut.identity), ["ECID"]);
});

test("the edgecdp:profile handle becomes result.profile; anonymous answers have none", async () => {
  installBrowser();
  const profile = { person: "CRMID:crm-1042", attributes: { person: { name: { firstName: "Sarah" } }, loyalty: { tier: "Bronze" } } };
  installFetch(() => ({ body: { handle: [...identityHandles(ECID, undefined, SARAH), { type: "edgecdp:profile", payload: [profile] }] } }));
  const result = await createInstance(config).sendEvent(login("sarah.rose@example.com", "crm-1042"));
  assert.deepEqual(result.profile, profile);
  assert.equal(result.profile.attributes.loyalty.tier, "Bronze");
  installBrowser();
  installFetch(() => ({ body: { handle: identityHandles(ECID) } }));
  assert.equal((await createInstance(config).sendEvent({ xdm: {} })).profile, undefined);
});
