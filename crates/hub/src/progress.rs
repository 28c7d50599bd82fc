//! Spawn progress: the events one spawn emits, kept so late subscribers see them all, in
//! JupyterHub's format (`{"progress": 50, "message": "…", "ready": false}`; the HTTP front end
//! sends them as Server-Sent Events).

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::Stream;
use serde::Serialize;
use tokio::sync::watch;

/// One progress event, serialised exactly as JupyterHub's progress API sends it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProgressEvent {
    /// Percent done, 0–100.
    pub progress: u8,
    /// What is happening, for the student.
    pub message: String,
    /// The same as HTML, on the final events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub html_message: Option<String>,
    /// True on the last event of a successful spawn.
    pub ready: bool,
    /// True on the last event of a failed spawn.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub failed: bool,
    /// True when no spawn is under way at all (the page then offers to start one).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub idle: bool,
    /// Where the browser goes when ready: `/user/<name>/lab`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl ProgressEvent {
    /// A step on the way.
    pub fn step(progress: u8, message: impl Into<String>) -> Self {
        Self {
            progress: progress.min(99),
            message: message.into(),
            html_message: None,
            ready: false,
            failed: false,
            idle: false,
            url: None,
        }
    }

    /// The final event of a successful spawn, pointing at `url`.
    pub fn ready(url: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            progress: 100,
            html_message: Some(format!(
                "{} <a href=\"{}\">Open it</a>.",
                crate::html::escape(&message),
                crate::html::escape(url)
            )),
            message,
            ready: true,
            failed: false,
            idle: false,
            url: Some(url.to_owned()),
        }
    }

    /// The final event of a failed spawn.
    pub fn failed(message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            progress: 100,
            html_message: Some(crate::html::escape(&message)),
            message,
            ready: false,
            failed: true,
            idle: false,
            url: None,
        }
    }

    /// The only event for a user with no server and no spawn.
    pub fn idle(message: impl Into<String>) -> Self {
        Self {
            idle: true,
            ..Self::failed(message)
        }
    }

    /// True for the last event of a spawn.
    pub fn is_final(&self) -> bool {
        self.ready || self.failed
    }
}

/// The events of one spawn; cheap to clone, shared by the spawn task and every subscriber.
#[derive(Debug, Clone)]
pub struct SpawnProgress {
    tx: watch::Sender<Vec<ProgressEvent>>,
    /// When the event log was made, and when each event was appended (for [`Self::timeline`]).
    created: Instant,
    pushed_at: Arc<Mutex<Vec<Duration>>>,
}

impl Default for SpawnProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl SpawnProgress {
    /// An empty event log.
    pub fn new() -> Self {
        Self {
            tx: watch::Sender::new(Vec::new()),
            created: Instant::now(),
            pushed_at: Arc::default(),
        }
    }

    /// Appends an event and wakes the subscribers. Events after a final one are dropped.
    pub fn push(&self, event: ProgressEvent) {
        self.tx.send_if_modified(|events| {
            if events.last().is_some_and(ProgressEvent::is_final) {
                return false;
            }
            events.push(event);
            self.pushed_at
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(self.created.elapsed());
            true
        });
    }

    /// Where the time of the spawn went so far: each event's message with the time until the
    /// next event (the last one's up to now), for the admin's log line at the end of a spawn.
    pub fn timeline(&self) -> StepTimeline {
        let now = self.created.elapsed();
        let events = self.tx.borrow();
        let at = self
            .pushed_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let steps = events
            .iter()
            .zip(at.iter())
            .enumerate()
            .filter(|(_, (event, _))| !event.is_final())
            .map(|(i, (event, start))| {
                let end = at.get(i + 1).copied().unwrap_or(now);
                (event.message.clone(), end.saturating_sub(*start))
            })
            .collect();
        StepTimeline(steps)
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<ProgressEvent> {
        self.tx.borrow().clone()
    }

    /// The final event, once the spawn has ended.
    pub fn outcome(&self) -> Option<ProgressEvent> {
        self.tx.borrow().last().filter(|e| e.is_final()).cloned()
    }

    /// Waits until the spawn has ended and returns its final event.
    pub async fn finished(&self) -> ProgressEvent {
        let mut rx = self.tx.subscribe();
        loop {
            if let Some(last) = rx.borrow_and_update().last().filter(|e| e.is_final()) {
                return last.clone();
            }
            if rx.changed().await.is_err() {
                return ProgressEvent::failed("the spawn ended without a result");
            }
        }
    }

    /// A stream of every event, from the first, ending after the final one.
    pub fn stream(&self) -> impl Stream<Item = ProgressEvent> + Send + 'static {
        let rx = self.tx.subscribe();
        futures_util::stream::unfold((rx, 0usize, false), |(mut rx, sent, done)| async move {
            if done {
                return None;
            }
            loop {
                let next = rx.borrow_and_update().get(sent).cloned();
                if let Some(ev) = next {
                    let fin = ev.is_final();
                    return Some((ev, (rx, sent + 1, fin)));
                }
                if rx.changed().await.is_err() {
                    return None;
                }
            }
        })
    }
}

/// The steps of a spawn with how long each took; shown as `Step one 0.012s; Step two 1.503s`.
#[derive(Debug, Clone, PartialEq)]
pub struct StepTimeline(pub Vec<(String, Duration)>);

impl fmt::Display for StepTimeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (message, took)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{message} {:.3}s", took.as_secs_f64())?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[test]
    fn events_serialise_like_jupyterhub() {
        let v = serde_json::to_value(ProgressEvent::step(50, "Pulling image")).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"progress": 50, "message": "Pulling image", "ready": false})
        );
        let v = serde_json::to_value(ProgressEvent::ready("/user/a/lab", "Server ready")).unwrap();
        assert_eq!(v["progress"], 100);
        assert_eq!(v["ready"], true);
        assert_eq!(v["url"], "/user/a/lab");
        assert!(
            v["html_message"]
                .as_str()
                .unwrap()
                .contains("href=\"/user/a/lab\"")
        );
        let v = serde_json::to_value(ProgressEvent::failed("no <image>")).unwrap();
        assert_eq!(v["failed"], true);
        assert_eq!(v["html_message"], "no &lt;image&gt;");
    }

    #[tokio::test]
    async fn late_subscribers_see_everything_and_the_stream_ends() {
        let p = SpawnProgress::new();
        p.push(ProgressEvent::step(10, "a"));
        let early = p.stream();
        p.push(ProgressEvent::step(20, "b"));
        p.push(ProgressEvent::ready("/user/x/lab", "ready"));
        p.push(ProgressEvent::step(30, "after the end"));
        let late = p.stream();
        let early: Vec<_> = early.collect().await;
        let late: Vec<_> = late.collect().await;
        assert_eq!(early, late);
        assert_eq!(early.len(), 3);
        assert!(early[2].ready);
        assert_eq!(p.finished().await, early[2]);
    }

    #[tokio::test]
    async fn stream_follows_live_events() {
        let p = SpawnProgress::new();
        let s = p.stream();
        let p2 = p.clone();
        tokio::spawn(async move {
            p2.push(ProgressEvent::step(10, "a"));
            tokio::task::yield_now().await;
            p2.push(ProgressEvent::failed("boom"));
        });
        let got: Vec<_> = s.collect().await;
        assert_eq!(got.last().map(|e| e.failed), Some(true));
    }

    #[test]
    fn the_timeline_gives_each_step_the_time_until_the_next_event() {
        let p = SpawnProgress::new();
        p.push(ProgressEvent::step(10, "Server requested"));
        p.push(ProgressEvent::step(50, "Starting your container"));
        p.push(ProgressEvent::ready("/user/a/lab", "ready"));
        let timeline = p.timeline();
        let messages: Vec<&str> = timeline.0.iter().map(|(m, _)| m.as_str()).collect();
        assert_eq!(messages, ["Server requested", "Starting your container"]);
        let at = p.pushed_at.lock().unwrap().clone();
        assert_eq!(timeline.0[0].1, at[1] - at[0]);
        assert_eq!(timeline.0[1].1, at[2] - at[1]);
        let shown = timeline.to_string();
        assert!(shown.starts_with("Server requested "), "{shown}");
        assert!(shown.contains("s; Starting your container "), "{shown}");
    }
}
