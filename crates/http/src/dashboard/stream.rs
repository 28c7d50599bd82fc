//! The dashboard's event stream (`GET /hub/dashboard/<activity>/events`, Server-Sent Events):
//!
//! * `board`: the activity's whole board (JSON [`CourseView`]), first, and again after the
//!   browser fell more than `LIVE_BUFFER` executions behind;
//! * `run`: one execution of the activity (JSON [`Execution`]), as the outbox stores it;
//! * `end`: the teacher's hub session ended (expired, revoked): the stream closes and the page
//!   says so, without reconnecting.
//!
//! The session is checked again with every execution and every 15 s; the stream holds one of
//! the teacher's dashboard places (`lticontainer_hub::analytics::watchers`) while it is open.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use lticontainer_core::analytics::{CourseView, Execution};
use lticontainer_hub::analytics::{Analytics, Watch};
use tokio::sync::broadcast::error::RecvError;

use crate::extract::Sessions;
use crate::progress_stream::unbuffered;

/// How often an idle stream checks that the teacher's session is still valid.
const SESSION_CHECK: Duration = Duration::from_secs(15);

/// What the `end` event says.
const ENDED: &str =
    "Your hub session ended. Open the activity in Moodle again to follow the class.";

/// Who follows a stream: the teacher, with the request's cookies to check their session by.
pub(crate) struct Viewer {
    /// The hub's sessions.
    pub(crate) sessions: Sessions,
    /// The request's headers (its session cookie).
    pub(crate) headers: HeaderMap,
    /// The teacher the session named when the stream opened.
    pub(crate) teacher: String,
}

impl Viewer {
    /// True while the request's session is still valid and still the teacher's.
    fn signed_in(&self) -> bool {
        self.sessions
            .claim(&self.headers)
            .is_some_and(|c| c.user == self.teacher)
    }
}

/// One open stream.
struct Follow {
    analytics: Arc<Analytics>,
    watch: Watch,
    lti_id: u64,
    viewer: Viewer,
    first: Option<CourseView>,
    done: bool,
    check: tokio::time::Interval,
}

impl Follow {
    fn signed_in(&self) -> bool {
        self.viewer.signed_in()
    }

    /// The next event, or `None` once the stream is over.
    async fn next(&mut self) -> Option<Event> {
        if self.done {
            return None;
        }
        if let Some(view) = self.first.take() {
            return Some(board_event(&view));
        }
        loop {
            tokio::select! {
                r = self.watch.live.recv() => match r {
                    Ok(exec) => {
                        if !self.signed_in() {
                            return Some(self.end());
                        }
                        if exec.course.lti_id == self.lti_id {
                            return Some(run_event(&exec));
                        }
                    }
                    Err(RecvError::Lagged(_)) => {
                        let view = self.analytics.board().catch_up(self.lti_id, &mut self.watch);
                        return Some(board_event(&view));
                    }
                    Err(RecvError::Closed) => return None,
                },
                _ = self.check.tick() => {
                    if !self.signed_in() {
                        return Some(self.end());
                    }
                }
            }
        }
    }

    fn end(&mut self) -> Event {
        self.done = true;
        Event::default().event("end").data(ENDED)
    }
}

fn board_event(view: &CourseView) -> Event {
    json_event("board", view)
}

fn run_event(exec: &Execution) -> Event {
    json_event("run", exec)
}

fn json_event<T: serde::Serialize>(name: &str, value: &T) -> Event {
    // These types always serialise; an empty object keeps the page going if not.
    let data = serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned());
    Event::default().event(name).data(data)
}

/// The stream of activity `lti_id` for `viewer` over `watch`, ending with their session.
pub(crate) fn events(
    analytics: Arc<Analytics>,
    watch: Watch,
    lti_id: u64,
    viewer: Viewer,
) -> Response {
    let mut check = tokio::time::interval(SESSION_CHECK);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let first = Some(watch.view.clone());
    let follow = Follow {
        analytics,
        watch,
        lti_id,
        viewer,
        first,
        done: false,
        check,
    };
    let events = stream::unfold(follow, |mut f| async move {
        let ev = f.next().await?;
        Some((Ok::<_, Infallible>(ev), f))
    });
    unbuffered(
        Sse::new(events)
            .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
            .into_response(),
    )
}
