//! Direct libpod REST calls for what podman-api 0.11 gets wrong.
//!
//! * podman-api's `ContainerStopOpts::timeout` sends the query parameter as `Timeout`, which
//!   Podman 4.3 ignores, so every stop waited Podman's default 10 s instead of the grace period
//!   asked for. [`stop`] sends `timeout`.
//! * podman-api's `Container::inspect` always asks for `size=true`, which makes Podman walk the
//!   container's whole file system to sum its size — seconds for a large Jupyter image, on every
//!   inspect and on every container a `list` describes. [`inspect_container`] leaves it out.
//! * podman-api's `Podman::events` borrows the client for the stream's life and sends the request
//!   only when the stream is first polled. [`events`] owns its connection and returns once
//!   Podman has answered the request (status and headers), so failures show at the call.
//!
//! Each request goes over a fresh connection to the unix socket (like podman-api, which keeps no
//! idle pool), so concurrent calls never queue behind each other.

use std::path::Path;

use futures_util::Stream;
use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use podman_api::models::InspectContainerData;
use tokio::net::UnixStream;
use tokio::task::JoinHandle;

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

/// One line of libpod's event stream: the fields the backend reads.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct RawEvent {
    /// The object type, e.g. `container`.
    #[serde(rename = "Type", default)]
    pub(crate) typ: String,
    /// What happened, e.g. `died`.
    #[serde(rename = "Action", default)]
    pub(crate) action: String,
    /// The object.
    #[serde(rename = "Actor", default)]
    pub(crate) actor: RawActor,
}

/// The object of a [`RawEvent`].
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct RawActor {
    /// The full id.
    #[serde(rename = "ID", default)]
    pub(crate) id: String,
}

/// Streams the engine's events matching `filters` (libpod's JSON filter map) since `since` (a
/// Unix time); returns once Podman has answered the request. Lines that are not an event are
/// skipped; the stream ends with the connection.
pub(crate) async fn events(
    socket: &Path,
    filters: &str,
    since: &str,
) -> Result<impl Stream<Item = Result<RawEvent, RestError>> + Send + 'static, RestError> {
    let path = format!(
        "/{API_VERSION}/libpod/events?stream=true&since={}&filters={}",
        encode_segment(since),
        encode_segment(filters)
    );
    let (response, driver) = request(socket, Method::GET, &path).await?;
    let status = response.status();
    if !status.is_success() {
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(RestError::Http)?
            .to_bytes();
        return Err(RestError::Status {
            status: status.as_u16(),
            message: error_message(status, &body),
        });
    }
    let lines = EventLines {
        body: response.into_body(),
        pending: Vec::new(),
        _driver: AbortOnDrop(driver),
    };
    Ok(futures_util::stream::unfold(
        lines,
        |mut lines| async move { lines.next_event().await.map(|item| (item, lines)) },
    ))
}

/// The body of an event stream, cut into lines.
struct EventLines {
    body: Incoming,
    pending: Vec<u8>,
    /// The connection's task; ends with the stream.
    _driver: AbortOnDrop,
}

impl EventLines {
    /// The next event; `None` once the body ends.
    async fn next_event(&mut self) -> Option<Result<RawEvent, RestError>> {
        loop {
            while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                if let Some(event) = parse_event_line(&line) {
                    return Some(Ok(event));
                }
            }
            match self.body.frame().await? {
                Ok(frame) => {
                    if let Ok(data) = frame.into_data() {
                        self.pending.extend_from_slice(&data);
                    }
                }
                Err(e) => return Some(Err(RestError::Http(e))),
            }
        }
    }
}

/// One line of the event stream as an event; blank lines and other JSON are skipped.
fn parse_event_line(line: &[u8]) -> Option<RawEvent> {
    let line = line.trim_ascii();
    if line.is_empty() {
        return None;
    }
    match serde_json::from_slice(line) {
        Ok(event) => Some(event),
        Err(e) => {
            tracing::debug!(error = %e, line = %String::from_utf8_lossy(line), "skipping an event line");
            None
        }
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Sends one body-less request over a fresh connection and returns the response (headers read,
/// body not) and the task driving the connection, which the caller aborts when done.
async fn request(
    socket: &Path,
    method: Method,
    path: &str,
) -> Result<(hyper::Response<Incoming>, JoinHandle<()>), RestError> {
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
        .body(Empty::<Bytes>::new());
    let request = match request {
        Ok(r) => r,
        Err(e) => {
            driver.abort();
            return Err(RestError::Request(e));
        }
    };
    match sender.send_request(request).await {
        Ok(response) => Ok((response, driver)),
        Err(e) => {
            driver.abort();
            Err(RestError::Http(e))
        }
    }
}

/// Sends one body-less request, checks the status and returns the reply's body.
async fn send(socket: &Path, method: Method, path: &str) -> Result<Bytes, RestError> {
    let (response, driver) = request(socket, method, path).await?;
    let _driver = AbortOnDrop(driver);
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
    fn event_lines_are_parsed_and_other_lines_skipped() {
        let line = br#"{"status":"died","id":"07ec","Type":"container","Action":"died","Actor":{"ID":"07ec","Attributes":{"containerExitCode":"137"}},"scope":"local","time":1,"timeNano":1}
"#;
        let ev = parse_event_line(line).expect("an event");
        assert_eq!(
            (ev.typ.as_str(), ev.action.as_str(), ev.actor.id.as_str()),
            ("container", "died", "07ec")
        );
        assert!(parse_event_line(b"  \n").is_none());
        assert!(parse_event_line(b"not json\n").is_none());
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
