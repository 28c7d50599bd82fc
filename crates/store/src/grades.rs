//! [`GradeStore`] on [`SqliteStore`]: tables `grade_targets` and `grades_sent` (schema version 4).

use async_trait::async_trait;
use lticontainer_core::grades::GradeTarget;
use lticontainer_core::store::{GradeSent, GradeStore, GradeTargetRecord};
use lticontainer_core::{Error, Result};
use rusqlite::params;

use crate::convert::{from_nanos, to_nanos};
use crate::error::BACKEND;
use crate::sqlite::SqliteStore;

fn json_error(e: serde_json::Error) -> Error {
    Error::Backend {
        backend: BACKEND,
        source: Box::new(e),
    }
}

#[async_trait]
impl GradeStore for SqliteStore {
    async fn put_grade_target(&self, record: GradeTargetRecord) -> Result<()> {
        let target = serde_json::to_string(&record.target).map_err(json_error)?;
        self.call(move |c| {
            c.execute(
                "INSERT INTO grade_targets (activity, user, login, target, updated)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (activity, user) DO UPDATE SET login = excluded.login,
                   target = excluded.target, updated = excluded.updated",
                params![
                    record.activity,
                    record.user,
                    record.login,
                    target,
                    to_nanos(record.updated)
                ],
            )?;
            Ok(Ok(()))
        })
        .await
    }

    async fn remove_grade_target(&self, activity: &str, user: &str) -> Result<()> {
        let (activity, user) = (activity.to_owned(), user.to_owned());
        self.call(move |c| {
            c.execute(
                "DELETE FROM grade_targets WHERE activity = ?1 AND user = ?2",
                [activity, user],
            )?;
            Ok(Ok(()))
        })
        .await
    }

    async fn grade_targets(&self, activity: &str) -> Result<Vec<GradeTargetRecord>> {
        let activity = activity.to_owned();
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT activity, user, login, target, updated FROM grade_targets
                 WHERE activity = ?1 ORDER BY user",
            )?;
            let rows = stmt
                .query_map([activity], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows
                .into_iter()
                .map(|(activity, user, login, target, updated)| {
                    Ok(GradeTargetRecord {
                        activity,
                        user,
                        login,
                        target: serde_json::from_str::<GradeTarget>(&target).map_err(json_error)?,
                        updated: from_nanos(updated),
                    })
                })
                .collect())
        })
        .await
    }

    async fn put_grade_sent(&self, sent: GradeSent) -> Result<()> {
        self.call(move |c| {
            c.execute(
                "INSERT INTO grades_sent (activity, col, user, score, max, success, answer, sent)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (activity, col, user) DO UPDATE SET score = excluded.score,
                   max = excluded.max, success = excluded.success, answer = excluded.answer,
                   sent = excluded.sent",
                params![
                    sent.activity,
                    sent.column,
                    sent.user,
                    sent.score,
                    sent.max,
                    sent.success,
                    sent.answer,
                    to_nanos(sent.sent)
                ],
            )?;
            Ok(Ok(()))
        })
        .await
    }

    async fn grades_sent(&self, activity: &str) -> Result<Vec<GradeSent>> {
        let activity = activity.to_owned();
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT activity, col, user, score, max, success, answer, sent FROM grades_sent
                 WHERE activity = ?1 ORDER BY col, user",
            )?;
            let rows = stmt
                .query_map([activity], |r| {
                    Ok(GradeSent {
                        activity: r.get(0)?,
                        column: r.get(1)?,
                        user: r.get(2)?,
                        score: r.get(3)?,
                        max: r.get(4)?,
                        success: r.get(5)?,
                        answer: r.get(6)?,
                        sent: from_nanos(r.get(7)?),
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Ok(rows))
        })
        .await
    }
}
