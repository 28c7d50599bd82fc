//! [`LiveBoard`]: the teachers' dashboard data, live: the [`ClassBoard`] fed by the outbox
//! writer with each batch it stored (the same records that go to the LMS, no second capture),
//! rebuilt from the store's history at start, and a broadcast of each new [`Execution`] for the
//! dashboards open now.

use std::sync::{Arc, Mutex, PoisonError};

use lticontainer_core::analytics::{ClassBoard, CourseView, Execution};
use lticontainer_core::store::{AnalyticsStore, OutboxItem};
use tokio::sync::broadcast;

use super::watchers::{WatchPermit, Watchers};

/// How many executions wait for a slow dashboard before it misses some (it is then sent the
/// whole board again).
pub const LIVE_BUFFER: usize = 256;

/// Records read from the history per store call at start.
const HISTORY_PAGE: usize = 2048;

/// The live board of every activity; see the module docs.
#[derive(Debug)]
pub struct LiveBoard {
    board: Mutex<ClassBoard>,
    live: broadcast::Sender<Arc<Execution>>,
    watchers: Watchers,
}

/// An open dashboard: the activity's board as it is now, then every later execution (of any
/// activity: the reader keeps its own). Holds one of the teacher's stream places while alive.
#[derive(Debug)]
pub struct Watch {
    /// The board when the watch began.
    pub view: CourseView,
    /// Executions after it, in order.
    pub live: broadcast::Receiver<Arc<Execution>>,
    /// The teacher's stream place.
    pub permit: WatchPermit,
}

impl Default for LiveBoard {
    fn default() -> Self {
        Self::new()
    }
}

impl LiveBoard {
    /// An empty board.
    pub fn new() -> Self {
        Self {
            board: Mutex::new(ClassBoard::new()),
            live: broadcast::channel(LIVE_BUFFER).0,
            watchers: Watchers::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ClassBoard> {
        self.board.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads the records the outbox just stored, in their order, and sends each execution
    /// they complete to the open dashboards.
    pub(crate) fn feed(&self, items: &[OutboxItem]) {
        let mut board = self.lock();
        for item in items {
            if let Some(exec) = board.feed(&item.user, &item.log, item.captured) {
                // No open dashboard is not an error.
                let _ = self.live.send(Arc::new(exec));
            }
        }
    }

    /// Rebuilds the board from the store's history (at start, before new records come).
    ///
    /// # Errors
    /// The store's error; the board keeps what it read.
    pub(crate) async fn load(&self, store: &dyn AnalyticsStore) -> lticontainer_core::Result<u64> {
        let mut after = 0;
        let mut n = 0;
        loop {
            let page = store.history(after, HISTORY_PAGE).await?;
            let Some(last) = page.last() else {
                return Ok(n);
            };
            after = last.id;
            n += page.len() as u64;
            let mut board = self.lock();
            for e in &page {
                board.feed(&e.user, &e.log, e.captured);
            }
        }
    }

    /// The board of activity `lti_id` now.
    pub fn view(&self, lti_id: u64) -> CourseView {
        self.lock().view(lti_id)
    }

    /// Opens a dashboard of activity `lti_id` for `teacher`: the board now and every execution
    /// after it, with nothing lost or repeated between the two. `None` when the teacher has as
    /// many dashboards open as allowed, or the hub has (`super::watchers`).
    pub fn watch(&self, teacher: &str, lti_id: u64) -> Option<Watch> {
        let permit = self.watchers.enter(teacher)?;
        // Under the board's lock: no execution is fed between the view and the subscription.
        let board = self.lock();
        Some(Watch {
            view: board.view(lti_id),
            live: self.live.subscribe(),
            permit,
        })
    }

    /// For a dashboard that fell more than [`LIVE_BUFFER`] executions behind: a new
    /// subscription for `watch` and the board of `lti_id` as of it, again with nothing lost or
    /// repeated between the two.
    pub fn catch_up(&self, lti_id: u64, watch: &mut Watch) -> CourseView {
        let board = self.lock();
        watch.live = self.live.subscribe();
        board.view(lti_id)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use lticontainer_core::analytics::NbLog;
    use lticontainer_core::analytics::kernel::{ExecuteReply, ExecuteRequest, KernelEvent};
    use lticontainer_core::params::SessionInfo;
    use lticontainer_core::store::InMemoryStore;
    use std::time::UNIX_EPOCH;

    fn item(log: NbLog) -> OutboxItem {
        OutboxItem {
            user: "alice".into(),
            endpoint: "http://m/webservice/rest/server.php".into(),
            token: "t".into(),
            log,
            captured: UNIX_EPOCH,
        }
    }

    fn run(msg: &str, status: &str) -> [OutboxItem; 2] {
        [
            item(NbLog::from_event(KernelEvent::Request(ExecuteRequest {
                session: "s".into(),
                msg_id: msg.into(),
                cell_id: "c".into(),
                tags: r#"["codenum: 1"]"#.into(),
                date: String::new(),
            }))),
            item(NbLog::from_event(KernelEvent::Reply(ExecuteReply {
                session: "s".into(),
                msg_id: msg.into(),
                status: status.into(),
                username: String::new(),
                date: String::new(),
            }))),
        ]
    }

    fn binding() -> OutboxItem {
        item(NbLog::session_binding(
            SessionInfo {
                ltictr_id: 3,
                lti_id: 76,
            },
            "s",
        ))
    }

    #[tokio::test]
    async fn a_watch_gets_the_board_then_each_new_execution() {
        let board = LiveBoard::new();
        board.feed(&[binding()]);
        board.feed(&run("m1", "ok"));
        let mut w = board.watch("teacher", 76).unwrap();
        assert_eq!(w.view.students[0].cells[0].1.ok, 1);
        board.feed(&run("m2", "error"));
        let e = w.live.recv().await.unwrap();
        assert_eq!((e.user.as_str(), e.status.as_str()), ("alice", "error"));
        assert!(w.live.try_recv().is_err(), "one execution, sent once");
    }

    #[tokio::test]
    async fn a_dashboard_that_fell_behind_gets_the_whole_board_again() {
        let board = LiveBoard::new();
        board.feed(&[binding()]);
        let mut w = board.watch("teacher", 76).unwrap();
        let n = LIVE_BUFFER + 10;
        for i in 0..n {
            board.feed(&run(&format!("m{i}"), "ok"));
        }
        assert!(matches!(
            w.live.recv().await,
            Err(broadcast::error::RecvError::Lagged(_))
        ));
        let view = board.catch_up(76, &mut w);
        assert_eq!(view.students[0].cells[0].1.ok as usize, n);
        assert!(
            w.live.try_recv().is_err(),
            "nothing repeated after the board"
        );
        board.feed(&run("late", "error"));
        assert_eq!(w.live.recv().await.unwrap().status, "error");
    }

    #[tokio::test]
    async fn the_board_is_rebuilt_from_the_history() {
        let store = InMemoryStore::new();
        let mut items = vec![binding()];
        items.extend(run("m1", "ok"));
        items.extend(run("m2", "error"));
        store.outbox_push(items).await.unwrap();
        // Delivered records stay in the history.
        for e in store.outbox_pending(10).await.unwrap() {
            store.outbox_remove(e.id).await.unwrap();
        }
        let board = LiveBoard::new();
        assert_eq!(board.load(&store).await.unwrap(), 5);
        let tally = &board.view(76).students[0].cells[0].1;
        assert_eq!((tally.ok, tally.error), (1, 1));
    }
}
