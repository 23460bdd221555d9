//! The size report: raw and gzip sizes of what browsers and edges load, against the budgets.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::util::{root, say};

/// The JS a page loads before its first event, gzip (a fifth of the Adobe Web SDK's 51.8 KB).
const CRITICAL_PATH_BUDGET: u64 = 10 * 1024;
/// sdk-js and the browser Wasm core together, gzip.
const BROWSER_TOTAL_BUDGET: u64 = 52 * 1024;
/// The worker's Wasm, gzip (Cloudflare's free plan allows 3 MB).
const WORKER_BUDGET: u64 = 1024 * 1024;

/// One measured file.
struct Measured {
    name: &'static str,
    raw: u64,
    gzip: u64,
}

fn measure(name: &'static str, path: &Path) -> anyhow::Result<Measured> {
    let bytes = std::fs::read(path).with_context(|| format!("{} is missing: build it first", path.display()))?;
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(&bytes)?;
    let gzip = gz.finish()?.len() as u64;
    Ok(Measured { name, raw: bytes.len() as u64, gzip })
}

/// Measures, prints the table, writes `target/size-report.json`, and fails over budget.
pub(crate) fn report() -> anyhow::Result<serde_json::Value> {
    let r = root();
    let files = [
        ("sdk-js critical path (dist/edgecdp.min.js)", "sdk-js/dist/edgecdp.min.js"),
        ("sdk-js lazy core loader (dist/edgecdp-core.js)", "sdk-js/dist/edgecdp-core.js"),
        ("sdk-js lazy renderer (dist/edgecdp-render.js)", "sdk-js/dist/edgecdp-render.js"),
        ("browser Wasm core (edgecdp_wasm_bg.wasm)", "sdk-js/wasm/edgecdp_wasm_bg.wasm"),
        ("browser Wasm glue (edgecdp_wasm.js)", "sdk-js/wasm/edgecdp_wasm.js"),
        ("worker Wasm (index_bg.wasm)", "worker/build/index_bg.wasm"),
        ("on-device decider, opt-in and lazy (edgecdp_wasm_device_bg.wasm)", "sdk-js/wasm/edgecdp_wasm_device_bg.wasm"),
        ("worker JS (index.js)", "worker/build/index.js"),
    ];
    let measured: Vec<Measured> =
        files.iter().map(|(name, path)| measure(name, &r.join(path))).collect::<anyhow::Result<_>>()?;
    let gz = |i: usize| measured[i].gzip;
    let critical = gz(0);
    let browser_total = gz(0) + gz(1) + gz(2) + gz(3) + gz(4);
    let worker = gz(5);
    let mut table = String::from("\nsize report (gzip at the default level)\n");
    for m in &measured {
        table.push_str(&format!("  {:<50} {:>9} B raw {:>9} B gzip\n", m.name, m.raw, m.gzip));
    }
    let checks = [
        ("sdk-js critical path", critical, CRITICAL_PATH_BUDGET),
        ("sdk-js + browser Wasm core", browser_total, BROWSER_TOTAL_BUDGET),
        ("worker Wasm", worker, WORKER_BUDGET),
    ];
    for (name, value, budget) in checks {
        table.push_str(&format!(
            "  budget {:<43} {:>9} B gzip of {:>9} B  {}\n",
            name,
            value,
            budget,
            if value <= budget { "ok" } else { "OVER" }
        ));
    }
    say(&table);
    let json = serde_json::json!({
        "files": measured.iter().map(|m| serde_json::json!({"name": m.name, "raw": m.raw, "gzip": m.gzip})).collect::<Vec<_>>(),
        "budgets": checks.iter().map(|(n, v, b)| serde_json::json!({"name": n, "gzip": v, "budget": b, "ok": v <= b})).collect::<Vec<_>>(),
    });
    std::fs::create_dir_all(r.join("target"))?;
    std::fs::write(r.join("target/size-report.json"), serde_json::to_vec_pretty(&json)?)?;
    let over: Vec<_> = checks.iter().filter(|(_, v, b)| v > b).map(|(n, v, b)| format!("{n}: {v} B > {b} B")).collect();
    if !over.is_empty() {
        bail!("over the size budget: {}", over.join("; "));
    }
    Ok(json)
}
