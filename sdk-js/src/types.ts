/**
 * Public types of @edgecdp/sdk: configuration, events, edge responses, identity, personalization
 * (propositions and their rendering) and the result envelope of the lazily loaded Wasm core.
 * @module
 */

/** Where the Wasm core comes from: a URL of the `.wasm` file, or its bytes / compiled module. */
export type WasmSource = string | URL | BufferSource | WebAssembly.Module;

/** Options of {@link createInstance} and of the `configure` command. */
export interface Config {
  /** Datastream id, sent as the `configId` query parameter. Required. */
  datastreamId: string;
  /**
   * Organization id (e.g. `"LUMA123@AdobeOrg"`). Never sent to the edge; it names the state
   * cookies `kndctr_{orgId with "@" replaced by "_"}_*`. Required.
   */
  orgId: string;
  /**
   * The edge: a bare host (`"edge.luma.example"`, https implied), or an origin URL with scheme and
   * port (`"http://localhost:8787"`). Omitted or empty: the page's own origin (`location.origin`).
   */
  edgeDomain?: string;
  /** First path segment of every edge URL. Default `"ee"`. */
  edgeBasePath?: string;
  /**
   * Debug mode: log requests and responses, and validate every event with the Wasm core (loaded
   * lazily) before sending it. Validation problems are `console.warn`ed; the event is still sent.
   */
  debug?: boolean;
  /**
   * Domain of the state cookies the SDK writes. Default: the page's registrable ("apex") domain,
   * found by writing a probe cookie; host-only on `localhost` and IP addresses.
   */
  cookieDomain?: string;
  /**
   * The Wasm core's `.wasm`: a URL, or its bytes / a compiled module (then it is instantiated
   * synchronously). Default: `wasm/edgecdp_wasm_bg.wasm` next to the SDK files.
   */
  wasm?: WasmSource;
  /**
   * Script-tag build only: URL of `edgecdp-core.js` (the lazy loader of the Wasm core and of
   * the on-device decider). Default: next to the `edgecdp.min.js` that was loaded.
   */
  coreUrl?: string;
  /**
   * Script-tag build only: URL of `edgecdp-render.js` (the lazily loaded renderer of
   * propositions). Default: next to the `edgecdp.min.js` that was loaded.
   */
  renderUrl?: string;
  /**
   * CSS applied from the start of a `sendEvent` with `renderDecisions: true` until its
   * propositions are rendered (or it fails, or `prehidingTimeout` passes), so the visitor never
   * sees the default content replaced by the offer. Only while the page has not been shown yet:
   * later renders (SPA view changes) never blank a page the visitor is reading. `""` hides
   * nothing. Default `"body { opacity: 0 !important }"`: the whole page. Put in a
   * `<style id="edgecdp-prehiding">` (see README, "Prehiding"), which is also removed when done.
   */
  prehidingStyle?: string;
  /** Milliseconds after which the page is shown even if rendering has not finished. Default 3000. */
  prehidingTimeout?: number;
  /** Rendering and notification options. */
  personalization?: PersonalizationConfig;
  /**
   * On-device decisions (see README, "On-device decisions"): events with `renderDecisions` ask
   * the edge for a client bundle (`query.personalization.onDevice: true`); when one comes, the
   * on-device decider (a separate Wasm module, loaded then and only then) re-decides the
   * on-device activities at every later `sendEvent` of the page and renders what changed at
   * once, without waiting for the edge. Default `false`: bundles are not asked for, and ignored.
   */
  onDeviceDecisioning?: boolean;
  /**
   * The on-device decider's `.wasm`: a URL, or its bytes / a compiled module. Default:
   * `wasm/edgecdp_wasm_device_bg.wasm` next to the SDK files (beside the core's `.wasm`).
   */
  deviceWasm?: WasmSource;
}

/** The `personalization` options of {@link Config}. */
export interface PersonalizationConfig {
  /**
   * After rendering, send a `decisioning.propositionDisplay` event naming the propositions
   * displayed. Default `true`; `sendEvent`'s `personalization.sendDisplayEvent` overrides it.
   */
  sendDisplayEvent?: boolean;
  /**
   * Send a `decisioning.propositionInteract` event when the visitor clicks inside rendered
   * content. Default `true`. (`click` items of the edge are tracked either way.)
   */
  trackInteractions?: boolean;
  /**
   * How long to wait, in milliseconds, for the element of an item's selector to appear on the
   * page before giving up on that item (with a console warning). Default 5000.
   */
  selectorTimeout?: number;
}

/**
 * How an identity of an identity map was asserted (see README, "Login and identities"):
 * - `"authenticated"`: the visitor proved it (a login). Links this browser to the person; on a
 *   shared browser the last authenticated person wins.
 * - `"ambiguous"`: probably this visitor (an email link, a typed-in address). Links the browser
 *   only while no one has authenticated on it.
 * - `"loggedOut"`: the person logged out. Recorded on the event; links nothing.
 */
export type AuthenticatedState = "ambiguous" | "authenticated" | "loggedOut";

/** One identity of an XDM identity map. */
export interface IdentityItem {
  id: string;
  authenticatedState?: AuthenticatedState;
  primary?: boolean;
  [field: string]: unknown;
}

/** XDM `identityMap`: namespace code (`ECID`, `Email`, `CRMID`, ...) to identities. */
export type IdentityMap = Record<string, IdentityItem[]>;

/** An entry of XDM `productListItems`. */
export interface ProductListItem {
  SKU?: string;
  name?: string;
  quantity?: number;
  priceTotal?: number;
  currencyCode?: string;
  productCategories?: Array<{ categoryID?: string; categoryName?: string; [field: string]: unknown }>;
  [field: string]: unknown;
}

/** The XDM ExperienceEvent fields edgecdp knows; any other field (e.g. `_luma`) passes through. */
export interface XdmEvent {
  eventType?: string;
  /** ISO 8601. Added by the SDK when absent. */
  timestamp?: string;
  identityMap?: IdentityMap;
  web?: {
    webPageDetails?: { URL?: string; name?: string; viewName?: string; [field: string]: unknown };
    webReferrer?: { URL?: string; [field: string]: unknown };
    [field: string]: unknown;
  };
  commerce?: { [action: string]: unknown };
  productListItems?: ProductListItem[];
  implementationDetails?: { name?: string; version?: string; environment?: string };
  [field: string]: unknown;
}

/** Options of `sendEvent`. */
export interface SendEventOptions {
  /** XDM fields of the event. The SDK adds timestamp, web context and implementationDetails. */
  xdm?: XdmEvent;
  /** Free-form data sent beside `xdm`. */
  data?: Record<string, unknown>;
  /** Shorthand for `xdm.eventType` (an `xdm.eventType` given explicitly wins). */
  type?: string;
  /**
   * Render the propositions of the response that apply to this page: page-scope ones
   * (`__view__`, `web://host/path`) and view-scope ones of `xdm.web.webPageDetails.viewName`,
   * including those cached by earlier responses (SPA view changes). See README, "Personalization".
   */
  renderDecisions?: boolean;
  /** Per-event personalization options. */
  personalization?: {
    /** Overrides {@link PersonalizationConfig.sendDisplayEvent} for this event's rendering. */
    sendDisplayEvent?: boolean;
    /**
     * Named scopes to decide (`["hero-banner"]`): their propositions come back in `propositions`
     * unrendered, for `applyPropositions`. The page scope (`__view__`) is asked for whenever
     * `renderDecisions` is true.
     */
    decisionScopes?: string[];
  };
}

/** One handle of an edge response, e.g. `{ type: "state:store", payload: [...] }`. */
export interface Handle {
  type: string;
  payload: unknown[];
  eventIndex?: number;
}

/** A `state:store` payload item: a first-party cookie for the SDK to write. */
export interface StateStoreItem {
  key: string;
  value: string;
  /** Seconds; absent means a session cookie, 0 deletes. */
  maxAge?: number;
  attrs?: { SameSite?: "None" | "Lax" | "Strict"; [attr: string]: unknown };
}

/** An `identity:result` payload item. */
export interface IdentityResultItem {
  id: string;
  namespace: { code: string };
}

/**
 * What a DOM action item does to the elements its selector matches (Adobe Target's dom-action
 * types). `click` changes nothing: it makes clicks on the selector interactions of the
 * proposition. `customCode` is not rendered by this SDK (see README, "What is not supported").
 */
export type DomActionType =
  | "setHtml"
  | "setText"
  | "setAttribute"
  | "setImageSource"
  | "setStyle"
  | "move"
  | "resize"
  | "rearrange"
  | "remove"
  | "replaceHtml"
  | "appendHtml"
  | "prependHtml"
  | "insertBefore"
  | "insertAfter"
  | "click"
  | "collectInteractions"
  | "customCode";

/** The `data` of a proposition item. */
export interface PropositionItemData {
  /** The DOM action (dom-action and html-content-item schemas). */
  type?: DomActionType | (string & {});
  /** CSS selector of the elements to change; `:eq(n)` keeps the n-th match of what precedes it. */
  selector?: string;
  /** CSS selector hidden until this item is rendered (or gives up). */
  prehidingSelector?: string;
  /**
   * HTML for the HTML actions, text for `setText`, a URL for `setImageSource`, an object of
   * attributes (`setAttribute`) or CSS properties (`setStyle`, `move`, `resize`; an optional
   * `priority: "important"`), `{ from, to }` child indexes for `rearrange`; any JSON for
   * json-content-item.
   */
  content?: unknown;
  /** MIME type of `content` (`text/html`, `application/json`...). Not read by the SDK. */
  format?: string;
  [field: string]: unknown;
}

/** One item of a proposition: an offer, or one change of an offer. */
export interface PropositionItem {
  id?: string;
  /**
   * What the item is, e.g. `https://ns.adobe.com/personalization/dom-action`, `…/html-content-item`,
   * `…/json-content-item` (never rendered by the SDK: the page reads it), `…/default-content-item`
   * (renders nothing; counts as displayed).
   */
  schema?: string;
  /** Free-form metadata of the decision (activity name...). */
  meta?: Record<string, unknown>;
  characteristics?: {
    /** Sent as `propositionAction.label` when the visitor clicks inside the rendered item. */
    trackingLabel?: string;
    [field: string]: unknown;
  };
  data?: PropositionItemData;
  [field: string]: unknown;
}

/** `scopeDetails` of a proposition: opaque to the SDK and echoed verbatim in notifications, except `characteristics.scopeType`. */
export interface ScopeDetails {
  /** Who decided: `"EDGECDP"` for this platform's edge. */
  decisionProvider?: string;
  activity?: { id?: string; [field: string]: unknown };
  experience?: { id?: string; [field: string]: unknown };
  /** `scopeType: "view"` marks an SPA view proposition, `scope` being the view name. */
  characteristics?: { scopeType?: "view" | (string & {}); [field: string]: unknown };
  correlationID?: string;
  [field: string]: unknown;
}

/**
 * A personalization proposition (`personalization:decisions` payload item), in the Adobe
 * Experience Platform Web SDK's format.
 */
export interface Proposition {
  /** Echoed in display and interact notifications. */
  id: string;
  /**
   * Where it applies: `"__view__"` or `"web://host/path"` (the page: rendered by
   * `renderDecisions`), an SPA view name (with `scopeDetails.characteristics.scopeType: "view"`),
   * or a named decision scope such as `"hero-banner"` (rendered by `applyPropositions` only).
   */
  scope: string;
  scopeDetails?: ScopeDetails;
  items?: PropositionItem[];
  /**
   * In results of `sendEvent` and `applyPropositions`: whether the SDK rendered (or tried to
   * render) this proposition. `false`: it is the page's to use, e.g. with `applyPropositions`.
   */
  renderAttempted?: boolean;
  [field: string]: unknown;
}

/** Where `applyPropositions` renders the html-content-items of a scope that name none themselves. */
export interface ScopeMetadata {
  /** CSS selector of the element(s); `:eq(n)` is supported. */
  selector: string;
  /** The DOM action, e.g. `"setHtml"` or `"appendHtml"`. */
  actionType: DomActionType | (string & {});
}

/** Options of `applyPropositions`. */
export interface ApplyPropositionsOptions {
  /**
   * The propositions to render, typically those a `sendEvent` returned with
   * `renderAttempted: false` (named scopes). Page-scope propositions already rendered
   * (`renderAttempted: true`) are skipped.
   */
  propositions?: Proposition[];
  /** Also render the propositions of this SPA view cached from earlier responses. */
  viewName?: string;
  /** Per scope, where and how to render html-content-items that have no selector or type. */
  metadata?: Record<string, ScopeMetadata>;
}

/** What `applyPropositions` resolves with. */
export interface ApplyPropositionsResult {
  /** Copies of the propositions rendered or skipped, each with `renderAttempted`. */
  propositions: Proposition[];
}

/** An entry of a response's `errors[]` / `warnings[]`, or a fatal (non-2xx) error body. */
export interface EdgeProblem {
  type?: string;
  status?: number;
  code?: string;
  title?: string;
  detail?: string;
  report?: Record<string, unknown>;
  [field: string]: unknown;
}

/**
 * The visitor's identities, namespace code → id, as the edge last returned them in
 * `identity:result` (the first id per namespace). Anonymous visitors have the ECID alone; once
 * the browser is linked to a person (a login, an email link), the person's identities the edge
 * knows come too, normalized by the edge (emails lower-cased). Other namespace codes than the ones
 * named here (custom namespaces) appear under their code.
 */
export interface Identity {
  /** The Experience Cloud ID of this browser, minted by the edge (38 digits). Always present. */
  ECID: string;
  /** The customer id of the person this browser is linked to. */
  CRMID?: string;
  /** The person's email address. */
  Email?: string;
  /** The person's loyalty program id. */
  LoyaltyID?: string;
  /** The person's phone number (E.164). */
  Phone?: string;
  /** Any other namespace the edge returned. */
  [namespace: string]: string | undefined;
}

/** What `sendEvent` resolves with. */
export interface SendEventResult {
  /** The requestId the SDK sent (the same across retries). */
  requestId: string;
  /** Every handle of the response, unmodified. */
  handle: Handle[];
  /**
   * Copies of the payloads of all `personalization:decisions` handles, flattened, each with
   * `renderAttempted`; on an SPA view change, also the cached propositions of the view; with
   * on-device decisions, also what the decider rendered for this event.
   */
  propositions: Proposition[];
  /**
   * The identities known after this response: the ECID, and the person's identities when the
   * browser is linked to one (absent if no ECID was ever returned). A copy: changing it changes
   * nothing in the SDK.
   */
  identity?: Identity;
  /**
   * The known visitor's profile as the edge keeps it (the `edgecdp:profile` handle): the
   * person's key and their attributes, nested (`profile.attributes.loyalty.tier`). Absent for
   * anonymous visitors.
   */
  profile?: Profile;
  /** Non-fatal `errors[]` of the response, if any. */
  errors?: EdgeProblem[];
  /** `warnings[]` of the response, if any. */
  warnings?: EdgeProblem[];
}

/** The profile the edge keeps for a known visitor (attributes its segments and offers read). */
export interface Profile {
  /** The person's key, `namespace:id` (`CRMID:crm-1042`), or `ECID:...` while anonymous. */
  person: string;
  /** Merged profile attributes, nested by XDM path. */
  attributes: Record<string, unknown>;
  /** The edge segments the visitor is in, as decided at this request (absent when none). */
  segments?: SegmentMembership[];
}

/** A segment membership (XDM `segmentMembership` fields). */
export interface SegmentMembership {
  /** The segment's id (`gift-cart-abandoners`). */
  id: string;
  /** `realized` (entered at this request) or `existing`. */
  status: "realized" | "existing";
  /** When the visitor last qualified (RFC 3339). */
  lastQualificationTime: string;
  /** Until when it holds without new events (RFC 3339), when known. */
  validUntil?: string;
}

/** An instance of the SDK. Calls made before `configure` are queued, never lost. */
export interface Instance {
  /** Configures an instance created without config. Rejects if already configured. */
  configure(config: Config): Promise<void>;
  /** Sends one event to `/v1/interact`; resolves with the parsed response. */
  sendEvent(options?: SendEventOptions): Promise<SendEventResult>;
  /**
   * The visitor's identities as the last response gave them, without a request once known.
   * Before any response on this page: waits for a request in flight, else decodes the ECID from
   * the identity cookie (the ECID alone: the person's ids come with the next response), else asks
   * `/v1/identity/acquire`.
   */
  getIdentity(): Promise<Identity>;
  /**
   * Renders propositions the page chose (named scopes, `renderDecisions: false` results, cached
   * SPA views) with the same rules and notifications as `renderDecisions`. Applying what is
   * already on the page changes nothing.
   */
  applyPropositions(options: ApplyPropositionsOptions): Promise<ApplyPropositionsResult>;
}

/** The global command function of the script-tag build (`window.edgecdp`). */
export interface CommandFunction {
  (command: "configure", config: Config): Promise<void>;
  (command: "sendEvent", options?: SendEventOptions): Promise<SendEventResult>;
  (command: "getIdentity"): Promise<Identity>;
  (command: "applyPropositions", options: ApplyPropositionsOptions): Promise<ApplyPropositionsResult>;
  (command: "getLibraryInfo"): Promise<{ version: string }>;
}

/** A field-level problem reported by the Wasm core. */
export interface ValidationIssue {
  /** Dotted path of the offending field, e.g. `xdm.productListItems[0].quantity`. */
  path: string;
  /** A sentence; the core's start with the path (`xdm.timestamp: expected ...`). */
  message: string;
  /** Machine-readable kind, e.g. `invalid_value`. */
  code?: string;
}

/** The error half of a core {@link Envelope}. */
export interface CoreError {
  code: string;
  message: string;
  errors?: ValidationIssue[];
}

/** Every result of the Wasm core comes in this envelope. */
export type Envelope<T> = { ok: true; value: T } | { ok: false; error: CoreError };

/** The event as the core normalized it. */
export interface NormalizedEvent {
  xdm: Record<string, unknown>;
  data?: Record<string, unknown>;
  [field: string]: unknown;
}

/** The decoded `kndctr_{org}_identity` cookie. */
export interface DecodedIdentityCookie {
  ecid: string;
  /** Whether the cookie carried the edge's signature. */
  signed: boolean;
}

/**
 * A client bundle, the payload of an `edgecdp:bundle` handle: what the browser needs to decide
 * the on-device activities (the activities, their offers, the segments they read, the
 * visitor's attributes and states for those). Opaque to the SDK, which hands it to the decider.
 */
export interface ClientBundle {
  version: number;
  /** The visitor's ECID (A/B buckets). */
  ecid: string;
  /** The on-device activities. */
  activities?: Array<{ id: string; [field: string]: unknown }>;
  [field: string]: unknown;
}

/**
 * The on-device decider of edgecdp-wasm-device, made from a {@link ClientBundle}. Values cross
 * as JSON text.
 */
export interface Decider {
  /**
   * Folds one of the page's events (its `xdm` as JSON) with an event id and its time (ms);
   * returns the segment entries and exits it caused (JSON `[{ segment, status, ... }]`).
   * @throws when `xdm` is not a JSON object.
   */
  onEvent(xdm: string, eventId: string, atMs: number): string;
  /**
   * Decides `scopes` (a JSON array of strings) for the page URL at `nowMs`: JSON
   * {@link Proposition}s, as the edge's `personalization:decisions` gives them.
   */
  decide(scopes: string, page: string | null | undefined, nowMs: number): string;
  /** The segments the visitor is in, as decided last (JSON array of ids). */
  segments(): string;
  /** The definitions this build could not compile (JSON `[{ id, error }]`; normally `[]`). */
  skipped(): string;
  /** Frees the Wasm memory now (otherwise done when it is garbage-collected). */
  free(): void;
}

/** The on-device decider module, as `loadDevice` resolves with it. */
export interface Device {
  /** @throws (a message) when the text is not a client bundle. */
  Decider: new (bundle: string) => Decider;
}

/** The functions of the Wasm core the SDK uses. */
export interface Core {
  version(): string;
  specVersion(): number;
  validateEvent(event: { xdm: object; data?: object }): Envelope<NormalizedEvent>;
  decodeIdentityCookie(value: string): Envelope<DecodedIdentityCookie>;
}
