// Personalization without a DOM: which propositions render and when (page scope, named scopes,
// the SPA view cache), renderAttempted, prehiding and its timeout, the display and interact
// notifications, applyPropositions, and a render chunk that does not load. The render chunk is a
// stand-in here that records what it is asked to render; test/render.test.mjs renders for real
// in Chromium.
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { pathToFileURL } from "node:url";
import vm from "node:vm";
import { deferred, installBrowser, installFetch, tick } from "./support/env.mjs";
import { identityHandles } from "./support/mock-edge.mjs";

const dist = new URL("../dist/", import.meta.url);
const ECID = "52815286440582716171370361733432581330";
const config = { datastreamId: "ds-luma", orgId: "LUMA123@AdobeOrg", edgeDomain: "edge.luma.test" };
const PREHIDING_ID = "edgecdp-prehiding";
const DOM_ACTION = "https://ns.adobe.com/personalization/dom-action";
const JSON_ITEM = "https://ns.adobe.com/personalization/json-content-item";

// A copy of dist/ whose render chunk is a stand-in: it "renders" every proposition that has a
// dom-action item, records the calls (and whether the page was hidden then), and keeps the
// options the SDK created it with (onInteract is how a test clicks).
const root = mkdtempSync(join(tmpdir(), "edgecdp-perso-"));
const broken = mkdtempSync(join(tmpdir(), "edgecdp-perso-"));
after(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(broken, { recursive: true, force: true });
});
for (const dir of [root, broken]) {
  cpSync(new URL("esm", dist), join(dir, "esm"), { recursive: true });
  cpSync(new URL("edgecdp.min.js", dist), join(dir, "edgecdp.min.js"));
}
const FAKE_RENDERER = `const state = (globalThis.__fakeRender ||= { calls: [], created: [] });
export function createRenderer(options) {
  state.created.push(options);
  return {
    render(propositions, metadata) {
      state.calls.push({ scopes: propositions.map((p) => p.scope), metadata, hidden: !!document.getElementById(${JSON.stringify(PREHIDING_ID)}) });
      const attempted = propositions.map((p) => (p.items || []).some((i) => i.schema === ${JSON.stringify(DOM_ACTION)}));
      return { attempted, displayed: Promise.resolve(propositions.filter((p, i) => attempted[i])) };
    },
  };
}
`;
writeFileSync(join(root, "esm", "render.js"), FAKE_RENDERER);
writeFileSync(join(root, "edgecdp-render.js"), FAKE_RENDERER);
rmSync(join(broken, "esm", "render.js")); // the chunk that does not load

const fake = () => (globalThis.__fakeRender ||= { calls: [], created: [] });
let fresh = 0;
/**
 * A new copy of the SDK's module graph (query string), so that page-wide prehiding state starts
 * over as on a new page; the render chunk stays the shared stand-in.
 */
async function load(dir = root) {
  fake().calls.length = 0;
  fake().created.length = 0;
  const { createInstance } = await import(pathToFileURL(join(dir, "esm", "index.js")).href + "?page=" + ++fresh);
  return createInstance;
}

const proposition = (id, scope, extra = {}) => ({
  id,
  scope,
  scopeDetails: { decisionProvider: "EDGECDP", activity: { id: "act-" + id }, correlationID: "act-" + id + ":0", ...extra },
  items: [{ id: id + "-item", schema: DOM_ACTION, data: { type: "setHtml", selector: "#hero", content: "<h2>" + id + "</h2>" } }],
});
const view = (id, name) => proposition(id, name, { characteristics: { scopeType: "view" } });

/** An edge that answers `decide(body)` as propositions; notifications get `{ handle: [] }`. */
function edge(decide = () => []) {
  return installFetch((req) => {
    if (req.action === "collect") return { status: 204 };
    const notification = String(req.body.events[0].xdm.eventType).startsWith("decisioning.");
    const handle = [...identityHandles(ECID)];
    if (!notification) handle.push({ type: "personalization:decisions", payload: decide(req.body) });
    return { body: { handle } };
  });
}
const notifications = (requests) => requests.filter((r) => String(r.body.events[0].xdm.eventType).startsWith("decisioning."));
const attempted = (result) => Object.fromEntries(result.propositions.map((p) => [p.id, p.renderAttempted]));

function captureWarnings() {
  const warnings = [];
  const original = console.warn;
  console.warn = (...args) => warnings.push(args.map(String).join(" "));
  return { warnings, restore: () => (console.warn = original) };
}

test("without renderDecisions: propositions come back with renderAttempted false; nothing loads, hides or notifies", async () => {
  const createInstance = await load();
  installBrowser();
  const page = proposition("p1", "__view__");
  const requests = edge(() => [page, proposition("p2", "hero-banner")]);
  const result = await createInstance(config).sendEvent({ xdm: { eventType: "web.webpagedetails.pageViews" } });
  assert.deepEqual(attempted(result), { p1: false, p2: false });
  assert.deepEqual(result.propositions[0], { ...page, renderAttempted: false }, "the proposition as the edge gave it");
  assert.equal(result.handle[2].payload[0].renderAttempted, undefined, "the handles stay as they came");
  await tick(5);
  assert.equal(fake().created.length, 0, "the render chunk is not loaded");
  assert.equal(document.getElementById(PREHIDING_ID), null);
  assert.equal(requests.length, 1);
});

test("renderDecisions: page-scope propositions render while the page is hidden; other scopes are only returned", async () => {
  const createInstance = await load();
  installBrowser();
  const answer = deferred();
  const propositions = [
    proposition("page", "__view__"),
    proposition("surface", "web://www.luma.test/women.html"),
    proposition("fragment", "web://www.luma.test/women.html#hero"),
    proposition("named", "hero-banner"),
    view("other-view", "cart"),
    { ...proposition("json", "__view__"), items: [{ id: "j", schema: JSON_ITEM, data: { content: { a: 1 } } }] },
  ];
  const requests = installFetch(async (req) => {
    if (req.action === "interact" && req.body.events[0].xdm.eventType === "web.webpagedetails.pageViews") await answer.promise;
    return { body: { handle: [...identityHandles(ECID), { type: "personalization:decisions", payload: req.body.events[0].xdm._experience ? [] : propositions }] } };
  });
  const sent = createInstance(config).sendEvent({ renderDecisions: true, xdm: { eventType: "web.webpagedetails.pageViews" } });
  await tick(5);
  const style = document.getElementById(PREHIDING_ID);
  assert.ok(style, "hidden while the edge decides");
  assert.equal(style.textContent, "body { opacity: 0 !important }");
  assert.equal(fake().created.length, 1, "the render chunk loads in parallel with the request");
  answer.resolve();
  const result = await sent;
  assert.equal(document.getElementById(PREHIDING_ID), null, "shown once rendered");
  assert.deepEqual(fake().calls.map((c) => [c.scopes, c.hidden]), [[["__view__", "web://www.luma.test/women.html", "__view__"], true]]);
  assert.deepEqual(attempted(result), { page: true, surface: true, fragment: false, named: false, "other-view": false, json: false });

  await tick(5);
  const [display, ...more] = notifications(requests);
  assert.equal(more.length, 0, "one display notification");
  assert.equal(display.action, "interact");
  const xdm = display.body.events[0].xdm;
  assert.equal(xdm.eventType, "decisioning.propositionDisplay");
  assert.deepEqual(xdm._experience.decisioning, {
    propositions: [propositions[0], propositions[1]].map(({ id, scope, scopeDetails }) => ({ id, scope, scopeDetails })),
    propositionEventType: { display: 1 },
  });
  assert.equal(xdm.web.webPageDetails.viewName, undefined, "no view: a page render");
  assert.ok(xdm.timestamp && xdm.implementationDetails, "an event like any other");
  assert.equal(fake().calls.length, 1, "the notification renders nothing");
});

test("SPA: view propositions are cached by lower-cased name and render on the view change before its answer; the display names the view", async () => {
  const createInstance = await load();
  installBrowser();
  const home = view("home-offer", "home");
  const cart = view("cart-offer", "Cart");
  const answer = deferred();
  let n = 0;
  const requests = installFetch(async (req) => {
    const xdm = req.body.events[0].xdm;
    if (String(xdm.eventType).startsWith("decisioning.")) return { body: { handle: [] } };
    if (++n === 2) await answer.promise;
    return { body: { handle: [...identityHandles(ECID), { type: "personalization:decisions", payload: n === 1 ? [home, cart] : [] }] } };
  });
  const sdk = createInstance(config);
  const first = await sdk.sendEvent({ renderDecisions: true, xdm: { web: { webPageDetails: { viewName: "home" } } } });
  assert.deepEqual(attempted(first), { "home-offer": true, "cart-offer": false });
  assert.deepEqual(fake().calls.map((c) => c.scopes), [["home"]]);

  const second = sdk.sendEvent({ renderDecisions: true, xdm: { web: { webPageDetails: { viewName: "cart" } } } });
  await tick(5);
  assert.deepEqual(fake().calls.map((c) => c.scopes), [["home"], ["Cart"]], "rendered from the cache, before the answer");
  assert.equal(fake().calls[1].hidden, false, "a view change never hides the page");
  answer.resolve();
  const result = await second;
  assert.deepEqual(attempted(result), { "cart-offer": true }, "the view's cached propositions are returned");
  assert.equal(fake().calls.length, 2, "not rendered again after the answer");

  await tick(5);
  const displays = notifications(requests).map((r) => r.body.events[0].xdm);
  assert.deepEqual(displays.map((x) => [x._experience.decisioning.propositions.map((p) => p.id), x.web.webPageDetails.viewName]), [
    [["home-offer"], "home"],
    [["cart-offer"], "cart"],
  ]);

  const quiet = await sdk.sendEvent({ xdm: { web: { webPageDetails: { viewName: "CART" } } } });
  assert.deepEqual(attempted(quiet), { "cart-offer": false }, "without renderDecisions the view is returned, not rendered");
});

test("sendDisplayEvent: false, in the config or on the event, sends no display notification", async () => {
  const createInstance = await load();
  installBrowser();
  const requests = edge(() => [proposition("p", "__view__")]);
  await createInstance({ ...config, personalization: { sendDisplayEvent: false } }).sendEvent({ renderDecisions: true });
  await createInstance(config).sendEvent({ renderDecisions: true, personalization: { sendDisplayEvent: false } });
  await tick(5);
  assert.equal(fake().calls.length, 2, "rendered both times");
  assert.deepEqual(notifications(requests), []);
});

test("a click inside rendered content: decisioning.propositionInteract to /v1/collect with keepalive, naming the propositions and the label", async () => {
  const createInstance = await load();
  installBrowser();
  const p = proposition("p", "__view__");
  const requests = edge(() => [p]);
  await createInstance(config).sendEvent({ renderDecisions: true });
  const [options] = fake().created;
  assert.equal(options.selectorTimeout, 5000);
  assert.equal(options.trackInteractions, true);
  options.onInteract([{ id: p.id, scope: p.scope, scopeDetails: p.scopeDetails }], "hero-cta");
  const beacon = requests.at(-1);
  assert.equal(beacon.url.pathname, "/ee/v1/collect");
  assert.equal(beacon.url.searchParams.get("configId"), "ds-luma");
  assert.equal(beacon.init.keepalive, true, "survives a navigation");
  assert.equal(beacon.init.credentials, "include");
  assert.equal(beacon.init.headers["Content-Type"], "text/plain; charset=UTF-8");
  assert.deepEqual(Object.keys(beacon.body).sort(), ["events", "meta"]);
  assert.ok(beacon.body.meta.state.entries.some((e) => e.key === "kndctr_LUMA123_AdobeOrg_identity"));
  const xdm = beacon.body.events[0].xdm;
  assert.equal(xdm.eventType, "decisioning.propositionInteract");
  assert.deepEqual(xdm._experience.decisioning, {
    propositions: [{ id: "p", scope: "__view__", scopeDetails: p.scopeDetails }],
    propositionEventType: { interact: 1 },
    propositionAction: { label: "hero-cta" },
  });
  options.onInteract([{ id: p.id, scope: p.scope }], undefined);
  assert.equal(requests.at(-1).body.events[0].xdm._experience.decisioning.propositionAction, undefined, "no label, no action");
});

test("the config's selectorTimeout and trackInteractions reach the renderer; prehidingStyle is the hiding CSS", async () => {
  const createInstance = await load();
  installBrowser();
  const answer = deferred();
  installFetch(async () => (await answer.promise, { body: { handle: [] } }));
  const sent = createInstance({
    ...config,
    prehidingStyle: "#hero { visibility: hidden }",
    personalization: { selectorTimeout: 1200, trackInteractions: false },
  }).sendEvent({ renderDecisions: true });
  await tick(5);
  assert.equal(document.getElementById(PREHIDING_ID).textContent, "#hero { visibility: hidden }");
  assert.deepEqual([fake().created[0].selectorTimeout, fake().created[0].trackInteractions], [1200, false]);
  answer.resolve();
  await sent;
  assert.equal(document.getElementById(PREHIDING_ID), null);
});

test("prehiding: the page is shown after prehidingTimeout when the edge does not answer, and is never hidden again on that page", async () => {
  const createInstance = await load();
  installBrowser();
  installFetch(() => new Promise(() => {}));
  const sdk = createInstance({ ...config, prehidingTimeout: 40 });
  sdk.sendEvent({ renderDecisions: true });
  await tick(5);
  assert.ok(document.getElementById(PREHIDING_ID));
  await tick(60);
  assert.equal(document.getElementById(PREHIDING_ID), null, "shown after the timeout");
  sdk.sendEvent({ renderDecisions: true });
  await tick(5);
  assert.equal(document.getElementById(PREHIDING_ID), null, "a later render does not blank the page");
});

test("prehiding: the head snippet's style is removed when rendering is done; with prehidingStyle \"\" nothing else is added", async () => {
  const createInstance = await load();
  installBrowser();
  const snippet = document.createElement("style");
  snippet.id = PREHIDING_ID;
  snippet.textContent = "body{opacity:0!important}";
  document.head.appendChild(snippet);
  const answer = deferred();
  installFetch(async () => (await answer.promise, { body: { handle: [] } }));
  const sent = createInstance({ ...config, prehidingStyle: "" }).sendEvent({ renderDecisions: true });
  await tick(5);
  assert.deepEqual(document.head.children, [snippet]);
  answer.resolve();
  await sent;
  assert.deepEqual(document.head.children, []);
});

test("prehiding: two renders at once keep the page hidden until both are done; a failed request shows the page and rejects", async () => {
  const createInstance = await load();
  installBrowser();
  const first = deferred();
  const second = deferred();
  let n = 0;
  installFetch(async () => {
    const mine = ++n;
    if (mine === 1) await first.promise;
    if (mine === 2) {
      await second.promise;
      return { status: 500, body: { title: "Boom" } };
    }
    return { body: { handle: identityHandles(ECID) } };
  });
  const sdk = createInstance({ ...config, edgeDomain: "edge.luma.test" });
  const a = sdk.sendEvent({ renderDecisions: true });
  const b = sdk.sendEvent({ renderDecisions: true });
  await tick(5);
  first.resolve();
  await a;
  assert.ok(document.getElementById(PREHIDING_ID), "still hidden: the other render is not done");
  second.resolve();
  await assert.rejects(b, { name: "EdgeError", status: 500 });
  assert.equal(document.getElementById(PREHIDING_ID), null);
});

test("applyPropositions: renders the given propositions with their metadata and the cached view, skips page propositions already rendered", async () => {
  const createInstance = await load();
  installBrowser();
  const cart = view("cart-offer", "cart");
  const requests = edge(() => [proposition("page", "__view__"), proposition("named", "hero-banner"), cart]);
  const sdk = createInstance(config);
  const { propositions } = await sdk.sendEvent({ renderDecisions: true });
  assert.deepEqual(attempted({ propositions }), { page: true, named: false, "cart-offer": false });
  fake().calls.length = 0;
  const metadata = { "hero-banner": { selector: "#banner", actionType: "setHtml" } };
  const applied = await sdk.applyPropositions({ propositions, metadata, viewName: "Cart" });
  assert.deepEqual(fake().calls.map((c) => [c.scopes, c.metadata]), [[["hero-banner", "cart"], metadata]]);
  assert.deepEqual(attempted(applied), { named: true, "cart-offer": true });
  assert.deepEqual(applied.propositions[0].items, propositions[1].items);
  await tick(5);
  const displays = notifications(requests).map((r) => r.body.events[0].xdm);
  assert.deepEqual(displays.at(-1)._experience.decisioning.propositions.map((p) => p.id), ["named", "cart-offer"]);
  assert.equal(displays.at(-1).web.webPageDetails.viewName, "Cart");

  assert.deepEqual(await sdk.applyPropositions({}), { propositions: [] });
  await assert.rejects(sdk.applyPropositions({ propositions: "nope" }), TypeError);
});

test("a render chunk that does not load: one warning, nothing rendered, the page shown; the next render tries again", async () => {
  const createInstance = await load(broken);
  installBrowser();
  edge(() => [proposition("p", "__view__")]);
  const { warnings, restore } = captureWarnings();
  let result;
  try {
    result = await createInstance(config).sendEvent({ renderDecisions: true });
  } finally {
    restore();
  }
  assert.deepEqual(attempted(result), { p: false });
  assert.equal(document.getElementById(PREHIDING_ID), null);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /the render chunk did not load; propositions are not rendered/);

  // The file is there now (a network blip is over): the next render loads it.
  writeFileSync(join(broken, "esm", "render.js"), FAKE_RENDERER);
  const again = await createInstance(config).sendEvent({ renderDecisions: true });
  assert.deepEqual(attempted(again), { p: true });
});

test("script tag: the applyPropositions command, with the render chunk loaded from edgecdp-render.js next to the script", async () => {
  fake().calls.length = 0;
  installBrowser();
  edge(() => [proposition("named", "hero-banner")]);
  delete globalThis.edgecdp;
  const script = join(root, "edgecdp.min.js");
  document.currentScript = { src: pathToFileURL(script).href };
  vm.runInThisContext(readFileSync(script, "utf8"), { filename: script, importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER });
  document.currentScript = null;
  await edgecdp("configure", config);
  const { propositions } = await edgecdp("sendEvent", { renderDecisions: true });
  const metadata = { "hero-banner": { selector: "#banner", actionType: "setHtml" } };
  const result = await edgecdp("applyPropositions", { propositions, metadata });
  assert.deepEqual(attempted(result), { named: true });
  assert.deepEqual(fake().calls.at(-1).metadata, metadata);
  delete globalThis.edgecdp;
});
