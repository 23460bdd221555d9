// Headless Chromium against the mock edge, for the browser tests of on-device decisions and of
// the edge's inlined response (test/render.test.mjs has the same helpers inline). `useBrowser()`
// registers the hooks of a test file and returns its fixture: tests set `fx.decide`, `fx.bundle`
// and `fx.hold` (reset before each test), serve pages with `fx.servePage` / `fx.pages`, and read
// `fx.site.notifications`, `fx.edgeRequests` and `fx.consoleLines`.
import { existsSync, readFileSync } from "node:fs";
import { after, before, beforeEach } from "node:test";
import { startServer } from "./mock-edge.mjs";

export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
export const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} not found (apt-get install chromium): browser tests skipped`;

const README = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
/** The base snippet and the prehiding snippet documented in README.md, verbatim. */
export const BASE_SNIPPET = README.match(/<script>\n(!function\(w,n\)[^\n]+)\n<\/script>/)[1];
export const PREHIDING_SNIPPET = README.match(/<script>\n(![^\n]+edgecdp-prehiding[^\n]+)\n<\/script>/)[1];

export const DOM_ACTION = "https://ns.adobe.com/personalization/dom-action";
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const refOf = ({ id, scope, scopeDetails }) => ({ id, scope, scopeDetails });
export const attempted = (r) => Object.fromEntries(r.propositions.map((p) => [p.id, p.renderAttempted]));

/**
 * A proposition of `items` (dom-action data objects, or whole items with their `schema`), with the
 * scopeDetails an edge would send (to be echoed verbatim).
 */
export function proposition(id, scope, items, characteristics = {}) {
  return {
    id,
    scope,
    scopeDetails: { decisionProvider: "EDGECDP", activity: { id: "act-" + id }, experience: { id: "exp-1" }, characteristics, correlationID: "act-" + id + ":exp-1" },
    items: items.map((data, i) => ("schema" in data ? { id: `${id}-${i}`, ...data } : { id: `${id}-${i}`, schema: DOM_ACTION, data })),
  };
}

/** The page-view sendEvent most tests start with; its result lands in `window.result`. */
export const PAGE_VIEW = `window.sent = report(edgecdp("sendEvent", { renderDecisions: true, xdm: { eventType: "web.webpagedetails.pageViews" } }))
  .then(function (r) { window.result = r; return r; });`;

export function useBrowser() {
  const fx = {
    /** `(body) => propositions` of the edge's answers. */
    decide: () => [],
    /** `(body, ecid) => bundle` for requests that ask one. */
    bundle: () => undefined,
    /** `(req) => promise | undefined`: holds the edge's answer until it settles. */
    hold: () => undefined,
    pages: new Map(),
    consoleLines: [],
    /** The edge requests received (on arrival, before any hold), in order: `{ action, body }`. */
    edgeRequests: [],
    site: undefined,
    browser: undefined,
  };

  before(async () => {
    if (skip) return;
    const { chromium } = await import("playwright-core");
    fx.browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    fx.site = await startServer({
      decide: (body) => fx.decide(body),
      bundle: (body, ecid) => fx.bundle(body, ecid),
      // Recorded on arrival, held or not.
      hold: (req) => (fx.edgeRequests.push({ action: req.url.pathname.replace(/^.*\/v1\//, ""), body: req.body }), fx.hold(req)),
      page: (path) => fx.pages.get(path),
    });
  });
  after(async () => {
    await fx.browser?.close();
    await fx.site?.close();
  });
  beforeEach(() => {
    fx.decide = () => [];
    fx.bundle = () => undefined;
    fx.hold = () => undefined;
    fx.consoleLines.length = 0;
    fx.edgeRequests.length = 0;
    if (fx.site) fx.site.notifications.length = 0;
  });

  /**
   * A test page at `path`: `head` first (e.g. a script that must run before the SDK), the
   * prehiding snippet (unless `snippet: false`), the base snippet, the script tag, `configure`
   * with `config`, `script`, then `headEnd` (where the edge inlines its response); `body` is the
   * page's content.
   */
  fx.servePage = (path, { snippet = true, config = {}, head = "", body = "", script = "", headEnd = "" }) => {
    const conf = { datastreamId: "ds-luma", orgId: "LUMA123@AdobeOrg", ...config };
    fx.pages.set(
      path,
      `<!doctype html><html><head><meta charset="utf-8"><title>${path}</title><link rel="icon" href="data:,">
${head}
${snippet ? `<script>\n${PREHIDING_SNIPPET}\n</script>` : ""}
<script>\n${BASE_SNIPPET}\n</script>
<script async src="/sdk/edgecdp.min.js"></script>
<script>
edgecdp("configure", ${JSON.stringify(conf)});
window.report = function (p) { return p.then(function (r) { return r; }, function (e) { window.failed = String(e); throw e; }); };
${script}
</script>
${headEnd}</head><body>${body}</body></html>`,
    );
    return fx.site.origin + path;
  };

  /** A fresh context (no cookies), a page with console capture; `fn(page, context)`. */
  fx.browse = async (fn, { init } = {}) => {
    const context = await fx.browser.newContext();
    try {
      const page = await context.newPage();
      page.on("console", (m) => fx.consoleLines.push(`${m.type()}: ${m.text()}`));
      page.on("pageerror", (e) => fx.consoleLines.push(`pageerror: ${e.message}`));
      if (init) await page.addInitScript(init);
      await fn(page, context);
    } finally {
      await context.close();
    }
  };

  /** `window.result` once the page view settled. */
  fx.result = (page) =>
    page.waitForFunction(() => window.result || window.failed, null, { timeout: 10000 }).then(() => page.evaluate(() => window.result || window.failed));

  /** Waits until the mock edge has received `n` notifications of `eventType`; returns them. */
  fx.notified = async (eventType, n = 1, timeout = 5000) => {
    const end = Date.now() + timeout;
    for (;;) {
      const found = fx.site.notifications.filter((x) => x.xdm.eventType === eventType);
      if (found.length >= n || Date.now() > end) return found;
      await sleep(25);
    }
  };

  fx.errors = () => fx.consoleLines.filter((l) => /^(error|pageerror)/.test(l));
  return fx;
}
