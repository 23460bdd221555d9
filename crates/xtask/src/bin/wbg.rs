//! `wbg`: the wasm-bindgen CLI subset that worker-build calls (through `WASM_BINDGEN_BIN`),
//! built from `wasm-bindgen-cli-support` at exactly the version in Cargo.lock, so the bindings
//! generator can never drift from the `wasm-bindgen` library compiled into the Wasm.
//!
//! Accepted: `<input.wasm> --out-dir DIR [--out-name NAME] [--target web|bundler|module|nodejs|experimental-nodejs-module|deno|no-modules]
//! [--typescript|--no-typescript] [--debug] [--no-demangle] [--keep-debug] [--omit-default-module-path]
//! [--split-linked-modules] [--experimental-reset-state-function] [--force-enable-abort-handler] [--version]`.

use anyhow::{Context, bail};
use wasm_bindgen_cli_support::Bindgen;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut b = Bindgen::new();
    let mut input = None;
    let mut out_dir = None;
    let mut target = "bundler".to_owned();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--version" | "-V" => {
                std::io::Write::write_all(
                    &mut std::io::stdout(),
                    format!("wasm-bindgen {}\n", xtask_wbg_version()).as_bytes(),
                )?;
                return Ok(());
            }
            "--out-dir" => out_dir = Some(value("--out-dir")?),
            "--out-name" => {
                b.out_name(&value("--out-name")?);
            }
            "--target" => target = value("--target")?,
            "--typescript" => {
                b.typescript(true);
            }
            "--no-typescript" => {
                b.typescript(false);
            }
            "--debug" => {
                b.debug(true);
            }
            "--no-demangle" => {
                b.demangle(false);
            }
            "--keep-debug" => {
                b.keep_debug(true);
            }
            "--omit-default-module-path" => {
                b.omit_default_module_path(true);
            }
            "--split-linked-modules" => {
                b.split_linked_modules(true);
            }
            "--experimental-reset-state-function" => {
                b.reset_state_function(true);
            }
            "--force-enable-abort-handler" => {
                b.force_enable_abort_handler(true);
            }
            other if other.starts_with('-') => bail!("wbg does not know the option {other}"),
            other => input = Some(other.to_owned()),
        }
    }
    match target.as_str() {
        "web" => b.web(true)?,
        "bundler" => b.bundler(true)?,
        "module" => b.module(true)?,
        "nodejs" => b.nodejs(true)?,
        "experimental-nodejs-module" => b.nodejs_module(true)?,
        "deno" => b.deno(true)?,
        "no-modules" => b.no_modules(true)?,
        other => bail!("wbg does not know the target {other}"),
    };
    let input = input.context("give the input .wasm file")?;
    let out_dir = out_dir.context("give --out-dir")?;
    b.input_path(&input).generate(&out_dir).with_context(|| format!("generating bindings for {input}"))?;
    Ok(())
}

/// The version of `wasm-bindgen-cli-support` compiled in (equal to the library's by Cargo.lock).
fn xtask_wbg_version() -> &'static str {
    env!("WBG_VERSION")
}
