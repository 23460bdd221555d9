/**
 * The lazy chunk: loads the edgecdp Wasm core (crates/wasm, wasm-bindgen `--target web` glue plus
 * `.wasm`). Nothing on the critical path imports this module statically; the SDK `import()`s it in
 * debug mode and when it must decode an identity cookie.
 *
 * The glue is not bundled here: it is loaded at run time from `wasm/` next to the SDK files, so
 * this chunk builds (and the SDK works, without validation) before the Wasm exists.
 * @module
 */
import type { Core, WasmSource } from "./types.js";
import type * as Glue from "./wasm.js";

export type { Core, WasmSource } from "./types.js";

/** Relative path from this chunk to the `wasm/` directory; set by build.mjs per output. */
declare const WASM_DIR: string;

let loading: Promise<Core> | undefined;

/**
 * Loads and instantiates the Wasm core once. `wasm` may name the `.wasm` URL or give its bytes
 * (or a compiled module), which are instantiated synchronously with `initSync` — what Node uses.
 */
export function loadCore(wasm?: WasmSource): Promise<Core> {
  return (loading ||= instantiate(wasm).catch((err: unknown) => {
    loading = undefined; // a failed load (e.g. a network blip) may be retried later
    throw err;
  }));
}

async function instantiate(wasm?: WasmSource): Promise<Core> {
  const glueUrl = new URL(WASM_DIR + "edgecdp_wasm.js", import.meta.url).href;
  const glue = (await import(/* @vite-ignore */ /* webpackIgnore: true */ glueUrl)) as typeof Glue;
  if (wasm && typeof wasm == "object" && !(wasm instanceof URL)) {
    glue.initSync({ module: wasm });
  } else {
    await glue.default({
      module_or_path: wasm || new URL(WASM_DIR + "edgecdp_wasm_bg.wasm", import.meta.url),
    });
  }
  return glue;
}
