//! The student's own server, from the hub's pages: `GET /hub/home` (its status, how long it may
//! still run under its activity limit, memory running short, why the hub stopped it, buttons, and
//! for a teacher of an activity with learning analytics a link to the class dashboards),
//! `POST /hub/stop/<name>` (stop it, or cancel its start) and `POST /hub/restart/<name>` (stop,
//! then start again with the last launch). Stopping goes through [`Spawner::stop`], the same
//! path as the admin API; every button posts the session's form token.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{IntoResponse, Response};
use lticontainer_core::store::Store;
use lticontainer_hub::analytics::Analytics;
use lticontainer_hub::spawner::{SlotState, Spawner, StopError};

use crate::error::PageError;
use crate::extract::Session;
use crate::pages::{self, HomeStatus, HomeView};
use crate::pending::start_and_follow;

/// `GET /hub/home`: the signed-in student's server — running (open, stop, restart), starting
/// (follow, cancel), failed (the reason, try again) or stopped (start); a teacher's also links
/// to their dashboards.
pub(crate) async fn page(
    State(spawner): State<Arc<Spawner>>,
    State(store): State<Arc<dyn Store>>,
    State(analytics): State<Option<Arc<Analytics>>>,
    session: Session,
) -> Result<Response, PageError> {
    let user = session.user.as_str();
    let dashboard = crate::dashboard::teaches_with_analytics(
        store.as_ref(),
        analytics.as_deref(),
        spawner.spec_config(),
        user,
    )
    .await;
    let can_start = matches!(store.user(user).await, Ok(Some(u)) if u.last_launch.is_some());
    let slot = spawner.state(user);
    let last = match &slot {
        SlotState::Idle { last: Some(p) } => p.outcome().filter(|e| e.failed),
        _ => None,
    };
    let note = spawner.stop_note(user);
    // An OOM kill that just happened says more than memory use near the limit.
    let memory = match &slot {
        SlotState::Running(_) => {
            let notices = spawner.memory_notices(user).await;
            notices.out_of_memory.or(notices.near_limit)
        }
        _ => None,
    };
    let status = match (&slot, &last) {
        (SlotState::Running(r), _) => HomeStatus::Running {
            url: &r.url,
            time_left: spawner.time_left(user),
            memory: memory.as_deref(),
        },
        (SlotState::Spawning(_), _) => HomeStatus::Starting,
        // The hub stopped the server (a limit): say why.
        (SlotState::Idle { .. }, _) if note.is_some() => HomeStatus::Stopped {
            note: note.as_deref(),
        },
        (SlotState::Idle { .. }, Some(e)) => HomeStatus::Failed { reason: &e.message },
        (SlotState::Idle { .. }, None) => HomeStatus::Stopped { note: None },
    };
    Ok(pages::home(&HomeView {
        user,
        status,
        can_start,
        dashboard,
        form_token: &session.form_token,
    }))
}

/// `POST /hub/stop/<name>`: stops the server (or cancels its start), then back to the home page.
pub(crate) async fn stop(
    State(spawner): State<Arc<Spawner>>,
    Path(name): Path<String>,
    session: Session,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    session.check_post_for(&name, &body)?;
    stop_server(&spawner, &session, &name).await?;
    Ok((StatusCode::SEE_OTHER, [(LOCATION, "/hub/home")]).into_response())
}

/// `POST /hub/restart/<name>`: stops the server, then starts it again with the last launch's
/// parameters and shows the progress page.
pub(crate) async fn restart(
    State(spawner): State<Arc<Spawner>>,
    State(store): State<Arc<dyn Store>>,
    Path(name): Path<String>,
    session: Session,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    session.check_post_for(&name, &body)?;
    stop_server(&spawner, &session, &name).await?;
    start_and_follow(&spawner, store.as_ref(), &session, &name, "restarted").await
}

/// Stops `name`'s server for `session`'s user with [`Spawner::stop`], logging what happened.
async fn stop_server(spawner: &Spawner, session: &Session, name: &str) -> Result<(), PageError> {
    match spawner.stop(name).await {
        Ok((outcome, revoked)) => {
            tracing::info!(user = %session.user, server = %name, outcome = ?outcome, revoked, "stopped from the hub's page");
            Ok(())
        }
        Err(StopError::Engine {
            container_id,
            source,
        }) => {
            tracing::error!(user = %session.user, server = %name, container = %container_id, "the engine did not remove the server's container");
            Err(PageError::internal("stopping a server", source))
        }
        Err(StopError::Store { what, source }) => Err(PageError::internal(what, source)),
        Err(e) => Err(PageError::BadRequest(format!(
            "Your server could not be stopped ({e}). Please try again."
        ))),
    }
}
