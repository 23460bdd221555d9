// A mock edge for sdk-js tests and for front-end work without the Rust edge: the protocol's
// minimal server side (edge-protocol.md §5) plus a static server for demo-site/ and sdk-js/dist/.
//
//   node sdk-js/test/support/mock-edge.mjs [port]     → http://127.0.0.1:<port>/ serves the Luma demo
//
// It is a test double, not the edge: ECIDs are random, and the only state is a small identity
// directory per server (which browser is linked to which demo person), kept in memory.
// Personalization tests give it the propositions to answer (`decide`) and the client bundle for
// SDKs that ask one (`bundle`), read the display and interact notifications it received
// (`notifications`), and may hold its answers (`hold`).
import { randomInt } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { dirname, extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const SDK_ROOT = join(here, "..", "..");
export const REPO_ROOT = join(SDK_ROOT, "..");

/** The datastream → orgId mapping the edge needs to name cookies. */
export const DATASTREAMS = { "ds-luma": "LUMA123@AdobeOrg" };

/** A 38-digit ECID. */
export function mintEcid() {
  let ecid = String(randomInt(1, 10));
  while (ecid.length < 38) ecid += String(randomInt(0, 10));
  return ecid;
}

/** The identity cookie value: base64 of protobuf field 1 (the ECID string). */
export function identityCookieValue(ecid) {
  return Buffer.concat([Buffer.from([0x0a, ecid.length]), Buffer.from(ecid, "ascii")]).toString("base64");
}

/** Reads field 1 back (test double only: the SDK decodes through the Wasm core). */
export function ecidFromCookieValue(value) {
  try {
    const b = Buffer.from(decodeURIComponent(value).replace(/-/g, "+").replace(/_/g, "/"), "base64");
    return b[0] === 0x0a && b.length >= 2 + b[1] ? b.subarray(2, 2 + b[1]).toString("ascii") : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The handles establishing `ecid` for `orgId`; `person` (namespace code → id, e.g.
 * `{ CRMID: "crm-1042", Email: "sarah.rose@example.com" }`) adds the person's identities after the
 * ECID, in that order, as the edge does once the browser is linked to someone.
 */
export function identityHandles(ecid, orgId = "LUMA123@AdobeOrg", person = {}) {
  const ids = [["ECID", ecid], ...Object.entries(person)];
  return [
    { type: "identity:result", payload: ids.map(([code, id]) => ({ id, namespace: { code } })) },
    {
      type: "state:store",
      payload: [{ key: `kndctr_${orgId.replace(/@/g, "_")}_identity`, value: identityCookieValue(ecid), maxAge: 34128000 }],
    },
  ];
}

/** The persons the demo's origin knows (CRM + loyalty), identities in the edge's order. */
export const DEMO_PEOPLE = {
  sarah: { CRMID: "crm-1042", Email: "sarah.rose@example.com", LoyaltyID: "LY-778" },
  bob: { CRMID: "crm-2077", Email: "bob.carter@example.com" },
};

/**
 * The mock's identity directory: persons (namespace code → id) and which person each ECID is
 * linked to. A much simplified version of the edge's linking rules, enough for the demo:
 * an `authenticated` person identity links the browser (the last login wins), an `ambiguous` one
 * links it only while no one has logged in on it, `loggedOut` links nothing. Identities nobody
 * knows make a new person. Emails are lower-cased, as the edge normalizes them.
 */
export function createDirectory(people = DEMO_PEOPLE) {
  const persons = Object.values(people).map((p) => ({ ...p }));
  /** ECID → { person, authenticated } */
  const links = new Map();
  const normalize = (code, id) => (code === "Email" ? String(id).trim().toLowerCase() : String(id).trim());
  return {
    links,
    /** Applies one event's identityMap for `ecid`. */
    observe(ecid, identityMap) {
      if (!identityMap || typeof identityMap !== "object") return;
      const given = [];
      for (const [code, items] of Object.entries(identityMap)) {
        if (code === "ECID" || !Array.isArray(items)) continue;
        for (const item of items) {
          if (item && item.id) given.push({ code, id: normalize(code, item.id), state: item.authenticatedState || "ambiguous" });
        }
      }
      const linking = given.filter((g) => g.state !== "loggedOut");
      if (!linking.length) return;
      let person = persons.find((p) => linking.some((g) => p[g.code] === g.id));
      if (!person) persons.push((person = {}));
      for (const g of linking) person[g.code] ??= g.id;
      const authenticated = linking.some((g) => g.state === "authenticated");
      if (authenticated || !links.get(ecid)?.authenticated) links.set(ecid, { person, authenticated });
    },
    /** The person `ecid` is linked to (namespace code → id), or `{}`. */
    personOf(ecid) {
      return { ...links.get(ecid)?.person };
    },
  };
}

/** An Adobe-format fatal error body. */
export function errorBody(status, code, title, detail) {
  return { type: `https://ns.adobe.com/aep/errors/${code}`, status, title, detail };
}

/** Whether a request body is a notification (`decisioning.propositionDisplay`, `…Interact`...). */
export const isNotification = (body) => String(body?.events?.[0]?.xdm?.eventType).startsWith("decisioning.");

/**
 * The edge: `{ pathname, searchParams, body, cookieHeader }` → `{ status, json }`.
 * The ECID comes from the Cookie header, else meta.state.entries, else is minted. The events'
 * identityMaps are applied to `directory` (a fresh, empty-handed one by default), and
 * `identity:result` names the person the browser is linked to after them. `decide(body)`, when
 * given, returns the propositions of a `personalization:decisions` handle; notifications get none.
 * `bundle(body, ecid)`, when given, returns the client bundle of an `edgecdp:bundle` handle for
 * requests whose events ask one (`query.personalization.onDevice: true`).
 */
export function handleEdge({ pathname, searchParams, body, cookieHeader = "" }, directory = createDirectory(), decide = undefined, bundle = undefined) {
  const m = /^\/[^/]+(?:\/[^/]+)?\/v1\/(interact|collect|identity\/acquire|privacy\/set-consent)$/.exec(pathname);
  if (!m) return { status: 404, json: errorBody(404, "EXEG-0001-404", "Not found", `No route for ${pathname}.`) };
  const configId = searchParams.get("configId");
  const orgId = DATASTREAMS[configId];
  if (!orgId) {
    return { status: 400, json: errorBody(400, "EXEG-0003-400", "Invalid datastream ID", `The datastream ID '${configId}' referenced in your request does not exist.`) };
  }
  if (m[1] === "collect") return { status: 204 };
  const key = `kndctr_${orgId.replace(/@/g, "_")}_identity`;
  const fromHeader = cookieHeader.split(/;\s*/).find((c) => c.startsWith(key + "="));
  const fromEntries = body?.meta?.state?.entries?.find((e) => e.key === key)?.value;
  const raw = fromHeader ? fromHeader.slice(key.length + 1) : fromEntries;
  const ecid = (raw && ecidFromCookieValue(raw)) || mintEcid();
  for (const event of Array.isArray(body?.events) ? body.events : []) directory.observe(ecid, event?.xdm?.identityMap);
  const handle = identityHandles(ecid, orgId, directory.personOf(ecid));
  const propositions = decide && m[1] === "interact" && !isNotification(body) ? decide(body) : undefined;
  if (propositions?.length) handle.push({ type: "personalization:decisions", payload: propositions });
  const onDevice = body?.events?.some?.((e) => e?.query?.personalization?.onDevice === true);
  const client = bundle && m[1] === "interact" && onDevice ? bundle(body, ecid) : undefined;
  if (client) handle.push({ type: "edgecdp:bundle", payload: [client] });
  return { status: 200, json: { requestId: searchParams.get("requestId"), handle } };
}

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".wasm": "application/wasm", ".map": "application/json", ".json": "application/json" };

/**
 * Serves `/sdk/*` from sdk-js/dist, the edge under `/ee/`, `page(pathname)`'s HTML where it returns
 * some (a string, or `{ body, type, delay }` for another content type, sent after `delay` ms),
 * anything else from demo-site/. Every edge request is passed to `onEdge(req)` (for assertions)
 * before it is answered, after `hold(req)` settles when it returns a promise (a slow or silent
 * edge); `decide` and `bundle` are passed to {@link handleEdge}. The server's identity links live
 * in `directory`, and every notification event it received, in order, in `notifications`
 * (`{ action, xdm }`); both are returned too.
 */
export function startServer({
  port = 0,
  host = "127.0.0.1",
  onEdge = () => {},
  directory = createDirectory(),
  decide = undefined,
  bundle = undefined,
  hold = () => undefined,
  page = () => undefined,
} = {}) {
  const demoRoot = join(REPO_ROOT, "demo-site");
  const sdkDist = join(SDK_ROOT, "dist");
  const notifications = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    const html = page(url.pathname);
    if (html !== undefined) {
      const { body: text, type = TYPES[".html"], delay = 0 } = typeof html === "string" ? { body: html } : html;
      if (delay) await new Promise((r) => setTimeout(r, delay));
      res.writeHead(200, { "Content-Type": type, "Cache-Control": "no-store" }).end(text);
      return;
    }
    if (url.pathname.startsWith("/ee/")) {
      const origin = req.headers.origin;
      const cors = origin ? { "Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true", Vary: "Origin" } : {};
      if (req.method === "OPTIONS") {
        res.writeHead(204, { ...cors, "Access-Control-Allow-Methods": "POST", "Access-Control-Allow-Headers": "Content-Type" }).end();
        return;
      }
      let text = "";
      for await (const chunk of req) text += chunk;
      let body;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      const edgeReq = { url, headers: req.headers, body };
      await hold(edgeReq);
      onEdge(edgeReq);
      if (isNotification(body)) {
        const action = url.pathname.replace(/^.*\/v1\//, "");
        for (const event of body.events) notifications.push({ action, xdm: event.xdm });
      }
      const out = handleEdge({ pathname: url.pathname, searchParams: url.searchParams, body, cookieHeader: req.headers.cookie }, directory, decide, bundle);
      res.writeHead(out.status, { ...cors, ...(out.json ? { "Content-Type": "application/json" } : {}) });
      res.end(out.json ? JSON.stringify(out.json) : undefined);
      return;
    }
    const [rootDir, rel] = url.pathname.startsWith("/sdk/") ? [sdkDist, url.pathname.slice(5)] : [demoRoot, url.pathname.slice(1) || "index.html"];
    const file = normalize(join(rootDir, decodeURIComponent(rel)));
    if (!file.startsWith(rootDir)) return void res.writeHead(403).end();
    try {
      const data = await readFile(file.endsWith("/") ? join(file, "index.html") : file);
      res.writeHead(200, { "Content-Type": TYPES[extname(file)] || "application/octet-stream" }).end(data);
    } catch {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
    }
  });
  return new Promise((resolve) =>
    server.listen(port, host, () =>
      resolve({
        server,
        directory,
        notifications,
        origin: `http://${host}:${server.address().port}`,
        // Held requests never finish on their own.
        close: () => new Promise((r) => (server.close(r), server.closeAllConnections())),
      }),
    ),
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { origin } = await startServer({ port: Number(process.argv[2] || 8080), onEdge: ({ url }) => console.log("edge:", url.pathname) });
  console.log(`mock edge + Luma demo on ${origin}/ (Ctrl-C to stop)`);
}
