//! Limits that protect the machine: each running server is stopped when it reaches its
//! activity limit (`lms_actlimit` / `spec.act_limit`), when it has been idle `hub.cull_idle_secs`
//! or when it is `hub.cull_max_age_secs` old — through [`Spawner::stop`], files kept. Activity is
//! the one record the store keeps (`Store::touch_activity`): proxied traffic and the servers' own
//! activity reports both write it. [`Spawner::time_left`] tells the student's pages how long a
//! server may still run.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use std::sync::PoisonError;

use super::{RunningServer, Spawner};

/// Why the culler stopped a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CullReason {
    /// The server reached its activity limit.
    ActLimit,
    /// Nothing used the server for `hub.cull_idle_secs`.
    Idle,
    /// The server reached `hub.cull_max_age_secs`.
    MaxAge,
}

impl CullReason {
    /// The reason's name in logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Self::ActLimit => "act_limit",
            Self::Idle => "idle",
            Self::MaxAge => "max_age",
        }
    }

    /// What the student reads on their pages afterwards.
    fn student_text(self, limit: Duration) -> String {
        let minutes = limit.as_secs().div_ceil(60);
        let why = match self {
            Self::ActLimit => format!("it reached its time limit of {minutes} minutes"),
            Self::Idle => format!("it was not used for {minutes} minutes"),
            Self::MaxAge => format!("it ran for the longest time allowed, {minutes} minutes"),
        };
        format!(
            "Your server was stopped because {why}. Your files are kept; you can start it again."
        )
    }
}

/// How long a running server may still run under its activity limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeLeft {
    /// Seconds until the limit (0 once reached).
    pub secs: u64,
    /// The limit itself.
    pub limit: Duration,
    /// True once the warning share of the limit (`hub.act_limit_warn_percent`) has passed.
    pub warn: bool,
    /// Seconds until that warning (0 once it has passed).
    pub warn_in_secs: u64,
}

impl Spawner {
    /// How long `user`'s running server may still run under its activity limit; `None` when no
    /// server runs or no limit applies.
    pub fn time_left(&self, user: &str) -> Option<TimeLeft> {
        let server = self.running(user)?;
        let limit = server.act_limit?;
        let elapsed = self.clock.now_secs().saturating_sub(server.started_at);
        let warn_after = limit.as_secs() * u64::from(self.hub.act_limit_warn_percent) / 100;
        Some(TimeLeft {
            secs: limit.as_secs().saturating_sub(elapsed),
            limit,
            warn: elapsed >= warn_after,
            warn_in_secs: warn_after.saturating_sub(elapsed),
        })
    }

    /// Checks every running server once, and stops those over a limit; returns who was stopped
    /// and why.
    pub async fn cull_once(&self) -> Vec<(String, CullReason)> {
        let now = self.clock.now_secs();
        let activity = match self.store.servers().await {
            Ok(records) => records,
            Err(e) => {
                tracing::warn!(error = %e, "culler: cannot read the servers' activity; only time limits are checked this round");
                Vec::new()
            }
        };
        let mut culled = Vec::new();
        for (user, server) in self.running_servers() {
            let last_active = activity
                .iter()
                .find(|r| r.user == user && r.container_id.as_deref() == Some(&server.container_id))
                .and_then(|r| r.last_activity)
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(server.started_at, |d| d.as_secs().max(server.started_at));
            let Some((reason, limit)) = self.over_limit(&server, now, last_active) else {
                continue;
            };
            tracing::info!(%user, container = %server.container_id, reason = reason.name(), limit_secs = limit.as_secs(), ran_secs = now.saturating_sub(server.started_at), idle_secs = now.saturating_sub(last_active), "culler: stopping the server");
            // The note is there before the server stops, so no page shows the stop without it.
            self.set_stop_note(&user, Some(reason.student_text(limit)));
            match self.stop(&user).await {
                Ok(_) => {
                    self.metrics.culled(reason.name());
                    culled.push((user, reason));
                }
                Err(e) => {
                    self.set_stop_note(&user, None);
                    self.metrics.error(crate::metrics::ErrorKind::Cull);
                    tracing::error!(%user, error = %e, cause = ?std::error::Error::source(&e), "culler: cannot stop the server; trying again next round");
                }
            }
        }
        culled
    }

    /// The first limit `server` is over at `now`, having been last active at `last_active`.
    fn over_limit(
        &self,
        server: &RunningServer,
        now: u64,
        last_active: u64,
    ) -> Option<(CullReason, Duration)> {
        let ran = now.saturating_sub(server.started_at);
        if let Some(limit) = server.act_limit
            && ran >= limit.as_secs()
        {
            return Some((CullReason::ActLimit, limit));
        }
        let max_age = self.hub.cull_max_age_secs;
        if max_age > 0 && ran >= max_age {
            return Some((CullReason::MaxAge, Duration::from_secs(max_age)));
        }
        let idle = self.hub.cull_idle_secs;
        if idle > 0 && now.saturating_sub(last_active) >= idle {
            return Some((CullReason::Idle, Duration::from_secs(idle)));
        }
        None
    }

    /// Why the hub stopped `user`'s server (a limit), until a new start; `None` when it did not.
    pub fn stop_note(&self, user: &str) -> Option<String> {
        self.slot(user)
            .stop_note
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(super) fn set_stop_note(&self, user: &str, note: Option<String>) {
        *self
            .slot(user)
            .stop_note
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = note;
    }

    /// Checks the running servers every `hub.cull_every_secs`, for as long as the hub runs
    /// (`lticontainer serve` starts it once).
    pub async fn run_culler(self: Arc<Self>) {
        let every = Duration::from_secs(self.hub.cull_every_secs);
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            self.cull_once().await;
        }
    }
}
