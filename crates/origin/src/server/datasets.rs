//! Batch sources over the admin API: `POST /api/datasets/{id}/batches` imports a CSV or JSON
//! Lines body into a configured dataset (the same import as `edgecdp import`), and
//! `GET /api/datasets/{id}/quarantine` lists the rows imports could not use.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};

use super::api::{authorize, limit_from_query};
use super::{ApiError, AppState, header_str, read_limited, with_store};
use crate::config::{Config, DatasetConfig};
use crate::import::{Format, ImportError, MappingChoice, prepare, run};

/// Largest upload (64 MiB).
const MAX_UPLOAD: usize = 64 * 1024 * 1024;

/// The route of `POST /api/datasets/{id}/batches`, knowing the configured datasets.
pub(super) fn batches(config: &Config) -> MethodRouter<AppState> {
    let datasets: Arc<[DatasetConfig]> = config.datasets.clone().into();
    post(move |State(app): State<AppState>, Path(id): Path<String>, headers: HeaderMap, body: Body| {
        let datasets = Arc::clone(&datasets);
        async move {
            match upload(&app, &datasets, id, &headers, body).await {
                Ok(summary) => axum::Json(summary).into_response(),
                Err(e) => e.into_response(),
            }
        }
    })
}

async fn upload(
    app: &AppState,
    datasets: &[DatasetConfig],
    id: String,
    headers: &HeaderMap,
    body: Body,
) -> Result<crate::import::Summary, ApiError> {
    authorize(app, headers)?;
    let started = Instant::now();
    let Some(dataset) = datasets.iter().find(|d| d.id == id).cloned() else {
        let known: Vec<&str> = datasets.iter().map(|d| d.id.as_str()).collect();
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_dataset",
            format!("No dataset {id:?} is configured (configured: {}).", known.join(", ")),
        ));
    };
    let content_type = header_str(headers, header::CONTENT_TYPE).unwrap_or("");
    let Some(format) = Format::from_content_type(content_type) else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "Send CSV as content-type: text/csv or JSON Lines as content-type: application/x-ndjson (found {content_type:?})."
            ),
        ));
    };
    let bytes = read_limited(body, MAX_UPLOAD)
        .await
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "body_stream", e.to_string()))?;
    if bytes.len() > MAX_UPLOAD {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("The body is over {MAX_UPLOAD} bytes (64 MiB); split the file."),
        ));
    }
    let namespaces = app.snapshot().identity.namespaces.clone();
    let prepared = tokio::task::spawn_blocking(move || {
        let choice = MappingChoice::pick(None, dataset.mapping.as_deref());
        prepare(&dataset.id, Some(dataset.kind), &bytes, format, choice, &namespaces, "api")
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable", e.to_string()))?
    .map_err(|e| match e {
        ImportError::Store(_) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable", e.to_string()),
        ImportError::Mapping(_) | ImportError::Read(_) => {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_file", e.to_string())
        }
        // A configured mapping file that cannot be used is the server's problem, not the request's.
        _ => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "dataset_misconfigured", e.to_string()),
    })?;
    let now = super::now();
    let summary = with_store(app, move |store| run(store, &prepared, now, started, &mut |_| {})).await?;
    if summary.quarantined > 0 {
        tracing::warn!(dataset = %summary.dataset, quarantined = summary.quarantined, "rows quarantined");
    }
    Ok(summary)
}

/// `GET /api/datasets/{id}/quarantine?limit=`: rows imports could not use, newest import first.
pub(super) async fn quarantine(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let result = async {
        authorize(&app, &headers)?;
        let limit = limit_from_query(uri.query().unwrap_or(""));
        let dataset = id.clone();
        let rows = with_store(&app, move |store| store.quarantined(&dataset, limit)).await?;
        let rows: Vec<serde_json::Value> = rows
            .into_iter()
            .map(|(batch_id, r)| {
                serde_json::json!({ "batchId": batch_id, "row": r.row, "reasons": r.reason.lines().collect::<Vec<_>>(), "raw": r.raw })
            })
            .collect();
        Ok::<_, ApiError>(serde_json::json!({ "dataset": id, "rows": rows }))
    }
    .await;
    match result {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}
