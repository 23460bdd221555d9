/**
 * First-party state cookies. The edge never sets cookies itself (no `Set-Cookie`): it returns
 * `state:store` items that the SDK writes, and the SDK returns every `kndctr_{org}_*` cookie in
 * `meta.state.entries` so a cross-site edge still sees them.
 */
import type { StateStoreItem } from "./types.js";

/** Every cookie of the page as name → value, URI-decoded where it was encoded. */
export function readCookies(): Record<string, string> {
  const jar: Record<string, string> = {};
  const all = typeof document == "object" ? document.cookie : "";
  for (const pair of all ? all.split(/;\s*/) : []) {
    const eq = pair.indexOf("=");
    const name = pair.slice(0, eq);
    let value = pair.slice(eq + 1);
    if (value.includes("%")) {
      try {
        value = decodeURIComponent(value);
      } catch {
        // a value that is not URI-encoded after all: keep it as it is
      }
    }
    if (eq > 0 && !(name in jar)) jar[name] = value;
  }
  return jar;
}

/**
 * The page's registrable domain: the shortest parent domain a cookie can be set on, found the
 * way browsers decide it (public suffixes refuse cookies). `""` for localhost and IP addresses.
 */
export function apexDomain(): string {
  const host = location.hostname;
  if (!host.includes(".") || /^[\d.]+$|:/.test(host)) return "";
  const parts = host.split(".");
  for (let i = parts.length - 2; i >= 0; i--) {
    const probe = "edgecdp_probe=1; path=/; domain=" + parts.slice(i).join(".");
    document.cookie = probe;
    if (readCookies().edgecdp_probe) {
      document.cookie = probe + "; max-age=0";
      return parts.slice(i).join(".");
    }
  }
  return "";
}

/** Writes one `state:store` item as a JS-readable cookie; `maxAge` 0 deletes it. */
export function writeCookie(item: StateStoreItem, domain: string): void {
  const { key, value, maxAge, attrs } = item;
  // The edge is trusted, but a bad key must not inject cookie attributes.
  if (typeof document != "object" || !/^[\w!#$%&'*+.^`|~-]+$/.test(key) || typeof value != "string") return;
  let cookie = key + "=" + value.replace(/[^!-~]+|[%;,"\\]/g, encodeURIComponent) + "; path=/";
  if (typeof maxAge == "number") cookie += "; max-age=" + Math.max(0, Math.floor(maxAge));
  if (domain) cookie += "; domain=" + domain;
  const sameSite = String((attrs && attrs.SameSite) || "").toLowerCase();
  // SameSite=None needs Secure, which an http page cannot set: fall back to Lax there.
  cookie +=
    sameSite == "none" && location.protocol == "https:"
      ? "; SameSite=None; Secure"
      : sameSite == "strict"
        ? "; SameSite=Strict"
        : "; SameSite=Lax";
  document.cookie = cookie;
}
