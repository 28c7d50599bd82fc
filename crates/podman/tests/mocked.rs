//! The runtime against a loopback mock of the libpod API: how it reads Podman 4.3's replies
//! (500s with a telling cause, 304, garbage, silence) without needing Podman.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use lticontainer_core::container::{
    ContainerSpec, ContainerState, Mount, MountSource, VolumeSpec, labels,
};
use lticontainer_core::{Error, Runtime};

use crate::libpod_mock::{MockLibpod, fault, inspect_body, reply};

fn spec() -> ContainerSpec {
    let mut s = ContainerSpec::new("ltc-mock-1", "lticontainer-test/busybox:latest");
    s.cmd = vec!["sleep".into(), "300".into()];
    s
}

#[tokio::test]
async fn create_start_inspect_returns_the_running_container_on_localhost() {
    let mock = MockLibpod::start(|method, path| match (method, path) {
        ("POST", "/libpod/containers/create") => reply(201, r#"{"Id":"abc","Warnings":[]}"#),
        ("POST", "/libpod/containers/abc/start") => reply(204, ""),
        ("GET", "/libpod/containers/abc/json") => {
            reply(200, inspect_body("abc", "ltc-mock-1", "running"))
        }
        _ => fault(500, "unexpected request", path),
    });
    let info = mock.runtime().create_and_start(&spec()).await.unwrap();
    assert_eq!(info.id, "abc");
    assert_eq!(info.state, ContainerState::Running);
    assert_eq!(info.address, Some("127.0.0.1:8888".parse().unwrap()));
    assert_eq!(
        mock.requests(),
        [
            "POST /libpod/containers/create",
            "POST /libpod/containers/abc/start",
            "GET /libpod/containers/abc/json"
        ]
    );
}

#[tokio::test]
async fn create_and_start_mounts_declared_volumes_but_creates_none() {
    let mock = MockLibpod::start(|method, path| match (method, path) {
        ("POST", "/libpod/containers/create") => reply(201, r#"{"Id":"abc","Warnings":[]}"#),
        ("POST", "/libpod/containers/abc/start") => reply(204, ""),
        ("GET", "/libpod/containers/abc/json") => {
            reply(200, inspect_body("abc", "ltc-mock-1", "running"))
        }
        _ => fault(500, "unexpected request", path),
    });
    let mut spec = spec();
    spec.labels.insert(labels::USER.into(), "alice".into());
    spec.mounts = vec![Mount {
        source: MountSource::Volume("lms_vol_a_1_h".into()),
        target: "/home/alice/vol".into(),
        read_only: true,
    }];
    spec.volumes = vec![VolumeSpec::new("lms_vol_a_1_h", BTreeMap::new())];
    mock.runtime().create_and_start(&spec).await.unwrap();
    // No volume request: a course volume never gets one user's labels from a container.
    assert_eq!(
        mock.requests(),
        [
            "POST /libpod/containers/create",
            "POST /libpod/containers/abc/start",
            "GET /libpod/containers/abc/json"
        ]
    );

    // An undeclared volume is refused before any request.
    spec.volumes.clear();
    let err = mock.runtime().create_and_start(&spec).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    assert!(err.to_string().contains("not declared"), "{err}");
    assert_eq!(mock.requests().len(), 3);
}

#[tokio::test]
async fn a_failed_start_removes_the_container_and_keeps_the_cause() {
    let mock = MockLibpod::start(|method, path| match (method, path) {
        ("POST", "/libpod/containers/create") => reply(201, r#"{"Id":"abc","Warnings":[]}"#),
        ("POST", "/libpod/containers/abc/start") => fault(
            500,
            "runc: exec: \"/nope\": no such file",
            "OCI runtime error",
        ),
        ("DELETE", p) if p.starts_with("/libpod/containers/abc?") => reply(200, "[]"),
        _ => fault(500, "unexpected request", path),
    });
    let err = mock.runtime().create_and_start(&spec()).await.unwrap_err();
    assert!(matches!(err, Error::Backend { .. }), "{err:?}");
    let chain = format!("{:?}", anyhow_chain(&err));
    assert!(chain.contains("OCI runtime error"), "{chain}");
    let requests = mock.requests();
    let delete = requests.iter().find(|r| r.starts_with("DELETE")).unwrap();
    assert!(delete.contains("force=true"), "{delete}");
}

#[tokio::test]
async fn podman_43_name_conflict_500_is_already_exists_naming_the_container() {
    let mock = MockLibpod::start(|_, _| {
        fault(
            500,
            "creating container storage: the container name \"ltc-mock-1\" is already in use by abc",
            "that name is already in use",
        )
    });
    let err = mock.runtime().create_and_start(&spec()).await.unwrap_err();
    match err {
        Error::AlreadyExists { what } => assert!(what.contains("ltc-mock-1"), "{what}"),
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
}

#[tokio::test]
async fn podman_43_unknown_image_500_is_not_found_naming_the_image() {
    let mock = MockLibpod::start(|_, _| {
        fault(
            500,
            "lticontainer-test/busybox:latest: image not known",
            "image not known",
        )
    });
    let err = mock.runtime().create_and_start(&spec()).await.unwrap_err();
    let source = std::error::Error::source(&err).map(ToString::to_string);
    assert!(
        source.is_some_and(|s| s.contains("image not known")),
        "the engine's reply is kept as the source: {err:?}"
    );
    match err {
        Error::NotFound { what, .. } => {
            assert!(what.contains("lticontainer-test/busybox"), "{what}");
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[tokio::test]
async fn stop_passes_the_grace_in_seconds_and_accepts_304() {
    let mock = MockLibpod::start(|method, path| match (method, path) {
        ("POST", p) if p.starts_with("/libpod/containers/abc/stop") => reply(304, ""),
        _ => fault(404, "no container", "no such container"),
    });
    let rt = mock.runtime();
    rt.stop("abc", Duration::from_millis(2500)).await.unwrap();
    assert_eq!(
        mock.requests(),
        ["POST /libpod/containers/abc/stop?timeout=3"]
    );
    let err = rt.stop("ghost", Duration::from_secs(1)).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test]
async fn list_skips_containers_removed_between_list_and_inspect() {
    let mock = MockLibpod::start(|method, path| match (method, path) {
        ("GET", p) if p.starts_with("/libpod/containers/json?") => {
            reply(200, r#"[{"Id":"gone"},{"Id":"here"}]"#)
        }
        ("GET", "/libpod/containers/here/json") => {
            reply(200, inspect_body("here", "ltc-mock-here", "exited"))
        }
        _ => fault(404, "no container", "no such container"),
    });
    let sel = BTreeMap::from([("lticontainer.hub".to_owned(), "h1".to_owned())]);
    let found = mock.runtime().list(&sel).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, "ltc-mock-here");
    assert_eq!(found[0].state, ContainerState::Exited { code: Some(0) });
    let list = &mock.requests()[0];
    assert!(list.contains("all=true"), "{list}");
    assert!(list.contains("lticontainer.hub%3Dh1"), "{list}");
}

#[tokio::test]
async fn garbage_and_incomplete_replies_are_errors_not_panics() {
    let mock = MockLibpod::start(|_, path| match path {
        "/libpod/containers/garbage/json" => reply(200, "this is not json"),
        "/libpod/containers/noid/json" => reply(200, r#"{"Name":"x"}"#),
        _ => reply(201, r#"{"Warnings":[]}"#),
    });
    let rt = mock.runtime();
    for id in ["garbage", "noid"] {
        let err = rt.inspect(id).await.unwrap_err();
        assert!(matches!(err, Error::Backend { .. }), "{id}: {err:?}");
    }
    // A create reply without an Id.
    let err = rt.create_and_start(&spec()).await.unwrap_err();
    assert!(matches!(err, Error::Backend { .. }), "{err:?}");
}

#[tokio::test]
async fn an_engine_that_does_not_answer_is_unavailable_after_the_timeout() {
    let mock = MockLibpod::start(|_, _| {
        let mut r = reply(200, "[]");
        r.delay = Duration::from_secs(5);
        r
    });
    let err = mock.runtime().list(&BTreeMap::new()).await.unwrap_err();
    match err {
        Error::Unavailable { detail, .. } => assert!(detail.contains("podman.sock"), "{detail}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_failed_pull_reports_progress_then_not_found_with_the_cause() {
    let mock = MockLibpod::start(|method, path| match (method, path) {
        ("GET", p) if p.ends_with("/exists") => fault(404, "failed to find image", "no such image"),
        ("POST", p) if p.starts_with("/libpod/images/pull?") => reply(
            200,
            "{\"stream\":\"Trying to pull registry.example/x:1...\\n\"}\n\
             {\"error\":\"pinging container registry registry.example: no such host\"}\n",
        ),
        _ => fault(500, "unexpected request", path),
    });
    let seen = Mutex::new(Vec::new());
    let err = mock
        .runtime()
        .ensure_image("registry.example/x:1", &|p| {
            seen.lock().unwrap().push(p.status)
        })
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("registry.example/x:1") && text.contains("no such host"),
        "{text}"
    );
    assert_eq!(
        *seen.lock().unwrap(),
        ["Trying to pull registry.example/x:1..."]
    );
}

/// The error and its sources, outermost first.
fn anyhow_chain(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out = vec![err.to_string()];
    let mut source = err.source();
    while let Some(e) = source {
        out.push(e.to_string());
        source = e.source();
    }
    out
}

#[tokio::test]
async fn events_ask_for_the_lifecycle_of_labelled_containers_and_map_podman_43_names() {
    let lines = [
        r#"{"status":"start","id":"abc","Type":"container","Action":"start","Actor":{"ID":"abc","Attributes":{}},"time":1,"timeNano":1}"#,
        r#"{"status":"cleanup","id":"abc","Type":"container","Action":"cleanup","Actor":{"ID":"abc","Attributes":{}},"time":1,"timeNano":1}"#,
        "not json",
        r#"{"status":"died","id":"abc","Type":"container","Action":"died","Actor":{"ID":"abc","Attributes":{"containerExitCode":"0"}},"time":1,"timeNano":1}"#,
        r#"{"status":"remove","id":"abc","Type":"container","Action":"remove","Actor":{"ID":"abc","Attributes":{}},"time":1,"timeNano":1}"#,
    ];
    let body = lines.join("\n") + "\n";
    let mock = MockLibpod::start(move |method, path| match (method, path) {
        ("GET", p) if p.starts_with("/libpod/events?") => reply(200, body.clone()),
        _ => fault(404, "no such route", "no such route"),
    });
    let sel = BTreeMap::from([("lticontainer.hub".to_owned(), "h1".to_owned())]);
    let mut events = mock.runtime().events(&sel).await.unwrap();
    let mut seen = Vec::new();
    while let Some(item) = futures_util::StreamExt::next(&mut events).await {
        let ev = item.unwrap();
        seen.push((ev.id, ev.kind));
    }
    use lticontainer_core::container::ContainerEventKind::{Died, Removed, Started};
    assert_eq!(
        seen,
        [
            ("abc".to_owned(), Started),
            ("abc".to_owned(), Died),
            ("abc".to_owned(), Removed)
        ]
    );
    let request = &mock.requests()[0];
    assert!(request.contains("stream=true"), "{request}");
    assert!(request.contains("since="), "{request}");
    assert!(request.contains("lticontainer.hub%3Dh1"), "{request}");
    assert!(request.contains("died"), "{request}");

    let refusing = MockLibpod::start(|_, _| fault(500, "events backend", "broken"));
    let err = match refusing.runtime().events(&sel).await {
        Ok(_) => panic!("a refused subscription must be an error"),
        Err(e) => e,
    };
    assert!(matches!(err, Error::Backend { .. }), "{err:?}");
}
