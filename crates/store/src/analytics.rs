//! [`AnalyticsStore`] on [`SqliteStore`]: tables `lms_targets`, `outbox` (schema version 2),
//! `nb_history` (version 3) and `taught` (version 5).

use async_trait::async_trait;
use lticontainer_core::analytics::{LmsTarget, NbLog};
use lticontainer_core::params::SessionInfo;
use lticontainer_core::store::{
    AnalyticsStore, HISTORY_MAX, HistoryEntry, OutboxEntry, OutboxItem, TaughtActivity,
};
use lticontainer_core::{Error, Result};
use rusqlite::{OptionalExtension, params};

use crate::convert::{from_nanos, to_nanos};
use crate::error::BACKEND;
use crate::sqlite::SqliteStore;

fn to_sql_int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait]
impl AnalyticsStore for SqliteStore {
    async fn put_lms_target(&self, user: &str, target: Option<LmsTarget>) -> Result<()> {
        let user = user.to_owned();
        self.call(move |c| {
            match target {
                Some(t) => c.execute(
                    "INSERT INTO lms_targets (user, inst_id, lti_id, endpoint, token)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (user) DO UPDATE SET inst_id = excluded.inst_id,
                       lti_id = excluded.lti_id, endpoint = excluded.endpoint,
                       token = excluded.token",
                    params![
                        user,
                        to_sql_int(t.session.ltictr_id),
                        to_sql_int(t.session.lti_id),
                        t.endpoint,
                        t.token
                    ],
                )?,
                None => c.execute("DELETE FROM lms_targets WHERE user = ?1", [user])?,
            };
            Ok(Ok(()))
        })
        .await
    }

    async fn lms_target(&self, user: &str) -> Result<Option<LmsTarget>> {
        let user = user.to_owned();
        self.call(move |c| {
            c.query_row(
                "SELECT inst_id, lti_id, endpoint, token FROM lms_targets WHERE user = ?1",
                [user],
                |r| {
                    Ok(LmsTarget {
                        session: SessionInfo {
                            ltictr_id: r.get::<_, i64>(0)?.unsigned_abs(),
                            lti_id: r.get::<_, i64>(1)?.unsigned_abs(),
                        },
                        endpoint: r.get(2)?,
                        token: r.get(3)?,
                    })
                },
            )
            .optional()
            .map(Ok)
        })
        .await
    }

    async fn outbox_push(&self, items: Vec<OutboxItem>) -> Result<()> {
        let rows = items
            .into_iter()
            .map(|i| {
                let log = serde_json::to_string(&i.log).map_err(|e| Error::Backend {
                    backend: BACKEND,
                    source: Box::new(e),
                })?;
                Ok((i.user, i.endpoint, i.token, log, to_nanos(i.captured)))
            })
            .collect::<Result<Vec<_>>>()?;
        self.call(move |c| {
            let tx = c.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO outbox (user, endpoint, token, log, captured)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                let mut history = tx.prepare_cached(
                    "INSERT INTO nb_history (id, user, log, captured) VALUES (?1, ?2, ?3, ?4)",
                )?;
                for row in rows {
                    stmt.execute(params![row.0, row.1, row.2, row.3, row.4])?;
                    history.execute(params![tx.last_insert_rowid(), row.0, row.3, row.4])?;
                }
                tx.execute(
                    "DELETE FROM nb_history WHERE id <= (SELECT MAX(id) FROM nb_history) - ?1",
                    [to_sql_int(HISTORY_MAX)],
                )?;
            }
            tx.commit()?;
            Ok(Ok(()))
        })
        .await
    }

    async fn outbox_pending(&self, limit: usize) -> Result<Vec<OutboxEntry>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, user, endpoint, token, log, captured FROM outbox ORDER BY id LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, user, endpoint, token, log, captured) = row?;
                let log: NbLog = match serde_json::from_str(&log) {
                    Ok(l) => l,
                    Err(e) => {
                        return Ok(Err(Error::Backend {
                            backend: BACKEND,
                            source: Box::new(e),
                        }));
                    }
                };
                out.push(OutboxEntry {
                    id: id.unsigned_abs(),
                    item: OutboxItem {
                        user,
                        endpoint,
                        token,
                        log,
                        captured: from_nanos(captured),
                    },
                });
            }
            Ok(Ok(out))
        })
        .await
    }

    async fn history(&self, after: u64, limit: usize) -> Result<Vec<HistoryEntry>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, user, log, captured FROM nb_history WHERE id > ?1 ORDER BY id LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![to_sql_int(after), limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, user, log, captured) = row?;
                match serde_json::from_str(&log) {
                    Ok(log) => out.push(HistoryEntry {
                        id: id.unsigned_abs(),
                        user,
                        log,
                        captured: from_nanos(captured),
                    }),
                    Err(e) => {
                        return Ok(Err(Error::Backend {
                            backend: BACKEND,
                            source: Box::new(e),
                        }));
                    }
                }
            }
            Ok(Ok(out))
        })
        .await
    }

    async fn outbox_remove(&self, id: u64) -> Result<()> {
        self.call(move |c| {
            c.execute("DELETE FROM outbox WHERE id = ?1", [to_sql_int(id)])?;
            Ok(Ok(()))
        })
        .await
    }

    async fn outbox_len(&self) -> Result<u64> {
        self.call(|c| {
            c.query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get::<_, i64>(0))
                .map(|n| Ok(n.unsigned_abs()))
        })
        .await
    }

    async fn add_taught(&self, user: &str, activity: TaughtActivity) -> Result<()> {
        let user = user.to_owned();
        self.call(move |c| {
            c.execute(
                "INSERT INTO taught (user, lti_id, inst_id, title) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (user, lti_id) DO UPDATE SET inst_id = excluded.inst_id,
                   title = excluded.title",
                params![
                    user,
                    to_sql_int(activity.session.lti_id),
                    to_sql_int(activity.session.ltictr_id),
                    activity.title
                ],
            )?;
            Ok(Ok(()))
        })
        .await
    }

    async fn remove_taught(&self, user: &str, lti_id: u64) -> Result<()> {
        let user = user.to_owned();
        self.call(move |c| {
            c.execute(
                "DELETE FROM taught WHERE user = ?1 AND lti_id = ?2",
                params![user, to_sql_int(lti_id)],
            )?;
            Ok(Ok(()))
        })
        .await
    }

    async fn taught(&self, user: &str) -> Result<Vec<TaughtActivity>> {
        let user = user.to_owned();
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT lti_id, inst_id, title FROM taught WHERE user = ?1 ORDER BY lti_id",
            )?;
            let rows = stmt.query_map([user], |r| {
                Ok(TaughtActivity {
                    session: SessionInfo {
                        lti_id: r.get::<_, i64>(0)?.unsigned_abs(),
                        ltictr_id: r.get::<_, i64>(1)?.unsigned_abs(),
                    },
                    title: r.get(2)?,
                })
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map(Ok)
        })
        .await
    }
}
