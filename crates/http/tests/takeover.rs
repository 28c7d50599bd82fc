//! A server's address must not outlive its container, and only the container may answer there
//! (issue 18, item 1): the engine's events end the routing at once, and readiness and the
//! running-server check refuse a listener the container does not hold.

use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{StatusCode, header};
use lticontainer_core::Runtime;
use lticontainer_core::store::{InMemoryStore, ServerState, Store};
use lticontainer_hub::listener_owner::{Holder, ListenerCheck, ListenerOwnership, Sockets};
use lticontainer_hub::spawner::SlotState;

use crate::util::*;

/// Listener ownership as the test sets it: the containers in `foreign` have their port held by
/// a host process (pid 4242, listening socket 2); every other container holds its own
/// (socket 1).
#[derive(Default)]
struct Ownership {
    foreign: Mutex<HashSet<String>>,
    checked: Mutex<Vec<(SocketAddr, String)>>,
}

impl Ownership {
    fn is_foreign_at(&self, addr: SocketAddr) -> bool {
        let checked = self.checked.lock().unwrap();
        let foreign = self.foreign.lock().unwrap();
        checked
            .iter()
            .rev()
            .find(|(a, _)| *a == addr)
            .is_some_and(|(_, id)| foreign.contains(id))
    }
}

impl fmt::Debug for Ownership {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ownership").finish_non_exhaustive()
    }
}

impl ListenerOwnership for Ownership {
    fn check(&self, addr: SocketAddr, container_id: &str) -> ListenerCheck {
        self.checked
            .lock()
            .unwrap()
            .push((addr, container_id.to_owned()));
        if self.foreign.lock().unwrap().contains(container_id) {
            ListenerCheck::Foreign(vec![Holder {
                pid: 4242,
                comm: "python3".into(),
                container: None,
            }])
        } else {
            ListenerCheck::Container(Sockets::new([1]))
        }
    }

    fn sockets(&self, addr: SocketAddr) -> Result<Sockets, String> {
        Ok(Sockets::new([if self.is_foreign_at(addr) { 2 } else { 1 }]))
    }
}

fn hub_with(ownership: &Arc<Ownership>, http_timeout_secs: u64) -> TestHub {
    let (mut cfg, spec) = hub_config();
    cfg.http_timeout_secs = http_timeout_secs;
    let ownership = Arc::clone(ownership);
    test_hub_parts(
        cfg,
        spec,
        FakeJupyter::new(),
        Arc::new(InMemoryStore::new()),
        move |parts| parts.listeners = ownership,
    )
}

#[tokio::test]
async fn a_server_whose_container_exits_is_no_longer_routed_to() {
    let hub = test_hub();
    tokio::spawn(Arc::clone(&hub.state.spawner).watch_engine());
    assert_status(&hub.launch("bob", 102).await, StatusCode::FOUND);
    assert!(hub.wait_spawn("bob").await.ready);
    let id = hub.state.spawner.running("bob").unwrap().container_id;

    // Bob shuts his server down from JupyterLab: the container exits, nobody calls the hub.
    hub.runtime.exit(&id);
    wait_until("the exit event marks the server stopped", || {
        hub.state.spawner.running("bob").is_none()
    })
    .await;
    let resp = hub.send(hub.get_as("/user/bob/lab", Some("bob"))).await;
    assert_status(&resp, StatusCode::FOUND);
    assert_eq!(
        header_str(&resp, header::LOCATION),
        "/hub/spawn-pending/bob"
    );
    let rec = hub.store.server("bob").await.unwrap().unwrap();
    assert_eq!(rec.state, ServerState::Stopped, "{rec:?}");

    // The next launch starts a new container.
    assert_status(&hub.launch("bob", 102).await, StatusCode::FOUND);
    assert!(hub.wait_spawn("bob").await.ready);
    assert_ne!(hub.state.spawner.running("bob").unwrap().container_id, id);
}

#[tokio::test]
async fn the_watcher_rechecks_running_servers_when_it_subscribes() {
    let ownership = Arc::new(Ownership::default());
    let hub = hub_with(&ownership, 5);
    for (u, n) in [("alice", 101), ("bob", 102), ("carol", 103)] {
        assert_status(&hub.launch(u, n).await, StatusCode::FOUND);
        assert!(hub.wait_spawn(u).await.ready);
    }
    let id = |u: &str| hub.state.spawner.running(u).unwrap().container_id;
    let (alice, bob) = (id("alice"), id("bob"));
    // Before the watcher subscribes: alice's container exits unseen, and a host process takes
    // over bob's port.
    hub.runtime.exit(&alice);
    ownership.foreign.lock().unwrap().insert(bob.clone());
    tokio::spawn(Arc::clone(&hub.state.spawner).watch_engine());
    wait_until("the re-check marks both servers stopped", || {
        hub.state.spawner.running("alice").is_none() && hub.state.spawner.running("bob").is_none()
    })
    .await;
    assert!(hub.state.spawner.running("carol").is_some());
    assert!(
        hub.runtime.inspect(&bob).await.unwrap_err().is_not_found(),
        "bob's container, which no longer holds its port, is removed"
    );
}

#[tokio::test]
async fn readiness_does_not_trust_a_listener_outside_the_container() {
    let ownership = Arc::new(Ownership::default());
    let hub = hub_with(&ownership, 1);
    // Bob's container finds its port held by a host process before its server listens.
    hub.runtime.hold_servers();
    assert_status(&hub.launch("bob", 102).await, StatusCode::FOUND);
    hub.runtime.wait_starting(1).await;
    for id in hub.runtime.running_ids() {
        ownership.foreign.lock().unwrap().insert(id);
    }
    hub.runtime.release_servers();
    let ev = tokio::time::timeout(Duration::from_secs(30), hub.wait_spawn("bob"))
        .await
        .unwrap();
    assert!(
        ev.failed,
        "an answer from outside the container is not ready: {ev:?}"
    );
    assert!(hub.state.spawner.running("bob").is_none());
    let rec = hub.store.server("bob").await.unwrap().unwrap();
    assert!(
        matches!(&rec.state, ServerState::Failed(why) if why.contains("not from container") && why.contains("pid 4242")),
        "the admin's log names the process: {rec:?}"
    );
    assert_eq!(hub.runtime.count().await, 0, "the container is removed");
}

#[tokio::test]
async fn a_launch_replaces_a_server_whose_port_someone_else_holds() {
    let ownership = Arc::new(Ownership::default());
    let hub = hub_with(&ownership, 5);
    assert_status(&hub.launch("bob", 102).await, StatusCode::FOUND);
    assert!(hub.wait_spawn("bob").await.ready);
    let old = hub.state.spawner.running("bob").unwrap();
    ownership
        .foreign
        .lock()
        .unwrap()
        .insert(old.container_id.clone());

    assert_status(&hub.launch("bob", 102).await, StatusCode::FOUND);
    assert!(hub.wait_spawn("bob").await.ready);
    let new = hub.state.spawner.running("bob").unwrap();
    assert_ne!(new.container_id, old.container_id);
    assert!(
        hub.runtime
            .inspect(&old.container_id)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        ownership
            .checked
            .lock()
            .unwrap()
            .iter()
            .any(|(addr, id)| *addr == new.addr && *id == new.container_id),
        "the new server's listener was checked"
    );
    assert!(matches!(
        hub.state.spawner.state("bob"),
        SlotState::Running(_)
    ));
}

#[tokio::test]
async fn the_proxy_sends_nothing_to_a_listener_that_replaced_the_server() {
    let ownership = Arc::new(Ownership::default());
    let hub = hub_with(&ownership, 5);
    assert_status(&hub.launch("bob", 102).await, StatusCode::FOUND);
    assert!(hub.wait_spawn("bob").await.ready);
    let server = hub.state.spawner.running("bob").unwrap();

    // Bob's server stops listening and, before the hub hears of it, a host process binds the
    // port (no engine event here: the hub must notice on its own).
    hub.runtime.kill_server(&server.container_id);
    let start = Instant::now();
    let foreign = loop {
        match tokio::net::TcpListener::bind(server.addr).await {
            Ok(l) => break l,
            Err(e) => {
                assert!(start.elapsed() < Duration::from_secs(5), "{e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    ownership
        .foreign
        .lock()
        .unwrap()
        .insert(server.container_id.clone());
    let received = Arc::new(Mutex::new(Vec::<u8>::new()));
    let sink = Arc::clone(&received);
    let listening = tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = foreign.accept().await else {
                return;
            };
            let sink = Arc::clone(&sink);
            tokio::spawn(async move {
                use tokio::io::AsyncReadExt;
                let mut buf = [0u8; 4096];
                while let Ok(n) = conn.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    sink.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            });
        }
    });

    let resp = hub.send(hub.get_as("/user/bob/lab", Some("bob"))).await;
    assert_status(&resp, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body_string(resp).await.contains("not running any more"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    listening.abort();
    assert!(
        received.lock().unwrap().is_empty(),
        "the foreign listener got: {:?}",
        String::from_utf8_lossy(&received.lock().unwrap())
    );
    assert!(hub.state.spawner.running("bob").is_none());
    assert!(
        hub.runtime
            .inspect(&server.container_id)
            .await
            .unwrap_err()
            .is_not_found(),
        "the container that lost its port is removed"
    );
    let next = hub.send(hub.get_as("/user/bob/lab", Some("bob"))).await;
    assert_eq!(
        header_str(&next, header::LOCATION),
        "/hub/spawn-pending/bob"
    );
}
