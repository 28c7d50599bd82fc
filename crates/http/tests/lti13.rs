//! LTI 1.3: `/hub/lti13/login` and `/hub/lti13/launch` against a fake platform that signs
//! id_tokens with a test key and serves its key set over HTTP on loopback (fetched by the hub's
//! real client). Every refusal is a test, and each one spawns nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use lticontainer_core::form::{FormParams, encode_urlencoded};
use lticontainer_core::lti13::{
    CLAIM_CUSTOM, CLAIM_MESSAGE_TYPE, JwkSet, Lti13Config, PlatformConfig, PlatformSigner,
    state_cookie,
};
use lticontainer_core::store::{InMemoryStore, Store};
use lticontainer_hub::analytics::LmsClient;
use lticontainer_hub::lti13::Lti13Launches;
use serde_json::{Value, json};

use crate::util::*;

const CLIENT_ID: &str = "client-abc";
const DEPLOYMENT: &str = "3";

/// A platform: its issuer URL on loopback, its signer (whose key it serves at
/// `/mod/lti/certs.php`) and how often the hub fetched that key set.
struct FakePlatform {
    issuer: String,
    fetches: Arc<AtomicUsize>,
    signer: PlatformSigner,
}

impl FakePlatform {
    async fn start() -> Self {
        let signer = PlatformSigner::test_platform();
        let keys = serde_json::to_string(&JwkSet::new(vec![signer.jwk()])).unwrap();
        let fetches = Arc::new(AtomicUsize::new(0));
        let f = fetches.clone();
        let app = Router::new().route(
            "/mod/lti/certs.php",
            get(move || {
                f.fetch_add(1, Ordering::SeqCst);
                let body = keys.clone();
                async move { body }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            issuer: format!("http://{addr}"),
            fetches,
            signer,
        }
    }

    fn config(&self) -> Lti13Config {
        Lti13Config::default().with_platform(
            PlatformConfig::moodle(&self.issuer, CLIENT_ID).with_deployments([DEPLOYMENT]),
        )
    }

    /// Moodle's claims for student1 with `nonce`, the custom parameters `lms_*` set.
    fn claims(&self, nonce: &str) -> Value {
        let mut c = PlatformSigner::student_launch_claims(
            &self.issuer,
            CLIENT_ID,
            DEPLOYMENT,
            nonce,
            now(),
        );
        c[CLAIM_CUSTOM] = json!({"lms_cpulimit": "1.5", "lms_teachers": "teacher1"});
        c
    }
}

fn hub_for(platform: &FakePlatform) -> TestHub {
    let (hub, spec) = hub_config();
    let config = platform.config();
    test_hub_parts(
        hub,
        spec,
        FakeJupyter::new(),
        Arc::new(InMemoryStore::new()),
        move |parts| {
            let client = LmsClient::new(None).unwrap();
            parts.lti13 = Some(Arc::new(Lti13Launches::with_system_clock(
                config,
                Arc::new(client),
            )));
        },
    )
}

fn login_query(platform: &FakePlatform) -> String {
    encode_urlencoded(&[
        ("iss", platform.issuer.as_str()),
        ("login_hint", "4"),
        ("target_link_uri", "http://hub.test/hub/lti13/launch"),
        ("lti_message_hint", "{\"cmid\":1}"),
        ("client_id", CLIENT_ID),
        ("lti_deployment_id", DEPLOYMENT),
    ])
}

/// Logs in by GET and returns the state and nonce the hub sent to the platform.
async fn login(hub: &TestHub, platform: &FakePlatform) -> (String, String) {
    let req = Request::get(format!("/hub/lti13/login?{}", login_query(platform)))
        .header(header::HOST, HOST)
        .body(Body::empty())
        .unwrap();
    let resp = hub.send(req).await;
    assert_status(&resp, StatusCode::FOUND);
    let location = header_str(&resp, header::LOCATION);
    let (base, query) = location.split_once('?').unwrap();
    assert_eq!(base, format!("{}/mod/lti/auth.php", platform.issuer));
    let q = FormParams::parse(query.as_bytes()).unwrap();
    assert_eq!(
        q.last("redirect_uri"),
        Some("http://hub.test/hub/lti13/launch")
    );
    assert_eq!(q.last("response_mode"), Some("form_post"));
    assert_eq!(q.last("lti_message_hint"), Some("{\"cmid\":1}"));
    let state = q.last("state").unwrap();
    let (name, value) = state_cookie(state);
    let cookie = header_str(&resp, header::SET_COOKIE);
    assert_eq!(
        cookie,
        format!("{name}={value}; Path=/hub/lti13/; HttpOnly; SameSite=Lax; Max-Age=300"),
        "the state is bound to the browser (plain http: Lax)"
    );
    (
        q.last("state").unwrap().to_owned(),
        q.last("nonce").unwrap().to_owned(),
    )
}

/// The launch form post of the browser that logged in (with the login's state cookie).
fn launch_post(token: &str, state: &str) -> Request<Body> {
    let (name, value) = state_cookie(state);
    launch_post_with_cookie(token, state, &format!("{name}={value}"))
}

fn launch_post_with_cookie(token: &str, state: &str, cookie: &str) -> Request<Body> {
    Request::post("/hub/lti13/launch")
        .header(header::HOST, HOST)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(encode_urlencoded(&[
            ("id_token", token),
            ("state", state),
        ])))
        .unwrap()
}

/// A fresh login, then a launch with the claims `change` made from the platform's, signed by
/// `signer` (the platform's own when `None`).
async fn launch_with(
    hub: &TestHub,
    platform: &FakePlatform,
    signer: Option<&PlatformSigner>,
    change: impl FnOnce(&mut Value),
) -> axum::response::Response {
    let (state, nonce) = login(hub, platform).await;
    let mut claims = platform.claims(&nonce);
    change(&mut claims);
    let token = signer.unwrap_or(&platform.signer).sign_claims(&claims);
    hub.send(launch_post(&token, &state)).await
}

/// A refused launch: the status, a page with `words`, no session, no user, no container.
async fn assert_refused(
    hub: &TestHub,
    resp: axum::response::Response,
    status: StatusCode,
    words: &str,
) {
    assert_status(&resp, status);
    assert!(resp.headers().get(header::SET_COOKIE).is_none());
    let page = body_string(resp).await;
    assert!(page.contains(words), "{page}");
    assert!(hub.store.user("student1").await.unwrap().is_none());
    assert_eq!(hub.runtime.count().await, 0);
}

#[tokio::test]
async fn a_13_launch_spawns_with_the_lms_parameters_applied() {
    let platform = FakePlatform::start().await;
    let hub = hub_for(&platform);
    let resp = launch_with(&hub, &platform, None, |_| {}).await;
    assert_status(&resp, StatusCode::FOUND);
    assert_eq!(
        header_str(&resp, header::LOCATION),
        "/hub/spawn-pending/student1"
    );
    assert!(header_str(&resp, header::SET_COOKIE).starts_with("lticontainer-session="));
    let done = hub.wait_spawn("student1").await;
    assert!(done.ready, "{done:?}");
    let created = hub.runtime.created.lock().unwrap().clone();
    assert_eq!(created.len(), 1);
    assert_eq!(
        created[0].limits.cpu_limit,
        Some(1.5),
        "custom lms_cpulimit applied"
    );
    let user = hub.store.user("student1").await.unwrap().unwrap();
    assert_eq!(user.lti_user_id, "4");
    assert_eq!(user.consumer_key, platform.issuer);
    assert_eq!(platform.fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_launch_without_its_logins_cookie_is_refused_and_the_login_still_waits() {
    let platform = FakePlatform::start().await;
    let hub = hub_for(&platform);
    let (state, nonce) = login(&hub, &platform).await;
    let token = platform.signer.sign_claims(&platform.claims(&nonce));
    // Another browser: no cookie at all, or the cookie of another login.
    let (other_state, _) = login(&hub, &platform).await;
    let (name, value) = state_cookie(&other_state);
    for cookie in [
        "a=b".to_owned(),
        format!("{name}={value}"),
        format!("{}={value}", state_cookie(&state).0),
    ] {
        let resp = hub
            .send(launch_post_with_cookie(&token, &state, &cookie))
            .await;
        assert_refused(
            &hub,
            resp,
            StatusCode::UNAUTHORIZED,
            "did not keep this server",
        )
        .await;
    }
    // The refusals took nothing: the browser that logged in still launches, and its cookie goes.
    let resp = hub.send(launch_post(&token, &state)).await;
    assert_status(&resp, StatusCode::FOUND);
    let cleared = resp
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    assert!(
        cleared
            .iter()
            .any(|c| c.starts_with(&state_cookie(&state).0) && c.ends_with("Max-Age=0")),
        "{cleared:?}"
    );
    hub.wait_spawn("student1").await;
}

#[tokio::test]
async fn a_login_by_post_works_too() {
    let platform = FakePlatform::start().await;
    let hub = hub_for(&platform);
    let req = Request::post("/hub/lti13/login")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(login_query(&platform)))
        .unwrap();
    let resp = hub.send(req).await;
    assert_status(&resp, StatusCode::FOUND);
    assert!(header_str(&resp, header::LOCATION).contains("nonce="));
}

#[tokio::test]
async fn a_tampered_token_is_refused() {
    let platform = FakePlatform::start().await;
    let hub = hub_for(&platform);
    let (state, nonce) = login(&hub, &platform).await;
    let token = platform.signer.sign_claims(&platform.claims(&nonce));
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut claims = platform.claims(&nonce);
    claims["https://purl.imsglobal.org/spec/lti/claim/roles"] =
        json!(["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]);
    parts[1] = base64_url(&claims.to_string());
    let resp = hub.send(launch_post(&parts.join("."), &state)).await;
    assert_refused(&hub, resp, StatusCode::UNAUTHORIZED, "could not verify").await;
}

#[tokio::test]
async fn a_wrong_audience_is_refused() {
    let platform = FakePlatform::start().await;
    let hub = hub_for(&platform);
    let resp = launch_with(&hub, &platform, None, |c| c["aud"] = json!("another-tool")).await;
    assert_refused(&hub, resp, StatusCode::UNAUTHORIZED, "could not verify").await;
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let platform = FakePlatform::start().await;
    let hub = hub_for(&platform);
    let resp = launch_with(&hub, &platform, None, |c| {
        c["iat"] = json!(now() - 600);
        c["exp"] = json!(now() - 540);
    })
    .await;
    assert_refused(&hub, resp, StatusCode::UNAUTHORIZED, "expired").await;
}

#[tokio::test]
async fn a_replayed_launch_and_a_replayed_nonce_are_refused() {
    let platform = FakePlatform::start().await;
    let hub = hub_for(&platform);
    let (state, nonce) = login(&hub, &platform).await;
    let token = platform.signer.sign_claims(&platform.claims(&nonce));
    assert_status(
        &hub.send(launch_post(&token, &state)).await,
        StatusCode::FOUND,
    );
    hub.wait_spawn("student1").await;
    // The same form again: its state was taken.
    let again = hub.send(launch_post(&token, &state)).await;
    assert_status(&again, StatusCode::UNAUTHORIZED);
    assert!(body_string(again).await.contains("already used"));
    // The same token with a new login's state: the nonce is not that login's.
    let (state2, _) = login(&hub, &platform).await;
    let replay = hub.send(launch_post(&token, &state2)).await;
    assert_status(&replay, StatusCode::UNAUTHORIZED);
    assert!(body_string(replay).await.contains("already used"));
    assert_eq!(hub.runtime.created.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn an_unknown_key_id_is_refused_after_one_refetch() {
    let platform = FakePlatform::start().await;
    let hub = hub_for(&platform);
    let stranger = PlatformSigner::test_other();
    let resp = launch_with(&hub, &platform, Some(&stranger), |_| {}).await;
    assert_refused(&hub, resp, StatusCode::UNAUTHORIZED, "could not verify").await;
    assert_eq!(platform.fetches.load(Ordering::SeqCst), 1);
    // A second made-up key id within the gap does not make the hub fetch again.
    let resp = launch_with(&hub, &platform, Some(&stranger.with_kid("x")), |_| {}).await;
    assert_refused(&hub, resp, StatusCode::UNAUTHORIZED, "could not verify").await;
    assert_eq!(platform.fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_deep_linking_request_is_refused_with_a_clear_page() {
    let platform = FakePlatform::start().await;
    let hub = hub_for(&platform);
    let resp = launch_with(&hub, &platform, None, |c| {
        c[CLAIM_MESSAGE_TYPE] = json!("LtiDeepLinkingRequest");
    })
    .await;
    assert_refused(
        &hub,
        resp,
        StatusCode::BAD_REQUEST,
        "only plain activity launches",
    )
    .await;
}

#[tokio::test]
async fn an_unknown_platform_cannot_log_in() {
    let platform = FakePlatform::start().await;
    let hub = hub_for(&platform);
    let query = login_query(&platform).replace(CLIENT_ID, "someone-else");
    let req = Request::get(format!("/hub/lti13/login?{query}"))
        .header(header::HOST, HOST)
        .body(Body::empty())
        .unwrap();
    let resp = hub.send(req).await;
    assert_refused(
        &hub,
        resp,
        StatusCode::UNAUTHORIZED,
        "LTI 1.3 tool settings",
    )
    .await;
}

#[tokio::test]
async fn lti_13_off_says_so_and_11_still_launches() {
    let hub = test_hub();
    let req = Request::get("/hub/lti13/login?iss=x&login_hint=1&target_link_uri=t")
        .header(header::HOST, HOST)
        .body(Body::empty())
        .unwrap();
    let resp = hub.send(req).await;
    assert_status(&resp, StatusCode::BAD_REQUEST);
    assert!(body_string(resp).await.contains("LTI 1.3 is not set up"));
    assert_status(&hub.launch("alice", 101).await, StatusCode::FOUND);
}

#[tokio::test]
async fn both_versions_launch_on_one_hub() {
    let platform = FakePlatform::start().await;
    let hub = hub_for(&platform);
    assert_status(&hub.launch("alice", 101).await, StatusCode::FOUND);
    assert_status(
        &launch_with(&hub, &platform, None, |_| {}).await,
        StatusCode::FOUND,
    );
    hub.wait_spawn("alice").await;
    hub.wait_spawn("student1").await;
    assert_eq!(hub.runtime.created.lock().unwrap().len(), 2);
}

fn base64_url(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}
