// Runs the built worker (worker/build) in workerd through Miniflare for `cargo xtask bench-edge`,
// with the options the end-to-end tests use (tests/e2e/support.mjs `workerOptions`), on a free
// loopback port.
//
//   EDGECDP_SYNC_SECRET=... EDGECDP_COOKIE_KEYS=... node bench/worker.mjs ORIGIN_URL [WORKER_DIR]
//
// The secrets are the origin's (the benchmark passes those of its configuration).
// Prints one JSON line once listening: { "url": "http://127.0.0.1:PORT", "pid": NODE_PID }.
// Stops (disposing Miniflare, which stops workerd) when its stdin closes or on SIGTERM/SIGINT,
// so the caller never leaves a workerd behind.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { workerOptions } from "../tests/e2e/support.mjs";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const [originUrl, workerDir = join(ROOT, "worker/build")] = process.argv.slice(2);
const { EDGECDP_SYNC_SECRET, EDGECDP_COOKIE_KEYS } = process.env;
if (!originUrl || !EDGECDP_SYNC_SECRET || !EDGECDP_COOKIE_KEYS) {
  console.error("usage: EDGECDP_SYNC_SECRET=... EDGECDP_COOKIE_KEYS=... node bench/worker.mjs ORIGIN_URL [WORKER_DIR]");
  process.exit(2);
}

const mf = new Miniflare(workerOptions(workerDir, {
  EDGECDP_ORIGIN_URL: originUrl,
  EDGECDP_EDGE_NAME: "worker-bench",
  EDGECDP_SYNC_SECRET,
  EDGECDP_COOKIE_KEYS,
}));

let stopping = null;
function stop() {
  stopping ??= mf.dispose().finally(() => process.exit(0));
  return stopping;
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
process.stdin.on("error", stop);
process.stdin.resume();

try {
  const url = (await mf.ready).href.replace(/\/$/, "");
  process.stdout.write(`${JSON.stringify({ url, pid: process.pid })}\n`);
} catch (e) {
  console.error(`Miniflare did not start: ${e?.stack ?? e}`);
  await stop();
}
