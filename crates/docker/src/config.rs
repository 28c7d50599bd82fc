//! [`DockerConfig`]: what the Docker backend is told, as plain (de)serialisable data.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The Docker socket used when neither the configuration nor `DOCKER_HOST` names one.
pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

/// Settings of the Docker backend, e.g. the `[docker]` table of the hub's configuration file.
///
/// Every field has a default (see each field), so an empty table is a valid configuration.
/// Turn it into a runtime with
/// [`DockerRuntimeBuilder::from_config`](crate::DockerRuntimeBuilder::from_config).
///
/// The network a container joins is not a backend setting: each [`ContainerSpec`] names its own
/// ([`ContainerSpec::network`](lticontainer_core::container::ContainerSpec::network)).
///
/// ```
/// use lticontainer_docker::DockerConfig;
///
/// let cfg: DockerConfig = serde_json::from_str(r#"{ "pull": false }"#).unwrap();
/// assert!(!cfg.pull);
/// assert_eq!(cfg.request_timeout_secs, 120);
/// ```
///
/// [`ContainerSpec`]: lticontainer_core::container::ContainerSpec
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct DockerConfig {
    /// Where the engine listens: a socket path (`/var/run/docker.sock`), a `unix://` URL, or a
    /// `tcp://`/`http://` address. Default: none, which means `$DOCKER_HOST` when set (read by
    /// [`DockerRuntimeBuilder::from_env`](crate::DockerRuntimeBuilder::from_env) and
    /// [`from_config`](crate::DockerRuntimeBuilder::from_config)), else [`DEFAULT_SOCKET`].
    pub host: Option<String>,
    /// Seconds one engine request may take before it fails as unavailable. Default: 120.
    /// A stop waits for its grace period on top of this.
    pub request_timeout_secs: u64,
    /// Seconds an image pull may take before it is abandoned. Default: 600.
    pub pull_timeout_secs: u64,
    /// Whether a missing image is pulled from its registry. Default: true. With `false`, a
    /// missing image is reported as not found at once.
    pub pull: bool,
}

impl Default for DockerConfig {
    fn default() -> Self {
        Self {
            host: None,
            request_timeout_secs: 120,
            pull_timeout_secs: 600,
            pull: true,
        }
    }
}

impl DockerConfig {
    /// [`Self::request_timeout_secs`] as a [`Duration`].
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// [`Self::pull_timeout_secs`] as a [`Duration`].
    pub fn pull_timeout(&self) -> Duration {
        Duration::from_secs(self.pull_timeout_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_table_gives_documented_defaults() {
        let cfg: DockerConfig = serde_json::from_str("{}").expect("empty config parses");
        assert_eq!(cfg, DockerConfig::default());
        assert_eq!(cfg.request_timeout(), Duration::from_secs(120));
        assert_eq!(cfg.pull_timeout(), Duration::from_secs(600));
        assert!(cfg.pull);
        assert_eq!(cfg.host, None);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let err = serde_json::from_str::<DockerConfig>(r#"{"pul":false}"#).expect_err("typo");
        assert!(err.to_string().contains("pul"), "{err}");
        // The network moved to each container's spec (the hub's `network` setting).
        let err = serde_json::from_str::<DockerConfig>(r#"{"network":"host"}"#).expect_err("gone");
        assert!(err.to_string().contains("network"), "{err}");
    }
}
