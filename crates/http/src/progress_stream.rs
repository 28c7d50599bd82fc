//! Spawn progress as Server-Sent Events, JupyterHub's format on the wire
//! (`data: {"progress": 50, "message": "…", "ready": false}`).

use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use lticontainer_hub::progress::ProgressEvent;

/// Server-Sent-Events from a stream of progress events, with keep-alive comments and the
/// headers that keep reverse proxies (nginx) from buffering the stream.
pub(crate) fn sse<S>(events: S) -> axum::response::Response
where
    S: Stream<Item = ProgressEvent> + Send + 'static,
{
    use axum::response::IntoResponse;
    unbuffered(sse_stream(events).into_response())
}

/// An event-stream response with the headers that keep reverse proxies (nginx) and caches from
/// holding it back.
pub(crate) fn unbuffered(mut resp: axum::response::Response) -> axum::response::Response {
    let headers = resp.headers_mut();
    headers.insert(
        "x-accel-buffering",
        axum::http::HeaderValue::from_static("no"),
    );
    headers.insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-cache"),
    );
    resp
}

fn sse_stream<S>(events: S) -> Sse<impl Stream<Item = Result<Event, Infallible>>>
where
    S: Stream<Item = ProgressEvent> + Send + 'static,
{
    use futures_util::StreamExt;
    let stream = events.map(|ev| {
        let data = serde_json::to_string(&ev).unwrap_or_else(|_| {
            r#"{"progress":100,"failed":true,"message":"internal error"}"#.to_owned()
        });
        Ok(Event::default().data(data))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
