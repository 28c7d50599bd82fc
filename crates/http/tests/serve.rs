//! `serve`: the hub on a real socket with its limits — the header deadline, the body gate over
//! the wire, the connection caps (per address, in total, trusted proxies exempt), WebSockets that
//! keep their slot, the peer address for handlers, and graceful shutdown.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::http::{StatusCode, header};
use futures_util::{SinkExt, StreamExt};
use lticontainer_http::app;
use lticontainer_http::serve::{ServeLimits, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

use crate::proxy::running_hub;
use crate::util::*;

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn shut_down(mut self) -> Duration {
        let start = Instant::now();
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(10), &mut self.task)
            .await
            .expect("serve returned after the stop signal")
            .unwrap()
            .unwrap();
        start.elapsed()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start(hub: &TestHub, adjust: impl FnOnce(&mut ServeLimits)) -> Server {
    let mut limits = ServeLimits::default();
    adjust(&mut limits);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(
        listener,
        app(hub.state.clone()),
        limits,
        async move {
            let _ = rx.await;
        },
    ));
    Server {
        addr,
        stop: Some(tx),
        task,
    }
}

/// A connection to `addr` from the loopback address `from` (all of 127/8 is local on Linux).
async fn connect_from(from: &str, addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket.connect(addr).await.unwrap()
}

/// Everything the server sends until it closes the connection (a reset counts as closed).
async fn read_to_close(s: &mut TcpStream, within: Duration) -> (String, Duration) {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(within.saturating_sub(start.elapsed()), s.read(&mut buf)).await {
            Err(_) => panic!(
                "the server kept the connection open for {within:?}; got {:?}",
                String::from_utf8_lossy(&got)
            ),
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), start.elapsed())
}

/// One `GET <path>` with `Connection: close` from `from`; the whole answer.
async fn get_from(from: &str, addr: SocketAddr, path: &str) -> String {
    let mut s = connect_from(from, addr).await;
    let req = format!("GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).await.is_err() {
        return String::new();
    }
    read_to_close(&mut s, Duration::from_secs(5)).await.0
}

#[tokio::test]
async fn a_client_stalled_in_its_head_is_disconnected_at_the_header_deadline() {
    let hub = test_hub();
    let server = start(&hub, |l| l.header_timeout = Duration::from_millis(600)).await;
    let mut s = connect_from("127.0.0.1", server.addr).await;
    s.write_all(b"GET /hub/health HTTP/1.1\r\nHost: hub.test\r\nX-Slow: ")
        .await
        .unwrap();
    let (got, after) = read_to_close(&mut s, Duration::from_secs(5)).await;
    assert!(got.is_empty(), "{got}");
    assert!(
        after >= Duration::from_millis(400),
        "closed after {after:?}"
    );

    // A connection that stays idle after a response is closed after the same time.
    let mut s = connect_from("127.0.0.1", server.addr).await;
    s.write_all(b"GET /hub/health HTTP/1.1\r\nHost: hub.test\r\n\r\n")
        .await
        .unwrap();
    let (got, after) = read_to_close(&mut s, Duration::from_secs(5)).await;
    assert!(
        got.starts_with("HTTP/1.1 200") && got.ends_with("ok"),
        "{got}"
    );
    assert!(
        after >= Duration::from_millis(400),
        "closed after {after:?}"
    );
}

#[tokio::test]
async fn body_limits_hold_on_the_wire() {
    let hub = test_hub_tuned(|cfg| {
        cfg.body_timeout_secs = 1;
    });
    let server = start(&hub, |_| {}).await;

    let mut s = connect_from("127.0.0.1", server.addr).await;
    s.write_all(
        b"POST /hub/lti/launch HTTP/1.1\r\nHost: hub.test\r\nContent-Length: 999999999999\r\n\r\n",
    )
    .await
    .unwrap();
    let (got, after) = read_to_close(&mut s, Duration::from_secs(3)).await;
    assert!(got.starts_with("HTTP/1.1 413"), "{got}");
    assert!(after < Duration::from_secs(2), "413 after {after:?}");

    let mut s = connect_from("127.0.0.1", server.addr).await;
    s.write_all(b"POST /hub/lti/launch HTTP/1.1\r\nHost: hub.test\r\nContent-Length: 5000\r\n\r\noauth_consumer_key=")
        .await
        .unwrap();
    let (got, after) = read_to_close(&mut s, Duration::from_secs(5)).await;
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(after >= Duration::from_millis(800), "408 after {after:?}");
}

#[tokio::test]
async fn one_address_over_its_cap_gets_503_at_once_and_others_get_through() {
    let hub = test_hub();
    let server = start(&hub, |l| l.max_connections_per_ip = 3).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from("127.0.0.1", server.addr).await);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let start = Instant::now();
    let over = get_from("127.0.0.1", server.addr, "/hub/health").await;
    assert!(
        over.is_empty() || over.starts_with("HTTP/1.1 503"),
        "{over}"
    );
    assert!(start.elapsed() < Duration::from_secs(2));
    let other = get_from("127.0.0.2", server.addr, "/hub/health").await;
    assert!(other.starts_with("HTTP/1.1 200"), "{other}");

    held.pop();
    let mut again = String::new();
    for _ in 0..50 {
        again = get_from("127.0.0.1", server.addr, "/hub/health").await;
        if again.starts_with("HTTP/1.1 200") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        again.starts_with("HTTP/1.1 200"),
        "a closed connection gave its slot back: {again}"
    );
}

#[tokio::test]
async fn the_total_cap_holds_and_trusted_proxies_count_only_toward_it() {
    let hub = test_hub();
    let server = start(&hub, |l| {
        l.max_connections = 3;
        l.max_connections_per_ip = 1;
        l.exempt = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let proxy1 = connect_from("127.0.0.1", server.addr).await;
    let _proxy2 = connect_from("127.0.0.1", server.addr).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let ok = get_from("127.0.0.2", server.addr, "/hub/health").await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    let _client = connect_from("127.0.0.2", server.addr).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let over = get_from("127.0.0.3", server.addr, "/hub/health").await;
    assert!(
        over.is_empty() || over.starts_with("HTTP/1.1 503"),
        "{over}"
    );
    drop(proxy1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let ok = get_from("127.0.0.3", server.addr, "/hub/health").await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
}

#[tokio::test]
async fn a_websocket_is_bridged_and_keeps_its_slot_until_it_closes() {
    let hub = running_hub(&[("alice", 101)]).await;
    let server = start(&hub, |l| l.max_connections = 1).await;
    let mut req = format!("ws://{}/user/alice/ws", server.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert(header::COOKIE, hub.cookie("alice").parse().unwrap());
    let (mut ws, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
    ws.send(Message::Text("hello".into())).await.unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(reply.into_text().unwrap().as_str(), "echo:hello");

    // The upgraded connection still holds the only slot.
    let over = get_from("127.0.0.1", server.addr, "/hub/health").await;
    assert!(
        over.is_empty() || over.starts_with("HTTP/1.1 503"),
        "{over}"
    );
    ws.close(None).await.unwrap();
    drop(ws);
    let mut again = String::new();
    for _ in 0..100 {
        again = get_from("127.0.0.1", server.addr, "/hub/health").await;
        if again.starts_with("HTTP/1.1 200") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(again.starts_with("HTTP/1.1 200"), "{again}");
}

#[tokio::test]
async fn handlers_see_the_peer_address() {
    let hub = running_hub(&[("alice", 101)]).await;
    let server = start(&hub, |_| {}).await;
    let mut s = connect_from("127.0.0.1", server.addr).await;
    let req = format!(
        "GET /user/alice/headers HTTP/1.1\r\nHost: {HOST}\r\nCookie: {}\r\nConnection: close\r\n\r\n",
        hub.cookie("alice")
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let (got, _) = read_to_close(&mut s, Duration::from_secs(5)).await;
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    assert!(
        got.contains(r#""x-forwarded-for":"127.0.0.1""#),
        "the proxy names the peer: {got}"
    );
}

#[tokio::test]
async fn shutdown_closes_idle_connections_and_returns() {
    let hub = test_hub();
    let server = start(&hub, |l| l.header_timeout = Duration::from_secs(60)).await;
    let mut idle = connect_from("127.0.0.1", server.addr).await;
    idle.write_all(b"GET /hub/health HTTP/1.1\r\nHost: hub.test\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    let took = server.shut_down().await;
    assert!(took < Duration::from_secs(5), "shutdown took {took:?}");
    let (rest, _) = read_to_close(&mut idle, Duration::from_secs(2)).await;
    assert!(rest.is_empty() || rest.ends_with("ok"), "{rest}");
}
