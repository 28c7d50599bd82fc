//! The handlers: list and read users, stop a user's server, delete a user.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use lticontainer_core::launch::normalize_username;
use lticontainer_core::store::UserRecord;
use lticontainer_hub::spawner::{StopError, StopOutcome};
use serde_json::Value;

use super::super::error::JsonError;
use super::AdminState;
use super::auth::AdminCaller;
use super::model::user_model;

/// `offset` and `limit` of `GET /hub/api/users`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Page {
    offset: usize,
    limit: Option<usize>,
}

impl Page {
    /// Reads `offset` and `limit` from the query; other parameters are ignored. JupyterHub's
    /// default limit (50) is not applied: mod_lticontainer asks without paging and must see
    /// every student.
    fn parse(query: Option<&str>) -> Result<Self, JsonError> {
        let mut page = Self::default();
        for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let number = || {
                v.parse::<usize>().map_err(|_| {
                    JsonError::new(
                        StatusCode::BAD_REQUEST,
                        format!(
                            "Invalid argument type, {k} must be a non-negative integer, not {v:?}"
                        ),
                    )
                })
            };
            match k.as_ref() {
                "offset" => page.offset = number()?,
                "limit" => page.limit = Some(number()?),
                _ => {}
            }
        }
        Ok(page)
    }
}

/// `GET /hub/api/users`: every user, oldest first (JupyterHub's default order, by id).
pub(super) async fn list(
    _caller: AdminCaller,
    State(state): State<AdminState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, JsonError> {
    let page = Page::parse(query.as_deref())?;
    let mut users = state
        .api
        .store()
        .users()
        .await
        .map_err(|e| JsonError::internal("listing users", &e))?;
    users.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.name.cmp(&b.name)));
    let servers = state
        .api
        .store()
        .servers()
        .await
        .map_err(|e| JsonError::internal("listing servers", &e))?;
    let models = users
        .iter()
        .skip(page.offset)
        .take(page.limit.unwrap_or(usize::MAX))
        .map(|u| {
            let server = servers.iter().find(|s| s.user == u.name);
            user_model(&state.api, u, server, &state.spawner.state(&u.name))
        })
        .collect::<Vec<_>>();
    tracing::info!(
        caller = AdminCaller::NAME,
        listed = models.len(),
        "admin API: listed users"
    );
    Ok(Json(Value::Array(models)))
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
    )))
}

/// `DELETE /hub/api/users/<name>/server`: stops and removes the user's container, revokes its
/// tokens and records the server stopped; 204 (also when no server ran, as in JupyterHub).
pub(super) async fn delete_server(
    _caller: AdminCaller,
    State(state): State<AdminState>,
    Path(name): Path<String>,
) -> Result<Response, JsonError> {
    let name = known_user(&state, &name).await?.name;
    stop_server(&state, &name).await?;
    Ok(no_content())
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
/// is 400 (it cannot be interrupted; ask again once it is done).
async fn stop_server(state: &AdminState, name: &str) -> Result<(), JsonError> {
    let caller = AdminCaller::NAME;
    match state.spawner.stop(name).await {
        Ok((outcome, revoked)) => {
            match outcome {
                StopOutcome::Stopped { container_id } => {
                    tracing::info!(caller, user = %name, container = %container_id, "admin API: stopped and removed the server");
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
        Err(StopError::StillStarting { .. }) => {
            tracing::info!(caller, user = %name, "admin API: cannot stop a server that is still starting");
            Err(JsonError::new(
                StatusCode::BAD_REQUEST,
                format!("{name} is pending spawn, please wait"),
            ))
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
    (StatusCode::NO_CONTENT, [(CONTENT_TYPE, "text/plain")]).into_response()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn paging_parameters() {
        assert_eq!(Page::parse(None).unwrap(), Page::default());
        assert_eq!(
            Page::parse(Some("offset=2&limit=3&sort=name")).unwrap(),
            Page {
                offset: 2,
                limit: Some(3)
            }
        );
        for bad in ["offset=-1", "limit=ten", "offset="] {
            let e = Page::parse(Some(bad)).unwrap_err();
            assert_eq!(e.status(), StatusCode::BAD_REQUEST, "{bad}");
        }
    }
}
