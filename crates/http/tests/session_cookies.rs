//! Session cookies that must not open anything, sent through the whole router (the session
//! extractor, the proxy's own check): expired, signed with another key, a signature moved onto
//! another user's payload, garbage, and a forged cookie beside a valid one of another user. A
//! valid cookie on the same paths is the control that shows the paths open for their owner.

use axum::http::{Request, StatusCode, header};
use lticontainer_http::session::{COOKIE_NAME, SessionKey};

use crate::proxy::running_hub;
use crate::util::*;

/// The paths a session opens: the proxied server, the progress page, the progress stream.
const PATHS: [&str; 3] = [
    "/user/alice/lab",
    "/hub/spawn-pending/alice",
    "/hub/api/users/alice/server/progress",
];

fn unix_now() -> u64 {
    u64::try_from(now()).unwrap()
}

async fn get(hub: &TestHub, path: &str, cookie: &str) -> axum::response::Response {
    let req = Request::get(path)
        .header(header::HOST, HOST)
        .header(header::COOKIE, cookie)
        .body(axum::body::Body::empty())
        .unwrap();
    hub.send(req).await
}

#[tokio::test]
async fn expired_forged_and_spliced_cookies_open_nothing() {
    let hub = running_hub(&[("alice", 101), ("bob", 102)]).await;
    let t = unix_now();
    let valid = |user: &str| hub.key.sign(user, t, t + 3600);
    // The control: alice's own valid cookie opens each path.
    for path in PATHS {
        let resp = get(&hub, path, &format!("{COOKIE_NAME}={}", valid("alice"))).await;
        assert!(
            resp.status() == StatusCode::OK || resp.status() == StatusCode::FOUND,
            "{path} with a valid cookie: {}",
            resp.status()
        );
    }
    let lab = get(&hub, PATHS[0], &format!("{COOKIE_NAME}={}", valid("alice"))).await;
    assert_eq!(body_string(lab).await, "<html>JupyterLab</html>");

    let alice = valid("alice");
    let bob = valid("bob");
    let (alice_payload, _) = alice.rsplit_once('.').unwrap();
    let (_, bob_signature) = bob.rsplit_once('.').unwrap();
    let refused = [
        ("expired", hub.key.sign("alice", t - 7200, t - 1)),
        ("expiring now", hub.key.sign("alice", t - 7200, t)),
        (
            "signed with another key",
            SessionKey::random().sign("alice", t, t + 3600),
        ),
        (
            "bob's signature on alice's payload",
            format!("{alice_payload}.{bob_signature}"),
        ),
        ("no signature", alice_payload.to_owned()),
        ("garbage", "v2.1.2.YWxpY2U.AAAA".to_owned()),
    ];
    for (what, value) in &refused {
        for path in PATHS {
            let resp = get(&hub, path, &format!("{COOKIE_NAME}={value}")).await;
            assert_eq!(
                resp.status(),
                StatusCode::UNAUTHORIZED,
                "{path} with a cookie {what}"
            );
            let page = body_string(resp).await;
            assert!(
                page.contains("course") && !page.contains("JupyterLab"),
                "{path} with a cookie {what}: {page}"
            );
        }
    }

    // A forged alice cookie beside bob's valid one: the request is bob's, and bob may not open
    // alice's server.
    let forged = SessionKey::random().sign("alice", t, t + 3600);
    for path in PATHS {
        let cookie = format!("{COOKIE_NAME}={forged}; {COOKIE_NAME}={bob}");
        let resp = get(&hub, path, &cookie).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path}");
    }
}
