//! [`StartReport`]: the stages an engine that schedules servers reports while it starts one (a
//! Swarm service's task: pending, assigned, preparing, starting), shown on the student's
//! progress as [`SpawnStep::Scheduling`] steps; a task that failed leaves its reason for the
//! student's failure page.

use std::sync::{Arc, Mutex, PoisonError};

use lticontainer_core::Error;
use lticontainer_core::container::StartStage;

use super::SpawnStep;
use super::failure::SpawnFailure;
use crate::progress::SpawnProgress;

/// Takes one start's stages ([`Runtime::create_and_start_reporting`](lticontainer_core::Runtime::create_and_start_reporting)); cheap to clone.
#[derive(Debug, Clone)]
pub(super) struct StartReport {
    progress: SpawnProgress,
    failed: Arc<Mutex<Option<String>>>,
}

impl StartReport {
    /// A report onto the spawn's `progress`.
    pub(super) fn new(progress: &SpawnProgress) -> Self {
        Self {
            progress: progress.clone(),
            failed: Arc::default(),
        }
    }

    /// Shows `stage` as a step; a failed one is kept for [`Self::failure`].
    pub(super) fn stage(&self, stage: StartStage) {
        if let StartStage::Failed { error } = stage {
            *self.failed.lock().unwrap_or_else(PoisonError::into_inner) = Some(error);
        } else if let Some(event) = SpawnStep::Scheduling(stage).event() {
            self.progress.push(event);
        }
    }

    /// The failure of the start step `step` that ended with `e`: with the engine's reason for
    /// the student when the engine reported a failed task, else [`SpawnFailure::engine`].
    pub(super) fn failure(&self, step: &str, e: &Error) -> SpawnFailure {
        let failed = self
            .failed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        match failed {
            Some(reason) => SpawnFailure::task(step, e, &reason),
            None => SpawnFailure::engine(step, e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_show_as_steps_and_a_failed_task_names_its_reason() {
        let progress = SpawnProgress::new();
        let report = StartReport::new(&progress);
        report.stage(StartStage::Pending);
        report.stage(StartStage::Preparing);
        let shown: Vec<String> = progress.events().into_iter().map(|e| e.message).collect();
        assert_eq!(
            shown,
            [
                SpawnStep::Scheduling(StartStage::Pending).student_text(),
                SpawnStep::Scheduling(StartStage::Preparing).student_text()
            ]
        );
        let e = Error::invalid("the task failed");
        assert!(
            !report
                .failure("starting the container", &e)
                .student
                .contains("exec")
        );
        report.stage(StartStage::Failed {
            error: "exec: \"start.sh\": not found".into(),
        });
        assert_eq!(progress.events().len(), 2, "a failure is not a step");
        let failure = report.failure("starting the container", &e);
        assert!(
            failure.student.contains("exec: \"start.sh\": not found"),
            "{}",
            failure.student
        );
        assert!(
            failure.admin.contains("the task failed"),
            "{}",
            failure.admin
        );
    }
}
