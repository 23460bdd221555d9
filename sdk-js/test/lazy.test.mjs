// The lazy core, with a stand-in for the wasm-bindgen glue: what the SDK does with the core's
// answers (debug validation, identity cookie decoding) and that the chunk is only loaded on demand.
// test/wasm.test.mjs runs the same paths against the real Wasm when it is built.
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { pathToFileURL } from "node:url";
import vm from "node:vm";
import { installBrowser, installFetch, tick } from "./support/env.mjs";
import { identityCookieValue, identityHandles } from "./support/mock-edge.mjs";

const dist = new URL("../dist/", import.meta.url);
const ECID = "52815286440582716171370361733432581330";
const config = { datastreamId: "ds-luma", orgId: "LUMA123@AdobeOrg", edgeDomain: "edge.luma.test" };

// A copy of dist/ whose wasm/ holds a fake glue module with the real one's exports.
const root = mkdtempSync(join(tmpdir(), "edgecdp-lazy-"));
after(() => rmSync(root, { recursive: true, force: true }));
cpSync(new URL("esm", dist), join(root, "esm"), { recursive: true });
cpSync(new URL("edgecdp.min.js", dist), join(root, "edgecdp.min.js"));
cpSync(new URL("edgecdp-core.js", dist), join(root, "edgecdp-core.js"));
mkdirSync(join(root, "wasm"));
writeFileSync(
  join(root, "wasm", "edgecdp_wasm.js"),
  `const log = (globalThis.__fakeWasm ||= { calls: [] }).calls;
export default async function init(arg) { log.push(["init", arg]); }
export function initSync(arg) { log.push(["initSync", arg]); }
export function version() { return "0.0.0-fake"; }
export function specVersion() { return 1; }
export function validateEvent(event) {
  log.push(["validateEvent", event]);
  if (typeof event.xdm.eventType === "string") return { ok: true, value: event };
  return { ok: false, error: { code: "invalid_event", message: "The event has 2 invalid fields.", errors: [
    { path: "xdm.eventType", code: "missing", message: "xdm.eventType: is required and must be a string" },
    { path: "xdm.productListItems[0].quantity", message: "must be a non-negative integer, got -1" } ] } };
}
export function decodeIdentityCookie(value) {
  log.push(["decodeIdentityCookie", value]);
  return value === ${JSON.stringify(identityCookieValue(ECID))}
    ? { ok: true, value: { ecid: ${JSON.stringify(ECID)}, signed: false } }
    : { ok: false, error: { code: "identity_cookie", message: "The identity cookie is not base64." } };
}
`,
);
const { createInstance } = await import(pathToFileURL(join(root, "esm", "index.js")).href);
const calls = () => (globalThis.__fakeWasm ||= { calls: [] }).calls;

function captureWarnings() {
  const warnings = [];
  const original = console.warn;
  console.warn = (...args) => warnings.push(args.map(String).join(" "));
  return { warnings, restore: () => (console.warn = original) };
}

test("without debug, sending never loads the core", async () => {
  calls().length = 0;
  installBrowser();
  installFetch(() => ({ body: { handle: identityHandles(ECID) } }));
  const sdk = createInstance(config);
  await sdk.sendEvent({ xdm: {} });
  await sdk.getIdentity();
  assert.deepEqual(calls(), []);
});

test("debug: the event is validated by the lazily loaded core, problems are warned by field path, and it is still sent", async () => {
  calls().length = 0;
  installBrowser();
  const requests = installFetch(() => ({ body: { handle: [] } }));
  const { warnings, restore } = captureWarnings();
  try {
    const sdk = createInstance({ ...config, debug: true });
    const info = console.info;
    console.info = () => {};
    try {
      await sdk.sendEvent({ xdm: { productListItems: [{ SKU: "x", quantity: -1 }] } });
      await sdk.sendEvent({ xdm: { eventType: "web.webpagedetails.pageViews" } });
    } finally {
      console.info = info;
    }
  } finally {
    restore();
  }
  assert.equal(requests.length, 2, "both events were sent");
  const validated = calls().filter(([name]) => name === "validateEvent").map(([, event]) => event);
  assert.deepEqual(validated, requests.map((r) => r.body.events[0]), "the core saw exactly the events sent");
  assert.equal(calls().filter(([name]) => name === "init").length, 1, "instantiated once");
  assert.equal(warnings.length, 2);
  assert.match(warnings[0], /invalid event field "xdm\.eventType": is required and must be a string \(invalid_event\)/);
  assert.match(warnings[1], /"xdm\.productListItems\[0\]\.quantity": must be a non-negative integer, got -1/);
  const [, initArg] = calls().find(([name]) => name === "init");
  assert.equal(String(initArg.module_or_path), pathToFileURL(join(root, "wasm", "edgecdp_wasm_bg.wasm")).href, "the .wasm next to the glue");
});

test("debug: wasm given as bytes is instantiated with initSync", async () => {
  // A fresh copy of the chunk graph, so the core is not the one cached by the previous test.
  const other = mkdtempSync(join(tmpdir(), "edgecdp-lazy-"));
  try {
    cpSync(root, other, { recursive: true });
    const { createInstance: create } = await import(pathToFileURL(join(other, "esm", "index.js")).href);
    calls().length = 0;
    installBrowser();
    installFetch(() => ({ body: { handle: [] } }));
    const bytes = new Uint8Array([0, 97, 115, 109]);
    const info = console.info;
    console.info = () => {};
    try {
      await create({ ...config, debug: true, wasm: bytes }).sendEvent({ type: "x" });
    } finally {
      console.info = info;
    }
    assert.deepEqual(calls()[0], ["initSync", { module: bytes }]);
  } finally {
    rmSync(other, { recursive: true, force: true });
  }
});

test("debug: a core that cannot load is one warning, and the event is still sent", async () => {
  installBrowser();
  const requests = installFetch((req) => (req.url.hostname === "cdn.invalid" ? { status: 404, body: "not found" } : { body: { handle: [] } }));
  const { createInstance: real } = await import("../dist/esm/index.js"); // dist/wasm/ may not exist
  const { warnings, restore } = captureWarnings();
  const info = console.info;
  console.info = () => {};
  try {
    await real({ ...config, debug: true, wasm: "https://cdn.invalid/edgecdp_wasm_bg.wasm" }).sendEvent({ type: "x" });
  } finally {
    console.info = info;
    restore();
  }
  assert.equal(requests.filter((r) => r.url.hostname === "edge.luma.test").length, 1);
  // (The real glue, when built, may add a warning of its own before failing.)
  assert.equal(warnings.filter((w) => /Wasm core did not load; the event is sent unvalidated/.test(w)).length, 1, warnings.join("\n---\n"));
});

test("getIdentity decodes an existing identity cookie through the core: no network call", async () => {
  calls().length = 0;
  const jar = installBrowser();
  jar.cookie = `kndctr_LUMA123_AdobeOrg_identity=${identityCookieValue(ECID)}; path=/`;
  const requests = installFetch(() => ({ body: { handle: [] } }));
  assert.deepEqual(await createInstance(config).getIdentity(), { ECID });
  assert.equal(requests.length, 0);
  assert.deepEqual(calls().filter(([n]) => n === "decodeIdentityCookie"), [["decodeIdentityCookie", identityCookieValue(ECID)]]);
});

test("getIdentity falls back to /identity/acquire when the cookie does not decode", async () => {
  const jar = installBrowser();
  jar.cookie = "kndctr_LUMA123_AdobeOrg_identity=garbage; path=/";
  const requests = installFetch(() => ({ body: { handle: identityHandles(ECID) } }));
  assert.deepEqual(await createInstance(config).getIdentity(), { ECID });
  assert.deepEqual(requests.map((r) => r.action), ["identity/acquire"]);
  assert.deepEqual(requests[0].body.meta.state.entries, [{ key: "kndctr_LUMA123_AdobeOrg_identity", value: "garbage" }]);
});

test("script tag: the lazy core is loaded from edgecdp-core.js next to the script", async () => {
  calls().length = 0;
  const jar = installBrowser();
  jar.cookie = `kndctr_LUMA123_AdobeOrg_identity=${identityCookieValue(ECID)}; path=/`;
  const requests = installFetch(() => ({ body: { handle: [] } }));
  delete globalThis.edgecdp;
  const script = join(root, "edgecdp.min.js");
  document.currentScript = { src: pathToFileURL(script).href };
  vm.runInThisContext(readFileSync(script, "utf8"), { filename: script, importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER });
  document.currentScript = null;
  await edgecdp("configure", config);
  assert.deepEqual(await edgecdp("getIdentity"), { ECID });
  await tick();
  assert.equal(requests.length, 0);
  assert.equal(calls().filter(([n]) => n === "decodeIdentityCookie").length, 1);
  const [, initArg] = calls().find(([n]) => n === "init");
  assert.equal(String(initArg.module_or_path), pathToFileURL(join(root, "wasm", "edgecdp_wasm_bg.wasm")).href);
});
