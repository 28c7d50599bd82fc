//! Request body limits: how large a body each endpoint takes and how long a client may take to
//! send it, checked before any handler reads a byte.
//!
//! | path | body | declared too large | too slow |
//! |---|---|---|---|
//! | `/hub/lti/launch`, `/hub/lti13/launch` | read here, at most [`MAX_LAUNCH_BODY`] | `413` before reading | `408` after `[hub] body_timeout_secs` in total |
//! | `/user/…` (the proxy) | streamed to the user's server, at most `[hub] max_proxy_body_bytes` | `413` before reading | cut after `[hub] proxy_body_idle_secs` without a byte |
//! | anything else (hub API, admin API, pages) | read here, at most [`MAX_HUB_BODY`] | `413` before reading | `408` after `[hub] body_timeout_secs` in total |
//!
//! The hub's own endpoints get their body read here, whole, within one deadline, so a client that
//! stops half way holds its connection for `body_timeout_secs` at most and pins at most the
//! endpoint's limit; the handler then reads a complete body. Proxied bodies (notebook saves,
//! uploads) can be large and slow on a poor link, so they have no total deadline: only a pause
//! longer than the idle time cuts them. A `Content-Length` above the limit is refused before the
//! body is read (no `100 Continue` is sent), so a client cannot make the hub wait for gigabytes
//! it declared. Errors are pages, or JupyterHub's JSON under the hub API, and close the
//! connection (`Connection: close`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use lticontainer_hub::HubConfig;
use tokio::time::{Instant, Sleep};

use crate::pages;

/// The largest launch body accepted (Moodle's launches are a few kilobytes).
pub(crate) const MAX_LAUNCH_BODY: usize = 256 * 1024;

/// The largest body of any other hub endpoint: the hub API's token and activity requests and the
/// admin API are small JSON or form bodies (well under a kilobyte).
pub(crate) const MAX_HUB_BODY: usize = 64 * 1024;

/// What the gate allows, from the `[hub]` settings.
#[derive(Debug, Clone)]
pub(crate) struct BodyLimits {
    /// Total time for a body the hub reads itself.
    body_timeout: Duration,
    /// Longest pause in a proxied body.
    proxy_idle: Duration,
    /// Largest proxied body.
    max_proxy_body: u64,
    /// The hub API's path prefix (`/hub/api`): errors there are JSON.
    api_prefix: String,
}

impl BodyLimits {
    /// The limits `hub` sets, with JSON errors under `api_prefix`.
    pub(crate) fn new(hub: &HubConfig, api_prefix: String) -> Self {
        Self {
            body_timeout: hub.body_timeout(),
            proxy_idle: hub.proxy_body_idle(),
            max_proxy_body: hub.max_proxy_body_bytes,
            api_prefix,
        }
    }

    fn policy(&self, path: &str) -> Policy {
        if path == "/hub/lti/launch" || path == "/hub/lti13/launch" {
            Policy::Read {
                limit: MAX_LAUNCH_BODY,
                json: false,
            }
        } else if path.starts_with("/user/") {
            Policy::Stream
        } else {
            Policy::Read {
                limit: MAX_HUB_BODY,
                json: path.starts_with(&self.api_prefix),
            }
        }
    }
}

/// How one request's body is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    /// Read whole here, within the body deadline, at most `limit` bytes.
    Read { limit: usize, json: bool },
    /// Streamed on (the proxy), with an idle timeout and the proxy's limit.
    Stream,
}

/// Why a body was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BodyError {
    /// The body is (or declares to be) larger than the endpoint takes.
    #[error("the request body is larger than this endpoint accepts")]
    TooLarge,
    /// The body did not arrive in time.
    #[error("the request body did not arrive in time")]
    Timeout,
}

/// The middleware applying [`BodyLimits`] to every request of the hub's router.
pub(crate) async fn body_gate(
    State(limits): State<Arc<BodyLimits>>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    let policy = limits.policy(path);
    let declared = declared_length(req.headers());
    match policy {
        Policy::Read { limit, json } => {
            if declared.is_some_and(|n| n > limit as u64) {
                tracing::debug!(path, ?declared, limit, "declared body too large; 413");
                return refusal(BodyError::TooLarge, json);
            }
            let (parts, body) = req.into_parts();
            match read_body(body, limit, declared, limits.body_timeout).await {
                Ok(bytes) => {
                    next.run(Request::from_parts(parts, Body::from(bytes)))
                        .await
                }
                Err(ReadError::Refused(e)) => {
                    tracing::debug!(path = parts.uri.path(), error = %e, "request body refused");
                    refusal(e, json)
                }
                Err(ReadError::Broken(e)) => {
                    tracing::debug!(path = parts.uri.path(), error = %e, "request body broken");
                    broken(json)
                }
            }
        }
        Policy::Stream => {
            if declared.is_some_and(|n| n > limits.max_proxy_body) {
                tracing::info!(
                    path,
                    ?declared,
                    limit = limits.max_proxy_body,
                    "proxied body declared larger than hub.max_proxy_body_bytes; 413"
                );
                return refusal(BodyError::TooLarge, false);
            }
            let (parts, body) = req.into_parts();
            let body = IdleBody::new(body, limits.proxy_idle, limits.max_proxy_body);
            next.run(Request::from_parts(parts, Body::new(body))).await
        }
    }
}

/// The `Content-Length` the client declared, when it sent a valid one.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Why [`read_body`] gave up.
#[derive(Debug)]
enum ReadError {
    /// Too large or too slow.
    Refused(BodyError),
    /// The connection broke or the framing was invalid.
    Broken(axum::Error),
}

/// How much room is reserved before any byte arrives: a stalled client holds no more than it sent.
const INITIAL_CAPACITY: usize = 16 * 1024;

/// Reads `body` whole within `deadline`, refusing more than `limit` bytes. The bytes are copied
/// into one buffer as they come (hyper's read buffers are not kept alive by small pieces).
async fn read_body(
    mut body: Body,
    limit: usize,
    declared: Option<u64>,
    deadline: Duration,
) -> Result<Bytes, ReadError> {
    if body.is_end_stream() {
        return Ok(Bytes::new());
    }
    let capacity = declared.map_or(0, |n| usize::try_from(n).unwrap_or(limit));
    let mut buf: Vec<u8> = Vec::with_capacity(capacity.min(limit).min(INITIAL_CAPACITY));
    let read = async {
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(ReadError::Broken)?;
            if let Ok(data) = frame.into_data() {
                if buf.len() + data.len() > limit {
                    return Err(ReadError::Refused(BodyError::TooLarge));
                }
                buf.extend_from_slice(&data);
            }
        }
        Ok(())
    };
    match tokio::time::timeout(deadline, read).await {
        Ok(Ok(())) => Ok(Bytes::from(buf)),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(ReadError::Refused(BodyError::Timeout)),
    }
}

/// The answer to a refused body: 413 or 408, a page or (under the hub API) JupyterHub's JSON, and
/// the connection closed.
fn refusal(e: BodyError, json: bool) -> Response {
    let (status, title, text) = match e {
        BodyError::TooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request too large",
            "The request is larger than the hub accepts here. Go back to your course and click \
             the activity again.",
        ),
        BodyError::Timeout => (
            StatusCode::REQUEST_TIMEOUT,
            "Request timed out",
            "The request did not arrive in time. Go back to your course and click the activity \
             again.",
        ),
    };
    closing(error_response(status, title, text, json))
}

/// The answer to a body whose connection broke (what is left of the client may not read it).
fn broken(json: bool) -> Response {
    closing(error_response(
        StatusCode::BAD_REQUEST,
        "Bad request",
        "The request could not be read. Go back to your course and click the activity again.",
        json,
    ))
}

fn error_response(status: StatusCode, title: &str, text: &str, json: bool) -> Response {
    if json {
        let body = serde_json::json!({
            "status": status.as_u16(),
            "message": status.canonical_reason().unwrap_or(title),
        });
        (
            status,
            [(CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    } else {
        pages::message(status, title, text)
    }
}

fn closing(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// A proxied request body that fails when it pauses longer than `idle` while its reader waits,
/// or when it grows past `limit` bytes. There is no total deadline.
pub(crate) struct IdleBody {
    inner: Body,
    idle: Duration,
    /// Armed when the reader starts waiting; reset by every frame.
    timer: Pin<Box<Sleep>>,
    waiting: bool,
    left: u64,
}

impl std::fmt::Debug for IdleBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdleBody")
            .field("idle", &self.idle)
            .field("left", &self.left)
            .finish_non_exhaustive()
    }
}

impl IdleBody {
    /// `inner`, cut after a pause of `idle` or past `limit` bytes.
    pub(crate) fn new(inner: Body, idle: Duration, limit: u64) -> Self {
        Self {
            inner,
            idle,
            timer: Box::pin(tokio::time::sleep(idle)),
            waiting: false,
            left: limit,
        }
    }
}

impl HttpBody for IdleBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.waiting = false;
                if let Some(data) = frame.data_ref() {
                    let len = data.len() as u64;
                    if len > this.left {
                        return Poll::Ready(Some(Err(axum::Error::new(BodyError::TooLarge))));
                    }
                    this.left -= len;
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(other) => Poll::Ready(other),
            Poll::Pending => {
                if !this.waiting {
                    this.waiting = true;
                    let deadline = Instant::now() + this.idle;
                    this.timer.as_mut().reset(deadline);
                }
                match this.timer.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        tracing::debug!(idle = ?this.idle, "proxied request body paused too long; cut");
                        Poll::Ready(Some(Err(axum::Error::new(BodyError::Timeout))))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::convert::Infallible;

    use futures_util::StreamExt;

    use super::*;

    fn limits() -> BodyLimits {
        BodyLimits::new(&HubConfig::default(), "/hub/api".into())
    }

    /// A body that sends `first` and then never another byte.
    fn stalled(first: &'static [u8]) -> Body {
        let head = futures_util::stream::iter([Ok::<_, Infallible>(Bytes::from_static(first))]);
        Body::from_stream(head.chain(futures_util::stream::pending()))
    }

    #[test]
    fn each_path_has_its_policy() {
        let l = limits();
        assert_eq!(
            l.policy("/hub/lti/launch"),
            Policy::Read {
                limit: MAX_LAUNCH_BODY,
                json: false
            }
        );
        assert_eq!(l.policy("/hub/lti13/launch"), l.policy("/hub/lti/launch"));
        assert_eq!(l.policy("/user/alice/api/contents/a.ipynb"), Policy::Stream);
        assert_eq!(
            l.policy("/hub/api/oauth2/token"),
            Policy::Read {
                limit: MAX_HUB_BODY,
                json: true
            }
        );
        assert_eq!(
            l.policy("/hub/spawn/alice"),
            Policy::Read {
                limit: MAX_HUB_BODY,
                json: false
            }
        );
        // `/user` without a slash is no proxy path (it is the 404 page).
        assert!(matches!(l.policy("/user"), Policy::Read { .. }));
    }

    #[tokio::test]
    async fn a_whole_body_is_read() {
        let got = read_body(Body::from("a=1&b=2"), 16, Some(7), Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(&got[..], b"a=1&b=2");
        let empty = read_body(Body::empty(), 16, None, Duration::from_secs(1))
            .await
            .unwrap();
        assert!(empty.is_empty());
    }

    #[tokio::test]
    async fn a_body_past_its_limit_is_refused_without_a_declared_length() {
        let err = read_body(Body::from(vec![b'x'; 17]), 16, None, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(matches!(err, ReadError::Refused(BodyError::TooLarge)));
    }

    #[tokio::test]
    async fn a_stalled_body_times_out_at_its_deadline() {
        let start = Instant::now();
        let err = read_body(stalled(b"a=1"), 1024, Some(100), Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(matches!(err, ReadError::Refused(BodyError::Timeout)));
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_secs(3),
            "{took:?}"
        );
    }

    #[tokio::test]
    async fn a_proxied_body_is_cut_after_a_pause_not_after_a_total_time() {
        // A slow but steady body: a piece every 100 ms for 600 ms, with a 300 ms idle limit.
        let steady = futures_util::stream::iter(0..6).then(|i| async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Ok::<_, Infallible>(Bytes::from(format!("{i};")))
        });
        let body = IdleBody::new(
            Body::from_stream(steady),
            Duration::from_millis(300),
            1 << 20,
        );
        let got = Body::new(body).collect().await.unwrap().to_bytes();
        assert_eq!(&got[..], b"0;1;2;3;4;5;");

        let start = Instant::now();
        let body = IdleBody::new(stalled(b"start"), Duration::from_millis(300), 1 << 20);
        let err = Body::new(body).collect().await.unwrap_err();
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_secs(3),
            "{took:?}"
        );
        assert!(err.to_string().contains("did not arrive in time"), "{err}");
    }

    #[tokio::test]
    async fn a_proxied_body_past_the_limit_is_cut() {
        let body = IdleBody::new(Body::from(vec![b'x'; 100]), Duration::from_secs(60), 99);
        let err = Body::new(body).collect().await.unwrap_err();
        assert!(err.to_string().contains("larger"), "{err}");
    }

    #[test]
    fn refusals_close_the_connection_and_speak_json_under_the_api() {
        let page = refusal(BodyError::TooLarge, false);
        assert_eq!(page.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(page.headers()[CONNECTION], "close");
        assert!(
            page.headers()[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let json = refusal(BodyError::Timeout, true);
        assert_eq!(json.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(json.headers()[CONTENT_TYPE], "application/json");
    }
}
