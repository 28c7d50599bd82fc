//! [`Session`]: the signed-in hub user as an axum extractor.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::error::ApiError;
use crate::state::AppState;

/// The hub user named by a valid session cookie. Extracting it fails with
/// [`ApiError::NotSignedIn`] (the "start from your course" page) when there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The signed-in user.
    pub user: String,
}

impl FromRequestParts<AppState> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        state
            .session_user(&parts.headers)
            .map(|user| Self { user })
            .ok_or(ApiError::NotSignedIn)
    }
}

impl Session {
    /// Succeeds when the user may act on `target`'s server: they are its owner or an admin.
    ///
    /// # Errors
    /// [`ApiError::Forbidden`] for anyone else.
    pub fn may_use(&self, state: &AppState, target: &str) -> Result<(), ApiError> {
        if self.user == target || state.config.is_admin(&self.user) {
            Ok(())
        } else {
            Err(ApiError::Forbidden {
                user: self.user.clone(),
                target: target.to_owned(),
            })
        }
    }
}
