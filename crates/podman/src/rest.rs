//! Direct libpod REST calls for what podman-api 0.11 gets wrong.
//!
//! * podman-api's `ContainerStopOpts::timeout` sends the query parameter as `Timeout`, which
//!   Podman 4.3 ignores, so every stop waited Podman's default 10 s instead of the grace period
//!   asked for. [`stop`] sends `timeout`.
//! * podman-api's `Container::inspect` always asks for `size=true`, which makes Podman walk the
//!   container's whole file system to sum its size — seconds for a large Jupyter image, on every
//!   inspect and on every container a `list` describes. [`inspect_container`] leaves it out.
//!
//! Each request goes over a fresh connection to the unix socket (like podman-api, which keeps no
//! idle pool), so concurrent calls never queue behind each other.

use std::path::Path;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use podman_api::models::InspectContainerData;
use tokio::net::UnixStream;

/// The libpod API version the paths are written for (the oldest Podman this backend supports
/// answers it; newer ones accept it too).
const API_VERSION: &str = "v4.0.0";

/// Why a direct request failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RestError {
    /// The socket could not be connected to.
    #[error("cannot connect to the socket")]
    Connect(#[source] std::io::Error),
    /// The HTTP exchange broke off.
    #[error("the HTTP exchange failed")]
    Http(#[source] hyper::Error),
    /// The request could not be built (a path with characters HTTP does not allow).
    #[error("the request could not be built")]
    Request(#[source] hyper::http::Error),
    /// The reply was not the JSON expected.
    #[error("the reply is not the expected JSON")]
    Decode(#[source] serde_json::Error),
    /// The engine answered with a failure status.
    #[error("HTTP {status}: {message}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// Podman's message and cause.
        message: String,
    },
}

/// Stops container `id`, killing it after `grace_secs`; a 304 (already stopped) is a
/// [`RestError::Status`] with status 304 for the caller to accept.
pub(crate) async fn stop(socket: &Path, id: &str, grace_secs: u64) -> Result<(), RestError> {
    let path = format!(
        "/{API_VERSION}/libpod/containers/{}/stop?timeout={grace_secs}",
        encode_segment(id)
    );
    send(socket, Method::POST, &path).await.map(drop)
}

/// Describes container `id` (by id or name), without the costly size computation.
pub(crate) async fn inspect_container(
    socket: &Path,
    id: &str,
) -> Result<InspectContainerData, RestError> {
    let path = format!(
        "/{API_VERSION}/libpod/containers/{}/json",
        encode_segment(id)
    );
    let body = send(socket, Method::GET, &path).await?;
    serde_json::from_slice(&body).map_err(RestError::Decode)
}

/// Sends one body-less request, checks the status and returns the reply's body.
async fn send(socket: &Path, method: Method, path: &str) -> Result<Bytes, RestError> {
    let stream = UnixStream::connect(socket)
        .await
        .map_err(RestError::Connect)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(RestError::Http)?;
    let driver = tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "libpod connection ended with an error");
        }
    });
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, "podman")
        .body(Empty::<Bytes>::new())
        .map_err(RestError::Request)?;
    let result = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(RestError::Http)?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(RestError::Http)?
            .to_bytes();
        if status.is_success() {
            return Ok(body);
        }
        Err(RestError::Status {
            status: status.as_u16(),
            message: error_message(status, &body),
        })
    }
    .await;
    driver.abort();
    result
}

/// Podman's `{"message": …, "cause": …}` error body as one line, or the raw body.
fn error_message(status: StatusCode, body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        #[serde(default)]
        message: String,
        #[serde(default)]
        cause: String,
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) if !e.message.is_empty() || !e.cause.is_empty() => {
            format!("{}: {}", e.message, e.cause)
        }
        _ if body.is_empty() => status.canonical_reason().unwrap_or("no reason").to_owned(),
        _ => String::from_utf8_lossy(body).trim().to_owned(),
    }
}

/// Percent-encodes a container id or name for one path segment.
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_encoded_for_the_path() {
        assert_eq!(
            encode_segment("lticontainer-alice_1.x"),
            "lticontainer-alice_1.x"
        );
        assert_eq!(encode_segment("a/b c?"), "a%2Fb%20c%3F");
    }

    #[test]
    fn podman_error_bodies_become_one_line() {
        let body = br#"{"cause":"no such container","message":"no container with name or ID \"x\" found: no such container","response":404}"#;
        let m = error_message(StatusCode::NOT_FOUND, body);
        assert!(m.ends_with(": no such container"), "{m}");
        assert_eq!(error_message(StatusCode::NOT_MODIFIED, b""), "Not Modified");
        assert_eq!(error_message(StatusCode::BAD_GATEWAY, b" oops "), "oops");
    }
}
