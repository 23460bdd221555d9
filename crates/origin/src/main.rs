//! `edgecdp`: the origin store and native edge host of edgecdp.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
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
    /// secrets are public: for demos only).
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
    /// Check a configuration file and print the datastreams it defines (with any problems).
    CheckConfig {
        /// The configuration file (TOML); the embedded demo configuration when omitted.
        #[arg(long, env = "EDGECDP_CONFIG")]
        config: Option<PathBuf>,
    },
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
                ..overrides_from_env()
            };
            let config = Config::load(args.config.as_deref(), &overrides)?;
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            runtime.block_on(edgecdp_origin::serve(config, shutdown_signal()))
        }
        Command::Events {
            database,
            ecid,
            limit,
        } => {
            let store = edgecdp_origin::store::SqliteStore::open_read_only(&database)?;
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
            let (snapshot, warnings) =
                edgecdp_core::snapshot::Snapshot::build(&config.snapshot_config(), 1);
            let mut out = String::new();
            for ds in snapshot.datastreams.values() {
                let origins: Vec<String> =
                    ds.allowed_origins.iter().map(ToString::to_string).collect();
                out.push_str(&format!(
                    "datastream {} (org {}): allowed origins {}\n",
                    ds.id,
                    ds.org_id,
                    origins.join(", ")
                ));
            }
            for w in &warnings {
                out.push_str(&format!("problem: {w}\n"));
            }
            std::io::Write::write_all(&mut std::io::stdout(), out.as_bytes())?;
            if warnings.is_empty() {
                Ok(())
            } else {
                anyhow::bail!("{} problem(s) in the configuration", warnings.len())
            }
        }
    }
}
