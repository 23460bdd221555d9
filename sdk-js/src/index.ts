/**
 * @edgecdp/sdk — send events to an edgecdp edge (Adobe Experience Edge compatible protocol).
 *
 * ```ts
 * import { createInstance } from "@edgecdp/sdk";
 * const edgecdp = createInstance({ datastreamId: "ds-luma", orgId: "LUMA123@AdobeOrg" });
 * await edgecdp.sendEvent({ renderDecisions: true, xdm: { eventType: "web.webpagedetails.pageViews" } });
 * const { ECID } = await edgecdp.getIdentity();
 * ```
 *
 * Only this small entry is on the page's critical path. The Wasm core and the renderer of
 * propositions are separate chunks, `import()`ed on demand: the core for debug-mode validation
 * and identity cookie decoding, the renderer when something is to be rendered, and the
 * on-device decider (opt-in, `onDeviceDecisioning`) when the edge sends a client bundle.
 * @module
 */
import { makeInstance } from "./instance.js";
import type { Config, Instance } from "./types.js";

export { EdgeError } from "./transport.js";
export { VERSION } from "./event.js";
export type * from "./types.js";

/**
 * Creates an SDK instance. Without `config`, calls are queued until `configure` is called.
 * @throws TypeError when `config` lacks `datastreamId` or `orgId`.
 */
export function createInstance(config?: Config): Instance {
  return makeInstance(
    {
      core: (c) => import("./core.js").then((core) => core.loadCore(c.wasm)),
      renderer: () => import("./render.js"),
      device: (c) => import("./core.js").then((core) => core.loadDevice(c.deviceWasm)),
    },
    config,
  );
}
