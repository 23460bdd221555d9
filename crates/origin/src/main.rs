//! `edgecdp`: the origin store and native edge host of edgecdp.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use edgecdp_core::identity::graph::GraphConfig;
use edgecdp_origin::config::{Config, Overrides};

/// edgecdp: an open, self-hostable real-time customer data platform whose engine runs at the edge.
#[derive(Debug, Parser)]
#[command(name = "edgecdp", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the origin and the native edge host on one address.
    ///
    /// Serves the edge protocol (/ee/v1/interact, collect, identity/acquire, privacy/set-consent),
    /// /v1/sync and /v1/snapshot for workers, the admin API (/api), /healthz, the storefront at /
    /// and sdk-js at /sdk/. Without --config the embedded Luma demo configuration is used (its
    /// secrets are public: for demos only). With --tls-cert and --tls-key it serves HTTPS
    /// (HTTP/1.1 and HTTP/2) instead of plain HTTP.
    Serve(ServeArgs),
    /// Print a visitor's stored events from a database file, newest first, one JSON object a line.
    ///
    /// Reads the SQLite file directly and read-only, so it works while a server runs.
    Events {
        /// The SQLite database file.
        #[arg(long, env = "EDGECDP_DATABASE")]
        database: PathBuf,
        /// The visitor's ECID.
        #[arg(long)]
        ecid: String,
        /// At most this many events.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// The identity graph: simulate linking rules on sample events, import link records from a
    /// source, look up a graph.
    #[command(subcommand)]
    Identity(IdentityCommand),
    /// Import a file into a dataset (a batch source): CSV with a header row, or JSON Lines.
    ///
    /// Profile datasets: each row becomes identities (linked together) and attributes, by the
    /// mapping given with --mapping, else the dataset's configured mapping, else auto-mapping of
    /// standard column names (the mapping used is printed, unmapped columns too). Events
    /// datasets: each line is an XDM event keyed by its highest-priority person identity. Rows
    /// are stored in batches of up to 1,000; importing the same file again changes nothing. Rows
    /// that cannot be imported are quarantined in the database with their reasons and listed;
    /// the others are imported, and the command then exits with status 1. A progress bar shows
    /// on standard error when it is a terminal.
    Import(ImportArgs),
    /// Check a configuration file: print its datastreams, computed attributes, segments (where
    /// each segment is evaluated, its state per profile), activities and offers, the TLS files (if
    /// set, loaded as `serve` loads them), and every problem (exit status 1).
    CheckConfig {
        /// The configuration file (TOML); the embedded demo configuration when omitted.
        #[arg(long, env = "EDGECDP_CONFIG")]
        config: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum IdentityCommand {
    /// Print the graphs a list of events makes (JSON), under the configuration's namespaces.
    ///
    /// The file has one event a line (JSON Lines): `{"xdm": {...}}` or bare XDM with `identityMap`
    /// and `timestamp`. Problems are listed by line and field; nothing is stored.
    Simulate {
        /// The events (JSON Lines; `-` for standard input).
        file: PathBuf,
        /// The configuration file (its [identity] section); the embedded demo one when omitted.
        #[arg(long, env = "EDGECDP_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Add link records from a source (CRM, loyalty) to a database, rebuilding the graphs.
    ///
    /// The file has one record a line: `{"key"?, "at": "<RFC 3339>", "identities": [{"ns", "id",
    /// "state"?}]}`. Bad lines are reported with their number and reasons and skipped; the
    /// others are added.
    Import {
        /// The records (JSON Lines; `-` for standard input).
        file: PathBuf,
        /// The SQLite database file.
        #[arg(long, env = "EDGECDP_DATABASE")]
        database: PathBuf,
        /// The source's name, kept with each record.
        #[arg(long, default_value = "import")]
        source: String,
        /// The configuration file (its [identity] section); the embedded demo one when omitted.
        #[arg(long, env = "EDGECDP_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Print the identity graph holding an identity (JSON).
    Graph {
        /// The SQLite database file.
        #[arg(long, env = "EDGECDP_DATABASE")]
        database: PathBuf,
        /// The namespace (Email, CRMID, ECID, ...).
        #[arg(long)]
        ns: String,
        /// The identity value.
        #[arg(long)]
        id: String,
        /// The configuration file (its [identity] section); the embedded demo one when omitted.
        #[arg(long, env = "EDGECDP_CONFIG")]
        config: Option<PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
struct ImportArgs {
    /// The file: `.csv` (header row required), `.jsonl` or `.ndjson` (one JSON object a line).
    file: PathBuf,
    /// The dataset's id (`[[datasets]]` in the configuration; the demo has crm-contacts, loyalty
    /// and web-history). An undeclared dataset needs --mapping, which gives its kind.
    #[arg(long)]
    dataset: String,
    /// A mapping file (JSON) to use instead of the dataset's mapping or auto-mapping.
    #[arg(long)]
    mapping: Option<PathBuf>,
    /// Print the mapping and the first 10 rows as mapped (identities and attributes), count the
    /// rows that would import or be quarantined, and write nothing (no database is opened).
    #[arg(long)]
    dry_run: bool,
    /// Print the summary as JSON (the same as the API's) instead of text.
    #[arg(long)]
    json: bool,
    /// The SQLite database file (created if missing); the configuration's `database` when omitted.
    #[arg(long, env = "EDGECDP_DATABASE")]
    database: Option<PathBuf>,
    /// The configuration file (datasets, identity namespaces); the embedded demo one when omitted.
    #[arg(long, env = "EDGECDP_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// The configuration file (TOML); the embedded demo configuration when omitted.
    #[arg(long, env = "EDGECDP_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port). Overrides `listen`.
    #[arg(long, env = "EDGECDP_LISTEN")]
    listen: Option<std::net::SocketAddr>,
    /// The SQLite database file (created if missing). Overrides `database`.
    #[arg(long, env = "EDGECDP_DATABASE")]
    database: Option<PathBuf>,
    /// Directory served at / (the storefront). Overrides `site_dir`.
    #[arg(long, env = "EDGECDP_SITE_DIR")]
    site_dir: Option<PathBuf>,
    /// Directory served at /sdk/ (the built sdk-js). Overrides `sdk_dir`.
    #[arg(long, env = "EDGECDP_SDK_DIR")]
    sdk_dir: Option<PathBuf>,
    /// Serve HTTPS (HTTP/1.1 and HTTP/2) with this certificate chain: a PEM file, the server's
    /// certificate first. Needs --tls-key. Overrides `tls_cert`.
    #[arg(long, env = "EDGECDP_TLS_CERT", value_name = "PEM_FILE")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert: a PEM file (PKCS#8, PKCS#1 or SEC1, unencrypted). Needs
    /// --tls-cert. Overrides `tls_key`.
    #[arg(long, env = "EDGECDP_TLS_KEY", value_name = "PEM_FILE")]
    tls_key: Option<PathBuf>,
    /// Personalize the storefront's HTML pages at the edge before serving them (proxy mode:
    /// offers already in the markup, the edge's answer inlined). Turns `[pages] personalize` on.
    #[arg(long)]
    personalize_pages: bool,
}

fn overrides_from_env() -> Overrides {
    let var = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
    Overrides {
        cookie_keys: var("EDGECDP_COOKIE_KEYS"),
        sync_secret: var("EDGECDP_SYNC_SECRET"),
        admin_api_keys: var("EDGECDP_ADMIN_API_KEYS"),
        ..Overrides::default()
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

/// The graph rules of a configuration.
fn graph_config(config: Option<&std::path::Path>) -> anyhow::Result<GraphConfig> {
    let config = Config::load(config, &overrides_from_env())?;
    Ok(edgecdp_core::snapshot::Snapshot::build(&config.snapshot_config(), 0).0.identity)
}

/// Lines of a JSON Lines file (`-`: standard input), numbered from 1, blank lines skipped.
fn json_lines(file: &std::path::Path) -> anyhow::Result<Vec<(usize, String)>> {
    let text = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?
    };
    Ok(text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).map(|(i, l)| (i + 1, l.to_owned())).collect())
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut out = serde_json::to_string_pretty(value)?;
    out.push('\n');
    std::io::Write::write_all(&mut std::io::stdout(), out.as_bytes())?;
    Ok(())
}

fn identity(cmd: IdentityCommand) -> anyhow::Result<()> {
    use edgecdp_core::field::Path;
    use edgecdp_core::value::Value;
    match cmd {
        IdentityCommand::Simulate { file, config } => {
            let graph = graph_config(config.as_deref())?;
            let mut events = Vec::new();
            let mut problems = Vec::new();
            for (line, text) in json_lines(&file)? {
                match serde_json::from_str::<Value>(&text) {
                    Ok(v) => events.push((line, v)),
                    Err(e) => problems.push(format!("line {line}: not JSON: {e}")),
                }
            }
            let values: Vec<Value> = events.iter().map(|(_, v)| v.clone()).collect();
            match edgecdp_core::identity::simulate::simulate(&values, &graph) {
                Ok(graphs) if problems.is_empty() => print_json(&graphs),
                Ok(_) => anyhow::bail!("{}", problems.join("\n")),
                Err(errors) => {
                    for e in errors {
                        // events[i] → the file's line.
                        let msg = e.to_string();
                        let line = msg
                            .strip_prefix("events[")
                            .and_then(|r| r.split_once(']'))
                            .and_then(|(i, rest)| Some((events.get(i.parse::<usize>().ok()?)?.0, rest)));
                        problems.push(match line {
                            Some((n, rest)) => format!("line {n}: event{rest}"),
                            None => msg,
                        });
                    }
                    anyhow::bail!("{}", problems.join("\n"))
                }
            }
        }
        IdentityCommand::Import { file, database, source, config } => {
            let graph = graph_config(config.as_deref())?;
            let mut good = Vec::new();
            let mut rejected = Vec::new();
            for (line, text) in json_lines(&file)? {
                let name = format!("line {line}");
                let parsed = serde_json::from_str::<Value>(&text)
                    .map_err(|e| vec![format!("{name}: not JSON: {e}")])
                    .and_then(|v| {
                        edgecdp_core::identity::simulate::read_link_record(
                            v,
                            &Path::Root(&name),
                            &format!("{source}:{line}"),
                            &graph,
                        )
                        .map_err(|errs| errs.iter().map(ToString::to_string).collect())
                    });
                match parsed {
                    Ok(r) => good.push(r),
                    Err(errs) => rejected.extend(errs),
                }
            }
            let store = edgecdp_origin::store::SqliteStore::open(&database, graph)?;
            let added = edgecdp_origin::store::Store::add_link_records(&store, &good, &source)?;
            print_json(&serde_json::json!({ "accepted": good.len(), "added": added, "rejected": rejected }))?;
            if rejected.is_empty() {
                Ok(())
            } else {
                anyhow::bail!("{} line(s) rejected (listed above)", rejected.len())
            }
        }
        IdentityCommand::Graph { database, ns, id, config } => {
            let graph = graph_config(config.as_deref())?;
            let id = graph.namespaces.normalize(&ns, &id)?;
            let store = edgecdp_origin::store::SqliteStore::open_read_only(&database, graph)?;
            match edgecdp_origin::store::Store::graph(&store, &edgecdp_core::identity::IdentityKey::new(ns, id))? {
                Some(report) => print_json(&report),
                None => anyhow::bail!("no identity graph holds this identity"),
            }
        }
    }
}

fn write_stdout(text: &str) -> anyhow::Result<()> {
    std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes())?;
    Ok(())
}

fn import(args: ImportArgs) -> anyhow::Result<()> {
    use edgecdp_origin::import::{Format, MappingChoice, describe_mapping, describe_summary, prepare, preview, run};
    use std::io::IsTerminal;
    let started = std::time::Instant::now();
    let config = Config::load(args.config.as_deref(), &overrides_from_env())?;
    let graph = edgecdp_core::snapshot::Snapshot::build(&config.snapshot_config(), 0).0.identity;
    let declared = config.dataset(&args.dataset);
    if declared.is_none() && args.mapping.is_none() {
        let known: Vec<&str> = config.datasets.iter().map(|d| d.id.as_str()).collect();
        anyhow::bail!(
            "the dataset {:?} is not declared in the configuration (declared: {}); declare it under [[datasets]] or give --mapping, whose kind says what it holds",
            args.dataset,
            if known.is_empty() { "none".to_owned() } else { known.join(", ") }
        );
    }
    let format = Format::from_path(&args.file).with_context(|| {
        format!("cannot tell the format of {}: name it .csv, .jsonl or .ndjson", args.file.display())
    })?;
    let bytes = std::fs::read(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let choice = MappingChoice::pick(args.mapping.as_deref(), declared.and_then(|d| d.mapping.as_deref()));
    let name = args.file.display().to_string();
    let prepared = prepare(&args.dataset, declared.map(|d| d.kind), &bytes, format, choice, &graph.namespaces, &name)?;
    let now = edgecdp_origin::server::now();
    if args.dry_run {
        return write_stdout(&preview(&prepared, now, 10));
    }
    if !args.json {
        write_stdout(&describe_mapping(&prepared.report))?;
    }
    let database = args.database.unwrap_or_else(|| config.database.clone());
    // Segments and computed attributes are decided as the rows are stored.
    let (store, _engine) = edgecdp_origin::open_store(&config, &database)?;
    let bar = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(prepared.table.rows.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:32}] {pos}/{len} rows, {per_sec}, {eta} left")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(format!("importing into {}", args.dataset));
    let summary = run(store.as_ref(), &prepared, now, started, &mut |done| bar.set_position(done as u64))?;
    bar.finish_and_clear();
    if args.json {
        print_json(&summary)?;
    } else {
        write_stdout(&describe_summary(&summary, 5))?;
    }
    if summary.quarantined > 0 {
        anyhow::bail!(
            "{} row(s) quarantined (the other rows were imported); GET /api/datasets/{}/quarantine lists them",
            summary.quarantined,
            summary.dataset
        );
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            let overrides = Overrides {
                listen: args.listen,
                database: args.database,
                site_dir: args.site_dir,
                sdk_dir: args.sdk_dir,
                tls_cert: args.tls_cert,
                tls_key: args.tls_key,
                personalize_pages: args.personalize_pages,
                ..overrides_from_env()
            };
            let config = Config::load(args.config.as_deref(), &overrides)?;
            let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            runtime.block_on(edgecdp_origin::serve(config, shutdown_signal()))
        }
        Command::Identity(cmd) => identity(cmd),
        Command::Import(args) => import(args),
        Command::Events { database, ecid, limit } => {
            let store = edgecdp_origin::store::SqliteStore::open_read_only(&database, GraphConfig::default())?;
            let events = edgecdp_origin::store::Store::events_for_ecid(&store, &ecid, limit)?;
            let mut out = String::new();
            for e in events {
                out.push_str(&serde_json::to_string(&e)?);
                out.push('\n');
            }
            std::io::Write::write_all(&mut std::io::stdout(), out.as_bytes())?;
            Ok(())
        }
        Command::CheckConfig { config } => {
            let config = Config::load(config.as_deref(), &overrides_from_env())?;
            let (snapshot, warnings) = edgecdp_core::snapshot::Snapshot::build(&config.snapshot_config(), 1);
            let mut out = String::new();
            for ds in snapshot.datastreams.values() {
                let origins: Vec<String> = ds.allowed_origins.iter().map(ToString::to_string).collect();
                out.push_str(&format!(
                    "datastream {} (org {}): allowed origins {}\n",
                    ds.id,
                    ds.org_id,
                    origins.join(", ")
                ));
            }
            let mut problems: Vec<String> = warnings.iter().map(ToString::to_string).collect();
            // Segments and computed attributes, compiled as the origin will.
            let schema = edgecdp_origin::segments::schema_for(&config);
            let (_, computed_errors) = edgecdp_core::profile::computed::Computed::compile(&config.computed, &schema);
            problems.extend(computed_errors.iter().map(ToString::to_string));
            for c in &config.computed {
                out.push_str(&format!("computed attribute {}: {:?} over {} days\n", c.path, c.function, c.window_days));
            }
            let options = edgecdp_core::segment::compile::Options { exact_buffers: true, ..Default::default() };
            let set = edgecdp_core::segment::set::SegmentSet::load(&config.segments, &schema, &options);
            for s in set.segments() {
                let r = s.report();
                let place = if r.edge_eligible {
                    "edge and origin".to_owned()
                } else {
                    format!("origin only ({})", r.not_at_edge.join("; "))
                };
                out.push_str(&format!("segment {}: {place}; {} bytes of state per profile\n", s.id(), r.state_bytes));
            }
            problems.extend(set.skipped().iter().map(|s| format!("segment {}: {}", s.id, s.error)));
            // Activities and offers, checked as the admin API checks them.
            let edge: Vec<String> =
                set.segments().iter().filter(|s| s.report().edge_eligible).map(|s| s.id().to_owned()).collect();
            let decisions =
                edgecdp_core::decide::DecisionSet::load(&config.activities, &config.offers, &schema, &|id| {
                    edge.iter().any(|e| e == id)
                });
            for a in decisions.activity_ids() {
                out.push_str(&format!(
                    "activity {a}
"
                ));
            }
            out.push_str(&format!("offers: {}\n", config.offers.len()));
            // The TLS files, loaded as `serve` loads them.
            if let Some((cert, key)) = config.tls()? {
                match edgecdp_origin::tls::server_config(cert, key) {
                    Ok(_) => out.push_str(&format!("tls: {} with the key {}\n", cert.display(), key.display())),
                    Err(e) => problems.push(format!("{e:#}")),
                }
            }
            for w in decisions.warnings() {
                let line = format!("{} {} {}: {}", w.kind, w.id, w.field, w.message);
                if w.skipped {
                    problems.push(line);
                } else {
                    out.push_str(&format!("remark: {line}\n"));
                }
            }
            for p in &problems {
                out.push_str(&format!("problem: {p}\n"));
            }
            std::io::Write::write_all(&mut std::io::stdout(), out.as_bytes())?;
            if problems.is_empty() {
                Ok(())
            } else {
                anyhow::bail!("{} problem(s) in the configuration", problems.len())
            }
        }
    }
}
