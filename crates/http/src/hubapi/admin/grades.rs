//! `POST /hub/api/grades/<activity>` and `GET /hub/api/grades/<activity>` (lticontainer's
//! own, for `lticontainer grades send`): the teachers' grades page with the admin token.
//!
//! The request: `{"csv": <tocsv's CSV>, "column": "P001" | "Total", "max": "10", "dry_run":
//! false}`. The answer: `{"plan": …}` for a dry run (which students match), else `{"results":
//! [{"name", "user", "score", "status", "success", "answer"}]}`. A CSV or form the hub cannot
//! use is 400 with the reason; one student's failure is in their result, not an error.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use lticontainer_hub::grades::{GradeError, Grades};
use serde::Deserialize;
use serde_json::{Value, json};

use super::super::error::JsonError;
use super::AdminState;
use super::auth::AdminCaller;
use crate::hubapi::time::isoformat;

/// The body of `POST /hub/api/grades/<activity>`.
#[derive(Debug, Deserialize)]
pub(super) struct SendGrades {
    csv: String,
    column: String,
    max: serde_json::Value,
    #[serde(default)]
    dry_run: bool,
}

fn grades(state: &AdminState) -> Result<&Grades, JsonError> {
    state
        .grades
        .as_deref()
        .ok_or_else(|| JsonError::new(StatusCode::NOT_FOUND, "This hub sends no grades."))
}

fn refused(e: GradeError) -> JsonError {
    match e {
        GradeError::Store(e) => JsonError::internal("reading or writing the grades", &e),
        other => JsonError::new(StatusCode::BAD_REQUEST, other.to_string()),
    }
}

/// Previews (`dry_run`) or sends the scores of one column to the LMS.
pub(super) async fn send(
    _caller: AdminCaller,
    State(state): State<AdminState>,
    Path(activity): Path<String>,
    Json(body): Json<SendGrades>,
) -> Result<Json<Value>, JsonError> {
    let grades = grades(&state)?;
    let max = match &body.max {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if body.dry_run {
        let plan = grades
            .plan(&activity, None, &body.csv, &body.column, &max)
            .await
            .map_err(refused)?;
        return Ok(Json(json!({ "plan": plan })));
    }
    let results = grades
        .send(&activity, None, &body.csv, &body.column, &max)
        .await
        .map_err(refused)?;
    tracing::info!(
        caller = AdminCaller::NAME,
        %activity,
        column = %body.column,
        sent = results.iter().filter(|r| r.success).count(),
        rows = results.len(),
        "admin API: grades sent to the LMS"
    );
    Ok(Json(json!({ "results": results })))
}

/// What was sent for the activity, per column and student, with the LMS's answers.
pub(super) async fn sent(
    _caller: AdminCaller,
    State(state): State<AdminState>,
    Path(activity): Path<String>,
) -> Result<Json<Value>, JsonError> {
    let sent = grades(&state)?
        .sent(&activity, None)
        .await
        .map_err(refused)?;
    let sent: Vec<Value> = sent
        .iter()
        .map(|s| {
            json!({
                "column": s.column, "user": s.user, "score": s.score, "max": s.max,
                "success": s.success, "answer": s.answer, "sent": isoformat(s.sent),
            })
        })
        .collect();
    Ok(Json(json!({ "sent": sent })))
}
