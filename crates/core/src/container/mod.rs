//! What a container should be ([`ContainerSpec`]) and what it is ([`ContainerInfo`]).
//!
//! These are plain data: the spec builder ([`crate::spec`]) produces a [`ContainerSpec`], a
//! [`Runtime`](crate::Runtime) turns it into a container and describes containers as [`ContainerInfo`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::network::NetworkMode;

mod env_vars;
mod image;
mod start_stage;
mod validate;

pub(crate) use crate::engine_name::is_valid_engine_name;
pub use env_vars::EnvVars;
pub use image::with_default_tag;
pub(crate) use image::{is_valid_image_reference, tagged};
pub use start_stage::StartStage;
pub use validate::check_volume_name;

/// Labels that every container and volume created by lticontainer carries.
pub mod labels {
    /// Marks an object as managed by lticontainer; value: the hub's instance name.
    pub const MANAGED_BY: &str = "lticontainer.hub";
    /// The hub user the container belongs to.
    pub const USER: &str = "lticontainer.user";
    /// The port the Jupyter server listens on inside the container's network namespace.
    pub const PORT: &str = "lticontainer.port";
    /// The course (LTI `context_id`) the container was launched from.
    pub const COURSE: &str = "lticontainer.course";
}

/// Everything needed to create and start one user's container. Pure data, built by [`crate::spec`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContainerSpec {
    /// Container name, unique per engine (e.g. `lticontainer-alice`).
    pub name: String,
    /// Image reference (`repo[:tag]`), already checked against the image policy.
    pub image: String,
    /// Command and arguments; empty means the image's default command.
    pub cmd: Vec<String>,
    /// Environment variables (`NB_*`, `LTI_*`, `JUPYTERHUB_*`, …).
    pub env: EnvVars,
    /// The user the container process starts as (`"root"` so `start.sh` can create the user, or `"uid:gid"`).
    pub user: Option<String>,
    /// Working directory inside the container.
    pub working_dir: Option<String>,
    /// Bind mounts and named volumes.
    pub mounts: Vec<Mount>,
    /// The named engine volumes this container mounts, with the labels each is created with;
    /// the caller creates them with [`Runtime::ensure_volume`](crate::Runtime::ensure_volume)
    /// before [`Runtime::create_and_start`](crate::Runtime::create_and_start). Every
    /// [`MountSource::Volume`] in [`mounts`](Self::mounts) must be declared here
    /// ([`validate`](Self::validate) refuses the spec otherwise).
    #[serde(default)]
    pub volumes: Vec<VolumeSpec>,
    /// CPU and memory limits and reservations.
    pub limits: ResourceLimits,
    /// Labels; always include [`labels::MANAGED_BY`] and [`labels::USER`].
    pub labels: BTreeMap<String, String>,
    /// The TCP port the Jupyter server listens on (inside the container's network namespace).
    pub port: u16,
    /// The network the container joins: the host's namespace ([`NetworkMode::Host`], the
    /// default of [`ContainerSpec::new`]), the engine's default bridge, or a named network —
    /// which must exist (e.g. created with [`Runtime::create_network`](crate::Runtime::create_network)).
    #[serde(default)]
    pub network: NetworkMode,
}

impl ContainerSpec {
    /// A spec with only a name and an image; everything else empty. Handy for tests and backends.
    pub fn new(name: impl Into<String>, image: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            image: image.into(),
            cmd: Vec::new(),
            env: EnvVars::new(),
            user: None,
            working_dir: None,
            mounts: Vec::new(),
            volumes: Vec::new(),
            limits: ResourceLimits::default(),
            labels: BTreeMap::new(),
            port: 8888,
            network: NetworkMode::Host,
        }
    }
}

/// A named engine volume a [`ContainerSpec`] mounts, with the labels it is created with.
///
/// The one owner of volume creation is the caller of
/// [`Runtime::create_and_start`](crate::Runtime::create_and_start): it calls
/// [`Runtime::ensure_volume`](crate::Runtime::ensure_volume)`(&v.name, &v.labels)` for each
/// entry of [`ContainerSpec::volumes`] first. An existing volume keeps the labels it has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeSpec {
    /// The volume's name (see [`check_volume_name`]).
    pub name: String,
    /// The labels the volume is created with, e.g. [`labels::MANAGED_BY`] and [`labels::COURSE`].
    pub labels: BTreeMap<String, String>,
}

impl VolumeSpec {
    /// A volume named `name` created with `labels`.
    pub fn new(name: impl Into<String>, labels: BTreeMap<String, String>) -> Self {
        Self {
            name: name.into(),
            labels,
        }
    }
}

/// Where a mount's content comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MountSource {
    /// A directory on the host (absolute path).
    Bind(PathBuf),
    /// A named engine volume, declared in [`ContainerSpec::volumes`].
    Volume(String),
}

/// One mount of a [`ContainerSpec`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mount {
    /// Host directory or named volume.
    pub source: MountSource,
    /// Absolute path inside the container.
    pub target: String,
    /// Mounted read-only when true.
    pub read_only: bool,
}

/// CPU and memory limits; `None` means unlimited / not reserved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceLimits {
    /// Maximum CPUs (Docker `cpu_quota = cpus × cpu_period`, `cpu_period = 100000`).
    pub cpu_limit: Option<f64>,
    /// Maximum memory in bytes.
    pub mem_limit: Option<u64>,
    /// CPUs reserved (engine shares), where the engine supports it.
    pub cpu_guarantee: Option<f64>,
    /// Memory reservation in bytes (soft limit), where the engine supports it.
    pub mem_guarantee: Option<u64>,
}

/// The CPU period (µs) used to express CPU limits as a quota.
pub const CPU_PERIOD_US: i64 = 100_000;

impl ResourceLimits {
    /// The CFS quota in µs for [`CPU_PERIOD_US`], if a CPU limit is set.
    pub fn cpu_quota_us(&self) -> Option<i64> {
        self.cpu_limit
            .map(|c| (c * CPU_PERIOD_US as f64).round() as i64)
    }
}

/// The lifecycle state of a container as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum ContainerState {
    /// Created, not started.
    Created,
    /// Running.
    Running,
    /// Stopped; the exit code when known.
    Exited {
        /// The main process's exit code.
        code: Option<i64>,
    },
    /// Anything else (paused, restarting, dead, …), as the engine named it.
    Other(String),
}

impl ContainerState {
    /// True when the container is running.
    pub fn is_running(&self) -> bool {
        matches!(self, Self::Running)
    }
}

/// What a [`Runtime`](crate::Runtime) knows about one container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContainerInfo {
    /// Engine id.
    pub id: String,
    /// Container name (without a leading `/`).
    pub name: String,
    /// Image reference it runs.
    pub image: String,
    /// Current state.
    pub state: ContainerState,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Where the Jupyter server can be reached from the hub, when known
    /// (host networking: `127.0.0.1:<port>`; bridge: `<container ip>:<port>`).
    pub address: Option<SocketAddr>,
}

impl ContainerInfo {
    /// Builds an info record; backends fill the fields they know.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        image: impl Into<String>,
        state: ContainerState,
    ) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            image: image.into(),
            state,
            labels: BTreeMap::new(),
            address: None,
        }
    }

    /// The port recorded in the [`labels::PORT`] label, if any.
    pub fn labelled_port(&self) -> Option<u16> {
        self.labels.get(labels::PORT)?.parse().ok()
    }
}

/// A container's memory use now, as its engine reports it ([`Runtime::memory_usage`](crate::Runtime::memory_usage)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryUsage {
    /// Bytes in use (the engine's figure without the reclaimable page cache, as `docker stats`
    /// shows it).
    pub used_bytes: u64,
    /// The container's memory limit in bytes; `None` when the engine names none (an engine
    /// without a limit may report the host's memory instead).
    pub limit_bytes: Option<u64>,
}

impl MemoryUsage {
    /// The share of the limit in use, in percent (rounded down); `None` without a limit.
    ///
    /// ```
    /// use lticontainer_core::container::MemoryUsage;
    /// let m = MemoryUsage { used_bytes: 95, limit_bytes: Some(100) };
    /// assert_eq!(m.percent(), Some(95));
    /// assert_eq!(MemoryUsage { used_bytes: 1, limit_bytes: None }.percent(), None);
    /// ```
    pub fn percent(&self) -> Option<u64> {
        let limit = self.limit_bytes.filter(|l| *l > 0)?;
        Some(
            u64::try_from(u128::from(self.used_bytes) * 100 / u128::from(limit))
                .unwrap_or(u64::MAX),
        )
    }
}

/// One step of getting an image ready, reported while [`Runtime::ensure_image`](crate::Runtime::ensure_image) works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullProgress {
    /// What the engine says it is doing (`"Downloading"`, `"Pull complete"`, …).
    pub status: String,
    /// Bytes done and total for the current layer, when known.
    pub current: Option<u64>,
    /// Total bytes for the current layer, when known.
    pub total: Option<u64>,
}

/// What happened to a container, as a [`Runtime::events`](crate::Runtime::events) stream reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ContainerEventKind {
    /// The container started (Docker `start`, Podman `start`).
    Started,
    /// Its main process exited, whatever the reason (Docker `die`, Podman `died`).
    Died,
    /// It was stopped on request (Docker and Podman `stop`; a `Died` comes with it).
    Stopped,
    /// The kernel's OOM killer killed a process in it (Docker and Podman `oom`). The container
    /// may well go on running: most often the process killed is a notebook kernel, which
    /// Jupyter restarts. A `Died` follows only when its main process was the one killed.
    OutOfMemory,
    /// It was removed (Docker `destroy`, Podman `remove`); it may have had no `Died` if it never ran.
    Removed,
}

impl ContainerEventKind {
    /// True when the container no longer runs (or soon will not): [`Died`](Self::Died),
    /// [`Stopped`](Self::Stopped) and [`Removed`](Self::Removed). Not
    /// [`OutOfMemory`](Self::OutOfMemory): a process killed for lack of memory leaves the
    /// container running unless it was the main one, and then a `Died` follows.
    pub fn ends_container(self) -> bool {
        matches!(self, Self::Died | Self::Stopped | Self::Removed)
    }
}

/// One lifecycle event of one container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContainerEvent {
    /// The engine's full container id.
    pub id: String,
    /// What happened.
    pub kind: ContainerEventKind,
}

impl ContainerEvent {
    /// An event of `kind` for container `id`.
    pub fn new(id: impl Into<String>, kind: ContainerEventKind) -> Self {
        Self {
            id: id.into(),
            kind,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ContainerEventKind;

    #[test]
    fn an_out_of_memory_kill_does_not_end_the_container() {
        assert!(!ContainerEventKind::Started.ends_container());
        assert!(!ContainerEventKind::OutOfMemory.ends_container());
        for kind in [
            ContainerEventKind::Died,
            ContainerEventKind::Stopped,
            ContainerEventKind::Removed,
        ] {
            assert!(kind.ends_container(), "{kind:?}");
        }
    }
}
