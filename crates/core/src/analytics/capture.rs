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
