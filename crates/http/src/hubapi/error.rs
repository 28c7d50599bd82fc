//! [`JsonError`]: the hub API's errors, as JupyterHub's JSON replies
//! (`{"status": <code>, "message": <text>}`). HTML pages have their own, [`crate::PageError`].

use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};

/// A hub API error, written as JupyterHub's `APIHandler.write_error` writes it.
#[derive(Debug)]
pub(crate) struct JsonError {
    status: StatusCode,
    message: String,
}

impl JsonError {
    /// An error with `status` and `message`.
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// An error whose message is the status's reason phrase, as JupyterHub's bare `HTTPError(code)`.
    pub(crate) fn bare(status: StatusCode) -> Self {
        Self::new(status, status.canonical_reason().unwrap_or("Unknown Error"))
    }

    /// A store failure: logged with its cause for the admin, a plain 500 for the caller.
    pub(crate) fn internal(what: &str, err: &lticontainer_core::Error) -> Self {
        tracing::error!(error = %err, cause = ?std::error::Error::source(err), "hub API: {what} failed");
        Self::bare(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The HTTP status.
    #[cfg(test)]
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for JsonError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "status": self.status.as_u16(), "message": self.message });
        (
            self.status,
            [(CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    }
}

/// The reply to any path under the API that matches no endpoint (JupyterHub's `API404`).
pub(crate) async fn not_found() -> JsonError {
    JsonError::bare(StatusCode::NOT_FOUND)
}

/// The reply to a known endpoint called with the wrong method.
pub(crate) async fn method_not_allowed() -> JsonError {
    JsonError::bare(StatusCode::METHOD_NOT_ALLOWED)
}
