//! LTI 1.3: `GET`/`POST /hub/lti13/login` (the OIDC third-party login initiation → 302 to the
//! platform's authentication URL) and `POST /hub/lti13/launch` (the platform's form-posted
//! `id_token` → verified by [`Lti13Launches`], then exactly the 1.1 launch's
//! [`start`](crate::launch::start)).
//!
//! The login binds its `state` to the browser with a cookie
//! ([`state_cookie`](lticontainer_core::lti13::state_cookie), `HttpOnly`, path `/hub/lti13/`,
//! living as long as the login); the launch is refused without it, before the state is taken.
//! Over https the cookie is `SameSite=None; Secure`, as the platform's form post to the launch is
//! cross-site; over plain http browsers refuse such cookies, so it is `SameSite=Lax`, which
//! reaches the launch only when the LMS is on the same site as the hub (tests on one host).

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use lticontainer_core::form::FormParams;
use lticontainer_core::lti13::{Lti13Error, STATE_COOKIE_PATH, state_cookie, state_cookie_matches};
use lticontainer_hub::lti13::Lti13Launches;

use crate::error::PageError;
use crate::launch::{counted, start};
use crate::limits::MAX_LAUNCH_BODY;
use crate::peer::{peer_ip, served_tls};
use crate::public_url::public_url;
use crate::session::cookie_values;
use crate::state::AppState;

/// The path of the launch (the tool's redirection URI).
pub(crate) const LAUNCH_PATH: &str = "/hub/lti13/launch";

/// The hub's LTI 1.3 part, or a page saying it is off.
fn launches(state: &AppState) -> Result<&Lti13Launches, PageError> {
    state.lti13.as_deref().ok_or_else(|| {
        PageError::BadRequest(
            "LTI 1.3 is not set up on this server. Please tell your teacher: the course's tool \
             settings need checking."
                .to_owned(),
        )
    })
}

/// The query and, for a POST, the form body of `req`, as one list of parameters.
async fn params(req: Request) -> Result<(axum::http::request::Parts, FormParams), PageError> {
    let (parts, body) = req.into_parts();
    let unreadable = |e: &dyn std::fmt::Display| {
        PageError::BadRequest(format!(
            "The request could not be read ({e}). Go back to your course and click the activity again."
        ))
    };
    let mut params = FormParams::parse(parts.uri.query().unwrap_or_default().as_bytes())
        .map_err(|e| unreadable(&e))?;
    if parts.method == Method::POST {
        let body = axum::body::to_bytes(body, MAX_LAUNCH_BODY)
            .await
            .map_err(|e| unreadable(&e))?;
        for (k, v) in FormParams::parse(&body).map_err(|e| unreadable(&e))?.iter() {
            params.push(k, v);
        }
    }
    Ok((parts, params))
}

/// What a login or launch request brings: its parameters and the hub's public launch URL (the
/// redirection URI), rebuilt as the 1.1 launch URL is.
async fn read(state: &AppState, req: Request) -> Result<(FormParams, String), PageError> {
    let peer = peer_ip(&req);
    let (parts, params) = params(req).await?;
    let launch_url = launch_url(state, peer, &parts)?;
    Ok((params, launch_url))
}

/// The hub's public launch URL for a request from `peer` with `parts`, rebuilt as the 1.1
/// launch URL is.
pub(crate) fn launch_url(
    state: &AppState,
    peer: std::net::IpAddr,
    parts: &axum::http::request::Parts,
) -> Result<String, PageError> {
    Ok(public_url(
        &state.public_url,
        peer,
        served_tls(&parts.extensions),
        &parts.headers,
        &parts.uri,
        Some(LAUNCH_PATH),
    )?)
}

/// The handler of `GET`/`POST /hub/lti13/login`.
pub(crate) async fn login(State(state): State<AppState>, req: Request) -> Response {
    let result = async {
        let lti13 = launches(&state)?;
        let (params, redirect_uri) = read(&state, req).await?;
        let (location, login_state) = lti13.login(&params, &redirect_uri)?;
        let https = redirect_uri.starts_with("https://");
        let cookie = set_state_cookie(&login_state, lti13.login_ttl_secs(), https);
        Ok::<_, PageError>(
            (
                StatusCode::FOUND,
                [(LOCATION, location), (SET_COOKIE, cookie)],
            )
                .into_response(),
        )
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// The handler of `POST /hub/lti13/launch`; counted in the metrics like the 1.1 launch.
pub(crate) async fn launch(State(state): State<AppState>, req: Request) -> Response {
    let started = Instant::now();
    let result = async {
        let lti13 = launches(&state)?;
        let headers = req.headers().clone();
        let (form, own_url) = read(&state, req).await?;
        let https = own_url.starts_with("https://");
        let login_state = form.last_nonblank("state").unwrap_or_default();
        if !login_state.is_empty() && !state_cookie_present(&headers, login_state) {
            return Err(Lti13Error::StateNotBound.into());
        }
        let launch = lti13.launch(&form).await?;
        let mut resp = start(&state, launch, https, started).await?;
        // The login is over: its cookie goes.
        if let Ok(v) = HeaderValue::from_str(&set_state_cookie(login_state, 0, https)) {
            resp.headers_mut().append(SET_COOKIE, v);
        }
        Ok(resp)
    }
    .await;
    counted(&state, result)
}

/// The `Set-Cookie` value of the state cookie of `login_state`, living `max_age` seconds (0
/// removes it).
fn set_state_cookie(login_state: &str, max_age: u64, https: bool) -> String {
    let (name, value) = state_cookie(login_state);
    let site = if https {
        "SameSite=None; Secure"
    } else {
        "SameSite=Lax"
    };
    format!("{name}={value}; Path={STATE_COOKIE_PATH}; HttpOnly; {site}; Max-Age={max_age}")
}

/// True when the request carries the state cookie of `login_state`.
fn state_cookie_present(headers: &HeaderMap, login_state: &str) -> bool {
    let (name, _) = state_cookie(login_state);
    state_cookie_matches(
        login_state,
        cookie_values(headers, &name).map(|v| (name.as_str(), v)),
    )
}
