//! Building the artifacts: the browser Wasm core, sdk-js, the worker.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

use crate::util::{cargo, npm, root, run};

/// Where the browser core goes (sdk-js loads it lazily from there).
pub(crate) const BROWSER_WASM_DIR: &str = "sdk-js/wasm";

/// The `wasm-opt` features the output may use: rustc's wasm32 defaults. Listed explicitly so
/// that binaryen never emits newer encodings than browsers and workerd read.
const WASM_FEATURES: [&str; 6] = [
    "--enable-mutable-globals",
    "--enable-sign-ext",
    "--enable-nontrapping-float-to-int",
    "--enable-bulk-memory",
    "--enable-multivalue",
    "--enable-reference-types",
];

/// The browser core: `cargo build` (profile `wasm-release`), bindings generated in-process by
/// `wasm-bindgen-cli-support` (the version in Cargo.lock), then `wasm-opt -Oz`.
/// The on-device decider (`edgecdp-wasm-device`, loaded only when the edge sends a client bundle)
/// is built the same way, beside it.
pub(crate) fn browser_wasm() -> anyhow::Result<()> {
    for (package, name) in [("edgecdp-wasm", "edgecdp_wasm"), ("edgecdp-wasm-device", "edgecdp_wasm_device")] {
        run(cargo().args(["build", "-p", package, "--target", "wasm32-unknown-unknown", "--profile", "wasm-release"]))?;
        let input = root().join(format!("target/wasm32-unknown-unknown/wasm-release/{name}.wasm"));
        let out = root().join(BROWSER_WASM_DIR);
        std::fs::create_dir_all(&out)?;
        wasm_bindgen_cli_support::Bindgen::new()
            .input_path(&input)
            .web(true)?
            .typescript(true)
            .out_name(name)
            .generate(&out)
            .with_context(|| format!("wasm-bindgen failed on {}", input.display()))?;
        wasm_opt(&out.join(format!("{name}_bg.wasm")), "-Oz")?;
    }
    Ok(())
}

/// `wasm-opt` from npm's binaryen (the only one that reads wasm-bindgen's current output).
fn wasm_opt(file: &Path, level: &str) -> anyhow::Result<()> {
    let bin = root().join("node_modules/.bin/wasm-opt");
    if !bin.exists() {
        bail!("{} is missing: run `npm ci` (cargo xtask setup)", bin.display());
    }
    run(Command::new(bin)
        .arg(level)
        .args(WASM_FEATURES)
        .args(["--strip-debug", "--strip-producers"])
        .arg(file)
        .arg("-o")
        .arg(file))
}

/// sdk-js: ESM + IIFE bundles and type declarations (`npm run build -w sdk-js`).
pub(crate) fn sdk() -> anyhow::Result<()> {
    run(npm().args(["run", "build", "-w", "sdk-js"]))
}

/// The worker, with worker-build, into `worker/build/`.
///
/// worker-build is given our `wbg` as its wasm-bindgen (same version as the library, no
/// download), npm's wasm-opt and esbuild, and its own target directory: it sets
/// `WASM_BINDGEN_USE_JS_SYS`, which cargo does not track, so sharing `target/` with the browser
/// build would make each rebuild the other's dependencies.
pub(crate) fn worker() -> anyhow::Result<()> {
    run(cargo().args(["build", "-p", "xtask", "--bin", "wbg"]))?;
    let root = root();
    let bin = |p: &str| root.join(p);
    run(Command::new("worker-build")
        .args(["--profile", "worker-release"])
        .current_dir(root.join("worker"))
        .env("WASM_BINDGEN_BIN", bin("target/debug/wbg"))
        .env("WASM_OPT_BIN", bin("node_modules/.bin/wasm-opt"))
        .env("ESBUILD_BIN", bin("node_modules/.bin/esbuild"))
        .env("CARGO_TARGET_DIR", bin("target/worker")))?;
    let wasm = root.join("worker/build/index_bg.wasm");
    if !wasm.exists() {
        bail!("worker-build produced no {}", wasm.display());
    }
    Ok(())
}
