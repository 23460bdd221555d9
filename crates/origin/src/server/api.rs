//! The admin API (JSON, `Authorization: Bearer <admin API key>`).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use edgecdp_core::mac::constant_time_eq;
use serde::Deserialize;

use super::{ApiError, AppState, header_str, json_error, with_store};

/// Checks the request's API key.
fn authorize(app: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let given = header_str(headers, header::AUTHORIZATION)
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        Some(key)
            if app
                .admin_api_keys
                .iter()
                .any(|k| constant_time_eq(k.as_bytes(), key.as_bytes())) =>
        {
            Ok(())
        }
        Some(_) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "bad_api_key",
            "The API key is not valid.",
        )),
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
        return json_error(
            StatusCode::BAD_REQUEST,
            "missing_ecid",
            "Give the visitor's ECID: ?ecid=<38 digits>.",
        );
    };
    let limit = q.limit.unwrap_or(100).min(1000);
    match with_store(&app, move |store| store.events_for_ecid(&ecid, limit)).await {
        Ok(events) => axum::Json(serde_json::json!({ "events": events })).into_response(),
        Err(e) => e.into_response(),
    }
}
