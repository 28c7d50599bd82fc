//! Grades back to the LMS: [`Grades`] remembers where each student's grade goes from their
//! launches (`GradeStore`), matches a score table (`tocsv`'s CSV) to those students
//! ([`Grades::plan`]), sends the scores of one column ([`Grades::send`]: LTI 1.1 Basic Outcomes,
//! `outcomes`) and keeps what each student got and what the LMS answered
//! ([`Grades::sent`]). The teacher's page (`/hub/grades/<activity>`) and the admin API
//! (`lticontainer grades send`) both go through it.
//!
//! Re-sending is safe: Basic Outcomes *replaces* the result, an AGS score replaces the
//! student's score on the line item (found again, not added), and the record of what was sent
//! is replaced per activity, column and student.

mod ags;
mod outcomes;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use lticontainer_core::clock::Clock;
use lticontainer_core::grades::{CsvError, GradeTarget, ScoreTable, activity_of};
use lticontainer_core::launch::LtiLaunch;
use lticontainer_core::store::{GradeSent, GradeStore, GradeTargetRecord};
use serde::Serialize;

use crate::analytics::LmsClient;
use crate::lti13::Lti13Launches;

/// Why scores cannot be sent; the text speaks to the teacher (or the admin at the terminal).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GradeError {
    /// The CSV cannot be read, or has no such column.
    #[error(transparent)]
    Csv(#[from] CsvError),
    /// The maximum score is not a positive number.
    #[error("the maximum score must be a number above 0, not {0:?}")]
    BadMax(String),
    /// The store cannot be read or written.
    #[error("the hub cannot read or write its store: {0}")]
    Store(#[from] lticontainer_core::Error),
}

/// What the hub will do with one row of the CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowStatus {
    /// The student launched the activity from the LMS, which accepts grades: the score goes.
    Ready,
    /// No launch of this activity with a grade target: the student never launched it, or the
    /// activity accepts no grades.
    NoTarget,
    /// The cell is not a number.
    NotANumber,
}

/// One row of the CSV, matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedRow {
    /// The name in the CSV.
    pub name: String,
    /// The hub user it matched, if any.
    pub user: Option<String>,
    /// The score in the column (`None` when not a number).
    pub score: Option<f64>,
    /// What happens to it.
    pub status: RowStatus,
}

/// A CSV column matched to an activity's students, before anything is sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// The activity.
    pub activity: String,
    /// The column (as the CSV spells it).
    pub column: String,
    /// The maximum score.
    pub max: f64,
    /// The CSV's score columns.
    pub columns: Vec<String>,
    /// Each row.
    pub rows: Vec<PlannedRow>,
    /// Students with a grade target who are not in the CSV (nothing is sent for them).
    pub not_in_csv: Vec<String>,
}

/// What happened to one row when sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SendOutcome {
    /// The name in the CSV.
    pub name: String,
    /// The hub user it matched, if any.
    pub user: Option<String>,
    /// The score (`None` when not a number).
    pub score: Option<f64>,
    /// What was planned.
    pub status: RowStatus,
    /// The LMS took the grade.
    pub success: bool,
    /// What the LMS answered, or why nothing was sent.
    pub answer: String,
}

/// Grades back to the LMS; see the module's documentation.
pub struct Grades {
    store: Arc<dyn GradeStore>,
    consumers: BTreeMap<String, String>,
    client: LmsClient,
    clock: Arc<dyn Clock>,
    ags: Option<ags::Ags>,
}

impl fmt::Debug for Grades {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grades")
            .field("consumers", &self.consumers.keys().collect::<Vec<_>>())
            .field("lti13", &self.ags.is_some())
            .finish_non_exhaustive()
    }
}

impl Grades {
    /// Grades kept in `store`, signed for LTI 1.1 with the secrets of `consumers` (consumer key
    /// → secret, the `[lti] consumers` of the configuration), sent by `client`.
    pub fn new(
        store: Arc<dyn GradeStore>,
        consumers: BTreeMap<String, String>,
        client: LmsClient,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            consumers,
            client,
            clock,
            ags: None,
        }
    }

    /// Sends LTI 1.3 scores (Assignment and Grade Services) to the platforms of `launches`,
    /// with service tokens signed by its tool key.
    #[must_use]
    pub fn with_lti13(mut self, launches: Arc<Lti13Launches>) -> Self {
        self.ags = Some(ags::Ags::new(
            launches,
            self.client.clone(),
            Arc::clone(&self.clock),
        ));
        self
    }

    /// Records where `user`'s grade for the launched activity goes, or forgets it when the
    /// launch names no grade target (the activity no longer accepts grades).
    ///
    /// # Errors
    /// The store cannot be written.
    pub async fn note_launch(
        &self,
        user: &str,
        launch: &LtiLaunch,
    ) -> lticontainer_core::Result<()> {
        let Some(activity) = activity_of(launch) else {
            return Ok(());
        };
        match GradeTarget::from_launch(launch) {
            Some(target) => {
                self.store
                    .put_grade_target(GradeTargetRecord {
                        activity: activity.to_owned(),
                        user: user.to_owned(),
                        login: launch.lms_login.clone(),
                        target,
                        updated: self.clock.now(),
                    })
                    .await
            }
            None => self.store.remove_grade_target(activity, user).await,
        }
    }

    /// Matches `column` of the CSV `csv` to the students of `activity` (launched through
    /// `consumer` when given: a teacher's own LMS; `None` for the admin), scored out of `max`;
    /// nothing is sent.
    ///
    /// # Errors
    /// [`GradeError`]: the CSV, the column, the maximum, the store.
    pub async fn plan(
        &self,
        activity: &str,
        consumer: Option<&str>,
        csv: &str,
        column: &str,
        max: &str,
    ) -> Result<Plan, GradeError> {
        let max_value = max
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|m| m.is_finite() && *m > 0.0)
            .ok_or_else(|| GradeError::BadMax(max.to_owned()))?;
        let table = ScoreTable::parse(csv)?;
        let scores = table.column(column)?;
        let column = table
            .columns()
            .iter()
            .find(|c| c.eq_ignore_ascii_case(column.trim()))
            .cloned()
            .unwrap_or_else(|| column.to_owned());
        let targets = self.targets(activity, consumer).await?;
        let mut matched = vec![false; targets.len()];
        let rows = scores
            .into_iter()
            .map(|s| {
                let found = targets.iter().position(|t| names_match(t, &s.name));
                if let Some(i) = found {
                    matched[i] = true;
                }
                let score = s.value.ok();
                let status = match (score, found) {
                    (None, _) => RowStatus::NotANumber,
                    (Some(_), None) => RowStatus::NoTarget,
                    (Some(_), Some(_)) => RowStatus::Ready,
                };
                PlannedRow {
                    name: s.name,
                    user: found.map(|i| targets[i].user.clone()),
                    score,
                    status,
                }
            })
            .collect();
        let not_in_csv = targets
            .iter()
            .zip(&matched)
            .filter(|(_, m)| !**m)
            .map(|(t, _)| t.user.clone())
            .collect();
        Ok(Plan {
            activity: activity.to_owned(),
            column,
            max: max_value,
            columns: table.columns().to_vec(),
            rows,
            not_in_csv,
        })
    }

    /// Sends the planned scores ([`Grades::plan`]) to the LMS, one student after another, and
    /// records each answer; a student without a target or a score is reported, the others are
    /// sent.
    ///
    /// # Errors
    /// As [`Grades::plan`]; a failure of one student's request is in their [`SendOutcome`].
    pub async fn send(
        &self,
        activity: &str,
        consumer: Option<&str>,
        csv: &str,
        column: &str,
        max: &str,
    ) -> Result<Vec<SendOutcome>, GradeError> {
        let plan = self.plan(activity, consumer, csv, column, max).await?;
        let targets: BTreeMap<String, GradeTarget> = self
            .targets(activity, consumer)
            .await?
            .into_iter()
            .map(|t| (t.user, t.target))
            .collect();
        let mut out = Vec::with_capacity(plan.rows.len());
        for row in plan.rows {
            let target = row.user.as_ref().and_then(|u| targets.get(u));
            let (success, answer) = match (row.status, row.score, target) {
                (RowStatus::Ready, Some(score), Some(target)) => {
                    let sending = ags::Sending {
                        activity,
                        column: &plan.column,
                        score,
                        max: plan.max,
                    };
                    let (success, answer) = self.send_one(target, &sending).await;
                    if let Some(user) = &row.user {
                        tracing::info!(%activity, %user, column = %plan.column, score, max = plan.max, success, %answer, "grade sent to the LMS");
                        self.store
                            .put_grade_sent(GradeSent {
                                activity: activity.to_owned(),
                                column: plan.column.clone(),
                                user: user.clone(),
                                score,
                                max: plan.max,
                                success,
                                answer: answer.clone(),
                                sent: self.clock.now(),
                            })
                            .await?;
                    }
                    (success, answer)
                }
                (RowStatus::NotANumber, ..) => (false, "not sent: the cell is not a number".into()),
                _ => (
                    false,
                    "not sent: no launch of this activity with a grade from this student (never \
                     launched it from the LMS, or the activity accepts no grades)"
                        .into(),
                ),
            };
            out.push(SendOutcome {
                name: row.name,
                user: row.user,
                score: row.score,
                status: row.status,
                success,
                answer,
            });
        }
        Ok(out)
    }

    /// What was sent for `activity`, per column and student, with the LMS's answers: to the
    /// students of `consumer` only when given (as [`Grades::plan`]).
    ///
    /// # Errors
    /// The store cannot be read.
    pub async fn sent(
        &self,
        activity: &str,
        consumer: Option<&str>,
    ) -> Result<Vec<GradeSent>, GradeError> {
        let sent = self.store.grades_sent(activity).await?;
        if consumer.is_none() {
            return Ok(sent);
        }
        let students: BTreeSet<String> = self
            .targets(activity, consumer)
            .await?
            .into_iter()
            .map(|t| t.user)
            .collect();
        Ok(sent
            .into_iter()
            .filter(|s| students.contains(&s.user))
            .collect())
    }

    /// The grade targets of `activity`'s students, of the launches of `consumer` only when
    /// given. An activity is a resource link of one LMS: another consumer's link of the same
    /// id (another Moodle on the same hub) is another activity, whose students a teacher must
    /// neither see nor grade.
    async fn targets(
        &self,
        activity: &str,
        consumer: Option<&str>,
    ) -> lticontainer_core::Result<Vec<GradeTargetRecord>> {
        let mut targets = self.store.grade_targets(activity).await?;
        if let Some(consumer) = consumer {
            targets.retain(|t| t.target.consumer_key() == consumer);
        }
        Ok(targets)
    }

    /// Sends one score; whether the LMS took it, and its answer in words.
    async fn send_one(&self, target: &GradeTarget, sending: &ags::Sending<'_>) -> (bool, String) {
        let (score, max) = (sending.score, sending.max);
        match target {
            GradeTarget::V11 {
                service_url,
                sourcedid,
                consumer_key,
            } => {
                let Some(secret) = self.consumers.get(consumer_key) else {
                    return (
                        false,
                        format!(
                            "not sent: the consumer key {consumer_key:?} of the launch is no longer in [lti] consumers"
                        ),
                    );
                };
                let request = outcomes::Request {
                    service_url,
                    sourcedid,
                    consumer_key,
                    secret,
                };
                outcomes::send(&self.client, &request, score, max, self.clock.as_ref()).await
            }
            GradeTarget::V13 {
                issuer,
                client_id,
                user_id,
                lineitem,
                lineitems,
                ..
            } => {
                let Some(ags) = &self.ags else {
                    return (
                        false,
                        "not sent: LTI 1.3 is off on this hub (no [lti13] platform)".into(),
                    );
                };
                let target = ags::Target {
                    issuer,
                    client_id,
                    user_id,
                    lineitem: lineitem.as_deref(),
                    lineitems: lineitems.as_deref(),
                };
                ags.send(&target, sending).await
            }
            // `GradeTarget` is non-exhaustive.
            _ => (false, "not sent: this LTI version sends no grades".into()),
        }
    }
}

/// Whether the CSV's `name` is the student of `target`: their hub name, or their LMS login
/// (letter case aside, as Moodle's logins are case-insensitive).
fn names_match(target: &GradeTargetRecord, name: &str) -> bool {
    let name = name.trim();
    !name.is_empty()
        && (target.user == name
            || target
                .login
                .as_deref()
                .is_some_and(|l| l.eq_ignore_ascii_case(name)))
}
