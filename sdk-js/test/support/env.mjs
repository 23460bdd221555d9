// A minimal browser for Node tests: `document.cookie` backed by a real-ish cookie jar, `location`,
// and a scriptable `fetch` that records every request. Installed on globalThis per test.

/** A cookie jar with the browser rules the SDK depends on: path, domain, max-age, Secure. */
export class CookieJar {
  constructor(pageUrl) {
    this.url = new URL(pageUrl);
    /** @type {Map<string, {name: string, value: string, domain: string|null, path: string, expires: number, sameSite: string|null, secure: boolean, raw: string}>} */
    this.cookies = new Map();
    /** Every string assigned to document.cookie, in order. */
    this.writes = [];
  }

  get cookie() {
    const now = Date.now();
    return [...this.cookies.values()]
      .filter((c) => c.expires > now)
      .map((c) => `${c.name}=${c.value}`)
      .join("; ");
  }

  set cookie(text) {
    this.writes.push(text);
    const [pair, ...attrs] = text.split(";").map((s) => s.trim());
    const eq = pair.indexOf("=");
    const cookie = { name: pair.slice(0, eq), value: pair.slice(eq + 1), domain: null, path: "/", expires: Infinity, sameSite: null, secure: false, raw: text };
    for (const attr of attrs) {
      const [k, v = ""] = attr.split("=");
      const key = k.toLowerCase();
      if (key === "domain") cookie.domain = v.replace(/^\./, "");
      else if (key === "path") cookie.path = v;
      else if (key === "max-age") cookie.expires = Number(v) <= 0 ? 0 : Date.now() + Number(v) * 1000;
      else if (key === "samesite") cookie.sameSite = v;
      else if (key === "secure") cookie.secure = true;
    }
    const host = this.url.hostname;
    // Browsers refuse a domain the page is not in, and single-label (public-suffix-like) domains.
    if (cookie.domain && (!cookie.domain.includes(".") || !(host === cookie.domain || host.endsWith("." + cookie.domain)))) return;
    if (cookie.secure && this.url.protocol !== "https:") return;
    if (cookie.sameSite && cookie.sameSite.toLowerCase() === "none" && !cookie.secure) return;
    const id = `${cookie.name};${cookie.domain};${cookie.path}`;
    if (cookie.expires === 0) this.cookies.delete(id);
    else this.cookies.set(id, cookie);
  }

  /** The stored cookie named `name`, with its attributes. */
  get(name) {
    return [...this.cookies.values()].find((c) => c.name === name);
  }
}

/**
 * The few DOM calls prehiding makes (src/prehide.ts): `<style>` elements appended to `head`,
 * found by id, removed. Rendering itself is tested in Chromium (test/render.test.mjs).
 */
function styleSheets() {
  const head = {
    children: [],
    appendChild(el) {
      el.remove();
      el.parentNode = head;
      head.children.push(el);
      return el;
    },
  };
  const createElement = (tagName) => {
    const el = {
      tagName: tagName.toUpperCase(),
      id: "",
      textContent: "",
      parentNode: null,
      remove() {
        if (!el.parentNode) return;
        el.parentNode.children.splice(el.parentNode.children.indexOf(el), 1);
        el.parentNode = null;
      },
    };
    return el;
  };
  return { head, documentElement: head, createElement, getElementById: (id) => head.children.find((el) => el.id === id) ?? null };
}

/** Installs document/location/window for a page at `url`; returns the cookie jar. */
export function installBrowser({ url = "https://www.luma.test/women.html?x=1", referrer = "https://search.example/q" } = {}) {
  const jar = new CookieJar(url);
  const document = {
    referrer,
    currentScript: null,
    querySelector: () => null,
    ...styleSheets(),
  };
  Object.defineProperty(document, "cookie", { get: () => jar.cookie, set: (v) => (jar.cookie = v), configurable: true });
  globalThis.document = document;
  globalThis.location = new URL(url);
  globalThis.window = globalThis;
  return jar;
}

/** A promise with its resolve/reject outside. */
export function deferred() {
  let resolve, reject;
  const promise = new Promise((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/**
 * Replaces `fetch`. `handler(req)` gets `{ url: URL, init, body, action }` and returns a Response,
 * a `{ status, body, headers }` object, or a promise of either. Returns the list of requests.
 */
export function installFetch(handler) {
  const requests = [];
  globalThis.fetch = async (input, init = {}) => {
    const url = new URL(String(input));
    const req = {
      url,
      init,
      body: init.body ? JSON.parse(init.body) : undefined,
      action: url.pathname.replace(/^.*\/v1\//, ""),
    };
    requests.push(req);
    const out = await handler(req, requests.length);
    if (out instanceof Response) return out;
    const body = out.body === undefined ? undefined : typeof out.body === "string" ? out.body : JSON.stringify(out.body);
    return new Response(body, { status: out.status ?? 200, headers: out.headers ?? { "Content-Type": "application/json" } });
  };
  return requests;
}

/** Lets pending promise jobs and timers of 0 ms run. */
export const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));
