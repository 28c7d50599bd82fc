//! Learning analytics through the proxy: cells run over a kernel WebSocket (both protocols)
//! reach a Moodle REST endpoint with the plugin's quirks ([`FakeMoodle`]), exactly once, in
//! order, through Moodle being down, a hub restart, and refused tokens.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{StatusCode, header};
use futures_util::{SinkExt, StreamExt};
use lticontainer_core::analytics::kernel::V1_SUBPROTOCOL;
use lticontainer_core::clock::SystemClock;
use lticontainer_core::launch::normalize_username;
use lticontainer_core::store::{AnalyticsStore, InMemoryStore};
use lticontainer_http::app;
use lticontainer_hub::analytics::{
    Analytics, AnalyticsDestinations, AnalyticsOptions, LmsClient, delivery,
};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::fake_kernel::{EXTENSIONS_SEEN, decode_v1, to_v1};
use crate::fake_moodle::FakeMoodle;
use crate::util::*;

pub(crate) const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const ADMIN_TOKEN: &str = "admin-token-0123456789";

pub(crate) struct AnalyticsHub {
    pub(crate) hub: TestHub,
    pub(crate) analytics: Arc<Analytics>,
    pub(crate) addr: SocketAddr,
    delivery: tokio::task::JoinHandle<()>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for AnalyticsHub {
    fn drop(&mut self) {
        self.delivery.abort();
        self.server.abort();
    }
}

/// A hub with analytics over `outbox`, delivering, served on a real socket.
async fn analytics_hub(outbox: Arc<dyn AnalyticsStore>) -> AnalyticsHub {
    analytics_hub_tuned(outbox, |_| {}).await
}

/// [`analytics_hub`] with analytics set up by `options`.
async fn analytics_hub_with(
    outbox: Arc<dyn AnalyticsStore>,
    options: AnalyticsOptions,
) -> AnalyticsHub {
    build_analytics_hub(outbox, options, |_| {}).await
}

/// [`analytics_hub`] with its parts changed by `adjust` before it is built.
pub(crate) async fn analytics_hub_tuned(
    outbox: Arc<dyn AnalyticsStore>,
    adjust: impl FnOnce(&mut lticontainer_http::state::AppParts),
) -> AnalyticsHub {
    build_analytics_hub(outbox, AnalyticsOptions::default(), adjust).await
}

async fn build_analytics_hub(
    outbox: Arc<dyn AnalyticsStore>,
    options: AnalyticsOptions,
    adjust: impl FnOnce(&mut lticontainer_http::state::AppParts),
) -> AnalyticsHub {
    let analytics = Analytics::start_with(outbox, Arc::new(SystemClock), options);
    let (mut cfg, spec) = hub_config();
    cfg.api_token = Some(lticontainer_hub::admin_token::AdminToken::new(ADMIN_TOKEN).unwrap());
    let a = Arc::clone(&analytics);
    let hub = test_hub_parts(
        cfg,
        spec,
        FakeJupyter::new(),
        Arc::new(InMemoryStore::new()),
        move |p| {
            p.analytics = Some(a);
            adjust(p);
        },
    );
    let delivery = tokio::spawn(delivery::run(
        Arc::clone(&analytics),
        LmsClient::new(None).unwrap(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service =
        app(hub.state.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = tokio::spawn(async move {
        axum::serve(listener, service).await.unwrap();
    });
    AnalyticsHub {
        hub,
        analytics,
        addr,
        delivery,
        server,
    }
}

/// Launches `user` (an LMS login) from an activity whose custom parameters name `moodle` (or
/// not), waits for the server and returns the hub name it runs under.
async fn launch(hub: &TestHub, user: &str, id: u32, moodle: Option<(&FakeMoodle, &str)>) -> String {
    let mut params = launch_params(user, id);
    if let Some((m, token)) = moodle {
        from_activity(&mut params, 76);
        add_destination(&mut params, m, &m.server_url(), token);
    }
    send_launch(hub, user, params).await
}

/// `params` as a launch signed by `lms` whose custom parameters send notebook logs to
/// `server_url` with `token` (mod_lticontainer's `lms_sessioninfo` aside).
pub(crate) fn add_destination(
    params: &mut Vec<(String, String)>,
    lms: &FakeMoodle,
    server_url: &str,
    token: &str,
) {
    for (k, v) in [
        ("custom_lms_serverurl", server_url),
        ("custom_lms_serverpath", "/moodle"),
        ("custom_lms_rpctoken", token),
        ("launch_presentation_return_url", &lms.return_url()),
    ] {
        params.push((k.to_owned(), v.to_owned()));
    }
}

/// Signs and sends `user`'s launch with `params`, waits for the server and returns the hub name
/// it runs under.
async fn send_launch(hub: &TestHub, user: &str, params: Vec<(String, String)>) -> String {
    let nonce = format!("n-{user}-{}", rand_suffix());
    let resp = hub
        .send(launch_request(signed_body(params, now(), &nonce)))
        .await;
    assert_status(&resp, StatusCode::FOUND);
    let name = normalize_username(user).unwrap();
    assert!(hub.wait_spawn(&name).await.ready);
    name
}

/// Waits (5 s at most) until the hub has counted `n` records as delivered: Moodle stores a row
/// before its answer reaches the hub.
async fn wait_delivered(a: &Analytics, n: u64) {
    for _ in 0..500 {
        if a.snapshot().delivered >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("not delivered: {:?}", a.snapshot());
}

pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens `user`'s kernel channels with notebook session `session`, offering compression (which
/// the proxy must keep from being negotiated) and, with `v1`, the binary protocol.
pub(crate) async fn open_channels(h: &AnalyticsHub, user: &str, session: &str, v1: bool) -> Ws {
    let mut req = format!(
        "ws://{}/user/{user}/api/kernels/k-1/channels?session_id={session}",
        h.addr
    )
    .into_client_request()
    .unwrap();
    let headers = req.headers_mut();
    headers.insert(header::COOKIE, h.hub.cookie(user).parse().unwrap());
    headers.insert(
        header::SEC_WEBSOCKET_EXTENSIONS,
        "permessage-deflate; client_max_window_bits"
            .parse()
            .unwrap(),
    );
    if v1 {
        headers.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            V1_SUBPROTOCOL.parse().unwrap(),
        );
    }
    let (ws, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(
        resp.headers()
            .get(header::SEC_WEBSOCKET_PROTOCOL)
            .map(|v| v.to_str().unwrap()),
        v1.then_some(V1_SUBPROTOCOL)
    );
    ws
}

pub(crate) fn execute_request(
    session: &str,
    msg_id: &str,
    cell: &str,
    codenum: u32,
    code: &str,
) -> Value {
    json!({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": session,
                   "username": "", "date": "2026-12-01T10:00:00.000Z", "version": "5.2"},
        "parent_header": {},
        "metadata": {"cellId": cell, "tags": ["filename: ex1.ipynb", format!("codenum: {codenum}")],
                     "deletedCells": [], "recordTiming": false},
        "content": {"code": code, "silent": false, "store_history": true,
                    "user_expressions": {}, "allow_stdin": true, "stop_on_error": true},
        "channel": "shell",
        "buffers": []
    })
}

/// Runs one cell and returns the status of its `execute_reply`.
pub(crate) async fn run_cell(ws: &mut Ws, v1: bool, request: &Value) -> String {
    let msg = if v1 {
        Message::Binary(to_v1("shell", request).into())
    } else {
        Message::Text(request.to_string().into())
    };
    ws.send(msg).await.unwrap();
    loop {
        let m = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let v = match m {
            Message::Text(t) => serde_json::from_str::<Value>(t.as_str()).unwrap(),
            Message::Binary(b) => decode_v1(&b).unwrap(),
            _ => continue,
        };
        if v["header"]["msg_type"] == "execute_reply" {
            assert_eq!(v["parent_header"]["msg_id"], request["header"]["msg_id"]);
            return v["content"]["status"].as_str().unwrap().to_owned();
        }
    }
}

async fn cells_reach_moodle(v1: bool) {
    let moodle = FakeMoodle::start(TOKEN).await;
    let h = analytics_hub(Arc::new(InMemoryStore::new())).await;
    launch(&h.hub, "alice", 101, Some((&moodle, TOKEN))).await;
    let mut ws = open_channels(&h, "alice", "sess-a", v1).await;
    let cells = [
        ("c1", 1, "x = 1"),
        ("c2", 2, "raise ValueError()"),
        ("c1", 1, "x = 2"),
    ];
    for (i, (cell, num, code)) in cells.iter().enumerate() {
        let req = execute_request("sess-a", &format!("m{i}"), cell, *num, code);
        let want = if code.contains("raise") {
            "error"
        } else {
            "ok"
        };
        assert_eq!(run_cell(&mut ws, v1, &req).await, want);
    }
    // The binding, three client records, three server records.
    let t = moodle.wait_rows(7).await;
    assert_eq!(t.session.len(), 1);
    assert_eq!(
        (
            t.session[0]["inst_id"].as_str(),
            t.session[0]["lti_id"].as_str(),
            t.session[0]["session"].as_str()
        ),
        ("3", "76", "sess-a")
    );
    let client: Vec<(&str, &str, &str)> = t
        .client
        .iter()
        .map(|r| {
            (
                r["message"].as_str(),
                r["cell_id"].as_str(),
                r["tags"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        client,
        vec![
            ("m0", "c1", r#"["filename: ex1.ipynb","codenum: 1"]"#),
            ("m1", "c2", r#"["filename: ex1.ipynb","codenum: 2"]"#),
            ("m2", "c1", r#"["filename: ex1.ipynb","codenum: 1"]"#),
        ]
    );
    let server: Vec<(&str, &str, &str, &str)> = t
        .server
        .iter()
        .map(|r| {
            (
                r["session"].as_str(),
                r["message"].as_str(),
                r["status"].as_str(),
                r["username"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        server,
        vec![
            ("sess-a", "m0", "ok", "alice"),
            ("sess-a", "m1", "error", "alice"),
            ("sess-a", "m2", "ok", "alice"),
        ],
        "every reply after its request: no /nc"
    );
    assert!(
        t.tags
            .iter()
            .any(|r| r["codenum"] == "2" && r["cell_id"] == "c2")
    );
    // One record per request, all ten fields, the token only in the query.
    for form in moodle.forms.lock().unwrap().iter() {
        assert_eq!(form.len(), 10, "{form:?}");
        assert!(
            form.iter()
                .all(|(k, v)| k.starts_with("nb_logs[0][") && v != TOKEN)
        );
    }
    assert!(
        !EXTENSIONS_SEEN
            .lock()
            .unwrap()
            .iter()
            .any(|e| e.contains("permessage-deflate")),
        "the compression offer never reaches the server"
    );
    wait_delivered(&h.analytics, 7).await;
    let s = h.analytics.snapshot();
    assert_eq!(
        (s.captured, s.delivered, s.unparsed, s.dropped),
        (7, 7, 0, 0)
    );
    assert_eq!(h.analytics.store().outbox_len().await.unwrap(), 0);
    ws.close(None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cells_over_the_json_protocol_reach_moodle() {
    cells_reach_moodle(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cells_over_the_v1_binary_protocol_reach_moodle() {
    cells_reach_moodle(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_records_of_a_renamed_student_carry_their_lms_login() {
    // mod_lticontainer files a server record under its `username` and matches it with Moodle's
    // login; the hub runs an e-mail-style login under a safe name of its own.
    let moodle = FakeMoodle::start(TOKEN).await;
    let h = analytics_hub(Arc::new(InMemoryStore::new())).await;
    let login = "hanako.yamada@example.com";
    let name = launch(&h.hub, login, 105, Some((&moodle, TOKEN))).await;
    assert_ne!(name, login, "the hub runs this login under another name");
    let mut ws = open_channels(&h, &name, "sess-h", false).await;
    let req = execute_request("sess-h", "m0", "c1", 1, "x = 1");
    assert_eq!(run_cell(&mut ws, false, &req).await, "ok");
    let t = moodle.wait_rows(3).await;
    assert_eq!(t.server.len(), 1, "{:?}", t.server);
    assert_eq!(t.server[0]["username"].as_str(), login);
    ws.close(None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_launch_without_lms_sessioninfo_is_not_captured_and_works() {
    let moodle = FakeMoodle::start(TOKEN).await;
    let h = analytics_hub(Arc::new(InMemoryStore::new())).await;
    launch(&h.hub, "bob", 102, None).await;
    let mut ws = open_channels(&h, "bob", "sess-b", false).await;
    let req = execute_request("sess-b", "m0", "c1", 1, "1");
    assert_eq!(run_cell(&mut ws, false, &req).await, "ok");
    assert_eq!(h.analytics.snapshot().connections, 0);
    assert_eq!(h.analytics.snapshot().captured, 0);
    assert_eq!(h.analytics.store().outbox_len().await.unwrap(), 0);
    assert_eq!(*moodle.requests.borrow(), 0);
    // A later launch from Moodle turns capture on.
    launch(&h.hub, "bob", 102, Some((&moodle, TOKEN))).await;
    let mut ws = open_channels(&h, "bob", "sess-b2", false).await;
    let req = execute_request("sess-b2", "m1", "c1", 1, "1");
    assert_eq!(run_cell(&mut ws, false, &req).await, "ok");
    moodle.wait_rows(3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serverurl_other_than_the_signing_lms_is_never_sent_to() {
    // The activity's lms_serverurl (a teacher can edit it) names another address than the
    // Moodle that signed the launch: nothing is captured, nothing is sent there, the student's
    // notebook works.
    let moodle = FakeMoodle::start(TOKEN).await;
    let elsewhere = FakeMoodle::start(TOKEN).await;
    let h = analytics_hub(Arc::new(InMemoryStore::new())).await;
    let mut params = launch_params("erin", 105);
    from_activity(&mut params, 76);
    add_destination(&mut params, &moodle, &elsewhere.server_url(), TOKEN);
    send_launch(&h.hub, "erin", params).await;
    let mut ws = open_channels(&h, "erin", "sess-e", false).await;
    let req = execute_request("sess-e", "m0", "c1", 1, "1");
    assert_eq!(run_cell(&mut ws, false, &req).await, "ok");
    assert_eq!(h.analytics.snapshot().connections, 0);
    assert_eq!(h.analytics.store().outbox_len().await.unwrap(), 0);
    assert_eq!(h.analytics.store().lms_target("erin").await.unwrap(), None);
    // Listed by the admin (`hub.analytics_origins`), the same address is a destination.
    let listed = analytics_hub_with(
        Arc::new(InMemoryStore::new()),
        AnalyticsOptions {
            destinations: AnalyticsDestinations::new(&[elsewhere.server_url()]),
            ..AnalyticsOptions::default()
        },
    )
    .await;
    let mut params = launch_params("erin", 105);
    from_activity(&mut params, 76);
    add_destination(&mut params, &moodle, &elsewhere.server_url(), TOKEN);
    send_launch(&listed.hub, "erin", params).await;
    let mut ws2 = open_channels(&listed, "erin", "sess-e2", false).await;
    let req = execute_request("sess-e2", "m1", "c1", 1, "1");
    assert_eq!(run_cell(&mut ws2, false, &req).await, "ok");
    elsewhere.wait_rows(3).await;
    assert_eq!(*moodle.requests.borrow(), 0);
    ws.close(None).await.unwrap();
    ws2.close(None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_unrelated_messages_pass_untouched_and_are_counted() {
    let moodle = FakeMoodle::start(TOKEN).await;
    let h = analytics_hub(Arc::new(InMemoryStore::new())).await;
    launch(&h.hub, "carol", 103, Some((&moodle, TOKEN))).await;
    let mut ws = open_channels(&h, "carol", "sess-c", false).await;
    // Text that names an execute_request but is not JSON: forwarded as is (the fake echoes it).
    let garbage = "{\"header\": {\"msg_type\": \"execute_request\"  <truncated";
    ws.send(Message::Text(garbage.into())).await.unwrap();
    let echoed = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(echoed.into_text().unwrap().as_str(), garbage);
    // Binary buffers of the JSON protocol are forwarded and not read.
    ws.send(Message::Binary(vec![0u8, 1, 2, 3].into()))
        .await
        .unwrap();
    let echoed = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(echoed.into_data().as_ref(), &[0u8, 1, 2, 3]);
    // A valid cell after them is still captured, and the malformed one was counted before its
    // reply came back (the request is read before the reply).
    let req = execute_request("sess-c", "m0", "c1", 1, "1");
    assert_eq!(run_cell(&mut ws, false, &req).await, "ok");
    assert_eq!(h.analytics.snapshot().unparsed, 1);
    moodle.wait_rows(3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_is_reported_and_not_retried() {
    let moodle = FakeMoodle::start(TOKEN).await;
    let h = analytics_hub(Arc::new(InMemoryStore::new())).await;
    launch(&h.hub, "dave", 104, Some((&moodle, "ffffffffffffffff"))).await;
    let mut ws = open_channels(&h, "dave", "sess-d", false).await;
    let req = execute_request("sess-d", "m0", "c1", 1, "1");
    assert_eq!(run_cell(&mut ws, false, &req).await, "ok");
    moodle.wait_requests(3).await;
    // Each record was tried once and dropped: the outbox empties and nothing is stored.
    let mut rx = moodle.requests.subscribe();
    for _ in 0..50 {
        if h.analytics.snapshot().refused == 3 {
            break;
        }
        let _ = tokio::time::timeout(Duration::from_millis(100), rx.changed()).await;
    }
    let s = h.analytics.snapshot();
    assert_eq!((s.refused, s.delivered, s.retries), (3, 0, 0));
    // The admin sees it in the counters (with the admin token only).
    let counters = h
        .hub
        .send(
            axum::http::Request::get("/hub/api/analytics")
                .header(header::AUTHORIZATION, format!("token {ADMIN_TOKEN}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_status(&counters, StatusCode::OK);
    let counters: Value = serde_json::from_str(&body_string(counters).await).unwrap();
    assert_eq!(
        (counters["refused"].as_u64(), counters["outbox"].as_u64()),
        (Some(3), Some(0))
    );
    let student = h
        .hub
        .send(h.hub.get_as("/hub/api/analytics", Some("dave")))
        .await;
    assert_status(&student, StatusCode::FORBIDDEN);
    assert_eq!(h.analytics.store().outbox_len().await.unwrap(), 0);
    assert_eq!(*moodle.requests.borrow(), 3);
    assert_eq!(*moodle.rows.borrow(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moodle_down_then_a_hub_restart_then_moodle_up_stores_every_record_once() {
    let moodle = FakeMoodle::start(TOKEN).await;
    moodle.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.sqlite");
    let outbox: Arc<dyn AnalyticsStore> =
        Arc::new(lticontainer_store::SqliteStore::open(&db).await.unwrap());
    let h = analytics_hub(outbox).await;
    launch(&h.hub, "erin", 105, Some((&moodle, TOKEN))).await;
    let mut ws = open_channels(&h, "erin", "sess-e", false).await;
    for i in 0..5 {
        let code = if i % 2 == 1 { "raise" } else { "1" };
        let req = execute_request("sess-e", &format!("m{i}"), "c1", i, code);
        run_cell(&mut ws, false, &req).await;
    }
    // Moodle answered 503 at least once: the records wait in the outbox.
    moodle.wait_requests(1).await;
    ws.close(None).await.unwrap();
    // The hub stops (its tasks end, its store closes) with 11 records in the outbox.
    let store = Arc::clone(h.analytics.store());
    let mut waited = 0;
    while store.outbox_len().await.unwrap() < 11 && waited < 100 {
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += 1;
    }
    assert_eq!(store.outbox_len().await.unwrap(), 11);
    assert_eq!(*moodle.rows.borrow(), 0);
    drop(h);
    drop(store);
    // A new hub on the same database, and Moodle back.
    moodle
        .down
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let outbox: Arc<dyn AnalyticsStore> =
        Arc::new(lticontainer_store::SqliteStore::open(&db).await.unwrap());
    let h2 = analytics_hub(outbox).await;
    let t = moodle.wait_rows(11).await;
    assert_eq!((t.session.len(), t.client.len(), t.server.len()), (1, 5, 5));
    assert!(
        t.server.iter().all(|r| !r["status"].ends_with("/nc")),
        "{:?}",
        t.server
    );
    let statuses: Vec<&str> = t.server.iter().map(|r| r["status"].as_str()).collect();
    assert_eq!(statuses, ["ok", "error", "ok", "error", "ok"]);
    wait_delivered(&h2.analytics, 11).await;
    assert_eq!(h2.analytics.snapshot().delivered, 11);
    assert_eq!(h2.analytics.store().outbox_len().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_that_stops_mid_frame_ends_quietly_and_the_next_one_is_captured() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let moodle = FakeMoodle::start(TOKEN).await;
    let h = analytics_hub(Arc::new(InMemoryStore::new())).await;
    launch(&h.hub, "fred", 106, Some((&moodle, TOKEN))).await;
    // A raw upgrade, then half of a masked frame that announces 1000 bytes, then the socket ends.
    let mut tcp = TcpStream::connect(h.addr).await.unwrap();
    let head = format!(
        "GET /user/fred/api/kernels/k-1/channels?session_id=cut HTTP/1.1\r\nHost: {HOST}\r\n\
         Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nCookie: {}\r\n\r\n",
        h.hub.cookie("fred")
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 1024];
    let n = tcp.read(&mut buf).await.unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    let mut frame = vec![0x81, 0x80 | 126, 0x03, 0xe8, 1, 2, 3, 4];
    frame.extend(std::iter::repeat_n(b'x', 300));
    tcp.write_all(&frame).await.unwrap();
    drop(tcp);
    // The binding of the cut session was captured; nothing else; the next connection works.
    let mut ws = open_channels(&h, "fred", "sess-f", true).await;
    let req = execute_request("sess-f", "m0", "c1", 1, "1");
    assert_eq!(run_cell(&mut ws, true, &req).await, "ok");
    let t = moodle.wait_rows(4).await;
    assert_eq!(t.session.len(), 2);
    assert_eq!((t.client.len(), t.server.len()), (1, 1));
    assert_eq!(h.analytics.snapshot().dropped, 0);
}
