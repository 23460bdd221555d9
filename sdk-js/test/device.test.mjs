// On-device decisions without a DOM, with a stand-in decider (a fake wasm/edgecdp_wasm_device.js
// with the real one's exports) and a stand-in render chunk: when a bundle is asked for, when the
// decider is loaded and made, what is folded into it and when, which of its propositions render,
// the notifications, the results, and the failures. test/device-chromium.test.mjs runs the real
// decider in a browser; test/spec.test.mjs runs the shared vectors through the SDK's loader.
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, beforeEach, test } from "node:test";
import { pathToFileURL } from "node:url";
import { deferred, installBrowser, installFetch, tick } from "./support/env.mjs";
import { identityHandles } from "./support/mock-edge.mjs";

const dist = new URL("../dist/", import.meta.url);
const ECID = "52815286440582716171370361733432581330";
const config = { datastreamId: "ds-luma", orgId: "LUMA123@AdobeOrg", edgeDomain: "edge.luma.test", onDeviceDecisioning: true };
const DOM_ACTION = "https://ns.adobe.com/personalization/dom-action";
const BUNDLE = { version: 7, ecid: ECID, segments: [], activities: [{ id: "home-hero", on_device: true }, { id: "cta", on_device: true }], offers: [], attributes: {} };

// Copies of dist/ with stand-ins: a render chunk that records what it renders, and a decider
// that records what it is given and answers what the test scripts (`fake().decide`).
const root = mkdtempSync(join(tmpdir(), "edgecdp-device-"));
const noDecider = mkdtempSync(join(tmpdir(), "edgecdp-device-"));
after(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(noDecider, { recursive: true, force: true });
});
const FAKE_RENDERER = `const state = (globalThis.__fakeDevice ||= {});
export function createRenderer() {
  return {
    render(propositions, metadata, prerendered) {
      state.log.push(["render", propositions.map((p) => p.id)]);
      const attempted = propositions.map((p) => (p.items || []).some((i) => i.schema === ${JSON.stringify(DOM_ACTION)}));
      return { attempted, displayed: Promise.resolve(propositions.filter((p, i) => attempted[i])) };
    },
  };
}
`;
const FAKE_DECIDER = `const state = (globalThis.__fakeDevice ||= {});
export default async function init(input) { state.log.push(["init", String(input.module_or_path)]); }
export function initSync() { state.log.push(["initSync"]); }
export class Decider {
  constructor(bundle) {
    if (state.refuse) throw new Error("not a client bundle: " + state.refuse);
    this.bundle = JSON.parse(bundle);
    state.log.push(["new", this.bundle.version]);
  }
  onEvent(xdm, id, at) {
    state.log.push(["onEvent", JSON.parse(xdm), id, at, this.bundle.version]);
    return "[]";
  }
  decide(scopes, page, now) {
    state.log.push(["decide", JSON.parse(scopes), page, now]);
    if (state.decideThrows) throw new Error("decide failed");
    return JSON.stringify(state.decide(this.bundle));
  }
  segments() { return "[]"; }
  skipped() { return "[]"; }
  free() {}
}
`;
for (const dir of [root, noDecider]) {
  cpSync(new URL("esm", dist), join(dir, "esm"), { recursive: true });
  writeFileSync(join(dir, "esm", "render.js"), FAKE_RENDERER);
}
mkdirSync(join(root, "wasm"));
writeFileSync(join(root, "wasm", "edgecdp_wasm_device.js"), FAKE_DECIDER);

const fake = () => globalThis.__fakeDevice;
const log = (kind) => fake().log.filter((e) => e[0] === kind);
let fresh = 0;
/**
 * A new copy of the SDK's module graph, its lazy chunks and the stand-ins included: page-wide
 * state (prehiding, the loaded decider) starts over, as on a new page.
 */
async function load(dir = root) {
  const page = join(dir, "pages", String(++fresh));
  cpSync(join(dir, "esm"), join(page, "esm"), { recursive: true });
  if (dir == root) cpSync(join(dir, "wasm"), join(page, "wasm"), { recursive: true });
  return (await import(pathToFileURL(join(page, "esm", "index.js")).href)).createInstance;
}

beforeEach(() => {
  globalThis.__fakeDevice = { log: [], decide: () => [], refuse: undefined, decideThrows: false };
});

/** A proposition of activity `activity`, as the edge and the decider give them. */
const proposition = (id, activity) => ({
  id,
  scope: "__view__",
  scopeDetails: { decisionProvider: "EDGECDP", activity: { id: activity }, experience: { id: "x" }, correlationID: activity + ":x" },
  items: [{ id: id + "#0", schema: DOM_ACTION, data: { type: "setHtml", selector: "#hero h1", content: id } }],
});
const notification = (req) => String(req.body.events[0].xdm.eventType).startsWith("decisioning.");
const displays = (requests) => requests.filter((r) => r.body.events[0].xdm.eventType === "decisioning.propositionDisplay");
const attempted = (result) => Object.fromEntries(result.propositions.map((p) => [p.id, p.renderAttempted]));
const views = (category = "running") => ({ xdm: { eventType: "commerce.productViews", productListItems: [{ SKU: "S", productCategories: [{ categoryID: category }] }] } });

/**
 * An edge answering the page view with `propositions` and `bundle` (when asked), everything
 * else with the identity; `gate(req)` may hold an answer.
 */
function edge({ propositions = [], bundle = BUNDLE, gate = () => undefined } = {}) {
  return installFetch(async (req) => {
    if (req.action === "collect") return { status: 204 };
    await gate(req);
    const handle = [...identityHandles(ECID)];
    const event = req.body.events[0];
    if (!notification(req) && event.query) handle.push({ type: "personalization:decisions", payload: propositions });
    if (event.query?.personalization?.onDevice && bundle) handle.push({ type: "edgecdp:bundle", payload: [bundle] });
    return { body: { handle } };
  });
}

/** Waits (up to 2 s) until `ready()` is truthy: the lazy chunks load from disk at their pace. */
async function until(ready) {
  for (let i = 0; i < 200 && !ready(); i++) await tick(10);
  assert.ok(ready(), "in time");
}

function captureWarnings() {
  const warnings = [];
  const original = console.warn;
  console.warn = (...args) => warnings.push(args.map(String).join(" "));
  return { warnings, restore: () => (console.warn = original) };
}

test("onDeviceDecisioning asks for a bundle with renderDecisions only; without it nothing is asked, and a bundle is ignored", async () => {
  const createInstance = await load();
  installBrowser();
  let requests = edge();
  const sdk = createInstance(config);
  await sdk.sendEvent({ renderDecisions: true, personalization: { decisionScopes: ["hero-banner"] } });
  await sdk.sendEvent({ personalization: { decisionScopes: ["hero-banner"] } });
  assert.deepEqual(requests[0].body.events[0].query.personalization.decisionScopes, ["__view__", "hero-banner"]);
  assert.equal(requests[0].body.events[0].query.personalization.onDevice, true);
  assert.equal(requests[1].body.events[0].query.personalization.onDevice, undefined, "nothing to render: no bundle");
  await until(() => log("decide").length);
  fake().log.length = 0;

  installBrowser();
  requests = installFetch(() => ({ body: { handle: [...identityHandles(ECID), { type: "edgecdp:bundle", payload: [BUNDLE] }] } }));
  const off = (await load())({ ...config, onDeviceDecisioning: undefined });
  await off.sendEvent({ renderDecisions: true });
  await off.sendEvent(views());
  await tick(5);
  assert.equal(requests[0].body.events[0].query.personalization.onDevice, undefined);
  assert.deepEqual(fake().log.filter((e) => e[0] != "render"), [], "the decider is never loaded");
});

test("a bundle: the decider is loaded then (not before) and made from it; later events are folded as sent, decided for the page, and what changed renders at once with a display notification", async () => {
  const createInstance = await load();
  installBrowser();
  const season = proposition("season", "home-hero");
  const running = proposition("running", "home-hero");
  const held = deferred();
  const requests = edge({ propositions: [season], gate: (req) => req.body.events[0].xdm.eventType === "commerce.productViews" && held.promise });
  const sdk = createInstance(config);
  const pageView = sdk.sendEvent({ renderDecisions: true, xdm: { eventType: "web.webpagedetails.pageViews" } });
  assert.deepEqual(fake().log, [], "nothing loaded before the bundle");
  assert.deepEqual(attempted(await pageView), { season: true });
  await until(() => log("onEvent").length);
  assert.deepEqual(log("init").map(([, url]) => url.replace(/^.*\//, "")), ["edgecdp_wasm_device_bg.wasm"], "loaded next to the core's .wasm");
  assert.deepEqual(log("new"), [["new", 7]]);
  const [display] = displays(requests);
  assert.ok(display, "the page view's display notification");
  assert.deepEqual(log("onEvent").map((e) => e[1].eventType), ["decisioning.propositionDisplay"], "notifications are folded (caps)...");
  assert.deepEqual(log("decide"), [], "...but not decided on");

  // The decider keeps answering the edge's decision: nothing to render.
  fake().decide = () => [season];
  const first = sdk.sendEvent(views());
  await tick(5);
  assert.deepEqual(log("render").map(([, ids]) => ids), [["season"]], "the same decision is not rendered again");
  const [, [, xdm, id, at], ...rest] = log("onEvent");
  assert.equal(rest.length, 0);
  assert.equal(xdm.eventType, "commerce.productViews");
  assert.equal(xdm.web.webPageDetails.URL, "https://www.luma.test/women.html?x=1", "the xdm as it is sent");
  assert.match(id, /^[0-9a-f-]{36}$/);
  assert.equal(at, Date.parse(xdm.timestamp));
  const [[, scopes, page, now]] = log("decide");
  assert.deepEqual([scopes, page], [["__view__"], "https://www.luma.test/women.html?x=1"]);
  assert.ok(Math.abs(now - Date.now()) < 1000);

  // Now it decides another proposition of the activity (and one of an activity not in the bundle).
  fake().decide = () => [running, proposition("elsewhere", "not-on-device")];
  const second = sdk.sendEvent(views());
  await tick(5);
  assert.deepEqual(log("render").map(([, ids]) => ids), [["season"], ["running"]], "rendered before the edge answers");
  const shown = displays(requests).map((r) => r.body.events[0].xdm._experience.decisioning.propositions.map((p) => p.id));
  assert.deepEqual(shown, [["season"], ["running"]], "a display notification for it, sent at once");
  assert.equal(requests.filter((r) => r.body.events[0].xdm.eventType === "commerce.productViews").length, 2, "both views were sent");

  held.resolve();
  assert.deepEqual(attempted(await first), {});
  const result = await second;
  assert.deepEqual(attempted(result), { running: true }, "the result has what rendered on-device");
  assert.deepEqual(result.propositions[0].items, running.items);

  await sdk.sendEvent(views());
  assert.equal(log("render").length, 2, "the same decision again: not rendered again");
});

test("an event with renderDecisions and on-device changes: each proposition renders once, the edge's own answer included", async () => {
  const createInstance = await load();
  installBrowser();
  const season = proposition("season", "home-hero");
  const running = proposition("running", "home-hero");
  let answer = [season];
  const requests = edge({ propositions: [], gate: () => undefined });
  const sdk = createInstance(config);
  await sdk.sendEvent({ renderDecisions: true });
  await until(() => log("new").length);
  fake().decide = () => answer;
  // The edge now answers the page with what the device decides too.
  requests.length = 0;
  installFetch((req) => ({ body: { handle: [...identityHandles(ECID), ...(notification(req) ? [] : [{ type: "personalization:decisions", payload: [running] }])] } }));
  answer = [running];
  const result = await sdk.sendEvent({ renderDecisions: true });
  assert.deepEqual(attempted(result), { running: true });
  assert.deepEqual(log("render").map(([, ids]) => ids), [["running"]], "rendered once, on-device, not again from the answer");
});

test("a new bundle replaces the decider: later events go to the new one", async () => {
  const createInstance = await load();
  installBrowser();
  let version = 1;
  installFetch((req) => {
    const handle = [...identityHandles(ECID)];
    if (req.body.events[0].query?.personalization?.onDevice) handle.push({ type: "edgecdp:bundle", payload: [{ ...BUNDLE, version: version++ }] });
    return { body: { handle } };
  });
  const sdk = createInstance({ ...config, personalization: { sendDisplayEvent: false } });
  await sdk.sendEvent({ renderDecisions: true });
  await until(() => log("new").length);
  await sdk.sendEvent(views());
  await sdk.sendEvent({ renderDecisions: true });
  await until(() => log("new").length == 2);
  await sdk.sendEvent(views());
  assert.deepEqual(log("new"), [["new", 1], ["new", 2]]);
  assert.deepEqual(log("onEvent").map((e) => [e[1].eventType || "page", e[4]]), [
    ["commerce.productViews", 1],
    ["page", 1],
    ["commerce.productViews", 2],
  ]);
});

test("failures: a missing decider, a refused bundle and a failing decide are one warning each page, and the edge's rendering goes on", async () => {
  for (const [dir, setup] of [
    [noDecider, () => {}],
    [root, () => (fake().refuse = "missing field `version`")],
    [root, () => (fake().decideThrows = true)],
  ]) {
    globalThis.__fakeDevice = { log: [], decide: () => [], refuse: undefined, decideThrows: false };
    setup();
    const createInstance = await load(dir);
    installBrowser();
    edge({ propositions: [proposition("season", "home-hero")] });
    const { warnings, restore } = captureWarnings();
    try {
      const sdk = createInstance(config);
      assert.deepEqual(attempted(await sdk.sendEvent({ renderDecisions: true })), { season: true });
      const results = [await sdk.sendEvent(views()), await sdk.sendEvent(views())];
      assert.deepEqual(results.map((r) => r.propositions), [[], []]);
      assert.deepEqual(attempted(await sdk.sendEvent({ renderDecisions: true })), { season: true }, "the edge's decisions render");
      await tick(5);
    } finally {
      restore();
    }
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(warnings[0], /on-device decisions are off: the decider failed/);
  }
});
