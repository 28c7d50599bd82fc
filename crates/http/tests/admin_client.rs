//! `lticontainer`'s admin subcommands' client ([`AdminClient`]) against a hub on the fake
//! engine served on 127.0.0.1:0: users listed page by page with their servers, one user shown,
//! a server stopped, the culler's round run now, and the errors an admin must act on.

use lticontainer_core::store::{Store, UserRecord};
use lticontainer_hub::admin_client::{AdminClient, AdminError, Culled, StopAnswer};
use lticontainer_hub::admin_token::AdminToken;

use crate::cull::hub_with_clock;
use crate::util::*;

const TOKEN: &str = "cli-admin-token-0123";

/// Serves `hub` on a loopback port; its URL.
async fn serve(hub: &TestHub) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = lticontainer_http::app(hub.state.clone())
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test]
async fn the_admin_commands_list_show_stop_and_cull_through_the_api() {
    let (hub, clock) = hub_with_clock(|c| c.api_token = Some(AdminToken::new(TOKEN).unwrap()));
    let url = serve(&hub).await;
    let client = AdminClient::new(&url, TOKEN, None).unwrap();
    assert!(client.users().await.unwrap().is_empty());

    hub.launched("alice", 101, &[("custom_lms_actlimit", "600")])
        .await;
    hub.launched("bob", 102, &[]).await;
    let users = client.users().await.unwrap();
    let names: Vec<&str> = users.iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["alice", "bob"]);
    assert!(users.iter().all(|u| u["server"].is_string()), "{users:?}");

    let alice = client.user("alice").await.unwrap();
    assert_eq!(alice["servers"][""]["ready"], true, "{alice}");
    assert!(matches!(
        client.user("nobody").await,
        Err(AdminError::NoSuchUser(n)) if n == "nobody"
    ));

    // `stop` stops bob's server through the API: the engine has one container left.
    assert_eq!(client.stop("bob").await.unwrap(), StopAnswer::Stopped);
    assert_eq!(hub.runtime.count().await, 1);
    assert!(client.user("bob").await.unwrap()["server"].is_null());

    // `cull` runs the culler's round now: nothing is over a limit, then alice's limit passes.
    assert!(client.cull().await.unwrap().is_empty());
    clock.advance(600);
    assert_eq!(
        client.cull().await.unwrap(),
        [Culled {
            name: "alice".into(),
            reason: "act_limit".into()
        }]
    );
    assert_eq!(hub.runtime.count().await, 0);
}

#[tokio::test]
async fn the_user_list_is_read_page_by_page() {
    let hub = test_hub_tuned(|c| c.api_token = Some(AdminToken::new(TOKEN).unwrap()));
    let created = std::time::SystemTime::now();
    for i in 0..205u32 {
        let user = UserRecord {
            name: format!("student{i:03}"),
            lti_user_id: i.to_string(),
            consumer_key: "moodle".into(),
            is_admin: false,
            last_launch: None,
            created: created + std::time::Duration::from_secs(u64::from(i)),
            last_activity: None,
        };
        hub.store.upsert_user(user).await.unwrap();
    }
    let url = serve(&hub).await;
    let users = AdminClient::new(&url, TOKEN, None)
        .unwrap()
        .users()
        .await
        .unwrap();
    assert_eq!(users.len(), 205);
    assert_eq!(users[204]["name"], "student204");
}

#[tokio::test]
async fn a_wrong_token_and_a_hub_that_is_down_say_what_to_do() {
    let hub = test_hub_tuned(|c| c.api_token = Some(AdminToken::new(TOKEN).unwrap()));
    let url = serve(&hub).await;
    let err = AdminClient::new(&url, "not-the-token", None)
        .unwrap()
        .users()
        .await
        .unwrap_err();
    assert!(
        matches!(err, AdminError::Refused { status: 403, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("api_token"), "{err}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let err = AdminClient::new(&format!("http://127.0.0.1:{port}"), TOKEN, None)
        .unwrap()
        .cull()
        .await
        .unwrap_err();
    assert!(matches!(err, AdminError::Unreachable { .. }), "{err}");
    assert!(
        err.to_string().contains("cannot reach the hub") && err.to_string().contains("refused"),
        "{err}"
    );
}
