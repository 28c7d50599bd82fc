//! The notice bar inside JupyterLab: the proxy adds the hub's script to the server's pages (not
//! to the student's files), and `/hub/notice/<name>` says, as time passes on a manual clock,
//! nothing, then the activity-limit warning, then why the server was stopped; a program in the
//! server killed for lack of memory (the engine's `oom` event) is told, and the server stays.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::Value;

use crate::cull::hub_with_clock;
use crate::util::*;

/// 256 MiB.
const MEM_LIMIT: &str = "268435456";

fn browser_get(hub: &TestHub, path: &str, user: &str) -> Request<Body> {
    let mut req = hub.get_as(path, Some(user));
    req.headers_mut().insert(
        header::ACCEPT,
        "text/html,application/xhtml+xml,*/*;q=0.8".parse().unwrap(),
    );
    req.headers_mut()
        .insert(header::ACCEPT_ENCODING, "gzip, br".parse().unwrap());
    req
}

async fn notice(hub: &TestHub, user: &str, of: &str) -> (StatusCode, Value) {
    let resp = hub
        .send(hub.get_as(&format!("/hub/notice/{of}"), Some(user)))
        .await;
    let status = resp.status();
    let body = body_string(resp).await;
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn jupyter_pages_get_the_notice_script_and_the_notice_follows_the_limit() {
    let (hub, clock) = hub_with_clock(|_| {});
    hub.launched("alice", 101, &[("custom_lms_actlimit", "600")])
        .await;

    let resp = hub
        .send(browser_get(&hub, "/user/alice/tree", "alice"))
        .await;
    assert_status(&resp, StatusCode::OK);
    let page = body_string(resp).await;
    assert_eq!(
        page,
        FAKE_TREE_PAGE.replace(
            "</head>",
            "<script src=\"/hub/lab-notice.js\" data-user=\"alice\" defer></script></head>"
        )
    );
    // The student's own HTML files pass untouched.
    let resp = hub
        .send(browser_get(&hub, "/user/alice/files/page.html", "alice"))
        .await;
    assert_eq!(body_string(resp).await, FAKE_TREE_PAGE);
    let resp = hub.send(hub.get_as("/hub/lab-notice.js", None)).await;
    assert_status(&resp, StatusCode::OK);
    assert!(header_str(&resp, header::CONTENT_TYPE).starts_with("text/javascript"));
    assert!(body_string(resp).await.contains("/hub/notice/"));

    // Before the warning share of the limit: no notice, ask again when it is due.
    let (status, n) = notice(&hub, "alice", "alice").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(n["notices"], serde_json::json!([]));
    assert_eq!(n["next_poll_secs"], 15, "memory is watched");
    clock.advance(535);
    assert_eq!(notice(&hub, "alice", "alice").await.1["next_poll_secs"], 6);
    // Past 90 %: the warning, as the home page says it.
    clock.advance(10);
    let (_, n) = notice(&hub, "alice", "alice").await;
    let text = n["notices"][0].as_str().unwrap();
    assert!(
        text.contains("stops in about 1 minute(s)") && text.contains("Save your work"),
        "{n}"
    );
    // Another student may not read it.
    let (status, _) = notice(&hub, "bob", "alice").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // At the limit the server is stopped; the bar says why.
    clock.advance(55);
    assert_eq!(hub.state.spawner.cull_once().await.len(), 1);
    let (_, n) = notice(&hub, "alice", "alice").await;
    let text = n["notices"][0].as_str().unwrap();
    assert!(
        text.contains("time limit of 10 minutes") && text.contains("files are kept"),
        "{n}"
    );
}

#[tokio::test]
async fn memory_near_the_limit_is_told_on_the_home_page_and_in_the_bar() {
    let (hub, _clock) = hub_with_clock(|_| {});
    hub.launched("carla", 103, &[("custom_lms_memlimit", MEM_LIMIT)])
        .await;
    let id = hub.state.spawner.running("carla").unwrap().container_id;

    // 89 %: below the default 90 %, nothing said.
    hub.runtime.set_memory_used(&id, 228 << 20);
    assert_eq!(
        notice(&hub, "carla", "carla").await.1["notices"],
        serde_json::json!([])
    );
    let home = body_string(hub.send(hub.get_as("/hub/home", Some("carla"))).await).await;
    assert!(!home.contains("memory-warning"), "{home}");
    // 94 %: both say it, with the sizes.
    hub.runtime.set_memory_used(&id, 243 << 20);
    let (_, n) = notice(&hub, "carla", "carla").await;
    let text = n["notices"][0].as_str().unwrap();
    assert!(
        text.contains("uses 94% of its memory (243 of 256 MiB)"),
        "{n}"
    );
    assert_eq!(n["next_poll_secs"], 15);
    let home = body_string(hub.send(hub.get_as("/hub/home", Some("carla"))).await).await;
    assert!(
        home.contains("id=\"memory-warning\"") && home.contains("243 of 256 MiB"),
        "{home}"
    );
}

#[tokio::test]
async fn the_memory_warning_can_be_turned_off() {
    let (hub, _clock) = hub_with_clock(|c| c.memory_warn_percent = 0);
    hub.launched("dina", 104, &[("custom_lms_memlimit", MEM_LIMIT)])
        .await;
    let id = hub.state.spawner.running("dina").unwrap().container_id;
    hub.runtime.set_memory_used(&id, 255 << 20);
    let (_, n) = notice(&hub, "dina", "dina").await;
    assert_eq!(n["notices"], serde_json::json!([]));
    assert_eq!(n["next_poll_secs"], 60);
}

/// Launches `user` with a 256 MiB limit and returns its container id.
async fn running_with_limit(hub: &TestHub, user: &str, id: u32) -> String {
    hub.launched(user, id, &[("custom_lms_memlimit", MEM_LIMIT)])
        .await;
    hub.state.spawner.running(user).unwrap().container_id
}

/// The engine's events reach the hub in order, through one watcher: once `other`'s exit is
/// seen, every event before it was handled too.
async fn events_handled(hub: &TestHub, other: &str) {
    let id = running_with_limit(hub, other, 199).await;
    hub.runtime.exit(&id);
    wait_until("the barrier's exit event is handled", || {
        hub.state.spawner.running(other).is_none()
    })
    .await;
}

#[tokio::test]
async fn a_kernel_killed_for_lack_of_memory_leaves_the_server_running_and_is_told() {
    let (hub, clock) = hub_with_clock(|_| {});
    tokio::spawn(Arc::clone(&hub.state.spawner).watch_engine());
    let id = running_with_limit(&hub, "erin", 105).await;

    // The OOM killer kills erin's kernel; her Jupyter server (the container) goes on.
    hub.runtime.out_of_memory(&id);
    events_handled(&hub, "zed").await;
    assert_eq!(
        hub.state.spawner.running("erin").map(|r| r.container_id),
        Some(id),
        "the server is still erin's running server"
    );
    let resp = hub.send(hub.get_as("/user/erin/lab", Some("erin"))).await;
    assert_status(&resp, StatusCode::OK);
    let (_, n) = notice(&hub, "erin", "erin").await;
    let text = n["notices"][0].as_str().unwrap();
    assert!(
        text.starts_with(
            "A program in your server ran out of memory (its limit is 256 MiB) and was stopped"
        ),
        "{n}"
    );
    let home = body_string(hub.send(hub.get_as("/hub/home", Some("erin"))).await).await;
    assert!(
        home.contains("ran out of memory (its limit is 256 MiB)"),
        "{home}"
    );

    // Ten minutes on, the notice is gone.
    clock.advance(601);
    let (_, n) = notice(&hub, "erin", "erin").await;
    assert_eq!(n["notices"], serde_json::json!([]));
}

#[tokio::test]
async fn a_server_ended_by_the_oom_killer_says_why_it_stopped() {
    let (hub, _clock) = hub_with_clock(|_| {});
    tokio::spawn(Arc::clone(&hub.state.spawner).watch_engine());
    let id = running_with_limit(&hub, "fynn", 106).await;
    let other = running_with_limit(&hub, "gwen", 107).await;

    // Fynn's server process itself is killed: `oom`, then the container dies.
    hub.runtime.out_of_memory(&id);
    hub.runtime.exit(&id);
    // Gwen's server simply exits.
    hub.runtime.exit(&other);
    wait_until("both exits are handled", || {
        hub.state.spawner.running("fynn").is_none() && hub.state.spawner.running("gwen").is_none()
    })
    .await;
    let (_, n) = notice(&hub, "fynn", "fynn").await;
    assert_eq!(
        n["notices"][0],
        "Your server was stopped because it ran out of memory. Your files are kept; you can \
         start it again. Use less memory, or ask your teacher for a higher limit.",
        "{n}"
    );
    let (_, n) = notice(&hub, "gwen", "gwen").await;
    assert_eq!(
        n["notices"],
        serde_json::json!([]),
        "no memory story for gwen"
    );
}
