// Compile-only tests of the shipped declarations (dist/types, resolved through the package's
// `exports`): `tsc -p tsconfig.test.json`. A line marked @ts-expect-error must fail to compile.
import {
  createInstance,
  EdgeError,
  VERSION,
  type ApplyPropositionsResult,
  type CommandFunction,
  type DomActionType,
  type Proposition,
  type AuthenticatedState,
  type ClientBundle,
  type Config,
  type Decider,
  type Envelope,
  type Identity,
  type IdentityMap,
  type Instance,
  type SendEventOptions,
  type SendEventResult,
  type StateStoreItem,
} from "@edgecdp/sdk";
import { loadCore, loadDevice, type Core, type Device } from "@edgecdp/sdk/core";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const assertType = <T extends true>(_: T): void => {};

const config: Config = { datastreamId: "ds-luma", orgId: "LUMA123@AdobeOrg" };
const sdk: Instance = createInstance(config);
createInstance(); // configured later
createInstance({ ...config, edgeDomain: "http://localhost:8787", edgeBasePath: "ee", debug: true, cookieDomain: "luma.test" });
createInstance({ ...config, wasm: new Uint8Array(8) });
// @ts-expect-error datastreamId is required
createInstance({ orgId: "LUMA123@AdobeOrg" });
// @ts-expect-error unknown options are caught
createInstance({ ...config, edgeDomian: "typo" });
// @ts-expect-error debug is a boolean
createInstance({ ...config, debug: "yes" });
createInstance({
  ...config,
  renderUrl: "/sdk/edgecdp-render.js",
  prehidingStyle: "#hero { opacity: 0 !important }",
  prehidingTimeout: 2000,
  personalization: { sendDisplayEvent: false, trackInteractions: false, selectorTimeout: 1000 },
});
createInstance({ ...config, onDeviceDecisioning: true, deviceWasm: "/sdk/wasm/edgecdp_wasm_device_bg.wasm" });
createInstance({ ...config, onDeviceDecisioning: true, deviceWasm: new Uint8Array(8) });
// @ts-expect-error onDeviceDecisioning is a boolean
createInstance({ ...config, onDeviceDecisioning: "yes" });
// @ts-expect-error prehidingTimeout is in milliseconds
createInstance({ ...config, prehidingTimeout: "3s" });
// @ts-expect-error unknown personalization options are caught
createInstance({ ...config, personalization: { sendDisplayEvents: false } });

async function usage(): Promise<void> {
  const result = await sdk.sendEvent({
    xdm: {
      eventType: "commerce.productViews",
      web: { webPageDetails: { name: "men-sweatshirts" } },
      productListItems: [{ SKU: "MH01", quantity: 1, priceTotal: 52 }],
      identityMap: { Email: [{ id: "sarah.rose@example.com", authenticatedState: "authenticated", primary: true }] },
      _luma: { loyalty: "bronze" }, // tenant fields pass through
    },
    data: { anything: [1, 2] },
  });
  assertType<Equal<typeof result, SendEventResult>>(true);
  const requestId: string = result.requestId;
  const handleType: string = result.handle[0].type;
  const proposition: string = result.propositions[0].scope;
  const ecid: string | undefined = result.identity?.ECID;
  void [requestId, handleType, proposition, ecid];
  // @ts-expect-error identity may be absent
  result.identity.ECID;

  const identity = await sdk.getIdentity();
  assertType<Equal<typeof identity, Identity>>(true);
  const id: string = identity.ECID;
  // The person's identities, when the browser is linked to one: known codes and any other.
  const crm: string | undefined = identity.CRMID;
  const email: string | undefined = identity.Email;
  const loyalty: string | undefined = identity["LoyaltyID"];
  const custom: string | undefined = identity.LumaMemberID;
  void [id, crm, email, loyalty, custom];
  // @ts-expect-error a person identity may be absent (anonymous visitors have the ECID alone)
  const crmRequired: string = identity.CRMID;
  void crmRequired;
  for (const [code, value] of Object.entries(identity)) void [code.length, value?.length];
  const all: Identity = { ECID: "1", CRMID: "crm-1042", Email: "sarah.rose@example.com", LoyaltyID: "LY-778", Custom: "x" };
  // @ts-expect-error the ECID is always there
  const noEcid: Identity = { CRMID: "crm-1042" };
  // @ts-expect-error ids are strings
  const numeric: Identity = { ECID: "1", CRMID: 1042 };
  void [all, noEcid, numeric];
  const fromResult: string | undefined = result.identity?.LoyaltyID;
  void fromResult;

  const state: AuthenticatedState = "ambiguous";
  const loginMap: IdentityMap = {
    Email: [{ id: "sarah.rose@example.com", authenticatedState: "authenticated", primary: true }],
    CRMID: [{ id: "crm-1042", authenticatedState: "authenticated" }],
  };
  await sdk.sendEvent({ xdm: { eventType: "userAccount.login", identityMap: loginMap } });
  await sdk.sendEvent({ xdm: { identityMap: { Email: [{ id: "sarah.rose@example.com", authenticatedState: state }] } } });
  // @ts-expect-error AuthenticatedState is one of ambiguous | authenticated | loggedOut
  const badState: AuthenticatedState = "loggedIn";
  void badState;

  await sdk.sendEvent();
  await sdk.sendEvent({ type: "web.webinteraction.linkClicks" });
  // @ts-expect-error authenticatedState is an enum
  await sdk.sendEvent({ xdm: { identityMap: { CRMID: [{ id: "1", authenticatedState: "yes" }] } } });
  // @ts-expect-error productListItems is an array
  await sdk.sendEvent({ xdm: { productListItems: { SKU: "x" } } });
  // @ts-expect-error configure needs a config
  await sdk.configure();

  // Personalization.
  const rendered = await sdk.sendEvent({
    renderDecisions: true,
    personalization: { sendDisplayEvent: false },
    xdm: { web: { webPageDetails: { viewName: "cart" } } },
  });
  const first: Proposition = rendered.propositions[0];
  const attempted: boolean | undefined = first.renderAttempted;
  const scopeType: string | undefined = first.scopeDetails?.characteristics?.scopeType;
  const label: string | undefined = first.items?.[0].characteristics?.trackingLabel;
  const selector: string | undefined = first.items?.[0].data?.selector;
  void [attempted, scopeType, label, selector];
  const applied = await sdk.applyPropositions({
    propositions: rendered.propositions,
    viewName: "cart",
    metadata: { "hero-banner": { selector: "#hero", actionType: "setHtml" } },
  });
  assertType<Equal<typeof applied, ApplyPropositionsResult>>(true);
  await sdk.applyPropositions({ viewName: "cart" });
  // @ts-expect-error metadata needs a selector
  await sdk.applyPropositions({ metadata: { "hero-banner": { actionType: "setHtml" } } });
  // @ts-expect-error renderDecisions is a boolean
  await sdk.sendEvent({ renderDecisions: "yes" });
  const action: DomActionType = "appendHtml";
  // @ts-expect-error not a DOM action type
  const typo: DomActionType = "appendHTML";
  // Items may carry action types this SDK does not know (they are warned about, not rendered).
  const future: Proposition = { id: "p", scope: "__view__", items: [{ schema: "x", data: { type: "someFutureAction" } }] };
  void [action, typo, future];

  try {
    await sdk.sendEvent({});
  } catch (err) {
    if (err instanceof EdgeError) {
      const status: number = err.status;
      const title: string | undefined = err.title;
      const body: unknown = err.body;
      void [status, title, body];
    }
  }
}
void usage;

// The script-tag global.
declare const edgecdp: CommandFunction;
async function commands(): Promise<void> {
  await edgecdp("configure", config);
  const r: SendEventResult = await edgecdp("sendEvent", { xdm: { eventType: "web.webpagedetails.pageViews" } });
  const i: Identity = await edgecdp("getIdentity");
  const info: { version: string } = await edgecdp("getLibraryInfo");
  const a: ApplyPropositionsResult = await edgecdp("applyPropositions", { propositions: r.propositions });
  void [r, i, info, a];
  // @ts-expect-error applyPropositions needs its options
  await edgecdp("applyPropositions");
  // @ts-expect-error unknown command
  await edgecdp("sendEvents", {});
  // @ts-expect-error configure needs its options
  await edgecdp("configure");
}
void commands;

// The lazy core and its envelope.
async function core(): Promise<void> {
  const c: Core = await loadCore(new Uint8Array(8));
  const verdict = c.validateEvent({ xdm: { eventType: "x" } });
  if (verdict.ok) {
    const xdm: Record<string, unknown> = verdict.value.xdm;
    void xdm;
  } else {
    const path: string | undefined = verdict.error.errors?.[0].path;
    void path;
    // @ts-expect-error no value on the error side
    verdict.value;
  }
  const decoded = c.decodeIdentityCookie("CiY...");
  if (decoded.ok) {
    const e: string = decoded.value.ecid;
    const s: boolean = decoded.value.signed;
    void [e, s];
  }
  const env: Envelope<number> = { ok: false, error: { code: "x", message: "y" } };
  void env;
}
void core;

// The on-device decider, through the lazy loader (values cross as JSON text).
async function device(): Promise<void> {
  const d: Device = await loadDevice(new Uint8Array(8));
  const bundle: ClientBundle = { version: 1, ecid: "1", activities: [{ id: "home-hero", on_device: true }], offers: [] };
  const decider: Decider = new d.Decider(JSON.stringify(bundle));
  const transitions: string = decider.onEvent(JSON.stringify({ eventType: "commerce.productViews" }), "e1", Date.now());
  const propositions: Proposition[] = JSON.parse(decider.decide(JSON.stringify(["__view__"]), location.href, Date.now()));
  const segments: string[] = JSON.parse(decider.segments());
  void [transitions, propositions, segments, decider.skipped()];
  decider.free();
  // @ts-expect-error the xdm crosses as JSON text
  decider.onEvent({ eventType: "x" }, "e2", 0);
  // @ts-expect-error a bundle has an ecid
  const noEcid: ClientBundle = { version: 1 };
  void noEcid;
}
void device;

const item: StateStoreItem = { key: "kndctr_LUMA123_AdobeOrg_identity", value: "CiY", maxAge: 34128000, attrs: { SameSite: "Lax" } };
// @ts-expect-error SameSite is one of None | Lax | Strict
const bad: StateStoreItem = { key: "k", value: "v", attrs: { SameSite: "lax" } };
const options: SendEventOptions = { xdm: {}, data: {} };
const version: string = VERSION;
void [item, bad, options, version];
