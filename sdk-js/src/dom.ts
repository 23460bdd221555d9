/**
 * DOM helpers of the render chunk: selectors with the `:eq(n)` extension, waiting (bounded) for a
 * selector to match, HTML fragments, and per-selector prehiding.
 */

/** jQuery's `:eq(n)`, which offers authored for Adobe Target use; browsers do not know it. */
const EQ = /:eq\((-?\d+)\)/g;

/**
 * Every element `selector` matches, in document order. `:eq(n)` keeps the n-th match (0-based,
 * negative from the end) of what precedes it, and what follows is looked for inside that element:
 * `#list li:eq(1) a` are the links of the second `li` of `#list`.
 * @throws DOMException (SyntaxError) when the selector is not valid CSS.
 */
export function select(selector: string): Element[] {
  // "a:eq(1) b:eq(0)" splits into ["a", "1", " b", "0", ""]: selectors and indexes alternate.
  const parts = selector.trim().split(EQ);
  let scope: Element | undefined;
  for (let i = 0; i < parts.length; i += 2) {
    const css = parts[i].trim();
    let found: Element[] = css
      ? Array.from(scope ? scope.querySelectorAll(":scope " + css) : document.querySelectorAll(css))
      : scope
        ? [scope]
        : [];
    if (i + 1 < parts.length) {
      const n = Number(parts[i + 1]);
      const one = found[n < 0 ? found.length + n : n];
      found = one ? [one] : [];
      scope = one;
    }
    if (!found.length || i + 2 >= parts.length) return found;
  }
  return [];
}

/** `select`, with an invalid selector matching nothing instead of throwing. */
export function selectSafely(selector: string): Element[] {
  try {
    return select(selector);
  } catch {
    return [];
  }
}

type Probe = () => boolean;
const probes = new Set<Probe>();
let observer: MutationObserver | undefined;

function unwatch(probe: Probe): void {
  probes.delete(probe);
  if (!probes.size && observer) {
    observer.disconnect();
    observer = undefined;
  }
}

/**
 * The elements of `selector` once at least one exists, or `[]` after `timeout` ms. One
 * MutationObserver serves every waiting selector. Its callbacks run in the microtask checkpoint
 * right after the DOM change, before the browser paints: content rendered from here replaces
 * a late element before it was ever seen.
 */
export function whenPresent(selector: string, timeout: number): Promise<Element[]> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      unwatch(probe);
      resolve([]);
    }, timeout);
    const probe: Probe = () => {
      const found = selectSafely(selector);
      if (found.length) {
        clearTimeout(timer);
        unwatch(probe);
        resolve(found);
      }
      return found.length > 0;
    };
    if (probe()) return;
    probes.add(probe);
    if (!observer) {
      observer = new MutationObserver(() => probes.forEach((p) => p()));
      // Attributes too: a selector may wait for a class or an attribute the page sets later.
      observer.observe(document.documentElement, { childList: true, subtree: true, attributes: true });
    }
  });
}

/**
 * The nodes of an HTML string, parsed in a `<template>`: nothing loads or runs while parsing, and
 * `<script>` elements stay inert once inserted (the fragment parser marks them as already started).
 */
export function fragment(html: string): Node[] {
  const template = document.createElement("template");
  template.innerHTML = html;
  return Array.from(template.content.childNodes);
}

/** Hides what `selector` matches until the returned function is called. */
export function hideElements(selector: string): () => void {
  const style = document.createElement("style");
  // CSS knows no :eq(); hiding every match of the rest is the safe side of "hide this one".
  style.textContent = selector.replace(EQ, "") + "{visibility:hidden!important}";
  (document.head || document.documentElement).appendChild(style);
  return () => style.remove();
}
