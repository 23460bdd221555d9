//! The HTTP server of `edgecdp serve`: the native edge host, the edge ⇄ origin endpoints, the
//! admin API and the static storefront.
//!
//! | route | what |
//! |---|---|
//! | `POST /{base}[/{hint}]/v1/{interact,collect,identity/acquire,privacy/set-consent}` | native edge (core pipeline) |
//! | `POST /v1/sync` | msgpack batches from workers, signed, idempotent by batch id |
//! | `GET /v1/snapshot` | the definitions snapshot for workers, signed |
//! | `GET /v1/fragments?ns=&id=` | a person's edge profile fragment for workers (msgpack), signed |
//! | `GET /api/events?ecid=` | admin API (API key): a browser's events |
//! | `GET /api/identities/graph?ns=&id=` | admin API: a person's identity graph |
//! | `POST /api/identities/simulate` | admin API: the graphs a list of events makes |
//! | `POST /api/identities/links` | admin API: link records from a source (CRM, loyalty) |
//! | `GET /api/profiles/events?ns=&id=` | admin API: a person's events on every browser |
//! | `GET /api/profiles?ns=&id=&limit=&before=` | admin API: a person's 360° view |
//! | `DELETE /api/profiles?ns=&id=` | admin API: delete a person (right to be forgotten) |
//! | `POST /api/datasets/{id}/batches` | admin API: import a CSV or JSON Lines body into a dataset |
//! | `GET /api/datasets/{id}/quarantine` | admin API: rows imports could not use, with reasons |
//! | `GET /api/segments`, `POST /api/segments` | admin API: segments; create or change one (compile errors with positions, the report, the audience size) |
//! | `GET /api/segments/{id}`, `DELETE /api/segments/{id}` | admin API: one segment with its report, size and size over time; delete it |
//! | `GET /api/segments/{id}/members?limit=&after=` | admin API: a page of a segment's members |
//! | `GET /api/activities`, `POST /api/activities` | admin API: activities; create or change one (validated, a new revision, published to edges) |
//! | `GET /api/activities/{id}`, `DELETE /api/activities/{id}` | admin API: one activity with displays and clicks per experience; delete it |
//! | `GET /api/offers`, `POST /api/offers`, `GET/DELETE /api/offers/{id}` | admin API: offers (an offer activities use cannot be deleted: 409) |
//! | `GET /api/clock`, `POST /api/clock` | admin API: the origin's clock; in demos, move it forward |
//! | `GET /healthz` | liveness and counts |
//! | `GET /sdk/*` | the built sdk-js |
//! | `GET /*` | the storefront (demo-site) |

mod api;
mod commit;
mod datasets;
mod decisions;
mod edge;
mod pages;
mod segments;
mod sync;

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use edgecdp_core::identity::CookieKeys;
use edgecdp_core::snapshot::{Snapshot, SnapshotConfig};
use edgecdp_core::time::Timestamp;
use http_body_util::BodyExt;
use tower::ServiceExt;
use tower_http::services::ServeDir;

use crate::config::Config;
use crate::store::{Store, StoreError};

/// Everything the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The current definitions snapshot.
    pub snapshot: Arc<RwLock<Arc<Snapshot>>>,
    /// Identity cookie keys.
    pub cookie_keys: Arc<CookieKeys>,
    /// The edge ⇄ origin shared secret.
    pub sync_secret: Arc<Vec<u8>>,
    /// Admin API keys.
    pub admin_api_keys: Arc<Vec<String>>,
    /// This native edge's name in batches and logs.
    pub edge_name: Arc<str>,
    /// What snapshots are built from (republished after deletions).
    pub snapshot_config: Arc<SnapshotConfig>,
    /// The segment engine.
    pub engine: Arc<crate::segments::Engine>,
    /// Activities and offers.
    pub decisioning: Arc<crate::decisions::Decisioning>,
    /// Whether the demo clock may be moved (`demo = true`).
    pub demo: bool,
    /// The scheme this server is reached by (`https` with `--tls-cert`).
    pub scheme: &'static str,
    /// Group commit of the native edge's batches.
    commits: commit::Committer,
}

/// How long a deletion stays in the snapshots edges get: longer than any edge keeps a cached
/// person view (a day), with margin.
pub const TOMBSTONE_TTL_MS: i64 = 30 * 86_400_000;

impl AppState {
    /// The state for a configuration, its snapshot built at `version`; starts the thread that
    /// commits the native edge's batches.
    ///
    /// # Errors
    /// When that thread cannot be started.
    pub fn new(
        config: &Config,
        store: Arc<dyn Store>,
        snapshot: Snapshot,
        engine: Arc<crate::segments::Engine>,
        decisioning: Arc<crate::decisions::Decisioning>,
    ) -> std::io::Result<AppState> {
        let mut keys = config.secrets.cookie_keys.iter().map(|k| k.as_bytes().to_vec());
        let current = keys.next().unwrap_or_default();
        Ok(AppState {
            commits: commit::Committer::start(Arc::clone(&store))?,
            store,
            snapshot: Arc::new(RwLock::new(Arc::new(snapshot))),
            cookie_keys: Arc::new(CookieKeys::new(current, keys.collect())),
            sync_secret: Arc::new(config.secrets.sync_secret.as_bytes().to_vec()),
            admin_api_keys: Arc::new(config.secrets.admin_api_keys.clone()),
            edge_name: Arc::from(config.edge_name.as_str()),
            snapshot_config: Arc::new(config.snapshot_config()),
            engine,
            decisioning,
            demo: config.demo,
            scheme: if config.tls_cert.is_some() { "https" } else { "http" },
        })
    }

    /// The origin's clock (the wall clock plus a demo's fast-forward).
    pub fn now(&self) -> Timestamp {
        self.engine.now()
    }

    /// Builds and serves a new snapshot version (with the recent tombstones), so edges pick up
    /// changes such as deletions on their next check.
    ///
    /// # Errors
    /// When the store cannot give a version or the tombstones.
    pub fn publish_snapshot(&self) -> Result<u64, StoreError> {
        let version = self.store.next_snapshot_version()?;
        let tombstones = self.store.tombstones(now().plus_millis(-TOMBSTONE_TTL_MS))?;
        // Edges keep the attributes segments and decisions read, and evaluate the edge-eligible
        // segments and the valid activities and offers.
        let mut config = (*self.snapshot_config).clone();
        let edge_segments: Vec<String> = self.engine.edge_definitions().into_iter().map(|d| d.id).collect();
        let (activities, offers) = self.decisioning.definitions();
        let checked = self.decisioning.compile(&activities, &offers, &edge_segments);
        for w in checked.warnings() {
            tracing::warn!(kind = w.kind, id = w.id, field = w.field, skipped = w.skipped, "{}", w.message);
        }
        let reads: Vec<String> = checked.profile_reads().cloned().collect();
        for path in self.engine.profile_reads().into_iter().chain(reads) {
            if !config.profile.edge_attributes.contains(&path) {
                config.profile.edge_attributes.push(path);
            }
        }
        let (snapshot, _) = Snapshot::build(&config, version);
        let (snapshot, skipped) = snapshot.with_tombstones(tombstones).with_segments(self.engine.edge_definitions());
        for s in skipped {
            tracing::warn!(segment = s.id, error = %s.error, "segment left out of the edge snapshot");
        }
        let (mut snapshot, _) = snapshot.with_decisions(activities, offers);
        snapshot.clock_offset_ms = self.engine.clock_offset();
        let snapshot = Arc::new(snapshot);
        match self.snapshot.write() {
            Ok(mut s) => *s = snapshot,
            Err(poisoned) => *poisoned.into_inner() = snapshot,
        }
        Ok(version)
    }

    /// The snapshot serving now.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.snapshot.read() {
            Ok(s) => Arc::clone(&s),
            // A writer panicked mid-swap; the Arc inside is still a whole snapshot.
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }
}

/// The router for a configuration.
pub fn router(state: AppState, config: &Config) -> Router {
    let mut app = Router::new()
        .route("/healthz", get(health))
        .route("/v1/sync", post(sync::receive))
        .route("/v1/snapshot", get(sync::snapshot))
        .route("/v1/fragments", get(sync::fragment))
        .route("/api/events", get(api::events))
        .route("/api/identities/graph", get(api::graph))
        .route("/api/identities/simulate", post(api::simulate))
        .route("/api/identities/links", post(api::links))
        .route("/api/profiles/events", get(api::person_events))
        .route("/api/profiles", get(api::profile).delete(api::delete_profile))
        .route("/api/segments", get(segments::list).post(segments::upsert))
        .route("/api/segments/{id}", get(segments::one).delete(segments::delete))
        .route("/api/segments/{id}/members", get(segments::members))
        .route("/api/activities", get(decisions::activities).post(decisions::post_activity))
        .route("/api/activities/{id}", get(decisions::activity).delete(decisions::delete_activity))
        .route("/api/offers", get(decisions::offers).post(decisions::post_offer))
        .route("/api/offers/{id}", get(decisions::offer).delete(decisions::delete_offer))
        .route("/api/clock", get(segments::clock).post(segments::advance_clock))
        .route("/api/datasets/{id}/batches", datasets::batches(config))
        .route("/api/datasets/{id}/quarantine", get(datasets::quarantine))
        .route("/{base}/v1/{*action}", axum::routing::any(edge::handle))
        .route("/{base}/{hint}/v1/{*action}", axum::routing::any(edge::handle));
    if let Some(dir) = &config.sdk_dir {
        app = app.nest_service("/sdk", ServeDir::new(dir));
    }
    let site = config.site_dir.clone().map(|dir| {
        let pages = config.pages.personalize.then(|| {
            let ds = config.pages.datastream.clone().or_else(|| config.datastreams.first().map(|d| d.id.clone()));
            (dir.clone(), ds.unwrap_or_default())
        });
        (ServeDir::new(dir), pages)
    });
    app.fallback(move |state: State<AppState>, req: Request<Body>| fallback(state, req, site))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Reads of any other path are the storefront's; any other method goes to the edge pipeline,
/// which answers unknown paths and methods with the same Adobe-format errors as the worker.
/// With `[pages] personalize`, HTML pages are personalized by the edge first.
async fn fallback(
    state: State<AppState>,
    req: Request<Body>,
    site: Option<(ServeDir, Option<(std::path::PathBuf, String)>)>,
) -> Response {
    let (parts, body) = req.into_parts();
    if parts.method != Method::GET && parts.method != Method::HEAD {
        return edge::handle(state, parts.method, parts.uri, parts.headers, body).await;
    }
    if let Some((_, Some((dir, datastream)))) = &site
        && parts.method == Method::GET
        && let Some(page) = pages::serve(&state.0, &parts, dir, datastream).await
    {
        return page;
    }
    match site.map(|(files, _)| files) {
        Some(site) => match site.oneshot(Request::from_parts(parts, body)).await {
            Ok(r) => r.map(Body::new),
            Err(never) => match never {},
        },
        None => json_error(StatusCode::NOT_FOUND, "not_found", "There is nothing at this path."),
    }
}

async fn health(State(app): State<AppState>) -> Response {
    match with_store(&app, |store| store.stats()).await {
        Ok(stats) => axum::Json(serde_json::json!({
            "status": "ok",
            "version": crate::VERSION,
            "snapshotVersion": app.snapshot().version,
            "events": stats.events,
            "batches": stats.batches,
            "identities": stats.identities,
            "linkRecords": stats.link_records,
        }))
        .into_response(),
        Err(e) => e.into_response(),
    }
}

/// Runs a store operation off the async threads. A failure is a 503 with `Retry-After`: the
/// caller may retry, nothing was half-done.
///
/// # Errors
/// [`ApiError`] (503, `store_unavailable`) when the store fails or the task dies.
pub async fn with_store<T: Send + 'static>(
    app: &AppState,
    op: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = Arc::clone(&app.store);
    let unavailable = |message: String| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable", message);
    match tokio::task::spawn_blocking(move || op(store.as_ref())).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "store operation failed");
            Err(unavailable(e.to_string()))
        }
        Err(e) => Err(unavailable(e.to_string())),
    }
}

/// An error of the origin's own endpoints, answered as
/// `{ "error": { "code", "message" } }`.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// A sentence saying what is wrong.
    pub message: String,
    /// Each field problem, when the request body had them.
    pub errors: Vec<edgecdp_core::field::FieldError>,
    /// More members of the error object (a segment error's `line` and `column`).
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl ApiError {
    /// An error with its status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), errors: Vec::new(), extra: serde_json::Map::new() }
    }

    /// A 400 listing field problems (the first one is the message).
    pub fn invalid(errors: Vec<edgecdp_core::field::FieldError>) -> ApiError {
        let message = match errors.as_slice() {
            [] => "The request is invalid.".to_owned(),
            [one] => one.to_string(),
            [first, rest @ ..] => format!("{first} (and {} more problems, listed in errors)", rest.len()),
        };
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_request",
            message,
            errors,
            extra: serde_json::Map::new(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = serde_json::json!({ "code": self.code, "message": self.message });
        if let Some(obj) = error.as_object_mut() {
            obj.extend(self.extra);
        }
        if !self.errors.is_empty() {
            error["errors"] = self
                .errors
                .iter()
                .map(|e| serde_json::json!({ "path": e.path(), "code": e.code(), "message": e.to_string() }))
                .collect();
        }
        let mut r = (self.status, axum::Json(serde_json::json!({ "error": error }))).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        r
    }
}

/// A JSON error response for the origin's own endpoints.
pub fn json_error(status: StatusCode, code: &'static str, message: &str) -> Response {
    ApiError::new(status, code, message).into_response()
}

/// The wall clock, for the core.
pub fn now() -> Timestamp {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    Timestamp(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// Fresh bytes from the operating system's secure random source.
///
/// # Errors
/// When the OS source fails (then the request is answered 503 and retried).
pub fn entropy<const N: usize>() -> Result<[u8; N], getrandom::Error> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf)?;
    Ok(buf)
}

/// Reads at most `limit + 1` bytes of a body: enough to tell "too large" without buffering an
/// unbounded upload.
///
/// # Errors
/// When the client's stream fails.
pub async fn read_limited(body: Body, limit: usize) -> Result<Vec<u8>, axum::Error> {
    let mut body = body;
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            let room = (limit + 1).saturating_sub(out.len());
            out.extend_from_slice(&data[..data.len().min(room)]);
            if out.len() > limit {
                break;
            }
        }
    }
    Ok(out)
}

/// A header's value as text, if present and ASCII.
pub fn header_str(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The request's cookies as one `Cookie` value: HTTP/2 clients (Chromium among them) may send
/// each cookie as a header field of its own, which mean the same as one joined with `; `.
pub fn cookie_header(headers: &HeaderMap) -> Option<std::borrow::Cow<'_, str>> {
    let mut parts = headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok());
    let first = parts.next()?;
    match parts.next() {
        None => Some(std::borrow::Cow::Borrowed(first)),
        Some(second) => {
            let mut joined = format!("{first}; {second}");
            for p in parts {
                joined.push_str("; ");
                joined.push_str(p);
            }
            Some(std::borrow::Cow::Owned(joined))
        }
    }
}
