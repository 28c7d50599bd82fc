//! What a service's tasks say about its server: the current task, its state in core's terms,
//! and whether a start is still under way, failed, or waits for a node. Pure: no I/O.

use bollard::models::{Task, TaskState};
use lticontainer_core::container::{ContainerState, StartStage};

/// The task that stands for the service's one replica: the newest one (by creation time).
pub(crate) fn current(tasks: &[Task]) -> Option<&Task> {
    tasks.iter().max_by_key(|t| created_key(t))
}

/// A task's creation time as a sortable key: RFC 3339 seconds, then nanoseconds (Go trims
/// trailing zeros of the fraction, so the strings do not sort as they are).
fn created_key(t: &Task) -> (String, u32) {
    let at = t.created_at.clone().unwrap_or_default();
    let at = at.trim_end_matches('Z');
    let (secs, frac) = at.split_once('.').unwrap_or((at, ""));
    let digits: String = frac.chars().take(9).collect();
    let nanos = format!("{digits:0<9}").parse().unwrap_or(0);
    (secs.to_owned(), nanos)
}

/// The task's state, `NEW` when it reports none.
pub(crate) fn state(t: &Task) -> TaskState {
    t.status
        .as_ref()
        .and_then(|s| s.state)
        .unwrap_or(TaskState::NEW)
}

/// The task's error text, when it has one (a failure, or why no node can take it).
pub(crate) fn error(t: &Task) -> Option<&str> {
    t.status
        .as_ref()
        .and_then(|s| s.err.as_deref())
        .filter(|e| !e.is_empty())
}

/// The id of the task's container on its node, once it has one.
pub(crate) fn container_id(t: &Task) -> Option<&str> {
    t.status
        .as_ref()
        .and_then(|s| s.container_status.as_ref())
        .and_then(|c| c.container_id.as_deref())
        .filter(|id| !id.is_empty())
}

/// The service's server state in core's terms, from its current task: a task on its way
/// (`new` … `starting`) is `Created`, `running` is `Running`, an ended one is `Exited` with its
/// container's exit code when the task has one; no task at all (scaled to zero, or its task
/// history pruned) is `Exited` without a code.
pub(crate) fn container_state(task: Option<&Task>) -> ContainerState {
    let Some(task) = task else {
        return ContainerState::Exited { code: None };
    };
    let code = task
        .status
        .as_ref()
        .and_then(|s| s.container_status.as_ref())
        .and_then(|c| c.exit_code);
    match state(task) {
        // A task the manager wants ended but still reports running: being stopped, or on a
        // node that was lost (its last report stays `running`; no replacement comes).
        TaskState::RUNNING if is_being_ended(task) => ContainerState::Exited { code: None },
        TaskState::RUNNING => ContainerState::Running,
        s if is_ended(s) => ContainerState::Exited {
            code: code.filter(|_| s != TaskState::REJECTED),
        },
        _ => ContainerState::Created,
    }
}

/// True when the manager wants the task ended (its desired state is an ended one): after a
/// scale to zero, a removal, or when its node is down.
fn is_being_ended(t: &Task) -> bool {
    t.desired_state.is_some_and(is_ended)
}

/// True for the states a task never leaves (it will not run again).
pub(crate) fn is_ended(s: TaskState) -> bool {
    matches!(
        s,
        TaskState::COMPLETE
            | TaskState::SHUTDOWN
            | TaskState::FAILED
            | TaskState::REJECTED
            | TaskState::REMOVE
            | TaskState::ORPHANED
    )
}

/// Where a start stands, read from the current task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Start {
    /// The task runs — or ran: a short command that ended with status 0 between two reads of
    /// the task list (`complete`) was started, as an engine's create-and-start of it is.
    Running,
    /// The task is on its way: the state, for the log.
    Progressing(TaskState),
    /// No node can take the task now: the scheduler's reason.
    Unschedulable(String),
    /// The task ended before it ran: its state and error.
    Ended { state: TaskState, cause: String },
}

/// Where the start of a service stands, from its current task (none yet: just created).
pub(crate) fn start(task: Option<&Task>) -> Start {
    let Some(task) = task else {
        return Start::Progressing(TaskState::NEW);
    };
    match state(task) {
        TaskState::RUNNING | TaskState::COMPLETE => Start::Running,
        s if is_ended(s) => Start::Ended {
            state: s,
            cause: error(task)
                .or_else(|| task.status.as_ref().and_then(|st| st.message.as_deref()))
                .unwrap_or("no reason given")
                .to_owned(),
        },
        TaskState::PENDING => match error(task) {
            Some(reason) => Start::Unschedulable(reason.to_owned()),
            None => Start::Progressing(TaskState::PENDING),
        },
        s => Start::Progressing(s),
    }
}

/// The stage the student's progress shows for a start that stands at `start`; `None` once the
/// task runs (the start is done). A task no node takes yet is still `Pending`.
pub(crate) fn stage(start: &Start) -> Option<StartStage> {
    Some(match start {
        Start::Running => return None,
        Start::Unschedulable(_) => StartStage::Pending,
        Start::Ended { cause, .. } => StartStage::Failed {
            error: cause.clone(),
        },
        Start::Progressing(s) => match *s {
            TaskState::ASSIGNED | TaskState::ACCEPTED => StartStage::Assigned,
            TaskState::PREPARING | TaskState::READY => StartStage::Preparing,
            TaskState::STARTING => StartStage::Starting,
            _ => StartStage::Pending,
        },
    })
}

/// True when a failed task's error says its image is missing on the node.
pub(crate) fn image_missing(cause: &str) -> bool {
    let lower = cause.to_ascii_lowercase();
    lower.contains("no such image") || lower.contains("pull access denied")
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerStatus, TaskStatus};

    fn task(created: &str, state: TaskState, err: Option<&str>, code: Option<i64>) -> Task {
        Task {
            created_at: Some(created.to_owned()),
            status: Some(TaskStatus {
                state: Some(state),
                err: err.map(str::to_owned),
                container_status: Some(ContainerStatus {
                    container_id: Some("c1".into()),
                    exit_code: code,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn the_newest_task_counts_even_when_go_trims_its_fraction() {
        let old = task(
            "2026-12-01T20:04:52.4767802Z",
            TaskState::SHUTDOWN,
            None,
            Some(137),
        );
        let new = task("2026-12-01T20:04:52.47679Z", TaskState::RUNNING, None, None);
        let tasks = [new.clone(), old.clone()];
        assert_eq!(current(&tasks), Some(&new));
        let tasks = [old, new.clone()];
        assert_eq!(current(&tasks), Some(&new));
        assert_eq!(current(&[]), None);
    }

    #[test]
    fn task_states_map_onto_container_states() {
        let t = |s, code| task("2026-01-01T00:00:00Z", s, None, code);
        assert_eq!(container_state(None), ContainerState::Exited { code: None });
        for s in [
            TaskState::NEW,
            TaskState::PENDING,
            TaskState::ASSIGNED,
            TaskState::PREPARING,
            TaskState::STARTING,
        ] {
            assert_eq!(container_state(Some(&t(s, None))), ContainerState::Created);
        }
        assert_eq!(
            container_state(Some(&t(TaskState::RUNNING, Some(0)))),
            ContainerState::Running
        );
        assert_eq!(
            container_state(Some(&t(TaskState::FAILED, Some(3)))),
            ContainerState::Exited { code: Some(3) }
        );
        assert_eq!(
            container_state(Some(&t(TaskState::REJECTED, Some(0)))),
            ContainerState::Exited { code: None },
            "a rejected task never ran"
        );
        assert!(!container_state(Some(&t(TaskState::SHUTDOWN, Some(137)))).is_running());
        // Seen on a two-node swarm: the worker's engine stopped, the node down, and the task
        // still `running` with desired state `shutdown` (restart condition none: no new task).
        let mut lost = t(TaskState::RUNNING, None);
        lost.desired_state = Some(TaskState::SHUTDOWN);
        assert_eq!(
            container_state(Some(&lost)),
            ContainerState::Exited { code: None }
        );
        lost.desired_state = Some(TaskState::RUNNING);
        assert_eq!(container_state(Some(&lost)), ContainerState::Running);
    }

    #[test]
    fn a_start_runs_waits_for_a_node_or_ends_with_the_tasks_error() {
        let at = "2026-01-01T00:00:00Z";
        assert_eq!(start(None), Start::Progressing(TaskState::NEW));
        assert_eq!(
            start(Some(&task(at, TaskState::RUNNING, None, None))),
            Start::Running
        );
        assert_eq!(
            start(Some(&task(at, TaskState::COMPLETE, None, Some(0)))),
            Start::Running,
            "a short command that already ended did start"
        );
        assert_eq!(
            start(Some(&task(at, TaskState::PREPARING, None, None))),
            Start::Progressing(TaskState::PREPARING)
        );
        let no_node = "no suitable node (scheduling constraints not satisfied on 1 node)";
        assert_eq!(
            start(Some(&task(at, TaskState::PENDING, Some(no_node), None))),
            Start::Unschedulable(no_node.to_owned())
        );
        let no_image = "No such image: x/y:1";
        let ended = start(Some(&task(at, TaskState::REJECTED, Some(no_image), None)));
        assert_eq!(
            ended,
            Start::Ended {
                state: TaskState::REJECTED,
                cause: no_image.to_owned()
            }
        );
        assert!(image_missing(no_image));
        assert!(!image_missing(no_node));
    }

    #[test]
    fn task_states_become_the_stages_the_student_sees() {
        let at = "2026-01-01T00:00:00Z";
        let stage_of = |s, err| stage(&start(Some(&task(at, s, err, None))));
        assert_eq!(stage(&start(None)), Some(StartStage::Pending));
        assert_eq!(
            stage_of(TaskState::PENDING, None),
            Some(StartStage::Pending)
        );
        assert_eq!(
            stage_of(TaskState::PENDING, Some("no suitable node")),
            Some(StartStage::Pending)
        );
        assert_eq!(
            stage_of(TaskState::ASSIGNED, None),
            Some(StartStage::Assigned)
        );
        assert_eq!(
            stage_of(TaskState::ACCEPTED, None),
            Some(StartStage::Assigned)
        );
        assert_eq!(
            stage_of(TaskState::PREPARING, None),
            Some(StartStage::Preparing)
        );
        assert_eq!(
            stage_of(TaskState::STARTING, None),
            Some(StartStage::Starting)
        );
        assert_eq!(stage_of(TaskState::RUNNING, None), None);
        let why = "starting container failed: exec: \"jupyterhub-singleuser\": not found";
        assert_eq!(
            stage_of(TaskState::FAILED, Some(why)),
            Some(StartStage::Failed {
                error: why.to_owned()
            })
        );
    }
}
