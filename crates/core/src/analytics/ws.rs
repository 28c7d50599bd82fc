//! An incremental WebSocket (RFC 6455) frame reader that watches one direction of a connection
//! and hands back its complete data messages, with bounded memory.
//!
//! The bytes it is fed have already been forwarded: it never changes, delays or drops them, it
//! only decides what it can read. A frame header may be split anywhere across reads; masked
//! payloads (client to server) are unmasked; fragmented messages are reassembled, with control
//! frames allowed between their fragments. A message longer than the reader's limit is skipped
//! without being buffered (counted in [`WsCounters::oversized`]); a compressed message (RSV1,
//! `permessage-deflate`) is skipped and counted (the proxy keeps the extension from being
//! negotiated on the connections it watches, so this only happens when an endpoint breaks the
//! negotiation); a stream that breaks the framing rules stops being read (counted once in
//! [`WsCounters::broken`]) and everything after it passes unread.

/// The most bytes of one message a reader keeps: larger messages are skipped. Kernel
/// `execute_request`s carry the cell's source, `execute_reply`s a few hundred bytes.
pub const DEFAULT_MAX_MESSAGE: usize = 256 * 1024;

/// A complete data message read from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsMessage {
    /// Binary (opcode 2) rather than text (opcode 1).
    pub binary: bool,
    /// The unmasked, reassembled payload.
    pub payload: Vec<u8>,
}

/// What a reader could not read, for the admin's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WsCounters {
    /// Data messages read completely.
    pub messages: u64,
    /// Messages skipped because they were longer than the limit.
    pub oversized: u64,
    /// Messages skipped because they were compressed.
    pub compressed: u64,
    /// 1 when the stream broke the framing rules (nothing after that point is read).
    pub broken: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// The payload goes into the message buffer.
    Message,
    /// The payload is skipped (a control frame, an oversized or compressed message).
    Skip,
}

#[derive(Debug)]
enum State {
    /// Reading a frame header; `len` bytes of it are in `head`.
    Header { head: [u8; 14], len: usize },
    /// Reading `remaining` payload bytes of a frame.
    Payload {
        remaining: u64,
        mask: Option<[u8; 4]>,
        /// Position in the masking key of the next byte.
        offset: usize,
        keep: Keep,
        fin: bool,
        control: bool,
    },
    /// The stream broke the framing rules; nothing more is read.
    Broken,
}

/// The message being reassembled from its fragments.
#[derive(Debug, Default)]
struct Assembly {
    /// A data message has started and not finished yet.
    open: bool,
    binary: bool,
    /// The message is skipped (over the limit or compressed).
    skipping: bool,
    buf: Vec<u8>,
}

/// Reads one direction of a WebSocket connection; see the module docs.
#[derive(Debug)]
pub struct FrameReader {
    max_message: usize,
    state: State,
    message: Assembly,
    counters: WsCounters,
}

impl Default for FrameReader {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_MESSAGE)
    }
}

impl FrameReader {
    /// A reader that keeps messages of at most `max_message` bytes.
    pub fn new(max_message: usize) -> Self {
        Self {
            max_message,
            state: State::Header {
                head: [0; 14],
                len: 0,
            },
            message: Assembly::default(),
            counters: WsCounters::default(),
        }
    }

    /// What the reader has read and skipped so far.
    pub fn counters(&self) -> WsCounters {
        self.counters
    }

    /// The bytes the reader holds now (the message being reassembled): at most the limit.
    pub fn buffered(&self) -> usize {
        self.message.buf.len()
    }

    /// Reads `bytes` (the next bytes of the stream) and calls `on_message` for each data
    /// message they complete.
    pub fn feed(&mut self, mut bytes: &[u8], on_message: &mut dyn FnMut(WsMessage)) {
        while !bytes.is_empty() {
            match &mut self.state {
                State::Broken => return,
                State::Header { head, len } => {
                    let need = header_len(&head[..*len]);
                    let take = (need - *len).min(bytes.len());
                    head[*len..*len + take].copy_from_slice(&bytes[..take]);
                    *len += take;
                    bytes = &bytes[take..];
                    if *len == header_len(&head[..*len]) {
                        let head = *head;
                        let len = *len;
                        self.start_frame(&head[..len], on_message);
                    }
                }
                State::Payload {
                    remaining,
                    mask,
                    offset,
                    keep,
                    ..
                } => {
                    let take = usize::try_from(*remaining)
                        .unwrap_or(usize::MAX)
                        .min(bytes.len());
                    if *keep == Keep::Message {
                        let start = self.message.buf.len();
                        self.message.buf.extend_from_slice(&bytes[..take]);
                        if let Some(key) = mask {
                            for (i, b) in self.message.buf[start..].iter_mut().enumerate() {
                                *b ^= key[(*offset + i) % 4];
                            }
                        }
                    }
                    *offset = (*offset + take) % 4;
                    *remaining -= take as u64;
                    bytes = &bytes[take..];
                    if *remaining == 0 {
                        self.end_frame(on_message);
                    }
                }
            }
        }
    }

    /// A complete header is in `head`: checks it and moves to its payload.
    fn start_frame(&mut self, head: &[u8], on_message: &mut dyn FnMut(WsMessage)) {
        let fin = head[0] & 0x80 != 0;
        let rsv = head[0] & 0x70;
        let opcode = head[0] & 0x0f;
        let masked = head[1] & 0x80 != 0;
        let short = head[1] & 0x7f;
        let (length, rest) = match short {
            126 => (
                u64::from(u16::from_be_bytes([head[2], head[3]])),
                &head[4..],
            ),
            127 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&head[2..10]);
                (u64::from_be_bytes(b), &head[10..])
            }
            n => (u64::from(n), &head[2..]),
        };
        let mask = masked.then(|| [rest[0], rest[1], rest[2], rest[3]]);
        let control = opcode >= 8;
        let keep = match opcode {
            // Close, ping, pong: at most 125 bytes, never fragmented.
            8..=10 if fin && length <= 125 && rsv == 0 => Keep::Skip,
            // Text or binary: starts a message, unless one is already open.
            1 | 2 if !self.message.open && rsv & 0x30 == 0 => {
                self.message = Assembly {
                    open: true,
                    binary: opcode == 2,
                    skipping: false,
                    buf: std::mem::take(&mut self.message.buf),
                };
                self.message.buf.clear();
                if rsv & 0x40 != 0 {
                    self.counters.compressed += 1;
                    self.message.skipping = true;
                }
                self.accept_length(length)
            }
            // Continuation of the open message.
            0 if self.message.open && rsv == 0 => self.accept_length(length),
            _ => {
                self.break_stream();
                return;
            }
        };
        self.state = State::Payload {
            remaining: length,
            mask,
            offset: 0,
            keep,
            fin,
            control,
        };
        if length == 0 {
            self.end_frame(on_message);
        }
    }

    /// Whether `length` more payload bytes of the open message fit under the limit; when they do
    /// not, the message is skipped from here on and its buffer freed.
    fn accept_length(&mut self, length: u64) -> Keep {
        if self.message.skipping {
            return Keep::Skip;
        }
        let total = (self.message.buf.len() as u64).saturating_add(length);
        if total > self.max_message as u64 {
            self.counters.oversized += 1;
            self.message.skipping = true;
            self.message.buf = Vec::new();
            return Keep::Skip;
        }
        Keep::Message
    }

    fn end_frame(&mut self, on_message: &mut dyn FnMut(WsMessage)) {
        let State::Payload { fin, control, .. } = self.state else {
            return;
        };
        self.state = State::Header {
            head: [0; 14],
            len: 0,
        };
        if control || !fin {
            return;
        }
        let done = std::mem::take(&mut self.message);
        if !done.skipping {
            self.counters.messages += 1;
            on_message(WsMessage {
                binary: done.binary,
                payload: done.buf,
            });
        }
    }

    fn break_stream(&mut self) {
        self.counters.broken = 1;
        self.state = State::Broken;
        self.message = Assembly::default();
    }
}

/// How long the header that starts with `head` is, as far as `head` tells (2 until the length
/// byte is known).
fn header_len(head: &[u8]) -> usize {
    let Some(&second) = head.get(1) else {
        return 2;
    };
    let mask = if second & 0x80 != 0 { 4 } else { 0 };
    let extended = match second & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    2 + extended + mask
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Encodes one frame: `first` is the FIN/RSV/opcode byte; `mask` masks the payload.
    pub(crate) fn frame(first: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
        let mut out = vec![first];
        let m = if mask.is_some() { 0x80 } else { 0 };
        match payload.len() {
            n if n < 126 => out.push(m | n as u8),
            n if n <= 0xffff => {
                out.push(m | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(m | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        match mask {
            Some(key) => {
                out.extend_from_slice(&key);
                out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
            }
            None => out.extend_from_slice(payload),
        }
        out
    }

    fn read_all(reader: &mut FrameReader, chunks: &[&[u8]]) -> Vec<WsMessage> {
        let mut out = Vec::new();
        for c in chunks {
            reader.feed(c, &mut |m| out.push(m));
        }
        out
    }

    #[test]
    fn unmasked_and_masked_frames_of_every_length_class() {
        for len in [0usize, 5, 125, 126, 300, 65_535, 65_536, 70_000] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            for mask in [None, Some([1, 2, 3, 0xff])] {
                let bytes = frame(0x82, &payload, mask);
                let mut r = FrameReader::default();
                let got = read_all(&mut r, &[&bytes]);
                assert_eq!(got.len(), 1, "len {len} mask {mask:?}");
                assert!(got[0].binary);
                assert_eq!(got[0].payload, payload);
            }
        }
    }

    #[test]
    fn every_split_point_gives_the_same_messages() {
        let mut stream = frame(0x81, br#"{"a":1}"#, Some([9, 8, 7, 6]));
        stream.extend(frame(0x89, b"ping", None));
        stream.extend(frame(0x82, &[0u8; 200], Some([1, 1, 1, 1])));
        let whole = read_all(&mut FrameReader::default(), &[&stream]);
        assert_eq!(whole.len(), 2);
        for cut in 0..stream.len() {
            let (a, b) = stream.split_at(cut);
            assert_eq!(
                read_all(&mut FrameReader::default(), &[a, b]),
                whole,
                "cut {cut}"
            );
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(read_all(&mut FrameReader::default(), &bytes), whole);
    }

    #[test]
    fn fragments_are_reassembled_around_control_frames() {
        let mut s = frame(0x01, b"hel", Some([1, 2, 3, 4]));
        s.extend(frame(0x89, b"", Some([5, 5, 5, 5])));
        s.extend(frame(0x00, b"lo ", Some([7, 7, 7, 7])));
        s.extend(frame(0x80, b"world", Some([0, 9, 0, 9])));
        let got = read_all(&mut FrameReader::default(), &[&s]);
        assert_eq!(
            got,
            vec![WsMessage {
                binary: false,
                payload: b"hello world".to_vec()
            }]
        );
    }

    #[test]
    fn oversized_messages_are_skipped_without_being_kept() {
        let mut r = FrameReader::new(100);
        let mut s = frame(0x02, &[1; 60], None);
        s.extend(frame(0x80, &[2; 60], None));
        s.extend(frame(0x81, b"small", None));
        let mut got = Vec::new();
        for c in s.chunks(7) {
            r.feed(c, &mut |m| got.push(m));
            assert!(r.buffered() <= 100);
        }
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].payload, b"small");
        assert_eq!(r.counters().oversized, 1);
        // A declared length far over the limit is never buffered either.
        let mut r = FrameReader::new(100);
        r.feed(&[0x82, 127, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3], &mut |_| {
            panic!("no message")
        });
        assert_eq!(r.buffered(), 0);
        assert_eq!(r.counters().oversized, 1);
    }

    #[test]
    fn compressed_messages_are_skipped_and_counted() {
        let mut s = frame(0xc1, b"\x01\x02", None);
        s.extend(frame(0x81, b"plain", None));
        let mut r = FrameReader::default();
        let got = read_all(&mut r, &[&s]);
        assert_eq!(got.len(), 1);
        assert_eq!(r.counters().compressed, 1);
    }

    #[test]
    fn a_broken_stream_stops_being_read() {
        for bad in [
            frame(0x83, b"x", None),        // reserved opcode
            frame(0x80, b"x", None),        // continuation with nothing open
            frame(0x09, b"x", None),        // fragmented ping
            frame(0xa1, b"x", None),        // RSV2 without an extension
            frame(0x88, &[0u8; 126], None), // control frame over 125 bytes
        ] {
            let mut s = bad.clone();
            s.extend(frame(0x81, b"after", None));
            let mut r = FrameReader::default();
            assert!(read_all(&mut r, &[&s]).is_empty(), "{bad:?}");
            assert_eq!(r.counters().broken, 1);
        }
        // A new message while another is open is broken too.
        let mut s = frame(0x01, b"a", None);
        s.extend(frame(0x81, b"b", None));
        let mut r = FrameReader::default();
        assert!(read_all(&mut r, &[&s]).is_empty());
        assert_eq!(r.counters().broken, 1);
    }

    #[test]
    fn a_stream_cut_mid_frame_yields_nothing_for_that_frame() {
        let s = frame(0x81, b"a whole message", Some([1, 2, 3, 4]));
        for cut in 0..s.len() {
            let mut r = FrameReader::default();
            assert!(read_all(&mut r, &[&s[..cut]]).is_empty(), "cut {cut}");
            assert!(r.buffered() <= s.len());
        }
    }
}
