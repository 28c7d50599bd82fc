//! [`SpawnStep`]: the named steps of a spawn, each with what the student's progress shows, what
//! the admin's log says when it fails, and a label for metrics.

use lticontainer_core::container::StartStage;

use crate::progress::ProgressEvent;

/// One step of a spawn. The spawn reports each step as it enters it (those with a
/// [`SpawnStep::percent`]), and a failure names the step it happened in.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpawnStep {
    /// The spawn was asked for.
    Requested,
    /// Every spawn slot is taken; this one waits its turn.
    WaitingForTurn {
        /// How many spawns may run at once (`hub.max_concurrent_spawns`).
        at_once: usize,
    },
    /// Still waiting for a turn (repeated while the hub stays busy).
    StillWaiting,
    /// Reading what the store records of the user's server and the ports in use.
    ReadingRecords,
    /// Handing out the port the server listens on.
    AllocatingPort,
    /// Deciding the container from the launch.
    Planning,
    /// Recording the spawn in the store before anything is created.
    Recording,
    /// Creating the missing host directories (home, works).
    HomeDirectories,
    /// Making sure the image is present.
    Image {
        /// The image reference.
        image: String,
    },
    /// Creating the course volumes.
    Volumes,
    /// Creating the server's own network (isolated networking).
    Network,
    /// Issuing the server's hub API token and OAuth client.
    Credentials,
    /// Creating and starting the container.
    Container,
    /// A stage of the container's start on an engine that schedules it (a Swarm task's state).
    Scheduling(StartStage),
    /// Turning off the host's forwarding on the server network's bridge (isolated networking).
    IsolatingNetwork,
    /// Recording the started container.
    RecordingContainer,
    /// Waiting for the server inside the container to answer HTTP.
    WaitingForServer,
    /// Recording the running server.
    RecordingRunning,
    /// The server's port was taken before it listened; starting again on another port.
    RetryingOnAnotherPort,
    /// The engine did not answer a step; trying the start once more after a pause.
    RetryingAfterEngineError,
}

impl SpawnStep {
    /// The progress percent shown when the step starts; `None` for steps too quick to show.
    pub fn percent(&self) -> Option<u8> {
        match self {
            Self::Requested => Some(0),
            Self::WaitingForTurn { .. } | Self::StillWaiting => Some(2),
            Self::HomeDirectories => Some(5),
            Self::Image { .. } => Some(10),
            Self::Volumes => Some(45),
            Self::Network => Some(50),
            Self::Container | Self::RetryingOnAnotherPort | Self::RetryingAfterEngineError => {
                Some(60)
            }
            Self::Scheduling(stage) => match stage {
                StartStage::Pending => Some(62),
                StartStage::Assigned => Some(64),
                StartStage::Preparing => Some(66),
                StartStage::Starting => Some(70),
                _ => None,
            },
            Self::WaitingForServer => Some(75),
            Self::ReadingRecords
            | Self::AllocatingPort
            | Self::Planning
            | Self::Recording
            | Self::Credentials
            | Self::IsolatingNetwork
            | Self::RecordingContainer
            | Self::RecordingRunning => None,
        }
    }

    /// What the student's progress says when the step starts.
    pub fn student_text(&self) -> String {
        match self {
            Self::Requested => "Server requested".to_owned(),
            Self::WaitingForTurn { at_once } => format!(
                "The hub is busy starting other servers ({at_once} at once); yours starts as soon \
                 as one is done. Retrying…"
            ),
            Self::StillWaiting => "Still busy, retrying…".to_owned(),
            Self::HomeDirectories => "Preparing your home directory".to_owned(),
            Self::Image { image } => format!("Getting the image {image}"),
            Self::Volumes => "Creating the course volumes".to_owned(),
            Self::Network => "Preparing your server's private network".to_owned(),
            Self::Container => "Starting your container".to_owned(),
            Self::Scheduling(stage) => match stage {
                StartStage::Pending => "Waiting for a machine of the cluster to take your server",
                StartStage::Assigned => "A machine of the cluster took your server",
                StartStage::Preparing => "Preparing your server on its machine",
                StartStage::Starting => "Starting your server's container on its machine",
                _ => "",
            }
            .to_owned(),
            Self::WaitingForServer => "Waiting for your server to answer".to_owned(),
            Self::RetryingOnAnotherPort => {
                "Another program took your server's network port as it started; starting it \
                 again on another port"
                    .to_owned()
            }
            Self::RetryingAfterEngineError => {
                "The container engine did not answer; trying once more".to_owned()
            }
            Self::ReadingRecords
            | Self::AllocatingPort
            | Self::Planning
            | Self::Recording
            | Self::Credentials
            | Self::IsolatingNetwork
            | Self::RecordingContainer
            | Self::RecordingRunning => String::new(),
        }
    }

    /// What the hub was doing, for the admin's log and for the student's failure message
    /// ("Your server could not start (getting the image)").
    pub fn admin_text(&self) -> &'static str {
        match self {
            Self::Requested => "requesting the server",
            Self::WaitingForTurn { .. } | Self::StillWaiting => "waiting for a spawn slot",
            Self::ReadingRecords => "reading the server record",
            Self::AllocatingPort => "allocating a port",
            Self::Planning => "building the container spec",
            Self::Recording => "recording the spawn",
            Self::HomeDirectories => "creating host directories",
            Self::Image { .. } => "getting the image",
            Self::Volumes => "creating a course volume",
            Self::Network => "creating the server's network",
            Self::Credentials => "issuing the server's hub credentials",
            Self::Container => "starting the container",
            Self::Scheduling(_) => "waiting for the cluster to run the container",
            Self::IsolatingNetwork => "turning off forwarding on the server network's bridge",
            Self::RecordingContainer => "recording the container",
            Self::WaitingForServer => "waiting for the server to answer",
            Self::RecordingRunning => "recording the running server",
            Self::RetryingOnAnotherPort => "starting again on another port",
            Self::RetryingAfterEngineError => "starting again after an engine error",
        }
    }

    /// A short stable label for metrics and structured logs.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::WaitingForTurn { .. } | Self::StillWaiting => "queued",
            Self::ReadingRecords => "read_records",
            Self::AllocatingPort => "port",
            Self::Planning => "plan",
            Self::Recording => "record",
            Self::HomeDirectories => "home_dirs",
            Self::Image { .. } => "image",
            Self::Volumes => "volumes",
            Self::Network => "network",
            Self::Credentials => "credentials",
            Self::Container => "container",
            Self::Scheduling(_) => "scheduling",
            Self::IsolatingNetwork => "isolate_network",
            Self::RecordingContainer => "record_container",
            Self::WaitingForServer => "wait_ready",
            Self::RecordingRunning => "record_running",
            Self::RetryingOnAnotherPort => "retry_port",
            Self::RetryingAfterEngineError => "retry_engine",
        }
    }

    /// The progress event for the start of the step, when it shows one.
    pub fn event(&self) -> Option<ProgressEvent> {
        self.percent()
            .map(|p| ProgressEvent::step(p, self.student_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_steps_rise_and_have_text() {
        let shown = [
            SpawnStep::Requested,
            SpawnStep::WaitingForTurn { at_once: 16 },
            SpawnStep::HomeDirectories,
            SpawnStep::Image {
                image: "jupyter:latest".into(),
            },
            SpawnStep::Volumes,
            SpawnStep::Network,
            SpawnStep::Container,
            SpawnStep::Scheduling(StartStage::Pending),
            SpawnStep::Scheduling(StartStage::Assigned),
            SpawnStep::Scheduling(StartStage::Preparing),
            SpawnStep::Scheduling(StartStage::Starting),
            SpawnStep::WaitingForServer,
        ];
        let mut last = 0;
        for step in shown {
            let ev = step.event().expect("a shown step has an event");
            assert!(ev.progress >= last, "{step:?}");
            assert!(!ev.message.is_empty(), "{step:?}");
            last = ev.progress;
        }
        assert!(SpawnStep::Credentials.event().is_none());
        assert!(SpawnStep::IsolatingNetwork.event().is_none());
        assert!(
            SpawnStep::WaitingForTurn { at_once: 3 }
                .student_text()
                .contains("(3 at once)")
        );
    }
}
