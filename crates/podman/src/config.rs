//! [`PodmanConfig`]: what the Podman backend is told, as plain (de)serialisable data.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The libpod API socket used when neither the configuration nor `CONTAINER_HOST` names one
/// (rootful `podman system service`).
pub const DEFAULT_SOCKET: &str = "/run/podman/podman.sock";

/// Settings of the Podman backend, e.g. the `[podman]` table of the hub's configuration file.
///
/// Every field has a default (see each field), so an empty table is a valid configuration.
/// Turn it into a runtime with
/// [`PodmanRuntimeBuilder::from_config`](crate::PodmanRuntimeBuilder::from_config).
///
/// The network a container joins is not a backend setting: each [`ContainerSpec`] names its own
/// ([`ContainerSpec::network`](lticontainer_core::container::ContainerSpec::network)).
///
/// ```
/// use lticontainer_podman::PodmanConfig;
///
/// let cfg: PodmanConfig = serde_json::from_str(r#"{ "pull": true }"#).unwrap();
/// assert_eq!(cfg.request_timeout_secs, 120);
/// assert!(cfg.pull);
/// ```
///
/// [`ContainerSpec`]: lticontainer_core::container::ContainerSpec
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct PodmanConfig {
    /// Path of the libpod API's unix socket (`/run/podman/podman.sock`; the URL form
    /// `unix:///run/podman/podman.sock` is accepted too). Default: none, which means the path of
    /// `$CONTAINER_HOST` (`unix:///…`) when set, else [`DEFAULT_SOCKET`].
    pub socket: Option<PathBuf>,
    /// Seconds one engine request may take before it fails as unavailable. Default: 120.
    /// A stop waits for its grace period on top of this.
    pub request_timeout_secs: u64,
    /// Seconds an image pull may take before it is abandoned. Default: 600.
    pub pull_timeout_secs: u64,
    /// Whether a missing image is pulled from its registry. Default: true. With `false`, a
    /// missing image is reported as not found at once.
    pub pull: bool,
}

impl Default for PodmanConfig {
    fn default() -> Self {
        Self {
            socket: None,
            request_timeout_secs: 120,
            pull_timeout_secs: 600,
            pull: true,
        }
    }
}

impl PodmanConfig {
    /// The socket path in effect: [`Self::socket`], else [`DEFAULT_SOCKET`].
    pub fn socket_path(&self) -> PathBuf {
        self.socket
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET))
    }

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
        let cfg: PodmanConfig = serde_json::from_str("{}").expect("empty config parses");
        assert_eq!(cfg, PodmanConfig::default());
        assert_eq!(cfg.socket_path(), PathBuf::from(DEFAULT_SOCKET));
        assert_eq!(cfg.request_timeout(), Duration::from_secs(120));
        assert_eq!(cfg.pull_timeout(), Duration::from_secs(600));
        assert!(cfg.pull);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        // The network moved to each container's spec (the hub's `network` setting).
        let err = serde_json::from_str::<PodmanConfig>(r#"{"network":"host"}"#).expect_err("gone");
        assert!(err.to_string().contains("network"), "{err}");
        let err = serde_json::from_str::<PodmanConfig>(r#"{"sockte":"/x"}"#).expect_err("typo");
        assert!(err.to_string().contains("sockte"), "{err}");
    }
}
