//! Reads Jupyter kernel messages off a kernel channel WebSocket, in both encodings JupyterLab 4
//! uses, and keeps what the notebook logs need: the client's `execute_request` and the kernel's
//! `execute_reply` on the `shell` channel.
//!
//! * **JSON text protocol** (no subprotocol, text frames): one JSON object per message, with
//!   `channel`, `header`, `parent_header`, `metadata` and `content`. Binary frames of this
//!   protocol carry buffers and are not read.
//! * **`v1.kernel.websocket.jupyter.org`** (binary frames): a little-endian `u64` count `n`,
//!   then `n` little-endian `u64` offsets; the parts between consecutive offsets are the
//!   channel name, then the JSON header, parent header, metadata and content, then buffers
//!   (`jupyter_server`'s `serialize_msg_to_ws_v1`). Only the channel and the four JSON parts are
//!   read.
//!
//! What is taken, as ltictr_proxy took it (`docs/original-system.md`, analytics):
//! from an `execute_request`, `header.session`, `header.msg_id`, `header.date`,
//! `metadata.cellId` and `metadata.tags` (as JSON text, e.g. `["filename: ex1.ipynb","codenum: 3"]`,
//! which mod_lticontainer's regex reads); from an `execute_reply`, `content.status` (else
//! `metadata.status`), `header.username`, `header.date`, and the parent's `session` and
//! `msg_id`. An `execute_request` without a `cellId` (a console) is kept with an empty cell id,
//! so that its reply always has a client record to pair with.
//!
//! Every field comes from the student (their browser or their own kernel), so each is cut to
//! [`MAX_FIELD`] bytes, the tags to [`MAX_TAGS`]: a record stays a few KiB whatever a message
//! carries (up to [`DEFAULT_MAX_MESSAGE`](super::ws::DEFAULT_MAX_MESSAGE)), in the writer's
//! queue, the dashboard's memory, the outbox and the history alike.

use serde::Deserialize;
use serde_json::Value;

/// The most bytes kept of a record's text field (ids, dates, user name, status): Jupyter's
/// are UUIDs and ISO dates, far shorter.
pub const MAX_FIELD: usize = 256;

/// The most bytes kept of a cell's tags (JSON text; mod_lticontainer reads `filename:` and
/// `codenum:` from it).
pub const MAX_TAGS: usize = 2048;

/// The WebSocket subprotocol of the binary kernel protocol.
pub const V1_SUBPROTOCOL: &str = "v1.kernel.websocket.jupyter.org";

/// Which encoding a kernel channel connection speaks (from the negotiated subprotocol).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelProtocol {
    /// The JSON text protocol (no subprotocol).
    Json,
    /// `v1.kernel.websocket.jupyter.org`.
    V1,
}

impl KernelProtocol {
    /// The protocol the server chose, from its `Sec-WebSocket-Protocol` answer.
    pub fn from_subprotocol(chosen: Option<&str>) -> Self {
        match chosen {
            Some(p) if p.trim() == V1_SUBPROTOCOL => Self::V1,
            _ => Self::Json,
        }
    }
}

/// A cell execution the client asked for (`execute_request`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecuteRequest {
    /// `header.session`: the notebook's kernel session.
    pub session: String,
    /// `header.msg_id`.
    pub msg_id: String,
    /// `metadata.cellId`, empty when absent.
    pub cell_id: String,
    /// `metadata.tags` as JSON text, empty when absent.
    pub tags: String,
    /// `header.date` as sent.
    pub date: String,
}

/// The kernel's answer to an execution (`execute_reply`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecuteReply {
    /// `parent_header.session`.
    pub session: String,
    /// `parent_header.msg_id`: the request's id.
    pub msg_id: String,
    /// `content.status` (`ok`, `error`, `aborted`).
    pub status: String,
    /// `header.username`.
    pub username: String,
    /// `header.date` as sent.
    pub date: String,
}

/// What one kernel message meant for the logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelEvent {
    /// From the client.
    Request(ExecuteRequest),
    /// From the kernel.
    Reply(ExecuteReply),
}

/// Why a message could not be read. Such messages were forwarded all the same.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KernelParseError {
    /// Not the JSON (or the v1 framing) it should be.
    #[error("malformed kernel message: {0}")]
    Malformed(String),
}

/// Which side sent a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The browser, to the kernel.
    FromClient,
    /// The kernel, to the browser.
    FromKernel,
}

#[derive(Debug, Default, Deserialize)]
struct Header {
    #[serde(default)]
    msg_id: Option<String>,
    #[serde(default)]
    msg_type: Option<String>,
    #[serde(default)]
    session: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    date: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
struct Metadata {
    #[serde(default, rename = "cellId")]
    cell_id: Option<Value>,
    #[serde(default)]
    tags: Option<Value>,
    #[serde(default)]
    status: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
struct Content {
    #[serde(default)]
    status: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct JsonMessage {
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    header: Option<Header>,
    #[serde(default)]
    parent_header: Option<Header>,
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    content: Option<Content>,
}

/// Reads one data message of a kernel channel connection. `Ok(None)`: a message the logs do not
/// need (another type or channel, a buffer frame of the JSON protocol).
///
/// # Errors
/// [`KernelParseError::Malformed`] when the message is not what its protocol says.
pub fn parse_message(
    protocol: KernelProtocol,
    direction: Direction,
    binary: bool,
    payload: &[u8],
) -> Result<Option<KernelEvent>, KernelParseError> {
    let wanted: &[u8] = match direction {
        Direction::FromClient => b"execute_request",
        Direction::FromKernel => b"execute_reply",
    };
    // Most traffic is output on iopub: it never names the wanted type, and is not parsed.
    if memchr::memmem::find(payload, wanted).is_none() {
        return Ok(None);
    }
    match (protocol, binary) {
        (KernelProtocol::Json, false) => {
            let msg: JsonMessage = serde_json::from_slice(payload).map_err(malformed)?;
            if msg.channel.as_deref().is_some_and(|c| c != "shell") {
                return Ok(None);
            }
            Ok(event(
                direction,
                msg.header.unwrap_or_default(),
                msg.parent_header.unwrap_or_default(),
                msg.metadata.unwrap_or_default(),
                msg.content.unwrap_or_default(),
            ))
        }
        (KernelProtocol::V1, true) => parse_v1(direction, payload),
        // Buffers of the JSON protocol; text in the binary protocol is not a kernel message.
        _ => Ok(None),
    }
}

fn parse_v1(direction: Direction, payload: &[u8]) -> Result<Option<KernelEvent>, KernelParseError> {
    let parts = v1_parts(payload)?;
    let Some(channel) = parts.first() else {
        return Err(KernelParseError::Malformed("no channel".into()));
    };
    if *channel != b"shell" {
        return Ok(None);
    }
    let [header, parent, metadata, content] = match parts.get(1..5) {
        Some(&[h, p, m, c]) => [h, p, m, c],
        _ => {
            return Err(KernelParseError::Malformed(
                "fewer than four JSON parts".into(),
            ));
        }
    };
    let header: Header = serde_json::from_slice(header).map_err(malformed)?;
    let wanted = match direction {
        Direction::FromClient => "execute_request",
        Direction::FromKernel => "execute_reply",
    };
    if header.msg_type.as_deref() != Some(wanted) {
        return Ok(None);
    }
    let parent: Header = empty_or(parent)?;
    let metadata: Metadata = empty_or(metadata)?;
    let content: Content = empty_or(content)?;
    Ok(event(direction, header, parent, metadata, content))
}

/// An empty part (JupyterLab may send `{}` or nothing) reads as the default.
fn empty_or<T: Default + for<'de> Deserialize<'de>>(part: &[u8]) -> Result<T, KernelParseError> {
    if part.is_empty() {
        return Ok(T::default());
    }
    serde_json::from_slice(part).map_err(malformed)
}

/// The parts of a v1 message, checked against its length.
fn v1_parts(payload: &[u8]) -> Result<Vec<&[u8]>, KernelParseError> {
    let word = |i: usize| -> Option<u64> {
        let bytes = payload.get(i * 8..i * 8 + 8)?;
        let mut b = [0u8; 8];
        b.copy_from_slice(bytes);
        Some(u64::from_le_bytes(b))
    };
    let count = word(0).ok_or_else(|| KernelParseError::Malformed("no offset count".into()))?;
    // The offsets themselves must fit in the payload.
    if count < 2 || count.saturating_mul(8).saturating_add(8) > payload.len() as u64 {
        return Err(KernelParseError::Malformed(format!(
            "{count} offsets in {} bytes",
            payload.len()
        )));
    }
    let count = count as usize;
    let mut offsets = Vec::with_capacity(count + 1);
    for i in 0..count {
        let o = word(i + 1).unwrap_or(u64::MAX);
        let prev = offsets.last().copied().unwrap_or((count as u64 + 1) * 8);
        if o < prev || o > payload.len() as u64 {
            return Err(KernelParseError::Malformed(format!(
                "offset {o} out of order or range"
            )));
        }
        offsets.push(o);
    }
    // The last part runs to the end when the last offset is not the end already.
    if offsets.last().copied() != Some(payload.len() as u64) {
        offsets.push(payload.len() as u64);
    }
    Ok(offsets
        .windows(2)
        .map(|w| &payload[w[0] as usize..w[1] as usize])
        .collect())
}

fn event(
    direction: Direction,
    header: Header,
    parent: Header,
    metadata: Metadata,
    content: Content,
) -> Option<KernelEvent> {
    match direction {
        Direction::FromClient => {
            if header.msg_type.as_deref() != Some("execute_request") {
                return None;
            }
            Some(KernelEvent::Request(ExecuteRequest {
                session: field(header.session.unwrap_or_default()),
                msg_id: field(header.msg_id.unwrap_or_default()),
                cell_id: field(metadata.cell_id.map(text).unwrap_or_default()),
                tags: clip(
                    metadata
                        .tags
                        .filter(|t| !t.is_null())
                        .map(|t| t.to_string())
                        .unwrap_or_default(),
                    MAX_TAGS,
                ),
                date: field(header.date.map(text).unwrap_or_default()),
            }))
        }
        Direction::FromKernel => {
            if header.msg_type.as_deref() != Some("execute_reply") {
                return None;
            }
            Some(KernelEvent::Reply(ExecuteReply {
                session: field(parent.session.unwrap_or_default()),
                msg_id: field(parent.msg_id.unwrap_or_default()),
                status: field(
                    content
                        .status
                        .or(metadata.status)
                        .map(text)
                        .unwrap_or_default(),
                ),
                username: field(header.username.unwrap_or_default()),
                date: field(header.date.map(text).unwrap_or_default()),
            }))
        }
    }
}

/// A JSON value as text: a string as itself, anything else as JSON.
/// `s` cut to [`MAX_FIELD`] bytes.
fn field(s: String) -> String {
    clip(s, MAX_FIELD)
}

/// `s` cut to at most `max` bytes, on a character boundary.
fn clip(mut s: String, max: usize) -> String {
    if s.len() > max {
        let end = (0..=max)
            .rev()
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(0);
        s.truncate(end);
    }
    s
}

fn text(v: Value) -> String {
    match v {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn malformed(e: serde_json::Error) -> KernelParseError {
    KernelParseError::Malformed(e.to_string())
}

/// Encodes a message in the v1 protocol, as `jupyter_server` does: for tests and benches.
pub fn encode_v1(channel: &str, parts: &[&[u8]]) -> Vec<u8> {
    let count = 2 + parts.len();
    let mut offsets = vec![(8 * (1 + count)) as u64];
    offsets.push(offsets[0] + channel.len() as u64);
    for p in parts {
        let last = offsets.last().copied().unwrap_or(0);
        offsets.push(last + p.len() as u64);
    }
    let mut out = Vec::new();
    out.extend_from_slice(&(offsets.len() as u64).to_le_bytes());
    for o in &offsets {
        out.extend_from_slice(&o.to_le_bytes());
    }
    out.extend_from_slice(channel.as_bytes());
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request_json() -> Value {
        json!({
            "channel": "shell",
            "header": {"msg_id": "m1", "msg_type": "execute_request", "session": "s1",
                       "username": "", "date": "2026-12-01T10:00:00.000Z", "version": "5.2"},
            "parent_header": {},
            "metadata": {"cellId": "c-1", "tags": ["filename: ex1.ipynb", "codenum: 3"],
                         "deletedCells": [], "recordTiming": false},
            "content": {"code": "1/0", "silent": false},
            "buffers": []
        })
    }

    fn reply_json(status: &str) -> Value {
        json!({
            "channel": "shell",
            "header": {"msg_id": "r1", "msg_type": "execute_reply", "session": "k1",
                       "username": "alice", "date": "2026-12-01T10:00:01.5Z"},
            "parent_header": {"msg_id": "m1", "msg_type": "execute_request", "session": "s1"},
            "metadata": {"status": status},
            "content": {"status": status, "execution_count": 3},
        })
    }

    fn want_request() -> KernelEvent {
        KernelEvent::Request(ExecuteRequest {
            session: "s1".into(),
            msg_id: "m1".into(),
            cell_id: "c-1".into(),
            tags: r#"["filename: ex1.ipynb","codenum: 3"]"#.into(),
            date: "2026-12-01T10:00:00.000Z".into(),
        })
    }

    fn want_reply(status: &str) -> KernelEvent {
        KernelEvent::Reply(ExecuteReply {
            session: "s1".into(),
            msg_id: "m1".into(),
            status: status.into(),
            username: "alice".into(),
            date: "2026-12-01T10:00:01.5Z".into(),
        })
    }

    fn v1_of(v: &Value) -> Vec<u8> {
        let parts: Vec<Vec<u8>> = ["header", "parent_header", "metadata", "content"]
            .iter()
            .map(|k| v[k].to_string().into_bytes())
            .collect();
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        encode_v1(v["channel"].as_str().unwrap(), &refs)
    }

    #[test]
    fn oversized_fields_are_cut_so_a_record_stays_small() {
        let big = "é".repeat(10_000);
        let mut req = request_json();
        req["header"]["session"] = big.clone().into();
        req["header"]["msg_id"] = big.clone().into();
        req["header"]["date"] = big.clone().into();
        req["metadata"]["cellId"] = big.clone().into();
        req["metadata"]["tags"] = json!([big.clone(), "codenum: 3"]);
        let mut rep = reply_json("ok");
        rep["header"]["username"] = big.clone().into();
        rep["content"]["status"] = big.clone().into();
        rep["parent_header"]["session"] = big.clone().into();
        rep["parent_header"]["msg_id"] = big.into();
        let parse = |d, v: &Value| {
            parse_message(KernelProtocol::V1, d, true, &v1_of(v))
                .unwrap()
                .unwrap()
        };
        let KernelEvent::Request(r) = parse(Direction::FromClient, &req) else {
            panic!("a request")
        };
        for f in [&r.session, &r.msg_id, &r.date, &r.cell_id] {
            assert!(
                f.len() <= MAX_FIELD && f.len() >= MAX_FIELD - 1,
                "{}",
                f.len()
            );
            assert!(f.starts_with("éé"));
        }
        assert!(
            r.tags.len() <= MAX_TAGS && r.tags.starts_with("[\"éé"),
            "{}",
            r.tags.len()
        );
        let KernelEvent::Reply(r) = parse(Direction::FromKernel, &rep) else {
            panic!("a reply")
        };
        for f in [&r.session, &r.msg_id, &r.username, &r.status] {
            assert!(
                f.len() <= MAX_FIELD && f.len() >= MAX_FIELD - 1,
                "{}",
                f.len()
            );
        }
    }

    #[test]
    fn json_protocol_request_and_reply() {
        let req = request_json().to_string();
        let got = parse_message(
            KernelProtocol::Json,
            Direction::FromClient,
            false,
            req.as_bytes(),
        );
        assert_eq!(got, Ok(Some(want_request())));
        let rep = reply_json("error").to_string();
        let got = parse_message(
            KernelProtocol::Json,
            Direction::FromKernel,
            false,
            rep.as_bytes(),
        );
        assert_eq!(got, Ok(Some(want_reply("error"))));
    }

    #[test]
    fn v1_protocol_request_and_reply() {
        let got = parse_message(
            KernelProtocol::V1,
            Direction::FromClient,
            true,
            &v1_of(&request_json()),
        );
        assert_eq!(got, Ok(Some(want_request())));
        let got = parse_message(
            KernelProtocol::V1,
            Direction::FromKernel,
            true,
            &v1_of(&reply_json("ok")),
        );
        assert_eq!(got, Ok(Some(want_reply("ok"))));
    }

    #[test]
    fn v1_with_buffers_and_without_a_final_offset() {
        let v = request_json();
        let h = v["header"].to_string();
        let p = v["parent_header"].to_string();
        let m = v["metadata"].to_string();
        let c = v["content"].to_string();
        let with_buffer = encode_v1(
            "shell",
            &[
                h.as_bytes(),
                p.as_bytes(),
                m.as_bytes(),
                c.as_bytes(),
                b"\x00\x01",
            ],
        );
        let got = parse_message(
            KernelProtocol::V1,
            Direction::FromClient,
            true,
            &with_buffer,
        );
        assert_eq!(got, Ok(Some(want_request())));
        // JupyterLab's own serializer leaves out the end offset: the last part runs to the end.
        let mut short = encode_v1(
            "shell",
            &[h.as_bytes(), p.as_bytes(), m.as_bytes(), c.as_bytes()],
        );
        let count = u64::from_le_bytes(short[..8].try_into().unwrap());
        let n = count as usize;
        let mut rebuilt = Vec::new();
        rebuilt.extend_from_slice(&(count - 1).to_le_bytes());
        for i in 0..n - 1 {
            let o = u64::from_le_bytes(short[8 * (i + 1)..8 * (i + 2)].try_into().unwrap()) - 8;
            rebuilt.extend_from_slice(&o.to_le_bytes());
        }
        rebuilt.extend_from_slice(&short.split_off(8 * (n + 1)));
        let got = parse_message(KernelProtocol::V1, Direction::FromClient, true, &rebuilt);
        assert_eq!(got, Ok(Some(want_request())));
    }

    #[test]
    fn other_messages_are_not_events() {
        let mut iopub = request_json();
        iopub["channel"] = json!("iopub");
        for (proto, bin, payload) in [
            (KernelProtocol::Json, false, iopub.to_string().into_bytes()),
            (KernelProtocol::V1, true, v1_of(&iopub)),
            (
                KernelProtocol::Json,
                false,
                br#"{"header":{"msg_type":"kernel_info_request"}}"#.to_vec(),
            ),
            (
                KernelProtocol::Json,
                true,
                request_json().to_string().into_bytes(),
            ),
            (
                KernelProtocol::V1,
                false,
                request_json().to_string().into_bytes(),
            ),
        ] {
            assert_eq!(
                parse_message(proto, Direction::FromClient, bin, &payload),
                Ok(None)
            );
        }
        // A reply seen from the client's side is not the kernel's reply.
        let rep = reply_json("ok").to_string();
        assert_eq!(
            parse_message(
                KernelProtocol::Json,
                Direction::FromClient,
                false,
                rep.as_bytes()
            ),
            Ok(None)
        );
    }

    #[test]
    fn malformed_and_truncated_messages_are_errors() {
        let req = request_json().to_string();
        let v1 = v1_of(&request_json());
        let cases: Vec<(KernelProtocol, bool, Vec<u8>)> = vec![
            (
                KernelProtocol::Json,
                false,
                req.as_bytes()[..req.len() / 2].to_vec(),
            ),
            (
                KernelProtocol::Json,
                false,
                b"execute_request not json".to_vec(),
            ),
            (KernelProtocol::V1, true, v1[..v1.len() - 10].to_vec()),
            (KernelProtocol::V1, true, b"execute_request".to_vec()),
            (KernelProtocol::V1, true, {
                let mut b = v1.clone();
                b[..8].copy_from_slice(&u64::MAX.to_le_bytes());
                b
            }),
            (KernelProtocol::V1, true, {
                let mut b = v1.clone();
                b[16..24].copy_from_slice(&0u64.to_le_bytes());
                b
            }),
        ];
        for (proto, bin, payload) in cases {
            let got = parse_message(proto, Direction::FromClient, bin, &payload);
            assert!(
                matches!(got, Err(KernelParseError::Malformed(_))),
                "{got:?}"
            );
        }
    }

    #[test]
    fn a_console_request_has_an_empty_cell_id_and_no_tags() {
        let mut v = request_json();
        v["metadata"] = json!({});
        let got = parse_message(
            KernelProtocol::Json,
            Direction::FromClient,
            false,
            v.to_string().as_bytes(),
        );
        let Ok(Some(KernelEvent::Request(r))) = got else {
            panic!("{got:?}")
        };
        assert_eq!((r.cell_id.as_str(), r.tags.as_str()), ("", ""));
    }

    #[test]
    fn subprotocol_picks_the_protocol() {
        assert_eq!(
            KernelProtocol::from_subprotocol(Some(V1_SUBPROTOCOL)),
            KernelProtocol::V1
        );
        assert_eq!(KernelProtocol::from_subprotocol(None), KernelProtocol::Json);
        assert_eq!(
            KernelProtocol::from_subprotocol(Some("other")),
            KernelProtocol::Json
        );
    }
}
