//! [`ClassBoard`]: the teachers' live view of a class, built from the captured [`NbLog`]
//! records (the ones the outbox holds, in capture order): which cell each student ran, when, and
//! whether it ended `ok` or in an error, per activity.
//!
//! A record alone does not say all of it: the `ltictr` record binds a notebook session to the
//! activity, the `client` record (`execute_request`) names the cell and its tags, and the
//! `server` record (`execute_reply`) names the status and points at its request. The board
//! joins them into one [`Execution`] per reply. Everything it keeps is bounded: notebook
//! sessions, requests waiting for their reply, activities, students per activity, cells per
//! student and the steps and feed kept of each.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::record::{NbHost, NbLog};
use crate::params::SessionInfo;

/// The most notebook sessions whose activity the board remembers (oldest forgotten first).
pub const MAX_SESSIONS: usize = 8192;
/// The most requests waiting for their reply (oldest forgotten first).
pub const MAX_PENDING: usize = 16 * 1024;
/// The most activities the board keeps (the least recently active forgotten first).
pub const MAX_COURSES: usize = 256;
/// The most students per activity (further students are not shown).
pub const MAX_STUDENTS: usize = 1024;
/// The most distinct cells per student (further cells are not shown).
pub const MAX_CELLS: usize = 512;
/// The steps kept of each student's progress (oldest dropped first).
pub const MAX_STEPS: usize = 256;
/// The executions the live feed of an activity keeps (oldest dropped first).
pub const MAX_FEED: usize = 100;

/// Which exercise cell: the `filename:` and `codenum:` tags mod_lticontainer and `ipynb_conv`
/// write; a cell without them is named by the start of its cell id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct CellKey {
    /// The notebook the cell belongs to (`filename:` tag), empty when untagged.
    pub filename: String,
    /// The cell's exercise number (`codenum:` tag), or `#` and the cell id's first 8
    /// characters when untagged.
    pub codenum: String,
}

impl CellKey {
    /// The key of a cell with `tags` (the record's JSON text) and `cell_id`.
    pub fn from_tags(tags: &str, cell_id: &str) -> Self {
        let mut filename = String::new();
        let mut codenum = String::new();
        let list: Vec<String> = serde_json::from_str(tags).unwrap_or_default();
        for tag in &list {
            if let Some(v) = tag.strip_prefix("filename:") {
                v.trim().clone_into(&mut filename);
            } else if let Some(v) = tag.strip_prefix("codenum:") {
                v.trim().clone_into(&mut codenum);
            }
        }
        if codenum.is_empty() {
            codenum = format!("#{}", cell_id.chars().take(8).collect::<String>());
        }
        Self { filename, codenum }
    }

    /// Orders cells as a teacher reads them: by notebook, then by number when both are numbers.
    fn sort_key(&self) -> (&str, u64, &str) {
        (
            &self.filename,
            self.codenum.parse().unwrap_or(u64::MAX),
            &self.codenum,
        )
    }
}

/// One cell a student ran, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Execution {
    /// The activity (`lms_sessioninfo`); not sent to browsers.
    #[serde(skip)]
    pub course: SessionInfo,
    /// The hub user who ran it.
    pub user: String,
    /// The cell.
    #[serde(flatten)]
    pub cell: CellKey,
    /// `ok`, `error` or `aborted`, as the kernel answered.
    pub status: String,
    /// When the reply was captured (Unix milliseconds).
    pub at_ms: u64,
}

/// What one student did in one cell.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CellTally {
    /// Runs that ended `ok`.
    pub ok: u32,
    /// Runs that ended otherwise (`error`, `aborted`).
    pub error: u32,
    /// How the latest run ended.
    pub last: String,
}

/// One step of a student's progress: a cell run and its end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// When (Unix milliseconds).
    pub at_ms: u64,
    /// The cell.
    #[serde(flatten)]
    pub cell: CellKey,
    /// How it ended.
    pub status: String,
}

/// One student of an activity as the dashboard shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StudentView {
    /// The hub user.
    pub user: String,
    /// Each cell run, sorted as [`CellKey`]s are read.
    pub cells: Vec<(CellKey, CellTally)>,
    /// The latest steps, oldest first.
    pub steps: Vec<Step>,
}

/// An activity's board, as sent to its teachers' browsers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CourseView {
    /// Every cell any student ran, in reading order.
    pub cells: Vec<CellKey>,
    /// The students, by name.
    pub students: Vec<StudentView>,
    /// The latest executions, oldest first.
    pub feed: Vec<Execution>,
}

#[derive(Debug, Default)]
struct Student {
    cells: HashMap<CellKey, CellTally>,
    steps: VecDeque<Step>,
}

#[derive(Debug, Default)]
struct Course {
    students: BTreeMap<String, Student>,
    feed: VecDeque<Execution>,
    /// The board's sequence number of the latest execution (for forgetting the idlest).
    touched: u64,
}

/// A map that forgets its oldest insertions past `cap`.
#[derive(Debug)]
struct Bounded<K, V> {
    map: HashMap<K, V>,
    order: VecDeque<K>,
    cap: usize,
}

impl<K: std::hash::Hash + Eq + Clone, V> Bounded<K, V> {
    fn new(cap: usize) -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
            cap,
        }
    }

    fn insert(&mut self, k: K, v: V) {
        if self.map.insert(k.clone(), v).is_none() {
            self.order.push_back(k);
        }
        while self.map.len() > self.cap {
            match self.order.pop_front() {
                Some(old) => {
                    self.map.remove(&old);
                }
                None => break,
            }
        }
        // Keys removed by `remove` stay in `order` until they reach the front; keep it small.
        if self.order.len() > 2 * self.cap {
            let map = &self.map;
            self.order.retain(|k| map.contains_key(k));
        }
    }

    fn remove(&mut self, k: &K) -> Option<V> {
        self.map.remove(k)
    }

    fn get(&self, k: &K) -> Option<&V> {
        self.map.get(k)
    }
}

/// The boards of every activity, fed with records in capture order; see the module docs.
#[derive(Debug)]
pub struct ClassBoard {
    sessions: Bounded<String, SessionInfo>,
    pending: Bounded<(String, String), CellKey>,
    courses: HashMap<u64, Course>,
    seq: u64,
}

impl Default for ClassBoard {
    fn default() -> Self {
        Self::new()
    }
}

impl ClassBoard {
    /// An empty board.
    pub fn new() -> Self {
        Self {
            sessions: Bounded::new(MAX_SESSIONS),
            pending: Bounded::new(MAX_PENDING),
            courses: HashMap::new(),
            seq: 0,
        }
    }

    /// Reads the record `log` of `user` captured at `captured`; returns the execution it
    /// completes, if it is a reply to a request the board has seen in a known session.
    pub fn feed(&mut self, user: &str, log: &NbLog, captured: SystemTime) -> Option<Execution> {
        match log.host {
            NbHost::Ltictr => {
                let info = SessionInfo {
                    ltictr_id: log.inst_id.parse().ok()?,
                    lti_id: log.lti_id.parse().ok()?,
                };
                self.sessions.insert(log.session.clone(), info);
                None
            }
            NbHost::Client => {
                self.sessions.get(&log.session)?;
                self.pending.insert(
                    (log.session.clone(), log.message.clone()),
                    CellKey::from_tags(&log.tags, &log.cell_id),
                );
                None
            }
            NbHost::Server => {
                let cell = self
                    .pending
                    .remove(&(log.session.clone(), log.message.clone()))?;
                let course = *self.sessions.get(&log.session)?;
                let at_ms = captured
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
                let exec = Execution {
                    course,
                    user: user.to_owned(),
                    cell,
                    status: log.status.clone(),
                    at_ms,
                };
                self.apply(&exec).then_some(exec)
            }
        }
    }

    /// Adds `exec` to its activity's board; false when a bound leaves it out.
    fn apply(&mut self, exec: &Execution) -> bool {
        self.seq += 1;
        if !self.courses.contains_key(&exec.course.lti_id) && self.courses.len() >= MAX_COURSES {
            let idlest = self
                .courses
                .iter()
                .min_by_key(|(_, c)| c.touched)
                .map(|(k, _)| *k);
            if let Some(k) = idlest {
                self.courses.remove(&k);
            }
        }
        let course = self.courses.entry(exec.course.lti_id).or_default();
        course.touched = self.seq;
        if !course.students.contains_key(&exec.user) && course.students.len() >= MAX_STUDENTS {
            return false;
        }
        let student = course.students.entry(exec.user.clone()).or_default();
        if !student.cells.contains_key(&exec.cell) && student.cells.len() >= MAX_CELLS {
            return false;
        }
        let tally = student.cells.entry(exec.cell.clone()).or_default();
        if exec.status == "ok" {
            tally.ok += 1;
        } else {
            tally.error += 1;
        }
        tally.last.clone_from(&exec.status);
        push_bounded(
            &mut student.steps,
            Step {
                at_ms: exec.at_ms,
                cell: exec.cell.clone(),
                status: exec.status.clone(),
            },
            MAX_STEPS,
        );
        push_bounded(&mut course.feed, exec.clone(), MAX_FEED);
        true
    }

    /// The board of activity `lti_id` (empty when nobody ran a cell there yet).
    pub fn view(&self, lti_id: u64) -> CourseView {
        let Some(course) = self.courses.get(&lti_id) else {
            return CourseView::default();
        };
        let mut cells: Vec<CellKey> = Vec::new();
        let students = course
            .students
            .iter()
            .map(|(user, s)| {
                let mut tallies: Vec<(CellKey, CellTally)> = s
                    .cells
                    .iter()
                    .map(|(k, t)| (k.clone(), t.clone()))
                    .collect();
                tallies.sort_by(|a, b| a.0.sort_key().cmp(&b.0.sort_key()));
                cells.extend(tallies.iter().map(|(k, _)| k.clone()));
                StudentView {
                    user: user.clone(),
                    cells: tallies,
                    steps: s.steps.iter().cloned().collect(),
                }
            })
            .collect();
        cells.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        cells.dedup();
        CourseView {
            cells,
            students,
            feed: course.feed.iter().cloned().collect(),
        }
    }
}

fn push_bounded<T>(q: &mut VecDeque<T>, item: T, cap: usize) {
    if q.len() >= cap {
        q.pop_front();
    }
    q.push_back(item);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::analytics::kernel::{ExecuteReply, ExecuteRequest, KernelEvent};

    const INFO: SessionInfo = SessionInfo {
        ltictr_id: 3,
        lti_id: 76,
    };

    fn request(session: &str, msg: &str, codenum: u32) -> NbLog {
        NbLog::from_event(KernelEvent::Request(ExecuteRequest {
            session: session.into(),
            msg_id: msg.into(),
            cell_id: "cell-0123456789".into(),
            tags: format!(r#"["filename: ex1.ipynb","codenum: {codenum}"]"#),
            date: String::new(),
        }))
    }

    fn reply(session: &str, msg: &str, status: &str) -> NbLog {
        NbLog::from_event(KernelEvent::Reply(ExecuteReply {
            session: session.into(),
            msg_id: msg.into(),
            status: status.into(),
            username: "x".into(),
            date: String::new(),
        }))
    }

    fn run(b: &mut ClassBoard, user: &str, session: &str, msg: &str, n: u32, status: &str) {
        assert!(
            b.feed(user, &request(session, msg, n), UNIX_EPOCH)
                .is_none()
        );
        let e = b
            .feed(user, &reply(session, msg, status), UNIX_EPOCH)
            .unwrap();
        assert_eq!((e.user.as_str(), e.status.as_str()), (user, status));
        assert_eq!(e.cell.codenum, n.to_string());
    }

    #[test]
    fn joins_binding_request_and_reply_per_student_and_cell() {
        let mut b = ClassBoard::new();
        for (user, s) in [("alice", "sa"), ("bob", "sb")] {
            assert!(
                b.feed(user, &NbLog::session_binding(INFO, s), UNIX_EPOCH)
                    .is_none()
            );
        }
        run(&mut b, "alice", "sa", "m1", 10, "ok");
        run(&mut b, "alice", "sa", "m2", 2, "error");
        run(&mut b, "alice", "sa", "m3", 2, "ok");
        run(&mut b, "bob", "sb", "m1", 2, "error");
        let v = b.view(76);
        let nums: Vec<_> = v.cells.iter().map(|c| c.codenum.as_str()).collect();
        assert_eq!(nums, ["2", "10"], "numbers sort as numbers");
        assert_eq!(v.students.len(), 2);
        let alice = &v.students[0];
        assert_eq!(alice.user, "alice");
        assert_eq!(
            alice.cells[0].1,
            CellTally {
                ok: 1,
                error: 1,
                last: "ok".into()
            }
        );
        assert_eq!(alice.steps.len(), 3);
        assert_eq!(v.students[1].cells[0].1.last, "error");
        assert_eq!(v.feed.len(), 4);
        assert_eq!(
            b.view(77),
            CourseView::default(),
            "another activity sees nothing"
        );
    }

    #[test]
    fn records_without_their_other_half_make_no_execution() {
        let mut b = ClassBoard::new();
        // No binding: the request is not kept, the reply finds nothing.
        assert!(b.feed("a", &request("s", "m", 1), UNIX_EPOCH).is_none());
        assert!(b.feed("a", &reply("s", "m", "ok"), UNIX_EPOCH).is_none());
        b.feed("a", &NbLog::session_binding(INFO, "s"), UNIX_EPOCH);
        assert!(
            b.feed("a", &reply("s", "unknown", "ok"), UNIX_EPOCH)
                .is_none()
        );
        let mut bad = NbLog::session_binding(INFO, "t");
        bad.inst_id = "x".into();
        assert!(b.feed("a", &bad, UNIX_EPOCH).is_none());
        assert!(b.feed("a", &request("t", "m", 1), UNIX_EPOCH).is_none());
        assert!(b.feed("a", &reply("t", "m", "ok"), UNIX_EPOCH).is_none());
        assert_eq!(b.view(76), CourseView::default());
    }

    #[test]
    fn untagged_cells_are_named_by_their_id_and_bad_tags_are_ignored() {
        assert_eq!(
            CellKey::from_tags("", "abcdef0123"),
            CellKey {
                filename: String::new(),
                codenum: "#abcdef01".into()
            }
        );
        assert_eq!(
            CellKey::from_tags(r#"["codenum:7","filename:a.ipynb","x"]"#, "c"),
            CellKey {
                filename: "a.ipynb".into(),
                codenum: "7".into()
            }
        );
        assert_eq!(CellKey::from_tags("{not json", "c").codenum, "#c");
    }

    #[test]
    fn memory_stays_bounded_whatever_is_fed() {
        let mut b = ClassBoard::new();
        b.feed("a", &NbLog::session_binding(INFO, "s"), UNIX_EPOCH);
        // Requests that never get a reply.
        for i in 0..(MAX_PENDING + 100) {
            b.feed("a", &request("s", &format!("m{i}"), 1), UNIX_EPOCH);
        }
        assert_eq!(b.pending.map.len(), MAX_PENDING);
        assert!(b.pending.order.len() <= 2 * MAX_PENDING);
        // One student, many runs of many cells.
        for i in 0..(MAX_CELLS as u32 + 10) {
            b.feed("a", &request("s", "r", i), UNIX_EPOCH);
            b.feed("a", &reply("s", "r", "ok"), UNIX_EPOCH);
        }
        let v = b.view(76);
        assert_eq!(v.students[0].cells.len(), MAX_CELLS);
        assert_eq!(v.students[0].steps.len(), MAX_STEPS);
        assert_eq!(v.feed.len(), MAX_FEED);
        // Many sessions and many activities.
        for i in 0..(MAX_SESSIONS + 5) {
            let info = SessionInfo {
                ltictr_id: 1,
                lti_id: i as u64,
            };
            let s = format!("s{i}");
            b.feed("a", &NbLog::session_binding(info, &s), UNIX_EPOCH);
            b.feed("a", &request(&s, "m", 1), UNIX_EPOCH);
            b.feed("a", &reply(&s, "m", "ok"), UNIX_EPOCH);
        }
        assert_eq!(b.sessions.map.len(), MAX_SESSIONS);
        assert_eq!(b.courses.len(), MAX_COURSES);
    }
}
