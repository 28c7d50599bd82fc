//! LTI 1.3: `GET`/`POST /hub/lti13/login` (the OIDC third-party login initiation → 302 to the
//! platform's authentication URL) and `POST /hub/lti13/launch` (the platform's form-posted
//! `id_token` → verified by [`Lti13Launches`], then exactly the 1.1 launch's
//! [`start`](crate::launch::start)).

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::header::LOCATION;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use lticontainer_core::form::FormParams;
use lticontainer_hub::lti13::Lti13Launches;

use crate::error::PageError;
use crate::launch::{counted, start};
use crate::limits::MAX_LAUNCH_BODY;
use crate::peer::{peer_ip, served_tls};
use crate::public_url::public_url;
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
    let launch_url = public_url(
        &state.public_url,
        peer,
        served_tls(&parts.extensions),
        &parts.headers,
        &parts.uri,
        Some(LAUNCH_PATH),
    )?;
    Ok((params, launch_url))
}

/// The handler of `GET`/`POST /hub/lti13/login`.
pub(crate) async fn login(State(state): State<AppState>, req: Request) -> Response {
    let result = async {
        let lti13 = launches(&state)?;
        let (params, redirect_uri) = read(&state, req).await?;
        let location = lti13.login(&params, &redirect_uri)?;
        Ok::<_, PageError>((StatusCode::FOUND, [(LOCATION, location)]).into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// The handler of `POST /hub/lti13/launch`; counted in the metrics like the 1.1 launch.
pub(crate) async fn launch(State(state): State<AppState>, req: Request) -> Response {
    let started = Instant::now();
    let result = async {
        let lti13 = launches(&state)?;
        let (form, own_url) = read(&state, req).await?;
        let launch = lti13.launch(&form).await?;
        start(&state, launch, own_url.starts_with("https://"), started).await
    }
    .await;
    counted(&state, result)
}
