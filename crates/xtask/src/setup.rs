//! Installing what a fresh machine lacks, or saying clearly what is missing.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};

use crate::util::{cargo, output, root, run, say};

/// The worker-build release that fits `worker` 0.8.x (see TOOLCHAIN notes in the README).
pub(crate) const WORKER_BUILD_VERSION: &str = "0.8.7";

/// The wasm32 target of the pinned toolchain.
pub(crate) fn toolchain() -> anyhow::Result<()> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]).current_dir(root()))
        .context("rustup is needed to add the wasm32-unknown-unknown target (https://rustup.rs)")?;
    if !installed.lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]).current_dir(root()))?;
    }
    Ok(())
}

/// npm packages from package-lock.json (`npm ci`), when node_modules is missing or stale.
pub(crate) fn npm_packages() -> anyhow::Result<()> {
    let version = output(Command::new("node").arg("--version"))
        .context("Node.js 20 or newer is needed (e.g. `apt-get install nodejs npm`)")?;
    let major: u32 = version.trim().trim_start_matches('v').split('.').next().unwrap_or("0").parse().unwrap_or(0);
    if major < 20 {
        bail!("Node.js 20 or newer is needed; found {}", version.trim());
    }
    let lock = root().join("package-lock.json");
    let installed = root().join("node_modules/.package-lock.json");
    let modified = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let stale = match (modified(&lock), modified(&installed)) {
        (Some(l), Some(i)) => l > i,
        _ => true,
    };
    if stale {
        run(crate::util::npm().args(["ci", "--no-audit", "--no-fund"]))?;
    }
    Ok(())
}

/// `worker-build` at the version that matches the `worker` crate.
pub(crate) fn worker_build() -> anyhow::Result<()> {
    let current = Command::new("worker-build")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if current.as_deref() == Some(WORKER_BUILD_VERSION) {
        return Ok(());
    }
    say(&format!("installing worker-build {WORKER_BUILD_VERSION} (about 3 minutes, once)"));
    run(cargo().args(["install", &format!("worker-build@{WORKER_BUILD_VERSION}"), "--locked"]))
}

/// Where Chromium is: `CHROMIUM_PATH`, else Debian's `/usr/bin/chromium`.
pub(crate) fn chromium_path() -> PathBuf {
    std::env::var_os("CHROMIUM_PATH").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// What the end-to-end tests run besides Node: headless Chromium, `openssl` (the conformance
/// tests' self-signed certificate) and `python3` (a second SQLite client holding a lock).
/// Installed with apt when missing and running as root, else a clear message.
pub(crate) fn e2e_tools() -> anyhow::Result<()> {
    let chromium = chromium_path();
    let on_path = |tool: &str| output(Command::new("sh").args(["-c", &format!("command -v {tool}")])).is_ok();
    let missing = |packages: &mut Vec<&'static str>| {
        packages.clear();
        if !chromium.exists() {
            packages.push("chromium");
        }
        for tool in ["openssl", "python3"] {
            if !on_path(tool) {
                packages.push(tool);
            }
        }
    };
    let mut packages = Vec::new();
    missing(&mut packages);
    if packages.is_empty() {
        return Ok(());
    }
    let is_root = output(Command::new("id").arg("-u")).is_ok_and(|u| u.trim() == "0");
    if is_root && PathBuf::from("/usr/bin/apt-get").exists() {
        say(&format!("installing {} with apt-get (about a minute)", packages.join(", ")));
        run(Command::new("apt-get").arg("update").arg("-qq"))?;
        run(Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(&packages)
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
        missing(&mut packages);
        if packages.is_empty() {
            return Ok(());
        }
    }
    bail!(
        "the end-to-end tests need {} (`sudo apt-get install {}`; Chromium may be elsewhere with CHROMIUM_PATH, now {}); \
         `cargo xtask test --skip-e2e` runs everything else",
        packages.join(", "),
        packages.join(" "),
        chromium.display()
    )
}
