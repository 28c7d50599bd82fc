//! The admin API mod_lticontainer calls (`/hub/api/users…` with `[hub] api_token`): listing,
//! reading, stopping and deleting users on the fake engine.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use lticontainer_core::store::{InMemoryStore, ServerState, Store};
use lticontainer_hub::admin_token::AdminToken;
use serde_json::Value;

use crate::util::*;

const ADMIN_TOKEN: &str = "moodle-admin-token-0123";

/// A hub with the admin token configured, or none when `token` is `None`.
fn admin_hub(token: Option<&str>) -> TestHub {
    let (mut cfg, spec) = hub_config();
    cfg.api_token = token.map(|t| AdminToken::new(t).unwrap());
    test_hub_with(
        cfg,
        spec,
        FakeJupyter::new(),
        Arc::new(InMemoryStore::new()),
    )
}

fn request(method: &str, path: &str, auth: Option<&str>) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, HOST);
    if let Some(a) = auth {
        b = b.header(header::AUTHORIZATION, a);
    }
    b.body(Body::empty()).unwrap()
}

fn admin(method: &str, path: &str) -> Request<Body> {
    request(method, path, Some(&format!("token {ADMIN_TOKEN}")))
}

async fn json(resp: axum::response::Response) -> Value {
    serde_json::from_str(&body_string(resp).await).unwrap()
}

/// The `name` of each user model in a `GET /hub/api/users` answer.
/// Launches `user` and waits until the server runs.
async fn running(hub: &TestHub, user: &str, id: u32) {
    assert_status(&hub.launch(user, id).await, StatusCode::FOUND);
    let ev = hub.wait_spawn(user).await;
    assert!(ev.ready, "{ev:?}");
}

/// The `JUPYTERHUB_API_TOKEN` the last container of `user` was given.
fn server_token(hub: &TestHub, user: &str) -> String {
    let created = hub.runtime.created.lock().unwrap();
    let spec = created
        .iter()
        .rev()
        .find(|s| s.name.contains(user))
        .unwrap();
    spec.env["JUPYTERHUB_API_TOKEN"].to_owned()
}

async fn assert_forbidden(hub: &TestHub, req: Request<Body>, message: &str) {
    let resp = hub.send(req).await;
    assert_status(&resp, StatusCode::FORBIDDEN);
    assert_eq!(
        json(resp).await,
        serde_json::json!({"status": 403, "message": message})
    );
}

#[tokio::test]
async fn lists_users_with_the_admin_token_in_either_scheme() {
    let hub = admin_hub(Some(ADMIN_TOKEN));
    running(&hub, "alice", 101).await;
    assert_status(&hub.launch("bob", 102).await, StatusCode::FOUND);
    hub.wait_spawn("bob").await;
    for auth in [
        format!("token {ADMIN_TOKEN}"),
        format!("Bearer {ADMIN_TOKEN}"),
    ] {
        let resp = hub
            .send(request("GET", "/hub/api/users", Some(&auth)))
            .await;
        assert_status(&resp, StatusCode::OK);
        assert!(!header_str(&resp, "x-jupyterhub-version".parse().unwrap()).is_empty());
        let list = json(resp).await;
        assert_eq!(names(&list), ["alice", "bob"], "{auth}");
    }
    let page = json(
        hub.send(admin("GET", "/hub/api/users?offset=1&limit=5"))
            .await,
    )
    .await;
    assert_eq!(page.as_array().unwrap().len(), 1);
    assert_eq!(page[0]["name"], "bob");
    let resp = hub.send(admin("GET", "/hub/api/users?limit=all")).await;
    assert_status(&resp, StatusCode::BAD_REQUEST);
    assert!(
        json(resp).await["message"]
            .as_str()
            .unwrap()
            .contains("limit")
    );
}

#[tokio::test]
async fn wrong_missing_or_unconfigured_tokens_get_jupyterhubs_403() {
    let hub = admin_hub(Some(ADMIN_TOKEN));
    running(&hub, "alice", 101).await;
    let invalid = "Missing or invalid credentials.";
    for path in ["/hub/api/users", "/hub/api/users/alice"] {
        assert_forbidden(&hub, request("GET", path, None), invalid).await;
        assert_forbidden(
            &hub,
            request("GET", path, Some("token wrong-token-123")),
            invalid,
        )
        .await;
        assert_forbidden(
            &hub,
            request("GET", path, Some(&format!("Basic {ADMIN_TOKEN}"))),
            invalid,
        )
        .await;
    }
    for (method, path) in [
        ("DELETE", "/hub/api/users/alice/server"),
        ("DELETE", "/hub/api/users/alice"),
    ] {
        assert_forbidden(
            &hub,
            request(method, path, Some("token nope-nope-nope")),
            invalid,
        )
        .await;
    }
    // A server's own token is valid but lacks the admin scopes.
    let token = server_token(&hub, "alice");
    assert_forbidden(
        &hub,
        request("GET", "/hub/api/users", Some(&format!("token {token}"))),
        "Action is not authorized with current scopes; requires any of [admin:users]",
    )
    .await;
    // Nothing was stopped by any of that.
    assert!(hub.state.spawner.running("alice").is_some());

    // No token configured: the admin API is off, whatever is sent.
    let off = admin_hub(None);
    assert_forbidden(&off, admin("GET", "/hub/api/users"), invalid).await;
    assert_forbidden(&off, admin("DELETE", "/hub/api/users/alice"), invalid).await;
}

#[tokio::test]
async fn user_model_has_jupyterhubs_fields() {
    let hub = admin_hub(Some(ADMIN_TOKEN));
    running(&hub, "alice", 101).await;
    let resp = hub.send(admin("GET", "/hub/api/users/alice")).await;
    assert_status(&resp, StatusCode::OK);
    let u = json(resp).await;
    assert_eq!(u["kind"], "user");
    assert_eq!(u["name"], "alice");
    assert_eq!(u["admin"], false);
    assert_eq!(u["roles"], serde_json::json!(["user"]));
    assert_eq!(u["groups"], serde_json::json!([]));
    assert_eq!(u["server"], "/user/alice/");
    assert_eq!(u["pending"], Value::Null);
    assert_eq!(u["auth_state"], Value::Null);
    for field in ["created", "last_activity"] {
        let t = u[field].as_str().unwrap_or_else(|| panic!("{field}: {u}"));
        assert!(t.ends_with('Z') && t.contains('T'), "{field}: {t}");
    }
    let server = &u["servers"][""];
    assert_eq!(server["ready"], true);
    assert_eq!(server["stopped"], false);
    assert_eq!(server["url"], "/user/alice/");
    assert_eq!(
        server["progress_url"],
        "/hub/api/users/alice/server/progress"
    );
    assert!(server["started"].as_str().unwrap().ends_with('Z'));
    let container = hub.state.spawner.running("alice").unwrap().container_id;
    assert_eq!(server["state"]["object_id"], container.as_str());
    // Field by field, the properties of JupyterHub 5's REST API description (rest-api.yml,
    // components/schemas/User and Server; `created` is in JupyterHub's user_model too).
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let mut user_fields = [
        "name",
        "kind",
        "admin",
        "roles",
        "groups",
        "server",
        "pending",
        "created",
        "last_activity",
        "servers",
        "auth_state",
    ];
    user_fields.sort_unstable();
    assert_eq!(keys(&u), user_fields);
    let mut server_fields = [
        "name",
        "ready",
        "stopped",
        "pending",
        "url",
        "progress_url",
        "full_url",
        "full_progress_url",
        "started",
        "last_activity",
        "state",
        "user_options",
    ];
    server_fields.sort_unstable();
    assert_eq!(keys(server), server_fields);

    // A stopped server: no URL, no servers.
    assert_status(
        &hub.send(admin("DELETE", "/hub/api/users/alice/server"))
            .await,
        StatusCode::NO_CONTENT,
    );
    let u = json(hub.send(admin("GET", "/hub/api/users/alice")).await).await;
    assert_eq!(u["server"], Value::Null);
    assert_eq!(u["servers"], serde_json::json!({}));
}

#[tokio::test]
async fn unknown_users_are_jupyterhubs_404() {
    let hub = admin_hub(Some(ADMIN_TOKEN));
    for (method, path) in [
        ("GET", "/hub/api/users/nobody"),
        ("DELETE", "/hub/api/users/nobody/server"),
        ("DELETE", "/hub/api/users/nobody"),
    ] {
        let resp = hub.send(admin(method, path)).await;
        assert_status(&resp, StatusCode::NOT_FOUND);
        assert_eq!(
            json(resp).await,
            serde_json::json!({"status": 404, "message": "Not Found"}),
            "{method} {path}"
        );
    }
    let resp = hub
        .send(admin("POST", "/hub/api/users/nobody/server"))
        .await;
    assert_status(&resp, StatusCode::NOT_FOUND);
    let resp = hub
        .send(admin("PATCH", "/hub/api/users/nobody/server"))
        .await;
    assert_status(&resp, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn deleting_the_server_removes_the_container_and_revokes_its_tokens() {
    let hub = admin_hub(Some(ADMIN_TOKEN));
    running(&hub, "alice", 101).await;
    running(&hub, "bob", 102).await;
    let container = hub.state.spawner.running("alice").unwrap().container_id;
    let token = server_token(&hub, "alice");
    let whoami = |t: &str| request("GET", "/hub/api/user", Some(&format!("token {t}")));
    assert_status(&hub.send(whoami(&token)).await, StatusCode::OK);

    let resp = hub
        .send(admin("DELETE", "/hub/api/users/alice/server"))
        .await;
    assert_status(&resp, StatusCode::NO_CONTENT);

    use lticontainer_core::Runtime;
    let gone = hub.runtime.inspect(&container).await.unwrap_err();
    assert!(gone.is_not_found(), "{gone:?}");
    assert_eq!(hub.runtime.count().await, 1, "bob's container stays");
    assert!(hub.state.spawner.running("alice").is_none());
    let rec = hub.store.server("alice").await.unwrap().unwrap();
    assert_eq!(rec.state, ServerState::Stopped);
    assert_eq!(rec.address, None);
    assert_status(&hub.send(whoami(&token)).await, StatusCode::FORBIDDEN);
    assert_status(
        &hub.send(whoami(&server_token(&hub, "bob"))).await,
        StatusCode::OK,
    );
    // The user stays, and stopping again is a no-op 204 as in JupyterHub.
    assert!(hub.store.user("alice").await.unwrap().is_some());
    assert_status(
        &hub.send(admin("DELETE", "/hub/api/users/alice/server"))
            .await,
        StatusCode::NO_CONTENT,
    );
    // The next launch starts a fresh server with new credentials.
    running(&hub, "alice", 101).await;
    assert_ne!(
        hub.state.spawner.running("alice").unwrap().container_id,
        container
    );
    assert_ne!(server_token(&hub, "alice"), token);
}

#[tokio::test]
async fn a_record_left_running_by_an_earlier_hub_is_stopped_too() {
    let hub = admin_hub(Some(ADMIN_TOKEN));
    running(&hub, "alice", 101).await;
    // The spawn manager forgets the server (as after a restart without adoption).
    let r = hub.state.spawner.running("alice").unwrap();
    let mut rec = hub.store.server("alice").await.unwrap().unwrap();
    hub.state
        .spawner
        .mark_stopped("alice", &r.container_id)
        .await;
    rec.state = ServerState::Running;
    hub.store.put_server(rec).await.unwrap();

    assert_status(
        &hub.send(admin("DELETE", "/hub/api/users/alice/server"))
            .await,
        StatusCode::NO_CONTENT,
    );
    assert_eq!(hub.runtime.count().await, 0);
    assert_eq!(
        hub.store.server("alice").await.unwrap().unwrap().state,
        ServerState::Stopped
    );
}

#[tokio::test]
async fn deleting_a_user_stops_the_server_and_forgets_the_user() {
    let hub = admin_hub(Some(ADMIN_TOKEN));
    running(&hub, "alice", 101).await;
    running(&hub, "bob", 102).await;
    let token = server_token(&hub, "alice");

    let resp = hub.send(admin("DELETE", "/hub/api/users/alice")).await;
    assert_status(&resp, StatusCode::NO_CONTENT);

    assert_eq!(hub.runtime.count().await, 1);
    assert!(hub.state.spawner.running("alice").is_none());
    assert!(hub.store.user("alice").await.unwrap().is_none());
    assert!(hub.store.server("alice").await.unwrap().is_none());
    assert_status(
        &hub.send(request(
            "GET",
            "/hub/api/user",
            Some(&format!("token {token}")),
        ))
        .await,
        StatusCode::FORBIDDEN,
    );
    assert_status(
        &hub.send(admin("GET", "/hub/api/users/alice")).await,
        StatusCode::NOT_FOUND,
    );
    let list = json(hub.send(admin("GET", "/hub/api/users")).await).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["name"], "bob");
    // A new launch brings the user back with a new server.
    running(&hub, "alice", 101).await;
    assert!(hub.store.user("alice").await.unwrap().is_some());
}

/// A hub with the admin token whose fake servers take a minute to answer: spawns stay under way.
fn slow_hub() -> TestHub {
    let (mut cfg, spec) = hub_config();
    cfg.api_token = Some(AdminToken::new(ADMIN_TOKEN).unwrap());
    let runtime = FakeJupyter::new();
    runtime.hold_servers();
    test_hub_with(cfg, spec, runtime, Arc::new(InMemoryStore::new()))
}

/// Launches `user` and waits until the spawn is under way.
async fn spawning(hub: &TestHub, user: &str, id: u32) {
    assert_status(&hub.launch(user, id).await, StatusCode::FOUND);
    for _ in 0..400 {
        if matches!(
            hub.state.spawner.state(user),
            lticontainer_hub::spawner::SlotState::Spawning(_)
        ) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("{user}'s spawn did not begin");
}

#[tokio::test]
async fn stopping_a_server_still_starting_cancels_the_start() {
    let hub = slow_hub();
    spawning(&hub, "alice", 101).await;
    let u = json(hub.send(admin("GET", "/hub/api/users/alice")).await).await;
    assert_eq!(u["pending"], "spawn");
    assert_eq!(u["servers"][""]["ready"], false);
    // JupyterHub interrupts a pending spawn and answers 204 once the server is stopped.
    let resp = hub
        .send(admin("DELETE", "/hub/api/users/alice/server"))
        .await;
    assert_status(&resp, StatusCode::NO_CONTENT);
    assert_eq!(header_str(&resp, header::CONTENT_TYPE), "text/plain");
    let ev = hub.wait_spawn("alice").await;
    assert!(ev.failed, "{ev:?}");
    assert_eq!(ev.message, lticontainer_hub::spawner::CANCELLED_MESSAGE);
    assert_eq!(hub.runtime.count().await, 0, "the container is gone");
    assert!(hub.runtime.list_networks_now().await.is_empty());
    let rec = hub.store.server("alice").await.unwrap().unwrap();
    assert_eq!(rec.state, ServerState::Stopped);
    let u = json(hub.send(admin("GET", "/hub/api/users/alice")).await).await;
    assert_eq!(u["pending"], Value::Null);
    assert_eq!(u["servers"], serde_json::json!({}));
    // The student can start again at once.
    hub.runtime.release_servers();
    running(&hub, "alice", 101).await;
}

#[tokio::test]
async fn deleting_a_user_whose_server_is_starting_cancels_the_start() {
    let hub = slow_hub();
    spawning(&hub, "alice", 101).await;
    let resp = hub.send(admin("DELETE", "/hub/api/users/alice")).await;
    assert_status(&resp, StatusCode::NO_CONTENT);
    assert!(hub.store.user("alice").await.unwrap().is_none());
    assert_eq!(hub.runtime.count().await, 0);
    assert!(hub.runtime.list_networks_now().await.is_empty());
}

#[tokio::test]
async fn starting_a_server_answers_as_jupyterhub() {
    let hub = admin_hub(Some(ADMIN_TOKEN));
    running(&hub, "alice", 101).await;
    let resp = hub.send(admin("POST", "/hub/api/users/alice/server")).await;
    assert_status(&resp, StatusCode::BAD_REQUEST);
    assert_eq!(
        json(resp).await,
        serde_json::json!({"status": 400, "message": "alice is already running"})
    );
    hub.state.spawner.stop("alice").await.unwrap();
    let resp = hub.send(admin("POST", "/hub/api/users/alice/server")).await;
    assert_status(&resp, StatusCode::CREATED);
    assert_eq!(header_str(&resp, header::CONTENT_TYPE), "text/plain");
    assert!(hub.state.spawner.running("alice").is_some());
    assert_eq!(hub.runtime.count().await, 1);
}

#[tokio::test]
async fn starting_a_server_that_is_already_starting_is_202() {
    let hub = slow_hub();
    spawning(&hub, "alice", 101).await;
    let resp = hub.send(admin("POST", "/hub/api/users/alice/server")).await;
    assert_status(&resp, StatusCode::ACCEPTED);
    assert!(
        matches!(
            hub.state.spawner.state("alice"),
            lticontainer_hub::spawner::SlotState::Spawning(_)
        ),
        "the start goes on"
    );
    assert!(
        hub.runtime.created.lock().unwrap().len() <= 1,
        "no second container"
    );
}

const PAGINATION: &str = "application/jupyterhub-pagination+json";

fn paginated(path: &str) -> Request<Body> {
    let mut req = admin("GET", path);
    req.headers_mut()
        .insert(header::ACCEPT, PAGINATION.parse().unwrap());
    req
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_list_is_paginated_in_jupyterhubs_envelope_when_asked() {
    let hub = admin_hub(Some(ADMIN_TOKEN));
    for (i, name) in ["alice", "bob", "carol"].into_iter().enumerate() {
        running(&hub, name, 101 + u32::try_from(i).unwrap()).await;
    }
    let page = json(hub.send(paginated("/hub/api/users?limit=2")).await).await;
    assert_eq!(names(&page["items"]), ["alice", "bob"]);
    assert_eq!(
        page["_pagination"],
        serde_json::json!({
            "offset": 0, "limit": 2, "total": 3,
            "next": {"offset": 2, "limit": 2, "url": "http://hub.test/hub/api/users?offset=2&limit=2"},
        })
    );
    let page = json(hub.send(paginated("/hub/api/users?offset=2&limit=2")).await).await;
    assert_eq!(names(&page["items"]), ["carol"]);
    assert_eq!(page["_pagination"]["next"], Value::Null);
    // The envelope's default page is JupyterHub's 50.
    let page = json(hub.send(paginated("/hub/api/users")).await).await;
    assert_eq!(
        page["_pagination"],
        serde_json::json!({"offset": 0, "limit": 50, "total": 3, "next": null})
    );
    // Without the Accept header: the plain list, everyone (mod_lticontainer's call).
    let list = json(hub.send(admin("GET", "/hub/api/users")).await).await;
    assert_eq!(names(&list), ["alice", "bob", "carol"]);
    let list = json(
        hub.send(admin("GET", "/hub/api/users?offset=-1&limit=0"))
            .await,
    )
    .await;
    assert_eq!(
        names(&list),
        ["bob"],
        "JupyterHub takes |offset| and at least 1"
    );
    let resp = hub.send(admin("GET", "/hub/api/users?limit=all")).await;
    assert_status(&resp, StatusCode::BAD_REQUEST);
    assert_eq!(
        json(resp).await["message"],
        "Invalid argument type, offset and limit must be integers"
    );
}

#[tokio::test]
async fn the_list_filters_by_name_and_state_and_sorts() {
    let hub = admin_hub(Some(ADMIN_TOKEN));
    running(&hub, "alice", 101).await;
    running(&hub, "bob", 102).await;
    running(&hub, "malik", 103).await;
    hub.state.spawner.stop("bob").await.unwrap();
    let get = |q: &str| admin("GET", &format!("/hub/api/users?{q}"));
    assert_eq!(
        names(&json(hub.send(get("state=ready")).await).await),
        ["alice", "malik"]
    );
    assert_eq!(
        names(&json(hub.send(get("state=active")).await).await),
        ["alice", "malik"]
    );
    assert_eq!(
        names(&json(hub.send(get("state=inactive")).await).await),
        ["bob"]
    );
    assert_eq!(
        names(&json(hub.send(get("name_filter=LI")).await).await),
        ["alice", "malik"]
    );
    assert_eq!(
        names(&json(hub.send(get("name_filter=li&state=ready&sort=-name")).await).await),
        ["malik", "alice"]
    );
    let page = json(hub.send(paginated("/hub/api/users?state=inactive")).await).await;
    assert_eq!(page["_pagination"]["total"], 1);
    let resp = hub.send(get("state=running")).await;
    assert_status(&resp, StatusCode::BAD_REQUEST);
    assert_eq!(
        json(resp).await,
        serde_json::json!({"status": 400, "message": "Unrecognized state filter: 'running'"})
    );
    let resp = hub.send(get("sort=created")).await;
    assert_status(&resp, StatusCode::BAD_REQUEST);
    assert_eq!(
        json(resp).await["message"],
        "sort must be 'id', 'name', or 'last_activity', not 'created'"
    );
}

#[tokio::test]
async fn a_start_still_waiting_for_its_turn_is_cancelled_before_it_makes_anything() {
    let (mut cfg, spec) = hub_config();
    cfg.api_token = Some(AdminToken::new(ADMIN_TOKEN).unwrap());
    cfg.max_concurrent_spawns = 1;
    let runtime = FakeJupyter::new();
    runtime.hold_servers();
    let hub = test_hub_with(cfg, spec, runtime, Arc::new(InMemoryStore::new()));
    spawning(&hub, "alice", 101).await;
    // Bob's start waits for alice's to end (one at a time).
    spawning(&hub, "bob", 102).await;
    let resp = hub.send(admin("DELETE", "/hub/api/users/bob/server")).await;
    assert_status(&resp, StatusCode::NO_CONTENT);
    let ev = hub.wait_spawn("bob").await;
    assert_eq!(ev.message, lticontainer_hub::spawner::CANCELLED_MESSAGE);
    assert!(
        hub.runtime
            .created
            .lock()
            .unwrap()
            .iter()
            .all(|s| !s.name.contains("bob")),
        "bob's start made no container"
    );
    assert!(matches!(
        hub.state.spawner.state("alice"),
        lticontainer_hub::spawner::SlotState::Spawning(_)
    ));
    let resp = hub
        .send(admin("DELETE", "/hub/api/users/alice/server"))
        .await;
    assert_status(&resp, StatusCode::NO_CONTENT);
    assert_eq!(hub.runtime.count().await, 0);
    assert!(hub.runtime.list_networks_now().await.is_empty());
}

#[tokio::test]
async fn a_stop_during_the_engines_container_creation_waits_for_its_answer() {
    let hub = admin_hub(Some(ADMIN_TOKEN));
    let gate = CreateGate::closed();
    *hub.runtime.behaviour.create_gate.lock().unwrap() = Some(gate.clone());
    assert_status(&hub.launch("alice", 101).await, StatusCode::FOUND);
    // The spawn is in the engine's container creation, which has not answered yet.
    gate.entered.notified().await;
    let mut stop = {
        let app = lticontainer_http::app(hub.state.clone());
        tokio::spawn(async move {
            use tower::ServiceExt;
            app.oneshot(admin("DELETE", "/hub/api/users/alice/server"))
                .await
                .unwrap()
        })
    };
    // JupyterHub's pending stop, for as long as the creation holds up the cleanup.
    loop {
        assert!(
            !stop.is_finished(),
            "the stop ended before the engine answered"
        );
        let u = json(hub.send(admin("GET", "/hub/api/users/alice")).await).await;
        if u["pending"] == "stop" {
            break;
        }
        tokio::task::yield_now().await;
    }
    // The stop waits for the engine's answer, so that the cleanup sees every container the
    // spawn made: it does not end while the creation is unanswered (a stop that did not wait
    // would end here within milliseconds).
    let early = tokio::time::timeout(std::time::Duration::from_millis(300), &mut stop).await;
    assert!(early.is_err(), "the stop ended before the engine answered");
    // Now the engine answers; the cleanup goes on and the stop ends.
    gate.release.add_permits(1);
    let resp = stop.await.unwrap();
    assert_status(&resp, StatusCode::NO_CONTENT);
    let ev = hub.wait_spawn("alice").await;
    assert_eq!(ev.message, lticontainer_hub::spawner::CANCELLED_MESSAGE);
    // Once the creation has ended, whenever that was, its container is not left behind.
    gate.done.notified().await;
    assert_eq!(hub.runtime.count().await, 0, "no container left behind");
    let u = json(hub.send(admin("GET", "/hub/api/users/alice")).await).await;
    assert_eq!(u["pending"], Value::Null);
}

#[tokio::test]
async fn a_mapped_login_is_listed_and_deleted_under_the_lms_login() {
    // mod_lticontainer's user tab matches `name` to Moodle's username and deletes by it; the
    // hub runs an e-mail-style login under its mapped name.
    let hub = admin_hub(Some(ADMIN_TOKEN));
    let login = "hanako.yamada@example.com";
    let mapped = lticontainer_core::launch::normalize_username(login).unwrap();
    assert_ne!(mapped, login);
    assert_status(
        &hub.launch("Hanako.Yamada@Example.com", 103).await,
        StatusCode::FOUND,
    );
    assert!(hub.wait_spawn(&mapped).await.ready);
    running(&hub, "bob", 102).await;

    let list = json(hub.send(admin("GET", "/hub/api/users")).await).await;
    assert_eq!(names(&list), [login, "bob"]);
    assert_eq!(list[0]["server"], format!("/user/{mapped}/"));
    let one = json(
        hub.send(admin("GET", &format!("/hub/api/users/{login}")))
            .await,
    )
    .await;
    assert_eq!(one["name"], login);

    let resp = hub
        .send(admin("DELETE", &format!("/hub/api/users/{login}/server")))
        .await;
    assert_status(&resp, StatusCode::NO_CONTENT);
    assert!(hub.state.spawner.running(&mapped).is_none());
    assert_eq!(hub.runtime.count().await, 1);
    let resp = hub
        .send(admin("DELETE", &format!("/hub/api/users/{login}")))
        .await;
    assert_status(&resp, StatusCode::NO_CONTENT);
    assert!(hub.store.user(&mapped).await.unwrap().is_none());
    // An unknown login is 404.
    assert_status(
        &hub.send(admin("GET", "/hub/api/users/nobody@example.com"))
            .await,
        StatusCode::NOT_FOUND,
    );
}
