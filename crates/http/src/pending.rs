//! The spawn progress page (`/hub/spawn-pending/<name>`), its event stream
//! (`/hub/api/users/<name>/server/progress`) and the "start my server again" action
//! (`POST /hub/spawn/<name>`).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{IntoResponse, Response};
use lticontainer_core::store::Store;
use lticontainer_hub::progress::ProgressEvent;
use lticontainer_hub::spawner::{SlotState, Spawner};

use crate::error::PageError;
use crate::extract::Session;
use crate::pages;
use crate::progress_stream::sse;
use crate::stored_launch::start_last_launch;

/// The query of the progress page.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct PendingQuery {
    /// Where to go once the server is ready (a same-site path), instead of the server's URL.
    next: Option<String>,
}

/// `GET /hub/spawn-pending/<name>`: the progress page, or a redirect to the running server.
pub(crate) async fn page(
    State(spawner): State<Arc<Spawner>>,
    State(store): State<Arc<dyn Store>>,
    Path(name): Path<String>,
    Query(query): Query<PendingQuery>,
    session: Session,
) -> Result<Response, PageError> {
    session.may_use(&name)?;
    let next = query.next.as_deref().and_then(pages::safe_next);
    // A running server needs no progress page (and no JavaScript): go straight to it.
    if let Some(r) = spawner.running(&name) {
        let to = next.map_or(r.url, str::to_owned);
        return Ok((StatusCode::FOUND, [(LOCATION, to)]).into_response());
    }
    let can_restart = matches!(store.user(&name).await, Ok(Some(u)) if u.last_launch.is_some());
    let start = format!("/hub/spawn/{name}");
    Ok(pages::spawn_pending(
        &name,
        &format!("/hub/api/users/{name}/server/progress"),
        can_restart.then_some(start.as_str()),
        next,
        &session.form_token,
    ))
}

/// `GET /hub/api/users/<name>/server/progress`: JupyterHub's event stream.
pub(crate) async fn progress(
    State(spawner): State<Arc<Spawner>>,
    Path(name): Path<String>,
    session: Session,
) -> Result<Response, PageError> {
    session.may_use(&name)?;
    let resp = match spawner.state(&name) {
        SlotState::Spawning(p) | SlotState::Idle { last: Some(p) } => sse(p.stream()),
        SlotState::Running(r) => sse(futures_util::stream::iter([ProgressEvent::ready(
            &r.url,
            "Your server is running.",
        )])),
        SlotState::Idle { last: None } => sse(futures_util::stream::iter([ProgressEvent::idle(
            spawner.stop_note(&name).unwrap_or_else(|| {
                "Your server is not running. Open the Jupyter activity in your course to start it."
                    .to_owned()
            }),
        )])),
    };
    Ok(resp)
}

/// `POST /hub/spawn/<name>`: starts the server again with the parameters of the last launch
/// (the progress page's and the home page's button, with the session's form token).
pub(crate) async fn start(
    State(spawner): State<Arc<Spawner>>,
    State(store): State<Arc<dyn Store>>,
    Path(name): Path<String>,
    session: Session,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    session.check_post_for(&name, &body)?;
    start_and_follow(&spawner, store.as_ref(), &session, &name, "started again").await
}

/// Starts `name`'s server with the last launch ([`start_last_launch`]) and sends the browser to
/// its progress page; `what` names the action in the log. A page asking to use the course when
/// the hub has no launch of theirs.
pub(crate) async fn start_and_follow(
    spawner: &Arc<Spawner>,
    store: &dyn Store,
    session: &Session,
    name: &str,
    what: &str,
) -> Result<Response, PageError> {
    if start_last_launch(spawner, store, name)
        .await
        .map_err(|e| PageError::internal("reading the user", e))?
        .is_none()
    {
        return Ok(no_launch_to_start());
    }
    tracing::info!(user = %session.user, server = %name, "{what} from the hub's page");
    Ok(to_progress(name))
}

/// 303 to `name`'s progress page.
fn to_progress(name: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(LOCATION, format!("/hub/spawn-pending/{name}"))],
    )
        .into_response()
}

/// The page for a start asked without a launch to start from.
fn no_launch_to_start() -> Response {
    pages::message(
        StatusCode::CONFLICT,
        "Please start from your course",
        "The hub has no launch of yours to start a server from. Open the Jupyter activity in your course.",
    )
}
