//! [`PageError`]: every way a hub page (HTML, for a person) can fail, shown to the browser as a
//! clear page that hides internals, and logged for the admin with the cause. The JSON API has
//! its own error type, `hubapi`'s `JsonError`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lticontainer_core::auth::LaunchError;
use lticontainer_core::lti13::Lti13Error;
use lticontainer_hub::accounts::AccountConflict;

use crate::log_limit::{Admit, LogLimit};
use crate::pages;

/// How many refused launches are logged per [`LAUNCH_REFUSAL_WINDOW`] at most.
const LAUNCH_REFUSAL_LINES: u32 = 20;

/// The window of [`LAUNCH_REFUSAL_LINES`].
const LAUNCH_REFUSAL_WINDOW: std::time::Duration = std::time::Duration::from_secs(10);

/// Anyone can send a launch: refused launches and unreadable requests are logged within one
/// budget, the rest counted (and said in the next launch refusal that is logged).
static LAUNCH_REFUSALS: LogLimit = LogLimit::new(LAUNCH_REFUSAL_LINES, LAUNCH_REFUSAL_WINDOW);

/// A failed hub request. The admin's details go to the log; the browser gets a page.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum PageError {
    /// The LTI launch was refused; the status and the student's text come from the error.
    #[error("launch refused: {0}")]
    Launch(#[from] LaunchError),
    /// The LTI 1.3 login or launch was refused; the status and the student's text come from
    /// the error.
    #[error("LTI 1.3 launch refused: {0}")]
    Lti13(#[from] Lti13Error),
    /// No valid hub session.
    #[error("no hub session")]
    NotSignedIn,
    /// A signed-in user asked for something that belongs to another user.
    #[error("user {user:?} may not access {target:?}")]
    Forbidden {
        /// Who asked.
        user: String,
        /// Whose resource it was.
        target: String,
    },
    /// The store or another part of the hub failed; the cause is for the admin only.
    #[error("{what}: {source}")]
    Internal {
        /// What the hub was doing.
        what: &'static str,
        /// Why it failed.
        #[source]
        source: lticontainer_core::Error,
    },
    /// A form was posted without this session's form token: from a page elsewhere (cross-site
    /// request forgery), or from a page of an older session.
    #[error("form without a valid token from {user:?}")]
    StaleForm {
        /// The signed-in user the browser's cookie names.
        user: String,
        /// Whether a (wrong) token was sent at all.
        token_given: bool,
    },
    /// A signed-in user who is not a teacher of the activity asked for its dashboard.
    #[error("user {user:?} is not a teacher of activity {activity}")]
    NotTeacher {
        /// Who asked.
        user: String,
        /// The activity (`lms_sessioninfo`'s LTI id, or the grades' `resource_link_id`) they asked for.
        activity: String,
    },
    /// The request itself is unusable.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A verified launch named a hub account that belongs to another LMS user.
    #[error(transparent)]
    AccountConflict(#[from] AccountConflict),
}

impl PageError {
    /// An internal failure while doing `what`.
    pub(crate) fn internal(what: &'static str, source: lticontainer_core::Error) -> Self {
        Self::Internal { what, source }
    }

    /// The HTTP status of the page.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::Launch(e) => StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
            Self::Lti13(e) => StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
            Self::NotSignedIn => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } | Self::NotTeacher { .. } => StatusCode::FORBIDDEN,
            Self::Internal { source, .. } => match source {
                lticontainer_core::Error::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::StaleForm { .. } => StatusCode::FORBIDDEN,
            Self::AccountConflict(_) => StatusCode::FORBIDDEN,
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            Self::Launch(e) => {
                log_refusal(status, e, "LTI launch refused");
                pages::message(status, "The launch was refused", e.student_message())
            }
            Self::Lti13(e) => {
                log_refusal(status, e, "LTI 1.3 launch refused");
                pages::message(status, "The launch was refused", e.student_message())
            }
            Self::NotSignedIn => pages::launch_from_course(),
            Self::Forbidden { user, target } => {
                tracing::info!(%user, %target, "refused access to another user's resource");
                pages::forbidden(user)
            }
            Self::NotTeacher { user, activity } => {
                tracing::info!(%user, %activity, "refused a teachers' page (dashboard, grades) to a user who is not a teacher of the activity");
                pages::message(
                    status,
                    "For the course's teachers only",
                    "This page shows a class's work (its dashboard, its grades) to the teachers \
                     of its activity. Your launches from Moodle did not make you a teacher of \
                     this activity. If you teach it, open the activity in Moodle again, then \
                     this page's link.",
                )
            }
            Self::Internal { what, source } => {
                tracing::error!(error = %source, cause = ?std::error::Error::source(source), "{what} failed");
                pages::message(
                    status,
                    "The hub has a problem",
                    "Something went wrong on the hub. Please try again in a minute; if it keeps \
                     happening, tell your teacher or the administrator (the hub's log has the details).",
                )
            }
            Self::AccountConflict(conflict) => {
                tracing::error!(cause = %conflict, "LTI launch refused: the hub account belongs to someone else");
                pages::message(
                    status,
                    "This account belongs to someone else",
                    "The hub already has an account with your user name, and it belongs to another person \
                     of your course site (or of another site). You were not let in, so nobody's work is \
                     at risk. Please tell your teacher; the hub's administrator has the details.",
                )
            }
            Self::StaleForm { user, token_given } => {
                tracing::warn!(%user, token_given, "refused a form without this session's token (sent from another page or site, or from before a new launch)");
                pages::stale_form()
            }
            Self::BadRequest(why) => {
                if let Admit::Log { .. } = LAUNCH_REFUSALS.admit() {
                    tracing::info!(reason = %why, "bad request");
                }
                pages::message(status, "Bad request", why)
            }
        }
    }
}

/// Logs a refused launch with its cause, within the launch refusals' budget.
fn log_refusal(status: StatusCode, cause: &dyn std::fmt::Display, what: &'static str) {
    if let Admit::Log { suppressed } = LAUNCH_REFUSALS.admit() {
        if suppressed > 0 {
            tracing::warn!(
                suppressed,
                "{suppressed} more refused launches were not logged (at most {} lines per {} s)",
                LAUNCH_REFUSAL_LINES,
                LAUNCH_REFUSAL_WINDOW.as_secs()
            );
        }
        tracing::warn!(status = status.as_u16(), cause = %cause, "{what}");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn internal_errors_hide_their_cause() {
        let e = PageError::internal(
            "recording the user",
            lticontainer_core::Error::unavailable("sqlite", "/var/lib/secret-path/db is read-only"),
        );
        let resp = e.into_response();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(!body.contains("secret-path"), "{body}");
        assert!(body.contains("try again"));
    }
}
