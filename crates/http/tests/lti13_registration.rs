//! The tool's side toward LTI 1.3 platforms: `/hub/lti13/jwks` and LTI Dynamic Registration at
//! `/hub/lti13/register`, against a fake platform on loopback that serves an OpenID
//! configuration and a registration endpoint (reached by the hub's real client).

use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::routing::{get, post};
use lticontainer_core::clock::SystemClock;
use lticontainer_core::form::encode_urlencoded;
use lticontainer_core::lti13::{JwkSet, Lti13Config, PlatformSigner};
use lticontainer_core::store::InMemoryStore;
use lticontainer_hub::analytics::LmsClient;
use lticontainer_hub::lti13::{
    Lti13Launches, RegisteredPlatforms, Registrar, RegistrationSecrets, TOOL_CONFIGURATION, ToolKey,
};
use serde_json::{Value, json};

use crate::util::*;

const TOOL_PEM: &str = include_str!("../../core/src/lti13/test_other.pem");

/// What the fake platform's registration endpoint answers, and what it received.
#[derive(Default)]
struct Seen {
    bodies: Vec<Value>,
    bearers: Vec<String>,
}

/// A platform with an OpenID configuration at `/mod/lti/openid-configuration.php` naming
/// `issuer` (its own URL unless a test says otherwise) and a registration endpoint answering
/// `status` with client id `tool-123`, deployment `7`.
struct FakeRegistrar {
    base: String,
    seen: Arc<Mutex<Seen>>,
}

impl FakeRegistrar {
    async fn start(issuer: Option<&str>, status: StatusCode) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let issuer = issuer.map_or_else(|| base.clone(), str::to_owned);
        let seen = Arc::new(Mutex::new(Seen::default()));
        let configuration = json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{base}/mod/lti/auth.php"),
            "token_endpoint": format!("{base}/mod/lti/token.php"),
            "jwks_uri": format!("{base}/mod/lti/certs.php"),
            "registration_endpoint": format!("{base}/mod/lti/openid-registration.php"),
            "https://purl.imsglobal.org/spec/lti-platform-configuration": {"product_family_code": "moodle"},
        });
        let s = seen.clone();
        let keys = serde_json::to_string(&JwkSet::new(vec![PlatformSigner::test_platform().jwk()]))
            .unwrap();
        let app = Router::new()
            .route(
                "/mod/lti/openid-configuration.php",
                get(move || {
                    let c = configuration.to_string();
                    async move { c }
                }),
            )
            .route("/mod/lti/certs.php", get(move || async move { keys }))
            .route(
                "/mod/lti/openid-registration.php",
                post(move |headers: HeaderMap, body: String| {
                    let s = s.clone();
                    async move {
                        let mut seen = s.lock().unwrap();
                        seen.bodies
                            .push(serde_json::from_str(&body).unwrap_or(Value::Null));
                        seen.bearers.push(
                            headers
                                .get(header::AUTHORIZATION)
                                .map(|v| v.to_str().unwrap().to_owned())
                                .unwrap_or_default(),
                        );
                        if status != StatusCode::OK {
                            return (status, "invalid_redirect_uris".to_owned());
                        }
                        let answer = json!({
                            "client_id": "tool-123",
                            TOOL_CONFIGURATION: {"deployment_id": "7"},
                        });
                        (StatusCode::OK, answer.to_string())
                    }
                }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, seen }
    }

    fn config_url(&self) -> String {
        format!("{}/mod/lti/openid-configuration.php", self.base)
    }
}

/// A hub with LTI 1.3 on through Dynamic Registration only (no configured platform), keeping
/// its state in `state_dir`; `origins` is `[lti13] registration_origins`.
fn registering_hub(state_dir: &Path, origins: &[String]) -> TestHub {
    let (mut hub, spec) = hub_config();
    hub.state_dir = state_dir.to_owned();
    let dir = state_dir.to_owned();
    let origins = origins.to_vec();
    test_hub_parts(
        hub,
        spec,
        FakeJupyter::new(),
        Arc::new(InMemoryStore::new()),
        move |parts| {
            let client = Arc::new(LmsClient::new(None).unwrap());
            let mut config = Lti13Config::default();
            config.dynamic_registration = true;
            let registered = Arc::new(RegisteredPlatforms::new(&dir));
            let mut all = config.clone();
            all.platform.extend(registered.load().unwrap());
            let key = ToolKey::from_pem(TOOL_PEM, &dir.join("key.pem")).unwrap();
            parts.lti13 = Some(Arc::new(
                Lti13Launches::with_system_clock(all, client.clone())
                    .with_tool_key(Arc::new(key))
                    .with_registration(Registrar::new(
                        RegistrationSecrets::new(&dir),
                        registered,
                        client,
                        &origins,
                        Arc::new(SystemClock),
                    )),
            ));
        },
    )
}

fn issue(state_dir: &Path, ttl: u64) -> String {
    RegistrationSecrets::new(state_dir)
        .issue(now(), ttl)
        .unwrap()
}

async fn register(hub: &TestHub, platform: &FakeRegistrar, secret: &str) -> (StatusCode, String) {
    let query = encode_urlencoded(&[
        ("openid_configuration", platform.config_url().as_str()),
        ("registration_token", "reg-token-1"),
        ("secret", secret),
    ]);
    let resp = hub
        .send(
            Request::get(format!("/hub/lti13/register?{query}"))
                .header(header::HOST, HOST)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let status = resp.status();
    (status, body_string(resp).await)
}

/// A login initiation of the registered platform: 302 to its auth URL when it is trusted.
async fn login_status(hub: &TestHub, platform: &FakeRegistrar) -> StatusCode {
    let query = encode_urlencoded(&[
        ("iss", platform.base.as_str()),
        ("login_hint", "4"),
        ("target_link_uri", "http://hub.test/hub/lti13/launch"),
        ("client_id", "tool-123"),
        ("lti_deployment_id", "7"),
    ]);
    hub.send(
        Request::get(format!("/hub/lti13/login?{query}"))
            .header(header::HOST, HOST)
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .status()
}

#[tokio::test]
async fn the_tools_key_set_is_served_while_13_is_on() {
    let dir = tempfile::tempdir().unwrap();
    let hub = registering_hub(dir.path(), &[]);
    let resp = hub
        .send(Request::get("/hub/lti13/jwks").body(Body::empty()).unwrap())
        .await;
    assert_status(&resp, StatusCode::OK);
    assert_eq!(header_str(&resp, header::CONTENT_TYPE), "application/json");
    assert!(header_str(&resp, header::CACHE_CONTROL).contains("max-age=300"));
    let set = JwkSet::parse(body_string(resp).await.as_bytes()).unwrap();
    let key = ToolKey::from_pem(TOOL_PEM, Path::new("k")).unwrap();
    assert_eq!(set.keys.len(), 1);
    assert_eq!(set.keys[0].kid.as_deref(), Some(key.kid()));
    assert!(!serde_json::to_string(&set).unwrap().contains("\"d\""));

    let off = test_hub();
    let resp = off
        .send(Request::get("/hub/lti13/jwks").body(Body::empty()).unwrap())
        .await;
    assert_status(&resp, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_registration_registers_the_tool_and_trusts_the_platform_at_once_and_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let platform = FakeRegistrar::start(None, StatusCode::OK).await;
    let hub = registering_hub(dir.path(), &[]);
    assert_eq!(
        login_status(&hub, &platform).await,
        StatusCode::UNAUTHORIZED
    );

    let (status, page) = register(&hub, &platform, &issue(dir.path(), 60)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("org.imsglobal.lti.close"), "{page}");
    assert!(page.contains("tool-123"), "{page}");
    {
        let seen = platform.seen.lock().unwrap();
        assert_eq!(seen.bearers, ["Bearer reg-token-1"]);
        let body = &seen.bodies[0];
        assert_eq!(
            body["initiate_login_uri"],
            "http://hub.test/hub/lti13/login"
        );
        assert_eq!(
            body["redirect_uris"],
            json!(["http://hub.test/hub/lti13/launch"])
        );
        assert_eq!(body["jwks_uri"], "http://hub.test/hub/lti13/jwks");
        assert_eq!(body["token_endpoint_auth_method"], "private_key_jwt");
        assert_eq!(
            body[TOOL_CONFIGURATION]["target_link_uri"],
            "http://hub.test/hub/lti13/launch"
        );
    }
    // Trusted at once: the login of the new registration goes to the platform.
    assert_eq!(login_status(&hub, &platform).await, StatusCode::FOUND);
    // And after a restart, from the state directory.
    let kept = RegisteredPlatforms::new(dir.path()).load().unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].issuer, platform.base);
    assert_eq!(kept[0].client_id, "tool-123");
    assert_eq!(kept[0].deployment_ids, ["7"]);
    assert_eq!(
        kept[0].key_set_url,
        format!("{}/mod/lti/certs.php", platform.base)
    );
    let restarted = registering_hub(dir.path(), &[]);
    assert_eq!(login_status(&restarted, &platform).await, StatusCode::FOUND);
}

#[tokio::test]
async fn a_bad_a_used_and_an_expired_secret_fetch_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let platform = FakeRegistrar::start(None, StatusCode::OK).await;
    let hub = registering_hub(dir.path(), &[]);
    let (status, page) = register(&hub, &platform, "made-up").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("registration-url"), "{page}");
    let (status, _) = register(&hub, &platform, "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let expired = issue(dir.path(), 0);
    let (status, page) = register(&hub, &platform, &expired).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("expired"), "{page}");
    assert!(platform.seen.lock().unwrap().bodies.is_empty());

    let secret = issue(dir.path(), 60);
    assert_eq!(register(&hub, &platform, &secret).await.0, StatusCode::OK);
    let (status, page) = register(&hub, &platform, &secret).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("already used"), "{page}");
    assert_eq!(platform.seen.lock().unwrap().bodies.len(), 1);
}

#[tokio::test]
async fn a_configuration_for_another_issuer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let platform =
        FakeRegistrar::start(Some("https://lms.elsewhere.example"), StatusCode::OK).await;
    let hub = registering_hub(dir.path(), &[]);
    let (status, page) = register(&hub, &platform, &issue(dir.path(), 60)).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(
        page.contains("not its URL") && page.contains("prefix"),
        "{page}"
    );
    assert!(
        platform.seen.lock().unwrap().bodies.is_empty(),
        "nothing posted"
    );
    assert!(
        RegisteredPlatforms::new(dir.path())
            .load()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_platform_refusing_the_registration_is_shown() {
    let dir = tempfile::tempdir().unwrap();
    let platform = FakeRegistrar::start(None, StatusCode::BAD_REQUEST).await;
    let hub = registering_hub(dir.path(), &[]);
    let (status, page) = register(&hub, &platform, &issue(dir.path(), 60)).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(
        page.contains("HTTP 400") && page.contains("invalid_redirect_uris"),
        "{page}"
    );
    assert!(
        RegisteredPlatforms::new(dir.path())
            .load()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        login_status(&hub, &platform).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn an_origin_outside_the_allowlist_fetches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let platform = FakeRegistrar::start(None, StatusCode::OK).await;
    let hub = registering_hub(dir.path(), &["https://moodle.example.edu".to_owned()]);
    let (status, page) = register(&hub, &platform, &issue(dir.path(), 60)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("registration_origins"), "{page}");
    assert!(platform.seen.lock().unwrap().bodies.is_empty());

    let allowed = registering_hub(dir.path(), std::slice::from_ref(&platform.base));
    assert_eq!(
        register(&allowed, &platform, &issue(dir.path(), 60))
            .await
            .0,
        StatusCode::OK
    );
}
