//! The body gate of `app(state)`: a declared body over an endpoint's limit is refused with 413
//! before a byte of it is read, a hub body that does not arrive in time is 408, and proxied bodies
//! have an idle timeout, no total one.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode, header};
use futures_util::StreamExt;

use crate::util::*;

/// A body that never yields a byte and records whether anyone asked it for one.
fn untouchable() -> (Body, Arc<AtomicBool>) {
    let polled = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&polled);
    let stream = futures_util::stream::poll_fn(move |_| {
        flag.store(true, Ordering::SeqCst);
        std::task::Poll::<Option<Result<Bytes, Infallible>>>::Pending
    });
    (Body::from_stream(stream), polled)
}

fn post(path: &str, declared: u64, body: Body) -> Request<Body> {
    Request::post(path)
        .header(header::HOST, HOST)
        .header(header::CONTENT_LENGTH, declared)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .unwrap()
}

#[tokio::test]
async fn a_huge_declared_launch_is_413_before_any_byte_is_read() {
    let hub = test_hub();
    let (body, polled) = untouchable();
    let resp = tokio::time::timeout(
        Duration::from_secs(5),
        hub.send(post("/hub/lti/launch", 999_999_999_999, body)),
    )
    .await
    .expect("answered without waiting for the body");
    assert_status(&resp, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(header_str(&resp, header::CONNECTION), "close");
    assert!(!polled.load(Ordering::SeqCst), "the body was read");
    // Just over the launch limit is refused the same way; at the limit the body is read.
    let (body, _) = untouchable();
    let resp = hub
        .send(post("/hub/lti/launch", 256 * 1024 + 1, body))
        .await;
    assert_status(&resp, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn the_hub_api_takes_small_bodies_and_answers_json() {
    let hub = test_hub();
    let (body, polled) = untouchable();
    let resp = hub
        .send(post("/hub/api/oauth2/token", 64 * 1024 + 1, body))
        .await;
    assert_status(&resp, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(header_str(&resp, header::CONTENT_TYPE), "application/json");
    assert!(!polled.load(Ordering::SeqCst));
    let json: serde_json::Value = serde_json::from_str(&body_string(resp).await).unwrap();
    assert_eq!(json["status"], 413);
}

#[tokio::test]
async fn a_chunked_body_past_the_limit_is_413_too() {
    let hub = test_hub();
    let pieces = futures_util::stream::iter(0..40)
        .map(|_| Ok::<_, Infallible>(Bytes::from(vec![b'a'; 8 * 1024])));
    let req = Request::post("/hub/lti/launch")
        .header(header::HOST, HOST)
        .body(Body::from_stream(pieces))
        .unwrap();
    assert_status(&hub.send(req).await, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_launch_body_that_stops_is_408_at_the_body_deadline() {
    let hub = test_hub_tuned(|cfg| {
        cfg.body_timeout_secs = 1;
    });
    let first = futures_util::stream::iter([Ok::<_, Infallible>(Bytes::from_static(b"oauth_"))]);
    let body = Body::from_stream(first.chain(futures_util::stream::pending()));
    let start = std::time::Instant::now();
    let resp = hub.send(post("/hub/lti/launch", 5000, body)).await;
    assert_status(&resp, StatusCode::REQUEST_TIMEOUT);
    let took = start.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert_eq!(header_str(&resp, header::CONNECTION), "close");
    assert!(body_string(resp).await.contains("did not arrive in time"));
}

#[tokio::test]
async fn a_launch_within_the_limits_still_works() {
    let hub = test_hub();
    assert_status(&hub.launch("alice", 101).await, StatusCode::FOUND);
}

#[tokio::test]
async fn the_proxy_refuses_a_declared_body_over_its_limit_before_reading() {
    let hub = test_hub_tuned(|cfg| {
        cfg.max_proxy_body_bytes = 1000;
    });
    let (body, polled) = untouchable();
    let mut req = post("/user/alice/api/contents/big.ipynb", 1001, body);
    req.headers_mut()
        .insert(header::COOKIE, hub.cookie("alice").parse().unwrap());
    let resp = hub.send(req).await;
    assert_status(&resp, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(!polled.load(Ordering::SeqCst));
}

#[tokio::test]
async fn a_slow_but_steady_upload_reaches_the_server_and_a_stalled_one_is_cut() {
    let hub = test_hub_tuned(|cfg| {
        cfg.proxy_body_idle_secs = 1;
    });
    assert_status(&hub.launch("alice", 101).await, StatusCode::FOUND);
    assert!(hub.wait_spawn("alice").await.ready);
    let upload = |body: Body| {
        Request::post("/user/alice/echo")
            .header(header::HOST, HOST)
            .header(header::COOKIE, hub.cookie("alice"))
            .body(body)
            .unwrap()
    };

    // Pieces 400 ms apart for 2.4 s: longer than the idle time in total, never idle that long.
    let steady = futures_util::stream::iter(0..6).then(|i| async move {
        tokio::time::sleep(Duration::from_millis(400)).await;
        Ok::<_, Infallible>(Bytes::from(format!("piece{i};")))
    });
    let resp = hub.send(upload(Body::from_stream(steady))).await;
    assert_status(&resp, StatusCode::OK);
    assert_eq!(
        body_string(resp).await,
        "piece0;piece1;piece2;piece3;piece4;piece5;"
    );

    // A body that stops: cut after the idle time, the server never sees it complete.
    let first = futures_util::stream::iter([Ok::<_, Infallible>(Bytes::from_static(b"start;"))]);
    let stalled = Body::from_stream(first.chain(futures_util::stream::pending()));
    let resp = tokio::time::timeout(Duration::from_secs(10), hub.send(upload(stalled)))
        .await
        .expect("the stalled upload was cut");
    assert_ne!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_proxied_body_without_a_length_is_cut_at_the_limit() {
    let hub = test_hub_tuned(|cfg| {
        cfg.max_proxy_body_bytes = 1000;
    });
    assert_status(&hub.launch("alice", 101).await, StatusCode::FOUND);
    assert!(hub.wait_spawn("alice").await.ready);
    let small = Request::post("/user/alice/echo")
        .header(header::HOST, HOST)
        .header(header::COOKIE, hub.cookie("alice"))
        .body(Body::from_stream(futures_util::stream::iter([Ok::<
            _,
            Infallible,
        >(
            Bytes::from(vec![b'a'; 1000]),
        )])))
        .unwrap();
    let resp = hub.send(small).await;
    assert_status(&resp, StatusCode::OK);
    assert_eq!(body_string(resp).await.len(), 1000);
    let big = Request::post("/user/alice/echo")
        .header(header::HOST, HOST)
        .header(header::COOKIE, hub.cookie("alice"))
        .body(Body::from_stream(futures_util::stream::iter([Ok::<
            _,
            Infallible,
        >(
            Bytes::from(vec![b'a'; 1001]),
        )])))
        .unwrap();
    assert_ne!(hub.send(big).await.status(), StatusCode::OK);
}
