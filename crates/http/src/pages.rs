//! The few HTML pages the hub shows: errors, "launch from your course", the student's home page
//! (their server's status, stop, start, restart, log out), the logout pages, and the spawn
//! progress page.
//!
//! Pages are small, self-contained (no external assets) and escape every value they show.

use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use lticontainer_hub::spawner::TimeLeft;

pub(crate) use lticontainer_hub::html::escape;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em;\
color:#222}h1{font-size:1.4em}.bar{height:1em;background:#eee;border-radius:.5em;overflow:hidden}\
.bar>div{height:100%;width:0;background:#f37726;transition:width .3s}#log{color:#555;font-size:.9em}\
.failed{color:#a00}form{display:inline-block;margin:0 .5em .5em 0}button{font-size:1em;padding:.3em .8em}";

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

/// The page for a form posted without the session's form token.
pub(crate) fn stale_form() -> Response {
    message(
        StatusCode::FORBIDDEN,
        "This request was not sent from your hub page",
        "The hub did nothing: the button you used was not on a page the hub gave you in this \
         session (an old page, or a page of another site). Open your hub page again and use its buttons.",
    )
}

/// Where a student's server is, as their home page shows it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum HomeStatus<'a> {
    /// The server runs at `url`.
    Running {
        /// The server's URL (`/user/<name>/lab`).
        url: &'a str,
        /// How long it may still run, when an activity limit applies.
        time_left: Option<TimeLeft>,
        /// The warning that memory runs short, when it does.
        memory: Option<&'a str>,
    },
    /// A spawn is under way.
    Starting,
    /// The last start failed, for `reason` (the student's words).
    Failed {
        /// Why, for the student.
        reason: &'a str,
    },
    /// No server; `note` says why the hub stopped it (a limit), when it did.
    Stopped {
        /// Why the hub stopped it, for the student.
        note: Option<&'a str>,
    },
}

/// What the home page of `user` shows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HomeView<'a> {
    /// Whose page.
    pub(crate) user: &'a str,
    /// Their server.
    pub(crate) status: HomeStatus<'a>,
    /// True when the hub has a launch of theirs to start a server from.
    pub(crate) can_start: bool,
    /// True for a teacher of an activity with learning analytics: a link to `/hub/dashboard`.
    pub(crate) dashboard: bool,
    /// The session's form token, for the buttons.
    pub(crate) form_token: &'a str,
}

/// `/hub/home`: the student's server, with buttons to stop, start or restart it, and to log out.
/// Works without JavaScript: every button is a plain form posting the session's form token.
pub(crate) fn home(view: &HomeView<'_>) -> Response {
    let user = view.user;
    let button = |id: &str, action: String, label: &str| {
        format!(
            "<form id=\"{id}\" method=\"post\" action=\"{}\">{}<button type=\"submit\">{}</button></form>",
            escape(&action),
            crate::form_token::hidden_input(view.form_token),
            escape(label)
        )
    };
    let start = |label: &str| {
        if view.can_start {
            button("start", format!("/hub/spawn/{user}"), label)
        } else {
            "<p>Open the Jupyter activity in your course to start it.</p>".to_owned()
        }
    };
    let (state, text, actions) = match view.status {
        HomeStatus::Running {
            url,
            time_left,
            memory,
        } => (
            "running",
            "Your server is running.".to_owned(),
            format!(
                "{}{}<p><a id=\"open\" href=\"{}\">Open my server</a></p>{}{}",
                memory.map_or_else(String::new, |m| format!(
                    "<p id=\"memory-warning\" class=\"failed\">{}</p>",
                    escape(m)
                )),
                time_left.map_or_else(String::new, time_left_text),
                escape(url),
                button("stop", format!("/hub/stop/{user}"), "Stop my server"),
                button(
                    "restart",
                    format!("/hub/restart/{user}"),
                    "Restart my server"
                ),
            ),
        ),
        HomeStatus::Starting => (
            "starting",
            "Your server is starting.".to_owned(),
            format!(
                "<p><a id=\"progress\" href=\"/hub/spawn-pending/{}\">Follow its start</a></p>{}",
                escape(user),
                button("stop", format!("/hub/stop/{user}"), "Cancel the start")
            ),
        ),
        HomeStatus::Failed { reason } => ("failed", reason.to_owned(), start("Try again")),
        HomeStatus::Stopped { note } => (
            "stopped",
            note.map_or_else(
                || "Your server is not running. Your files are kept.".to_owned(),
                str::to_owned,
            ),
            start("Start my server"),
        ),
    };
    let class = if state == "failed" {
        " class=\"failed\""
    } else {
        ""
    };
    let body = format!(
        "<p>Signed in as <b>{}</b>.</p><p id=\"status\" data-state=\"{state}\"{class}>{}</p>{actions}\
         {dashboard}<p><a id=\"logout\" href=\"/hub/logout\">Log out</a></p>",
        escape(user),
        escape(&text),
        dashboard = if view.dashboard {
            "<p><a id=\"dashboard\" href=\"/hub/dashboard\">Class dashboard: your students' cells, live</a></p>"
        } else {
            ""
        },
    );
    html(StatusCode::OK, "Your Jupyter server", &body)
}

/// The time-limit paragraph of the home page: how long the server may still run, or, past the
/// warning share of the limit, a warning (`#limit-warning`) that it stops soon.
///
/// The page reloads itself at the next change (the warning, the stop), at most a minute apart,
/// so a student who keeps it open sees the warning and then why the server stopped.
fn time_left_text(left: TimeLeft) -> String {
    let minutes = left.secs.div_ceil(60);
    let limit = left.limit.as_secs().div_ceil(60);
    let next = if left.warn {
        left.secs + 2
    } else {
        left.warn_in_secs + 1
    };
    let reload = format!(
        "<script>setTimeout(function(){{location.reload();}},{});</script>",
        next.clamp(2, 60) * 1000
    );
    if left.warn {
        format!(
            "<p id=\"limit-warning\" class=\"failed\">{}</p>{reload}",
            escape(&limit_warning(left))
        )
    } else {
        format!(
            "<p id=\"time-left\">Your server may run for about {minutes} more minute(s) \
             (time limit: {limit} minutes).</p>{reload}"
        )
    }
}

/// The warning that the server reaches its activity limit soon, as the home page and the bar
/// inside JupyterLab ([`crate::lab_notice`]) say it.
pub(crate) fn limit_warning(left: TimeLeft) -> String {
    format!(
        "Your server stops in about {} minute(s): it reaches its time limit of {} minutes. \
         Save your work now; your files are kept and you can start the server again.",
        left.secs.div_ceil(60),
        left.limit.as_secs().div_ceil(60)
    )
}

/// The page after logging out; `still_running` says whether the user's server keeps running.
pub(crate) fn logged_out(still_running: bool) -> Response {
    let server = if still_running {
        " Your server keeps running; it stops by itself at its time limit, or from your hub page."
    } else {
        ""
    };
    message(
        StatusCode::OK,
        "You are logged out",
        &format!(
            "You have left the Jupyter hub.{server} To come back, open the Jupyter activity in your course."
        ),
    )
}

/// Asks before logging out, for a logout link followed from another site: the button posts the
/// session's form token, which that site does not have.
pub(crate) fn confirm_logout(form_token: &str) -> Response {
    html(
        StatusCode::OK,
        "Log out?",
        &format!(
            "<p>Do you want to leave the Jupyter hub?</p><form id=\"logout\" method=\"post\" \
             action=\"/hub/logout\">{}<button type=\"submit\">Log out</button></form>\
             <p><a href=\"/hub/home\">Back to my server</a></p>",
            crate::form_token::hidden_input(form_token)
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
    form_token: &str,
) -> Response {
    let start_form = start_url.map_or_else(String::new, |u| {
        format!(
            "<form id=\"start\" method=\"post\" action=\"{}\" hidden>{}<button>Start my server</button></form>",
            escape(u),
            crate::form_token::hidden_input(form_token)
        )
    });
    let body = format!(
        "<p id=\"msg\">Your Jupyter server is starting…</p><div class=\"bar\"><div id=\"bar\"></div></div>\
         <ul id=\"log\"></ul>{start_form}<p><a href=\"/hub/home\">My hub page</a></p>\
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
        let resp = spawn_pending(
            "alice",
            "/hub/api/users/alice/server/progress",
            None,
            None,
            "t",
        );
        assert_eq!(resp.status(), StatusCode::OK);
    }
}
