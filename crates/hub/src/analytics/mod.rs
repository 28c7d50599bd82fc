//! Learning analytics: the cells students run reach mod_lticontainer's tables in Moodle.
//!
//! * A launch records where the student's records go ([`Analytics::note_launch`]: the
//!   [`LmsTarget`] of `lms_sessioninfo`, `lms_serverurl`, `lms_serverpath`, `lms_rpctoken`,
//!   kept in the [`AnalyticsStore`], never in a container, never logged), when that is the LMS
//!   that signed the launch or an origin the admin listed ([`destination`]).
//! * The proxy opens a [`KernelTap`] on each kernel channel WebSocket of a student with a target
//!   ([`Analytics::open_kernel_channel`]): the `ltictr` record binding the notebook session to
//!   the activity, then one record per `execute_request` and `execute_reply`, read from bytes
//!   already forwarded.
//! * Records go through a bounded queue into the durable outbox (one writer task), and from
//!   there to the LMS ([`delivery`]), one record per request, in capture order per session.
//!
//! * The writer feeds every batch it stored to the [`LiveBoard`] (the teachers' live
//!   dashboard), which it first rebuilds from the store's history.
//! * A launch also records whether it makes the user a teacher of its activity
//!   ([`Analytics::note_teaching`], `teaching.rs`): the dashboards they may open.
//!
//! Nothing here stands in a student's way: capture never blocks the proxy (a full queue drops
//! and counts), a launch without the parameters simply has no capture.

pub mod board;
mod client;
mod counters;
pub mod delivery;
pub mod destination;
mod tap;
mod teaching;
pub mod watchers;

use std::sync::Arc;
use std::time::Duration;

use lticontainer_core::analytics::{KernelProtocol, LmsTarget, NbLog};
use lticontainer_core::clock::Clock;
use lticontainer_core::launch::LtiLaunch;
use lticontainer_core::params::LmsParams;
use lticontainer_core::store::{AnalyticsStore, OutboxItem};
use tokio::sync::{Notify, mpsc};

pub use board::{LiveBoard, Watch};
pub use client::{ClientError, LmsClient, ServiceCall};
pub use counters::AnalyticsSnapshot;
pub use destination::AnalyticsDestinations;
pub use tap::KernelTap;
pub use watchers::WatchPermit;

use counters::AnalyticsCounters;

/// How many captured records may wait for the outbox writer before new ones are dropped.
const QUEUE: usize = 16 * 1024;

/// The most records the writer stores in one transaction.
const WRITE_BATCH: usize = 512;

/// The most records the durable outbox holds: past it new records are dropped (and counted)
/// until delivery makes room, so neither a student's flood of executions nor an LMS that is
/// down for days fills the hub's disk. A record is at most a few KiB (the capture cuts every
/// field), usually a few hundred bytes.
pub const MAX_OUTBOX: u64 = 500_000;

/// How many records the writer stores between two counts of the outbox (its length is read
/// from the store again after that many, as delivery removes records meanwhile).
const RECOUNT_EVERY: u64 = 4096;

/// How [`Analytics`] is set up besides its store and clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyticsOptions {
    /// The most records the durable outbox holds (about, when records are delivered
    /// meanwhile). Default: [`MAX_OUTBOX`].
    pub max_outbox: u64,
    /// Where records may go besides the LMS that signed each launch (`hub.analytics_origins`).
    pub destinations: AnalyticsDestinations,
}

impl Default for AnalyticsOptions {
    fn default() -> Self {
        Self {
            max_outbox: MAX_OUTBOX,
            destinations: AnalyticsDestinations::default(),
        }
    }
}

/// The analytics of one hub; see the module docs. Shared as `Arc<Analytics>`.
#[derive(Debug)]
pub struct Analytics {
    store: Arc<dyn AnalyticsStore>,
    clock: Arc<dyn Clock>,
    destinations: AnalyticsDestinations,
    queue: mpsc::Sender<OutboxItem>,
    pub(crate) counters: AnalyticsCounters,
    /// Woken when records reach the outbox.
    pub(crate) stored: Notify,
    board: LiveBoard,
}

impl Analytics {
    /// Analytics over `store`, with the outbox writer running as a task (call from within a
    /// Tokio runtime). Delivery is started separately ([`delivery::run`]).
    pub fn start(store: Arc<dyn AnalyticsStore>, clock: Arc<dyn Clock>) -> Arc<Self> {
        Self::start_with(store, clock, AnalyticsOptions::default())
    }

    /// As [`Analytics::start`], with `options` instead of the defaults.
    pub fn start_with(
        store: Arc<dyn AnalyticsStore>,
        clock: Arc<dyn Clock>,
        options: AnalyticsOptions,
    ) -> Arc<Self> {
        let AnalyticsOptions {
            max_outbox,
            destinations,
        } = options;
        let (queue, rx) = mpsc::channel(QUEUE);
        let this = Arc::new(Self {
            store,
            clock,
            destinations,
            queue,
            counters: AnalyticsCounters::default(),
            stored: Notify::new(),
            board: LiveBoard::new(),
        });
        tokio::spawn(write_outbox(Arc::downgrade(&this), rx, max_outbox));
        this
    }

    /// The store the outbox is in.
    pub fn store(&self) -> &Arc<dyn AnalyticsStore> {
        &self.store
    }

    /// The teachers' live dashboard data.
    pub fn board(&self) -> &LiveBoard {
        &self.board
    }

    /// What analytics counted since the hub started.
    pub fn snapshot(&self) -> AnalyticsSnapshot {
        self.counters.snapshot()
    }

    /// Records where `user`'s records go, from the parameters (`params`) of their `launch`; a
    /// launch without them, or naming a destination that is neither the LMS that signed it nor
    /// an origin the admin listed (logged as a warning for the admin), turns capture off for the
    /// user.
    ///
    /// # Errors
    /// The store's error (the caller logs it; the launch goes on).
    pub async fn note_launch(
        &self,
        user: &str,
        launch: &LtiLaunch,
        params: &LmsParams,
    ) -> lticontainer_core::Result<()> {
        let mut target = LmsTarget::from_params(params);
        if target.is_none() && (params.rpc_token.is_some() || params.session.is_some()) {
            tracing::info!(%user, "analytics: the launch names no complete destination (lms_sessioninfo, lms_serverurl, lms_rpctoken): nothing is captured for this user");
        }
        if let Some(refused) = target
            .as_ref()
            .and_then(|t| self.destinations.check(&t.endpoint, launch).err())
        {
            tracing::warn!(%user, consumer = %launch.consumer_key, "analytics: {refused}; nothing is captured for this user");
            target = None;
        }
        self.store.put_lms_target(user, target).await
    }

    /// A tap for a kernel channel connection of `user` (whose server records carry
    /// `report_as`, their LMS login) with notebook session `session_id` speaking `protocol`, or
    /// `None` when the user's latest launch named no destination (or the store cannot tell).
    /// Queues the session's `ltictr` binding record.
    pub async fn open_kernel_channel(
        self: &Arc<Self>,
        user: &str,
        report_as: &str,
        session_id: &str,
        protocol: KernelProtocol,
    ) -> Option<KernelTap> {
        let target = match self.store.lms_target(user).await {
            Ok(t) => t?,
            Err(e) => {
                tracing::warn!(%user, error = %e, "analytics: cannot read the user's LMS target; this connection is not captured");
                return None;
            }
        };
        AnalyticsCounters::add(&self.counters.connections, 1);
        let tap = KernelTap::new(
            Arc::clone(self),
            user.to_owned(),
            report_as.to_owned(),
            target,
            protocol,
        );
        tap.queue(NbLog::session_binding(tap.session_info(), session_id));
        Some(tap)
    }

    /// Queues `item` for the outbox without waiting; a full queue drops it and counts.
    pub(crate) fn enqueue(&self, item: OutboxItem) {
        AnalyticsCounters::add(&self.counters.captured, 1);
        if self.queue.try_send(item).is_err() {
            let before = self
                .counters
                .dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            // The first drop and every thousandth after it: a flood must not flood the log too.
            if before % 1000 == 0 {
                tracing::warn!(
                    dropped = before + 1,
                    "analytics: the outbox writer is behind (the store is slow); records are dropped"
                );
            }
        }
    }

    pub(crate) fn now(&self) -> std::time::SystemTime {
        self.clock.now()
    }
}

/// Rebuilds the live board from the history, then moves queued records into the outbox, in
/// batches, and feeds each stored batch to the board, until the analytics are dropped.
async fn write_outbox(
    analytics: std::sync::Weak<Analytics>,
    mut rx: mpsc::Receiver<OutboxItem>,
    max_outbox: u64,
) {
    if let Some(a) = analytics.upgrade() {
        match a.board.load(a.store.as_ref()).await {
            Ok(n) => tracing::debug!(records = n, "analytics: dashboard rebuilt from the history"),
            Err(e) => {
                tracing::warn!(error = %e, "analytics: cannot read the history; the teachers' dashboard starts empty");
            }
        }
    }
    let mut batch = Vec::with_capacity(WRITE_BATCH);
    // The outbox's length as last counted, plus what was stored since (`None`: count again).
    let mut held: Option<(u64, u64)> = None;
    while rx.recv_many(&mut batch, WRITE_BATCH).await > 0 {
        let Some(a) = analytics.upgrade() else { return };
        let mut items = std::mem::take(&mut batch);
        let (counted, since) = match held {
            Some(h) if h.1 < RECOUNT_EVERY => h,
            _ => match a.store.outbox_len().await {
                Ok(n) => (n, 0),
                Err(e) => {
                    tracing::warn!(error = %e, "analytics: cannot count the outbox; these records are stored all the same");
                    (0, 0)
                }
            },
        };
        let room =
            usize::try_from(max_outbox.saturating_sub(counted + since)).unwrap_or(usize::MAX);
        if items.len() > room {
            let over = (items.len() - room) as u64;
            let before = a
                .counters
                .dropped
                .fetch_add(over, std::sync::atomic::Ordering::Relaxed);
            if before / 1000 != (before + over) / 1000 || before == 0 {
                tracing::warn!(
                    dropped = before + over,
                    max_outbox,
                    "analytics: the outbox is full (the LMS takes records slower than they come); new records are dropped"
                );
            }
            items.truncate(room);
            // Count again next time: delivery may have made room.
            held = None;
            if items.is_empty() {
                continue;
            }
        } else {
            held = Some((counted, since + items.len() as u64));
        }
        let n = items.len();
        let mut attempt = 0u32;
        loop {
            match a.store.outbox_push(items.clone()).await {
                Ok(()) => {
                    a.board.feed(&items);
                    a.stored.notify_one();
                    break;
                }
                Err(e) if attempt < 5 => {
                    attempt += 1;
                    tracing::warn!(error = %e, records = n, attempt, "analytics: cannot write the outbox; trying again");
                    tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                }
                Err(e) => {
                    AnalyticsCounters::add(&a.counters.dropped, n as u64);
                    tracing::error!(error = %e, records = n, "analytics: cannot write the outbox; these records are lost");
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::UNIX_EPOCH;

    use lticontainer_core::clock::SystemClock;
    use lticontainer_core::params::SessionInfo;
    use lticontainer_core::store::InMemoryStore;

    use super::*;

    #[tokio::test]
    async fn a_flood_of_records_stops_at_the_outbox_limit_and_is_counted() {
        let store: Arc<dyn AnalyticsStore> = Arc::new(InMemoryStore::new());
        let a = Analytics::start_with(
            Arc::clone(&store),
            Arc::new(SystemClock),
            AnalyticsOptions {
                max_outbox: 10,
                ..AnalyticsOptions::default()
            },
        );
        let session = SessionInfo {
            ltictr_id: 3,
            lti_id: 76,
        };
        for i in 0..25 {
            a.enqueue(OutboxItem {
                user: "amy".into(),
                endpoint: "http://m/webservice/rest/server.php".into(),
                token: "t".into(),
                log: NbLog::session_binding(session, &format!("s{i}")),
                captured: UNIX_EPOCH,
            });
        }
        // Every record is either stored or dropped once the writer is through the queue.
        tokio::time::timeout(Duration::from_secs(10), async {
            while store.outbox_len().await.unwrap() + a.snapshot().dropped < 25 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the writer went through the queue");
        assert_eq!(store.outbox_len().await.unwrap(), 10);
        assert_eq!(a.snapshot().dropped, 15);
        // Room made by delivery is used again.
        let first = store.outbox_pending(1).await.unwrap();
        store.outbox_remove(first[0].id).await.unwrap();
        a.enqueue(OutboxItem {
            user: "amy".into(),
            endpoint: "http://m/webservice/rest/server.php".into(),
            token: "t".into(),
            log: NbLog::session_binding(session, "again"),
            captured: UNIX_EPOCH,
        });
        tokio::time::timeout(Duration::from_secs(10), async {
            while store.outbox_len().await.unwrap() < 10 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("stored once there is room");
        assert_eq!(a.snapshot().dropped, 15);
    }
}
