//! Spawn failures and re-adoption after a hub restart.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use lticontainer_core::Runtime;
use lticontainer_core::container::{ContainerSpec, labels};
use lticontainer_core::network::NetworkSpec;
use lticontainer_core::store::{ServerState, Store};

use crate::util::*;

#[tokio::test]
async fn engine_failure_fails_one_spawn_and_others_go_on() {
    let hub = test_hub();
    hub.runtime.engine_down_for("bob");
    assert_status(&hub.launch("alice", 101).await, StatusCode::FOUND);
    assert_status(&hub.launch("bob", 102).await, StatusCode::FOUND);
    let bob = hub.wait_spawn("bob").await;
    assert!(bob.failed, "{bob:?}");
    assert!(
        bob.message.contains("container engine is not reachable"),
        "{}",
        bob.message
    );
    assert!(
        !bob.message.contains("fake.sock"),
        "engine details stay in the admin log"
    );
    assert!(hub.wait_spawn("alice").await.ready);
    assert_eq!(
        hub.send(hub.get_as("/user/alice/lab", Some("alice")))
            .await
            .status(),
        StatusCode::OK
    );
    // Bob's progress stream replays the failure; his server URL sends him to that page.
    let resp = hub
        .send(hub.get_as("/hub/api/users/bob/server/progress", Some("bob")))
        .await;
    assert!(body_string(resp).await.contains("\"failed\":true"));
    let rec = hub.store.server("bob").await.unwrap().unwrap();
    assert!(
        matches!(rec.state, ServerState::Failed(ref why) if why.contains("fake.sock")),
        "{rec:?}"
    );
    // Once the engine is back, bob can launch again.
    hub.runtime
        .behaviour
        .engine_down_for
        .lock()
        .unwrap()
        .clear();
    assert_status(&hub.launch("bob", 102).await, StatusCode::FOUND);
    assert!(hub.wait_spawn("bob").await.ready);
}

#[tokio::test]
async fn launches_of_a_running_server_together_check_it_once_and_a_dead_one_is_still_replaced() {
    use std::sync::atomic::Ordering;
    let hub = test_hub();
    assert_status(&hub.launch("alice", 101).await, StatusCode::FOUND);
    assert!(hub.wait_spawn("alice").await.ready);
    let first = hub
        .store
        .server("alice")
        .await
        .unwrap()
        .unwrap()
        .container_id;

    // Ten clicks at once (a class re-opening the activity): every one is sent on, and the
    // engine is asked about the server once, not ten times.
    let inspects = &hub.runtime.behaviour.inspects;
    let before = inspects.load(Ordering::SeqCst);
    let launches = futures_util::future::join_all((0..10).map(|_| hub.launch("alice", 101))).await;
    for resp in &launches {
        assert_status(resp, StatusCode::FOUND);
    }
    let asked = inspects.load(Ordering::SeqCst) - before;
    assert!(
        (1..=3).contains(&asked),
        "{asked} inspections for 10 launches"
    );
    assert_eq!(
        hub.store
            .server("alice")
            .await
            .unwrap()
            .unwrap()
            .container_id,
        first
    );

    // A server whose container is gone is found by the next check and replaced.
    let id = first.clone().unwrap();
    hub.runtime.stop(&id, Duration::ZERO).await.unwrap();
    hub.runtime.remove(&id).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_status(&hub.launch("alice", 101).await, StatusCode::FOUND);
    assert!(hub.wait_spawn("alice").await.ready);
    let second = hub
        .store
        .server("alice")
        .await
        .unwrap()
        .unwrap()
        .container_id;
    assert!(second.is_some() && second != first, "{first:?} {second:?}");
}

#[tokio::test]
async fn an_engine_hiccup_is_tried_once_more_and_a_second_one_is_the_students_failure() {
    let hub = test_hub();
    hub.runtime
        .behaviour
        .engine_hiccup_for
        .lock()
        .unwrap()
        .extend([("alice".to_owned(), 1), ("bob".to_owned(), 2)]);
    assert_status(&hub.launch("alice", 101).await, StatusCode::FOUND);
    assert_status(&hub.launch("bob", 102).await, StatusCode::FOUND);

    // Alice's first start met the hiccup; the second went through, and she read one message.
    let progress = hub.spawn_progress("alice").await;
    let alice = tokio::time::timeout(Duration::from_secs(30), progress.finished())
        .await
        .unwrap();
    assert!(alice.ready, "{alice:?}");
    let retries = progress
        .events()
        .into_iter()
        .filter(|e| e.message == "The container engine did not answer; trying once more")
        .count();
    assert_eq!(retries, 1, "{:?}", progress.events());
    assert_eq!(
        hub.runtime
            .created
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.labels.get(labels::USER).map(String::as_str) == Some("alice"))
            .count(),
        1,
        "one container was created for alice (the first attempt created none)"
    );

    // Bob's engine failed twice: one retry only, then the failure page.
    let bob = hub.wait_spawn("bob").await;
    assert!(bob.failed, "{bob:?}");
    assert!(
        bob.message.contains("container engine is not reachable"),
        "{}",
        bob.message
    );
    assert_eq!(
        hub.runtime.behaviour.engine_hiccup_for.lock().unwrap()["bob"],
        0
    );
}

#[tokio::test]
async fn server_that_never_answers_times_out_and_is_removed() {
    let (mut cfg, spec) = hub_config();
    cfg.http_timeout_secs = 1;
    let runtime = FakeJupyter::new();
    runtime
        .behaviour
        .no_server
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let hub = test_hub_with(
        cfg,
        spec,
        runtime,
        Arc::new(lticontainer_core::store::InMemoryStore::new()),
    );
    assert_status(&hub.launch("alice", 101).await, StatusCode::FOUND);
    let ev = tokio::time::timeout(Duration::from_secs(10), hub.wait_spawn("alice"))
        .await
        .unwrap();
    assert!(ev.failed && ev.message.contains("did not answer"), "{ev:?}");
    assert_eq!(
        hub.runtime.count().await,
        0,
        "the failed container is removed"
    );
    let rec = hub.store.server("alice").await.unwrap().unwrap();
    assert!(
        matches!(rec.state, ServerState::Failed(ref why) if why.contains("server exploded")),
        "the admin gets the container's log: {rec:?}"
    );
}

#[tokio::test]
async fn a_server_the_store_cannot_record_as_running_is_removed_not_left_running() {
    // The server answered, then the hub could not write "running" (a full disk): the spawn
    // fails, and its container must go with it — it used to keep running, unrouted, on a port
    // the hub handed out again.
    let hub = test_hub();
    hub.store.fail_server_records_in(Some(ServerState::Running));
    assert_status(&hub.launch("alice", 101).await, StatusCode::FOUND);
    let ev = tokio::time::timeout(Duration::from_secs(10), hub.wait_spawn("alice"))
        .await
        .unwrap();
    assert!(ev.failed, "{ev:?}");
    assert_eq!(
        hub.runtime.count().await,
        0,
        "the unrecorded container is removed"
    );
    assert!(hub.state.spawner.running("alice").is_none());

    // Once the store writes again, the next launch starts a server as usual.
    hub.store.fail_server_records_in(None);
    hub.launched("alice", 101, &[]).await;
    assert_eq!(hub.runtime.count().await, 1);
}

#[tokio::test]
async fn restarted_hub_readopts_running_servers() {
    let first = test_hub();
    for (u, id) in [("alice", 101), ("bob", 102), ("carol", 103)] {
        assert_status(&first.launch(u, id).await, StatusCode::FOUND);
    }
    for u in ["alice", "bob", "carol"] {
        assert!(first.wait_spawn(u).await.ready);
    }
    // A container left half-created by a killed hub (not running), and a stored server whose
    // container vanished.
    let instance = "lticontainer".to_owned();
    let mut leftover = ContainerSpec::new("lticontainer-dave", IMAGE);
    leftover.labels = BTreeMap::from([
        (labels::MANAGED_BY.to_owned(), instance.clone()),
        (labels::USER.to_owned(), "dave".to_owned()),
        (labels::PORT.to_owned(), "1".to_owned()),
    ]);
    leftover.port = 1;
    let info = first.runtime.create_and_start(&leftover).await.unwrap();
    first.runtime.stop(&info.id, Duration::ZERO).await.unwrap();
    // dave's network, which nothing removed.
    let mut net = NetworkSpec::new("lticontainer-dave-net", "10.213.250.0/28".parse().unwrap());
    net.labels = BTreeMap::from([
        (labels::MANAGED_BY.to_owned(), instance.clone()),
        (labels::USER.to_owned(), "dave".to_owned()),
    ]);
    first.runtime.create_network(&net).await.unwrap();
    let mut gone = first.store.server("carol").await.unwrap().unwrap();
    gone.user = "erin".into();
    gone.port = 2;
    gone.container_id = Some("vanished".into());
    first.store.put_server(gone).await.unwrap();

    // The "restarted" hub: same engine, same store, new state.
    let (cfg, spec) = hub_config();
    let second = test_hub_with(cfg, spec, first.runtime.clone(), first.store.clone());
    let report = second.state.spawner.adopt().await.unwrap();
    assert_eq!(report.adopted, vec!["alice", "bob", "carol"]);
    assert_eq!(report.removed, vec!["lticontainer-dave"]);
    assert_eq!(report.stopped, vec!["erin"]);
    assert_eq!(report.removed_networks, vec!["lticontainer-dave-net"]);
    // The running servers keep their networks, whose bridges get forwarding turned off again.
    let kept: Vec<String> = second
        .runtime
        .list_networks_now()
        .await
        .into_iter()
        .filter_map(|n| n.interface)
        .collect();
    assert_eq!(kept.len(), 3);
    let mut again = second.forwarding.disabled();
    again.sort();
    assert_eq!(again, kept);
    assert_eq!(
        second.runtime.count().await,
        3,
        "no duplicates, no leftovers"
    );
    for u in ["alice", "bob", "carol"] {
        // The session key differs between the two hubs here, so use the second hub's cookie.
        let resp = second
            .send(second.get_as(&format!("/user/{u}/lab"), Some(u)))
            .await;
        assert_status(&resp, StatusCode::OK);
    }
    // A launch after the restart reuses the adopted server.
    assert_status(&second.launch("alice", 101).await, StatusCode::FOUND);
    assert!(second.wait_spawn("alice").await.ready);
    assert_eq!(second.runtime.count().await, 3);
    assert_eq!(
        second.store.server("erin").await.unwrap().unwrap().state,
        ServerState::Stopped
    );
}

#[tokio::test]
async fn restarted_hub_finishes_a_spawn_the_previous_hub_started() {
    let first = test_hub();
    // The server does not listen until the test lets it, and the "hub" is replaced before.
    first.runtime.hold_servers();
    assert_status(&first.launch("alice", 101).await, StatusCode::FOUND);
    first.runtime.wait_starting(1).await;
    // The first hub records the container once the engine has created it.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while first
        .store
        .server("alice")
        .await
        .unwrap()
        .is_none_or(|r| r.container_id.is_none())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the container was never recorded"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rec = first.store.server("alice").await.unwrap().unwrap();
    assert_eq!(
        rec.state,
        ServerState::Pending,
        "the first hub is still waiting"
    );

    let (cfg, spec) = hub_config();
    let second = test_hub_with(cfg, spec, first.runtime.clone(), first.store.clone());
    let report = second.state.spawner.adopt().await.unwrap();
    assert_eq!(report.finishing, vec!["lticontainer-alice"]);
    assert!(report.adopted.is_empty());
    second.runtime.release_servers();
    let done = second.wait_spawn("alice").await;
    assert!(done.ready, "{done:?}");
    assert_eq!(
        second.store.server("alice").await.unwrap().unwrap().state,
        ServerState::Running
    );
    let resp = second
        .send(second.get_as("/user/alice/lab", Some("alice")))
        .await;
    assert_status(&resp, StatusCode::OK);
    assert_eq!(second.runtime.count().await, 1);
}

#[tokio::test]
async fn a_server_whose_port_was_taken_starts_again_on_another_port() {
    // The container dies as Jupyter Server does when another program took its port between the
    // hub's check and the server's bind (issue 20): the hub starts it once more on a fresh port,
    // and the student sees one message about it, then their server.
    let hub = test_hub();
    hub.runtime.port_taken_for("alice", 1);
    assert_status(&hub.launch("alice", 101).await, StatusCode::FOUND);
    let progress = hub.spawn_progress("alice").await;
    let last = tokio::time::timeout(Duration::from_secs(30), progress.finished())
        .await
        .unwrap();
    assert!(last.ready, "{last:?}");
    let retries: Vec<_> = progress
        .events()
        .into_iter()
        .filter(|e| e.message.contains("again on another port"))
        .collect();
    assert_eq!(retries.len(), 1, "{:?}", progress.events());
    let ports: Vec<u16> = hub
        .runtime
        .created
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.port)
        .collect();
    assert_eq!(
        ports.len(),
        2,
        "two containers: the one that died and its replacement"
    );
    assert_ne!(ports[0], ports[1]);
    assert_eq!(
        hub.runtime.count().await,
        1,
        "the dead container was removed"
    );
    assert_eq!(
        hub.send(hub.get_as("/user/alice/lab", Some("alice")))
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_second_taken_port_is_a_failure_the_student_reads() {
    // Only one retry: a server that dies the same way twice fails with the usual page.
    let hub = test_hub();
    hub.runtime.port_taken_for("bob", 2);
    assert_status(&hub.launch("bob", 102).await, StatusCode::FOUND);
    let last = hub.wait_spawn("bob").await;
    assert!(last.failed, "{last:?}");
    assert!(
        last.message.contains("stopped right after it started"),
        "{}",
        last.message
    );
    assert_eq!(hub.runtime.created.lock().unwrap().len(), 2);
    assert_eq!(hub.runtime.count().await, 0, "nothing left behind");
}
