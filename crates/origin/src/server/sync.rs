//! The edge ⇄ origin endpoints: batches up (`POST /v1/sync`), the snapshot down
//! (`GET /v1/snapshot`). Both are signed with the shared secret (`edgecdp_core::sync::sign`).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use edgecdp_core::sync::{SIGNATURE_HEADER, SyncBatch, TIMESTAMP_HEADER, verify};

use super::{ApiError, AppState, header_str, json_error, now, read_limited, with_store};

/// Largest sync batch accepted (16 MiB).
const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;

fn check_signature(app: &AppState, method: &str, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
    let signed = uri.path_and_query().map_or_else(|| uri.path(), |pq| pq.as_str());
    verify(
        &app.sync_secret,
        method,
        signed,
        header_str(headers, TIMESTAMP_HEADER),
        header_str(headers, SIGNATURE_HEADER),
        body,
        now(),
    )
    .map_err(|e| {
        tracing::warn!(error = %e, path = uri.path(), "refused an unsigned or badly signed edge call");
        ApiError::new(StatusCode::UNAUTHORIZED, "bad_signature", e.to_string())
    })
}

/// `POST /v1/sync`: applies a batch once, acknowledging only after it is committed.
pub(super) async fn receive(State(app): State<AppState>, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    let Ok(body) = read_limited(body, MAX_BATCH_BYTES).await else {
        return json_error(StatusCode::BAD_REQUEST, "body_stream", "The request body could not be read.");
    };
    if body.len() > MAX_BATCH_BYTES {
        return json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            &format!("A sync batch may be at most {MAX_BATCH_BYTES} bytes."),
        );
    }
    if let Err(e) = check_signature(&app, "POST", &uri, &headers, &body) {
        return e.into_response();
    }
    let batch = match SyncBatch::decode(&body) {
        Ok(b) => b,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, "bad_batch", &e.to_string()),
    };
    let at = now();
    let batch_id = batch.batch_id.clone();
    let source = batch.source.clone();
    match with_store(&app, move |store| store.apply_batch(&batch, at)).await {
        Ok(applied) => {
            tracing::info!(batch_id, source, applied = applied.applied, events = applied.events, "sync batch");
            axum::Json(serde_json::json!({
                "batchId": batch_id,
                "applied": applied.applied,
                "events": applied.events,
            }))
            .into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// `GET /v1/snapshot`: the definitions snapshot (msgpack); `304` when the edge's
/// `If-None-Match` names the current version.
pub(super) async fn snapshot(State(app): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    if let Err(e) = check_signature(&app, "GET", &uri, &headers, b"") {
        return e.into_response();
    }
    let snap = app.snapshot();
    let etag = format!("\"{}\"", snap.version);
    if header_str(&headers, header::IF_NONE_MATCH) == Some(etag.as_str()) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    match snap.encode() {
        Ok(bytes) => {
            (StatusCode::OK, [(header::CONTENT_TYPE, "application/msgpack".to_owned()), (header::ETAG, etag)], bytes)
                .into_response()
        }
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, "snapshot_encode", &e.to_string()),
    }
}

/// `GET /v1/fragments?ns=&id=`: the edge profile fragment of the person holding an identity
/// (`EdgeFragment::encode`: a version byte, then msgpack), `404` when no graph holds it.
pub(super) async fn fragment(State(app): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    if let Err(e) = check_signature(&app, "GET", &uri, &headers, b"") {
        return e.into_response();
    }
    let key = match super::api::identity_from_query(&app, uri.query().unwrap_or("")) {
        Ok(k) => k,
        Err(e) => return e.into_response(),
    };
    let at = now();
    let snapshot = app.snapshot();
    let profile = snapshot.profile.clone();
    match with_store(&app, move |store| {
        crate::decisions::edge_fragment(store, &key, at, &profile, snapshot.decisions())
    })
    .await
    {
        Ok(Some(fragment)) => match fragment.encode() {
            Ok(bytes) => ([(header::CONTENT_TYPE, "application/msgpack")], bytes).into_response(),
            Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, "encode", &e.to_string()),
        },
        Ok(None) => json_error(StatusCode::NOT_FOUND, "unknown_identity", "No identity graph holds this identity."),
        Err(e) => e.into_response(),
    }
}
