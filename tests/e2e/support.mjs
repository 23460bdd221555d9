// Shared parts of the end-to-end tests: the real `edgecdp serve` (origin + native edge), the real
// worker in workerd (Miniflare), headless Chromium, and reading the SQLite store. Every test
// starts what it needs and stops it. `cargo xtask test` sets EDGECDP_BIN, EDGECDP_WORKER_DIR and
// CHROMIUM_PATH; the defaults work from the repository root after a build.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const BIN = process.env.EDGECDP_BIN || join(ROOT, "target/debug/edgecdp");
export const WORKER_DIR = process.env.EDGECDP_WORKER_DIR || join(ROOT, "worker/build");
export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
export const ORG_COOKIE = "kndctr_LUMA123_AdobeOrg_identity";
/** The embedded demo configuration's public secrets (crates/origin/demo.toml). */
export const DEMO_SECRETS = {
  sync: "demo-sync-secret-not-secret-0001",
  cookieKeys: "demo-cookie-key-not-secret-0001",
  admin: "demo-admin-key",
};

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), `edgecdp-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Reads lines of a child's stdout until `pattern` matches; resolves the match. */
export function waitForLine(child, pattern, what, timeoutMs = 60_000) {
  return new Promise((resolve, reject) => {
    let buffered = "";
    const timer = setTimeout(() => reject(new Error(`${what}: no line matching ${pattern} within ${timeoutMs} ms; got:\n${buffered}`)), timeoutMs);
    child.stdout.on("data", (chunk) => {
      buffered += chunk;
      const m = pattern.exec(buffered);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before printing ${pattern}:\n${buffered}`));
    });
  });
}

/**
 * Starts `edgecdp serve` (embedded demo configuration) with its own SQLite file, serving
 * demo-site and sdk-js/dist from the repository: on a free port, or on `options.port` with
 * `options.database` (to restart an origin where it was). `options.tls` (`{ certFile, keyFile,
 * cert }`, see `makeCertificate`) serves https.
 */
export async function startOrigin(options = {}) {
  const tmp = options.database ? null : tempDir("origin");
  const database = options.database || join(tmp.dir, "origin.sqlite");
  const tls = options.tls ? ["--tls-cert", options.tls.certFile, "--tls-key", options.tls.keyFile] : [];
  const child = spawn(BIN, ["serve", "--listen", `127.0.0.1:${options.port || 0}`, "--database", database,
    "--site-dir", join(ROOT, "demo-site"), "--sdk-dir", join(ROOT, "sdk-js/dist"), ...tls, ...(options.args || [])], {
    cwd: ROOT,
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || "warn" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [, url] = await waitForLine(child, /edgecdp listening on (https?:\/\/\S+)/, "edgecdp serve");
  const exited = new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", r)));
  return {
    url,
    port: Number(new URL(url).port),
    database,
    child,
    ca: options.tls?.cert,
    /** SIGKILL: no shutdown, no flush; what SQLite committed must survive. */
    async kill() {
      child.kill("SIGKILL");
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
      tmp?.remove();
    },
  };
}

/**
 * Miniflare's options for the built worker in `workerDir` with `bindings`, on a free loopback
 * port (what the tests and `cargo xtask bench-edge` run).
 */
export function workerOptions(workerDir, bindings) {
  return {
    scriptPath: join(workerDir, "index.js"),
    modulesRoot: workerDir,
    modules: true,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    compatibilityDate: "2025-09-23",
    kvNamespaces: ["EDGE_STATE"],
    kvPersist: false,
    bindings,
    host: "127.0.0.1",
    port: 0,
  };
}

/**
 * Starts the built worker in workerd (Miniflare), pointed at `originUrl`, on a free port;
 * `bindings` adds or replaces bindings (e.g. `EDGECDP_UPSTREAM_URL` for proxy mode), `options`
 * Miniflare's own options (e.g. `httpsKey`/`httpsCert` to serve https).
 */
export async function startWorker(originUrl, bindings = {}, options = {}) {
  const { Miniflare } = await import("miniflare");
  const mf = new Miniflare({ ...workerOptions(WORKER_DIR, {
    EDGECDP_ORIGIN_URL: originUrl,
    EDGECDP_EDGE_NAME: "worker-e2e",
    EDGECDP_SYNC_SECRET: DEMO_SECRETS.sync,
    EDGECDP_COOKIE_KEYS: DEMO_SECRETS.cookieKeys,
    // Deletions reach the edge with the next snapshot: recheck every second in tests.
    EDGECDP_SNAPSHOT_RECHECK_SECS: "1",
    ...bindings,
  }), ...options });
  const url = (await mf.ready).href.replace(/\/$/, "");
  return {
    url,
    stop: () => mf.dispose(),
    /** Runs the cron trigger (it drains the sync outbox). */
    async scheduled() {
      const worker = await mf.getWorker();
      return worker.scheduled({ cron: "* * * * *" });
    },
  };
}

/**
 * Events without the personalization notifications (`decisioning.propositionDisplay` and
 * `…Interact`, which the SDK sends after rendering): what the visitor did.
 */
export function visitorEvents(events) {
  return events.filter((e) => !String(e.eventType).startsWith("decisioning."));
}

/** The events stored for `ecid`, read from the SQLite file itself (`edgecdp events`). */
export function storedEvents(database, ecid, limit = 1000) {
  const out = execFileSync(BIN, ["events", "--database", database, "--ecid", ecid, "--limit", String(limit)], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  return out.split("\n").filter(Boolean).map((line) => JSON.parse(line));
}

/** Polls `fn` until it returns a truthy value (the worker ships batches after responding). */
export async function eventually(fn, what, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Headless Chromium with a fresh profile; `close()` removes the profile. */
export async function launchBrowser() {
  const { chromium } = await import("playwright-core");
  const profile = tempDir("chromium");
  const context = await chromium.launchPersistentContext(profile.dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const requests = [];
  context.on("request", (r) => requests.push(r.url()));
  return {
    context,
    requests,
    async close() {
      await context.close();
      profile.remove();
    },
  };
}

/** Opens `url` and waits for the Luma page's page view to be answered; returns the page and ECID. */
export async function openLumaPage(context, url) {
  const page = await context.newPage();
  const messages = [];
  page.on("console", (m) => messages.push(`${m.type()}: ${m.text()}`));
  await page.goto(url);
  await page.waitForFunction(() => document.documentElement.dataset.pageview, null, { timeout: 15_000 });
  const state = await page.evaluate(() => ({ ...document.documentElement.dataset }));
  if (state.pageview !== "sent") {
    throw new Error(`the page view failed: ${state.pageview}\nconsole:\n${messages.join("\n")}`);
  }
  return { page, ecid: state.ecid };
}

/** The identity cookie the browser holds for `url`. */
export async function identityCookie(context, url) {
  const cookies = await context.cookies(url);
  return cookies.find((c) => c.name === ORG_COOKIE);
}

/** Decodes an identity cookie value with the core (the browser Wasm build, in Node). */
export async function decodeCookie(value) {
  const glue = await import(new URL("../../sdk-js/wasm/edgecdp_wasm.js", import.meta.url));
  glue.initSync({ module: readFileSync(new URL("../../sdk-js/wasm/edgecdp_wasm_bg.wasm", import.meta.url)) });
  const r = glue.decodeIdentityCookie(value);
  if (!r.ok) throw new Error(`the identity cookie does not decode: ${r.error.message}`);
  return r.value;
}

/**
 * The URL of a storefront page served by `origin`, with `params`; with a `worker`, the page
 * points sdk-js at the worker's edge (`?edge=`).
 */
export function lumaUrl(origin, worker, path, params = {}) {
  const u = new URL(origin.url + path);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  if (worker) u.searchParams.set("edge", worker.url);
  return u.href;
}

/**
 * Calls the origin's admin API with the demo key; resolves `{ status, body }`. An origin serving
 * https (`startOrigin({ tls })`) is called with its test certificate as the trusted root.
 */
export async function admin(origin, method, path, body) {
  const headers = { authorization: `Bearer ${DEMO_SECRETS.admin}`, "content-type": "application/json" };
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const { status, text } = origin.ca
    ? await httpsRequest(origin.url + path, { method, headers, body: payload, ca: origin.ca })
    : await fetch(origin.url + path, { method, headers, body: payload }).then(async (r) => ({ status: r.status, text: await r.text() }));
  return { status, body: text ? JSON.parse(text) : null };
}

/** One request over https trusting `ca` (Node's fetch has no per-call trust roots). */
export function httpsRequest(url, { method = "GET", headers = {}, body, ca }) {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers, ca }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Uploads a demo data file (`demo-data/`) to a dataset through the admin API; fails the test unless it is imported. */
export async function uploadDemoData(origin, dataset, file) {
  const contentType = file.endsWith(".csv") ? "text/csv" : "application/x-ndjson";
  const r = await fetch(`${origin.url}/api/datasets/${dataset}/batches`, {
    method: "POST",
    headers: { authorization: `Bearer ${DEMO_SECRETS.admin}`, "content-type": contentType },
    body: readFileSync(join(ROOT, "demo-data", file)),
  });
  const body = await r.json();
  if (r.status !== 200) throw new Error(`upload of ${file} to ${dataset}: ${r.status} ${JSON.stringify(body)}`);
  return body;
}

/**
 * A self-signed certificate for `*.luma.test`, `luma.test` and 127.0.0.1 (openssl), in a
 * temporary directory: `{ certFile, keyFile, cert, key, remove }`.
 */
export function makeCertificate() {
  const dir = tempDir("tls");
  const certFile = join(dir.dir, "cert.pem");
  const keyFile = join(dir.dir, "key.pem");
  try {
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", certFile,
      "-days", "2", "-subj", "/CN=luma.test", "-addext", "subjectAltName=DNS:*.luma.test,DNS:luma.test,IP:127.0.0.1"],
    { stdio: ["ignore", "ignore", "pipe"] });
  } catch (e) {
    dir.remove();
    throw new Error(`cannot make a test certificate with openssl (apt-get install openssl): ${e.stderr || e.message}`);
  }
  return { certFile, keyFile, cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8"), remove: dir.remove };
}
