//! [`AdminCaller`]: the extractor that lets only the admin service's token through.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;

use super::super::error::ApiError;
use super::super::identity::request_token;
use crate::state::AppState;

/// Who called: the admin service, identified by `[hub] api_token`.
#[derive(Debug, Clone, Copy)]
pub(super) struct AdminCaller;

impl AdminCaller {
    /// The caller's name in the admin log, as JupyterHub names the service.
    pub(super) const NAME: &'static str = "admin-service";
}

impl FromRequestParts<AppState> for AdminCaller {
    type Rejection = ApiError;

    /// Accepts `Authorization: token <t>` / `Bearer <t>` (or `?token=`) when `t` is the
    /// configured admin token. Anything else is JupyterHub's 403: "Missing or invalid
    /// credentials." for no or an unknown token (also when no admin token is configured), and
    /// the missing-scope message for a valid user or server token.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let presented = request_token(&parts.headers, parts.uri.query());
        if let (Some(admin), Some(token)) = (&state.config.api_token, &presented) {
            if admin.matches(token) {
                return Ok(Self);
            }
        }
        let path = parts.uri.path().to_owned();
        if presented.is_some()
            && state
                .hubapi
                .caller(&parts.headers, parts.uri.query())
                .await?
                .is_some()
        {
            tracing::warn!(%path, "admin API: a user or server token was refused (it lacks the admin scopes)");
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "Action is not authorized with current scopes; requires any of [admin:users]",
            ));
        }
        if state.config.api_token.is_none() {
            tracing::warn!(%path, "admin API: refused, because no hub.api_token is configured (the admin API is off)");
        } else {
            tracing::warn!(%path, token_given = presented.is_some(), "admin API: refused a request without the admin token");
        }
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Missing or invalid credentials.",
        ))
    }
}
