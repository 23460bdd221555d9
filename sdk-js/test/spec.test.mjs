// The shared vectors (tests/spec/, format in tests/spec/schema.json) through the SDK's own lazy
// loaders (dist/esm/core.js): the Wasm core, the path debug-mode validation and identity cookie
// decoding take in a page, and the on-device decider (`decide` cases), the path on-device
// decisions take. The Rust core and the Wasm bindings run the same files.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

const specDir = new URL("../../tests/spec/", import.meta.url);
const index = JSON.parse(readFileSync(new URL("index.json", specDir), "utf8"));
const wasmBytes = readFileSync(new URL("../wasm/edgecdp_wasm_bg.wasm", import.meta.url));
const { loadCore, loadDevice } = await import(new URL("../dist/esm/core.js", import.meta.url).href);
const core = await loadCore(wasmBytes);
const device = await loadDevice(readFileSync(new URL("../wasm/edgecdp_wasm_device_bg.wasm", import.meta.url)));

/** The outcome of a case in the vectors' terms, or undefined for functions the SDK lacks. */
function run(fn, input) {
  if (fn === "decodeIdentityCookie") {
    const r = core.decodeIdentityCookie(input);
    return r.ok ? { ok: true, value: r.value } : { ok: false, error: r.error.code };
  }
  if (fn === "normalizeIdentity") {
    const r = core.normalizeIdentity(input.ns, input.id);
    return r.ok ? { ok: true, value: r.value } : { ok: false, error: r.error.code };
  }
  if (fn === "decide") {
    // As the SDK drives it: events folded as they are sent, then the page scope decided.
    const decider = new device.Decider(JSON.stringify(input.bundle));
    assert.deepEqual(JSON.parse(decider.skipped()), []);
    for (const e of input.events) decider.onEvent(JSON.stringify(e.xdm), e.id, e.at);
    const propositions = JSON.parse(decider.decide(JSON.stringify(input.scopes), input.page, input.now));
    const value = { segments: JSON.parse(decider.segments()), propositions };
    decider.free();
    return { ok: true, value };
  }
  if (fn === "validateEvent") {
    const r = core.validateEvent(input);
    return r.ok ? { ok: true } : { ok: false, errors: (r.error.errors || []).map(({ path, code }) => ({ path, code })) };
  }
  return undefined;
}

test("the loaded core implements the vectors' spec version", () => {
  assert.equal(core.specVersion(), index.specVersion);
});

for (const file of index.files) {
  const doc = JSON.parse(readFileSync(new URL(file, specDir), "utf8"));
  test(`vectors: ${doc.name} (${file})`, () => {
    let ran = 0;
    for (const c of doc.cases) {
      if (c.runtimes && !c.runtimes.includes("js")) continue;
      const actual = run(c.fn, c.input);
      if (actual === undefined) continue; // e.g. identityCookieName: the SDK names cookies itself
      const comparable = c.expected.ok && !("value" in c.expected) ? { ok: actual.ok } : actual;
      assert.deepEqual(comparable, c.expected, `${file} / ${c.name}`);
      ran++;
    }
    assert.ok(ran > 0, `no case of ${file} ran through the SDK`);
  });
}
