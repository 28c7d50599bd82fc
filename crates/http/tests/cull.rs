//! Limits that protect the machine, on the fake engine with a manual clock: the activity limit
//! (warned on the home page, then the server stopped, files kept), idle culling (the idle server
//! stopped, the busy one kept: activity from the proxy and from the store's one record), and the
//! maximum age.

use std::sync::Arc;

use axum::http::StatusCode;
use lticontainer_core::clock::{Clock, ManualClock};
use lticontainer_core::store::{InMemoryStore, Store};
use lticontainer_hub::HubConfig;
use lticontainer_hub::spawner::CullReason;

use crate::util::*;

/// A hub with `tune`d settings whose spawner, sessions and culler read `clock`.
pub(crate) fn hub_with_clock(tune: impl FnOnce(&mut HubConfig)) -> (TestHub, Arc<ManualClock>) {
    let (mut cfg, spec) = hub_config();
    tune(&mut cfg);
    let clock = Arc::new(ManualClock::new(now()));
    let c = Arc::clone(&clock);
    let hub = test_hub_parts(
        cfg,
        spec,
        FakeJupyter::new(),
        Arc::new(InMemoryStore::new()),
        move |parts| parts.clock = c,
    );
    (hub, clock)
}

/// Launches `user`, with `lms_actlimit` when given, and waits until the server runs.
async fn running(hub: &TestHub, user: &str, id: u32, act_limit: Option<&str>) {
    let custom: Vec<(&str, &str)> = act_limit
        .map(|l| ("custom_lms_actlimit", l))
        .into_iter()
        .collect();
    hub.launched(user, id, &custom).await;
}

async fn home_of(hub: &TestHub, user: &str) -> String {
    let resp = hub.send(hub.get_as("/hub/home", Some(user))).await;
    assert_status(&resp, StatusCode::OK);
    body_string(resp).await
}

#[tokio::test]
async fn the_activity_limit_warns_then_stops_the_server_and_keeps_the_files() {
    let (hub, clock) = hub_with_clock(|_| {});
    running(&hub, "alice", 101, Some("600")).await;
    let page = home_of(&hub, "alice").await;
    assert!(
        page.contains("id=\"time-left\"") && page.contains("about 10 more minute(s)"),
        "{page}"
    );
    // Past 90 % of the limit the page warns.
    clock.advance(545);
    let page = home_of(&hub, "alice").await;
    assert!(page.contains("id=\"limit-warning\""), "{page}");
    assert!(page.contains("stops in about 1 minute(s)"), "{page}");
    assert!(hub.state.spawner.cull_once().await.is_empty());
    assert_eq!(hub.runtime.count().await, 1);
    // At the limit the culler stops it.
    clock.advance(55);
    assert_eq!(
        hub.state.spawner.cull_once().await,
        [("alice".to_owned(), CullReason::ActLimit)]
    );
    assert_eq!(hub.runtime.count().await, 0);
    assert!(hub.runtime.list_networks_now().await.is_empty());
    let page = home_of(&hub, "alice").await;
    assert!(page.contains("data-state=\"stopped\""), "{page}");
    assert!(page.contains("time limit of 10 minutes"), "{page}");
    assert!(page.contains("Your files are kept"), "{page}");
    // The progress page's stream says it too (with the button to start again).
    let resp = hub
        .send(hub.get_as("/hub/api/users/alice/server/progress", Some("alice")))
        .await;
    assert!(body_string(resp).await.contains("time limit of 10 minutes"));
    // The home directory on the host is left alone.
    let homes: Vec<_> = walk(hub.home.path());
    assert!(homes.iter().any(|p| p.ends_with("alice")), "{homes:?}");
    // A new start gets the full limit again.
    running(&hub, "alice", 101, Some("600")).await;
    assert!(hub.state.spawner.time_left("alice").unwrap().secs >= 599);
}

/// Every directory below `root`.
fn walk(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                todo.push(e.path());
                out.push(e.path());
            }
        }
    }
    out
}

#[tokio::test]
async fn no_activity_limit_means_no_time_left_and_no_stop() {
    let (hub, clock) = hub_with_clock(|_| {});
    running(&hub, "alice", 101, Some("0")).await;
    assert_eq!(hub.state.spawner.time_left("alice"), None);
    assert!(!home_of(&hub, "alice").await.contains("time-left"));
    clock.advance(1_000_000);
    assert!(hub.state.spawner.cull_once().await.is_empty());
}

#[tokio::test]
async fn an_idle_server_is_culled_and_busy_ones_are_kept() {
    let (hub, clock) = hub_with_clock(|c| c.cull_idle_secs = 300);
    for (i, user) in ["alice", "bob", "carol"].into_iter().enumerate() {
        running(&hub, user, 101 + u32::try_from(i).unwrap(), Some("0")).await;
    }
    clock.advance(200);
    // Bob's browser goes through the proxy; the write to the store is in the background.
    let resp = hub.send(hub.get_as("/user/bob/lab", Some("bob"))).await;
    assert_status(&resp, StatusCode::OK);
    let at = clock.now();
    for _ in 0..500 {
        let rec = hub.store.server("bob").await.unwrap().unwrap();
        if rec.last_activity >= Some(at) {
            break;
        }
        tokio::task::yield_now().await;
    }
    // Carol's server reports kernel activity (the single-user activity API writes the store).
    hub.store
        .touch_activity("carol", clock.now())
        .await
        .unwrap();
    clock.advance(150);
    assert_eq!(
        hub.state.spawner.cull_once().await,
        [("alice".to_owned(), CullReason::Idle)]
    );
    assert!(hub.state.spawner.running("bob").is_some());
    assert!(hub.state.spawner.running("carol").is_some());
    assert!(
        home_of(&hub, "alice")
            .await
            .contains("not used for 5 minutes")
    );
    // Once they stop being used, they go too.
    clock.advance(300);
    let mut culled = hub.state.spawner.cull_once().await;
    culled.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        culled,
        [
            ("bob".to_owned(), CullReason::Idle),
            ("carol".to_owned(), CullReason::Idle)
        ]
    );
    assert_eq!(hub.runtime.count().await, 0);
}

#[tokio::test]
async fn a_server_past_the_maximum_age_is_stopped_however_busy() {
    let (hub, clock) = hub_with_clock(|c| {
        c.cull_max_age_secs = 1000;
        c.cull_idle_secs = 300;
    });
    running(&hub, "alice", 101, Some("0")).await;
    // Busy all along (activity every 250 s, under the idle time): kept until 1000 s.
    for round in 1..=4 {
        clock.advance(250);
        hub.store
            .touch_activity("alice", clock.now())
            .await
            .unwrap();
        let culled = hub.state.spawner.cull_once().await;
        if round < 4 {
            assert!(culled.is_empty(), "round {round}: {culled:?}");
        } else {
            assert_eq!(culled, [("alice".to_owned(), CullReason::MaxAge)]);
        }
    }
    assert!(hub.state.spawner.running("alice").is_none());
}
