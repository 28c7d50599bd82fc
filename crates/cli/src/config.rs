//! The configuration file of `lticontainer serve` (TOML). Every table and field is optional;
//! `lticontainer gen-config` prints a commented example with every default.

use std::path::{Path, PathBuf};

use lticontainer_core::auth::{Lti11Config, PublicUrlConfig};
use lticontainer_core::lti13::Lti13Config;
use lticontainer_core::spec::SpecConfig;
use lticontainer_hub::HubConfig;
use serde::Deserialize;

/// The example configuration, with every field and its default.
pub(crate) const EXAMPLE: &str = include_str!("../lticontainer.example.toml");

/// Which container engine runs the users' servers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum EngineKind {
    /// Docker Engine API (`[docker]` table).
    #[default]
    Docker,
    /// Podman's libpod API (`[podman]` table).
    Podman,
    /// A Docker Swarm, through a manager's Engine API (`[swarm]` table; docs/cluster.md).
    Swarm,
}

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Config {
    /// `docker`, `podman` or `swarm`. Default: `docker`.
    pub(crate) engine: EngineKind,
    /// How the hub serves, spawns and proxies.
    pub(crate) hub: HubConfig,
    /// The URL the LMS signs launches for.
    pub(crate) public_url: PublicUrlConfig,
    /// LTI 1.1 consumers and verification limits.
    pub(crate) lti: Lti11Config,
    /// LTI 1.3 platforms and verification limits (`[lti13]`, `[[lti13.platform]]`).
    pub(crate) lti13: Lti13Config,
    /// How containers are built from launches.
    pub(crate) spec: SpecConfig,
    /// Where the SQLite database lives.
    pub(crate) store: StoreConfig,
    /// Docker settings (read when `engine = "docker"`).
    pub(crate) docker: Option<toml::Table>,
    /// Podman settings (read when `engine = "podman"`).
    pub(crate) podman: Option<toml::Table>,
    /// Swarm settings (read when `engine = "swarm"`).
    pub(crate) swarm: Option<toml::Table>,
}

/// The `[store]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct StoreConfig {
    /// The SQLite file. Default: `<hub.state_dir>/state.sqlite`.
    pub(crate) path: Option<PathBuf>,
}

impl Config {
    /// Reads and checks `path`.
    pub(crate) fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the config file {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses and checks a config text.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let cfg: Self = toml::from_str(text).map_err(|e| e.to_string())?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), String> {
        self.hub.validate().map_err(|e| e.to_string())?;
        self.lti.validate().map_err(|e| e.to_string())?;
        self.lti13.validate().map_err(|e| e.to_string())?;
        self.public_url.validate().map_err(|e| e.to_string())?;
        for (engine, table) in [
            ("docker", &self.docker),
            ("podman", &self.podman),
            ("swarm", &self.swarm),
        ] {
            if table.as_ref().is_some_and(|t| t.contains_key("network")) {
                return Err(format!(
                    "[{engine}] network is no longer read: the hub chooses each server's network. \
                     Remove it and set [hub] network = \"isolated\" (the default: a private network \
                     per user) or \"host\" (what network = \"host\" did: every container on the \
                     host's network; see docs/security.md)"
                ));
            }
        }
        if self.lti.consumers.is_empty() && !self.lti13.enabled() {
            return Err("[lti] consumers is empty and no [[lti13.platform]] is set (nor lti13.dynamic_registration), so every launch would be refused; add \
                        consumers = { \"<key>\" = \"<secret>\" } (lticontainer gen-config prints an example)"
                .to_owned());
        }
        Ok(())
    }

    /// The SQLite file.
    pub(crate) fn store_path(&self) -> PathBuf {
        self.store
            .path
            .clone()
            .unwrap_or_else(|| self.hub.state_dir.join("state.sqlite"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn example_config_parses_once_a_consumer_is_set() {
        let err = Config::parse(EXAMPLE).unwrap_err();
        assert!(err.contains("consumers"), "{err}");
        let text = format!("{EXAMPLE}\n[lti.consumers]\nmoodle = \"s3cret\"\n");
        let cfg = Config::parse(&text).unwrap();
        assert_eq!(cfg.engine, EngineKind::Docker);
        assert!(cfg.hub.bind.ip().is_loopback());
        assert_eq!(
            cfg.store_path(),
            PathBuf::from("/var/lib/lticontainer/state.sqlite")
        );
    }

    #[test]
    fn the_example_shows_the_hub_defaults() {
        let text = format!("{EXAMPLE}\n[lti.consumers]\nmoodle = \"s3cret\"\n");
        let cfg = Config::parse(&text).unwrap();
        assert_eq!(
            format!("{:?}", cfg.hub),
            format!("{:?}", lticontainer_hub::HubConfig::default()),
            "crates/cli/lticontainer.example.toml and HubConfig::default() disagree"
        );
    }

    #[test]
    fn e2e_style_config_parses() {
        let text = r#"
engine = "podman"
[hub]
bind = "127.0.0.1:18000"
state_dir = "/tmp/x/state"
port_min = 41000
port_max = 41049
[lti]
consumers = { "k" = "s" }
[spec]
default_image = "lticontainer-test/jupyter:latest"
run_as_root = false
[podman]
socket = "/run/podman/podman.sock"
pull = false
"#;
        let cfg = Config::parse(text).unwrap();
        assert_eq!(cfg.engine, EngineKind::Podman);
        assert_eq!(cfg.hub.port_max, 41049);
        assert!(cfg.podman.is_some());
    }

    #[test]
    fn admin_token_is_read_and_checked() {
        let base = "[lti]\nconsumers = { k = \"s\" }\n[hub]\n";
        let cfg = Config::parse(&format!("{base}api_token = \"0123456789abcdef\"")).unwrap();
        assert!(
            cfg.hub
                .api_token
                .is_some_and(|t| t.matches("0123456789abcdef"))
        );
        assert!(Config::parse(base).unwrap().hub.api_token.is_none());
        let err = Config::parse(&format!("{base}api_token = \"short\"")).unwrap_err();
        assert!(
            err.contains("api_token") && err.contains("at least 8"),
            "{err}"
        );
    }

    #[test]
    fn the_old_engine_network_setting_says_where_it_went() {
        for engine in ["docker", "podman"] {
            let text =
                format!("[lti]\nconsumers = {{ k = \"s\" }}\n[{engine}]\nnetwork = \"host\"\n");
            let err = Config::parse(&text).unwrap_err();
            assert!(
                err.contains(&format!("[{engine}] network")) && err.contains("[hub] network"),
                "{err}"
            );
        }
        let text = "[lti]\nconsumers = { k = \"s\" }\n[hub]\nnetwork = \"host\"\n";
        assert_eq!(
            Config::parse(text).unwrap().hub.network,
            lticontainer_hub::Networking::Host
        );
    }

    #[test]
    fn mistakes_are_named() {
        for (text, needle) in [
            ("engine = \"lxc\"", "engine"),
            ("[hub]\nbnid = \"x\"", "bnid"),
            (
                "[hub]\nport_min = 10\nport_max = 5\n[lti]\nconsumers = { k = \"s\" }",
                "port_min",
            ),
        ] {
            let err = Config::parse(text).unwrap_err();
            assert!(err.contains(needle), "{err} lacks {needle}");
        }
    }
}
