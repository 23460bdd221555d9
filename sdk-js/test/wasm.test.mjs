// The real Wasm core (crates/wasm via `cargo xtask`), loaded in Node with initSync and its bytes.
// Skipped until sdk-js/wasm/ is built.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { createInstance } from "../dist/esm/index.js";
import { installBrowser, installFetch } from "./support/env.mjs";
import { identityHandles } from "./support/mock-edge.mjs";

const wasmDir = new URL("../wasm/", import.meta.url);
const built = existsSync(new URL("edgecdp_wasm.js", wasmDir)) && existsSync(new URL("edgecdp_wasm_bg.wasm", wasmDir));
const skip = built ? false : "sdk-js/wasm/ is not built yet (cargo xtask builds it): Wasm core tests skipped";
const glueUrl = new URL("../dist/wasm/edgecdp_wasm.js", import.meta.url);
const bytes = () => readFileSync(new URL("../dist/wasm/edgecdp_wasm_bg.wasm", import.meta.url));
const config = { datastreamId: "ds-luma", orgId: "LUMA123@AdobeOrg", edgeDomain: "edge.luma.test" };
// edge-protocol.md §4.1: base64(0x0A, 38, ECID).
const COOKIE = "CiY1MjgxNTI4NjQ0MDU4MjcxNjE3MTM3MDM2MTczMzQzMjU4MTMzMA==";
const ECID = "52815286440582716171370361733432581330";

async function glue() {
  assert.ok(existsSync(glueUrl), "dist/wasm/ is missing although sdk-js/wasm/ is built: run the build first");
  const mod = await import(glueUrl.href);
  mod.initSync({ module: bytes() });
  return mod;
}

/** Runs `fn` with console.warn/info captured; returns the warnings. */
async function quietly(fn) {
  const warnings = [];
  const { warn, info } = console;
  console.warn = (...args) => warnings.push(args.map(String).join(" "));
  console.info = () => {};
  try {
    await fn();
  } finally {
    Object.assign(console, { warn, info });
  }
  return warnings;
}

test("the Wasm module has the exports src/wasm.d.ts declares", { skip }, async () => {
  const mod = await glue();
  for (const name of ["default", "initSync", "version", "specVersion", "validateEvent", "decodeIdentityCookie"]) {
    assert.equal(typeof mod[name], "function", name);
  }
  assert.match(mod.version(), /^\d+\.\d+\.\d+/);
  assert.equal(Number.isInteger(mod.specVersion()), true);
});

test("decodeIdentityCookie reads field 1 of the documented cookie", { skip }, async () => {
  const mod = await glue();
  const decoded = mod.decodeIdentityCookie(COOKIE);
  assert.equal(decoded.ok, true, JSON.stringify(decoded));
  assert.equal(decoded.value.ecid, ECID);
  assert.equal(typeof decoded.value.signed, "boolean");
  const bad = mod.decodeIdentityCookie("%%%not base64");
  assert.equal(bad.ok, false);
  assert.equal(typeof bad.error.code, "string");
  assert.equal(typeof bad.error.message, "string");
});

test("debug mode validates with the real core: a page view as the SDK builds it passes; each reported problem is warned by path", { skip }, async () => {
  const mod = await glue();
  installBrowser();
  const requests = installFetch(() => ({ body: { handle: [] } }));
  const sdk = createInstance({ ...config, debug: true, wasm: bytes() });

  const clean = await quietly(() => sdk.sendEvent({ xdm: { eventType: "web.webpagedetails.pageViews", web: { webPageDetails: { name: "home" } } } }));
  assert.deepEqual(clean, [], "a plain page view is valid for the core");

  const suspicious = { eventType: "commerce.productViews", timestamp: "yesterday", productListItems: [{ SKU: "MS-RUN-01", quantity: -1 }] };
  const warnings = await quietly(() => sdk.sendEvent({ xdm: suspicious }));
  assert.equal(requests.length, 2, "sent either way");
  const verdict = mod.validateEvent(requests[1].body.events[0]);
  if (verdict.ok) {
    assert.deepEqual(warnings, []);
  } else {
    const issues = verdict.error.errors?.length ? verdict.error.errors : [{ path: "", message: verdict.error.message }];
    assert.equal(warnings.length, issues.length);
    issues.forEach((issue, i) => {
      assert.ok(warnings[i].includes(`invalid event field "${issue.path}": `), `${warnings[i]} names ${issue.path}`);
      assert.ok(!warnings[i].includes(`"${issue.path}": ${issue.path}:`), "the path is said once");
    });
  }
});

test("getIdentity decodes the identity cookie with the real core, without a request", { skip }, async () => {
  const jar = installBrowser();
  jar.cookie = `kndctr_LUMA123_AdobeOrg_identity=${COOKIE}; path=/`;
  const requests = installFetch(() => ({ body: { handle: identityHandles("1".repeat(38)) } }));
  assert.deepEqual(await createInstance({ ...config, wasm: bytes() }).getIdentity(), { ECID });
  assert.equal(requests.length, 0);
});
