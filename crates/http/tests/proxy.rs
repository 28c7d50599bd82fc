//! `/user/<name>/…`: access control, HTTP streaming, WebSocket bridging, a vanished server.

use std::time::Duration;

use axum::http::{StatusCode, header};
use futures_util::{SinkExt, StreamExt};
use lticontainer_http::app;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

use crate::util::*;

pub(crate) async fn running_hub(users: &[(&str, u32)]) -> TestHub {
    let hub = test_hub();
    for (u, id) in users {
        assert_status(&hub.launch(u, *id).await, StatusCode::FOUND);
    }
    for (u, _) in users {
        assert!(hub.wait_spawn(u).await.ready);
    }
    hub
}

#[tokio::test]
async fn owner_reaches_the_server_through_the_proxy() {
    let hub = running_hub(&[("alice", 101)]).await;
    let resp = hub.send(hub.get_as("/user/alice/lab", Some("alice"))).await;
    assert_status(&resp, StatusCode::OK);
    assert!(header_str(&resp, header::CONTENT_SECURITY_POLICY).contains("frame-ancestors 'self'"));
    assert_eq!(body_string(resp).await, "<html>JupyterLab</html>");
}

#[tokio::test]
async fn another_student_and_by_default_an_admin_get_403() {
    let hub = running_hub(&[("alice", 101), ("bob", 102)]).await;
    let resp = hub.send(hub.get_as("/user/alice/lab", Some("bob"))).await;
    assert_status(&resp, StatusCode::FORBIDDEN);
    let page = body_string(resp).await;
    assert!(
        page.contains("Not your server") && !page.contains("JupyterLab"),
        "{page}"
    );
    // `hub.admin_access` is off by default: alice's server is code she controls, served on the
    // hub's origin, and must not run with an admin's session.
    let admin = hub
        .send(hub.get_as("/user/alice/lab", Some("teacher")))
        .await;
    assert_status(&admin, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_admin_gets_through_with_admin_access() {
    let hub = test_hub_tuned(|cfg| cfg.admin_access = true);
    assert_status(&hub.launch("alice", 101).await, StatusCode::FOUND);
    assert!(hub.wait_spawn("alice").await.ready);
    let admin = hub
        .send(hub.get_as("/user/alice/lab", Some("teacher")))
        .await;
    assert_status(&admin, StatusCode::OK);
}

#[tokio::test]
async fn no_session_gets_the_launch_page() {
    let hub = running_hub(&[("alice", 101)]).await;
    let resp = hub.send(hub.get_as("/user/alice/lab", None)).await;
    assert_status(&resp, StatusCode::UNAUTHORIZED);
    assert!(body_string(resp).await.contains("course"));
}

#[tokio::test]
async fn user_without_server_is_sent_to_the_progress_page() {
    let hub = test_hub();
    let resp = hub.send(hub.get_as("/user/alice/lab", Some("alice"))).await;
    assert_status(&resp, StatusCode::FOUND);
    assert_eq!(
        header_str(&resp, header::LOCATION),
        "/hub/spawn-pending/alice"
    );
    let bare = hub.send(hub.get_as("/user/alice?x=1", Some("alice"))).await;
    assert_eq!(header_str(&bare, header::LOCATION), "/user/alice/?x=1");
}

#[tokio::test]
async fn bodies_stream_and_forwarding_headers_are_set() {
    let hub = running_hub(&[("alice", 101)]).await;
    let resp = hub
        .send(hub.get_as("/user/alice/stream", Some("alice")))
        .await;
    assert_status(&resp, StatusCode::OK);
    assert_eq!(body_string(resp).await, "chunk0;chunk1;chunk2;");

    let resp = hub
        .send(hub.get_as("/user/alice/headers", Some("alice")))
        .await;
    let seen: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&body_string(resp).await).unwrap();
    assert_eq!(seen["host"], HOST, "the Host header is kept");
    assert_eq!(seen["x-forwarded-proto"], "http");
    assert_eq!(seen["x-forwarded-host"], HOST);
    assert!(
        !seen
            .get("cookie")
            .is_some_and(|c| c.contains("lticontainer-session")),
        "the hub session never reaches a user's server: {seen:?}"
    );
}

#[tokio::test]
async fn vanished_server_answers_fast_and_is_marked_stopped() {
    let hub = running_hub(&[("alice", 101)]).await;
    for id in hub.runtime.running_ids() {
        hub.runtime.kill_server_and_wait(&id).await;
    }
    // The port is closed: the connection is refused at once (no connect timeout to wait out),
    // and the student gets the page.
    let resp = hub.send(hub.get_as("/user/alice/lab", Some("alice"))).await;
    assert_status(&resp, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body_string(resp).await.contains("not running any more"));
    assert!(hub.state.spawner.running("alice").is_none());
    let next = hub.send(hub.get_as("/user/alice/lab", Some("alice"))).await;
    assert_eq!(
        header_str(&next, header::LOCATION),
        "/hub/spawn-pending/alice"
    );
}

/// The one test that serves the hub on a real socket: a WebSocket through the proxy.
#[tokio::test]
async fn websocket_is_bridged_on_a_real_socket() {
    let hub = running_hub(&[("alice", 101)]).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(
        axum::serve(
            listener,
            app(hub.state.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .into_future(),
    );

    let mut req = format!("ws://{addr}/user/alice/ws")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert(header::COOKIE, hub.cookie("alice").parse().unwrap());
    let (mut ws, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
    for i in 0..3 {
        ws.send(Message::Text(format!("hello {i}").into()))
            .await
            .unwrap();
        let reply = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(
            reply.into_text().unwrap().as_str(),
            format!("echo:hello {i}")
        );
    }
    ws.close(None).await.unwrap();

    // Another student cannot open the WebSocket.
    let mut req = format!("ws://{addr}/user/alice/ws")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert(header::COOKIE, hub.cookie("bob").parse().unwrap());
    let err = tokio_tungstenite::connect_async(req).await.unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
    server.abort();
}

#[tokio::test]
async fn launch_replaces_a_running_container_whose_server_died() {
    let hub = running_hub(&[("alice", 101)]).await;
    let old = hub.runtime.running_ids();
    for id in &old {
        hub.runtime.kill_server(id);
    }
    assert_status(&hub.launch("alice", 101).await, StatusCode::FOUND);
    assert!(hub.wait_spawn("alice").await.ready);
    let now = hub.runtime.running_ids();
    assert_eq!(now.len(), 1);
    assert_ne!(now, old, "a new container replaced the dead one");
    assert_eq!(hub.runtime.count().await, 1);
    let resp = hub.send(hub.get_as("/user/alice/lab", Some("alice"))).await;
    assert_status(&resp, StatusCode::OK);
}

#[tokio::test]
async fn proxied_requests_record_activity() {
    use lticontainer_core::store::Store;
    let hub = running_hub(&[("alice", 101)]).await;
    let mut user = hub.store.user("alice").await.unwrap().unwrap();
    let old = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    user.last_activity = Some(old);
    hub.store.upsert_user(user).await.unwrap();
    let resp = hub.send(hub.get_as("/user/alice/lab", Some("alice"))).await;
    assert_status(&resp, StatusCode::OK);
    let mut seen = None;
    for _ in 0..100 {
        seen = hub
            .store
            .user("alice")
            .await
            .unwrap()
            .unwrap()
            .last_activity;
        if seen.is_some_and(|t| t > old) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(seen.is_some_and(|t| t > old), "{seen:?}");
}

#[tokio::test]
async fn user_redirect_deep_links_go_to_the_signed_in_users_server() {
    let hub = test_hub();
    let resp = hub
        .send(hub.get_as(
            "/hub/user-redirect/git-pull?repo=https%3A%2F%2Fexample.org%2Fr.git",
            Some("alice"),
        ))
        .await;
    assert_status(&resp, StatusCode::FOUND);
    assert_eq!(
        header_str(&resp, header::LOCATION),
        "/user/alice/git-pull?repo=https%3A%2F%2Fexample.org%2Fr.git"
    );
    let anonymous = hub.send(hub.get_as("/hub/user-redirect/lab", None)).await;
    assert_status(&anonymous, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn api_tokens_reach_the_server_which_checks_them_but_other_credentials_do_not() {
    let hub = running_hub(&[("alice", 101)]).await;
    let with = |auth: &str| {
        axum::http::Request::get("/user/alice/lab")
            .header(header::HOST, HOST)
            .header(header::AUTHORIZATION, auth)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    // A token goes to the server (the real jupyterhub-singleuser checks it with the hub API).
    assert_status(&hub.send(with("token abc123")).await, StatusCode::OK);
    // Anything else without a hub session is the "start from your course" page.
    for auth in ["Basic YWxpY2U6eA==", "token ", "garbage"] {
        assert_status(&hub.send(with(auth)).await, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn no_path_trick_takes_a_student_to_another_students_server() {
    // Bob, signed in, tries every spelling of Alice's server he can think of (issue 12's
    // adversarial list): none of his requests may be answered by Alice's server.
    let hub = running_hub(&[("alice", 101), ("bob", 102)]).await;
    let alice_port = hub.state.spawner.running("alice").unwrap().port;
    // The marker works: Alice's own request is answered by her server.
    let own = hub.send(hub.get_as("/user/alice/lab", Some("alice"))).await;
    assert_eq!(
        own.headers().get(SERVED_BY).and_then(|v| v.to_str().ok()),
        Some(alice_port.to_string().as_str())
    );
    let tricks = [
        "/user/ALICE/lab",
        "/user/Alice/lab",
        "/user/alice%2Flab",
        "/user/alice%2flab/",
        "/user/%61lice/lab",
        "/user/alice%00/lab",
        "/user/bob/../alice/lab",
        "/user/bob/%2e%2e/alice/lab",
        "/user/bob/..%2Falice/lab",
        "//user/alice/lab",
        "/user//alice/lab",
        "/user/./alice/lab",
        "/user/alice/../alice/lab",
        "/hub/user-redirect/../../user/alice/lab",
        "/hub/user-redirect/%2e%2e/%2e%2e/user/alice/lab",
        "/hub/../user/alice/lab",
        "/hub/spawn-pending/alice",
        "/hub/api/users/alice/server/progress",
    ];
    for path in tricks {
        let resp = hub.send(hub.get_as(path, Some("bob"))).await;
        let served_by = resp
            .headers()
            .get(SERVED_BY)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u16>().ok());
        assert_ne!(served_by, Some(alice_port), "{path} reached alice's server");
        let status = resp.status();
        let location = resp
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = body_string(resp).await;
        assert!(
            !body.contains("JupyterLab") || served_by.is_some(),
            "{path}: {body}"
        );
        // A redirect that a browser would normalise must not lead to Alice's server either.
        if status.is_redirection() {
            let normalised = normalise(&location);
            let next = hub.send(hub.get_as(&normalised, Some("bob"))).await;
            let next_by = next
                .headers()
                .get(SERVED_BY)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u16>().ok());
            assert_ne!(
                next_by,
                Some(alice_port),
                "{path} -> {location} reached alice's server"
            );
        }
    }
}

/// What a browser makes of a redirect's path: `.` and `..` segments resolved.
fn normalise(location: &str) -> String {
    let (path, query) = location.split_once('?').unwrap_or((location, ""));
    let mut out: Vec<&str> = Vec::new();
    for seg in path.split('/').skip(1) {
        match seg {
            "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let mut n = format!("/{}", out.join("/"));
    if !query.is_empty() {
        n = format!("{n}?{query}");
    }
    n
}
