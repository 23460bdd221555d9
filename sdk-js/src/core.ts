/**
 * The lazy chunk that loads the Wasm modules (wasm-bindgen `--target web` glue plus `.wasm`):
 * the edgecdp core (crates/wasm), which the SDK `import()`s in debug mode and to decode an
 * identity cookie, and the on-device decider (crates/wasm-device), loaded only when the edge
 * sends a client bundle to a page that opted in (`onDeviceDecisioning`). Nothing on the critical
 * path imports this module statically.
 *
 * The glue is not bundled here: it is loaded at run time from `wasm/` next to the SDK files, so
 * this chunk builds (and the SDK works, without validation or on-device decisions) before the
 * Wasm exists.
 * @module
 */
import type { Core, Device, WasmSource } from "./types.js";

export type { Core, Decider, Device, WasmSource } from "./types.js";

/** Relative path from this chunk to the `wasm/` directory; set by build.mjs per output. */
declare const WASM_DIR: string;

/** What `--target web` glue offers to instantiate its module. */
interface Glue {
  default(input: { module_or_path: unknown }): Promise<unknown>;
  initSync(input: { module: BufferSource | WebAssembly.Module }): unknown;
}

const loading = new Map<string, Promise<unknown>>();

/**
 * Loads and instantiates the module `name` (`wasm/{name}.js` + `wasm/{name}_bg.wasm`) once.
 * `wasm` may name the `.wasm` URL or give its bytes (or a compiled module), which are
 * instantiated synchronously with `initSync`, as Node does.
 */
function load<T>(name: string, wasm?: WasmSource): Promise<T> {
  let module = loading.get(name);
  if (!module) {
    module = instantiate(name, wasm).catch((err: unknown) => {
      loading.delete(name); // a failed load (e.g. a network blip) may be retried later
      throw err;
    });
    loading.set(name, module);
  }
  return module as Promise<T>;
}

async function instantiate(name: string, wasm?: WasmSource): Promise<Glue> {
  const glueUrl = new URL(WASM_DIR + name + ".js", import.meta.url).href;
  const glue = (await import(/* @vite-ignore */ /* webpackIgnore: true */ glueUrl)) as Glue;
  if (wasm && typeof wasm == "object" && !(wasm instanceof URL)) {
    glue.initSync({ module: wasm });
  } else {
    await glue.default({ module_or_path: wasm || new URL(WASM_DIR + name + "_bg.wasm", import.meta.url) });
  }
  return glue;
}

/** Loads the Wasm core once (`wasm`: its `.wasm` URL, bytes or compiled module). */
export const loadCore = (wasm?: WasmSource): Promise<Core> => load("edgecdp_wasm", wasm);

/**
 * Loads the on-device decider once (`wasm`: the URL, bytes or compiled module of
 * `edgecdp_wasm_device_bg.wasm`); resolves with its `Decider` class.
 */
export const loadDevice = (wasm?: WasmSource): Promise<Device> => load("edgecdp_wasm_device", wasm);
