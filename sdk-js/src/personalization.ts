/**
 * Personalization, the part on the critical path: which propositions of a response render and
 * when (the Adobe Web SDK's rules, edge-protocol.md §3.4), the SPA view cache, prehiding, and the
 * display and interact notifications. The DOM work is in the render chunk (render.ts): a
 * `sendEvent` with `renderDecisions` starts loading it at once, so that it arrives while the
 * edge is still deciding, and pages that never render never load it.
 */
import { hidePage } from "./prehide.js";
import type { PropositionRef, Renderer, RendererOptions } from "./render.js";
import type {
  ApplyPropositionsOptions,
  ApplyPropositionsResult,
  Config,
  Proposition,
  ScopeMetadata,
  SendEventOptions,
  XdmEvent,
} from "./types.js";

/** How an entry point brings in the render chunk (a bundled chunk, or a URL for the script tag). */
export type RendererLoader = (config: Config) => Promise<{ createRenderer(options: RendererOptions): Renderer }>;

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
   * with the propositions to return, each with `renderAttempted`.
   */
  done(propositions: Proposition[]): Promise<Proposition[]>;
}

/** The personalization state of one instance. */
export interface Personalization {
  /** Called when a `sendEvent` starts, with its options and its built `xdm`. */
  onEvent(options: SendEventOptions, xdm: XdmEvent): EventRendering;
  apply(options: ApplyPropositionsOptions): Promise<ApplyPropositionsResult>;
}

const PREFIX = "[edgecdp]";
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
}

/**
 * The personalization of an instance configured with `config`: `load` brings in the render chunk
 * (once, on first use), `notify` sends the notification events.
 */
export function makePersonalization(config: Config, load: RendererLoader, notify: Notify): Personalization {
  const settings = config.personalization || {};
  /** SPA view propositions by lower-cased view name, as the last response carrying the view gave them. */
  const views = new Map<string, Proposition[]>();
  let renderer: Promise<Renderer | undefined> | undefined;

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
    const { attempted, displayed } = r.render(propositions, options.metadata);
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
    /** Propositions rendered before the request, from the view cache: id → renderAttempted. */
    let early: Promise<Map<string, boolean>> | undefined;
    let earlyRendered: Proposition[] = [];
    if (options.renderDecisions) {
      release = hidePage(config.prehidingStyle ?? DEFAULT_PREHIDING_STYLE, config.prehidingTimeout ?? 3000);
      loading = getRenderer(); // now, in parallel with the request
      // An SPA view change: what the cache holds for the view renders now, not after a round trip.
      earlyRendered = (view && views.get(view)) || [];
      if (earlyRendered.length) {
        const list = earlyRendered;
        early = render(list, renderOptions, loading).then((flags) => new Map(list.map((p, i) => [p.id, flags[i]])));
      }
    }

    return {
      failed: release,
      async done(propositions) {
        try {
          const fresh = new Map<string, Proposition[]>();
          for (const p of propositions) {
            if (kindOf(p) != "view") continue;
            const key = String(p.scope).toLowerCase();
            fresh.set(key, [...(fresh.get(key) || []), p]);
          }
          fresh.forEach((list, key) => views.set(key, list));
          const before = early ? await early : new Map<string, boolean>();
          const all = unique(propositions, (view && views.get(view)) || [], earlyRendered);
          const attempted = new Map(before);
          if (options.renderDecisions) {
            const now = all.filter((p) => {
              const kind = kindOf(p);
              return !before.has(p.id) && (kind == "page" || (kind == "view" && String(p.scope).toLowerCase() == view));
            });
            const flags = await render(now, renderOptions, loading);
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

  return { onEvent, apply };
}
