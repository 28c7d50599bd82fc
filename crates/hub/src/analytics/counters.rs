//! [`AnalyticsCounters`]: what learning analytics captured, delivered and lost, for the admin.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// A snapshot of the counters since the hub started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AnalyticsSnapshot {
    /// Kernel channel connections watched.
    pub connections: u64,
    /// Records captured (session bindings, executions, replies).
    pub captured: u64,
    /// Kernel messages that passed unread: malformed, oversized, compressed, broken framing.
    pub unparsed: u64,
    /// Records dropped because the outbox writer was too far behind or the outbox was full
    /// ([`MAX_OUTBOX`](super::MAX_OUTBOX)).
    pub dropped: u64,
    /// Records stored by the LMS.
    pub delivered: u64,
    /// Records the LMS refused for themselves (bad parameters): dropped.
    pub invalid: u64,
    /// Records the LMS refused for their destination (bad token, unknown function): dropped.
    pub refused: u64,
    /// Delivery attempts that will be retried (LMS down, slow, or answering errors).
    pub retries: u64,
}

/// The live counters.
#[derive(Debug, Default)]
pub(crate) struct AnalyticsCounters {
    pub(crate) connections: AtomicU64,
    pub(crate) captured: AtomicU64,
    pub(crate) unparsed: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) delivered: AtomicU64,
    pub(crate) invalid: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) retries: AtomicU64,
}

impl AnalyticsCounters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> AnalyticsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        AnalyticsSnapshot {
            connections: get(&self.connections),
            captured: get(&self.captured),
            unparsed: get(&self.unparsed),
            dropped: get(&self.dropped),
            delivered: get(&self.delivered),
            invalid: get(&self.invalid),
            refused: get(&self.refused),
            retries: get(&self.retries),
        }
    }
}
