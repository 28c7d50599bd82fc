//! A Moodle REST endpoint for `mod_lticontainer_write_nblogs` with the real plugin's quirks
//! (`/work/shared/moodle/README.md`): only `nb_logs[0]` of a request is stored, errors answer
//! HTTP 200 with an exception body, a server record whose client record has not arrived is
//! stored with `/nc` appended, `ltictr` records are kept once per session. It can be switched
//! "down" (503, as Moodle's web server stopped), and it counts every request.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;

/// One stored row: the record's fields by name.
pub type Row = BTreeMap<String, String>;

/// The plugin's tables.
#[derive(Debug, Default, Clone)]
pub struct Tables {
    pub session: Vec<Row>,
    pub client: Vec<Row>,
    pub server: Vec<Row>,
    pub tags: Vec<Row>,
}

#[derive(Debug)]
pub struct FakeMoodle {
    pub addr: SocketAddr,
    pub token: String,
    pub down: AtomicBool,
    pub tables: Mutex<Tables>,
    /// Requests answered (any answer), counted up as they come.
    pub requests: tokio::sync::watch::Sender<u64>,
    /// Rows stored in any table.
    pub rows: tokio::sync::watch::Sender<u64>,
    /// Every request's form, as received.
    pub forms: Mutex<Vec<Vec<(String, String)>>>,
}

impl FakeMoodle {
    /// Serves on 127.0.0.1:0 under `/moodle/webservice/rest/server.php`, accepting `token`.
    pub async fn start(token: &str) -> Arc<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let this = Arc::new(Self {
            addr: listener.local_addr().unwrap(),
            token: token.to_owned(),
            down: AtomicBool::new(false),
            tables: Mutex::new(Tables::default()),
            requests: tokio::sync::watch::channel(0).0,
            rows: tokio::sync::watch::channel(0).0,
            forms: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/moodle/webservice/rest/server.php", post(rest))
            .with_state(Arc::clone(&this));
        tokio::spawn(axum::serve(listener, app).into_future());
        this
    }

    /// `custom_lms_serverurl` for this Moodle.
    pub fn server_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `launch_presentation_return_url` of a launch this Moodle signs (Moodle sets it from its
    /// `wwwroot`; the hub sends notebook logs only to that origin unless configured otherwise).
    pub fn return_url(&self) -> String {
        format!("{}/moodle/mod/lti/return.php?course=7", self.server_url())
    }

    /// Waits until `n` rows are stored (10 s at most).
    pub async fn wait_rows(&self, n: u64) -> Tables {
        let mut rx = self.rows.subscribe();
        tokio::time::timeout(Duration::from_secs(10), rx.wait_for(|r| *r >= n))
            .await
            .unwrap_or_else(|_| panic!("{n} rows not stored: {:#?}", self.tables.lock().unwrap()))
            .unwrap();
        self.tables.lock().unwrap().clone()
    }

    /// Waits until `n` requests were answered (10 s at most).
    pub async fn wait_requests(&self, n: u64) {
        let mut rx = self.requests.subscribe();
        tokio::time::timeout(Duration::from_secs(10), rx.wait_for(|r| *r >= n))
            .await
            .unwrap()
            .unwrap();
    }

    fn exception(errorcode: &str, message: &str) -> Response {
        axum::Json(serde_json::json!({
            "exception": "moodle_exception", "errorcode": errorcode, "message": message
        }))
        .into_response()
    }
}

async fn rest(
    State(m): State<Arc<FakeMoodle>>,
    Query(q): Query<BTreeMap<String, String>>,
    body: Bytes,
) -> Response {
    let answer = store(&m, &q, &body);
    m.requests.send_modify(|n| *n += 1);
    answer
}

fn store(m: &FakeMoodle, q: &BTreeMap<String, String>, body: &[u8]) -> Response {
    if m.down.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
    }
    if q.get("wstoken") != Some(&m.token) {
        return FakeMoodle::exception("invalidtoken", "Invalid token - token not found");
    }
    if q.get("wsfunction").map(String::as_str) != Some("mod_lticontainer_write_nblogs") {
        return FakeMoodle::exception(
            "invalidrecord",
            "Can't find data record in database table external_functions.",
        );
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    m.forms.lock().unwrap().push(form.clone());
    // Only nb_logs[0] is stored; the rest is accepted and dropped.
    let rec: Row = form
        .iter()
        .filter_map(|(k, v)| {
            let f = k.strip_prefix("nb_logs[0][")?.strip_suffix(']')?;
            Some((f.to_owned(), v.clone()))
        })
        .collect();
    let get = |f: &str| rec.get(f).cloned().unwrap_or_default();
    let mut t = m.tables.lock().unwrap();
    let mut added = 0;
    match get("host").as_str() {
        "server" => {
            let paired = t
                .client
                .iter()
                .any(|c| c["session"] == get("session") && c["message"] == get("message"));
            let mut row = rec.clone();
            if !paired {
                row.insert("status".into(), format!("{}/nc", get("status")));
            }
            t.server.push(row);
            added += 1;
        }
        "client" => {
            let tags = get("tags");
            let mut row = rec.clone();
            for prop in ["filename", "codenum"] {
                let key = format!("\"{prop}:");
                if let Some(i) = tags.find(&key) {
                    let v: String = tags[i + key.len()..]
                        .trim_start()
                        .chars()
                        .take_while(|c| *c != '"')
                        .collect();
                    row.insert(prop.into(), v);
                }
            }
            if row.len() > rec.len() {
                t.tags.push(row);
            }
            t.client.push(rec.clone());
            added += 1;
        }
        _ => {
            if !get("lti_id").is_empty()
                && !t.session.iter().any(|s| s["session"] == get("session"))
            {
                t.session.push(rec.clone());
                added += 1;
            }
        }
    }
    drop(t);
    m.rows.send_modify(|n| *n += added);
    axum::Json(serde_json::json!([])).into_response()
}
