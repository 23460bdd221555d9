// Ordering until the identity exists, retries, and how failures surface (edge-protocol.md §1.4, §3.2, §4.1).
import assert from "node:assert/strict";
import { mock, test } from "node:test";
import { createInstance, EdgeError } from "../dist/esm/index.js";
import { deferred, installBrowser, installFetch, tick } from "./support/env.mjs";
import { errorBody, identityCookieValue, identityHandles } from "./support/mock-edge.mjs";

const config = { datastreamId: "ds-luma", orgId: "LUMA123@AdobeOrg", edgeDomain: "edge.luma.test" };
const ECID = "52815286440582716171370361733432581330";

test("requests go one at a time until the identity cookie exists, then in parallel", async () => {
  installBrowser();
  const pending = [];
  const requests = installFetch(() => {
    const d = deferred();
    pending.push(d);
    return d.promise;
  });
  const sdk = createInstance(config);
  const first = [1, 2, 3].map((n) => sdk.sendEvent({ data: { n } }));
  await tick(5);
  assert.equal(requests.length, 1, "only the first request is out");
  assert.equal(requests[0].body.events[0].data.n, 1);

  // A response without the identity cookie releases the next one, still alone.
  pending[0].resolve({ body: { handle: [] } });
  await tick(5);
  assert.equal(requests.length, 2);
  assert.equal(requests[1].body.events[0].data.n, 2);
  assert.equal(requests[1].body.meta.state.entries, undefined);

  // This one establishes the identity: everything queued goes out at once, with the cookie.
  pending[1].resolve({ body: { handle: identityHandles(ECID) } });
  const more = [4, 5].map((n) => sdk.sendEvent({ data: { n } }));
  await tick(5);
  assert.equal(requests.length, 5, "the rest in parallel");
  assert.deepEqual(requests.map((r) => r.body.events[0].data.n), [1, 2, 3, 4, 5]);
  for (const r of requests.slice(2)) {
    assert.deepEqual(r.body.meta.state.entries, [{ key: "kndctr_LUMA123_AdobeOrg_identity", value: identityCookieValue(ECID) }]);
  }
  for (const d of pending.slice(2)) d.resolve({ body: { handle: [] } });
  const results = await Promise.all([...first, ...more]);
  assert.equal(results.length, 5);
});

test("with the identity cookie already set, requests start in parallel", async () => {
  const jar = installBrowser();
  jar.cookie = `kndctr_LUMA123_AdobeOrg_identity=${identityCookieValue(ECID)}; path=/`;
  const pending = [];
  const requests = installFetch(() => {
    const d = deferred();
    pending.push(d);
    return d.promise;
  });
  const sdk = createInstance(config);
  const all = [1, 2, 3].map((n) => sdk.sendEvent({ data: { n } }));
  await tick(5);
  assert.equal(requests.length, 3);
  for (const d of pending) d.resolve({ body: { handle: [] } });
  await Promise.all(all);
});

test("a failed first request does not block the queue", async () => {
  installBrowser();
  let n = 0;
  const requests = installFetch(() => (++n === 1 ? { status: 500, body: errorBody(500, "EXEG-0201-500", "Boom", "x") } : { body: { handle: identityHandles(ECID) } }));
  const sdk = createInstance(config);
  const [a, b] = await Promise.allSettled([sdk.sendEvent({}), sdk.sendEvent({})]);
  assert.equal(a.status, "rejected");
  assert.equal(b.status, "fulfilled");
  assert.equal(requests.length, 2);
});

test("503 is retried with the same requestId and body (Retry-After honoured)", async () => {
  installBrowser();
  const requests = installFetch((req, count) =>
    count <= 2 ? { status: 503, headers: { "Retry-After": "0" }, body: errorBody(503, "EXEG-0500-503", "Busy", "later") } : { body: { handle: identityHandles(ECID) } },
  );
  const result = await createInstance(config).sendEvent({ data: { a: 1 } });
  assert.equal(requests.length, 3);
  const ids = requests.map((r) => r.url.searchParams.get("requestId"));
  assert.equal(new Set(ids).size, 1, "same requestId on every attempt");
  assert.equal(result.requestId, ids[0]);
  assert.equal(new Set(requests.map((r) => r.init.body)).size, 1, "same body on every attempt");
  assert.deepEqual(result.identity, { ECID });
});

test("429/502/503/504 are retried at most 3 times, then the last answer rejects", async () => {
  installBrowser();
  const statuses = [429, 502, 504, 503];
  const requests = installFetch((req, count) => ({ status: statuses[count - 1], headers: { "Retry-After": "0" }, body: errorBody(503, "EXEG-0500-503", "Busy", "later") }));
  const err = await createInstance(config).sendEvent({}).catch((e) => e);
  assert.equal(requests.length, 4);
  assert.ok(err instanceof EdgeError);
  assert.equal(err.status, 503);
});

test("without Retry-After the backoff is about 1 s, 2 s, 3 s", async () => {
  installBrowser();
  mock.timers.enable({ apis: ["setTimeout"] });
  try {
    const at = [];
    let clock = 0;
    const requests = installFetch((req, count) => {
      at.push(clock);
      return count <= 3 ? { status: 502, body: "bad gateway" } : { body: { handle: [] } };
    });
    let done = false;
    const sent = createInstance(config).sendEvent({}).then(() => (done = true));
    while (!done && clock < 20_000) {
      await new Promise((r) => setImmediate(r));
      mock.timers.tick(50);
      clock += 50;
    }
    await sent;
    assert.equal(requests.length, 4);
    const gaps = at.slice(1).map((t, i) => t - at[i]);
    gaps.forEach((gap, i) => {
      const base = (i + 1) * 1000;
      assert.ok(gap >= base * 0.7 - 60 && gap <= base * 1.3 + 60, `gap ${i + 1} is ${gap} ms, expected ${base} ± 30 %`);
    });
  } finally {
    mock.timers.reset();
  }
});

test("a 400 rejects with an EdgeError carrying the edge's error body", async () => {
  installBrowser();
  const body = { ...errorBody(400, "EXEG-0003-400", "Invalid datastream ID", "The datastream ID 'nope' referenced in your request does not exist."), report: { requestId: "r" } };
  const requests = installFetch(() => ({ status: 400, body }));
  const err = await createInstance({ ...config, datastreamId: "nope" }).sendEvent({}).catch((e) => e);
  assert.equal(requests.length, 1, "4xx is not retried");
  assert.ok(err instanceof EdgeError);
  assert.ok(err instanceof Error);
  assert.equal(err.name, "EdgeError");
  assert.equal(err.status, 400);
  assert.equal(err.type, "https://ns.adobe.com/aep/errors/EXEG-0003-400");
  assert.equal(err.title, "Invalid datastream ID");
  assert.equal(err.detail, "The datastream ID 'nope' referenced in your request does not exist.");
  assert.deepEqual(err.report, { requestId: "r" });
  assert.deepEqual(err.body, body);
  assert.equal(err.requestId, requests[0].url.searchParams.get("requestId"));
  assert.match(err.message, /status 400: Invalid datastream ID\. The datastream ID 'nope'/);
});

test("2xx bodies that are not JSON or lack a handle array reject; 204 resolves empty", async () => {
  installBrowser();
  const answers = [
    { status: 200, body: "<html>oops</html>", headers: { "Content-Type": "text/html" } },
    { status: 200, body: { nohandle: true } },
    { status: 204 },
    { status: 500, body: "plain failure", headers: { "Content-Type": "text/plain" } },
  ];
  installFetch((req, count) => answers[count - 1]);
  const sdk = createInstance(config);
  await assert.rejects(sdk.sendEvent({}), (e) => e instanceof EdgeError && /not JSON: <html>oops/.test(e.message));
  await assert.rejects(sdk.sendEvent({}), (e) => e instanceof EdgeError && /no handle array/.test(e.message));
  const empty = await sdk.sendEvent({});
  assert.deepEqual(empty.handle, []);
  assert.deepEqual(empty.propositions, []);
  await assert.rejects(sdk.sendEvent({}), (e) => e.status === 500 && e.body === "plain failure" && /response body: plain failure/.test(e.message));
  installFetch(() => ({ status: 400, body: { oops: 1 } }));
  await assert.rejects(sdk.sendEvent({}), (e) => e.status === 400 && e.message.endsWith('response body: {"oops":1}'));
});

test("a network failure rejects the call", async () => {
  installBrowser();
  globalThis.fetch = async () => {
    throw new TypeError("Failed to fetch");
  };
  await assert.rejects(createInstance(config).sendEvent({}), { name: "TypeError", message: "Failed to fetch" });
});
