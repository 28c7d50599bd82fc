//! Cancelling a spawn under way: [`Spawner::stop`] asks, the spawn task drops its steps at the
//! next await and cleans up what they made (container, network, port, record).

use std::sync::PoisonError;

use lticontainer_core::store::ServerState;

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
            // A spawn that ended meanwhile dropped its receiver: nothing to cancel then.
            let _ = tx.send(());
        }
        progress.finished().await;
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
        progress.push(ProgressEvent::failed(CANCELLED_MESSAGE));
    }
}
