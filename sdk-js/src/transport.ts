/**
 * HTTP to the edge: one POST with Adobe-compatible retries, and the response rules of the
 * protocol (reject on non-2xx, on a non-JSON body, on a body without a `handle` array).
 */
import type { EdgeProblem, Handle } from "./types.js";

/** The response envelope of the edge. */
export interface EdgeResponse {
  requestId?: string;
  handle: Handle[];
  errors?: EdgeProblem[];
  warnings?: EdgeProblem[];
}

/**
 * A failed edge request. For a non-2xx answer it carries the edge's error body
 * (`type`, `status`, `title`, `detail`, `report`) as fields and as `body`.
 */
export class EdgeError extends Error {
  /** The HTTP status of the (last) response. */
  declare readonly status: number;
  /** Error type URI from the body, e.g. `https://ns.adobe.com/aep/errors/EXEG-0003-400`. */
  declare readonly type?: string;
  declare readonly title?: string;
  declare readonly detail?: string;
  declare readonly report?: Record<string, unknown>;
  /** The whole response body: parsed JSON, or the text when it was not JSON. */
  declare readonly body: unknown;
  /** The requestId the SDK sent. */
  declare readonly requestId: string;

  constructor(status: number, body: unknown, requestId: string, problem?: string) {
    const b = (body && typeof body == "object" ? body : {}) as EdgeProblem;
    super(
      "The edge responded with status " + status +
        (problem ||
          (b.title || b.detail
            ? ": " + [b.title, b.detail].filter(Boolean).join(". ") + (b.type ? " (" + b.type + ")" : "")
            : " and response body: " + (typeof body == "string" ? body : JSON.stringify(body)).slice(0, 300))),
    );
    this.name = "EdgeError";
    Object.assign(this, { type: b.type, title: b.title, detail: b.detail, report: b.report });
    Object.assign(this, { status, body, requestId });
  }
}

const RETRYABLE = [429, 502, 503, 504];
const MAX_RETRIES = 3;
/** A server may ask for a long pause; a page cannot wait for it forever. */
const MAX_RETRY_AFTER_MS = 30_000;

/** POSTs `body` as text/plain (a CORS simple request: no preflight), retrying 429/502/503/504. */
export async function post(url: string, body: string): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(url, {
      method: "POST",
      body,
      credentials: "include",
      cache: "no-cache",
      headers: { "Content-Type": "text/plain; charset=UTF-8" },
    });
    if (attempt > MAX_RETRIES || !RETRYABLE.includes(res.status)) return res;
    await new Promise((r) => setTimeout(r, retryDelay(res.headers.get("Retry-After"), attempt)));
  }
}

/**
 * POSTs `body` with `keepalive`, so that the browser delivers it even when the page unloads (a
 * click on a link): for `/v1/collect`, whose answer (204) carries nothing to read.
 */
export function beacon(url: string, body: string): Promise<unknown> {
  return fetch(url, {
    method: "POST",
    body,
    credentials: "include",
    keepalive: true,
    headers: { "Content-Type": "text/plain; charset=UTF-8" },
  });
}

/** `Retry-After` (seconds or an HTTP date) when given, else about 1 s, 2 s, 3 s ± 30 %. */
export function retryDelay(retryAfter: string | null, attempt: number): number {
  if (retryAfter) {
    const seconds = Number(retryAfter);
    const ms = seconds >= 0 ? seconds * 1000 : Date.parse(retryAfter) - Date.now();
    if (ms === ms) return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
  }
  return attempt * 1000 * (0.7 + Math.random() * 0.6);
}

/** Reads an edge response; throws {@link EdgeError} where the protocol says the call fails. */
export async function parse(res: Response, requestId: string): Promise<EdgeResponse> {
  if (res.status == 204) return { handle: [] };
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    if (res.ok) throw new EdgeError(res.status, text, requestId, " and a body that is not JSON: " + text.slice(0, 300));
  }
  if (!res.ok) throw new EdgeError(res.status, body, requestId);
  if (!body || !Array.isArray((body as EdgeResponse).handle)) {
    throw new EdgeError(res.status, body, requestId, " but its body has no handle array");
  }
  return body as EdgeResponse;
}
