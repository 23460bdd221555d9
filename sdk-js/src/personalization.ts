/**
 * Personalization, the part on the critical path: which propositions of a response render and
 * when (the Adobe Web SDK's rules, edge-protocol.md §3.4), the SPA view cache, prehiding, the
 * display and interact notifications, and on-device decisions (what the decider says at each
 * event, rendered at once). The DOM work is in the render chunk (render.ts): a `sendEvent` with
 * `renderDecisions` starts loading it at once, so that it arrives while the edge is still
 * deciding, and pages that never render never load it. The decider is a Wasm module loaded
 * only when the edge sends a client bundle to a page that opted in.
 */
import { uuid } from "./event.js";
import { hidePage } from "./prehide.js";
import type { PropositionRef, Renderer, RendererOptions } from "./render.js";
import type {
  ApplyPropositionsOptions,
  ApplyPropositionsResult,
  ClientBundle,
  Config,
  Decider,
  Device,
  Proposition,
  ScopeMetadata,
  SendEventOptions,
  XdmEvent,
} from "./types.js";

/** How an entry point brings in the render chunk (a bundled chunk, or a URL for the script tag). */
export type RendererLoader = (config: Config) => Promise<{ createRenderer(options: RendererOptions): Renderer }>;

/** How an entry point brings in the on-device decider (through the lazy core chunk). */
export type DeviceLoader = (config: Config) => Promise<Device>;

/** Sends notification events; failures are the sender's to log. */
export interface Notify {
  /** A `decisioning.propositionDisplay` event, sent like any event. */
  display(xdm: XdmEvent): void;
  /** A `decisioning.propositionInteract` event, sent so that it survives a navigation. */
  interact(xdm: XdmEvent): void;
}

/** What a `sendEvent` does for personalization, from its start to its response. */
export interface EventRendering {
  /** The request failed: show the page. */
  failed(): void;
  /**
   * Renders what applies of the response's `propositions` (with `renderDecisions`) and resolves
   * with the propositions to return, each with `renderAttempted`. `inlined`: the response is
   * the one the edge inlined in the page, whose markup already shows what the edge applied.
   */
  done(propositions: Proposition[], inlined?: boolean): Promise<Proposition[]>;
}

/** The personalization state of one instance. */
export interface Personalization {
  /** Called when a `sendEvent` starts, with its options and its built `xdm`. */
  onEvent(options: SendEventOptions, xdm: XdmEvent): EventRendering;
  apply(options: ApplyPropositionsOptions): Promise<ApplyPropositionsResult>;
  /** A client bundle arrived: decide on-device from the next event on, with a new decider. */
  bundle(bundle: ClientBundle): void;
}

const PREFIX = "[edgecdp]";
/** The mark of rendered elements (render.ts's INTERACT_ATTRIBUTE; the edge marks with it too). */
const MARK = "data-edgecdp-interact-id";
/** The whole page, as users asked of the Adobe Web SDK (shared/reference/user-asks.md, 1). */
const DEFAULT_PREHIDING_STYLE = "body { opacity: 0 !important }";

/**
 * `page`: the page itself (`__view__`, or a `web://` surface without a fragment), rendered by
 * `renderDecisions`; `view`: an SPA view, rendered when the event names it; `other`: named
 * decision scopes and fragment surfaces, only returned.
 */
function kindOf(p: Proposition): "page" | "view" | "other" {
  const scope = String(p.scope);
  if (scope == "__view__" || (scope.startsWith("web://") && !scope.includes("#"))) return "page";
  return p.scopeDetails?.characteristics?.scopeType == "view" ? "view" : "other";
}

const refOf = (p: Proposition): PropositionRef => ({ id: p.id, scope: p.scope, scopeDetails: p.scopeDetails });
const activityOf = (p: Proposition): string | undefined => p.scopeDetails?.activity?.id;

/**
 * Whether the SDK has something of `propositions` to render after the edge rendered the page:
 * a proposition with DOM items of which the page's markup shows no mark.
 */
function leftToRender(propositions: Proposition[]): boolean {
  const marked = new Set(Array.from(document.querySelectorAll("[" + MARK + "]"), (el) => el.getAttribute(MARK)));
  return propositions.some(
    (p) => !marked.has(p.id) && (p.items || []).some((i) => /(dom-action|html-content-item)$/.test(String(i && i.schema))),
  );
}

/** The propositions of `lists`, the first of each id. */
function unique(...lists: Proposition[][]): Proposition[] {
  const seen = new Set<string>();
  return lists.flat().filter((p) => {
    if (seen.has(p.id)) return false;
    seen.add(p.id);
    return true;
  });
}

interface RenderOptions {
  metadata?: Record<string, ScopeMetadata>;
  viewName?: string;
  sendDisplay: boolean;
  /** The edge rendered the page already (its inlined response): items it marked are not applied again. */
  inlined?: boolean;
}

/** A proposition rendered (or not) before the edge's answer: from the view cache, or on-device. */
type Early = [Proposition, boolean];

/**
 * The personalization of an instance configured with `config`: `load` brings in the render chunk
 * (once, on first use), `notify` sends the notification events, `loadDevice` brings in the
 * on-device decider (when a client bundle comes).
 */
export function makePersonalization(config: Config, load: RendererLoader, notify: Notify, loadDevice: DeviceLoader): Personalization {
  const settings = config.personalization || {};
  /** SPA view propositions by lower-cased view name, as the last response carrying the view gave them. */
  const views = new Map<string, Proposition[]>();
  let renderer: Promise<Renderer | undefined> | undefined;
  /** Per activity, the proposition rendered last (from the edge or on-device). */
  const lastShown = new Map<string, string>();
  /** The decider of the last client bundle and the ids of its activities; `undefined` if it failed. */
  let device: Promise<[Decider, Set<string>] | undefined> | undefined;
  let deviceWarned = false;

  function deviceFailed(err: unknown): undefined {
    // Once: a page whose decider fails goes on rendering the edge's decisions, quietly.
    if (!deviceWarned) console.warn(PREFIX, "on-device decisions are off: the decider failed;", err);
    deviceWarned = true;
    return undefined;
  }

  function getRenderer(): Promise<Renderer | undefined> {
    return (renderer ||= load(config).then(
      (chunk) =>
        chunk.createRenderer({
          selectorTimeout: settings.selectorTimeout ?? 5000,
          trackInteractions: settings.trackInteractions ?? true,
          onInteract: (propositions, label) =>
            notify.interact({
              eventType: "decisioning.propositionInteract",
              _experience: {
                decisioning: { propositions, propositionEventType: { interact: 1 }, ...(label ? { propositionAction: { label } } : {}) },
              },
            }),
        }),
      (err: unknown) => {
        renderer = undefined; // a network blip: the next render tries again
        console.warn(PREFIX, "the render chunk did not load; propositions are not rendered.", err);
        return undefined;
      },
    ));
  }

  /**
   * Renders `propositions`; resolves with `renderAttempted` of each once the items whose elements
   * exist are on the page. The display notification follows when every item has settled.
   * `loading` is the renderer an event started loading: one event, one attempt (and warning).
   */
  async function render(propositions: Proposition[], options: RenderOptions, loading?: Promise<Renderer | undefined>): Promise<boolean[]> {
    const r = propositions.length ? await (loading || getRenderer()) : undefined;
    if (!r) return propositions.map(() => false);
    const { attempted, displayed } = r.render(propositions, options.metadata, options.inlined);
    propositions.forEach((p, i) => {
      const activity = activityOf(p);
      if (attempted[i] && activity) lastShown.set(activity, p.id);
    });
    if (options.sendDisplay) {
      displayed.then((shown) => {
        if (!shown.length) return;
        notify.display({
          eventType: "decisioning.propositionDisplay",
          _experience: { decisioning: { propositions: shown.map(refOf), propositionEventType: { display: 1 } } },
          ...(options.viewName ? { web: { webPageDetails: { viewName: options.viewName } } } : {}),
        });
      });
    }
    return attempted;
  }

  /**
   * Folds an event into the decider as it is sent, then renders the on-device activities'
   * propositions that changed. A notification only folds: it moves caps, and rendering in
   * answer to one would notify again.
   */
  function decideOnDevice(xdm: XdmEvent, options: RenderOptions): Promise<Early[]> | undefined {
    const current = device;
    return (
      current &&
      current.then(async (d) => {
        if (!d) return [];
        const [decider, activities] = d;
        let list: Proposition[];
        try {
          const at = Date.parse(String(xdm.timestamp));
          decider.onEvent(JSON.stringify(xdm), uuid(), at == at ? at : Date.now());
          if (String(xdm.eventType).startsWith("decisioning.")) return [];
          list = (JSON.parse(decider.decide('["__view__"]', location.href, Date.now())) as Proposition[]).filter((p) => {
            const activity = activityOf(p);
            return kindOf(p) == "page" && !!activity && activities.has(activity) && lastShown.get(activity) != p.id;
          });
        } catch (err) {
          // A decider that threw (a Wasm panic leaves it unusable) decides no more.
          if (device == current) device = undefined;
          return deviceFailed(err) || [];
        }
        // Now, not after the render: the next event must not render the same decision again.
        list.forEach((p) => lastShown.set(activityOf(p) as string, p.id));
        const flags = await render(list, options);
        list.forEach((p, i) => flags[i] || lastShown.delete(activityOf(p) as string)); // not rendered: try again
        return list.map((p, i): Early => [p, flags[i]]);
      })
    );
  }

  function bundle(b: ClientBundle): void {
    // The previous decider is freed by the glue's FinalizationRegistry once no event uses it.
    device = loadDevice(config)
      .then((m): [Decider, Set<string>] => [new m.Decider(JSON.stringify(b)), new Set((b.activities || []).map((a) => a.id))])
      .catch(deviceFailed);
  }

  function onEvent(options: SendEventOptions, xdm: XdmEvent): EventRendering {
    const named = xdm.web?.webPageDetails?.viewName;
    const viewName = typeof named == "string" && named ? named : undefined;
    const view = viewName && viewName.toLowerCase();
    const renderOptions: RenderOptions = {
      viewName,
      sendDisplay: options.personalization?.sendDisplayEvent ?? settings.sendDisplayEvent ?? true,
    };
    let release = () => {};
    let loading: Promise<Renderer | undefined> | undefined;
    /** Renders started before the answer: the cached SPA view, on-device decisions. */
    const early: Array<Promise<Early[]>> = [];
    if (options.renderDecisions) {
      release = hidePage(config.prehidingStyle ?? DEFAULT_PREHIDING_STYLE, config.prehidingTimeout ?? 3000);
      loading = getRenderer(); // now, in parallel with the request
      // An SPA view change: what the cache holds for the view renders now, not after a round trip.
      const list = (view && views.get(view)) || [];
      if (list.length) early.push(render(list, renderOptions, loading).then((flags) => list.map((p, i): Early => [p, flags[i]])));
    }
    const onDevice = decideOnDevice(xdm, renderOptions);
    if (onDevice) early.push(onDevice);

    return {
      failed: release,
      async done(propositions, inlined) {
        try {
          const fresh = new Map<string, Proposition[]>();
          for (const p of propositions) {
            if (kindOf(p) != "view") continue;
            const key = String(p.scope).toLowerCase();
            fresh.set(key, [...(fresh.get(key) || []), p]);
          }
          fresh.forEach((list, key) => views.set(key, list));
          const rendered = (await Promise.all(early)).flat();
          const attempted = new Map(rendered.map(([p, flag]) => [p.id, flag]));
          const all = unique(propositions, (view && views.get(view)) || [], rendered.map(([p]) => p));
          if (options.renderDecisions) {
            const now = all.filter((p) => {
              const kind = kindOf(p);
              return !attempted.has(p.id) && (kind == "page" || (kind == "view" && String(p.scope).toLowerCase() == view));
            });
            // The edge rendered the page: nothing to hide while there is nothing left to render.
            if (inlined && !leftToRender(now)) release();
            const flags = await render(now, { ...renderOptions, inlined }, loading);
            now.forEach((p, i) => attempted.set(p.id, flags[i]));
          }
          return all.map((p) => ({ ...p, renderAttempted: attempted.get(p.id) ?? false }));
        } finally {
          // Whatever could render now is on the page; late selectors have their own prehiding.
          release();
        }
      },
    };
  }

  async function apply(options: ApplyPropositionsOptions): Promise<ApplyPropositionsResult> {
    const { propositions = [], viewName, metadata } = options || {};
    if (!Array.isArray(propositions)) throw new TypeError("edgecdp: applyPropositions needs `propositions`, an array.");
    const cached = (viewName && views.get(viewName.toLowerCase())) || [];
    // As in the Adobe Web SDK: page-scope propositions renderDecisions already rendered are skipped.
    const given = propositions.filter((p) => p && !(p.renderAttempted && kindOf(p) == "page"));
    const all = unique(given, cached);
    const flags = await render(all, { metadata, viewName, sendDisplay: settings.sendDisplayEvent ?? true });
    return { propositions: all.map((p, i) => ({ ...p, renderAttempted: flags[i] })) };
  }

  return { onEvent, apply, bundle };
}
