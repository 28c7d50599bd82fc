//! [`SwarmConfig`]: what the Swarm backend is told, as plain (de)serialisable data.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::DockerConfig;
use crate::swarm::homes::HomesVolumes;

/// Settings of the Swarm backend, the `[swarm]` table of the hub's configuration file.
///
/// The engine is a Swarm **manager** (its socket, as for the Docker backend); every field has a
/// default, so an empty table is a valid configuration. Turn it into a runtime with
/// [`SwarmRuntime::from_config`](crate::SwarmRuntime::from_config).
///
/// ```
/// use lticontainer_docker::SwarmConfig;
///
/// let cfg: SwarmConfig = serde_json::from_str(
///     r#"{ "constraints": ["node.labels.pool==lab"], "spread": ["node.id"] }"#,
/// ).unwrap();
/// assert_eq!(cfg.constraints, ["node.labels.pool==lab"]);
/// assert_eq!(cfg.schedule_timeout_secs, 15);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SwarmConfig {
    /// Where the manager's engine listens, as [`DockerConfig::host`]. Default: `$DOCKER_HOST`,
    /// else `/var/run/docker.sock`.
    pub host: Option<String>,
    /// Seconds one engine request may take, as [`DockerConfig::request_timeout_secs`]. Default: 120.
    pub request_timeout_secs: u64,
    /// Seconds an image pull on the manager may take. Default: 600.
    pub pull_timeout_secs: u64,
    /// Whether `ensure_image` pulls a missing image onto the manager. Default: true. (Each node
    /// pulls for itself when it runs a task; an image no node can get fails that task.)
    pub pull: bool,
    /// Placement constraints every server's service gets, in Swarm's syntax, e.g.
    /// `"node.labels.pool==gpu"` or `"node.role==worker"`. Default: none.
    pub constraints: Vec<String>,
    /// Placement preferences: spread the servers evenly over the values of these node
    /// attributes, in order, e.g. `"node.id"` (one per node in turn) or `"node.labels.rack"`.
    /// Default: `["node.id"]`.
    pub spread: Vec<String>,
    /// Seconds a server's task may wait for a node that can run it (its constraints, its
    /// reservations) before the start fails with the scheduler's reason. Default: 15.
    pub schedule_timeout_secs: u64,
    /// Seconds from creating a service until its task runs (scheduling, pulling the image on the
    /// node, starting) before the start fails. Default: 300.
    pub start_timeout_secs: u64,
    /// Seconds a server's container gets between SIGTERM and SIGKILL when it is stopped or
    /// removed: Swarm fixes it when the service is created. Default: 1.
    pub stop_grace_secs: u64,
    /// How often the event stream lists the services' tasks, in milliseconds (Swarm reports
    /// no task events; a task ending on any node is seen within this time). Default: 500.
    pub events_poll_millis: u64,
    /// Where homes live on the cluster (`[swarm.homes]`): bind mounts under its `root` become
    /// volumes of a driver that every node can mount (e.g. NFS). Default: none, so homes are
    /// bind mounts of the node's own directories (see `docs/cluster.md`).
    pub homes: Option<HomesVolumes>,
}

impl Default for SwarmConfig {
    fn default() -> Self {
        let docker = DockerConfig::default();
        Self {
            host: docker.host,
            request_timeout_secs: docker.request_timeout_secs,
            pull_timeout_secs: docker.pull_timeout_secs,
            pull: docker.pull,
            constraints: Vec::new(),
            spread: vec!["node.id".to_owned()],
            schedule_timeout_secs: 15,
            start_timeout_secs: 300,
            stop_grace_secs: 1,
            events_poll_millis: 500,
            homes: None,
        }
    }
}

impl SwarmConfig {
    /// The settings of the manager's engine connection, as the Docker backend takes them.
    pub fn docker(&self) -> DockerConfig {
        DockerConfig {
            host: self.host.clone(),
            request_timeout_secs: self.request_timeout_secs,
            pull_timeout_secs: self.pull_timeout_secs,
            pull: self.pull,
        }
    }

    /// [`Self::schedule_timeout_secs`] as a [`Duration`].
    pub fn schedule_timeout(&self) -> Duration {
        Duration::from_secs(self.schedule_timeout_secs)
    }

    /// [`Self::start_timeout_secs`] as a [`Duration`].
    pub fn start_timeout(&self) -> Duration {
        Duration::from_secs(self.start_timeout_secs)
    }

    /// [`Self::stop_grace_secs`] as a [`Duration`].
    pub fn stop_grace(&self) -> Duration {
        Duration::from_secs(self.stop_grace_secs)
    }

    /// [`Self::events_poll_millis`] as a [`Duration`] (at least 50 ms).
    pub fn events_poll(&self) -> Duration {
        Duration::from_millis(self.events_poll_millis.max(50))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_table_gives_documented_defaults() {
        let cfg: SwarmConfig = serde_json::from_str("{}").expect("empty config parses");
        assert_eq!(cfg, SwarmConfig::default());
        assert_eq!(cfg.docker(), DockerConfig::default());
        assert_eq!(cfg.spread, ["node.id"]);
        assert!(cfg.constraints.is_empty());
        assert_eq!(cfg.schedule_timeout(), Duration::from_secs(15));
        assert_eq!(cfg.start_timeout(), Duration::from_secs(300));
        assert_eq!(cfg.stop_grace(), Duration::from_secs(1));
        assert_eq!(cfg.events_poll(), Duration::from_millis(500));
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let err = serde_json::from_str::<SwarmConfig>(r#"{"constraint":[]}"#).expect_err("typo");
        assert!(err.to_string().contains("constraint"), "{err}");
    }
}
