//! The JupyterHub-compatible hub API driven as `jupyterhub-singleuser` and a browser drive it:
//! version check, token identity, the OAuth2 code flow, activity reports, and every refusal.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use base64::Engine;
use http_body_util::BodyExt;
use lticontainer_core::store::{InMemoryStore, Store, UserRecord};
use lticontainer_http::hubapi::{HubApi, HubApiConfig, ServerEnvOptions, router};
use serde_json::{Value, json};
use tower::ServiceExt;

/// The header the test session resolver reads (the hub's real resolver reads its cookie).
const SESSION: &str = "x-test-session";

struct Hub {
    store: Arc<InMemoryStore>,
    api: Arc<HubApi>,
    app: Router,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn location(&self) -> &str {
        self.headers[header::LOCATION].to_str().unwrap()
    }
}

fn hub_with(config: HubApiConfig) -> Hub {
    let store = Arc::new(InMemoryStore::new());
    let resolver = Arc::new(|h: &HeaderMap| {
        h.get(SESSION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    });
    let api = Arc::new(HubApi::new(store.clone(), config, resolver));
    let app = router(api.clone());
    Hub { store, api, app }
}

fn hub() -> Hub {
    hub_with(HubApiConfig::default())
}

impl Hub {
    async fn user(&self, name: &str, admin: bool) {
        self.store
            .upsert_user(UserRecord {
                name: name.into(),
                lti_user_id: format!("lti-{name}"),
                consumer_key: "moodle".into(),
                is_admin: admin,
                last_launch: None,
                created: SystemTime::now(),
                last_activity: None,
            })
            .await
            .unwrap();
    }

    /// Records `name` with a server on `port` and returns its API token.
    async fn server(&self, name: &str, port: u16) -> String {
        self.user(name, false).await;
        self.store
            .put_server(lticontainer_core::store_suite::server(name, port))
            .await
            .unwrap();
        let env = self
            .api
            .credentials()
            .server_env(name, port, &ServerEnvOptions::default())
            .await
            .unwrap();
        env["JUPYTERHUB_API_TOKEN"].clone()
    }

    async fn send(&self, req: Request<Body>) -> Reply {
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn get(&self, uri: &str, auth: Option<&str>, session: Option<&str>) -> Reply {
        let mut req = Request::get(uri);
        if let Some(a) = auth {
            req = req.header(header::AUTHORIZATION, a);
        }
        if let Some(s) = session {
            req = req.header(SESSION, s);
        }
        self.send(req.body(Body::empty()).unwrap()).await
    }

    async fn post(&self, uri: &str, auth: Option<&str>, content_type: &str, body: &str) -> Reply {
        let mut req = Request::post(uri).header(header::CONTENT_TYPE, content_type);
        if let Some(a) = auth {
            req = req.header(header::AUTHORIZATION, a);
        }
        self.send(req.body(Body::from(body.to_owned())).unwrap())
            .await
    }

    /// Authorizes `client_of`'s server as the signed-in `as_user`; returns the reply.
    async fn authorize(&self, client_of: &str, as_user: &str, redirect: &str) -> Reply {
        let uri = format!(
            "/hub/api/oauth2/authorize?client_id=jupyterhub-user-{client_of}&redirect_uri={}\
             &response_type=code&state=st%2Fate",
            redirect.replace('/', "%2F")
        );
        self.get(&uri, None, Some(as_user)).await
    }

    /// Exchanges `code` as `jupyterhub-singleuser` does (credentials in the form body).
    async fn exchange(&self, client_of: &str, secret: &str, code: &str, redirect: &str) -> Reply {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &format!("jupyterhub-user-{client_of}"))
            .append_pair("client_secret", secret)
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("redirect_uri", redirect)
            .finish();
        self.post(
            "/hub/api/oauth2/token",
            None,
            "application/x-www-form-urlencoded",
            &body,
        )
        .await
    }
}

fn code_from(location: &str) -> String {
    let query = location.split_once('?').unwrap().1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

const ALICE_CB: &str = "/user/alice/oauth_callback";

#[tokio::test]
async fn the_api_root_reports_a_jupyterhub_5_version() {
    let hub = hub();
    for uri in ["/hub/api", "/hub/api/"] {
        let r = hub.get(uri, None, None).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        assert_eq!(r.json(), json!({"version": "5.5.4"}));
        assert_eq!(r.headers["x-jupyterhub-version"], "5.5.4");
        assert_eq!(r.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    }
}

#[tokio::test]
async fn unknown_api_paths_and_methods_get_jupyterhub_json_errors() {
    let hub = hub();
    let r = hub.get("/hub/api/users/alice/tokens", None, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json(), json!({"status": 404, "message": "Not Found"}));
    assert_eq!(r.headers["x-jupyterhub-version"], "5.5.4");
    assert_eq!(r.headers[header::CONTENT_TYPE], "application/json");

    let r = hub
        .post("/hub/api/user", None, "application/json", "{}")
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        r.json(),
        json!({"status": 405, "message": "Method Not Allowed"})
    );
}

#[tokio::test]
async fn an_api_token_identifies_its_user_with_the_server_role_scopes() {
    let hub = hub();
    let token = hub.server("alice", 18001).await;
    for auth in [format!("token {token}"), format!("Bearer {token}")] {
        let r = hub.get("/hub/api/user", Some(&auth), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let m = r.json();
        assert_eq!(m["kind"], "user");
        assert_eq!(m["name"], "alice");
        assert_eq!(m["admin"], false);
        assert_eq!(m["groups"], json!([]));
        assert_eq!(m["last_activity"], Value::Null);
        assert_eq!(m["session_id"], Value::Null);
        assert!(m["token_id"].as_str().unwrap().starts_with('a'));
        assert_eq!(
            m["scopes"],
            json!([
                "access:servers!server=alice/",
                "read:users:activity!user=alice",
                "users:activity!user=alice"
            ])
        );
    }
    // The token also works as JupyterHub's ?token= parameter.
    let r = hub
        .get(&format!("/hub/api/user?token={token}"), None, None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn missing_wrong_and_revoked_tokens_are_forbidden() {
    let hub = hub();
    let old = hub.server("alice", 18001).await;
    let expect = json!({"status": 403, "message": "Forbidden"});
    for auth in [None, Some("token nope"), Some("Basic abc"), Some("token")] {
        let r = hub.get("/hub/api/user", auth, None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{auth:?}");
        assert_eq!(r.json(), expect);
    }
    // A respawn issues a new token and revokes the old one.
    let new = hub.server("alice", 18001).await;
    let r = hub
        .get("/hub/api/user", Some(&format!("token {old}")), None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = hub
        .get("/hub/api/user", Some(&format!("token {new}")), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn the_oauth_flow_runs_end_to_end() {
    let hub = hub();
    let secret = hub.server("alice", 18001).await;

    let r = hub.authorize("alice", "alice", ALICE_CB).await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.body);
    let loc = r.location().to_owned();
    assert!(loc.starts_with("/user/alice/oauth_callback?code="), "{loc}");
    assert!(loc.ends_with("&state=st%2Fate"), "{loc}");
    let code = code_from(&loc);

    let r = hub.exchange("alice", &secret, &code, ALICE_CB).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
    let t = r.json();
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 14 * 24 * 3600);
    assert_eq!(
        t["scope"],
        "access:servers!server=alice/ read:users:groups!user=alice read:users:name!user=alice"
    );
    let access = t["access_token"].as_str().unwrap();
    assert_ne!(access, secret);

    let r = hub
        .get("/hub/api/user", Some(&format!("Bearer {access}")), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let m = r.json();
    assert_eq!(m["name"], "alice");
    assert!(m["token_id"].as_str().unwrap().starts_with('o'));
    assert!(m.get("last_activity").is_none(), "no activity scope: {m}");
    assert_eq!(
        m["scopes"],
        json!([
            "access:servers!server=alice/",
            "read:users:groups!user=alice",
            "read:users:name!user=alice"
        ])
    );
}

#[tokio::test]
async fn a_code_is_used_once() {
    let hub = hub();
    let secret = hub.server("alice", 18001).await;
    let code = code_from(hub.authorize("alice", "alice", ALICE_CB).await.location());
    assert_eq!(
        hub.exchange("alice", &secret, &code, ALICE_CB).await.status,
        StatusCode::OK
    );
    let r = hub.exchange("alice", &secret, &code, ALICE_CB).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json(), json!({"error": "invalid_grant"}));
    let r = hub.exchange("alice", &secret, "made-up", ALICE_CB).await;
    assert_eq!(r.json(), json!({"error": "invalid_grant"}));
}

#[tokio::test]
async fn an_expired_code_or_access_token_is_refused() {
    let hub = hub_with(HubApiConfig {
        oauth_code_expires_in: Duration::ZERO,
        ..HubApiConfig::default()
    });
    let secret = hub.server("alice", 18001).await;
    let code = code_from(hub.authorize("alice", "alice", ALICE_CB).await.location());
    let r = hub.exchange("alice", &secret, &code, ALICE_CB).await;
    assert_eq!(r.json(), json!({"error": "invalid_grant"}));

    let hub = hub_with(HubApiConfig {
        oauth_token_expires_in: Duration::ZERO,
        ..HubApiConfig::default()
    });
    let secret = hub.server("alice", 18001).await;
    let code = code_from(hub.authorize("alice", "alice", ALICE_CB).await.location());
    let t = hub.exchange("alice", &secret, &code, ALICE_CB).await.json();
    let access = t["access_token"].as_str().unwrap();
    let r = hub
        .get("/hub/api/user", Some(&format!("Bearer {access}")), None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_wrong_redirect_uri_is_refused_at_both_steps() {
    let hub = hub();
    let secret = hub.server("alice", 18001).await;
    let r = hub
        .authorize("alice", "alice", "https://evil.example/cb")
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.headers.get(header::LOCATION).is_none(),
        "never redirect to a foreign URI"
    );
    assert!(r.body.contains("Mismatching redirect URI"), "{}", r.body);

    let code = code_from(hub.authorize("alice", "alice", ALICE_CB).await.location());
    let r = hub
        .exchange("alice", &secret, &code, "/user/alice/other")
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json(),
        json!({"error": "invalid_request", "error_description": "Mismatching redirect URI."})
    );
}

#[tokio::test]
async fn another_users_client_is_forbidden_and_an_admin_authorizes_only_with_admin_access() {
    let hub = hub_with(HubApiConfig {
        admin_access: true,
        ..HubApiConfig::default()
    });
    let secret = hub.server("alice", 18001).await;
    hub.user("bob", false).await;
    let r = hub.authorize("alice", "bob", ALICE_CB).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.headers.get(header::LOCATION).is_none());
    assert!(r.body.contains("Server at /user/alice/"), "{}", r.body);

    // A signed-in name without a user record is no admin either.
    let r = hub.authorize("alice", "mallory", ALICE_CB).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    hub.user("teacher", true).await;
    let r = hub.authorize("alice", "teacher", ALICE_CB).await;
    assert_eq!(r.status, StatusCode::FOUND);
    let t = hub
        .exchange("alice", &secret, &code_from(r.location()), ALICE_CB)
        .await
        .json();
    let access = t["access_token"].as_str().unwrap();
    let m = hub
        .get("/hub/api/user", Some(&format!("Bearer {access}")), None)
        .await
        .json();
    assert_eq!(m["name"], "teacher");
    assert_eq!(m["admin"], true);
    assert!(
        m["scopes"]
            .as_array()
            .unwrap()
            .contains(&json!("access:servers!server=alice/"))
    );
}

#[tokio::test]
async fn an_admin_does_not_authorize_for_another_users_server_by_default() {
    // `hub.admin_access` is off: the student's server is code the student controls, on the
    // hub's origin; an admin's session must not be handed to it.
    let hub = hub();
    hub.server("alice", 18001).await;
    hub.user("teacher", true).await;
    let r = hub.authorize("alice", "teacher", ALICE_CB).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.headers.get(header::LOCATION).is_none());
}

#[tokio::test]
async fn authorize_without_a_session_tells_the_student_to_launch_from_the_course() {
    let hub = hub();
    hub.server("alice", 18001).await;
    let uri = "/hub/api/oauth2/authorize?client_id=jupyterhub-user-alice&response_type=code";
    let r = hub.get(uri, None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("course"), "{}", r.body);

    let hub = hub_with(HubApiConfig {
        login_url: Some("/hub/login".into()),
        ..HubApiConfig::default()
    });
    let r = hub.get(uri, None, None).await;
    assert_eq!(r.status, StatusCode::FOUND);
    assert_eq!(
        r.location(),
        "/hub/login?next=%2Fhub%2Fapi%2Foauth2%2Fauthorize%3Fclient_id%3Djupyterhub-user-alice%26response_type%3Dcode"
    );
}

#[tokio::test]
async fn bad_authorize_requests_get_clear_errors() {
    let hub = hub();
    hub.server("alice", 18001).await;
    let r = hub
        .get(
            "/hub/api/oauth2/authorize?response_type=code",
            None,
            Some("alice"),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("Missing client_id"), "{}", r.body);

    let r = hub
        .get(
            "/hub/api/oauth2/authorize?client_id=jupyterhub-user-ghost&response_type=code",
            None,
            Some("alice"),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("Invalid client_id"), "{}", r.body);

    let r = hub
        .get(
            "/hub/api/oauth2/authorize?client_id=jupyterhub-user-alice&response_type=token&state=s",
            None,
            Some("alice"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FOUND);
    assert_eq!(
        r.location(),
        "/user/alice/oauth_callback?error=unsupported_response_type&state=s"
    );
}

#[tokio::test]
async fn token_requests_check_grant_code_and_client() {
    let hub = hub();
    let secret = hub.server("alice", 18001).await;
    let form = "application/x-www-form-urlencoded";
    let r = hub
        .post(
            "/hub/api/oauth2/token",
            None,
            form,
            "grant_type=password&code=x",
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json(), json!({"error": "unsupported_grant_type"}));

    let r = hub
        .post(
            "/hub/api/oauth2/token",
            None,
            form,
            "grant_type=authorization_code",
        )
        .await;
    assert_eq!(
        r.json(),
        json!({"error": "invalid_request", "error_description": "Missing code parameter."})
    );

    let code = code_from(hub.authorize("alice", "alice", ALICE_CB).await.location());
    let r = hub.exchange("alice", "wrong-secret", &code, ALICE_CB).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json(), json!({"error": "invalid_client"}));
    let r = hub.exchange("ghost", &secret, &code, ALICE_CB).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // A failed client authentication leaves the code usable; HTTP Basic credentials work.
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("jupyterhub-user-alice:{secret}"));
    let body = format!(
        "grant_type=authorization_code&code={code}&redirect_uri=%2Fuser%2Falice%2Foauth_callback"
    );
    let r = hub
        .post(
            "/hub/api/oauth2/token",
            Some(&format!("Basic {basic}")),
            form,
            &body,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn a_code_issued_to_one_client_does_not_work_for_another() {
    let hub = hub();
    hub.server("alice", 18001).await;
    let bob_secret = hub.server("bob", 18002).await;
    let code = code_from(hub.authorize("alice", "alice", ALICE_CB).await.location());
    let r = hub
        .exchange("bob", &bob_secret, &code, "/user/bob/oauth_callback")
        .await;
    assert_eq!(r.json(), json!({"error": "invalid_grant"}));
}

fn activity_body(t: &str) -> String {
    json!({"servers": {"": {"last_activity": t}}, "last_activity": t}).to_string()
}

#[tokio::test]
async fn the_server_reports_activity_for_its_own_user_only() {
    let hub = hub();
    let alice = hub.server("alice", 18001).await;
    let bob = hub.server("bob", 18002).await;
    let url = "/hub/api/users/alice/activity";
    let auth = format!("token {alice}");
    let r = hub
        .post(
            url,
            Some(&auth),
            "application/json",
            &activity_body("2024-05-01T12:00:00.123456Z"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let seen = |s: Option<SystemTime>| s.map(|t| t.duration_since(SystemTime::UNIX_EPOCH).unwrap());
    let want = Some(Duration::new(1_714_564_800, 123_456_000));
    assert_eq!(
        seen(
            hub.store
                .user("alice")
                .await
                .unwrap()
                .unwrap()
                .last_activity
        ),
        want
    );
    assert_eq!(
        seen(
            hub.store
                .server("alice")
                .await
                .unwrap()
                .unwrap()
                .last_activity
        ),
        want
    );

    // Bob's server token may not report for alice (JupyterHub answers 404 for a filtered scope).
    let r = hub
        .post(
            url,
            Some(&format!("token {bob}")),
            "application/json",
            &activity_body("2024-06-01T00:00:00Z"),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.json(),
        json!({"status": 404, "message": "No access to resources or resources not found"})
    );
    assert_eq!(
        seen(
            hub.store
                .user("alice")
                .await
                .unwrap()
                .unwrap()
                .last_activity
        ),
        want
    );

    let r = hub
        .post(
            url,
            None,
            "application/json",
            &activity_body("2024-06-01T00:00:00Z"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        r.json(),
        json!({"status": 403, "message": "Missing or invalid credentials."})
    );
}

#[tokio::test]
async fn an_oauth_access_token_cannot_report_activity() {
    let hub = hub();
    let secret = hub.server("alice", 18001).await;
    let code = code_from(hub.authorize("alice", "alice", ALICE_CB).await.location());
    let t = hub.exchange("alice", &secret, &code, ALICE_CB).await.json();
    let r = hub
        .post(
            "/hub/api/users/alice/activity",
            Some(&format!("Bearer {}", t["access_token"].as_str().unwrap())),
            "application/json",
            &activity_body("2024-06-01T00:00:00Z"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        r.json()["message"],
        "Action is not authorized with current scopes; requires any of [users:activity]"
    );
}

#[tokio::test]
async fn bad_activity_reports_are_400_and_record_nothing() {
    let hub = hub();
    let alice = hub.server("alice", 18001).await;
    let auth = format!("token {alice}");
    let future = lticontainer_core::store_suite::at(4_000_000_000, 0);
    let future = time::OffsetDateTime::from(future)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let cases = [
        ("{not json", "Invalid JSON in body of request"),
        ("[1, 2]", "body must be a json dict"),
        (
            "{}",
            "body must contain at least one of `last_activity` or `servers`",
        ),
        (
            r#"{"last_activity": "last tuesday"}"#,
            "Not a valid timestamp: 'last tuesday'",
        ),
        (
            r#"{"servers": {"gpu": {"last_activity": "2024-05-01T12:00:00Z"}}}"#,
            "No such server 'gpu' for user alice",
        ),
        (
            r#"{"servers": {"": {}}}"#,
            "servers must be a dict of the form {server_name: {last_activity: timestamp}}",
        ),
        (
            r#"{"servers": [1]}"#,
            "servers must be a dict of the form {server_name: {last_activity: timestamp}}",
        ),
    ];
    for (body, message) in cases {
        let r = hub
            .post(
                "/hub/api/users/alice/activity",
                Some(&auth),
                "application/json",
                body,
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            r.json(),
            json!({"status": 400, "message": message}),
            "{body}"
        );
    }
    let r = hub
        .post(
            "/hub/api/users/alice/activity",
            Some(&auth),
            "application/json",
            &activity_body(&future),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("more than an hour in the future")
    );
    assert!(
        hub.store
            .user("alice")
            .await
            .unwrap()
            .unwrap()
            .last_activity
            .is_none()
    );
}
