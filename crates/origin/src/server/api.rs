//! The admin API (JSON, `Authorization: Bearer <admin API key>`).

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use edgecdp_core::codec::percent_decode;
use edgecdp_core::field::{FieldError, Path};
use edgecdp_core::identity::IdentityKey;
use edgecdp_core::identity::simulate::read_link_record;
use edgecdp_core::mac::constant_time_eq;
use edgecdp_core::time::Timestamp;
use edgecdp_core::value::Value;
use serde::Deserialize;

use super::{ApiError, AppState, header_str, json_error, read_limited, with_store};
use crate::store::EventsPage;

/// Checks the request's API key.
pub(super) fn authorize(app: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let given = header_str(headers, header::AUTHORIZATION).and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
    match given {
        Some(key) if app.admin_api_keys.iter().any(|k| constant_time_eq(k.as_bytes(), key.as_bytes())) => Ok(()),
        Some(_) => Err(ApiError::new(StatusCode::FORBIDDEN, "bad_api_key", "The API key is not valid.")),
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing_api_key",
            "The admin API needs an API key: send Authorization: Bearer <key>.",
        )),
    }
}

/// Query of `GET /api/events`.
#[derive(Debug, Deserialize)]
pub(super) struct EventsQuery {
    ecid: Option<String>,
    limit: Option<usize>,
}

/// `GET /api/events?ecid=...&limit=...`: a visitor's events, newest first.
pub(super) async fn events(
    State(app): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Response {
    if let Err(e) = authorize(&app, &headers) {
        return e.into_response();
    }
    let q = match query {
        Ok(Query(q)) => q,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, "bad_query", &e.body_text()),
    };
    let Some(ecid) = q.ecid.filter(|e| !e.is_empty()) else {
        return json_error(StatusCode::BAD_REQUEST, "missing_ecid", "Give the visitor's ECID: ?ecid=<38 digits>.");
    };
    let limit = q.limit.unwrap_or(100).min(1000);
    match with_store(&app, move |store| store.events_for_ecid(&ecid, limit)).await {
        Ok(events) => axum::Json(serde_json::json!({ "events": events })).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Largest admin request body (8 MiB).
const MAX_BODY: usize = 8 * 1024 * 1024;

/// `ns` and `id` of a query, the value normalized as its namespace requires.
pub(super) fn identity_from_query(app: &AppState, query: &str) -> Result<IdentityKey, ApiError> {
    let mut ns = None;
    let mut id = None;
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_decode(&v.replace('+', " "));
        match k {
            "ns" => ns = v,
            "id" => id = v,
            _ => {}
        }
    }
    let (Some(ns), Some(id)) = (ns.filter(|s| !s.is_empty()), id) else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "missing_identity",
            "Name the identity: ?ns=<namespace>&id=<value>, e.g. ?ns=Email&id=sarah.rose%40example.com.",
        ));
    };
    let snapshot = app.snapshot();
    let id = snapshot
        .identity
        .namespaces
        .normalize(&ns, &id)
        .map_err(|source| ApiError::invalid(vec![FieldError::Identity { path: "id".into(), source }]))?;
    Ok(IdentityKey::new(ns, id))
}

/// `limit` of a query: 100 when absent, at most 1,000.
pub(super) fn limit_from_query(query: &str) -> usize {
    query.split('&').find_map(|p| p.strip_prefix("limit=")?.parse().ok()).unwrap_or(100usize).min(1000)
}

pub(super) async fn json_body(body: Body) -> Result<Value, ApiError> {
    let bytes = read_limited(body, MAX_BODY)
        .await
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "body_stream", e.to_string()))?;
    if bytes.len() > MAX_BODY {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("The body is over {MAX_BODY} bytes."),
        ));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", format!("The body is not JSON: {e}.")))
}

/// `GET /api/identities/graph?ns=Email&id=...`: the identity graph holding an identity.
pub(super) async fn graph(State(app): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let result = async {
        authorize(&app, &headers)?;
        let key = identity_from_query(&app, uri.query().unwrap_or(""))?;
        with_store(&app, move |store| store.graph(&key)).await?.ok_or_else(unknown_identity)
    }
    .await;
    respond(result)
}

/// `POST /api/identities/simulate`: `{ "events": [...] }` (each `{ "xdm": {...} }` or bare XDM
/// with `identityMap` and `timestamp`) → the graphs they make under this deployment's rules.
pub(super) async fn simulate(State(app): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        authorize(&app, &headers)?;
        let body = json_body(body).await?;
        let events = body
            .as_object()
            .and_then(|m| m.get("events"))
            .and_then(Value::as_array)
            .ok_or_else(|| ApiError::invalid(vec![FieldError::Missing { path: "events".into() }]))?;
        let config = app.snapshot().identity.clone();
        edgecdp_core::identity::simulate::simulate(events, &config).map_err(ApiError::invalid)
    }
    .await;
    respond(result)
}

/// `POST /api/identities/links`: `{ "source": "loyalty", "records": [{ "key"?, "at", "identities":
/// [{ "ns", "id", "state"? }] }] }`. Good records are added; bad ones are rejected with their
/// position and reasons, and do not stop the others.
pub(super) async fn links(State(app): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        authorize(&app, &headers)?;
        let body = json_body(body).await?;
        let obj = body.as_object().ok_or_else(|| ApiError::invalid(vec![FieldError::WrongType {
            path: "body".into(),
            expected: "an object",
            found: body.kind(),
        }]))?;
        let source = obj.get("source").and_then(Value::as_str).unwrap_or("api").to_owned();
        let rows = obj
            .get("records")
            .and_then(Value::as_array)
            .ok_or_else(|| ApiError::invalid(vec![FieldError::Missing { path: "records".into() }]))?;
        let config = app.snapshot().identity.clone();
        let root = Path::Root("records");
        let mut good = Vec::new();
        let mut rejected = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            let path = root.index(i);
            match read_link_record(row.clone(), &path, &format!("{source}:{i}"), &config) {
                Ok(r) => good.push(r),
                Err(errors) => rejected.push(serde_json::json!({
                    "index": i,
                    "errors": errors.iter().map(|e| serde_json::json!({ "path": e.path(), "code": e.code(), "message": e.to_string() })).collect::<Vec<_>>(),
                })),
            }
        }
        let accepted = good.len();
        let src = source.clone();
        let added = with_store(&app, move |store| store.add_link_records(&good, &src)).await?;
        if !rejected.is_empty() {
            tracing::warn!(source, rejected = rejected.len(), "link records rejected");
        }
        Ok::<_, ApiError>(serde_json::json!({ "accepted": accepted, "added": added, "rejected": rejected }))
    }
    .await;
    respond(result)
}

/// `GET /api/profiles/events?ns=&id=&limit=`: the person's events on every browser while it was
/// theirs, newest first.
pub(super) async fn person_events(State(app): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let result = async {
        authorize(&app, &headers)?;
        let query = uri.query().unwrap_or("");
        let key = identity_from_query(&app, query)?;
        let limit = limit_from_query(query);
        with_store(&app, move |store| store.person_events(&key, limit)).await?.ok_or_else(unknown_identity)
    }
    .await;
    match result {
        Ok(events) => axum::Json(serde_json::json!({ "events": events })).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /api/profiles?ns=Email&id=...&limit=20&before=<RFC 3339>`: the 360° view of the person
/// holding the identity: identities, merged attributes with the source of each value, every
/// fragment, a page of events (newest first; `nextBefore` fetches the next page), memberships.
pub(super) async fn profile(State(app): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let result = async {
        authorize(&app, &headers)?;
        let query = uri.query().unwrap_or("");
        let key = identity_from_query(&app, query)?;
        let before = match query.split('&').find_map(|p| p.strip_prefix("before=")) {
            Some(raw) => {
                let text = percent_decode(raw).unwrap_or_default();
                Some(
                    Timestamp::parse_rfc3339(&text)
                        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_query", format!("before: {e}")))?,
                )
            }
            None => None,
        };
        let page = EventsPage { limit: limit_from_query(query).clamp(1, 200), before };
        let policy = app.snapshot().profile.merge_policy.clone();
        with_store(&app, move |store| store.profile(&key, &policy, page)).await?.ok_or_else(unknown_identity)
    }
    .await;
    respond(result)
}

/// `DELETE /api/profiles?ns=&id=`: deletes the person holding the identity (right to be
/// forgotten), writes the audit record, and publishes a snapshot whose tombstones make every
/// edge forget them.
pub(super) async fn delete_profile(State(app): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let result = async {
        authorize(&app, &headers)?;
        let key = identity_from_query(&app, uri.query().unwrap_or(""))?;
        let at = super::now();
        let report = with_store(&app, move |store| store.delete_person(&key, "admin-api", at))
            .await?
            .ok_or_else(unknown_identity)?;
        let version = app
            .publish_snapshot()
            .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable", e.to_string()))?;
        tracing::info!(
            deletion = report.deletion_id,
            identities = report.identities.len(),
            snapshot = version,
            "person deleted"
        );
        Ok::<_, ApiError>(report)
    }
    .await;
    respond(result)
}

fn unknown_identity() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "unknown_identity", "No identity graph holds this identity.")
}

/// The JSON answer of a handler: the value, or the error's body and status.
fn respond<T: serde::Serialize>(result: Result<T, ApiError>) -> Response {
    match result {
        Ok(value) => axum::Json(value).into_response(),
        Err(e) => e.into_response(),
    }
}
