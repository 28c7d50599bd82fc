//! Isolated networking (the default) on the fake engine: each server gets its own network,
//! named in its spec, its bridge's forwarding turned off, the hub API at its gateway; the
//! network goes with the server. The containers' listener answers only the server part of the
//! hub API, and only to connections from a server network. Host networking makes no network.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use lticontainer_core::network::{NetworkMode, NetworkSpec};
use lticontainer_core::store::InMemoryStore;
use lticontainer_http::{ServerNetworkListener, container_api};
use lticontainer_hub::Networking;
use lticontainer_hub::spawner::StopOutcome;
use tokio::io::AsyncReadExt;
use tower::ServiceExt;

use crate::util::*;

async fn launched(hub: &TestHub, user: &str, id: u32) {
    assert_status(&hub.launch(user, id).await, StatusCode::FOUND);
    let ev = hub.wait_spawn(user).await;
    assert!(ev.ready, "{ev:?}");
}

#[tokio::test]
async fn each_server_runs_on_its_own_network_which_goes_with_it() {
    let hub = test_hub();
    launched(&hub, "alice", 101).await;
    launched(&hub, "bob", 102).await;
    let created = hub.runtime.created.lock().unwrap().clone();
    let (alice, bob) = (&created[0], &created[1]);
    assert_eq!(
        alice.network,
        NetworkMode::Named("lticontainer-alice-net".into())
    );
    assert_eq!(
        bob.network,
        NetworkMode::Named("lticontainer-bob-net".into())
    );

    let nets = hub.runtime.list_networks_now().await;
    assert_eq!(nets.len(), 2, "{nets:?}");
    let cfg = hub.state.spawner.config();
    for (spec, net) in [(alice, &nets[0]), (bob, &nets[1])] {
        let subnet = net.subnet.unwrap();
        let slot = u64::from(spec.port - cfg.port_min);
        assert_eq!(Some(subnet), cfg.network_pool.nth_subnet(28, slot));
        let gateway = net.gateway.unwrap();
        assert_eq!(
            spec.env["JUPYTERHUB_API_URL"],
            format!("http://{gateway}:{}/hub/api", cfg.container_api_port)
        );
        assert!(
            spec.env["JUPYTERHUB_SERVICE_URL"].starts_with("http://0.0.0.0:"),
            "the server listens on its own namespace's addresses"
        );
        assert_eq!(net.labels["lticontainer.hub"], "lticontainer");
        assert_eq!(
            Some(&net.labels["lticontainer.user"]),
            spec.labels.get("lticontainer.user")
        );
    }
    assert_ne!(nets[0].subnet, nets[1].subnet);
    let bridges: Vec<String> = nets.iter().filter_map(|n| n.interface.clone()).collect();
    assert_eq!(hub.forwarding.disabled(), bridges);

    let (outcome, _) = hub.state.spawner.stop("alice").await.unwrap();
    assert!(
        matches!(outcome, StopOutcome::Stopped { .. }),
        "{outcome:?}"
    );
    let left: Vec<String> = hub
        .runtime
        .list_networks_now()
        .await
        .into_iter()
        .map(|n| n.name)
        .collect();
    assert_eq!(left, ["lticontainer-bob-net"]);
}

#[tokio::test]
async fn a_failed_spawn_leaves_no_network_behind() {
    let hub = test_hub();
    hub.runtime.engine_down_for("alice");
    assert_status(&hub.launch("alice", 101).await, StatusCode::FOUND);
    let ev = hub.wait_spawn("alice").await;
    assert!(ev.failed, "{ev:?}");
    assert!(hub.runtime.list_networks_now().await.is_empty());
}

/// A network as a hub that stopped mid-way would have left it: this hub's labels, for `user`.
async fn leftover(hub: &TestHub, name: &str, user: &str, subnet: &str) {
    use lticontainer_core::Runtime;
    let mut net = NetworkSpec::new(name, subnet.parse().unwrap());
    net.labels = BTreeMap::from([
        ("lticontainer.hub".to_owned(), "lticontainer".to_owned()),
        ("lticontainer.user".to_owned(), user.to_owned()),
    ]);
    hub.runtime.create_network(&net).await.unwrap();
}

#[tokio::test]
async fn a_leftover_network_of_the_same_name_is_replaced() {
    let hub = test_hub();
    leftover(&hub, "lticontainer-alice-net", "alice", "10.213.200.0/28").await;
    launched(&hub, "alice", 101).await;
    let nets = hub.runtime.list_networks_now().await;
    assert_eq!(nets.len(), 1, "{nets:?}");
    assert_ne!(nets[0].subnet, Some("10.213.200.0/28".parse().unwrap()));
}

#[tokio::test]
async fn a_stopped_servers_network_on_the_same_subnet_is_removed() {
    let hub = test_hub();
    // The first port of the range, so alice's subnet: left by carol, who has no server now.
    let cfg = hub.state.spawner.config();
    let first = cfg.network_pool.nth_subnet(28, 0).unwrap().to_string();
    leftover(&hub, "lticontainer-carol-net", "carol", &first).await;
    launched(&hub, "alice", 101).await;
    let names: Vec<String> = hub
        .runtime
        .list_networks_now()
        .await
        .into_iter()
        .map(|n| n.name)
        .collect();
    assert_eq!(names, ["lticontainer-alice-net"]);
}

#[tokio::test]
async fn host_networking_creates_no_network() {
    let (mut cfg, spec) = hub_config();
    cfg.network = Networking::Host;
    let hub = test_hub_with(
        cfg,
        spec,
        FakeJupyter::new(),
        Arc::new(InMemoryStore::new()),
    );
    launched(&hub, "alice", 101).await;
    let created = hub.runtime.created.lock().unwrap().clone();
    assert_eq!(created[0].network, NetworkMode::Host);
    assert!(
        created[0].env["JUPYTERHUB_SERVICE_URL"].starts_with("http://127.0.0.1:"),
        "{}",
        &created[0].env["JUPYTERHUB_SERVICE_URL"]
    );
    assert!(hub.runtime.list_networks_now().await.is_empty());
    assert!(hub.forwarding.disabled().is_empty());
}

#[tokio::test]
async fn the_containers_listener_serves_only_what_a_server_calls() {
    let hub = test_hub();
    let api = container_api(&hub.state);
    let get = |path: &str| Request::get(path).body(Body::empty()).unwrap();
    let resp = api.clone().oneshot(get("/hub/api/")).await.unwrap();
    assert_status(&resp, StatusCode::OK);
    assert!(body_string(resp).await.contains("version"));
    // Identifying a token: present (403 without one).
    let resp = api.clone().oneshot(get("/hub/api/user")).await.unwrap();
    assert_status(&resp, StatusCode::FORBIDDEN);
    // Not here: the browser's OAuth step, Moodle's admin API, the launch, the proxy, pages.
    for path in [
        "/hub/api/oauth2/authorize?client_id=x",
        "/hub/api/users",
        "/hub/api/users/alice",
        "/hub/lti/launch",
        "/user/alice/lab",
        "/hub/home",
    ] {
        let resp = api.clone().oneshot(get(path)).await.unwrap();
        assert_status(&resp, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn the_containers_listener_closes_connections_from_elsewhere() {
    let hub = test_hub();
    let inner = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = inner.local_addr().unwrap();
    let listener = ServerNetworkListener::from_listener(inner, hub.state.config.clone());
    let server = tokio::spawn(axum::serve(listener, container_api(&hub.state)).into_future());
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::AsyncWriteExt;
    // Written before the close may land; the reply is the end of the stream, never HTTP.
    let _ = conn
        .write_all(b"GET /hub/api/ HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "a loopback connection got {:?}",
        String::from_utf8_lossy(&buf)
    );
    server.abort();
}
