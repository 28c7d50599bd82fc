//! Cancelling a spawn under way: [`Spawner::stop`] asks, the spawn task drops its steps at the
//! next await and cleans up what they made (container, network, port, record).

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};

use lticontainer_core::container::{ContainerInfo, ContainerSpec};
use lticontainer_core::store::ServerState;

use super::start_report::StartReport;
use super::{SlotState, Spawner, UserSlot};
use crate::progress::{ProgressEvent, SpawnProgress};

/// What the student reads when the start of their server was cancelled.
pub const CANCELLED_MESSAGE: &str = "The start of your server was cancelled before it finished \
(you or your teacher stopped it). You can start it again.";

impl Spawner {
    /// Asks `user`'s spawn under way (the one `progress` reports) to stop, and waits until it
    /// has ended: cancelled and cleaned up, or finished on its own just before the request
    /// reached it (then the caller finds the server running, or failed).
    pub(super) async fn cancel_spawn(&self, user: &str, progress: &SpawnProgress) {
        let sender = self
            .slot(user)
            .cancel
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(tx) = sender {
            tracing::info!(%user, "cancelling the spawn under way");
            let slot = self.slot(user);
            slot.stopping.store(true, Ordering::SeqCst);
            // A spawn that ended meanwhile dropped its receiver: nothing to cancel then.
            if tx.send(()).is_err() {
                slot.stopping.store(false, Ordering::SeqCst);
            }
        }
        progress.finished().await;
    }

    /// True while a cancelled spawn of `user` is being cleaned up (JupyterHub's pending stop).
    pub fn is_stopping(&self, user: &str) -> bool {
        self.slot(user).stopping.load(Ordering::SeqCst)
    }

    /// Creates and starts `spec` for `user` in a task of its own: a cancelled spawn stops
    /// waiting for it, but the engine's answer is still awaited (holding the user's
    /// `creating` lock), so the cleanup knows about every container the spawn made.
    pub(super) async fn create_uncut(
        &self,
        user: &str,
        spec: &ContainerSpec,
        report: &StartReport,
    ) -> lticontainer_core::Result<ContainerInfo> {
        let held = Arc::clone(&self.slot(user).creating).lock_owned().await;
        let runtime = Arc::clone(&self.runtime);
        let spec = spec.clone();
        let report = report.clone();
        tokio::spawn(async move {
            let result = runtime
                .create_and_start_reporting(&spec, &|stage| report.stage(stage))
                .await;
            drop(held);
            result
        })
        .await
        .unwrap_or_else(|e| {
            Err(lticontainer_core::Error::unavailable(
                "hub",
                format!("the container start task ended: {e}"),
            ))
        })
    }

    /// After a cancelled spawn: removes the containers and networks the spawn made (found by
    /// their labels, as the spawn may have been cut anywhere), gives the port back, records the
    /// server stopped, and ends the progress with [`CANCELLED_MESSAGE`].
    pub(super) async fn clean_up_cancelled(
        &self,
        user: &str,
        slot: &UserSlot,
        progress: &SpawnProgress,
        port: Option<u16>,
    ) {
        // A container the engine is still creating for this spawn is waited for, then removed.
        let creating = Arc::clone(&slot.creating);
        let _created = creating.lock().await;
        match self.runtime.list(&self.user_labels(user)).await {
            Ok(containers) => {
                for c in containers {
                    match self.runtime.remove(&c.id).await {
                        Ok(()) => {
                            tracing::info!(%user, container = %c.name, "removed the container of a cancelled spawn");
                        }
                        Err(e) => {
                            tracing::warn!(%user, container = %c.name, error = %e, "cannot remove the container of a cancelled spawn");
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(%user, error = %e, "cannot list the user's containers after a cancelled spawn");
            }
        }
        self.remove_server_networks(user).await;
        if let Some(p) = port {
            self.ports.release(p);
        }
        self.set_server_state(user, None, ServerState::Stopped)
            .await;
        let p = progress.clone();
        slot.update(|s| *s = SlotState::Idle { last: Some(p) });
        slot.stopping.store(false, Ordering::SeqCst);
        progress.push(ProgressEvent::failed(CANCELLED_MESSAGE));
    }
}
