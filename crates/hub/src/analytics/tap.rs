//! [`KernelTap`]: the capture of one kernel channel WebSocket, fed by the proxy with the bytes
//! it has forwarded.
//!
//! **Whose records.** A server record's `username` is the hub user whose server the connection
//! goes to (the proxy routed it after checking the session), not the `header.username` the kernel
//! wrote: that is whatever the student's container says (a stock image's kernel says `username`,
//! and a student can start a kernel under any name), and mod_lticontainer's dashboard files the
//! row under that name. The original got the student's login there only because its `start.sh`
//! ran the kernel as a Unix account of that name. Where the hub runs a student under another
//! name than their LMS login (an e-mail-style login, see `LtiLaunch::lms_login`), the record
//! carries the login ([`KernelTap`]'s `report_as`), which is what the plugin matches.

use std::sync::Arc;

use lticontainer_core::analytics::{
    Direction, KernelCapture, KernelProtocol, LmsTarget, NbHost, NbLog,
};
use lticontainer_core::params::SessionInfo;
use lticontainer_core::store::OutboxItem;

use super::Analytics;
use super::counters::AnalyticsCounters;

/// Reads one kernel channel connection and queues its records; see [`super`].
#[derive(Debug)]
pub struct KernelTap {
    analytics: Arc<Analytics>,
    user: String,
    /// The name server records carry: the user's LMS login.
    report_as: String,
    target: LmsTarget,
    capture: KernelCapture,
    events: Vec<lticontainer_core::analytics::KernelEvent>,
    /// What of the capture's unparsed count is in the hub's counters already.
    counted_unparsed: u64,
}

impl KernelTap {
    pub(crate) fn new(
        analytics: Arc<Analytics>,
        user: String,
        report_as: String,
        target: LmsTarget,
        protocol: KernelProtocol,
    ) -> Self {
        Self {
            analytics,
            user,
            report_as,
            target,
            capture: KernelCapture::new(protocol),
            events: Vec::new(),
            counted_unparsed: 0,
        }
    }

    pub(crate) fn session_info(&self) -> SessionInfo {
        self.target.session
    }

    pub(crate) fn queue(&self, log: NbLog) {
        self.analytics.enqueue(OutboxItem {
            user: self.user.clone(),
            endpoint: self.target.endpoint.clone(),
            token: self.target.token.clone(),
            log,
            captured: self.analytics.now(),
        });
    }

    /// Reads `bytes` that were just forwarded the way `direction` says. Never blocks.
    pub fn inspect(&mut self, direction: Direction, bytes: &[u8]) {
        self.capture.feed(direction, bytes, &mut self.events);
        for event in std::mem::take(&mut self.events) {
            let mut log = NbLog::from_event(event);
            if log.host == NbHost::Server {
                log.username.clone_from(&self.report_as);
            }
            self.queue(log);
        }
        let unparsed = self.capture.counters().unparsed();
        if unparsed > self.counted_unparsed {
            AnalyticsCounters::add(
                &self.analytics.counters.unparsed,
                unparsed - self.counted_unparsed,
            );
            self.counted_unparsed = unparsed;
        }
    }
}

impl Drop for KernelTap {
    fn drop(&mut self) {
        let c = self.capture.counters();
        if c.unparsed() > 0 {
            tracing::info!(user = %self.user, malformed = c.malformed, oversized = c.oversized, compressed = c.compressed, broken = c.broken, "analytics: kernel messages passed without being read");
        }
    }
}
