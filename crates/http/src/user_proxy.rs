//! `/user/<name>/…`: the owner's (or an admin's) requests go to the user's server; everyone
//! else is turned away with a clear page, and a missing server sends the browser to the
//! progress page instead of hanging.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, LOCATION};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::launch::peer_ip;
use crate::pages;
use crate::proxy::{Forwarded, ProxyError, forward};
use crate::state::AppState;

/// The handler of every request under `/user/`.
pub(crate) async fn user_proxy(State(state): State<AppState>, mut req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let rest = path.strip_prefix("/user/").unwrap_or_default();
    let (owner, has_slash) = match rest.split_once('/') {
        Some((o, _)) => (o.to_owned(), true),
        None => (rest.to_owned(), false),
    };
    if owner.is_empty() {
        return pages::message(
            StatusCode::NOT_FOUND,
            "Not found",
            "This address names no user.",
        );
    }
    if !has_slash {
        let query = req
            .uri()
            .query()
            .map_or_else(String::new, |q| format!("?{q}"));
        return (
            StatusCode::FOUND,
            [(LOCATION, format!("/user/{owner}/{query}"))],
        )
            .into_response();
    }
    // A request with a Jupyter API token (`token …` / `Bearer …`) goes through without a hub
    // session: the user's server checks the token's scopes with the hub API, as in JupyterHub.
    let token_only = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .is_some_and(|(scheme, value)| {
            (scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer"))
                && !value.trim().is_empty()
        });
    match state.session_user(req.headers()) {
        Some(me) if me == owner || state.config.is_admin(&me) => {}
        Some(me) => {
            return ApiError::Forbidden {
                user: me,
                target: owner,
            }
            .into_response();
        }
        None if token_only => {}
        None => return ApiError::NotSignedIn.into_response(),
    }
    let Some(server) = state.spawner.running(&owner) else {
        return (
            StatusCode::FOUND,
            [(LOCATION, format!("/hub/spawn-pending/{owner}"))],
        )
            .into_response();
    };

    let peer = peer_ip(&req);
    let trusted = state
        .public_url
        .trusted_proxies
        .iter()
        .any(|p| p.contains(peer));
    let headers = req.headers_mut();
    let proto = if let Some(base) = &state.public_url.base_url {
        if base.starts_with("https:") {
            "https"
        } else {
            "http"
        }
        .to_owned()
    } else if trusted {
        headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .map_or("http", |p| {
                if p.trim().eq_ignore_ascii_case("https") {
                    "https"
                } else {
                    "http"
                }
            })
            .to_owned()
    } else {
        "http".to_owned()
    };
    if !trusted {
        for h in ["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"] {
            headers.remove(h);
        }
    }
    let fwd = Forwarded {
        client_ip: (!peer.is_unspecified()).then_some(peer),
        proto,
    };
    match forward(&state.client, server.addr, req, &fwd).await {
        Ok(resp) => {
            state.spawner.note_activity(&owner);
            resp
        }
        Err(e @ ProxyError::Unreachable { .. }) => {
            tracing::warn!(user = %owner, container = %server.container_id, error = %e, "the server is gone; marking it stopped");
            state
                .spawner
                .mark_stopped(&owner, &server.container_id)
                .await;
            pages::html(
                StatusCode::SERVICE_UNAVAILABLE,
                "Your server has stopped",
                &format!(
                    "<p>The Jupyter server of {u} is not running any more. Open the Jupyter activity in your \
                     course to start it again, or <a href=\"/hub/spawn-pending/{u}\">start it here</a>.</p>",
                    u = pages::escape(&owner)
                ),
            )
        }
        Err(e @ ProxyError::Failed { .. }) => {
            tracing::warn!(user = %owner, error = %e, "proxy request failed");
            pages::message(
                StatusCode::BAD_GATEWAY,
                "The server did not answer",
                "Your Jupyter server did not answer this request. Reload the page; if it keeps happening, \
                 open the activity in your course again.",
            )
        }
        Err(e @ ProxyError::BadRequest(_)) => ApiError::BadRequest(e.to_string()).into_response(),
    }
}
