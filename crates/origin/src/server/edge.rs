//! The native edge host: HTTP in, the core's edge pipeline, HTTP out, records into the store.
//!
//! Glue only: every rule is in `edgecdp_core::edge`. What this host adds is its own failure
//! mode: if the store cannot take the request's records, the request is answered 503 (which
//! the SDKs retry with the same `requestId`), never 200 with the data lost.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use edgecdp_core::edge::{self, EdgeEnv, EdgeLog, Entropy, HttpRequest, HttpResponse, Step, Views};
use edgecdp_core::sync::SyncBatch;

use super::{AppState, cookie_header, entropy, header_str, read_limited, with_store};

/// Any request under an edge path.
pub(super) async fn handle(
    State(app): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let origin = header_str(&headers, header::ORIGIN);
    let query = uri.query().unwrap_or("");
    let body = match read_limited(body, app.snapshot().limits.max_request_bytes).await {
        Ok(b) => b,
        Err(e) => {
            tracing::debug!(error = %e, "client body stream failed");
            return to_response(edge::unavailable(origin, query, 1));
        }
    };
    let cookie = cookie_header(&headers);
    let request = HttpRequest {
        method: method.as_str(),
        path: uri.path(),
        query,
        origin,
        cookie: cookie.as_deref(),
        body: &body,
    };
    to_response(run(&app, &request).await)
}

/// Runs one request through the core's pipeline: views from the store beside it, the records
/// into it. When the store cannot take the records, the answer is a 503 the SDKs retry with the
/// same `requestId`, never a 200 with the data lost.
pub(super) async fn run(app: &AppState, request: &HttpRequest<'_>) -> HttpResponse {
    let snapshot = app.snapshot();
    let (Ok(request_entropy), Ok(batch_entropy)) = (entropy::<32>(), entropy::<16>()) else {
        tracing::error!("the operating system's random source failed");
        return edge::unavailable(request.origin, request.query, 1);
    };
    let env = EdgeEnv { snapshot: &snapshot, cookie_keys: &app.cookie_keys };
    let at = app.now();
    let outcome = match edge::begin(&env, request, at, &Entropy(request_entropy)) {
        Step::Done(outcome) => outcome,
        Step::Lookup(pending) => {
            // This edge sits beside the authoritative graph: its views come straight from it.
            let keys = pending.keys().to_vec();
            let profile = snapshot.profile.clone();
            let decided = std::sync::Arc::clone(&snapshot);
            let views = with_store(app, move |store| {
                let mut views = Views::new();
                for k in keys {
                    if let Some(v) = crate::decisions::edge_fragment(store, &k, at, &profile, decided.decisions())? {
                        views.insert(k, v);
                    }
                }
                Ok(views)
            })
            .await;
            match views {
                Ok(views) => edge::finish(&env, pending, &views),
                Err(_) => return edge::unavailable(request.origin, request.query, 1),
            }
        }
    };
    log_outcome(&outcome.log, request.path);
    if !outcome.records.is_empty() {
        let batch = SyncBatch::new(&app.edge_name, at, batch_entropy, outcome.records);
        // Committed together with the batches of the requests arriving meanwhile, and answered
        // only after that commit.
        if app.commits.apply(batch, at).await.is_err() {
            // Logged by the committer; the SDKs retry a 503 with the same requestId.
            return edge::unavailable(request.origin, request.query, 1);
        }
    }
    outcome.response
}

fn log_outcome(log: &[EdgeLog], path: &str) {
    for entry in log {
        match entry {
            EdgeLog::Rejected { code, status, detail } => {
                tracing::info!(path, code, status, detail = %detail, "edge request refused");
            }
            EdgeLog::EcidMinted { refused: Some(why) } => {
                tracing::info!(path, reason = %why, "identity cookie refused; minted a new ECID");
            }
            other => tracing::debug!(path, event = ?other, "edge"),
        }
    }
}

/// Turns the core's response into axum's.
pub(super) fn to_response(r: HttpResponse) -> Response {
    let mut builder = Response::builder().status(StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST));
    if let Some(headers) = builder.headers_mut() {
        for (name, value) in r.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.append(name, v);
            }
        }
    }
    builder.body(Body::from(r.body)).unwrap_or_else(|_| Response::new(Body::empty()))
}
