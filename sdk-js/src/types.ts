/**
 * Public types of @edgecdp/sdk: configuration, events, edge responses, identity and the
 * result envelope of the lazily loaded Wasm core.
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
   * Script-tag build only: URL of `edgecdp-core.js` (the lazy core). Default: next to the
   * `edgecdp.min.js` that was loaded.
   */
  coreUrl?: string;
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

/** A personalization proposition (`personalization:decisions` payload item). */
export interface Proposition {
  id: string;
  scope: string;
  scopeDetails?: Record<string, unknown>;
  items?: Array<{
    id?: string;
    schema?: string;
    data?: { type?: string; selector?: string; content?: unknown; [field: string]: unknown };
    [field: string]: unknown;
  }>;
  [field: string]: unknown;
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
  /** The payloads of all `personalization:decisions` handles, flattened. */
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
}

/** The global command function of the script-tag build (`window.edgecdp`). */
export interface CommandFunction {
  (command: "configure", config: Config): Promise<void>;
  (command: "sendEvent", options?: SendEventOptions): Promise<SendEventResult>;
  (command: "getIdentity"): Promise<Identity>;
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

/** The functions of the Wasm core the SDK uses. */
export interface Core {
  version(): string;
  specVersion(): number;
  validateEvent(event: { xdm: object; data?: object }): Envelope<NormalizedEvent>;
  decodeIdentityCookie(value: string): Envelope<DecodedIdentityCookie>;
}
