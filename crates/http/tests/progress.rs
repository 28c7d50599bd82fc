//! The progress page and its event stream, and the concurrent-spawn limit.

use std::time::Duration;

use axum::http::{StatusCode, header};
use futures_util::StreamExt;
use lticontainer_core::container::StartStage;

use crate::util::*;

#[tokio::test]
async fn progress_stream_reports_steps_and_the_server_url() {
    let hub = test_hub();
    assert_status(&hub.launch("alice", 101).await, StatusCode::FOUND);
    let resp = hub
        .send(hub.get_as("/hub/api/users/alice/server/progress", Some("alice")))
        .await;
    assert_status(&resp, StatusCode::OK);
    assert!(header_str(&resp, header::CONTENT_TYPE).starts_with("text/event-stream"));
    assert_eq!(header_str(&resp, header::CACHE_CONTROL), "no-cache");
    assert_eq!(resp.headers()["x-accel-buffering"], "no");
    let body = tokio::time::timeout(Duration::from_secs(15), body_string(resp))
        .await
        .unwrap();
    let events: Vec<serde_json::Value> = body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let messages: Vec<&str> = events
        .iter()
        .filter_map(|e| e["message"].as_str())
        .collect();
    for step in [
        "Getting the image",
        "Starting your container",
        "Waiting for your server",
    ] {
        assert!(
            messages.iter().any(|m| m.contains(step)),
            "{step} missing in {messages:?}"
        );
    }
    let last = events.last().unwrap();
    assert_eq!(last["progress"], 100);
    assert_eq!(last["ready"], true);
    assert_eq!(last["url"], "/user/alice/lab");
    assert!(
        last["html_message"]
            .as_str()
            .unwrap()
            .contains("/user/alice/lab")
    );
    let mut progress: Vec<u64> = events
        .iter()
        .map(|e| e["progress"].as_u64().unwrap())
        .collect();
    let sorted = {
        let mut s = progress.clone();
        s.sort_unstable();
        s
    };
    assert_eq!(progress, sorted, "progress never goes back");
    progress.dedup();
}

#[tokio::test]
async fn progress_and_page_belong_to_their_owner() {
    let hub = test_hub();
    // Keep the spawn pending while the page is checked.
    hub.runtime.hold_servers();
    assert_status(&hub.launch("alice", 101).await, StatusCode::FOUND);
    hub.runtime.wait_starting(1).await;
    let other = hub
        .send(hub.get_as("/hub/api/users/alice/server/progress", Some("bob")))
        .await;
    assert_status(&other, StatusCode::FORBIDDEN);
    let nobody = hub.send(hub.get_as("/hub/spawn-pending/alice", None)).await;
    assert_status(&nobody, StatusCode::UNAUTHORIZED);
    assert!(body_string(nobody).await.contains("course"));
    let page = hub
        .send(hub.get_as("/hub/spawn-pending/alice", Some("alice")))
        .await;
    assert_status(&page, StatusCode::OK);
    let html = body_string(page).await;
    assert!(
        html.contains("EventSource") && html.contains("/hub/api/users/alice/server/progress"),
        "{html}"
    );
    let admin = hub
        .send(hub.get_as("/hub/spawn-pending/alice", Some("teacher")))
        .await;
    assert_status(&admin, StatusCode::OK);
    // Once the server runs, the page sends the browser straight to it.
    hub.runtime.release_servers();
    assert!(hub.wait_spawn("alice").await.ready);
    let ready = hub
        .send(hub.get_as("/hub/spawn-pending/alice", Some("alice")))
        .await;
    assert_status(&ready, StatusCode::FOUND);
    assert_eq!(header_str(&ready, header::LOCATION), "/user/alice/lab");
}

#[tokio::test]
async fn idle_user_gets_a_final_event_not_a_hang() {
    let hub = test_hub();
    let resp = hub
        .send(hub.get_as("/hub/api/users/alice/server/progress", Some("alice")))
        .await;
    let body = tokio::time::timeout(Duration::from_secs(5), body_string(resp))
        .await
        .unwrap();
    assert!(
        body.contains("\"failed\":true") && body.contains("not running"),
        "{body}"
    );
}

#[tokio::test]
async fn spawns_beyond_the_limit_wait_and_say_busy() {
    let (mut cfg, spec) = hub_config();
    cfg.max_concurrent_spawns = 1;
    let runtime = FakeJupyter::new();
    // Alice's spawn holds the one turn until the test lets her server listen.
    runtime.hold_servers();
    let hub = test_hub_with(
        cfg,
        spec,
        runtime,
        std::sync::Arc::new(lticontainer_core::store::InMemoryStore::new()),
    );
    assert_status(&hub.launch("alice", 101).await, StatusCode::FOUND);
    hub.runtime.wait_starting(1).await;
    assert_status(&hub.launch("bob", 102).await, StatusCode::FOUND);
    let resp = hub
        .send(hub.get_as("/hub/api/users/bob/server/progress", Some("bob")))
        .await;
    let mut stream = resp.into_body().into_data_stream();
    let mut body = String::new();
    let mut read_until = async |needle: &str| {
        while !body.contains(needle) {
            let chunk = tokio::time::timeout(Duration::from_secs(30), stream.next())
                .await
                .unwrap_or_else(|_| panic!("no {needle:?} in the progress stream: {body}"))
                .unwrap_or_else(|| panic!("the stream ended without {needle:?}: {body}"))
                .unwrap();
            body.push_str(&String::from_utf8_lossy(&chunk));
        }
        body.clone()
    };
    let busy = read_until("busy").await;
    assert_eq!(
        hub.runtime.count().await,
        1,
        "bob's container was created while alice held the only turn: {busy}"
    );
    hub.runtime.release_servers();
    let done = read_until("\"ready\":true").await;
    assert!(!done.contains("\"failed\":true"), "{done}");
    assert!(hub.wait_spawn("alice").await.ready);
}

#[tokio::test]
async fn spawns_of_different_users_run_side_by_side() {
    let (cfg, spec) = hub_config();
    let runtime = FakeJupyter::new();
    // No server listens until every spawn has created its container.
    runtime.hold_servers();
    let hub = test_hub_with(
        cfg,
        spec,
        runtime,
        std::sync::Arc::new(lticontainer_core::store::InMemoryStore::new()),
    );
    let users: Vec<(String, u32)> = (0..8).map(|i| (format!("student{i}"), 200 + i)).collect();
    for (u, id) in &users {
        assert_status(&hub.launch(u, *id).await, StatusCode::FOUND);
    }
    // Every spawn is under way at once (no global lock): all eight wait for their server.
    hub.runtime.wait_starting(users.len()).await;
    hub.runtime.release_servers();
    for (u, _) in &users {
        assert!(hub.wait_spawn(u).await.ready, "{u}");
    }
}

#[tokio::test]
async fn a_scheduled_start_shows_its_stages_and_a_failed_task_its_reason() {
    let hub = test_hub();
    *hub.runtime.behaviour.start_stages.lock().unwrap() = vec![
        StartStage::Pending,
        StartStage::Assigned,
        StartStage::Preparing,
        StartStage::Starting,
    ];
    // The server waits to listen until the test holds the spawn's progress.
    hub.runtime.hold_servers();
    assert_status(&hub.launch("alice", 101).await, StatusCode::FOUND);
    let progress = hub.spawn_progress("alice").await;
    hub.runtime.release_servers();
    assert!(progress.finished().await.ready);
    let events = progress.events();
    let at = |text: &str| {
        events
            .iter()
            .position(|e| e.message.contains(text))
            .unwrap_or_else(|| panic!("{text} missing in {events:?}"))
    };
    let order = [
        at("Starting your container"),
        at("Waiting for a machine of the cluster"),
        at("A machine of the cluster took your server"),
        at("Preparing your server on its machine"),
        at("Starting your server's container on its machine"),
        at("Waiting for your server to answer"),
    ];
    assert!(order.is_sorted(), "{events:?}");

    let why = "starting container failed: exec: \"jupyterhub-singleuser\": not found";
    *hub.runtime.behaviour.start_stages.lock().unwrap() = vec![
        StartStage::Pending,
        StartStage::Failed { error: why.into() },
    ];
    assert_status(&hub.launch("bob", 102).await, StatusCode::FOUND);
    let bob = hub.wait_spawn("bob").await;
    assert!(bob.failed, "{bob:?}");
    assert!(bob.message.contains(why), "{}", bob.message);
    let page = body_string(hub.send(hub.get_as("/hub/home", Some("bob"))).await).await;
    assert!(
        page.contains("jupyterhub-singleuser&quot;: not found")
            || page.contains("jupyterhub-singleuser&#34;: not found"),
        "the home page shows the task's reason: {page}"
    );
}
