//! # edgecdp-origin
//!
//! The origin of edgecdp and its native edge host, as a library behind the `edgecdp` binary:
//!
//! - [`config`]: the TOML configuration with environment and flag overrides; the embedded Luma
//!   demo configuration.
//! - [`store`]: the authoritative store behind the [`store::Store`] trait; SQLite (WAL) by
//!   default.
//! - [`import`]: batch sources: CSV and JSON Lines files mapped to identities, attributes and
//!   events, stored in idempotent chunks, bad rows quarantined; watched folders.
//! - [`server`]: the HTTP server: native edge routes (the same core pipeline the worker runs),
//!   `/v1/sync` and `/v1/snapshot` for workers, the admin API, the storefront and sdk-js.
//! - [`tls`]: HTTPS (`tls_cert`, `tls_key`): the certificate files and a listener that
//!   completes TLS handshakes off the accept path.
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! let config = edgecdp_origin::config::Config::load(None, &Default::default())?;
//! edgecdp_origin::serve(config, std::future::pending()).await
//! # }
//! ```

pub mod config;
pub mod decisions;
pub mod import;
pub mod segments;
pub mod server;
pub mod store;
pub mod tls;

use std::future::Future;
use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use edgecdp_core::snapshot::Snapshot;

/// Opens the store at `database` with the segment engine deciding after every write.
///
/// # Errors
/// When the store cannot be opened, or a computed attribute in the configuration is invalid.
pub fn open_store(
    config: &config::Config,
    database: &std::path::Path,
) -> anyhow::Result<(Arc<dyn store::Store>, Arc<segments::Engine>)> {
    let graph = Snapshot::build(&config.snapshot_config(), 0).0.identity;
    let raw: Arc<dyn store::Store> = Arc::new(store::SqliteStore::open(database, graph)?);
    let engine = Arc::new(segments::Engine::open(Arc::clone(&raw), config, server::now())?);
    let store: Arc<dyn store::Store> = Arc::new(segments::DecidingStore::new(raw, Arc::clone(&engine)));
    Ok((store, engine))
}

/// Re-decides every profile when the definitions changed since the last run, then decides the
/// profiles whose memberships change by time, every second.
fn spawn_segment_timer(engine: Arc<segments::Engine>) {
    tokio::spawn(async move {
        let e = Arc::clone(&engine);
        match tokio::task::spawn_blocking(move || e.catch_up()).await {
            Ok(Ok(Some(n))) => tracing::info!(profiles = n, "segments decided over every profile's history"),
            Ok(Ok(None)) => {}
            Ok(Err(err)) => tracing::error!(error = %err, "segment catch-up failed"),
            Err(err) => tracing::error!(error = %err, "segment catch-up died"),
        }
        let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let e = Arc::clone(&engine);
            match tokio::task::spawn_blocking(move || e.tick(e.now())).await {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => tracing::debug!(profiles = n, "segments decided by time"),
                Ok(Err(err)) => tracing::error!(error = %err, "segment timer failed"),
                Err(err) => tracing::error!(error = %err, "segment timer died"),
            }
        }
    });
}

/// The listener `serve` runs on.
enum Either {
    Tcp(tokio::net::TcpListener),
    Tls(tls::TlsListener),
}

/// This build's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Opens the store, builds the snapshot and serves until `shutdown` resolves.
///
/// Prints `edgecdp listening on http://ADDR` on stdout once the socket is bound (with the real
/// port when the configuration asked for port 0), `https://ADDR` when `tls_cert` and `tls_key`
/// are set: then it serves HTTPS only, HTTP/1.1 and HTTP/2 (ALPN).
///
/// # Errors
/// When the TLS files cannot be used, the store cannot be opened or the address cannot be
/// bound.
pub async fn serve(config: config::Config, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    if config.demo {
        tracing::warn!(
            "running with the embedded demo configuration: its secrets are public, do not use it for real traffic"
        );
    }
    // Before anything is opened or bound: a bad certificate is a configuration mistake.
    let tls = match config.tls()? {
        Some((cert, key)) => Some(tls::server_config(cert, key)?),
        None => None,
    };
    let (snapshot, warnings) = Snapshot::build(&config.snapshot_config(), 0);
    for w in &warnings {
        tracing::warn!("configuration: {w}");
    }
    let (store, engine) = open_store(&config, &config.database)?;
    tracing::info!(
        datastreams = snapshot.datastreams.len(),
        segments = engine.set().segments().len(),
        database = %config.database.display(),
        "origin ready"
    );
    import::watch::spawn(&config.datasets, &store, &snapshot.identity.namespaces);
    let decisioning = Arc::new(decisions::Decisioning::open(Arc::clone(&store), &config, engine.now())?);
    let state = server::AppState::new(&config, store, snapshot, Arc::clone(&engine), decisioning)
        .context("cannot start the store's committing thread")?;
    state.publish_snapshot()?;
    spawn_segment_timer(engine);
    let app = server::router(state, &config);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let listener = match tls {
        Some(tls) => Either::Tls(tls::TlsListener::new(listener, tls, tls::HANDSHAKE_TIMEOUT)?),
        None => Either::Tcp(listener),
    };
    {
        let scheme = if matches!(listener, Either::Tls(_)) { "https" } else { "http" };
        let mut out = std::io::stdout().lock();
        writeln!(out, "edgecdp listening on {scheme}://{addr}")?;
        out.flush()?;
    }
    match listener {
        Either::Tcp(l) => axum::serve(l, app).with_graceful_shutdown(shutdown).await?,
        Either::Tls(l) => axum::serve(l, app).with_graceful_shutdown(shutdown).await?,
    }
    tracing::info!("stopped");
    Ok(())
}
