//! The dashboard's page and its two assets (script, style), served by the hub itself: no
//! external CDN, no inline script or style, so the page runs under a strict
//! `Content-Security-Policy` inside Moodle's iframe.

use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

use lticontainer_core::store::TaughtActivity;

use crate::pages::{self, escape};

/// The script, `GET /hub/static/dashboard.js`.
const SCRIPT: &str = include_str!("dashboard.js");

/// The style, `GET /hub/static/dashboard.css`.
const STYLE: &str = include_str!("dashboard.css");

/// The page's policy: only the hub's own script, style and event stream. The frame layer adds
/// `frame-ancestors`.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                      img-src 'self'; base-uri 'none'; form-action 'none'";

/// The dashboard of activity `lti_id` for `teacher`; the script fills it from the event stream.
pub(crate) fn page(teacher: &str, lti_id: u64) -> Response {
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>Class dashboard</title><link rel=\"stylesheet\" href=\"/hub/static/dashboard.css\">\
         </head><body><main id=\"dash\" data-events=\"/hub/dashboard/{lti_id}/events\">\
         <h1>Class dashboard <span id=\"status\">Connecting…</span></h1>\
         <p>Activity {lti_id}, seen by {teacher}. Each cell your students run appears here as it \
         ends: ✔ ok, ✖ error.</p><p id=\"empty\">No student has run a cell yet.</p>\
         <h2>Students and exercise cells</h2><table id=\"grid\"></table>\
         <h2>Progress through the session</h2><div id=\"progress\"></div>\
         <h2>Live feed</h2><ol id=\"feed\"></ol></main>\
         <script src=\"/hub/static/dashboard.js\"></script></body></html>",
        teacher = escape(teacher),
    );
    (
        StatusCode::OK,
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CACHE_CONTROL, "no-store"),
            (CONTENT_SECURITY_POLICY, POLICY),
        ],
        body,
    )
        .into_response()
}

/// The index of `teacher`'s dashboards: one link per activity they teach (`#activities`).
pub(crate) fn index(teacher: &str, activities: &[TaughtActivity]) -> Response {
    let items: String = activities
        .iter()
        .map(|a| {
            format!(
                "<li><a href=\"/hub/dashboard/{id}\">{}</a> (activity {id})</li>",
                escape(&a.title),
                id = a.session.lti_id,
            )
        })
        .collect();
    pages::html(
        StatusCode::OK,
        "Class dashboards",
        &format!(
            "<p>Signed in as <b>{}</b>. You teach these activities; each dashboard shows the \
             cells your students run there, live.</p><ul id=\"activities\">{items}</ul>",
            escape(teacher)
        ),
    )
}

/// `GET /hub/static/dashboard.js`.
pub(crate) async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

/// `GET /hub/static/dashboard.css`.
pub(crate) async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

fn asset(kind: &'static str, text: &'static str) -> Response {
    (
        StatusCode::OK,
        [(CONTENT_TYPE, kind), (CACHE_CONTROL, "public, max-age=300")],
        text,
    )
        .into_response()
}
