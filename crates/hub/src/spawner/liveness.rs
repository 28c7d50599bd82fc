//! Is a running server still there when its student launches again? The launch checks (the
//! container runs, its server answers from inside it) before sending the browser on, so a dead
//! server is replaced at once instead of on the student's first failed request.
//!
//! A class that clicks the activity again together must not make the engine and the servers
//! answer one check per click: the checks of one user run one at a time, and a launch within
//! [`RECHECK_AFTER`] of a check that passed trusts it (a storm of 300 launches of 20 students
//! asked the engine 300 times before). A server that dies inside that second is still found: by
//! the engine's events, or by the proxy's first failed request, which marks it stopped and offers
//! the start again.

use std::time::{Duration, Instant};

use super::{RunningServer, SlotState, Spawner, UserSlot};
use crate::listener_owner::ListenerCheck;

/// How long a passed launch-time check is trusted by the same user's next launches.
pub(super) const RECHECK_AFTER: Duration = Duration::from_secs(1);

/// When the user's running server last passed the launch-time check (its container, the moment);
/// its lock makes one user's checks run one at a time.
#[derive(Debug, Default)]
pub(super) struct LastCheck(tokio::sync::Mutex<Option<(String, Instant)>>);

/// What the launch-time check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Liveness {
    /// The server runs: the launch sends the browser to it.
    Alive,
    /// The server is gone (and its container removed when it was unresponsive): start anew.
    Gone,
    /// While this launch waited for another's check, the slot stopped holding this server
    /// (that launch found it gone and went on): join whatever the slot holds now.
    Replaced,
}

impl Spawner {
    /// Whether `r`, `user`'s running server when the launch came, still runs: checked, or trusted
    /// from a check of the same container less than [`RECHECK_AFTER`] ago.
    pub(super) async fn running_at_launch(
        &self,
        user: &str,
        slot: &UserSlot,
        r: &RunningServer,
    ) -> Liveness {
        let mut last = slot.last_check.0.lock().await;
        if let Some((container, at)) = last.as_ref()
            && *container == r.container_id
            && at.elapsed() < RECHECK_AFTER
        {
            return Liveness::Alive;
        }
        match slot.get() {
            SlotState::Running(now) if now.container_id == r.container_id => {}
            _ => return Liveness::Replaced,
        }
        if self.still_running(user, r).await {
            *last = Some((r.container_id.clone(), Instant::now()));
            Liveness::Alive
        } else {
            *last = None;
            Liveness::Gone
        }
    }

    /// True when the container runs and its server answers HTTP from inside the container. A
    /// running container whose server does not answer (crashed inside, or adopted before it was
    /// ready and never got there), or whose address is answered by a process outside it, is
    /// removed, so the next spawn starts clean.
    pub(super) async fn still_running(&self, user: &str, r: &RunningServer) -> bool {
        match self.runtime.inspect(&r.container_id).await {
            Ok(info) if info.state.is_running() => {}
            Ok(_) => return false,
            Err(e) if e.is_not_found() => return false,
            Err(e) => {
                // The engine did not answer: keep the server; the proxy notices if it is gone.
                tracing::warn!(container = %r.container_id, error = %e, "cannot inspect a running server; assuming it still runs");
                return true;
            }
        }
        if self.answers(user, r.addr).await {
            // An answer counts only from the container itself (see `ready`): with host
            // networking another process may hold the port, and it must not get the browser.
            match self.listener_check(r.addr, &r.container_id).await {
                ListenerCheck::Container(sockets) => {
                    self.vouched(user, &r.container_id, sockets);
                    return true;
                }
                other => {
                    tracing::warn!(%user, container = %r.container_id, addr = %r.addr, listener = %other, "the server's address is not answered by its container; treating the server as gone and replacing it");
                }
            }
        } else {
            tracing::warn!(%user, container = %r.container_id, "the container runs but its server does not answer; replacing it");
        }
        if let Err(e) = self.runtime.remove(&r.container_id).await {
            tracing::warn!(%user, container = %r.container_id, error = %e, "cannot remove the unresponsive container");
        }
        false
    }
}
