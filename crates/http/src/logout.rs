//! `/hub/logout`: ends the browser's hub session (JupyterLab's "Log Out" lands here), and with
//! `[hub] shutdown_on_logout` stops the user's server too, as JupyterHub does.
//!
//! A logout that stops a server must not be something another site can trigger: `GET` logs
//! out at once only when the browser says the navigation came from this hub itself or from
//! the user (`Sec-Fetch-Site: same-origin` or `none`, which JupyterLab's menu sends); from
//! anywhere else it asks first, with a button that posts the session's form token
//! (`POST /hub/logout`).

use axum::extract::{Request, State};
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use crate::error::PageError;
use crate::extract::Session;
use crate::pages;
use crate::peer::peer_ip;
use crate::public_url::request_public_url;
use crate::session::{CookieMode, set_cookie_header};
use crate::state::AppState;

/// `GET /hub/logout`.
pub(crate) async fn get(State(state): State<AppState>, req: Request) -> Response {
    let peer = peer_ip(&req);
    let (mut parts, _) = req.into_parts();
    let Ok(session) = <Session as axum::extract::FromRequestParts<AppState>>::from_request_parts(
        &mut parts, &state,
    )
    .await
    else {
        return finish(&state, peer, &parts, false);
    };
    let from_here = parts
        .headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|s| s == "same-origin" || s == "none");
    if !from_here {
        return pages::confirm_logout(&session.form_token);
    }
    log_out(&state, &session, peer, &parts).await
}

/// `POST /hub/logout`: the confirmation's button, with the session's form token.
pub(crate) async fn post(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, PageError> {
    let peer = peer_ip(&req);
    let (mut parts, body) = req.into_parts();
    let session = <Session as axum::extract::FromRequestParts<AppState>>::from_request_parts(
        &mut parts, &state,
    )
    .await?;
    let body = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map_err(|e| PageError::BadRequest(format!("The form could not be read ({e}).")))?;
    session.check_form(&body)?;
    Ok(log_out(&state, &session, peer, &parts).await)
}

/// Stops the server when configured, then ends the session.
async fn log_out(
    state: &AppState,
    session: &Session,
    peer: std::net::IpAddr,
    parts: &Parts,
) -> Response {
    let user = &session.user;
    let mut running = state.spawner.running(user).is_some();
    if state.config.shutdown_on_logout {
        match state.spawner.stop(user).await {
            Ok((outcome, revoked)) => {
                running = false;
                tracing::info!(%user, outcome = ?outcome, revoked, "stopped the server at logout (hub.shutdown_on_logout)");
            }
            Err(e) => {
                tracing::error!(%user, error = %e, cause = ?std::error::Error::source(&e), "cannot stop the server at logout");
            }
        }
    }
    tracing::info!(%user, "logged out");
    finish(state, peer, parts, running)
}

/// The logged-out page, with the session cookie cleared. Over https the clearing cookie is
/// `SameSite=None; Secure`, so it also takes effect inside an LMS iframe.
fn finish(
    state: &AppState,
    peer: std::net::IpAddr,
    parts: &Parts,
    still_running: bool,
) -> Response {
    let https =
        request_public_url(&state.public_url, peer, parts).is_ok_and(|u| u.starts_with("https://"));
    let mode = if https {
        CookieMode::CrossSite
    } else {
        CookieMode::Lax
    };
    let mut resp = pages::logged_out(still_running);
    if let Ok(v) = set_cookie_header("", 0, mode, https).parse() {
        resp.headers_mut().insert(SET_COOKIE, v);
    }
    resp.into_response()
}
