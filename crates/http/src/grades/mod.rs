//! The teachers' grades page of an activity: paste or upload the CSV `tocsv` wrote, pick the
//! column (one exercise `Pnnn` or `Total`) and the maximum score, preview which students match
//! a launch of the activity, send, and see per student what was sent and what the LMS
//! answered (kept: shown again on every visit). `lticontainer_hub::grades` does the work; the
//! admin API's `POST /hub/api/grades/<activity>` (`lticontainer grades send`) is the same.
//!
//! | route | what |
//! |---|---|
//! | `GET /hub/grades` | to the grades page of the activity of the teacher's latest launch |
//! | `GET /hub/grades/<activity>` | the page ([`access`]: the activity's teachers only, else 403) |
//! | `POST /hub/grades/<activity>` | preview or send (form token) |
//! | `GET /hub/static/grades.js` | the page's script (reads an uploaded file into the form) |
//!
//! The activity is the launch's `resource_link_id` (Moodle: the External tool's instance id).

mod access;
mod page;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{IntoResponse, Response};
use lticontainer_core::grades::activity_of;
use lticontainer_core::store::Store;
use lticontainer_hub::spawner::Spawner;

use crate::dashboard::teacher_launch;
use crate::error::PageError;
use crate::extract::Session;
pub(crate) use access::GradesAccess;
pub(crate) use page::script;

/// The most a form may carry (the hub's page body limit).
const MAX_FORM: usize = crate::limits::MAX_HUB_BODY;

/// `GET /hub/grades`: to the grades page of the activity the teacher last launched.
pub(crate) async fn index(
    State(spawner): State<Arc<Spawner>>,
    State(store): State<Arc<dyn Store>>,
    session: Session,
) -> Result<Response, PageError> {
    let (launch, _) =
        teacher_launch(store.as_ref(), spawner.spec_config(), &session.user, "").await?;
    let activity = activity_of(&launch).ok_or_else(|| PageError::NotTeacher {
        user: session.user.clone(),
        activity: String::new(),
    })?;
    let location = format!(
        "/hub/grades/{}",
        lticontainer_core::form::percent_encode(activity)
    );
    Ok((StatusCode::FOUND, [(LOCATION, location)]).into_response())
}

/// `GET /hub/grades/<activity>`: the form and what was sent so far.
pub(crate) async fn show(access: GradesAccess) -> Result<Response, PageError> {
    let sent = access
        .grades
        .sent(&access.activity, Some(&access.consumer))
        .await
        .map_err(|e| PageError::BadRequest(e.to_string()))?;
    Ok(page::render(
        &access,
        &page::Form::default(),
        page::Body::None,
        &sent,
    ))
}

/// `POST /hub/grades/<activity>`: `action=preview` matches the CSV to the students,
/// `action=send` sends it; both show the form again, filled in.
pub(crate) async fn post(access: GradesAccess, body: Bytes) -> Result<Response, PageError> {
    if body.len() > MAX_FORM {
        return Err(PageError::BadRequest(
            "The CSV is too large for the form; send it with `lticontainer grades send`.".into(),
        ));
    }
    access.session.check_form(&body)?;
    let form = page::Form::from_body(&body);
    let grades = &access.grades;
    let activity = &access.activity;
    let consumer = access.consumer.as_str();
    let shown = if form.action == "send" {
        match grades
            .send(activity, Some(consumer), &form.csv, &form.column, &form.max)
            .await
        {
            Ok(outcomes) => {
                let ok = outcomes.iter().filter(|o| o.success).count();
                tracing::info!(teacher = %access.session.user, %activity, column = %form.column, sent = ok, rows = outcomes.len(), "grades: a teacher sent scores to the LMS");
                page::Body::Sent(outcomes)
            }
            Err(e) => page::Body::Error(e.to_string()),
        }
    } else {
        match grades
            .plan(activity, Some(consumer), &form.csv, &form.column, &form.max)
            .await
        {
            Ok(plan) => page::Body::Plan(plan),
            Err(e) => page::Body::Error(e.to_string()),
        }
    };
    let sent = grades
        .sent(activity, Some(consumer))
        .await
        .map_err(|e| PageError::BadRequest(e.to_string()))?;
    Ok(page::render(&access, &form, shown, &sent))
}
