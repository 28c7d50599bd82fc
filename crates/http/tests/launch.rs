//! `POST /hub/lti/launch`: accepted launches spawn, refused ones spawn nothing.

use axum::http::{StatusCode, header};
use lticontainer_core::store::{ServerState, Store};

use crate::util::*;

#[tokio::test]
async fn launch_sets_session_redirects_and_spawns() {
    let hub = test_hub();
    let resp = hub.launch("alice", 101).await;
    assert_status(&resp, StatusCode::FOUND);
    assert_eq!(
        header_str(&resp, header::LOCATION),
        "/hub/spawn-pending/alice"
    );
    let cookie = header_str(&resp, header::SET_COOKIE);
    assert!(cookie.starts_with("lticontainer-session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );
    let csp = header_str(&resp, header::CONTENT_SECURITY_POLICY);
    assert_eq!(csp, "frame-ancestors 'self'");

    let done = hub.wait_spawn("alice").await;
    assert!(done.ready, "{done:?}");
    assert_eq!(done.url.as_deref(), Some("/user/alice/lab"));

    let created = hub.runtime.created.lock().unwrap().clone();
    assert_eq!(created.len(), 1);
    let spec = &created[0];
    assert!(spec.env.contains_key("JUPYTERHUB_API_TOKEN"));
    assert_eq!(&spec.env["JUPYTERHUB_DEFAULT_URL"], "/lab");
    assert!(spec.env["JUPYTERHUB_SERVICE_URL"].ends_with(&format!(":{}/user/alice/", spec.port)));
    assert!(spec.env.contains_key("JUPYTERHUB_ROOT_DIR"));
    assert_eq!(spec.labels["lticontainer.port"], spec.port.to_string());

    // The home directory exists now (owner and mode are the spec's).
    let home = std::path::Path::new(&spec.env["JUPYTERHUB_ROOT_DIR"]);
    assert!(home.is_dir(), "{}", home.display());
    assert!(home.starts_with(hub.home.path()));
    {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(home).unwrap();
        // No host account: uid = base_id + LTI user_id, gid = base_id (see
        // docs/original-system.md, "Identity").
        assert_eq!((meta.uid(), meta.gid()), (30101, 30000));
        assert_eq!(meta.mode() & 0o7777, 0o700);
        let works = home.join("jupyter/works");
        assert_eq!(std::fs::metadata(&works).unwrap().uid(), 30101);
    }

    let user = hub.store.user("alice").await.unwrap().unwrap();
    assert!(user.last_launch.is_some());
    let server = hub.store.server("alice").await.unwrap().unwrap();
    assert_eq!(server.state, ServerState::Running);
    assert_eq!(server.port, spec.port);
}

async fn assert_nothing_spawned(hub: &TestHub) {
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(
        hub.runtime.count().await,
        0,
        "a refused launch must not spawn"
    );
    assert!(hub.store.servers().await.unwrap().is_empty());
}

#[tokio::test]
async fn tampered_launch_is_refused_and_spawns_nothing() {
    let hub = test_hub();
    let body = signed_body(launch_params("alice", 101), now(), "nonce-tamper");
    let tampered = body.replace("ext_user_username=alice", "ext_user_username=mallory");
    assert_ne!(body, tampered);
    let resp = hub.send(launch_request(tampered)).await;
    assert_status(&resp, StatusCode::UNAUTHORIZED);
    assert!(
        header_str(&resp, header::SET_COOKIE).is_empty(),
        "no session for a refused launch"
    );
    let page = body_string(resp).await;
    assert!(page.contains("tell your teacher"), "{page}");
    assert!(
        !page.contains("base string"),
        "admin details stay in the log: {page}"
    );
    assert_nothing_spawned(&hub).await;
}

#[tokio::test]
async fn replayed_launch_is_refused() {
    let hub = test_hub();
    let body = signed_body(launch_params("alice", 101), now(), "nonce-replay");
    let first = hub.send(launch_request(body.clone())).await;
    assert_status(&first, StatusCode::FOUND);
    hub.wait_spawn("alice").await;
    let again = hub.send(launch_request(body)).await;
    assert_status(&again, StatusCode::UNAUTHORIZED);
    assert!(header_str(&again, header::SET_COOKIE).is_empty());
    assert_eq!(
        hub.runtime.count().await,
        1,
        "the replay spawned nothing more"
    );
}

#[tokio::test]
async fn stale_launch_is_refused_and_spawns_nothing() {
    let hub = test_hub();
    let body = signed_body(launch_params("alice", 101), now() - 3600, "nonce-stale");
    let resp = hub.send(launch_request(body)).await;
    assert_status(&resp, StatusCode::UNAUTHORIZED);
    assert_nothing_spawned(&hub).await;
}

#[tokio::test]
async fn malformed_launch_is_a_bad_request() {
    let hub = test_hub();
    let resp = hub
        .send(launch_request("user_id=1&lti_version=LTI-1p0".into()))
        .await;
    assert_status(&resp, StatusCode::BAD_REQUEST);
    assert_nothing_spawned(&hub).await;
}

#[tokio::test]
async fn second_launch_reuses_the_running_server_and_concurrent_ones_join() {
    let hub = test_hub();
    // Two launches back to back: the second joins the pending spawn.
    assert_status(&hub.launch("alice", 101).await, StatusCode::FOUND);
    assert_status(&hub.launch("alice", 101).await, StatusCode::FOUND);
    assert!(hub.wait_spawn("alice").await.ready);
    // A launch while the server runs reuses it.
    assert_status(&hub.launch("alice", 101).await, StatusCode::FOUND);
    assert!(hub.wait_spawn("alice").await.ready);
    assert_eq!(
        hub.runtime.count().await,
        1,
        "one container for all three launches"
    );
}

#[tokio::test]
async fn iframe_launch_allows_the_lms_to_frame_and_sends_cross_site_cookies() {
    let hub = test_hub();
    let mut params = launch_params("alice", 101);
    params.push(("custom_lms_iframe".into(), "1".into()));
    // The LMS's origin comes from the signed launch (Moodle always sends its return URL).
    params.push((
        "launch_presentation_return_url".into(),
        "https://moodle.example.edu/mod/lti/return.php?course=7".into(),
    ));
    let req = launch_request(signed_body(params, now(), "nonce-iframe"));
    let resp = hub.send(req).await;
    assert_status(&resp, StatusCode::FOUND);
    let cookie = header_str(&resp, header::SET_COOKIE);
    assert!(cookie.contains("SameSite=None; Secure"), "{cookie}");
    let later = hub.send(hub.get_as("/hub/health", None)).await;
    assert_eq!(
        header_str(&later, header::CONTENT_SECURITY_POLICY),
        "frame-ancestors 'self' https://moodle.example.edu"
    );
}

#[tokio::test]
async fn an_unsigned_origin_header_does_not_widen_who_may_frame_the_hub() {
    // A student re-posts their own signed iframe launch with a forged Origin (issue 18 #5): the
    // hub must not let evil.example frame anything, for them or anyone else.
    let hub = test_hub();
    for i in 0..40 {
        let mut params = launch_params("alice", 101);
        params.push(("custom_lms_iframe".into(), "1".into()));
        let mut req = launch_request(signed_body(params, now(), &format!("nonce-evil-{i}")));
        req.headers_mut().insert(
            header::ORIGIN,
            format!("https://evil{i}.example").parse().unwrap(),
        );
        req.headers_mut().insert(
            header::REFERER,
            format!("https://evil{i}.example/page").parse().unwrap(),
        );
        assert_status(&hub.send(req).await, StatusCode::FOUND);
    }
    let later = hub.send(hub.get_as("/hub/health", None)).await;
    assert_eq!(
        header_str(&later, header::CONTENT_SECURITY_POLICY),
        "frame-ancestors 'self'"
    );
}

#[tokio::test]
async fn start_again_uses_the_last_launch() {
    let hub = test_hub();
    assert_status(&hub.launch("alice", 101).await, StatusCode::FOUND);
    assert!(hub.wait_spawn("alice").await.ready);
    hub.state.spawner.stop("alice").await.unwrap();
    assert_eq!(hub.runtime.count().await, 0);
    // Without the session's form token (a page elsewhere posting the form), nothing starts.
    for token in [None, Some("forged")] {
        let resp = hub
            .send(hub.form_as("/hub/spawn/alice", "alice", token))
            .await;
        assert_status(&resp, StatusCode::FORBIDDEN);
    }
    assert_eq!(hub.runtime.count().await, 0);
    let resp = hub
        .send(hub.form_as("/hub/spawn/alice", "alice", Some("")))
        .await;
    assert_status(&resp, StatusCode::SEE_OTHER);
    assert!(hub.wait_spawn("alice").await.ready);
    assert_eq!(hub.runtime.count().await, 1);
}

#[tokio::test]
async fn start_again_without_a_launch_asks_to_use_the_course() {
    let hub = test_hub();
    let resp = hub
        .send(hub.form_as("/hub/spawn/alice", "alice", Some("")))
        .await;
    assert_status(&resp, StatusCode::CONFLICT);
    assert!(body_string(resp).await.contains("course"));
    assert_eq!(hub.runtime.count().await, 0);
    // And nobody may start someone else's server.
    let req = hub.form_as("/hub/spawn/alice", "bob", Some(""));
    assert_status(&hub.send(req).await, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn https_public_url_gets_a_secure_cookie() {
    let (cfg, spec) = hub_config();
    let hub = test_hub_parts(
        cfg,
        spec,
        FakeJupyter::new(),
        std::sync::Arc::new(lticontainer_core::store::InMemoryStore::new()),
        |parts| {
            parts.public_url = lticontainer_core::auth::PublicUrlConfig::default()
                .with_base_url("https://hub.test");
        },
    );
    let signed = lticontainer_core::auth::LaunchSigner::new(KEY, SECRET)
        .sign(
            "https://hub.test/hub/lti/launch",
            launch_params("alice", 101),
            now(),
            "nonce-https",
        )
        .unwrap();
    let resp = hub
        .send(launch_request(lticontainer_core::auth::encode_urlencoded(
            &signed,
        )))
        .await;
    assert_status(&resp, StatusCode::FOUND);
    let cookie = header_str(&resp, header::SET_COOKIE);
    assert!(cookie.contains("SameSite=Lax; Secure"), "{cookie}");
    // The http URL the hub sees is not what Moodle signed, and base_url decides.
    let plain = hub
        .send(launch_request(signed_body(
            launch_params("bob", 102),
            now(),
            "nonce-http",
        )))
        .await;
    assert_status(&plain, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn configured_lms_origin_frames_every_response_and_cookies_go_cross_site() {
    let (mut cfg, spec) = hub_config();
    cfg.lms_origins = vec!["https://moodle.school.edu".into()];
    let hub = test_hub_with(
        cfg,
        spec,
        FakeJupyter::new(),
        std::sync::Arc::new(lticontainer_core::store::InMemoryStore::new()),
    );
    let resp = hub.launch("alice", 101).await;
    assert!(header_str(&resp, header::SET_COOKIE).contains("SameSite=None; Secure"));
    assert!(hub.wait_spawn("alice").await.ready);
    for path in [
        "/hub/spawn-pending/alice",
        "/user/alice/lab",
        "/hub/api/",
        "/nowhere",
    ] {
        let resp = hub.send(hub.get_as(path, Some("alice"))).await;
        assert_eq!(
            header_str(&resp, header::CONTENT_SECURITY_POLICY),
            "frame-ancestors 'self' https://moodle.school.edu",
            "{path}"
        );
    }
}

#[tokio::test]
async fn custom_next_is_followed_once_the_server_runs_and_never_off_site() {
    let hub = test_hub();
    let mut params = launch_params("alice", 101);
    params.push((
        "custom_next".into(),
        "/hub/user-redirect/git-pull?repo=r".into(),
    ));
    let resp = hub
        .send(launch_request(signed_body(params, now(), "nonce-next")))
        .await;
    assert_eq!(
        header_str(&resp, header::LOCATION),
        "/hub/spawn-pending/alice?next=%2Fhub%2Fuser-redirect%2Fgit-pull%3Frepo%3Dr"
    );
    assert!(hub.wait_spawn("alice").await.ready);
    let pending = hub
        .send(hub.get_as(
            "/hub/spawn-pending/alice?next=%2Fhub%2Fuser-redirect%2Fgit-pull%3Frepo%3Dr",
            Some("alice"),
        ))
        .await;
    assert_eq!(
        header_str(&pending, header::LOCATION),
        "/hub/user-redirect/git-pull?repo=r"
    );
    // An off-site `next` is ignored, in the launch and on the page.
    let mut params = launch_params("alice", 101);
    params.push(("custom_next".into(), "https://evil.example/".into()));
    let resp = hub
        .send(launch_request(signed_body(params, now(), "nonce-evil")))
        .await;
    assert_eq!(
        header_str(&resp, header::LOCATION),
        "/hub/spawn-pending/alice"
    );
    let pending = hub
        .send(hub.get_as(
            "/hub/spawn-pending/alice?next=%2F%2Fevil.example%2F",
            Some("alice"),
        ))
        .await;
    assert_eq!(header_str(&pending, header::LOCATION), "/user/alice/lab");
}

#[tokio::test]
async fn hostile_launch_values_rendered_back_run_no_script() {
    // What a launch or a crafted link carries and a page shows again (issue 12's list): the
    // username (a mapped name), a `next` path with markup (inside the page's script), the course
    // title and the return URL (never rendered): no markup gets through as markup, and no header
    // carries a line break.
    let hub = test_hub();
    hub.runtime
        .behaviour
        .no_server
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let mut params = launch_params("<img src=x onerror=alert(1)>", 103);
    params.retain(|(k, _)| k != "context_title");
    params.push((
        "context_title".into(),
        "<script>alert('course')</script>".into(),
    ));
    params.push((
        "launch_presentation_return_url".into(),
        "javascript:alert('return')".into(),
    ));
    params.push(("custom_next".into(), "/x\r\nSet-Cookie: evil=1".into()));
    let resp = hub
        .send(launch_request(signed_body(params, now(), "nonce-hostile")))
        .await;
    assert_status(&resp, StatusCode::FOUND);
    let location = header_str(&resp, header::LOCATION).to_owned();
    assert!(
        !location.contains('<') && !location.contains('\n'),
        "{location}"
    );
    assert!(
        !location.contains("next="),
        "a next with a line break is dropped: {location}"
    );
    let user = location
        .trim_start_matches("/hub/spawn-pending/")
        .to_owned();
    assert!(
        user.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b)),
        "{user}"
    );

    let next = "/x\"</script><script>alert(1)</script>";
    let query: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    let page = hub
        .send(hub.get_as(
            &format!("/hub/spawn-pending/{user}?next={query}"),
            Some(&user),
        ))
        .await;
    assert_status(&page, StatusCode::OK);
    let body = body_string(page).await;
    assert!(!body.contains("<script>alert"), "{body}");
    assert!(!body.contains("alert('course')"), "{body}");
    assert!(!body.contains("javascript:"), "{body}");
    assert!(
        body.contains("\\u003c/script\\u003e"),
        "the next path stays a string: {body}"
    );
}

/// Launches `user` asking for `image` (`custom_lms_image`) and returns how the spawn ended.
async fn launch_asking_for(
    hub: &TestHub,
    user: &str,
    user_id: u32,
    image: &str,
) -> lticontainer_hub::progress::ProgressEvent {
    let mut params = launch_params(user, user_id);
    params.push(("custom_lms_image".to_owned(), image.to_owned()));
    let body = signed_body(params, now(), &format!("n-{user}-{}", rand_suffix()));
    assert_status(&hub.send(launch_request(body)).await, StatusCode::FOUND);
    hub.wait_spawn(user).await
}

#[tokio::test]
async fn an_image_the_engine_has_is_used_and_one_it_lacks_is_refused_and_never_pulled() {
    use lticontainer_core::Runtime;
    let hub = test_hub();
    // An admin put this image on the host; it is not on allowed_images.
    hub.runtime
        .ensure_image("school/datascience:2026", &|_| {})
        .await
        .unwrap();
    let ev = launch_asking_for(&hub, "alice", 101, "school/datascience:2026").await;
    assert!(ev.ready, "{ev:?}");
    let created = hub.runtime.created.lock().unwrap().clone();
    assert_eq!(created.last().unwrap().image, "school/datascience:2026");

    // An image the engine does not have is refused, and the engine (which would pull anything)
    // was not asked to pull it.
    let ev = launch_asking_for(&hub, "bob", 102, "elsewhere/miner:1").await;
    assert!(ev.failed, "{ev:?}");
    assert!(ev.message.contains("Please tell your teacher"), "{ev:?}");
    assert!(!hub.runtime.has_image("elsewhere/miner:1").await.unwrap());
    assert_eq!(
        hub.runtime.created.lock().unwrap().len(),
        1,
        "bob got no container"
    );
}

#[tokio::test]
async fn with_allow_local_images_off_only_the_allowlist_counts() {
    use lticontainer_core::Runtime;
    let (hub_cfg, mut spec) = hub_config();
    spec.allow_local_images = false;
    let hub = test_hub_with(
        hub_cfg,
        spec,
        FakeJupyter::new(),
        std::sync::Arc::new(lticontainer_core::store::InMemoryStore::new()),
    );
    hub.runtime
        .ensure_image("school/datascience:2026", &|_| {})
        .await
        .unwrap();
    let ev = launch_asking_for(&hub, "alice", 101, "school/datascience:2026").await;
    assert!(ev.failed, "{ev:?}");
    assert!(hub.runtime.created.lock().unwrap().is_empty());
}
