// Builds @edgecdp/sdk into dist/ (run with `npm run build -w sdk-js`):
//   dist/esm/index.js, dist/esm/core.js, dist/esm/render.js ESM, code-split; core.js and render.js are
//                                                           the lazy chunks (Wasm core, renderer)
//   dist/edgecdp.min.js                                     script-tag (IIFE) build, minified
//   dist/edgecdp-core.js, dist/edgecdp-render.js            the lazy chunks as standalone ESM files,
//                                                           loaded by the IIFE next to its own URL
//   dist/wasm/                                              the Wasm core and the on-device decider,
//                                                           copied from wasm/ when built
//   dist/types/                                             .d.ts (tsc --emitDeclarationOnly)
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, "dist");
const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

const common = {
  bundle: true,
  minify: true,
  sourcemap: true,
  target: "es2020",
  platform: "browser",
  legalComments: "none",
  banner: { js: `/*! @edgecdp/sdk ${version} | Apache-2.0 */` },
  logLevel: "warning",
};
const define = (wasmDir) => ({ __VERSION__: JSON.stringify(version), WASM_DIR: JSON.stringify(wasmDir) });

rmSync(dist, { recursive: true, force: true });

await Promise.all([
  // ESM for bundlers and <script type="module">: the lazy core is its own chunk.
  build({
    ...common,
    entryPoints: { index: join(root, "src/index.ts"), core: join(root, "src/core.ts"), render: join(root, "src/render.ts") },
    outdir: join(dist, "esm"),
    format: "esm",
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    define: define("../wasm/"),
  }),
  // The script tag: one file, no module loader needed before the first event.
  build({
    ...common,
    entryPoints: [join(root, "src/iife.ts")],
    outfile: join(dist, "edgecdp.min.js"),
    format: "iife",
    define: define("./wasm/"),
  }),
  // The lazy chunks for the script tag, which cannot share esm/'s chunks.
  build({
    ...common,
    entryPoints: [join(root, "src/core.ts")],
    outfile: join(dist, "edgecdp-core.js"),
    format: "esm",
    define: define("./wasm/"),
  }),
  build({
    ...common,
    entryPoints: [join(root, "src/render.ts")],
    outfile: join(dist, "edgecdp-render.js"),
    format: "esm",
    define: define("./wasm/"),
  }),
]);

// The Wasm modules are built by `cargo xtask build-wasm` (wasm-bindgen --target web) into wasm/:
// the core, and the on-device decider (loaded only by pages that decide on-device).
for (const [name, what, without] of [
  ["edgecdp_wasm", "the Wasm core", "debug-mode validation and identity-cookie decoding are skipped at run time"],
  ["edgecdp_wasm_device", "the on-device decider", "on-device decisions are off at run time"],
]) {
  const files = [`${name}.js`, `${name}_bg.wasm`, `${name}.d.ts`];
  if (files.slice(0, 2).every((f) => existsSync(join(root, "wasm", f)))) {
    mkdirSync(join(dist, "wasm"), { recursive: true });
    for (const f of files) if (existsSync(join(root, "wasm", f))) copyFileSync(join(root, "wasm", f), join(dist, "wasm", f));
    console.log(`build: copied ${what} from wasm/ to dist/wasm/`);
  } else {
    console.log(`build: note: wasm/${files[0]} + wasm/${files[1]} not built yet; dist/ has no ${what} (${without}).`);
  }
}

// Declarations. tsc does not copy hand-written .d.ts inputs, so the Wasm glue's declaration is copied.
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.json")], { stdio: "inherit" });
copyFileSync(join(root, "src/wasm.d.ts"), join(dist, "types/wasm.d.ts"));

console.log(`build: @edgecdp/sdk ${version} → dist/`);
