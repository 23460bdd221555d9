// The size budget (STYLE.md: "a size budget for the JS and the .wasm, checked by a test").
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const script = fileURLToPath(new URL("../size.mjs", import.meta.url));

function run() {
  try {
    return { code: 0, out: execFileSync(process.execPath, [script], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }) };
  } catch (err) {
    return { code: err.status, out: err.stdout };
  }
}

const { code, out } = run();
const report = JSON.parse(out.trim().split("\n").at(-1));

test("size.mjs prints one JSON object on its last line, exiting 0 exactly when within budget", () => {
  for (const key of ["iife", "esmEntry", "lazyChunk", "renderChunk"]) {
    assert.ok(report[key].raw > 0 && report[key].gzip > 0 && report[key].gzip < report[key].raw, key);
  }
  assert.equal(code === 0, report.ok);
});

test("the critical path (script tag, and the ESM entry) is at most 10 KB gzip", () => {
  assert.ok(report.iife.gzip <= 10 * 1024, `edgecdp.min.js: ${report.iife.gzip} B gzip`);
  assert.ok(report.esmEntry.gzip <= 10 * 1024, `ESM entry: ${report.esmEntry.gzip} B gzip`);
  assert.equal(report.criticalPathGzip, Math.max(report.iife.gzip, report.esmEntry.gzip));
});

test("critical path + lazy chunks + Wasm core is at most 52 KB gzip", () => {
  assert.ok(report.wasm, "sdk-js/wasm/ is built (cargo xtask build-wasm)");
  assert.ok(report.totalGzip <= report.budget.totalGzip, `${report.totalGzip} B gzip in all`);
});

test("the on-device decider (opt-in, lazy) is reported on its own and not counted in that total", () => {
  assert.ok(report.device, "sdk-js/wasm/edgecdp_wasm_device* is built (cargo xtask build-wasm)");
  assert.deepEqual(report.device.files, ["wasm/edgecdp_wasm_device.js", "wasm/edgecdp_wasm_device_bg.wasm"]);
  assert.ok(report.device.gzip > 0 && report.device.gzip < report.device.raw);
  assert.equal(report.totalGzip, report.criticalPathGzip + report.lazyChunk.gzip + report.renderChunk.gzip + report.wasm.gzip);
  assert.match(out, /^on-device decider \(not in total\)/m);
});
