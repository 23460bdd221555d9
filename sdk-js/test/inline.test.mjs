// The edge's response inlined in the page (proxy mode: the edge served the page, collected its
// view, applied what it could and marked it). In Node with a stand-in render chunk: the first
// rendering sendEvent takes it instead of a request, processes its handles like a fetched
// answer, and prehiding lets go at once when the edge rendered everything. In Chromium with the
// real renderer: nothing applied twice, what the edge left rendered, the display notification,
// clicks on what the edge rendered, and a page whose head is still being parsed when the SDK
// runs. Browser tests are skipped without Chromium.
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { pathToFileURL } from "node:url";
import { installBrowser, installFetch, tick } from "./support/env.mjs";
import { identityHandles } from "./support/mock-edge.mjs";
import { attempted, BASE_SNIPPET, PAGE_VIEW, proposition, refOf, skip, useBrowser } from "./support/browser.mjs";

const ECID = "52815286440582716171370361733432581330";
const COOKIE = "kndctr_LUMA123_AdobeOrg_identity";
const config = { datastreamId: "ds-luma", orgId: "LUMA123@AdobeOrg", edgeDomain: "edge.luma.test" };
const PREHIDING_ID = "edgecdp-prehiding";

/** The `<script>` the edge puts at the end of `<head>`: the response, `</` escaped. */
const inlineScript = (response) =>
  `<script type="application/json" id="edgecdp-response">${JSON.stringify(response).replace(/<\//g, "<\\/")}</script>`;

// ---- Node, with a stand-in render chunk ----

const dist = new URL("../dist/", import.meta.url);
const root = mkdtempSync(join(tmpdir(), "edgecdp-inline-"));
after(() => rmSync(root, { recursive: true, force: true }));
cpSync(new URL("esm", dist), join(root, "esm"), { recursive: true });
writeFileSync(
  join(root, "esm", "render.js"),
  `export function createRenderer() {
  return {
    render(propositions, metadata, prerendered) {
      globalThis.__fakeInline.calls.push({ ids: propositions.map((p) => p.id), prerendered, hidden: !!document.getElementById(${JSON.stringify(PREHIDING_ID)}) });
      return { attempted: propositions.map(() => true), displayed: Promise.resolve(propositions) };
    },
  };
}
`,
);
let fresh = 0;
/** A new copy of the SDK's module graph: page-wide state (prehiding) starts over, as on a new page. */
async function load() {
  globalThis.__fakeInline = { calls: [] };
  return (await import(pathToFileURL(join(root, "esm", "index.js")).href + "?page=" + ++fresh)).createInstance;
}
const calls = () => globalThis.__fakeInline.calls;

/**
 * A page at the fake browser's URL whose head holds the edge's inlined `response` (as the fake
 * document's elements), and whose markup carries the marks `marks` (proposition ids).
 */
function installPage(response, marks = []) {
  const jar = installBrowser();
  const script = document.createElement("script");
  script.id = "edgecdp-response";
  script.textContent = typeof response == "string" ? response : JSON.stringify(response).replace(/<\//g, "<\\/");
  document.head.appendChild(script);
  document.querySelectorAll = (selector) => {
    assert.equal(selector, "[data-edgecdp-interact-id]");
    return marks.map((id) => ({ getAttribute: () => id }));
  };
  return jar;
}

const DOM_ACTION = "https://ns.adobe.com/personalization/dom-action";
const node = (id, scope = "__view__") => ({ id, scope, items: [{ schema: DOM_ACTION, data: { type: "setHtml", selector: "#" + id, content: "<b>x</b>" } }] });
const RESPONSE = {
  requestId: "edge-page-1",
  handle: [
    ...identityHandles(ECID, "LUMA123@AdobeOrg", { CRMID: "crm-1042" }),
    { type: "edgecdp:profile", payload: [{ person: "CRMID:crm-1042", attributes: { loyalty: { tier: "Bronze" } } }] },
    { type: "personalization:decisions", payload: [node("hero"), node("named", "hero-banner")] },
  ],
};

test("the first rendering sendEvent takes the inlined response instead of a request, and processes it like a fetched one", async () => {
  const createInstance = await load();
  const jar = installPage(RESPONSE, ["hero"]);
  const requests = installFetch((req) => ({
    body: { handle: [...identityHandles(ECID), ...(req.body.events[0].query ? [{ type: "personalization:decisions", payload: [node("hero")] }] : [])] },
  }));
  const sdk = createInstance(config);
  const result = await sdk.sendEvent({ renderDecisions: true, xdm: { eventType: "web.webpagedetails.pageViews" } });
  assert.deepEqual(requests.filter((r) => !String(r.body.events[0].xdm.eventType).startsWith("decisioning.")), [], "no request for the page view");
  assert.equal(document.getElementById("edgecdp-response"), null, "consumed: removed from the page");
  assert.equal(result.requestId, "edge-page-1");
  assert.deepEqual(result.identity, { ECID, CRMID: "crm-1042" });
  assert.deepEqual(result.profile.attributes, { loyalty: { tier: "Bronze" } });
  assert.deepEqual(attempted(result), { hero: true, named: false });
  assert.ok(jar.get(COOKIE), "the state:store cookie is written");
  assert.deepEqual(calls().map((c) => [c.ids, c.prerendered]), [[["hero"], true]], "rendered knowing the edge rendered the page");
  await tick(5);
  const [display, ...more] = requests;
  assert.equal(more.length, 0);
  assert.deepEqual(display.body.events[0].xdm._experience.decisioning.propositions.map((p) => p.id), ["hero"], "the display notification goes out as usual");

  const next = await sdk.sendEvent({ renderDecisions: true });
  const sent = requests.filter((r) => !r.body.events[0].xdm._experience);
  assert.equal(sent.length, 1, "the next rendering event is sent");
  assert.equal(next.requestId, sent[0].url.searchParams.get("requestId"));
  assert.deepEqual(calls().map((c) => c.prerendered), [true, false], "what it fetched is rendered as usual");
  assert.deepEqual(await sdk.getIdentity(), { ECID }, "the identities of the latest answer");
});

test("prehiding: let go before rendering when the edge's markup shows every proposition, kept until rendered when one is left", async () => {
  for (const [marks, hidden] of [
    [["hero"], false],
    [[], true],
  ]) {
    const createInstance = await load();
    installPage(RESPONSE, marks);
    const snippet = document.createElement("style");
    snippet.id = PREHIDING_ID;
    document.head.appendChild(snippet);
    installFetch(() => ({ status: 204 }));
    await createInstance(config).sendEvent({ renderDecisions: true });
    assert.deepEqual(calls().map((c) => c.hidden), [hidden], `marks ${marks}`);
    assert.equal(document.getElementById(PREHIDING_ID), null);
  }
});

test("events before the rendering one leave the inlined response to it; one that is not a response is warned about and the event is sent", async () => {
  let createInstance = await load();
  installPage(RESPONSE);
  let requests = installFetch(() => ({ body: { handle: identityHandles(ECID) } }));
  let sdk = createInstance(config);
  await sdk.sendEvent({ xdm: { eventType: "web.webinteraction.linkClicks" } });
  assert.equal(requests.length, 1);
  assert.ok(document.getElementById("edgecdp-response"), "still there");
  await sdk.sendEvent({ renderDecisions: true });
  assert.equal(requests.filter((r) => r.action === "interact" && !r.body.events[0].xdm._experience).length, 1, "taken, not sent");

  createInstance = await load();
  installPage("<html>not json");
  requests = installFetch(() => ({ body: { handle: identityHandles(ECID) } }));
  const warnings = [];
  const warn = console.warn;
  console.warn = (...args) => warnings.push(args.join(" "));
  try {
    sdk = createInstance(config);
    await sdk.sendEvent({ renderDecisions: true });
  } finally {
    console.warn = warn;
  }
  assert.equal(requests.length, 1, "sent");
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /the edge's inlined response \(#edgecdp-response\) is not a response; the event is sent/);
});

// ---- Chromium, with the real renderer ----

const fx = useBrowser();
const SDK_RENDER = readFileSync(new URL("../dist/edgecdp-render.js", import.meta.url), "utf8");

/** The edge's answer for the page, and the markup it served (what it could apply, marked). */
function edgePage() {
  const hero = proposition("hero", "__view__", [{ type: "setHtml", selector: "#hero", content: `<p>Sale <a id="cta" href="#sale">Shop now</a></p>` }]);
  hero.items[0].characteristics = { trackingLabel: "hero-cta" };
  const append = proposition("append", "__view__", [{ type: "appendHtml", selector: "#list", content: `<li class="offer">offer</li>` }]);
  const left = proposition("left", "__view__", [{ type: "setText", selector: "#left", content: "SDK offer" }]);
  const replaced = proposition("replaced", "__view__", [{ type: "replaceHtml", selector: "#old", content: `<p id="new">new</p>` }]);
  const removed = proposition("removed", "__view__", [{ type: "remove", selector: "#gone" }]);
  const named = proposition("named", "hero-banner", [{ type: "setHtml", selector: "#banner", content: "banner" }]);
  const response = {
    requestId: "edge-page-1",
    handle: [...identityHandles(ECID), { type: "personalization:decisions", payload: [hero, append, left, replaced, removed, named] }],
  };
  // A comment the SDK's setHtml would wipe: proof that it did not apply the item again.
  const body = `<div id="hero" data-edgecdp-interact-id="hero"><p>Sale <a id="cta" href="#sale">Shop now</a></p><!--edge--></div>
<ul id="list"><li>one</li><li class="offer" data-edgecdp-interact-id="append">offer</li></ul>
<p id="left">Original</p><p id="new" data-edgecdp-interact-id="replaced">new</p><div id="banner">Original banner</div><p id="plain">plain</p>`;
  return { response, body, propositions: { hero, append, left, replaced, removed, named } };
}
const pageViews = () => fx.edgeRequests.filter((r) => r.action === "interact" && r.body.events[0].xdm.eventType === "web.webpagedetails.pageViews");

test("inlined: no request for the page view, nothing the edge rendered is applied again, what it left is rendered, the display goes out, clicks are tracked", { skip }, async () => {
  const { response, body, propositions: p } = edgePage();
  const url = fx.servePage("/t/inline.html", { body, script: PAGE_VIEW, headEnd: inlineScript(response) });
  await fx.browse(async (page, context) => {
    await page.goto(url);
    const r = await fx.result(page);
    assert.equal(r.requestId, "edge-page-1");
    assert.equal(r.identity.ECID, ECID);
    assert.deepEqual(attempted(r), { hero: true, append: true, left: true, replaced: true, removed: true, named: false });
    assert.deepEqual(pageViews(), [], "the page view was not sent again");
    const dom = await page.evaluate(() => ({
      hero: document.getElementById("hero").innerHTML,
      offers: document.querySelectorAll("#list .offer").length,
      left: document.getElementById("left").textContent,
      leftDecorated: document.getElementById("left").hasAttribute("data-edgecdp-interact-id"),
      banner: document.getElementById("banner").textContent,
      inline: document.getElementById("edgecdp-response"),
      hidden: !!document.getElementById("edgecdp-prehiding"),
    }));
    assert.deepEqual(dom, {
      hero: `<p>Sale <a id="cta" href="#sale">Shop now</a></p><!--edge-->`,
      offers: 1,
      left: "SDK offer",
      leftDecorated: true,
      banner: "Original banner",
      inline: null,
      hidden: false,
    });
    assert.ok((await context.cookies()).some((c) => c.name === COOKIE), "the state:store cookie is written");

    const [display] = await fx.notified("decisioning.propositionDisplay");
    assert.deepEqual(display.xdm._experience.decisioning.propositions, [p.hero, p.append, p.left, p.replaced, p.removed].map(refOf), "caps count what the edge rendered");

    await page.click("#plain");
    await page.click("#cta");
    await page.click("#list .offer");
    await page.click("#new");
    const interacts = await fx.notified("decisioning.propositionInteract", 3);
    assert.deepEqual(
      interacts.map((n) => n.xdm._experience.decisioning),
      [
        { propositions: [refOf(p.hero)], propositionEventType: { interact: 1 }, propositionAction: { label: "hero-cta" } },
        { propositions: [refOf(p.append)], propositionEventType: { interact: 1 } },
        { propositions: [refOf(p.replaced)], propositionEventType: { interact: 1 } },
      ],
    );
    assert.equal(interacts[0].action, "collect");

    // Applying the same propositions again (an SPA re-render) still adds nothing.
    await page.evaluate((ps) => edgecdp("applyPropositions", { propositions: ps }), [p.append, p.hero]);
    assert.equal(await page.$$eval("#list .offer", (els) => els.length), 1);
    assert.match(await page.innerHTML("#hero"), /<!--edge-->/);
    assert.deepEqual(fx.errors(), []);
  });
});

/** Records (in the page) when the prehiding style is removed after it was there. */
const SHOWN_AT = `window.shownAt = null;
  new MutationObserver(function () {
    if (document.getElementById("edgecdp-prehiding")) window.hid = true;
    else if (window.hid && window.shownAt === null) window.shownAt = performance.now();
  }).observe(document, { childList: true, subtree: true });`;

test("inlined: the page is shown at once when the edge rendered everything, and only once rendered when something is left (the render chunk is slow)", { skip }, async () => {
  fx.pages.set("/slow/edgecdp-render.js", { body: SDK_RENDER, type: "text/javascript", delay: 600 });
  const { response, body } = edgePage();
  const edgeOnly = { ...response, handle: response.handle.map((h) => (h.type === "personalization:decisions" ? { ...h, payload: h.payload.filter((p) => ["hero", "append"].includes(p.id)) } : h)) };
  for (const [name, answer, early] of [
    ["all-marked", edgeOnly, true],
    ["one-left", response, false],
  ]) {
    const url = fx.servePage(`/t/inline-${name}.html`, { config: { renderUrl: "/slow/edgecdp-render.js" }, body, script: PAGE_VIEW, headEnd: inlineScript(answer) });
    await fx.browse(
      async (page) => {
        await page.goto(url);
        await fx.result(page);
        const { shownAt, chunkAt, left } = await page.evaluate(() => ({
          shownAt: window.shownAt,
          chunkAt: performance.getEntriesByName(location.origin + "/slow/edgecdp-render.js")[0].responseEnd,
          left: document.getElementById("left").textContent,
        }));
        assert.ok(shownAt !== null, name);
        if (early) assert.ok(shownAt < chunkAt - 300, `${name}: shown at ${Math.round(shownAt)} ms, the render chunk came at ${Math.round(chunkAt)} ms`);
        else assert.ok(shownAt >= chunkAt, `${name}: shown at ${Math.round(shownAt)} ms, after the render chunk at ${Math.round(chunkAt)} ms`);
        assert.equal(left, early ? "Original" : "SDK offer");
        assert.deepEqual(pageViews(), []);
      },
      { init: SHOWN_AT },
    );
  }
});

test("inlined: an SDK that runs while the head is still being parsed waits for the edge's response instead of sending the page view", { skip }, async () => {
  fx.pages.set("/slow/blocking.js", { body: "window.blocked = true;", type: "text/javascript", delay: 500 });
  const { response, body } = edgePage();
  const conf = { datastreamId: "ds-luma", orgId: "LUMA123@AdobeOrg" };
  // The SDK loads synchronously and sends at once; a blocking script holds the rest of the head.
  fx.pages.set(
    "/t/inline-parsing.html",
    `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<script>\n${BASE_SNIPPET}\n</script>
<script src="/sdk/edgecdp.min.js"></script>
<script>
edgecdp("configure", ${JSON.stringify(conf)});
window.sentEarly = !document.getElementById("edgecdp-response");
edgecdp("sendEvent", { renderDecisions: true, xdm: { eventType: "web.webpagedetails.pageViews" } }).then(function (r) { window.result = r; });
</script>
<script src="/slow/blocking.js"></script>
${inlineScript(response)}</head><body>${body}</body></html>`,
  );
  await fx.browse(async (page) => {
    await page.goto(fx.site.origin + "/t/inline-parsing.html");
    const r = await fx.result(page);
    assert.equal(await page.evaluate(() => window.sentEarly), true, "the response was not in the page yet when the event was sent");
    assert.equal(r.requestId, "edge-page-1");
    assert.deepEqual(pageViews(), []);
    assert.equal(await page.$$eval("#list .offer", (els) => els.length), 1);
    assert.equal(await page.textContent("#left"), "SDK offer");
  });
});
