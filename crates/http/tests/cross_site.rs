//! Cross-site (iframe) servers get the Jupyter config that makes their `_xsrf` cookie
//! `SameSite=None; Secure`: a read-only mount and `JUPYTER_CONFIG_PATH`; other servers do not.

use std::sync::Arc;

use axum::http::StatusCode;
use lticontainer_core::container::{ContainerSpec, MountSource};
use lticontainer_core::store::InMemoryStore;
use lticontainer_http::spawn::cross_site::CONTAINER_DIR;

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
    assert_eq!(spec.env["JUPYTER_CONFIG_PATH"], CONTAINER_DIR);
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
    let (mut cfg, spec) = hub_config();
    cfg.lms_origins = vec!["https://moodle.example.edu".into()];
    let hub = test_hub_with(
        cfg,
        spec,
        FakeJupyter::new(),
        Arc::new(InMemoryStore::new()),
    );
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
