/**
 * The SDK instance: configuration, the pre-configuration buffer, identity, the rule that
 * requests go one at a time until the identity cookie exists (the first response mints the ECID;
 * parallel first requests would mint several), and the edge's response inlined in the page
 * (proxy mode), which answers the page's first rendering event without a request.
 * Personalization is wired in here and lives in personalization.ts.
 */
import { apexDomain, readCookies, writeCookie } from "./cookies.js";
import { buildEvent, uuid, type WireEvent } from "./event.js";
import { makePersonalization, type DeviceLoader, type Personalization, type RendererLoader } from "./personalization.js";
import { beacon, parse, post, type EdgeResponse } from "./transport.js";
import type {
  ClientBundle,
  Config,
  Core,
  Identity,
  IdentityResultItem,
  Instance,
  Profile,
  Proposition,
  SendEventOptions,
  SendEventResult,
  StateStoreItem,
  XdmEvent,
} from "./types.js";

/** How an entry point brings in the lazy core (a bundled chunk, or a URL for the script tag). */
export type CoreLoader = (config: Config) => Promise<Core>;

/** The lazily loaded parts, as each entry point brings them in. */
export interface Loaders {
  core: CoreLoader;
  renderer: RendererLoader;
  device: DeviceLoader;
}

interface Resolved {
  config: Config;
  /** `{edge origin}/{edgeBasePath}`, no trailing slash. */
  base: string;
  /** `kndctr_{sanitized orgId}_` */
  prefix: string;
}

const PREFIX = "[edgecdp]";
/** Id of the `<script type="application/json">` the edge inlines its response in (proxy mode). */
const INLINED_ID = "edgecdp-response";

/**
 * The edge's response inlined in the page, taken out of it (it answers one event). The edge puts
 * it at the end of `<head>`: while the head is still being parsed, this waits for its end.
 */
async function takeInlined(): Promise<EdgeResponse | undefined> {
  const find = () => document.getElementById(INLINED_ID);
  if (!find() && document.readyState == "loading" && !document.body) {
    await new Promise<void>((done) => {
      const observer = new MutationObserver(() => (find() || document.body) && (observer.disconnect(), done()));
      observer.observe(document.documentElement, { childList: true, subtree: true });
    });
  }
  const el = find();
  if (!el) return;
  el.remove();
  try {
    const body = JSON.parse(el.textContent || "");
    if (body && Array.isArray(body.handle)) return body;
  } catch {
    // reported below
  }
  console.warn(PREFIX, `the edge's inlined response (#${INLINED_ID}) is not a response; the event is sent.`);
}

function resolve(config: Config): Resolved {
  for (const key of ["datastreamId", "orgId"] as const) {
    if (!config || typeof config[key] != "string" || !config[key]) {
      throw new TypeError(`edgecdp: config.${key} is required (a non-empty string).`);
    }
  }
  let edge = (config.edgeDomain || location.origin).replace(/\/+$/, "");
  if (!/^[a-z][\w+.-]*:\/\//i.test(edge)) edge = "https://" + edge;
  const basePath = (config.edgeBasePath ?? "ee").replace(/^\/+|\/+$/g, "");
  return {
    config,
    base: edge + (basePath ? "/" + basePath : ""),
    prefix: "kndctr_" + config.orgId.replace(/@/g, "_") + "_",
  };
}

/** Creates an instance; `config` may come now or later through `configure`. */
export function makeInstance(load: Loaders, config?: Config): Instance {
  let resolved: Resolved | undefined;
  let markReady!: (r: Resolved) => void;
  const ready = new Promise<Resolved>((r) => (markReady = r));
  /**
   * The identities of the last response that carried `identity:result` (or the ECID decoded from
   * the cookie): namespace code → id. Replaced as a whole, never merged, so a logout or another
   * person's login does not leave the previous person's ids behind.
   */
  let known: Identity | undefined;
  /** Settles when the request that may establish the identity is done. */
  let gate: Promise<void> | undefined;
  /** Calls whose responses may still bring the ECID. */
  const inflight = new Set<Promise<unknown>>();
  let apex: string | undefined;
  let personalizing: Personalization | undefined;
  /** Whether a rendering event looked for the edge's inlined response already. */
  let inlineSought = false;

  function configureNow(c: Config): void {
    if (resolved) throw new Error("edgecdp: the instance is already configured.");
    markReady((resolved = resolve(c)));
  }
  if (config) configureNow(config);

  function track<T>(p: Promise<T>): Promise<T> {
    inflight.add(p);
    const done = () => inflight.delete(p);
    p.then(done, done);
    return p;
  }

  const debugLog = (r: Resolved, ...args: unknown[]) => r.config.debug && console.info(PREFIX, ...args);
  const domain = () => (apex ??= apexDomain());

  /** Runs `fn` alone while no identity cookie exists, concurrently once one does. */
  async function serial<T>(r: Resolved, fn: () => Promise<T>): Promise<T> {
    while (!readCookies()[r.prefix + "identity"]) {
      if (!gate) {
        let release!: () => void;
        gate = new Promise((done) => (release = done));
        try {
          return await fn();
        } finally {
          gate = undefined;
          release();
        }
      }
      await gate;
    }
    return fn();
  }

  /** Sends `payload`, unless `inlined` gives its answer (processed the same way). */
  function request(
    r: Resolved,
    action: string,
    payload: object,
    inlined?: Promise<EdgeResponse | undefined>,
  ): Promise<EdgeResponse & { requestId: string }> {
    return track(serial(r, () => send(r, action, payload, inlined)));
  }

  /** `meta` of a request body: the state cookies, read now. */
  function meta(r: Resolved) {
    const cookies = readCookies();
    const entries = Object.keys(cookies)
      .filter((key) => key.startsWith(r.prefix))
      .map((key) => ({ key, value: cookies[key] }));
    return { state: { domain: domain(), cookiesEnabled: true, ...(entries.length ? { entries } : {}) } };
  }

  const endpoint = (r: Resolved, action: string, requestId: string) =>
    `${r.base}/v1/${action}?configId=${encodeURIComponent(r.config.datastreamId)}&requestId=${requestId}`;

  async function send(
    r: Resolved,
    action: string,
    payload: object,
    answer?: Promise<EdgeResponse | undefined>,
  ): Promise<EdgeResponse & { requestId: string }> {
    let requestId: string;
    let response: EdgeResponse;
    const inlined = answer && (await answer);
    if (inlined) {
      requestId = inlined.requestId || uuid();
      response = inlined;
      debugLog(r, "← (inlined in the page)", response);
    } else {
      // State is read at send time: the response we waited for may just have written the identity.
      const body = { ...payload, query: { identity: { fetch: ["ECID"] } }, meta: meta(r) };
      requestId = uuid();
      const url = endpoint(r, action, requestId);
      debugLog(r, "→", url, body);
      response = await parse(await post(url, JSON.stringify(body)), requestId);
      debugLog(r, "←", response);
    }
    const cookieDomain = r.config.cookieDomain ?? domain();
    let ids: Record<string, string> | undefined;
    for (const handle of response.handle) {
      const items = handle && Array.isArray(handle.payload) ? handle.payload : [];
      if (!items.length) continue;
      if (handle.type == "state:store") {
        for (const item of items as StateStoreItem[]) if (item) writeCookie(item, cookieDomain);
      } else if (handle.type == "identity:result") {
        // Repeated handles of a type are one list (edge-protocol.md §3.1); the first id per code wins.
        ids ||= Object.create(null) as Record<string, string>; // no inherited keys: `in` is exact
        for (const item of items as IdentityResultItem[]) {
          const code = item && item.namespace && item.namespace.code;
          if (typeof code == "string" && code && !(code in ids) && typeof item.id == "string" && item.id) {
            ids[code] = item.id;
          }
        }
      }
    }
    if (ids) {
      // The ECID is the browser's, not the person's: an answer without one keeps the one we have.
      ids.ECID ||= known ? known.ECID : "";
      if (ids.ECID) known = { ...ids } as Identity;
    }
    if (r.config.debug) {
      for (const e of response.errors || []) console.error(PREFIX, "edge error:", e);
      for (const w of response.warnings || []) console.warn(PREFIX, "edge warning:", w);
    }
    return { ...response, requestId };
  }

  async function validate(r: Resolved, event: WireEvent): Promise<void> {
    let core: Core;
    try {
      core = await load.core(r.config);
    } catch (err) {
      console.warn(PREFIX, "debug: the Wasm core did not load; the event is sent unvalidated.", err);
      return;
    }
    const result = core.validateEvent(event);
    if (!result.ok) {
      const { code, message, errors } = result.error;
      for (const { path, message: text } of errors && errors.length ? errors : [{ path: "", message }]) {
        // The core's messages may already start with the path; say it once.
        const detail = text.startsWith(path + ": ") ? text.slice(path.length + 2) : text;
        console.warn(PREFIX, `invalid event field "${path}": ${detail} (${code}); sending it anyway, the edge decides.`);
      }
    }
  }

  async function decodeCookie(r: Resolved, value: string): Promise<string | undefined> {
    try {
      const result = (await load.core(r.config)).decodeIdentityCookie(value);
      if (result.ok) return result.value.ecid;
      debugLog(r, "identity cookie not decoded:", result.error.message);
    } catch (err) {
      debugLog(r, "the Wasm core did not load to decode the identity cookie:", err);
    }
  }

  /** An event sent with `keepalive` to `/v1/collect`: it must leave even if the page unloads. */
  function collect(r: Resolved, xdm: XdmEvent): void {
    const body = { events: [buildEvent({ xdm })], meta: meta(r) };
    const url = endpoint(r, "collect", uuid());
    debugLog(r, "→", url, body);
    beacon(url, JSON.stringify(body)).catch((err) => debugLog(r, "the notification was not sent:", err));
  }

  function personalization(r: Resolved): Personalization {
    return (personalizing ||= makePersonalization(
      r.config,
      load.renderer,
      {
        display: (xdm) => {
          sendEvent({ xdm }).catch((err) => debugLog(r, "the display notification failed:", err));
        },
        interact: (xdm) => collect(r, xdm),
      },
      load.device,
    ));
  }

  async function sendEvent(options: SendEventOptions = {}): Promise<SendEventResult> {
    const event = buildEvent(options); // now: timestamp and URL of the call, not of the send
    const r = await ready;
    if (r.config.onDeviceDecisioning && options.renderDecisions && event.query) event.query.personalization.onDevice = true;
    const perso = personalization(r);
    const rendering = perso.onEvent(options, event.xdm);
    let response: EdgeResponse & { requestId: string };
    // Proxy mode: the edge served the page, collected its view and inlined its answer. Taken in
    // the request's turn, so that requests keep the order of their events.
    const inlined = options.renderDecisions && !inlineSought ? ((inlineSought = true), takeInlined()) : undefined;
    try {
      if (r.config.debug) await validate(r, event);
      response = await request(r, "interact", { events: [event] }, inlined);
    } catch (err) {
      rendering.failed();
      throw err;
    }
    /** The payload items of the handles of `type`, in order. */
    const items = (type: string) =>
      response.handle
        .filter((h) => h && h.type == type && Array.isArray(h.payload))
        .flatMap((h) => h.payload)
        .filter((item) => item && typeof item == "object");
    const bundle = items("edgecdp:bundle").pop();
    // Before rendering: the display notification of this render is folded into the new decider.
    if (bundle && r.config.onDeviceDecisioning) perso.bundle(bundle as ClientBundle);
    const result: SendEventResult = {
      requestId: response.requestId,
      handle: response.handle,
      propositions: await rendering.done(items("personalization:decisions") as Proposition[], !!(inlined && (await inlined))),
    };
    if (known) result.identity = { ...known };
    const profile = items("edgecdp:profile").pop();
    if (profile) result.profile = profile as Profile;
    if (response.errors) result.errors = response.errors;
    if (response.warnings) result.warnings = response.warnings;
    return result;
  }

  async function getIdentity(): Promise<Identity> {
    const r = await ready;
    while (!known && inflight.size) await Promise.allSettled([...inflight]);
    if (!known) {
      // The codec lives in the Rust core only: decode through the lazy chunk, never in JS.
      // The cookie holds the ECID alone; the person's ids come with the next response.
      const cookie = readCookies()[r.prefix + "identity"];
      const ecid = cookie && (await decodeCookie(r, cookie));
      if (ecid && !known) known = { ECID: ecid };
      if (!known) await request(r, "identity/acquire", {});
      if (!known) throw new Error("edgecdp: the edge returned no ECID.");
    }
    return { ...known };
  }

  return {
    configure(c: Config): Promise<void> {
      try {
        configureNow(c);
        return Promise.resolve();
      } catch (err) {
        return Promise.reject(err);
      }
    },
    sendEvent: (options) => track(sendEvent(options)),
    getIdentity,
    applyPropositions: async (options) => personalization(await ready).apply(options),
  };
}
