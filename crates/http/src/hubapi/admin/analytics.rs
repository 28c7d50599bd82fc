//! `GET /hub/api/analytics`: the learning-analytics counters for the admin (captured, unparsed,
//! dropped, delivered, refused, retried, and the records waiting in the outbox).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::super::error::JsonError;
use super::AdminState;
use super::auth::AdminCaller;

/// The counters since the hub started, and the outbox's length now.
pub(super) async fn counters(
    _caller: AdminCaller,
    State(state): State<AdminState>,
) -> Result<Json<Value>, JsonError> {
    let Some(analytics) = &state.analytics else {
        return Err(JsonError::new(
            StatusCode::NOT_FOUND,
            "Learning analytics are off (hub.analytics = false).",
        ));
    };
    let outbox = analytics
        .store()
        .outbox_len()
        .await
        .map_err(|e| JsonError::internal("reading the analytics outbox", &e))?;
    let mut value = json!(analytics.snapshot());
    value["outbox"] = json!(outbox);
    Ok(Json(value))
}
