//! Grades back to the LMS by LTI 1.3 Assignment and Grade Services, against a fake platform
//! that checks every request with its own code: the client assertion verified against the
//! tool's public key set, the service token cached across sends, the activity's line item used,
//! a column's line item found or created (re-sending replaces, never adds, also within the
//! second Moodle refuses as not newer), the platform's
//! errors shown, and line item URLs off the platform's origin refused before any token is sent.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use base64::Engine as _;
use lticontainer_core::clock::SystemClock;
use lticontainer_core::form::FormParams;
use lticontainer_core::grades::GradeTarget;
use lticontainer_core::lti13::{Lti13Config, PlatformConfig};
use lticontainer_core::store::{GradeStore, GradeTargetRecord, InMemoryStore};
use lticontainer_hub::analytics::LmsClient;
use lticontainer_hub::grades::{Grades, SendOutcome};
use lticontainer_hub::lti13::{Lti13Launches, ToolKey};
use serde_json::{Value, json};

const CLIENT_ID: &str = "ags-client";
const CSV: &str = "Name,P001,Total\namy,3,7\nbob,5,10\n";
const PEM: &str = include_str!("../../core/src/lti13/test_other.pem");

/// How the fake's token endpoint answers.
#[derive(Clone, Copy, PartialEq)]
enum TokenMode {
    Grant,
    Refuse,
    Huge,
}

/// What the fake platform saw and keeps.
struct Platform {
    base: String,
    /// The tool's public key set, as the platform fetched it at registration.
    tool_jwks: Value,
    mode: Mutex<TokenMode>,
    tokens_issued: Mutex<usize>,
    /// Line items: (id URL, resourceId, tag).
    items: Mutex<Vec<(String, String, String)>>,
    /// (line item number, userId) → scoreGiven, replaced by a later score (as Moodle).
    scores: Mutex<BTreeMap<(usize, String), f64>>,
    /// (line item number, userId) → the second of the latest score's timestamp.
    seconds: Mutex<BTreeMap<(usize, String), String>>,
    errors: Mutex<Vec<String>>,
}

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

impl Platform {
    async fn start(tool_jwks: Value) -> Arc<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let this = Arc::new(Self {
            base: format!("http://{}", listener.local_addr().unwrap()),
            tool_jwks,
            mode: Mutex::new(TokenMode::Grant),
            tokens_issued: Mutex::new(0),
            items: Mutex::new(vec![("activity".into(), "7".into(), String::new())]),
            scores: Mutex::new(BTreeMap::new()),
            seconds: Mutex::new(BTreeMap::new()),
            errors: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/mod/lti/token.php", post(token))
            .route("/li", get(list).post(create))
            .route("/li/{n}/lineitem/scores", post(score))
            .with_state(this.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        this
    }

    fn item_url(&self, n: usize) -> String {
        format!("{}/li/{n}/lineitem?type_id=1", self.base)
    }

    fn config(&self) -> Lti13Config {
        Lti13Config::default().with_platform(PlatformConfig::moodle(&self.base, CLIENT_ID))
    }

    /// Checks the bearer token the platform issued last.
    fn bearer_ok(&self, headers: &HeaderMap) -> bool {
        let issued = *self.tokens_issued.lock().unwrap();
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            == Some(&format!("Bearer tok-{issued}"))
    }

    fn scores(&self) -> Vec<((usize, String), f64)> {
        self.scores.lock().unwrap().clone().into_iter().collect()
    }
}

/// Verifies the client assertion with the tool's public JWK, independently of the hub's code.
fn check_assertion(p: &Platform, assertion: &str) -> Result<(), String> {
    let parts: Vec<&str> = assertion.split('.').collect();
    let [h, c, s] = parts[..] else {
        return Err("not a JWS".into());
    };
    let header: Value = serde_json::from_slice(&b64(h)).map_err(|e| e.to_string())?;
    let claims: Value = serde_json::from_slice(&b64(c)).map_err(|e| e.to_string())?;
    let jwk = &p.tool_jwks["keys"][0];
    if header["alg"] != "RS256" || header["kid"] != jwk["kid"] {
        return Err(format!("header {header}"));
    }
    let key = ring::signature::RsaPublicKeyComponents {
        n: b64(jwk["n"].as_str().unwrap()),
        e: b64(jwk["e"].as_str().unwrap()),
    };
    key.verify(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        format!("{h}.{c}").as_bytes(),
        &b64(s),
    )
    .map_err(|_| "bad signature".to_owned())?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token_url = format!("{}/mod/lti/token.php", p.base);
    if claims["iss"] != CLIENT_ID
        || claims["sub"] != CLIENT_ID
        || claims["aud"] != token_url.as_str()
        || claims["jti"].as_str().is_none_or(str::is_empty)
        || claims["exp"]
            .as_u64()
            .is_none_or(|e| e <= now || e > now + 600)
    {
        return Err(format!("claims {claims}"));
    }
    Ok(())
}

async fn token(
    State(p): State<Arc<Platform>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let form = FormParams::parse(&body).unwrap();
    let checked = (|| {
        if headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            != Some("application/x-www-form-urlencoded")
        {
            return Err("content type".to_owned());
        }
        if form.last("grant_type") != Some("client_credentials")
            || form.last("client_assertion_type")
                != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            || !form
                .last("scope")
                .unwrap_or_default()
                .split(' ')
                .any(|s| s == "https://purl.imsglobal.org/spec/lti-ags/scope/score")
        {
            return Err(format!("form {form:?}"));
        }
        check_assertion(&p, form.last("client_assertion").unwrap_or_default())
    })();
    if let Err(why) = checked {
        p.errors.lock().unwrap().push(why.clone());
        return (
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_request", "error_description": why}).to_string(),
        );
    }
    match *p.mode.lock().unwrap() {
        TokenMode::Refuse => (
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_client", "error_description": "the tool's key is unknown"})
                .to_string(),
        ),
        TokenMode::Huge => (StatusCode::OK, "x".repeat(1024 * 1024)),
        TokenMode::Grant => {
            let mut n = p.tokens_issued.lock().unwrap();
            *n += 1;
            (StatusCode::OK, json!({"access_token": format!("tok-{n}"), "token_type": "Bearer", "expires_in": 3600}).to_string())
        }
    }
}

async fn list(State(p): State<Arc<Platform>>, headers: HeaderMap) -> (StatusCode, String) {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    if !p.bearer_ok(&headers) || accept != Some("application/vnd.ims.lis.v2.lineitemcontainer+json")
    {
        return (StatusCode::UNAUTHORIZED, String::new());
    }
    let items: Vec<Value> = p
        .items
        .lock()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(n, (_, r, t))| json!({"id": p.item_url(n), "resourceId": r, "tag": t}))
        .collect();
    (StatusCode::OK, Value::from(items).to_string())
}

async fn create(
    State(p): State<Arc<Platform>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let item: Value = serde_json::from_slice(&body).unwrap();
    if !p.bearer_ok(&headers)
        || item["label"].as_str().is_none()
        || item["scoreMaximum"].as_f64().is_none()
    {
        return (StatusCode::BAD_REQUEST, String::new());
    }
    let mut items = p.items.lock().unwrap();
    items.push((
        String::new(),
        item["resourceId"].as_str().unwrap().into(),
        item["tag"].as_str().unwrap().into(),
    ));
    let mut answer = item.clone();
    answer["id"] = p.item_url(items.len() - 1).into();
    (StatusCode::CREATED, answer.to_string())
}

async fn score(
    State(p): State<Arc<Platform>>,
    UrlPath(n): UrlPath<usize>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let s: Value = serde_json::from_slice(&body).unwrap();
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if !p.bearer_ok(&headers) || ct != Some("application/vnd.ims.lis.v1.score+json") {
        return (
            StatusCode::UNAUTHORIZED,
            json!({"status": 401, "reason": "bad token"}).to_string(),
        );
    }
    if s["gradingProgress"] != "FullyGraded"
        || s["activityProgress"] != "Completed"
        || s["timestamp"]
            .as_str()
            .is_none_or(|t| !t.ends_with('Z') || !t.contains('.'))
    {
        return (
            StatusCode::BAD_REQUEST,
            json!({"status": 400, "reason": "Incorrect score received"}).to_string(),
        );
    }
    // Moodle's rule: a score must be newer than the grade's, to the second.
    let second = s["timestamp"].as_str().unwrap_or_default()[..19].to_owned();
    let key = (n, s["userId"].as_str().unwrap_or_default().to_owned());
    let mut seconds = p.seconds.lock().unwrap();
    if seconds.get(&key).is_some_and(|last| *last >= second) {
        return (
            StatusCode::CONFLICT,
            json!({"status": 409, "reason": "Refusing score with an earlier timestamp"})
                .to_string(),
        );
    }
    seconds.insert(key, second);
    p.scores.lock().unwrap().insert(
        (n, s["userId"].as_str().unwrap().into()),
        s["scoreGiven"].as_f64().unwrap(),
    );
    (StatusCode::OK, String::new())
}

/// Grades with the platform trusted and the tool key, and amy (sub 2) and bob (sub 3) launched
/// activity 7 with AGS targets of `lineitem` / `lineitems`.
async fn grades_for(
    p: &Platform,
    key: ToolKey,
    lineitem: Option<String>,
    lineitems: Option<String>,
) -> Grades {
    grades_of(p, &p.base, key, lineitem, lineitems).await
}

/// As [`grades_for`], the targets naming the platform `issuer`.
async fn grades_of(
    p: &Platform,
    issuer: &str,
    key: ToolKey,
    lineitem: Option<String>,
    lineitems: Option<String>,
) -> Grades {
    let store = Arc::new(InMemoryStore::new());
    for (user, sub) in [("amy", "2"), ("bob", "3")] {
        store
            .put_grade_target(GradeTargetRecord {
                activity: "7".into(),
                user: user.into(),
                login: Some(user.into()),
                target: GradeTarget::V13 {
                    issuer: issuer.to_owned(),
                    client_id: CLIENT_ID.into(),
                    user_id: sub.into(),
                    lineitem: lineitem.clone(),
                    lineitems: lineitems.clone(),
                    consumer_key: "moodle".into(),
                },
                updated: std::time::SystemTime::now(),
            })
            .await
            .unwrap();
    }
    let client = LmsClient::new(None).unwrap();
    let launches = Lti13Launches::with_system_clock(p.config(), Arc::new(client.clone()))
        .with_tool_key(Arc::new(key));
    Grades::new(store, BTreeMap::new(), client, Arc::new(SystemClock))
        .with_lti13(Arc::new(launches))
}

fn tool_key() -> ToolKey {
    ToolKey::from_pem(PEM, Path::new("test.pem")).unwrap()
}

/// Sends `column` of [`CSV`] (maximum 10) for activity 7 as a teacher of the "moodle" LMS.
async fn send_csv(grades: &Grades, column: &str) -> Vec<SendOutcome> {
    grades
        .send("7", Some("moodle"), CSV, column, "10")
        .await
        .unwrap()
}

/// Checks that the platform took every score of `sent`, naming what it refused otherwise.
fn all_taken(sent: &[SendOutcome], p: &Platform) {
    assert!(
        sent.iter().all(|s| s.success),
        "{sent:?} {:?}",
        p.errors.lock().unwrap()
    );
}

#[tokio::test]
async fn scores_go_to_the_activitys_line_item_with_one_token_and_a_resend_replaces() {
    let key = tool_key();
    let p = Platform::start(key.jwks()).await;
    let grades = grades_for(&p, key, Some(p.item_url(0)), Some(format!("{}/li", p.base))).await;
    let sent = send_csv(&grades, "Total").await;
    all_taken(&sent, &p);
    assert!(
        sent[0].answer.contains("HTTP 200: score taken"),
        "{}",
        sent[0].answer
    );
    assert_eq!(
        p.scores(),
        vec![((0, "2".into()), 7.0), ((0, "3".into()), 10.0)]
    );

    let again = send_csv(&grades, "P001").await;
    assert!(again.iter().all(|s| s.success), "{again:?}");
    assert_eq!(
        p.scores(),
        vec![((0, "2".into()), 3.0), ((0, "3".into()), 5.0)],
        "the activity's own item, replaced"
    );
    assert_eq!(
        *p.tokens_issued.lock().unwrap(),
        1,
        "the token is cached across sends"
    );
    // The platform forgets its tokens (a restart): the cached one is refused once, a new one sent.
    *p.tokens_issued.lock().unwrap() += 1;
    let after = send_csv(&grades, "Total").await;
    assert!(after.iter().all(|s| s.success), "{after:?}");
    assert_eq!(*p.tokens_issued.lock().unwrap(), 3);
    assert_eq!(p.items.lock().unwrap().len(), 1, "no line item was created");
    let record = grades.sent("7", Some("moodle")).await.unwrap();
    assert!(
        record
            .iter()
            .any(|r| r.user == "amy" && r.column == "P001" && r.success)
    );
}

#[tokio::test]
async fn without_the_activitys_item_a_columns_item_is_created_once_then_found() {
    let key = tool_key();
    let p = Platform::start(key.jwks()).await;
    let grades = grades_for(&p, key, None, Some(format!("{}/li?type_id=1", p.base))).await;
    let sent = send_csv(&grades, "Total").await;
    all_taken(&sent, &p);
    assert_eq!(
        p.items.lock().unwrap()[1],
        (String::new(), "7".into(), "Total".into())
    );
    let sent = grades
        .send("7", Some("moodle"), "Name,Total\namy,9\n", "Total", "10")
        .await
        .unwrap();
    assert!(sent[0].success, "{sent:?}");
    assert_eq!(p.items.lock().unwrap().len(), 2, "found, not added again");
    assert_eq!(
        p.scores(),
        vec![((1, "2".into()), 9.0), ((1, "3".into()), 10.0)]
    );
}

#[tokio::test]
async fn the_platforms_refusals_and_garbage_are_shown_and_nothing_is_posted() {
    let key = tool_key();
    let p = Platform::start(key.jwks()).await;
    let grades = grades_for(&p, key, Some(p.item_url(0)), None).await;
    *p.mode.lock().unwrap() = TokenMode::Refuse;
    let sent = send_csv(&grades, "Total").await;
    assert!(!sent[0].success);
    assert!(
        sent[0].answer.contains(
            "refused the service token: HTTP 400: invalid_client: the tool's key is unknown"
        ),
        "{}",
        sent[0].answer
    );
    *p.mode.lock().unwrap() = TokenMode::Huge;
    let sent = send_csv(&grades, "Total").await;
    assert!(!sent[0].success);
    assert!(
        sent[0].answer.contains("did not answer") && sent[0].answer.contains("reading the answer"),
        "{}",
        sent[0].answer
    );
    assert!(p.scores().is_empty());
    assert!(
        p.errors.lock().unwrap().is_empty(),
        "{:?}",
        p.errors.lock().unwrap()
    );
    let record = grades.sent("7", Some("moodle")).await.unwrap();
    assert!(
        record
            .iter()
            .all(|r| !r.success && r.answer.contains("did not answer"))
    );
}

#[tokio::test]
async fn a_line_item_off_the_platforms_origin_is_refused_before_any_token() {
    let key = tool_key();
    let p = Platform::start(key.jwks()).await;
    let elsewhere = Platform::start(json!({})).await;
    let grades = grades_for(&p, key, Some(elsewhere.item_url(0)), None).await;
    let sent = send_csv(&grades, "Total").await;
    assert!(!sent[0].success);
    assert!(
        sent[0].answer.contains("is not on the platform's origin"),
        "{}",
        sent[0].answer
    );
    assert_eq!(*p.tokens_issued.lock().unwrap(), 0);
    assert!(elsewhere.scores().is_empty());

    let unknown = grades_of(
        &p,
        "http://127.0.0.1:9",
        tool_key(),
        Some("http://127.0.0.1:9/li/0/lineitem".into()),
        None,
    )
    .await;
    let sent = send_csv(&unknown, "Total").await;
    assert!(
        sent[0]
            .answer
            .contains("is no longer registered with the hub"),
        "{}",
        sent[0].answer
    );
}
