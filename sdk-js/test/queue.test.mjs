// The pre-init buffer: calls made before the script loaded (snippet) or before configure (ESM).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import { createInstance } from "../dist/esm/index.js";
import { installBrowser, installFetch, tick } from "./support/env.mjs";
import { identityHandles } from "./support/mock-edge.mjs";

const config = { datastreamId: "ds-luma", orgId: "LUMA123@AdobeOrg", edgeDomain: "edge.luma.test" };
const ECID = "52815286440582716171370361733432581330";
const IIFE = new URL("../dist/edgecdp.min.js", import.meta.url);

/** The base snippet documented in README.md, verbatim. */
const SNIPPET = readFileSync(new URL("../README.md", import.meta.url), "utf8").match(/<script>\n(!function[^\n]+)\n<\/script>/)[1];

/** Runs dist/edgecdp.min.js as the browser would run `<script src=".../edgecdp.min.js">`. */
function loadScriptTag() {
  document.currentScript = { src: IIFE.href };
  vm.runInThisContext(readFileSync(IIFE, "utf8"), {
    filename: fileURLToPath(IIFE),
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  document.currentScript = null;
}

test("ESM: calls made before configure are queued, in order, and settle after it", async () => {
  installBrowser();
  const requests = installFetch(() => ({ body: { handle: identityHandles(ECID) } }));
  const sdk = createInstance();
  const order = [];
  const a = sdk.sendEvent({ data: { n: 1 } }).then((r) => (order.push("a"), r));
  const id = sdk.getIdentity().then((r) => (order.push("id"), r));
  const b = sdk.sendEvent({ data: { n: 2 } }).then((r) => (order.push("b"), r));
  await tick(10);
  assert.equal(requests.length, 0, "nothing is sent before configure");

  await sdk.configure(config);
  const [ra, identity, rb] = await Promise.all([a, id, b]);
  assert.deepEqual(requests.map((r) => r.body.events?.[0].data.n), [1, 2]);
  assert.deepEqual(identity, { ECID });
  assert.deepEqual(ra.identity, { ECID });
  assert.deepEqual(rb.identity, { ECID });
  assert.equal(requests.every((r) => r.action === "interact"), true, "getIdentity needed no acquire");
  await assert.rejects(sdk.configure(config), /already configured/);
});

test("ESM: an invalid configure rejects and keeps the queue for a valid one", async () => {
  installBrowser();
  const requests = installFetch(() => ({ body: { handle: [] } }));
  const sdk = createInstance();
  const sent = sdk.sendEvent({});
  await assert.rejects(sdk.configure({ orgId: "x" }), TypeError);
  await sdk.configure(config);
  await sent;
  assert.equal(requests.length, 1);
});

test("script tag: the promise snippet's queue is drained in order and every promise settles", async () => {
  installBrowser();
  const requests = installFetch((req) =>
    req.url.searchParams.get("configId") === "ds-luma" ? { body: { handle: identityHandles(ECID) } } : { status: 400, body: { title: "Invalid datastream ID" } },
  );
  delete globalThis.edgecdp;
  vm.runInThisContext(SNIPPET);
  const stub = globalThis.edgecdp;
  const calls = [
    edgecdp("configure", config),
    edgecdp("sendEvent", { xdm: { eventType: "web.webpagedetails.pageViews" }, data: { n: 1 } }),
    edgecdp("getIdentity"),
    edgecdp("sendEvent", { data: { n: 2 } }),
    edgecdp("nope"),
  ];
  assert.equal(stub.q.length, 5);
  await tick(5);
  assert.equal(requests.length, 0, "the stub sends nothing");

  loadScriptTag();
  assert.notEqual(globalThis.edgecdp, stub, "the stub is replaced by the real command function");
  const [configured, first, identity, second, unknown] = await Promise.allSettled(calls);
  assert.equal(configured.status, "fulfilled");
  assert.equal(first.status, "fulfilled");
  assert.deepEqual(first.value.identity, { ECID });
  assert.deepEqual(identity.value, { ECID });
  assert.equal(second.status, "fulfilled");
  assert.equal(unknown.status, "rejected");
  assert.match(unknown.reason.message, /unknown command "nope"/);
  assert.deepEqual(requests.map((r) => r.body.events[0].data.n), [1, 2]);

  // After loading, the same function answers directly with promises.
  const third = await edgecdp("sendEvent", { data: { n: 3 } });
  assert.deepEqual(third.identity, { ECID });
  assert.match((await edgecdp("getLibraryInfo")).version, /^\d+\.\d+\.\d+/);
});

test("script tag: the plain-arguments snippet also works (fire and forget, errors logged)", async () => {
  installBrowser();
  const requests = installFetch(() => ({ body: { handle: identityHandles(ECID) } }));
  delete globalThis.edgecdp;
  window.edgecdp = window.edgecdp || function () { (window.edgecdp.q = window.edgecdp.q || []).push(arguments); };
  edgecdp("configure", config);
  edgecdp("sendEvent", { data: { n: 1 } });
  edgecdp("sendEvent", { data: { n: 2 } });
  edgecdp("bogus");
  const errors = [];
  const original = console.error;
  console.error = (...args) => errors.push(args);
  try {
    loadScriptTag();
    await tick(20);
  } finally {
    console.error = original;
  }
  assert.deepEqual(requests.map((r) => r.body.events[0].data.n), [1, 2]);
  assert.equal(errors.length, 1);
  assert.match(String(errors[0][1].message), /unknown command "bogus"/);
});

test("script tag: loading the script twice keeps the first instance", async () => {
  installBrowser();
  installFetch(() => ({ body: { handle: [] } }));
  delete globalThis.edgecdp;
  loadScriptTag();
  const first = globalThis.edgecdp;
  loadScriptTag();
  assert.equal(globalThis.edgecdp, first);
});
