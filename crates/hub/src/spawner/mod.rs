//! The spawn manager: one slot per user, spawns in the background with progress, bounded
//! concurrency, and re-adoption of running containers after a hub restart.
//!
//! # Concurrency
//! * Slots live in a map behind a mutex that is held only to find or insert a slot, never
//!   across an await; each slot has its own short-lived mutex for its state.
//! * No lock is held around engine calls, so spawns of different users run in parallel.
//! * A [`tokio::sync::Semaphore`] bounds how many spawns run at once; a spawn beyond the bound
//!   waits, and its progress says the hub is busy and retries.
//! * A launch while a spawn is pending joins it; a launch while the server runs reuses it
//!   (the launch's parameters apply at the next spawn, as in the original).

use std::collections::HashMap;
use std::fmt::Debug;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use lticontainer_core::clock::Clock;
use lticontainer_core::spec::{IdentityLookup, SpecConfig};
use lticontainer_core::store::{ServerRecord, ServerState, Store};
use lticontainer_core::{Runtime, container::ContainerInfo};
use tokio::sync::Semaphore;

use self::liveness::{LastCheck, Liveness};
use crate::config::HubConfig;
use crate::credentials::ServerCredentials;
use crate::forwarding::Forwarding;
use crate::listener_owner::{ListenerCheck, ListenerOwnership, Sockets};
use crate::metrics::Metrics;
use crate::ports::PortAllocator;
use crate::progress::{ProgressEvent, SpawnProgress};

mod adopt;
mod cancel;
mod cull;
mod failure;
mod liveness;
mod memory;
mod network;
mod oom;
mod plan;
mod ready;
mod request;
mod run;
mod start_report;
mod steps;
mod stop;
mod vouch;
mod watch;

pub use adopt::AdoptReport;
pub use cancel::CANCELLED_MESSAGE;
pub use cull::{CullReason, TimeLeft};
pub use memory::MemoryNotices;
pub use request::SpawnRequest;
pub use steps::SpawnStep;
pub use stop::{StopError, StopOutcome};

pub use crate::server_spec::DEFAULT_URL_LABEL;

/// A running server the proxy can reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningServer {
    /// The engine's container id.
    pub container_id: String,
    /// Where the server answers.
    pub addr: SocketAddr,
    /// The port allocated to it.
    pub port: u16,
    /// Where the browser goes: `/user/<name>/lab`.
    pub url: String,
    /// When the server started (unix seconds): its activity limit and maximum age count from here.
    pub started_at: u64,
    /// Its activity limit (`lms_actlimit` / `spec.act_limit`), when one applies.
    pub act_limit: Option<Duration>,
    /// The listening sockets last vouched for as the container's (see
    /// [`Spawner::vouch_for_connection`]); `None` until checked (a re-adopted server).
    pub(crate) listener: Option<Sockets>,
}

/// Where a user's server is, as the spawn manager sees it.
#[derive(Debug, Clone)]
pub enum SlotState {
    /// No server; `last` holds the events of the last spawn when it failed.
    Idle {
        /// The last (failed) spawn, for the progress page.
        last: Option<SpawnProgress>,
    },
    /// A spawn is under way.
    Spawning(SpawnProgress),
    /// The server runs.
    Running(RunningServer),
}

#[derive(Debug)]
struct UserSlot {
    state: Mutex<SlotState>,
    /// Unix seconds of the last activity written to the store for this user.
    last_touch: AtomicU64,
    /// Held by a spawn from making the user's server network until its container is on it, and
    /// by the clean-up after a server stopped while it removes the user's networks, so a late
    /// clean-up never removes the network of a server that has just been started again.
    networks: tokio::sync::Mutex<()>,
    /// Cancels the spawn under way (see `cancel`); set while the slot is spawning.
    cancel: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    /// Why the hub stopped the server (a limit), for the student's pages until the next start.
    stop_note: Mutex<Option<String>>,
    /// Held while the engine creates the user's container, in a task of its own that a
    /// cancelled spawn does not cut: the cleanup after a cancel waits for it, so a container
    /// the engine creates after the cancel is removed too (see `cancel`).
    creating: Arc<tokio::sync::Mutex<()>>,
    /// True from a cancel's request until its cleanup is done (the user model's `pending: "stop"`).
    stopping: std::sync::atomic::AtomicBool,
    /// The last launch-time check of the running server (see [`liveness`]).
    last_check: LastCheck,
    /// The last time the OOM killer killed a process in the user's server (see [`oom`]).
    out_of_memory: Mutex<Option<oom::OutOfMemory>>,
}

impl UserSlot {
    fn get(&self) -> SlotState {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn update<R>(&self, f: impl FnOnce(&mut SlotState) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// What a [`Spawner`] is built from.
#[derive(Debug)]
pub struct SpawnerParts {
    /// The container engine.
    pub runtime: Arc<dyn Runtime>,
    /// Users, servers, tokens.
    pub store: Arc<dyn Store>,
    /// Issues and revokes the servers' hub credentials.
    pub credentials: Arc<ServerCredentials>,
    /// Host accounts.
    pub identity: Arc<dyn IdentityLookup>,
    /// The `[hub]` settings.
    pub hub: Arc<HubConfig>,
    /// How containers are built from launches.
    pub spec: Arc<SpecConfig>,
    /// Where the time comes from.
    pub clock: Arc<dyn Clock>,
    /// Tells whether the listener at a host-network server's address is the container's
    /// ([`ProcListeners`](crate::listener_owner::ProcListeners) for Docker and Podman).
    pub listeners: Arc<dyn ListenerOwnership>,
    /// Turns off the host's forwarding on the servers' network bridges (isolated networking):
    /// [`ProcSysForwarding`](crate::forwarding::ProcSysForwarding) on a real host.
    pub forwarding: Arc<dyn Forwarding>,
}

/// Everything a spawn needs; shared by all spawns.
#[derive(Debug)]
pub struct Spawner {
    runtime: Arc<dyn Runtime>,
    store: Arc<dyn Store>,
    credentials: Arc<ServerCredentials>,
    identity: Arc<dyn IdentityLookup>,
    hub: Arc<HubConfig>,
    spec: Arc<SpecConfig>,
    clock: Arc<dyn Clock>,
    listeners: Arc<dyn ListenerOwnership>,
    forwarding: Arc<dyn Forwarding>,
    ports: PortAllocator,
    limit: Arc<Semaphore>,
    slots: Mutex<HashMap<String, Arc<UserSlot>>>,
    http: ready::ProbeClient,
    /// Servers whose readiness is being waited for now (their probes share a rate).
    awaited_servers: AtomicUsize,
    metrics: Arc<Metrics>,
}

impl Spawner {
    /// A spawn manager over these parts.
    pub fn new(parts: SpawnerParts) -> Self {
        let SpawnerParts {
            runtime,
            store,
            credentials,
            identity,
            hub,
            spec,
            clock,
            listeners,
            forwarding,
        } = parts;
        Self {
            ports: PortAllocator::new(hub.port_min..=hub.port_max),
            limit: Arc::new(Semaphore::new(hub.max_concurrent_spawns)),
            runtime,
            store,
            credentials,
            identity,
            hub,
            spec,
            clock,
            listeners,
            forwarding,
            slots: Mutex::default(),
            http: ready::probe_client(),
            awaited_servers: AtomicUsize::new(0),
            metrics: Arc::default(),
        }
    }

    /// A sentence for the admin when the configured port range overlaps the kernel's unreserved
    /// ephemeral ports (see the ports module); `None` when it does not, or `/proc` says nothing.
    pub fn port_range_warning(&self) -> Option<String> {
        crate::ports::ephemeral_overlap(
            &(self.hub.port_min..=self.hub.port_max),
            std::path::Path::new("/proc"),
        )
    }

    /// The `[hub]` settings the spawner runs with.
    pub fn config(&self) -> &HubConfig {
        &self.hub
    }

    /// How containers are built from launches (and who is a teacher).
    pub fn spec_config(&self) -> &SpecConfig {
        &self.spec
    }

    /// Now, by the hub's clock.
    pub fn now(&self) -> std::time::SystemTime {
        self.clock.now()
    }

    /// The hub's counters for `/hub/metrics`.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Servers running and spawns under way now: `(running, pending)`.
    pub fn server_counts(&self) -> (u64, u64) {
        let slots: Vec<_> = self
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        slots.iter().fold((0, 0), |(r, p), s| match s.get() {
            SlotState::Running(_) => (r + 1, p),
            SlotState::Spawning(_) => (r, p + 1),
            SlotState::Idle { .. } => (r, p),
        })
    }

    /// The credentials the spawner issues to servers.
    pub fn credentials(&self) -> &Arc<ServerCredentials> {
        &self.credentials
    }

    fn slot(&self, user: &str) -> Arc<UserSlot> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots
            .entry(user.to_owned())
            .or_insert_with(|| {
                Arc::new(UserSlot {
                    state: Mutex::new(SlotState::Idle { last: None }),
                    last_touch: AtomicU64::new(0),
                    networks: tokio::sync::Mutex::new(()),
                    cancel: Mutex::default(),
                    stop_note: Mutex::default(),
                    creating: Arc::default(),
                    stopping: std::sync::atomic::AtomicBool::new(false),
                    last_check: LastCheck::default(),
                    out_of_memory: Mutex::default(),
                })
            })
            .clone()
    }

    /// The state of `user`'s server.
    pub fn state(&self, user: &str) -> SlotState {
        let found = self
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(user)
            .cloned();
        found.map_or(SlotState::Idle { last: None }, |s| s.get())
    }

    /// The running server of `user`, if any.
    pub fn running(&self, user: &str) -> Option<RunningServer> {
        match self.state(user) {
            SlotState::Running(r) => Some(r),
            _ => None,
        }
    }

    /// Starts the server `request` asks for, or joins the spawn under way, or reuses the running
    /// server. Returns at once with the spawn's progress; the spawn runs in the background.
    pub async fn request(self: &Arc<Self>, request: SpawnRequest) -> SpawnProgress {
        let user = request.user().to_owned();
        let slot = self.slot(&user);
        let current = slot.get();
        if let SlotState::Running(r) = &current {
            match self.running_at_launch(&user, &slot, r).await {
                Liveness::Alive => return ready_progress(r),
                Liveness::Gone => {
                    tracing::info!(%user, container = %r.container_id, "the server's container is gone; starting a new one");
                    self.mark_stopped(&user, &r.container_id).await;
                }
                // Another launch found it gone meanwhile and went on; this one joins what it did.
                Liveness::Replaced => {}
            }
        }
        let progress = SpawnProgress::new();
        let (cancel_tx, cancel_rx) = tokio::sync::oneshot::channel();
        let joined = slot.update(|state| match state {
            SlotState::Spawning(p) => Some(p.clone()),
            SlotState::Running(r) => Some(ready_progress(r)),
            SlotState::Idle { .. } => {
                // Set before the state says spawning, so whoever sees the spawn can cancel it.
                *slot.cancel.lock().unwrap_or_else(PoisonError::into_inner) = Some(cancel_tx);
                slot.stop_note
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take();
                *state = SlotState::Spawning(progress.clone());
                None
            }
        });
        if let Some(p) = joined {
            return p;
        }
        let this = Arc::clone(self);
        let p = progress.clone();
        tokio::spawn(async move { this.run(request, p, slot, cancel_rx).await });
        progress
    }

    /// The running servers, by user.
    pub(super) fn running_servers(&self) -> Vec<(String, RunningServer)> {
        let slots: Vec<_> = self
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(user, slot)| (user.clone(), Arc::clone(slot)))
            .collect();
        slots
            .into_iter()
            .filter_map(|(user, slot)| match slot.get() {
                SlotState::Running(r) => Some((user, r)),
                _ => None,
            })
            .collect()
    }

    /// Records `sockets` as the listener vouched for as container `container_id`'s, if that
    /// container is still `user`'s running server.
    fn vouched(&self, user: &str, container_id: &str, sockets: Sockets) {
        self.slot(user).update(|state| {
            if let SlotState::Running(r) = state
                && r.container_id == container_id
            {
                r.listener = Some(sockets);
            }
        });
    }

    /// Ends a running server whose address its container does not hold (`check` says who does):
    /// the container is removed (it cannot serve there) and the server is marked stopped.
    async fn retire(&self, user: &str, server: &RunningServer, check: &ListenerCheck) {
        tracing::warn!(%user, container = %server.container_id, addr = %server.addr, listener = %check, "the server's address is not held by its container; removing it and no longer routing to it");
        if let Err(e) = self.runtime.remove(&server.container_id).await {
            tracing::warn!(%user, container = %server.container_id, error = %e, "cannot remove the container");
        }
        self.mark_stopped(user, &server.container_id).await;
    }

    /// Records that `user`'s server (container `container_id`) is gone: the slot becomes idle,
    /// the store marks the server stopped, and the server's network goes (with a stopped
    /// container that still holds it). A newer server of the user is left alone.
    pub async fn mark_stopped(&self, user: &str, container_id: &str) {
        let slot = self.slot(user);
        let port = slot.update(|state| match state {
            SlotState::Running(r) if r.container_id == container_id => {
                let port = r.port;
                *state = SlotState::Idle { last: None };
                Some(port)
            }
            _ => None,
        });
        let Some(port) = port else { return };
        self.ports.release(port);
        match self.store.server(user).await {
            Ok(Some(mut rec)) if rec.container_id.as_deref() == Some(container_id) => {
                rec.state = ServerState::Stopped;
                rec.address = None;
                if let Err(e) = self.store.put_server(rec).await {
                    tracing::error!(%user, error = %e, "cannot record the stopped server");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::error!(%user, error = %e, "cannot read the server record"),
        }
        self.remove_stopped_server_networks(user).await;
    }

    /// Sets the state (and the address: `None` clears it) of `user`'s stored server, if there is one.
    async fn set_server_state(&self, user: &str, address: Option<SocketAddr>, state: ServerState) {
        let what = state.name();
        match self.store.server(user).await {
            Ok(Some(mut rec)) => {
                rec.state = state;
                rec.address = address.map(|a| a.to_string());
                if let Err(e) = self.store.put_server(rec).await {
                    tracing::error!(%user, error = %e, "cannot record the server as {what}");
                }
            }
            Ok(None) => {}
            Err(e) => tracing::error!(%user, error = %e, "cannot read the server record"),
        }
    }

    /// Records that `user` used their server (a proxied request). The store is written in the
    /// background, at most once per [`Spawner::ACTIVITY_RESOLUTION`] per user, so busy servers
    /// do not turn into a stream of database writes.
    pub fn note_activity(&self, user: &str) {
        let slot = self.slot(user);
        let now = self.clock.now_secs();
        let last = slot.last_touch.load(Ordering::Relaxed);
        if now.saturating_sub(last) < Self::ACTIVITY_RESOLUTION.as_secs()
            || slot
                .last_touch
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let store = Arc::clone(&self.store);
        let user = user.to_owned();
        let at = self.clock.now();
        tokio::spawn(async move {
            if let Err(e) = store.touch_activity(&user, at).await {
                tracing::debug!(%user, error = %e, "cannot record activity");
            }
        });
    }

    /// How often a user's activity is written to the store at most (JupyterHub's
    /// `activity_resolution`).
    pub const ACTIVITY_RESOLUTION: Duration = Duration::from_secs(30);

    fn server_record(
        &self,
        user: &str,
        name: &str,
        port: u16,
        state: ServerState,
        info: Option<&ContainerInfo>,
    ) -> ServerRecord {
        ServerRecord {
            user: user.to_owned(),
            container_id: info.map(|i| i.id.clone()),
            container_name: name.to_owned(),
            address: info.and_then(|i| i.address).map(|a| a.to_string()),
            port,
            state,
            started: Some(self.clock.now()),
            last_activity: None,
        }
    }

    /// How long to wait between checks of a waiting spawn's turn.
    const BUSY_RETRY: Duration = Duration::from_secs(5);
    /// How long a spawn waits before trying again after the engine did not answer.
    const ENGINE_RETRY_PAUSE: Duration = Duration::from_secs(1);
}

/// A progress log that says the server is ready at once.
fn ready_progress(r: &RunningServer) -> SpawnProgress {
    let p = SpawnProgress::new();
    p.push(ProgressEvent::ready(&r.url, "Your server is running."));
    p
}

use crate::server_spec::server_url;
