//! The admin API for activities and offers.
//!
//! | route | |
//! |---|---|
//! | `GET /api/activities`, `GET /api/offers` | every definition, its revision and its remarks |
//! | `POST /api/activities`, `POST /api/offers` | create or change one (validated; a new revision) |
//! | `GET /api/activities/{id}` | the activity, its remarks, displays and clicks per experience |
//! | `GET /api/offers/{id}` | the offer and its remarks |
//! | `DELETE /api/activities/{id}`, `DELETE /api/offers/{id}` | delete (an offer in use: 409) |
//!
//! Every change is published in the next snapshot at once, so edges decide with it from their
//! next snapshot check.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use edgecdp_core::decide::{Activity, DecisionWarning};

use super::api::{authorize, json_body};
use super::{ApiError, AppState};
use crate::decisions::{ACTIVITY, ChangeError, OFFER};

/// Runs a decisioning operation off the async threads.
async fn blocking<T: Send + 'static>(
    app: &AppState,
    op: impl FnOnce(&AppState) -> Result<T, ChangeError> + Send + 'static,
) -> Result<T, ApiError> {
    let a = app.clone();
    match tokio::task::spawn_blocking(move || op(&a)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(api_error(e)),
        Err(e) => Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable", e.to_string())),
    }
}

fn api_error(e: ChangeError) -> ApiError {
    match e {
        ChangeError::Invalid(problems) => {
            let message = problems
                .first()
                .map_or_else(|| "The definition is invalid.".to_owned(), |p| format!("{}: {}", p.field, p.message));
            let mut err = ApiError::new(StatusCode::BAD_REQUEST, "invalid_definition", message);
            err.extra.insert("problems".into(), serde_json::to_value(&problems).unwrap_or_default());
            err
        }
        ChangeError::Shape(m) => ApiError::new(StatusCode::BAD_REQUEST, "invalid_definition", m),
        ChangeError::InUse(users) => {
            let mut err =
                ApiError::new(StatusCode::CONFLICT, "offer_in_use", ChangeError::InUse(users.clone()).to_string());
            err.extra.insert("activities".into(), serde_json::to_value(users).unwrap_or_default());
            err
        }
        ChangeError::Store(e) => {
            tracing::error!(error = %e, "decisioning operation failed");
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable", e.to_string())
        }
    }
}

fn edge_segments(app: &AppState) -> Vec<String> {
    app.engine.edge_definitions().into_iter().map(|d| d.id).collect()
}

/// The remarks about each definition of a kind, by id (the whole set compiled as edges will).
fn remarks(app: &AppState, kind: &str) -> Vec<DecisionWarning> {
    let (activities, offers) = app.decisioning.definitions();
    let set = app.decisioning.compile(&activities, &offers, &edge_segments(app));
    set.warnings().iter().filter(|w| w.kind == kind).cloned().collect()
}

fn list(app: &AppState, kind: &'static str) -> Result<serde_json::Value, ChangeError> {
    let remarks = remarks(app, kind);
    let rows: Vec<serde_json::Value> = app
        .decisioning
        .stored(kind)?
        .into_iter()
        .map(|d| {
            let mine: Vec<&DecisionWarning> = remarks.iter().filter(|w| w.id == d.id).collect();
            serde_json::json!({ "definition": d, "warnings": mine })
        })
        .collect();
    Ok(serde_json::json!({ plural(kind): rows }))
}

fn plural(kind: &str) -> &'static str {
    if kind == ACTIVITY { "activities" } else { "offers" }
}

fn not_found(kind: &str) -> ApiError {
    let (code, message) = if kind == ACTIVITY {
        ("unknown_activity", "No activity has this id.")
    } else {
        ("unknown_offer", "No offer has this id.")
    };
    ApiError::new(StatusCode::NOT_FOUND, code, message)
}

async fn get_all(app: AppState, headers: HeaderMap, kind: &'static str) -> Response {
    let result = async {
        authorize(&app, &headers)?;
        blocking(&app, move |a| list(a, kind)).await
    }
    .await;
    match result {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn post(app: AppState, headers: HeaderMap, body: Body, kind: &'static str) -> Response {
    let result: Result<_, ApiError> = async {
        authorize(&app, &headers)?;
        let value = json_body(body).await?;
        let json = serde_json::to_value(&value)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", e.to_string()))?;
        let now = app.now();
        let (stored, warnings) = blocking(&app, move |a| {
            let done = a.decisioning.upsert(kind, &json, &edge_segments(a), now)?;
            // Edges decide with it from their next snapshot check.
            a.publish_snapshot()?;
            Ok(done)
        })
        .await?;
        Ok((stored, warnings))
    }
    .await;
    match result {
        Ok((stored, warnings)) => {
            let status = if stored.revision == 1 { StatusCode::CREATED } else { StatusCode::OK };
            (status, axum::Json(serde_json::json!({ "definition": stored, "warnings": warnings }))).into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn get_one(app: AppState, headers: HeaderMap, id: String, kind: &'static str) -> Response {
    let result = async {
        authorize(&app, &headers)?;
        blocking(&app, move |a| {
            let Some(d) = a.decisioning.stored(kind)?.into_iter().find(|d| d.id == id) else { return Ok(None) };
            let warnings: Vec<DecisionWarning> = remarks(a, kind).into_iter().filter(|w| w.id == id).collect();
            let mut out = serde_json::json!({ "definition": d, "warnings": warnings });
            if kind == ACTIVITY {
                // The conversion as the model reads it (a definition that no longer loads has none).
                let activity = serde_json::from_value::<Activity>(d.body.clone()).ok();
                let conversion = activity.as_ref().and_then(|a| a.conversion.as_ref()).map(|c| c.event.as_str());
                out["experiences"] =
                    serde_json::to_value(a.store.activity_counts(&id, conversion)?).unwrap_or_default();
            }
            Ok(Some(out))
        })
        .await
    }
    .await;
    match result {
        Ok(Some(v)) => axum::Json(v).into_response(),
        Ok(None) => not_found(kind).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn delete(app: AppState, headers: HeaderMap, id: String, kind: &'static str) -> Response {
    let result = async {
        authorize(&app, &headers)?;
        let now = app.now();
        blocking(&app, move |a| {
            let deleted = a.decisioning.delete(kind, &id, now)?;
            if deleted {
                a.publish_snapshot()?;
            }
            Ok(deleted)
        })
        .await
    }
    .await;
    match result {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => not_found(kind).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /api/activities`.
pub(super) async fn activities(State(app): State<AppState>, headers: HeaderMap) -> Response {
    get_all(app, headers, ACTIVITY).await
}

/// `POST /api/activities`.
pub(super) async fn post_activity(State(app): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    post(app, headers, body, ACTIVITY).await
}

/// `GET /api/activities/{id}`.
pub(super) async fn activity(State(app): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    get_one(app, headers, id, ACTIVITY).await
}

/// `DELETE /api/activities/{id}`.
pub(super) async fn delete_activity(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    delete(app, headers, id, ACTIVITY).await
}

/// `GET /api/offers`.
pub(super) async fn offers(State(app): State<AppState>, headers: HeaderMap) -> Response {
    get_all(app, headers, OFFER).await
}

/// `POST /api/offers`.
pub(super) async fn post_offer(State(app): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    post(app, headers, body, OFFER).await
}

/// `GET /api/offers/{id}`.
pub(super) async fn offer(State(app): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    get_one(app, headers, id, OFFER).await
}

/// `DELETE /api/offers/{id}`.
pub(super) async fn delete_offer(State(app): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    delete(app, headers, id, OFFER).await
}
