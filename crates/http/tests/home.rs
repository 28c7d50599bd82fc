//! The student's own server from the hub's pages: `/hub/home` (status, stop, start, restart),
//! `/hub/logout` (with and without `shutdown_on_logout`), the failure page's retry, and the
//! form token that keeps pages elsewhere from pressing these buttons.

use std::time::Duration;

use axum::http::{Request, StatusCode, header};
use lticontainer_hub::spawner::{CANCELLED_MESSAGE, SlotState};

use crate::util::*;

/// Launches `user` and waits until the server runs; its container id.
async fn running(hub: &TestHub, user: &str, id: u32) -> String {
    assert_status(&hub.launch(user, id).await, StatusCode::FOUND);
    let ev = hub.wait_spawn(user).await;
    assert!(ev.ready, "{ev:?}");
    hub.state.spawner.running(user).unwrap().container_id
}

async fn home_of(hub: &TestHub, user: &str) -> String {
    let resp = hub.send(hub.get_as("/hub/home", Some(user))).await;
    assert_status(&resp, StatusCode::OK);
    body_string(resp).await
}

fn location(resp: &axum::response::Response) -> String {
    header_str(resp, header::LOCATION)
}

/// Waits until `user`'s spawn is under way.
async fn spawning(hub: &TestHub, user: &str) {
    for _ in 0..400 {
        if matches!(hub.state.spawner.state(user), SlotState::Spawning(_)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("{user}'s spawn did not begin");
}

#[tokio::test]
async fn home_shows_the_running_server_and_its_buttons() {
    let hub = test_hub();
    let resp = hub.send(hub.get_as("/hub/home", None)).await;
    assert_status(&resp, StatusCode::UNAUTHORIZED);
    running(&hub, "alice", 101).await;
    let (_, token) = hub.session("alice");
    let page = home_of(&hub, "alice").await;
    assert!(page.contains("data-state=\"running\""), "{page}");
    assert!(page.contains("href=\"/user/alice/lab\""), "{page}");
    for action in ["/hub/stop/alice", "/hub/restart/alice"] {
        assert!(page.contains(&format!("action=\"{action}\"")), "{page}");
    }
    assert!(
        page.contains(&format!("name=\"_xsrf\" value=\"{token}\"")),
        "{page}"
    );
    assert!(page.contains("href=\"/hub/logout\""), "{page}");
}

#[tokio::test]
async fn stop_and_start_again_from_the_home_page() {
    let hub = test_hub();
    running(&hub, "alice", 101).await;
    let resp = hub
        .send(hub.form_as("/hub/stop/alice", "alice", Some("")))
        .await;
    assert_status(&resp, StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/hub/home");
    assert_eq!(hub.runtime.count().await, 0);
    assert!(hub.runtime.list_networks_now().await.is_empty());
    let page = home_of(&hub, "alice").await;
    assert!(page.contains("data-state=\"stopped\""), "{page}");
    assert!(page.contains("action=\"/hub/spawn/alice\""), "{page}");
    let resp = hub
        .send(hub.form_as("/hub/spawn/alice", "alice", Some("")))
        .await;
    assert_status(&resp, StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/hub/spawn-pending/alice");
    assert!(hub.wait_spawn("alice").await.ready);
    assert_eq!(hub.runtime.count().await, 1);
}

#[tokio::test]
async fn restart_replaces_the_container() {
    let hub = test_hub();
    let before = running(&hub, "alice", 101).await;
    let resp = hub
        .send(hub.form_as("/hub/restart/alice", "alice", Some("")))
        .await;
    assert_status(&resp, StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/hub/spawn-pending/alice");
    assert!(hub.wait_spawn("alice").await.ready);
    let after = hub.state.spawner.running("alice").unwrap().container_id;
    assert_ne!(before, after);
    assert_eq!(hub.runtime.count().await, 1);
}

#[tokio::test]
async fn a_page_elsewhere_cannot_stop_restart_or_start_a_students_server() {
    let hub = test_hub();
    let container = running(&hub, "alice", 101).await;
    let (_, bobs_token) = hub.session("bob");
    for path in ["/hub/stop/alice", "/hub/restart/alice"] {
        // The browser sends alice's cookie with a form another site posts; the token it
        // cannot know is missing, wrong, or another user's.
        for token in [None, Some("forged"), Some(bobs_token.as_str())] {
            let resp = hub.send(hub.form_as(path, "alice", token)).await;
            assert_status(&resp, StatusCode::FORBIDDEN);
            assert!(
                body_string(resp)
                    .await
                    .contains("not sent from your hub page")
            );
        }
        // Bob, with his own valid token, may not touch alice's server either.
        let resp = hub.send(hub.form_as(path, "bob", Some(""))).await;
        assert_status(&resp, StatusCode::FORBIDDEN);
    }
    assert_eq!(
        hub.state.spawner.running("alice").unwrap().container_id,
        container
    );
    assert_eq!(hub.runtime.count().await, 1);
}

#[tokio::test]
async fn a_failed_start_shows_the_reason_and_a_retry() {
    let hub = test_hub();
    hub.runtime.engine_down_for("alice");
    assert_status(&hub.launch("alice", 101).await, StatusCode::FOUND);
    let failed = hub.wait_spawn("alice").await;
    assert!(failed.failed, "{failed:?}");
    let page = home_of(&hub, "alice").await;
    assert!(page.contains("data-state=\"failed\""), "{page}");
    assert!(
        page.contains("The container engine is not reachable"),
        "the student's words: {page}"
    );
    assert!(!page.contains("fake.sock"), "no engine details: {page}");
    assert!(page.contains(">Try again</button>"), "{page}");
    // The progress page offers the same retry, with the form token.
    let resp = hub
        .send(hub.get_as("/hub/spawn-pending/alice", Some("alice")))
        .await;
    let (_, token) = hub.session("alice");
    assert!(body_string(resp).await.contains(&token));
    hub.runtime
        .behaviour
        .engine_down_for
        .lock()
        .unwrap()
        .clear();
    let resp = hub
        .send(hub.form_as("/hub/spawn/alice", "alice", Some("")))
        .await;
    assert_status(&resp, StatusCode::SEE_OTHER);
    assert!(hub.wait_spawn("alice").await.ready);
}

#[tokio::test]
async fn a_start_under_way_can_be_cancelled_from_the_home_page() {
    let hub = test_hub();
    hub.runtime.hold_servers();
    assert_status(&hub.launch("alice", 101).await, StatusCode::FOUND);
    spawning(&hub, "alice").await;
    let page = home_of(&hub, "alice").await;
    assert!(page.contains("data-state=\"starting\""), "{page}");
    assert!(page.contains(">Cancel the start</button>"), "{page}");
    let resp = hub
        .send(hub.form_as("/hub/stop/alice", "alice", Some("")))
        .await;
    assert_status(&resp, StatusCode::SEE_OTHER);
    let ev = hub.wait_spawn("alice").await;
    assert!(ev.failed, "{ev:?}");
    assert_eq!(ev.message, CANCELLED_MESSAGE);
    assert_eq!(hub.runtime.count().await, 0);
    assert!(hub.runtime.list_networks_now().await.is_empty());
    let page = home_of(&hub, "alice").await;
    assert!(page.contains(">Try again</button>"), "{page}");
}

fn logout(
    hub: &TestHub,
    user: Option<&str>,
    fetch_site: Option<&str>,
) -> Request<axum::body::Body> {
    let mut req = hub.get_as("/hub/logout", user);
    if let Some(site) = fetch_site {
        req.headers_mut()
            .insert("sec-fetch-site", site.parse().unwrap());
    }
    req
}

#[tokio::test]
async fn logout_ends_the_session_and_keeps_the_server_by_default() {
    let hub = test_hub();
    running(&hub, "alice", 101).await;
    // JupyterLab's "Log Out" is a navigation from the hub's own origin.
    let resp = hub
        .send(logout(&hub, Some("alice"), Some("same-origin")))
        .await;
    assert_status(&resp, StatusCode::OK);
    let cookie = header_str(&resp, header::SET_COOKIE);
    assert!(cookie.starts_with("lticontainer-session=;"), "{cookie}");
    assert!(cookie.contains("Max-Age=0"), "{cookie}");
    let page = body_string(resp).await;
    assert!(page.contains("You are logged out"), "{page}");
    assert!(page.contains("keeps running"), "{page}");
    assert_eq!(hub.runtime.count().await, 1);
    // Without a session there is nothing to end; the page says so all the same.
    let resp = hub.send(logout(&hub, None, None)).await;
    assert_status(&resp, StatusCode::OK);
}

#[tokio::test]
async fn shutdown_on_logout_stops_the_server_but_not_from_another_site() {
    let hub = test_hub_tuned(|c| c.shutdown_on_logout = true);
    running(&hub, "alice", 101).await;
    // A link on another site: the hub asks, with a form only its own page can post.
    for site in [Some("cross-site"), Some("same-site"), None] {
        let resp = hub.send(logout(&hub, Some("alice"), site)).await;
        assert_status(&resp, StatusCode::OK);
        assert!(resp.headers().get(header::SET_COOKIE).is_none());
        let page = body_string(resp).await;
        assert!(page.contains("action=\"/hub/logout\""), "{page}");
    }
    for token in [None, Some("forged")] {
        let resp = hub.send(hub.form_as("/hub/logout", "alice", token)).await;
        assert_status(&resp, StatusCode::FORBIDDEN);
    }
    assert_eq!(hub.runtime.count().await, 1, "the server still runs");
    // The confirmation's own button (or JupyterLab's menu) logs out and stops the server.
    let resp = hub
        .send(hub.form_as("/hub/logout", "alice", Some("")))
        .await;
    assert_status(&resp, StatusCode::OK);
    assert!(header_str(&resp, header::SET_COOKIE).contains("Max-Age=0"));
    assert_eq!(hub.runtime.count().await, 0);
    assert!(hub.state.spawner.running("alice").is_none());
    running(&hub, "alice", 101).await;
    let resp = hub
        .send(logout(&hub, Some("alice"), Some("same-origin")))
        .await;
    assert_status(&resp, StatusCode::OK);
    assert_eq!(hub.runtime.count().await, 0);
}
