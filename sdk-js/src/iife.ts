/**
 * The script-tag build (`edgecdp.min.js`): replaces the base snippet's stub `window.edgecdp` with
 * the real command function and replays the calls the stub queued, in order. The snippet may
 * queue promise triples `[resolve, reject, arguments]` (then the page's promises settle) or plain
 * `arguments` objects (fire and forget). See README.md for the snippet.
 */
import { VERSION } from "./event.js";
import { makeInstance } from "./instance.js";
import type { RendererLoader } from "./personalization.js";
import type * as Chunk from "./core.js";
import type { ApplyPropositionsOptions, Config, SendEventOptions } from "./types.js";

type Queued = ArrayLike<unknown> | [(value: unknown) => void, (reason: unknown) => void, ArrayLike<unknown>];
type Stub = ((...args: unknown[]) => unknown) & { q?: Queued[]; v?: string };

const w = window as unknown as { edgecdp?: Stub };

// Only true while this script runs for the first time, so read it now. The lazy chunks sit next to it.
const script = (document.currentScript || document.querySelector('script[src*="edgecdp"]')) as HTMLScriptElement | null;
const base = (script && script.src) || location.href;

if (!(w.edgecdp && w.edgecdp.v)) {
  const chunk = (c: Config) => import(c.coreUrl || new URL("edgecdp-core.js", base).href) as Promise<typeof Chunk>;
  const instance = makeInstance({
    core: (c) => chunk(c).then((core) => core.loadCore(c.wasm)),
    renderer: (c) => import(c.renderUrl || new URL("edgecdp-render.js", base).href) as ReturnType<RendererLoader>,
    device: (c) => chunk(c).then((core) => core.loadDevice(c.deviceWasm)),
  });

  const run = (args: ArrayLike<unknown>): Promise<unknown> => {
    const name = args[0];
    const options = args[1];
    try {
      if (name == "configure") return instance.configure(options as Config);
      if (name == "sendEvent") return instance.sendEvent(options as SendEventOptions);
      if (name == "getIdentity") return instance.getIdentity();
      if (name == "applyPropositions") return instance.applyPropositions(options as ApplyPropositionsOptions);
      if (name == "getLibraryInfo") return Promise.resolve({ version: VERSION });
      throw new Error(`edgecdp: unknown command "${String(name)}".`);
    } catch (err) {
      return Promise.reject(err);
    }
  };

  const queue = (w.edgecdp && w.edgecdp.q) || [];
  const command = ((...args: unknown[]) => run(args)) as Stub;
  command.v = VERSION;
  w.edgecdp = command;
  for (const item of queue) {
    if (Array.isArray(item) && typeof item[0] == "function") {
      run(item[2]).then(item[0], item[1]);
    } else {
      run(item as ArrayLike<unknown>).catch((err) => console.error("[edgecdp]", err));
    }
  }
}

