//! [`StartStage`]: how a container's start goes on an engine that schedules it on a cluster
//! (a Swarm service's task), as [`Runtime::create_and_start_reporting`](crate::Runtime::create_and_start_reporting)
//! reports it.

use serde::{Deserialize, Serialize};

/// One stage of a scheduled start, in the order a start passes them (stages may be skipped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum StartStage {
    /// Waiting for the scheduler to give the server a node (none may have room or match yet).
    Pending,
    /// A node took the server.
    Assigned,
    /// The node prepares it (gets the image, creates the volumes).
    Preparing,
    /// The node starts its container.
    Starting,
    /// The start ended before the container ran; `error` is the engine's reason (a Swarm
    /// task's `Status.Err`), reported just before `create_and_start_reporting` returns its error.
    Failed {
        /// The engine's reason, as it gave it.
        error: String,
    },
}
