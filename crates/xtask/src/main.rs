//! `cargo xtask`: edgecdp's one task runner.
//!
//! ```text
//! cargo xtask demo   [--port 8080] [--database PATH]   the Luma demo on the embedded default
//! cargo xtask test   [--skip-e2e]                      every gate and every test, as CI runs them
//! cargo xtask setup  [--browser]                       install what a fresh machine lacks
//! cargo xtask build-wasm | build-sdk | build-worker    the Wasm core, sdk-js, the worker
//! cargo xtask size                                     size report with budgets (fails when over)
//! cargo xtask bench                                    criterion benchmarks
//! cargo xtask bench-edge [--duration 10] [--host ...]   edge throughput: interact vs /healthz
//! cargo xtask fmt | lint                               rustfmt, clippy (host and wasm32)
//! ```

mod artifacts;
mod bench_edge;
mod setup;
mod size;
mod util;

use std::time::Instant;

use anyhow::{Context, bail};

use crate::util::{cargo, root, run, step};

const HELP: &str = "\
cargo xtask <command>

Commands:
  demo [--port N] [--database PATH]
                 Build the browser Wasm core and sdk-js, import the Luma demo data
                 (demo-data/: CRM contacts, loyalty, purchase history) with `edgecdp import`,
                 then run `edgecdp serve` with the embedded Luma demo configuration on
                 http://localhost:8080 (Ctrl-C stops).
                 Installs the wasm32 target and npm packages when missing.
  test [--skip-e2e]
                 fmt check, clippy -D warnings (host and wasm32), cargo test, Wasm and worker
                 builds with the size report, Wasm binding tests, sdk-js tests and the
                 end-to-end tests (headless Chromium, workerd). Installs what is missing
                 (wasm32 target, npm packages, worker-build, Chromium via apt when root).
  setup [--browser]
                 Install the wasm32 target, npm packages and worker-build (and Chromium).
  build-wasm     Build the browser Wasm core into sdk-js/wasm/.
  build-sdk      Build sdk-js into sdk-js/dist/ (builds the Wasm core first).
  build-worker   Build the Cloudflare Worker into worker/build/ (worker-build).
  size           Print the size report and check the budgets.
  bench          Run the criterion benchmarks.
  bench-edge [--duration SECS] [--warmup SECS] [--connections N] [--host native|worker] ...
                 Edge throughput under local load: POST /ee/v1/interact (page views asking
                 for decisions, 150 segments, 100 offers) against GET /healthz of the same
                 host, natively (release edgecdp) and in workerd (run build-worker first);
                 target ratio ≥ 0.75. Writes target/bench-edge.json. --help lists options.
  fmt            Format the workspace.
  lint           cargo fmt --check, clippy -D warnings (host and wasm32), fuzz targets compile.
";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = args.first() else {
        print_help();
        return Ok(());
    };
    let rest = &args[1..];
    std::env::set_current_dir(root()).context("cannot enter the workspace root")?;
    match command.as_str() {
        "demo" => demo(rest),
        "test" => test(rest),
        "setup" => {
            setup::toolchain()?;
            setup::npm_packages()?;
            setup::worker_build()?;
            if rest.iter().any(|a| a == "--browser") {
                setup::e2e_tools()?;
            }
            Ok(())
        }
        "build-wasm" => {
            setup::toolchain()?;
            setup::npm_packages()?;
            artifacts::browser_wasm()
        }
        "build-sdk" => {
            setup::toolchain()?;
            setup::npm_packages()?;
            artifacts::browser_wasm()?;
            artifacts::sdk()
        }
        "build-worker" => {
            setup::toolchain()?;
            setup::npm_packages()?;
            setup::worker_build()?;
            artifacts::worker()
        }
        "size" => size::report().map(|_| ()),
        "bench" => run(cargo().args(["bench", "-p", "edgecdp-core"])),
        "bench-edge" => bench_edge::run_bench(rest),
        "fmt" => run(cargo().args(["fmt", "--all"])),
        "lint" => {
            setup::toolchain()?;
            lint()
        }
        "help" | "--help" | "-h" => {
            print_help();
            Ok(())
        }
        other => {
            print_help();
            bail!("unknown command {other:?}")
        }
    }
}

fn print_help() {
    print_text(HELP);
}

/// Writes a report or help text to stdout (progress goes to stderr through `util::say`).
#[allow(clippy::print_stdout, reason = "reports and help are the task's output")]
pub(crate) fn print_text(text: &str) {
    print!("{text}");
}

fn flag_value<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map(String::as_str)
}

fn lint() -> anyhow::Result<()> {
    step("cargo fmt --check", || run(cargo().args(["fmt", "--all", "--", "--check"])))?;
    step("clippy (host)", || run(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])))?;
    step("fuzz targets compile (cargo check fuzz/)", || {
        run(cargo().args(["check", "--quiet", "--manifest-path", "fuzz/Cargo.toml", "--bins"]))
    })?;
    step("clippy (wasm32: worker, browser bindings, HTML rewriter)", || {
        run(cargo().args([
            "clippy",
            "-p",
            "edgecdp-worker",
            "-p",
            "edgecdp-wasm",
            "-p",
            "edgecdp-wasm-device",
            "-p",
            "edgecdp-rewrite",
            "--target",
            "wasm32-unknown-unknown",
            "--",
            "-D",
            "warnings",
        ]))
    })
}

/// The Luma demo data: dataset, file in `demo-data/` (generated by `demo-data/generate.py`).
const DEMO_DATA: [(&str, &str); 3] =
    [("crm-contacts", "crm-contacts.csv"), ("loyalty", "loyalty.csv"), ("web-history", "web-history.jsonl")];

fn demo(args: &[String]) -> anyhow::Result<()> {
    setup::toolchain()?;
    setup::npm_packages()?;
    step("build the browser Wasm core", artifacts::browser_wasm)?;
    step("build sdk-js", artifacts::sdk)?;
    step("build edgecdp", || run(cargo().args(["build", "-p", "edgecdp-origin"])))?;
    let database = flag_value(args, "--database");
    step("load the Luma demo data (demo-data/; files imported before change nothing)", || {
        for (dataset, file) in DEMO_DATA {
            let mut import = std::process::Command::new(root().join("target/debug/edgecdp"));
            import.args(["import", "--dataset", dataset]);
            if let Some(db) = database {
                import.args(["--database", db]);
            }
            // Reports go to stderr with the other progress lines: stdout is the server's.
            import.arg(root().join("demo-data").join(file)).stdout(std::io::stderr());
            run(&mut import)?;
        }
        Ok(())
    })?;
    let port = flag_value(args, "--port").unwrap_or("8080");
    let mut serve = std::process::Command::new(root().join("target/debug/edgecdp"));
    serve.args(["serve", "--listen", &format!("127.0.0.1:{port}")]);
    if let Some(db) = database {
        serve.args(["--database", db]);
    }
    if port == "0" {
        util::say("Starting the Luma demo on a free port (the address follows); Ctrl-C stops.");
    } else {
        util::say(&format!("Starting the Luma demo: open http://localhost:{port}/ (Ctrl-C stops)."));
    }
    run(&mut serve)
}

fn test(args: &[String]) -> anyhow::Result<()> {
    let started = Instant::now();
    let skip_e2e = args.iter().any(|a| a == "--skip-e2e");
    step("setup: wasm32 target", setup::toolchain)?;
    step("setup: npm packages", setup::npm_packages)?;
    step("setup: worker-build", setup::worker_build)?;
    if !skip_e2e {
        step("setup: Chromium, openssl, python3", setup::e2e_tools)?;
    }
    lint()?;
    step("cargo test --workspace", || run(cargo().args(["test", "--workspace"])))?;
    step("build the browser Wasm core", artifacts::browser_wasm)?;
    step("build sdk-js", artifacts::sdk)?;
    step("build the worker", artifacts::worker)?;
    step("size report and budgets", || size::report().map(|_| ()))?;
    step("Wasm binding tests (Node)", || run(&mut util::node_test(&[root().join("crates/wasm/tests")])?))?;
    step("sdk-js tests", || run(util::npm().args(["test", "-w", "sdk-js"])))?;
    if skip_e2e {
        util::say("end-to-end tests skipped (--skip-e2e)");
    } else {
        step("end-to-end tests (Chromium, workerd)", || {
            let mut cmd = util::node_test(&[root().join("tests/e2e")])?;
            cmd.env("EDGECDP_BIN", root().join("target/debug/edgecdp"))
                .env("EDGECDP_WORKER_DIR", root().join("worker/build"))
                .env("CHROMIUM_PATH", setup::chromium_path());
            run(&mut cmd)
        })?;
    }
    util::say(&format!("all checks passed in {:.0} s", started.elapsed().as_secs_f64()));
    Ok(())
}
