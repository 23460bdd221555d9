// The browser Wasm core, really instantiated in Node (the same .wasm sdk-js loads), run against
// the shared vectors in tests/spec/ and the envelope contract; `decide` vectors run through the
// on-device decider (edgecdp-wasm-device). Build both first: cargo xtask build-wasm.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

const root = new URL("../../../", import.meta.url);
const glue = await import(new URL("sdk-js/wasm/edgecdp_wasm.js", root));
glue.initSync({ module: readFileSync(new URL("sdk-js/wasm/edgecdp_wasm_bg.wasm", root)) });
const device = await import(new URL("sdk-js/wasm/edgecdp_wasm_device.js", root));
device.initSync({ module: readFileSync(new URL("sdk-js/wasm/edgecdp_wasm_device_bg.wasm", root)) });

const specDir = new URL("tests/spec/", root);
const index = JSON.parse(readFileSync(new URL("index.json", specDir), "utf8"));

/** The outcome of a case in the vectors' terms. */
function run(fn, input) {
  switch (fn) {
    case "decodeIdentityCookie": {
      const r = glue.decodeIdentityCookie(input);
      return r.ok ? { ok: true, value: r.value } : { ok: false, error: r.error.code };
    }
    case "normalizeIdentity": {
      const r = glue.normalizeIdentity(input.ns, input.id);
      return r.ok ? { ok: true, value: r.value } : { ok: false, error: r.error.code };
    }
    case "identityCookieName":
      return { ok: true, value: glue.identityCookieName(input) };
    case "validateEvent": {
      const r = glue.validateEvent(input);
      return r.ok ? { ok: true } : { ok: false, errors: (r.error.errors || []).map(({ path, code }) => ({ path, code })) };
    }
    case "decide": {
      const d = new device.Decider(JSON.stringify(input.bundle));
      assert.deepEqual(JSON.parse(d.skipped()), []);
      for (const e of input.events) d.onEvent(JSON.stringify(e.xdm), e.id, e.at);
      const propositions = JSON.parse(d.decide(JSON.stringify(input.scopes), input.page, input.now));
      const value = { segments: JSON.parse(d.segments()), propositions };
      d.free();
      return { ok: true, value };
    }
    default:
      return undefined; // not exported to browsers (verifyIdentityCookie needs the edge's key)
  }
}

test("specVersion matches the vectors", () => {
  assert.equal(glue.specVersion(), index.specVersion);
  assert.match(glue.version(), /^\d+\.\d+\.\d+/);
});

for (const file of index.files) {
  const doc = JSON.parse(readFileSync(new URL(file, specDir), "utf8"));
  test(`vectors: ${doc.name} (${file})`, () => {
    let ran = 0;
    for (const c of doc.cases) {
      if (c.runtimes && !c.runtimes.includes("wasm")) continue;
      const actual = run(c.fn, c.input);
      assert.notEqual(actual, undefined, `${c.name}: the Wasm core has no ${c.fn}`);
      const expected = c.expected;
      const comparable = expected.ok && !("value" in expected) ? { ok: actual.ok } : actual;
      assert.deepEqual(comparable, expected, `${file} / ${c.name}`);
      ran++;
    }
    assert.ok(ran > 0, `no case of ${file} ran in Wasm`);
  });
}

test("validateEvent returns the event as the edge reads it, unknown fields kept", () => {
  const r = glue.validateEvent({ xdm: { eventType: "x", _luma: { a: [1, 2.5, null, true] } }, data: { k: "v" } });
  assert.deepEqual(r, { ok: true, value: { xdm: { eventType: "x", _luma: { a: [1, 2.5, null, true] } }, data: { k: "v" } } });
});

test("errors carry a message naming the field", () => {
  const r = glue.validateEvent({ xdm: { timestamp: 5 } });
  assert.equal(r.ok, false);
  assert.equal(r.error.code, "invalid_event");
  assert.equal(r.error.errors[0].message, "xdm.timestamp: expected a string, found a number");
  assert.equal(r.error.message, r.error.errors[0].message);
});

test("input JSON cannot carry is refused, not crashed on", () => {
  const fn = glue.validateEvent({ xdm: { f() {} } });
  assert.equal(fn.ok, false);
  assert.equal(fn.error.code, "bad_input");
  assert.match(fn.error.message, /xdm\.f holds a value JSON cannot carry/);
  let deep = {};
  for (let i = 0; i < 100; i++) deep = { d: deep };
  const r = glue.validateEvent({ xdm: deep });
  assert.equal(r.ok, false);
  assert.match(r.error.message, /deeper than the limit of 32 levels/);
  for (const bad of [null, undefined, 42, "event", [1]]) {
    const out = glue.validateEvent(bad);
    assert.equal(out.ok, false, String(bad));
  }
  assert.equal(glue.decodeIdentityCookie("").ok, false);
});

test("undefined members are dropped like JSON.stringify does", () => {
  const r = glue.validateEvent({ xdm: { eventType: "x", web: undefined } });
  assert.deepEqual(r.value, { xdm: { eventType: "x" } });
});

test("the on-device decider refuses what is not a bundle or an event, with a message", () => {
  assert.throws(() => new device.Decider("{"), /not a client bundle/);
  const d = new device.Decider(JSON.stringify({ version: 1, ecid: "1" }));
  assert.throws(() => d.onEvent("[1]", "e", 0), /not an event: expected a JSON object/);
  assert.throws(() => d.decide("\"__view__\"", null, 0), /scopes: expected a JSON array of strings/);
  assert.deepEqual(JSON.parse(d.decide(JSON.stringify(["__view__"]), null, 0)), [], "an empty bundle decides nothing");
  d.free();
});
