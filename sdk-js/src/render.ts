/**
 * The render chunk: applies proposition items to the page, decorates what it rendered for click
 * tracking, and reports those clicks. The SDK `import()`s it when a `sendEvent` asks for
 * rendering (in parallel with the edge request) or `applyPropositions` is called. It shares no
 * code with the critical path and does no I/O: the SDK sends the notifications.
 *
 * When the edge rendered the page (proxy mode), what it applied carries its mark, the
 * proposition id in {@link INTERACT_ATTRIBUTE}: those items are found, not applied again.
 * @module
 */
import { ACTIONS, type Applied } from "./actions.js";
import { hideElements, select, selectSafely, whenPresent } from "./dom.js";
import type { Proposition, PropositionItem, ScopeDetails, ScopeMetadata } from "./types.js";

/**
 * Elements showing rendered content carry this attribute: a page-wide counter as value when the
 * SDK rendered them, the proposition id when the edge did.
 */
export const INTERACT_ATTRIBUTE = "data-edgecdp-interact-id";
const SCHEMA_BASE = "https://ns.adobe.com/personalization/";
const PREFIX = "[edgecdp]";

/** A proposition as display and interact notifications name it. */
export interface PropositionRef {
  id: string;
  scope: string;
  scopeDetails?: ScopeDetails;
}

/** Options of {@link createRenderer}. */
export interface RendererOptions {
  /** How long (ms) an item waits for its selector to match before giving up. */
  selectorTimeout: number;
  /** Decorate rendered content so clicks inside it are reported. */
  trackInteractions: boolean;
  /** A click inside rendered content, or on the selector of a `click` item. */
  onInteract(propositions: PropositionRef[], label: string | undefined): void;
}

/** What {@link Renderer.render} did. */
export interface RenderResult {
  /** Per proposition: whether it has an item this SDK renders (`renderAttempted`). */
  attempted: boolean[];
  /**
   * Settles once every item is rendered or has given up: the propositions with at least one
   * item on the page (default content counts), for the display notification.
   */
  displayed: Promise<Proposition[]>;
}

/** The renderer of one SDK instance. */
export interface Renderer {
  /**
   * Renders the items of `propositions`. Items whose elements exist are applied before this
   * returns (so the caller may show the page right after); the others wait for their selector.
   * `prerendered`: the edge rendered the page; what carries its mark of a proposition is
   * taken as rendered (decorated, counted as displayed), not applied again.
   */
  render(propositions: Proposition[], metadata?: Record<string, ScopeMetadata>, prerendered?: boolean): RenderResult;
}

/** The propositions rendered into one element (id → reference and tracking label). */
type Interaction = Map<string, [PropositionRef, string | undefined]>;

/** Page-wide, so that the attribute values of two instances never collide. */
let lastInteractId = 0;

/** The elements the edge marked as showing proposition `id` (proxy mode). */
const marked = (id: string): Element[] =>
  Array.from(document.querySelectorAll("[" + INTERACT_ATTRIBUTE + "]")).filter((el) => el.getAttribute(INTERACT_ATTRIBUTE) == id);

/**
 * What the edge rendered of an item of type `type` on `el`: the elements it marked with `id`
 * where that action puts its content (the element itself, or the top-level elements it inserted
 * into or beside it), or `undefined`.
 */
function edgeApplied(el: Element, type: string, id: string): Applied | undefined {
  const nodes: Element[] = [];
  const walk = (from: Element | null, next: "previousElementSibling" | "nextElementSibling") => {
    for (let n = from; n && n.getAttribute(INTERACT_ATTRIBUTE) == id; n = n[next]) nodes.push(n);
  };
  if (type == "appendHtml") walk(el.lastElementChild, "previousElementSibling");
  else if (type == "prependHtml") walk(el.firstElementChild, "nextElementSibling");
  else if (type == "insertBefore") walk(el.previousElementSibling, "previousElementSibling");
  else if (type == "insertAfter") walk(el.nextElementSibling, "nextElementSibling");
  else if (el.getAttribute(INTERACT_ATTRIBUTE) == id) nodes.push(el);
  return nodes.length ? { nodes, shown: () => nodes.some((n) => n.isConnected && n.getAttribute(INTERACT_ATTRIBUTE) == id) } : undefined;
}

/** Creates the renderer of an SDK instance (its click tracking is its own). */
export function createRenderer(options: RendererOptions): Renderer {
  const { selectorTimeout, trackInteractions, onInteract } = options;
  /**
   * Per node, per item: whether the item's offer is still shown there. An item is applied to an
   * element only when it is not, so rendering the same item twice (an SPA sending the view
   * again, `applyPropositions` after `renderDecisions`) never duplicates content, while content
   * a framework has re-rendered since is rendered again.
   */
  const rendered = new WeakMap<Node, Map<string, () => boolean>>();
  const interactions = new WeakMap<Element, Interaction>();
  /** `click` items: item key → selector, proposition, label. */
  const clicks = new Map<string, [string, PropositionRef, string | undefined]>();
  let listening = false;

  function listen(): void {
    if (listening) return;
    listening = true;
    // Capture: the page's own handlers may stop propagation or navigate away.
    document.addEventListener("click", onClick, true);
  }

  function onClick(event: Event): void {
    const target = event.target;
    if (!(target instanceof Element)) return;
    const found: Interaction = new Map();
    const decorated = target.closest("[" + INTERACT_ATTRIBUTE + "]");
    const own = decorated && interactions.get(decorated);
    if (own) own.forEach((entry, id) => found.set(id, entry));
    clicks.forEach(([selector, ref, label]) => {
      if (!found.has(ref.id) && selectSafely(selector).some((el) => el.contains(target))) found.set(ref.id, [ref, label]);
    });
    if (!found.size) return;
    const entries = [...found.values()];
    onInteract(entries.map(([ref]) => ref), entries.map(([, label]) => label).find(Boolean));
  }

  function decorate(el: Element, ref: PropositionRef, label: string | undefined): void {
    if (!el.hasAttribute(INTERACT_ATTRIBUTE)) el.setAttribute(INTERACT_ATTRIBUTE, String(++lastInteractId));
    let entry = interactions.get(el);
    if (!entry) interactions.set(el, (entry = new Map()));
    if (!entry.has(ref.id)) entry.set(ref.id, [ref, label]);
    listen();
  }

  /** Renders one item: whether it is displayed; `undefined` when it is no item the SDK renders. */
  function renderItem(
    p: Proposition,
    item: PropositionItem,
    key: string,
    metadata: ScopeMetadata | undefined,
    prerendered: boolean,
  ): boolean | Promise<boolean> | undefined {
    const schema = String(item.schema || "").replace(SCHEMA_BASE, "");
    if (schema == "default-content-item") return true;
    if (schema != "dom-action" && schema != "html-content-item") return;
    const data = item.data || {};
    let { type, selector } = data;
    if (schema == "html-content-item" && metadata) {
      type ||= metadata.actionType;
      selector ||= metadata.selector;
    }
    if (!type || !selector) return;
    const ref: PropositionRef = { id: p.id, scope: p.scope, scopeDetails: p.scopeDetails };
    const label = item.characteristics && item.characteristics.trackingLabel;
    if (type == "click") {
      clicks.set(key, [selector, ref, label]);
      listen();
      return false;
    }
    const action = ACTIONS[type];
    if (!action) {
      console.warn(PREFIX, `proposition ${p.id}: the action type "${type}" is not supported; the item is not rendered.`);
      return;
    }

    const apply = (elements: Element[]): boolean => {
      let shown = false;
      for (const el of elements) {
        const done = rendered.get(el);
        const check = done && done.get(key);
        if (check && check()) {
          shown = true;
          continue;
        }
        const applied = (prerendered && edgeApplied(el, type, p.id)) || action(el, data.content);
        if (!applied) continue;
        shown = true;
        // The inserted nodes are marked too: a selector matching them later finds the item there.
        for (const node of [el, ...applied.nodes]) {
          let marks = rendered.get(node);
          if (!marks) rendered.set(node, (marks = new Map()));
          marks.set(key, applied.shown);
        }
        if (trackInteractions) for (const node of applied.nodes) decorate(node, ref, label);
      }
      return shown;
    };

    let now: Element[];
    try {
      now = select(selector);
    } catch {
      console.warn(PREFIX, `proposition ${p.id}: "${selector}" is not a valid selector; the item is not rendered.`);
      return false;
    }
    if (now.length) return apply(now);
    // What the edge removed or replaced is not there to find: a removal, or its mark, says it is done.
    if (prerendered && (type == "remove" || (type == "replaceHtml" && marked(p.id).length))) return true;
    const show = data.prehidingSelector ? hideElements(data.prehidingSelector) : undefined;
    return whenPresent(selector, selectorTimeout)
      .then((elements) => {
        if (elements.length) return apply(elements);
        console.warn(PREFIX, `proposition ${p.id}: nothing matched "${selector}" within ${selectorTimeout} ms; the item is not rendered.`);
        return false;
      })
      .catch((err: unknown) => {
        console.warn(PREFIX, `proposition ${p.id}: rendering failed:`, err);
        return false;
      })
      .finally(show);
  }

  return {
    render(propositions, metadata = {}, prerendered = false) {
      const attempted: boolean[] = [];
      const displays = propositions.map((p) => {
        const outcomes: Array<boolean | Promise<boolean>> = [];
        const items = Array.isArray(p.items) ? p.items : [];
        items.forEach((item, i) => {
          let outcome: boolean | Promise<boolean> | undefined;
          try {
            outcome = item ? renderItem(p, item, p.id + "\n" + (item.id ?? i), metadata[p.scope], prerendered) : undefined;
          } catch (err) {
            // One broken item (content an action cannot take) must not stop the others.
            console.warn(PREFIX, `proposition ${p.id}: rendering failed:`, err);
            outcome = false;
          }
          if (outcome !== undefined) outcomes.push(outcome);
        });
        if (prerendered && trackInteractions) {
          // What the edge marked beyond the items' own elements (a replacement the selector no
          // longer matches...) is the proposition's too.
          const label = items.map((i) => i && i.characteristics && i.characteristics.trackingLabel).find(Boolean);
          const ref: PropositionRef = { id: p.id, scope: p.scope, scopeDetails: p.scopeDetails };
          for (const el of marked(p.id)) if (!interactions.has(el)) decorate(el, ref, label);
        }
        attempted.push(outcomes.length > 0);
        return Promise.all(outcomes).then((shown) => (shown.includes(true) ? p : undefined));
      });
      return { attempted, displayed: Promise.all(displays).then((ps) => ps.filter((p): p is Proposition => !!p)) };
    },
  };
}
