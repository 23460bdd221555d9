/**
 * The DOM actions of proposition items (Adobe Target's dom-action types), applied to one element
 * each. Every action tells which elements now show the offer (they are decorated for click
 * tracking) and how to tell later whether they still do: that is what makes rendering idempotent
 * (see render.ts), also for actions that add content, which a framework may have wiped since.
 */
import { fragment } from "./dom.js";

/** What applying an action to an element did. */
export interface Applied {
  /** The elements that show the offer now. */
  nodes: Element[];
  /** Whether the offer is still shown (nothing undid it). */
  shown(): boolean;
}

/** Applies one action to `el`; `undefined` when the content does not fit the action. */
export type Action = (el: Element, content: unknown) => Applied | undefined;

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => !!v && typeof v == "object" && !Array.isArray(v);

/** Inserts the nodes of `html` with `insert`; the offer is shown while one of them is on the page. */
function insertHtml(insert: (el: Element, nodes: Node[]) => void): Action {
  return (el, content) => {
    const nodes = fragment(String(content));
    insert(el, nodes);
    return {
      nodes: nodes.filter((n): n is Element => n.nodeType == 1),
      shown: () => nodes.some((n) => n.isConnected),
    };
  };
}

/** Sets CSS properties; `priority: "important"` applies to all of them. */
const setStyle: Action = (el, content) => {
  if (!isObject(content)) return;
  const { priority, ...properties } = content;
  const style = (el as HTMLElement).style;
  if (!style) return;
  // The browser normalizes values ("red" stays, "#F00" becomes rgb()): compare what it kept.
  const read = () => Object.keys(properties).map((p) => style.getPropertyValue(p)).join(";");
  for (const p in properties) style.setProperty(p, String(properties[p]), priority ? String(priority) : "");
  const after = read();
  return { nodes: [el], shown: () => read() == after };
};

export const ACTIONS: Record<string, Action> = {
  setHtml(el, content) {
    el.innerHTML = String(content);
    const html = el.innerHTML;
    return { nodes: [el], shown: () => el.innerHTML == html };
  },
  setText(el, content) {
    const text = String(content);
    el.textContent = text;
    return { nodes: [el], shown: () => el.textContent == text };
  },
  setAttribute(el, content) {
    if (!isObject(content)) return;
    for (const name in content) el.setAttribute(name, String(content[name]));
    return { nodes: [el], shown: () => Object.keys(content).every((n) => el.getAttribute(n) == String(content[n])) };
  },
  setImageSource(el, content) {
    const src = String(content);
    el.setAttribute("src", src);
    // A srcset would win over the new src in responsive images.
    el.removeAttribute("srcset");
    return { nodes: [el], shown: () => el.getAttribute("src") == src };
  },
  setStyle,
  move: setStyle,
  resize: setStyle,
  rearrange(el, content) {
    if (!isObject(content)) return;
    const { from, to } = content as { from: number; to: number };
    const moved = el.children[from];
    const target = el.children[to];
    if (!moved || !target) return;
    if (moved != target) target[from < to ? "after" : "before"](moved);
    return { nodes: [el], shown: () => el.children[to] == moved };
  },
  remove(el) {
    el.remove();
    return { nodes: [], shown: () => !el.isConnected };
  },
  replaceHtml: insertHtml((el, nodes) => el.replaceWith(...nodes)),
  appendHtml: insertHtml((el, nodes) => el.append(...nodes)),
  prependHtml: insertHtml((el, nodes) => el.prepend(...nodes)),
  insertBefore: insertHtml((el, nodes) => el.before(...nodes)),
  insertAfter: insertHtml((el, nodes) => el.after(...nodes)),
  /** Changes nothing: clicks on the element become interactions of the proposition. */
  collectInteractions: (el) => ({ nodes: [el], shown: () => true }),
};
