//! Running commands, step banners, paths.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};

/// The workspace root.
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Prints a line for the person running the task (stderr, so stdout stays for reports).
pub(crate) fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// `cargo`, the one that runs us.
pub(crate) fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// `npm` in the workspace root.
pub(crate) fn npm() -> Command {
    let mut c = Command::new("npm");
    c.current_dir(root());
    c
}

/// `node --test` over the `*.test.mjs` files in `dirs`.
pub(crate) fn node_test(dirs: &[PathBuf]) -> anyhow::Result<Command> {
    let mut files = Vec::new();
    for dir in dirs {
        for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
            let path = entry?.path();
            if path.to_string_lossy().ends_with(".test.mjs") {
                files.push(path);
            }
        }
    }
    files.sort();
    if files.is_empty() {
        bail!("no *.test.mjs files in {dirs:?}");
    }
    let mut c = Command::new("node");
    c.arg("--test").arg("--test-concurrency=1").args(files).current_dir(root());
    Ok(c)
}

/// Runs a command, failing with its status when it fails.
pub(crate) fn run(cmd: &mut Command) -> anyhow::Result<()> {
    say(&format!("$ {}", describe(cmd)));
    let status = cmd.status().with_context(|| format!("cannot start {}", cmd.get_program().to_string_lossy()))?;
    if !status.success() {
        bail!("`{}` failed ({status})", describe(cmd));
    }
    Ok(())
}

/// Runs a command and returns its stdout (stderr passes through).
pub(crate) fn output(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("cannot start {}", cmd.get_program().to_string_lossy()))?;
    if !out.status.success() {
        bail!("`{}` failed ({})", describe(cmd), out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs one named step with a banner and its duration.
pub(crate) fn step(name: &str, f: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<()> {
    say(&format!("\n==> {name}"));
    let t = Instant::now();
    let result = f().with_context(|| format!("step failed: {name}"));
    say(&format!("<== {name}: {} in {:.1} s", if result.is_ok() { "ok" } else { "FAILED" }, t.elapsed().as_secs_f64()));
    result
}
