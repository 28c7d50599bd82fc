//! [`GradeStore`]: where grades go (each student's [`GradeTarget`] per activity, from their
//! launches) and what was sent there ([`GradeSent`], shown again on the teacher's page).

use std::fmt::Debug;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::Result;
use crate::grades::GradeTarget;

/// A student's grade target in one activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GradeTargetRecord {
    /// The activity ([`crate::grades::activity_of`]).
    pub activity: String,
    /// The hub user.
    pub user: String,
    /// Their LMS login (the name `tocsv`'s CSV may carry), when the launch had one.
    pub login: Option<String>,
    /// Where their grade goes.
    pub target: GradeTarget,
    /// When the launch that said so came.
    pub updated: SystemTime,
}

/// What was sent for one student, column and activity, and what the LMS answered.
#[derive(Debug, Clone, PartialEq)]
pub struct GradeSent {
    /// The activity.
    pub activity: String,
    /// The CSV column the score came from (`P001`, …, `Total`).
    pub column: String,
    /// The hub user.
    pub user: String,
    /// The score sent.
    pub score: f64,
    /// Out of.
    pub max: f64,
    /// The LMS took it.
    pub success: bool,
    /// What the LMS answered (or why nothing reached it).
    pub answer: String,
    /// When it was sent.
    pub sent: SystemTime,
}

/// Where grades go and what was sent, used as `Arc<dyn GradeStore>`.
///
/// # Contract
/// * Safe to call concurrently; each call is atomic.
/// * The sourcedids in the targets are stored as given (they must be sent back to the LMS); an
///   implementation keeps its file readable by its owner only.
/// * [`Unavailable`](crate::Error::Unavailable) when the store cannot be read or written; the
///   call changes nothing.
#[async_trait]
pub trait GradeStore: Send + Sync + Debug + 'static {
    /// Records `record` as the target of its user in its activity, replacing an earlier one.
    async fn put_grade_target(&self, record: GradeTargetRecord) -> Result<()>;

    /// Forgets `user`'s target in `activity` (a launch of it that accepts no grades now).
    /// Forgetting a missing target succeeds.
    async fn remove_grade_target(&self, activity: &str, user: &str) -> Result<()>;

    /// Every target of `activity`, ordered by user.
    async fn grade_targets(&self, activity: &str) -> Result<Vec<GradeTargetRecord>>;

    /// Records what was sent, replacing what was sent before for the same activity, column
    /// and user (a re-send replaces the grade in the LMS too).
    async fn put_grade_sent(&self, sent: GradeSent) -> Result<()>;

    /// What was sent for `activity`, ordered by column, then user.
    async fn grades_sent(&self, activity: &str) -> Result<Vec<GradeSent>>;
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<T: GradeStore + ?Sized> GradeStore for Arc<T> {
    async fn put_grade_target(&self, record: GradeTargetRecord) -> Result<()> {
        (**self).put_grade_target(record).await
    }
    async fn remove_grade_target(&self, activity: &str, user: &str) -> Result<()> {
        (**self).remove_grade_target(activity, user).await
    }
    async fn grade_targets(&self, activity: &str) -> Result<Vec<GradeTargetRecord>> {
        (**self).grade_targets(activity).await
    }
    async fn put_grade_sent(&self, sent: GradeSent) -> Result<()> {
        (**self).put_grade_sent(sent).await
    }
    async fn grades_sent(&self, activity: &str) -> Result<Vec<GradeSent>> {
        (**self).grades_sent(activity).await
    }
}
