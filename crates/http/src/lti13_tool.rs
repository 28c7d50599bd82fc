//! The tool's side of LTI 1.3 toward the platforms: `GET /hub/lti13/jwks` (the tool's public key
//! set) and `GET /hub/lti13/register` (LTI Dynamic Registration, run by
//! [`Lti13Launches::register`](lticontainer_hub::lti13::Lti13Launches::register); the page it answers tells the LMS's dialog to close).

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use lticontainer_core::form::FormParams;
use lticontainer_hub::lti13::ToolUrls;

use crate::lti13::{LAUNCH_PATH, launch_url};
use crate::pages::{self, escape};
use crate::peer::peer_ip;
use crate::state::AppState;

/// How long platforms may cache the tool's key set: short, so a new key is seen soon.
const JWKS_CACHE: &str = "public, max-age=300";

/// The 404 of these routes while LTI 1.3 is off.
fn off() -> Response {
    pages::message(
        StatusCode::NOT_FOUND,
        "Not found",
        "LTI 1.3 is not set up on this server.",
    )
}

/// The handler of `GET /hub/lti13/jwks`: the tool's public key set.
pub(crate) async fn jwks(State(state): State<AppState>) -> Response {
    let Some(lti13) = state.lti13.as_deref() else {
        return off();
    };
    let Some(key) = lti13.tool_key() else {
        return pages::message(
            StatusCode::NOT_FOUND,
            "Not found",
            "This server has no LTI 1.3 tool key.",
        );
    };
    (
        [
            (CONTENT_TYPE, "application/json"),
            (CACHE_CONTROL, JWKS_CACHE),
        ],
        key.jwks().to_string(),
    )
        .into_response()
}

/// The handler of `GET /hub/lti13/register`: LTI Dynamic Registration. The page is for the
/// admin, inside the LMS's registration dialog; a failure is also logged with its cause.
pub(crate) async fn register(State(state): State<AppState>, req: Request) -> Response {
    let Some(lti13) = state.lti13.as_deref() else {
        return off();
    };
    let peer = peer_ip(&req);
    let (parts, _) = req.into_parts();
    let params = match FormParams::parse(parts.uri.query().unwrap_or_default().as_bytes()) {
        Ok(p) => p,
        Err(e) => {
            return pages::message(
                StatusCode::BAD_REQUEST,
                "Registration failed",
                &format!("The registration request could not be read: {e}"),
            );
        }
    };
    let launch_url = match launch_url(&state, peer, &parts) {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    let base = launch_url.strip_suffix(LAUNCH_PATH).unwrap_or(&launch_url);
    match lti13.register(&params, &ToolUrls::under(base)).await {
        Ok(platform) => {
            // The LMS shows this page in its own iframe.
            state
                .frames
                .learn(platform.consumer_name(), &platform.issuer);
            let body = format!(
                "<p>The tool is registered with {} (client id {}). The LMS may ask you to \
                 activate it in its tool list.</p><script>(window.opener || window.parent)\
                 .postMessage({{subject: 'org.imsglobal.lti.close'}}, '*');</script>",
                escape(&platform.issuer),
                escape(&platform.client_id)
            );
            pages::html(StatusCode::OK, "Registered", &body)
        }
        Err(e) => {
            tracing::warn!(error = %e, "LTI Dynamic Registration refused");
            let status =
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            pages::message(status, "Registration failed", &e.to_string())
        }
    }
}
