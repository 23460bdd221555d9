/**
 * @edgecdp/sdk — send events to an edgecdp edge (Adobe Experience Edge compatible protocol).
 *
 * ```ts
 * import { createInstance } from "@edgecdp/sdk";
 * const edgecdp = createInstance({ datastreamId: "ds-luma", orgId: "LUMA123@AdobeOrg" });
 * await edgecdp.sendEvent({ xdm: { eventType: "web.webpagedetails.pageViews" } });
 * const { ECID } = await edgecdp.getIdentity();
 * ```
 *
 * Only this small entry is on the page's critical path; the Wasm core is a separate chunk that
 * is `import()`ed on demand (debug-mode validation, identity cookie decoding).
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
  return makeInstance((c) => import("./core.js").then((core) => core.loadCore(c.wasm)), config);
}
