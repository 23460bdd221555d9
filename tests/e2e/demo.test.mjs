// `cargo xtask demo` itself: it builds what it needs and serves the Luma page on the embedded
// default; opening the page in Chromium sets the ECID cookie and stores the page view.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import {
  ROOT, decodeCookie, eventually, identityCookie, launchBrowser, openLumaPage, storedEvents, tempDir, waitForLine,
} from "./support.mjs";

test("cargo xtask demo serves the Luma page; the page view is stored under the cookie's ECID", { timeout: 600_000 }, async () => {
  const tmp = tempDir("demo");
  const database = join(tmp.dir, "demo.sqlite");
  const demo = spawn("cargo", ["xtask", "demo", "--port", "0", "--database", database], {
    cwd: ROOT,
    detached: true, // its own process group: stopping it stops `edgecdp serve` too
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, RUST_LOG: "warn" },
  });
  const browser = await launchBrowser();
  try {
    const [, url] = await waitForLine(demo, /edgecdp listening on (http:\/\/\S+)/, "cargo xtask demo", 540_000);
    const { ecid } = await openLumaPage(browser.context, `${url}/`);
    const cookie = await identityCookie(browser.context, url);
    assert.deepEqual(await decodeCookie(cookie.value), { ecid, signed: true });
    // The page view, and the display notification of what the edge decided for the page.
    const types = await eventually(() => {
      const events = storedEvents(database, ecid).map((e) => e.eventType);
      return events.includes("web.webpagedetails.pageViews") && events.includes("decisioning.propositionDisplay") && events;
    }, "the page view and its display notification in the demo's SQLite file");
    assert.deepEqual([...types].sort(), ["decisioning.propositionDisplay", "web.webpagedetails.pageViews"]);
    assert.equal(await (await browser.context.newPage()).goto(`${url}/healthz`).then((r) => r.status()), 200);
  } finally {
    await browser.close();
    try {
      process.kill(-demo.pid, "SIGTERM");
    } catch {}
    await new Promise((r) => (demo.exitCode !== null ? r() : demo.once("exit", r)));
    tmp.remove();
  }
});
