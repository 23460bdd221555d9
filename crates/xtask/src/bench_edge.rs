//! `cargo xtask bench-edge`: edge throughput of `POST /ee/v1/interact` with 150 segments and 100
//! offers, against the trivial route (`GET /healthz`) of the same host under the same local
//! load, on the native host (`edgecdp serve`, release build) and on the worker in workerd
//! (Miniflare, `bench/worker.mjs`). The target is interact ≥ 0.75 × the trivial route.
//!
//! Per host: a fresh temporary SQLite store, 1,000 visitors minted by first page views (their
//! identity cookies kept), then, with the same connections, warm-up and duration: `/healthz`,
//! page views of returning visitors (the cookies, round robin: the headline), and page views
//! of new visitors (no cookie). The load comes from our own `load` binary
//! (`src/bin/load.rs`), a second process on loopback. Everything started is stopped, errors
//! included.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::util::{cargo, output, root, run, say, step};

/// The throughput interact must keep, as a share of the trivial route's.
const TARGET: f64 = 0.75;
const DATASTREAM: &str = "ds-luma";
const PAGE_ORIGIN: &str = "https://www.luma.test";
const INTERACT_BODY: &str = r#"{"events":[{"xdm":{"eventType":"web.webpagedetails.pageViews","web":{"webPageDetails":{"URL":"https://www.luma.test/"}}},"query":{"personalization":{"decisionScopes":["__view__"]}}}]}"#;
const SEGMENTS: usize = 150;
const OFFERS: usize = 100;

const HELP: &str = "\
cargo xtask bench-edge [options]

Edge throughput of POST /ee/v1/interact?configId=ds-luma (a page view asking for decisions,
150 segments and 100 offers in 10 activities) against GET /healthz of the same host, under
the same load, on the native host (edgecdp serve, release build) and on the worker in workerd
(Miniflare; the worker as built by `cargo xtask build-worker`). Target: interact ≥ 0.75 ×
/healthz. The load generator (target/release/load) is a second process on loopback on the same
machine, so it competes with the server for CPU: compare the ratios, not the absolute figures.

Per host: a fresh store, visitors minted by first page views, then /healthz, page views of
returning visitors (identity cookie, round robin: the headline ratio) and of new visitors,
each with a warm-up. Prints a table and writes target/bench-edge.json.

Options:
  --duration SECS     measured seconds per route (default 10)
  --warmup SECS       warm-up seconds before each measurement (default 2)
  --connections N     concurrent keep-alive connections (default 16)
  --threads N         load generator threads (default 1)
  --visitors N        returning visitors (default 1000)
  --host NAME         native or worker; repeat for both (default: both)
  --no-new            skip the new-visitor measurement
  --no-build          use target/release/edgecdp and target/release/load as they are
  --check             exit with an error when a host's returning-visitor ratio misses 0.75

EDGECDP_WORKER_DIR names another worker build than worker/build. Exits with an error when a
request failed (non-2xx or transport) during a measurement: such figures are not valid.
";

/// What `bench-edge` was asked to do.
struct Settings {
    duration: f64,
    warmup: f64,
    connections: usize,
    threads: usize,
    visitors: usize,
    hosts: Vec<HostKind>,
    new_visitors: bool,
    build: bool,
    check: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum HostKind {
    Native,
    Worker,
}

impl HostKind {
    fn name(self) -> &'static str {
        match self {
            HostKind::Native => "native",
            HostKind::Worker => "worker",
        }
    }
}

impl Settings {
    fn parse(args: &[String]) -> anyhow::Result<Settings> {
        let mut s = Settings {
            duration: 10.0,
            warmup: 2.0,
            connections: 16,
            threads: 1,
            visitors: 1000,
            hosts: Vec::new(),
            new_visitors: true,
            build: true,
            check: false,
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = || it.next().with_context(|| format!("{arg} needs a value (see --help)"));
            match arg.as_str() {
                "--duration" => s.duration = positive(arg, value()?)?,
                "--warmup" => s.warmup = number(arg, value()?)?,
                "--connections" => s.connections = count(arg, value()?)?,
                "--threads" => s.threads = count(arg, value()?)?,
                "--visitors" => s.visitors = count(arg, value()?)?,
                "--host" => {
                    for name in value()?.split(',') {
                        let host = match name.trim() {
                            "native" => HostKind::Native,
                            "worker" => HostKind::Worker,
                            other => bail!("--host: expected native or worker, got {other:?}"),
                        };
                        if !s.hosts.contains(&host) {
                            s.hosts.push(host);
                        }
                    }
                }
                "--no-new" => s.new_visitors = false,
                "--no-build" => s.build = false,
                "--check" => s.check = true,
                other => bail!("unknown option {other:?} (see cargo xtask bench-edge --help)"),
            }
        }
        if s.hosts.is_empty() {
            s.hosts = vec![HostKind::Native, HostKind::Worker];
        }
        Ok(s)
    }
}

fn number(name: &str, v: &str) -> anyhow::Result<f64> {
    let x: f64 = v.parse().with_context(|| format!("{name}: expected a number, got {v:?}"))?;
    if !x.is_finite() || x < 0.0 {
        bail!("{name}: expected a number of seconds, got {v:?}");
    }
    Ok(x)
}

fn positive(name: &str, v: &str) -> anyhow::Result<f64> {
    let x = number(name, v)?;
    if x <= 0.0 {
        bail!("{name}: expected more than 0 seconds, got {v:?}");
    }
    Ok(x)
}

fn count(name: &str, v: &str) -> anyhow::Result<usize> {
    match v.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => bail!("{name}: expected a whole number above 0, got {v:?}"),
    }
}

/// `cargo xtask bench-edge [options]`.
pub(crate) fn run_bench(args: &[String]) -> anyhow::Result<()> {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        crate::print_text(HELP);
        return Ok(());
    }
    let settings = Settings::parse(args)?;
    let root = root();
    let edgecdp = root.join("target/release/edgecdp");
    let load = root.join("target/release/load");
    // As in the end-to-end tests, EDGECDP_WORKER_DIR may name another worker build.
    let worker_dir = std::env::var_os("EDGECDP_WORKER_DIR").map_or_else(|| root.join("worker/build"), PathBuf::from);
    if settings.hosts.contains(&HostKind::Worker) {
        check_worker_artifacts(&root, &worker_dir)?;
    }
    if settings.build {
        step("build edgecdp and the load generator (release)", || {
            run(cargo().args(["build", "--release", "-p", "edgecdp-origin", "--bin", "edgecdp"]))?;
            run(cargo().args(["build", "--release", "-p", "xtask", "--bin", "load"]))
        })?;
    }
    for (bin, how) in
        [(&edgecdp, "cargo build --release -p edgecdp-origin"), (&load, "cargo build --release -p xtask --bin load")]
    {
        if !bin.exists() {
            bail!("{} is missing: run `{how}` (or drop --no-build)", bin.display());
        }
    }

    let scratch = Scratch::new()?;
    let config = scratch.path.join("bench.toml");
    let body = scratch.path.join("interact.json");
    std::fs::write(&body, INTERACT_BODY)?;
    let definitions = write_config(&root, &config)?;
    step("check the benchmark configuration (edgecdp check-config)", || check_config(&edgecdp, &config))?;

    let mut reports = Vec::new();
    for &host in &settings.hosts {
        let paths = Paths {
            edgecdp: &edgecdp,
            load: &load,
            config: &config,
            body: &body,
            scratch: &scratch.path,
            worker: &worker_dir,
        };
        step(&format!("measure the {} host", host.name()), || {
            reports.push(measure_host(host, &settings, &paths)?);
            Ok(())
        })?;
    }

    let table = table(&settings, &reports);
    crate::print_text(&table);
    let summary = json!({
        "generatedAtUnixSecs": SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        "target": TARGET,
        "machine": { "cpus": std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
                     "note": "the load generator runs on the same machine and competes with the server for CPU" },
        "settings": {
            "durationSecs": settings.duration, "warmupSecs": settings.warmup, "connections": settings.connections,
            "loadThreads": settings.threads, "visitors": settings.visitors,
        },
        "configuration": definitions,
        "request": { "method": "POST", "path": format!("/ee/v1/interact?configId={DATASTREAM}"), "origin": PAGE_ORIGIN,
                     "body": serde_json::from_str::<Value>(INTERACT_BODY)? },
        "hosts": reports.iter().map(HostReport::to_json).collect::<Vec<_>>(),
    });
    let out = root.join("target/bench-edge.json");
    std::fs::write(&out, serde_json::to_string_pretty(&summary)? + "\n")
        .with_context(|| format!("cannot write {}", out.display()))?;
    say(&format!("wrote {}", out.display()));

    let errors: Vec<String> = reports
        .iter()
        .flat_map(|r| r.results.iter().map(move |m| (r.host, m)))
        .filter(|(_, m)| m.errors() > 0)
        .map(|(h, m)| format!("{} {}: {} errors ({})", h.name(), m.route, m.errors(), m.load["firstError"]))
        .collect();
    if !errors.is_empty() {
        bail!("requests failed under load, so these figures are not valid:\n  {}", errors.join("\n  "));
    }
    if settings.check {
        let missed: Vec<String> = reports
            .iter()
            .filter_map(|r| {
                r.ratio(Route::Returning).filter(|x| *x < TARGET).map(|x| format!("{} {x:.2}", r.host.name()))
            })
            .collect();
        if !missed.is_empty() {
            bail!("interact / healthz below {TARGET}: {}", missed.join(", "));
        }
    }
    Ok(())
}

/// The worker as `cargo xtask build-worker` leaves it, and Miniflare.
fn check_worker_artifacts(root: &Path, build: &Path) -> anyhow::Result<()> {
    for file in ["index.js", "index_bg.wasm"] {
        if !build.join(file).exists() {
            bail!("{} is missing: run `cargo xtask build-worker` first", build.join(file).display());
        }
    }
    if !root.join("node_modules/miniflare/package.json").exists() {
        bail!("node_modules/miniflare is missing: run `npm ci` (or `cargo xtask setup`) first");
    }
    // A worker older than its sources measures old code: say so, but measure (rebuilding is
    // the caller's choice, and sources may be mid-edit).
    let built = modified(&build.join("index_bg.wasm"));
    let newest = ["worker/src", "crates/core/src"].iter().filter_map(|d| newest_file(&root.join(d))).max();
    if let (Some(built), Some(newest)) = (built, newest)
        && newest > built
    {
        say(
            "note: worker/build is older than worker/src or crates/core/src: `cargo xtask build-worker` to measure the current code",
        );
    }
    Ok(())
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn newest_file(dir: &Path) -> Option<SystemTime> {
    let mut newest = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let t = if path.is_dir() { newest_file(&path) } else { modified(&path) };
        newest = newest.max(t);
    }
    newest
}

/// A temporary directory, removed when dropped.
struct Scratch {
    path: PathBuf,
}

impl Scratch {
    fn new() -> anyhow::Result<Scratch> {
        let path = std::env::temp_dir().join(format!("edgecdp-bench-edge-{}", std::process::id()));
        std::fs::create_dir_all(&path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Scratch { path })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

// --- The configuration -----------------------------------------------------------------------

const EVENT_TYPES: [&str; 8] = [
    "web.webpagedetails.pageViews",
    "commerce.productViews",
    "commerce.productListAdds",
    "commerce.purchases",
    "web.webinteraction.linkClicks",
    "commerce.checkouts",
    "commerce.productListRemovals",
    "commerce.saveForLaters",
];

/// Segment `s{i}` of the benchmark set: the mixed shapes of `crates/core/benches/segments.rs`
/// (profile predicates, one- to three-step chains with windows, abandonment chains, windowed
/// counts, event-vs-profile comparisons, `inSegment` references), over real event types, so
/// that about one in seven segments reads page views (20 of 150). All are edge-eligible (windows of
/// at most 30 days). Returns the PQL and whether a visitor's page views alone can qualify.
fn segment_pql(i: usize) -> (String, bool) {
    let ty = |k: usize| EVENT_TYPES[k % EVENT_TYPES.len()];
    // The type cycles independently of the shape, so every shape meets page views.
    let t = i / 8 + i;
    let page_views = ty(t) == EVENT_TYPES[0];
    match i % 8 {
        0 => (format!("loyalty.points > {}", i % 500), false),
        1 => (
            format!(
                "chain(xEvent, timestamp, [A: WHAT(eventType = \"{}\") WHEN(< {} hours before now)])",
                ty(t),
                1 + i % 72
            ),
            page_views,
        ),
        2 => (
            format!(
                "chain(xEvent, timestamp, [A: WHAT(eventType = \"{}\"), B: WHAT(eventType = \"{}\"), C: WHAT(eventType = \"{}\") WHEN(< 7 days before now)])",
                ty(t),
                ty(t + 1),
                ty(t + 2)
            ),
            false,
        ),
        3 => (
            format!(
                "loyalty.tier in [\"Bronze\", \"Gold\"] and chain(xEvent, timestamp, [A: WHAT(eventType = \"{}\") WHEN(< 7 days before now), B: NOT WHAT(eventType = \"{}\") WHEN(< 1 hour after A)])",
                ty(t),
                ty(t + 3)
            ),
            false,
        ),
        4 => {
            let url = if page_views { " and web.webPageDetails.URL.contains(\"luma.test\")" } else { "" };
            (
                format!(
                    "xEvent[eventType = \"{}\"{url} and timestamp occurs < 24 hours before now].count() >= {}",
                    ty(t),
                    1 + i % 5
                ),
                page_views,
            )
        }
        5 => (
            format!(
                "chain(xEvent, timestamp, [A: WHAT(eventType = \"{}\" and exists I from productListItems where I._luma.size != Profile._luma.preferredSize) WHEN(< 7 days before now)])",
                ty(t)
            ),
            false,
        ),
        6 => (
            format!("inSegment(\"s{}\") or (inSegment(\"s{}\") and loyalty.points >= {})", i - 5, i - 3, i % 100),
            false,
        ),
        _ => (
            format!(
                "chain(xEvent, timestamp, [A: WHAT(eventType.equals(\"{}\", false) and commerce.order.priceTotal > {}) WHEN(< 30 days before now)])",
                ty(t).to_uppercase(),
                i % 90
            ),
            false,
        ),
    }
}

/// The segments, and the ids of those a returning anonymous visitor's page views qualify for
/// (with the references to them).
fn segments() -> (Vec<Value>, Vec<String>) {
    let mut page_view_ids: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for i in 0..SEGMENTS {
        let (pql, page_views) = segment_pql(i);
        let id = format!("s{i}");
        // Shape 6 refers to s{i-5} first: in it when that one is.
        let referenced = i % 8 == 6 && page_view_ids.contains(&format!("s{}", i - 5));
        if page_views || referenced {
            page_view_ids.push(id.clone());
        }
        out.push(json!({ "id": id, "name": format!("Benchmark segment {i}"), "pql": pql }));
    }
    (out, page_view_ids)
}

/// 100 offers in 10 activities of 10, after `crates/core/benches/decide.rs`: targeting and A/B
/// activities, some limited to the home page, some to another page; offers for the page scope
/// (7 of 10) and for named scopes, eligibility by points, tier, segment or none, caps, profile
/// tokens in the content. Segment audiences use page-view segments, so returning visitors get
/// decisions that depend on their state.
fn decisioning(page_view_segments: &[String]) -> (Vec<Value>, Vec<Value>) {
    let pv = |k: usize| page_view_segments[k % page_view_segments.len()].clone();
    let mut offers = Vec::new();
    let mut activities = Vec::new();
    for a in 0..OFFERS / 10 {
        let ids: Vec<String> = (0..10).map(|k| format!("o{a}-{k}")).collect();
        for (k, id) in ids.iter().enumerate() {
            let scope = if k < 7 { "__view__".to_owned() } else { format!("scope-{}", a % 9) };
            let mut offer = json!({
                "id": id,
                "name": format!("Offer {a}.{k}"),
                "scope": scope,
                "priority": (a * 7 + k) % 13,
                "items": [{
                    "action": "setHtml",
                    "selector": format!("#slot-{a} .offer-{k}"),
                    "content": format!("<b>Offer {id}</b> for {{{{profile.person.name.firstName}}}}: {{{{profile.loyalty.points}}}} points"),
                    "label": id,
                }],
            });
            match k % 4 {
                0 => offer["eligibility"] = json!(format!("loyalty.points > {}", (a * 37 + k) % 2000)),
                1 => offer["eligibility"] = json!(format!("inSegment(\"{}\")", pv(a + k))),
                2 => offer["eligibility"] = json!("loyalty.tier in [\"Bronze\", \"Silver\"]"),
                _ => {}
            }
            if k % 3 == 0 {
                offer["cap"] = json!({ "max": 3, "window": "1d" });
            }
            offers.push(offer);
        }
        let mut activity = if a % 5 == 0 {
            json!({ "id": format!("a{a}"), "name": format!("A/B test {a}"), "kind": "ab", "priority": a % 4,
                    "experiences": [{ "id": "x", "offers": ids[..5] }, { "id": "y", "offers": ids[5..] }] })
        } else {
            json!({ "id": format!("a{a}"), "name": format!("Targeting {a}"), "priority": a % 4, "experiences": [
                { "id": "members", "audience": format!("inSegment(\"{}\")", pv(a)), "offers": ids[..6] },
                { "id": "everyone", "offers": ids[6..] } ] })
        };
        match a % 3 {
            0 => activity["pages"] = json!(["/", "/index.html"]),
            1 => activity["pages"] = json!(["/men*"]),
            _ => {}
        }
        activities.push(activity);
    }
    (activities, offers)
}

/// Writes the benchmark configuration: the embedded demo's datastream, secrets, identity,
/// profile and computed attributes (`crates/origin/demo.toml`), with the generated segments,
/// activities and offers in place of the demo's. Returns what it holds, for the report.
fn write_config(root: &Path, path: &Path) -> anyhow::Result<Value> {
    let demo_path = root.join("crates/origin/demo.toml");
    let demo: toml::Table = toml::from_str(&std::fs::read_to_string(&demo_path)?)
        .with_context(|| format!("cannot read {}", demo_path.display()))?;
    let mut config = toml::Table::new();
    // `computed` defines `_luma.preferredSize`, which segments compare events with.
    for key in ["demo", "edge_name", "secrets", "datastreams", "limits", "identity", "profile", "computed"] {
        if let Some(v) = demo.get(key) {
            config.insert(key.to_owned(), v.clone());
        }
    }
    config.insert("listen".into(), "127.0.0.1:0".into());
    config.insert("database".into(), "bench.sqlite".into());
    let (segments, page_view_segments) = segments();
    let (activities, offers) = decisioning(&page_view_segments);
    let to_toml = |v: &Vec<Value>| toml::Value::try_from(v).context("the generated definitions do not fit TOML");
    config.insert("segments".into(), to_toml(&segments)?);
    config.insert("activities".into(), to_toml(&activities)?);
    config.insert("offers".into(), to_toml(&offers)?);
    let text = format!(
        "# Generated by `cargo xtask bench-edge` (crates/xtask/src/bench_edge.rs).\n{}",
        toml::to_string(&config).context("cannot write the configuration as TOML")?
    );
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(json!({
        "segments": segments.len(),
        // Segments a page view touches, and those page views alone qualify a visitor for.
        "segmentsReadingPageViews": segments
            .iter()
            .filter(|s| s["pql"].as_str().is_some_and(|p| p.to_lowercase().contains("webpagedetails.pageviews")))
            .count(),
        "pageViewSegments": page_view_segments.len(),
        "activities": activities.len(),
        "offers": offers.len(),
    }))
}

/// The secrets the configuration keeps (the worker gets the same ones).
fn secrets(config: &Path) -> anyhow::Result<(String, String)> {
    let table: toml::Table = toml::from_str(&std::fs::read_to_string(config)?)?;
    let secrets = table.get("secrets").context("the configuration has no [secrets]")?;
    let sync = secrets.get("sync_secret").and_then(toml::Value::as_str).context("no secrets.sync_secret")?;
    let keys: Vec<&str> = secrets
        .get("cookie_keys")
        .and_then(toml::Value::as_array)
        .context("no secrets.cookie_keys")?
        .iter()
        .filter_map(toml::Value::as_str)
        .collect();
    Ok((sync.to_owned(), keys.join(",")))
}

/// `edgecdp check-config`: no problems, and every segment served at the edge.
fn check_config(edgecdp: &Path, config: &Path) -> anyhow::Result<()> {
    let out = output(Command::new(edgecdp).arg("check-config").arg("--config").arg(config).env("RUST_LOG", "warn"))
        .context("edgecdp check-config found problems in the generated configuration")?;
    let segment_lines: Vec<&str> = out.lines().filter(|l| l.starts_with("segment ")).collect();
    let at_edge = segment_lines.iter().filter(|l| l.contains(": edge and origin;")).count();
    if segment_lines.len() != SEGMENTS || at_edge != SEGMENTS {
        let not: Vec<&&str> = segment_lines.iter().filter(|l| !l.contains(": edge and origin;")).collect();
        bail!("expected {SEGMENTS} edge segments, check-config lists {at_edge} of {}: {not:?}", segment_lines.len());
    }
    for remark in out.lines().filter(|l| l.starts_with("remark:")) {
        say(remark);
    }
    say(&format!(
        "check-config: {at_edge} segments at the edge, {}",
        out.lines().find(|l| l.starts_with("offers:")).unwrap_or("")
    ));
    Ok(())
}

// --- Processes --------------------------------------------------------------------------------

/// A process this task started, stopped when dropped (errors and Ctrl-C-free early returns
/// included), with the descendants it had (workerd under Node).
struct Started {
    name: &'static str,
    child: Child,
    /// Processes below it when it was ready (pid, start time: a reused pid is not ours).
    descendants: Vec<(u32, u64)>,
    /// Whether closing stdin asks it to stop (bench/worker.mjs).
    stops_on_stdin_close: bool,
}

impl Started {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            if self.stops_on_stdin_close {
                drop(self.child.stdin.take());
            } else {
                signal(self.pid(), "TERM");
            }
            if !wait_for_exit(&mut self.child, Duration::from_secs(10)) {
                say(&format!("{} did not stop in 10 s: killing it", self.name));
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
        for &(pid, started) in &self.descendants {
            let until = Instant::now() + Duration::from_secs(5);
            while start_time(pid) == Some(started) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(20));
            }
            if start_time(pid) == Some(started) {
                say(&format!("{} left process {pid} behind: killing it", self.name));
                signal(pid, "KILL");
            }
        }
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        self.stop();
    }
}

fn signal(pid: u32, signal: &str) {
    let _ = Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).stderr(Stdio::null()).status();
}

fn wait_for_exit(child: &mut Child, timeout: Duration) -> bool {
    let until = Instant::now() + timeout;
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Field `n` (1-based, as `man proc` counts) of `/proc/PID/stat`, for n ≥ 3.
fn stat_field(pid: u32, n: usize) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(n - 3)?.parse().ok()
}

/// The parent of a process.
fn parent_of(pid: u32) -> Option<u32> {
    stat_field(pid, 4).and_then(|p| u32::try_from(p).ok())
}

/// When a process started (clock ticks since boot): with the pid, it names one process.
fn start_time(pid: u32) -> Option<u64> {
    stat_field(pid, 22)
}

/// Every process below `pid`, with its start time (Linux `/proc`; empty elsewhere).
fn descendants(pid: u32) -> Vec<(u32, u64)> {
    let mut parents: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        if let Some(p) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok())
            && let Some(parent) = parent_of(p)
        {
            parents.entry(parent).or_default().push(p);
        }
    }
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        for &c in parents.get(&p).into_iter().flatten() {
            if let Some(t) = start_time(c) {
                out.push((c, t));
            }
            todo.push(c);
        }
    }
    out
}

/// Starts `cmd` with its stdout piped and waits for a line `ready` accepts (its value), reading
/// the rest of the output away so the child never blocks on a full pipe.
fn start(
    name: &'static str,
    cmd: &mut Command,
    stops_on_stdin_close: bool,
    ready: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<(Started, String)> {
    cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    cmd.stdin(if stops_on_stdin_close { Stdio::piped() } else { Stdio::null() });
    let mut child = cmd.spawn().with_context(|| format!("cannot start {name}"))?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut started = Started { name, child, descendants: Vec::new(), stops_on_stdin_close };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let until = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(v) = ready(&line) {
                    started.descendants = descendants(started.pid());
                    return Ok((started, v));
                }
                seen.push(line);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                bail!("{name} did not say it was ready within 60 s; it printed:\n{}", seen.join("\n"))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = started.child.wait().map(|s| s.to_string()).unwrap_or_default();
                bail!("{name} exited ({status}) before it was ready; it printed:\n{}", seen.join("\n"))
            }
        }
    }
}

/// `edgecdp serve` with the benchmark configuration and its own store, on a free port.
fn start_edgecdp(edgecdp: &Path, config: &Path, database: &Path) -> anyhow::Result<(Started, String)> {
    let mut cmd = Command::new(edgecdp);
    cmd.arg("serve").arg("--config").arg(config).args(["--listen", "127.0.0.1:0"]).arg("--database").arg(database);
    cmd.env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()));
    start("edgecdp serve", &mut cmd, false, |line| {
        line.strip_prefix("edgecdp listening on ").map(|url| url.trim().to_owned())
    })
}

/// The worker in workerd through Miniflare (`bench/worker.mjs`), pointed at `origin`.
fn start_worker(root: &Path, build: &Path, config: &Path, origin: &str) -> anyhow::Result<(Started, String)> {
    let (sync_secret, cookie_keys) = secrets(config)?;
    let mut cmd = Command::new("node");
    cmd.arg(root.join("bench/worker.mjs"))
        .arg(origin)
        .arg(build)
        .current_dir(root)
        .env("EDGECDP_SYNC_SECRET", sync_secret)
        .env("EDGECDP_COOKIE_KEYS", cookie_keys);
    start("the worker (Miniflare)", &mut cmd, true, |line| {
        serde_json::from_str::<Value>(line).ok().and_then(|v| v["url"].as_str().map(str::to_owned))
    })
}

/// `GET path` on `base` with a plain socket: the status, if it answered.
fn get_status(base: &str, path: &str) -> Option<u16> {
    let authority = base.strip_prefix("http://")?.trim_end_matches('/');
    let mut stream = TcpStream::connect(authority).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n").ok()?;
    let mut head = String::new();
    stream.take(4096).read_to_string(&mut head).ok()?;
    head.split_whitespace().nth(1)?.parse().ok()
}

fn wait_healthy(base: &str, what: &str) -> anyhow::Result<()> {
    let until = Instant::now() + Duration::from_secs(30);
    let mut last = None;
    while Instant::now() < until {
        last = get_status(base, "/healthz");
        if last == Some(200) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("{what} at {base} did not answer GET /healthz with 200 within 30 s (last: {last:?})")
}

// --- Measuring --------------------------------------------------------------------------------

struct Paths<'a> {
    edgecdp: &'a Path,
    worker: &'a Path,
    load: &'a Path,
    config: &'a Path,
    body: &'a Path,
    scratch: &'a Path,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    Healthz,
    Returning,
    New,
}

impl Route {
    fn label(self) -> &'static str {
        match self {
            Route::Healthz => "GET /healthz",
            Route::Returning => "interact, returning visitors",
            Route::New => "interact, new visitors",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Route::Healthz => "healthz",
            Route::Returning => "interactReturning",
            Route::New => "interactNew",
        }
    }
}

struct Measurement {
    route: &'static str,
    kind: Route,
    load: Value,
}

impl Measurement {
    fn rps(&self) -> f64 {
        self.load["rps"].as_f64().unwrap_or(0.0)
    }

    fn errors(&self) -> u64 {
        self.load["errors"].as_u64().unwrap_or(0)
    }

    /// The share of one core other processes (not the host, its origin or the load generator)
    /// used on average during the measurement.
    fn others_share(&self) -> Option<f64> {
        let machine = self.load["machineBusySecs"].as_f64().filter(|m| *m > 0.0)?;
        let ours: f64 = self.load["cpuSecs"].as_object()?.values().filter_map(Value::as_f64).sum::<f64>()
            + self.load["loadCpuSecs"].as_f64().unwrap_or(0.0);
        let secs = self.load["durationSecs"].as_f64().filter(|d| *d > 0.0)?;
        Some(((machine - ours) / secs).max(0.0))
    }

    /// CPU microseconds per request of a `--cpu` group.
    fn cpu_us_per_request(&self, group: &str) -> Option<f64> {
        let secs = self.load["cpuSecs"][group].as_f64()?;
        let n = self.load["requests"].as_f64().filter(|n| *n > 0.0)?;
        Some(secs * 1e6 / n)
    }
}

struct HostReport {
    host: HostKind,
    mint: Value,
    results: Vec<Measurement>,
}

impl HostReport {
    fn result(&self, route: Route) -> Option<&Measurement> {
        self.results.iter().find(|m| m.kind == route)
    }

    fn ratio(&self, route: Route) -> Option<f64> {
        let trivial = self.result(Route::Healthz)?.rps();
        (trivial > 0.0).then(|| self.result(route).map(|m| m.rps() / trivial)).flatten()
    }

    fn to_json(&self) -> Value {
        let mut results = serde_json::Map::new();
        for m in &self.results {
            let mut v = m.load.clone();
            v["route"] = json!(m.route);
            v["hostCpuUsPerRequest"] = json!(m.cpu_us_per_request("host").map(|x| x.round()));
            v["originCpuUsPerRequest"] = json!(m.cpu_us_per_request("origin").map(|x| x.round()));
            v["otherProcessesCores"] = json!(m.others_share().map(|x| (x * 100.0).round() / 100.0));
            results.insert(m.kind.key().to_owned(), v);
        }
        let ratio = |r| self.ratio(r).map(|x| (x * 1000.0).round() / 1000.0);
        json!({
            "host": self.host.name(),
            "mint": self.mint,
            "results": results,
            "ratios": { "interactReturningToHealthz": ratio(Route::Returning), "interactNewToHealthz": ratio(Route::New) },
            "meetsTarget": self.ratio(Route::Returning).map(|x| x >= TARGET),
        })
    }
}

fn measure_host(host: HostKind, settings: &Settings, paths: &Paths<'_>) -> anyhow::Result<HostReport> {
    // Kept until the end of this function: dropping them stops the processes.
    let mut running = Vec::new();
    let database = paths.scratch.join(format!("{}.sqlite", host.name()));
    let (base, cpu) = match host {
        HostKind::Native => {
            let (server, url) = start_edgecdp(paths.edgecdp, paths.config, &database)?;
            let cpu = vec![format!("host={}", server.pid())];
            running.push(server);
            (url, cpu)
        }
        HostKind::Worker => {
            let (origin, origin_url) = start_edgecdp(paths.edgecdp, paths.config, &database)?;
            let origin_pid = origin.pid();
            running.push(origin);
            wait_healthy(&origin_url, "the origin")?;
            let (worker, url) = start_worker(&root(), paths.worker, paths.config, &origin_url)?;
            // Node (Miniflare) and workerd below it run the worker; the origin takes its sync
            // batches on the same machine and is counted apart.
            let mut pids = vec![worker.pid()];
            pids.extend(worker.descendants.iter().map(|&(pid, _)| pid));
            let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
            let cpu = vec![format!("host={}", pids.join(",")), format!("origin={origin_pid}")];
            running.push(worker);
            (url, cpu)
        }
    };
    wait_healthy(&base, host.name())?;
    say(&format!("{} host at {base}", host.name()));

    let interact = format!("{base}/ee/v1/interact?configId={DATASTREAM}");
    let healthz = format!("{base}/healthz");
    let cookies = paths.scratch.join(format!("{}-visitors.txt", host.name()));
    let cookie_name = cookie_name()?;
    // The page view: method, body and headers; returning visitors add their cookies.
    let page_view = |visitors: Option<&Path>| -> Vec<String> {
        let mut a: Vec<String> =
            vec!["--method".into(), "POST".into(), "--body".into(), paths.body.display().to_string()];
        a.extend(["--header".into(), format!("Origin: {PAGE_ORIGIN}")]);
        a.extend(["--header".into(), "Content-Type: text/plain;charset=UTF-8".into()]);
        if let Some(file) = visitors {
            a.extend(["--cookies".into(), file.display().to_string(), "--cookie-name".into(), cookie_name.clone()]);
        }
        a
    };

    // Visitors: first page views, their cookies kept.
    let mut mint_args = vec!["mint".to_owned(), "--url".into(), interact.clone()];
    mint_args.extend(page_view(None));
    for (k, v) in [
        ("--count", settings.visitors.to_string()),
        ("--connections", settings.connections.to_string()),
        ("--cookie-name", cookie_name.clone()),
        ("--out", cookies.display().to_string()),
    ] {
        mint_args.extend([k.to_owned(), v]);
    }
    let mint = load_json(paths.load, &mint_args)?;
    let minted = mint["minted"].as_u64().unwrap_or(0);
    if mint["errors"].as_u64().unwrap_or(0) > 0 || minted == 0 {
        bail!("minting visitors failed: {mint}");
    }
    say(&format!(
        "{minted} visitors minted; {} of their first page views carried decisions",
        mint["withDecisions"].as_u64().unwrap_or(0)
    ));

    // Every measurement: the same connections, warm-up, duration and CPU accounting.
    let run_args = |url: &str, request: Vec<String>| -> Vec<String> {
        let mut a = vec!["run".to_owned(), "--url".into(), url.to_owned()];
        a.extend(request);
        for (k, v) in [
            ("--connections", settings.connections.to_string()),
            ("--duration", settings.duration.to_string()),
            ("--warmup", settings.warmup.to_string()),
            ("--threads", settings.threads.to_string()),
        ] {
            a.extend([k.to_owned(), v]);
        }
        for group in &cpu {
            a.extend(["--cpu".to_owned(), group.clone()]);
        }
        a
    };
    let mut plan = vec![
        (Route::Healthz, run_args(&healthz, Vec::new())),
        (Route::Returning, run_args(&interact, page_view(Some(&cookies)))),
    ];
    if settings.new_visitors {
        plan.push((Route::New, run_args(&interact, page_view(None))));
    }

    let mut results = Vec::new();
    for (route, args) in plan {
        say(&format!(
            "  {} {}: {} connections, {} s warm-up, {} s measured",
            host.name(),
            route.label(),
            settings.connections,
            settings.warmup,
            settings.duration
        ));
        let load = load_json(paths.load, &args)?;
        say(&format!(
            "    {:.0} req/s, p50 {}, p99 {}, errors {}",
            load["rps"].as_f64().unwrap_or(0.0),
            micros(load["latencyUs"]["p50"].as_u64()),
            micros(load["latencyUs"]["p99"].as_u64()),
            load["errors"]
        ));
        results.push(Measurement { route: route.label(), kind: route, load });
    }
    // Stop in reverse order: the worker before its origin.
    while let Some(mut p) = running.pop() {
        p.stop();
    }
    Ok(HostReport { host, mint, results })
}

/// The identity cookie's name for the benchmark's datastream: `kndctr_{org with @→_}_identity`.
fn cookie_name() -> anyhow::Result<String> {
    let demo: toml::Table = toml::from_str(&std::fs::read_to_string(root().join("crates/origin/demo.toml"))?)?;
    let org = demo
        .get("datastreams")
        .and_then(toml::Value::as_array)
        .and_then(|ds| ds.iter().find(|d| d.get("id").and_then(toml::Value::as_str) == Some(DATASTREAM)))
        .and_then(|d| d.get("org_id"))
        .and_then(toml::Value::as_str)
        .with_context(|| format!("crates/origin/demo.toml has no datastream {DATASTREAM} with an org_id"))?;
    Ok(format!("kndctr_{}_identity", org.replace('@', "_")))
}

fn load_json(load: &Path, args: &[String]) -> anyhow::Result<Value> {
    let out = output(Command::new(load).args(args))?;
    serde_json::from_str(out.trim()).with_context(|| format!("the load generator printed no JSON: {out}"))
}

fn micros(us: Option<u64>) -> String {
    match us {
        None => "-".into(),
        Some(us) if us >= 10_000 => format!("{:.0} ms", us as f64 / 1000.0),
        Some(us) if us >= 1000 => format!("{:.1} ms", us as f64 / 1000.0),
        Some(us) => format!("{us} µs"),
    }
}

/// The report: one row per host and route, the ratio to the trivial route on interact rows.
fn table(settings: &Settings, reports: &[HostReport]) -> String {
    let cpus = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let mut rows = vec![[
        "host".to_owned(),
        "route".into(),
        "req/s".into(),
        "p50".into(),
        "p99".into(),
        "errors".into(),
        "host CPU/req".into(),
        "origin CPU/req".into(),
        "others".into(),
        "interact/trivial".into(),
    ]];
    for r in reports {
        for m in &r.results {
            let cpu = |g| m.cpu_us_per_request(g).map_or_else(|| "-".to_owned(), |us| format!("{us:.0} µs"));
            let ratio = match m.kind {
                Route::Healthz => String::new(),
                route => r
                    .ratio(route)
                    .map_or_else(String::new, |x| format!("{x:.2} {}", if x >= TARGET { "✓" } else { "✗" })),
            };
            let answered = m.load["requests"].as_u64().is_some_and(|n| n > 0);
            let latency = |p: &str| micros(m.load["latencyUs"][p].as_u64().filter(|_| answered));
            rows.push([
                r.host.name().to_owned(),
                m.route.to_owned(),
                format!("{:.0}", m.rps()),
                latency("p50"),
                latency("p99"),
                m.errors().to_string(),
                cpu("host"),
                if r.host == HostKind::Worker { cpu("origin") } else { "-".into() },
                m.others_share().map_or_else(|| "-".to_owned(), |x| format!("{:.0}%", x * 100.0)),
                ratio,
            ]);
        }
    }
    let widths: Vec<usize> =
        (0..rows[0].len()).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = format!(
        "\nedge throughput: {} connections, {} s measured after {} s warm-up per route; {SEGMENTS} segments, {OFFERS} offers; target interact/trivial ≥ {TARGET}\n\
         the load generator ({} thread) shares this machine's {cpus} cores with the server: compare ratios, not absolute figures\n\n",
        settings.connections, settings.duration, settings.warmup, settings.threads
    );
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (cell, w))| {
                let pad = w.saturating_sub(cell.chars().count());
                // Numbers right-aligned, text left-aligned.
                if (2..=8).contains(&c) {
                    format!("{}{cell}", " ".repeat(pad))
                } else {
                    format!("{cell}{}", " ".repeat(pad))
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out.push_str(
        "\nhost CPU/req: CPU time of the host's processes (edgecdp; for the worker, workerd and Node) per request;\n\
         origin CPU/req: the worker's origin (edgecdp) taking its sync batches; others: CPU other processes\n\
         used meanwhile, in % of one core (above ~10% the figures are disturbed: measure again on a quiet machine)\n\n",
    );
    for r in reports {
        if let Some(x) = r.ratio(Route::Returning) {
            out.push_str(&format!(
                "{}: interact (returning visitors) / healthz = {x:.2} {} (target ≥ {TARGET})\n",
                r.host.name(),
                if x >= TARGET { "✓" } else { "✗" }
            ));
        }
    }
    out
}
