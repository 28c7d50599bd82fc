//! The grades page: the form, the preview, the answers, and what was sent so far. No inline
//! script or style: it runs under a strict `Content-Security-Policy` inside Moodle's iframe.

use std::fmt::Write as _;

use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use lticontainer_core::store::GradeSent;
use lticontainer_hub::grades::{Plan, RowStatus, SendOutcome};

use super::GradesAccess;
use crate::form_token::hidden_input;
use crate::hubapi::time::isoformat;
use crate::pages::escape;

/// The script, `GET /hub/static/grades.js`.
const SCRIPT: &str = include_str!("grades.js");

/// The page's policy: only the hub's own script; forms post back to the hub. The frame layer
/// adds `frame-ancestors`.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                      base-uri 'none'; form-action 'self'";

/// What the teacher posted (or the defaults of an empty form).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Form {
    /// The CSV text.
    pub(super) csv: String,
    /// The column.
    pub(super) column: String,
    /// The maximum score, as typed.
    pub(super) max: String,
    /// `preview` or `send`.
    pub(super) action: String,
}

impl Default for Form {
    fn default() -> Self {
        Self {
            csv: String::new(),
            column: "Total".into(),
            max: "10".into(),
            action: "preview".into(),
        }
    }
}

impl Form {
    /// The form in a posted body; missing fields keep their defaults.
    pub(super) fn from_body(body: &[u8]) -> Self {
        let mut form = Self::default();
        for (k, v) in url::form_urlencoded::parse(body) {
            match k.as_ref() {
                "csv" => form.csv = v.into_owned(),
                "column" => form.column = v.into_owned(),
                "max" => form.max = v.into_owned(),
                "action" => form.action = v.into_owned(),
                _ => {}
            }
        }
        form
    }
}

/// What the page shows below the form.
#[derive(Debug)]
pub(super) enum Body {
    /// Nothing (a first visit).
    None,
    /// The preview.
    Plan(Plan),
    /// The answers of a send.
    Sent(Vec<SendOutcome>),
    /// Why the CSV or the form could not be used.
    Error(String),
}

/// The page for `access` with `form` filled in, `body` below it, and what was sent so far.
pub(super) fn render(
    access: &GradesAccess,
    form: &Form,
    body: Body,
    sent: &[GradeSent],
) -> Response {
    let activity = escape(&access.activity);
    let mut html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>Grades</title></head><body><main id=\"grades\">\
         <h1>Send grades to the LMS</h1>\
         <p>Activity {activity}, for {teacher}. Paste or upload the CSV <code>tocsv</code> wrote \
         (<code>Name,P001,…,Total</code>), pick a column and the maximum score, preview, then \
         send. Sending again replaces the grades.</p>\
         <form method=\"post\" action=\"/hub/grades/{activity}\" id=\"grades-form\">{token}\
         <p><label>CSV file <input type=\"file\" id=\"csv-file\" accept=\".csv,text/csv\"></label></p>\
         <p><label>CSV<br><textarea name=\"csv\" id=\"csv\" rows=\"10\" cols=\"80\">{csv}</textarea></label></p>\
         <p><label>Column <input name=\"column\" id=\"column\" value=\"{column}\"></label> \
         <label>Maximum score <input name=\"max\" id=\"max\" value=\"{max}\"></label></p>\
         <p><button name=\"action\" value=\"preview\" id=\"preview\">Preview</button> \
         <button name=\"action\" value=\"send\" id=\"send\">Send to the LMS</button></p></form>",
        teacher = escape(&access.session.user),
        token = hidden_input(&access.session.form_token),
        csv = escape(&form.csv),
        column = escape(&form.column),
        max = escape(&form.max),
    );
    match body {
        Body::None => {}
        Body::Error(why) => {
            let _ = write!(html, "<p id=\"error\" role=\"alert\">{}</p>", escape(&why));
        }
        Body::Plan(plan) => preview(&mut html, &plan),
        Body::Sent(outcomes) => answers(&mut html, &outcomes),
    }
    sent_so_far(&mut html, sent);
    html.push_str("</main><script src=\"/hub/static/grades.js\"></script></body></html>");
    (
        StatusCode::OK,
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CACHE_CONTROL, "no-store"),
            (CONTENT_SECURITY_POLICY, POLICY),
        ],
        html,
    )
        .into_response()
}

fn status_text(status: RowStatus) -> &'static str {
    match status {
        RowStatus::Ready => "will be sent",
        RowStatus::NoTarget => "no launch with a grade: not sent",
        RowStatus::NotANumber => "not a number: not sent",
    }
}

fn score_text(score: Option<f64>) -> String {
    score.map_or_else(|| "—".to_owned(), |s| s.to_string())
}

fn preview(html: &mut String, plan: &Plan) {
    let ready = plan
        .rows
        .iter()
        .filter(|r| r.status == RowStatus::Ready)
        .count();
    let _ = write!(
        html,
        "<h2>Preview: {column} out of {max}</h2><p id=\"summary\">{ready} of {rows} students \
         match a launch of this activity that accepts grades.</p>\
         <table id=\"plan\"><tr><th>Name</th><th>Hub user</th><th>Score</th><th>Status</th></tr>",
        column = escape(&plan.column),
        max = plan.max,
        rows = plan.rows.len(),
    );
    for r in &plan.rows {
        let _ = write!(
            html,
            "<tr class=\"{class}\"><td>{name}</td><td>{user}</td><td>{score}</td><td>{status}</td></tr>",
            class = if r.status == RowStatus::Ready {
                "ready"
            } else {
                "skipped"
            },
            name = escape(&r.name),
            user = escape(r.user.as_deref().unwrap_or("—")),
            score = score_text(r.score),
            status = status_text(r.status),
        );
    }
    html.push_str("</table>");
    if !plan.not_in_csv.is_empty() {
        let _ = write!(
            html,
            "<p id=\"not-in-csv\">Launched with a grade but not in the CSV (nothing sent): {}</p>",
            escape(&plan.not_in_csv.join(", "))
        );
    }
}

fn answers(html: &mut String, outcomes: &[SendOutcome]) {
    let ok = outcomes.iter().filter(|o| o.success).count();
    let _ = write!(
        html,
        "<h2>Sent</h2><p id=\"summary\">The LMS took {ok} of {} grades.</p>\
         <table id=\"answers\"><tr><th>Name</th><th>Hub user</th><th>Score</th><th>LMS answer</th></tr>",
        outcomes.len()
    );
    for o in outcomes {
        let _ = write!(
            html,
            "<tr class=\"{class}\"><td>{name}</td><td>{user}</td><td>{score}</td><td>{answer}</td></tr>",
            class = if o.success { "ok" } else { "failed" },
            name = escape(&o.name),
            user = escape(o.user.as_deref().unwrap_or("—")),
            score = score_text(o.score),
            answer = escape(&o.answer),
        );
    }
    html.push_str("</table>");
}

fn sent_so_far(html: &mut String, sent: &[GradeSent]) {
    html.push_str("<h2>Sent so far</h2>");
    if sent.is_empty() {
        html.push_str("<p id=\"none-sent\">Nothing sent yet.</p>");
        return;
    }
    html.push_str(
        "<table id=\"sent\"><tr><th>Column</th><th>Hub user</th><th>Score</th><th>Out of</th>\
         <th>LMS answer</th><th>When (UTC)</th></tr>",
    );
    for s in sent {
        let _ = write!(
            html,
            "<tr class=\"{class}\"><td>{column}</td><td>{user}</td><td>{score}</td><td>{max}</td>\
             <td>{answer}</td><td>{when}</td></tr>",
            class = if s.success { "ok" } else { "failed" },
            column = escape(&s.column),
            user = escape(&s.user),
            score = s.score,
            max = s.max,
            answer = escape(&s.answer),
            when = isoformat(s.sent),
        );
    }
    html.push_str("</table>");
}

/// `GET /hub/static/grades.js`.
pub(crate) async fn script() -> Response {
    (
        StatusCode::OK,
        [
            (CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=300"),
        ],
        SCRIPT,
    )
        .into_response()
}
