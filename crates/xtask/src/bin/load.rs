//! `load`: the small HTTP/1.1 load generator `cargo xtask bench-edge` runs as a second process on
//! loopback.
//!
//! ```text
//! load run  --url URL [--method GET] [--body FILE] [--header 'Name: value']... [--connections 16]
//!           [--duration 10] [--warmup 2] [--threads 1] [--cookies FILE --cookie-name NAME]
//!           [--cpu NAME=PID[,PID...]]...
//! load mint --url URL --body FILE [--header ...] [--connections 16] --count N --cookie-name NAME --out FILE
//! ```
//!
//! `run` keeps N keep-alive connections busy, one request at a time each (a closed loop, like
//! wrk), for the warm-up and then the measured duration, and prints one JSON line: requests/s,
//! latency percentiles, errors (non-2xx statuses and transport failures) and, with `--cpu`, the
//! CPU seconds the named processes (the server under test) used during the measured window, read
//! from `/proc`, beside its own and the whole machine's (so other load on the machine shows). With `--cookies`, request k carries the identity cookie of visitor k mod N, so
//! the server sees returning visitors.
//!
//! `mint` sends `--count` requests without a cookie and writes the identity cookie each response
//! gives (its `state:store` handle) to `--out`, one a line: the visitors `run --cookies` returns
//! as. It also counts the responses that carried decisions (`personalization:decisions`).

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpStream;

const HELP: &str = "\
load: an HTTP/1.1 load generator over keep-alive connections (for cargo xtask bench-edge)

  load run  --url URL [--method GET|POST] [--body FILE] [--header 'Name: value']...
            [--connections 16] [--duration 10] [--warmup 2] [--threads 1]
            [--cookies FILE --cookie-name NAME] [--cpu NAME=PID[,PID...]]...
      Keeps the connections busy (one request at a time each) for the warm-up, then measures
      for the duration. Prints one JSON line: requests, rps, latency percentiles (µs), errors
      (non-2xx by status, transport failures), the CPU seconds of each --cpu group, of this
      process and of the whole machine (busy, all cores) during the measured window. --cookies: request k carries the cookie of line
      k mod lines (returning visitors).
  load mint --url URL --body FILE [--header ...] [--connections 16] --count N
            --cookie-name NAME --out FILE
      Sends N requests without a cookie and writes the cookie each response's state:store
      handle gives, one a line. Prints one JSON line: minted, withDecisions, errors.
";

/// What to send.
struct Target {
    addr: SocketAddr,
    authority: String,
    path_and_query: String,
    method: Method,
    headers: Vec<(String, String)>,
    body: Bytes,
}

/// Per-connection tallies of `run`.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    statuses: std::collections::BTreeMap<u16, u64>,
    transport_errors: u64,
    reconnects: u64,
    first_error: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = args.first().map(String::as_str) else {
        print(HELP);
        return Ok(());
    };
    let opts = Options::parse(&args[1..])?;
    let threads = opts.number("--threads", 1)?;
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()?
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build()?
    };
    let out = match command {
        "run" => runtime.block_on(run(&opts))?,
        "mint" => runtime.block_on(mint(&opts))?,
        "help" | "--help" | "-h" => {
            print(HELP);
            return Ok(());
        }
        other => bail!("unknown command {other:?} (expected run or mint; see load --help)"),
    };
    print(&format!("{out}\n"));
    Ok(())
}

#[allow(clippy::print_stdout, reason = "stdout is the report the caller reads")]
fn print(text: &str) {
    print!("{text}");
}

/// The command line: `--name value` pairs, repeatable.
struct Options(Vec<(String, String)>);

impl Options {
    fn parse(args: &[String]) -> anyhow::Result<Options> {
        let mut pairs = Vec::new();
        let mut it = args.iter();
        while let Some(name) = it.next() {
            if !name.starts_with("--") {
                bail!("unexpected argument {name:?}");
            }
            let value = it.next().with_context(|| format!("{name} needs a value"))?;
            pairs.push((name.clone(), value.clone()));
        }
        Ok(Options(pairs))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn required(&self, name: &str) -> anyhow::Result<&str> {
        self.get(name).with_context(|| format!("{name} is required"))
    }

    fn number(&self, name: &str, default: usize) -> anyhow::Result<usize> {
        self.get(name)
            .map_or(Ok(default), |v| v.parse().with_context(|| format!("{name}: expected a number, got {v:?}")))
    }

    fn seconds(&self, name: &str, default: f64) -> anyhow::Result<Duration> {
        let secs = self.get(name).map_or(Ok(default), |v| {
            v.parse::<f64>().with_context(|| format!("{name}: expected seconds, got {v:?}"))
        })?;
        Duration::try_from_secs_f64(secs).with_context(|| format!("{name}: {secs} is not a duration"))
    }

    fn target(&self) -> anyhow::Result<Target> {
        let url = self.required("--url")?;
        let rest = url.strip_prefix("http://").with_context(|| format!("--url: only http:// URLs, got {url:?}"))?;
        let (authority, path_and_query) = rest.find('/').map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
        let addr = authority
            .to_socket_addrs()
            .with_context(|| format!("--url: cannot resolve {authority:?}"))?
            .next()
            .with_context(|| format!("--url: {authority:?} has no address"))?;
        let method = Method::from_bytes(self.get("--method").unwrap_or("GET").as_bytes()).context("--method")?;
        let headers = self
            .all("--header")
            .map(|h| {
                h.split_once(':')
                    .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
                    .with_context(|| format!("--header: expected 'Name: value', got {h:?}"))
            })
            .collect::<anyhow::Result<_>>()?;
        let body = match self.get("--body") {
            Some(file) => Bytes::from(std::fs::read(file).with_context(|| format!("--body: cannot read {file}"))?),
            None => Bytes::new(),
        };
        Ok(Target {
            addr,
            authority: authority.to_owned(),
            path_and_query: path_and_query.to_owned(),
            method,
            headers,
            body,
        })
    }
}

async fn connect(addr: SocketAddr) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(addr).await.with_context(|| format!("cannot connect to {addr}"))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        // Ends when the server closes the connection; the next send then fails and reconnects.
        let _ = connection.await;
    });
    Ok(sender)
}

/// One request on `sender`: the status and the whole body (read to the end, so the connection
/// can carry the next request).
async fn send(
    sender: &mut SendRequest<Full<Bytes>>,
    target: &Target,
    cookie: Option<&str>,
) -> anyhow::Result<(u16, Bytes)> {
    let mut request = Request::builder()
        .method(target.method.clone())
        .uri(target.path_and_query.as_str())
        .header(hyper::header::HOST, target.authority.as_str());
    for (name, value) in &target.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    if let Some(cookie) = cookie {
        request = request.header(hyper::header::COOKIE, cookie);
    }
    let request = request.body(Full::new(target.body.clone()))?;
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

fn read_cookies(opts: &Options) -> anyhow::Result<Vec<String>> {
    let Some(file) = opts.get("--cookies") else { return Ok(Vec::new()) };
    let name = opts.required("--cookie-name")?;
    let text = std::fs::read_to_string(file).with_context(|| format!("--cookies: cannot read {file}"))?;
    let cookies: Vec<String> =
        text.lines().map(str::trim).filter(|l| !l.is_empty()).map(|v| format!("{name}={v}")).collect();
    if cookies.is_empty() {
        bail!("--cookies: {file} holds no cookie");
    }
    Ok(cookies)
}

async fn run(opts: &Options) -> anyhow::Result<serde_json::Value> {
    let target = Arc::new(opts.target()?);
    let connections = opts.number("--connections", 16)?.max(1);
    let duration = opts.seconds("--duration", 10.0)?;
    let warmup = opts.seconds("--warmup", 2.0)?;
    let cookies = Arc::new(read_cookies(opts)?);
    let cpu_groups = cpu_groups(opts)?;
    let next_visitor = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let from = started + warmup;
    let until = from + duration;

    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (target, cookies, next_visitor) = (Arc::clone(&target), Arc::clone(&cookies), Arc::clone(&next_visitor));
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut sender = None;
            while Instant::now() < until {
                let s = match sender.take() {
                    Some(s) => s,
                    None => match connect(target.addr).await {
                        Ok(s) => s,
                        Err(e) => {
                            tally.transport_errors += 1;
                            tally.first_error.get_or_insert_with(|| format!("{e:#}"));
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    },
                };
                let mut s = s;
                let cookie = (!cookies.is_empty())
                    .then(|| cookies[next_visitor.fetch_add(1, Ordering::Relaxed) % cookies.len()].as_str());
                let t0 = Instant::now();
                let result = send(&mut s, &target, cookie).await;
                let t1 = Instant::now();
                let counted = t1 >= from && t1 <= until;
                match result {
                    Ok((status, body)) => {
                        if !(200..300).contains(&status) {
                            tally.first_error.get_or_insert_with(|| {
                                let text = String::from_utf8_lossy(&body);
                                format!("{status}: {}", text.chars().take(300).collect::<String>())
                            });
                        }
                        if counted {
                            let us = u32::try_from(t1.duration_since(t0).as_micros()).unwrap_or(u32::MAX);
                            tally.latencies_us.push(us);
                            *tally.statuses.entry(status).or_default() += 1;
                        }
                        sender = Some(s);
                    }
                    Err(e) => {
                        if counted {
                            tally.transport_errors += 1;
                        }
                        tally.reconnects += 1;
                        tally.first_error.get_or_insert_with(|| format!("{e:#}"));
                    }
                }
            }
            tally
        }));
    }

    // CPU of the server's processes and of this one, at the start and the end of the window.
    tokio::time::sleep_until(from.into()).await;
    let cpu_before = sample_cpu(&cpu_groups);
    let self_before = process_cpu_secs(std::process::id());
    let machine_before = machine_busy_secs();
    tokio::time::sleep_until(until.into()).await;
    let cpu_after = sample_cpu(&cpu_groups);
    let self_after = process_cpu_secs(std::process::id());
    let machine_after = machine_busy_secs();

    let mut all = Tally::default();
    for t in tasks {
        let t = t.await?;
        all.latencies_us.extend(t.latencies_us);
        for (status, n) in t.statuses {
            *all.statuses.entry(status).or_default() += n;
        }
        all.transport_errors += t.transport_errors;
        all.reconnects += t.reconnects;
        if all.first_error.is_none() {
            all.first_error = t.first_error;
        }
    }
    all.latencies_us.sort_unstable();
    let requests = all.latencies_us.len() as u64;
    let ok: u64 = all.statuses.iter().filter(|(s, _)| (200..300).contains(*s)).map(|(_, n)| n).sum();
    let non_2xx = requests - ok;
    let secs = duration.as_secs_f64();
    // Nearest rank, the percentile given in per mille.
    let percentile = |per_mille: usize| -> u32 {
        let n = all.latencies_us.len();
        let rank = (per_mille * n).div_ceil(1000).clamp(1, n.max(1));
        all.latencies_us.get(rank - 1).copied().unwrap_or(0)
    };
    let mean =
        if requests == 0 { 0.0 } else { all.latencies_us.iter().map(|&u| f64::from(u)).sum::<f64>() / requests as f64 };
    let cpu: serde_json::Map<String, serde_json::Value> = cpu_groups
        .iter()
        .zip(cpu_before.iter().zip(&cpu_after))
        .map(|((name, _), (b, a))| (name.clone(), json!(round3(a - b))))
        .collect();
    Ok(json!({
        "connections": connections,
        "durationSecs": secs,
        "warmupSecs": warmup.as_secs_f64(),
        "requests": requests,
        "rps": round3(requests as f64 / secs),
        "latencyUs": {
            "mean": mean.round(),
            "p50": percentile(500),
            "p90": percentile(900),
            "p99": percentile(990),
            "max": all.latencies_us.last().copied().unwrap_or(0),
        },
        "statuses": all.statuses.iter().map(|(s, n)| (s.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
        "non2xx": non_2xx,
        "transportErrors": all.transport_errors,
        "errors": non_2xx + all.transport_errors,
        "reconnects": all.reconnects,
        "firstError": all.first_error,
        "cpuSecs": cpu,
        "loadCpuSecs": round3(self_after - self_before),
        "machineBusySecs": round3(machine_after - machine_before),
    }))
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

async fn mint(opts: &Options) -> anyhow::Result<serde_json::Value> {
    let target = Arc::new(opts.target()?);
    let count = opts.number("--count", 1000)?;
    let connections = opts.number("--connections", 16)?.clamp(1, count.max(1));
    let name = Arc::new(opts.required("--cookie-name")?.to_owned());
    let out = opts.required("--out")?;
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (target, name, next) = (Arc::clone(&target), Arc::clone(&name), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let mut minted = Vec::new();
            let (mut with_decisions, mut errors, mut first_error) = (0u64, 0u64, None::<String>);
            let mut sender = None;
            while next.fetch_add(1, Ordering::Relaxed) < count {
                let mut s = match sender.take() {
                    Some(s) => s,
                    None => connect(target.addr).await?,
                };
                match send(&mut s, &target, None).await {
                    Ok((status, body)) if (200..300).contains(&status) => {
                        let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                        match cookie_in(&body, &name) {
                            Some(v) => minted.push(v),
                            None => {
                                errors += 1;
                                first_error.get_or_insert_with(|| format!("no {name} in state:store: {body}"));
                            }
                        }
                        if has_decisions(&body) {
                            with_decisions += 1;
                        }
                        sender = Some(s);
                    }
                    Ok((status, body)) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| format!("{status}: {}", String::from_utf8_lossy(&body)));
                        sender = Some(s);
                    }
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| format!("{e:#}"));
                    }
                }
            }
            anyhow::Ok((minted, with_decisions, errors, first_error))
        }));
    }
    let (mut minted, mut with_decisions, mut errors, mut first_error) = (Vec::new(), 0, 0, None);
    for t in tasks {
        let (m, d, e, f) = t.await??;
        minted.extend(m);
        with_decisions += d;
        errors += e;
        first_error = first_error.or(f);
    }
    let mut text = minted.join("\n");
    text.push('\n');
    std::fs::write(out, text).with_context(|| format!("--out: cannot write {out}"))?;
    Ok(json!({ "minted": minted.len(), "withDecisions": with_decisions, "errors": errors, "firstError": first_error }))
}

/// The value of cookie `name` in a response's `state:store` handle.
fn cookie_in(body: &serde_json::Value, name: &str) -> Option<String> {
    body["handle"].as_array()?.iter().filter(|h| h["type"] == "state:store").find_map(|h| {
        h["payload"].as_array()?.iter().find(|e| e["key"] == name).and_then(|e| e["value"].as_str()).map(str::to_owned)
    })
}

/// Whether a response carries at least one proposition with items.
fn has_decisions(body: &serde_json::Value) -> bool {
    body["handle"].as_array().is_some_and(|handles| {
        handles.iter().filter(|h| h["type"] == "personalization:decisions").any(|h| {
            h["payload"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["items"].as_array().is_some_and(|i| !i.is_empty())))
        })
    })
}

/// `--cpu NAME=PID[,PID...]`: groups of processes whose CPU time is reported.
fn cpu_groups(opts: &Options) -> anyhow::Result<Vec<(String, Vec<u32>)>> {
    opts.all("--cpu")
        .map(|g| {
            let (name, pids) =
                g.split_once('=').with_context(|| format!("--cpu: expected NAME=PID[,PID...], got {g:?}"))?;
            let pids = pids
                .split(',')
                .filter(|p| !p.is_empty())
                .map(|p| p.parse().with_context(|| format!("--cpu: {p:?} is not a process id")))
                .collect::<anyhow::Result<_>>()?;
            Ok((name.to_owned(), pids))
        })
        .collect()
}

fn sample_cpu(groups: &[(String, Vec<u32>)]) -> Vec<f64> {
    groups.iter().map(|(_, pids)| pids.iter().map(|&p| process_cpu_secs(p)).sum()).collect()
}

/// CPU seconds every core of the machine spent busy since boot (`/proc/stat`): what is not
/// the server's or ours was other processes' (builds, tests) disturbing the measurement.
fn machine_busy_secs() -> f64 {
    const TICKS_PER_SEC: f64 = 100.0;
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else { return 0.0 };
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else { return 0.0 };
    let ticks: Vec<u64> = line.split_whitespace().skip(1).map(|f| f.parse().unwrap_or(0)).collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let busy: u64 = [0, 1, 2, 5, 6, 7].iter().filter_map(|&i| ticks.get(i)).sum();
    busy as f64 / TICKS_PER_SEC
}

/// User + system CPU seconds of a process (all its threads) from `/proc/PID/stat`; 0 where
/// there is no `/proc` or the process is gone.
fn process_cpu_secs(pid: u32) -> f64 {
    // Linux reports these in USER_HZ, which is 100 on every architecture it runs on.
    const TICKS_PER_SEC: f64 = 100.0;
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else { return 0.0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    (ticks(11) + ticks(12)) as f64 / TICKS_PER_SEC
}
