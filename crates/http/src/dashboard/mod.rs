//! The teachers' live dashboard of an activity (beyond the original system, whose dashboard is
//! in Moodle): per student and exercise cell (`filename:`/`codenum:` tags) the runs that ended
//! ok or in an error, each student's progress through the cells, and a live feed, updated by
//! Server-Sent Events without reloading. The data is the captured records the outbox holds
//! (`lticontainer_hub::analytics::LiveBoard`), kept across restarts as far as the store's
//! history goes.
//!
//! | route | what |
//! |---|---|
//! | `GET /hub/dashboard` | the activities the teacher teaches, each linked to its dashboard (one: straight to it) |
//! | `GET /hub/dashboard/<lti id>` | the page ([`access`]: its teachers only, else 403) |
//! | `GET /hub/dashboard/<lti id>/events` | its event stream ([`stream`]) |
//! | `GET /hub/static/dashboard.js`, `…/dashboard.css` | the page's script and style ([`page`]) |

mod access;
mod page;
mod stream;

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use lticontainer_core::store::Store;
use lticontainer_hub::analytics::Analytics;
use lticontainer_hub::spawner::Spawner;

use crate::error::PageError;
use crate::extract::{Session, Sessions};
use crate::pages;
use access::{DashboardAccess, teaching};

pub(crate) use access::{teacher_launch, teaches_with_analytics};
pub(crate) use page::{script, style};

/// `GET /hub/dashboard`: the activities the teacher teaches, each linked to its dashboard;
/// straight to the dashboard when there is one.
pub(crate) async fn index(
    State(spawner): State<Arc<Spawner>>,
    State(store): State<Arc<dyn Store>>,
    State(analytics): State<Option<Arc<Analytics>>>,
    session: Session,
) -> Result<Response, PageError> {
    let taught = teaching(
        store.as_ref(),
        analytics.as_deref(),
        spawner.spec_config(),
        &session.user,
        "",
    )
    .await?;
    if analytics.is_none() {
        return Ok(no_analytics());
    }
    Ok(match taught.as_slice() {
        [] => no_analytics(),
        [one] => (
            StatusCode::FOUND,
            [(LOCATION, format!("/hub/dashboard/{}", one.session.lti_id))],
        )
            .into_response(),
        several => page::index(&session.user, several),
    })
}

/// `GET /hub/dashboard/<lti id>`: the page, for the activity's teachers.
pub(crate) async fn show(access: DashboardAccess) -> Response {
    page::page(&access.user, access.activity.lti_id)
}

/// `GET /hub/dashboard/<lti id>/events`: the live stream, for the activity's teachers, within
/// the bounds on open dashboards (503 past them).
pub(crate) async fn events(
    State(sessions): State<Sessions>,
    headers: HeaderMap,
    access: DashboardAccess,
) -> Response {
    let DashboardAccess {
        user,
        activity,
        analytics,
    } = access;
    let Some(watch) = analytics.board().watch(&user, activity.lti_id) else {
        tracing::info!(%user, "refused another live dashboard: the teacher or the hub has as many open as allowed");
        return pages::message(
            StatusCode::SERVICE_UNAVAILABLE,
            "Too many dashboards open",
            "You have as many live dashboards open as the hub allows (or the hub has). Close \
             another tab with the dashboard, then reload this one.",
        );
    };
    let viewer = stream::Viewer {
        sessions,
        headers,
        teacher: user,
    };
    stream::events(analytics, watch, activity.lti_id, viewer)
}

/// The page for a teacher whose activity sends no learning analytics.
pub(super) fn no_analytics() -> Response {
    pages::message(
        StatusCode::NOT_FOUND,
        "No learning analytics for this activity",
        "The hub receives no learning analytics from this activity: its launch names no \
         lms_sessioninfo of its own activity (set the activity's LTI Edit tab in Moodle), or \
         the hub's \
         [hub] analytics setting is off.",
    )
}
