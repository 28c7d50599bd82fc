//! One spawn, step by step ([`SpawnStep`]): wait for a turn, a port, the plan, host dirs, image,
//! volumes, the server's network, credentials, the container, its network's isolation, and the
//! wait for the server to answer. Each step is one small function; the final container comes
//! from the pure [`server_spec`].

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use lticontainer_core::Error;
use lticontainer_core::container::{ContainerInfo, ContainerSpec, PullProgress, labels};
use lticontainer_core::network::{NetworkMode, NetworkSpec};
use lticontainer_core::spec::{HostDir, SpawnPlan, image_is_allowed};
use lticontainer_core::store::ServerState;

use super::failure::{Retry, SpawnFailure};
use super::start_report::StartReport;
use super::{RunningServer, SlotState, SpawnRequest, SpawnStep, Spawner, UserSlot};
use crate::credentials::ServerEnvOptions;
use crate::cross_site;
use crate::host_dirs::ensure_dirs;
use crate::metrics::SpawnOutcome;
use crate::progress::{ProgressEvent, SpawnProgress};
use crate::server_spec::{HubAdditions, parse_act_limit, server_spec, server_url};

/// Sets the slot back to idle and reports a failure if the spawn task ends without a result
/// (a panic), so no user is left waiting forever.
struct Finish<'a> {
    slot: &'a UserSlot,
    progress: &'a SpawnProgress,
    done: bool,
}

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.progress.push(ProgressEvent::failed(
                "The hub stopped this start unexpectedly. Please launch again from your course.",
            ));
            let p = self.progress.clone();
            self.slot.update(|s| *s = SlotState::Idle { last: Some(p) });
        }
    }
}

impl Spawner {
    /// Marks the spawn a success: the slot runs `server`, the progress says ready.
    pub(super) fn succeed(&self, slot: &UserSlot, progress: &SpawnProgress, server: RunningServer) {
        let url = server.url.clone();
        slot.update(|s| *s = SlotState::Running(server));
        progress.push(ProgressEvent::ready(&url, "Your server is ready."));
    }

    /// Marks the spawn failed: the port goes back, the store records the cause, the slot is idle
    /// with this spawn's events, and the progress ends with the student's message.
    pub(super) async fn fail(
        &self,
        user: &str,
        slot: &UserSlot,
        progress: &SpawnProgress,
        failure: SpawnFailure,
        port: Option<u16>,
    ) {
        if let Some(p) = port {
            self.ports.release(p);
        }
        self.set_server_state(user, None, ServerState::Failed(failure.admin.clone()))
            .await;
        let p = progress.clone();
        slot.update(|s| *s = SlotState::Idle { last: Some(p) });
        progress.push(ProgressEvent::failed(failure.student));
    }

    /// Removes a container whose server never answered; the failure gains its last log lines.
    pub(super) async fn discard(
        &self,
        user: &str,
        container_id: &str,
        why: SpawnFailure,
    ) -> SpawnFailure {
        let logs = self
            .runtime
            .logs(container_id, self.hub.failure_log_lines)
            .await
            .unwrap_or_else(|e| format!("(cannot read the container's log: {e})"));
        if let Err(e) = self.runtime.remove(container_id).await {
            tracing::warn!(%user, container = %container_id, error = %e, "cannot remove the failed container");
        }
        why.with_logs(container_id, &logs)
    }

    /// Stores `user`'s server record; a failure names the spawn `step`.
    async fn record(
        &self,
        user: &str,
        name: &str,
        port: u16,
        state: ServerState,
        info: Option<&ContainerInfo>,
        step: SpawnStep,
    ) -> Result<(), SpawnFailure> {
        self.store
            .put_server(self.server_record(user, name, port, state, info))
            .await
            .map_err(|e| SpawnFailure::engine(step.admin_text(), &e))
    }

    /// Runs one spawn to its end: ready, failed, or cancelled by `cancel` (see
    /// [`Spawner::stop`]), whichever comes first; the slot and the progress say which.
    pub(super) async fn run(
        self: Arc<Self>,
        request: SpawnRequest,
        progress: SpawnProgress,
        slot: Arc<UserSlot>,
        mut cancel: tokio::sync::oneshot::Receiver<()>,
    ) {
        let user = request.user().to_owned();
        let started = Instant::now();
        let mut finish = Finish {
            slot: &slot,
            progress: &progress,
            done: false,
        };
        let mut port = None;
        let outcome = tokio::select! {
            outcome = self.spawn_steps(&request, &progress, &mut port) => Some(outcome),
            Ok(()) = &mut cancel => None,
        };
        slot.cancel
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match outcome {
            Some(Ok(server)) => {
                tracing::info!(%user, container = %server.container_id, addr = %server.addr, secs = started.elapsed().as_secs_f32(), outcome = "ready", steps = %progress.timeline(), "spawn ended");
                self.metrics
                    .spawn_ended(SpawnOutcome::Success, started.elapsed());
                self.succeed(&slot, &progress, server);
            }
            Some(Err(f)) => {
                tracing::error!(%user, cause = %f.admin, secs = started.elapsed().as_secs_f32(), outcome = "failed", steps = %progress.timeline(), "spawn failed");
                self.metrics
                    .spawn_ended(SpawnOutcome::Failure, started.elapsed());
                self.remove_server_networks(&user).await;
                self.fail(&user, &slot, &progress, f, port).await;
            }
            None => {
                tracing::info!(%user, secs = started.elapsed().as_secs_f32(), outcome = "cancelled", "spawn cancelled");
                self.metrics
                    .spawn_ended(SpawnOutcome::Cancelled, started.elapsed());
                self.clean_up_cancelled(&user, &slot, &progress, port).await;
            }
        }
        // A cancel that came as the spawn ended on its own found nothing to clean up.
        slot.stopping
            .store(false, std::sync::atomic::Ordering::SeqCst);
        finish.done = true;
    }

    /// Shows `step` on the student's progress, when it is a step that shows.
    fn enter(progress: &SpawnProgress, step: &SpawnStep) {
        if let Some(event) = step.event() {
            progress.push(event);
        }
    }

    async fn wait_for_turn(&self, progress: &SpawnProgress) -> tokio::sync::OwnedSemaphorePermit {
        if let Ok(p) = Arc::clone(&self.limit).try_acquire_owned() {
            return p;
        }
        Self::enter(
            progress,
            &SpawnStep::WaitingForTurn {
                at_once: self.hub.max_concurrent_spawns,
            },
        );
        loop {
            tokio::select! {
                permit = Arc::clone(&self.limit).acquire_owned() => {
                    // The semaphore is never closed, so acquiring only fails if it were.
                    if let Ok(p) = permit { return p; }
                }
                () = tokio::time::sleep(Self::BUSY_RETRY) => {
                    Self::enter(progress, &SpawnStep::StillWaiting);
                }
            }
        }
    }

    async fn spawn_steps(
        &self,
        request: &SpawnRequest,
        progress: &SpawnProgress,
        port_out: &mut Option<u16>,
    ) -> Result<RunningServer, SpawnFailure> {
        let user = request.user();
        Self::enter(progress, &SpawnStep::Requested);
        let _permit = self.wait_for_turn(progress).await;

        // A start that failed for a cause the hub may fix itself (the port was taken, the engine
        // did not answer) is tried once more, on a fresh port; the first port stays held until
        // the spawn is over. One retry in all: a cause that persists is the student's failure.
        let mut taken = None;
        let outcome = loop {
            let port = self.allocate_port(user).await?;
            *port_out = Some(port);
            let failure = match self.start_on(request, port, progress).await {
                Err(f) if taken.is_none() && f.retry.is_some() => f,
                other => break other,
            };
            if failure.retry == Some(Retry::EngineUnavailable) {
                tracing::warn!(%user, port, cause = %failure.admin, "the engine did not answer; starting the server once more");
                Self::enter(progress, &SpawnStep::RetryingAfterEngineError);
                tokio::time::sleep(Self::ENGINE_RETRY_PAUSE).await;
            } else {
                tracing::warn!(%user, port, cause = %failure.admin, "the server's port was taken before it could listen; starting it again on another port");
                Self::enter(progress, &SpawnStep::RetryingOnAnotherPort);
            }
            taken = Some(port);
        };
        if let Some(port) = taken {
            self.ports.release(port);
        }
        outcome
    }

    /// One attempt: the plan for `port`, the container, and the wait for its server.
    async fn start_on(
        &self,
        request: &SpawnRequest,
        port: u16,
        progress: &SpawnProgress,
    ) -> Result<RunningServer, SpawnFailure> {
        let user = request.user();
        let plan = self.plan(request, port).await?;
        let network = self.server_network(user, &plan.container.name, port);
        let cross_site = request.params().iframe || !self.hub.lms_origins.is_empty();
        let name = plan.container.name.clone();
        self.record(
            user,
            &name,
            port,
            ServerState::Pending,
            None,
            SpawnStep::Recording,
        )
        .await?;

        let deadline = self.hub.start_timeout();
        let info = tokio::time::timeout(deadline, self.prepare_and_start(user, &plan, network.as_ref(), cross_site, progress))
            .await
            .map_err(|_| {
                SpawnFailure::new(
                    format!("Your server took longer than {} seconds to start. Please try again; if it keeps failing, tell your teacher.", deadline.as_secs()),
                    format!("start timeout ({}s, hub.start_timeout_secs) before the container ran", deadline.as_secs()),
                )
            })??;

        // From here a container exists: whatever fails removes it (with its last log lines in the
        // failure), so a failed spawn never leaves a server running that the hub no longer routes
        // to — with host networking, on a port the hub would hand to someone else.
        let answered = async {
            let addr = info.address.ok_or_else(|| {
                SpawnFailure::new(
                    "Your server started but the hub cannot tell where it listens. Please tell your teacher.",
                    format!("the engine reports no address for container {} (check the network mode)", info.id),
                )
            })?;
            self.record(
                user,
                &name,
                port,
                ServerState::Pending,
                Some(&info),
                SpawnStep::RecordingContainer,
            )
            .await?;
            Self::enter(progress, &SpawnStep::WaitingForServer);
            let listener = self.wait_ready(user, &info.id, addr).await?;
            self.record(
                user,
                &name,
                port,
                ServerState::Running,
                Some(&info),
                SpawnStep::RecordingRunning,
            )
            .await?;
            Ok((addr, listener))
        };
        let (addr, listener) = match answered.await {
            Ok(answered) => answered,
            Err(why) => return Err(self.discard(user, &info.id, why).await),
        };
        Ok(RunningServer {
            container_id: info.id,
            addr,
            port,
            url: server_url(user, &plan.default_url),
            started_at: self.clock.now_secs(),
            act_limit: plan
                .container
                .env
                .get("NB_ACTLIMIT")
                .and_then(parse_act_limit),
            listener: Some(listener),
        })
    }

    /// A port nobody else holds; the user's own previous record does not count.
    async fn allocate_port(&self, user: &str) -> Result<u16, SpawnFailure> {
        let reading = SpawnStep::ReadingRecords.admin_text();
        let previous = self
            .store
            .server(user)
            .await
            .map_err(|e| SpawnFailure::engine(reading, &e))?;
        let mut used: BTreeSet<u16> = self
            .store
            .used_ports()
            .await
            .map_err(|e| SpawnFailure::engine("reading the used ports", &e))?;
        if let Some(prev) = &previous {
            used.remove(&prev.port);
        }
        self.ports.allocate(&used).ok_or_else(|| {
            SpawnFailure::new(
                "The hub has no free place for another server right now. Please try again later or tell your teacher.",
                format!("no free port in hub.port_min..=hub.port_max ({}..={})", self.hub.port_min, self.hub.port_max),
            )
        })
    }

    async fn prepare_and_start(
        &self,
        user: &str,
        plan: &SpawnPlan,
        network: Option<&NetworkSpec>,
        cross_site_cookies: bool,
        progress: &SpawnProgress,
    ) -> Result<ContainerInfo, SpawnFailure> {
        Self::enter(progress, &SpawnStep::HomeDirectories);
        self.create_host_dirs(user, &plan.host_dirs).await?;
        self.get_image(&plan.container.image, progress).await?;
        self.create_volumes(&plan.container, progress).await?;
        // From making the network until the container is on it, no clean-up of an earlier
        // server's networks may run (see `remove_stopped_server_networks`).
        let slot = self.slot(user);
        let _networks = match network {
            Some(_) => Some(slot.networks.lock().await),
            None => None,
        };
        if let Some(net) = network {
            Self::enter(progress, &SpawnStep::Network);
            self.create_server_network(user, net).await?;
        }
        let hub_env = self
            .credentials
            .server_env(
                user,
                plan.container.port,
                &ServerEnvOptions {
                    bind_host: self.hub.server_bind_host(),
                    api_url: network.map(|n| self.api_url_on(n)),
                    cross_site_cookies,
                },
            )
            .await
            .map_err(|e| SpawnFailure::engine(SpawnStep::Credentials.admin_text(), &e))?;
        let cross_site_config = if cross_site_cookies {
            cross_site::prepare(&self.hub.state_dir, user).await
        } else {
            None
        };
        let joins = network.map_or(NetworkMode::Host, |n| NetworkMode::Named(n.name.clone()));
        let spec = server_spec(
            plan,
            HubAdditions::new(hub_env, &self.hub.cmd, joins)
                .with_cross_site_config(cross_site_config),
        );
        Self::enter(progress, &SpawnStep::Container);
        let info = self
            .create_replacing_leftover(user, &spec, &StartReport::new(progress))
            .await?;
        if let Some(net) = network
            && let Err(why) = self.isolate_server_network(net)
        {
            return Err(self.discard(user, &info.id, why).await);
        }
        Ok(info)
    }

    /// Creates the missing host directories, parents first; existing ones are left alone.
    async fn create_host_dirs(&self, user: &str, dirs: &[HostDir]) -> Result<(), SpawnFailure> {
        let dirs = dirs.to_vec();
        let failed = |e: &dyn std::fmt::Display, what: &str| {
            SpawnFailure::new(
                "The hub could not prepare your home directory. Please tell your teacher.",
                format!("{what}: {e}"),
            )
        };
        let created = tokio::task::spawn_blocking(move || ensure_dirs(&dirs))
            .await
            .map_err(|e| failed(&e, "home directory task"))?
            .map_err(|e| failed(&e, SpawnStep::HomeDirectories.admin_text()))?;
        if !created.is_empty() {
            tracing::info!(%user, dirs = ?created, "created host directories");
        }
        Ok(())
    }

    /// Makes sure the image is present; a pull's progress reaches the student at most once a
    /// second per status.
    async fn get_image(&self, image: &str, progress: &SpawnProgress) -> Result<(), SpawnFailure> {
        let step = SpawnStep::Image {
            image: image.to_owned(),
        };
        Self::enter(progress, &step);
        let last = Mutex::new((String::new(), Instant::now()));
        let report = |p: PullProgress| {
            let mut last = last.lock().unwrap_or_else(PoisonError::into_inner);
            if p.status != last.0 || last.1.elapsed().as_millis() >= 1000 {
                let detail = match (p.current, p.total) {
                    (Some(c), Some(t)) if t > 0 => format!(" ({} of {} MB)", c >> 20, t >> 20),
                    _ => String::new(),
                };
                progress.push(ProgressEvent::step(
                    20,
                    format!("Pulling {image}: {}{detail}", p.status),
                ));
                *last = (p.status, Instant::now());
            }
        };
        if !image_is_allowed(&self.spec, image) {
            // Accepted only because the engine had it (`spec.allow_local_images`): never pulled.
            return match self.runtime.has_image(image).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(SpawnFailure::new(
                    "The image this activity asks for is no longer on the server. Please tell your teacher.",
                    format!(
                        "{}: {image} is not on allowed_images and the engine no longer has it locally (spec.allow_local_images never pulls)",
                        step.admin_text()
                    ),
                )),
                Err(e) => Err(SpawnFailure::engine(step.admin_text(), &e)),
            };
        }
        self.runtime
            .ensure_image(image, &report)
            .await
            .map_err(|e| SpawnFailure::engine(step.admin_text(), &e))
    }

    /// Creates the course volumes `spec` mounts, each with its labels: the one place volumes
    /// are created (engines create none in `create_and_start`).
    async fn create_volumes(
        &self,
        spec: &ContainerSpec,
        progress: &SpawnProgress,
    ) -> Result<(), SpawnFailure> {
        if spec.volumes.is_empty() {
            return Ok(());
        }
        Self::enter(progress, &SpawnStep::Volumes);
        for v in &spec.volumes {
            self.runtime
                .ensure_volume(&v.name, &v.labels)
                .await
                .map_err(|e| SpawnFailure::engine(SpawnStep::Volumes.admin_text(), &e))?;
        }
        Ok(())
    }

    /// Creates and starts `spec`; a leftover container of the same name that this hub made for
    /// this user (e.g. from a hub killed mid-spawn) is removed first.
    async fn create_replacing_leftover(
        &self,
        user: &str,
        spec: &ContainerSpec,
        report: &StartReport,
    ) -> Result<ContainerInfo, SpawnFailure> {
        let starting = SpawnStep::Container.admin_text();
        match self.create_uncut(user, spec, report).await {
            Ok(info) => return Ok(info),
            Err(Error::AlreadyExists { .. }) => {}
            Err(e) => return Err(report.failure(starting, &e)),
        }
        let old = self
            .runtime
            .inspect(&spec.name)
            .await
            .map_err(|e| SpawnFailure::engine("inspecting a leftover container", &e))?;
        let ours = old.labels.get(labels::MANAGED_BY) == Some(&self.spec.hub_instance)
            && old.labels.get(labels::USER).map(String::as_str) == Some(user);
        if !ours {
            return Err(SpawnFailure::new(
                "A container with your server's name already exists and was not made by this hub. Please tell your teacher.",
                format!(
                    "container name {:?} is taken by a container without this hub's labels; remove or rename it",
                    spec.name
                ),
            ));
        }
        tracing::info!(%user, container = %old.id, "removing a leftover container before starting a new one");
        self.runtime
            .remove(&old.id)
            .await
            .map_err(|e| SpawnFailure::engine("removing a leftover container", &e))?;
        self.create_uncut(user, spec, report)
            .await
            .map_err(|e| report.failure(starting, &e))
    }
}
