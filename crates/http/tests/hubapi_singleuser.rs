//! The hub API against a real `jupyterhub-singleuser` (JupyterHub 5) in the project's Jupyter
//! image (`lticontainer-test/jupyter:latest`, built by `scripts/build-jupyter-image.sh`), run with
//! host networking on each engine of `LTICONTAINER_TEST_ENGINES` (default `docker,podman`).
//!
//! The server starts with the environment of `ServerCredentials::server_env`, checks the hub's version,
//! sends a browser through the OAuth flow (authorize → code → token → `/hub/api/user`), serves
//! the signed-in owner, and reports activity; with cross-site cookies its login cookie is
//! `SameSite=None; Secure`. A missing engine or image fails the test.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use lticontainer_core::store::{InMemoryStore, Store, UserRecord};
use lticontainer_http::hubapi::{HubApi, HubApiConfig, ServerEnvOptions, router};

const IMAGE: &str = "lticontainer-test/jupyter:latest";
const SESSION: &str = "x-test-session";

fn engines() -> Vec<String> {
    std::env::var("LTICONTAINER_TEST_ENGINES")
        .unwrap_or_else(|_| "docker,podman".into())
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// A container removed on drop.
struct Container {
    engine: String,
    name: String,
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new(&self.engine)
            .args(["rm", "-f", &self.name])
            .output();
    }
}

impl Container {
    fn logs(&self) -> String {
        Command::new(&self.engine)
            .args(["logs", "--tail", "40", &self.name])
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout).into_owned()
                    + &String::from_utf8_lossy(&o.stderr)
            })
            .unwrap_or_default()
    }
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

async fn get(client: &Client<HttpConnector, Body>, url: &str, headers: &[(&str, &str)]) -> Reply {
    let mut req = Request::get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = client
        .request(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// The `name=value` pairs a reply sets, joined for a `Cookie` header (merged into `jar`).
fn keep_cookies(jar: &mut Vec<(String, String)>, headers: &HeaderMap) {
    for v in headers.get_all(header::SET_COOKIE) {
        let pair = v.to_str().unwrap().split(';').next().unwrap();
        let (k, val) = pair.split_once('=').unwrap();
        jar.retain(|(n, _)| n != k);
        if !val.is_empty() && val != "\"\"" {
            jar.push((k.to_owned(), val.to_owned()));
        }
    }
}

fn cookie_header(jar: &[(String, String)]) -> String {
    jar.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn run_on(engine: &str, cross_site_cookies: bool) {
    let store = Arc::new(InMemoryStore::new());
    store
        .upsert_user(UserRecord {
            name: "alice".into(),
            lti_user_id: "1".into(),
            consumer_key: "moodle".into(),
            is_admin: false,
            last_launch: None,
            created: SystemTime::now(),
            last_activity: None,
        })
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hub_port = listener.local_addr().unwrap().port();
    let api = Arc::new(HubApi::new(
        store.clone(),
        HubApiConfig {
            api_url: format!("http://127.0.0.1:{hub_port}/hub/api"),
            ..HubApiConfig::default()
        },
        Arc::new(|h: &HeaderMap| {
            h.get(SESSION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        }),
    ));
    tokio::spawn(axum::serve(listener, router(api.clone())).into_future());

    let port = free_port();
    store
        .put_server(lticontainer_core::store_suite::server("alice", port))
        .await
        .unwrap();
    let env = api
        .credentials()
        .server_env(
            "alice",
            port,
            &ServerEnvOptions {
                cross_site_cookies,
                ..ServerEnvOptions::default()
            },
        )
        .await
        .unwrap();
    let name = format!(
        "lticontainer-hubapi-test-{}-{engine}-{cross_site_cookies}",
        std::process::id()
    );
    let _ = Command::new(engine).args(["rm", "-f", &name]).output();
    let mut args: Vec<String> = ["run", "-d", "--network", "host", "--name", &name]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    args.extend(["--label".into(), "lticontainer.testkit=hubapi".into()]);
    for (k, v) in env
        .iter()
        .chain([(&"JUPYTERHUB_ACTIVITY_INTERVAL".to_owned(), &"1".to_owned())])
    {
        args.extend(["-e".into(), format!("{k}={v}")]);
    }
    args.push(IMAGE.into());
    let out = Command::new(engine)
        .args(&args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {engine}: {e}"));
    assert!(
        out.status.success(),
        "{engine} run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let container = Container {
        engine: engine.to_owned(),
        name,
    };

    let client: Client<HttpConnector, Body> = Client::builder(TokioExecutor::new()).build_http();
    let base = format!("http://127.0.0.1:{port}/user/alice");
    let hub = format!("http://127.0.0.1:{hub_port}");

    // Ready when the server answers; it exits if the hub's version check fails.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let req = Request::get(format!("{base}/api"))
            .body(Body::empty())
            .unwrap();
        if let Ok(res) = client.request(req).await {
            if res.status() == StatusCode::OK {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "server not up on {engine}:\n{}",
            container.logs()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // A browser without the server's cookie is sent to the hub's authorize endpoint.
    let mut jar = Vec::new();
    let r = get(&client, &format!("{base}/files/"), &[]).await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.body);
    keep_cookies(&mut jar, &r.headers);
    let to_hub = r.headers[header::LOCATION].to_str().unwrap().to_owned();
    let path = to_hub
        .find("/hub/api/oauth2/authorize")
        .map(|i| &to_hub[i..])
        .unwrap_or_else(|| panic!("not an authorize redirect: {to_hub}"));

    // The hub (signed in as alice) issues a code and sends the browser back.
    let r = get(&client, &format!("{hub}{path}"), &[(SESSION, "alice")]).await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.body);
    let callback = r.headers[header::LOCATION].to_str().unwrap().to_owned();
    assert!(
        callback.starts_with("/user/alice/oauth_callback?code="),
        "{callback}"
    );

    // The server exchanges the code, identifies alice and sets its cookie.
    let cookies = cookie_header(&jar);
    let r = get(
        &client,
        &format!("http://127.0.0.1:{port}{callback}"),
        &[("cookie", &cookies)],
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::FOUND,
        "callback failed: {}\n{}",
        r.body,
        container.logs()
    );
    keep_cookies(&mut jar, &r.headers);
    assert!(
        jar.iter().any(|(k, _)| k == "jupyterhub-user-alice"),
        "no login cookie: {jar:?}"
    );
    let login = r
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with("jupyterhub-user-alice="))
        .unwrap()
        .to_lowercase();
    assert_eq!(
        login.contains("samesite=none") && login.contains("secure"),
        cross_site_cookies,
        "login cookie attributes: {login}"
    );

    let cookies = cookie_header(&jar);
    let r = get(
        &client,
        &format!("{base}/api/status"),
        &[("cookie", &cookies)],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}\n{}", r.body, container.logs());

    // Activity reports reach the store.
    let deadline = Instant::now() + Duration::from_secs(30);
    while store
        .user("alice")
        .await
        .unwrap()
        .unwrap()
        .last_activity
        .is_none()
    {
        assert!(
            Instant::now() < deadline,
            "no activity report on {engine}:\n{}",
            container.logs()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let logs = container.logs();
    assert!(!logs.contains("version mismatch"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Docker/Podman and lticontainer-test/jupyter (scripts/test-all builds it)"]
async fn real_jupyterhub_singleuser_signs_in_through_the_hub_api() {
    let engines = engines();
    assert!(
        !engines.is_empty(),
        "LTICONTAINER_TEST_ENGINES names no engine"
    );
    for engine in engines {
        run_on(&engine, false).await;
        run_on(&engine, true).await;
    }
}
