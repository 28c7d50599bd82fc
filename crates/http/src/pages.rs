//! The few HTML pages the hub shows: errors, "launch from your course", and the spawn progress page.
//!
//! Pages are small, self-contained (no external assets) and escape every value they show.

use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

pub(crate) use lticontainer_hub::html::escape;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em;\
color:#222}h1{font-size:1.4em}.bar{height:1em;background:#eee;border-radius:.5em;overflow:hidden}\
.bar>div{height:100%;width:0;background:#f37726;transition:width .3s}#log{color:#555;font-size:.9em}\
.failed{color:#a00}";

/// A complete HTML document with `title` and an already-escaped `body`.
pub(crate) fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width,initial-scale=1\"><title>{t}</title><style>{STYLE}</style>\
         </head><body><h1>{t}</h1>{body}</body></html>",
        t = escape(title)
    )
}

/// A page response with `status`, never cached.
pub(crate) fn html(status: StatusCode, title: &str, body: &str) -> Response {
    (
        status,
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CACHE_CONTROL, "no-store"),
        ],
        document(title, body),
    )
        .into_response()
}

/// A page with a title and one plain-text message (escaped here).
pub(crate) fn message(status: StatusCode, title: &str, text: &str) -> Response {
    html(status, title, &format!("<p>{}</p>", escape(text)))
}

/// The page for a visitor without a hub session.
pub(crate) fn launch_from_course() -> Response {
    message(
        StatusCode::UNAUTHORIZED,
        "Please start from your course",
        "You are not signed in to the Jupyter hub. Open the Jupyter activity in your course \
         (Moodle) again; it signs you in and starts your server.",
    )
}

/// The page for a signed-in user who asked for someone else's server.
pub(crate) fn forbidden(user: &str) -> Response {
    message(
        StatusCode::FORBIDDEN,
        "Not your server",
        &format!(
            "You are signed in as \"{user}\". This address belongs to another user's server, \
             which only its owner can open. Open the Jupyter activity in your course to reach your own server."
        ),
    )
}

/// The spawn progress page for `user`: follows the progress stream and moves on when ready.
///
/// `next` (a same-site path, already checked with [`safe_next`]) replaces the server's URL as the
/// destination, for launches that name one (`custom_next`, e.g. an nbgitpuller link).
pub(crate) fn spawn_pending(
    user: &str,
    progress_url: &str,
    start_url: Option<&str>,
    next: Option<&str>,
) -> Response {
    let start_form = start_url.map_or_else(String::new, |u| {
        format!(
            "<form id=\"start\" method=\"post\" action=\"{}\" hidden><button>Start my server</button></form>",
            escape(u)
        )
    });
    let body = format!(
        "<p id=\"msg\">Your Jupyter server is starting…</p><div class=\"bar\"><div id=\"bar\"></div></div>\
         <ul id=\"log\"></ul>{start_form}\
         <noscript>This page needs JavaScript to follow the start of your server.</noscript>\
         <script>{script}</script>",
        script = PENDING_SCRIPT
            .replace("__PROGRESS_URL__", &js_string(progress_url))
            .replace(
                "__NEXT__",
                &next.map_or_else(|| "null".to_owned(), js_string)
            ),
    );
    let mut resp = html(
        StatusCode::OK,
        &format!("Starting the server of {user}"),
        &body,
    );
    resp.headers_mut().insert(
        axum::http::header::REFERRER_POLICY,
        axum::http::HeaderValue::from_static("same-origin"),
    );
    resp
}

/// `next` when it is a path on this site (`/…`, not `//host` or `/\\host`), else `None`: the
/// only destinations a launch may send the browser to, so the hub is no open redirect.
pub(crate) fn safe_next(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c == '\\');
    ok.then_some(next)
}

/// `s` as a JavaScript string literal that is also safe inside a `<script>` element.
fn js_string(s: &str) -> String {
    let json = serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned());
    json.replace('<', "\\u003c").replace('>', "\\u003e")
}

const PENDING_SCRIPT: &str = r##"(function(){
var msg=document.getElementById("msg"),bar=document.getElementById("bar"),log=document.getElementById("log");
function show(e){if(typeof e.progress==="number"){bar.style.width=e.progress+"%";}
if(e.message){msg.textContent=e.message;var li=document.createElement("li");li.textContent=e.message;log.appendChild(li);}}
var next=__NEXT__;
var es=new EventSource(__PROGRESS_URL__);
es.onmessage=function(m){var e;try{e=JSON.parse(m.data);}catch(x){return;}
show(e);
if(e.ready&&e.url){es.close();window.location.replace(next||e.url);return;}
if(e.failed){es.close();msg.className="failed";bar.style.background="#a00";
var f=document.getElementById("start");if(f){f.hidden=false;}}};
es.onerror=function(){msg.textContent="Lost contact with the hub, retrying…";};
})();"##;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_same_site_paths_are_next() {
        assert_eq!(
            safe_next("/hub/user-redirect/lab?x=1"),
            Some("/hub/user-redirect/lab?x=1")
        );
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "lab",
            "",
            "/a\nb",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn escape_covers_markup() {
        assert_eq!(
            escape("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
    }

    #[test]
    fn script_strings_cannot_close_the_script() {
        let s = js_string("</script><script>alert(1)</script>");
        assert!(!s.contains("</script>"), "{s}");
    }

    #[test]
    fn pending_page_points_at_the_progress_stream() {
        let resp = spawn_pending("alice", "/hub/api/users/alice/server/progress", None, None);
        assert_eq!(resp.status(), StatusCode::OK);
    }
}
