//! Grades back to the LMS (LTI 1.1 Basic Outcomes) against a fake outcomes service that checks
//! every request with its own code (body hash, OAuth 1.0a HMAC-SHA1 signature, the POX
//! message): the teachers' grades page (only the activity's teachers, form token), the preview,
//! the send with each answer kept and shown again, a failure answered inside HTTP 200, a
//! re-send replacing, and the admin API behind `lticontainer grades send`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::routing::post;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use lticontainer_core::auth::{LaunchSigner, Lti11Authenticator, Lti11Config, encode_urlencoded};
use lticontainer_core::clock::SystemClock;
use lticontainer_core::store::InMemoryStore;
use lticontainer_hub::admin_token::AdminToken;
use lticontainer_hub::analytics::LmsClient;
use lticontainer_hub::grades::Grades;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha1::{Digest, Sha1};

use crate::util::*;

const ADMIN_TOKEN: &str = "grades-admin-token-0123456789";
const CSV: &str = "Name,P001,P002,Total\r\namy,3,4,7\r\nbob,5,5,10\r\ncid,1,1,2\r\n";

/// RFC 3986 unreserved characters stay; everything else is encoded (RFC 5849 §3.6).
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn enc(s: &str) -> String {
    utf8_percent_encode(s, ENCODE).to_string()
}

/// One request the fake service took: the sourcedid and the score.
#[derive(Debug, Clone, PartialEq)]
struct Received {
    sourcedid: String,
    score: String,
}

/// An LTI 1.1 outcomes service as Moodle's `mod/lti/service.php` answers: HTTP 200 always,
/// `success` or `failure` inside.
struct FakeOutcomes {
    addr: SocketAddr,
    received: Mutex<Vec<Received>>,
    /// The sourcedid whose grade is refused (as for a deleted activity).
    refuse: String,
}

impl FakeOutcomes {
    async fn start(refuse: &str) -> Arc<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let this = Arc::new(Self {
            addr: listener.local_addr().unwrap(),
            received: Mutex::new(Vec::new()),
            refuse: refuse.to_owned(),
        });
        let app = Router::new()
            .route("/mod/lti/service.php", post(answer))
            .with_state(this.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        this
    }

    fn url(&self) -> String {
        format!("http://{}/mod/lti/service.php", self.addr)
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

fn pox(code: &str, description: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><imsx_POXEnvelopeResponse \
         xmlns=\"http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0\"><imsx_POXHeader>\
         <imsx_POXResponseHeaderInfo><imsx_version>V1.0</imsx_version><imsx_statusInfo>\
         <imsx_codeMajor>{code}</imsx_codeMajor><imsx_severity>status</imsx_severity>\
         <imsx_description>{description}</imsx_description></imsx_statusInfo>\
         </imsx_POXResponseHeaderInfo></imsx_POXHeader><imsx_POXBody/></imsx_POXEnvelopeResponse>"
    )
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(&text[start..end])
}

/// Checks the request as an LTI 1.1 tool consumer must, with code of its own.
fn check(url: &str, headers: &HeaderMap, body: &[u8]) -> Result<Received, String> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or("no Authorization header")?;
    let rest = auth.strip_prefix("OAuth ").ok_or("not OAuth")?;
    let mut params = BTreeMap::new();
    for item in rest.split(',') {
        let (k, v) = item.trim().split_once('=').ok_or("bad item")?;
        let v = v.trim_matches('"');
        let v = percent_encoding::percent_decode_str(v)
            .decode_utf8()
            .map_err(|e| e.to_string())?;
        params.insert(k.to_owned(), v.into_owned());
    }
    let expected_hash = base64::engine::general_purpose::STANDARD.encode(Sha1::digest(body));
    if params.get("oauth_body_hash") != Some(&expected_hash) {
        return Err(format!("body hash mismatch: {params:?}"));
    }
    if params.get("oauth_consumer_key").map(String::as_str) != Some(KEY) {
        return Err("wrong consumer key".into());
    }
    let signature = params.remove("oauth_signature").ok_or("no signature")?;
    params.remove("realm");
    let mut pairs: Vec<(String, String)> = params.iter().map(|(k, v)| (enc(k), enc(v))).collect();
    pairs.sort();
    let normalized = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let base = format!("POST&{}&{}", enc(url), enc(&normalized));
    let mut mac = Hmac::<Sha1>::new_from_slice(format!("{}&", enc(SECRET)).as_bytes()).unwrap();
    mac.update(base.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    if signature != expected {
        return Err("Message signature not valid".into());
    }
    let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    if !text.contains("<replaceResultRequest>") {
        return Err("not a replaceResultRequest".into());
    }
    let sourcedid = between(text, "<sourcedId>", "</sourcedId>").ok_or("no sourcedId")?;
    let score = between(text, "<textString>", "</textString>").ok_or("no score")?;
    Ok(Received {
        sourcedid: sourcedid.replace("&quot;", "\"").replace("&amp;", "&"),
        score: score.to_owned(),
    })
}

async fn answer(
    State(fake): State<Arc<FakeOutcomes>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    match check(&fake.url(), &headers, &body) {
        Err(why) => (StatusCode::OK, pox("failure", &why)),
        Ok(r) if r.sourcedid == fake.refuse => (
            StatusCode::OK,
            pox("failure", "No grade item for this sourcedid"),
        ),
        Ok(r) => {
            fake.received.lock().unwrap().push(r);
            (StatusCode::OK, pox("success", "Grade replace response"))
        }
    }
}

/// A hub with grades on (the test consumer's secret) and an admin token.
fn grades_hub() -> TestHub {
    let (mut cfg, spec) = hub_config();
    cfg.api_token = Some(AdminToken::new(ADMIN_TOKEN).unwrap());
    let store = Arc::new(InMemoryStore::new());
    let grades_store = store.clone();
    test_hub_parts(cfg, spec, FakeJupyter::new(), store, move |parts| {
        parts.grades = Some(Arc::new(Grades::new(
            grades_store,
            BTreeMap::from([(KEY.to_owned(), SECRET.to_owned())]),
            LmsClient::new(None).unwrap(),
            Arc::new(SystemClock),
        )));
    })
}

/// A second LMS on the same hub (another Moodle, its own consumer key).
const OTHER_KEY: &str = "other-moodle";
const OTHER_SECRET: &str = "other-secret-0123456789";

/// As [`grades_hub`], with a second consumer, [`OTHER_KEY`].
fn two_lms_hub() -> TestHub {
    let (cfg, spec) = hub_config();
    let store = Arc::new(InMemoryStore::new());
    let grades_store = store.clone();
    test_hub_parts(cfg, spec, FakeJupyter::new(), store, move |parts| {
        let consumers = Lti11Config::default()
            .with_consumer(KEY, SECRET)
            .with_consumer(OTHER_KEY, OTHER_SECRET);
        parts.auth = Arc::new(Lti11Authenticator::in_memory(consumers).unwrap());
        parts.grades = Some(Arc::new(Grades::new(
            grades_store,
            BTreeMap::from([
                (KEY.to_owned(), SECRET.to_owned()),
                (OTHER_KEY.to_owned(), OTHER_SECRET.to_owned()),
            ]),
            LmsClient::new(None).unwrap(),
            Arc::new(SystemClock),
        )));
    })
}

/// Launches the teacher and the students amy and bob with grade targets, cid without (the
/// activity accepted no grades when cid launched); all of activity 42.
async fn class(hub: &TestHub, lms: &FakeOutcomes) {
    let url = lms.url();
    let teachers = ("custom_lms_teachers", "teacher");
    hub.launched("teacher", 1, &[teachers]).await;
    for (user, id) in [("amy", 2), ("bob", 3)] {
        let sourcedid = sourcedid(id);
        hub.launched(
            user,
            id,
            &[
                teachers,
                ("lis_outcome_service_url", &url),
                ("lis_result_sourcedid", &sourcedid),
            ],
        )
        .await;
    }
    hub.launched("cid", 4, &[teachers]).await;
}

fn sourcedid(id: u32) -> String {
    format!("{{\"data\":{{\"userid\":\"{id}\"}},\"hash\":\"h{id}\"}}")
}

/// A POST of the grades form as `user` with the session's own form token.
fn grades_form(hub: &TestHub, user: &str, fields: &[(&str, &str)]) -> Request<Body> {
    let (cookie, token) = hub.session(user);
    let mut body = url::form_urlencoded::Serializer::new(String::new());
    body.append_pair("_xsrf", &token);
    for (k, v) in fields {
        body.append_pair(k, v);
    }
    Request::post("/hub/grades/42")
        .header(header::HOST, HOST)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.finish()))
        .unwrap()
}

#[tokio::test]
async fn a_teacher_previews_sends_and_sees_the_answers_again() {
    let lms = FakeOutcomes::start("none").await;
    let hub = grades_hub();
    class(&hub, &lms).await;

    let page = hub
        .send(hub.get_as("/hub/grades/42", Some("teacher")))
        .await;
    assert_status(&page, StatusCode::OK);
    let csp = header_str(&page, header::CONTENT_SECURITY_POLICY);
    assert!(
        csp.contains("script-src 'self'") && csp.contains("form-action 'self'"),
        "{csp}"
    );
    assert!(body_string(page).await.contains("Nothing sent yet"));

    let preview = hub
        .send(grades_form(
            &hub,
            "teacher",
            &[
                ("csv", CSV),
                ("column", "p001"),
                ("max", "5"),
                ("action", "preview"),
            ],
        ))
        .await;
    assert_status(&preview, StatusCode::OK);
    let text = body_string(preview).await;
    assert!(text.contains("2 of 3 students match"), "{text}");
    assert!(
        text.contains("<td>cid</td><td>—</td><td>1</td><td>no launch with a grade"),
        "{text}"
    );
    assert!(lms.received().is_empty(), "a preview sends nothing");

    let sent = hub
        .send(grades_form(
            &hub,
            "teacher",
            &[
                ("csv", CSV),
                ("column", "P001"),
                ("max", "5"),
                ("action", "send"),
            ],
        ))
        .await;
    let text = body_string(sent).await;
    assert!(text.contains("The LMS took 2 of 3 grades"), "{text}");
    assert!(text.contains("success: Grade replace response"), "{text}");
    assert_eq!(
        lms.received(),
        vec![
            Received {
                sourcedid: sourcedid(2),
                score: "0.6".into()
            },
            Received {
                sourcedid: sourcedid(3),
                score: "1".into()
            },
        ]
    );

    // Kept: shown again on a later visit; a re-send replaces (still one row per student).
    let again = hub
        .send(grades_form(
            &hub,
            "teacher",
            &[
                ("csv", CSV),
                ("column", "P001"),
                ("max", "10"),
                ("action", "send"),
            ],
        ))
        .await;
    assert_status(&again, StatusCode::OK);
    let page = body_string(
        hub.send(hub.get_as("/hub/grades/42", Some("teacher")))
            .await,
    )
    .await;
    let sent_table = page.split("id=\"sent\"").nth(1).unwrap();
    assert_eq!(sent_table.matches("<tr class=\"ok\">").count(), 2, "{page}");
    assert!(
        sent_table.contains("<td>P001</td><td>amy</td><td>3</td><td>10</td>"),
        "{page}"
    );
    assert_eq!(lms.received().last().unwrap().score, "0.5");
}

#[tokio::test]
async fn only_the_activitys_teachers_may_use_the_page_with_the_form_token() {
    let lms = FakeOutcomes::start("none").await;
    let hub = grades_hub();
    class(&hub, &lms).await;
    assert_status(
        &hub.send(hub.get_as("/hub/grades/42", Some("amy"))).await,
        StatusCode::FORBIDDEN,
    );
    assert_status(
        &hub.send(hub.get_as("/hub/grades/43", Some("teacher")))
            .await,
        StatusCode::FORBIDDEN,
    );
    assert_status(
        &hub.send(hub.get_as("/hub/grades/42", None)).await,
        StatusCode::UNAUTHORIZED,
    );
    let student_post = grades_form(
        &hub,
        "amy",
        &[
            ("csv", CSV),
            ("column", "Total"),
            ("max", "10"),
            ("action", "send"),
        ],
    );
    assert_status(&hub.send(student_post).await, StatusCode::FORBIDDEN);
    let forged = hub.form_as("/hub/grades/42", "teacher", Some("forged-token"));
    assert_status(&hub.send(forged).await, StatusCode::FORBIDDEN);
    assert!(lms.received().is_empty());
    let index = hub.send(hub.get_as("/hub/grades", Some("teacher"))).await;
    assert_status(&index, StatusCode::FOUND);
    assert_eq!(header_str(&index, header::LOCATION), "/hub/grades/42");
}

#[tokio::test]
async fn a_refusal_inside_http_200_is_shown_and_kept_and_a_bad_csv_is_explained() {
    let lms = FakeOutcomes::start(&sourcedid(3)).await;
    let hub = grades_hub();
    class(&hub, &lms).await;
    let sent = hub
        .send(grades_form(
            &hub,
            "teacher",
            &[
                ("csv", CSV),
                ("column", "Total"),
                ("max", "10"),
                ("action", "send"),
            ],
        ))
        .await;
    let text = body_string(sent).await;
    assert!(text.contains("The LMS took 1 of 3 grades"), "{text}");
    assert!(
        text.contains("failure: No grade item for this sourcedid"),
        "{text}"
    );
    let page = body_string(
        hub.send(hub.get_as("/hub/grades/42", Some("teacher")))
            .await,
    )
    .await;
    assert!(
        page.contains("<tr class=\"failed\"><td>Total</td><td>bob</td>"),
        "{page}"
    );

    let bad = hub
        .send(grades_form(
            &hub,
            "teacher",
            &[
                ("csv", CSV),
                ("column", "P009"),
                ("max", "10"),
                ("action", "preview"),
            ],
        ))
        .await;
    let text = body_string(bad).await;
    assert!(
        text.contains("the CSV has no column &quot;P009&quot;; it has P001, P002, Total"),
        "{text}"
    );
    let bad_max = hub
        .send(grades_form(
            &hub,
            "teacher",
            &[
                ("csv", CSV),
                ("column", "Total"),
                ("max", "0"),
                ("action", "send"),
            ],
        ))
        .await;
    assert!(
        body_string(bad_max)
            .await
            .contains("the maximum score must be a number above 0")
    );
    assert_eq!(lms.received().len(), 1);
}

#[tokio::test]
async fn the_admin_api_sends_a_column_and_lists_what_was_sent() {
    let lms = FakeOutcomes::start("none").await;
    let hub = grades_hub();
    class(&hub, &lms).await;
    let request = |method: &str, token: &str, body: String| {
        Request::builder()
            .method(method)
            .uri("/hub/api/grades/42")
            .header(header::AUTHORIZATION, format!("token {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap()
    };
    let body = serde_json::json!({"csv": CSV, "column": "Total", "max": 10}).to_string();
    assert_status(
        &hub.send(request("POST", "wrong-token-0123456789", body.clone()))
            .await,
        StatusCode::FORBIDDEN,
    );
    let resp = hub.send(request("POST", ADMIN_TOKEN, body)).await;
    assert_status(&resp, StatusCode::OK);
    let answer: serde_json::Value = serde_json::from_str(&body_string(resp).await).unwrap();
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["user"], "amy");
    assert_eq!(results[0]["success"], true);
    assert_eq!(results[2]["status"], "no_target");
    assert_eq!(
        lms.received()
            .iter()
            .map(|r| r.score.as_str())
            .collect::<Vec<_>>(),
        ["0.7", "1"]
    );

    let resp = hub.send(request("GET", ADMIN_TOKEN, String::new())).await;
    let listed: serde_json::Value = serde_json::from_str(&body_string(resp).await).unwrap();
    assert_eq!(listed["sent"].as_array().unwrap().len(), 2);

    let bad = serde_json::json!({"csv": "x", "column": "Total", "max": 10}).to_string();
    let resp = hub.send(request("POST", ADMIN_TOKEN, bad)).await;
    assert_status(&resp, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_teacher_of_another_lms_with_the_same_link_id_neither_sees_nor_grades_its_students() {
    let lms = FakeOutcomes::start("none").await;
    let hub = two_lms_hub();
    class(&hub, &lms).await;
    // mallory teaches link 42 of the other LMS: her own launch, signed with its secret.
    let mut params = launch_params("mallory", 9);
    params.push(("custom_lms_teachers".into(), "mallory".into()));
    let signed = LaunchSigner::new(OTHER_KEY, OTHER_SECRET)
        .sign(
            &format!("http://{HOST}/hub/lti/launch"),
            params,
            now(),
            &format!("n-mallory-{}", rand_suffix()),
        )
        .unwrap();
    let resp = hub.send(launch_request(encode_urlencoded(&signed))).await;
    assert_status(&resp, StatusCode::FOUND);
    assert!(hub.wait_spawn("mallory").await.ready);

    // The first LMS's teacher sends amy's and bob's grades: mallory's page shows none of it.
    let fields = [
        ("csv", CSV),
        ("column", "Total"),
        ("max", "10"),
        ("action", "send"),
    ];
    let text = body_string(hub.send(grades_form(&hub, "teacher", &fields)).await).await;
    assert!(text.contains("The LMS took 2 of 3 grades"), "{text}");
    let page = body_string(
        hub.send(hub.get_as("/hub/grades/42", Some("mallory")))
            .await,
    )
    .await;
    assert!(page.contains("Nothing sent yet"), "{page}");
    assert!(!page.contains("amy") && !page.contains("bob"), "{page}");

    // Her own CSV naming them matches no one and sends nothing to the first LMS.
    let before = lms.received().len();
    let text = body_string(hub.send(grades_form(&hub, "mallory", &fields)).await).await;
    assert!(text.contains("The LMS took 0 of 3 grades"), "{text}");
    assert_eq!(lms.received().len(), before, "{text}");
}
