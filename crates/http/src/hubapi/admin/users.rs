//! The handlers: list and read users, start and stop a user's server, delete a user.

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use lticontainer_core::launch::normalize_username;
use lticontainer_core::store::UserRecord;
use lticontainer_hub::spawner::{SlotState, StopError, StopOutcome};
use serde_json::{Value, json};

use super::super::error::JsonError;
use super::AdminState;
use super::auth::AdminCaller;
use super::model::user_model;
use super::query::{DEFAULT_LIMIT, ListQuery, SortKey, StateFilter};
use crate::peer::peer_ip;
use crate::public_url::public_url;
use crate::stored_launch::start_last_launch;

/// `GET /hub/api/users`: the users JupyterHub 5 would list for the query ([`ListQuery`]):
/// filtered by `name_filter` and `state`, sorted, a page of them; a plain list, or the
/// pagination envelope (`items`, `_pagination` with `offset`, `limit`, `total`, `next`) for a
/// caller that accepts it.
pub(super) async fn list(
    _caller: AdminCaller,
    State(state): State<AdminState>,
    request: Request,
) -> Result<Json<Value>, JsonError> {
    let raw_query = request.uri().query().map(str::to_owned);
    let query = ListQuery::parse(raw_query.as_deref(), request.headers())?;
    let mut users = state
        .api
        .store()
        .users()
        .await
        .map_err(|e| JsonError::internal("listing users", &e))?;
    let servers = state
        .api
        .store()
        .servers()
        .await
        .map_err(|e| JsonError::internal("listing servers", &e))?;
    let slot = |name: &str| state.spawner.state(name);
    let active = |s: &SlotState| !matches!(s, SlotState::Idle { .. });
    if let Some(part) = &query.name_filter {
        let part = part.to_lowercase();
        users.retain(|u| u.name.to_lowercase().contains(&part));
    }
    match query.state {
        Some(StateFilter::Active | StateFilter::Ready) => users.retain(|u| active(&slot(&u.name))),
        Some(StateFilter::Inactive) => users.retain(|u| !active(&slot(&u.name))),
        None => {}
    }
    users.sort_by(|a, b| {
        let by_id = || a.created.cmp(&b.created).then_with(|| a.name.cmp(&b.name));
        let order = match query.sort {
            SortKey::Id => by_id(),
            SortKey::Name => a.name.cmp(&b.name),
            SortKey::LastActivity => a.last_activity.cmp(&b.last_activity).then_with(by_id),
        };
        if query.descending {
            order.reverse()
        } else {
            order
        }
    });
    // As in JupyterHub, the total counts the filtered query before "ready" is told apart from
    // "active", and "ready" is applied to the page.
    let total = users.len();
    let models = users
        .iter()
        .skip(query.offset)
        .take(query.limit.unwrap_or(usize::MAX))
        .filter_map(|u| {
            let slot = slot(&u.name);
            if query.state == Some(StateFilter::Ready) && !matches!(slot, SlotState::Running(_)) {
                return None;
            }
            let server = servers.iter().find(|s| s.user == u.name);
            Some(user_model(
                &state.api,
                u,
                server,
                &slot,
                state.spawner.is_stopping(&u.name),
            ))
        })
        .collect::<Vec<_>>();
    tracing::info!(
        caller = AdminCaller::NAME,
        listed = models.len(),
        total,
        "admin API: listed users"
    );
    if !query.envelope {
        return Ok(Json(Value::Array(models)));
    }
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    let next_offset = query.offset.saturating_add(limit);
    let next = if next_offset < total {
        let path = format!(
            "{}?{}",
            request.uri().path(),
            ListQuery::next_query(raw_query.as_deref(), next_offset, limit)
        );
        let url = public_url(
            &state.public_url,
            peer_ip(&request),
            crate::peer::served_tls(request.extensions()),
            request.headers(),
            request.uri(),
            Some(&path),
        )
        .unwrap_or(path);
        json!({"offset": next_offset, "limit": limit, "url": url})
    } else {
        Value::Null
    };
    Ok(Json(json!({
        "items": models,
        "_pagination": {"offset": query.offset, "limit": limit, "total": total, "next": next},
    })))
}

/// `GET /hub/api/users/<name>`: one user, or JupyterHub's 404.
pub(super) async fn get_user(
    _caller: AdminCaller,
    State(state): State<AdminState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, JsonError> {
    let user = known_user(&state, &name).await?;
    let name = user.name.clone();
    let server = state
        .api
        .store()
        .server(&name)
        .await
        .map_err(|e| JsonError::internal("reading a server", &e))?;
    tracing::info!(caller = AdminCaller::NAME, user = %name, "admin API: read the user");
    Ok(Json(user_model(
        &state.api,
        &user,
        server.as_ref(),
        &state.spawner.state(&name),
        state.spawner.is_stopping(&name),
    )))
}

/// `DELETE /hub/api/users/<name>/server`: stops and removes the user's container (a start
/// under way is cancelled first, as JupyterHub interrupts a pending spawn), revokes its tokens
/// and records the server stopped; 204 once stopped (also when no server ran), 202 when the
/// stop is still under way after [`STOP_WAIT`] (it goes on; the user model says so).
pub(super) async fn delete_server(
    _caller: AdminCaller,
    State(state): State<AdminState>,
    Path(name): Path<String>,
) -> Result<Response, JsonError> {
    let name = known_user(&state, &name).await?.name;
    let stop = {
        let state = state.clone();
        let name = name.clone();
        tokio::spawn(async move { stop_server(&state, &name).await })
    };
    match tokio::time::timeout(STOP_WAIT, stop).await {
        Ok(Ok(result)) => result.map(|()| no_content()),
        Ok(Err(join)) => {
            tracing::error!(caller = AdminCaller::NAME, user = %name, error = %join, "admin API: the stop task ended abnormally");
            Err(JsonError::bare(StatusCode::INTERNAL_SERVER_ERROR))
        }
        Err(_) => {
            tracing::info!(caller = AdminCaller::NAME, user = %name, "admin API: the server is still stopping; answered 202");
            Ok(text_status(StatusCode::ACCEPTED))
        }
    }
}

/// How long `DELETE …/server` waits for the stop before answering 202 (JupyterHub waits for
/// its spawner's stop the same way, and answers 202 while it is pending).
const STOP_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long `POST …/server` waits for the spawn before answering 202 (JupyterHub's
/// `slow_spawn_timeout`, 10 s).
const SLOW_SPAWN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// `POST /hub/api/users/<name>/server`: starts the user's server with the parameters of their
/// last launch, as JupyterHub answers: 201 when it is ready within [`SLOW_SPAWN_TIMEOUT`],
/// 202 while it is still starting (also when a start was already under way), 400 when it
/// already runs or the hub has no launch of theirs to start from; 500 with the student's
/// reason when it failed.
pub(super) async fn post_server(
    _caller: AdminCaller,
    State(state): State<AdminState>,
    Path(name): Path<String>,
) -> Result<Response, JsonError> {
    let name = known_user(&state, &name).await?.name;
    match state.spawner.state(&name) {
        SlotState::Spawning(_) => return Ok(text_status(StatusCode::ACCEPTED)),
        SlotState::Running(_) => {
            return Err(JsonError::new(
                StatusCode::BAD_REQUEST,
                format!("{name} is already running"),
            ));
        }
        SlotState::Idle { .. } => {}
    }
    let progress = start_last_launch(&state.spawner, state.api.store().as_ref(), &name)
        .await
        .map_err(|e| JsonError::internal("reading a user", &e))?
        .ok_or_else(|| {
            JsonError::new(
                StatusCode::BAD_REQUEST,
                format!("{name} has no launch to start a server from; they open the activity in Moodle once"),
            )
        })?;
    tracing::info!(caller = AdminCaller::NAME, user = %name, "admin API: started the server");
    match tokio::time::timeout(SLOW_SPAWN_TIMEOUT, progress.finished()).await {
        Ok(ev) if ev.ready => Ok(text_status(StatusCode::CREATED)),
        Ok(ev) => Err(JsonError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Spawner failed to start: {}", ev.message),
        )),
        Err(_) => Ok(text_status(StatusCode::ACCEPTED)),
    }
}

/// `DELETE /hub/api/users/<name>`: stops the user's server as above, then forgets the user with
/// everything recorded for them; 204.
pub(super) async fn delete_user(
    _caller: AdminCaller,
    State(state): State<AdminState>,
    Path(name): Path<String>,
) -> Result<Response, JsonError> {
    let name = known_user(&state, &name).await?.name;
    stop_server(&state, &name).await?;
    state
        .api
        .store()
        .delete_user(&name)
        .await
        .map_err(|e| JsonError::internal("deleting a user", &e))?;
    // The user's browser sessions end with the account: an old cookie must not open their pages,
    // nor the server a later launch starts.
    if let Err(e) = state.sessions.revoke_user(&name) {
        tracing::error!(caller = AdminCaller::NAME, user = %name, error = %e, "admin API: cannot save the revoked sessions; they stay revoked until the hub restarts");
    }
    tracing::info!(caller = AdminCaller::NAME, user = %name, "admin API: deleted the user");
    Ok(no_content())
}

/// The recorded user `name` names: a hub name, or an LMS login the hub maps to its hub name
/// (the names [`api_name`](super::model::api_name) lists: mod_lticontainer deletes users by the
/// Moodle username it matched); 404 when neither is recorded.
async fn known_user(state: &AdminState, name: &str) -> Result<UserRecord, JsonError> {
    let store = state.api.store();
    let read = |e| JsonError::internal("reading a user", &e);
    if let Some(user) = store.user(name).await.map_err(read)? {
        return Ok(user);
    }
    match normalize_username(name) {
        Some(mapped) if mapped != name => store.user(&mapped).await.map_err(read)?,
        _ => None,
    }
    .ok_or_else(|| JsonError::bare(StatusCode::NOT_FOUND))
}

/// Stops `name`'s server with [`Spawner::stop`](lticontainer_hub::spawner::Spawner::stop): the
/// container goes, the server's tokens are revoked and the store says stopped. A spawn under way
/// is cancelled first.
async fn stop_server(state: &AdminState, name: &str) -> Result<(), JsonError> {
    let caller = AdminCaller::NAME;
    match state.spawner.stop(name).await {
        Ok((outcome, revoked)) => {
            match outcome {
                StopOutcome::Stopped { container_id } => {
                    tracing::info!(caller, user = %name, container = %container_id, "admin API: stopped and removed the server");
                }
                StopOutcome::Cancelled => {
                    tracing::info!(caller, user = %name, "admin API: cancelled the server's start and removed what it made");
                }
                StopOutcome::LeftoverRemoved {
                    container_id: Some(id),
                } => {
                    tracing::info!(caller, user = %name, container = %id, "admin API: removed a leftover container");
                }
                _ => {}
            }
            if revoked > 0 {
                tracing::info!(caller, user = %name, revoked, "admin API: revoked the server's tokens");
            }
            Ok(())
        }
        Err(StopError::Engine {
            container_id,
            source,
        }) => {
            tracing::error!(caller, user = %name, container = %container_id, error = %source, cause = ?std::error::Error::source(&source), "admin API: the engine did not remove the server's container");
            Err(JsonError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!(
                    "{name}'s server could not be stopped: the container engine refused; see the hub log"
                ),
            ))
        }
        Err(StopError::Store { what, source }) => Err(JsonError::internal(what, &source)),
        Err(e) => Err(JsonError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{name}'s server could not be stopped: {e}"),
        )),
    }
}

/// JupyterHub's empty 204 reply.
fn no_content() -> Response {
    text_status(StatusCode::NO_CONTENT)
}

/// JupyterHub's empty reply with `status` (`Content-Type: text/plain`).
fn text_status(status: StatusCode) -> Response {
    (status, [(CONTENT_TYPE, "text/plain")]).into_response()
}
