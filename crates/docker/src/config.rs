//! [`DockerConfig`]: what the Docker backend is told, as plain (de)serialisable data.

use std::time::Duration;

pub use lticontainer_core::network::NetworkMode;
use serde::{Deserialize, Serialize};

/// The Docker socket used when neither the configuration nor `DOCKER_HOST` names one.
pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

/// Settings of the Docker backend, e.g. the `[docker]` table of the hub's configuration file.
///
/// Every field has a default (see each field), so an empty table is a valid configuration.
/// Turn it into a runtime with
/// [`DockerRuntimeBuilder::from_config`](crate::DockerRuntimeBuilder::from_config).
///
/// ```
/// use lticontainer_docker::{DockerConfig, NetworkMode};
///
/// let cfg: DockerConfig = serde_json::from_str(r#"{ "network": "bridge", "pull": false }"#).unwrap();
/// assert_eq!(cfg.network, NetworkMode::Bridge);
/// assert!(!cfg.pull);
/// assert_eq!(cfg.request_timeout_secs, 120);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct DockerConfig {
    /// Where the engine listens: a socket path (`/var/run/docker.sock`), a `unix://` URL, or a
    /// `tcp://`/`http://` address. Default: none, which means `$DOCKER_HOST` when set (read by
    /// [`DockerRuntimeBuilder::from_env`](crate::DockerRuntimeBuilder::from_env) and
    /// [`from_config`](crate::DockerRuntimeBuilder::from_config)), else [`DEFAULT_SOCKET`].
    pub host: Option<String>,
    /// The network user containers join: `"host"` (default; the Jupyter server is then reached on
    /// `127.0.0.1:<port>`), `"bridge"`, or the name of a user-defined network (reached on the
    /// container's address on that network).
    pub network: NetworkMode,
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
            network: NetworkMode::Host,
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
        assert_eq!(cfg.network, NetworkMode::Host);
        assert_eq!(cfg.request_timeout(), Duration::from_secs(120));
        assert_eq!(cfg.pull_timeout(), Duration::from_secs(600));
        assert!(cfg.pull);
        assert_eq!(cfg.host, None);
    }

    #[test]
    fn network_names_round_trip() {
        for (text, mode) in [
            ("host", NetworkMode::Host),
            ("bridge", NetworkMode::Bridge),
            ("jupyter-net", NetworkMode::Named("jupyter-net".into())),
        ] {
            let json = format!(r#"{{"network":"{text}"}}"#);
            let cfg: DockerConfig = serde_json::from_str(&json).expect("parses");
            assert_eq!(cfg.network, mode);
            assert_eq!(
                serde_json::to_value(&cfg.network).expect("serialises"),
                serde_json::Value::String(text.into())
            );
        }
    }

    #[test]
    fn empty_network_and_unknown_fields_are_rejected() {
        let err =
            serde_json::from_str::<DockerConfig>(r#"{"network":" "}"#).expect_err("empty network");
        assert!(err.to_string().contains("network"), "{err}");
        let err = serde_json::from_str::<DockerConfig>(r#"{"netwrok":"host"}"#).expect_err("typo");
        assert!(err.to_string().contains("netwrok"), "{err}");
    }
}
