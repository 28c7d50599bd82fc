//! One spawn, step by step: wait for a turn, plan, host dirs, image, volumes, credentials,
//! container, and the wait for the server to answer.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use lticontainer_core::Error;
use lticontainer_core::container::{ContainerInfo, ContainerSpec, PullProgress, labels};
use lticontainer_core::launch::LtiLaunch;
use lticontainer_core::params::LmsParams;
use lticontainer_core::spec::{SpawnPlan, build_spawn_plan};
use lticontainer_core::store::ServerState;

use super::{DEFAULT_URL_LABEL, RunningServer, SlotState, Spawner, UserSlot, server_url};
use crate::hostdirs::{DirOutcome, ensure_dir};
use crate::hubapi::ServerEnvOptions;
use crate::progress::{ProgressEvent, SpawnProgress};

/// Why a spawn failed: what the student reads, and what the admin's log gets.
#[derive(Debug)]
pub(super) struct SpawnFailure {
    /// For the student's page.
    pub(super) student: String,
    /// For the admin's log: the cause.
    pub(super) admin: String,
}

impl SpawnFailure {
    fn new(student: impl Into<String>, admin: impl Into<String>) -> Self {
        Self {
            student: student.into(),
            admin: admin.into(),
        }
    }

    fn engine(step: &str, e: &Error) -> Self {
        let student = match e {
            Error::Unavailable { .. } => format!(
                "The container engine is not reachable, so your server could not start ({step}). \
                 Please try again in a few minutes; if it keeps failing, tell your teacher."
            ),
            // What is missing (an image name, the engine's reason) goes to the admin's log only:
            // it can carry registry and resolver details that mean nothing to a student.
            Error::NotFound { .. } => format!(
                "Your server could not start: something this activity needs is missing on the hub \
                 ({step}). Please tell your teacher; the hub's log names what is missing."
            ),
            _ => format!(
                "Your server could not start ({step}). Please try again; if it keeps failing, tell your teacher."
            ),
        };
        Self::new(student, format!("{step}: {e}{}", source_suffix(e)))
    }
}

fn source_suffix(e: &Error) -> String {
    std::error::Error::source(e).map_or_else(String::new, |s| format!(": {s}"))
}

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
        SpawnFailure::new(
            why.student,
            format!("{}; last log lines of {container_id}:\n{logs}", why.admin),
        )
    }

    /// Stores `user`'s server record; a failure names the spawn `step`.
    async fn record(
        &self,
        user: &str,
        name: &str,
        port: u16,
        state: ServerState,
        info: Option<&ContainerInfo>,
        step: &str,
    ) -> Result<(), SpawnFailure> {
        self.store
            .put_server(Self::server_record(user, name, port, state, info))
            .await
            .map_err(|e| SpawnFailure::engine(step, &e))
    }

    pub(super) async fn run(
        self: Arc<Self>,
        launch: LtiLaunch,
        progress: SpawnProgress,
        slot: Arc<UserSlot>,
    ) {
        let user = launch.username.clone();
        let started = Instant::now();
        let mut finish = Finish {
            slot: &slot,
            progress: &progress,
            done: false,
        };
        let mut port = None;
        let result = self.spawn_steps(&launch, &progress, &mut port).await;
        match result {
            Ok(server) => {
                tracing::info!(%user, container = %server.container_id, addr = %server.addr, secs = started.elapsed().as_secs_f32(), "server ready");
                self.succeed(&slot, &progress, server);
            }
            Err(f) => {
                tracing::error!(%user, cause = %f.admin, "spawn failed");
                self.fail(&user, &slot, &progress, f, port).await;
            }
        }
        finish.done = true;
    }

    async fn wait_for_turn(&self, progress: &SpawnProgress) -> tokio::sync::OwnedSemaphorePermit {
        if let Ok(p) = Arc::clone(&self.limit).try_acquire_owned() {
            return p;
        }
        let busy = format!(
            "The hub is busy starting other servers ({} at once); yours starts as soon as one is done. Retrying…",
            self.hub.max_concurrent_spawns
        );
        progress.push(ProgressEvent::step(2, busy));
        loop {
            tokio::select! {
                permit = Arc::clone(&self.limit).acquire_owned() => {
                    // The semaphore is never closed, so acquiring only fails if it were.
                    if let Ok(p) = permit { return p; }
                }
                () = tokio::time::sleep(Self::BUSY_RETRY) => {
                    progress.push(ProgressEvent::step(2, "Still busy, retrying…"));
                }
            }
        }
    }

    async fn spawn_steps(
        &self,
        launch: &LtiLaunch,
        progress: &SpawnProgress,
        port_out: &mut Option<u16>,
    ) -> Result<RunningServer, SpawnFailure> {
        let user = launch.username.as_str();
        progress.push(ProgressEvent::step(0, "Server requested"));
        let _permit = self.wait_for_turn(progress).await;

        let (params, warnings) = LmsParams::from_launch(launch);
        for w in &warnings {
            tracing::warn!(%user, warning = %w, "launch parameter");
        }

        // A port nobody else holds; the user's own previous record does not count.
        let previous = self
            .store
            .server(user)
            .await
            .map_err(|e| SpawnFailure::engine("reading the server record", &e))?;
        let mut used = self
            .store
            .used_ports()
            .await
            .map_err(|e| SpawnFailure::engine("reading the used ports", &e))?;
        if let Some(prev) = &previous {
            used.remove(&prev.port);
        }
        let port = self.ports.allocate(&used).ok_or_else(|| {
            SpawnFailure::new(
                "The hub has no free place for another server right now. Please try again later or tell your teacher.",
                format!("no free port in hub.port_min..=hub.port_max ({}..={})", self.hub.port_min, self.hub.port_max),
            )
        })?;
        *port_out = Some(port);

        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let plan = build_spawn_plan(&self.spec, launch, &params, self.identity.as_ref(), now, port).map_err(|e| {
            SpawnFailure::new(
                "The settings of this activity ask for something the hub does not allow, so no server was started. Please tell your teacher.",
                format!("building the container spec: {e}"),
            )
        })?;
        for w in &plan.warnings {
            tracing::warn!(%user, warning = %w, "container spec");
        }

        let cross_site = params.iframe || !self.hub.lms_origins.is_empty();
        let name = plan.container.name.clone();
        self.record(
            user,
            &name,
            port,
            ServerState::Pending,
            None,
            "recording the spawn",
        )
        .await?;

        let deadline = self.hub.start_timeout();
        let info = tokio::time::timeout(deadline, self.prepare_and_start(user, &plan, cross_site, progress))
            .await
            .map_err(|_| {
                SpawnFailure::new(
                    format!("Your server took longer than {} seconds to start. Please try again; if it keeps failing, tell your teacher.", deadline.as_secs()),
                    format!("start timeout ({}s, hub.start_timeout_secs) before the container ran", deadline.as_secs()),
                )
            })??;

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
            "recording the container",
        )
        .await?;

        progress.push(ProgressEvent::step(75, "Waiting for your server to answer"));
        if let Err(why) = self.wait_ready(user, &info.id, addr).await {
            return Err(self.discard(user, &info.id, why).await);
        }
        self.record(
            user,
            &name,
            port,
            ServerState::Running,
            Some(&info),
            "recording the running server",
        )
        .await?;
        Ok(RunningServer {
            container_id: info.id,
            addr,
            port,
            url: server_url(user, &plan.default_url),
        })
    }

    async fn prepare_and_start(
        &self,
        user: &str,
        plan: &SpawnPlan,
        cross_site_cookies: bool,
        progress: &SpawnProgress,
    ) -> Result<ContainerInfo, SpawnFailure> {
        progress.push(ProgressEvent::step(5, "Preparing your home directory"));
        let dirs = plan.host_dirs.clone();
        let created = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<String>> {
            let mut created = Vec::new();
            for d in &dirs {
                if ensure_dir(std::path::Path::new(&d.path), d.uid, d.gid, d.mode)?
                    == DirOutcome::Created
                {
                    created.push(d.path.clone());
                }
            }
            Ok(created)
        })
        .await
        .map_err(|e| {
            SpawnFailure::new(
                "The hub could not prepare your home directory. Please tell your teacher.",
                format!("home directory task: {e}"),
            )
        })?
        .map_err(|e| {
            SpawnFailure::new(
                "The hub could not prepare your home directory. Please tell your teacher.",
                format!("creating host directories: {e}"),
            )
        })?;
        if !created.is_empty() {
            tracing::info!(%user, dirs = ?created, "created host directories");
        }

        let image = plan.container.image.clone();
        progress.push(ProgressEvent::step(
            10,
            format!("Getting the image {image}"),
        ));
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
        self.runtime
            .ensure_image(&plan.container.image, &report)
            .await
            .map_err(|e| SpawnFailure::engine("getting the image", &e))?;

        if !plan.volumes.is_empty() {
            progress.push(ProgressEvent::step(45, "Creating the course volumes"));
            let mut vol_labels = BTreeMap::new();
            vol_labels.insert(
                labels::MANAGED_BY.to_owned(),
                self.spec.hub_instance.clone(),
            );
            if let Some(course) = plan.container.labels.get(labels::COURSE) {
                vol_labels.insert(labels::COURSE.to_owned(), course.clone());
            }
            for v in &plan.volumes {
                self.runtime
                    .ensure_volume(v, &vol_labels)
                    .await
                    .map_err(|e| SpawnFailure::engine("creating a course volume", &e))?;
            }
        }

        let mut spec = plan.container.clone();
        let options = ServerEnvOptions {
            bind_host: self.hub.server_bind_host.clone(),
            cross_site_cookies,
        };
        let env = self
            .hubapi
            .server_env(user, spec.port, &options)
            .await
            .map_err(|e| SpawnFailure::engine("issuing the server's hub credentials", &e))?;
        spec.env.extend(env.into_iter().map(|(k, v)| (k.into(), v)));
        spec.env
            .insert("JUPYTERHUB_DEFAULT_URL".into(), plan.default_url.clone());
        if let Some(dir) = &spec.working_dir {
            spec.env.insert("JUPYTERHUB_ROOT_DIR".into(), dir.clone());
        }
        if !self.hub.cmd.is_empty() {
            spec.cmd = self.hub.cmd.clone();
        }
        spec.labels
            .insert(DEFAULT_URL_LABEL.to_owned(), plan.default_url.clone());
        if cross_site_cookies {
            super::cross_site::add_to(&mut spec, &self.hub.state_dir, user).await;
        }

        progress.push(ProgressEvent::step(60, "Starting your container"));
        self.create_replacing_leftover(user, &spec).await
    }

    /// Creates and starts `spec`; a leftover container of the same name that this hub made for
    /// this user (e.g. from a hub killed mid-spawn) is removed first.
    async fn create_replacing_leftover(
        &self,
        user: &str,
        spec: &ContainerSpec,
    ) -> Result<ContainerInfo, SpawnFailure> {
        match self.runtime.create_and_start(spec).await {
            Ok(info) => return Ok(info),
            Err(Error::AlreadyExists { .. }) => {}
            Err(e) => return Err(SpawnFailure::engine("starting the container", &e)),
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
        self.runtime
            .create_and_start(spec)
            .await
            .map_err(|e| SpawnFailure::engine("starting the container", &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_image_tells_the_student_to_ask_and_the_admin_what() {
        let e = Error::not_found(
            "image \"ghcr.io/x/y:latest\" is not present and pulling it failed: lookup ghcr.io on 10.0.0.53:53",
        );
        let f = SpawnFailure::engine("getting the image", &e);
        assert!(f.student.contains("tell your teacher"), "{}", f.student);
        assert!(f.student.contains("getting the image"), "{}", f.student);
        assert!(!f.student.contains("10.0.0.53"), "{}", f.student);
        assert!(!f.student.contains("ghcr.io"), "{}", f.student);
        assert!(f.admin.contains("ghcr.io/x/y:latest"), "{}", f.admin);
        assert!(f.admin.contains("getting the image"), "{}", f.admin);
    }

    #[test]
    fn an_unreachable_engine_says_try_again() {
        let e = Error::Unavailable {
            backend: "docker",
            detail: "no Docker socket at /var/run/docker.sock".into(),
        };
        let f = SpawnFailure::engine("starting the container", &e);
        assert!(f.student.contains("try again"), "{}", f.student);
        assert!(!f.student.contains("/var/run"), "{}", f.student);
        assert!(f.admin.contains("/var/run/docker.sock"), "{}", f.admin);
    }
}
