//! Who may see an activity's dashboard: a teacher of it, as the hub decides for the container
//! (`lms_teachers`, or the LTI Instructor/Administrator roles with `[spec]
//! teachers_from_roles`). Every launch that made the user a teacher of an activity
//! (`lms_sessioninfo`) counts, as the analytics store keeps them
//! ([`Analytics::note_teaching`]), until a later launch from that activity makes them a
//! student there; the user's latest launch counts too (a hub whose store predates that record).

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use lticontainer_core::launch::LtiLaunch;
use lticontainer_core::params::{LmsParams, SessionInfo};
use lticontainer_core::spec::{SpecConfig, is_teacher};
use lticontainer_core::store::{Store, TaughtActivity};
use lticontainer_hub::analytics::Analytics;

use crate::error::PageError;
use crate::extract::Session;
use crate::state::AppState;
use crate::stored_launch::launch_from_json;

/// The activities with an `lms_sessioninfo` that `user` teaches, by LTI activity id: those
/// `analytics` recorded, and their latest launch's. Empty for a user whose latest launch made
/// them a teacher of an activity that sends no learning analytics.
///
/// # Errors
/// [`PageError::NotTeacher`] (naming `asked_for`) for a user who teaches nothing (a student, or
/// a user without a usable launch); [`PageError::Internal`] when a store cannot be read.
pub(crate) async fn teaching(
    store: &dyn Store,
    analytics: Option<&Analytics>,
    spec: &SpecConfig,
    user: &str,
    asked_for: &str,
) -> Result<Vec<TaughtActivity>, PageError> {
    let mut activities = match analytics {
        Some(a) => a
            .taught(user)
            .await
            .map_err(|e| PageError::internal("reading the activities the user teaches", e))?,
        None => Vec::new(),
    };
    let latest = latest_launch(store, spec, user)
        .await?
        .map(|(_, params, teacher)| (teacher, params.session));
    let (latest_teacher, latest_session) = latest.unwrap_or((false, None));
    if let Some(session) = latest_session
        .filter(|s| latest_teacher && !activities.iter().any(|a| a.session.lti_id == s.lti_id))
    {
        activities.push(TaughtActivity {
            session,
            title: format!("Activity {}", session.lti_id),
        });
        activities.sort_by_key(|a| a.session.lti_id);
    }
    if activities.is_empty() && !latest_teacher {
        return Err(PageError::NotTeacher {
            user: user.to_owned(),
            activity: asked_for.to_owned(),
        });
    }
    Ok(activities)
}

/// `user`'s latest launch and its parameters, when it makes them a teacher (`lms_teachers`, or
/// the roles with `[spec] teachers_from_roles`); `asked_for` names the activity in the refusal.
/// The grades pages decide who teaches by it.
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
    match latest_launch(store, spec, user).await? {
        Some((launch, params, true)) => Ok((launch, params)),
        _ => Err(PageError::NotTeacher {
            user: user.to_owned(),
            activity: asked_for.to_owned(),
        }),
    }
}

/// `user`'s latest launch, its parameters, and whether it makes them a teacher; `None` without
/// a usable launch.
///
/// # Errors
/// [`PageError::Internal`] when the store cannot be read.
async fn latest_launch(
    store: &dyn Store,
    spec: &SpecConfig,
    user: &str,
) -> Result<Option<(LtiLaunch, LmsParams, bool)>, PageError> {
    let record = store
        .user(user)
        .await
        .map_err(|e| PageError::internal("reading the user's launch", e))?;
    Ok(record
        .and_then(|u| u.last_launch)
        .as_ref()
        .and_then(launch_from_json)
        .map(|launch| {
            let (params, _) = LmsParams::from_launch(&launch);
            let teacher = is_teacher(spec, &launch, &params);
            (launch, params, teacher)
        }))
}

/// The activity `lti_id` (the path's text) when `user` teaches it.
///
/// # Errors
/// [`PageError::NotTeacher`] for a student and for a teacher of other activities only; as
/// [`teaching`].
pub(crate) async fn activity_taught(
    store: &dyn Store,
    analytics: Option<&Analytics>,
    spec: &SpecConfig,
    user: &str,
    lti_id: &str,
) -> Result<SessionInfo, PageError> {
    teaching(store, analytics, spec, user, lti_id)
        .await?
        .into_iter()
        .map(|a| a.session)
        .find(|s| s.lti_id.to_string() == lti_id)
        .ok_or_else(|| PageError::NotTeacher {
            user: user.to_owned(),
            activity: lti_id.to_owned(),
        })
}

/// True when `user` may open a dashboard on a hub with learning analytics: the home page then
/// links to `/hub/dashboard`. A store that cannot be read says no (and logs why).
pub(crate) async fn teaches_with_analytics(
    store: &dyn Store,
    analytics: Option<&Analytics>,
    spec: &SpecConfig,
    user: &str,
) -> bool {
    let Some(analytics) = analytics else {
        return false;
    };
    match teaching(store, Some(analytics), spec, user, "").await {
        Ok(activities) => !activities.is_empty(),
        Err(PageError::NotTeacher { .. }) => false,
        Err(e) => {
            tracing::warn!(%user, error = %e, "the home page shows no dashboard link: the activities the user teaches cannot be read");
            false
        }
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
            state.analytics.as_deref(),
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
