// Size budget of @edgecdp/sdk (run after the build: `node sdk-js/size.mjs`).
//
// The critical path is the JS a page loads before its first event: the script-tag build, or (for
// module users) the ESM entry plus the chunks it imports statically. Each must stay within
// 10 KB gzip. When the Wasm core is built, critical path + lazy chunks (core and renderer) + glue +
// .wasm must stay within 52 KB gzip (the size of the Adobe Web SDK's minified bundle alone).
//
// The on-device decider (dist/wasm/edgecdp_wasm_device.js + edgecdp_wasm_device_bg.wasm) is
// reported on its own line and in `device`, and is NOT counted in that total: it is opt-in
// (`onDeviceDecisioning`) and lazy (loaded only when the edge's answer brings such a page a client
// bundle), so no page pays for it unless it chose to, and it never delays the first render. Its
// loader is a few lines of the core chunk, which is counted.
//
// Prints one line per file, then the figures as one JSON object on the last line; exits 1 when a
// budget is exceeded or dist/ is missing.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, "dist");
const CRITICAL_GZIP_BUDGET = 10 * 1024;
const TOTAL_GZIP_BUDGET = 52 * 1024;

/** raw and gzip (zlib default level, what servers typically use) bytes of some files. */
function measure(files) {
  let raw = 0;
  let gzip = 0;
  for (const file of files) {
    const bytes = readFileSync(file);
    raw += bytes.length;
    gzip += gzipSync(bytes).length;
  }
  return { files: files.map((f) => relative(dist, f)), raw, gzip };
}

/** An ESM file and every file it imports statically, transitively (dynamic import() excluded). */
function staticGraph(entry, seen = new Set()) {
  if (seen.has(entry)) return [...seen];
  seen.add(entry);
  const code = readFileSync(entry, "utf8");
  for (const m of code.matchAll(/(?:^|[;}\s])(?:import|export)\s*(?:[\w*{}\s,$]*?\s*from\s*)?["'](\.[^"']+)["']/g)) {
    staticGraph(join(dirname(entry), m[1]), seen);
  }
  return [...seen];
}

const need = ["edgecdp.min.js", "edgecdp-core.js", "edgecdp-render.js", "esm/index.js", "esm/core.js", "esm/render.js"].map((f) => join(dist, f));
const missing = need.filter((f) => !existsSync(f));
if (missing.length) {
  console.error(`size: missing ${missing.map((f) => relative(root, f)).join(", ")}: run \`npm run build -w sdk-js\` first.`);
  process.exit(1);
}

const iife = measure([join(dist, "edgecdp.min.js")]);
const esmEntry = measure(staticGraph(join(dist, "esm/index.js")));
const lazyChunk = measure([join(dist, "edgecdp-core.js")]);
// Loaded on the first page that renders propositions, so it counts in the whole-browser budget.
const renderChunk = measure([join(dist, "edgecdp-render.js")]);
const wasmFiles = ["wasm/edgecdp_wasm.js", "wasm/edgecdp_wasm_bg.wasm"].map((f) => join(dist, f));
const wasm = wasmFiles.every((f) => existsSync(f)) ? measure(wasmFiles) : null;
// Opt-in and lazy: reported, not counted in the total (see the header).
const deviceFiles = ["wasm/edgecdp_wasm_device.js", "wasm/edgecdp_wasm_device_bg.wasm"].map((f) => join(dist, f));
const device = deviceFiles.every((f) => existsSync(f)) ? measure(deviceFiles) : null;

const criticalPathGzip = Math.max(iife.gzip, esmEntry.gzip);
const totalGzip = wasm ? criticalPathGzip + lazyChunk.gzip + renderChunk.gzip + wasm.gzip : null;
const failures = [];
if (iife.gzip > CRITICAL_GZIP_BUDGET) failures.push(`edgecdp.min.js is ${iife.gzip} B gzip > ${CRITICAL_GZIP_BUDGET}`);
if (esmEntry.gzip > CRITICAL_GZIP_BUDGET) failures.push(`the ESM entry is ${esmEntry.gzip} B gzip > ${CRITICAL_GZIP_BUDGET}`);
if (totalGzip !== null && totalGzip > TOTAL_GZIP_BUDGET) {
  failures.push(`critical path + lazy chunks + Wasm core is ${totalGzip} B gzip > ${TOTAL_GZIP_BUDGET}`);
}

const row = (name, m) => console.log(`${name.padEnd(30)} ${String(m.raw).padStart(8)} B raw ${String(m.gzip).padStart(8)} B gzip  (${m.files.join(" + ")})`);
row("script tag (critical path)", iife);
row("ESM entry (critical path)", esmEntry);
row("lazy chunk: core", lazyChunk);
row("lazy chunk: renderer", renderChunk);
if (wasm) row("Wasm core (glue + .wasm)", wasm);
else console.log("Wasm core                      not built (sdk-js/wasm/ missing): total budget not checked");
if (device) row("on-device decider (not in total)", device);
else console.log("on-device decider              not built (sdk-js/wasm/ missing)");
for (const f of failures) console.error(`size: over budget: ${f}`);
console.log(
  JSON.stringify({
    iife,
    esmEntry,
    lazyChunk,
    renderChunk,
    wasm,
    device,
    criticalPathGzip,
    totalGzip,
    budget: { criticalPathGzip: CRITICAL_GZIP_BUDGET, totalGzip: TOTAL_GZIP_BUDGET },
    ok: failures.length === 0,
  }),
);
process.exit(failures.length ? 1 : 0);
