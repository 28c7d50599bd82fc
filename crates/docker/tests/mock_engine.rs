//! The runtime against a loopback mock of the Engine API: request shapes, status mapping,
//! cleanup after a failed start, concurrency and malformed replies. Needs no daemon.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::join_all;
use lticontainer_core::container::{ContainerSpec, ContainerState, Mount, MountSource, VolumeSpec};
use lticontainer_core::network::NetworkMode;
use lticontainer_core::{Error, Runtime};

use crate::mock::{Call, MockEngine, Reply, error, handler};

fn inspect_json(id: &str) -> String {
    serde_json::json!({
        "Id": id,
        "Name": format!("/{id}"),
        "State": { "Status": "running", "Running": true, "ExitCode": 0 },
        "Config": { "Image": "img:1", "Labels": { "lticontainer.port": "8888" } },
        "HostConfig": { "NetworkMode": "host" },
        "NetworkSettings": { "Networks": { "host": {} } }
    })
    .to_string()
}

/// Create → Id = the requested name; start → 204; inspect → running.
fn happy(call: &Call) -> Option<Reply> {
    let route = call.route();
    if route == "POST /containers/create" {
        let name = call.query.trim_start_matches("name=").split('&').next()?;
        return Some((
            201,
            serde_json::json!({ "Id": name, "Warnings": [] }).to_string(),
        ));
    }
    if route.starts_with("POST /containers/") && route.ends_with("/start") {
        return Some((204, String::new()));
    }
    if let Some(id) = route
        .strip_prefix("GET /containers/")
        .and_then(|r| r.strip_suffix("/json"))
    {
        return Some((200, inspect_json(id)));
    }
    None
}

fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        out.push_str(": ");
        out.push_str(&e.to_string());
        cur = e.source();
    }
    out
}

#[tokio::test]
async fn the_api_version_is_negotiated_once_and_then_used() {
    let mock = MockEngine::start(handler(|call| async move {
        happy(&call).unwrap_or_else(|| error(500, "unexpected"))
    }));
    let rt = mock.runtime();
    for _ in 0..3 {
        let info = rt.inspect("abc").await.expect("inspect");
        assert_eq!(info.state, ContainerState::Running);
        assert_eq!(info.address, Some("127.0.0.1:8888".parse().expect("addr")));
    }
    let calls = mock.calls();
    let versions: Vec<(String, String)> = calls
        .iter()
        .map(|c| (c.route(), c.version.clone()))
        .collect();
    assert_eq!(versions[0].0, "GET /version");
    assert_eq!(calls.iter().filter(|c| c.path == "/version").count(), 1);
    // bollard 0.19 builds unversioned paths (served at the engine's own API version); what
    // matters is that no request asks for an API newer than the engine's 1.41.
    for (route, version) in &versions[1..] {
        assert!(
            version.is_empty() || version == "1.41",
            "{route} asked for API {version}"
        );
    }
}

#[tokio::test]
async fn create_and_start_mounts_declared_volumes_but_creates_none() {
    let mock = MockEngine::start(handler(|call| async move {
        happy(&call).unwrap_or_else(|| error(500, "unexpected"))
    }));
    let mut spec = ContainerSpec::new("alice", "img:1");
    spec.mounts = vec![Mount {
        source: MountSource::Volume("lms_vol_a_1_h".into()),
        target: "/home/alice/vol".into(),
        read_only: true,
    }];
    spec.volumes = vec![VolumeSpec::new("lms_vol_a_1_h", BTreeMap::new())];
    mock.runtime()
        .create_and_start(&spec)
        .await
        .expect("started");
    let routes = mock.routes();
    assert!(
        !routes.iter().any(|r| r.contains("/volumes")),
        "the caller creates volumes, not create_and_start: {routes:?}"
    );
    let create = mock
        .calls()
        .into_iter()
        .find(|c| c.route() == "POST /containers/create")
        .expect("a create request");
    assert!(
        create.body.contains("lms_vol_a_1_h:/home/alice/vol:ro"),
        "{}",
        create.body
    );

    // An undeclared volume is refused before any request.
    spec.volumes.clear();
    let before = mock.routes().len();
    let err = mock
        .runtime()
        .create_and_start(&spec)
        .await
        .expect_err("undeclared volume");
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    assert!(err.to_string().contains("not declared"), "{err}");
    assert_eq!(mock.routes().len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_creates_are_in_flight_at_once() {
    // Every create waits until all twenty have arrived: a runtime that serialised them behind
    // one lock or one connection would never get there.
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let mock = MockEngine::start(handler(move |call| {
        let barrier = barrier.clone();
        async move {
            if call.route() == "POST /containers/create" {
                let waited = tokio::time::timeout(Duration::from_secs(20), barrier.wait()).await;
                if waited.is_err() {
                    return error(500, "creates were serialised: not all 20 arrived");
                }
            }
            happy(&call).unwrap_or_else(|| error(500, "unexpected"))
        }
    }));
    let rt = mock.runtime();
    let specs: Vec<ContainerSpec> = (0..20)
        .map(|i| ContainerSpec::new(format!("c{i}"), "img:1"))
        .collect();
    let results = join_all(specs.iter().map(|s| rt.create_and_start(s))).await;
    for r in results {
        r.expect("all twenty start");
    }
    let creates = mock
        .routes()
        .iter()
        .filter(|r| *r == "POST /containers/create")
        .count();
    assert_eq!(creates, 20);
}

#[tokio::test]
async fn the_create_request_carries_the_spec() {
    let mock = MockEngine::start(handler(|call| async move {
        happy(&call).unwrap_or_else(|| error(500, "unexpected"))
    }));
    let mut spec = ContainerSpec::new("alice", "img:1");
    spec.limits.mem_limit = Some(1 << 30);
    spec.cmd = vec!["sleep".into(), "9".into()];
    mock.runtime()
        .create_and_start(&spec)
        .await
        .expect("starts");
    let create = mock
        .calls()
        .into_iter()
        .find(|c| c.route() == "POST /containers/create")
        .expect("a create call");
    assert!(create.query.starts_with("name=alice&"), "{}", create.query);
    let body: serde_json::Value = serde_json::from_str(&create.body).expect("JSON body");
    assert_eq!(body["Image"], "img:1");
    assert_eq!(body["Cmd"], serde_json::json!(["sleep", "9"]));
    assert_eq!(body["Labels"]["lticontainer.port"], "8888");
    let host = &body["HostConfig"];
    assert_eq!(host["NetworkMode"], "host");
    assert_eq!(host["Privileged"], false);
    assert_eq!(host["Memory"], 1 << 30);
    assert_eq!(host["RestartPolicy"]["Name"], "no");
    // On the host network the result needs no inspect: two requests per spawn.
    assert_eq!(
        mock.routes(),
        ["POST /containers/create", "POST /containers/alice/start"]
    );
}

#[tokio::test]
async fn on_a_bridge_the_address_comes_from_an_inspect_after_start() {
    let mock = MockEngine::start(handler(|call| async move {
        match call.route().as_str() {
            "GET /containers/alice/json" => (
                200,
                serde_json::json!({
                    "Id": "alice", "Name": "/alice",
                    "State": { "Status": "running", "Running": true },
                    "Config": { "Image": "img:1", "Labels": { "lticontainer.port": "8888" } },
                    "HostConfig": { "NetworkMode": "bridge" },
                    "NetworkSettings": { "Networks": { "bridge": { "IPAddress": "10.88.0.9" } } }
                })
                .to_string(),
            ),
            _ => happy(&call).unwrap_or_else(|| error(500, "unexpected")),
        }
    }));
    let rt = mock.runtime();
    let mut spec = ContainerSpec::new("alice", "img:1");
    spec.network = NetworkMode::Bridge;
    let info = rt.create_and_start(&spec).await.expect("starts");
    assert_eq!(info.address, Some("10.88.0.9:8888".parse().expect("addr")));
    assert_eq!(
        mock.routes().last().map(String::as_str),
        Some("GET /containers/alice/json")
    );
}

#[tokio::test]
async fn a_name_in_use_is_already_exists_and_nothing_starts() {
    let mock = MockEngine::start(handler(|_| async {
        error(
            409,
            r#"Conflict. The container name "/alice" is already in use"#,
        )
    }));
    let err = mock
        .runtime()
        .create_and_start(&ContainerSpec::new("alice", "img:1"))
        .await
        .expect_err("conflict");
    assert!(
        matches!(&err, Error::AlreadyExists { what } if what.contains("alice")),
        "{err:?}"
    );
    assert_eq!(mock.routes(), ["POST /containers/create"]);
}

#[tokio::test]
async fn a_missing_image_on_create_is_not_found_naming_the_image() {
    let mock = MockEngine::start(handler(|_| async { error(404, "No such image: img:1") }));
    let err = mock
        .runtime()
        .create_and_start(&ContainerSpec::new("alice", "img:1"))
        .await
        .expect_err("no image");
    assert!(
        matches!(&err, Error::NotFound { what, .. } if what == "image \"img:1\""),
        "{err:?}"
    );
    let source = std::error::Error::source(&err).map(ToString::to_string);
    assert!(
        source.is_some_and(|s| s.contains("No such image: img:1")),
        "the engine's reply is kept as the source: {err:?}"
    );
}

#[tokio::test]
async fn a_missing_network_on_start_is_not_found_naming_the_network() {
    let mock = MockEngine::start(handler(|call| async move {
        match call.route().as_str() {
            "POST /containers/create" if call.body.contains("network-tools") => {
                error(404, "No such image: network-tools:1")
            }
            "POST /containers/alice/start" => error(404, "network jnet not found"),
            "DELETE /containers/alice" => (204, String::new()),
            _ => happy(&call).unwrap_or_else(|| error(500, "unexpected")),
        }
    }));
    let mut spec = ContainerSpec::new("alice", "img:1");
    spec.network = NetworkMode::Named("jnet".into());
    let err = mock
        .runtime()
        .create_and_start(&spec)
        .await
        .expect_err("no network");
    assert!(
        matches!(&err, Error::NotFound { what, .. } if what == "network \"jnet\""),
        "{err:?}"
    );
    assert_eq!(
        mock.routes().last().map(String::as_str),
        Some("DELETE /containers/alice")
    );
    let mut spec = ContainerSpec::new("bob", "network-tools:1");
    spec.network = NetworkMode::Named("jnet".into());
    let err = mock
        .runtime()
        .create_and_start(&spec)
        .await
        .expect_err("no image");
    assert!(
        matches!(&err, Error::NotFound { what, .. } if what == "image \"network-tools:1\""),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_failed_start_removes_the_created_container() {
    let mock = MockEngine::start(handler(|call| async move {
        match call.route().as_str() {
            "POST /containers/alice/start" => error(500, "OCI runtime create failed: boom"),
            "DELETE /containers/alice" => (204, String::new()),
            _ => happy(&call).unwrap_or_else(|| error(500, "unexpected")),
        }
    }));
    let err = mock
        .runtime()
        .create_and_start(&ContainerSpec::new("alice", "img:1"))
        .await
        .expect_err("start fails");
    assert!(matches!(err, Error::Backend { .. }), "{err:?}");
    let cause = chain(&err);
    assert!(
        cause.contains("container \"alice\"") && cause.contains("boom"),
        "{cause}"
    );
    assert_eq!(
        mock.routes(),
        [
            "POST /containers/create",
            "POST /containers/alice/start",
            "DELETE /containers/alice"
        ]
    );
    let delete = mock.calls().into_iter().last().expect("calls");
    assert!(delete.query.contains("force=true"), "{}", delete.query);
}

#[tokio::test]
async fn stop_and_remove_follow_the_contract() {
    let mock = MockEngine::start(handler(|call| async move {
        match call.route().as_str() {
            "POST /containers/stopped/stop" => (304, String::new()),
            "POST /containers/ghost/stop" => error(404, "No such container: ghost"),
            "DELETE /containers/ghost" => error(404, "No such container: ghost"),
            "DELETE /containers/busy" => {
                error(409, "removal of container busy is already in progress")
            }
            _ => error(500, "unexpected"),
        }
    }));
    let rt = mock.runtime();
    rt.stop("stopped", Duration::from_secs(3))
        .await
        .expect("stopping a stopped container succeeds");
    let stop = mock.calls().into_iter().last().expect("calls");
    assert_eq!(stop.query, "t=3");
    rt.stop("stopped", Duration::from_millis(1500))
        .await
        .expect("stops");
    let stop = mock.calls().into_iter().last().expect("calls");
    assert_eq!(stop.query, "t=2", "a part second rounds up");
    let err = rt
        .stop("ghost", Duration::from_secs(1))
        .await
        .expect_err("missing");
    assert!(
        matches!(&err, Error::NotFound { what, .. } if what == "container \"ghost\""),
        "{err:?}"
    );
    rt.remove("ghost")
        .await
        .expect("removing a missing container succeeds");
    rt.remove("busy")
        .await
        .expect("a removal in progress is success");
}

#[tokio::test]
async fn malformed_replies_are_errors_not_panics() {
    let mock = MockEngine::start(handler(|call| async move {
        match call.route().as_str() {
            "GET /containers/noid/json" => (200, "{}".to_owned()),
            "GET /containers/garbage/json" => (200, "not json".to_owned()),
            "GET /containers/json" => (200, r#"[{"Names":["/x"]}]"#.to_owned()),
            _ => error(500, "unexpected"),
        }
    }));
    let rt = mock.runtime();
    for id in ["noid", "garbage"] {
        let err = rt.inspect(id).await.expect_err("malformed");
        assert!(matches!(err, Error::Backend { .. }), "{id}: {err:?}");
        assert!(chain(&err).contains(id), "{id}: {}", chain(&err));
    }
    let err = rt.list(&BTreeMap::new()).await.expect_err("no Id");
    assert!(matches!(err, Error::Backend { .. }), "{err:?}");
}

#[tokio::test]
async fn list_asks_for_all_states_filtered_by_every_label() {
    let mock = MockEngine::start(handler(|call| async move {
        match call.route().as_str() {
            "GET /containers/json" => (
                200,
                serde_json::json!([{
                    "Id": "abc", "Names": ["/alice"], "Image": "img:1",
                    "State": "exited", "Status": "Exited (137) 2 minutes ago",
                    "Labels": { "lticontainer.port": "8888" },
                    "HostConfig": { "NetworkMode": "bridge" },
                    "NetworkSettings": { "Networks": { "bridge": { "IPAddress": "10.88.0.7" } } }
                }])
                .to_string(),
            ),
            _ => error(500, "unexpected"),
        }
    }));
    let labels = BTreeMap::from([
        ("lticontainer.hub".to_owned(), "h".to_owned()),
        ("lticontainer.user".to_owned(), "alice".to_owned()),
    ]);
    let found = mock.runtime().list(&labels).await.expect("lists");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, "alice");
    assert_eq!(found[0].state, ContainerState::Exited { code: Some(137) });
    assert_eq!(
        found[0].address,
        Some("10.88.0.7:8888".parse().expect("addr"))
    );
    let list = mock.calls().into_iter().last().expect("calls");
    assert!(list.query.contains("all=true"), "{}", list.query);
    for encoded in ["lticontainer.hub%3Dh", "lticontainer.user%3Dalice"] {
        assert!(
            list.query.contains(encoded),
            "{} lacks {encoded}",
            list.query
        );
    }
}

#[tokio::test]
async fn a_pull_reports_progress_and_a_failed_pull_is_not_found() {
    let mock = MockEngine::start(handler(|call| async move {
        match (call.route().as_str(), call.query.as_str()) {
            ("GET /images/good/json" | "GET /images/bad/json", _) => {
                error(404, "No such image")
            }
            ("POST /images/create", q) if q.contains("fromImage=good%3Alatest") => (
                200,
                [
                    r#"{"status":"Pulling from library/good","id":"latest"}"#,
                    r#"{"status":"Downloading","id":"l1","progressDetail":{"current":10,"total":20}}"#,
                    r#"{"status":"Pull complete","id":"l1"}"#,
                ]
                .join("\n"),
            ),
            ("POST /images/create", q) if q.contains("fromImage=bad%3Alatest") => (
                200,
                [
                    r#"{"status":"Pulling from library/bad","id":"latest"}"#,
                    r#"{"error":"manifest unknown","errorDetail":{"message":"manifest unknown"}}"#,
                ]
                .join("\n"),
            ),
            _ => error(500, "unexpected"),
        }
    }));
    let rt = mock.runtime();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    rt.ensure_image("good", &move |p| sink.lock().expect("lock").push(p))
        .await
        .expect("pulled");
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(seen[1].status, "l1: Downloading");
    assert_eq!((seen[1].current, seen[1].total), (Some(10), Some(20)));

    let err = rt
        .ensure_image("bad", &|_| {})
        .await
        .expect_err("pull fails");
    assert!(err.is_not_found(), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("\"bad\"") && text.contains("manifest unknown"),
        "{text}"
    );
}

#[tokio::test]
async fn an_engine_error_keeps_its_cause() {
    let mock = MockEngine::start(handler(|_| async { error(500, "disk on fire") }));
    let err = mock
        .runtime()
        .list(&BTreeMap::new())
        .await
        .expect_err("500");
    let Error::Backend { backend, .. } = &err else {
        panic!("expected Backend, got {err:?}");
    };
    assert_eq!(*backend, "docker");
    let cause = chain(&err);
    assert!(
        cause.contains("disk on fire") && cause.contains("500"),
        "{cause}"
    );
    assert!(cause.contains(mock.socket()), "{cause}");
}

#[tokio::test]
async fn events_ask_for_the_lifecycle_of_labelled_containers() {
    let lines = [
        r#"{"Type":"container","Action":"start","Actor":{"ID":"abc","Attributes":{}},"time":1,"timeNano":1}"#,
        r#"{"Type":"container","Action":"kill","Actor":{"ID":"abc","Attributes":{}},"time":1,"timeNano":1}"#,
        r#"{"Type":"container","Action":"die","Actor":{"ID":"abc","Attributes":{"exitCode":"0"}},"time":1,"timeNano":1}"#,
        r#"{"Type":"container","Action":"destroy","Actor":{"ID":"abc","Attributes":{}},"time":1,"timeNano":1}"#,
    ];
    let body = lines.join("\n") + "\n";
    let mock = MockEngine::start(handler(move |call| {
        let body = body.clone();
        async move {
            if call.route() == "GET /events" {
                (200, body)
            } else {
                error(500, "unexpected")
            }
        }
    }));
    let sel = BTreeMap::from([("lticontainer.hub".to_owned(), "h1".to_owned())]);
    let mut events = mock.runtime().events(&sel).await.expect("subscribed");
    let mut seen = Vec::new();
    while let Some(item) = futures_util::StreamExt::next(&mut events).await {
        let ev = item.expect("an event");
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
    let call = mock
        .calls()
        .into_iter()
        .find(|c| c.route() == "GET /events")
        .expect("an events request");
    assert!(call.query.contains("since="), "{}", call.query);
    assert!(
        call.query.contains("lticontainer.hub%3Dh1"),
        "{}",
        call.query
    );
    assert!(call.query.contains("destroy"), "{}", call.query);
}
