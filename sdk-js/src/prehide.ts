/**
 * Prehiding: keeps the page (by default the whole body) hidden from the start of a `sendEvent`
 * that renders until its propositions are on the page, so that the visitor never sees default
 * content being replaced by an offer. Page-wide state: the page is one, whatever the instances.
 */

/**
 * Id of the prehiding `<style>`: the one of the head snippet (README, "Prehiding") and the one
 * the SDK adds share it, so that showing the page removes both.
 */
export const PREHIDING_ID = "edgecdp-prehiding";

/** Renders in progress that keep the page hidden. */
let open = 0;
/** Once shown, the page is never hidden again: later renders must not blank a page being read. */
let shown = false;
let timer: ReturnType<typeof setTimeout> | undefined;

function show(): void {
  shown = true;
  open = 0;
  clearTimeout(timer);
  for (let el; (el = document.getElementById(PREHIDING_ID)); ) el.remove();
}

/**
 * Hides the page with `style` (unless it was shown already) until every render that called this
 * has called the function returned, or until `timeout` ms have passed.
 */
export function hidePage(style: string, timeout: number): () => void {
  if (shown) return () => {};
  if (!open++) {
    if (style && !document.getElementById(PREHIDING_ID)) {
      const el = document.createElement("style");
      el.id = PREHIDING_ID;
      el.textContent = style;
      (document.head || document.documentElement).appendChild(el);
    }
    timer = setTimeout(show, timeout);
  }
  let done = false;
  return () => {
    if (done || shown) return;
    done = true;
    if (!--open) show();
  };
}
