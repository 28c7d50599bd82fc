//! Cross-site (iframe) servers get the Jupyter config that makes their `_xsrf` cookie
//! `SameSite=None; Secure`: a read-only mount and `JUPYTER_CONFIG_PATH`; other servers do not.

use std::sync::Arc;

use axum::http::StatusCode;
use lticontainer_core::container::{ContainerSpec, MountSource};
use lticontainer_core::store::InMemoryStore;
use lticontainer_hub::cross_site::CONTAINER_DIR;

use crate::util::*;

/// The spec of `user`'s last container.
fn spec_of(hub: &TestHub, user: &str) -> ContainerSpec {
    let created = hub.runtime.created.lock().unwrap();
    created
        .iter()
        .rev()
        .find(|s| s.name.contains(user))
        .unwrap()
        .clone()
}

/// Asserts that `spec` mounts the config read-only and names it in `JUPYTER_CONFIG_PATH`.
fn assert_cross_site(spec: &ContainerSpec) {
    let mount = spec
        .mounts
        .iter()
        .find(|m| m.target == CONTAINER_DIR)
        .unwrap_or_else(|| panic!("no config mount in {:?}", spec.mounts));
    assert!(mount.read_only);
    let MountSource::Bind(dir) = &mount.source else {
        panic!("{mount:?}")
    };
    let text = std::fs::read_to_string(dir.join("jupyter_server_config.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v["ServerApp"]["tornado_settings"]["xsrf_cookie_kwargs"],
        serde_json::json!({"samesite": "None", "secure": true})
    );
    assert_eq!(&spec.env["JUPYTER_CONFIG_PATH"], CONTAINER_DIR);
}

fn assert_same_site(spec: &ContainerSpec) {
    assert!(spec.mounts.iter().all(|m| m.target != CONTAINER_DIR));
    assert!(!spec.env.contains_key("JUPYTER_CONFIG_PATH"));
}

#[tokio::test]
async fn iframe_launches_get_the_xsrf_config_and_others_do_not() {
    let hub = test_hub();
    let mut params = launch_params("alice", 101);
    params.push(("custom_lms_iframe".into(), "1".into()));
    let resp = hub
        .send(launch_request(signed_body(params, now(), "nonce-xsrf")))
        .await;
    assert_status(&resp, StatusCode::FOUND);
    assert!(hub.wait_spawn("alice").await.ready);
    assert_cross_site(&spec_of(&hub, "alice"));
    // The config lives under the hub's state_dir.
    let alice = spec_of(&hub, "alice");
    let dir = alice.mounts.iter().find_map(|m| match &m.source {
        MountSource::Bind(d) if m.target == CONTAINER_DIR => Some(d.clone()),
        _ => None,
    });
    assert!(
        dir.as_ref()
            .is_some_and(|d| d.starts_with(&hub.state.config.state_dir)),
        "{dir:?}"
    );

    assert_status(&hub.launch("bob", 102).await, StatusCode::FOUND);
    assert!(hub.wait_spawn("bob").await.ready);
    assert_same_site(&spec_of(&hub, "bob"));
}

#[tokio::test]
async fn configured_lms_origins_make_every_server_cross_site() {
    let hub = test_hub_tuned(|cfg| {
        cfg.lms_origins = vec!["https://moodle.example.edu".into()];
    });
    assert_status(&hub.launch("carol", 103).await, StatusCode::FOUND);
    assert!(hub.wait_spawn("carol").await.ready);
    assert_cross_site(&spec_of(&hub, "carol"));
}

#[tokio::test]
async fn an_unwritable_state_dir_still_starts_the_server_without_the_config() {
    let (mut cfg, spec) = hub_config();
    cfg.lms_origins = vec!["https://moodle.example.edu".into()];
    let blocker = tempfile::NamedTempFile::new().unwrap();
    cfg.state_dir = blocker.path().to_owned();
    let hub = test_hub_with(
        cfg,
        spec,
        FakeJupyter::new(),
        Arc::new(InMemoryStore::new()),
    );
    assert_status(&hub.launch("dave", 104).await, StatusCode::FOUND);
    assert!(hub.wait_spawn("dave").await.ready);
    assert_same_site(&spec_of(&hub, "dave"));
}

/// The Jupyter image the project builds (`scripts/build-jupyter-image.sh`).
const JUPYTER_IMAGE: &str = "lticontainer-test/jupyter:latest";

/// A container removed on drop.
struct Running {
    engine: String,
    name: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = std::process::Command::new(&self.engine)
            .args(["rm", "-f", &self.name])
            .output();
    }
}

/// Starts `jupyter server` on 127.0.0.1:`port` (host networking), with `extra` engine arguments.
fn start_jupyter(engine: &str, port: u16, extra: &[String]) -> Running {
    let name = format!(
        "lticontainer-xsrf-test-{}-{engine}-{port}",
        std::process::id()
    );
    let _ = std::process::Command::new(engine)
        .args(["rm", "-f", &name])
        .output();
    let mut args: Vec<String> = ["run", "-d", "--network", "host", "--name", &name]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    args.extend(extra.iter().cloned());
    args.extend(
        [
            JUPYTER_IMAGE,
            "jupyter",
            "server",
            "--ip=127.0.0.1",
            "--IdentityProvider.token=",
            "--ServerApp.open_browser=False",
        ]
        .iter()
        .map(|s| (*s).to_owned()),
    );
    args.push(format!("--port={port}"));
    let out = std::process::Command::new(engine)
        .args(&args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {engine}: {e}"));
    assert!(
        out.status.success(),
        "{engine} run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Running {
        engine: engine.to_owned(),
        name,
    }
}

/// The `Set-Cookie: _xsrf=…` line `GET /lab` answers with, once the server is up.
async fn xsrf_cookie(port: u16, container: &Running) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        if let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            let req =
                format!("GET /lab HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
            s.write_all(req.as_bytes()).await.unwrap();
            let mut reply = String::new();
            let _ = s.read_to_string(&mut reply).await;
            if let Some(line) = reply
                .lines()
                .find(|l| l.to_ascii_lowercase().starts_with("set-cookie: _xsrf="))
            {
                return line.to_owned();
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no _xsrf cookie from {} in time",
            container.name
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// On each engine of `LTICONTAINER_TEST_ENGINES` (default `docker,podman`), a real Jupyter Server
/// with the hub-written config mounted as the spawner mounts it sets `_xsrf` with
/// `SameSite=None; Secure`; without it, it does not. A missing engine or image fails the test.
#[tokio::test]
#[ignore = "needs Docker and Podman with the Jupyter image (scripts/test-all runs it)"]
async fn real_jupyter_server_sends_a_cross_site_xsrf_cookie_with_the_config() {
    let engines =
        std::env::var("LTICONTAINER_TEST_ENGINES").unwrap_or_else(|_| "docker,podman".into());
    let state = tempfile::tempdir().unwrap();
    let dir = lticontainer_hub::cross_site::ensure_host_dir(state.path()).unwrap();
    let base = 47950 + u16::try_from(std::process::id() % 10).unwrap() * 4;
    for (i, engine) in engines
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .enumerate()
    {
        let port = base + u16::try_from(i).unwrap() * 2;
        let with = start_jupyter(
            engine,
            port,
            &[
                "-v".into(),
                format!("{}:{CONTAINER_DIR}:ro", dir.display()),
                "-e".into(),
                format!("JUPYTER_CONFIG_PATH={CONTAINER_DIR}"),
            ],
        );
        let without = start_jupyter(engine, port + 1, &[]);
        let cross = xsrf_cookie(port, &with).await;
        assert!(
            cross.contains("SameSite=None") && cross.contains("Secure"),
            "{engine}: {cross}"
        );
        let plain = xsrf_cookie(port + 1, &without).await;
        assert!(!plain.contains("SameSite=None"), "{engine}: {plain}");
    }
}
