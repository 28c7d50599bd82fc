//! The progress page and its event stream, and the concurrent-spawn limit.

use std::time::Duration;

use axum::http::{StatusCode, header};

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
    *hub.runtime.behaviour.serve_delay.lock().unwrap() = Duration::from_millis(500);
    assert_status(&hub.launch("alice", 101).await, StatusCode::FOUND);
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
    *runtime.behaviour.serve_delay.lock().unwrap() = Duration::from_millis(300);
    let hub = test_hub_with(
        cfg,
        spec,
        runtime,
        std::sync::Arc::new(lticontainer_core::store::InMemoryStore::new()),
    );
    assert_status(&hub.launch("alice", 101).await, StatusCode::FOUND);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_status(&hub.launch("bob", 102).await, StatusCode::FOUND);
    let resp = hub
        .send(hub.get_as("/hub/api/users/bob/server/progress", Some("bob")))
        .await;
    let body = tokio::time::timeout(Duration::from_secs(15), body_string(resp))
        .await
        .unwrap();
    assert!(body.contains("busy"), "{body}");
    assert!(
        body.contains("\"ready\":true"),
        "bob's spawn went on after alice's: {body}"
    );
    assert!(hub.wait_spawn("alice").await.ready);
}

#[tokio::test]
async fn spawns_of_different_users_run_side_by_side() {
    let (cfg, spec) = hub_config();
    let runtime = FakeJupyter::new();
    *runtime.behaviour.serve_delay.lock().unwrap() = Duration::from_millis(400);
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
    for (u, _) in &users {
        assert!(hub.wait_spawn(u).await.ready, "{u}");
    }
    let overlap = hub
        .runtime
        .behaviour
        .max_starting
        .load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        overlap,
        users.len(),
        "every spawn was under way at once: no global lock"
    );
}
