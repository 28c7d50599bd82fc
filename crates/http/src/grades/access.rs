//! Who may use an activity's grades page: a teacher of it, by their latest launch (as for the
//! dashboard: `lms_teachers`, or the roles with `[spec] teachers_from_roles`), whose
//! `resource_link_id` is the activity in the path.
//!
//! Not the dashboards' `taught` record: that is keyed by `lms_sessioninfo`, a custom parameter
//! any editing teacher can write on their own activity, so it could name another course's
//! activity; grades change a gradebook, so they go by the launch's own `resource_link_id`, which
//! the LMS sets and signs.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use lticontainer_core::grades::activity_of;
use lticontainer_hub::grades::Grades;

use crate::dashboard::teacher_launch;
use crate::error::PageError;
use crate::extract::Session;
use crate::pages;
use crate::state::AppState;

/// A request for the grades page of the activity in the path (`/hub/grades/<activity>`) by
/// one of its teachers. Extracting it answers everyone else: no session 401, not a teacher of
/// the activity 403, grades off 404.
#[derive(Debug)]
pub(crate) struct GradesAccess {
    /// The teacher's session.
    pub(crate) session: Session,
    /// The activity.
    pub(crate) activity: String,
    /// The consumer key of the teacher's launch: only that LMS's students of the activity
    /// count (another LMS's link of the same id is another activity).
    pub(crate) consumer: String,
    /// The hub's grades.
    pub(crate) grades: Arc<Grades>,
}

impl FromRequestParts<AppState> for GradesAccess {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Path(activity) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let not_teacher = || {
            PageError::NotTeacher {
                user: session.user.clone(),
                activity: activity.clone(),
            }
            .into_response()
        };
        let (launch, _) = teacher_launch(
            state.store.as_ref(),
            state.spawner.spec_config(),
            &session.user,
            &activity,
        )
        .await
        .map_err(IntoResponse::into_response)?;
        if activity_of(&launch) != Some(activity.as_str()) {
            return Err(not_teacher());
        }
        let grades = state.grades.clone().ok_or_else(|| {
            pages::message(
                StatusCode::NOT_FOUND,
                "Grades are off",
                "This hub sends no grades to the LMS.",
            )
        })?;
        Ok(Self {
            session,
            activity,
            consumer: launch.consumer_key,
            grades,
        })
    }
}
