//! [`AdminCaller`]: the extractor that lets only the admin service's token through.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};

use super::super::caller::request_token;
use super::super::error::JsonError;
use super::AdminState;

/// Who called: the admin service, identified by `[hub] api_token`.
#[derive(Debug, Clone, Copy)]
pub(super) struct AdminCaller;

impl AdminCaller {
    /// The caller's name in the admin log, as JupyterHub names the service.
    pub(super) const NAME: &'static str = "admin-service";
}

impl FromRequestParts<AdminState> for AdminCaller {
    type Rejection = JsonError;

    /// Accepts `Authorization: token <t>` / `Bearer <t>` (or `?token=` when
    /// `hub.api_token_in_url` is on) when `t` is the
    /// configured admin token. Anything else is JupyterHub's 403: "Missing or invalid
    /// credentials." for no or an unknown token (also when no admin token is configured), and
    /// the missing-scope message for a valid user or server token.
    async fn from_request_parts(parts: &mut Parts, state: &AdminState) -> Result<Self, JsonError> {
        let config = state.spawner.config();
        // The admin token travels in the Authorization header; a `?token=` counts only when
        // the admin allows it (hub.api_token_in_url), since URLs end up in logs and histories.
        let query = parts.uri.query().filter(|_| config.api_token_in_url);
        let in_url_refused = !config.api_token_in_url
            && request_token(&HeaderMap::new(), parts.uri.query()).is_some();
        let presented = request_token(&parts.headers, query);
        let configured = &config.api_token;
        if let (Some(admin), Some(token)) = (configured, &presented) {
            if admin.matches(token) {
                return Ok(Self);
            }
        }
        let path = parts.uri.path().to_owned();
        if presented.is_some() && state.api.caller(&parts.headers, query).await?.is_some() {
            tracing::warn!(%path, "admin API: a user or server token was refused (it lacks the admin scopes)");
            return Err(JsonError::new(
                StatusCode::FORBIDDEN,
                "Action is not authorized with current scopes; requires any of [admin:users]",
            ));
        }
        if in_url_refused && presented.is_none() {
            tracing::warn!(%path, "admin API: refused a token in the URL (?token=); send it in the Authorization header, or set hub.api_token_in_url = true");
        } else if configured.is_none() {
            tracing::warn!(%path, "admin API: refused, because no hub.api_token is configured (the admin API is off)");
        } else {
            tracing::warn!(%path, token_given = presented.is_some(), "admin API: refused a request without the admin token");
        }
        Err(JsonError::new(
            StatusCode::FORBIDDEN,
            "Missing or invalid credentials.",
        ))
    }
}
