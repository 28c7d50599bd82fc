//! [`Spawner::watch_engine`]: stop routing to a server the moment its container stops.
//!
//! A student's "Shut Down" in JupyterLab ends the server process, so the container exits while
//! the slot still says running. With host networking the freed port is then anyone's: another
//! student's code may bind it and would receive the browser's next request to `/user/<name>/…`,
//! cookies included. So the hub does not wait for the next launch to notice: it follows the
//! engine's container events for its own label (`lticontainer.hub=<instance>`) and marks a
//! running server stopped as soon as its container dies, stops or is removed; the proxy then
//! sends the browser to the spawn page instead of to the port. An OOM kill inside a server does
//! not end it (the engine's `oom` event comes for any process, most often a notebook kernel that
//! Jupyter restarts): the server stays routed and the student is told ([`super::oom`]).
//!
//! Events that happen while no subscription runs (the engine restarted, the connection broke)
//! are lost, so after every (re)subscription each running server is checked again: its container
//! must run and, with host networking, hold its port itself (see [`crate::listener_owner`]).
//!
//! The watcher runs for the hub's life; `lticontainer serve` starts it once, after the startup
//! re-adoption. An engine without events ([`Error::NotSupported`]) ends it with a warning.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use lticontainer_core::Error;
use lticontainer_core::container::{ContainerEvent, ContainerEventKind, labels};

use super::Spawner;
use crate::listener_owner::ListenerCheck;

/// The first wait before subscribing again after the stream broke; doubled up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait between subscription attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

impl Spawner {
    /// Follows the engine's container events and marks a running server stopped the moment its
    /// container stops (see the module docs). Runs until the engine says it has no events;
    /// spawn it once, e.g. `tokio::spawn(Arc::clone(&spawner).watch_engine())`.
    pub async fn watch_engine(self: Arc<Self>) {
        let filter = BTreeMap::from([(
            labels::MANAGED_BY.to_owned(),
            self.spec.hub_instance.clone(),
        )]);
        let mut backoff = MIN_BACKOFF;
        loop {
            match self.runtime.events(&filter).await {
                Ok(mut events) => {
                    tracing::info!(
                        backend = self.runtime.backend(),
                        "following the engine's container events"
                    );
                    backoff = MIN_BACKOFF;
                    // Whatever happened before this subscription was not seen.
                    self.recheck_running().await;
                    loop {
                        match events.next().await {
                            Some(Ok(event)) => self.on_container_event(&event).await,
                            Some(Err(e)) => {
                                tracing::warn!(error = %e, "the engine's event stream failed; subscribing again");
                                break;
                            }
                            None => {
                                tracing::warn!(
                                    "the engine's event stream ended; subscribing again"
                                );
                                break;
                            }
                        }
                    }
                }
                Err(e @ Error::NotSupported { .. }) => {
                    tracing::warn!(error = %e, "the engine reports no container events; a stopped server is noticed only at the next launch or request");
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "cannot follow the engine's container events");
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Marks the running server whose container `event` ends stopped; records an OOM kill in
    /// a running server (which goes on running, see [`super::oom`]).
    async fn on_container_event(&self, event: &ContainerEvent) {
        tracing::debug!(container = %event.id, kind = ?event.kind, "container event");
        let out_of_memory = event.kind == ContainerEventKind::OutOfMemory;
        if !out_of_memory && !event.kind.ends_container() {
            return;
        }
        for (user, server) in self.running_servers() {
            if server.container_id != event.id {
                continue;
            }
            if out_of_memory {
                self.record_out_of_memory(&user, &event.id);
            } else {
                tracing::info!(%user, container = %event.id, kind = ?event.kind, "the server's container ended; no longer routing to it");
                self.note_if_ended_by_out_of_memory(&user, &event.id);
                self.mark_stopped(&user, &event.id).await;
            }
        }
    }

    /// Checks every running server after a (re)subscription: a container that no longer runs,
    /// or whose port is held by a process outside it, is marked stopped (and in the second case
    /// removed). An engine that cannot answer leaves the server as it is.
    async fn recheck_running(&self) {
        for (user, server) in self.running_servers() {
            match self.runtime.inspect(&server.container_id).await {
                Ok(info) if info.state.is_running() => {}
                Ok(_) => {
                    tracing::info!(%user, container = %server.container_id, "the server's container stopped while no events were followed; no longer routing to it");
                    self.mark_stopped(&user, &server.container_id).await;
                    continue;
                }
                Err(e) if e.is_not_found() => {
                    tracing::info!(%user, container = %server.container_id, "the server's container vanished while no events were followed; no longer routing to it");
                    self.mark_stopped(&user, &server.container_id).await;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(%user, container = %server.container_id, error = %e, "cannot inspect a running server's container");
                    continue;
                }
            }
            match self.listener_check(server.addr, &server.container_id).await {
                check @ (ListenerCheck::Foreign(_) | ListenerCheck::Unseen) => {
                    self.retire(&user, &server, &check).await;
                }
                ListenerCheck::Container(sockets) => {
                    self.vouched(&user, &server.container_id, sockets);
                }
                // Nothing listens: the proxy finds out at the next request and marks it stopped.
                ListenerCheck::NoListener => {}
                ListenerCheck::Unknown(why) => {
                    tracing::error!(%user, container = %server.container_id, %why, "cannot tell who listens at a server's address");
                }
            }
        }
    }
}
