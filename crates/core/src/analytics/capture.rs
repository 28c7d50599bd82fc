//! [`KernelCapture`]: what one kernel channel WebSocket connection yields for the notebook logs,
//! read from the bytes the proxy has already forwarded, both ways.

use super::kernel::{Direction, KernelEvent, KernelProtocol, parse_message};
use super::ws::{FrameReader, WsCounters};

/// What a capture read, skipped and could not parse.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaptureCounters {
    /// Complete WebSocket data messages read, both ways.
    pub messages: u64,
    /// Executions and replies found.
    pub events: u64,
    /// Messages that named an execution but could not be parsed (forwarded all the same).
    pub malformed: u64,
    /// Messages over the size limit, skipped unread.
    pub oversized: u64,
    /// Compressed messages, skipped unread.
    pub compressed: u64,
    /// Directions whose framing broke (nothing after that point was read).
    pub broken: u64,
}

impl CaptureCounters {
    /// Messages that passed without being read: malformed, oversized, compressed, plus each
    /// broken direction.
    pub fn unparsed(&self) -> u64 {
        self.malformed + self.oversized + self.compressed + self.broken
    }
}

/// Reads both directions of one kernel channel connection; see [`crate::analytics`].
///
/// Memory: at most the two readers' message limits
/// ([`DEFAULT_MAX_MESSAGE`](super::ws::DEFAULT_MAX_MESSAGE) each), whatever either side sends.
#[derive(Debug)]
pub struct KernelCapture {
    protocol: KernelProtocol,
    from_client: FrameReader,
    from_kernel: FrameReader,
    events: u64,
    malformed: u64,
}

impl KernelCapture {
    /// A capture for a connection that speaks `protocol`.
    pub fn new(protocol: KernelProtocol) -> Self {
        Self::with_limit(protocol, super::ws::DEFAULT_MAX_MESSAGE)
    }

    /// A capture that keeps messages of at most `max_message` bytes each way.
    pub fn with_limit(protocol: KernelProtocol, max_message: usize) -> Self {
        Self {
            protocol,
            from_client: FrameReader::new(max_message),
            from_kernel: FrameReader::new(max_message),
            events: 0,
            malformed: 0,
        }
    }

    /// Reads `bytes` that went the way `direction` says, and appends the events they complete
    /// to `out`.
    pub fn feed(&mut self, direction: Direction, bytes: &[u8], out: &mut Vec<KernelEvent>) {
        let protocol = self.protocol;
        let reader = match direction {
            Direction::FromClient => &mut self.from_client,
            Direction::FromKernel => &mut self.from_kernel,
        };
        let (events, malformed) = (&mut self.events, &mut self.malformed);
        reader.feed(
            bytes,
            &mut |m| match parse_message(protocol, direction, m.binary, &m.payload) {
                Ok(Some(e)) => {
                    *events += 1;
                    out.push(e);
                }
                Ok(None) => {}
                Err(e) => {
                    *malformed += 1;
                    tracing::debug!(error = %e, "kernel message not captured");
                }
            },
        );
    }

    /// The counters of both directions.
    pub fn counters(&self) -> CaptureCounters {
        let add = |a: WsCounters, b: WsCounters| CaptureCounters {
            messages: a.messages + b.messages,
            events: self.events,
            malformed: self.malformed,
            oversized: a.oversized + b.oversized,
            compressed: a.compressed + b.compressed,
            broken: a.broken + b.broken,
        };
        add(self.from_client.counters(), self.from_kernel.counters())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::analytics::kernel::encode_v1;
    use crate::analytics::ws::tests::frame;

    fn request_v1() -> Vec<u8> {
        encode_v1(
            "shell",
            &[
                br#"{"msg_id":"m1","msg_type":"execute_request","session":"s1","date":"d1"}"#,
                b"{}",
                br#"{"cellId":"c1","tags":["codenum: 1"]}"#,
                br#"{"code":"1/0"}"#,
            ],
        )
    }

    fn reply_v1() -> Vec<u8> {
        encode_v1(
            "shell",
            &[
                br#"{"msg_id":"r1","msg_type":"execute_reply","username":"u","date":"d2"}"#,
                br#"{"msg_id":"m1","msg_type":"execute_request","session":"s1"}"#,
                b"{}",
                br#"{"status":"error"}"#,
            ],
        )
    }

    #[test]
    fn both_directions_in_fragments_and_odd_chunks_yield_the_request_then_the_reply() {
        let mut c = KernelCapture::new(KernelProtocol::V1);
        let req = request_v1();
        // The client's message in two masked fragments, fed three bytes at a time.
        let mut client = frame(0x02, &req[..40], Some([1, 2, 3, 4]));
        client.extend(frame(0x80, &req[40..], Some([5, 6, 7, 8])));
        let mut out = Vec::new();
        for chunk in client.chunks(3) {
            c.feed(Direction::FromClient, chunk, &mut out);
        }
        // Output on iopub, then the reply, from the kernel (unmasked).
        let iopub = encode_v1("iopub", &[br#"{"msg_type":"stream"}"#, b"{}", b"{}", b"{}"]);
        let mut kernel = frame(0x82, &iopub, None);
        kernel.extend(frame(0x82, &reply_v1(), None));
        c.feed(Direction::FromKernel, &kernel, &mut out);
        let kinds: Vec<&str> = out
            .iter()
            .map(|e| match e {
                KernelEvent::Request(r) => r.cell_id.as_str(),
                KernelEvent::Reply(r) => r.status.as_str(),
            })
            .collect();
        assert_eq!(kinds, ["c1", "error"]);
        let counters = c.counters();
        assert_eq!(
            (counters.messages, counters.events, counters.unparsed()),
            (3, 2, 0)
        );
    }

    #[test]
    fn unparsable_and_oversized_messages_are_counted_and_memory_stays_bounded() {
        let mut c = KernelCapture::with_limit(KernelProtocol::V1, 1024);
        let mut out = Vec::new();
        let mut truncated = request_v1();
        truncated.truncate(truncated.len() - 5);
        c.feed(
            Direction::FromClient,
            &frame(0x82, &truncated, None),
            &mut out,
        );
        let huge = vec![b'x'; 10_000];
        c.feed(Direction::FromClient, &frame(0x82, &huge, None), &mut out);
        c.feed(
            Direction::FromClient,
            &frame(0x82, &request_v1(), None),
            &mut out,
        );
        assert_eq!(out.len(), 1);
        let counters = c.counters();
        assert_eq!(
            (counters.malformed, counters.oversized, counters.unparsed()),
            (1, 1, 2)
        );
    }
}
