//! [`Spawner::stop`]: stopping a user's server — the one way the admin API, the student's own
//! pages (and any later culler) end a server, or cancel its start.

use crate::metrics::StopStatus;
use lticontainer_core::store::ServerState;

use super::{SlotState, Spawner};

/// What [`Spawner::stop`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopOutcome {
    /// The running server's container was removed.
    Stopped {
        /// The removed container.
        container_id: String,
    },
    /// The store still called a server pending or running though the spawner had none (a
    /// record left by a hub that stopped); its container, if any, was removed.
    LeftoverRemoved {
        /// The removed container, when the record named one.
        container_id: Option<String>,
    },
    /// A spawn was under way: it was cancelled, and what it had made was removed.
    Cancelled,
    /// No server ran.
    NotRunning,
}

/// Why [`Spawner::stop`] could not stop a server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StopError {
    /// The engine refused to remove the container.
    #[error("the engine did not remove container {container_id}")]
    Engine {
        /// The container.
        container_id: String,
        /// The engine's error.
        #[source]
        source: lticontainer_core::Error,
    },
    /// The store failed.
    #[error("{what} failed")]
    Store {
        /// What the hub was doing.
        what: &'static str,
        /// The store's error.
        #[source]
        source: lticontainer_core::Error,
    },
}

impl Spawner {
    /// Stops `user`'s server: its container and network are removed, the store records it
    /// stopped, and the server's hub tokens are revoked (as JupyterHub does when a server stops).
    /// A spawn under way is cancelled first (JupyterHub's "interrupting a pending start"): it
    /// ends at its next step, and what it made is removed. Returns what was stopped and how
    /// many tokens were revoked.
    ///
    /// # Errors
    /// [`StopError::Engine`] when the engine refuses to remove the container (nothing is
    /// recorded then); [`StopError::Store`].
    pub async fn stop(&self, user: &str) -> Result<(StopOutcome, u64), StopError> {
        let started = std::time::Instant::now();
        let stopped = self.stop_now(user).await;
        // `jupyterhub_server_stop_seconds`: stops of a server that ran (or whose removal failed).
        let status = match &stopped {
            Ok((StopOutcome::Stopped { .. }, _)) => Some(StopStatus::Success),
            Ok(_) => None,
            Err(_) => Some(StopStatus::Failure),
        };
        if let Some(status) = status {
            self.metrics.stop_ended(status, started.elapsed());
        }
        stopped
    }

    /// [`Spawner::stop`] without its metric.
    async fn stop_now(&self, user: &str) -> Result<(StopOutcome, u64), StopError> {
        let mut cancelled = false;
        let outcome = loop {
            match self.state(user) {
                SlotState::Spawning(progress) => {
                    self.cancel_spawn(user, &progress).await;
                    cancelled = true;
                }
                SlotState::Running(r) => {
                    self.runtime
                        .remove(&r.container_id)
                        .await
                        .map_err(|source| StopError::Engine {
                            container_id: r.container_id.clone(),
                            source,
                        })?;
                    self.mark_stopped(user, &r.container_id).await;
                    // mark_stopped removes the network too, unless the engine watcher marked
                    // the server stopped first, when the container's "die" event came in while
                    // it was still being removed (and still held its network): now it is gone.
                    self.remove_stopped_server_networks(user).await;
                    break StopOutcome::Stopped {
                        container_id: r.container_id,
                    };
                }
                SlotState::Idle { .. } => match self.stop_recorded_leftover(user).await? {
                    StopOutcome::NotRunning if cancelled => break StopOutcome::Cancelled,
                    other => break other,
                },
            }
        };
        let revoked = self
            .credentials
            .revoke_server(user)
            .await
            .map_err(|source| StopError::Store {
                what: "revoking a server's tokens",
                source,
            })?;
        Ok((outcome, revoked))
    }

    /// A server the store still calls pending or running though the spawner has none: its
    /// container, if any, is removed and it is recorded stopped.
    async fn stop_recorded_leftover(&self, user: &str) -> Result<StopOutcome, StopError> {
        let record = self
            .store
            .server(user)
            .await
            .map_err(|source| StopError::Store {
                what: "reading a server",
                source,
            })?;
        let Some(mut record) =
            record.filter(|r| matches!(r.state, ServerState::Pending | ServerState::Running))
        else {
            return Ok(StopOutcome::NotRunning);
        };
        if let Some(id) = &record.container_id {
            self.runtime
                .remove(id)
                .await
                .map_err(|source| StopError::Engine {
                    container_id: id.clone(),
                    source,
                })?;
        }
        self.remove_stopped_server_networks(user).await;
        let container_id = record.container_id.clone();
        record.state = ServerState::Stopped;
        record.address = None;
        self.store
            .put_server(record)
            .await
            .map_err(|source| StopError::Store {
                what: "recording a stopped server",
                source,
            })?;
        Ok(StopOutcome::LeftoverRemoved { container_id })
    }
}
