//! A kernel channel WebSocket like Jupyter's, for the fake servers: it answers each
//! `execute_request` on `shell` with an iopub status, and an `execute_reply` whose status is
//! `error` when the code contains `raise`, in the JSON protocol or, when the client offers it,
//! `v1.kernel.websocket.jupyter.org`. Anything else is echoed back as it came. The extension
//! offers it saw are kept in [`EXTENSIONS_SEEN`].
#![allow(dead_code, unreachable_pub)]

use std::sync::Mutex;

use axum::extract::Path;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use lticontainer_core::analytics::kernel::{V1_SUBPROTOCOL, encode_v1};
use serde_json::{Value, json};

/// Every `Sec-WebSocket-Extensions` value a kernel channel request carried.
pub static EXTENSIONS_SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The handler of `/user/{name}/api/kernels/{kid}/channels`.
pub async fn channels(
    Path((name, _kid)): Path<(String, String)>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if let Some(e) = headers.get("sec-websocket-extensions") {
        EXTENSIONS_SEEN
            .lock()
            .unwrap()
            .push(e.to_str().unwrap_or("").to_owned());
    }
    let offered_v1 = headers
        .get_all("sec-websocket-protocol")
        .iter()
        .any(|v| v.to_str().unwrap_or("").contains(V1_SUBPROTOCOL));
    let ws = if offered_v1 {
        ws.protocols([V1_SUBPROTOCOL])
    } else {
        ws
    };
    ws.on_upgrade(move |mut socket| async move {
        while let Some(Ok(msg)) = socket.recv().await {
            let replies = match msg {
                Message::Text(t) => match serde_json::from_str::<Value>(t.as_str()) {
                    Ok(v) if v["header"]["msg_type"] == "execute_request" => reply(&name, &v)
                        .into_iter()
                        .map(|(ch, m)| {
                            let mut m = m;
                            m["channel"] = json!(ch);
                            Message::Text(m.to_string().into())
                        })
                        .collect(),
                    _ => vec![Message::Text(t)],
                },
                Message::Binary(b) if offered_v1 => match decode_v1(&b) {
                    Some(v) if v["header"]["msg_type"] == "execute_request" => reply(&name, &v)
                        .into_iter()
                        .map(|(ch, m)| Message::Binary(to_v1(ch, &m).into()))
                        .collect(),
                    _ => vec![Message::Binary(b)],
                },
                Message::Close(_) => break,
                other => vec![other],
            };
            for r in replies {
                if socket.send(r).await.is_err() {
                    return;
                }
            }
        }
    })
}

/// The kernel's messages for one request: busy on iopub, the reply on shell.
fn reply(user: &str, request: &Value) -> Vec<(&'static str, Value)> {
    let code = request["content"]["code"].as_str().unwrap_or("");
    let status = if code.contains("raise") {
        "error"
    } else {
        "ok"
    };
    let parent = request["header"].clone();
    let header = |t: &str| {
        json!({"msg_id": format!("k-{}", rand_id()), "msg_type": t, "session": "kernel-session",
               "username": format!("kernel-of-{user}"), "date": "2026-12-01T10:00:01.000000Z", "version": "5.3"})
    };
    vec![
        (
            "iopub",
            json!({"header": header("status"), "parent_header": parent,
                   "metadata": {}, "content": {"execution_state": "busy"}}),
        ),
        (
            "shell",
            json!({"header": header("execute_reply"), "parent_header": parent,
                   "metadata": {"status": status}, "content": {"status": status, "execution_count": 1}}),
        ),
    ]
}

fn rand_id() -> u64 {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
}

/// A message as a v1 binary payload.
pub fn to_v1(channel: &str, m: &Value) -> Vec<u8> {
    let parts: Vec<Vec<u8>> = ["header", "parent_header", "metadata", "content"]
        .iter()
        .map(|k| m[k].to_string().into_bytes())
        .collect();
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    encode_v1(channel, &refs)
}

/// A v1 binary payload as a JSON message (with `channel`), or `None` when it is not one.
pub fn decode_v1(b: &[u8]) -> Option<Value> {
    let word = |i: usize| -> Option<usize> {
        Some(u64::from_le_bytes(b.get(i * 8..i * 8 + 8)?.try_into().ok()?) as usize)
    };
    let n = word(0)?;
    let offsets: Vec<usize> = (0..n).map(|i| word(i + 1)).collect::<Option<_>>()?;
    let part = |i: usize| b.get(*offsets.get(i)?..*offsets.get(i + 1)?);
    let mut v = json!({"channel": String::from_utf8(part(0)?.to_vec()).ok()?});
    for (i, k) in ["header", "parent_header", "metadata", "content"]
        .iter()
        .enumerate()
    {
        v[*k] = serde_json::from_slice(part(i + 1)?).ok()?;
    }
    Some(v)
}
