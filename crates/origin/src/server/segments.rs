//! The admin API for segments, and the demo clock.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use edgecdp_core::codec::percent_decode;
use edgecdp_core::identity::IdentityKey;
use edgecdp_core::segment::set::{Definition, DefinitionError};

use super::api::{authorize, json_body, limit_from_query};
use super::{ApiError, AppState};
use crate::segments::UpsertError;

/// Runs an engine operation off the async threads.
async fn with_engine<T: Send + 'static>(
    app: &AppState,
    op: impl FnOnce(&crate::segments::Engine) -> Result<T, UpsertError> + Send + 'static,
) -> Result<T, ApiError> {
    let engine = Arc::clone(&app.engine);
    match tokio::task::spawn_blocking(move || op(&engine)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(UpsertError::Invalid(e))) => Err(invalid(&e)),
        Ok(Err(UpsertError::Store(e))) => {
            tracing::error!(error = %e, "segment operation failed");
            Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable", e.to_string()))
        }
        Err(e) => Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable", e.to_string())),
    }
}

/// A refused definition: `400 invalid_segment` with the error's kind and, when it has one, its
/// `line` and `column`.
fn invalid(e: &DefinitionError) -> ApiError {
    let mut err = ApiError::new(StatusCode::BAD_REQUEST, "invalid_segment", e.to_string());
    if let Ok(serde_json::Value::Object(details)) = serde_json::to_value(e) {
        for (k, v) in details {
            match (k.as_str(), v) {
                ("kind", v) => err.extra.insert("kind".into(), v),
                ("line" | "column" | "missing" | "cycle" | "id", v) if !v.is_null() => err.extra.insert(k, v),
                // A compile error carries its position inside.
                (_, serde_json::Value::Object(inner)) => {
                    for key in ["line", "column"] {
                        if let Some(v) = inner.get(key) {
                            err.extra.insert(key.into(), v.clone());
                        }
                    }
                    None
                }
                _ => None,
            };
        }
    }
    err
}

/// `GET /api/segments`: every segment with its report and audience size.
pub(super) async fn list(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let result = async {
        authorize(&app, &headers)?;
        with_engine(&app, |engine| {
            let mut out = Vec::new();
            for s in engine.stored() {
                let (_, size) = engine.store().segment_members(&s.definition.id, 0, None)?;
                out.push(serde_json::json!({
                    "segment": s,
                    "version": format!("{:016x}", s.definition.version()),
                    "report": engine.report(&s.definition.id),
                    "audienceSize": size,
                }));
            }
            Ok(out)
        })
        .await
    }
    .await;
    match result {
        Ok(segments) => axum::Json(serde_json::json!({ "segments": segments })).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /api/segments` with `{ "id", "name", "pql", "description" }`: creates or changes a
/// segment. `400 invalid_segment` names the problem and its `line:column`; otherwise the
/// stored revision, the compiler's report and the audience size after deciding every profile.
pub(super) async fn upsert(State(app): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let result: Result<_, ApiError> = async {
        authorize(&app, &headers)?;
        let value = json_body(body).await?;
        let json = serde_json::to_value(&value)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", e.to_string()))?;
        let def: Definition = serde_json::from_value(json).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("expected {{\"id\", \"pql\", \"name\"?, \"description\"?}}: {e}"),
            )
        })?;
        let now = app.now();
        let upserted = with_engine(&app, move |engine| engine.upsert(&def, now)).await?;
        // Edges evaluate the new definitions from their next snapshot check.
        let a = app.clone();
        super::with_store(&app, move |_| a.publish_snapshot()).await?;
        Ok(upserted)
    }
    .await;
    match result {
        Ok(u) => {
            let status = if u.segment.revision == 1 { StatusCode::CREATED } else { StatusCode::OK };
            (status, axum::Json(u)).into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// `GET /api/segments/{id}`: the definition, its report, its size, its size over time (the
/// origin's decisions) and its latest 100 entries and exits from every source.
pub(super) async fn one(State(app): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let result = async {
        authorize(&app, &headers)?;
        with_engine(&app, move |engine| {
            let Some(s) = engine.stored().into_iter().find(|s| s.definition.id == id) else { return Ok(None) };
            let (_, size) = engine.store().segment_members(&id, 0, None)?;
            let mut running: i64 = 0;
            let over_time: Vec<serde_json::Value> = engine
                .store()
                .segment_history(&id)?
                .into_iter()
                .map(|(at, entered)| {
                    running += if entered { 1 } else { -1 };
                    serde_json::json!({ "at": at, "size": running })
                })
                .collect();
            let transitions = engine.store().segment_transitions(&id, 100)?;
            Ok(Some(serde_json::json!({
                "segment": s,
                "version": format!("{:016x}", s.definition.version()),
                "report": engine.report(&id),
                "audienceSize": size,
                "sizeOverTime": over_time,
                "transitions": transitions,
            })))
        })
        .await
    }
    .await;
    match result {
        Ok(Some(v)) => axum::Json(v).into_response(),
        Ok(None) => ApiError::new(StatusCode::NOT_FOUND, "unknown_segment", "No segment has this id.").into_response(),
        Err(e) => e.into_response(),
    }
}

/// `DELETE /api/segments/{id}`.
pub(super) async fn delete(State(app): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let result: Result<_, ApiError> = async {
        authorize(&app, &headers)?;
        let deleted = with_engine(&app, move |engine| Ok(engine.delete(&id)?)).await?;
        if deleted {
            let a = app.clone();
            super::with_store(&app, move |_| a.publish_snapshot()).await?;
        }
        Ok(deleted)
    }
    .await;
    match result {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => ApiError::new(StatusCode::NOT_FOUND, "unknown_segment", "No segment has this id.").into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /api/segments/{id}/members?limit=&after=ns:id`: a page of members, by profile key.
pub(super) async fn members(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    let query = uri.query().unwrap_or("").to_owned();
    let result = async {
        authorize(&app, &headers)?;
        let limit = limit_from_query(&query);
        let after = query
            .split('&')
            .find_map(|p| p.strip_prefix("after="))
            .and_then(percent_decode)
            .map(|a| {
                a.split_once(':').map(|(ns, id)| IdentityKey::new(ns, id)).ok_or_else(|| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "bad_after",
                        "`after` is a profile key `ns:id`, as `next` gives it.",
                    )
                })
            })
            .transpose()?;
        with_engine(&app, move |engine| {
            if !engine.stored().iter().any(|s| s.definition.id == id) {
                return Ok(None);
            }
            Ok(Some(engine.store().segment_members(&id, limit, after.as_ref())?))
        })
        .await
    }
    .await;
    match result {
        Ok(Some((members, total))) => {
            let next = (members.len() == limit_from_query(&query))
                .then(|| members.last().map(|m| m.profile.to_string()))
                .flatten();
            axum::Json(serde_json::json!({ "members": members, "total": total, "next": next })).into_response()
        }
        Ok(None) => ApiError::new(StatusCode::NOT_FOUND, "unknown_segment", "No segment has this id.").into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /api/clock`: the origin's time and the demo offset.
pub(super) async fn clock(State(app): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(e) = authorize(&app, &headers) {
        return e.into_response();
    }
    axum::Json(serde_json::json!({ "now": app.now(), "offsetMs": app.engine.clock_offset(), "demo": app.demo }))
        .into_response()
}

/// `POST /api/clock` with `{ "advanceMs": 3660000 }`: moves the origin's and the edges' clock
/// forward (only with the demo configuration), then decides what fell due.
pub(super) async fn advance_clock(State(app): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        authorize(&app, &headers)?;
        if !app.demo {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "not_a_demo",
                "The clock can only be moved with the demo configuration (demo = true).",
            ));
        }
        let value = json_body(body).await?;
        let ms = value
            .as_object()
            .and_then(|m| m.get("advanceMs"))
            .and_then(|v| match v {
                edgecdp_core::value::Value::Number(n) => n.as_i64(),
                _ => None,
            })
            .filter(|ms| *ms >= 0)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "expected {\"advanceMs\": <milliseconds ≥ 0>}",
                )
            })?;
        let offset = app.engine.advance_clock(ms);
        let a = app.clone();
        super::with_store(&app, move |_| a.publish_snapshot()).await?;
        let now = app.now();
        let decided = with_engine(&app, move |engine| Ok(engine.tick(now)?)).await?;
        Ok((offset, now, decided))
    }
    .await;
    match result {
        Ok((offset, now, decided)) => {
            axum::Json(serde_json::json!({ "now": now, "offsetMs": offset, "profilesDecided": decided }))
                .into_response()
        }
        Err(e) => e.into_response(),
    }
}
