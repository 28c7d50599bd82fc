//! The hub's notices inside JupyterLab: the student sees, while working, that their server
//! reaches its activity limit soon (as the original warned at 90 % inside JupyterLab), that its
//! memory runs short (`hub.memory_warn_percent`), that a program in it was killed for lack of
//! memory, and that it was stopped and why.
//!
//! **How.** The proxy adds one `<script src="/hub/lab-notice.js">` to the HTML pages of
//! JupyterLab and Notebook it serves (`/user/<name>/lab…`, `tree`, `notebooks`, `edit`, `doc`,
//! `consoles`, `terminals`; never the student's own files under `files/` or `view/`), before
//! `</head>`. The script polls `GET /hub/notice/<name>` (the hub session's cookie; the owner or
//! an admin) and shows the notices in a bar on top of the page. This works with any stock
//! JupyterLab 4 or Notebook 7 image (no extension in the image, no rebuild), and the words
//! come from the hub that enforces the limit. Only a page the server sends whole with a
//! `Content-Length` up to [`MAX_PAGE_BYTES`] is changed; its compression is turned off on the
//! way up (`Accept-Encoding` removed) so the hub can read it, and its `ETag` is dropped.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use lticontainer_hub::spawner::{SlotState, Spawner};
use serde_json::{Value, json};

use crate::error::PageError;
use crate::extract::Session;
use crate::pages;

/// The largest page the proxy reads to add the script (JupyterLab's is a few KiB).
pub(crate) const MAX_PAGE_BYTES: usize = 1024 * 1024;

/// How often a running server's page asks again while memory is watched: memory can fill up
/// in seconds, so sooner than the time limit's once a minute.
const MEMORY_POLL_SECS: u64 = 15;

/// The script, served at `/hub/lab-notice.js`.
const SCRIPT: &str = include_str!("../assets/lab-notice.js");

/// The first path segments (after `/user/<name>/`) of JupyterLab's and Notebook's pages.
const PAGES: [&str; 8] = [
    "lab",
    "tree",
    "notebooks",
    "edit",
    "doc",
    "consoles",
    "terminals",
    "voila",
];

/// Whether `req` (under `/user/<owner>/`) asks for a page of JupyterLab or Notebook that gets
/// the notice script: a browser's `GET` of an HTML page.
pub(crate) fn is_page_request(req: &Request, owner: &str) -> bool {
    if req.method() != Method::GET {
        return false;
    }
    let rest = req
        .uri()
        .path()
        .strip_prefix("/user/")
        .and_then(|p| p.strip_prefix(owner))
        .and_then(|p| p.strip_prefix('/'))
        .unwrap_or_default();
    let first = rest.split('/').next().unwrap_or_default();
    let html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    html && PAGES.contains(&first)
}

/// Asks the server for the page uncompressed and whole (no `304`), so it can be changed.
pub(crate) fn prepare_request(headers: &mut HeaderMap) {
    headers.remove(header::ACCEPT_ENCODING);
    headers.remove(header::IF_NONE_MATCH);
    headers.remove(header::IF_MODIFIED_SINCE);
}

/// Adds the notice script for `owner` to the page `resp` when it is a whole HTML page of at most
/// [`MAX_PAGE_BYTES`] with a `</head>`; any other response passes unchanged.
pub(crate) async fn add_script(resp: Response, owner: &str) -> Response {
    let is_html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    let length = resp
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let plain = !resp.headers().contains_key(header::CONTENT_ENCODING);
    if resp.status() != StatusCode::OK
        || !is_html
        || !plain
        || length.is_none_or(|l| l > MAX_PAGE_BYTES)
    {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let page = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            tracing::debug!(user = %owner, error = %e, "the page broke off while the proxy read it");
            return (
                StatusCode::BAD_GATEWAY,
                "The server's page broke off; reload it.",
            )
                .into_response();
        }
    };
    let Some(at) = find_ascii_ci(&page, b"</head>") else {
        return Response::from_parts(parts, Body::from(page));
    };
    let tag = format!(
        "<script src=\"/hub/lab-notice.js\" data-user=\"{}\" defer></script>",
        pages::escape(owner)
    );
    let mut out = Vec::with_capacity(page.len() + tag.len());
    out.extend_from_slice(&page[..at]);
    out.extend_from_slice(tag.as_bytes());
    out.extend_from_slice(&page[at..]);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::ETAG);
    Response::from_parts(parts, Body::from(out))
}

/// The first position of `needle` in `hay`, ASCII case ignored.
fn find_ascii_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// `GET /hub/lab-notice.js`: the script.
pub(crate) async fn script() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("max-age=300"),
            ),
        ],
        SCRIPT,
    )
        .into_response()
}

/// `GET /hub/notice/<name>`: what the bar in `name`'s JupyterLab says now, and when to ask
/// again: `{"notices": [<text>…], "next_poll_secs": <n>}` (no notice: an empty list).
pub(crate) async fn notice(
    State(spawner): State<Arc<Spawner>>,
    Path(name): Path<String>,
    session: Session,
) -> Result<Response, PageError> {
    session.may_use(&name)?;
    let mut notices = Vec::new();
    let mut next = if spawner.config().memory_warn_percent > 0 {
        MEMORY_POLL_SECS
    } else {
        60
    };
    match spawner.state(&name) {
        SlotState::Running(_) => {
            let memory = spawner.memory_notices(&name).await;
            notices.extend(memory.out_of_memory);
            if let Some(near_limit) = memory.near_limit {
                notices.push(near_limit);
                next = MEMORY_POLL_SECS;
            }
            if let Some(left) = spawner.time_left(&name) {
                if left.warn {
                    notices.push(pages::limit_warning(left));
                    next = next.min(left.secs + 2);
                } else {
                    next = next.min(left.warn_in_secs + 1);
                }
            }
        }
        SlotState::Idle { .. } => {
            if let Some(note) = spawner.stop_note(&name) {
                notices.push(note);
            }
        }
        SlotState::Spawning(_) => {}
    }
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(notice_body(&notices, next)),
    )
        .into_response())
}

fn notice_body(notices: &[String], next_poll_secs: u64) -> Value {
    json!({"notices": notices, "next_poll_secs": next_poll_secs.clamp(2, 60)})
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn page_request(path: &str, accept: &str) -> Request {
        Request::get(path)
            .header(header::ACCEPT, accept)
            .body(Body::empty())
            .unwrap()
    }

    #[test]
    fn only_jupyter_pages_get_the_script() {
        let html = "text/html,application/xhtml+xml;q=0.9";
        assert!(is_page_request(
            &page_request("/user/alice/lab", html),
            "alice"
        ));
        assert!(is_page_request(
            &page_request("/user/alice/lab/tree/a.ipynb", html),
            "alice"
        ));
        assert!(is_page_request(
            &page_request("/user/alice/tree/", html),
            "alice"
        ));
        assert!(!is_page_request(
            &page_request("/user/alice/files/page.html", html),
            "alice"
        ));
        assert!(!is_page_request(
            &page_request("/user/alice/view/page.html", html),
            "alice"
        ));
        assert!(!is_page_request(
            &page_request("/user/alice/lab/api/settings", "application/json"),
            "alice"
        ));
        assert!(!is_page_request(
            &page_request("/user/alicex/lab", html),
            "alice"
        ));
    }

    #[tokio::test]
    async fn the_script_goes_before_the_head_ends() {
        let page = "<html><HEAD><title>JupyterLab</title></HEAD><body></body></html>";
        let resp = Response::builder()
            .header(header::CONTENT_TYPE, "text/html; charset=UTF-8")
            .header(header::CONTENT_LENGTH, page.len())
            .header(header::ETAG, "\"abc\"")
            .body(Body::from(page))
            .unwrap();
        let resp = add_script(resp, "al<i>ce").await;
        assert!(resp.headers().get(header::ETAG).is_none());
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            "<html><HEAD><title>JupyterLab</title><script src=\"/hub/lab-notice.js\" \
             data-user=\"al&lt;i&gt;ce\" defer></script></HEAD><body></body></html>"
        );
    }

    #[tokio::test]
    async fn other_answers_pass_unchanged() {
        let page = "<html><head></head></html>";
        for (status, encoding, length) in [
            (StatusCode::NOT_FOUND, None, Some(page.len())),
            (StatusCode::OK, Some("gzip"), Some(page.len())),
            (StatusCode::OK, None, None),
        ] {
            let mut b = Response::builder()
                .status(status)
                .header(header::CONTENT_TYPE, "text/html");
            if let Some(e) = encoding {
                b = b.header(header::CONTENT_ENCODING, e);
            }
            if let Some(l) = length {
                b = b.header(header::CONTENT_LENGTH, l);
            }
            let resp = add_script(b.body(Body::from(page)).unwrap(), "alice").await;
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(
                &body[..],
                page.as_bytes(),
                "{status} {encoding:?} {length:?}"
            );
        }
    }
}
