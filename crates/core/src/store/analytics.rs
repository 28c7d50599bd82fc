//! [`AnalyticsStore`]: the durable part of learning analytics: each user's [`LmsTarget`], the
//! outbox of records waiting to be delivered to the LMS, the history of the latest records
//! (what the teachers' dashboard is rebuilt from after a restart), and the activities each
//! teacher launched from as a teacher (the dashboards they may open).

use std::fmt::Debug;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::Result;
use crate::analytics::{LmsTarget, NbLog};
use crate::params::SessionInfo;

/// A record waiting to be delivered, with where it goes.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// The hub user whose notebook produced it.
    pub user: String,
    /// The REST endpoint ([`LmsTarget::endpoint`]).
    pub endpoint: String,
    /// The web-service token, a secret ([`LmsTarget::token`]).
    pub token: String,
    /// The record.
    pub log: NbLog,
    /// When it was captured.
    pub captured: SystemTime,
}

impl Debug for OutboxItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxItem")
            .field("user", &self.user)
            .field("endpoint", &self.endpoint)
            .field("token", &"<hidden>")
            .field("log", &self.log)
            .field("captured", &self.captured)
            .finish()
    }
}

/// An [`OutboxItem`] as stored, with its place in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Increases with every item pushed; the delivery order.
    pub id: u64,
    /// The item.
    pub item: OutboxItem,
}

/// The most records the history keeps ([`AnalyticsStore::history`]); older ones are dropped.
pub const HISTORY_MAX: u64 = 100_000;

/// A record as the history keeps it: without its destination and token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The id the record got in the outbox.
    pub id: u64,
    /// The hub user whose notebook produced it.
    pub user: String,
    /// The record.
    pub log: NbLog,
    /// When it was captured.
    pub captured: SystemTime,
}

/// An activity a user launched from as one of its teachers: they may open its dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaughtActivity {
    /// `lms_sessioninfo` of the launch: the mod_lticontainer instance and the LTI activity.
    pub session: SessionInfo,
    /// What the teacher knows it by (the course and activity names of the latest launch).
    pub title: String,
}

/// Where learning analytics keep what must survive a restart, used as
/// `Arc<dyn AnalyticsStore>`.
///
/// # Contract
/// * Safe to call concurrently; each call is atomic.
/// * Tokens are stored as given (they must be sent to the LMS); an implementation keeps its
///   file readable by its owner only.
/// * [`Unavailable`](crate::Error::Unavailable) when the store cannot be read or written; the
///   call changes nothing.
#[async_trait]
pub trait AnalyticsStore: Send + Sync + Debug + 'static {
    /// Records where `user`'s records go from now on; `None` forgets it (a launch without the
    /// analytics parameters).
    async fn put_lms_target(&self, user: &str, target: Option<LmsTarget>) -> Result<()>;

    /// Where `user`'s records go, if their latest launch said so.
    async fn lms_target(&self, user: &str) -> Result<Option<LmsTarget>>;

    /// Appends `items` to the outbox in one step, in their order.
    ///
    /// # Behavior
    /// * Ids are larger than every id pushed before, even across restarts and after removals.
    /// * In the same step each item goes into the history with the same id (without its
    ///   endpoint and token); the history keeps the latest [`HISTORY_MAX`] records.
    async fn outbox_push(&self, items: Vec<OutboxItem>) -> Result<()>;

    /// At most `limit` records of the history with an id larger than `after`, oldest first.
    /// Delivery does not remove records from the history.
    async fn history(&self, after: u64, limit: usize) -> Result<Vec<HistoryEntry>>;

    /// At most `limit` entries, oldest (smallest id) first.
    async fn outbox_pending(&self, limit: usize) -> Result<Vec<OutboxEntry>>;

    /// Removes the entry `id` (delivered or given up). Removing a missing entry succeeds.
    async fn outbox_remove(&self, id: u64) -> Result<()>;

    /// How many entries wait.
    async fn outbox_len(&self) -> Result<u64>;

    /// Records that `user` teaches `activity` (a launch from it made them a teacher); a second
    /// call for the same LTI activity replaces its instance id and title.
    async fn add_taught(&self, user: &str, activity: TaughtActivity) -> Result<()>;

    /// Forgets that `user` teaches the LTI activity `lti_id` (a launch from it made them a
    /// student). Forgetting an activity never recorded succeeds.
    async fn remove_taught(&self, user: &str, lti_id: u64) -> Result<()>;

    /// The activities `user` teaches, by LTI activity id.
    async fn taught(&self, user: &str) -> Result<Vec<TaughtActivity>>;
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<T: AnalyticsStore + ?Sized> AnalyticsStore for Arc<T> {
    async fn put_lms_target(&self, user: &str, target: Option<LmsTarget>) -> Result<()> {
        (**self).put_lms_target(user, target).await
    }
    async fn lms_target(&self, user: &str) -> Result<Option<LmsTarget>> {
        (**self).lms_target(user).await
    }
    async fn outbox_push(&self, items: Vec<OutboxItem>) -> Result<()> {
        (**self).outbox_push(items).await
    }
    async fn outbox_pending(&self, limit: usize) -> Result<Vec<OutboxEntry>> {
        (**self).outbox_pending(limit).await
    }
    async fn history(&self, after: u64, limit: usize) -> Result<Vec<HistoryEntry>> {
        (**self).history(after, limit).await
    }
    async fn outbox_remove(&self, id: u64) -> Result<()> {
        (**self).outbox_remove(id).await
    }
    async fn outbox_len(&self) -> Result<u64> {
        (**self).outbox_len().await
    }
    async fn add_taught(&self, user: &str, activity: TaughtActivity) -> Result<()> {
        (**self).add_taught(user, activity).await
    }
    async fn remove_taught(&self, user: &str, lti_id: u64) -> Result<()> {
        (**self).remove_taught(user, lti_id).await
    }
    async fn taught(&self, user: &str) -> Result<Vec<TaughtActivity>> {
        (**self).taught(user).await
    }
}
