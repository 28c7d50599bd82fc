//! `GET /hub/metrics`: launches, spawns, proxied requests, proxy errors and culls driven on the
//! fake engine, then scraped and checked line by line against what happened; who may scrape.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use lticontainer_hub::admin_token::AdminToken;
use lticontainer_hub::spawner::CullReason;

use crate::cull::hub_with_clock;
use crate::util::*;

const ADMIN_TOKEN: &str = "metrics-admin-token-0123";

fn scrape(auth: Option<&str>, cookie: Option<&str>) -> Request<Body> {
    let mut b = Request::builder()
        .uri("/hub/metrics")
        .header(header::HOST, HOST);
    if let Some(a) = auth {
        b = b.header(header::AUTHORIZATION, a);
    }
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::empty()).unwrap()
}

async fn metrics(hub: &TestHub) -> String {
    let resp = hub
        .send(scrape(Some(&format!("token {ADMIN_TOKEN}")), None))
        .await;
    assert_status(&resp, StatusCode::OK);
    assert!(header_str(&resp, header::CONTENT_TYPE).starts_with("text/plain; version=0.0.4"));
    body_string(resp).await
}

/// Asserts that `text` has each of `lines` as a whole line.
fn assert_lines(text: &str, lines: &[&str]) {
    for want in lines {
        assert!(
            text.lines().any(|l| l == *want),
            "missing {want:?} in:\n{text}"
        );
    }
}

#[tokio::test]
async fn the_numbers_are_what_happened() {
    let (hub, clock) = hub_with_clock(|c| {
        c.api_token = Some(AdminToken::new(ADMIN_TOKEN).unwrap());
        c.cull_idle_secs = 60;
    });
    let before = metrics(&hub).await;
    assert_lines(
        &before,
        &[
            r#"jupyterhub_server_spawn_duration_seconds_count{status="success"} 0"#,
            "jupyterhub_running_servers 0",
            r#"lticontainer_launches_total{outcome="accepted"} 0"#,
            "lticontainer_proxy_requests_total 0",
        ],
    );

    // Two servers start, one spawn fails (the engine is down for carol), one launch is refused.
    for (user, id) in [("alice", 101), ("bob", 102)] {
        assert_status(&hub.launch(user, id).await, StatusCode::FOUND);
        assert!(hub.wait_spawn(user).await.ready);
    }
    hub.runtime.engine_down_for("carol");
    assert_status(&hub.launch("carol", 103).await, StatusCode::FOUND);
    assert!(hub.wait_spawn("carol").await.failed);
    let stale = signed_body(launch_params("dave", 104), now() - 86_400, "n-stale");
    let refused = hub.send(launch_request(stale)).await;
    assert!(refused.status().is_client_error(), "{}", refused.status());

    // Two requests reach alice's server; bob's server dies and his next request finds it gone.
    for _ in 0..2 {
        let resp = hub.send(hub.get_as("/user/alice/lab", Some("alice"))).await;
        assert_status(&resp, StatusCode::OK);
    }
    let bob = hub.state.spawner.running("bob").unwrap();
    hub.runtime.kill_server_and_wait(&bob.container_id).await;
    let resp = hub.send(hub.get_as("/user/bob/lab", Some("bob"))).await;
    assert_status(&resp, StatusCode::SERVICE_UNAVAILABLE);

    let mid = metrics(&hub).await;
    assert_lines(
        &mid,
        &[
            r#"jupyterhub_server_spawn_duration_seconds_count{status="success"} 2"#,
            r#"jupyterhub_server_spawn_duration_seconds_bucket{le="+Inf",status="success"} 2"#,
            r#"jupyterhub_server_spawn_duration_seconds_count{status="failure"} 1"#,
            r#"jupyterhub_server_spawn_duration_seconds_count{status="cancelled"} 0"#,
            "jupyterhub_running_servers 1",
            "lticontainer_pending_spawns 0",
            "jupyterhub_total_users 3",
            r#"lticontainer_launches_total{outcome="accepted"} 3"#,
            r#"lticontainer_launches_total{outcome="refused"} 1"#,
            r#"lticontainer_launches_total{outcome="error"} 0"#,
            r#"lticontainer_errors_total{kind="spawn"} 1"#,
            r#"lticontainer_errors_total{kind="proxy_unreachable"} 1"#,
            r#"lticontainer_errors_total{kind="proxy_failed"} 0"#,
            "lticontainer_proxy_requests_total 2",
            "lticontainer_proxy_websocket_connections_total 0",
            r#"lticontainer_culls_total{reason="idle"} 0"#,
            r#"jupyterhub_server_stop_seconds_count{status="success"} 0"#,
            r#"jupyterhub_active_users{period="24h"} 3"#,
            r#"jupyterhub_active_users{period="30d"} 3"#,
        ],
    );
    // Analytics are off in this hub: no analytics counters.
    assert!(!mid.contains("lticontainer_analytics_"), "{mid}");

    // alice idles past the limit and is culled.
    clock.advance(61);
    assert_eq!(
        hub.state.spawner.cull_once().await,
        [("alice".to_owned(), CullReason::Idle)]
    );
    let after = metrics(&hub).await;
    assert_lines(
        &after,
        &[
            r#"lticontainer_culls_total{reason="idle"} 1"#,
            r#"lticontainer_culls_total{reason="act_limit"} 0"#,
            r#"lticontainer_errors_total{kind="cull"} 0"#,
            "jupyterhub_running_servers 0",
            r#"jupyterhub_server_stop_seconds_count{status="success"} 1"#,
            r#"jupyterhub_server_stop_seconds_bucket{le="+Inf",status="success"} 1"#,
            r#"jupyterhub_server_stop_seconds_count{status="failure"} 0"#,
        ],
    );
    // A week on, nobody was active in the last day; all three in the last 30 days.
    clock.advance(8 * 86_400);
    assert_lines(
        &metrics(&hub).await,
        &[
            r#"jupyterhub_active_users{period="24h"} 0"#,
            r#"jupyterhub_active_users{period="7d"} 0"#,
            r#"jupyterhub_active_users{period="30d"} 3"#,
        ],
    );
}

#[tokio::test]
async fn only_the_admin_token_scrapes_unless_metrics_are_public() {
    let (hub, _clock) = hub_with_clock(|c| {
        c.api_token = Some(AdminToken::new(ADMIN_TOKEN).unwrap());
    });
    let cookie = hub.cookie("teacher");
    for (auth, cookie) in [
        (None, None),
        (Some("token wrong-token-0123456789"), None),
        (None, Some(cookie.as_str())),
    ] {
        let resp = hub.send(scrape(auth, cookie)).await;
        assert_status(&resp, StatusCode::FORBIDDEN);
        assert!(!body_string(resp).await.contains("jupyterhub_"));
    }
    let in_url = Request::builder()
        .uri(format!("/hub/metrics?token={ADMIN_TOKEN}"))
        .header(header::HOST, HOST)
        .body(Body::empty())
        .unwrap();
    assert_status(&hub.send(in_url).await, StatusCode::FORBIDDEN);
    assert!(metrics(&hub).await.contains("jupyterhub_running_servers 0"));

    // Public: anyone may scrape, also without any admin token configured.
    let (public, _clock) = hub_with_clock(|c| c.metrics_public = true);
    let resp = public.send(scrape(None, None)).await;
    assert_status(&resp, StatusCode::OK);
    assert!(
        body_string(resp)
            .await
            .contains("jupyterhub_running_servers 0")
    );
}
