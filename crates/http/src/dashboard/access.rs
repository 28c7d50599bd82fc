//! Who may see an activity's dashboard: a teacher of it, as the hub decides for the container
//! (`lms_teachers`, or the LTI Instructor/Administrator roles with `[spec]
//! teachers_from_roles`), by the user's latest launch, which also names the activity
//! (`lms_sessioninfo`).

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use lticontainer_core::launch::LtiLaunch;
use lticontainer_core::params::{LmsParams, SessionInfo};
use lticontainer_core::spec::{SpecConfig, is_teacher};
use lticontainer_core::store::Store;
use lticontainer_hub::analytics::Analytics;

use crate::error::PageError;
use crate::extract::Session;
use crate::state::AppState;
use crate::stored_launch::launch_from_json;

/// What a user's latest launch makes them for the dashboards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Teaching {
    /// A teacher of the activity.
    Activity(SessionInfo),
    /// A teacher, from an activity that sends no learning analytics (no `lms_sessioninfo`).
    NoAnalytics,
}

/// What `user`'s latest launch makes them.
///
/// # Errors
/// [`PageError::NotTeacher`] for a student (or a user without a usable launch);
/// [`PageError::Internal`] when the store cannot be read.
pub(crate) async fn teaching(
    store: &dyn Store,
    spec: &SpecConfig,
    user: &str,
    asked_for: &str,
) -> Result<Teaching, PageError> {
    let (_, params) = teacher_launch(store, spec, user, asked_for).await?;
    Ok(params
        .session
        .map_or(Teaching::NoAnalytics, Teaching::Activity))
}

/// `user`'s latest launch and its parameters, when it makes them a teacher (`lms_teachers`, or
/// the roles with `[spec] teachers_from_roles`); `asked_for` names the activity in the refusal.
/// The dashboards and the grades pages decide who teaches by it.
///
/// # Errors
/// [`PageError::NotTeacher`] for a student (or a user without a usable launch);
/// [`PageError::Internal`] when the store cannot be read.
pub(crate) async fn teacher_launch(
    store: &dyn Store,
    spec: &SpecConfig,
    user: &str,
    asked_for: &str,
) -> Result<(LtiLaunch, LmsParams), PageError> {
    let not_teacher = || PageError::NotTeacher {
        user: user.to_owned(),
        activity: asked_for.to_owned(),
    };
    let record = store
        .user(user)
        .await
        .map_err(|e| PageError::internal("reading the user's launch", e))?;
    let launch = record
        .and_then(|u| u.last_launch)
        .as_ref()
        .and_then(launch_from_json)
        .ok_or_else(not_teacher)?;
    let (params, _) = LmsParams::from_launch(&launch);
    if !is_teacher(spec, &launch, &params) {
        return Err(not_teacher());
    }
    Ok((launch, params))
}

/// The activity `lti_id` (the path's text) when `user` teaches it.
///
/// # Errors
/// [`PageError::NotTeacher`] for a student and for a teacher of another activity; as
/// [`teaching`].
pub(crate) async fn activity_taught(
    store: &dyn Store,
    spec: &SpecConfig,
    user: &str,
    lti_id: &str,
) -> Result<SessionInfo, PageError> {
    match teaching(store, spec, user, lti_id).await? {
        Teaching::Activity(info) if info.lti_id.to_string() == lti_id => Ok(info),
        _ => Err(PageError::NotTeacher {
            user: user.to_owned(),
            activity: lti_id.to_owned(),
        }),
    }
}

/// A request for the dashboard of the activity in the path (`/hub/dashboard/<lti id>…`) by one
/// of its teachers, on a hub with learning analytics. Extracting it answers everyone else: no
/// session 401, not a teacher of the activity 403, analytics off 404.
#[derive(Debug)]
pub(crate) struct DashboardAccess {
    /// The teacher.
    pub(crate) user: String,
    /// The activity.
    pub(crate) activity: SessionInfo,
    /// The hub's analytics.
    pub(crate) analytics: Arc<Analytics>,
}

impl FromRequestParts<AppState> for DashboardAccess {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Path(lti_id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let activity = activity_taught(
            state.store.as_ref(),
            state.spawner.spec_config(),
            &session.user,
            &lti_id,
        )
        .await
        .map_err(IntoResponse::into_response)?;
        let analytics = state.analytics.clone().ok_or_else(super::no_analytics)?;
        Ok(Self {
            user: session.user,
            activity,
            analytics,
        })
    }
}
