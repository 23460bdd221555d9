/** Building the request body: the event with its context, and the request id. */
import type { SendEventOptions, XdmEvent } from "./types.js";

/** The package version, injected by build.mjs. */
declare const __VERSION__: string;
export const VERSION = __VERSION__;

/** One event as sent in `events[]`. */
export interface WireEvent {
  xdm: XdmEvent;
  data?: Record<string, unknown>;
  /**
   * What the edge should decide for this event (`personalization.decisionScopes`), and whether
   * it should send a client bundle for on-device decisions (`onDevice`).
   */
  query?: { personalization: { decisionScopes: string[]; schemas: string[]; onDevice?: boolean } };
}

/** The item schemas this SDK renders or returns. */
const SCHEMAS = ["dom-action", "html-content-item", "json-content-item", "default-content-item"].map(
  (s) => "https://ns.adobe.com/personalization/" + s,
);

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => !!v && typeof v == "object" && !Array.isArray(v);

/** Fills what `target` lacks from `defaults`, recursively; never overwrites a given value. */
function fill(target: Obj, defaults: Obj): void {
  for (const key in defaults) {
    const have = target[key];
    const fallback = defaults[key];
    if (have === undefined) {
      if (fallback !== undefined) target[key] = fallback;
    } else if (isObject(have) && isObject(fallback)) {
      fill(have, fallback);
    }
  }
}

/**
 * The event for `events[]`: a copy of the caller's `xdm` and `data` (the caller's objects are
 * never modified) plus eventType, timestamp, web context and implementationDetails where absent.
 */
export function buildEvent(options: SendEventOptions): WireEvent {
  // The body is JSON anyway, so a JSON copy is exact for everything that can be sent.
  const event: WireEvent = JSON.parse(JSON.stringify({ xdm: options.xdm || {}, data: options.data }));
  fill(event.xdm as Obj, {
    eventType: options.type,
    timestamp: new Date().toISOString(),
    web: { webPageDetails: { URL: location.href }, webReferrer: { URL: document.referrer } },
    implementationDetails: { name: "https://edgecdp.dev/sdk-js", version: VERSION, environment: "browser" },
  });
  // The edge decides only what an event asks for: the page with renderDecisions, named scopes.
  const scopes = (options.renderDecisions ? ["__view__"] : []).concat(options.personalization?.decisionScopes || []);
  if (scopes.length) event.query = { personalization: { decisionScopes: scopes.filter((s, i) => scopes.indexOf(s) == i), schemas: SCHEMAS } };
  return event;
}

/** A random (version 4) UUID. `crypto.randomUUID` needs a secure context; this does not. */
export function uuid(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 15) | 64;
  b[8] = (b[8] & 63) | 128;
  let hex = "";
  for (let i = 0; i < 16; i++) hex += (i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "") + (b[i] + 256).toString(16).slice(1);
  return hex;
}
